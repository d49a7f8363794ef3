"""Multi-class tracking: association never crosses classes, ids stay unique across
classes, and evaluation scores each class asked for on its own."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jaxmot.core import mot_io
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import SceneConfig, simulate
from jaxmot.core.tracker import FrameDetections
from pipelines import evaluate as evaluate_program
from pipelines import track as track_program

TRACKERS = ["iou", "sort", "reid", "longterm", "jde"]


def _handover_frames():
    """Frames 1-12: a class-0 object walks right; from frame 13 it is gone and a class-1
    object continues exactly where it would be. A class-blind tracker hands the track
    over; a per-class one must start a new track. A second, far-away class-1 object is
    there throughout (so the classes share a frame from the start)."""
    frames = []
    for t in range(1, 25):
        x = 100.0 + 4.0 * t
        moving = [x, 100.0, x + 40.0, 200.0]
        boxes = [moving, [400.0, 50.0, 440.0, 150.0]]
        classes = [0 if t <= 12 else 1, 1]
        frames.append((np.array(boxes), np.array([0.9, 0.9]), np.array(classes)))
    return frames


def _features(n):
    # The same embedding for every detection: appearance cannot tell the objects apart.
    return np.tile(np.eye(8, dtype=np.float32)[:1], (n, 1))


def _run(name, use_classes):
    tracker = make_tracker(name)
    track_class = {}  # id -> set of classes of the detections it took
    ids_per_frame = []
    for boxes, scores, classes in _handover_frames():
        features = _features(len(boxes)) if tracker.needs_features else None
        out = tracker.update(
            boxes=boxes, scores=scores, features=features, classes=classes if use_classes else None
        )
        for i, d in zip(out.ids.tolist(), out.detection_index.tolist(), strict=True):
            track_class.setdefault(i, set()).add(int(classes[d]))
        ids_per_frame.append(out.ids.tolist())
    return track_class, ids_per_frame, out


@pytest.mark.parametrize("name", TRACKERS)
def test_no_cross_class_match(name):
    blind, _, _ = _run(name, use_classes=False)
    # The scenario does provoke a cross-class match without classes ...
    assert any(len(c) > 1 for c in blind.values()), blind
    typed, ids_per_frame, last = _run(name, use_classes=True)
    # ... and never with them: every id only ever took detections of one class.
    assert all(len(c) == 1 for c in typed.values()), typed
    assert {frozenset(c) for c in typed.values()} == {frozenset({0}), frozenset({1})}
    for ids in ids_per_frame:
        assert len(ids) == len(set(ids))  # unique across classes within a frame
    assert sorted(last.classes.tolist()) == [1, 1]


def test_single_class_equals_class_blind():
    scene = simulate(SceneConfig(num_frames=40, render=False, seed=11))
    dets = scene.detections
    a, b = make_tracker("iou"), make_tracker("iou")
    for t in range(1, 41):
        rows = dets.for_frame(t)
        oa = a.update(FrameDetections(dets.boxes[rows], dets.scores[rows]))
        ob = b.update(
            FrameDetections(dets.boxes[rows], dets.scores[rows], classes=np.full(len(rows), 5))
        )
        np.testing.assert_array_equal(oa.ids, ob.ids)
        np.testing.assert_allclose(oa.boxes, ob.boxes)
        assert (ob.classes == 5).all()


def test_class_seen_late_starts_at_the_current_frame():
    # A class first seen at frame 10 must not have its tracks born confirmed (the
    # lifecycle confirms tracks born in the first min_hits frames of a sequence).
    tracker = make_tracker("iou")  # min_hits 3
    for _ in range(9):
        tracker.update(boxes=[[0, 0, 10, 20]], scores=[0.9], classes=[0])
    out = tracker.update(
        boxes=[[0, 0, 10, 20], [50, 50, 70, 90]], scores=[0.9, 0.9], classes=[0, 7]
    )
    assert out.classes.tolist() == [0]  # the new class-7 track is not confirmed yet


# -- a generated two-class sequence, tracked and evaluated per class --------------------


def _two_class_sequence(root):
    """The synthetic scene with odd identities as class 1 and even ones as class 3; its
    detections carry the class of the identity they came from (false positives: 1)."""
    scene = simulate(SceneConfig(num_frames=60, render=False, seed=5, num_objects=10))
    gt = scene.gt
    gt_classes = np.where(gt.ids % 2 == 1, 1, 3)
    gt = mot_io.GroundTruth(
        frames=gt.frames, ids=gt.ids, boxes=gt.boxes, flags=np.ones(len(gt)),
        classes=gt_classes, visibility=gt.visibility,
    )  # fmt: skip
    det_ids = scene.det_gt_ids
    dets = mot_io.Detections(
        frames=scene.detections.frames, boxes=scene.detections.boxes,
        scores=scene.detections.scores, classes=np.where(det_ids % 2 == 0, 3, 1),
    )  # fmt: skip
    seq = root / "gt" / "TWO-CLASS"
    (seq / "gt").mkdir(parents=True)
    (seq / "det").mkdir()
    mot_io.write_gt(seq / "gt" / "gt.txt", gt)
    mot_io.write_detections(seq / "det" / "det.txt", dets)
    mot_io.write_seqinfo(seq, mot_io.SequenceInfo("TWO-CLASS", seq, 30.0, 60, 640, 480))
    return seq, gt


def test_results_and_detections_keep_classes(tmp_path):
    results = mot_io.TrackResults(
        frames=[1, 1, 2], ids=[1, 2, 1], boxes=np.ones((3, 4)), scores=[1, 1, 1], classes=[0, 3, 0]
    )
    mot_io.write_results(tmp_path / "r.txt", results)
    back = mot_io.read_results(tmp_path / "r.txt")
    assert back.classes.tolist() == [0, 3, 0]
    # Plain MOTChallenge results (-1, or junk such as world coordinates) have no class.
    (tmp_path / "m.txt").write_text(
        "1,1,1,1,5,5,1,-1,-1,-1\n2,1,1,1,5,5,1,2.5,0,0\n3,1,1,1,5,5,1,,\n"
    )
    assert mot_io.read_results(tmp_path / "m.txt").classes.tolist() == [-1, -1, -1]
    assert mot_io.TrackResults(
        frames=[1], ids=[1], boxes=np.ones((1, 4)), scores=[1]
    ).classes.tolist() == [-1]


def test_two_class_sequence_tracked_and_evaluated_per_class(tmp_path, capsys):
    seq, gt = _two_class_sequence(tmp_path)
    out = tmp_path / "res" / "TWO-CLASS.txt"
    assert (
        track_program.main(["--sequence", str(seq), "--tracker", "iou", "--output", str(out)]) == 0
    )
    results = mot_io.read_results(out)
    assert set(results.classes.tolist()) == {1, 3}
    for i in np.unique(results.ids):  # no id spans classes
        assert len(set(results.classes[results.ids == i].tolist())) == 1

    per_class = evaluate({"TWO-CLASS": (gt, results)}, classes=[1, 3])
    assert list(per_class) == ["TWO-CLASS:1", "TWO-CLASS:3", "OVERALL"]
    for c in (1, 3):  # GT counts the identities of that class only
        assert per_class[f"TWO-CLASS:{c}"]["GT"] == len(np.unique(gt.ids[gt.classes == c]))
    overall = per_class["OVERALL"]
    for key in ("GT", "FP", "FN", "IDs"):  # classes pooled: counts add up
        assert overall[key] == per_class["TWO-CLASS:1"][key] + per_class["TWO-CLASS:3"][key]

    # The ground truth as results scores perfectly per class; with the classes swapped
    # nothing matches (no cross-class match in evaluation either).
    perfect = mot_io.TrackResults(frames=gt.frames, ids=gt.ids, boxes=gt.boxes,
                                  scores=np.ones(len(gt)), classes=gt.classes)  # fmt: skip
    m = evaluate({"S": (gt, perfect)}, classes=[1, 3])
    assert m["OVERALL"]["MOTA"] == pytest.approx(1.0) and m["OVERALL"]["IDF1"] == pytest.approx(1.0)
    swapped = mot_io.TrackResults(frames=gt.frames, ids=gt.ids, boxes=gt.boxes,
                                  scores=np.ones(len(gt)), classes=4 - gt.classes)  # fmt: skip
    m = evaluate({"S": (gt, swapped)}, classes=[1, 3])
    matched = round(m["OVERALL"]["Rcll"] * len(gt))
    assert matched + m["OVERALL"]["FP"] == len(gt)  # every row scored in one class
    assert m["OVERALL"]["Rcll"] < 0.1  # only where people of the other class overlap
    elsewhere = dataclasses.replace(swapped, classes=np.full(len(gt), 9))
    m = evaluate({"S": (gt, elsewhere)}, classes=[1, 3])
    assert m["OVERALL"]["Rcll"] == 0.0 and m["OVERALL"]["FP"] == 0
    # One class asked for: its own row name, only its gt.
    m = evaluate({"S": (gt, perfect)}, classes=[3])
    assert list(m) == ["S", "OVERALL"] and m["S"]["GT"] == len(np.unique(gt.ids[gt.classes == 3]))

    # The program: --classes, and one clear line where results carry no classes.
    code = evaluate_program.main(
        ["--gt", str(seq.parent), "--results", str(out.parent), "--classes", "1", "3"]
    )
    assert code == 0
    assert "TWO-CLASS:3" in capsys.readouterr().out
    untyped = mot_io.TrackResults(
        frames=results.frames, ids=results.ids, boxes=results.boxes, scores=results.scores
    )
    mot_io.write_results(out, untyped)
    code = evaluate_program.main(
        ["--gt", str(seq.parent), "--results", str(out.parent), "--classes", "1", "3"]
    )
    assert code == 2
    assert "carry no class ids" in capsys.readouterr().err
