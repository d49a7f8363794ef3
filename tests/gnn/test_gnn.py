"""The GNN association model, its tracker, training pipeline and shipped checkpoint."""

import json

import jax
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.compiles import CompileCounter
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.mot_io import read_sequence
from jaxmot.core.padding import bucket_size
from jaxmot.core.registry import make_tracker
from jaxmot.core.sequence import track_sequence
from jaxmot.core.synthetic import DetectorModel, SceneConfig, generate_sequence
from jaxmot.gnn import message_passing as mp
from jaxmot.gnn import tracker as gnn_tracker
from jaxmot.gnn.checkpoint import export_gnn_model, load_gnn_model, tuned_patience
from jaxmot.gnn.data import (
    AssociationBatches,
    EmbeddingModel,
    association_labels,
    labelled_sequence,
)
from jaxmot.gnn.model import GRAPH_KEYS, AssociationGNN, GNNConfig, pair_labels, score_graph
from jaxmot.gnn.sequences import as_tracking_input
from jaxmot.gnn.tracker import PATIENCE_CANDIDATES, GNNTracker
from jaxmot.train.export import read_manifest

SMALL = GNNConfig(reid_dim=8, node_dim=6, edge_dim=10, num_steps=3)


@pytest.fixture(scope="module")
def labelled():
    seq = read_sequence(
        generate_sequence(
            pytest.importorskip("tempfile").mkdtemp(),
            SceneConfig(num_frames=40, num_objects=8, render=False),
            name="G",
        )
    )
    rng = np.random.default_rng(0)
    return seq, labelled_sequence(seq, DetectorModel(), EmbeddingModel(dim=8), rng)


def test_model_equals_the_plain_reference_form(labelled):
    _, seq = labelled
    model = AssociationGNN(SMALL, nnx.Rngs(0))
    model.eval()
    batch = AssociationBatches([seq], 3, seed=1).batch(0)
    logits = model.score_batch(batch)
    assert logits.shape[:2] == (3, SMALL.num_steps)
    for b in range(3):
        edges = mp.edge_features(
            batch["track_boxes"][b],
            batch["det_boxes"][b],
            batch["track_t"][b],
            batch["det_t"][b],
            batch["track_features"][b],
            batch["det_features"][b],
        )
        ref = mp.message_passing_reference(
            model.param_tree(),
            batch["track_features"][b],
            batch["det_features"][b],
            edges,
            batch["track_valid"][b],
            batch["det_valid"][b],
            SMALL.num_steps,
        )
        valid = batch["track_valid"][b][:, None] & batch["det_valid"][b][None, :]
        np.testing.assert_allclose(
            np.where(valid, logits[b], 0), np.where(valid, ref, 0), rtol=1e-4, atol=1e-5
        )
    labels, valid = pair_labels(batch)
    expected = association_labels(
        batch["track_ids"], batch["det_ids"], batch["track_valid"], batch["det_valid"]
    )
    np.testing.assert_array_equal(np.asarray(labels) > 0, np.asarray(expected))
    assert np.asarray(labels).sum() > 0  # the batch has true pairs


def test_gradients_are_finite_with_padding(labelled):
    _, seq = labelled
    model = AssociationGNN(SMALL, nnx.Rngs(0))
    batch = AssociationBatches([seq], 4, seed=2).batch(1)
    assert not batch["det_valid"].all()  # padded rows with zero boxes

    def loss(params):
        graph = (batch[k] for k in GRAPH_KEYS)
        logits = jax.vmap(lambda *a: score_graph(params, SMALL.num_steps, *a))(*graph)
        labels, valid = pair_labels(batch)
        return jax.vmap(mp.association_loss)(logits, labels, valid).mean()

    grads = jax.grad(loss)(model.param_tree())
    leaves = jax.tree.leaves(grads)
    assert all(np.isfinite(np.asarray(g)).all() for g in leaves)
    assert any(np.abs(np.asarray(g)).sum() > 0 for g in leaves)


