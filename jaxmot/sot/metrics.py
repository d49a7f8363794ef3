"""Single-object tracking (one-pass evaluation) metrics: success AUC, precision, norm.
precision, and GOT-10k's average overlap (AO) and success rates (SR0.5, SR0.75).

pred, gt = read_boxes("runs/mil/blackswan.txt"), read_boxes("gt/blackswan.txt")  # sot_io
scores = score_sequence(pred, gt)                         # SequenceScores
metrics = evaluate_sequences({"blackswan": (pred, gt)})  # name | "OVERALL" -> dict

Definitions (OTB-2015 toolkit `calcSeqErrRobust` / `perfPlot`, as pytracking's
`analysis/extract_results.py` and pysot-toolkit's `OPEBenchmark` reimplement them, and
the GOT-10k toolkit's `ExperimentGOT10k.report`; all were read to fix the details below):

* Boxes are xywh (top-left x, y, width, height) in pixels, one row per frame.
* Invalid predictions: a predicted row with a NaN, w <= 0 or h <= 0 is replaced by the
  previous (already repaired) prediction, as OTB does for frames 2..T. A prediction
  that is invalid with nothing before it scores IoU 0 and an infinite centre error.
* First frame: OTB and pytracking overwrite the first prediction with the ground truth
  (the tracker was initialised there), so frame 1 counts as a perfect frame. That is
  the default here (`first_frame="gt"`); "exclude" drops frame 1 (GOT-10k style) and
  "keep" scores the prediction as given.
* Frames without ground truth: a gt row with a NaN, w <= 0 or h <= 0 (absent target, as
  LaSOT, UAV123 and DAVIS masks mark it). `absent="fail"` (the default) keeps such a
  frame in the denominator as a failure on every curve (IoU 0, infinite centre error):
  pytracking's `extract_results` with its default `exclude_invalid_frames=False`
  (success and precision; its normalised-precision curve counts them as hits except on
  LaSOT, where the visibility flags make them misses, as here), and pysot-toolkit,
  which divides by all frames. `absent="skip"` leaves them out of numerator and
  denominator (pytracking's `exclude_invalid_frames=True`); use it for sparse ground
  truth where NaN means "not annotated" rather than "not there". A sequence without a
  single valid gt frame is an error in both modes.
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
* GOT-10k (toolkit `ExperimentGOT10k.report` / `_evaluate`): AO = mean IoU, SR0.5 and
  SR0.75 = fraction of frames with IoU > 0.5 and > 0.75 (strict, as the toolkit's
  `ious > 0.5`), over frames 2..T whose target is present (the toolkit drops frame 1 and
  masks absent frames with `cover > 0`), whatever `first_frame` and `absent` say. The
  toolkit reads presence from cover.label; here an invalid gt row marks it. Overall
  AO/SR pool the frames of all sequences (the toolkit concatenates the IoUs), so long
  sequences weigh more, unlike the OTB numbers. The toolkit also clips both boxes to
  the image before the IoU (`bound`); box files carry no image size, so boxes are not
  clipped here.
* Overall over sequences (OTB numbers): every sequence weighs the same (not by length).
  The curves are averaged over sequences and the summary numbers read off the averaged
  curves, so overall AUC = mean of per-sequence AUCs, overall P@20 = mean of
  per-sequence P@20.

Reading box files, pairing them on disk and the table: `jaxmot.sot.results_io`; success
and precision plots: `jaxmot.sot.plots`.
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
GOT10K_SR_THRESHOLDS = (0.5, 0.75)  # GOT-10k's SR0.5 and SR0.75 (IoU > t)
FIRST_FRAME_MODES = ("gt", "exclude", "keep")
ABSENT_MODES = ("fail", "skip")  # frames without gt: failures (pytracking) or left out
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


def _check_mode(name: str, value: str, modes: tuple[str, ...]) -> None:
    if value not in modes:
        raise ValueError(f"{name} must be one of {modes}, got {value!r}")


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
    the prediction or the gt box is missing); present [N] bool, the gt box is valid
    (False only with absent="fail": those frames are scored as failures); frames: length
    of the sequence; scored: N.
    """

    iou: np.ndarray
    center: np.ndarray
    norm_center: np.ndarray
    present: np.ndarray
    frames: int

    @property
    def scored(self) -> int:
        return len(self.iou)

    @property
    def absent(self) -> int:
        """Scored frames without a gt box (failures by construction)."""
        return int((~self.present).sum())


