"""Frames from wherever they are: a video file, a folder or glob of images, a camera.

    source = open_source("clip.mp4")          # or "frames/", "frames/*.jpg", "0"
    for frame in source:                       # [H, W, 3] uint8 RGB, frame 1 first
        ...
    source.fps, source.num_frames, source.size # read from the container where it has them

Every frame comes out RGB: OpenCV's BGR is converted here, once, so nothing downstream
has to guess the channel order. Videos are read with PyAV (any container FFmpeg
reads; frame rate and count from the stream), falling back to OpenCV when PyAV cannot
open the file. Camera indices go to OpenCV (`cv2.VideoCapture(index)`).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pathlib
import re
from collections.abc import Iterator

import numpy as np

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
CAMERA_FPS = 30.0  # when a camera does not report its rate
IMAGES_FPS = 30.0  # a folder of images has no rate of its own


def _natural_key(path: pathlib.Path) -> list:
    """frame2.jpg before frame10.jpg."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


@dataclasses.dataclass
class FrameSource:
    """An iterable of RGB frames with what is known about them.

    name: a short name (the file or folder stem, or "camera0");
    fps: frames per second (the container's, `--fps`, or a default when unknown);
    num_frames: the number of frames (None for a camera, or a video without a count);
    size: (width, height) of the frames (None until known);
    max_frames: stop after this many frames (None: all).
    """

    name: str
    kind: str  # "video", "images" or "camera"
    fps: float
    num_frames: int | None
    size: tuple[int, int] | None
    location: str
    max_frames: int | None = None
    _images: list[pathlib.Path] = dataclasses.field(default_factory=list, repr=False)

    @property
    def length(self) -> int | None:
        """Frames this source will give (num_frames capped by max_frames)."""
        if self.num_frames is None:
            return self.max_frames
        return self.num_frames if self.max_frames is None else min(self.num_frames, self.max_frames)

    def __iter__(self) -> Iterator[np.ndarray]:
        frames = {"images": self._read_images, "video": self._read_video}.get(
            self.kind, self._read_camera
        )()
        for count, frame in enumerate(frames, start=1):
            if self.size is None:
                self.size = (frame.shape[1], frame.shape[0])
            yield frame
            if self.max_frames is not None and count >= self.max_frames:
                return

    def _read_images(self) -> Iterator[np.ndarray]:
        from jaxmot.core.images import read_rgb

        for path in self._images:
            yield read_rgb(path)

    def _read_video(self) -> Iterator[np.ndarray]:
        try:
            import av

            container = av.open(self.location)
        except Exception:  # noqa: BLE001 - PyAV missing or the container unknown to it
            yield from _opencv_frames(self.location, self.location)
            return
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")

    def _read_camera(self) -> Iterator[np.ndarray]:
        yield from _opencv_frames(int(self.location), f"camera {self.location}")


def _opencv_frames(target, what: str) -> Iterator[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        raise FileNotFoundError(f"{what}: OpenCV could not open it")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _probe_video(path: pathlib.Path) -> tuple[float | None, int | None, tuple[int, int] | None]:
    """(fps, frame count, (width, height)) from the container; None where unknown."""
    try:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate or stream.guessed_rate
            count = stream.frames or None
            if count is None and stream.duration and stream.time_base and rate:
                count = round(float(stream.duration * stream.time_base * rate))
            size = (stream.codec_context.width, stream.codec_context.height)
            return (float(rate) if rate else None), count, size
    except Exception:  # noqa: BLE001 - fall back to OpenCV's reading of the header
        import cv2

        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise ValueError(f"{path}: neither PyAV nor OpenCV can read this video") from None
        try:
            fps = capture.get(cv2.CAP_PROP_FPS) or None
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
            size = (
                int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            )
            return fps, count, size
        finally:
            capture.release()


def _image_files(spec: str) -> list[pathlib.Path]:
    path = pathlib.Path(spec)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file()]
    else:
        files = [pathlib.Path(p) for p in glob.glob(spec)]
        files = [p for p in files if p.suffix.lower() in IMAGE_EXTS and p.is_file()]
    return sorted(files, key=_natural_key)


def open_source(
    spec: str | os.PathLike | int, fps: float | None = None, max_frames: int | None = None
) -> FrameSource:
    """The frames `spec` names: a camera index ("0"), a video file, a folder of images or
    a glob ("frames/*.jpg", images in natural order). `fps` overrides the container's
    rate; `max_frames` stops early. Bad specs raise one clear error naming them."""
    if fps is not None and not fps > 0:
        raise ValueError(f"--fps must be > 0, got {fps}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1, got {max_frames}")
    text = str(spec)
    if text.isdigit():
        return _open_camera(int(text), fps, max_frames)
    path = pathlib.Path(text)
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTS:
            files = [path]
        else:
            rate, count, size = _probe_video(path)
            return FrameSource(
                path.stem, "video", fps or rate or IMAGES_FPS, count, size, str(path), max_frames
            )
    elif path.is_dir() or any(ch in text for ch in "*?["):
        files = _image_files(text)
        if not files:
            what = "folder" if path.is_dir() else "pattern"
            raise FileNotFoundError(f"--source {text}: the {what} holds no images {IMAGE_EXTS}")
    else:
        raise FileNotFoundError(
            f"--source {text}: no such video, image folder or glob (a camera is a number)"
        )
    name = path.stem if path.is_dir() else files[0].parent.name or "images"
    source = FrameSource(
        name, "images", fps or IMAGES_FPS, len(files), None, text, max_frames, files
    )
    return source


def _open_camera(index: int, fps: float | None, max_frames: int | None) -> FrameSource:
    import cv2

    capture = cv2.VideoCapture(index)
    try:
        if not capture.isOpened():
            raise FileNotFoundError(
                f"--source {index}: no camera with index {index} could be opened"
            )
        rate = capture.get(cv2.CAP_PROP_FPS) or None
        size = (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
    finally:
        capture.release()
    return FrameSource(
        f"camera{index}", "camera", fps or rate or CAMERA_FPS, None, size, str(index), max_frames
    )


__all__ = ["IMAGE_EXTS", "VIDEO_EXTS", "FrameSource", "open_source"]
