"""GNN association training data: simulated detections and embeddings, samples, batches."""

from __future__ import annotations

import itertools
import pathlib
import warnings

import numpy as np
import pytest

from jaxmot.core.mot_io import GroundTruth, MOTSequence, SequenceInfo, read_sequence
from jaxmot.core.padding import bucket_size
from jaxmot.core.synthetic import DetectorModel, SceneConfig, generate_sequence, simulate
from jaxmot.gnn import data as A
from jaxmot.mot.histogram import ColorHistogramExtractor


def _random_labelled(seed: int = 0, num_frames: int = 60, num_ids: int = 15, dim: int = 8):
    """Identities present in random frames (at most once per frame), plus false positives."""
    rng = np.random.default_rng(seed)
    frames, ids = [], []
    for f in range(1, num_frames + 1):
        present = np.flatnonzero(rng.random(num_ids) < 0.4) + 1
        fp = rng.poisson(0.7)
        frames += [f] * (len(present) + fp)
        ids += [*present, *([-1] * fp)]
    k = len(frames)
    boxes = np.c_[rng.uniform(0, 500, (k, 2)), rng.uniform(5, 80, (k, 2))]
    vis = np.where(rng.random(k) < 0.3, rng.uniform(0, 0.25, k), rng.uniform(0.25, 1, k))
    vis[np.asarray(ids) < 0] = 1.0
    return A.LabelledDetections(
        f"rand-{seed}", frames, boxes, rng.random(k), ids, vis, rng.standard_normal((k, dim))
    )


def _sequence(gt: GroundTruth, length: int) -> MOTSequence:
    info = SequenceInfo("TINY", pathlib.Path("/nonexistent"), 30.0, length, 640, 480)
    return MOTSequence(info=info, detections=None, gt=gt)


# --------------------------------------------------------------------------- detections


def test_detections_from_gt_keeps_pedestrians_only():
    # Rows: MOT17 pedestrian, MOT15 (class -1, unknown visibility), flag 0, class 7.
    n = 4 * 50
    frames = np.repeat(np.arange(1, 51), 4)
    gt = GroundTruth(
        frames=frames,
        ids=np.tile([1, 2, 3, 4], 50),
        boxes=np.tile([[100.0, 100.0, 40.0, 100.0]], (n, 1)),
        flags=np.tile([1, 1, 0, 1], 50),
        classes=np.tile([1, -1, 1, 7], 50),
        visibility=np.tile([1.0, -1.0, 1.0, 1.0], 50),
    )
    always = DetectorModel(p_max=1.0, fp_per_frame=0.0)
    dets, ids, vis = A.detections_from_gt(_sequence(gt, 50), always, np.random.default_rng(0))
    assert sorted(np.unique(ids)) == [1, 2]  # unknown visibility counts as visible
    assert len(dets) == 100 and (vis == 1.0).all()
    dets, ids, vis = A.detections_from_gt(
        _sequence(gt, 50), DetectorModel(fp_per_frame=2.0), np.random.default_rng(1)
    )
    fp = ids == -1
    assert 50 < fp.sum() < 150 and (vis[fp] == 1.0).all()
    # False positives: a pedestrian row's feet height and size (x clipped at the borders).
    fb = dets.boxes[fp].astype(np.float64)
    np.testing.assert_allclose(fb[:, 1] + fb[:, 3], 200.0, atol=0.01)
    assert (fb[:, 3] >= 70 - 0.01).all() and (fb[:, 3] <= 120 + 0.01).all()
    assert (fb[:, 2] <= 0.4 * fb[:, 3] + 0.01).all()
    no_size = _sequence(gt, 50)
    no_size.info = SequenceInfo("TINY", pathlib.Path("/x"), 30.0, 50, None, None)
    with pytest.raises(ValueError, match="imWidth"):
        A.detections_from_gt(no_size, always, np.random.default_rng(0))


