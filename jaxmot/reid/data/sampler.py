"""P x K identity batches for metric learning, as pure functions of (seed, step).

A batch holds P distinct identities with K images each, the sampling that triplet and
centre losses need (Hermans et al., "In Defense of the Triplet Loss", 2017). Batch
`step` is drawn from `np.random.default_rng([seed, step])` alone, so any batch can be
recomputed without replaying the ones before it: a run's data position is just its step,
and resuming from a checkpoint at step s continues with exactly the batches an
uninterrupted run would have seen. Augmentation draws from a second stream,
`default_rng([seed, step, 1])`, so turning it on or off never changes which images a
batch holds.
"""

from __future__ import annotations

import numpy as np

from jaxmot.reid.data.split import ReIDSplit
from jaxmot.reid.data.transforms import AugmentConfig, augment, normalize

_AUGMENT_STREAM = 1


def _check_seed_step(seed: int, step: int) -> None:
    if seed < 0 or step < 0:
        raise ValueError(f"seed and step must be >= 0, got seed={seed}, step={step}")


class PKSampler:
    """Random access P x K batches of row indices.

    labels: [N] identity labels (any integers). Per batch, P distinct identities are
    drawn uniformly without replacement, then K rows of each: without replacement when
    the identity has >= K rows, with replacement otherwise.
    """

    def __init__(self, labels: np.ndarray, p: int, k: int, seed: int = 0):
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be [N], got shape {labels.shape}")
        if p < 1 or k < 1:
            raise ValueError(f"p and k must be >= 1, got p={p}, k={k}")
        self.ids, inverse = np.unique(labels, return_inverse=True)
        if p > len(self.ids):
            raise ValueError(f"p={p} identities per batch, but the labels hold {len(self.ids)}")
        _check_seed_step(seed, 0)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(self.ids) + 1))
        self._rows = [order[bounds[i] : bounds[i + 1]] for i in range(len(self.ids))]
        self.p, self.k, self.seed = p, k, seed

    @property
    def batch_size(self) -> int:
        return self.p * self.k

    def indices(self, step: int) -> np.ndarray:
        """[P * K] int64 row indices of batch `step`, identity-major (K rows per identity)."""
        _check_seed_step(self.seed, step)
        rng = np.random.default_rng([self.seed, step])
        chosen = rng.choice(len(self.ids), self.p, replace=False)
        out = [
            rng.choice(self._rows[c], self.k, replace=len(self._rows[c]) < self.k) for c in chosen
        ]
        return np.concatenate(out).astype(np.int64)


class ReIDBatches:
    """Training batches of a split: `batch(step)` -> {"images", "labels"}.

    images: [P * K, H, W, 3] float32, ImageNet-normalised (augmented when `augment`);
    labels: [P * K] int32 contiguous class indices (`ReIDSplit.relabel`).
    """

    def __init__(
        self,
        split: ReIDSplit,
        p: int,
        k: int,
        seed: int = 0,
        augment: bool = True,
        config: AugmentConfig | None = None,
    ):
        self.split = split
        self.labels, self.mapping = split.relabel()
        self.sampler = PKSampler(self.labels, p, k, seed)
        self.seed, self.augment = seed, augment
        self.config = AugmentConfig() if config is None else config

    @property
    def num_classes(self) -> int:
        return len(self.mapping)

    def batch(self, step: int) -> dict[str, np.ndarray]:
        """The batch of `step`; the same step always gives the same arrays."""
        idx = self.sampler.indices(step)
        images = self.split.images[idx]
        if self.augment:
            rng = np.random.default_rng([self.seed, step, _AUGMENT_STREAM])
            x = augment(images, rng, self.config)
        else:
            x = normalize(images)
        return {"images": x, "labels": self.labels[idx]}


__all__ = ["PKSampler", "ReIDBatches"]
