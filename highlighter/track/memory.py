"""What the target looks like, and what its lookalikes look like.

``TargetMemory`` is SPARROW's target-specific tracked features: appearance vectors of the target
from confident frames spread over the video, summarised as ``k`` prototypes (k-means medoids, k=4),
so one odd frame (a blur, a half-occlusion) cannot redefine the target. ``DistractorMemory`` is
DAM4SAM's idea: a few vectors of things that looked like the target but were not it, so a
re-detection can tell "the product came back" from "its lookalike is still there".

Vectors are unit length; similarity is the cosine, 1.0 for identical appearance.
"""

from __future__ import annotations

import numpy as np


# Two similarities to a cluster's mean closer than this are equal: far above the float64 rounding
# of a dot product of unit vectors a few hundred long, as the memory's are (under 1e-13), far below
# any real difference between two views.
TIE = 1e-9


def kmeans_medoids(vectors: np.ndarray, k: int, *, iterations: int = 10) -> np.ndarray:
    """Indices of the medoids of a k-means clustering of ``(n, d)`` unit vectors (cosine distance).

    Deterministic: seeded by farthest-point sampling from the first vector. With ``n <= k`` every
    vector is its own medoid.

    A cluster's medoid is its member nearest the cluster's mean. Members within ``TIE`` of that are
    a tie, and the one most like the first vector (the prompt's view in ``TargetMemory``) is taken.
    A cluster of two is always such a tie: the mean of two unit vectors is exactly as near to each.
    Left to the float rounding of the two dot products, the choice went either way with the BLAS
    code path of the machine (MKL's AVX-512 and AVX2 kernels) and the thread count, and so did the
    tracks: 16 of the 22 clusterings of the synthetic clutter family's seed 0 had such a tie
    (docs/tracking.md, "The memory's medoids: a tie left to rounding").
    """
    n = len(vectors)
    if n <= k:
        return np.arange(n)
    centres = [0]
    dist = 1.0 - vectors @ vectors[0]
    for _ in range(1, k):
        centres.append(int(np.argmax(dist)))
        dist = np.minimum(dist, 1.0 - vectors @ vectors[centres[-1]])
    means = vectors[centres].copy()
    for _ in range(iterations):
        labels = np.argmax(vectors @ means.T, axis=1)
        for c in range(k):
            members = vectors[labels == c]
            if len(members):
                m = members.mean(axis=0)
                means[c] = m / max(np.linalg.norm(m), 1e-12)
    labels = np.argmax(vectors @ means.T, axis=1)
    medoids = []
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        if idx.size:
            near = vectors[idx] @ means[c]
            tied = idx[near >= near.max() - TIE]
            medoids.append(int(tied[np.argmax(vectors[tied] @ vectors[0])]))
    return np.array(sorted(set(medoids)))


class TargetMemory:
    """Appearance of the target from confident frames, summarised as ``k`` prototypes.

    ``capacity`` bounds the stored vectors: when full, every second one is dropped, so what remains
    still spans the whole video evenly (memory does not grow with the video's length). The first
    vector (the prompt's) is pinned: the marketer's own click defines the product.
    """

    def __init__(self, k: int = 4, capacity: int = 48) -> None:
        self.k, self.capacity = k, capacity
        self._vectors: list[np.ndarray] = []
        self._frames: list[int] = []
        self._prototypes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, vector: np.ndarray, frame: int) -> None:
        self._vectors.append(np.asarray(vector, np.float64))
        self._frames.append(frame)
        if len(self._vectors) > self.capacity:
            keep = [0, *range(1, len(self._vectors), 2)]
            self._vectors = [self._vectors[i] for i in keep]
            self._frames = [self._frames[i] for i in keep]
        self._prototypes = None

    @property
    def prototypes(self) -> np.ndarray:
        """``(m, d)`` medoid vectors, ``m <= k``."""
        if self._prototypes is None:
            if not self._vectors:
                raise ValueError("the target memory is empty")
            vectors = np.stack(self._vectors)
            self._prototypes = vectors[kmeans_medoids(vectors, self.k)]
        return self._prototypes

    def similarity(self, vector: np.ndarray) -> float:
        """Cosine similarity to the nearest prototype; 0.0 when the memory is empty."""
        if not self._vectors:
            return 0.0
        return float(np.max(self.prototypes @ vector))

    def anchor_similarity(self, vector: np.ndarray) -> float:
        """Cosine similarity to the pinned first vector (the prompt's view); 0.0 when empty."""
        return float(self._vectors[0] @ vector) if self._vectors else 0.0

    def copy(self) -> TargetMemory:
        other = TargetMemory(self.k, self.capacity)
        other._vectors, other._frames = list(self._vectors), list(self._frames)
        return other


class DistractorMemory:
    """Up to ``capacity`` appearance vectors of lookalikes; the oldest is replaced when full.

    A vector within ``duplicate`` cosine of a stored one of the same ``source`` refreshes it instead
    of taking a slot, so a single lookalike seen on many frames does not push out the others.
    ``source``: what the vector was taken from, when that is known (another product's id); None for
    a lookalike found in the scene.
    """

    def __init__(self, capacity: int = 8, duplicate: float = 0.97) -> None:
        self.capacity, self.duplicate = capacity, duplicate
        self._vectors: list[np.ndarray] = []
        self._sources: list[str | None] = []

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, vector: np.ndarray, source: str | None = None) -> None:
        vector = np.asarray(vector, np.float64)
        same = [i for i, s in enumerate(self._sources) if s == source]
        if same:
            sims = np.stack([self._vectors[i] for i in same]) @ vector
            k = int(np.argmax(sims))
            if sims[k] >= self.duplicate:
                self._vectors[same[k]] = vector
                return
        self._vectors.append(vector)
        self._sources.append(source)
        if len(self._vectors) > self.capacity:
            self._vectors.pop(0)
            self._sources.pop(0)

    def similarity(self, vector: np.ndarray, ignore: frozenset[str] = frozenset()) -> float:
        """Cosine similarity to the nearest stored lookalike (not counting those taken from a
        source in ``ignore``); 0.0 when none is known."""
        kept = [v for v, s in zip(self._vectors, self._sources) if s not in ignore]
        if not kept:
            return 0.0
        return float(np.max(np.stack(kept) @ vector))

    def copy(self) -> DistractorMemory:
        other = DistractorMemory(self.capacity, self.duplicate)
        other._vectors, other._sources = list(self._vectors), list(self._sources)
        return other
