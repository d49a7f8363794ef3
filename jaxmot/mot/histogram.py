"""A deterministic, training-free appearance embedding: colour histograms of crops.

Each crop is resized to 64x32 and split into an upper and a lower half (roughly torso
and legs, so two people in the same colours but swapped still differ); each half gives
a hue x saturation x value histogram (8 x 4 x 4 bins) of its pixels. The square root of
the normalised histogram (Hellinger mapping) turns cosine similarity into the
Bhattacharyya coefficient, a standard histogram similarity.
"""

from __future__ import annotations

import cv2
import numpy as np

from jaxmot.core.extractor import crop_boxes
from jaxmot.core.images import as_rgb

_SIZE = (32, 64)  # cv2 order: width, height
_BINS = (8, 4, 4)
_RANGES = [0, 180, 0, 256, 0, 256]


class ColorHistogramExtractor:
    """Crops -> [K, 256] float32 unit vectors (zeros for a crop entirely outside)."""

    dim = 2 * int(np.prod(_BINS))
    # Best IDF1 of the longterm tracker on 6 validation scenes (pooled 65.0; 0.5: 64.3,
    # no gate: 63.4): `python -m pipelines.tune_gate --extractor histogram`.
    appearance_gate = 0.6

    def __call__(
        self, frame: np.ndarray, boxes: np.ndarray, channel_order: str = "rgb"
    ) -> np.ndarray:
        frame = as_rgb(frame, channel_order)
        out = np.zeros((len(boxes), self.dim), np.float32)
        for k, crop in enumerate(crop_boxes(frame, boxes)):
            if crop is None:
                continue
            hsv = cv2.cvtColor(cv2.resize(crop, _SIZE, interpolation=cv2.INTER_AREA),
                               cv2.COLOR_RGB2HSV)  # fmt: skip
            half = _SIZE[1] // 2
            parts = [
                cv2.calcHist([part], [0, 1, 2], None, list(_BINS), _RANGES).ravel()
                for part in (hsv[:half], hsv[half:])
            ]
            feature = np.sqrt(np.concatenate(parts) / (2 * half * _SIZE[0]))
            out[k] = feature / max(np.linalg.norm(feature), 1e-12)
        return out
