#!/usr/bin/env bash
# Add the app to the Linux desktop menu for the current user:
#   packaging/install_desktop_entry.sh [BUNDLE_DIR]     (default: dist/ResNetClassifier)
#   packaging/install_desktop_entry.sh --uninstall
# Writes ~/.local/share/applications/resnet-classifier.desktop with Exec/Icon pointing into
# BUNDLE_DIR (use an absolute, lasting place, e.g. after `cp -r dist/ResNetClassifier ~/opt/`).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
ENTRY="$APPS/resnet-classifier.desktop"
if [[ "${1:-}" == "--uninstall" ]]; then
  rm -f "$ENTRY" && echo "removed $ENTRY"
  exit 0
fi
BUNDLE="$(cd "${1:-$HERE/../dist/ResNetClassifier}" && pwd)"
[[ -x "$BUNDLE/ResNetClassifier" ]] || { echo "no executable $BUNDLE/ResNetClassifier (build first: packaging/build.sh)" >&2; exit 1; }
mkdir -p "$APPS"
sed -e "s|/opt/ResNetClassifier|$BUNDLE|g" -e '/^# /d' "$HERE/resnet-classifier.desktop" >"$ENTRY"
chmod 644 "$ENTRY"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$ENTRY" || true; fi
if command -v update-desktop-database >/dev/null; then update-desktop-database -q "$APPS" || true; fi
echo "installed $ENTRY -> $BUNDLE/ResNetClassifier"
