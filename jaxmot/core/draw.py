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

__all__ = ["VideoWriter", "draw_tracks", "id_color", "render_tracking_video", "write_video"]

_GOLDEN = 0.6180339887498949  # hue step: consecutive ids land far apart on the colour wheel
_CODECS = {".mp4": "h264", ".avi": "MJPG"}  # H.264 through PyAV; MJPG through OpenCV


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


class VideoWriter:
    """Streams RGB frames into a video file: H.264 (yuv420p, PyAV's libx264) for .mp4,
    which browsers, VS Code, Jupyter and GitHub play; MJPG (OpenCV) for .avi.

        with VideoWriter("out.mp4", fps=25) as video:
            for frame in frames:
                video.write(frame)     # [H, W, 3] uint8 RGB, all the same size

    Frames go to a temporary file in the target's folder that replaces `path` only when
    the writer closes without an error, so an interrupted run never leaves a truncated
    video (and an earlier video at `path` survives it). Odd widths or heights get one
    black row or column (H.264's 4:2:0 needs even sizes).
    """

    def __init__(self, path: str | os.PathLike, fps: float):
        self.path = pathlib.Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _CODECS:
            raise ValueError(
                f"{self.path}: unsupported video extension, use one of {sorted(_CODECS)}"
            )
        if not fps > 0:
            raise ValueError(f"{self.path}: fps must be > 0, got {fps}")
        self.fps = float(fps)
        self.codec = _CODECS[suffix]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A unique hidden name next to the target (os.replace is then an atomic rename)
        # that keeps the real suffix, from which both libraries pick the container.
        self._tmp = self.path.with_name(
            f".{self.path.stem}.{uuid.uuid4().hex[:12]}.tmp{self.path.suffix}"
        )
        self._shape = None
        self._out = None  # (container, stream) for PyAV, a cv2.VideoWriter for OpenCV
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"{self.path}: frame {self.frames} must be [H, W, 3] uint8, "
                f"got {frame.shape} {frame.dtype}"
            )
        if self._out is None:
            self._shape = frame.shape
            self._open(frame.shape[1], frame.shape[0])
        elif frame.shape != self._shape:
            raise ValueError(
                f"{self.path}: frame {self.frames} has shape {frame.shape}, frame 0 {self._shape}"
            )
        if self.codec == "h264":
            import av

            container, stream = self._out
            h, w = frame.shape[:2]
            if (h % 2) or (w % 2):
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        else:
            self._out.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        if self.codec == "h264":
            import fractions

            import av

            # faststart: the index at the front, so browsers play while downloading.
            container = av.open(str(self._tmp), mode="w", options={"movflags": "+faststart"})
            rate = fractions.Fraction(self.fps).limit_denominator(1001)
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            self._out = (container, stream)
            return
        writer = cv2.VideoWriter(
            str(self._tmp), cv2.VideoWriter_fourcc(*self.codec), self.fps, (width, height)
        )
        if not writer.isOpened():
            raise RuntimeError(
                f"{self.path}: cv2.VideoWriter could not open a {self.codec!r} writer "
                f"({width}x{height} at {self.fps} fps); is the folder writable?"
            )
        self._out = writer

    def close(self) -> None:
        """Finish the file and move it to `path` (an error if no frame was written)."""
        if self._out is None:
            raise ValueError(f"{self.path}: no frames to write")
        self._release()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file; `path` is left as it was."""
        with contextlib.suppress(Exception):
            self._release()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)

    def _release(self) -> None:
        out, self._out = self._out, None
        if out is None:
            return
        if self.codec == "h264":
            container, stream = out
            for packet in stream.encode():  # flush the encoder's delayed frames
                container.mux(packet)
            container.close()
        else:
            out.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> None:
    """Write RGB frames to a video file (`VideoWriter`: H.264 .mp4 or MJPG .avi),
    streaming: frames are encoded as they come, never all held in memory.

    Args:
      path: output file, .mp4 or .avi; missing parent folders are created.
      frames: [H, W, 3] uint8 RGB arrays, all the same size; at least one.
      fps: frames per second stored in the file.
    """
    with VideoWriter(path, fps) as video:
        for frame in frames:
            video.write(frame)


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
