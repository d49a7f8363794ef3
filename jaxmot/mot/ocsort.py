"""OC-SORT: SORT's Kalman filter made observation-centric (Cao et al., CVPR 2023).

As the reference (noahcao/OC_SORT, trackers/ocsort_tracker/ocsort.py, kalmanfilter.py,
association.py):

* Motion: SORT's filter on z = [x, y, s, r] (centre, area, aspect w/h), state
  [x, y, s, r, vx, vy, vs], constant velocity; R[2:, 2:] *= 10, P0[4:, 4:] *= 1000,
  P0 *= 10, Q[-1, -1] *= 0.01, Q[4:, 4:] *= 0.01; a predicted area velocity that would
  make the area <= 0 is zeroed first.
* ORU (observation-centric re-update): when a track that missed frames is matched
  again, its state is rolled back to the prediction saved at its first missed frame
  ("freeze") and re-filtered along a virtual trajectory interpolated linearly (centre,
  width, height) from its last observation to the new one ("unfreeze"); then the new
  observation updates it once more, as the reference does.
* OCM (observation-centric momentum): the first association maximises IoU(prediction,
  detection) + inertia * score * (pi/2 - angle) / pi, where the angle lies between the
  track's direction (from observations delta_t frames apart) and the direction from
  its observation delta_t frames back to the detection. When every detection and track
  has at most one IoU above the threshold, those pairs are taken directly.
* OCR (observation-centric recovery): unmatched detections are matched to the
  unmatched tracks' last observations by IoU.
* BYTE (`use_byte`, off by default as in OC-SORT): detections scoring in
  (low_score, det_thresh) may extend unmatched tracks, by IoU with their prediction.

Lifecycle (OC-SORT's, not the shared `TrackSet`'s, whose NEW/TRACKED/LOST states differ:
there an unconfirmed track dies at its first miss and a re-found track is reported at
once): every track takes part in every association; `hit_streak` counts consecutive
matches and restarts after a miss; a track is reported in a frame where it was matched
(or born) while hit_streak >= min_hits or frame <= min_hits, with its last observation's
box (the reference: "we didn't notice significant difference" to the Kalman box;
`report_box="kalman"` gives the corrected state instead); a track unmatched for more
than max_age frames (a frame count, at any frame rate) is removed. Track ids come from
the shared counter (`TrackIds`), so per-class copies never reuse an id.

Device work: one jitted call per frame (`_frame_step`) applies the previous frame's
corrections (Kalman updates with ORU replays, freezes, new tracks), predicts every live
slot and returns all cost matrices (IoU to the predictions, the OCM term, IoU to the last
observations, IoU of low-score detections). Slots and detections are padded to
power-of-two buckets. The Hungarian runs on the host (`linear_assignment`, unconstrained
like the reference's lapjv, then filtered by IoU).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core.assignment import linear_assignment
from jaxmot.core.lifecycle import LifecycleConfig
from jaxmot.core.padding import bucket_size, pad_rows
from jaxmot.core.tracker import FrameDetections, FrameTracks, OnlineTracker

REPORT_BOXES = ("observation", "kalman")


@dataclasses.dataclass(frozen=True)
class OCSortConfig:
    """OC-SORT's defaults (utils/args.py and the OCSort class of noahcao/OC_SORT).
    boxmot 25's OcSort class differs in det_thresh (0.3; its ocsort.yaml: 0.6) and its
    yaml in inertia (0.1); docs/mot.md has the comparison."""

    det_thresh: float = 0.6  # --track_thresh: detections scoring above it are associated
    max_age: int = 30  # frames a track may go unmatched (a frame count at any frame rate)
    min_hits: int = 3  # consecutive matches before a track is reported
    iou_threshold: float = 0.3  # every stage (first, BYTE, OCR)
    delta_t: int = 3  # frames between the observations that give a track's direction
    inertia: float = 0.2  # weight of the OCM angle term
    use_byte: bool = False  # BYTE's second stage on low-score detections
    low_score: float = 0.1  # BYTE's floor: detections scoring in (low_score, det_thresh)
    report_box: str = "observation"  # "observation" (the reference) or "kalman"

    def __post_init__(self):
        if not 0 < self.iou_threshold <= 1:
            raise ValueError(
                f"OCSortConfig.iou_threshold must be in (0, 1], got {self.iou_threshold}"
            )
        if self.max_age < 0 or self.min_hits < 0 or self.delta_t < 1:
            raise ValueError(
                f"OCSortConfig needs max_age >= 0, min_hits >= 0, delta_t >= 1, got "
                f"{self.max_age}, {self.min_hits}, {self.delta_t}"
            )
        if self.report_box not in REPORT_BOXES:
            raise ValueError(
                f"OCSortConfig.report_box must be one of {REPORT_BOXES}, got {self.report_box!r}"
            )


# --- SORT's xysr filter with OC-SORT's noise (KalmanBoxTracker.__init__) -------------
# F couples each of x, y, s only with its own velocity, and Q, R, P0 are diagonal, so P
# stays block diagonal: per coordinate (x, y, s, r) the variance a of the value, its
# covariance b with the velocity and the velocity's variance c (b = c = 0 for r, which
# has no velocity). The filter runs on these [.., 3, 4] blocks, elementwise; the same
# numbers as filterpy's 7x7 matrices (`full_covariance` gives them back).
Q_VALUE = np.float32([1, 1, 1, 1])  # Q[:4, :4] = I
Q_VELOCITY = np.float32([0.01, 0.01, 0.0001, 0])  # Q[4:, 4:] *= 0.01; Q[-1, -1] *= 0.01
R = np.float32([1, 1, 10, 10])  # diag(R): R[2:, 2:] *= 10
P0 = np.float32([[10, 10, 10, 10], [0, 0, 0, 0], [1e4, 1e4, 1e4, 0]])  # P[4:] *= 1000; P *= 10
_EMPTY_STATE = np.array([0, 0, 1, 1, 0, 0, 0], np.float32)  # a unit box: padding stays finite
_NO_AGE = -(2**30)  # an empty entry of the observation ring


def full_covariance(cov) -> np.ndarray:
    """[..., 3, 4] blocks (a, b, c per x, y, s, r) -> [..., 7, 7] P (NumPy)."""
    cov = np.asarray(cov)
    P = np.zeros(cov.shape[:-2] + (7, 7), cov.dtype)
    for i in range(4):
        P[..., i, i] = cov[..., 0, i]
    for i in range(3):
        P[..., i, 4 + i] = P[..., 4 + i, i] = cov[..., 1, i]
        P[..., 4 + i, 4 + i] = cov[..., 2, i]
    return P


def kf_predict(x, cov):
    """x [..., 7] (x, y, s, r, vx, vy, vs), cov [..., 3, 4] -> F x, F P F^T + Q."""
    a, b, c = cov[..., 0, :], cov[..., 1, :], cov[..., 2, :]
    x = jnp.concatenate([x[..., :3] + x[..., 4:], x[..., 3:]], -1)
    return x, jnp.stack([a + 2 * b + c + Q_VALUE, b + c, c + Q_VELOCITY], -2)


def kf_update(x, cov, z):
    """Kalman update with H = [I4 0] and the Joseph form of P, as filterpy, per block.
    x [..., 7], cov [..., 3, 4], z [..., 4]."""
    a, b, c = cov[..., 0, :], cov[..., 1, :], cov[..., 2, :]
    S = a + R  # the innovation covariance is diagonal
    kp, kv = a / S, b / S  # gain on the value and on its velocity
    y = z - x[..., :4]
    x = jnp.concatenate([x[..., :4] + kp * y, x[..., 4:] + (kv * y)[..., :3]], -1)
    a2 = (1 - kp) ** 2 * a + kp**2 * R
    b2 = (1 - kp) * (b - kv * a) + kp * kv * R
    c2 = kv**2 * a - 2 * kv * b + c + kv**2 * R
    return x, jnp.stack([a2, b2, c2], -2)


def xyxy_to_z(boxes):
    """[..., 4] xyxy -> [..., 4] (cx, cy, area, w / (h + 1e-6)), the reference's z.
    NumPy or JAX arrays."""
    xp = box_ops.array_namespace(boxes)
    w = boxes[..., 2] - boxes[..., 0]
    h = boxes[..., 3] - boxes[..., 1]
    return xp.stack([boxes[..., 0] + w / 2, boxes[..., 1] + h / 2, w * h, w / (h + 1e-6)], -1)


def state_to_xyxy(x):
    """[..., >=4] (cx, cy, s, r, ...) -> [..., 4] xyxy (w = sqrt(s r), h = s / w), the
    reference's convert_x_to_bbox. NumPy or JAX arrays."""
    xp = box_ops.array_namespace(x)
    w = xp.sqrt(x[..., 2] * x[..., 3])
    h = x[..., 2] / w
    cx, cy = x[..., 0], x[..., 1]
    return xp.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def _interpolated_z(z1, z2, step, gap):
    """The reference's virtual observation `step` (1..gap) frames after z1 on the way to
    z2: centre, width and height linear in time. z1, z2 [C, 4]; step, gap [C]."""
    w1, h1 = jnp.sqrt(z1[:, 2] * z1[:, 3]), jnp.sqrt(z1[:, 2] / z1[:, 3])
    w2, h2 = jnp.sqrt(z2[:, 2] * z2[:, 3]), jnp.sqrt(z2[:, 2] / z2[:, 3])
    x = z1[:, 0] + step * ((z2[:, 0] - z1[:, 0]) / gap)
    y = z1[:, 1] + step * ((z2[:, 1] - z1[:, 1]) / gap)
    w = w1 + step * ((w2 - w1) / gap)
    h = h1 + step * ((h2 - h1) / gap)
    return jnp.stack([x, y, w * h, w / h], -1)