@pytest.mark.shared_data
def test_detections_from_gt_on_mot17_05(shared_data):
    seq = read_sequence(shared_data / "mot17_gt" / "train" / "MOT17-05-FRCNN")
    gt, model = seq.gt, DetectorModel()
    dets, ids, vis = A.detections_from_gt(seq, model, np.random.default_rng(0))
    ped = (gt.flags == 1) & (gt.classes == 1)
    true = ids >= 0
    # Recall: the model's detection probability averaged over the gt visibility.
    expected = model.detection_probability(gt.visibility[ped]).mean()
    assert abs(true.sum() / ped.sum() - expected) < 0.015, (true.sum() / ped.sum(), expected)
    fp_rate = (~true).sum() / seq.info.length
    assert abs(fp_rate - model.fp_per_frame) < 0.12, fp_rate
    assert (vis[~true] == 1.0).all()

    # Every true detection comes from a pedestrian row of its frame: match by (frame, id).
    span = int(gt.ids.max()) + 1
    gt_keys = gt.frames[ped].astype(np.int64) * span + gt.ids[ped]
    det_keys = dets.frames[true].astype(np.int64) * span + ids[true]
    order = np.argsort(gt_keys)
    at = order[np.searchsorted(gt_keys, det_keys, sorter=order)]
    assert (gt_keys[at] == det_keys).all() and len(np.unique(det_keys)) == len(det_keys)
    np.testing.assert_array_equal(vis[true], gt.visibility[ped][at])

    # Box noise, away from the borders (clipping): centre ~ center_std * h, size ~ size_std.
    g, d = gt.boxes[ped][at].astype(np.float64), dets.boxes[true].astype(np.float64)
    w, h = seq.info.width, seq.info.height
    inside = (g[:, 0] - 0.2 * g[:, 2] > 0) & (g[:, 0] + 1.2 * g[:, 2] < w)
    inside &= (g[:, 1] - 0.2 * g[:, 3] > 0) & (g[:, 1] + 1.2 * g[:, 3] < h)
    g, d = g[inside], d[inside]
    assert len(g) > 1000
    centre = (d[:, :2] + d[:, 2:] / 2 - g[:, :2] - g[:, 2:] / 2) / g[:, 3:]
    np.testing.assert_allclose(centre.std(0), model.center_std, rtol=0.1)
    np.testing.assert_allclose(np.log(d[:, 2:] / g[:, 2:]).std(0), model.size_std, rtol=0.1)
    assert dets.scores[true].mean() > 0.8 > 0.4 > dets.scores[~true].mean()


# --------------------------------------------------------------------------- embeddings


def _same_id_cosine(ids, frames, feats, lag):
    sims = []
    for i in np.unique(ids[ids >= 0]):
        rows = np.flatnonzero(ids == i)
        rows = rows[np.argsort(frames[rows])]
        sims += list(np.sum(feats[rows[:-lag]] * feats[rows[lag:]], axis=1))
    return float(np.mean(sims))


def test_simulated_embeddings():
    frames = np.repeat(np.arange(1, 401), 6)
    ids = np.tile([1, 2, 3, 4, -1, -1], 400)
    rng = np.random.default_rng(0)
    means = []
    for noise in (0.2, 0.5, 0.8):
        model = A.EmbeddingModel(dim=64, noise_range=(noise, noise), drift=0.0)
        feats = A.simulated_embeddings(ids, frames, model, rng)
        assert feats.shape == (len(ids), 64) and feats.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
        means.append(_same_id_cosine(ids, frames, feats, lag=1))
        assert abs(means[-1] - 1 / (1 + noise**2)) < 0.03, (noise, means[-1])
        fp = feats[ids < 0]
        cross = fp @ np.concatenate([fp, feats[ids >= 0]]).T
        off = cross[~np.eye(*cross.shape, dtype=bool)]
        assert abs(off.mean()) < 0.01 and abs(off.std() - 1 / 8) < 0.02  # random directions
    assert means[0] > means[1] > means[2]
    # Drift: similarity decays with the time lag, ~exp(-lag * drift^2 / 2).
    model = A.EmbeddingModel(dim=64, noise_range=(0.0, 0.0), drift=0.05)
    feats = A.simulated_embeddings(ids, frames, model, rng)
    near = _same_id_cosine(ids, frames, feats, lag=1)
    far = _same_id_cosine(ids, frames, feats, lag=200)
    assert near > 0.99 and abs(far - np.exp(-200 * 0.05**2 / 2)) < 0.1, (near, far)


