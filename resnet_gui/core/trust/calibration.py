"""Temperature scaling (Guo et al. 2017): one number T, logits / T, fitted by minimising the
negative log-likelihood on held-out photos; and the expected calibration error. numpy only."""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15
T_MIN, T_MAX = 0.05, 20.0  # wider than any sane model needs; the stored value is checked against it
# A Gaussian prior on log T (sd 1: T within 0.14-7.4 at two sd) keeps a fit on a handful of
# held-out photos near T = 1: a user's 2 validation photos per class cannot say much. It weighs
# as one photo, so on hundreds of photos the fit is the plain NLL minimum (within ~1 %).
PRIOR_SD = 1.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), np.asarray(labels)].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, prior_sd: float | None = PRIOR_SD) -> float:
    """The T that minimises the NLL (plus the prior on log T, unless ``prior_sd`` is None): a
    coarse grid over log T, then golden-section search around its best point (the objective is
    smooth and, in practice, unimodal in log T)."""
    if len(labels) == 0:
        return 1.0
    n = len(labels)

    def loss(log_t: float) -> float:
        prior = 0.0 if prior_sd is None else 0.5 * (log_t / prior_sd) ** 2 / n
        return nll(logits, labels, math.exp(log_t)) + prior

    grid = np.linspace(math.log(T_MIN), math.log(T_MAX), 61)
    losses = [loss(g) for g in grid]
    best = int(np.argmin(losses))
    lo, hi = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if loss(a) < loss(b):
            hi = b
        else:
            lo = a
    return float(math.exp((lo + hi) / 2))


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: |accuracy - confidence| per equal-width confidence bin,
    weighted by the share of photos in the bin (top-1 confidence)."""
    probs = np.asarray(probs, dtype=np.float64)
    if len(probs) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    # bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)
