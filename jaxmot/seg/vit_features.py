"""Frozen ViT patch features for the segmenters, computed once per image.

    features = FrozenViTFeatures(patch_size=16, checkpoint="dino_deitsmall16_pretrain.pth")
    feats = features(images)          # uint8 [N, H, W, 3] -> float32 [N, H/16, W/16, 384]

The ViT is frozen (as in DINO's linear evaluation), so its features are a fixed function of the
image: computing them once before training (instead of in every step) gives the same
model for a fraction of the time. Without a checkpoint the ViT keeps its random
initialisation; `random_weights` says so, and the pipelines print it next to every
figure, since such features only show that the plumbing works.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from jaxmot.seg.dino_convert import load_dino_vit
from jaxmot.seg.vit import dino_preprocess, vit_small


class FrozenViTFeatures:
    """DINO ViT-S/16 or ViT-S/8 as a batched, jitted feature function."""

    def __init__(
        self,
        patch_size: int = 16,
        checkpoint: str | os.PathLike | None = None,
        *,
        seed: int = 0,
        batch_size: int = 8,
    ):
        if checkpoint is None:
            model = vit_small(patch_size, rngs=nnx.Rngs(seed))
        else:  # skip the random initialisation: every weight comes from the file
            model = nnx.eval_shape(lambda: vit_small(patch_size, rngs=nnx.Rngs(seed)))
            load_dino_vit(model, checkpoint)
        model.eval()
        self.patch_size = patch_size
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.random_weights = checkpoint is None
        self.batch_size = batch_size
        graphdef, state = nnx.split(model)
        self._state = state
        self._forward = jax.jit(lambda s, x: nnx.merge(graphdef, s)(dino_preprocess(x)))

    @property
    def description(self) -> str:
        if self.random_weights:
            return f"ViT-S/{self.patch_size}, RANDOM weights (no DINO checkpoint given)"
        return f"ViT-S/{self.patch_size}, DINO weights from {self.checkpoint}"

    def __call__(self, images: np.ndarray, progress: bool = False) -> np.ndarray:
        """uint8 [N, H, W, 3] (one size) -> float32 [N, H/P, W/P, 384]."""
        images = np.asarray(images)
        out = []
        starts = range(0, len(images), self.batch_size)
        for i in tqdm(starts, desc="ViT features", unit="batch", disable=not progress):
            chunk = images[i : i + self.batch_size]
            n = len(chunk)
            if n < self.batch_size:  # pad the last batch: one compiled shape per image size
                pad = np.zeros((self.batch_size - n, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            out.append(np.asarray(self._forward(self._state, chunk))[:n])
        return np.concatenate(out) if out else np.zeros((0,), np.float32)


__all__ = ["FrozenViTFeatures"]
