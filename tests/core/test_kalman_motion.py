"""Motion models of the Kalman bank: BoT-SORT's xywh filter and camera-motion compensation,
against a plain float64 NumPy filter written from the formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.core import kalman, kalman_bank
from jaxmot.core.compiles import CompileCounter
from jaxmot.core.kalman_bank import KalmanBank, gating_distance, predicted_boxes_xyxy
from jaxmot.core.lifecycle import LifecycleConfig, TrackSet


class NumpyXYWH:
    """One track; state (cx, cy, w, h, vcx, vcy, vw, vh); std of x and w ~ w, of y and h ~ h."""

    F = np.eye(8) + np.eye(8, k=4)
    H = np.eye(4, 8)
    wp, wv = 1 / 20, 1 / 160

    @staticmethod
    def _scale(x):
        return np.array([x[2], x[3], x[2], x[3]])

    def initiate(self, z):
        s = self._scale(z)
        return np.r_[z, np.zeros(4)], np.diag(np.r_[2 * self.wp * s, 10 * self.wv * s] ** 2)

    def predict(self, x, p):
        s = self._scale(x)
        q = np.diag(np.r_[self.wp * s, self.wv * s] ** 2)
        return self.F @ x, self.F @ p @ self.F.T + q

    def innovation(self, x, p):
        r = np.diag((self.wp * self._scale(x)) ** 2)
        return self.H @ x, self.H @ p @ self.H.T + r

    def update(self, x, p, z):
        zp, s = self.innovation(x, p)
        k = p @ self.H.T @ np.linalg.inv(s)
        return x + k @ (z - zp), (np.eye(8) - k @ self.H) @ p

    def gating(self, x, p, z):
        zp, s = self.innovation(x, p)
        d = z - zp
        return d @ np.linalg.inv(s) @ d

    def warp(self, x, p, affine):
        t = np.kron(np.eye(4), affine[:, :2])
        x = t @ x
        x[:2] += affine[:, 2]
        return x, t @ p @ t.T


def _boxes(rng, n):  # (cx, cy, w, h)
    return np.stack(
        [rng.uniform(50, 600, n), rng.uniform(50, 400, n), rng.uniform(20, 90, n),
         rng.uniform(40, 250, n)], axis=1,
    )  # fmt: skip


def _affine(angle_deg=2.0, scale=1.03, shift=(7.0, -4.0)):
    a = np.deg2rad(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.concatenate([rot, np.array(shift)[:, None]], axis=1)


def _run_jax(z0, z1, z2, affine):
    m, c = kalman.initiate_xywh(z0)
    m, c = kalman.predict_xywh(m, c)
    m, c = kalman.warp_full(m, c, affine)
    m, c = kalman.update_xywh(m, c, z1)
    m, c = kalman.predict_xywh(m, c)
    m, c = kalman.update_xywh(m, c, z2)
    return kalman.predict_xywh(m, c)


@pytest.mark.parametrize("jit", [False, True])
def test_xywh_filter_matches_numpy(jit):
    rng = np.random.default_rng(0)
    z0, z1, z2 = (_boxes(rng, 5) for _ in range(3))
    affine = _affine()
    fn = jax.jit(_run_jax) if jit else _run_jax
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    mean, cov = fn(f32(z0), f32(z1), f32(z2), f32(affine))
    ref = NumpyXYWH()
    for i in range(5):
        x, p = ref.predict(*ref.initiate(z0[i]))
        x, p = ref.warp(x, p, affine)
        x, p = ref.predict(*ref.update(x, p, z1[i]))
        x, p = ref.predict(*ref.update(x, p, z2[i]))
        np.testing.assert_allclose(np.asarray(mean[i]), x, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(np.asarray(cov[i]), p, rtol=1e-3, atol=1e-3)


def test_xywh_gating_matches_numpy():
    rng = np.random.default_rng(1)
    z0, zs = _boxes(rng, 3), _boxes(rng, 6)
    zs[0] = z0[0] + [3.0, -2.0, 1.0, 2.0]  # one near the first track
    mean, cov = kalman.predict_xywh(*kalman.initiate_xywh(jnp.asarray(z0, jnp.float32)))
    got = np.asarray(jax.jit(kalman.gating_distance_xywh)(mean, cov, jnp.asarray(zs, jnp.float32)))
    ref = NumpyXYWH()
    for i in range(3):
        x, p = ref.predict(*ref.initiate(z0[i]))
        want = [ref.gating(x, p, z) for z in zs]
        np.testing.assert_allclose(got[i], want, rtol=1e-3)
    assert got[0, 0] < kalman.CHI2_95_4DOF


def test_model_box_helpers_and_measurements():
    boxes_xywh = np.array([[10.0, 20.0, 30.0, 60.0], [100.0, 50.0, 40.0, 80.0]], np.float32)
    xyxy = np.concatenate([boxes_xywh[:, :2], boxes_xywh[:, :2] + boxes_xywh[:, 2:]], 1)
    for motion in (kalman.XYAH, kalman.XYWH):
        mean, _ = motion.initiate(jnp.asarray(motion.measure(boxes_xywh)))
        np.testing.assert_allclose(np.asarray(predicted_boxes_xyxy(mean, motion)), xyxy, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(motion.boxes_xywh(mean)), boxes_xywh, rtol=1e-6)
        np.testing.assert_allclose(
            np.asarray(motion.measure_xyxy(jnp.asarray(xyxy))), motion.measure(boxes_xywh),
            rtol=1e-6,
        )  # fmt: skip
    # The gating helper works in each model's own space; padded (zero) rows stay finite.
    padded = jnp.asarray(np.concatenate([xyxy, np.zeros((2, 4), np.float32)]))
    for motion in (kalman.XYAH, kalman.XYWH):
        mean, cov = motion.initiate(jnp.asarray(motion.measure(boxes_xywh)))
        d = np.asarray(gating_distance(mean, cov, padded, motion))
        assert np.isfinite(d).all() and d[0, 0] < 1e-6 and d[1, 1] < 1e-6


def test_stop_size_zeroes_the_size_velocities_of_lost_tracks():
    mean = jnp.arange(16.0).reshape(2, 8) + 1
    lost = jnp.array([True, False])
    xywh = np.asarray(kalman.XYWH.stop_size(mean, lost))
    assert xywh[0, 6] == xywh[0, 7] == 0 and xywh[0, 4] == 5 and (xywh[1] == mean[1]).all()
    xyah = np.asarray(kalman.XYAH.stop_size(mean, lost))
    assert xyah[0, 7] == 0 and xyah[0, 6] == 7 and (xyah[1] == mean[1]).all()


def test_bank_with_xywh_model_and_warp_matches_numpy():
    """Slots initialised, predicted, warped, corrected through the bank's one jitted
    call per frame, against the reference; no compilation after the first frames."""
    rng = np.random.default_rng(2)
    bank = KalmanBank(motion="xywh")
    ref = NumpyXYWH()
    z = _boxes(rng, 3)
    tlwh = np.concatenate([z[:, :2] - z[:, 2:] / 2, z[:, 2:]], 1).astype(np.float32)
    slots = np.array([bank.allocate() for _ in range(3)])
    bank.correct(np.zeros(0, np.int64), np.zeros((0, 4)), slots, bank.motion.measure(tlwh))
    states = [ref.initiate(zi) for zi in z]
    counts = []
    for frame in range(6):
        affine = _affine(angle_deg=0.5 * frame, shift=(frame, -frame))
        with CompileCounter() as compiles:
            bank.predict(warp=affine)
        counts.append(compiles.count)
        states = [ref.warp(*ref.predict(x, p), affine) for x, p in states]
        np.testing.assert_allclose(
            np.asarray(bank.mean)[slots], [x for x, _ in states], rtol=1e-4, atol=1e-2
        )
        measured = z + rng.normal(0, 2, z.shape)
        tlwh = np.concatenate([measured[:, :2] - measured[:, 2:] / 2, measured[:, 2:]], 1)
        bank.correct(slots, bank.motion.measure(tlwh), np.zeros(0, np.int64), np.zeros((0, 4)))
        states = [ref.update(x, p, zi) for (x, p), zi in zip(states, measured, strict=True)]
    bank.flush()
    np.testing.assert_allclose(np.asarray(bank.mean)[slots], [x for x, _ in states], rtol=1e-4,
                               atol=1e-2)  # fmt: skip
    np.testing.assert_allclose(np.asarray(bank.cov)[slots], [p for _, p in states], rtol=2e-3,
                               atol=1e-2)  # fmt: skip
    want_boxes = [np.r_[x[:2] - x[2:4] / 2, x[2:4]] for x, _ in states]
    np.testing.assert_allclose(bank.boxes[slots], want_boxes, rtol=1e-4, atol=1e-2)
    assert counts[2:] == [0] * 4


def test_identity_warp_changes_nothing_and_xyah_refuses_warps():
    bank = KalmanBank(motion="xywh")
    slot = bank.allocate()
    bank.correct([], np.zeros((0, 4)), [slot], np.array([[50.0, 60.0, 20.0, 50.0]]))
    other = KalmanBank(motion="xywh")
    other.allocate()
    other.correct([], np.zeros((0, 4)), [slot], np.array([[50.0, 60.0, 20.0, 50.0]]))
    bank.predict(warp=np.eye(2, 3))
    other.predict()
    np.testing.assert_allclose(np.asarray(bank.mean), np.asarray(other.mean), atol=1e-6)
    np.testing.assert_allclose(np.asarray(bank.cov), np.asarray(other.cov), atol=1e-6)
    with pytest.raises(ValueError, match="xywh"):
        KalmanBank().predict(warp=np.eye(2, 3))
    with pytest.raises(ValueError, match=r"\[2, 3\]"):
        bank.predict(warp=np.eye(3))


def test_lifecycle_chooses_the_motion_model():
    assert TrackSet(LifecycleConfig()).bank.motion is kalman.XYAH
    assert TrackSet(LifecycleConfig(motion="xywh")).bank.cov.shape[1:] == (8, 8)
    with pytest.raises(ValueError, match="motion"):
        LifecycleConfig(motion="xyxy")
    with pytest.raises(ValueError, match="unknown motion model"):
        KalmanBank(motion="abc")


def test_unconfirmed_tracks_can_skip_the_motion_step():
    """predict_unconfirmed=False (ByteTrack/BoT-SORT): a NEW track keeps its state through
    the frame's motion step; confirmed ones are predicted."""
    from jaxmot.core.lifecycle import TrackState

    boxes = np.array([[100.0, 100.0, 40.0, 100.0], [300.0, 100.0, 40.0, 100.0]], np.float32)
    for skip in (False, True):
        cfg = LifecycleConfig(min_hits=2, birth_confirmed_frames=1,
                              predict_unconfirmed=not skip)  # fmt: skip
        tracks = TrackSet(cfg)
        tracks.predict()
        tracks.step(boxes[:1], np.ones(1), [], np.array([0]))  # frame 1: born confirmed
        tracks.predict()
        tracks.step(boxes, np.ones(2), [(tracks.tracks[0], 0)], np.array([1]))  # frame 2: NEW
        assert [t.state for t in tracks.tracks] == [TrackState.TRACKED, TrackState.NEW]
        tracks.bank.flush()
        before = np.asarray(tracks.bank.cov).copy()
        tracks.predict()
        after = np.asarray(tracks.bank.cov)
        new_slot, old_slot = tracks.tracks[1].slot, tracks.tracks[0].slot
        assert np.array_equal(after[new_slot], before[new_slot]) == skip
        assert not np.array_equal(after[old_slot], before[old_slot])


