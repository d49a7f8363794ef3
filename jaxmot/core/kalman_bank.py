"""Kalman states of all live tracks on the device, padded to a capacity bucket.

Tracks own a slot (a row of `mean` / `cov`). A frame costs one jitted call whatever the
number of tracks: the corrections decided in the previous frame (Kalman update of
matched slots, initialisation of new ones) are kept on the host and applied lazily, at
the start of the next frame's call, fused with the motion step of every live slot and
the tracker's cost function. `flush()` applies them at once where the corrected state
itself is needed. Trackers that report corrected boxes (`report_gain=True`) get them
without a second device call: the frame's call also returns each slot's Kalman gain,
and `corrected_boxes` applies the queued corrections to the reported rows on the host
(a few NumPy operations on [K, 4]; the device applies the same corrections in the next
call). Slots, detections and capacity are padded to buckets (`jaxmot.core.padding`), so
a sequence compiles a handful of times.

The bank runs one motion model (`jaxmot.core.kalman.MotionModel`, chosen by name:
"xyah", DeepSORT's filter and the default, or "xywh", BoT-SORT's). `mean` is in the
model's own state layout and `cov` in its covariance form ([C, 3, 4] per-coordinate
blocks for xyah, [C, 8, 8] for xywh); scorers get both as they are, so they read boxes
through the helpers below (`predicted_boxes_xyxy`, `predicted_iou`, `gating_distance`),
which take the model. Camera-motion compensation (a [2, 3] affine per frame, xywh only)
is applied inside the same jitted call, after the motion step (BoT-SORT's order).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core import kalman
from jaxmot.core.padding import bucket_size, pad_rows

# A benign state for empty slots: unit box at the origin, so padded rows stay finite.
_EMPTY_MEASUREMENT = np.array([0.0, 0.0, 1.0, 1.0], np.float32)

# scorer(mean [C, 8], cov (the model's form), track_inputs, det_inputs) -> cost [C, B]
Scorer = Callable[..., jax.Array]


def padded_det_xyah(det_xyxy: jax.Array) -> jax.Array:
    """[M, 4] xyxy detections, padded rows all zero -> [M, 4] xyah for gating. Padded
    rows get a unit bottom edge, so their aspect ratio stays finite (a 0/0 there would
    put NaN into the gating distances)."""
    return kalman.XYAH.measure_xyxy(det_xyxy)


# --- building blocks of scorers (they run inside the jitted `correct_predict_and_score`)


def detection_inputs(boxes_xywh: np.ndarray, features: np.ndarray, size: int) -> dict:
    """A frame's detections for a scorer, rows zero-padded to `size`: boxes_xyxy
    [size, 4] float32 and features [size, D]."""
    return {
        "boxes_xyxy": pad_rows(box_ops.xywh_to_xyxy(boxes_xywh), size),
        "features": pad_rows(features, size),
    }


def appearance_distance(track_features: jax.Array, det_features: jax.Array) -> jax.Array:
    """[C, B] cosine distance 1 - <t, d / |d|>. track_features [C, D] are L2-normalised
    already (zero rows for free slots); det_features [B, D] any norm (zero rows for
    padding stay zero, at distance 1)."""
    det_features = det_features / jnp.maximum(
        jnp.linalg.norm(det_features, axis=-1, keepdims=True), 1e-12
    )
    return 1.0 - track_features @ det_features.T


def gating_distance(
    mean: jax.Array, cov: jax.Array, det_xyxy: jax.Array, motion=kalman.XYAH
) -> jax.Array:
    """[C, B] squared Mahalanobis distance of each (padded) detection from each slot's
    predicted state (mean [C, 8], cov in `motion`'s form), in the model's measurement
    space (xyah or xywh, 4 dof: compare with kalman.CHI2_95_4DOF)."""
    return motion.gating_distance(mean, cov, motion.measure_xyxy(det_xyxy))


def predicted_boxes_xyxy(mean: jax.Array, motion=kalman.XYAH) -> jax.Array:
    """[C, 4] corner boxes of each slot's state (mean [C, 8] in `motion`'s layout)."""
    return motion.boxes_xyxy(mean)


def predicted_iou(mean: jax.Array, det_xyxy: jax.Array, motion=kalman.XYAH) -> jax.Array:
    """[C, B] IoU of each slot's predicted box (mean [C, 8]) with each detection."""
    return box_ops.iou_matrix(motion.boxes_xyxy(mean), det_xyxy)


