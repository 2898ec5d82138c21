"""Likely mislabeled photos: out-of-fold predictions of a linear head trained k times on
cached features, then confident learning (Northcutt et al., JAIR 2021) as cleanlab's
``filter.find_label_issues`` does it by default (``prune_by_noise_rate``), ranked by
cleanlab's default label-quality score (``self_confidence``: the out-of-fold probability of
the given label). tests/test_review.py compares the two with cleanlab itself.

Out-of-fold matters: a model asked about the photos it was trained on has learned their
labels, flips included, and its own probabilities hide them."""

from __future__ import annotations

from typing import Callable, Iterator

from ..train.events import Stage

FOLDS = 5
# L2 on the head (features are standardised), chosen per folder: the value whose out-of-fold
# predictions give the given labels the lowest cross-entropy. A fixed 1e-3 overfit 512
# features on a few hundred photos per class and cost flips in the ranking (docs/review.md).
WEIGHT_DECAYS = (1.0, 0.3, 0.1, 0.03, 0.01)  # strongest first: each fit starts from the last
WEIGHT_DECAY = 0.1
LBFGS_STEPS = 100


def _standardise(features):
    import numpy as np

    x = np.asarray(features, dtype=np.float32)
    return (x - x.mean(0)) / (x.std(0) + 1e-6)


def fit_linear_head(x, labels, num_classes: int, weight_decay: float = WEIGHT_DECAY, steps: int = LBFGS_STEPS,
                    start=None):
    """Multinomial logistic regression (full batch, L-BFGS): returns (W, b) as torch tensors.
    ``start``: a (W, b) to begin from (a neighbouring weight decay's solution converges sooner)."""
    import torch

    x, y = torch.as_tensor(x), torch.as_tensor(labels, dtype=torch.long)
    w0, b0 = start if start is not None else (torch.zeros(x.shape[1], num_classes), torch.zeros(num_classes))
    w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=steps, history_size=10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + weight_decay * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach(), b.detach()


def stratified_folds(labels, k: int, seed: int = 0):
    """Fold number of each row: every class spread evenly over the k folds (seeded)."""
    import numpy as np

    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        rng.shuffle(rows)
        folds[rows] = np.arange(len(rows)) % k
    return folds


def out_of_fold_probs(features, labels, num_classes: int, *, folds: int = FOLDS, seed: int = 0,
                      weight_decays=WEIGHT_DECAYS, should_stop: Callable[[], bool] | None = None) -> Iterator[Stage]:
    """Yield a Stage per fold; return (N, K) probabilities, each row from a head that never saw
    that photo (None if cancelled), at the weight decay whose out-of-fold cross-entropy on the
    given labels is lowest. Takes seconds for thousands of photos."""
    import numpy as np
    import torch

    x = _standardise(features)
    labels = np.asarray(labels)
    k = max(2, min(folds, int(np.bincount(labels).max())))
    fold_of = stratified_folds(labels, k, seed)
    probs = np.zeros((len(weight_decays), len(labels), num_classes), dtype=np.float32)
    threads = torch.get_num_threads()
    for fold in range(k):
        yield Stage(f"out-of-fold predictions: fold {fold + 1} of {k}", fold, k)
        if should_stop and should_stop():
            return None
        held, head = fold_of == fold, None
        # Matrices this small run 8x faster on one thread than on two busy cores (measured:
        # 1.9 s against 15.9 s for 2,000 photos); the setting is restored at once.
        torch.set_num_threads(1)
        try:
            for i, decay in enumerate(weight_decays):
                head = fit_linear_head(x[~held], labels[~held], num_classes, weight_decay=decay, start=head)
                with torch.no_grad():
                    probs[i, held] = torch.softmax(torch.as_tensor(x[held]) @ head[0] + head[1], 1).numpy()
        finally:
            torch.set_num_threads(threads)
    yield Stage(f"out-of-fold predictions: {k} folds done", k, k)
    given = probs[:, np.arange(len(labels)), labels]
    return probs[int(np.argmin(-np.log(np.clip(given, 1e-12, 1.0)).mean(1)))]


def label_quality(labels, probs):
    """cleanlab's default score (``self_confidence``): the probability of the given label;
    low means likely mislabeled."""
    import numpy as np

    labels = np.asarray(labels)
    return np.asarray(probs)[np.arange(len(labels)), labels]


def _round_preserving_sum(values):
    """Round to whole numbers keeping the (rounded) total, as cleanlab's ``round_preserving_sum``."""
    import numpy as np

    floats = np.asarray(values, dtype=float)
    ints = floats.round()
    target, total = floats.sum().round(), ints.sum().round()
    while abs(total - target) > 1e-6:
        step = -1 if target < total else 1
        changes = min(int(abs(round(target - total))), len(floats))
        ints[np.argsort(floats - ints)[::-step][:changes]] += step
        total = ints.sum().round()
    return ints.astype(np.int64)


def confident_joint(labels, probs):
    """Calibrated confident joint C[given][true] (cleanlab.count.compute_confident_joint)."""
    import numpy as np

    labels, probs = np.asarray(labels), np.asarray(probs)
    n, k = probs.shape
    counts = np.bincount(labels, minlength=k)
    thresholds = np.array([probs[labels == c, c].mean() if counts[c] else 2.0 for c in range(k)])
    above = probs >= thresholds - 1e-6
    confident = above.any(1)
    guess = np.where(above.sum(1) > 1, probs.argmax(1), above.argmax(1))
    joint = np.zeros((k, k), dtype=np.float64)
    np.add.at(joint, (labels[confident], guess[confident]), 1)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    joint = joint / np.maximum(joint.sum(1, keepdims=True), 1e-12) * counts[:, None]
    joint = joint / max(joint.sum(), 1e-12) * counts.sum()
    return np.stack([_round_preserving_sum(row) for row in joint])


def find_label_issues(labels, probs, min_per_class: int = 1):
    """Boolean mask of likely label issues: cleanlab's default ``prune_by_noise_rate``. For each
    given class k and each other class j, the C[k][j] photos labeled k with the largest
    margin p(j) - p(k); never one the model itself predicts as its given label."""
    import numpy as np

    labels, probs = np.asarray(labels), np.asarray(probs)
    k = probs.shape[1]
    prune = _keep_at_least(confident_joint(labels, probs).T, min_per_class)  # prune[true][given]
    mask = np.zeros(len(labels), dtype=bool)
    for given in range(k):
        rows = np.flatnonzero(labels == given)
        if len(rows) <= min_per_class:
            continue
        for true in range(k):
            count = prune[true, given]
            if true != given and count > 0:
                margin = probs[rows, true] - probs[rows, given]
                mask[rows[np.argsort(-margin, kind="stable")[:count]]] = True
    agrees = (probs + np.eye(k)[labels] * 1e-6).argmax(1) == labels
    return mask & ~agrees


def _keep_at_least(prune, n: int):
    """cleanlab's ``_keep_at_least_n_per_class`` (frac_noise=1): each class keeps n photos."""
    import numpy as np

    diagonal = prune.diagonal().astype(np.float64)
    new_diagonal = np.maximum(diagonal, n)
    per_col = np.maximum(np.count_nonzero(prune, axis=0) - 1.0, 1.0)
    new = prune - (new_diagonal - diagonal) / per_col
    new[new < 0] = 0
    np.fill_diagonal(new, new_diagonal)
    return np.stack([_round_preserving_sum(row) for row in new])
