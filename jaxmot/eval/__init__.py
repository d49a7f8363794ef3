"""Tracking metrics: CLEAR-MOT and identity (py-motmetrics), HOTA (TrackEval).

pairs = load_pairs("data/MOT17/train", "runs/tracker")   # name -> (gt, results)
metrics = evaluate(pairs)                               # name | "OVERALL" -> dict
print(format_table(metrics)); write_json("metrics.json", metrics)
"""

from jaxmot.eval.metrics import OVERALL, evaluate, evaluate_sequence
from jaxmot.eval.pairs import load_pairs
from jaxmot.eval.preprocess import DISTRACTOR_CLASSES, preprocess_sequence
from jaxmot.eval.report import format_table, write_json

__all__ = [
    "DISTRACTOR_CLASSES",
    "OVERALL",
    "evaluate",
    "evaluate_sequence",
    "format_table",
    "load_pairs",
    "preprocess_sequence",
    "write_json",
]