@functools.partial(jax.jit, static_argnames=("scorer", "with_overlap", "motion", "with_gain"))
def correct_predict_and_score(
    mean,
    cov,
    measurements,
    update_mask,
    init_mask,
    alive,
    lost,
    scorer,
    track_inputs,
    det_inputs,
    with_overlap=False,
    motion=kalman.XYAH,
    warp=None,
    hold=None,
    with_gain=False,
):
    """Pending corrections, then the motion step, then the tracker's costs.

    Args:
      mean: [C, 8]; cov: [C, *motion.cov_shape] (the motion model's form).
      measurements [C, 4], update_mask, init_mask [C]: the previous frame's corrections
        (see `correct`); alive, lost: [C] bool.
      scorer: static cost function (None: no costs); track_inputs / det_inputs: pytrees
        it reads, rows padded to C and B.
      motion: static MotionModel; warp: [2, 3] camera-motion affine applied to every
        live slot after the motion step, or None; hold: [C] bool, live slots that skip
        the motion step (still warped), or None. with_gain: static; also return the
        position rows of each slot's Kalman gain at the predicted state.

    Returns:
      mean, cov (predicted where alive), boxes [C, 4] xywh, cost [C, B] or None,
      with `with_overlap` (else None): for each live non-lost slot, the largest IoU of
      its predicted box with a lost slot's [C] and that slot's index [C] (duplicate removal);
      with `with_overlap="corrected"`, of the boxes before the motion step (the previous
      frame's corrected tracks against its predicted lost ones); and with `with_gain`
      (else None) the gain [C, 4, 4] (`MotionModel.position_gain`).
    """
    mean, cov, _ = apply_corrections(mean, cov, measurements, update_mask, init_mask, motion)
    overlap = None
    if with_overlap == "corrected":  # the previous frame's final states (ByteTrack's timing)
        overlap = _lost_overlap(motion.boxes_xyxy(mean), alive, lost)
    # Lost tracks keep their size (JDE/ByteTrack zero the height velocity, BoT-SORT both).
    mean = motion.stop_size(mean, lost)
    predicted_mean, predicted_cov = motion.predict(mean, cov)
    moving = alive if hold is None else alive & ~hold
    mean = jnp.where(moving[:, None], predicted_mean, mean)
    cov = jnp.where(moving[:, None, None], predicted_cov, cov)
    if warp is not None:  # BoT-SORT: camera motion after the prediction (STrack.multi_gmc)
        warped_mean, warped_cov = motion.warp(mean, cov, warp)
        mean = jnp.where(alive[:, None], warped_mean, mean)
        cov = jnp.where(alive[:, None, None], warped_cov, cov)
    cost = None if scorer is None else scorer(mean, cov, track_inputs, det_inputs)
    if with_overlap and with_overlap != "corrected":
        overlap = _lost_overlap(motion.boxes_xyxy(mean), alive, lost)
    gain = motion.position_gain(mean, cov) if with_gain else None
    return mean, cov, motion.boxes_xywh(mean), cost, overlap, gain


def _lost_overlap(xyxy, alive, lost):
    """For each live non-lost slot, the largest IoU of its box with a lost slot's [C] and
    that slot's index [C]."""
    iou = box_ops.iou_matrix(xyxy, xyxy)
    iou = jnp.where((alive & ~lost)[:, None] & (alive & lost)[None, :], iou, 0.0)
    best = jnp.max(iou, axis=1)
    # argmax's first maximum as a plain min-reduction: XLA's CPU argmax (a two-operand
    # reduce) costs 2-3x the whole C x C IoU at 128 slots.
    slots = jnp.arange(iou.shape[1])
    return best, jnp.min(jnp.where(iou == best[:, None], slots, iou.shape[1]), axis=1)