def apply_corrections(state, pending):
    """The previous frame's decisions, in the reference's order within a track.

    state: x [C, 7], cov [C, 3, 4], and the frozen x, cov (saved at a track's first
    miss). pending: freeze, update, oru, init [C] bool; gap [C] int (frames from the last
    observation to the new one, for ORU); z_xyxy [C, 4] the new observation (or the new
    track's box); prev_xyxy [C, 4] the last observation before the gap.

    ORU (the reference's unfreeze): back to the frozen prediction, then update on the
    virtual boxes 1..gap (the last one is the new observation itself) with a predict
    between two, then the ordinary update on the new observation. Step j of one loop
    does virtual update j of every re-found track; the ordinary update of every matched
    track follows the loop, so a frame without a re-found track runs no loop step.
    """
    x, cov, saved_x, saved_cov = state
    freeze, update, oru, init = (pending[k] for k in ("freeze", "update", "oru", "init"))
    saved_x = jnp.where(freeze[:, None], x, saved_x)
    saved_cov = jnp.where(freeze[:, None, None], cov, saved_cov)
    z = xyxy_to_z(pending["z_xyxy"])
    z_prev = xyxy_to_z(pending["prev_xyxy"])
    gap = jnp.where(oru, pending["gap"], 0)  # virtual updates before the real one
    gap_f = jnp.maximum(gap, 1).astype(x.dtype)
    x = jnp.where(oru[:, None], saved_x, x)
    cov = jnp.where(oru[:, None, None], saved_cov, cov)

    def virtual_step(j, carry):
        xs, cs = carry
        xu, cu = kf_update(xs, cs, _interpolated_z(z_prev, z, j + 1.0, gap_f))
        xp, cp = kf_predict(xu, cu)
        then_predict = j + 1 < gap
        xn = jnp.where(then_predict[:, None], xp, xu)
        cn = jnp.where(then_predict[:, None, None], cp, cu)
        active = update & (j < gap)
        return jnp.where(active[:, None], xn, xs), jnp.where(active[:, None, None], cn, cs)

    x, cov = jax.lax.fori_loop(0, jnp.max(gap, initial=0), virtual_step, (x, cov))
    xu, cu = kf_update(x, cov, z)  # the new observation
    x = jnp.where(update[:, None], xu, x)
    cov = jnp.where(update[:, None, None], cu, cov)
    x_init = jnp.concatenate([z, jnp.zeros_like(z[:, :3])], -1)
    x = jnp.where(init[:, None], x_init, x)
    cov = jnp.where(init[:, None, None], P0, cov)
    return x, cov, saved_x, saved_cov


