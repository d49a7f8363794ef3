"""Single-object tracking (one-pass evaluation) metrics: success AUC, precision, norm. precision.

pred, gt = read_boxes("runs/mil/blackswan.txt"), read_boxes("gt/blackswan.txt")  # sot_io
scores = score_sequence(pred, gt)                         # SequenceScores
metrics = evaluate_sequences({"blackswan": (pred, gt)})  # name | "OVERALL" -> dict

Definitions (OTB-2015 toolkit `calcSeqErrRobust` / `perfPlot`, as pytracking's
`analysis/extract_results.py` and pysot-toolkit's `OPEBenchmark` reimplement them; all
three were read to fix the details below):

* Boxes are xywh (top-left x, y, width, height) in pixels, one row per frame.
* Invalid predictions: a predicted row with a NaN, w <= 0 or h <= 0 is replaced by the
  previous (already repaired) prediction, as OTB does for frames 2..T. A prediction
  that is invalid with nothing before it scores IoU 0 and an infinite centre error.
* First frame: OTB and pytracking overwrite the first prediction with the ground truth
  (the tracker was initialised there), so frame 1 counts as a perfect frame. That is
  the default here (`first_frame="gt"`); "exclude" drops frame 1 (GOT-10k style) and
  "keep" scores the prediction as given.
* Invalid ground truth: frames whose gt box has a NaN, w <= 0 or h <= 0 (absent target,
  as LaSOT / GOT-10k mark them) are left out of numerator and denominator, as
  pytracking does for every dataset but LaSOT/UAV (its LaSOT mode counts them as
  failures instead). A sequence without a single valid frame is an error.
* IoU: continuous-coordinate area overlap, inter / (w_p h_p + w_g h_g - inter), in
  [0, 1]. OTB and pytracking write it with inclusive pixel corners (x + w - 1) and a
  +1 on the intersection side, which cancel to the same number.
* Success curve: the fraction of scored frames with IoU > t (strictly greater: OTB,
  pysot, pytracking, GOT-10k) for t in `SUCCESS_THRESHOLDS` = linspace(0, 1, 21). So a
  frame with IoU 0 fails even at t = 0, and no frame passes t = 1: a perfect tracker's
  AUC is 20/21 = 0.952, exactly as in those toolkits. Success
  AUC = mean of the curve (OTB's "AUC"; a Riemann sum, not a trapezoid).
* Precision curve: the fraction of scored frames whose centre distance
  ||c_p - c_g||_2 <= t for t in 0, 1, ..., 50 px; `precision20` is the value at 20 px.
  Centres are x + w / 2 (OTB's x + (w - 1) / 2 gives the same differences).
* Normalised precision (TrackingNet, LaSOT): the centre offset divided per axis by the
  gt width and height, ||(c_p - c_g) / (w_g, h_g)||_2 <= t for t in 0, 0.01, ..., 0.5
  (51 thresholds). pysot and pytracking both report the curve's value at t = 0.2 as
  "Norm Precision"; that is `norm_precision` here (the number papers tabulate for
  LaSOT). The TrackingNet/LaSOT papers rank by the area under that curve instead:
  `norm_precision_auc` = mean of the 51-point curve.
* Overall over sequences: every sequence weighs the same (not by length). The curves
  are averaged over sequences and the summary numbers read off the averaged curves, so
  overall AUC = mean of per-sequence AUCs, overall P@20 = mean of per-sequence P@20.

Reading box files, pairing them on disk and the table: `jaxmot.sot.results_io`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)  # pixels
NORM_PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64) / 100.0
PRECISION_PIXELS = 20.0  # OTB's reported precision threshold
NORM_PRECISION_AT = 0.2  # pysot / pytracking report the normalised curve here
FIRST_FRAME_MODES = ("gt", "exclude", "keep")
OVERALL = "OVERALL"


# ---------------------------------------------------------------------------------------
# Per-frame errors
# ---------------------------------------------------------------------------------------


def _valid(boxes: np.ndarray) -> np.ndarray:
    return np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def _as_boxes(boxes, what: str) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what} must be [T, 4] xywh, got shape {boxes.shape}")
    return boxes


def repair_predictions(pred: np.ndarray) -> np.ndarray:
    """OTB: a row with NaN, w <= 0 or h <= 0 takes the previous row's box ([T, 4] copy).

    Leading invalid rows stay NaN (nothing to carry)."""
    pred = _as_boxes(pred, "pred").copy()
    ok = _valid(pred)
    pred[~ok] = np.nan
    # Index of the latest valid row at or before each frame (-1: none yet).
    last = np.maximum.accumulate(np.where(ok, np.arange(len(pred)), -1))
    filled = pred[np.maximum(last, 0)]
    filled[last < 0] = np.nan
    return filled


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU [T] of matching rows of xywh boxes a, b [T, 4]; 0 where a row is NaN or empty."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    iw = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return np.clip(np.nan_to_num(iou, nan=0.0), 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class FrameErrors:
    """Errors on the scored frames only (see the module docstring).

    iou [N] in [0, 1]; center [N] pixels; norm_center [N] in gt-size units (inf where
    the prediction is missing); frames: length of the sequence; scored: N.
    """

    iou: np.ndarray
    center: np.ndarray
    norm_center: np.ndarray
    frames: int

    @property
    def scored(self) -> int:
        return len(self.iou)


def frame_errors(pred, gt, first_frame: str = "gt") -> FrameErrors:
    """Per-frame IoU and centre errors of predictions [T, 4] against gt [T, 4] (xywh)."""
    pred, gt = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if len(pred) != len(gt):
        raise ValueError(f"pred has {len(pred)} frames but gt has {len(gt)}")
    if first_frame not in FIRST_FRAME_MODES:
        raise ValueError(f"first_frame must be one of {FIRST_FRAME_MODES}, got {first_frame!r}")
    if not len(gt):
        raise ValueError("empty sequence: no boxes")
    pred = repair_predictions(pred)
    scored = _valid(gt)
    if first_frame == "gt" and scored[0]:
        pred[0] = gt[0]
    elif first_frame == "exclude":
        scored[0] = False
    if not scored.any():
        raise ValueError("no frame to score: every ground-truth box is missing (NaN) or empty")
    p, g = pred[scored], gt[scored]
    offset = (p[:, :2] + p[:, 2:] / 2) - (g[:, :2] + g[:, 2:] / 2)
    missing = ~np.isfinite(offset).all(axis=1)
    center = np.where(missing, np.inf, np.linalg.norm(np.nan_to_num(offset), axis=1))
    norm = np.linalg.norm(np.nan_to_num(offset) / g[:, 2:], axis=1)
    norm = np.where(missing, np.inf, norm)
    return FrameErrors(paired_iou(p, g), center, norm, len(gt))


# ---------------------------------------------------------------------------------------
# Curves and scores of one sequence
# ---------------------------------------------------------------------------------------


def success_curve(pred, gt, thresholds=SUCCESS_THRESHOLDS, first_frame: str = "gt"):
    """[K] fraction of scored frames with IoU > t, for each threshold t."""
    iou = frame_errors(pred, gt, first_frame).iou
    return (iou[:, None] > np.asarray(thresholds)[None, :]).mean(axis=0)


def success_auc(pred, gt, first_frame: str = "gt") -> float:
    """OTB success AUC: the mean of the 21-point success curve, in [0, 20/21]."""
    return float(success_curve(pred, gt, SUCCESS_THRESHOLDS, first_frame).mean())


def precision_curve(pred, gt, thresholds=PRECISION_THRESHOLDS, first_frame: str = "gt"):
    """[K] fraction of scored frames with centre distance <= t pixels."""
    center = frame_errors(pred, gt, first_frame).center
    return (center[:, None] <= np.asarray(thresholds)[None, :]).mean(axis=0)


def precision(pred, gt, pixels: float = PRECISION_PIXELS, first_frame: str = "gt") -> float:
    """Fraction of scored frames whose centre is within `pixels` of the gt centre (P@20)."""
    return float(precision_curve(pred, gt, [pixels], first_frame)[0])


def normalized_precision_curve(
    pred, gt, thresholds=NORM_PRECISION_THRESHOLDS, first_frame: str = "gt"
):
    """[K] fraction of scored frames with gt-size-normalised centre distance <= t."""
    norm = frame_errors(pred, gt, first_frame).norm_center
    return (norm[:, None] <= np.asarray(thresholds)[None, :]).mean(axis=0)


def normalized_precision(
    pred, gt, threshold: float = NORM_PRECISION_AT, first_frame: str = "gt"
) -> float:
    """The normalised precision curve at `threshold` (0.2: what pysot/pytracking report)."""
    return float(normalized_precision_curve(pred, gt, [threshold], first_frame)[0])


def normalized_precision_auc(pred, gt, first_frame: str = "gt") -> float:
    """TrackingNet / LaSOT-paper normalised precision: mean of the curve over t in 0..0.5."""
    return float(normalized_precision_curve(pred, gt, first_frame=first_frame).mean())


@dataclasses.dataclass(frozen=True)
class SequenceScores:
    """One sequence's (or the average over sequences') curves and summary numbers.

    success [21], precision [51], norm_precision [51] are the curves over
    SUCCESS_THRESHOLDS, PRECISION_THRESHOLDS and NORM_PRECISION_THRESHOLDS; frames is
    the sequence length, scored the frames that counted (valid gt; see module docs).
    """

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    frames: int
    scored: int

    @classmethod
    def from_errors(cls, errors: FrameErrors) -> SequenceScores:
        def curve(values, thresholds, op):
            return op(values[:, None], thresholds[None, :]).mean(axis=0)

        return cls(
            success=curve(errors.iou, SUCCESS_THRESHOLDS, np.greater),
            precision=curve(errors.center, PRECISION_THRESHOLDS, np.less_equal),
            norm_precision=curve(errors.norm_center, NORM_PRECISION_THRESHOLDS, np.less_equal),
            frames=errors.frames,
            scored=errors.scored,
        )

    @classmethod
    def average(cls, scores: list[SequenceScores]) -> SequenceScores:
        """Curves averaged over sequences (each weighs 1); frame counts summed."""
        return cls(
            success=np.mean([s.success for s in scores], axis=0),
            precision=np.mean([s.precision for s in scores], axis=0),
            norm_precision=np.mean([s.norm_precision for s in scores], axis=0),
            frames=sum(s.frames for s in scores),
            scored=sum(s.scored for s in scores),
        )

    @property
    def auc(self) -> float:
        return float(self.success.mean())

    @property
    def precision20(self) -> float:
        return float(self.precision[int(PRECISION_PIXELS)])

    @property
    def norm_precision_at_02(self) -> float:
        return float(self.norm_precision[round(NORM_PRECISION_AT * 100)])

    @property
    def norm_precision_auc(self) -> float:
        return float(self.norm_precision.mean())

    def summary(self) -> dict[str, float | int]:
        """The numbers for tables and JSON (fractions in [0, 1], not percentages)."""
        return {
            "auc": self.auc,
            "precision20": self.precision20,
            "norm_precision": self.norm_precision_at_02,
            "norm_precision_auc": self.norm_precision_auc,
            "frames": self.frames,
            "scored_frames": self.scored,
        }


def score_sequence(pred, gt, first_frame: str = "gt") -> SequenceScores:
    """All curves of one sequence: predictions [T, 4] against gt [T, 4], both xywh."""
    return SequenceScores.from_errors(frame_errors(pred, gt, first_frame))


def evaluate_sequences(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]], first_frame: str = "gt"
) -> dict[str, dict[str, float | int]]:
    """Score each (predictions, gt) pair and their average.

    Returns:
      sequence name (sorted) | "OVERALL" (last) -> `SequenceScores.summary()`: auc,
      precision20, norm_precision (at 0.2), norm_precision_auc, frames, scored_frames.
    """
    if not pairs:
        raise ValueError("no sequences to evaluate")
    scores = {}
    for name in sorted(pairs):
        pred, gt = pairs[name]
        try:
            scores[name] = score_sequence(pred, gt, first_frame)
        except ValueError as e:
            raise ValueError(f"sequence {name}: {e}") from None
    out = {name: s.summary() for name, s in scores.items()}
    out[OVERALL] = SequenceScores.average(list(scores.values())).summary()
    return out
