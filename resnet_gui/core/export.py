"""CSV export of predictions (shared by the CLI and the window)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable, topk: int) -> Path:
    """One row per image: path, label_1, prob_1 ... label_k, prob_k, error. Written to a temp
    file and renamed so an existing CSV is never left half-written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    header = ["path"]
    for i in range(1, topk + 1):
        header += [f"label_{i}", f"prob_{i}"]
    header.append("error")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
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
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never leave a half-written temp file behind
        raise
    return path