def previous_observation(obs_age, obs_box, age, delta_t):
    """The reference's k_previous_obs: the oldest observation of the last delta_t
    frames, else the newest one, else [-1] * 5.

    obs_age [C, K] int (ages of the K newest observations, `_NO_AGE` where empty),
    obs_box [C, K, 5] xyxy + score, age [C] the track's age this frame. Returns [C, 5].
    """
    valid = obs_age > _NO_AGE
    window = valid & (obs_age >= age[:, None] - delta_t)
    oldest_in_window = jnp.argmin(jnp.where(window, obs_age, jnp.iinfo(jnp.int32).max), axis=1)
    newest = jnp.argmax(jnp.where(valid, obs_age, _NO_AGE), axis=1)
    pick = jnp.where(window.any(axis=1), oldest_in_window, newest)
    box = jnp.take_along_axis(obs_box, pick[:, None, None], axis=1)[:, 0]
    return jnp.where(valid.any(axis=1)[:, None], box, -1.0)


def ocm_cost(velocity, previous, det_xyxy, det_scores, inertia):
    """[C, B] OCM term inertia * score * (pi/2 - angle) / pi (0 for tracks without an
    observation). velocity [C, 2] (dy, dx) unit; previous [C, 5] from
    `previous_observation`; det_xyxy [B, 4]; det_scores [B]."""
    pcx = (previous[:, 0] + previous[:, 2]) / 2
    pcy = (previous[:, 1] + previous[:, 3]) / 2
    dx = (det_xyxy[:, 0] + det_xyxy[:, 2])[None, :] / 2 - pcx[:, None]
    dy = (det_xyxy[:, 1] + det_xyxy[:, 3])[None, :] / 2 - pcy[:, None]
    norm = jnp.sqrt(dx**2 + dy**2) + 1e-6
    cos = velocity[:, 1:2] * (dx / norm) + velocity[:, 0:1] * (dy / norm)
    angle = jnp.arccos(jnp.clip(cos, -1.0, 1.0))
    valid = (previous[:, 4] >= 0)[:, None]
    return jnp.where(valid, (jnp.pi / 2 - jnp.abs(angle)) / jnp.pi, 0.0) * inertia * det_scores


