"""CSV export of predictions (shared by the CLI and the window)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

from .atomic import atomic_write
from .text import csv_safe


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable, topk: int,
                          with_trust: bool | None = None) -> Path:
    """One row per image: path, label_1, prob_1 ... label_k, prob_k, [ood_score, unknown,] error.
    ``predictions`` are :class:`~resnet_gui.core.infer.Prediction` (or anything with path, topk,
    error). ``with_trust``: the out-of-class columns (``ood_score``; ``unknown``: true/false,
    empty when not available); None: when any prediction has a score.
    Written all or nothing: an existing CSV is never left half-written.

    File names, class names and error texts come from untrusted files, so each goes
    through :func:`~resnet_gui.core.text.csv_safe`; the probabilities are ours and stay numbers.
    """
    if with_trust is None:
        predictions = list(predictions)
        with_trust = any(getattr(p, "ood_score", None) is not None for p in predictions)
    header = ["path"]
    for i in range(1, topk + 1):
        header += [f"label_{i}", f"prob_{i}"]
    if with_trust:
        header += ["ood_score", "unknown"]
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
            if with_trust:
                score, unknown = getattr(pred, "ood_score", None), getattr(pred, "unknown", None)
                row += ["" if score is None else f"{score:.6f}", "" if unknown is None else str(bool(unknown)).lower()]
            row.append(csv_safe(pred.error or ""))
            writer.writerow(row)
    return Path(path)
