"""Choosing the motion trackers' defaults on data that excludes what they are reported on.

A default is chosen on a validation set that is broad in the way detectors differ
(jaxmot.mot.detector_zoo: recall, box noise, false positives, score calibration) and that
shares no sequence with the sets the tracker is reported on:

    validation  synthetic scenes (stream part 5 of `scene_seed`, 300 frames each) and the
                real MOT17-02 and MOT17-04 trajectories, each detected by every simulated
                detector; and MOT17-02/04 with a real detector's public detections
    reporting   MOT15 TUD-Campus + TUD-Stadtmitte (real detections) and MOT17-05 and
                MOT17-09 detected by the simulated detectors (another seed)

`score_table` runs a tracker per setting on every validation sequence; settings are ranked
by the mean over detectors of the pooled IDF1 + HOTA, so no detector's many boxes
(MOT17-04 has 47k) decide alone.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable

import numpy as np

from jaxmot.core.eval.metrics import OVERALL, evaluate
from jaxmot.core.mot_io import MOTSequence, SequenceInfo, read_detections, read_sequence
from jaxmot.core.sequence import track_sequence
from jaxmot.core.synthetic import SceneConfig, detections_from_gt, scene_seed, simulate
from jaxmot.core.tracker import OnlineTracker
from jaxmot.mot.detector_zoo import DETECTORS

SELECTION_PART = 5  # scene_seed stream of the validation scenes
VALIDATION_MOT17 = ("MOT17-02-FRCNN", "MOT17-04-FRCNN")
REPORTING_MOT17 = ("MOT17-05-FRCNN", "MOT17-09-FRCNN")
REPORTING_TUD = ("TUD-Campus", "TUD-Stadtmitte")


def synthetic_sequence(index: int, detector_name: str, seed: int = 0) -> MOTSequence:
    """Validation scene `index` (300 frames) as detected by `detector_name`."""
    spec = DETECTORS[detector_name]
    scene = simulate(
        SceneConfig(
            render=False,
            num_frames=300,
            seed=scene_seed(seed, SELECTION_PART, index),
            detector=spec.model,
        )
    )
    cfg = scene.config
    info = SequenceInfo(f"SYN{index}", pathlib.Path("."), cfg.frame_rate, cfg.num_frames,
                        cfg.width, cfg.height)  # fmt: skip
    return MOTSequence(info, spec.recalibrated(scene.detections), scene.gt)


def detected_sequence(folder: pathlib.Path, detector_name: str, seed: int) -> MOTSequence:
    """A sequence with gt (MOT17) whose detections the simulated detector makes from it."""
    sequence = read_sequence(folder)
    spec = DETECTORS[detector_name]
    rng = np.random.default_rng([seed, *map(ord, sequence.info.name)])
    dets, _, _ = detections_from_gt(sequence, spec.model, rng)
    return dataclasses.replace(sequence, detections=spec.recalibrated(dets))


def validation_sets(
    mot17_dir: pathlib.Path | None,
    scenes: int = 3,
    seed: int = 0,
    real_detections_dir: pathlib.Path | None = None,
):
    """{detector: {sequence name: MOTSequence}}: synthetic scenes plus MOT17-02/04 (when
    `mot17_dir`, a folder holding them, is given) for every simulated detector, and a
    "real" set: MOT17-02/04 with a real detector's det.txt from `real_detections_dir`
    (a folder of `<sequence>/det/det.txt`) scored against the full gt of `mot17_dir`."""
    sets = {}
    for name in DETECTORS:
        seqs = {f"SYN{j}": synthetic_sequence(j, name, seed) for j in range(scenes)}
        if mot17_dir is not None:
            for seq in VALIDATION_MOT17:
                seqs[seq] = detected_sequence(mot17_dir / seq, name, seed)
        sets[name] = seqs
    if mot17_dir is not None and real_detections_dir is not None:
        sets["real"] = {
            seq: dataclasses.replace(
                read_sequence(mot17_dir / seq),
                detections=read_detections(real_detections_dir / seq / "det" / "det.txt"),
            )
            for seq in VALIDATION_MOT17
            if (real_detections_dir / seq / "det" / "det.txt").is_file()
        }
    return sets


def reporting_sets(tud_dir: pathlib.Path | None, mot17_dir: pathlib.Path | None,
                   detectors: tuple[str, ...], seed: int = 1):  # fmt: skip
    """{set name: {sequence name: MOTSequence}}: "TUD" (real detections) and one
    "MOT17/<detector>" set per simulated detector (MOT17-05 and -09)."""
    sets = {}
    if tud_dir is not None:
        sets["TUD"] = {name: read_sequence(tud_dir / name) for name in REPORTING_TUD}
    if mot17_dir is not None:
        for det in detectors:
            sets[f"MOT17/{det}"] = {
                seq: detected_sequence(mot17_dir / seq, det, seed) for seq in REPORTING_MOT17
            }
    return sets


def score_set(make: Callable[[float], OnlineTracker], sequences: dict[str, MOTSequence]) -> dict:
    """Pooled metrics (OVERALL) of a fresh tracker `make(frame_rate)` on every sequence."""
    pairs = {}
    for name, seq in sequences.items():
        pairs[name] = (seq.gt, track_sequence(make(seq.info.frame_rate), seq).results)
    return evaluate(pairs)[OVERALL]


def selection_score(per_detector: dict[str, dict]) -> float:
    """Mean over detectors of (IDF1 + HOTA) / 2: the selection criterion (module doc)."""
    return float(np.mean([(m["IDF1"] + m["HOTA"]) / 2 for m in per_detector.values()]))


__all__ = [
    "REPORTING_MOT17",
    "REPORTING_TUD",
    "SELECTION_PART",
    "VALIDATION_MOT17",
    "detected_sequence",
    "reporting_sets",
    "score_set",
    "selection_score",
    "synthetic_sequence",
    "validation_sets",
]
