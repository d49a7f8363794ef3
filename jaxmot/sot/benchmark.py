"""Run single-object trackers over evaluation sequences and score them.

    sequences = davis_sequences("data/davis2016") + [tennis_sequence(...)]
    results = run_benchmark({"ettrack": load_sot_tracker, "mil": MILTracker...}, sequences)

Sequences: generated videos held out from training (`synthetic_sequences`), DAVIS
sequences with boxes from the masks (`davis_sequences`) and the tennis player of a
`tennis` frame folder (the DAVIS-2017 tennis sequence) with the project's hand-made
sparse ground truth (`tennis_sequence`; see jaxmot/sot/annotations/README.md). Every
tracker starts from the ground-truth box of frame 0 and is scored with
`jaxmot.sot.metrics` (OTB success AUC, precision at 20 px, normalised precision,
GOT-10k AO / SR). Frames whose gt box is missing count as failures (the target is absent:
an empty DAVIS mask), except in sparse sequences (`EvalSequence.sparse`, the tennis
ground truth), where a NaN row is a frame nobody annotated and is skipped.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from collections.abc import Callable, Sequence

import numpy as np

from jaxmot.core.davis import subdirs
from jaxmot.sot.metrics import evaluate_sequences
from jaxmot.sot.results_io import read_boxes
from jaxmot.sot.sequences import davis_sequence, frame_paths, read_rgb
from jaxmot.sot.synthetic import synthetic_sot_video

ANNOTATIONS = pathlib.Path(__file__).resolve().parent / "annotations"
TENNIS_GROUNDTRUTH = ANNOTATIONS / "tennis_groundtruth.txt"
EVAL_SEED = 1_000_003  # generated evaluation videos: seeds disjoint from training's
# Generated validation videos (evaluation during training): apart from the evaluation
# videos (EVAL_SEED + i, i < 1_000_000) and from training's (seed pairs).
VALIDATION_SEED = 2_000_003


@dataclasses.dataclass
class EvalSequence:
    """frames: [T] RGB uint8 arrays or image paths; gt: [T, 4] xywh.

    A NaN gt row is an absent target (scored as a failure), or, when `sparse`, a frame
    that was not annotated (not scored)."""

    name: str
    frames: Sequence
    gt: np.ndarray
    sparse: bool = False

    @property
    def absent_mode(self) -> str:
        """How `jaxmot.sot.metrics` treats this sequence's NaN gt rows."""
        return "skip" if self.sparse else "fail"

    def frame(self, t: int) -> np.ndarray:
        f = self.frames[t]
        return f if isinstance(f, np.ndarray) else read_rgb(f)


def synthetic_sequences(
    count: int, num_frames: int = 100, size=(240, 320), seed: int = EVAL_SEED
) -> list[EvalSequence]:
    """`count` generated videos, video i from seed `seed` + i (EVAL_SEED: the held-out
    evaluation videos; VALIDATION_SEED: the validation videos)."""
    out = []
    for i in range(count):
        frames, boxes = synthetic_sot_video(seed + i, num_frames, tuple(size))
        out.append(EvalSequence(f"synthetic{i:02d}", list(frames), boxes.astype(np.float64)))
    return out


def davis_sequences(root, names: Sequence[str] | None = None) -> list[EvalSequence]:
    root = pathlib.Path(root)
    if names is None:
        names = subdirs(root / "JPEGImages" / "480p")
    out = []
    for name in names:
        seq = davis_sequence(root, name)
        out.append(EvalSequence(f"davis-{name}", seq.frames, seq.boxes))
    return out


def tennis_sequence(root, groundtruth=TENNIS_GROUNDTRUTH) -> EvalSequence:
    frames = frame_paths(root)
    gt = read_boxes(groundtruth)
    if len(gt) != len(frames):
        raise ValueError(f"{groundtruth}: {len(gt)} boxes for {len(frames)} frames in {root}")
    return EvalSequence("tennis", frames, gt, sparse=True)


def track(tracker, sequence: EvalSequence) -> np.ndarray:
    """[T, 4] xywh predictions of a tracker with init([frame], [box]) / update([frame])."""
    init = sequence.gt[0]
    if not np.isfinite(init).all():
        raise ValueError(f"{sequence.name}: frame 0 has no ground-truth box to start from")
    tracker.init([sequence.frame(0)], init[None])
    out = [init]
    for t in range(1, len(sequence.frames)):
        out.append(np.asarray(tracker.update([sequence.frame(t)]))[0])
    return np.stack(out)


def run_benchmark(
    trackers: dict[str, Callable[[], object]],
    sequences: Sequence[EvalSequence],
    progress: Callable[[str], None] = print,
) -> tuple[dict[str, dict], dict[str, dict[str, np.ndarray]]]:
    """({tracker: evaluate_sequences(...) + "fps"}, {tracker: {sequence: predictions}})."""
    scores, predictions = {}, {}
    for name, make in trackers.items():
        tracker = make()
        preds, frames, seconds = {}, 0, 0.0
        for seq in sequences:
            start = time.perf_counter()
            preds[seq.name] = track(tracker, seq)
            seconds += time.perf_counter() - start
            frames += len(seq.frames)
        scores[name] = evaluate_sequences(
            {s.name: (preds[s.name], s.gt) for s in sequences},
            absent={s.name: s.absent_mode for s in sequences},
        )
        scores[name]["fps"] = frames / seconds  # includes the first call's compilation
        predictions[name] = preds
        overall = scores[name]["OVERALL"]
        progress(f"{name}: AUC {100 * overall['auc']:.1f}, P@20 {100 * overall['precision20']:.1f}"
                 f" over {len(sequences)} sequences")  # fmt: skip
    return scores, predictions
