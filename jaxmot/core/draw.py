"""Drawing tracks on frames and writing tracking videos (NumPy + OpenCV, host side).

Colours are a pure function of the track id (golden-ratio hue steps), so an id keeps its
colour across frames, runs and videos, and neighbouring ids get very different hues.
"""

from __future__ import annotations

import colorsys
import contextlib
import os
import pathlib
import uuid
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from jaxmot.core import mot_io as mot

__all__ = ["draw_tracks", "id_color", "render_tracking_video", "write_video"]

_GOLDEN = 0.6180339887498949  # hue step: consecutive ids land far apart on the colour wheel
_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}  # codecs every opencv-python wheel can write


def id_color(track_id: int) -> tuple[int, int, int]:
    """Stable, distinct RGB colour (0-255 ints) of a track id."""
    hue = (int(track_id) * _GOLDEN) % 1.0
    # Alternate value slightly so ids whose hues happen to be close still differ.
    value = 0.95 if int(track_id) % 2 == 0 else 0.8
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, value)
    return round(255 * r), round(255 * g), round(255 * b)


def draw_tracks(
    frame_rgb: np.ndarray,
    boxes_xywh: np.ndarray,
    ids: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    thickness: int | None = None,
) -> np.ndarray:
    """Draw boxes with their id (or `labels`) on a copy of the frame.

    Args:
      frame_rgb: [H, W, 3] uint8 RGB; not modified.
      boxes_xywh: [K, 4] top-left x, y, width, height in pixels.
      ids: [K] integer track ids; they pick the colours.
      labels: optional K strings shown instead of the ids.
      thickness: box line width in px; default scales with the image size.

    Returns:
      [H, W, 3] uint8 RGB, a new array.
    """
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame_rgb must be [H, W, 3] uint8, got {frame.shape} {frame.dtype}")
    boxes = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
    ids = np.asarray(ids).reshape(-1)
    if len(ids) != len(boxes):
        raise ValueError(f"draw_tracks: {len(boxes)} boxes but {len(ids)} ids")
    if labels is not None and len(labels) != len(boxes):
        raise ValueError(f"draw_tracks: {len(boxes)} boxes but {len(labels)} labels")
    out = np.ascontiguousarray(frame).copy()
    size = min(frame.shape[:2])
    thick = thickness if thickness is not None else max(1, round(size / 240))
    font_scale = max(0.35, size / 900)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for k, (x, y, w, h) in enumerate(boxes):
        color = id_color(int(ids[k]))
        p0, p1 = (round(x), round(y)), (round(x + w), round(y + h))
        cv2.rectangle(out, p0, p1, color, thick)  # no AA: exact id colour
        text = str(int(ids[k])) if labels is None else str(labels[k])
        (tw, th), base = cv2.getTextSize(text, font, font_scale, 1)
        # Label sits on the box's top edge, moved inside the image when the box is cut.
        lx = min(max(p0[0], 0), max(out.shape[1] - tw - 2, 0))
        ly = min(max(p0[1], th + base + 2), out.shape[0] - 1)
        cv2.rectangle(out, (lx, ly - th - base - 2), (lx + tw + 2, ly), color, -1)
        # Dark text on light colours, light text on dark ones: readable on every id.
        luma = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
        ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
        cv2.putText(out, text, (lx + 1, ly - base - 1), font, font_scale, ink, 1, cv2.LINE_AA)
    return out


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> None:
    """Write RGB frames to a video file ('mp4v' for .mp4, 'MJPG' for .avi).

    Frames go to a temporary file in the target's folder that replaces `path` only once
    every frame was written, so an interrupted run never leaves a truncated video.

    Args:
      path: output file, .mp4 or .avi; missing parent folders are created.
      frames: [H, W, 3] uint8 RGB arrays, all the same size; at least one.
      fps: frames per second stored in the file.
    """
    path = pathlib.Path(path)
    fourcc = _FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"{path}: unsupported video extension, use one of {sorted(_FOURCC)}")
    if not fps > 0:
        raise ValueError(f"{path}: fps must be > 0, got {fps}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique hidden name next to the target (so os.replace is an atomic rename) that
    # keeps the real suffix, since OpenCV picks the container from it. OpenCV creates the
    # file itself, so it gets the permissions a plain open() would.
    tmp_name = str(path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}"))
    writer = None
    try:
        shape = None
        for i, frame in enumerate(frames):
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(
                    f"{path}: frame {i} must be [H, W, 3] uint8, got {frame.shape} {frame.dtype}"
                )
            if writer is None:
                shape = frame.shape
                size = (shape[1], shape[0])
                writer = cv2.VideoWriter(tmp_name, cv2.VideoWriter_fourcc(*fourcc), fps, size)
                if not writer.isOpened():
                    raise RuntimeError(
                        f"{path}: cv2.VideoWriter could not open a {fourcc!r} writer "
                        f"({size[0]}x{size[1]} at {fps} fps); is the OpenCV build missing "
                        "the codec (try .avi / MJPG) or is the folder not writable?"
                    )
            elif frame.shape != shape:
                raise ValueError(f"{path}: frame {i} has shape {frame.shape}, frame 0 {shape}")
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if writer is None:
            raise ValueError(f"{path}: no frames to write")
        writer.release()
        writer = None
        os.replace(tmp_name, path)
    except BaseException:
        if writer is not None:
            writer.release()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def render_tracking_video(
    sequence_dir: str | os.PathLike,
    results: mot.TrackResults,
    out_path: str | os.PathLike,
    *,
    progress: bool = True,
    fps: float | None = None,
) -> None:
    """Draw `results` on every frame of a sequence folder and write them as a video.

    Args:
      sequence_dir: a MOTChallenge sequence folder (seqinfo.ini + img1/ or a video).
      results: tracks to draw; frames without results are written undecorated.
      out_path: .mp4 or .avi file.
      progress: show a tqdm bar.
      fps: defaults to the sequence's frame rate.
    """
    seq = mot.read_sequence(sequence_dir)
    length = seq.info.length
    if length < 1:
        raise ValueError(f"{sequence_dir}: sequence has no frames (seqLength {length})")

    def frames():
        for t in tqdm(range(1, length + 1), desc=seq.info.name, disable=not progress):
            rows = results.for_frame(t)
            yield draw_tracks(seq.frame(t), results.boxes[rows], results.ids[rows])

    try:
        write_video(out_path, frames(), fps if fps is not None else seq.info.frame_rate)
    finally:
        seq.close()
