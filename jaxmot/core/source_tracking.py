"""Track any frame source end to end: detect, embed, associate, draw, frame by frame.

    run = track_source(open_source("clip.mp4"), HOGPeopleDetector(), make_tracker("iou"),
                       video="tracks.mp4", trails=30)
    write_results("tracks.txt", run.results)

Frames stream through: nothing holds the whole video (the results are the only thing
that grows), so a camera or an hour of footage works the same as ten frames.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import time
from collections.abc import Callable, Iterable

import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.detectors import Detected
from jaxmot.core.extractor import FeatureExtractor, crop_boxes
from jaxmot.core.frame_source import FrameSource
from jaxmot.core.sequence import TrackingRun, collect_results
from jaxmot.core.tracker import FrameDetections, FrameTracks, OnlineTracker

Detector = Callable[[np.ndarray, int], Detected]


def draw_trails(frame: np.ndarray, history: dict[int, collections.deque]) -> np.ndarray:
    """Each track's recent box bottom-centres as a polyline in its colour (in place)."""
    import cv2

    from jaxmot.core.draw import id_color

    thickness = max(1, round(min(frame.shape[:2]) / 360))
    for track_id, points in history.items():
        if len(points) > 1:
            pts = np.round(np.asarray(points)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(frame, [pts], False, id_color(track_id), thickness, cv2.LINE_AA)
    return frame


class _Trails:
    """The last `length` bottom-centre points of each live track."""

    def __init__(self, length: int):
        self.length = length
        self.points: dict[int, collections.deque] = {}

    def update(self, tracks: FrameTracks) -> None:
        live = set()
        for track_id, (x, y, w, h) in zip(tracks.ids.tolist(), tracks.boxes, strict=True):
            live.add(track_id)
            trail = self.points.setdefault(track_id, collections.deque(maxlen=self.length))
            trail.append((x + w / 2, y + h))
        for gone in set(self.points) - live:  # a track not reported this frame: trail ends
            del self.points[gone]


def _save_crops(folder: pathlib.Path, frame: np.ndarray, index: int, tracks: FrameTracks) -> None:
    from jaxmot.core.images import write_rgb

    for track_id, crop in zip(tracks.ids.tolist(), crop_boxes(frame, tracks.boxes), strict=True):
        if crop is not None:
            write_rgb(folder / f"{track_id:06d}" / f"{index:06d}.jpg", crop)


def track_source(
    source: FrameSource | Iterable[np.ndarray],
    detector: Detector,
    tracker: OnlineTracker,
    *,
    extractor: FeatureExtractor | None = None,
    classes: Iterable[int] | None = None,
    min_score: float | None = None,
    video: str | os.PathLike | None = None,
    fps: float | None = None,
    trails: int = 0,
    save_crops: str | os.PathLike | None = None,
    show: bool = False,
    progress: bool = True,
) -> TrackingRun:
    """Run `tracker` over every frame of `source` from a fresh start.

    Args:
      source: a FrameSource (or any iterable of [H, W, 3] uint8 RGB frames).
      detector: `detector(frame, index) -> Detected` (index 1-based).
      tracker: any OnlineTracker; appearance trackers get embeddings from the detector
        (JDE) or, when it gives none, from `extractor` on crops of the frame.
      classes: keep only detections of these class ids (None: all).
      min_score: drop detections scoring below this.
      video: also write the drawn tracks to this .mp4 (H.264) / .avi, streamed, at `fps`
        (default: the source's), with `trails` frames of each track's path.
      save_crops: write each reported box as `DIR/<track id>/<frame>.jpg`.
      show: a live window (OpenCV) when a display exists; q or Esc stops early.

    Returns:
      TrackingRun: results (1-based frames, xywh), the frame count and the time spent in
      the tracker and in detection + embedding.
    """
    from jaxmot.core.draw import VideoWriter, draw_tracks

    classes = None if classes is None else list(classes)
    rate = fps or getattr(source, "fps", None) or 30.0
    total = getattr(source, "length", None)
    name = getattr(source, "name", "frames")
    tracker.reset()
    outputs: list[FrameTracks] = []
    tracker_seconds = detect_seconds = 0.0
    trail = _Trails(trails) if trails > 0 else None
    crops = None if save_crops is None else pathlib.Path(save_crops)
    window = _Window(name) if show else None
    with contextlib.ExitStack() as stack:
        writer = None if video is None else stack.enter_context(VideoWriter(video, rate))
        for index, frame in enumerate(
            tqdm(source, total=total, desc=name, disable=not progress), start=1
        ):
            start = time.perf_counter()
            found = detector(frame, index).only(classes).above(min_score)
            dets = found.detections
            if tracker.needs_features and dets.features is None:
                if extractor is None:
                    raise ValueError(
                        f"{type(tracker).__name__} needs embeddings: the detector gives "
                        "none, so give an appearance extractor"
                    )
                features = extractor(frame, dets.boxes)
                dets = FrameDetections(dets.boxes, dets.scores, features, dets.classes)
            detect_seconds += time.perf_counter() - start
            start = time.perf_counter()
            tracks = tracker.update(dets, frame=frame)
            tracker_seconds += time.perf_counter() - start
            outputs.append(tracks)
            if crops is not None:
                _save_crops(crops, frame, index, tracks)
            if writer is not None or window is not None:
                drawn = draw_tracks(frame, tracks.boxes, tracks.ids)
                if trail is not None:
                    trail.update(tracks)
                    draw_trails(drawn, trail.points)
                if writer is not None:
                    writer.write(drawn)
                if window is not None and not window.show(drawn):
                    break
    if window is not None:
        window.close()
    return TrackingRun(collect_results(outputs), len(outputs), tracker_seconds, detect_seconds)


class _Window:
    """An OpenCV window, or nothing (with one notice) where no display exists."""

    def __init__(self, name: str):
        self.name = f"jaxmot: {name}"
        self.ok = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if not self.ok:
            print("--show: no display here (DISPLAY is not set); not showing a window")

    def show(self, frame_rgb: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q or Esc."""
        if not self.ok:
            return True
        import cv2

        try:
            cv2.imshow(self.name, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
            key = cv2.waitKey(1) & 0xFF
        except cv2.error:  # an OpenCV build without GUI support
            print("--show: this OpenCV build cannot open windows; not showing one")
            self.ok = False
            return True
        return key not in (ord("q"), 27)

    def close(self) -> None:
        if self.ok:
            import cv2

            with contextlib.suppress(cv2.error):
                cv2.destroyWindow(self.name)


__all__ = ["Detector", "draw_trails", "track_source"]
