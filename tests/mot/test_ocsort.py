"""OC-SORT against plain NumPy statements of the reference's filter, ORU, OCM and OCR."""

from __future__ import annotations

import numpy as np
import pytest

from jaxmot.core import mot_io
from jaxmot.core.compiles import CompileCounter
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.synthetic import SceneConfig, simulate
from jaxmot.core.tracker import FrameDetections
from jaxmot.mot import ocsort
from jaxmot.mot.ocsort import OCSortConfig, OCSortTracker
from pipelines import track as track_program

# --- the reference's filter, written out in float64 (filterpy's KalmanFilter as OC-SORT
# configures it, with its freeze/unfreeze; KalmanBoxTracker's predict clamp) ---------
F = np.eye(7)
F[0, 4] = F[1, 5] = F[2, 6] = 1
H = np.eye(4, 7)
Q = np.eye(7)
Q[-1, -1] *= 0.01
Q[4:, 4:] *= 0.01
R = np.eye(4)
R[2:, 2:] *= 10
P0 = np.eye(7)
P0[4:, 4:] *= 1000
P0 *= 10


def z_of(box):
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w * h, w / (h + 1e-6)])


def np_predict(x, P):
    return F @ x, F @ P @ F.T + Q


def np_update(x, P, z):
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    x = x + K @ (z - H @ x)
    I_KH = np.eye(7) - K @ H
    return x, I_KH @ P @ I_KH.T + K @ R @ K.T


class RefTrack:
    """One OC-SORT track's filter: update(None) freezes at the first miss; the next
    real update restores the frozen state and re-updates along the virtual boxes."""

    def __init__(self, box):
        self.x = np.concatenate([z_of(box), np.zeros(3)])
        self.P = P0.copy()
        self.history, self.observed, self.saved = [], False, None

    def predict(self):
        if self.x[6] + self.x[2] <= 0:
            self.x[6] = 0.0
        self.x, self.P = np_predict(self.x, self.P)

    def update(self, box):
        z = None if box is None else z_of(box)
        self.history.append(z)
        if z is None:
            if self.observed:
                self.saved = (self.x.copy(), self.P.copy(), list(self.history))
            self.observed = False
            return
        if not self.observed and self.saved is not None:
            new_history = self.history
            self.x, self.P, self.history = self.saved
            self.history = self.history[:-1]
            self.saved = None
            seen = [i for i, h in enumerate(new_history) if h is not None]
            i1, i2 = seen[-2], seen[-1]
            (x1, y1, s1, r1), (x2, y2, s2, r2) = new_history[i1], new_history[i2]
            w1, h1, w2, h2 = np.sqrt(s1 * r1), np.sqrt(s1 / r1), np.sqrt(s2 * r2), np.sqrt(s2 / r2)
            gap = i2 - i1
            for i in range(gap):
                t = i + 1
                w, h = w1 + t * (w2 - w1) / gap, h1 + t * (h2 - h1) / gap
                virtual = [x1 + t * (x2 - x1) / gap, y1 + t * (y2 - y1) / gap, w * h, w / h]
                self.history.append(np.array(virtual))
                self.x, self.P = np_update(self.x, self.P, np.array(virtual))
                if i != gap - 1:
                    self.x, self.P = np_predict(self.x, self.P)
        self.observed = True
        self.x, self.P = np_update(self.x, self.P, z)


def _reachable_states(rng, n):
    """n (x, P) pairs the filter can reach: a start box, then random predicts/updates."""
    states = []
    for _ in range(n):
        box = np.array([100, 50, 140, 150]) + rng.normal(0, 5, 4)
        x, P = np.concatenate([z_of(box), np.zeros(3)]), P0.copy()
        for _ in range(rng.integers(0, 6)):
            x, P = np_predict(x, P)
            if rng.random() < 0.7:
                x, P = np_update(x, P, z_of(box + rng.normal(0, 3, 4)))
        states.append((x, P))
    return states


def _blocks(P):
    cov = np.zeros((3, 4), np.float32)
    cov[0] = np.diag(P)[:4]
    cov[1, :3] = [P[i, 4 + i] for i in range(3)]
    cov[2, :3] = np.diag(P)[4:]
    return cov


