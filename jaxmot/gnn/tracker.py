"""The GNN association tracker, on the shared lifecycle.

Every frame the learned model (`jaxmot.gnn.model.AssociationGNN`) scores the live
tracks (new, tracked, and lost ones matched at least `lost_min_hits` times) against the
detections: a track enters the graph with the box of its last matched detection, the
frame of that match (`frame - inactive - 1`) and its appearance memory (mean of its
last 10 embeddings); with `lost_box="kalman"` a LOST track enters instead at the centre
its Kalman filter predicts for this frame (with its last detection's size), as if seen
in the previous frame (GNNTrackerConfig). similarity = sigmoid(last-step logits), cost
= 1 - similarity, and the Hungarian assignment never matches a pair with similarity <
0.5. Unmatched tracks stay LOST while `inactive <= patience` frames (the exercise's
rule, a frame count at any frame rate; see `jaxmot.core.lifecycle.exercise_lifecycle`)
and the GNN can re-find them. The config's patience is 20 frames, the long-term ReID
tracker's; `pipelines.train_gnn` tunes one for each trained model on its training
sequences (with the lost-track box, where the preset offers both) and stores them with
the export, and `make_tracker("gnn", ...)` uses them (see
`jaxmot.gnn.checkpoint.tuned_tracker`): how long a gap a model bridges well depends on
what it learned.

Static shapes: tracks and detections are padded to power-of-two buckets, so a sequence
compiles the scorer once per (tracks, detections) bucket pair.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core.assignment import linear_assignment
from jaxmot.core.boxes import cxcywh_to_xywh, xywh_to_cxcywh
from jaxmot.core.lifecycle import LifecycleConfig, TrackState, exercise_lifecycle
from jaxmot.core.padding import bucket_size, pad_rows
from jaxmot.core.tracker import FrameDetections, OnlineTracker

DEFAULT_PATIENCE = 20  # frames a lost track is kept, as by the longterm tracker
# Candidates train_gnn tries on the training sequences; the best pooled IDF1 is stored.
PATIENCE_CANDIDATES = (20, 40, 60, 90, 120)
# How a LOST track enters the graph (GNNTrackerConfig.lost_box).
LOST_BOXES = ("detection", "kalman")


def gnn_lifecycle(patience: int = DEFAULT_PATIENCE) -> LifecycleConfig:
    """New tracks reported at once; lost ones kept while `inactive <= patience` frames."""
    if patience < 1:
        raise ValueError(f"patience must be >= 1 frame, got {patience}")
    return exercise_lifecycle(patience)


@dataclasses.dataclass(frozen=True)
class GNNTrackerConfig:
    min_similarity: float = 0.5  # pairs with sigmoid(logit) < 0.5 never match
    lifecycle: LifecycleConfig = gnn_lifecycle()
    # A LOST track enters the graph only if it was matched at least this often. Training
    # graphs never hold false positives as past tracks (their "past" is the last
    # appearance of each true identity), but online every false positive starts a track
    # that stays LOST for the whole patience. Summed messages grow with the node count,
    # so dozens of such one-hit tracks shift every logit: on synthetic scenes with the
    # learned ReID features one detector draw collapsed (IDF1 55.1, 699 ID switches)
    # and recovers with this filter (72.4, 19). 1 keeps every track.
    lost_min_hits: int = 2
    # Where a LOST track enters the graph. "detection" (the exercise): its last matched
    # box, at the frame of that match. "kalman": the centre its Kalman filter predicts
    # for this frame, with the last box's size, as if seen in the previous frame. The
    # training samples hold mostly one-frame gaps, and a model given a track's position
    # of 60 frames ago without its velocity cannot tell where it went; the prediction
    # carries the velocity. Which serves a model better is tuned with the patience
    # where the preset asks (GNNExperiment.lost_boxes; docs/gnn.md).
    lost_box: str = "detection"

    def __post_init__(self):
        if self.lost_box not in LOST_BOXES:
            raise ValueError(f"lost_box must be one of {LOST_BOXES}, got {self.lost_box!r}")
        if not 0 < self.min_similarity < 1:
            raise ValueError(f"min_similarity must be in (0, 1), got {self.min_similarity}")
        if self.lost_min_hits < 1:
            raise ValueError(f"lost_min_hits must be >= 1, got {self.lost_min_hits}")

    @property
    def patience(self) -> int:
        """Frames a lost track is kept (while inactive <= patience)."""
        return self.lifecycle.max_lost

    def with_patience(self, patience: int) -> GNNTrackerConfig:
        return dataclasses.replace(self, lifecycle=gnn_lifecycle(patience))


def gnn_tracker_config(checkpoint=None, patience: int | None = None) -> GNNTrackerConfig:
    """The default config with `patience`, else the one train_gnn tuned for `checkpoint`
    (its model.json; None: the shipped one), else 20; the lost-track box train_gnn tuned,
    else "detection"."""
    from jaxmot.gnn.checkpoint import tuned_tracker

    tuned = tuned_tracker(checkpoint)
    patience = tuned.get("patience") if patience is None else patience
    config = GNNTrackerConfig(lost_box=tuned.get("lost_box", "detection"))
    return config.with_patience(patience or DEFAULT_PATIENCE)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _last_step_similarity(params, num_steps, track_boxes, track_t, track_features,
                          track_valid, det_boxes, det_t, det_features, det_valid):  # fmt: skip
    from jaxmot.gnn.model import score_graph

    logits = score_graph(
        params, num_steps, track_boxes, track_t, track_features, track_valid,
        det_boxes, det_t, det_features, det_valid, all_steps=False,
    )  # fmt: skip
    return jax.nn.sigmoid(logits[-1])


class GNNTracker(OnlineTracker):
    """Online tracking with a trained AssociationGNN (`model`, eval mode)."""

    needs_features = True

    def __init__(self, model, config: GNNTrackerConfig = GNNTrackerConfig(),
                 frame_rate: float = 30.0):  # fmt: skip
        super().__init__(config.lifecycle, frame_rate)
        model.eval()
        self.config = config
        self.num_steps = model.config.num_steps
        self.reid_dim = model.config.reid_dim
        self.params = jax.tree.map(jnp.asarray, model.param_tree())

    def similarity(self, track_boxes, track_t, track_features, det_boxes, det_t, det_features):
        """[N, M] sigmoid of the last step's logits for unpadded inputs (NumPy)."""
        n, m = len(track_boxes), len(det_boxes)
        size_n, size_m = bucket_size(n), bucket_size(m)
        sim = _last_step_similarity(
            self.params, self.num_steps,
            pad_rows(np.asarray(track_boxes, np.float32), size_n),
            pad_rows(np.asarray(track_t, np.float32), size_n),
            pad_rows(np.asarray(track_features, np.float32), size_n),
            np.arange(size_n) < n,
            pad_rows(np.asarray(det_boxes, np.float32), size_m),
            np.full(size_m, det_t, np.float32),
            pad_rows(np.asarray(det_features, np.float32), size_m),
            np.arange(size_m) < m,
        )  # fmt: skip
        return np.asarray(sim)[:n, :m]

    def _associate(self, detections: FrameDetections):
        self.tracks.predict()  # advances the frame (and the Kalman states, unused here)
        features = detections.features
        if features.shape[1] != self.reid_dim:
            raise ValueError(
                f"the GNN model takes {self.reid_dim}-d appearance features, got "
                f"{features.shape[1]}-d: give it features of the ReID model it was trained on"
            )
        m = len(detections)
        candidates = self.tracks.with_state(TrackState.NEW, TrackState.TRACKED) + [
            t for t in self.tracks.with_state(TrackState.LOST)
            if t.hits >= self.config.lost_min_hits
        ]  # fmt: skip
        if not candidates or not m:
            return [], np.arange(m)
        frame = self.tracks.frame
        track_features = self.tracks.slot_features(features.shape[1])[self.tracks.slots(candidates)]
        boxes, seen = self.track_nodes(candidates)
        sim = self.similarity(
            boxes,
            seen,
            track_features,
            detections.boxes,
            frame,
            features,
        )
        pairs, _, unmatched = linear_assignment(1.0 - sim, 1.0 - self.config.min_similarity)
        return [(candidates[i], int(j)) for i, j in pairs], unmatched

    def track_nodes(self, candidates: list) -> tuple[np.ndarray, np.ndarray]:
        """([C, 4] xywh box, [C] frame) with which each candidate track enters the graph
        (`GNNTrackerConfig.lost_box`); call after this frame's predict."""
        frame = self.tracks.frame
        boxes = np.array([t.detection_box for t in candidates], np.float32).reshape(-1, 4)
        seen = np.array([frame - t.inactive - 1 for t in candidates], np.float32)
        if self.config.lost_box == "detection":
            return boxes, seen
        lost = np.array([t.state == TrackState.LOST for t in candidates])
        centre = xywh_to_cxcywh(self.tracks.boxes(candidates))[:, :2]
        moved = cxcywh_to_xywh(np.concatenate([centre, boxes[:, 2:]], axis=1))
        boxes = np.where(lost[:, None], moved, boxes).astype(np.float32)
        return boxes, np.where(lost, frame - 1, seen).astype(np.float32)


__all__ = [
    "DEFAULT_PATIENCE",
    "PATIENCE_CANDIDATES",
    "GNNTracker",
    "GNNTrackerConfig",
    "LOST_BOXES",
    "gnn_lifecycle",
    "gnn_tracker_config",
]
