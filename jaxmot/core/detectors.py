"""Where boxes come from when a program tracks raw frames: detectors that need no model
of ours (OpenCV's HOG people detector) and precomputed detections (a MOTChallenge
det.txt, or a folder of YOLO txt files as ultralytics writes them).

Every detector is called with one RGB frame and its 1-based index and returns a
`FrameDetections` (xywh pixel boxes, scores) plus class ids [M] (`Detected`). Learned
detectors of the systems (`jaxmot.jde.detector.JDEDetector`) fit the same call through
the programs that combine them.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re

import numpy as np

from jaxmot.core.mot_io import MOTFormatError, read_detections
from jaxmot.core.tracker import FrameDetections

HOG_WINDOW_HEIGHT = 128  # the Dalal-Triggs people window is 64 x 128 px
# Dalal & Triggs (CVPR 2005, sec. 3): the 64 x 128 window holds the person with "about 16
# pixels of margin around the person on all four sides".
HOG_MARGIN = (16 / 64, 16 / 128)  # of the window's width and height, per side


@dataclasses.dataclass(frozen=True)
class Detected:
    """One frame's detections: `detections` (xywh, scores) and `classes` [M] int."""

    detections: FrameDetections
    classes: np.ndarray

    def only(self, classes) -> Detected:
        """The detections whose class is in `classes` (None: all)."""
        if classes is None:
            return self
        keep = np.isin(self.classes, np.asarray(list(classes)))
        dets = self.detections
        features = None if dets.features is None else dets.features[keep]
        return Detected(
            FrameDetections(dets.boxes[keep], dets.scores[keep], features), self.classes[keep]
        )

    def above(self, min_score: float | None) -> Detected:
        if min_score is None:
            return self
        dets = self.detections
        keep = dets.scores >= min_score
        features = None if dets.features is None else dets.features[keep]
        return Detected(
            FrameDetections(dets.boxes[keep], dets.scores[keep], features), self.classes[keep]
        )


def _detected(boxes, scores, classes=None) -> Detected:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    classes = np.zeros(len(boxes), np.int64) if classes is None else np.asarray(classes, np.int64)
    return Detected(FrameDetections(boxes, np.asarray(scores, np.float32)), classes)


@dataclasses.dataclass
class HOGPeopleDetector:
    """OpenCV's HOG + linear SVM people detector (Dalal & Triggs 2005), no weights to load.

    min_height: the smallest person (px) to find; frames are scaled by
      128 / min_height first, since the detector's window is 128 px tall. None: 64 px or
      an eighth of the frame height, whichever is larger.
    hit_threshold: the SVM margin a window needs (OpenCV's hitThreshold).
    scale: the image pyramid's step; win_stride: the window step in px.
    background: drop detections on static background (a MOG2 background model of the
      frames so far; for static cameras): a box needs `min_foreground` of its pixels
      moving. The first frames, while the model learns, pass unfiltered.
    tight: shrink each window by the window's margin (HOG_MARGIN) to the person's box,
      as tracking benchmarks' boxes are drawn; False keeps OpenCV's window.
    Scores are the SVM margin through a logistic, sigmoid(margin): uncalibrated, larger
    is more confident, 0.5 at the decision boundary. Class 0 (person).
    """

    min_height: float | None = None
    hit_threshold: float = 0.0
    scale: float = 1.05
    win_stride: int = 8
    background: bool = False
    min_foreground: float = 0.1
    tight: bool = True

    def __post_init__(self):
        import cv2

        if not hasattr(cv2, "HOGDescriptor"):
            raise ImportError(
                f"--detector hog needs OpenCV's HOGDescriptor, which OpenCV {cv2.__version__}'s "
                "main package no longer has: install OpenCV 4.x (pip install 'opencv-python<5')"
            )
        if self.min_height is not None and not self.min_height > 0:
            raise ValueError(f"HOG min_height must be > 0, got {self.min_height}")
        if not self.scale > 1.0:
            raise ValueError(f"HOG scale must be > 1, got {self.scale}")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._background = cv2.createBackgroundSubtractorMOG2() if self.background else None
        self._frames_seen = 0

    def __call__(self, frame: np.ndarray, index: int | None = None) -> Detected:
        import cv2

        del index
        height = frame.shape[0]
        min_height = self.min_height or max(64.0, height / 8)
        factor = HOG_WINDOW_HEIGHT / min_height
        bgr = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
        image = bgr if factor == 1 else cv2.resize(bgr, None, fx=factor, fy=factor)
        rects, weights = self._hog.detectMultiScale(
            image,
            hitThreshold=self.hit_threshold,
            winStride=(self.win_stride, self.win_stride),
            padding=(8, 8),
            scale=self.scale,
        )
        boxes = np.asarray(rects, np.float32).reshape(-1, 4) / factor
        if self.tight and len(boxes):
            mx, my = HOG_MARGIN[0] * boxes[:, 2], HOG_MARGIN[1] * boxes[:, 3]
            boxes = np.stack(
                [boxes[:, 0] + mx, boxes[:, 1] + my, boxes[:, 2] - 2 * mx, boxes[:, 3] - 2 * my],
                axis=1,
            )
        margins = np.asarray(weights, np.float32).reshape(-1)
        scores = 1.0 / (1.0 + np.exp(-margins))
        if self._background is not None:
            mask = self._background.apply(bgr)
            self._frames_seen += 1
            if self._frames_seen > 10 and len(boxes):  # the model needs a few frames first
                keep = [_foreground_share(mask, box) >= self.min_foreground for box in boxes]
                boxes, scores = boxes[keep], scores[keep]
        return _detected(boxes, scores)


