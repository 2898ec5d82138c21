"""The wheel: built offline from a copy of the checkout, it holds the code, the default model
and the icons; installed on its own (no checkout in sight) it classifies with its own model."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOWERS = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
# not part of the source: what the checkout accumulates around it
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "__pycache__", "*.pyc", "*.egg-info",
                                    ".pytest_cache", ".import_linter_cache")


def _not_source(folder: str, names: list[str]) -> set[str]:
    skip = set(NOT_SOURCE(folder, names))
    if Path(folder) == ROOT / "bench":
        skip.add("results")  # benchmark output (.gitignore)
    return skip


def _setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``python -m build --wheel --no-isolation`` (offline) of a copy of the checkout, so the
    build's own build/ and *.egg-info stay out of the working tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_not_source)
    result = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp / "dist"),
                             str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = (tmp / "dist").glob("resnet_gui-*.whl")
    return built


def test_pyproject_lists_every_package():
    """pyproject.toml names the packages (mapped data packages cannot be combined with
    packages.find): a package folder added under resnet_gui/ must be added there too."""
    from setuptools import find_packages

    config = _setuptools_config()
    mapped = set(config["package-dir"])
    assert mapped == {"resnet_gui.weights", "resnet_gui.assets"}
    for package, folder in config["package-dir"].items():
        assert (ROOT / folder / "__init__.py").is_file(), f"{folder}/__init__.py makes {package} importable"
    found = set(find_packages(str(ROOT), include=["resnet_gui", "resnet_gui.*"]))
    listed = set(config["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found - mapped == set(), "listed in pyproject.toml, but no such package folder"
    # a folder of modules without __init__.py is no package to setuptools: its modules would be left out
    folders = {p.parent for p in (ROOT / "resnet_gui").rglob("*.py") if "__pycache__" not in p.parts}
    assert [f.relative_to(ROOT).as_posix() for f in sorted(folders) if not (f / "__init__.py").is_file()] == []


def test_wheel_holds_the_code_the_model_and_the_icons(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    code = {p.relative_to(ROOT).as_posix() for p in (ROOT / "resnet_gui").rglob("*.py") if "__pycache__" not in p.parts}
    assert code - names == set(), "source modules missing from the wheel"
    shipped = {"resnet_gui/weights/__init__.py", "resnet_gui/weights/default.pt",
               "resnet_gui/weights/default.int8.onnx",  # the CPU engine's int8 twin of default.pt
               "resnet_gui/assets/__init__.py"}
    shipped |= {f"resnet_gui/assets/{p.name}" for p in (ROOT / "assets").glob("icon.*")}
    assert {"resnet_gui/assets/icon.png", "resnet_gui/assets/icon.ico"} <= shipped
    assert shipped - names == set()
    # nothing else: no tests, benchmarks, screenshots, READMEs, top-level weights/ or assets/
    dist_info = {n for n in names if n.split("/")[0].endswith(".dist-info")}
    assert names - code - shipped - dist_info == set()
    assert not any(n.startswith(("tests/", "bench/", "weights/", "assets/", "packaging/")) or "screenshot" in n
                   for n in names)
    # the PyInstaller bundle gets the same data files, at the same place (packaging/shipped_files.py)
    spec = importlib.util.spec_from_file_location("resnet_gui_shipped_files", ROOT / "packaging" / "shipped_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {f"{dest}/{Path(src).name}" for src, dest in module.shipped_files(ROOT)} == shipped
    with zipfile.ZipFile(wheel) as zf:  # the very model of the checkout
        packed = hashlib.sha256(zf.read("resnet_gui/weights/default.pt")).hexdigest()
    assert packed == hashlib.sha256((ROOT / "weights" / "default.pt").read_bytes()).hexdigest()


def _run(args, cwd: Path, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_installed_wheel_classifies_with_its_own_model(wheel, tmp_path):
    from PIL import Image, ImageDraw

    target = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--quiet",
          "--target", str(target), str(wheel)], cwd=tmp_path, env=dict(os.environ))
    work = tmp_path / "elsewhere"  # the current folder is on sys.path: not the checkout
    work.mkdir()
    photo = work / "sunflower.jpg"
    img = Image.new("RGB", (240, 180), (70, 120, 40))
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 30, 180, 150), fill=(240, 200, 30))
    draw.ellipse((100, 70, 140, 110), fill=(90, 50, 20))
    img.save(photo)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RESNET_GUI_WEIGHTS_DIR", "PYTHONHOME")}
    env.update(PYTHONPATH=str(target), PYTHONNOUSERSITE="1", XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               TORCH_HOME=str(tmp_path / "torch"), QT_QPA_PLATFORM="offscreen")
    probe = ("import json, resnet_gui, resnet_gui.resources as r; print(json.dumps({'package': resnet_gui.__file__, "
             "'weights': str(r.weights_dir()), 'assets': str(r.assets_dir()), 'default': str(r.default_weights())}))")
    where = json.loads(_run([sys.executable, "-c", probe], cwd=work, env=env).stdout)
    assert where == {
        "package": str(target / "resnet_gui" / "__init__.py"),
        "weights": str(target / "resnet_gui" / "weights"),
        "assets": str(target / "resnet_gui" / "assets"),
        "default": str(target / "resnet_gui" / "weights" / "default.pt"),
    }
    assert (target / "resnet_gui" / "assets" / "icon.png").is_file()

    result = _run([sys.executable, "-m", "resnet_gui", "classify", str(photo), "--json"], cwd=work, env=env)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(rows) == 1 and rows[0]["path"] == str(photo), result.stdout
    labels = [label for label, _ in rows[0]["topk"]]
    assert sorted(labels) == FLOWERS, rows[0]
