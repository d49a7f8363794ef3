"""The GNN tracker's evaluation protocol: tuned against baselines on the same input.

After training, `evaluate_trackers` tunes `longterm`'s appearance gate and the gnn's
patience (PATIENCE_CANDIDATES, by pooled IDF1; with each of the experiment's
`lost_boxes`) on the training sequences, then
`track_held_out` tracks the held-out sequences with every tracker spec on the same
detections and features at each embedding noise of EVAL_NOISE, with the default
detector model (`held_out_inputs`; `track_gnn` tracks such inputs with the gnn alone:
the evaluation during training). A spec is NAME[-pPATIENCE][-gGATE][-BOX]
(`parse_tracker_spec`); `iou`, `longterm` and `jde` come from jaxmot.core.registry,
`gnn` is the model under test.

Two pieces belong to jaxmot.mot, which this package does not import, so the caller
passes them: an `Oracle` (perfect association fed gt identities: the ceiling of any
association with that patience) and `tune_gate` (longterm's gate sweep).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.eval.sweep import sweep_tracker_setting
from jaxmot.core.extractor import FeatureExtractor
from jaxmot.core.mot_io import MOTSequence
from jaxmot.core.registry import PATIENCE_TRACKERS, make_tracker
from jaxmot.core.sequence import track_sequence
from jaxmot.core.synthetic import DetectorModel
from jaxmot.core.tracker import OnlineTracker
from jaxmot.gnn.configs import GNNExperiment
from jaxmot.gnn.model import AssociationGNN
from jaxmot.gnn.sequences import as_tracking_input, embedding_model, labelled
from jaxmot.gnn.tracker import (
    DEFAULT_PATIENCE,
    LOST_BOXES,
    PATIENCE_CANDIDATES,
    GNNTracker,
    GNNTrackerConfig,
)

EVAL_NOISE = (0.3, 0.5, 0.7)  # embedding noise levels of the held-out evaluation
# The one "level" of dataset "features": its sequences' own detections and features.
GIVEN = "features"
SPEC_NAMES = ("iou", "jde", "longterm", "gnn", "oracle")
TRACKER_SPEC_HELP = (
    "trackers as NAME[-pPATIENCE][-gGATE][-BOX]: iou, jde, longterm (patience 20, gate: "
    "the tuned one), gnn (patience and lost-track box: the tuned ones; BOX detection or "
    "kalman) or oracle (perfect association, patience 20); e.g. longterm-p60-g0.5, "
    "gnn-p90, gnn-p90-detection, oracle-p60"
)
# A pooled list of (sequence with gt and detections, features [K, D]) pairs.
TrackingInputs = Sequence[tuple[MOTSequence, np.ndarray]]
# Per sequence: (sequence with gt and detections, features [K, D], gt ids [K] (-1: false
# positive)); what every tracker of the held-out evaluation gets at one noise level.
HeldOutInputs = list[tuple[MOTSequence, np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Oracle:
    """Perfect association, built by the caller (jaxmot.mot.oracle_tracker).

    tracker(patience, frame_rate) -> an OnlineTracker that matches detections by gt
    identity; features(ids [K] int, -1: false positive) -> its per-detection input.
    """

    tracker: Callable[[int, float], OnlineTracker]
    features: Callable[[np.ndarray], np.ndarray]


def parse_tracker_spec(spec: str) -> tuple[str, int | None, float | None, str | None]:
    """A spec NAME[-pPATIENCE][-gGATE][-BOX] -> (name, patience, gate, lost-track box),
    None where not given; a ValueError naming the spec when it is malformed."""
    name, *options = spec.split("-")
    patience = gate = box = None
    try:
        for option in options:
            if option in LOST_BOXES and box is None:
                box = option
            elif option[:1] == "p" and patience is None:
                patience = int(option[1:])
            elif option[:1] == "g" and gate is None:
                gate = float(option[1:])
            else:
                raise ValueError(option)
    except ValueError:
        raise ValueError(f"tracker {spec!r}: expected NAME[-pPATIENCE][-gGATE][-BOX]") from None
    if name not in SPEC_NAMES:
        raise ValueError(f"tracker {spec!r}: unknown name {name!r}; known: {', '.join(SPEC_NAMES)}")
    if patience is not None and (patience < 1 or name not in (*PATIENCE_TRACKERS, "oracle")):
        raise ValueError(f"tracker {spec!r}: patience must be >= 1, for longterm/gnn/oracle")
    if gate is not None and (not gate > 0 or name != "longterm"):
        raise ValueError(f"tracker {spec!r}: a gate (> 0) applies to longterm only")
    if box is not None and name != "gnn":
        raise ValueError(
            f"tracker {spec!r}: a lost-track box ({'/'.join(LOST_BOXES)}) applies to gnn only"
        )
    return name, patience, gate, box


def eval_trackers(patience: int, lost_box: str = "detection") -> tuple[str, ...]:
    """The rows of the held-out evaluation for a gnn tuned to `patience` and `lost_box`:
    `longterm` (with the tuned gate and its default 0.5), the gnn and the oracle (what
    any association could reach with that memory), at the baseline patience 20 and, when
    the tuned one differs, at that one too; a gnn tuned to another lost-track box than
    the exercise's also with the exercise's ("detection"), at the tuned patience."""
    exercise_box = () if lost_box == "detection" else (f"gnn-p{patience}-detection",)
    if patience == DEFAULT_PATIENCE:
        return ("iou", "longterm", "longterm-g0.5", "gnn", *exercise_box, f"oracle-p{patience}")
    default = (
        "longterm",
        "longterm-g0.5",
        f"gnn-p{DEFAULT_PATIENCE}",
        f"oracle-p{DEFAULT_PATIENCE}",
    )
    tuned = (f"longterm-p{patience}", f"longterm-p{patience}-g0.5", "gnn", *exercise_box)
    return ("iou", *default, *tuned, f"oracle-p{patience}")


def eval_tracker(
    spec: str,
    frame_rate: float,
    gate: float,
    model: AssociationGNN,
    gnn_config: GNNTrackerConfig,
    oracle: Oracle | None = None,
) -> OnlineTracker:
    """The tracker of an evaluation spec (`parse_tracker_spec`); `gate` is longterm's
    tuned gate, `gnn_config` the gnn's config (a `-p` spec replaces its patience, a
    `-BOX` its lost-track box)."""
    name, patience, spec_gate, box = parse_tracker_spec(spec)
    if name == "gnn":
        if patience is not None:
            gnn_config = gnn_config.with_patience(patience)
        if box is not None:
            gnn_config = dataclasses.replace(gnn_config, lost_box=box)
        return GNNTracker(model, gnn_config, frame_rate)
    if name == "oracle":
        if oracle is None:
            raise ValueError(f"tracker {spec!r} needs the oracle (pass oracle=Oracle(...))")
        return oracle.tracker(patience or DEFAULT_PATIENCE, frame_rate)
    if name == "longterm":
        gate = gate if spec_gate is None else spec_gate
        return make_tracker(name, frame_rate, appearance_gate=gate, patience=patience)
    return make_tracker(name, frame_rate)


def tune_gnn_tracker(
    model: AssociationGNN,
    gnn_config: GNNTrackerConfig,
    sequences: TrackingInputs,
    progress: bool = True,
    lost_boxes: Sequence[str] = ("detection",),
) -> tuple[GNNTrackerConfig, dict]:
    """`gnn_config` with the patience (PATIENCE_CANDIDATES) and lost-track box
    (`lost_boxes`) of the best pooled IDF1 on (sequence, features) pairs (ties: the
    first box, then the smaller patience), and {box: {patience: IDF1}}."""
    candidates = [(box, p) for box in lost_boxes for p in PATIENCE_CANDIDATES]

    def gnn(candidate, frame_rate):
        box, patience = candidate
        config = dataclasses.replace(gnn_config, lost_box=box).with_patience(patience)
        return GNNTracker(model, config, frame_rate)

    best, idf1, _ = sweep_tracker_setting(
        gnn, candidates, sequences, progress=progress, desc="gnn patience"
    )
    sweep = {box: {} for box in lost_boxes}
    for (box, patience), value in zip(candidates, idf1, strict=True):
        sweep[box][str(patience)] = round(float(value), 4)
    box, patience = candidates[best]
    return dataclasses.replace(gnn_config, lost_box=box).with_patience(patience), sweep


def evaluate_trackers(
    model: AssociationGNN,
    exp: GNNExperiment,
    train_inputs: TrackingInputs,
    val_sequences: Sequence[MOTSequence],
    *,
    tune_gate: Callable[[TrackingInputs], float],
    oracle: Oracle,
    extractor: FeatureExtractor | None = None,
    progress: bool = True,
    gnn_config: GNNTrackerConfig | None = None,
) -> dict:
    """{"longterm_gate", "gnn_patience", "gnn_lost_box", "gnn_patience_idf1" (the tuned
    box's {patience: IDF1}), "gnn_tuning_idf1" ({box: {patience: IDF1}}), "noise_X":
    {tracker: OVERALL metrics}}: `longterm`'s gate (`tune_gate(train_inputs)`) and the
    gnn's patience and lost-track box (of `exp.lost_boxes`) tuned on `train_inputs`
    first, then `track_held_out` with the default rows; the gnn runs with `gnn_config`
    (None: its defaults) and the tuned settings."""
    gate = tune_gate(train_inputs)
    print(f"longterm appearance gate tuned on the training sequences: {gate:.2f}")
    gnn_config = gnn_config or GNNTrackerConfig()
    gnn_config, sweep = tune_gnn_tracker(model, gnn_config, train_inputs, progress, exp.lost_boxes)
    for box, by_patience in sweep.items():
        idf1 = ", ".join(f"{p}: {100 * v:.1f}" for p, v in by_patience.items())
        print(f"gnn on the training sequences, lost-track box {box}: IDF1 by patience {idf1}")
    print(
        f"gnn patience tuned on the training sequences: {gnn_config.patience}"
        + (f", lost-track box {gnn_config.lost_box}" if len(sweep) > 1 else "")
    )
    held_out = track_held_out(model, exp, val_sequences, gate, extractor, gnn_config, oracle=oracle)
    return {
        "longterm_gate": gate,
        "gnn_patience": gnn_config.patience,
        "gnn_lost_box": gnn_config.lost_box,
        "gnn_patience_idf1": sweep[gnn_config.lost_box],
        "gnn_tuning_idf1": sweep,
        **held_out,
    }


def track_held_out(
    model: AssociationGNN,
    exp: GNNExperiment,
    val_sequences: Sequence[MOTSequence],
    gate: float,
    extractor: FeatureExtractor | None = None,
    gnn_config: GNNTrackerConfig | None = None,
    trackers: Sequence[str] | None = None,
    label: str = "held-out sequences",
    *,
    oracle: Oracle | None = None,
) -> dict:
    """{"noise_X": {tracker: OVERALL metrics}}: `trackers` (specs, `parse_tracker_spec`)
    on the held-out sequences at each embedding noise level (the same detections and
    features for every tracker; the oracle gets their gt identities instead; None:
    `eval_trackers` of the gnn's patience); `gate` is longterm's appearance gate unless a
    spec names one. Prints one table per noise level. Dataset "features" has one level,
    its own files: {"features": {tracker: metrics}}."""
    gnn_config = gnn_config or GNNTrackerConfig()
    if trackers is None:
        trackers = eval_trackers(gnn_config.patience, gnn_config.lost_box)
    for spec in trackers:  # fail before any tracking
        if parse_tracker_spec(spec)[0] == "oracle" and oracle is None:
            raise ValueError(f"tracker {spec!r} needs the oracle (pass oracle=Oracle(...))")
    results = {}
    for noise, inputs in held_out_inputs(exp, val_sequences, extractor).items():
        rows = {}
        for spec in trackers:
            is_oracle = parse_tracker_spec(spec)[0] == "oracle"
            pairs = {}
            for sequence, features, ids in inputs:
                tracker = eval_tracker(
                    spec, sequence.info.frame_rate, gate, model, gnn_config, oracle
                )
                given = oracle.features(ids) if is_oracle else features
                run = track_sequence(tracker, sequence, features=given)
                pairs[sequence.info.name] = (sequence.gt, run.results)
            rows[spec] = evaluate(pairs)["OVERALL"]
        results[level_key(noise)] = rows
        print(format_rows(rows, f"{label}, {level_title(noise)}"))
    return results


def level_key(noise: float | str) -> str:
    """The evaluation key of a level of `held_out_inputs`: "noise_X", or "features"."""
    return GIVEN if noise == GIVEN else f"noise_{noise}"


def level_title(noise: float | str) -> str:
    """How a level of `held_out_inputs` is named in printed tables."""
    return "the sequences' own features" if noise == GIVEN else f"embedding noise {noise}"


def held_out_inputs(
    exp: GNNExperiment,
    val_sequences: Sequence[MOTSequence],
    extractor: FeatureExtractor | None = None,
) -> dict[float, HeldOutInputs]:
    """{noise: inputs} for each embedding noise of EVAL_NOISE: the held-out sequences
    with the default detector's detections and features of that noise (or the extractor's
    on the frames), drawn from the seeds (data.seed, 10_000 + i, noise): the same inputs
    at every call. Dataset "features": {"features": inputs}, its sequences' own files."""
    levels = (GIVEN,) if exp.data.dataset == "features" else EVAL_NOISE
    out = {}
    for noise in levels:
        inputs = []
        for i, sequence in enumerate(val_sequences):
            given = noise == GIVEN  # no draw: the rng and embeddings go unused
            rng = np.random.default_rng(
                [exp.data.seed, 10_000 + i, 0 if given else int(noise * 100)]
            )
            embeddings = embedding_model(exp, None if given else noise)
            seq = labelled(sequence, exp, DetectorModel(), embeddings, rng, extractor)
            inputs.append((*as_tracking_input(seq, sequence), seq.ids))
        out[noise] = inputs
    return out


def track_gnn(model: AssociationGNN, gnn_config: GNNTrackerConfig, inputs: HeldOutInputs) -> dict:
    """OVERALL metrics (jaxmot.core.eval.metrics: MOTA, IDF1, HOTA, IDs...) of the gnn
    tracker with `gnn_config` on `inputs` (one noise level of `held_out_inputs`)."""
    pairs = {}
    for sequence, features, _ in inputs:
        tracker = GNNTracker(model, gnn_config, sequence.info.frame_rate)
        run = track_sequence(tracker, sequence, features=features)
        pairs[sequence.info.name] = (sequence.gt, run.results)
    return evaluate(pairs)["OVERALL"]


def format_rows(rows: dict, title: str) -> str:
    """A table of MOTA / IDF1 / HOTA (percent) and ID switches per tracker."""
    width = max(10, *(len(name) for name in rows))
    lines = [title, f"{'tracker':{width}s} {'MOTA':>6s} {'IDF1':>6s} {'HOTA':>6s} {'IDs':>6s}"]
    for name, m in rows.items():
        lines.append(
            f"{name:{width}s} {100 * m['MOTA']:6.1f} {100 * m['IDF1']:6.1f} "
            f"{100 * m['HOTA']:6.1f} {m['IDs']:6d}"
        )
    return "\n".join(lines)


__all__ = [
    "EVAL_NOISE",
    "GIVEN",
    "HeldOutInputs",
    "SPEC_NAMES",
    "TRACKER_SPEC_HELP",
    "Oracle",
    "eval_tracker",
    "eval_trackers",
    "evaluate_trackers",
    "format_rows",
    "held_out_inputs",
    "level_key",
    "level_title",
    "parse_tracker_spec",
    "track_gnn",
    "track_held_out",
    "tune_gnn_tracker",
]
