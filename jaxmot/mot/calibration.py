"""Choose the appearance gate of the ReID trackers for an extractor, on held-out scenes.

The gate (the largest cosine distance a `reid` / `longterm` tracker accepts as a match)
belongs to the features, not to the tracker: distances of different embeddings live on
different scales. On demo-shaped synthetic scenes, colour histograms of two different
people are closer than 0.5 in two thirds of the pairs, while the learned model puts
99% of same-person distances below 0.5 and 99% of different-person ones above it.

`tune_appearance_gate` picks the gate the way any hyper-parameter is picked: it runs the
`longterm` tracker on validation sequences for every gate of a grid and keeps the one
with the best IDF1 over all of them (events pooled, ties to the smaller gate). The
validation sequences are demo-shaped (`SceneConfig()`) scenes whose seeds come from
their own stream (`scene_seed(seed, VALIDATION_PART, j)`): never the demo (seed 0) nor
the ReID model's training or test scenes (parts 0 and 1).

    python -m pipelines.tune_gate --extractor histogram
    python -m pipelines.tune_gate --extractor reid --checkpoint checkpoints/NAME --write
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.eval.sweep import sweep_tracker_setting
from jaxmot.core.extractor import FeatureExtractor, embed_sequence_detections
from jaxmot.core.mot_io import read_sequence
from jaxmot.core.synthetic import SceneConfig, generate_sequence, scene_seed

VALIDATION_PART = 2  # scene_seed parts: 0 ReID train, 1 ReID test, 2 gate validation
DEFAULT_GATES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0)  # 2: no gate


@dataclasses.dataclass(frozen=True)
class GateTuning:
    """Result of `tune_appearance_gate`.

    gate: the chosen gate; gates [G]; idf1 [G] pooled over the scenes; idf1_per_scene
    [S, G]; seeds [S] of the validation scenes.
    """

    gate: float
    gates: tuple[float, ...]
    idf1: np.ndarray
    idf1_per_scene: np.ndarray
    seeds: tuple[int, ...]

    def table(self) -> str:
        head = "gate    " + " ".join(f"{g:6.2f}" for g in self.gates)
        pooled = "IDF1    " + " ".join(f"{100 * v:6.1f}" for v in self.idf1)
        rows = [
            f"scene {j} " + " ".join(f"{100 * v:6.1f}" for v in row)
            for j, row in enumerate(self.idf1_per_scene)
        ]
        return "\n".join([head, pooled, *rows, f"chosen gate: {self.gate:.2f}"])

    def to_json(self) -> dict:
        return {
            "gate": self.gate,
            "gates": list(self.gates),
            "idf1": [round(float(v), 4) for v in self.idf1],
            "validation_seeds": list(self.seeds),
            "tracker": "longterm",
        }


def validation_seeds(num_scenes: int, seed: int = 0) -> tuple[int, ...]:
    return tuple(scene_seed(seed, VALIDATION_PART, j) for j in range(num_scenes))


def tune_appearance_gate(
    extractor: FeatureExtractor,
    num_scenes: int = 6,
    gates: Sequence[float] = DEFAULT_GATES,
    *,
    seed: int = 0,
    scene: SceneConfig | None = None,
    progress: bool = True,
) -> GateTuning:
    """Best `longterm` gate for `extractor` on `num_scenes` validation scenes (module doc).

    The scenes are rendered to JPEG in a temporary folder and read back, exactly as the
    demo and `pipelines.track` see them.
    """
    if num_scenes < 1 or not gates:
        raise ValueError("need at least one validation scene and one gate")
    template = SceneConfig() if scene is None else scene
    seeds = validation_seeds(num_scenes, seed)
    sequences = []
    with tempfile.TemporaryDirectory(prefix="jaxmot-gate-") as tmp:
        for j, s in enumerate(tqdm(seeds, desc="validation scenes", disable=not progress)):
            seq_dir = generate_sequence(
                pathlib.Path(tmp), dataclasses.replace(template, seed=s), name=f"VAL-{j:02d}"
            )
            sequence = read_sequence(seq_dir)
            sequences.append((sequence, embed_sequence_detections(sequence, extractor)))
    return sweep_gates(sequences, gates, seeds=seeds, progress=progress)


def sweep_gates(
    sequences: Sequence[tuple],
    gates: Sequence[float] = DEFAULT_GATES,
    *,
    seeds: Sequence[int] = (),
    progress: bool = False,
) -> GateTuning:
    """Best `longterm` gate over (sequence with gt and detections, features [K, D]) pairs.

    Each sequence is tracked with every gate; IDF1 pools the events of all sequences.
    """
    from jaxmot.core.registry import make_tracker

    def longterm(gate, frame_rate):
        return make_tracker("longterm", frame_rate, appearance_gate=gate)

    best, idf1, per_scene = sweep_tracker_setting(
        longterm, gates, sequences, progress=progress, desc="gates"
    )
    return GateTuning(
        float(gates[best]), tuple(float(g) for g in gates), idf1, per_scene, tuple(seeds)
    )


__all__ = [
    "DEFAULT_GATES",
    "VALIDATION_PART",
    "GateTuning",
    "embed_sequence_detections",
    "sweep_gates",
    "tune_appearance_gate",
    "validation_seeds",
]
