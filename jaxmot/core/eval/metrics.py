"""Evaluate tracker results against ground truth: CLEAR-MOT, identity and HOTA metrics.

Each sequence goes through the MOTChallenge preprocessing (`preprocess.py`), then is
scored by py-motmetrics (MOTA, MOTP, IDF1, ...) and TrackEval (HOTA, ...) on the same
per-frame IoU matrices. Output keys:

  MOTA, MOTP, IDF1, IDP, IDR, Rcll, Prcn   rates in [0, 1] (MOTA can be negative)
  FP, FN, IDs, Frag, MT, PT, ML, GT        counts (GT: number of unique gt objects)
  num_frames                               frames with gt or tracker boxes
  HOTA, DetA, AssA, LocA, DetRe, DetPr, AssRe, AssPr   means over alpha, in [0, 1]

MOTP is py-motmetrics' definition: mean 1 - IoU over matches, LOWER is better.
Undefined rates (e.g. MOTP without any match) are NaN.
"""

from __future__ import annotations

import numpy as np

from jaxmot.core.eval.clear_mot import accumulate, clear_mot_metrics
from jaxmot.core.eval.frames import frame_pairs
from jaxmot.core.eval.hota import hota_data, hota_metrics
from jaxmot.core.eval.preprocess import preprocess_sequence
from jaxmot.core.mot_io import GroundTruth, TrackResults

OVERALL = "OVERALL"
Metrics = dict[str, float | int]


def _prepare(gt: GroundTruth, results: TrackResults, name: str, preprocess: bool = True):
    # Frames come from the raw inputs, so a frame whose boxes preprocessing removed
    # still counts in num_frames, as in py-motmetrics' own loaders.
    frames = np.union1d(gt.frame_ids(), results.frame_ids())
    if preprocess:
        gt, results = preprocess_sequence(gt, results)
    pairs = frame_pairs(gt, results, frames, name)
    return accumulate(pairs), hota_data(pairs)


def split_classes(
    gt: GroundTruth, results: TrackResults, classes: list[int], name: str
) -> dict[str, tuple[GroundTruth, TrackResults]]:
    """One (gt, results) pair per class asked for: gt rows of that class (flag != 0) and
    result rows of that class, so no box is matched across classes. Named `name` for a
    single class, `name:CLASS` for several. Results without class ids (8th column -1)
    are taken as the one class asked for; with several they are an error."""
    if not (gt.classes >= 0).any():
        raise ValueError(f"{name}: the ground truth has no class column, so --classes cannot apply")
    untyped = not (results.classes >= 0).any()
    if untyped and len(classes) > 1:
        raise ValueError(
            f"{name}: the results carry no class ids (8th column -1), so they cannot be "
            f"split into classes {classes}: evaluate one class, or track with classes"
        )
    out = {}
    for c in classes:
        gt_c = gt.select((gt.classes == c) & (gt.flags != 0))
        res_c = results if untyped else results.select(results.classes == c)
        out[name if len(classes) == 1 else f"{name}:{c}"] = (gt_c, res_c)
    return out


def _evaluate(
    pairs: dict[str, tuple[GroundTruth, TrackResults]],
    overall: bool,
    classes: list[int] | None = None,
):
    if OVERALL in pairs:
        raise ValueError(f"a sequence may not be named {OVERALL!r}")
    if classes is not None:
        pairs = {
            key: pair
            for name, (gt, results) in pairs.items()
            for key, pair in split_classes(gt, results, list(classes), name).items()
        }
    accs, datas = {}, {}
    for name, (gt, results) in pairs.items():
        accs[name], datas[name] = _prepare(gt, results, name, preprocess=classes is None)
    clear = clear_mot_metrics(accs, overall) if accs else {}
    hota = hota_metrics(datas, overall)
    return {name: {**clear[name], **hota[name]} for name in hota}


def evaluate_sequence(gt: GroundTruth, results: TrackResults, name: str = "sequence") -> Metrics:
    """All metrics (module docstring) of one sequence, as Python floats and ints.

    Args:
      gt: the sequence's ground truth (MOT15 or MOT16/17 style; see `preprocess`).
      results: the tracker's output.
      name: used in error messages.
    """
    return _evaluate({name: (gt, results)}, overall=False)[name]


def evaluate(
    pairs: dict[str, tuple[GroundTruth, TrackResults]],
    classes: list[int] | None = None,
) -> dict[str, Metrics]:
    """All metrics per sequence, plus "OVERALL" over all sequences.

    OVERALL pools the events of all sequences (py-motmetrics' `generate_overall` and
    TrackEval's `combine_sequences`): counts are summed and rates recomputed, so long
    sequences weigh more than short ones.

    Args:
      pairs: sequence name -> (gt, results), e.g. from `load_pairs`.
      classes: None (default) applies the MOTChallenge pedestrian preprocessing (class 1
        with distractors removed; MOT15 gt as it is). A list of class ids evaluates those
        classes instead, each on its own (`split_classes`: rows `SEQ:CLASS` when several),
        with no distractor handling; OVERALL pools them (TrackEval's detection-averaged
        combination of classes).

    Returns:
      sequence name (in input order), then "OVERALL" -> metric name -> value.
    """
    return _evaluate(pairs, overall=True, classes=classes)
