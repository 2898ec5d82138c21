"""From features and logits to a :class:`~.record.TrustInfo`: the out-of-class scorer fitted on
the training photos, its threshold and the temperature on held-out photos."""

from __future__ import annotations

import numpy as np

from .calibration import ece, fit_temperature, softmax
from .features import FEATURES_KIND
from .record import MAX_BANK_ROWS, TrustInfo
from .scores import METHODS, fit_mahalanobis, l2_normalise

DEFAULT_METHOD = "mahalanobis"  # docs/trust.md: the numbers behind the choice
DEFAULT_K = 50  # for knn
BANK_ROWS = 2048  # training photos read to fit (and kept in a knn bank): a seeded random pick of more
PASS_RATE = 0.95  # share of in-class held-out photos that must pass the threshold
MIN_NONE = 5  # held-out photos of none of the classes needed before they move the threshold
MIN_PASS_RATE = 0.90  # with them: the threshold that best separates, passing at least this share of class photos


TRUST_FEATURES = ("auto", "teacher", "model")  # what the score looks at; auto: the teacher when installed


def teacher_or_model(choice: str) -> tuple[bool, str]:
    """``(use the teacher, note)`` for a ``TRUST_FEATURES`` choice: ``auto`` falls back to the
    model's own features when the teacher cannot load (the note says why); ``teacher`` raises
    its :class:`~resnet_gui.core.teacher.model.TeacherError`."""
    if choice not in TRUST_FEATURES:
        raise ValueError(f"unknown trust features {choice!r}; choose one of {', '.join(TRUST_FEATURES)}")
    if choice == "model":
        return False, ""
    from ..teacher.model import TeacherError, shared_teacher

    try:
        shared_teacher()
    except TeacherError as exc:
        if choice == "teacher":
            raise
        return False, f"out-of-class detection on the model's own features ({exc})"
    return True, ""


def fit_trust(fit_features: np.ndarray, fit_labels: np.ndarray, held_logits: np.ndarray, held_features: np.ndarray,
              held_labels: np.ndarray, num_classes: int, method: str = DEFAULT_METHOD, k: int = DEFAULT_K,
              bank_rows: int = BANK_ROWS, seed: int = 0, fitted_on: str = "", none_logits: np.ndarray | None = None,
              none_features: np.ndarray | None = None, features: str = FEATURES_KIND) -> TrustInfo:
    """``fit_*``: the photos the scorer describes (training photos); ``held_*``: photos the
    model did not learn from, which choose the threshold (``PASS_RATE`` of them pass) and
    the temperature. ``none_*``: held-out photos of none of the classes (a dataset's
    ``_none`` folder); with at least ``MIN_NONE`` of them the threshold is the one that best
    tells them from the class photos (see :func:`separating_threshold`). ``features``: what
    the feature arrays are (the model's stage statistics, or ``TEACHER_FEATURES``: the
    ImageNet teacher's); logits are always the model's."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if len(held_labels) == 0 or len(fit_labels) == 0:
        raise ValueError("no photos to fit on")
    info = TrustInfo(method=method, threshold=0.0, fitted_on=fitted_on[:200], features=features)
    if method == "knn":
        rows = min(bank_rows, MAX_BANK_ROWS, len(fit_features))
        pick = np.sort(np.random.default_rng(seed).permutation(len(fit_features))[:rows])
        info.bank = l2_normalise(fit_features[pick]).astype(np.float16)
        info.k = max(1, min(k, rows))
    elif method == "mahalanobis":
        info.means, info.precision = fit_mahalanobis(fit_features, fit_labels, num_classes)
    scores = info.scores(held_logits, held_features)
    info.threshold = float(np.quantile(scores, PASS_RATE, method="inverted_cdf"))  # >= 95 % pass
    if none_logits is not None and len(none_logits) >= MIN_NONE:
        info.threshold = separating_threshold(scores, info.scores(none_logits, none_features))
    info.pass_rate = float((scores <= info.threshold).mean())
    info.photos = int(len(held_labels))
    info.temperature = fit_temperature(held_logits, held_labels)
    info.ece_before = ece(softmax(held_logits), held_labels)
    info.ece_after = ece(softmax(held_logits, info.temperature), held_labels)
    return info


def separating_threshold(class_scores: np.ndarray, none_scores: np.ndarray) -> float:
    """The threshold with the largest (share of ``none_scores`` above it) minus (share of
    ``class_scores`` above it), among those that pass at least ``MIN_PASS_RATE`` of the class
    photos; on a tie, the higher one (fewer class photos flagged), then halfway to the next
    score, so that a new class photo just above the highest one held out still passes."""
    class_scores, none_scores = np.sort(np.asarray(class_scores, np.float64)), np.asarray(none_scores, np.float64)
    floor = float(np.quantile(class_scores, MIN_PASS_RATE, method="inverted_cdf"))
    candidates = np.unique(np.concatenate([class_scores, none_scores]))
    candidates = candidates[candidates >= floor]
    flagged_none = (none_scores[None, :] > candidates[:, None]).mean(axis=1)
    flagged_class = (class_scores[None, :] > candidates[:, None]).mean(axis=1)
    gain = flagged_none - flagged_class
    best = np.flatnonzero(gain == gain.max())[-1]
    if best + 1 < len(candidates):
        return float((candidates[best] + candidates[best + 1]) / 2)
    return float(candidates[best])
