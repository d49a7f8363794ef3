"""Appearance embeddings for trackers (crops of a frame -> [K, D])."""

from jaxmot.appearance.base import FeatureExtractor, crop_boxes
from jaxmot.appearance.histogram import ColorHistogramExtractor

__all__ = ["ColorHistogramExtractor", "FeatureExtractor", "crop_boxes"]
