"""Run an online tracker over a whole MOTChallenge sequence."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.core.mot_io import Detections, MOTSequence, TrackResults
from jaxmot.core.tracker import FrameDetections, FrameTracks, OnlineTracker


@dataclasses.dataclass(frozen=True)
class TrackingRun:
    """A tracker's output on a sequence and where the time went.

    tracker_seconds counts `tracker.update` only; feature_seconds the appearance
    extractor (reading frames included).
    """

    results: TrackResults
    num_frames: int
    tracker_seconds: float
    feature_seconds: float

    @property
    def tracker_fps(self) -> float:
        return self.num_frames / max(self.tracker_seconds, 1e-12)

    @property
    def fps(self) -> float:
        """Frames per second including feature extraction."""
        return self.num_frames / max(self.tracker_seconds + self.feature_seconds, 1e-12)


def track_sequence(
    tracker: OnlineTracker,
    sequence: MOTSequence,
    *,
    detections: Detections | None = None,
    features: np.ndarray | None = None,
    extractor: FeatureExtractor | None = None,
    min_score: float | None = None,
    progress: bool = False,
) -> TrackingRun:
    """Track every frame of `sequence` from frame 1, resetting the tracker first.

    Args:
      tracker: any OnlineTracker.
      sequence: the sequence (its `info.length` frames are visited, empty ones too).
      detections: overrides `sequence.detections`.
      features: [K, D] precomputed embeddings, one per detection row (same order as
        `detections`); used instead of `extractor`.
      extractor: embeds crops of the frames (needs the sequence's pixels) when the
        tracker needs features and none are given.
      min_score: drop detections scoring below this.
      progress: show a progress bar.

    Returns:
      TrackingRun with the results (xywh boxes, 1-based frames) and timings.
    """
    dets = sequence.detections if detections is None else detections
    if dets is None:
        raise ValueError(f"sequence {sequence.info.name} has no detections (det/det.txt)")
    if features is not None and len(features) != len(dets):
        raise ValueError(f"features has {len(features)} rows for {len(dets)} detections")
    if tracker.needs_features and features is None:
        if extractor is None:
            raise ValueError(
                f"{type(tracker).__name__} needs appearance features: give an extractor "
                "or precomputed features"
            )
        if not sequence.has_images:
            raise ValueError(
                f"sequence {sequence.info.name} has no frames to embed: give precomputed "
                "features for its detections"
            )
    tracker.reset()
    outputs = []
    tracker_seconds = feature_seconds = 0.0
    length = sequence.info.length
    last = int(dets.frames.max(initial=0))
    if last > length:
        source = "the given detections" if detections is not None else "det/det.txt"
        raise ValueError(
            f"{source} of {sequence.info.name} reach frame {last}, but the sequence has "
            f"{length} frames (seqinfo.ini seqLength): wrong sequence or detections file?"
        )
    # Detections with class ids (an 8th column >= 0) are tracked per class.
    classes = bool((dets.classes >= 0).any())
    for frame in tqdm(range(1, length + 1), desc=sequence.info.name, disable=not progress):
        rows = dets.for_frame(frame)
        if min_score is not None:
            rows = rows[dets.scores[rows] >= min_score]
        frame_features = None
        if tracker.needs_features:
            if features is not None:
                frame_features = features[rows]
            else:
                start = time.perf_counter()
                frame_features = extractor(sequence.frame(frame), dets.boxes[rows])
                feature_seconds += time.perf_counter() - start
        frame_dets = FrameDetections(
            dets.boxes[rows],
            dets.scores[rows],
            frame_features,
            dets.classes[rows] if classes else None,
        )
        image = sequence.frame(frame) if tracker.needs_frames and sequence.has_images else None
        start = time.perf_counter()
        outputs.append(tracker.update(frame_dets, frame=image))
        tracker_seconds += time.perf_counter() - start
    return TrackingRun(collect_results(outputs), length, tracker_seconds, feature_seconds)


def track_frames(tracker: OnlineTracker, detections: list[FrameDetections]) -> TrackResults:
    """Run `tracker` from a fresh start over per-frame detections (frame 1 first), e.g.
    those a detector produced from pixels."""
    tracker.reset()
    return collect_results([tracker.update(dets) for dets in detections])


def collect_results(outputs: list[FrameTracks]) -> TrackResults:
    """Per-frame tracker outputs (frame 1 first) as one TrackResults."""
    frames = [np.full(len(out), t, np.int32) for t, out in enumerate(outputs, start=1)]
    return TrackResults(
        frames=np.concatenate([np.zeros(0, np.int32), *frames]),
        ids=np.concatenate([np.zeros(0, np.int32), *(o.ids for o in outputs)]).astype(np.int32),
        boxes=np.concatenate(
            [np.zeros((0, 4), np.float32), *(o.boxes.reshape(-1, 4) for o in outputs)]
        ),
        scores=np.concatenate([np.zeros(0, np.float32), *(o.scores for o in outputs)]),
        classes=np.concatenate([np.zeros(0, np.int32), *(_classes_of(o) for o in outputs)]).astype(
            np.int32
        ),
    )


def _classes_of(tracks: FrameTracks) -> np.ndarray:
    """[K] class ids of a frame's tracks, -1 where the tracker had none."""
    if tracks.classes is None:
        return np.full(len(tracks), -1, np.int64)
    return np.asarray(tracks.classes, np.int64)