def _foreground_share(mask: np.ndarray, box_xywh: np.ndarray) -> float:
    h, w = mask.shape[:2]
    x0, y0 = int(max(0, box_xywh[0])), int(max(0, box_xywh[1]))
    x1, y1 = int(min(w, box_xywh[0] + box_xywh[2])), int(min(h, box_xywh[1] + box_xywh[3]))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float((mask[y0:y1, x0:x1] == 255).mean())  # 127: MOG2's shadows


class DetectionsFile:
    """Precomputed detections of a MOTChallenge det.txt (frames 1-based, in the source's
    frame order); the class column (8th) where the file has one, else 0."""

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"--detections {self.path}: no such file")
        self.detections = read_detections(self.path)
        # MOTChallenge det.txt has no class (-1): people, class 0 as in COCO.
        self.classes = np.maximum(self.detections.classes, 0).astype(np.int64)

    def __call__(self, frame: np.ndarray | None, index: int) -> Detected:
        rows = self.detections.for_frame(index)
        return _detected(
            self.detections.boxes[rows], self.detections.scores[rows], self.classes[rows]
        )

    @property
    def last_frame(self) -> int:
        return int(self.detections.frames.max(initial=0))


class YOLOLabelsFolder:
    """Detections from a folder of YOLO-format txt files, one per frame, as ultralytics
    writes them (`save_txt=True, save_conf=True`): lines `cls cx cy w h [conf]`
    normalised to the frame size. Files are `<stem>_<frame>.txt` (frame 1-based: a video
    source) or, for a folder of images, named as the images (`<image stem>.txt`). A frame
    without a file has no detections; a missing conf reads as 1."""

    def __init__(self, folder: str | os.PathLike, image_names: list[str] | None = None):
        self.folder = pathlib.Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"--detections {self.folder}: no such folder")
        self.files = {p.stem: p for p in self.folder.glob("*.txt")}
        if not self.files:
            raise FileNotFoundError(f"--detections {self.folder}: no .txt label files in it")
        self.image_names = image_names
        self._by_frame = {}
        for stem, path in self.files.items():
            match = re.fullmatch(r".*_(\d+)", stem)
            if match:
                self._by_frame[int(match.group(1))] = path

    def _file(self, index: int) -> pathlib.Path | None:
        if self.image_names is not None and 0 < index <= len(self.image_names):
            named = self.files.get(pathlib.Path(self.image_names[index - 1]).stem)
            if named is not None:
                return named
        return self._by_frame.get(index)

    def __call__(self, frame: np.ndarray, index: int) -> Detected:
        path = self._file(index)
        if path is None:
            return _detected(np.zeros((0, 4)), np.zeros(0))
        height, width = frame.shape[:2]
        rows = []
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) not in (5, 6):
                raise MOTFormatError(path, lineno, "line", "expected 'cls cx cy w h [conf]'")
            try:
                values = [float(v) for v in fields]
            except ValueError:
                raise MOTFormatError(path, lineno, "line", "a field is not a number") from None
            if not np.isfinite(values).all() or values[3] <= 0 or values[4] <= 0:
                raise MOTFormatError(path, lineno, "w/h", "must be finite and > 0")
            rows.append(values if len(values) == 6 else [*values, 1.0])
        table = np.asarray(rows, np.float64).reshape(-1, 6)
        cx, cy = table[:, 1] * width, table[:, 2] * height
        w, h = table[:, 3] * width, table[:, 4] * height
        boxes = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
        return _detected(boxes, table[:, 5], table[:, 0].astype(np.int64))


__all__ = [
    "Detected",
    "DetectionsFile",
    "HOGPeopleDetector",
    "YOLOLabelsFolder",
]