@functools.partial(jax.jit, static_argnames=("with_low",))
def _frame_step(state, pending, tracks, high, low, inertia, delta_t, *, with_low):
    """Corrections, motion step and every cost of one frame (module doc).

    tracks: alive, has_obs [C] bool; age [C] int32; velocity [C, 2]; last_xyxy [C, 4];
    obs_age [C, K]; obs_box [C, K, 5]. high: [B, 5] xyxy + score (padded rows zero);
    low: [BL, 4] xyxy or None. Returns the new state and a dict of [C, B] `iou`, `ocm`,
    `recovery_iou`, [C, BL] `low_iou` (or None), [C, 5] `previous`, [C] `finite`.
    """
    x, cov, saved_x, saved_cov = apply_corrections(state, pending)
    alive = tracks["alive"]
    # KalmanBoxTracker.predict: an area velocity that would make the area <= 0 is zeroed.
    x = x.at[:, 6].set(jnp.where(x[:, 6] + x[:, 2] <= 0, 0.0, x[:, 6]))
    xp, cp = kf_predict(x, cov)
    x = jnp.where(alive[:, None], xp, x)
    cov = jnp.where(alive[:, None, None], cp, cov)
    predicted = state_to_xyxy(x)
    previous = previous_observation(tracks["obs_age"], tracks["obs_box"], tracks["age"], delta_t)
    last = jnp.where(tracks["has_obs"][:, None], tracks["last_xyxy"], 0.0)
    out = {
        "iou": box_ops.iou_matrix(predicted, high[:, :4]),
        "ocm": ocm_cost(tracks["velocity"], previous, high[:, :4], high[:, 4], inertia),
        "recovery_iou": box_ops.iou_matrix(last, high[:, :4]),
        "low_iou": box_ops.iou_matrix(predicted, low) if with_low else None,
        "previous": previous,
        "finite": jnp.isfinite(predicted).all(axis=1),
    }
    return (x, cov, saved_x, saved_cov), out


_flush = jax.jit(apply_corrections)


def _full_assignment(similarity: np.ndarray) -> np.ndarray:
    """[K, 2] (row, col): the assignment of min(N, M) pairs maximising the total
    similarity, with no threshold (the reference's lapjv on -similarity)."""
    cost = -np.asarray(similarity, np.float64)
    pairs, _, _ = linear_assignment(cost, float(cost.max()) + 1.0)  # every pair admissible
    return pairs


def associate_first(iou: np.ndarray, ocm: np.ndarray, threshold: float) -> np.ndarray:
    """The reference's `associate` on [D, T] IoU and OCM terms (detections x tracks):
    the unambiguous pairs directly, else the Hungarian on IoU + OCM; pairs with
    IoU < threshold are dropped. Returns [K, 2] (detection, track)."""
    if min(iou.shape) == 0:
        return np.zeros((0, 2), np.int64)
    above = iou > threshold
    if above.sum(1).max() == 1 and above.sum(0).max() == 1:
        pairs = np.argwhere(above)
    else:
        pairs = _full_assignment(iou + ocm)
    return pairs[iou[pairs[:, 0], pairs[:, 1]] >= threshold]


