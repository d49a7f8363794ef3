"""HOTA, DetA, AssA, LocA (+ DetRe, DetPr, AssRe, AssPr) through TrackEval.

TrackEval is the official implementation; we skip its dataset classes and build the
per-sequence dict its `HOTA.eval_sequence` reads: per frame, gt and tracker ids relabelled
to 0..n-1 over the sequence, and the IoU similarity [n_gt, n_tracker].

HOTA is computed at the 19 localisation thresholds alpha = 0.05, 0.10, ..., 0.95; the
numbers reported are the means over alpha (TrackEval's summary values).
"""

from __future__ import annotations

import numpy as np
from trackeval.metrics import HOTA

from jaxmot.core.eval.frames import FramePair

HOTA_FIELDS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")


def _relabel(ids_per_frame: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Map ids to contiguous 0..n-1 (TrackEval indexes count arrays with them)."""
    if not ids_per_frame:
        return [], 0
    flat = np.concatenate([np.zeros(0, np.int64), *ids_per_frame])
    uniq, inverse = np.unique(flat, return_inverse=True)
    splits = np.cumsum([len(ids) for ids in ids_per_frame])[:-1]
    return [a.astype(np.int64) for a in np.split(inverse, splits)], len(uniq)


def hota_data(pairs: list[FramePair]) -> dict:
    """TrackEval's preprocessed sequence dict from per-frame pairs."""
    gt_ids, num_gt_ids = _relabel([p.gt_ids for p in pairs])
    tracker_ids, num_tracker_ids = _relabel([p.tracker_ids for p in pairs])
    return {
        "num_timesteps": len(pairs),
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_tracker_ids,
        "num_gt_dets": sum(len(p.gt_ids) for p in pairs),
        "num_tracker_dets": sum(len(p.tracker_ids) for p in pairs),
        "gt_ids": gt_ids,
        "tracker_ids": tracker_ids,
        "similarity_scores": [p.iou for p in pairs],
    }


def _summary(res: dict) -> dict[str, float]:
    return {k: float(np.mean(res[k])) for k in HOTA_FIELDS}


def hota_metrics(datas: dict[str, dict], overall: bool = True) -> dict[str, dict[str, float]]:
    """HOTA family per sequence (+ "OVERALL", TrackEval's `combine_sequences`)."""
    metric = HOTA()
    raw = {name: metric.eval_sequence(data) for name, data in datas.items()}
    out = {name: _summary(res) for name, res in raw.items()}
    if overall and raw:
        out["OVERALL"] = _summary(metric.combine_sequences(raw))
    return out
