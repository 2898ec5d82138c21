"""The last review of a folder, kept as JSON (in the app's own data folder, never in the user's
folder) so that the window shows it again after a restart, with its date. Read back as
untrusted input: anything malformed is simply no saved review."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .duplicates import DuplicateGroup
from .folder import ReviewItem, ReviewReport

FORMAT = 1
MAX_BYTES = 200_000_000  # a review of 500,000 photos; anything larger is not ours


@dataclass
class SavedReview:
    report: ReviewReport
    folder: str
    weights: str  # the model's file name it was made with
    time: float  # seconds since the epoch

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.time))


def saved_path(reviews_dir: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """One file per reviewed folder (by its absolute path)."""
    key = hashlib.sha256(os.path.abspath(folder).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return Path(reviews_dir) / f"review-{key}.json"


def save_review(path: str | os.PathLike, report: ReviewReport, folder: str, weights: str) -> None:
    from ..atomic import atomic_write

    # vars(), not asdict(): the items are flat, and asdict's deep copy took seconds for 20,000
    fields = {k: getattr(report, k) for k in ("classes", "confusion", "skipped", "split_from", "seconds", "unlike_note")}
    fields.update(items=[vars(item) for item in report.items], duplicates=[vars(g) for g in report.duplicates])
    data = {"format": FORMAT, "folder": os.path.abspath(folder), "weights": Path(weights).name, "time": time.time(),
            "report": fields}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, ensure_ascii=False))  # one write: json.dump writes in small pieces


def load_review(path: str | os.PathLike, folder: str) -> SavedReview | None:
    """The saved review of ``folder``, photos gone since left out; None when there is none
    (or the file is not a review of this app for this folder)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("folder") != os.path.abspath(folder):
            return None
        r = data["report"]
        items = [ReviewItem(**item) for item in r["items"]]
        groups = [DuplicateGroup(**group) for group in r["duplicates"]]
        confusion = [[int(n) for n in row] for row in r["confusion"]]
        report = ReviewReport([str(c) for c in r["classes"]], items, groups, confusion,
                              [tuple(s) for s in r.get("skipped", [])], str(r.get("split_from", "")),
                              float(r.get("seconds", 0.0)), str(r.get("unlike_note", "")))
        saved = SavedReview(report, data["folder"], str(data.get("weights", "")), float(data["time"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    report.items = [item for item in report.items if os.path.exists(item.path)]  # moved or removed since
    kept = []
    for group in report.duplicates:
        here = [i for i, p in enumerate(group.paths) if os.path.exists(p)]
        if len(here) > 1:
            kept.append(DuplicateGroup([group.paths[i] for i in here], group.kind, group.similarity,
                                       [group.splits[i] for i in here] if group.splits else group.splits))
    report.duplicates = kept
    return saved