def frame_errors(pred, gt, first_frame: str = "gt", absent: str = "fail") -> FrameErrors:
    """Per-frame IoU and centre errors of predictions [T, 4] against gt [T, 4] (xywh).

    absent: "fail" scores frames without a gt box as failures (IoU 0, infinite centre
    errors); "skip" leaves them out (see the module docstring)."""
    pred, gt = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if len(pred) != len(gt):
        raise ValueError(f"pred has {len(pred)} frames but gt has {len(gt)}")
    _check_mode("first_frame", first_frame, FIRST_FRAME_MODES)
    _check_mode("absent", absent, ABSENT_MODES)
    if not len(gt):
        raise ValueError("empty sequence: no boxes")
    pred = repair_predictions(pred)
    present = _valid(gt)
    scored = np.ones(len(gt), bool) if absent == "fail" else present.copy()
    if first_frame == "gt" and present[0]:
        pred[0] = gt[0]
    elif first_frame == "exclude":
        scored[0] = False
    if not (scored & present).any():
        raise ValueError("no frame to score: every ground-truth box is missing (NaN) or empty")
    p, g, ok = pred[scored], gt[scored], present[scored]
    offset = (p[:, :2] + p[:, 2:] / 2) - (g[:, :2] + g[:, 2:] / 2)
    missing = ~np.isfinite(offset).all(axis=1) | ~ok
    center = np.where(missing, np.inf, np.linalg.norm(np.nan_to_num(offset), axis=1))
    # Absent rows may hold w = 0: divide by 1 there (the result is replaced by inf).
    gt_wh = np.where(ok[:, None], g[:, 2:], 1.0)
    norm = np.linalg.norm(np.nan_to_num(offset) / gt_wh, axis=1)
    norm = np.where(missing, np.inf, norm)
    iou = np.where(ok, paired_iou(p, g), 0.0)
    return FrameErrors(iou, center, norm, ok, len(gt))


def got10k_overlaps(pred, gt) -> np.ndarray:
    """[M] IoUs GOT-10k's AO and SR average: frames 2..T whose gt box is valid.

    Predictions are repaired as for the OTB numbers (`repair_predictions`); the GOT-10k
    toolkit asks for valid boxes on every frame, so it never needs to."""
    pred, gt = repair_predictions(pred), _as_boxes(gt, "gt")
    if len(pred) != len(gt):
        raise ValueError(f"pred has {len(pred)} frames but gt has {len(gt)}")
    keep = _valid(gt)
    keep[:1] = False  # the toolkit scores frames 1.. (0-based): frame 0 is the init box
    return paired_iou(pred[keep], gt[keep])


# ---------------------------------------------------------------------------------------
# Curves and scores of one sequence
# ---------------------------------------------------------------------------------------


def success_curve(
    pred, gt, thresholds=SUCCESS_THRESHOLDS, first_frame: str = "gt", absent: str = "fail"
):
    """[K] fraction of scored frames with IoU > t, for each threshold t."""
    iou = frame_errors(pred, gt, first_frame, absent).iou
    return (iou[:, None] > np.asarray(thresholds)[None, :]).mean(axis=0)


def success_auc(pred, gt, first_frame: str = "gt", absent: str = "fail") -> float:
    """OTB success AUC: the mean of the 21-point success curve, in [0, 20/21]."""
    return float(success_curve(pred, gt, SUCCESS_THRESHOLDS, first_frame, absent).mean())


def precision_curve(
    pred, gt, thresholds=PRECISION_THRESHOLDS, first_frame: str = "gt", absent: str = "fail"
):
    """[K] fraction of scored frames with centre distance <= t pixels."""
    center = frame_errors(pred, gt, first_frame, absent).center
    return (center[:, None] <= np.asarray(thresholds)[None, :]).mean(axis=0)


def precision(
    pred, gt, pixels: float = PRECISION_PIXELS, first_frame: str = "gt", absent: str = "fail"
) -> float:
    """Fraction of scored frames whose centre is within `pixels` of the gt centre (P@20)."""
    return float(precision_curve(pred, gt, [pixels], first_frame, absent)[0])


def normalized_precision_curve(
    pred, gt, thresholds=NORM_PRECISION_THRESHOLDS, first_frame: str = "gt", absent: str = "fail"
):
    """[K] fraction of scored frames with gt-size-normalised centre distance <= t."""
    norm = frame_errors(pred, gt, first_frame, absent).norm_center
    return (norm[:, None] <= np.asarray(thresholds)[None, :]).mean(axis=0)


def normalized_precision(
    pred, gt, threshold: float = NORM_PRECISION_AT, first_frame: str = "gt", absent: str = "fail"
) -> float:
    """The normalised precision curve at `threshold` (0.2: what pysot/pytracking report)."""
    return float(normalized_precision_curve(pred, gt, [threshold], first_frame, absent)[0])


def normalized_precision_auc(pred, gt, first_frame: str = "gt", absent: str = "fail") -> float:
    """TrackingNet / LaSOT-paper normalised precision: mean of the curve over t in 0..0.5."""
    curve = normalized_precision_curve(pred, gt, first_frame=first_frame, absent=absent)
    return float(curve.mean())


