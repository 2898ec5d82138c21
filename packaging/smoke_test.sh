#!/usr/bin/env bash
# Smoke test of the frozen app: build it, then run the bundled executable (never the venv):
#   1. `train`: 1 epoch of resnet18 from scratch on a tiny folder (3 classes x 6 images);
#   2. `--self-test` offscreen on a few real photos: the real window and worker, JSON lines
#      on stdout (with weights/default.pt if the bundle has one, else the model from step 1);
#   3. `classify --json` with the model from step 1;
#   4. `classify --json` without --weights when the bundle has a model (resnet_gui/weights/ in
#      _internal/): the CLI finds it the way resnet_gui.resources does in a wheel;
#   5. `classify --engine onnxruntime` (a cached conversion), `export --format onnx`, and
#      `classify` of the exported .onnx: the bundled CPU engine.
# Every JSON line is checked (path + topk, probabilities sum to ~1). Exits non-zero on any
# failure. Run it whenever packaging/, the dependencies or the entry point change.
#
#   packaging/smoke_test.sh              # build (packaging/build.sh), then test
#   packaging/smoke_test.sh --no-build   # test the bundle already in dist/ResNetClassifier/
#   APP=dist/cpu-only/ResNetClassifier/ResNetClassifier packaging/smoke_test.sh --no-build
#   APP=dist/ResNetClassifier.app/Contents/MacOS/ResNetClassifier ...   # macOS
#   APP=dist/ResNetClassifier/resnet-gui.exe ...                         # Windows (the console twin)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON="${PYTHON:-.venv/bin/python}"  # only checks JSON and, without shared data, draws images
APP="${APP:-dist/ResNetClassifier/ResNetClassifier}"
PHOTOS="${PHOTOS:-$ROOT/../shared/data}"
STEP_TIMEOUT="${STEP_TIMEOUT:-600}"

t0=$(date +%s)
if [[ "${1:-}" != "--no-build" ]]; then
  packaging/build.sh
fi
[[ -x "$APP" ]] || { echo "FAIL: $APP not found (build first)" >&2; exit 1; }
t_built=$(date +%s)

