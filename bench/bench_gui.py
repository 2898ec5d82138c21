"""Benchmark: does the real window stay responsive while thousands of photos stream in?

For each count N (default 2,000 and 20,000) it makes N small JPEGs in a temp folder, opens
the real MainWindow in a fresh process (offscreen unless QT_QPA_PLATFORM says otherwise),
classifies the folder with the shipped model, and measures:

- the GUI thread's longest stall (a 10 ms heartbeat timer; a late tick is a stall);
- click-to-preview: a scripted mouse click on a random visible row every 0.5 s, timed until
  the preview shows that photo's picture (and until the title and chart change);
- Esc: a second run, Esc pressed after 2 s, timed until the run has ended;
- close: a third run, the window closed after 2 s, timed until the process has exited;
- RSS at the end of the full run (VmRSS, and the peak VmHWM, from /proc/self/status).

    python bench/bench_gui.py [--counts 2000 20000] [--weights FILE] [--size 96x72]

Prints a table and one JSON line. Results: docs/responsiveness.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLICK_EVERY_MS = 500
PHASE_DELAY_MS = 2000  # into the Esc and close runs


def make_jpegs(folder: Path, n: int, size: tuple[int, int]) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for i in range(n):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        img = Image.new("RGB", size, colour)
        ImageDraw.Draw(img).ellipse((size[0] // 5, size[1] // 5, size[0] * 4 // 5, size[1] * 4 // 5),
                                    fill=(255 - colour[0], 200, 255 - colour[2]))
        sub = folder / f"{i // 1000:03d}"  # folders of 1,000 like a camera's
        sub.mkdir(exist_ok=True)
        img.save(sub / f"photo_{i:05d}.jpg", quality=85)


def fast_weights(path: Path) -> str:
    """A random-initialised resnet18 at 32 px: results stream ~10x faster than with the
    shipped 128 px model, a harder test of the window (it is the window being measured)."""
    import torch
    import torchvision

    from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint

    torch.manual_seed(0)
    names = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
    save_checkpoint(path, torchvision.models.resnet18(num_classes=5), ModelInfo("resnet18", names, image_size=32))
    return str(path)


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


# ---------------------------------------------------------------- the child: the real window


def gc_timer() -> dict:
    """Full (generation 2) collections during the run: how many, and the longest, in ms."""
    import gc

    stats = {"gc_full": 0, "gc_full_max_ms": 0.0, "t": 0.0}

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            stats["t"] = time.perf_counter()
        else:
            stats["gc_full"] += 1
            stats["gc_full_max_ms"] = max(stats["gc_full_max_ms"], (time.perf_counter() - stats["t"]) * 1000)

    gc.callbacks.append(on_gc)
    return stats


def stall_sampler(beat, gui_thread_id: int, every_s: float = 0.02, late_ms: float = 50.0):
    """--stacks: a thread that, while the heartbeat is over ``late_ms`` late, samples what the GUI
    thread is running (its Python stack; a blank one means it is inside Qt or waiting)."""
    import threading
    import traceback
    from collections import Counter

    seen: Counter = Counter()
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_s):
            if beat.running and (time.perf_counter() - beat._last) * 1000 > late_ms:
                frame = sys._current_frames().get(gui_thread_id)
                stack = traceback.extract_stack(frame)[-6:] if frame is not None else []
                key = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack))
                seen[key or "(no Python frame)"] += 1

    threading.Thread(target=run, name="stall sampler", daemon=True).start()
    return seen, stop


def child(folder: str, weights: str, leave: bool = True, freeze: bool = True, stacks: bool = False) -> None:
    from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    try:
        from resnet_gui.gui.app import exit_process
    except ImportError:  # the code before issue 10, for a side-by-side run (PYTHONPATH=an old checkout)
        exit_process = sys.exit
    from resnet_gui.gui.classify.preview import PREVIEW_SIZE
    from resnet_gui.gui.heartbeat import Heartbeat
    from resnet_gui.gui.main_window import MainWindow
    from resnet_gui.gui.settings import AppSettings

    try:
        from resnet_gui.gui import heap

        heap.ENABLED = freeze
    except ImportError:  # the code before gc.freeze
        pass
    app = QApplication([sys.argv[0]])
    tmp = tempfile.TemporaryDirectory()
    settings = AppSettings(QSettings(str(Path(tmp.name) / "s.ini"), QSettings.Format.IniFormat))
    settings.qs.setValue("model/engine", os.environ.get("BENCH_GUI_ENGINE", "auto"))  # --engine
    window = MainWindow(settings)
    window.resize(1180, 760)
    window.show()
    page = window.classify_page
    beat = Heartbeat()
    out: dict = {"clicks": [], "title_ms": []}
    click = {"path": None, "t0": 0.0}
    rng = random.Random(1)
    clicker = QTimer()
    clicker.setInterval(CLICK_EVERY_MS)

    def do_click() -> None:
        if click["path"] is not None:
            return  # the last one has not shown yet: counted when it does
        view = page.results.table
        top = view.rowAt(0)
        bottom = view.rowAt(view.viewport().height() - 1)
        if top < 0:
            return
        bottom = bottom if bottom >= 0 else view.model().rowCount() - 1
        current = view.currentIndex().row()
        choices = [r for r in range(top, bottom + 1) if r != current]
        if not choices:
            return
        row = rng.choice(choices)
        rect = view.visualRect(view.model().index(row, 1))
        item = page.results.model.item(view.model().mapToSource(view.model().index(row, 0)).row())
        click.update(path=item.path, t0=time.perf_counter())
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(rect.center()))
        if page.preview._item is not None and page.preview._item.path == item.path:
            out["title_ms"].append((time.perf_counter() - click["t0"]) * 1000)

    def on_image(path: str, size: int, _image) -> None:
        if size == PREVIEW_SIZE and path == click["path"]:
            out["clicks"].append((time.perf_counter() - click["t0"]) * 1000)
            click["path"] = None

    page.thumbnails.loaded.connect(on_image)
    clicker.timeout.connect(do_click)

    def model_ready(*_args) -> None:
        page.model_loaded.disconnect(model_ready)
        page.run_finished.connect(full_run_done)
        out["t_start"] = time.perf_counter()
        out["gc"] = gc_timer()
        beat.start()
        if stacks:
            import threading

            out["sampler"] = stall_sampler(beat, threading.get_ident())
        clicker.start()
        page.classify([folder])

    def full_run_done(summary) -> None:
        page.run_finished.disconnect(full_run_done)
        clicker.stop()
        beat.stop()
        out.update(images=summary.classified, seconds=summary.seconds, max_stall_ms=beat.max_stall_ms,
                   worst_stall_cpu_ms=beat.worst_stall_cpu_ms, worst_stall_at_s=beat.worst_stall_at_s,
                   stalls_over_100ms=beat.stalls_over_100ms, rss_mb=rss_mb()[0], peak_rss_mb=rss_mb()[1],
                   gc_full=out["gc"]["gc_full"], gc_full_max_ms=out["gc"]["gc_full_max_ms"])
        out.pop("gc")
        if "sampler" in out:
            seen, stop = out.pop("sampler")
            stop.set()
            for key, n in seen.most_common(12):
                print(f"STALL SAMPLE x{n}: {key}", file=sys.stderr, flush=True)
        page.run_finished.connect(esc_run_done)
        page.classify([folder])
        QTimer.singleShot(PHASE_DELAY_MS, press_esc)

    def press_esc() -> None:
        out["esc_t0"] = time.perf_counter()
        QTest.keyClick(window, Qt.Key.Key_Escape)

    def esc_run_done(summary) -> None:
        page.run_finished.disconnect(esc_run_done)
        out["esc_ms"] = (time.perf_counter() - out["esc_t0"]) * 1000
        out["esc_cancelled"] = summary.cancelled
        page.classify([folder])
        QTimer.singleShot(PHASE_DELAY_MS, close_mid_run)

    def close_mid_run() -> None:
        print(json.dumps(out), flush=True)
        print(f"CLOSING {time.time()!r}", flush=True)
        window.close()

    page.model_loaded.connect(model_ready)
    page.start(weights, [])
    code = app.exec()
    print(f"EXEC_RETURNED {time.time()!r}", flush=True)
    tmp.cleanup()
    if leave:
        exit_process(code)  # as the app does (resnet_gui.gui.app.run_app)


# ---------------------------------------------------------------- the parent: one process per count


def measure(count: int, weights: str, size: tuple[int, int], profile: bool = False, freeze: bool = True,
            stacks: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        folder = Path(tmp) / "photos"
        make_jpegs(folder, count, size)
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "XDG_CONFIG_HOME": str(Path(tmp) / "config")}
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(folder), "--weights", weights]
                                + (["--profile"] if profile else []) + ([] if freeze else ["--no-freeze"])
                                + (["--stacks"] if stacks else []),
                                stdout=subprocess.PIPE, text=True, env=env)
        result, closing, returned = {}, None, None
        for line in proc.stdout:
            if line.startswith("{"):
                result = json.loads(line)
            elif line.startswith("CLOSING "):
                closing = float(line.split()[1])
            elif line.startswith("EXEC_RETURNED "):
                returned = float(line.split()[1])
        proc.wait()
        ended = time.time()
    clicks = result.pop("clicks", [])
    titles = result.pop("title_ms", [])
    result.pop("t_start", None)
    result.pop("esc_t0", None)
    result.update(count=count, freeze=freeze, exit_code=proc.returncode,
                  exit_after_close_ms=(ended - closing) * 1000 if closing else None,
                  exec_after_close_ms=(returned - closing) * 1000 if closing and returned else None, clicks=len(clicks),
                  click_median_ms=statistics.median(clicks) if clicks else None,
                  click_max_ms=max(clicks) if clicks else None,
                  clicks_over_100ms=sum(c > 100 for c in clicks),
                  title_median_ms=statistics.median(titles) if titles else None)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--weights", default="fast",
                        help="a weights file, or 'fast' (default): a random resnet18 at 32 px made here")
    parser.add_argument("--profile", action="store_true", help="profile the GUI thread (cProfile) to stderr")
    parser.add_argument("--size", default="96x72", help="the generated JPEGs' size, WxH")
    parser.add_argument("--no-freeze", action="store_true",
                        help="measure without gc.freeze after the model loads (gui/heap.py), for a side-by-side run")
    parser.add_argument("--both", action="store_true", help="each count twice: without gc.freeze, then with it")
    parser.add_argument("--stacks", action="store_true",
                        help="sample the GUI thread's Python stack while it stalls over 50 ms (to stderr)")
    parser.add_argument("--engine", default="auto", choices=["auto", "torch", "onnxruntime", "openvino"],
                        help="the window's engine (auto: what a new user gets)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if not args.profile:
            return child(args.child, args.weights, freeze=not args.no_freeze, stacks=args.stacks)
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(child, args.child, args.weights, leave=False)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        return None
    os.environ["BENCH_GUI_ENGINE"] = args.engine  # the children read it
    if args.weights == "fast":
        fast_dir = tempfile.TemporaryDirectory(prefix="bench-gui-model-")
        args.weights = fast_weights(Path(fast_dir.name) / "fast-resnet18-32px.pt")
    size = tuple(int(v) for v in args.size.lower().split("x"))
    freezes = [False, True] if args.both else [not args.no_freeze]
    rows = [measure(n, args.weights, size, args.profile, freeze, args.stacks) for n in args.counts for freeze in freezes]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())

    def fmt(value, spec=".0f"):
        return "-" if value is None else format(value, spec)

    print(f"{'images':>7} {'freeze':>6} {'full gc':>7} {'gc max':>8} {'s':>6} {'max stall':>10} {'>100ms':>7} {'click med':>10} {'click max':>10} "
          f"{'>100ms':>7} {'Esc':>7} {'exit':>7} {'RSS':>7} {'peak':>7}")
    for r in rows:
        print(f"{r.get('images', 0):>7} {'yes' if r['freeze'] else 'no':>6} {r.get('gc_full', '-'):>7} "
              f"{fmt(r.get('gc_full_max_ms')):>6}ms {fmt(r.get('seconds'), '.1f'):>6} {fmt(r.get('max_stall_ms')):>8}ms "
              f"{r.get('stalls_over_100ms', '-'):>7} {fmt(r['click_median_ms']):>8}ms {fmt(r['click_max_ms']):>8}ms "
              f"{r['clicks_over_100ms']:>4}/{r['clicks']:<2} {fmt(r.get('esc_ms')):>5}ms "
              f"{fmt(r['exit_after_close_ms']):>5}ms {fmt(r.get('rss_mb')):>5}MB {fmt(r.get('peak_rss_mb')):>5}MB")
    print(json.dumps({"bench": "gui", "cpu": cpu, "cores": os.cpu_count(), "weights": Path(args.weights).name,
                      "engine": args.engine,
                      "results": rows}))


if __name__ == "__main__":
    main()
