#!/usr/bin/env bash
# The Debian package of the Linux bundle: dist/resnet-classifier_<version>_amd64.deb
#
#   packaging/build_deb.sh [BUNDLE_DIR]   # default: dist/cpu-only/ResNetClassifier (packaging/build.sh --cpu-only)
#   packaging/build.sh --deb              # builds that bundle first, then this
#   DEB_COMPRESSION=xz packaging/build_deb.sh   # xz instead of zstd (the default; needs dpkg >= 1.21.18)
#
# It installs:
#   /opt/resnet-classifier/                          the bundle, as built
#   /usr/bin/resnet-classifier                       the launcher on the PATH (same arguments)
#   /usr/share/applications/resnet-classifier.desktop  "Open with" on the image types the app reads
#   /usr/share/icons/hicolor/*/apps/resnet-classifier.{png,svg}
# and nothing else. The icon cache and the desktop database are refreshed by the triggers of
# hicolor-icon-theme and desktop-file-utils (where installed), so there is no maintainer
# script and no conffile: `apt remove` removes every file and the package's dpkg record
# (packaging/test_deb.sh checks it). What the user made (settings, logs, models, caches in
# their home) stays.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
BUNDLE="${1:-dist/cpu-only/ResNetClassifier}"
COMPRESSION="${DEB_COMPRESSION:-zstd}"
PACKAGE=resnet-classifier
PREFIX=/opt/$PACKAGE
[[ -x "$BUNDLE/ResNetClassifier" ]] || { echo "build_deb: no bundle in $BUNDLE (run packaging/build.sh --cpu-only first)" >&2; exit 1; }
VERSION=$("$PYTHON" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
OUT="dist/${PACKAGE}_${VERSION}_${ARCH}.deb"
STAGE=build/deb/${PACKAGE}
start=$(date +%s)

rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" "$STAGE/usr/share/icons/hicolor"
# hard links where possible: the 3 GB bundle is not copied again (dpkg-deb only reads it)
cp -al "$BUNDLE" "$STAGE$PREFIX" 2>/dev/null || cp -a "$BUNDLE" "$STAGE$PREFIX"

cat >"$STAGE/usr/bin/$PACKAGE" <<LAUNCHER
#!/bin/sh
# ResNet Classifier: the window, or a command (resnet-classifier classify -h)
exec $PREFIX/ResNetClassifier "\$@"
LAUNCHER
chmod 755 "$STAGE/usr/bin/$PACKAGE"

# the same entry as packaging/install_desktop_entry.sh writes, with the launcher and a theme icon
sed -e '/^# /d' -e "s|^Exec=/opt/ResNetClassifier/ResNetClassifier|Exec=$PACKAGE|" \
    -e "s|^TryExec=.*|TryExec=$PACKAGE|" -e "s|^Icon=.*|Icon=$PACKAGE|" \
    packaging/resnet-classifier.desktop >"$STAGE/usr/share/applications/$PACKAGE.desktop"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$STAGE/usr/share/applications/$PACKAGE.desktop"; fi
QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/make_icons.py --hicolor "$STAGE/usr/share/icons/hicolor" 2>/dev/null

# Qt's platform plugin needs these from the system (the README's list); the rest is in the bundle
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: $PACKAGE
Version: $VERSION
Architecture: $ARCH
Maintainer: ResNet Classifier developers <noreply@localhost>
Installed-Size: $(du -sk --apparent-size "$STAGE" | cut -f1)
Depends: libegl1, libgl1, libxkbcommon0, libxkbcommon-x11-0, libfontconfig1, libdbus-1-3, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libx11-xcb1
Section: graphics
Priority: optional
Description: classify photos with a ResNet and fine-tune one on your own photos
 A desktop app (Qt) to classify photos and folders with a torchvision ResNet,
 label photos into classes, fine-tune a model on them and sort photos into
 folders, without writing code. Runs on the CPU; a small flowers model ships
 with it. The command line is resnet-classifier (resnet-classifier -h).
CONTROL

chmod -R u+rwX,go+rX,go-w "$STAGE"
mkdir -p dist
dpkg-deb --root-owner-group -Z"$COMPRESSION" --build "$STAGE" "$OUT" >/dev/null
rm -rf "$STAGE"
echo "built $OUT in $(( $(date +%s) - start )) s: $(du -h "$OUT" | cut -f1) (installed: $(( $(dpkg-deb -f "$OUT" Installed-Size) / 1024 )) MB)" >&2
