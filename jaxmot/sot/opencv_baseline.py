"""A single-object tracking baseline: OpenCV's MIL tracker (Babenko et al., CVPR 2009).

tracker = MILTracker()                  # frames are RGB, as jaxmot.core.images gives them
tracker.init(first_frame, (x, y, w, h))
box = tracker.update(next_frame)        # [4] float64 xywh
boxes = track_sequence(iter_frames(frames_dir), init_box)   # [T, 4], row 0 = init box

Colour order: OpenCV's MIL turns a 3-channel frame to grey with the BGR weights
(`COLOR_BGR2GRAY`), so frames are handed to it as BGR. `MILTracker` takes RGB by default
(what `jaxmot.sot.sequences.iter_frames` yields) and flips it; pass
`color_order="bgr"` for frames from `cv2.imread` / `cv2.VideoCapture`. Grey [H, W]
frames are passed through.

MIL works in whole pixels and never changes the box size: boxes are rounded to integers
(and clipped to the image) at `init`, and every update returns a box of that size.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

COLOR_ORDERS = ("rgb", "bgr")


def _create_mil():
    # OpenCV >= 4.5.1 has TrackerMIL.create(); older 4.x only the module-level factory.
    if hasattr(cv2, "TrackerMIL") and hasattr(cv2.TrackerMIL, "create"):
        return cv2.TrackerMIL.create()
    return cv2.TrackerMIL_create()


class MILTracker:
    """OpenCV MIL on one target. `init` once, then `update` on each later frame."""

    def __init__(self, color_order: str = "rgb"):
        if color_order not in COLOR_ORDERS:
            raise ValueError(f"color_order must be one of {COLOR_ORDERS}, got {color_order!r}")
        self.color_order = color_order
        self._tracker = None
        self._box: np.ndarray | None = None
        self.last_ok = False  # did the latest update find the target?

    def _to_cv(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {frame.dtype}")
        if frame.ndim == 3 and frame.shape[2] == 3:
            if self.color_order == "rgb":
                frame = frame[..., ::-1]
        elif frame.ndim != 2:
            raise ValueError(f"frames must be [H, W, 3] or [H, W], got shape {frame.shape}")
        return np.ascontiguousarray(frame)

    def init(self, frame: np.ndarray, box_xywh) -> None:
        """Start tracking the box [4] xywh (pixels) in `frame` ([H, W, 3] uint8 or grey)."""
        image = self._to_cv(frame)
        box = np.asarray(box_xywh, np.float64).reshape(-1)
        if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"init box must be finite x,y,w,h with w, h > 0, got {box_xywh}")
        h_img, w_img = image.shape[:2]
        # Round x, y, w, h each (as OpenCV's Rect2d -> Rect does), then clip to the image.
        x, y, w, h = (round(v) for v in box)
        x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, w_img), min(y + h, h_img)
        if x2 - x1 < 1 or y2 - y1 < 1:
            raise ValueError(f"init box {box.tolist()} lies outside the {w_img}x{h_img} image")
        rect = (int(x1), int(y1), int(x2 - x1), int(y2 - y1))
        self._tracker = _create_mil()
        try:
            self._tracker.init(image, rect)
        except cv2.error as e:
            raise ValueError(
                f"OpenCV MIL cannot start on box {rect} in a {w_img}x{h_img} "
                f"image (too close to the border or too small?): {e}"
            ) from None
        self._box = np.asarray(rect, np.float64)
        self.last_ok = True

    def update(self, frame: np.ndarray) -> np.ndarray:
        """The target's box [4] float64 xywh in `frame`; the previous box when MIL fails."""
        if self._tracker is None:
            raise RuntimeError("call init(frame, box) before update(frame)")
        ok, rect = self._tracker.update(self._to_cv(frame))
        self.last_ok = bool(ok)
        if ok:
            self._box = np.asarray(rect, np.float64)
        return self._box.copy()


def track_sequence(frames: Iterable[np.ndarray], init_box, color_order: str = "rgb") -> np.ndarray:
    """Track one target through `frames`, starting from `init_box` [4] xywh on the first.

    Returns:
      [T, 4] float64 xywh, one row per frame; row 0 is `init_box` as given, and a frame
      where MIL reports failure repeats the previous box.
    """
    tracker = MILTracker(color_order)
    boxes = []
    for frame in frames:
        if not boxes:
            tracker.init(frame, init_box)
            boxes.append(np.asarray(init_box, np.float64).reshape(4))
        else:
            boxes.append(tracker.update(frame))
    if not boxes:
        raise ValueError("no frames to track")
    return np.stack(boxes)