@pytest.mark.parametrize("jit", [False, True])
def test_kalman_predict_and_update_match_the_reference_filter(jit):
    import jax

    rng = np.random.default_rng(0)
    states = _reachable_states(rng, 6)
    x = np.stack([s[0] for s in states]).astype(np.float32)
    cov = np.stack([_blocks(s[1]) for s in states])
    for _, P in states:  # the block structure the filter relies on
        np.testing.assert_allclose(ocsort.full_covariance(_blocks(P)), P, rtol=1e-5)
    z = np.stack([z_of(np.array([100, 50, 140, 150]) + rng.normal(0, 4, 4)) for _ in states])
    predict = jax.jit(ocsort.kf_predict) if jit else ocsort.kf_predict
    update = jax.jit(ocsort.kf_update) if jit else ocsort.kf_update
    xp, cp = predict(x, cov)
    xu, cu = update(x, cov, z.astype(np.float32))
    for i, (x0, P) in enumerate(states):
        ref_x, ref_P = np_predict(x0, P)
        np.testing.assert_allclose(xp[i], ref_x, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(ocsort.full_covariance(cp[i]), ref_P, rtol=1e-5, atol=1e-4)
        ref_x, ref_P = np_update(x0, P, z[i])
        np.testing.assert_allclose(xu[i], ref_x, rtol=1e-5, atol=1e-2)
        np.testing.assert_allclose(ocsort.full_covariance(cu[i]), ref_P, rtol=1e-4, atol=1e-4)


def _box(t, speed=6.0):
    return np.array([100 + speed * t, 80, 140 + speed * t, 180], np.float64)


def _frame(*boxes, score=0.9):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return FrameDetections.from_xyxy(boxes, np.full(len(boxes), score, np.float32))


@pytest.mark.parametrize("gap", [2, 5])
def test_oru_re_updates_along_the_virtual_trajectory(gap):
    tracker = OCSortTracker(OCSortConfig(min_hits=1))
    ref = RefTrack(_box(0))
    frames = [_box(t) for t in range(8)] + [None] * gap + [_box(8 + gap)]
    for t, box in enumerate(frames):
        out = tracker.update(_frame() if box is None else _frame(box))
        if t > 0:
            ref.predict()
            ref.update(box)
    assert out.ids.tolist() == [1]  # re-associated after the gap
    x, P = tracker.track_states()[1]
    np.testing.assert_allclose(x, ref.x, rtol=1e-5, atol=2e-3)
    np.testing.assert_allclose(P, ref.P, rtol=1e-4, atol=1e-4)
    # and the re-update mattered: a plain update after the gap lands elsewhere
    plain = RefTrack(_box(0))
    for box in frames[1:]:
        plain.predict()
        plain.observed, plain.saved = True, None
        if box is not None:
            plain.x, plain.P = np_update(plain.x, plain.P, z_of(box))
    assert np.abs(plain.P - ref.P).max() > 1e-2


def test_previous_observation_and_ocm_cost_match_numpy():
    rng = np.random.default_rng(1)
    k, n_tracks, n_dets, inertia = 3, 7, 5, 0.2
    obs_age = np.full((n_tracks, k), ocsort._NO_AGE, np.int32)
    obs_box = np.full((n_tracks, k, 5), -1.0, np.float32)
    ages, observations = np.zeros(n_tracks, np.int32), []
    for i in range(n_tracks):  # random observation ages, the newest k kept in the ring
        ages[i] = rng.integers(1, 12)
        seen = sorted(rng.choice(ages[i], rng.integers(0, ages[i] + 1), replace=False).tolist())
        boxes = {a: np.concatenate([_box(a, 5 + i), [0.5 + 0.05 * i]]) for a in seen}
        observations.append(boxes)
        for j, a in enumerate(seen):
            obs_age[i, j % k], obs_box[i, j % k] = a, boxes[a]

    def k_previous_obs(obs, age):
        if not obs:
            return np.full(5, -1.0)
        for dt in range(k, 0, -1):
            if age - dt in obs:
                return obs[age - dt]
        return obs[max(obs)]

    previous = np.asarray(ocsort.previous_observation(obs_age, obs_box, ages, k))
    ref_prev = np.stack([k_previous_obs(o, a) for o, a in zip(observations, ages, strict=True)])
    np.testing.assert_allclose(previous, ref_prev, rtol=1e-6)

    angle = rng.uniform(-np.pi, np.pi, n_tracks)
    velocity = np.stack([np.sin(angle), np.cos(angle)], 1).astype(np.float32)  # (dy, dx)
    dets = np.stack([_box(0) + rng.normal(0, 30, 4) * [1, 1, 0, 0] for _ in range(n_dets)])
    dets[:, 2:] = dets[:, :2] + 40
    scores = rng.uniform(0.6, 1.0, n_dets)
    cost = np.asarray(ocsort.ocm_cost(velocity, previous, dets.astype(np.float32), scores, inertia))
    for i in range(n_tracks):
        for j in range(n_dets):
            if ref_prev[i, 4] < 0:
                expected = 0.0
            else:
                c_prev = (ref_prev[i, :2] + ref_prev[i, 2:4]) / 2
                c_det = (dets[j, :2] + dets[j, 2:]) / 2
                d = c_det - c_prev
                unit = d / (np.hypot(*d) + 1e-6)
                cos = np.clip(velocity[i, 1] * unit[0] + velocity[i, 0] * unit[1], -1, 1)
                expected = (np.pi / 2 - abs(np.arccos(cos))) / np.pi * inertia * scores[j]
            assert cost[i, j] == pytest.approx(expected, abs=1e-5)


def test_ocm_prefers_the_detection_along_the_track_direction():
    # Two equal-IoU candidates: the one in the direction the track moves wins.
    iou = np.array([[0.5], [0.5]])
    ocm = np.array([[0.08], [-0.08]])
    assert ocsort.associate_first(iou, ocm, 0.3).tolist() == [[0, 0]]
    assert ocsort.associate_first(iou, -ocm, 0.3).tolist() == [[1, 0]]
    # Unambiguous pairs are taken directly (the reference's shortcut), below 0.3 dropped.
    iou = np.array([[0.9, 0.0], [0.0, 0.2]])
    assert ocsort.associate_first(iou, np.zeros_like(iou), 0.3).tolist() == [[0, 0]]


def test_ocr_recovers_a_track_whose_prediction_drifted():
    tracker = OCSortTracker(OCSortConfig(min_hits=1))
    speed = 12.0
    for t in range(10):  # fast to the right: the filter learns the speed
        tracker.update(_frame(_box(t, speed)))
    for _ in range(2):  # missed while it stops
        tracker.update(_frame())
    stopped = _box(9, speed)  # found again where it was last seen
    x, _ = tracker.track_states()[1]
    predicted = x[:4] + np.r_[x[4:7], 0]  # where the first stage looks for it
    w = np.sqrt(predicted[2] * predicted[3])
    h = predicted[2] / w
    drifted = np.r_[predicted[:2] - [w / 2, h / 2], predicted[:2] + [w / 2, h / 2]]
    from jaxmot.core.boxes import iou_matrix

    assert iou_matrix(drifted[None], stopped[None])[0, 0] < 0.3  # stage one cannot match
    out = tracker.update(_frame(stopped))
    assert out.ids.tolist() == [1]  # OCR: matched to its last observation


def test_min_hits_rule_and_reported_box():
    tracker = OCSortTracker()  # min_hits 3
    reported = []
    boxes = [_box(t) for t in range(12)]
    for t, box in enumerate(boxes):
        far = np.array([400.0, 300, 440, 400]) if t >= 4 else None  # born at frame 5
        frame = [box] if t != 7 else []  # the first object missed at frame 8
        frame += [far] if far is not None else []
        out = tracker.update(_frame(*frame))
        reported.append(sorted(out.ids.tolist()))
    # frames 1-3: reported at once (frame <= min_hits); the newcomer after 3 more
    # matches; after the miss, object 1 needs a new streak of 3
    assert reported[:4] == [[1], [1], [1], [1]]
    assert reported[4:7] == [[1], [1], [1]]
    assert reported[7:11] == [[2], [2], [2], [1, 2]]
    np.testing.assert_allclose(out.boxes_xyxy[0], boxes[-1], atol=1e-3)  # the detection


def _scene_frames(num_frames=60, seed=3):
    scene = simulate(SceneConfig(num_frames=num_frames, render=False, seed=seed))
    d = scene.detections
    rows = (d.for_frame(t) for t in range(1, num_frames + 1))
    return scene, [FrameDetections(d.boxes[r], d.scores[r]) for r in rows]


@pytest.mark.parametrize(
    "config", [OCSortConfig(), OCSortConfig(use_byte=True, report_box="kalman")]
)
def test_no_compilation_after_warmup(config):
    _, frames = _scene_frames()
    tracker = OCSortTracker(config)
    first = [tracker.update(f) for f in frames]
    tracker.reset()
    with CompileCounter() as compiles:
        second = [tracker.update(f) for f in frames]
    assert compiles.count == 0
    assert sum(len(o) for o in first) > 100
    for a, b in zip(first, second, strict=True):  # reset: the same run again
        assert a.ids.tolist() == b.ids.tolist()


def test_classes_keep_ids_apart():
    tracker = OCSortTracker(OCSortConfig(min_hits=1))
    for t in range(5):
        out = tracker.update(
            boxes=[_box(t), _box(t) + [0, 200, 0, 200]], scores=[0.9, 0.9], classes=[0, 1]
        )
    assert sorted(out.ids.tolist()) == [1, 2] and sorted(out.classes.tolist()) == [0, 1]


def test_track_program_runs_ocsort_on_a_generated_sequence(tmp_path):
    scene = simulate(SceneConfig(num_frames=80, render=False, seed=5))
    seq = tmp_path / "SYN-01"
    (seq / "det").mkdir(parents=True)
    (seq / "gt").mkdir()
    mot_io.write_seqinfo(seq, mot_io.SequenceInfo("SYN-01", None, 30.0, 80, 640, 480))
    mot_io.write_detections(seq / "det" / "det.txt", scene.detections)
    mot_io.write_gt(seq / "gt" / "gt.txt", scene.gt)
    out = tmp_path / "res" / "SYN-01.txt"
    argv = ["--sequence", str(seq), "--tracker", "ocsort", "--output", str(out), "--no-progress"]
    assert track_program.main(argv) == 0
    m = evaluate({"SYN-01": (scene.gt, mot_io.read_results(out))})["OVERALL"]
    assert m["MOTA"] > 0.3 and m["IDF1"] > 0.4, m