def associate_iou(iou: np.ndarray, threshold: float) -> np.ndarray:
    """The BYTE and OCR stages: Hungarian on IoU when any pair exceeds the threshold,
    pairs with IoU < threshold dropped. [D, T] -> [K, 2] (detection, track)."""
    if min(iou.shape) == 0 or not iou.max() > threshold:
        return np.zeros((0, 2), np.int64)
    pairs = _full_assignment(iou)
    return pairs[iou[pairs[:, 0], pairs[:, 1]] >= threshold]


class OCSortTracker(OnlineTracker):
    """OC-SORT (module doc). `update` takes all detections; those scoring above
    `det_thresh` are associated (and BYTE's low band with `use_byte`)."""

    def __init__(self, config: OCSortConfig = OCSortConfig(), frame_rate: float = 30.0):
        self.config = config
        # Only the id counter and frame count of the shared lifecycle are used (module doc).
        lifecycle = LifecycleConfig(
            min_hits=max(config.min_hits, 1), max_lost=config.max_age, scale_with_frame_rate=False
        )
        super().__init__(lifecycle, frame_rate)

    def reset(self) -> None:
        super().reset()
        self._capacity = 0
        k = self.config.delta_t
        # Host slot table (capacity C, grown by buckets): OC-SORT's per-track counters;
        # tsu = time_since_update, streak = hit_streak, ring = observations written.
        counters = ("id", "age", "tsu", "hits", "streak", "last_frame", "ring")
        self._int = {n: np.zeros(0, np.int64) for n in counters}
        self._bool = {n: np.zeros(0, bool) for n in ("alive", "observed", "frozen", "has_obs")}
        self._box = np.zeros((0, 4), np.float32)  # box of the latest detection taken
        self._score = np.zeros(0, np.float32)
        self._det = np.zeros(0, np.int64)  # detection index taken this frame
        self._velocity = np.zeros((0, 2), np.float32)
        self._obs_age = np.zeros((0, k), np.int32)
        self._obs_box = np.zeros((0, k, 5), np.float32)
        self._state = (np.zeros((0, 7), np.float32), np.zeros((0, 3, 4), np.float32)) * 2
        self._clear_pending(0)
        self._grow(bucket_size(0))

    # -- slots ------------------------------------------------------------------------
    def _clear_pending(self, capacity: int) -> None:
        self._pending = {
            **{n: np.zeros(capacity, bool) for n in ("freeze", "update", "oru", "init")},
            "gap": np.zeros(capacity, np.int32),
            "z_xyxy": np.zeros((capacity, 4), np.float32),
            "prev_xyxy": np.tile(np.float32([0, 0, 1, 1]), (capacity, 1)),
        }

    def _grow(self, capacity: int) -> None:
        n = capacity - self._capacity
        if n <= 0:
            return

        def pad(a, fill=0):
            return np.concatenate([a, np.full((n,) + a.shape[1:], fill, a.dtype)])

        for table in (self._int, self._bool):  # in place: callers hold these dicts
            for key, value in table.items():
                table[key] = pad(value)
        self._box, self._score, self._det = pad(self._box), pad(self._score), pad(self._det)
        self._velocity, self._obs_box = pad(self._velocity), pad(self._obs_box)
        self._obs_age = pad(self._obs_age, _NO_AGE)
        empty = (np.tile(_EMPTY_STATE, (n, 1)), np.tile(P0, (n, 1, 1))) * 2
        self._state = tuple(
            np.concatenate([np.asarray(a), e]) for a, e in zip(self._state, empty, strict=True)
        )
        pending = self._pending
        self._clear_pending(capacity)
        for key, value in pending.items():
            self._pending[key][: len(value)] = value
        self._capacity = capacity

    def _allocate(self, count: int) -> np.ndarray:
        free = np.flatnonzero(~self._bool["alive"])
        if len(free) < count:
            self._grow(bucket_size(self._capacity + count - len(free)))
            free = np.flatnonzero(~self._bool["alive"])
        return free[:count]

    # -- one frame --------------------------------------------------------------------
    def _associate(self, detections: FrameDetections):
        raise NotImplementedError("OCSortTracker associates and manages tracks in _update_one")

    def _update_one(self, detections: FrameDetections) -> FrameTracks:
        cfg = self.config
        self.tracks.frame += 1
        frame = self.tracks.frame  # OC-SORT's frame_count (per-class copies: the global one)
        xyxy = box_ops.xywh_to_xyxy(detections.boxes).astype(np.float32)
        scores = detections.scores
        high = np.flatnonzero(scores > cfg.det_thresh)
        low = np.zeros(0, np.int64)
        if cfg.use_byte:
            low = np.flatnonzero((scores > cfg.low_score) & (scores < cfg.det_thresh))

        ints, bools = self._int, self._bool
        alive = bools["alive"]
        # KalmanBoxTracker.predict: age, streak broken by last frame's miss, frames unmatched.
        ints["age"][alive] += 1
        ints["streak"][alive & (ints["tsu"] > 0)] = 0
        ints["tsu"][alive] += 1
        out = self._step(xyxy, scores, high, low)
        bad = alive & ~out["finite"]  # the reference drops tracks whose prediction is NaN
        bools["alive"][bad] = False
        alive = bools["alive"]

        live = np.flatnonzero(alive)
        live = live[np.argsort(ints["id"][live], kind="stable")]  # the reference's list order
        nh = len(high)
        first = associate_first(out["iou"][live, :nh].T, out["ocm"][live, :nh].T, cfg.iou_threshold)
        matched_slots = [live[first[:, 1]]]
        matched_dets = [high[first[:, 0]]]
        free_dets = np.setdiff1d(np.arange(nh), first[:, 0])
        free_trks = np.setdiff1d(np.arange(len(live)), first[:, 1])
        if len(low) and len(free_trks):
            pairs = associate_iou(out["low_iou"][live[free_trks], : len(low)].T, cfg.iou_threshold)
            matched_slots.append(live[free_trks[pairs[:, 1]]])
            matched_dets.append(low[pairs[:, 0]])
            free_trks = np.delete(free_trks, pairs[:, 1])
        if len(free_dets) and len(free_trks):
            pairs = associate_iou(
                out["recovery_iou"][live[free_trks]][:, free_dets].T, cfg.iou_threshold
            )
            matched_slots.append(live[free_trks[pairs[:, 1]]])
            matched_dets.append(high[free_dets[pairs[:, 0]]])
            free_dets = np.delete(free_dets, pairs[:, 0])
            free_trks = np.delete(free_trks, pairs[:, 1])
        slots = np.concatenate(matched_slots).astype(np.int64)
        dets = np.concatenate(matched_dets).astype(np.int64)
        self._observe(slots, dets, xyxy, scores, out["previous"], frame)
        self._miss(live[free_trks])
        self._start(high[free_dets], xyxy, scores)

        report = bools["alive"] & (ints["tsu"] < 1)
        report &= (ints["streak"] >= cfg.min_hits) | (frame <= cfg.min_hits)
        shown = np.flatnonzero(report)
        shown = shown[np.argsort(ints["id"][shown], kind="stable")]
        if cfg.report_box == "kalman":
            self._flush_pending()
            boxes = state_to_xyxy(np.asarray(self._state[0])[shown]).reshape(-1, 4)
        else:
            boxes = self._box[shown]
        bools["alive"] &= ints["tsu"] <= cfg.max_age  # remove dead tracklets
        return FrameTracks(
            ids=ints["id"][shown].copy(),
            boxes=box_ops.xyxy_to_xywh(boxes).astype(np.float32),
            scores=self._score[shown].copy(),
            detection_index=self._det[shown].copy(),
            classes=np.full(len(shown), -1, np.int64),
        )

    def _step(self, xyxy, scores, high, low) -> dict:
        """The frame's jitted call; consumes the pending corrections."""
        cfg, bools = self.config, self._bool
        tracks = {
            "alive": bools["alive"],
            "has_obs": bools["has_obs"],
            "age": self._int["age"].astype(np.int32),
            "velocity": self._velocity,
            "last_xyxy": self._box,
            "obs_age": self._obs_age,
            "obs_box": self._obs_box,
        }
        high_rows = np.concatenate([xyxy[high], scores[high, None]], 1).astype(np.float32)
        high_in = pad_rows(high_rows, bucket_size(len(high)))
        low_in = pad_rows(xyxy[low], bucket_size(len(low))) if cfg.use_byte else None
        self._state, out = _frame_step(
            self._state, self._pending, tracks, high_in, low_in,
            np.float32(cfg.inertia), np.int32(cfg.delta_t), with_low=cfg.use_byte,
        )  # fmt: skip
        self._clear_pending(self._capacity)
        return {k: (None if v is None else np.asarray(v)) for k, v in out.items()}

    def _flush_pending(self) -> None:
        """Apply the pending corrections now (the corrected state is needed this frame)."""
        self._state = _flush(self._state, self._pending)
        self._clear_pending(self._capacity)

    def _observe(self, slots, dets, xyxy, scores, previous, frame) -> None:
        """KalmanBoxTracker.update(bbox) for matched (slot, detection) pairs."""
        ints, bools, pending = self._int, self._bool, self._pending
        boxes = xyxy[dets]
        # Direction from the observation delta_t frames back (k_previous_obs) to this one.
        had = bools["has_obs"][slots]
        prev = previous[slots, :4].astype(np.float64)
        d = (boxes[:, :2] + boxes[:, 2:]) / 2.0 - (prev[:, :2] + prev[:, 2:]) / 2.0
        direction = d[:, ::-1] / (np.sqrt((d**2).sum(1, keepdims=True)) + 1e-6)
        self._velocity[slots[had]] = direction[had]
        # ORU where the track was unobserved and frozen at its first miss.
        oru = ~bools["observed"][slots] & bools["frozen"][slots]
        pending["update"][slots] = True
        pending["oru"][slots] = oru
        pending["gap"][slots] = np.where(oru, frame - ints["last_frame"][slots], 0)
        pending["prev_xyxy"][slots] = np.where(oru[:, None], self._box[slots], [0, 0, 1, 1])
        pending["z_xyxy"][slots] = boxes
        bools["frozen"][slots] = False
        bools["observed"][slots] = True
        ring = ints["ring"][slots] % self.config.delta_t
        self._obs_age[slots, ring] = ints["age"][slots]
        self._obs_box[slots, ring] = np.concatenate([boxes, scores[dets, None]], 1)
        ints["ring"][slots] += 1
        self._box[slots], self._score[slots], self._det[slots] = boxes, scores[dets], dets
        bools["has_obs"][slots] = True
        ints["last_frame"][slots] = frame
        ints["tsu"][slots] = 0
        ints["hits"][slots] += 1
        ints["streak"][slots] += 1

    def _miss(self, slots) -> None:
        """KalmanBoxTracker.update(None): freeze the prediction at the first miss."""
        freeze = self._bool["observed"][slots]
        self._pending["freeze"][slots[freeze]] = True
        self._bool["frozen"][slots[freeze]] = True
        self._bool["observed"][slots] = False

    def _start(self, dets, xyxy, scores) -> None:
        """New KalmanBoxTracker for each unmatched high-score detection."""
        if not len(dets):
            return
        slots = self._allocate(len(dets))
        ids = self.tracks.ids
        for name in ("age", "tsu", "hits", "streak", "last_frame", "ring"):
            self._int[name][slots] = 0
        self._int["id"][slots] = np.arange(ids.next, ids.next + len(dets))
        ids.next += len(dets)
        self._bool["alive"][slots] = True
        for name in ("observed", "frozen", "has_obs"):
            self._bool[name][slots] = False
        self._velocity[slots] = 0.0
        self._obs_age[slots] = _NO_AGE
        self._obs_box[slots] = -1.0
        # Reported until its first match: the detection (the reference's get_state() of
        # the initial state, the same box up to the 1e-6 in r).
        self._box[slots], self._score[slots], self._det[slots] = xyxy[dets], scores[dets], dets
        for name in ("update", "oru", "freeze"):
            self._pending[name][slots] = False
        self._pending["init"][slots] = True
        self._pending["z_xyxy"][slots] = xyxy[dets]

    # -- inspection -------------------------------------------------------------------
    def track_states(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """{track id: (x [7], P [7, 7])} of live tracks after the last frame's updates
        (applies the pending corrections)."""
        self._flush_pending()
        x, P = np.asarray(self._state[0]), full_covariance(self._state[1])
        live = np.flatnonzero(self._bool["alive"])
        return {int(self._int["id"][s]): (x[s], P[s]) for s in live}


__all__ = [
    "OCSortConfig",
    "OCSortTracker",
    "apply_corrections",
    "full_covariance",
    "associate_first",
    "associate_iou",
    "kf_predict",
    "kf_update",
    "ocm_cost",
    "previous_observation",
]
