"""Cheap checks of packaging/ (no PyInstaller build here: packaging/smoke_test.sh does that)."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_gui.constants import APP_ID

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"


def test_spec_parses_and_collects_torchvision_ops():
    source = (PACKAGING / "resnet_gui.spec").read_text(encoding="utf-8")
    ast.parse(source)
    assert "console=False" in source and "APP_NAME = APP_ID" in source
    assert "from resnet_gui.constants import APP_ID" in source
    assert "datas = shipped_files(ROOT)" in source
    assert "resnet_gui.paths" not in source and "resource_root" not in source
    assert '"triton"' in source
    # the spec globs torchvision's folder for its compiled ops: they must be there
    import torchvision

    folder = Path(torchvision.__file__).parent
    found = {p.name for p in folder.iterdir() if p.suffix in (".so", ".pyd")}
    assert {"_C_stable", "image_stable"} <= {name.split(".")[0] for name in found}, found


def _shipped_files():
    spec = importlib.util.spec_from_file_location("resnet_gui_shipped_files", PACKAGING / "shipped_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shipped_files(ROOT)


def test_bundle_data_sits_where_the_wheel_has_it():
    """The spec's datas: the model and the icons below resnet_gui/, as in the wheel, where
    resnet_gui.resources finds them (with each data package's __init__.py)."""
    datas = _shipped_files()
    bundled = {f"{dest}/{Path(src).name}" for src, dest in datas}
    assert all(Path(src).is_file() for src, _ in datas)
    assert {"resnet_gui/weights/__init__.py", "resnet_gui/weights/default.pt", "resnet_gui/assets/__init__.py",
            "resnet_gui/assets/icon.png", "resnet_gui/assets/icon.ico"} <= bundled
    assert {dest for _, dest in datas} == {"resnet_gui/weights", "resnet_gui/assets"}
    assert not any("screenshot" in name or name.endswith("README.md") for name in bundled)


def test_entry_point_calls_freeze_support_first():
    tree = ast.parse((PACKAGING / "entry.py").read_text(encoding="utf-8"))
    body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert isinstance(body[0], ast.Import) and body[0].names[0].name == "multiprocessing"
    call = body[1].value
    assert isinstance(call, ast.Call) and ast.unparse(call.func) == "multiprocessing.freeze_support"


def _load_entry():
    spec = importlib.util.spec_from_file_location("resnet_gui_frozen_entry", PACKAGING / "entry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entry_point_logs_to_app_data_without_streams(tmp_path, monkeypatch):
    entry = _load_entry()
    import resnet_gui.resources

    monkeypatch.setattr(resnet_gui.resources, "user_data_dir", lambda: tmp_path)
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert entry._redirect_missing_streams() is True
    print("hello from a windowed app")
    sys.stdout.close()
    log = tmp_path / "logs" / entry.LOG_NAME
    assert "hello from a windowed app" in log.read_text(encoding="utf-8")


def test_entry_point_keeps_existing_streams(monkeypatch):
    entry = _load_entry()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert entry._redirect_missing_streams() is False
    assert sys.stdout is out


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_has_required_keys():
    entry = _desktop_entry(PACKAGING / "resnet-classifier.desktop")
    for key in ("Type", "Name", "Exec", "Icon", "Categories"):
        assert entry.get(key), key
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Exec"].split()[0].endswith(f"/{APP_ID}")
    assert entry["Icon"] == f"/opt/{APP_ID}/_internal/resnet_gui/assets/icon.png"  # where the spec puts it
    assert ("resnet_gui/assets", str(ROOT / "assets" / "icon.png")) in {(d, s) for s, d in _shipped_files()}
    assert entry["Categories"].endswith(";")


@pytest.mark.skipif(sys.platform != "linux" or not shutil.which("bash"), reason="Linux desktop entry")
def test_install_desktop_entry_rewrites_paths(tmp_path):
    bundle = tmp_path / "opt" / "ResNetClassifier"
    bundle.mkdir(parents=True)
    exe = bundle / "ResNetClassifier"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    subprocess.run(["bash", str(PACKAGING / "install_desktop_entry.sh"), str(bundle)], env=env, check=True,
                   capture_output=True)
    entry = _desktop_entry(tmp_path / "data" / "applications" / "resnet-classifier.desktop")
    assert entry["Exec"] == f"{exe} %F"
    assert entry["Icon"] == f"{bundle}/_internal/resnet_gui/assets/icon.png"
