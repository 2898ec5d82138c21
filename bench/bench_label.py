"""Benchmark: the Label page with 20,000 photos: memory (RSS), listing time, and how long the
GUI thread is busy per scroll step while thumbnails decode in the background.

Photos: hard links (or copies) of the real 224 px flower JPEGs in ../shared/data/flowers-224,
under distinct names, so every thumbnail is decoded on its own (the cache is keyed by path).

    QT_QPA_PLATFORM=offscreen python bench/bench_label.py [--photos 20000] [--steps 300]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FLOWERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flowers-224"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def make_photos(folder: Path, n: int) -> None:
    sources = sorted(FLOWERS.rglob("*.jpg"))
    if not sources:
        sys.exit(f"no photos in {FLOWERS}")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        target = folder / f"photo_{i:05d}.jpg"
        if not target.exists():
            try:
                os.link(sources[i % len(sources)], target)
            except OSError:
                shutil.copyfile(sources[i % len(sources)], target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=300, help="scroll steps (each one page down)")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from resnet_gui.gui.label.page import LabelPage
    from resnet_gui.gui.settings import AppSettings

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_photos(tmp / "photos", args.photos)
        rss_start = rss_mb()
        page = LabelPage(AppSettings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)))
        page.resize(1280, 800)
        page.show()
        page.open_dataset(str(tmp / "data"))
        clock = QElapsedTimer()
        clock.start()
        worst_gap, last = 0.0, time.perf_counter()
        page.open_photos(str(tmp / "photos"))
        while page.scan_runner.busy:
            app.processEvents()
            now = time.perf_counter()
            worst_gap, last = max(worst_gap, now - last), now
        list_s = clock.elapsed() / 1000
        rss_listed = rss_mb()

        bar = page.view.verticalScrollBar()
        frames = []
        for step in range(args.steps):
            start = time.perf_counter()
            bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()) if step else 0)
            page.view.viewport().repaint()  # the paint a real scroll would cause, on the GUI thread
            app.processEvents()  # and the thumbnails that arrived meanwhile
            frames.append((time.perf_counter() - start) * 1000)
            time.sleep(0.01)
        deadline = time.monotonic() + 10
        while not page.thumbnails.idle() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        rss_scrolled = rss_mb()
        kept = page.model.thumbnails_kept()
        page.shutdown()

    frames.sort()
    result = {
        "photos": args.photos, "list_s": round(list_s, 2), "worst_gui_gap_while_listing_ms": round(worst_gap * 1000, 1),
        "scroll_steps": args.steps, "frame_ms_median": round(statistics.median(frames), 1),
        "frame_ms_p95": round(frames[int(0.95 * len(frames)) - 1], 1), "frame_ms_max": round(frames[-1], 1),
        "rss_mb_before": round(rss_start), "rss_mb_listed": round(rss_listed), "rss_mb_after_scroll": round(rss_scrolled),
        "thumbnails_kept": kept, "cpu": cpu_name(), "cores": os.cpu_count(),
    }
    print(f"{'photos':<41}{args.photos}")
    print(f"{'listing the folder':<41}{list_s:.2f} s (GUI thread never busy over {worst_gap * 1000:.0f} ms)")
    print(f"{'scroll step, GUI thread (median/p95/max)':<41}"
          f" {result['frame_ms_median']} / {result['frame_ms_p95']} / {result['frame_ms_max']} ms")
    print(f"{'RSS before / listed / after scrolling':<41}{rss_start:.0f} / {rss_listed:.0f} / {rss_scrolled:.0f} MB")
    print(f"{'thumbnail pixmaps kept':<41}{kept}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
