"""A batch's top-k rows with each photo's out-of-class score: the one place the torch
Classifier and the ONNX engines turn logits and features into what ``classify`` reports."""

from __future__ import annotations

import numpy as np

from .record import NOT_AVAILABLE, TrustInfo


class Ranked(list):
    """``[(label, probability), ...]`` best first, as before, plus the photo's out-of-class
    score and verdict (None when the model has no trust data)."""

    ood_score: float | None = None
    unknown: bool | None = None


def with_scores(rows: list, trust: TrustInfo | None, logits, features, batch_uint8=None) -> list[Ranked]:
    """``rows`` as :class:`Ranked`, scored when ``trust`` (and the features it needs) are there.
    ``batch_uint8``: the photos as the model saw them (NCHW), for a score on the teacher's features."""
    ranked = [Ranked(row) for row in rows]
    if trust is None or (trust.needs_features and features is None):
        return ranked
    if trust.uses_teacher:
        if batch_uint8 is None:
            return ranked
        features = teacher_features_of(batch_uint8)
    scores = trust.scores(np.asarray(logits, dtype=np.float32),
                          None if features is None else np.asarray(features, dtype=np.float32))
    for row, score in zip(ranked, scores.tolist()):
        row.ood_score, row.unknown = float(score), trust.is_unknown(score)
    return ranked


def teacher_features_of(batch_uint8):
    """The ImageNet teacher's (N, 1280) features of a uint8 NCHW batch (the process's shared teacher)."""
    from ..teacher.model import shared_teacher

    return shared_teacher().features_of_uint8(batch_uint8)


def usable_trust(trust: TrustInfo | None, width: int | None) -> tuple[TrustInfo | None, list[str]]:
    """The trust data when it fits a model whose features are ``width`` wide (None: no
    features), else None with notes for the user. Trust data on the teacher's features loads
    the teacher here, once per process; without it, the notes say why."""
    if trust is None:
        return None, [NOT_AVAILABLE]
    if trust.uses_teacher:
        from ..teacher.model import TeacherError, shared_teacher

        try:
            shared_teacher()
        except TeacherError as exc:
            return None, [f"out-of-class detection: not available ({exc})"]
        return trust, []
    stored = trust.bank if trust.bank is not None else trust.means
    if trust.needs_features and (width is None or stored is None or stored.shape[1] != width):
        got = "no features" if width is None else f"{width} features"
        return None, [f"out-of-class detection: its stored data does not fit this model ({got}); ignored. "
                      "resnet-gui calibrate MODEL DATA_DIR makes it again"]
    return trust, []
