"""The app's icons for each desktop, drawn from assets/icon.svg (the one source):

    python packaging/make_icons.py                 # rewrite assets/icon.png, icon.ico, icon.icns
    python packaging/make_icons.py --hicolor DIR   # DIR/<N>x<N>/apps/resnet-classifier.png + scalable/

Qt's SVG renderer draws the SVG at 1024 px; Pillow scales it down and writes the Windows .ico
(16-256 px) and the macOS .icns (16-1024 px, with @2x). The three files in assets/ are committed
(CI and the wheel use them as they are); run this after changing icon.svg.
``--hicolor`` is for the Debian package (packaging/build_deb.sh): the freedesktop icon theme's sizes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
ICON_NAME = "resnet-classifier"  # the Debian package's icon name (Icon= in its .desktop file)
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render_svg(svg: Path, size: int = 1024):
    """The SVG as a size x size RGBA Pillow image (QtSvg: no extra dependency)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QImage/QPainter need it
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    import io

    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def write_app_icons(big, folder: Path) -> list[Path]:
    from PIL import Image

    png = folder / "icon.png"
    big.resize((256, 256), Image.Resampling.LANCZOS).save(png, optimize=True)
    ico = folder / "icon.ico"
    big.save(ico, sizes=ICO_SIZES)
    icns = folder / "icon.icns"
    big.save(icns)  # Pillow writes every ICNS size from 16 to 1024 (512@2x)
    return [png, ico, icns]


def write_hicolor(big, svg: Path, folder: Path) -> list[Path]:
    from PIL import Image

    written = []
    for n in HICOLOR_SIZES:
        target = folder / f"{n}x{n}" / "apps" / f"{ICON_NAME}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        big.resize((n, n), Image.Resampling.LANCZOS).save(target, optimize=True)
        written.append(target)
    scalable = folder / "scalable" / "apps" / f"{ICON_NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    return written + [scalable]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=ASSETS / "icon.svg")
    parser.add_argument("--hicolor", type=Path, help="write the hicolor theme's icons here instead")
    parser.add_argument("--out", type=Path, default=ASSETS, help="folder for icon.png/.ico/.icns")
    args = parser.parse_args(argv)
    big = render_svg(args.svg)
    files = write_hicolor(big, args.svg, args.hicolor) if args.hicolor else write_app_icons(big, args.out)
    for path in files:
        print(f"make_icons: {path} ({path.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
