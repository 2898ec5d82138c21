#!/usr/bin/env bash
# Test the Debian package for real, as root (sudo): install it with apt, start the app the way
# a desktop does (the entry's Exec line, %F filled in) under Xvfb, run its self-test, open a
# photo, hand a second photo to the open window ("Open with" twice), remove the package, and
# check that nothing is left but the user's own files.
#   sudo packaging/test_deb.sh dist/resnet-classifier_<version>_amd64.deb
set -euo pipefail
PACKAGE=resnet-classifier
ENTRY=/usr/share/applications/$PACKAGE.desktop
if [[ "${1:-}" == "--inside-xvfb" ]]; then  # ---- the desktop's part, under Xvfb
  exec_line=$(sed -n 's/^Exec=//p' "$ENTRY")
  photo=/usr/share/icons/hicolor/256x256/apps/$PACKAGE.png  # a real PNG the package installed
  run_entry() { sh -c "${exec_line//%F/$1}"; }  # what the desktop runs, %F filled in
  echo "== Exec=$exec_line --self-test" >&2
  run_entry "--self-test" >"$WORK/selftest.out" 2>"$WORK/selftest.err" || { cat "$WORK/selftest.err" >&2; exit 1; }
  grep '"max_gui_stall_ms"' "$WORK/selftest.out" >&2
  [[ $(grep -c '"topk"' "$WORK/selftest.out") -ge 1 ]]
  echo "== Exec=$exec_line $photo (a window), then a second launch with another photo" >&2
  cp "$photo" "$WORK/second.png"
  touch "$WORK/marker"
  setsid sh -c "${exec_line//%F/$photo}" >"$WORK/first.out" 2>&1 &  # its own process group, ended below
  first=$!
  for _ in $(seq 240); do  # the window listens once it is up: its socket appears in /tmp
    sleep 0.5
    [[ -n "$(find /tmp -maxdepth 1 -name 'ResNetClassifier-*' -type s -newer "$WORK/marker")" ]] && break
    kill -0 "$first" 2>/dev/null || { cat "$WORK/first.out" >&2; echo "FAIL: the first window exited" >&2; exit 1; }
  done
  start=$(date +%s)
  timeout 60 sh -c "${exec_line//%F/$WORK/second.png}" >"$WORK/second.out" 2>&1 \
    || { cat "$WORK/second.out" >&2; echo "FAIL: the second launch" >&2; kill -- -"$first"; exit 1; }
  grep -q "already open" "$WORK/second.out" || { cat "$WORK/second.out" >&2; echo "FAIL: a second window opened" >&2; kill -- -"$first"; exit 1; }
  echo "   the second launch handed its photo over and exited in $(( $(date +%s) - start )) s" >&2
  kill -0 "$first" || { echo "FAIL: the first window is gone" >&2; exit 1; }
  kill -- -"$first"; wait "$first" 2>/dev/null || true
  exit 0
fi

DEB=$(realpath "$1")
[[ $(id -u) == 0 ]] || { echo "test_deb: run as root (sudo)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
WORK=$(mktemp -d -t resnet-deb-XXXXXX)
export WORK
snapshot() { find /opt /usr /etc -xdev -not -name '*.cache' 2>/dev/null | sort; }
snapshot >"$WORK/before.txt"

echo "== apt-get install $DEB ($(du -h "$DEB" | cut -f1))" >&2
start=$(date +%s)
apt-get install -y -qq "$DEB" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; exit 1; }
echo "   installed in $(( $(date +%s) - start )) s: $(du -sh /opt/$PACKAGE | cut -f1) in /opt/$PACKAGE" >&2
[[ "$(command -v $PACKAGE)" == /usr/bin/$PACKAGE ]]
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$ENTRY"; fi
ls /usr/share/icons/hicolor/*/apps/$PACKAGE.* >/dev/null
"$PACKAGE" classify -h >/dev/null  # the launcher passes arguments on

# a user of their own: their settings, logs and caches land in this home, never in /opt
export HOME="$WORK/home" QT_QPA_PLATFORM=xcb
unset XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME
mkdir -p "$HOME"
xvfb-run -a -s '-screen 0 1366x768x24' "$(realpath "$0")" --inside-xvfb

echo "== apt-get remove $PACKAGE" >&2
apt-get remove -y -qq "$PACKAGE" >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log" >&2; exit 1; }
snapshot >"$WORK/after.txt"
# no maintainer script nor conffile: dpkg forgets the package entirely (no "rc" record)
if dpkg-query -W -f='${db:Status-Abbrev}' "$PACKAGE" 2>/dev/null | grep -q .; then
  echo "FAIL: dpkg still knows $PACKAGE: $(dpkg-query -W -f='${db:Status-Abbrev}' "$PACKAGE")" >&2; exit 1
fi
if compgen -G "/var/lib/dpkg/info/$PACKAGE.*" >/dev/null; then echo "FAIL: dpkg files left: $(ls /var/lib/dpkg/info/$PACKAGE.*)" >&2; exit 1; fi
if ! diff "$WORK/before.txt" "$WORK/after.txt" >"$WORK/left.txt"; then
  echo "FAIL: left behind or changed:" >&2; cat "$WORK/left.txt" >&2; exit 1
fi
echo "   nothing left in /opt, /usr, /etc or dpkg's records; the user's own files stay: $(cd "$HOME" && find . -mindepth 2 -maxdepth 3 -path '*ResNetClassifier*' | sort | tr '\n' ' ')" >&2
rm -rf "$WORK"
echo "PASS: $DEB installed, started from its desktop entry, handed over a photo, removed" >&2
