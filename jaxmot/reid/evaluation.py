"""The ReID evaluation protocol: rank-k and mAP of embeddings on query/gallery splits.

A trained model is scored on each (query, gallery) pair of splits, and so is any
training-free baseline the caller passes (a frame-level `FeatureExtractor` such as the
colour histograms of jaxmot.mot, which this package does not import), on the same crops.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.reid.data.split import ReIDSplit
from jaxmot.reid.data.transforms import normalize
from jaxmot.reid.extractor import ReIDExtractor
from jaxmot.reid.metrics import evaluate_retrieval

CHUNK = 256  # crops embedded per forward pass


def embed_split(extractor: ReIDExtractor, split: ReIDSplit) -> np.ndarray:
    """[N, D] embeddings of a split's crops (already at the model's input size)."""
    chunks = [
        extractor.embed_images(normalize(split.images[i : i + CHUNK]))
        for i in range(0, len(split), CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, extractor.dim), np.float32)


def whole_crop_embeddings(extractor: FeatureExtractor, split: ReIDSplit) -> np.ndarray:
    """[N, D] embeddings by a frame-level extractor that sees each crop as a frame with
    one box covering all of it (how a training-free baseline scores the same crops)."""
    h, w = split.images.shape[1:3]
    whole = np.array([[0.0, 0.0, w, h]])
    rows = [extractor(image, whole)[0] for image in split.images]
    return np.array(rows, np.float32).reshape(-1, extractor.dim)


def evaluate_embeddings(
    embed: Callable[[ReIDSplit], np.ndarray], query: ReIDSplit, gallery: ReIDSplit
) -> dict:
    """Retrieval metrics of `embed(split) -> [N, D]` on a query/gallery pair."""
    q, g = embed(query), embed(gallery)
    metrics = evaluate_retrieval(q, query.ids, query.cams, g, gallery.ids, gallery.cams)
    return {**metrics, "num_query": len(query), "num_gallery": len(gallery)}


def evaluate_sets(
    extractor: ReIDExtractor,
    sets: dict[str, tuple[ReIDSplit, ReIDSplit]],
    baselines: dict[str, FeatureExtractor] | None = None,
) -> dict:
    """{name: metrics} of the model on every (query, gallery) set and, as
    `name/BASELINE`, of each baseline extractor (e.g. {"histogram": ...})."""
    out = {}
    for name, (query, gallery) in sets.items():
        out[name] = evaluate_embeddings(lambda s: embed_split(extractor, s), query, gallery)
        for label, baseline in (baselines or {}).items():
            out[f"{name}/{label}"] = evaluate_embeddings(
                lambda s, b=baseline: whole_crop_embeddings(b, s), query, gallery
            )
    return out


def format_evaluation(evaluation: dict) -> str:
    """One line per set: rank-1, rank-5 and mAP in percent, with the split sizes."""
    return "\n".join(
        f"{name:38s} rank-1 {100 * m['rank1']:5.1f}  rank-5 {100 * m['rank5']:5.1f}  "
        f"mAP {100 * m['mAP']:5.1f}  ({m['num_query']} queries, {m['num_gallery']} gallery)"
        for name, m in evaluation.items()
    )


__all__ = [
    "embed_split",
    "evaluate_embeddings",
    "evaluate_sets",
    "format_evaluation",
    "whole_crop_embeddings",
]
