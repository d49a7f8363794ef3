"""Training the GNN on one's own features: labelling, reading, the exercise's db, the
look-alike ReID simulation and `train_gnn --config mot_features` end to end."""

import itertools
import json
import pathlib

import numpy as np
import pytest

from jaxmot.core.mot_io import (
    Detections,
    GroundTruth,
    read_detections,
    read_sequence,
    write_detections,
    write_gt,
)
from jaxmot.core.synthetic import SceneConfig, generate_sequence
from jaxmot.gnn.configs import get_config
from jaxmot.gnn.exercise_db import convert_exercise_db, exercise_boxes_to_xywh
from jaxmot.gnn.feature_data import (
    feature_dim,
    label_detections,
    read_feature_sequence,
    write_feature_sequence,
)
from jaxmot.gnn.lookalike import LookalikeReID, lookalike_features, write_lookalike_sequences
from jaxmot.gnn.sequences import check_features_dataset
from jaxmot.train.overrides import apply_overrides

# ----------------------------------------------------------------------------- labelling


def _iou(a, b):
    """Plain IoU of two xywh boxes."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _best_matching(dets, gts, min_iou):
    """Brute force over every partial matching: the one with the largest summed IoU
    surplus over min_iou, pairs below min_iou forbidden -> {det index: gt index}."""
    best, best_gain = {}, 0.0
    for k in range(1, min(len(dets), len(gts)) + 1):
        for chosen in itertools.combinations(range(len(dets)), k):
            for targets in itertools.permutations(range(len(gts)), k):
                ious = [_iou(dets[d], gts[g]) for d, g in zip(chosen, targets, strict=True)]
                if min(ious) < min_iou:
                    continue
                gain = sum(i - min_iou for i in ious)
                if gain > best_gain:
                    best, best_gain = dict(zip(chosen, targets, strict=True)), gain
    return best


def _reference_labels(dets, gt, min_iou=0.5):
    ids, vis = [-1] * len(dets), [1.0] * len(dets)
    for frame in sorted(set(dets.frames.tolist())):
        rows = [i for i in range(len(dets)) if dets.frames[i] == frame]
        frame_gt = [j for j in range(len(gt)) if gt.frames[j] == frame]
        counted = [j for j in frame_gt if gt.flags[j] == 1 and gt.classes[j] in (1, -1)]
        others = [j for j in frame_gt if j not in counted]
        for group in (counted, others):
            free = [i for i in rows if ids[i] < 0]
            match = _best_matching(
                [dets.boxes[i] for i in free], [gt.boxes[j] for j in group], min_iou
            )
            for d, g in match.items():
                ids[free[d]] = int(gt.ids[group[g]])
                v = float(gt.visibility[group[g]])
                vis[free[d]] = 1.0 if v < 0 else v
    return np.array(ids), np.array(vis, np.float32)


def _random_frames(rng, num_frames=12):
    """gt (pedestrians and ignored rows) and detections near them, plus stray ones."""
    gt_rows, det_rows = [], []
    for frame in range(1, num_frames + 1):
        n = rng.integers(0, 5)
        centres = rng.uniform(0, 60, (n, 2))  # crowded: boxes overlap each other
        for k in range(n):
            w, h = rng.uniform(15, 30), rng.uniform(40, 70)
            box = [*centres[k], w, h]
            flag, cls = (1, 1) if rng.random() < 0.7 else (0, int(rng.choice([7, 8, 12])))
            vis = -1.0 if rng.random() < 0.2 else float(rng.uniform(0, 1))
            gt_rows.append((frame, 10 * frame + k + 1, *box, flag, cls, vis))
            if rng.random() < 0.8:
                noise = rng.normal(0, 0.12, 4) * [w, h, w, h]
                det_rows.append((frame, box[0] + noise[0], box[1] + noise[1],
                                 max(w + noise[2], 2), max(h + noise[3], 2)))  # fmt: skip
        for _ in range(rng.integers(0, 3)):
            det_rows.append((frame, *rng.uniform(0, 60, 2), rng.uniform(15, 30), 50.0))
    g, d = np.array(gt_rows), np.array(det_rows)
    gt = GroundTruth(
        frames=g[:, 0], ids=g[:, 1], boxes=g[:, 2:6], flags=g[:, 6], classes=g[:, 7],
        visibility=g[:, 8],
    )  # fmt: skip
    dets = Detections(frames=d[:, 0], boxes=d[:, 1:5], scores=np.ones(len(d)))
    return dets, gt


@pytest.mark.parametrize("seed", range(4))
def test_labels_are_the_best_iou_matching_of_a_plain_reference(seed):
    dets, gt = _random_frames(np.random.default_rng(seed))
    ids, vis = label_detections(dets, gt)
    ref_ids, ref_vis = _reference_labels(dets, gt)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(vis, ref_vis)
    assert (ids >= 0).any() and (ids < 0).any()  # the cases are not trivial


def test_pedestrians_win_over_ignored_gt_and_low_overlap_is_a_false_positive():
    box = [10.0, 10.0, 20.0, 50.0]
    gt = GroundTruth(
        frames=[1, 1], ids=[5, 6], boxes=[box, [11.0, 10.0, 20.0, 50.0]], flags=[0, 1],
        classes=[7, 1], visibility=[0.9, 0.4],
    )  # fmt: skip
    dets = Detections(frames=[1, 1], boxes=[box, [60.0, 10.0, 20.0, 50.0]], scores=[1.0, 1.0])
    ids, vis = label_detections(dets, gt)
    np.testing.assert_array_equal(ids, [6, -1])  # the pedestrian, not the exact static one
    np.testing.assert_allclose(vis, [0.4, 1.0])


# ----------------------------------------------------------------------------- reading


def _write_folder(root: pathlib.Path, name: str, rows: int, dim: int) -> pathlib.Path:
    dets, gt = _random_frames(np.random.default_rng(7), num_frames=6)
    seq_dir = root / name
    (seq_dir / "det").mkdir(parents=True)
    (seq_dir / "gt").mkdir()
    write_detections(seq_dir / "det" / "det.txt", dets)
    write_gt(seq_dir / "gt" / "gt.txt", gt)
    (seq_dir / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nframeRate=30\nseqLength=6\n")
    count = len(dets) if rows is None else rows
    np.savez(seq_dir / "features.npz", features=np.ones((count, dim), np.float32))
    return seq_dir


def test_a_features_file_with_the_wrong_row_count_is_one_clear_error(tmp_path):
    seq_dir = _write_folder(tmp_path, "S", rows=None, dim=4)
    lines = len(read_detections(seq_dir / "det" / "det.txt"))
    np.savez(seq_dir / "features.npz", features=np.ones((lines + 3, 4), np.float32))
    with pytest.raises(ValueError) as err:
        read_feature_sequence(seq_dir)
    message = str(err.value)
    assert "\n" not in message
    assert str(seq_dir / "features.npz") in message
    assert f"{lines + 3} rows" in message and f"{lines} data lines" in message


def test_missing_files_and_mixed_feature_sizes_name_the_file(tmp_path):
    a = _write_folder(tmp_path, "A", rows=None, dim=4)
    b = _write_folder(tmp_path, "B", rows=None, dim=6)
    assert feature_dim([a]) == 4
    with pytest.raises(ValueError, match="differ in size D"):
        feature_dim([a, b])
    (b / "features.npz").unlink()
    with pytest.raises(FileNotFoundError, match=str(b / "features.npz")):
        read_feature_sequence(b)


def test_read_feature_sequence_keeps_features_with_their_det_lines(tmp_path):
    seq_dir = _write_folder(tmp_path, "S", rows=None, dim=3)
    lines = len((seq_dir / "det" / "det.txt").read_text().splitlines())
    features = np.arange(lines * 3, dtype=np.float32).reshape(lines, 3)
    np.savez(seq_dir / "features.npz", features=features)
    sequence, labelled = read_feature_sequence(seq_dir)
    dets = read_detections(seq_dir / "det" / "det.txt")
    np.testing.assert_array_equal(labelled.boxes, dets.boxes)
    np.testing.assert_array_equal(labelled.features, features)  # written in frame order
    np.testing.assert_array_equal(labelled.ids, label_detections(dets, sequence.gt)[0])


def test_the_preset_takes_comma_lists_and_refuses_what_it_cannot_do():
    exp = apply_overrides(
        get_config("mot_features"),
        ["data.data_dir=/x", "data.train_sequences=A,B,C", "data.val_sequences=D"],
    )
    assert exp.data.train_sequences == ("A", "B", "C") and exp.data.val_sequences == ("D",)
    check_features_dataset(exp)
    with pytest.raises(ValueError, match="data.draws must be 1"):
        check_features_dataset(apply_overrides(exp, ["data.draws=3"]))
    with pytest.raises(ValueError, match='must be "files"'):
        check_features_dataset(apply_overrides(exp, ["data.features=simulated"]))


# ----------------------------------------------------------------------------- the exercise's db


def _exercise_db(rng, dim=5, frames=4):
    """A small db in the exercise's layout: {seq: [frame dict, ...]}, boxes xyxy in its
    0-based pixel convention."""
    db_frames = []
    for _ in range(frames):
        k = int(rng.integers(1, 4))
        left, top = rng.integers(1, 200, (k, 1)), rng.integers(1, 100, (k, 1))
        w, h = rng.integers(10, 40, (k, 1)), rng.integers(30, 90, (k, 1))
        xyxy = np.concatenate([left - 1, top - 1, left + w - 2, top + h - 2], 1).astype(np.float32)
        reid = rng.standard_normal((k, dim)).astype(np.float32)
        db_frames.append({
            "det": {"boxes": xyxy, "scores": rng.uniform(0.3, 1, k).astype(np.float32),
                    "reid": reid},
            "gt": {"ids": np.arange(k) + 1, "boxes": xyxy, "vis": np.full(k, 0.8, np.float32),
                   "reid": reid},
        })  # fmt: skip
    return {"MOT16-02": db_frames}


def test_exercise_boxes_convert_back_to_motchallenge_xywh():
    xywh = np.array([[100.0, 50.0, 20.0, 60.0]])
    x1, y1 = xywh[:, 0] - 1, xywh[:, 1] - 1  # the exercise's reader
    xyxy = np.stack([x1, y1, x1 + xywh[:, 2] - 1, y1 + xywh[:, 3] - 1], 1)
    np.testing.assert_allclose(exercise_boxes_to_xywh(xyxy), xywh)


def test_exercise_db_converts_to_feature_folders(tmp_path):
    db = _exercise_db(np.random.default_rng(0))
    (seq_dir,) = convert_exercise_db(db, tmp_path)  # gt from the db's "gt" entries
    sequence, labelled = read_feature_sequence(seq_dir)
    reid = np.concatenate([f["det"]["reid"] for f in db["MOT16-02"]])
    np.testing.assert_array_equal(labelled.features, reid)
    ids = np.concatenate([f["gt"]["ids"] for f in db["MOT16-02"]])
    np.testing.assert_array_equal(labelled.ids, ids)  # the boxes are the gt's: IoU 1
    np.testing.assert_allclose(labelled.visibility, 0.8)
    assert sequence.info.length == 4


def test_the_exercise_pth_converts_with_the_program(tmp_path):
    torch = pytest.importorskip("torch")
    from pipelines import make_gnn_features

    db = _exercise_db(np.random.default_rng(1), dim=7)
    as_torch = {
        name: [{part: {k: torch.as_tensor(v) for k, v in f[part].items()} for part in f}
               for f in frames]
        for name, frames in db.items()
    }  # fmt: skip
    torch.save(as_torch, tmp_path / "preprocessed_data_train_2.pth")
    mot16 = tmp_path / "MOT16" / "MOT16-02"
    (mot16 / "gt").mkdir(parents=True)
    gt_text = "1,1,10,10,20,50,1,1,1.0\n"
    (mot16 / "gt" / "gt.txt").write_text(gt_text)
    (mot16 / "seqinfo.ini").write_text("[Sequence]\nname=MOT16-02\nframeRate=30\nseqLength=4\n")
    argv = ["exercise", "--db", str(tmp_path / "preprocessed_data_train_2.pth"),
            "--mot16", str(tmp_path / "MOT16"), "--out", str(tmp_path / "out")]  # fmt: skip
    assert make_gnn_features.main(argv) == 0
    seq_dir = tmp_path / "out" / "MOT16-02"
    assert (seq_dir / "gt" / "gt.txt").read_text() == gt_text  # copied as it is
    assert feature_dim([seq_dir]) == 7
    assert make_gnn_features.main([*argv[:-2], "--out", str(tmp_path / "o2"),
                                   "--sequences", "MOT16-99"]) == 2  # fmt: skip


# ----------------------------------------------------------------------------- look-alikes


def test_lookalike_features_make_lookalikes_and_change_appearance():
    model = LookalikeReID(dim=64, clusters=2, change_rate=0.0)
    ids = np.repeat(np.arange(12), 30)
    frames = np.tile(np.arange(1, 31), 12)
    vis = np.ones(len(ids))
    f = lookalike_features(ids, frames, vis, model, np.random.default_rng(0))
    again = lookalike_features(ids, frames, vis, model, np.random.default_rng(0))
    np.testing.assert_array_equal(f, again)
    assert f.shape == (360, 64) and f.dtype == np.float32 and (f >= 0).all()
    means = np.stack([f[ids == i].mean(0) for i in range(12)])
    u = means / np.linalg.norm(means, axis=1, keepdims=True)
    sim = u @ u.T
    off = sim[~np.eye(12, dtype=bool)]
    # two modes: each identity has look-alikes (cosine ~0.9) and strangers, all > 0
    assert (sim - np.eye(12) > 0.8).any(axis=1).all() and off.min() > 0 and off.min() < 0.8
    changing = LookalikeReID(dim=64, clusters=2, change_rate=1.0, noise=0.0)
    g = lookalike_features(ids[:30], frames[:30], vis[:30], changing, np.random.default_rng(0))
    assert not np.allclose(g[0], g[1])  # a new appearance every frame


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def feature_root(tmp_path_factory):
    """Three short synthetic sequences with look-alike features of 16 dims."""
    root = tmp_path_factory.mktemp("features")
    names = [f"S{i}" for i in range(3)]
    for i, name in enumerate(names):
        config = SceneConfig(num_frames=30, num_objects=5, render=False, seed=i)
        generate_sequence(root / "gt", config, name=name)
    write_lookalike_sequences(root / "gt", names, root / "data", LookalikeReID(dim=16))
    return root / "data"


def test_write_feature_sequence_round_trips(feature_root, tmp_path):
    sequence, labelled = read_feature_sequence(feature_root / "S0")
    out = write_feature_sequence(tmp_path / "S0", sequence, sequence.detections, labelled.features)
    again = read_feature_sequence(out)[1]
    np.testing.assert_array_equal(again.ids, labelled.ids)
    np.testing.assert_array_equal(again.features, labelled.features)
    assert read_sequence(out).info.frame_rate == sequence.info.frame_rate


def _train_argv(feature_root, tmp_path, *extra):
    return [
        "--config", "mot_features", "--workdir", str(tmp_path / "run"), "--steps", "2",
        "--no-progress", "--export", str(tmp_path / "export"),
        "--set", f"data.data_dir={feature_root}",
        "--set", "data.train_sequences=S0,S1", "--set", "data.val_sequences=S2",
        "--set", "model.num_steps=2", "--set", "model.node_dim=8",
        "--set", "model.edge_dim=8", "--set", "train.batch_size=2", *extra,
    ]  # fmt: skip


def test_train_gnn_mot_features_then_track_with_the_export(feature_root, tmp_path, capsys):
    from pipelines import track, train_gnn

    assert train_gnn.main(_train_argv(feature_root, tmp_path, "--no-eval")) == 0
    export = tmp_path / "export"
    manifest = json.loads((export / "model.json").read_text())
    assert manifest["config"]["reid_dim"] == 16  # from the features, not the preset's 128

    seq = feature_root / "S2"
    out = tmp_path / "S2.txt"
    common = ["--sequence", str(seq), "--tracker", "gnn", "--gnn-checkpoint", str(export)]
    assert track.main([*common, "--features", str(seq / "features.npz"), "--output", str(out)]) == 0
    assert out.read_text().strip()
    lines = len((seq / "det" / "det.txt").read_text().splitlines())
    np.savez(tmp_path / "f8.npz", features=np.ones((lines, 8), np.float32))
    capsys.readouterr()
    code = track.main([*common, "--features", str(tmp_path / "f8.npz"), "--output", str(out)])
    errors = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error")]
    assert code == 2 and len(errors) == 1
    assert "takes 16-d appearance features, got 8-d" in errors[0]


@pytest.mark.slow
def test_train_gnn_mot_features_tunes_the_patience_and_evaluates(feature_root, tmp_path):
    from pipelines import train_gnn

    assert train_gnn.main(_train_argv(feature_root, tmp_path)) == 0
    manifest = json.loads((tmp_path / "export" / "model.json").read_text())
    assert manifest["tracker"]["patience"] >= 1  # tuned on S0, S1 after training
    # The preset tunes the lost-track box with the patience: both tried, one kept.
    evaluation = manifest["evaluation"]
    assert set(evaluation["gnn_tuning_idf1"]) == {"detection", "kalman"}
    assert manifest["tracker"]["lost_box"] == evaluation["gnn_lost_box"]
    rows = evaluation["features"]  # one level: the sequences' own features
    assert {"iou", "longterm", "gnn"} <= set(rows)
    assert evaluation["longterm_gate"] > 0
