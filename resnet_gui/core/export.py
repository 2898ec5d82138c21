"""CSV export of predictions (shared by the CLI and the window)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

from .atomic import atomic_write
from .text import csv_safe


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable, topk: int) -> Path:
    """One row per image: path, label_1, prob_1 ... label_k, prob_k, error. ``predictions``
    are :class:`~resnet_gui.core.infer.Prediction` (or anything with path, topk, error).
    Written all or nothing: an existing CSV is never left half-written.

    File names, class names and error texts come from untrusted files, so each goes
    through :func:`~resnet_gui.core.text.csv_safe`; the probabilities are ours and stay numbers.
    """
    header = ["path"]
    for i in range(1, topk + 1):
        header += [f"label_{i}", f"prob_{i}"]
    header.append("error")
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for pred in predictions:
            row = [csv_safe(pred.path)]
            pairs = list(pred.topk)[:topk]
            for label, prob in pairs:
                row += [csv_safe(label), f"{prob:.6f}"]
            row += ["", ""] * (topk - len(pairs))
            row.append(csv_safe(pred.error or ""))
            writer.writerow(row)
    return Path(path)
