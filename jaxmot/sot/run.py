"""Run a single-object tracker by name over a video and write its boxes.

    tracker = make_sot_tracker("ettrack")          # or "mil"; a checkpoint folder for ettrack
    for t, boxes in track_video(tracker, iter_frames(frames_dir=...), init_boxes):
        ...                                          # boxes: [N, 4] xywh, one row per target
    write_boxes("out.txt", results)                  # results: [T, N, 4]

Both trackers take several targets of one video at once (`init(frames, boxes)` /
`update(frames)` with one frame per target): E.T.Track batches them in one jitted call
per frame, `MILGroup` runs one OpenCV MIL tracker per target. Box files hold one
`x,y,w,h` line per frame (readable by `jaxmot.sot.results_io.read_boxes`).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from jaxmot.core.atomic import atomic_write_text

TRACKERS = ("ettrack", "mil")


class MILGroup:
    """OpenCV MIL on several targets of one video, with SOTTracker's interface."""

    def __init__(self):
        self.trackers = []

    def init(self, frames, boxes):
        from jaxmot.sot.opencv_baseline import MILTracker

        self.trackers = [MILTracker() for _ in boxes]
        for tracker, frame, box in zip(self.trackers, frames, boxes, strict=True):
            tracker.init(frame, box)

    def update(self, frames):
        return np.stack([t.update(f) for t, f in zip(self.trackers, frames, strict=True)])


def make_sot_tracker(name: str, checkpoint: str | os.PathLike | None = None):
    """`ettrack`: E.T.Track from `checkpoint` (default: the shipped one); `mil`: MILGroup."""
    if name == "mil":
        return MILGroup()
    if name != "ettrack":
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKERS)}")
    from jaxmot.sot.checkpoint import load_sot_tracker

    return load_sot_tracker(checkpoint)


def track_video(
    tracker,
    frames: Iterable[np.ndarray],
    init_boxes: np.ndarray,
    *,
    draw: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Run `tracker` over `frames` from the [N, 4] xywh `init_boxes` of frame 0; yields
    (frame index, [N, 4] boxes) per frame (frame 0: the init boxes). `draw(frame,
    boxes)` is called on every frame when given."""
    n = len(init_boxes)
    for t, frame in enumerate(frames):
        if t == 0:
            tracker.init([frame] * n, init_boxes)
            boxes = init_boxes.copy()
        else:
            boxes = tracker.update([frame] * n)
        if draw is not None:
            draw(frame, boxes)
        yield t, boxes


def format_boxes(boxes: np.ndarray) -> str:
    """[T, 4] xywh -> one `x,y,w,h` line per frame, 2 decimals."""
    return "".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in boxes)


def write_boxes(output: str | os.PathLike, results: np.ndarray) -> None:
    """[T, N, 4] boxes -> `output` as one box file when N = 1, else a folder receiving
    `target<i>.txt` per target (written atomically)."""
    output = pathlib.Path(output)
    if results.shape[1] == 1:
        atomic_write_text(output, format_boxes(results[:, 0]))
        return
    output.mkdir(parents=True, exist_ok=True)
    for i in range(results.shape[1]):
        atomic_write_text(output / f"target{i}.txt", format_boxes(results[:, i]))


__all__ = ["TRACKERS", "MILGroup", "format_boxes", "make_sot_tracker", "track_video", "write_boxes"]