def test_duplicate_check_on_the_previous_frames_final_boxes():
    """duplicate_boxes="corrected": the overlap is measured before the motion step, so a
    lost track that moves on this frame still removes the younger track that sat on its
    box at the end of the previous frame."""
    results = {}
    for boxes in ("predicted", "corrected"):
        cfg = LifecycleConfig(min_hits=1, duplicate_iou=0.85, duplicate_boxes=boxes)
        tracks = TrackSet(cfg)
        box = np.array([[100.0, 100.0, 40.0, 100.0]], np.float32)
        for t in range(8):  # track 1 walks right at 10 px/frame
            tracks.predict()
            matches = [(tracks.tracks[0], 0)] if tracks.tracks else []
            tracks.step(box + [[10.0 * t, 0, 0, 0]], np.ones(1), matches,
                        np.array([] if matches else [0]))  # fmt: skip
        # Frame 9: track 1 is missed (lost); track 2 starts on its predicted box.
        tracks.predict()
        tracks.step(tracks.boxes(tracks.tracks[:1]), np.ones(1), [], np.array([0]))
        tracks.predict()  # frame 10: track 1 predicted on (IoU ~0.6 with track 2)
        results[boxes] = [t.track_id for t in tracks.tracks]
    assert results["corrected"] == [1]  # the younger track 2 was the duplicate
    assert results["predicted"] == [1, 2]


