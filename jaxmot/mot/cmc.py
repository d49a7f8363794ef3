"""Camera-motion compensation (global motion of the image) for BoT-SORT, with OpenCV.

`CameraMotion.apply(frame)` returns the [2, 3] affine that maps the previous frame's
pixel coordinates to this frame's, as BoT-SORT's GMC (tracker/gmc.py) estimates it:

* "sparseOptFlow" (GMC's default): on the grey frame downscaled by `downscale` (2),
  Shi-Tomasi corners (goodFeaturesToTrack: at most 1000, quality 0.01, min distance 1,
  block 3) of the previous frame are followed by pyramidal Lucas-Kanade optical flow,
  and a partial affine (rotation, uniform scale, translation) is fitted to the tracked
  pairs with RANSAC (estimateAffinePartial2D); its translation is scaled back to full
  resolution. Fewer than 5 tracked corners: the identity.
* "ecc": OpenCV's ECC alignment (findTransformECC, Euclidean motion, 5000 iterations or
  eps 1e-6) of the blurred, downscaled grey frames. Two slips of GMC.applyEcc are not
  reproduced: it never replaces its reference frame after the first one, and it returns
  the translation of the downscaled images unscaled; here each frame is aligned to the
  previous one and the translation is in full-resolution pixels.
* "none": always the identity.

No frame (None: a sequence without images), the first frame, or a failed estimate give
the identity. Frames are [H, W, 3] uint8 RGB (`OnlineTracker.frame_image`) or [H, W] grey.
"""

from __future__ import annotations

import cv2
import numpy as np

CMC_METHODS = ("sparseOptFlow", "ecc", "none")


def _identity() -> np.ndarray:
    return np.eye(2, 3, dtype=np.float32)


class CameraMotion:
    """Frame-to-frame global motion; keeps the previous (downscaled grey) frame."""

    def __init__(self, method: str = "sparseOptFlow", downscale: int = 2):
        if method not in CMC_METHODS:
            raise ValueError(
                f"unknown camera-motion method {method!r}; choose one of {CMC_METHODS}"
            )
        if int(downscale) < 1:
            raise ValueError(f"downscale must be >= 1, got {downscale}")
        self.method = method
        self.downscale = int(downscale)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (a new sequence starts)."""
        self._previous: np.ndarray | None = None
        self._corners: np.ndarray | None = None

    def apply(self, frame: np.ndarray | None) -> np.ndarray:
        """[2, 3] float32 affine: previous frame's pixels -> this frame's."""
        if frame is None or self.method == "none":
            return _identity()
        grey = self._grey(frame)
        if self.method == "ecc":
            return self._ecc(grey)
        return self._sparse_flow(grey)

    def _grey(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        if frame.ndim == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        elif frame.ndim != 2:
            raise ValueError(f"frame must be [H, W, 3] RGB or [H, W] grey, got {frame.shape}")
        if frame.dtype != np.uint8:
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        if self.method == "ecc":  # GMC.applyEcc blurs before downscaling
            frame = cv2.GaussianBlur(frame, (3, 3), 1.5)
        if self.downscale > 1:
            height, width = frame.shape
            frame = cv2.resize(frame, (width // self.downscale, height // self.downscale))
        return frame

    def _sparse_flow(self, grey: np.ndarray) -> np.ndarray:
        corners = cv2.goodFeaturesToTrack(
            grey, maxCorners=1000, qualityLevel=0.01, minDistance=1, blockSize=3,
            useHarrisDetector=False, k=0.04,
        )  # fmt: skip
        previous, previous_corners = self._previous, self._corners
        self._previous, self._corners = grey, corners
        warp = _identity()
        if previous is None or previous_corners is None or previous.shape != grey.shape:
            return warp
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, previous_corners, None)
        good = status.reshape(-1).astype(bool)
        if good.sum() <= 4:  # GMC: more than 4 pairs, else the identity
            return warp
        fitted, _ = cv2.estimateAffinePartial2D(
            previous_corners[good], moved[good], method=cv2.RANSAC
        )
        if fitted is None:
            return warp
        warp = fitted.astype(np.float32)
        warp[:, 2] *= self.downscale
        return warp

    def _ecc(self, grey: np.ndarray) -> np.ndarray:
        previous, self._previous = self._previous, grey
        warp = _identity()
        if previous is None or previous.shape != grey.shape:
            return warp
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 5000, 1e-6)
        try:
            _, warp = cv2.findTransformECC(
                previous, grey, warp, cv2.MOTION_EUCLIDEAN, criteria, None, 1
            )
        except cv2.error:  # no convergence (e.g. a blank frame): no compensation
            return _identity()
        warp = warp.astype(np.float32)
        warp[:, 2] *= self.downscale
        return warp
