"""Cheap checks of packaging/ (no PyInstaller build here: packaging/smoke_test.sh does that)."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import io
import os
import re
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


# The MIME type of each suffix the app reads (freedesktop shared-mime-info names; .jfif has
# none there, .hif is HEIF): "Open with" is offered only on the types the entry declares.
MIME_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".jfif": "image/jpeg",
              ".png": "image/png", ".bmp": "image/bmp", ".gif": "image/gif", ".tif": "image/tiff",
              ".tiff": "image/tiff", ".webp": "image/webp", ".ppm": "image/x-portable-pixmap",
              ".pgm": "image/x-portable-graymap", ".pbm": "image/x-portable-bitmap",
              ".pnm": "image/x-portable-anymap", ".heic": "image/heif", ".heif": "image/heif",
              ".hif": "image/heif", ".avif": "image/avif", ".avifs": "image/avif"}


def test_desktop_entry_declares_every_image_type_the_app_reads():
    from resnet_gui.core.data.images import IMAGE_EXTENSIONS

    declared = set(_desktop_entry(PACKAGING / "resnet-classifier.desktop")["MimeType"].rstrip(";").split(";"))
    missing = {suffix: MIME_TYPES.get(suffix) for suffix in IMAGE_EXTENSIONS if MIME_TYPES.get(suffix) not in declared}
    assert not missing, missing
    globs = Path("/usr/share/mime/globs2")  # the system's own table, where there is one
    if globs.is_file():
        for line in globs.read_text(encoding="utf-8").splitlines():
            _, mime, pattern = (line.split(":", 2) + ["", ""])[:3]
            if pattern.startswith("*.") and f".{pattern[2:]}" in IMAGE_EXTENSIONS and mime.startswith("image/"):
                assert mime in declared, (pattern, mime)
    assert "inode/directory" not in declared  # it would compete with the file manager for folders


def test_icons_open_in_every_format():
    from PIL import Image

    png = Image.open(ROOT / "assets" / "icon.png")
    assert png.size == (256, 256) and png.mode == "RGBA"
    ico = Image.open(ROOT / "assets" / "icon.ico")
    assert ico.format == "ICO" and {(16, 16), (32, 32), (48, 48), (256, 256)} <= ico.info["sizes"]
    icns = Image.open(ROOT / "assets" / "icon.icns")
    assert icns.format == "ICNS" and (512, 512, 2) in icns.info["sizes"]  # the Retina Dock's 1024 px
    icns.load()
    assert icns.size == (1024, 1024)
    spec = (PACKAGING / "resnet_gui.spec").read_text(encoding="utf-8")
    assert '"icon.ico"' in spec and '"icon.icns"' in spec
    assert "icon.*" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # all three ship in the wheel


def test_committed_icons_are_drawn_from_the_svg(qtbot):
    """assets/icon.png is what packaging/make_icons.py draws from icon.svg (not a stale copy)."""
    from PIL import Image, ImageChops, ImageStat

    spec = importlib.util.spec_from_file_location("resnet_gui_make_icons", PACKAGING / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.render_svg(ROOT / "assets" / "icon.svg").resize((256, 256), Image.Resampling.LANCZOS)
    committed = Image.open(ROOT / "assets" / "icon.png").convert("RGBA")
    difference = ImageStat.Stat(ImageChops.difference(drawn, committed)).mean
    assert max(difference) < 2.0, difference  # 0-255 per channel: antialiasing may differ slightly


def _fake_bundle(folder: Path) -> Path:
    """A stand-in for dist/cpu-only/ResNetClassifier (the real one is 3 GB: see docs/packaging.md)."""
    bundle = folder / "ResNetClassifier"
    (bundle / "_internal" / "resnet_gui" / "assets").mkdir(parents=True)
    exe = bundle / "ResNetClassifier"
    exe.write_text('#!/bin/sh\necho "bundle $*"\n')
    exe.chmod(0o755)
    shutil.copy(ROOT / "assets" / "icon.png", bundle / "_internal" / "resnet_gui" / "assets" / "icon.png")
    return bundle


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb (Debian, Ubuntu)")
def test_deb_package_layout(tmp_path):
    """packaging/build_deb.sh on a small stand-in bundle: what the .deb installs, and where."""
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    bundle = _fake_bundle(tmp_path)
    work = tmp_path / "repo"  # a copy of the scripts' inputs: the real dist/ and build/ stay untouched
    for name in ("packaging", "assets"):
        shutil.copytree(ROOT / name, work / name)
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    env = dict(os.environ, PYTHON=sys.executable, DEB_COMPRESSION="gzip")
    done = subprocess.run(["bash", str(work / "packaging" / "build_deb.sh"), str(bundle)], env=env,
                          capture_output=True, text=True, cwd=work)
    assert done.returncode == 0, done.stderr
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip() or "amd64"
    deb = work / "dist" / f"resnet-classifier_{version}_{arch}.deb"
    assert deb.is_file()
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    assert {"/opt/resnet-classifier/ResNetClassifier", "/usr/bin/resnet-classifier",
            "/usr/share/applications/resnet-classifier.desktop",
            "/usr/share/icons/hicolor/256x256/apps/resnet-classifier.png",
            "/usr/share/icons/hicolor/48x48/apps/resnet-classifier.png",
            "/usr/share/icons/hicolor/scalable/apps/resnet-classifier.svg"} <= files
    # nothing outside /opt/resnet-classifier, the launcher, the entry and the icons
    assert all(f.startswith(("/opt/resnet-classifier", "/usr/share/icons/hicolor", "/usr/bin/resnet-classifier",
                             "/usr/share/applications/resnet-classifier.desktop")) or f.endswith("/")
               for f in files), files
    assert all(line.split()[1] == "root/root" for line in listing.splitlines())
    fields = {k: subprocess.run(["dpkg-deb", "-f", str(deb), k], capture_output=True, text=True).stdout.strip()
              for k in ("Package", "Version", "Depends", "Installed-Size")}
    assert fields["Package"] == "resnet-classifier" and fields["Version"] == version
    assert "libxcb-cursor0" in fields["Depends"] and int(fields["Installed-Size"]) > 0
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(unpacked)], check=True)
    entry = _desktop_entry(unpacked / "usr/share/applications/resnet-classifier.desktop")
    assert entry["Exec"] == "resnet-classifier %F" and entry["Icon"] == "resnet-classifier"
    assert entry["MimeType"] == _desktop_entry(PACKAGING / "resnet-classifier.desktop")["MimeType"]
    launcher = unpacked / "usr/bin/resnet-classifier"
    assert os.access(launcher, os.X_OK) and "exec /opt/resnet-classifier/ResNetClassifier \"$@\"" in launcher.read_text()
    # no maintainer scripts, no conffiles: apt remove leaves no dpkg record behind
    assert sorted(p.name for p in (unpacked / "DEBIAN").iterdir()) == ["control"]


WORKFLOW = ROOT / ".github" / "workflows" / "build.yml"


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / ("actionlint.exe" if os.name == "nt" else "actionlint")
    return str(beside) if beside.is_file() else shutil.which("actionlint")


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is installed with the test extra on Linux x86-64 only")
def test_the_ci_workflow_passes_actionlint():
    done = subprocess.run([_actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_ci_workflow_builds_what_the_spec_names():
    """Three runners; each smoke-tests the executable the spec makes on its system (read as
    text: actionlint above checks the YAML itself)."""
    text = WORKFLOW.read_text(encoding="utf-8")
    assert text.count("os: [windows-latest, macos-14, ubuntu-latest]") == 1  # the tests job
    apps = dict(re.findall(r"- os: (\S+)\n\s+app: (\S+)", text))
    spec = (PACKAGING / "resnet_gui.spec").read_text(encoding="utf-8")
    assert 'CLI_NAME = "resnet-gui"' in spec and apps["windows-latest"] == "dist/ResNetClassifier/resnet-gui.exe"
    assert apps["macos-14"] == f"dist/{APP_ID}.app/Contents/MacOS/{APP_ID}" and 'name=f"{APP_NAME}.app"' in spec
    assert apps["ubuntu-latest"] == f"dist/cpu-only/{APP_ID}/{APP_ID}"  # build.sh --deb builds the CPU-only bundle
    for script in ("build.sh", "smoke_test.sh", "test_deb.sh", "ci_venv.sh"):
        assert f"packaging/{script}" in text and (PACKAGING / script).is_file()