def test_tracker_compiles_per_bucket_pair_only(labelled):
    source, seq = labelled
    model = AssociationGNN(SMALL, nnx.Rngs(0))
    sequence, features = as_tracking_input(seq, source)
    tracker = GNNTracker(model)
    gnn_tracker._last_step_similarity.clear_cache()
    run = track_sequence(tracker, sequence, features=features)
    assert len(run.results.ids) > 0
    # The scorer compiles once per (tracks bucket, detections bucket) pair that occurs,
    # never per frame.
    pairs = set()
    for frame in range(1, sequence.info.length + 1):
        m = len(sequence.detections.for_frame(frame))
        pairs.add(bucket_size(max(m, 1)))
    assert gnn_tracker._last_step_similarity._cache_size() <= 4 * len(pairs)
    assert gnn_tracker._last_step_similarity._cache_size() < sequence.info.length / 4
    with CompileCounter() as compiles:  # a second pass: everything is cached
        again = track_sequence(tracker, sequence, features=features)
    assert compiles.count == 0
    np.testing.assert_array_equal(again.results.ids, run.results.ids)
    with pytest.raises(ValueError, match="8-d appearance features, got 5-d"):
        track_sequence(GNNTracker(model), sequence, features=features[:, :5])


def test_train_then_track_end_to_end(tmp_path):
    from jaxmot.gnn.evaluation import eval_trackers
    from pipelines import train_gnn

    args = ["--workdir", str(tmp_path / "run"), "--steps", "4",
            "--set", "data.synthetic_train_scenes=1", "--set", "data.synthetic_val_scenes=1",
            "--set", "data.draws=1", "--set", "data.embed_dim=8", "--set", "train.batch_size=2",
            "--set", "model.node_dim=4", "--set", "model.edge_dim=8", "--set", "model.num_steps=2",
            "--set", "train.log_every=1", "--export", str(tmp_path / "gnn"), "--lost-min-hits", "1",
            "--set", "lost_boxes=kalman,detection", "--no-progress"]  # fmt: skip
    assert train_gnn.main(args) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    evaluation = json.loads((tmp_path / "run" / "eval.json").read_text())
    patience, box = evaluation["gnn_patience"], evaluation["gnn_lost_box"]
    assert patience in PATIENCE_CANDIDATES
    sweep = evaluation["gnn_tuning_idf1"]  # every (box, patience) pair, the best one kept
    assert set(sweep) == {"kalman", "detection"}
    assert all(set(row) == {str(p) for p in PATIENCE_CANDIDATES} for row in sweep.values())
    best = max(v for row in sweep.values() for v in row.values())
    assert sweep[box][str(patience)] == best and evaluation["gnn_patience_idf1"] == sweep[box]
    assert set(evaluation["noise_0.5"]) == set(eval_trackers(patience, box))
    # The export carries the tuned settings, and the gnn tracker built from it uses them.
    assert read_manifest(tmp_path / "gnn")["tracker"] == {"patience": patience, "lost_box": box}
    tracker = make_tracker("gnn", gnn_checkpoint=tmp_path / "gnn")
    assert tracker.tracks.max_lost_frames == patience and tracker.config.lost_box == box
    tracker = make_tracker("gnn", gnn_checkpoint=tmp_path / "gnn", patience=7)
    assert tracker.tracks.max_lost_frames == 7
    model = load_gnn_model(tmp_path / "gnn")
    assert model.config.reid_dim == 8 and model.config.num_steps == 2
    with pytest.raises(ValueError, match="not a GNN model"):
        from jaxmot.reid.checkpoint import export_reid_model
        from jaxmot.reid.model import ReIDModelConfig, build_reid_model

        cfg = ReIDModelConfig(depth=18, width=4, embed_dim=8, num_classes=2, input_size=(32, 16))
        export_reid_model(build_reid_model(cfg, nnx.Rngs(0)), cfg, tmp_path / "reid")
        load_gnn_model(tmp_path / "reid")


def test_export_round_trip(tmp_path, labelled):
    _, seq = labelled
    model = AssociationGNN(SMALL, nnx.Rngs(3))
    model.eval()
    export_gnn_model(model, tmp_path / "m", note="test")
    assert tuned_patience(tmp_path / "m") is None  # an export without a tuned patience
    assert make_tracker("gnn", gnn_checkpoint=tmp_path / "m").tracks.max_lost_frames == 20
    export_gnn_model(model, tmp_path / "bad", tracker={"patience": 0})
    with pytest.raises(ValueError, match="bad/model.json: tracker.patience must be an int"):
        make_tracker("gnn", gnn_checkpoint=tmp_path / "bad")
    export_gnn_model(model, tmp_path / "box", tracker={"patience": 40, "lost_box": "kalman"})
    tracker = make_tracker("gnn", gnn_checkpoint=tmp_path / "box")
    assert tracker.config.lost_box == "kalman" and tracker.tracks.max_lost_frames == 40
    assert make_tracker("gnn", gnn_checkpoint=tmp_path / "m").config.lost_box == "detection"
    export_gnn_model(model, tmp_path / "badbox", tracker={"patience": 40, "lost_box": "last"})
    with pytest.raises(ValueError, match="badbox/model.json: tracker.lost_box must be one of"):
        make_tracker("gnn", gnn_checkpoint=tmp_path / "badbox")
    loaded = load_gnn_model(tmp_path / "m")
    batch = AssociationBatches([seq], 2, seed=0).batch(0)
    np.testing.assert_allclose(loaded.score_batch(batch), model.score_batch(batch), rtol=1e-6)


