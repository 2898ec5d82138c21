"""Benchmark: the window's time to the first result, per engine, as a user meets it.

Each run is a fresh process (offscreen unless QT_QPA_PLATFORM says otherwise): it opens the
real MainWindow with the engine chosen in its (temporary) settings, loads the model and
classifies one photo. Times are from the moment the process was started: the window shown,
the model ready, the first result on screen. It also says whether torch was imported.

    python bench/bench_first_result.py [--weights FILE] [--photo JPG] [--runs 3]
                                       [--engines torch onnxruntime openvino]

Prints a table (medians) and one JSON line. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time
t0 = float(os.environ["BENCH_T0"])
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from resnet_gui.gui.main_window import MainWindow
from resnet_gui.gui.settings import AppSettings
qs = QSettings(os.environ["BENCH_SETTINGS"], QSettings.Format.IniFormat)
qs.setValue("model/engine", os.environ["BENCH_ENGINE"])
window = MainWindow(AppSettings(qs))
window.show()
app.processEvents()
out = {"shown_s": time.time() - t0}
page = window.classify_page

def ready(info, device):
    out["model_ready_s"] = time.time() - t0
    out["engine"] = page.model_bar.text.toolTip()

def first():
    if "first_result_s" not in out:
        out["first_result_s"] = time.time() - t0
        out["label"] = page.result_items()[0].label if page.result_items() else ""
        out["torch_imported"] = "torch" in sys.modules
        window.close()
        app.quit()

page.model_loaded.connect(ready)
page.model_failed.connect(lambda message: (out.update(error=message), app.quit()))
page.results_arrived.connect(first)
page.use_model(os.environ["BENCH_WEIGHTS"])
page.classify([os.environ["BENCH_PHOTO"]])
QTimer.singleShot(300_000, app.quit)
app.exec()
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
"""


def one_run(engine: str, weights: Path, photo: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BENCH_ENGINE=engine, BENCH_WEIGHTS=str(weights), BENCH_PHOTO=str(photo),
                   BENCH_SETTINGS=str(Path(tmp) / "settings.ini"))
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        env["BENCH_T0"] = repr(time.time())
        done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=REPO,
                              timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{engine}: the run failed:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _engine_line(tooltip: str) -> str:
    """The model bar tooltip's "engine: ..." line, as plain text."""
    text = html.unescape(re.sub(r"<[^>]+>", "", tooltip))
    return next((line[len("engine: "):] for line in text.splitlines() if line.startswith("engine: ")), "?")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=REPO / "weights" / "default.pt")
    parser.add_argument("--photo", type=Path, help="default: the first flowers photo in ../shared/data")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=["auto", "torch", "onnxruntime", "openvino"])
    args = parser.parse_args()
    photo = args.photo or next(iter(sorted((REPO.parent / "shared" / "data" / "flowers-photos").rglob("*.jpg"))), None)
    if photo is None:
        raise SystemExit("give --photo JPG")
    rows = {}
    for engine in args.engines:
        runs = [one_run(engine, args.weights.resolve(), photo.resolve()) for _ in range(args.runs)]
        failed = [r["error"] for r in runs if "error" in r]
        if failed:
            print(f"{engine}: {failed[0]}", file=sys.stderr)
            continue
        rows[engine] = {key: round(statistics.median(r[key] for r in runs), 2)
                        for key in ("shown_s", "model_ready_s", "first_result_s")}
        rows[engine].update(torch_imported=runs[-1]["torch_imported"], label=runs[-1]["label"],
                            engine=_engine_line(runs[-1]["engine"]))
    print(f"{'engine setting':<14} {'window shown':>13} {'model ready':>12} {'first result':>13}  torch?  what ran")
    for engine, row in rows.items():
        print(f"{engine:<14} {row['shown_s']:>12.2f}s {row['model_ready_s']:>11.2f}s {row['first_result_s']:>12.2f}s"
              f"  {'yes' if row['torch_imported'] else 'no':<6}  {row['engine']}")
    print(json.dumps({"bench": "first_result", "runs": args.runs, "weights": args.weights.name, "photo": photo.name,
                      "cpu": _cpu_name(), "results": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