@functools.partial(jax.jit, static_argnames=("motion",))
def apply_corrections(mean, cov, measurements, update_mask, init_mask, motion=kalman.XYAH):
    """Kalman update where `update_mask`, (re)initialisation where `init_mask`.

    Args:
      mean: [C, 8]; cov: the model's form; measurements: [C, 4] in the model's
      measurement space (row = slot); update_mask, init_mask: [C] bool; motion: static.

    Returns:
      mean, cov, boxes [C, 4] xywh.
    """
    updated_mean, updated_cov = motion.update(mean, cov, measurements)
    init_mean, init_cov = motion.initiate(measurements)
    mean = jnp.where(
        update_mask[:, None], updated_mean, jnp.where(init_mask[:, None], init_mean, mean)
    )
    cov = jnp.where(
        update_mask[:, None, None], updated_cov, jnp.where(init_mask[:, None, None], init_cov, cov)
    )
    return mean, cov, motion.boxes_xywh(mean)


class KalmanBank:
    """Slot allocator plus device-resident Kalman state for a tracker.

    motion: "xyah" (default) or "xywh", or a kalman.MotionModel. report_gain: each
    `predict` also brings back the Kalman gains, for `corrected_boxes`.
    """

    def __init__(
        self,
        capacity: int = 32,
        motion: str | kalman.MotionModel = "xyah",
        report_gain: bool = False,
    ):
        self.motion = kalman.motion_model(motion)
        self.report_gain = report_gain
        # After predict with report_gain: the predicted positions [C, 4] and the gains
        # [C, 4, 4] on the host (None: not available, corrected_boxes flushes instead).
        self._gain = None
        self.capacity = 0
        self._pending = None  # (measurements [C, 4], update_mask [C], init_mask [C])
        self._no_corrections = None  # the same, empty, kept to copy from
        self.mean = jnp.zeros((0, 8), jnp.float32)
        # The model's covariance form: per-coordinate blocks for xyah (kalman.py).
        self.cov = jnp.zeros((0, *self.motion.cov_shape), jnp.float32)
        self.alive = np.zeros(0, bool)
        self.lost = np.zeros(0, bool)
        self.boxes = np.zeros((0, 4), np.float32)  # host copy of the latest boxes, xywh
        # After predict: per slot, the best IoU with a lost slot and that slot's index.
        self.overlap = (np.zeros(0, np.float32), np.zeros(0, np.int32))
        self._free: list[int] = []
        self._grow(bucket_size(capacity))

    def _grow(self, capacity: int) -> None:
        self.flush()
        self._gain = None  # sized for the old capacity
        extra = capacity - self.capacity
        empty_mean, empty_cov = self.motion.initiate(jnp.tile(_EMPTY_MEASUREMENT, (extra, 1)))
        self.mean = jnp.concatenate([self.mean, empty_mean])
        self.cov = jnp.concatenate([self.cov, empty_cov])
        self.alive = np.concatenate([self.alive, np.zeros(extra, bool)])
        self.lost = np.concatenate([self.lost, np.zeros(extra, bool)])
        self.boxes = np.concatenate([self.boxes, np.zeros((extra, 4), np.float32)])
        # Hand out low slots first (pop from the end).
        self._free = list(range(capacity - 1, self.capacity - 1, -1)) + self._free
        self.capacity = capacity

    def allocate(self) -> int:
        if not self._free:
            self._grow(bucket_size(self.capacity + 1))
        slot = self._free.pop()
        self.alive[slot] = True
        self.lost[slot] = False
        return slot

    def release(self, slot: int) -> None:
        self.alive[slot] = False
        self.lost[slot] = False
        if self._pending is not None:  # a later owner of the slot must not inherit them
            self._pending[1][slot] = self._pending[2][slot] = False
        self._free.append(slot)

    def predict(
        self,
        scorer: Scorer | None = None,
        track_inputs=None,
        det_inputs=None,
        with_overlap: bool | str = False,
        warp: np.ndarray | None = None,
        hold: np.ndarray | None = None,
    ):
        """Apply pending corrections and advance every live slot one frame.

        warp: a [2, 3] camera-motion affine (previous frame -> this frame) applied to
        every live slot after the motion step (xywh model only), or None. A tracker that
        compensates camera motion passes one every frame (the identity when it has no
        image), so the call keeps one compiled form. hold: [C] bool, live slots that
        skip the motion step this frame (ByteTrack predicts only tracked and lost
        tracks), or None.

        Returns the scorer's cost matrix [C, B] (NumPy), or None without a scorer;
        with `with_overlap` (True, or "corrected": compare the boxes before the motion
        step), also fills `self.overlap` (see correct_predict_and_score).
        """
        if warp is not None:
            warp = np.asarray(warp, np.float32)
            if warp.shape != (2, 3):
                raise ValueError(f"warp must be a [2, 3] affine, got shape {warp.shape}")
            if self.motion.name != "xywh":
                raise ValueError(
                    "camera-motion compensation needs the 'xywh' motion model, "
                    f"not {self.motion.name!r}"
                )
        measurements, update_mask, init_mask = self._take_pending()
        self.mean, self.cov, boxes, cost, overlap, gain = correct_predict_and_score(
            self.mean,
            self.cov,
            measurements,
            update_mask,
            init_mask,
            self.alive,
            self.lost,
            scorer,
            track_inputs,
            det_inputs,
            with_overlap,
            self.motion,
            warp,
            hold,
            self.report_gain,
        )
        self.boxes = np.asarray(boxes)
        if self.report_gain:
            self._gain = (np.asarray(self.mean)[:, :4], np.asarray(gain))
        if with_overlap:
            self.overlap = (np.asarray(overlap[0]), np.asarray(overlap[1]))
        return None if cost is None else np.asarray(cost)

    def correct(self, update_slots, update_xyah, init_slots, init_xyah) -> None:
        """Queue the update of `update_slots` with measurements [K, 4] (xyah, or the
        motion model's measurement: `self.motion.measure(boxes_xywh)`) and the
        initialisation of `init_slots`; applied by the next `predict` or `flush`.
        """
        if len(update_slots) == 0 and len(init_slots) == 0:
            return
        measurements, update_mask, init_mask = self._take_pending()
        measurements[update_slots] = update_xyah
        update_mask[update_slots] = True
        measurements[init_slots] = init_xyah
        init_mask[init_slots] = True
        update_mask[init_slots] = False  # a (re)initialised slot starts afresh
        self._pending = (measurements, update_mask, init_mask)

    def corrected_boxes(self, slots: np.ndarray) -> np.ndarray:
        """[K, 4] xywh of `slots` as the queued corrections leave them.

        With the gains of this frame's `predict` (report_gain), computed on the host:
        updated slots at `kalman.corrected_position`, (re)initialised ones at their
        measurement, the rest as predicted; the corrections stay queued for the next
        call. Otherwise (no gains, or the bank grew since) the corrections are applied
        on the device now (`flush`).
        """
        if self._pending is None or self._gain is None:
            self.flush()
            return self.boxes[slots]
        measurements, update_mask, init_mask = (a[slots] for a in self._pending)
        position, gain = (a[slots] for a in self._gain)
        corrected = kalman.corrected_position(position, gain, measurements)
        position = np.where(
            update_mask[:, None],
            corrected,
            np.where(init_mask[:, None], measurements, position),
        )
        return self.motion.boxes_xywh(position).astype(np.float32)

    def flush(self) -> None:
        """Apply queued corrections now (updates `mean`, `cov` and `boxes`)."""
        if self._pending is None:
            return
        self._gain = None  # the state moves on: the gains are of the predicted one
        self.mean, self.cov, boxes = apply_corrections(
            self.mean, self.cov, *self._take_pending(), self.motion
        )
        self.boxes = np.asarray(boxes)

    def _take_pending(self):
        pending = self._pending
        self._pending = None
        if pending is None:
            if self._no_corrections is None or len(self._no_corrections[1]) != self.capacity:
                self._no_corrections = (
                    np.tile(_EMPTY_MEASUREMENT, (self.capacity, 1)),
                    np.zeros(self.capacity, bool),
                    np.zeros(self.capacity, bool),
                )
            # Copies: the caller fills them in; the template stays clean.
            pending = tuple(a.copy() for a in self._no_corrections)
        return pending
