"""Single-object tracking sequences: frames, DAVIS masks as boxes, first-frame boxes.

for rgb in iter_frames(frames_dir="data/tennis"): ...          # [H, W, 3] uint8 RGB
seq = davis_sequence("data/davis2016", "blackswan")            # frames + [T, 4] xywh
box = read_init_box("data/tennis/init_rect_xywh_frame00000.txt")

Boxes are xywh in pixels. A box taken from a mask covers the mask's pixels as unit
squares: x = leftmost foreground column, w = rightmost - leftmost + 1 (same for y, h).
Every error names the file or folder it is about.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from collections.abc import Iterator

import cv2
import numpy as np

from jaxmot.core.images import read_label_mask, read_rgb

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_SPLIT = re.compile(r"[,\s]+")


def frame_paths(frames_dir: str | os.PathLike, suffixes=IMAGE_SUFFIXES) -> list[pathlib.Path]:
    """The images (jpg/jpeg/png, any case) in `frames_dir`, sorted by file name."""
    frames_dir = pathlib.Path(frames_dir)
    if not frames_dir.is_dir():
        raise FileNotFoundError(f"frame folder not found: {frames_dir}")
    paths = sorted(p for p in frames_dir.iterdir() if p.suffix.lower() in suffixes)
    if not paths:
        raise FileNotFoundError(f"no {'/'.join(suffixes)} images in {frames_dir}")
    return paths


def _check_source(frames_dir, video) -> None:
    if (frames_dir is None) == (video is None):
        raise ValueError("pass exactly one of frames_dir and video")


def _open_video(video: str | os.PathLike) -> cv2.VideoCapture:
    if not pathlib.Path(video).is_file():
        raise FileNotFoundError(f"video not found: {video}")
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        cap.release()
        raise ValueError(f"{video}: OpenCV cannot open the video")
    return cap


def iter_frames(
    frames_dir: str | os.PathLike | None = None, video: str | os.PathLike | None = None
) -> Iterator[np.ndarray]:
    """Yield the frames [H, W, 3] uint8 RGB of a folder of images (sorted) or a video."""
    _check_source(frames_dir, video)
    if frames_dir is not None:
        for path in frame_paths(frames_dir):
            yield read_rgb(path)
        return
    cap = _open_video(video)
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def count_frames(
    frames_dir: str | os.PathLike | None = None, video: str | os.PathLike | None = None
) -> int:
    """How many frames `iter_frames` yields. Videos are counted by reading through them,
    since the container's frame count (CAP_PROP_FRAME_COUNT) can be an estimate."""
    _check_source(frames_dir, video)
    if frames_dir is not None:
        return len(frame_paths(frames_dir))
    cap = _open_video(video)
    try:
        n = 0
        while cap.grab():
            n += 1
        return n
    finally:
        cap.release()


def mask_to_box(mask: np.ndarray) -> np.ndarray:
    """bool [H, W] -> [4] float64 xywh around the foreground pixels; NaN if there are none."""
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if not len(cols):
        return np.full(4, np.nan)
    x1, x2, y1, y2 = cols[0], cols[-1], rows[0], rows[-1]
    return np.array([x1, y1, x2 - x1 + 1, y2 - y1 + 1], np.float64)


def boxes_from_masks(mask_dir: str | os.PathLike) -> np.ndarray:
    """The sorted PNG masks of `mask_dir` -> [T, 4] float64 xywh; an empty mask -> NaN row.

    Any non-zero pixel is foreground (DAVIS-2016 masks are 0/255; DAVIS-2017 palette
    masks with several objects give the box around all of them).
    """
    paths = frame_paths(mask_dir, suffixes=(".png",))
    return np.stack([mask_to_box(read_label_mask(p)) for p in paths])


@dataclasses.dataclass(frozen=True)
class SOTSequence:
    """One single-object sequence: frames [T] image paths and gt boxes [T, 4] xywh (NaN:
    target absent)."""

    name: str
    frames: list[pathlib.Path]
    boxes: np.ndarray

    @property
    def init_box(self) -> np.ndarray:
        return self.boxes[0]


def davis_sequence(root: str | os.PathLike, name: str, resolution: str = "480p") -> SOTSequence:
    """A DAVIS sequence as single-object data: `JPEGImages/<resolution>/<name>/*.jpg` and
    boxes from `Annotations/<resolution>/<name>/*.png` (one mask per frame, same stems)."""
    root = pathlib.Path(root)
    image_dir = root / "JPEGImages" / resolution / name
    mask_dir = root / "Annotations" / resolution / name
    frames = frame_paths(image_dir)
    masks = frame_paths(mask_dir, suffixes=(".png",))
    if [p.stem for p in frames] != [p.stem for p in masks]:
        raise ValueError(
            f"{image_dir} ({len(frames)} images) and {mask_dir} ({len(masks)} masks) do not "
            "hold the same frame names"
        )
    return SOTSequence(name, frames, boxes_from_masks(mask_dir))


def read_init_box(path: str | os.PathLike) -> np.ndarray:
    """A file with one `x,y,w,h` line (comma, tab or space separated) -> [4] float64."""
    path = pathlib.Path(path)
    lines = [(i + 1, ln) for i, ln in enumerate(path.read_text().splitlines()) if ln.strip()]
    if len(lines) != 1:
        raise ValueError(f"{path}: expected one x,y,w,h line, found {len(lines)} non-empty lines")
    lineno, line = lines[0]
    tokens = [t for t in _SPLIT.split(line.strip()) if t]
    try:
        box = np.array([float(t) for t in tokens], np.float64)
    except ValueError:
        raise ValueError(f"{path}:{lineno}: not a number in {line.strip()!r}") from None
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise ValueError(
            f"{path}:{lineno}: expected finite x,y,w,h with w, h > 0, got {line.strip()!r}"
        )
    return box