# --------------------------------------------------------------------------- samples


def _brute_force_sample(seq, t, past_frames, min_visibility, past_visibility=True):
    last = {}
    for r in range(len(seq)):
        seen = seq.visibility[r] >= min_visibility or not past_visibility
        if t - past_frames <= seq.frames[r] < t and seq.ids[r] >= 0 and seen:
            last[int(seq.ids[r])] = r  # rows sorted by frame: the last one wins
    current = [
        r
        for r in range(len(seq))
        if seq.frames[r] == t and (seq.ids[r] < 0 or seq.visibility[r] >= min_visibility)
    ]
    return last, current


def test_build_sample_matches_brute_force():
    seq = _random_labelled(0)
    rng = np.random.default_rng(0)
    for t, past, past_visibility in itertools.product(
        (1, 2, 5, 21, 22, 40, 60, 61), (1, 3, 20, 21), (True, False)
    ):
        s = A.build_sample(
            seq, t, rng, past_frames=past, drop_p=0.0, jitter=0.0,
            past_visibility=past_visibility,
        )  # fmt: skip
        last, current = _brute_force_sample(seq, t, past, 0.25, past_visibility)
        assert sorted(s["track_ids"]) == sorted(last)
        rows = [last[int(i)] for i in s["track_ids"]]
        np.testing.assert_array_equal(s["track_boxes"], seq.boxes[rows])
        np.testing.assert_array_equal(s["track_t"], seq.frames[rows])
        np.testing.assert_array_equal(s["track_features"], seq.features[rows])
        assert (np.diff(s["track_t"]) <= 0).all()  # most recent first
        np.testing.assert_array_equal(s["det_ids"], seq.ids[current])
        np.testing.assert_array_equal(s["det_boxes"], seq.boxes[current])
        np.testing.assert_array_equal(s["det_features"], seq.features[current])
        assert (s["det_t"] == t).all() and s["det_t"].dtype == np.float32
    assert (seq.visibility[(seq.frames == 40) & (seq.ids >= 0)] < 0.25).any()  # filter tested


def test_past_false_positives_join_as_tracks_that_match_nothing():
    seq = _random_labelled(0)
    t, past = 40, 20
    window_fp = [r for r in range(len(seq)) if t - past <= seq.frames[r] < t and seq.ids[r] < 0][
        ::-1
    ]
    assert len(window_fp) > 3  # the test data has false positives to draw from
    opts = {"past_frames": past, "drop_p": 0.0, "jitter": 0.0}
    base = A.build_sample(seq, t, np.random.default_rng(0), **opts)
    every = A.build_sample(seq, t, np.random.default_rng(0), past_false_positives=1.0, **opts)
    n = len(base["track_ids"])
    for key in ("track_ids", "track_boxes", "track_t", "track_features"):
        np.testing.assert_array_equal(every[key][:n], base[key])  # true tracks first, as before
    assert (every["track_ids"][n:] == -1).all()
    np.testing.assert_array_equal(every["track_boxes"][n:], seq.boxes[window_fp])  # newest first
    np.testing.assert_array_equal(every["track_features"][n:], seq.features[window_fp])
    ones = np.ones(len(every["track_ids"]), bool), np.ones(len(every["det_ids"]), bool)
    labels = A.association_labels(every["track_ids"], every["det_ids"], *ones)
    assert not labels[n:].any() and labels[:n].any()
    counts = [
        len(
            A.build_sample(
                seq,
                t,
                np.random.default_rng(k),
                past_frames=past,
                drop_p=0.0,
                past_false_positives=0.5,
            )["track_ids"]  # fmt: skip
        )
        - n
        for k in range(200)
    ]
    assert abs(np.mean(counts) - 0.5 * len(window_fp)) < 0.1 * len(window_fp)


def test_usable_frames_matches_brute_force():
    seq = _random_labelled(1, num_frames=80, num_ids=3)
    for past, pv in itertools.product((1, 5, 21), (True, False)):
        usable = A.usable_frames(seq, past_frames=past, past_visibility=pv)
        brute = [
            t for t in range(1, 81) if all(map(len, _brute_force_sample(seq, t, past, 0.25, pv)))
        ]
        np.testing.assert_array_equal(usable, brute)
        assert len(brute) < 80


