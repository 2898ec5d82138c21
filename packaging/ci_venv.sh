#!/usr/bin/env bash
# CI (.github/workflows/build.yml): .venv with the project and EXTRAS installed, on Linux,
# macOS and Windows (Git Bash). Later steps get $PY and $VENV_BIN through $GITHUB_ENV.
#   packaging/ci_venv.sh '.[test]'                 # the test suite
#   packaging/ci_venv.sh '.[package]' --cpu-torch  # Linux bundles: torch's CPU wheels first
set -euo pipefail
cd "$(dirname "$0")/.."
python -m venv .venv
if [[ -d .venv/Scripts ]]; then VENV_BIN=.venv/Scripts; PY=.venv/Scripts/python.exe; else VENV_BIN=.venv/bin; PY=.venv/bin/python; fi
"$PY" -m pip install -q --upgrade pip
if [[ "${2:-}" == "--cpu-torch" ]]; then
  # the same pins as pyproject.toml, from torch's CPU index (PyPI's Linux torch is a CUDA build)
  read -r -a pins <<<"$("$PY" -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print(' '.join(d for d in deps if d.startswith(('torch==', 'torchvision=='))))")"
  "$PY" -m pip install -q "${pins[@]}" --index-url https://download.pytorch.org/whl/cpu
fi
"$PY" -m pip install -q -e "$1"
if [[ -n "${GITHUB_ENV:-}" ]]; then
  { echo "PY=$PY"; echo "VENV_BIN=$VENV_BIN"; } >>"$GITHUB_ENV"
fi
"$PY" -c "import torch, PySide6; print('torch', torch.__version__, 'PySide6', PySide6.__version__)"
