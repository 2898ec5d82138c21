"""CSV export of predictions (shared by the CLI and the window)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

from .atomic import atomic_write


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable, topk: int) -> Path:
    """One row per image: path, label_1, prob_1 ... label_k, prob_k, error. ``predictions``
    are :class:`~resnet_gui.core.infer.Prediction` (or anything with path, topk, error).
    Written all or nothing: an existing CSV is never left half-written."""
    header = ["path"]
    for i in range(1, topk + 1):
        header += [f"label_{i}", f"prob_{i}"]
    header.append("error")
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for pred in predictions:
            row = [pred.path]
            pairs = list(pred.topk)[:topk]
            for label, prob in pairs:
                row += [label, f"{prob:.6f}"]
            row += ["", ""] * (topk - len(pairs))
            row.append(pred.error or "")
            writer.writerow(row)
    return Path(path)
