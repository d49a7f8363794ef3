"""Learned appearance embeddings: crops -> a ReID network, in padded jitted batches."""

from __future__ import annotations

import cv2
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.extractor import crop_boxes
from jaxmot.core.images import as_rgb
from jaxmot.core.padding import bucket_size
from jaxmot.reid.data.transforms import normalize

# Batch sizes a frame's crops are padded to: a sequence compiles at most a few times.
EXTRACTOR_BUCKETS = (8, 16, 32, 64, 128, 256)


def preprocess_crops(frame: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop xywh boxes from an RGB frame, resize to size = (height, width), normalise.

    Returns [K, height, width, 3] float32 (ImageNet mean/std); a box entirely outside
    the frame gives a zero (mean-coloured) crop.
    """
    height, width = size
    out = np.zeros((len(boxes), height, width, 3), np.float32)
    for k, crop in enumerate(crop_boxes(frame, boxes)):
        if crop is not None:
            resized = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
            out[k] = normalize(resized)
    return out


@nnx.jit
def _embed(model, images):
    return model.embed(images)


class ReIDExtractor:
    """FeatureExtractor backed by a ReID model (`model.embed(images) -> [B, D]`).

    Crops of a frame are resized to `input_size` (height, width), normalised, padded to
    the next bucket in EXTRACTOR_BUCKETS (rows of zeros; batch norm runs in eval mode,
    so padding never changes a real row) and embedded in one jitted call.
    """

    def __init__(
        self,
        model: nnx.Module,
        input_size: tuple[int, int],
        dim: int,
        appearance_gate: float | None = None,
    ):
        model.eval()
        self.model = model
        self.input_size = tuple(input_size)
        self.dim = dim
        self.appearance_gate = appearance_gate  # tuned for this model (see calibration)

    @classmethod
    def from_checkpoint(cls, directory=None) -> ReIDExtractor:
        """The exported model in `directory` (default: the shipped checkpoint)."""
        from jaxmot.reid.checkpoint import DEFAULT_CHECKPOINT, load_reid_model
        from jaxmot.train.export import read_manifest

        directory = DEFAULT_CHECKPOINT if directory is None else directory
        model, config = load_reid_model(directory)
        gate = read_manifest(directory).get("appearance_gate", {}).get("gate")
        return cls(model, config.input_size, model.embed_dim, gate)

    def embed_images(self, images: np.ndarray) -> np.ndarray:
        """[K, H, W, 3] normalised float32 -> [K, dim] float32, in bucketed batches."""
        k = len(images)
        if k == 0:
            return np.zeros((0, self.dim), np.float32)
        chunks = []
        for start in range(0, k, EXTRACTOR_BUCKETS[-1]):
            chunk = images[start : start + EXTRACTOR_BUCKETS[-1]]
            size = bucket_size(len(chunk), EXTRACTOR_BUCKETS)
            padded = np.zeros((size,) + chunk.shape[1:], np.float32)
            padded[: len(chunk)] = chunk
            chunks.append(np.asarray(_embed(self.model, jnp.asarray(padded)))[: len(chunk)])
        return np.concatenate(chunks).astype(np.float32)

    def __call__(
        self, frame: np.ndarray, boxes: np.ndarray, channel_order: str = "rgb"
    ) -> np.ndarray:
        frame = as_rgb(frame, channel_order)
        return self.embed_images(preprocess_crops(frame, np.asarray(boxes), self.input_size))