@dataclasses.dataclass(frozen=True)
class SequenceScores:
    """One sequence's (or the average over sequences') curves and summary numbers.

    success [21], precision [51], norm_precision [51] are the curves over
    SUCCESS_THRESHOLDS, PRECISION_THRESHOLDS and NORM_PRECISION_THRESHOLDS; overlaps [M]
    the IoUs GOT-10k's AO and SR average (`got10k_overlaps`; pooled over sequences by
    `average`); frames is the sequence length, scored the frames that counted on the
    curves, absent the scored frames without gt (see the module docs).
    """

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    overlaps: np.ndarray
    frames: int
    scored: int
    absent: int

    @classmethod
    def from_errors(cls, errors: FrameErrors, overlaps: np.ndarray) -> SequenceScores:
        def curve(values, thresholds, op):
            return op(values[:, None], thresholds[None, :]).mean(axis=0)

        return cls(
            success=curve(errors.iou, SUCCESS_THRESHOLDS, np.greater),
            precision=curve(errors.center, PRECISION_THRESHOLDS, np.less_equal),
            norm_precision=curve(errors.norm_center, NORM_PRECISION_THRESHOLDS, np.less_equal),
            overlaps=np.asarray(overlaps, np.float64),
            frames=errors.frames,
            scored=errors.scored,
            absent=errors.absent,
        )

    @classmethod
    def average(cls, scores: list[SequenceScores]) -> SequenceScores:
        """Curves averaged over sequences (each weighs 1); GOT-10k overlaps pooled (each
        frame weighs 1, as the GOT-10k toolkit); frame counts summed."""
        return cls(
            success=np.mean([s.success for s in scores], axis=0),
            precision=np.mean([s.precision for s in scores], axis=0),
            norm_precision=np.mean([s.norm_precision for s in scores], axis=0),
            overlaps=np.concatenate([s.overlaps for s in scores]),
            frames=sum(s.frames for s in scores),
            scored=sum(s.scored for s in scores),
            absent=sum(s.absent for s in scores),
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

    @property
    def ao(self) -> float:
        """GOT-10k average overlap; NaN when no frame after the first has a gt box."""
        return float(self.overlaps.mean()) if len(self.overlaps) else float("nan")

    def success_rate(self, threshold: float) -> float:
        """GOT-10k SR: fraction of its frames with IoU > threshold (NaN without frames)."""
        if not len(self.overlaps):
            return float("nan")
        return float((self.overlaps > threshold).mean())

    def summary(self) -> dict[str, float | int]:
        """The numbers for tables and JSON (fractions in [0, 1], not percentages)."""
        sr50, sr75 = (self.success_rate(t) for t in GOT10K_SR_THRESHOLDS)
        return {
            "auc": self.auc,
            "precision20": self.precision20,
            "norm_precision": self.norm_precision_at_02,
            "norm_precision_auc": self.norm_precision_auc,
            "ao": self.ao,
            "sr50": sr50,
            "sr75": sr75,
            "frames": self.frames,
            "scored_frames": self.scored,
            "absent_frames": self.absent,
            "got10k_frames": len(self.overlaps),
        }


def score_sequence(pred, gt, first_frame: str = "gt", absent: str = "fail") -> SequenceScores:
    """All curves of one sequence: predictions [T, 4] against gt [T, 4], both xywh."""
    errors = frame_errors(pred, gt, first_frame, absent)
    return SequenceScores.from_errors(errors, got10k_overlaps(pred, gt))


def score_sequences(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]],
    first_frame: str = "gt",
    absent: str | Mapping[str, str] = "fail",
) -> dict[str, SequenceScores]:
    """Score each (predictions, gt) pair and their average.

    Args:
      pairs: sequence name -> (predictions [T, 4], gt [T, 4]), xywh.
      first_frame: one of FIRST_FRAME_MODES.
      absent: one of ABSENT_MODES for every sequence, or a mapping from sequence name to
        a mode (sequences it does not name get "fail"): sparse hand-made ground truth,
        where NaN means "not annotated", wants "skip" next to sequences whose NaN rows
        mark an absent target.

    Returns:
      sequence name (sorted) | "OVERALL" (last) -> SequenceScores.
    """
    if not pairs:
        raise ValueError("no sequences to evaluate")
    modes = absent if isinstance(absent, Mapping) else dict.fromkeys(pairs, absent)
    for mode in modes.values():
        _check_mode("absent", mode, ABSENT_MODES)
    scores = {}
    for name in sorted(pairs):
        pred, gt = pairs[name]
        try:
            scores[name] = score_sequence(pred, gt, first_frame, modes.get(name, "fail"))
        except ValueError as e:
            raise ValueError(f"sequence {name}: {e}") from None
    scores[OVERALL] = SequenceScores.average(list(scores.values()))
    return scores


def evaluate_sequences(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]],
    first_frame: str = "gt",
    absent: str | Mapping[str, str] = "fail",
) -> dict[str, dict[str, float | int]]:
    """`score_sequences` as numbers.

    Returns:
      sequence name (sorted) | "OVERALL" (last) -> `SequenceScores.summary()`: auc,
      precision20, norm_precision (at 0.2), norm_precision_auc, ao, sr50, sr75, frames,
      scored_frames, absent_frames, got10k_frames.
    """
    scores = score_sequences(pairs, first_frame, absent)
    return {name: s.summary() for name, s in scores.items()}
