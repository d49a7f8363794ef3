"""The oracle (perfect association) tracker and the evaluation's tracker specs."""

import numpy as np
import pytest
from flax import nnx

from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.mot_io import GroundTruth, TrackResults
from jaxmot.core.tracker import FrameDetections
from jaxmot.gnn.evaluation import Oracle, eval_tracker, eval_trackers, parse_tracker_spec
from jaxmot.gnn.tracker import GNNTracker, GNNTrackerConfig
from jaxmot.mot.oracle_tracker import OracleTracker, identity_features
from jaxmot.mot.reid_tracker import ReIDTracker

# Person 1 walks right and is missed in frames 10-17 (8 frames without a detection);
# person 2 stands still; a false positive (id -1) appears at the same spot every frame.
FRAMES = 30
GAP = range(10, 18)


def _scene():
    rows = []  # (frame, id, x, y, w, h)
    for t in range(1, FRAMES + 1):
        if t not in GAP:
            rows.append((t, 1, 10.0 + 3 * t, 50.0, 20.0, 40.0))
        rows.append((t, 2, 300.0, 60.0, 20.0, 40.0))
    return np.array(rows, np.float64)


def _run(tracker, with_false_positive=False):
    """[(frame, gt id, track id)] of the reported tracks."""
    rows = _scene()
    out = []
    for t in range(1, FRAMES + 1):
        here = rows[rows[:, 0] == t]
        ids, boxes = here[:, 1].astype(np.int64), here[:, 2:].astype(np.float32)
        if with_false_positive:
            ids = np.append(ids, -1)
            boxes = np.vstack([boxes, [[500.0, 200.0, 20.0, 40.0]]]).astype(np.float32)
        dets = FrameDetections(boxes, np.ones(len(ids)), identity_features(ids))
        reported = tracker.update(dets)
        by_box = {tuple(b): i for b, i in zip(boxes.tolist(), ids, strict=True)}
        out += [
            (t, by_box[tuple(b)], k)
            for b, k in zip(reported.boxes.tolist(), reported.ids, strict=True)
        ]
    return out


def _track_ids_of(out, gt_id):
    return sorted({k for _, g, k in out if g == gt_id})


def test_oracle_keeps_identities_while_the_patience_lasts():
    # The gap leaves person 1 unmatched for 8 frames: kept with patience 9, not with 8.
    kept = _run(OracleTracker(patience=9))
    assert _track_ids_of(kept, 1) == [1] and _track_ids_of(kept, 2) == [2]
    lost = _run(OracleTracker(patience=8))
    assert _track_ids_of(lost, 1) == [1, 3] and _track_ids_of(lost, 2) == [2]
    # Reported only in frames with a detection (the shared lifecycle).
    assert sorted(t for t, g, _ in kept if g == 1) == [t for t in range(1, 31) if t not in GAP]


def test_oracle_never_matches_false_positives():
    out = _run(OracleTracker(patience=40), with_false_positive=True)
    false = [k for _, g, k in out if g == -1]
    assert len(false) == FRAMES and len(set(false)) == FRAMES  # a new track every frame
    assert _track_ids_of(out, 1) == [1] and _track_ids_of(out, 2) == [2]


def test_oracle_scores_perfect_identity_metrics():
    rows = _scene()
    n = len(rows)
    gt = GroundTruth(
        frames=rows[:, 0],
        ids=rows[:, 1],
        boxes=rows[:, 2:],
        flags=np.ones(n),
        classes=np.ones(n),
        visibility=np.ones(n),
    )
    out = _run(OracleTracker(patience=9))
    boxes = {(t, g): r[2:] for r in rows for t, g in [(int(r[0]), int(r[1]))]}
    results = TrackResults(
        frames=np.array([t for t, _, _ in out]),
        ids=np.array([k for _, _, k in out]),
        boxes=np.array([boxes[t, g] for t, g, _ in out]),
        scores=np.ones(len(out)),
    )
    metrics = evaluate({"S": (gt, results)})["OVERALL"]
    assert metrics["IDF1"] == pytest.approx(1.0) and metrics["IDs"] == 0
    assert metrics["MOTA"] == pytest.approx(1.0)


