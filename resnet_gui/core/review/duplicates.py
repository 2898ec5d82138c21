"""Duplicate photos: byte-identical files (a hash) and copies that look the same (re-encoded,
resized, recoloured), and the groups a train/validation split would cut in two (leakage:
the model is then judged on photos it has trained on).

"Looks the same" compares the 16 x 16 grey thumbnails of what the model sees (mean removed,
unit length): a re-encoded or resized copy scores above 0.998, a black-and-white or
recoloured edit above 0.97, while 99 % of distinct flower photos stay below 0.967 to their
nearest neighbour. A flowers classifier's own features do worse here (a resized copy at
0.89 cosine, distinct photos' 99.9th percentile at 0.98): see docs/review.md."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..train.events import Stage

LOOKS_SAME = 0.97  # thumbnail correlation from which two photos are one picture
BLOCK = 2048  # rows of the similarity matrix computed at once (memory: BLOCK x N floats)
BLOCK_FLOATS = 2**26  # ...but at most 256 MB of them: 1,000 rows at N = 67,000


@dataclass
class DuplicateGroup:
    paths: list[str]  # two or more photos that are one picture
    kind: str  # "exact": byte-identical files; "near": the same picture re-encoded, resized or edited
    similarity: float  # the lowest thumbnail correlation that joined the group (1.0 for exact)
    splits: list[str] | None = None  # "train" | "val" per path, when a split is known

    @property
    def leaks(self) -> bool:
        """Split across train and validation: validation then measures memory, not skill."""
        return bool(self.splits) and len(set(self.splits)) > 1

    def to_json(self) -> dict:
        out = {"kind": self.kind, "similarity": round(self.similarity, 4), "paths": self.paths}
        if self.splits is not None:
            out["splits"] = self.splits
            out["leakage"] = self.leaks
        return out


def file_digests(paths: Sequence[str | Path], should_stop: Callable[[], bool] | None = None) -> Iterator[Stage]:
    """Yield Stages while hashing; return a list of hex digests (None where unreadable, or all
    remaining when cancelled)."""
    digests: list[str | None] = []
    total = len(paths)
    for i, path in enumerate(paths):
        if should_stop and should_stop():
            return digests + [None] * (total - len(digests))
        try:
            with open(path, "rb") as handle:
                digests.append(hashlib.file_digest(handle, "blake2b").hexdigest())
        except OSError:
            digests.append(None)
        if (i + 1) % 256 == 0 or i + 1 == total:
            yield Stage(f"hashing {total} files", i + 1, total)
    return digests


class _Groups:
    """Union-find over row numbers."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def similar_pairs(thumbs, threshold: float = LOOKS_SAME,
                  should_stop: Callable[[], bool] | None = None) -> list[tuple[int, int, float]] | None:
    """(i, j, correlation) for every pair i < j of thumbnails correlating at ``threshold`` or more,
    computed in blocks of rows so memory stays near 256 MB whatever N; None once ``should_stop()``
    (checked between blocks: 20,000 photos take seconds)."""
    steps = similar_pair_steps(thumbs, threshold, should_stop)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def similar_pair_steps(thumbs, threshold: float = LOOKS_SAME,
                       should_stop: Callable[[], bool] | None = None) -> Iterator[Stage]:
    """:func:`similar_pairs` as a generator: a Stage (photos compared of all) after each block."""
    import numpy as np

    t = np.asarray(thumbs, dtype=np.float32)
    t = t - t.mean(1, keepdims=True)
    norms = np.linalg.norm(t, axis=1, keepdims=True)
    t = np.where(norms > 1e-3, t / np.maximum(norms, 1e-12), 0.0)  # a flat picture matches nothing
    pairs = []
    block = max(64, min(BLOCK, BLOCK_FLOATS // max(1, len(t))))
    for start in range(0, len(t), block):
        if should_stop is not None and should_stop():
            return None
        sims = t[start:start + block] @ t.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            if start + r < c:
                pairs.append((start + r, c, float(sims[r, c])))
        yield Stage(f"looking for duplicates among {len(t)} photos", min(len(t), start + block), len(t))
    return pairs


def duplicate_groups(paths: Sequence[str | Path], digests: Sequence[str | None], thumbs,
                     splits: Sequence[str] | None = None, threshold: float = LOOKS_SAME,
                     should_stop: Callable[[], bool] | None = None,
                     pairs: list[tuple[int, int, float]] | None = None) -> list[DuplicateGroup] | None:
    """Groups of exact copies (same digest) and of photos that look the same; ``splits`` gives
    each photo's side of the train/validation split, to flag leakage. Largest groups first.
    None if ``should_stop()`` turned true. ``pairs``: :func:`similar_pair_steps`' result, when
    the caller reported its progress."""
    n = len(paths)
    groups = _Groups(n)
    lowest: dict[int, float] = {}
    exact_only: dict[int, bool] = {}
    by_digest: dict[str, int] = {}
    for i, digest in enumerate(digests):
        if digest is not None:
            first = by_digest.setdefault(digest, i)
            if first != i:
                groups.join(first, i)
    same_bytes = {i: by_digest.get(d) for i, d in enumerate(digests) if d is not None}
    if pairs is None:
        pairs = similar_pairs(thumbs, threshold, should_stop)
    if pairs is None:
        return None
    near = [(i, j, s) for i, j, s in pairs if same_bytes.get(i) != same_bytes.get(j) or same_bytes.get(i) is None]
    for i, j, _ in near:
        groups.join(i, j)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(groups.find(i), []).append(i)
    for i, j, s in near:
        root = groups.find(i)
        lowest[root] = min(lowest.get(root, 1.0), s)
        exact_only[root] = False
    out = []
    for root, rows in members.items():
        if len(rows) < 2:
            continue
        kind = "near" if exact_only.get(root) is False else "exact"
        out.append(DuplicateGroup([str(paths[r]) for r in rows], kind, lowest.get(root, 1.0),
                                  [splits[r] for r in rows] if splits is not None else None))
    out.sort(key=lambda g: (-len(g.paths), g.paths[0]))
    return out
