"""The interface trackers use to embed detections."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FeatureExtractor(Protocol):
    """Crops of a frame -> embeddings.

    `__call__(frame, boxes, channel_order="rgb")`: frame [H, W, 3] uint8 in
    `channel_order` ("bgr" for OpenCV's frames, converted once by
    `jaxmot.core.images.as_rgb`), boxes [K, 4] xywh pixels -> [K, dim] float32. Boxes may
    reach outside the frame (they are clipped); K may be 0.

    An extractor may also have `appearance_gate: float | None`, the largest cosine
    distance the ReID trackers should accept as a match for its features, tuned on
    held-out scenes (jaxmot.mot.calibration); `gate_of` reads it.
    """

    dim: int

    def __call__(
        self, frame: np.ndarray, boxes: np.ndarray, channel_order: str = "rgb"
    ) -> np.ndarray: ...


def crop_boxes(frame: np.ndarray, boxes: np.ndarray) -> list[np.ndarray | None]:
    """Cut each xywh box out of `frame`, clipped to the image; None where nothing is left."""
    h, w = frame.shape[:2]
    crops = []
    for x, y, bw, bh in np.asarray(boxes, np.float64):
        x1, y1 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
        x2, y2 = min(int(np.ceil(x + bw)), w), min(int(np.ceil(y + bh)), h)
        crops.append(frame[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else None)
    return crops


def gate_of(extractor: FeatureExtractor | None) -> float | None:
    """The extractor's tuned appearance gate, or None (the tracker's default applies)."""
    return getattr(extractor, "appearance_gate", None)


def embed_sequence_detections(
    sequence, extractor: FeatureExtractor, progress: str | None = None
) -> np.ndarray:
    """[K, D] features for every detection row of a sequence with frames, frame by frame.

    sequence: a MOTSequence (jaxmot.core.mot_io) whose frames can be read.
    progress: a progress-bar label (None: no bar).
    """
    from tqdm.auto import tqdm

    dets = sequence.detections
    features = np.zeros((len(dets), extractor.dim), np.float32)
    frames = range(1, sequence.info.length + 1)
    for frame in tqdm(frames, desc=progress, disable=progress is None):
        rows = dets.for_frame(frame)
        if len(rows):
            features[rows] = extractor(sequence.frame(frame), dets.boxes[rows])
    return features