TMP=$(mktemp -d -t resnet-smoke-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# Keep the test's settings, logs and torch cache away from the user's.
export XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" XDG_CACHE_HOME="$TMP/cache"
export TORCH_HOME="$TMP/torch" QT_QPA_PLATFORM=offscreen

step() { echo "== $*" >&2; }
run_app() {  # run_app NAME ARGS...: the frozen app with a time limit, stdout to $TMP/NAME.out
  local name=$1; shift
  local s rc=0
  s=$(date +%s)
  timeout "$STEP_TIMEOUT" "$APP" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
  echo "   $name: exit $rc in $(( $(date +%s) - s )) s" >&2
  if [[ $rc != 0 ]] || grep -q "torchvision::nms does not exist\|Traceback" "$TMP/$name.err"; then
    echo "FAIL: $name (exit $rc)" >&2
    tail -n 40 "$TMP/$name.err" >&2
    exit 1
  fi
}

# ---- photos: real ones from the shared data, else drawn ones
mkdir -p "$TMP/photos" "$TMP/tiny"
if [[ -d "$PHOTOS/flowers-224" ]]; then
  for cls in daisy roses sunflowers tulips; do
    files=("$PHOTOS/flowers-224/$cls"/*)
    cp "${files[0]}" "$TMP/photos/$cls-$(basename "${files[0]}")"
  done
  # a grayscale PNG and an RGBA PNG made from a real photo: the odd modes real folders have
  files=("$TMP/photos"/*)
  "$PYTHON" -c "import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.convert('L').save(sys.argv[2]); im.convert('RGBA').save(sys.argv[3])" \
    "${files[0]}" "$TMP/photos/gray.png" "$TMP/photos/rgba.png"
else
  "$PYTHON" -c "
import sys; from PIL import Image, ImageDraw
for i, c in enumerate([(200, 40, 40), (40, 160, 60), (40, 70, 200), (220, 200, 40)]):
    im = Image.new('RGB', (160, 120), c); ImageDraw.Draw(im).ellipse((30, 20, 130, 100), fill=(240, 240, 240))
    im.save(f'{sys.argv[1]}/drawn_{i}.jpg')" "$TMP/photos"
fi
if [[ -d "$PHOTOS/digits" ]]; then
  for cls in 0 1 7; do
    mkdir -p "$TMP/tiny/$cls"
    files=("$PHOTOS/digits/$cls"/*)
    cp "${files[@]:0:6}" "$TMP/tiny/$cls/"
  done
else
  "$PYTHON" -c "
import sys; from PIL import Image, ImageDraw
for name, c in (('red', (210, 40, 40)), ('green', (40, 170, 60)), ('blue', (40, 70, 210))):
    for i in range(6):
        im = Image.new('RGB', (48, 48), c); ImageDraw.Draw(im).rectangle((4 * i, 4, 4 * i + 16, 30), fill=(250, 250, 250))
        import os; os.makedirs(f'{sys.argv[1]}/{name}', exist_ok=True); im.save(f'{sys.argv[1]}/{name}/{i}.png')" "$TMP/tiny"
fi
echo "photos: $(find "$TMP/photos" -type f | wc -l); tiny training folder: $(find "$TMP/tiny" -type f | wc -l) images" >&2

check_json() {  # check_json FILE MIN_RESULTS NUM_CLASSES|any: every line parses, has path + topk;
                #   probabilities descend, sum to <= 1, and to ~1 when the top-k holds every class
  "$PYTHON" - "$@" <<'PY'
import json, sys
path, want, classes = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [line for line in open(path, encoding="utf-8").read().splitlines() if line.strip()]
ok = 0
for line in lines:
    rec = json.loads(line)  # a non-JSON line fails the test: stdout must hold only results
    if set(rec) == {"summary"}:  # --self-test's last line: the run's size, time and longest GUI stall
        summary = rec["summary"]
        assert summary["images"] >= 1 and summary["max_gui_stall_ms"] >= 0, rec
        print(f"   self-test summary: {summary}", file=sys.stderr)
        continue
    assert isinstance(rec.get("path"), str), rec
    if "error" in rec:
        continue
    topk = rec["topk"]
    probs = [float(p) for _, p in topk]
    assert topk and all(isinstance(label, str) for label, _ in topk), rec
    assert all(0.0 <= p <= 1.0 for p in probs) and probs == sorted(probs, reverse=True), rec
    assert sum(probs) <= 1.0 + 1e-3, rec
    if classes != "any":
        assert len(topk) == int(classes) and abs(sum(probs) - 1.0) < 1e-3, rec
    ok += 1
assert ok >= want, f"{ok} images classified, expected at least {want}: {lines}"
print(f"   {path.rsplit('/', 1)[-1]}: {ok} results OK, e.g. {lines[0][:150]}", file=sys.stderr)
PY
}

# ---- 1. fine-tune through the frozen CLI
step "train (1 epoch, resnet18 from scratch)"
run_app train train "$TMP/tiny" --out "$TMP/tiny.pt" --arch resnet18 --from scratch --mode full \
  --epochs 1 --image-size 64 --batch-size 6 --val-split 0.34
[[ -s "$TMP/tiny.pt" ]] || { echo "FAIL: train wrote no $TMP/tiny.pt" >&2; cat "$TMP/train.err" >&2; exit 1; }
tail -n 2 "$TMP/train.out" >&2 || true

# ---- 2. the real window, offscreen
shopt -s nullglob
# beside the executable in _internal/; in a macOS .app, Contents/Resources/ (MacOS/../Resources)
bundled=("$(dirname "$APP")"/{_internal,../Resources}/resnet_gui/weights/*.{pt,pth,safetensors})
shopt -u nullglob
bundled_default="${bundled[0]:-}"
WEIGHTS_ARGS=(--weights "$TMP/tiny.pt") SELFTEST_CLASSES=3  # the window shows the top 5 by default
if [[ -n "$bundled_default" ]]; then WEIGHTS_ARGS=() SELFTEST_CLASSES=any; fi  # the bundled model, as a user gets it
step "--self-test ${WEIGHTS_ARGS[*]:-(bundled $(basename "$bundled_default"))}"
n_photos=$(find "$TMP/photos" -type f | wc -l)
run_app selftest --self-test "${WEIGHTS_ARGS[@]}" --screenshot "$TMP/window.png" "$TMP"/photos/*
check_json "$TMP/selftest.out" "$n_photos" "$SELFTEST_CLASSES"
[[ -s "$TMP/window.png" ]] || { echo "FAIL: no screenshot" >&2; exit 1; }

# ---- 3. classify with the fine-tuned model
step "classify --json with the fine-tuned model"
run_app classify classify --weights "$TMP/tiny.pt" --json --topk 3 "$TMP/photos"
check_json "$TMP/classify.out" "$n_photos" 3

# ---- 4. classify with the bundled model, as a user without a model of their own gets it
if [[ -n "$bundled_default" ]]; then
  step "classify --json without --weights (bundled $(basename "$bundled_default"))"
  run_app classify_default classify --json "$TMP/photos"
  check_json "$TMP/classify_default.out" "$n_photos" any
fi

# ---- 5. the CPU engine: the fine-tuned model converted once (cached), then the .onnx export
if "$APP" classify -h 2>/dev/null | grep -q -- "--engine"; then  # the CLI wiring of issue 14 is in
step "classify --engine onnxruntime (cached conversion), then export and classify the .onnx"
run_app classify_engine classify --weights "$TMP/tiny.pt" --engine onnxruntime --json --topk 3 "$TMP/photos"
check_json "$TMP/classify_engine.out" "$n_photos" 3
grep -q "onnxruntime" "$TMP/classify_engine.err" || { echo "FAIL: the CLI did not say onnxruntime ran" >&2; exit 1; }
run_app export export "$TMP/tiny.pt" --format onnx --out "$TMP/tiny.onnx" --check "$TMP/photos"
run_app classify_onnx classify --weights "$TMP/tiny.onnx" --json --topk 3 "$TMP/photos"
check_json "$TMP/classify_onnx.out" "$n_photos" 3
fi

# ---- no log file full of errors, no leftover child processes
t_end=$(date +%s)
echo "PASS: smoke test of $APP ($(du -sh "$(dirname "$APP")" | cut -f1)): build $(( t_built - t0 )) s, tests $(( t_end - t_built )) s, total $(( t_end - t0 )) s" >&2
