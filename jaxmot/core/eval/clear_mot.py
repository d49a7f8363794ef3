"""CLEAR-MOT and identity metrics through py-motmetrics, with our own IoU distances.

We never call `motmetrics.distances.iou_matrix`: it uses `np.asfarray`, which NumPy 2
removed. Instead each frame's distance matrix is built here exactly as it would build it
with `max_iou=0.5`: distance = 1 - IoU, and pairs with distance > 0.5 (IoU < 0.5) are NaN
("do not pair").

MOTP is py-motmetrics' definition: the mean 1 - IoU distance over matches, so LOWER is
better (the MOTChallenge website reports 1 - this, as a percentage).
"""

from __future__ import annotations

import math

import motmetrics as mm
import numpy as np

from jaxmot.core.eval.frames import FramePair

MAX_DISTANCE = 0.5  # 1 - IoU threshold

# py-motmetrics name -> the usual MOTChallenge column name.
METRIC_NAMES = {
    "mota": "MOTA",
    "motp": "MOTP",
    "idf1": "IDF1",
    "idp": "IDP",
    "idr": "IDR",
    "recall": "Rcll",
    "precision": "Prcn",
    "num_false_positives": "FP",
    "num_misses": "FN",
    "num_switches": "IDs",
    "num_fragmentations": "Frag",
    "mostly_tracked": "MT",
    "partially_tracked": "PT",
    "mostly_lost": "ML",
    "num_unique_objects": "GT",
    "num_frames": "num_frames",
}
COUNT_METRICS = ("FP", "FN", "IDs", "Frag", "MT", "PT", "ML", "GT", "num_frames")


def iou_distance(iou: np.ndarray) -> np.ndarray:
    """[N, M] IoU -> [N, M] py-motmetrics distance (1 - IoU, NaN where > 0.5)."""
    dist = 1.0 - iou
    return np.where(dist > MAX_DISTANCE, np.nan, dist)


def accumulate(pairs: list[FramePair]) -> mm.MOTAccumulator:
    """A py-motmetrics accumulator fed one update per frame."""
    acc = mm.MOTAccumulator(auto_id=False)
    for p in pairs:
        acc.update(p.gt_ids, p.tracker_ids, iou_distance(p.iou), frameid=p.frame)
    return acc


def _to_python(key: str, value) -> float | int:
    value = float(value)
    if key in COUNT_METRICS and math.isfinite(value):
        return int(round(value))
    return value


def clear_mot_metrics(
    accumulators: dict[str, mm.MOTAccumulator], overall: bool = True
) -> dict[str, dict[str, float | int]]:
    """MOTA, MOTP, IDF1, ... per sequence (+ "OVERALL" when `overall`), as Python numbers.

    OVERALL is py-motmetrics' own: counts summed over sequences, rates recomputed from
    the sums (not averaged).
    """
    names = list(accumulators)
    summary = mm.metrics.create().compute_many(
        [accumulators[n] for n in names],
        names=names,
        metrics=mm.metrics.motchallenge_metrics + ["num_frames"],
        generate_overall=overall and len(names) > 0,
    )
    out = {}
    for row_name, row in summary.iterrows():
        out[str(row_name)] = {new: _to_python(new, row[old]) for old, new in METRIC_NAMES.items()}
    return out