def test_drop_rate_and_jitter_bounds():
    seq = _random_labelled(2)
    rng = np.random.default_rng(0)
    kept = total = 0
    for t in range(21, 61):  # drop="identity": every track and detection with p = 0.3
        full = A.build_sample(seq, t, rng, drop_p=0.0, jitter=0.0, keep_one=False)
        for _ in range(10):
            s = A.build_sample(seq, t, rng, drop_p=0.3, jitter=0.0, drop="identity", keep_one=False)
            kept += len(s["track_ids"]) + len(s["det_ids"])
            total += len(full["track_ids"]) + len(full["det_ids"])
    assert abs(kept / total - 0.7) < 0.02, kept / total

    j = 0.1
    moved = []
    for t in range(21, 61):
        full = A.build_sample(seq, t, rng, drop_p=0.0, jitter=0.0)
        s = A.build_sample(seq, t, rng, drop_p=0.0, jitter=j)
        for side in ("track", "det"):
            a, b = full[f"{side}_boxes"].astype(np.float64), s[f"{side}_boxes"]
            size = np.tile(a[:, 2:], 2)
            corners = lambda x: np.c_[x[:, :2], x[:, :2] + x[:, 2:]]  # noqa: E731
            d = np.abs(corners(b) - corners(a)) / size
            assert (d <= j + 1e-4).all()
            assert (b[:, 2:] >= 1.0).all()
            moved.append(d)
    moved = np.concatenate(moved)
    assert moved.max() > 0.95 * j and abs(moved.mean() - j / 2) < 0.01


def test_pad_sample_and_labels():
    seq = _random_labelled(3)
    t = int(seq.frames[(seq.ids == -1) & (seq.frames > 20)][0])
    sample = A.build_sample(seq, t, np.random.default_rng(0), drop_p=0.0)
    nt, nd = len(sample["track_ids"]), len(sample["det_ids"])
    assert (sample["det_ids"] == -1).any()  # a false positive to reject
    p = A.pad_sample(sample, 16, 16)
    assert list(p) == list(A.SAMPLE_KEYS)
    for side, n in (("track", nt), ("det", nd)):
        np.testing.assert_array_equal(p[f"{side}_valid"], np.arange(16) < n)
        for key in ("boxes", "t", "features", "ids"):
            x = p[f"{side}_{key}"]
            assert x.dtype == sample[f"{side}_{key}"].dtype and len(x) == 16
            np.testing.assert_array_equal(x[:n], sample[f"{side}_{key}"])
            if key != "ids":
                assert (x[n:] == 0).all()
    assert (p["track_ids"][nt:] == -2).all() and (p["det_ids"][nd:] == -1).all()
    assert p["track_features"].dtype == np.float32 and p["track_ids"].dtype == np.int32

    labels = A.association_labels(p["track_ids"], p["det_ids"], p["track_valid"], p["det_valid"])
    brute = np.zeros((16, 16), bool)
    for i in range(nt):
        for j in range(nd):
            brute[i, j] = (
                sample["det_ids"][j] >= 0 and sample["track_ids"][i] == sample["det_ids"][j]
            )
    np.testing.assert_array_equal(labels, brute)
    assert labels.sum() > 0 and labels.sum(0).max() == 1 and labels.sum(1).max() == 1
    with pytest.raises(ValueError, match="cannot pad"):
        A.pad_sample(sample, nt - 1, 16)


# --------------------------------------------------------------------------- scenes and batches


@pytest.fixture(scope="module")
def scene_data():
    config = SceneConfig(num_frames=20, num_objects=5)
    return config, A.labelled_scene(config, ColorHistogramExtractor())