@pytest.mark.parametrize("motion", [kalman.XYAH, kalman.XYWH])
def test_position_gain_gives_the_updates_corrected_position(motion):
    """corrected_position(mean[:, :4], position_gain, z) is the first four entries of
    `update`'s mean: under jit and eager, and on NumPy copies on the host."""
    rng = np.random.default_rng(5)
    z0 = _boxes(rng, 6).astype(np.float32)
    tlwh = np.concatenate([z0[:, :2] - z0[:, 2:] / 2, z0[:, 2:]], 1)
    mean, cov = motion.predict(*motion.initiate(jnp.asarray(motion.measure(tlwh))))
    mean, cov = motion.predict(mean, cov)
    z = jnp.asarray(motion.measure(tlwh + rng.normal(0, 3, tlwh.shape).astype(np.float32)))
    want = np.asarray(motion.update(mean, cov, z)[0][:, :4])
    for gain_of in (motion.position_gain, jax.jit(motion.position_gain)):
        gain = gain_of(mean, cov)
        assert gain.shape == (6, 4, 4)
        got = kalman.corrected_position(mean[:, :4], gain, z)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-4)
        host = kalman.corrected_position(np.asarray(mean)[:, :4], np.asarray(gain), np.asarray(z))
        assert isinstance(host, np.ndarray)
        np.testing.assert_allclose(host, want, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("motion", ["xyah", "xywh"])
def test_corrected_boxes_on_the_host_equal_the_devices_correction(motion):
    """With report_gain, corrected_boxes applies the queued updates and
    initialisations to the asked slots on the host (untouched slots stay as predicted),
    equal to the device's correction, and the frame makes no second device call."""
    rng = np.random.default_rng(6)
    bank = KalmanBank(motion=motion, report_gain=True)
    z = _boxes(rng, 4).astype(np.float32)
    tlwh = np.concatenate([z[:, :2] - z[:, 2:] / 2, z[:, 2:]], 1)
    slots = np.array([bank.allocate() for _ in range(4)])
    bank.correct([], np.zeros((0, 4)), slots[:3], bank.motion.measure(tlwh[:3]))
    bank.predict()
    moved = tlwh + rng.normal(0, 3, tlwh.shape).astype(np.float32)
    # slots 0, 1 updated, slot 2 untouched, slot 3 born now
    bank.correct(
        slots[:2], bank.motion.measure(moved[:2]), slots[3:], bank.motion.measure(moved[3:])
    )
    predicted_slot2 = bank.boxes[slots[2]].copy()
    calls = []
    real = kalman_bank.apply_corrections
    kalman_bank.apply_corrections = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        host = bank.corrected_boxes(slots)
    finally:
        kalman_bank.apply_corrections = real
    assert calls == [] and host.dtype == np.float32
    np.testing.assert_allclose(host[2], predicted_slot2, rtol=1e-6)
    np.testing.assert_allclose(host[3], moved[3], rtol=1e-5)
    bank.flush()  # the same corrections, on the device
    np.testing.assert_allclose(host, bank.boxes[slots], rtol=1e-5, atol=1e-3)
    # After a flush the gains are stale: corrected_boxes reads the applied state.
    np.testing.assert_allclose(bank.corrected_boxes(slots), bank.boxes[slots])


def test_lost_overlap_is_the_best_iou_with_a_lost_slot_and_its_first_index():
    """For every live non-lost slot: the largest IoU with a live lost slot and the first
    slot reaching it (ties, as np.argmax), against NumPy; rows with no lost partner get
    0 at index 0."""
    from jaxmot.core.boxes import iou_matrix

    rng = np.random.default_rng(7)
    c = 64
    xy = rng.uniform(0, 300, (c, 2))
    xyxy = np.concatenate([xy, xy + rng.uniform(20, 60, (c, 2))], 1).astype(np.float32)
    xyxy[40:44] = xyxy[10]  # ties: several lost copies of one box
    alive, lost = rng.random(c) < 0.85, np.zeros(c, bool)
    lost[40:44] = lost[rng.random(c) < 0.3] = True
    alive[40:44] = alive[10] = True
    lost[10] = False
    iou = iou_matrix(xyxy.astype(np.float64), xyxy.astype(np.float64))
    iou = np.where((alive & ~lost)[:, None] & (alive & lost)[None, :], iou, 0.0)
    for fn in (kalman_bank._lost_overlap, jax.jit(kalman_bank._lost_overlap)):
        best, partner = (np.asarray(a) for a in fn(jnp.asarray(xyxy), alive, lost))
        np.testing.assert_allclose(best, iou.max(1), atol=1e-6)
        # the first slot within float32 rounding of the best
        near = np.abs(iou - best[:, None].astype(np.float64)) <= 1e-6
        assert (partner == near.argmax(1)).all()
    assert partner[10] == 40 and best[10] == pytest.approx(1.0)
