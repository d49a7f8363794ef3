"""Simulated detectors that differ the way real ones do, for choosing tracker defaults.

A tracker default tuned on one detector rarely suits another: recall, box noise,
false-positive rate and above all the score calibration differ (a high/low score split of
0.7 keeps 90% of one detector's true boxes in the first stage and 27% of another's).
Each entry is a `DetectorModel` (jaxmot.core.synthetic: recall by visibility, box noise,
false positives, scores) plus a monotone map of its scores, which changes the
calibration and nothing else:

    score' = clip(offset + scale * score ** power, 0, 1)

The models are run on ground truth (synthetic scenes, or real MOT17 trajectories) to give
detections a tracker can be scored on; `DETECTORS` names them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxmot.core.mot_io import Detections
from jaxmot.core.synthetic import DetectorModel


@dataclasses.dataclass(frozen=True)
class SimulatedDetector:
    """A DetectorModel and its score calibration (module doc); `about` says what it
    stands for."""

    model: DetectorModel
    offset: float = 0.0
    scale: float = 1.0
    power: float = 1.0
    about: str = ""

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """[K] scores of the DetectorModel -> [K] this detector's scores (float32)."""
        s = np.asarray(scores, np.float64)
        return np.clip(self.offset + self.scale * s**self.power, 0.0, 1.0).astype(np.float32)

    def recalibrated(self, detections: Detections) -> Detections:
        return dataclasses.replace(detections, scores=self.calibrate(detections.scores))


DETECTORS = {
    "calibrated": SimulatedDetector(
        DetectorModel(), about="true boxes score 0.5-1, false positives 0-0.7 (the default)"
    ),
    "spread": SimulatedDetector(
        DetectorModel(true_score_concentration=3.0),
        offset=-0.4,
        scale=1.4,
        about="scores spread over 0.3-1 (median about 0.6), as a detector run at a low threshold",
    ),
    "squeezed": SimulatedDetector(
        DetectorModel(p_max=0.85, fp_per_frame=2.0),
        offset=0.05,
        scale=0.4,
        about="uncalibrated: every score in 0.05-0.45, lower recall, 2 false positives a frame",
    ),
    "inflated": SimulatedDetector(
        DetectorModel(center_std=0.07, size_std=0.08),
        offset=0.6,
        scale=0.4,
        about="uncalibrated upwards: every score in 0.6-1, false positives too; noisier boxes",
    ),
    "weak": SimulatedDetector(
        DetectorModel(p_max=0.75, vis_hi=0.9, fp_per_frame=3.0, center_std=0.06),
        power=2.0,
        about="recall 0.75, 3 false positives a frame, scores squared (median about 0.55)",
    ),
}


def detector(name: str) -> SimulatedDetector:
    if name not in DETECTORS:
        raise ValueError(
            f"unknown simulated detector {name!r}; choose one of {', '.join(DETECTORS)}"
        )
    return DETECTORS[name]


__all__ = ["DETECTORS", "SimulatedDetector", "detector"]