def test_labelled_scene(scene_data):
    config, seq = scene_data
    scene = simulate(config)
    np.testing.assert_array_equal(seq.ids, scene.det_gt_ids)
    np.testing.assert_array_equal(seq.boxes, scene.detections.boxes)
    assert seq.features.shape == (len(seq), ColorHistogramExtractor.dim)
    np.testing.assert_allclose(np.linalg.norm(seq.features, axis=1), 1.0, atol=1e-5)
    gt = scene.gt
    for r in range(len(seq)):
        if seq.ids[r] < 0:
            assert seq.visibility[r] == 1.0
        else:
            row = np.flatnonzero((gt.frames == seq.frames[r]) & (gt.ids == seq.ids[r]))
            assert seq.visibility[r] == gt.visibility[row[0]]
    # Same person in consecutive frames looks closer than two different people.
    s = A.build_sample(seq, 10, np.random.default_rng(0), drop_p=0.0, jitter=0.0)
    sims = s["track_features"] @ s["det_features"].T
    same = s["track_ids"][:, None] == s["det_ids"][None, :]
    assert same.any() and sims[same].mean() > sims[~same].mean()


def test_labelled_sequence_with_extractor(tmp_path):
    config = SceneConfig(
        num_frames=20, num_objects=5, width=320, height=240, height_range=(40.0, 100.0)
    )
    sequence = read_sequence(generate_sequence(tmp_path, config, name="S"))
    extractor = ColorHistogramExtractor()
    seq = A.labelled_sequence_with_extractor(
        sequence, DetectorModel(), extractor, np.random.default_rng(0)
    )
    dets, ids, vis = A.detections_from_gt(sequence, DetectorModel(), np.random.default_rng(0))
    np.testing.assert_array_equal(seq.boxes, dets.boxes)
    np.testing.assert_array_equal(seq.ids, ids)
    rows = np.flatnonzero(seq.frames == 7)
    np.testing.assert_array_equal(seq.features[rows], extractor(sequence.frame(7), seq.boxes[rows]))
    assert seq.name == "S" and (np.linalg.norm(seq.features, axis=1) > 0.99).all()


def test_batches_are_deterministic_and_bucketed(scene_data):
    _, seq = scene_data
    sequences = [seq, _random_labelled(4, dim=seq.features.shape[1])]
    batches = A.AssociationBatches(sequences, batch_size=6, seed=3, buckets=(4, 8, 16, 32))
    a, b, c = batches.batch(5), batches.batch(5), batches.batch(6)
    assert list(a) == list(A.SAMPLE_KEYS)
    for k in A.SAMPLE_KEYS:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in A.SAMPLE_KEYS if a[k].shape == c[k].shape)
    other_seed = A.AssociationBatches(sequences, batch_size=6, seed=4, buckets=(4, 8, 16, 32))
    assert not np.array_equal(other_seed.batch(5)["track_t"], a["track_t"])
    for x in (a, c):
        n, m = x["track_ids"].shape[1], x["det_ids"].shape[1]
        assert n == bucket_size(x["track_valid"].sum(1).max(), (4, 8, 16, 32))
        assert m == bucket_size(x["det_valid"].sum(1).max(), (4, 8, 16, 32))
        assert x["track_features"].shape == (6, n, seq.features.shape[1])
        assert (x["track_ids"][~x["track_valid"]] == -2).all()
        assert (x["track_ids"][x["track_valid"]] >= 0).all()
        assert (x["det_boxes"][~x["det_valid"]] == 0).all()


def test_batch_equals_padded_samples():
    seq = _random_labelled(5)
    batches = A.AssociationBatches([seq], batch_size=5, seed=1, past_frames=5, drop_p=0.2)
    usable = A.usable_frames(seq, past_frames=5)
    assert batches.num_frames == len(usable)
    for step in range(3):
        rng = np.random.default_rng([1, step])
        frames = usable[rng.integers(0, len(usable), 5)]
        samples = [A.build_sample(seq, int(t), rng, past_frames=5, drop_p=0.2) for t in frames]
        x = batches.batch(step)
        n, m = x["track_ids"].shape[1], x["det_ids"].shape[1]
        for i, s in enumerate(samples):
            p = A.pad_sample(s, n, m)
            for k in A.SAMPLE_KEYS:
                np.testing.assert_array_equal(x[k][i], p[k], k)


