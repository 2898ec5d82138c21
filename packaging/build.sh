#!/usr/bin/env bash
# Build the one-folder, windowed app into dist/ResNetClassifier/ (work files in build/pyinstaller/).
#
#   packaging/build.sh              # default: with the CUDA libraries (GPU users need them)
#   packaging/build.sh --cpu-only   # into dist/cpu-only/ResNetClassifier/, without the NVIDIA
#                                   # libraries torch only loads on a GPU (docs/packaging.md)
#   packaging/build.sh --deb        # --cpu-only, then dist/resnet-classifier_<version>_amd64.deb
#                                   # (packaging/build_deb.sh)
#   PYTHON=/path/to/python packaging/build.sh   # another environment (default: .venv/bin/python)
#
# Installs PyInstaller into that environment if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
DIST=dist
WORK=build/pyinstaller
MODE="${1:-}"
if [[ "$MODE" == "--cpu-only" || "$MODE" == "--deb" ]]; then
  export RESNET_GUI_CPU_ONLY=1
  DIST=dist/cpu-only
  WORK=build/pyinstaller-cpu-only
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [--cpu-only | --deb]" >&2
  exit 2
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "installing PyInstaller into $PYTHON's environment" >&2
  "$PYTHON" -m pip install -q "pyinstaller>=6.10"
fi
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" packaging/resnet_gui.spec
echo "built $DIST/ResNetClassifier in $(( $(date +%s) - start )) s; size: $(du -sh "$DIST/ResNetClassifier" | cut -f1)" >&2
if [[ "$MODE" == "--deb" ]]; then
  PYTHON="$PYTHON" packaging/build_deb.sh "$DIST/ResNetClassifier"
fi