def test_shipped_gnn_beats_longterm_on_held_out_mot17(shared_data):
    """The issue's must-show, recomputed: MOT17-09 (never trained on), the default
    detector, embedding noise 0.5, the same detections and features for every tracker.
    `longterm` (patience 20) runs with the gate train_gnn tuned on the
    training sequences (stored in model.json) and with its default gate; `gnn` with the
    patience train_gnn tuned for it (model.json). The oracle shows why the GNN needs the
    longer memory: at patience 20 even perfect association is less than 3 IDF1 ahead of
    `longterm`."""
    from jaxmot.gnn.checkpoint import DEFAULT_CHECKPOINT
    from jaxmot.mot.oracle_tracker import OracleTracker, identity_features
    from jaxmot.train.export import read_manifest

    manifest = read_manifest(DEFAULT_CHECKPOINT)
    assert "MOT17-09-FRCNN" not in manifest["experiment"]["data"]["train_sequences"]
    source = read_sequence(shared_data / "mot17_gt" / "train" / "MOT17-09-FRCNN")
    rng = np.random.default_rng([0, 10_000, 50])  # train_gnn's evaluation draw at 0.5
    emb = EmbeddingModel(dim=manifest["config"]["reid_dim"], noise_range=(0.5, 0.5))
    seq = labelled_sequence(source, DetectorModel(), emb, rng)
    sequence, features = as_tracking_input(seq, source)
    tuned_gate = manifest["evaluation"]["longterm_gate"]
    fps = sequence.info.frame_rate
    trackers = {
        "longterm": make_tracker("longterm", fps, appearance_gate=tuned_gate),
        "longterm-g0.5": make_tracker("longterm", fps),
        "gnn": make_tracker("gnn", fps),
        "oracle-p20": OracleTracker(20, fps),
    }
    metrics = {}
    for name, tracker in trackers.items():
        given = identity_features(seq.ids) if name.startswith("oracle") else features
        run = track_sequence(tracker, sequence, features=given)
        metrics[name] = evaluate({"S": (sequence.gt, run.results)})["OVERALL"]
    # The recorded evaluation is what this recomputation gives.
    recorded = manifest["evaluation"]["noise_0.5"]
    for name in trackers:
        assert metrics[name]["IDF1"] == pytest.approx(recorded[name]["IDF1"], abs=1e-6), name
        assert metrics[name]["IDs"] == recorded[name]["IDs"], name
    # Measured: IDF1 60.8 (patience 120) vs 50.1 (tuned gate) / 53.8 (default gate); ID
    # switches 53 vs 189 / 203; the oracle at patience 20: IDF1 56.4.
    gnn, longterm, default = (metrics[k] for k in ("gnn", "longterm", "longterm-g0.5"))
    assert gnn["IDF1"] >= longterm["IDF1"] + 0.03, metrics
    assert gnn["IDF1"] >= default["IDF1"] + 0.03, metrics
    assert 2 * gnn["IDs"] < min(longterm["IDs"], default["IDs"]), metrics
    assert metrics["oracle-p20"]["IDF1"] < default["IDF1"] + 0.03, metrics