def test_sequences_weighted_by_usable_frames():
    small = _random_labelled(6, num_frames=30)
    large = _random_labelled(7, num_frames=90)
    large = A.LabelledDetections(
        "large",
        large.frames,
        large.boxes,
        large.scores,
        np.where(large.ids >= 0, large.ids + 1000, -1),
        large.visibility,
        large.features,
    )
    batches = A.AssociationBatches([small, large], batch_size=50, seed=0)
    share = np.mean([(batches.batch(s)["track_ids"].max(1) >= 1000).mean() for s in range(20)])
    n_small, n_large = (len(A.usable_frames(s)) for s in (small, large))
    assert abs(share - n_large / (n_small + n_large)) < 0.05


def test_largest_bucket_caps_with_one_warning():
    seq = _random_labelled(8, num_ids=40)
    batches = A.AssociationBatches([seq], batch_size=4, buckets=(4, 8), drop_p=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = batches.batch(0)
        batches.batch(1)
    assert len([w for w in caught if "largest bucket" in str(w.message)]) == 1
    assert x["track_ids"].shape == (4, 8) and x["det_ids"].shape == (4, 8)
    assert x["track_valid"].all()
    # The kept tracks are the most recent ones.
    rng = np.random.default_rng([0, 0])
    frames = A.usable_frames(seq)[rng.integers(0, batches.num_frames, 4)]
    full = A.build_sample(seq, int(frames[0]), rng, drop_p=0.0)
    np.testing.assert_array_equal(x["track_ids"][0], full["track_ids"][:8])
    assert x["track_t"][0].min() >= np.sort(full["track_t"])[::-1][7]


def test_bad_options_fail_early():
    seq = _random_labelled(0)
    with pytest.raises(TypeError, match="unknown sample options"):
        A.AssociationBatches([seq], 2, past_frame=3)
    with pytest.raises(ValueError, match="feature dims"):
        A.AssociationBatches([seq, _random_labelled(1, dim=4)], 2)
    with pytest.raises(ValueError, match="shape"):
        A.LabelledDetections("bad", [1, 2], np.zeros((2, 4)), [1, 1], [1], [1, 1], np.zeros((2, 3)))


# ------------------------------------------------------ the exercise's sample construction


class _ScriptedRng:
    """Stands in for np.random.Generator: `random` returns the queued draws in order
    (one array per call), `uniform` zeros (no jitter)."""

    def __init__(self, *draws):
        self.draws = [np.asarray(d, np.float64) for d in draws]

    def random(self, n):
        d = self.draws.pop(0)
        assert d.shape == (n,), (d.shape, n)
        return d

    def uniform(self, lo, hi, shape):
        return np.zeros(shape)


def _hand_seq(rows):
    """rows: (frame, id, visibility); box x = 10 * frame + id so each row is recognisable."""
    frames, ids, vis = (np.array(c) for c in zip(*rows, strict=True))
    boxes = np.c_[10.0 * frames + ids, np.zeros(len(rows)), np.full((len(rows), 2), 20.0)]
    feats = np.eye(len(rows), dtype=np.float32)
    return A.LabelledDetections("hand", frames, boxes, np.ones(len(rows)), ids, vis, feats)


def _track_frames(sample):
    return dict(
        zip(sample["track_ids"].tolist(), sample["track_t"].astype(int).tolist(), strict=True)
    )


def test_visibility_filter_applies_to_past_frames():
    # id 1 visible at frame 2, occluded (0.1) at frame 4; id 2 only occluded (frame 3).
    seq = _hand_seq([(2, 1, 0.9), (3, 2, 0.1), (4, 1, 0.1), (5, 1, 0.9)])
    opts = {"drop_p": 0.0, "jitter": 0.0}
    s = A.build_sample(seq, 5, np.random.default_rng(0), **opts)
    assert _track_frames(s) == {1: 2}  # the older, visible appearance; id 2 not at all
    np.testing.assert_array_equal(s["track_boxes"][0], [21, 0, 20, 20])
    s = A.build_sample(seq, 5, np.random.default_rng(0), past_visibility=False, **opts)
    assert _track_frames(s) == {1: 4, 2: 3}  # the current frame alone is filtered
    # A frame whose only past box is occluded has no past track to learn from.
    seq = _hand_seq([(1, 1, 0.1), (2, 1, 0.9)])
    assert A.usable_frames(seq).tolist() == []
    assert A.usable_frames(seq, past_visibility=False).tolist() == [2]


def test_drop_removes_one_frames_box_so_an_older_appearance_stands_in():
    # id 1 at frames 1, 2, 3 with id 2 beside it at frame 3; current frame 4.
    seq = _hand_seq([(1, 1, 1.0), (2, 1, 1.0), (3, 1, 1.0), (3, 2, 1.0), (4, 1, 1.0)])
    # One draw per remaining row, in row order; < drop_p drops. Frame 3's box of id 1 goes.
    rng = _ScriptedRng([0.5, 0.5, 0.05, 0.5, 0.5])
    s = A.build_sample(seq, 4, rng, drop_p=0.1, jitter=0.0)
    assert _track_frames(s) == {1: 2, 2: 3}  # id 1 enters with its frame-2 appearance
    np.testing.assert_array_equal(s["track_features"][s["track_ids"] == 1], seq.features[[1]])
    assert s["det_ids"].tolist() == [1]
    # The former rule drops the identity, not the box: with the same draw on id 1's
    # merged track it disappears from the past.
    rng = _ScriptedRng([0.5, 0.05], [0.5])  # tracks (id 2, id 1), then the detection
    s = A.build_sample(seq, 4, rng, drop_p=0.1, jitter=0.0, drop="identity")
    assert _track_frames(s) == {2: 3}


def test_keep_at_least_one_box_per_frame():
    # Frame 3 has two boxes; both drawn below drop_p.
    seq = _hand_seq([(2, 1, 1.0), (3, 1, 1.0), (3, 2, 1.0), (4, 1, 1.0), (4, 2, 1.0)])
    draws = [0.5, 0.01, 0.02, 0.03, 0.04]  # frame 2 kept; frames 3 and 4 all dropped
    s = A.build_sample(seq, 4, _ScriptedRng(draws), drop_p=0.1, jitter=0.0)
    assert _track_frames(s) == {1: 3, 2: 3}  # the guard keeps frame 3 whole
    assert s["det_ids"].tolist() == [1, 2]  # and the current frame
    s = A.build_sample(seq, 4, _ScriptedRng(draws), drop_p=0.1, jitter=0.0, keep_one=False)
    assert _track_frames(s) == {1: 2} and len(s["det_ids"]) == 0


def test_past_window_is_21_frames():
    # id 1 last seen 21 frames before t (inactive 20 at t - 1: still kept by a tracker
    # with patience 20), id 2 22 frames before.
    t = 30
    seq = _hand_seq([(t - 22, 2, 1.0), (t - 21, 1, 1.0), (t, 1, 1.0)])
    opts = {"drop_p": 0.0, "jitter": 0.0}
    assert A.DEFAULT_PAST_FRAMES == 21
    assert _track_frames(A.build_sample(seq, t, np.random.default_rng(0), **opts)) == {1: t - 21}
    s = A.build_sample(seq, t, np.random.default_rng(0), past_frames=20, **opts)
    assert len(s["track_ids"]) == 0
    assert t in A.usable_frames(seq) and t not in A.usable_frames(seq, past_frames=20)


def test_drop_rate_per_frame_with_the_guard():
    # 50 frames of 4 boxes each: the kept fraction is 1 - p, plus the guard's frames.
    rows = [(f, i, 1.0) for f in range(1, 51) for i in range(1, 5)]
    seq = _hand_seq(rows)
    kept = total = 0
    for k in range(300):
        s = A.build_sample(seq, 50, np.random.default_rng(k), drop_p=0.5, jitter=0.0)
        kept += len(s["det_ids"])
        total += 4
    expected = 4 * (0.5 + 0.5**4) / 4  # mean kept per box: 1 - p, plus all 4 when none kept
    assert abs(kept / total - expected) < 0.03, kept / total


def test_bad_sample_options_are_one_clear_error():
    seq = _hand_seq([(1, 1, 1.0), (2, 1, 1.0)])
    with pytest.raises(ValueError, match="sample option drop must be one of"):
        A.build_sample(seq, 2, np.random.default_rng(0), drop="box")
    with pytest.raises(ValueError, match="sample option past_frames must be >= 1"):
        A.AssociationBatches([seq], batch_size=1, past_frames=0)
