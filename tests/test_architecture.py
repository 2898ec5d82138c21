"""The house rules, checked on the code itself: the core is Qt-free, the pages do not import
each other, no import cycles (import-linter contracts in pyproject.toml), small modules, and a
window that opens before torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "resnet_gui"
MAX_MODULE_LINES = 399  # "under 400"


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.fail("lint-imports is missing: install the test extras (pip install -e '.[test]')")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_the_contracts_cover_layers_pages_and_cycles():
    """lint-imports checks what pyproject.toml lists: these contracts must stay listed."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    kinds = {c["type"]: c for c in contracts}
    assert {"forbidden", "layers", "independence", "acyclic_siblings"} <= set(kinds)
    assert kinds["acyclic_siblings"]["ancestors"] == ["resnet_gui"]  # every package, at every depth
    pages = {p.name for p in (PACKAGE / "gui").iterdir() if (p / "__init__.py").is_file()}
    assert {m.rsplit(".", 1)[1] for m in kinds["independence"]["modules"]} == pages


def test_modules_are_small():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert big == {}


def test_gui_modules_do_not_import_torch_at_module_level():
    """The window appears before torch loads: importing every gui module pulls in no torch."""
    modules = sorted("resnet_gui." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
                     for p in (PACKAGE / "gui").rglob("*.py") if p.name != "__init__.py")
    code = ("import sys\n"
            f"for name in {modules!r}:\n"
            "    __import__(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))\n"
            "print(len(bad)); assert not bad, bad[:5]\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0"
