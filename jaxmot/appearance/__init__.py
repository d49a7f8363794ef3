"""Appearance embeddings for trackers (crops of a frame -> [K, D]).

`make_extractor("histogram")`: colour histograms, training-free.
`make_extractor("reid", checkpoint=None)`: a learned ReID network (default: the model
shipped in checkpoints/, trained by pipelines.train_reid).
"""

from __future__ import annotations

from jaxmot.appearance.base import FeatureExtractor, crop_boxes, gate_of
from jaxmot.appearance.histogram import ColorHistogramExtractor

EXTRACTORS = ("reid", "histogram")


def make_extractor(name: str, checkpoint=None) -> FeatureExtractor:
    if name == "histogram":
        return ColorHistogramExtractor()
    if name == "reid":
        from jaxmot.appearance.reid_extractor import ReIDExtractor

        return ReIDExtractor.from_checkpoint(checkpoint)
    raise ValueError(f"unknown appearance extractor {name!r}; choose one of {EXTRACTORS}")


__all__ = [
    "EXTRACTORS",
    "ColorHistogramExtractor",
    "FeatureExtractor",
    "crop_boxes",
    "gate_of",
    "make_extractor",
]
