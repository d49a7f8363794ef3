"""Choosing the motion trackers' defaults on data that excludes what they are reported on.

A default is chosen on a validation set that is broad in the way detectors differ
(jaxmot.mot.detector_zoo: recall, box noise, false positives, score calibration) and that
shares no sequence with the sets the tracker is reported on:

    validation  synthetic scenes (stream part 5 of `scene_seed`, 300 frames each) and the
                real MOT17-02 and MOT17-04 trajectories at 30 fps, at 15 fps (every
                second frame) and seen by a panning camera, each detected by every
                simulated detector; and MOT17-02/04 with a real detector's public
                detections
    reporting   MOT15 TUD-Campus + TUD-Stadtmitte (real detections) and MOT17-05 and
                MOT17-09 detected by the simulated detectors (another seed)

The 15 fps and panned copies are there because the reporting sequences run at 14
(MOT17-05) and 25 fps (TUD) and MOT17-05 is filmed by a walking camera, while MOT17-02/04
are static at 30 fps: at a lower frame rate boxes move further between frames and a lost
track's buffer spans fewer frames; under a moving camera every box moves with it, which
the constant-velocity Kalman prediction only partly follows.

`score_table` runs a tracker per setting on every validation sequence; settings are ranked
by the mean over detectors of the pooled IDF1 + HOTA, so no detector's many boxes
(MOT17-04 has 47k) decide alone.
"""

from __future__ import annotations

import dataclasses
import itertools
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
# MOT17-02/04 copies: (frame step, panning camera): at 30 fps, at 15 fps, panned at 30 fps
VALIDATION_VARIANTS = ((1, False), (2, False), (1, True))
# The panning camera's speed: an AR(1) walk per frame (x and y), its stationary standard
# deviation a share of the image width per frame at 30 fps, mostly horizontal.
PAN_SPEED = (0.002, 0.0005)
PAN_MEMORY = 0.97
PANNED_SUFFIX = "+pan"  # name tail of a panned copy
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


def every_nth_frame(sequence: MOTSequence, step: int) -> MOTSequence:
    """`sequence` as filmed at 1/step of its frame rate: frames 1, 1 + step, ...
    renumbered 1, 2, ... (gt and detections alike); the name gets an `@<fps>fps` tail."""
    if step == 1:
        return sequence

    def keep(table):
        if table is None:
            return None
        rows = table.select((table.frames - 1) % step == 0)
        return dataclasses.replace(rows, frames=(rows.frames - 1) // step + 1)

    info = sequence.info
    fps = info.frame_rate / step
    info = dataclasses.replace(
        info, name=f"{info.name}@{fps:g}fps", frame_rate=fps,
        length=(info.length + step - 1) // step,
    )  # fmt: skip
    return MOTSequence(info, keep(sequence.detections), keep(sequence.gt))


def camera_pan(num_frames: int, width: float, frame_rate: float,
               rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """[num_frames, 2] image offset (x, y) of every frame (frame 1 at 0) under a panning
    camera: speed an AR(1) walk (PAN_MEMORY; stationary std PAN_SPEED x width per frame
    at 30 fps, scaled by 30 / frame_rate)."""
    scale = np.asarray(PAN_SPEED) * width * 30.0 / frame_rate
    innovation = scale * np.sqrt(1.0 - PAN_MEMORY**2)
    speed = np.zeros((num_frames, 2))
    speed[0] = rng.normal(0.0, scale)
    for t in range(1, num_frames):
        speed[t] = PAN_MEMORY * speed[t - 1] + rng.normal(0.0, innovation)
    return np.concatenate([np.zeros((1, 2)), np.cumsum(speed[:-1], axis=0)])


def panned(sequence: MOTSequence, rng: np.random.Generator) -> MOTSequence:
    """`sequence` (gt and detections) seen by a panning camera (camera_pan): every box of
    frame t moves by the frame's offset; the name gets PANNED_SUFFIX."""
    info = sequence.info
    num_frames = max(info.length, int(sequence.gt.frames.max(initial=0)))
    offset = camera_pan(num_frames, info.width or 1920, info.frame_rate, rng)

    def shift(table):
        if table is None:
            return None
        boxes = table.boxes.copy()
        boxes[:, :2] += offset[table.frames - 1].astype(np.float32)
        return dataclasses.replace(table, boxes=boxes)

    info = dataclasses.replace(info, name=info.name + PANNED_SUFFIX)
    return MOTSequence(info, shift(sequence.detections), shift(sequence.gt))


def detected_sequence(folder: pathlib.Path, detector_name: str, seed: int,
                      frame_step: int = 1, pan: bool = False) -> MOTSequence:  # fmt: skip
    """A sequence with gt (MOT17) whose detections the simulated detector makes from it
    (at 1/frame_step of its frame rate: every_nth_frame; with a panning camera: panned)."""
    sequence = every_nth_frame(read_sequence(folder), frame_step)
    spec = DETECTORS[detector_name]
    # Seeded by the copy's name: the panned copy gets its own detector draw.
    name = sequence.info.name + (PANNED_SUFFIX if pan else "")
    rng = np.random.default_rng([seed, *map(ord, name)])
    dets, _, _ = detections_from_gt(sequence, spec.model, rng)
    sequence = dataclasses.replace(sequence, detections=spec.recalibrated(dets))
    return panned(sequence, rng) if pan else sequence


def validation_sets(
    mot17_dir: pathlib.Path | None,
    scenes: int = 3,
    seed: int = 0,
    real_detections_dir: pathlib.Path | None = None,
):
    """{detector: {sequence name: MOTSequence}}: synthetic scenes plus MOT17-02/04 at 30
    and 15 fps and panned (VALIDATION_VARIANTS; when `mot17_dir`, a folder holding them,
    is given) for every simulated detector, and a "real" set: MOT17-02/04 with a real
    detector's det.txt from `real_detections_dir` (a folder of `<sequence>/det/det.txt`)
    scored against the full gt of `mot17_dir`."""
    sets = {}
    for name in DETECTORS:
        seqs = {f"SYN{j}": synthetic_sequence(j, name, seed) for j in range(scenes)}
        if mot17_dir is not None:
            for seq, (step, pan) in itertools.product(VALIDATION_MOT17, VALIDATION_VARIANTS):
                sequence = detected_sequence(mot17_dir / seq, name, seed, step, pan)
                seqs[sequence.info.name] = sequence
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
    "PANNED_SUFFIX",
    "PAN_SPEED",
    "REPORTING_MOT17",
    "REPORTING_TUD",
    "SELECTION_PART",
    "VALIDATION_MOT17",
    "VALIDATION_VARIANTS",
    "camera_pan",
    "detected_sequence",
    "every_nth_frame",
    "panned",
    "reporting_sets",
    "score_set",
    "selection_score",
    "synthetic_sequence",
    "validation_sets",
]