@pytest.mark.parametrize("lost_min_hits, expected", [(2, [2, 2, 3, 2]), (1, [2, 2, 3, 3])])
def test_one_hit_lost_tracks_stay_out_of_the_graph(lost_min_hits, expected):
    """A track matched once and then lost (most likely a false positive, which training
    graphs never hold as past tracks) does not enter the graph; one matched twice does."""
    from jaxmot.core.tracker import FrameDetections
    from jaxmot.gnn.tracker import GNNTrackerConfig

    model = AssociationGNN(SMALL, nnx.Rngs(0))
    tracker = GNNTracker(model, GNNTrackerConfig(lost_min_hits=lost_min_hits))
    sizes = []

    def near(track_boxes, track_t, track_features, det_boxes, det_t, det_features):
        sizes.append(len(track_boxes))  # a stand-in scorer: matches boxes < 10 px apart
        gap = np.abs(np.asarray(track_boxes)[:, None, :2] - np.asarray(det_boxes)[None, :, :2])
        return np.where(gap.max(-1) < 10, 0.9, 0.1)

    tracker.similarity = near
    a, b, c = [0, 0, 20, 40], [200, 0, 20, 40], [400, 0, 20, 40]
    # 1: a, b start (no graph yet); 2: both matched; 3: c starts; 4: only a, so b (3
    # hits) and c (1 hit) are lost; 5: the graph holds a, b and, only with
    # lost_min_hits=1, c.
    frames = [[a, b], [a, b], [a, b, c], [a], [a, c]]
    with pytest.raises(ValueError, match="lost_min_hits"):
        GNNTrackerConfig(lost_min_hits=0)
    for boxes in frames:
        feats = np.ones((len(boxes), SMALL.reid_dim), np.float32)
        tracker.update(FrameDetections(np.array(boxes, np.float32), np.ones(len(boxes)), feats))
    assert sizes == expected  # tracks in the graph, frames 2-5


@pytest.mark.parametrize("lost_box", ["detection", "kalman"])
def test_a_lost_track_enters_the_graph_where_its_box_says(lost_box):
    """ "detection": the last matched box at the frame of that match (the exercise);
    "kalman": the Kalman filter's predicted centre for this frame with the last box's
    size, as if seen in the previous frame. A walker at constant velocity, hidden for 4
    frames, is entered at its constant-velocity extrapolation (a plain NumPy reference)
    and re-found by a scorer that only links boxes < 10 px apart."""
    from jaxmot.core.tracker import FrameDetections
    from jaxmot.gnn.tracker import GNNTrackerConfig

    tracker = GNNTracker(AssociationGNN(SMALL, nnx.Rngs(0)), GNNTrackerConfig(lost_box=lost_box))
    entered = []

    def near(track_boxes, track_t, track_features, det_boxes, det_t, det_features):
        entered.append((np.array(track_boxes), np.array(track_t), det_t))
        gap = np.abs(np.asarray(track_boxes)[:, None, :2] - np.asarray(det_boxes)[None, :, :2])
        return np.where(gap.max(-1) < 10, 0.9, 0.1)

    tracker.similarity = near
    velocity, size, still = np.array([6.0, 2.0]), np.array([20.0, 40.0]), [500, 300, 20, 40]
    walker = lambda frame: [*(np.array([10.0, 50.0]) + frame * velocity), *size]  # noqa: E731
    walked, hidden = 30, 4
    ids = {}
    for frame in range(1, walked + hidden + 2):
        boxes = [still] + ([walker(frame)] if frame <= walked or frame > walked + hidden else [])
        feats = np.ones((len(boxes), SMALL.reid_dim), np.float32)
        out = tracker.update(
            FrameDetections(np.array(boxes, np.float32), np.ones(len(boxes)), feats)
        )
        ids[frame] = sorted(int(i) for i in out.ids)
    boxes, seen, frame = entered[-1]  # the frame the walker comes back
    assert frame == walked + hidden + 1 and len(boxes) == 2
    last = walker(walked)
    if lost_box == "detection":
        np.testing.assert_allclose(boxes[1], last)
        assert seen[1] == walked
    else:
        centre = np.array(last[:2]) + size / 2 + (hidden + 1) * velocity  # constant velocity
        np.testing.assert_allclose(boxes[1, :2] + boxes[1, 2:] / 2, centre, atol=0.5)
        np.testing.assert_allclose(boxes[1, 2:], size)
        assert seen[1] == frame - 1
    np.testing.assert_allclose(boxes[0], still)  # a tracked track is entered as before
    assert seen[0] == frame - 1
    refound = ids[frame] == ids[walked]
    assert refound == (lost_box == "kalman"), (ids[walked], ids[frame])
    with pytest.raises(ValueError, match="lost_box must be one of"):
        GNNTrackerConfig(lost_box="kalmann")