def test_oracle_input_errors():
    with pytest.raises(ValueError, match="integer"):
        identity_features(np.array([1.5]))
    with pytest.raises(ValueError, match="2\\^24"):
        identity_features(np.array([2**25]))
    with pytest.raises(ValueError, match="patience"):
        OracleTracker(patience=0)
    dets = FrameDetections(np.ones((2, 4)), np.ones(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match="one identity per detection"):
        OracleTracker().update(dets)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("iou", ("iou", None, None, None)),
        ("gnn-p90", ("gnn", 90, None, None)),
        ("gnn-p90-kalman", ("gnn", 90, None, "kalman")),
        ("gnn-detection", ("gnn", None, None, "detection")),
        ("longterm-p60-g0.5", ("longterm", 60, 0.5, None)),
        ("longterm-g1.2", ("longterm", None, 1.2, None)),
        ("oracle-p20", ("oracle", 20, None, None)),
    ],
)
def test_tracker_specs_parse(spec, expected):
    assert parse_tracker_spec(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("gnnx", "unknown name"),
        ("gnn-q3", "NAME"),
        ("gnn-p", "NAME"),
        ("gnn-p3-p4", "NAME"),
        ("iou-p3", "patience"),
        ("oracle-p0", "patience"),
        ("gnn-g0.5", "gate"),
        ("longterm-g0", "gate"),
        ("longterm-kalman", "applies to gnn only"),
        ("gnn-kalman-detection", "NAME"),
    ],
)
def test_bad_tracker_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_tracker_spec(spec)


def test_eval_trackers_get_their_patience_and_gate():
    from jaxmot.gnn.model import AssociationGNN, GNNConfig

    config = GNNConfig(reid_dim=8, node_dim=4, edge_dim=8, num_steps=2)
    model = AssociationGNN(config, nnx.Rngs(0))
    tuned = GNNTrackerConfig().with_patience(60)

    def make(spec):
        return eval_tracker(spec, 30.0, 1.2, model, tuned, Oracle(OracleTracker, identity_features))

    assert eval_trackers(20) == ("iou", "longterm", "longterm-g0.5", "gnn", "oracle-p20")
    assert eval_trackers(60) == (
        "iou",
        "longterm",
        "longterm-g0.5",
        "gnn-p20",
        "oracle-p20",
        "longterm-p60",
        "longterm-p60-g0.5",
        "gnn",
        "oracle-p60",
    )
    for spec in eval_trackers(60):
        make(spec)  # every default row builds
    longterm = make("longterm")
    assert isinstance(longterm, ReIDTracker)
    assert longterm.config.appearance_gate == 1.2 and longterm.tracks.max_lost_frames == 20
    longterm = make("longterm-p60-g0.5")
    assert longterm.config.appearance_gate == 0.5 and longterm.tracks.max_lost_frames == 60
    gnn = make("gnn")
    assert isinstance(gnn, GNNTracker) and gnn.tracks.max_lost_frames == 60  # the tuned one
    assert make("gnn-p90").tracks.max_lost_frames == 90
    assert make("oracle-p60").tracks.max_lost_frames == 59
    assert make("oracle").tracks.max_lost_frames == 19
    assert make("gnn").config.lost_box == "detection"
    assert make("gnn-p90-kalman").config.lost_box == "kalman"


def test_eval_trackers_add_the_exercise_box_when_another_is_tuned():
    assert eval_trackers(20, "kalman") == (
        "iou", "longterm", "longterm-g0.5", "gnn", "gnn-p20-detection", "oracle-p20",
    )  # fmt: skip
    assert eval_trackers(90, "kalman")[-3:] == ("gnn", "gnn-p90-detection", "oracle-p90")
    assert eval_trackers(90, "detection") == eval_trackers(90)


def test_compare_association_rejects_a_bad_spec_before_work(capsys):
    from pipelines import compare_association

    with pytest.raises(SystemExit) as exit_info:
        compare_association.main(["--trackers", "gnn", "longterm-x3"])
    assert exit_info.value.code == 2
    assert "longterm-x3" in capsys.readouterr().err
