"""ReID experiments: one frozen dataclass, presets by name.

Run a preset with `python -m pipelines.train_reid --config NAME --workdir DIR`; every
field can be overridden with `--set KEY=VALUE` (dotted paths), e.g.
`--set train.optimizer.learning_rate=1e-3 --set p=16`.
"""

from __future__ import annotations

import dataclasses

from jaxmot.reid.model import ReIDModelConfig
from jaxmot.train.config import OptimizerConfig, TrainConfig, get_preset, name_presets, short_run


@dataclasses.dataclass(frozen=True)
class SyntheticDataConfig:
    num_train_scenes: int = 20
    num_test_scenes: int = 6
    frames: int = 50
    objects_per_scene: int = 20
    max_per_id: int = 20
    train_boxes: str = "gt"  # or "detections": the detector model's noisy boxes
    seed: int = 0  # scenes of the demo (seed 0, SceneConfig) are never among them: see below


@dataclasses.dataclass(frozen=True)
class ReIDExperiment:
    """A ReID training run.

    dataset: "synthetic" (the embedded default, no download), "market1501" (a local
      Market-1501 folder in data_dir) or "mot" (crops cut from the MOTChallenge
      sequences with gt under data_dir).
    p, k: identities per batch and images per identity (batch = p * k).
    triplet_margin: batch-hard triplet margin (None: soft margin).
    label_smoothing: of the identity cross-entropy (bag of tricks: 0.1).
    """

    dataset: str = "synthetic"
    data_dir: str | None = None
    model: ReIDModelConfig = ReIDModelConfig()
    train: TrainConfig = TrainConfig()
    p: int = 16
    k: int = 4
    augment_pad: int = 10  # px of padding before the random crop (bag of tricks, 256x128)
    triplet_margin: float | None = 0.3
    triplet_weight: float = 1.0
    label_smoothing: float = 0.1
    synthetic: SyntheticDataConfig = SyntheticDataConfig()


def synthetic_r18w16() -> ReIDExperiment:
    """The shipped checkpoint (checkpoints/reid_synthetic_r18w16): a narrow ResNet-18
    (width 16, 128-d embedding) on 64x32 crops, trained on synthetic crops on a 2-core
    CPU in about 15 minutes (the 256x128 / width-64 models need a GPU to train in
    reasonable time; 64x32 is also the resolution the colour-histogram baseline sees).

    python -m pipelines.train_reid --config synthetic_r18w16 \\
        --workdir runs/reid_synthetic_r18w16 \\
        --eval-crops data/mot17_mini_reid_crops --export checkpoints/reid_synthetic_r18w16
    """
    model = ReIDModelConfig(depth=18, width=16, embed_dim=128, last_stride=1, input_size=(64, 32))
    optimizer = OptimizerConfig(
        name="adam", learning_rate=1e-3, schedule="warmup_cosine", warmup_steps=200
    )
    train = short_run(2500, 64, optimizer, checkpoint_every=500)
    # Trained on the crops the tracker will see (noisy detection boxes, occlusions), with
    # the crop augmentation scaled to the 64x32 input.
    data = SyntheticDataConfig(num_train_scenes=40, train_boxes="detections")
    return ReIDExperiment(model=model, train=train, p=16, k=4, synthetic=data, augment_pad=3)


def market1501_r34() -> ReIDExperiment:
    """ResNet-34, 512-d embedding at 256x128 (the ReID model of the tracking
    exercise, docs/mot.md) on Market-1501.

    python -m pipelines.train_reid --config market1501_r34 --workdir runs/reid_market_r34 \\
        --set data_dir=/data/Market-1501-v15.09.15 [--pretrained resnet34.pth]
    """
    return ReIDExperiment(
        dataset="market1501",
        model=ReIDModelConfig(depth=34, width=64, embed_dim=512, last_stride=1),
        train=TrainConfig(
            steps=24000,
            batch_size=64,
            optimizer=OptimizerConfig(
                name="adam",
                learning_rate=3.5e-4,
                weight_decay=5e-4,
                schedule="step",
                decay_every=8000,
                decay_factor=0.1,
            ),
            log_every=50,
            checkpoint_every=1000,
        ),
        p=16,
        k=4,
    )


def mot17_r18() -> ReIDExperiment:
    """ResNet-18 on crops of MOTChallenge sequences with gt (e.g. MOT17 train).

    python -m pipelines.train_reid --config mot17_r18 --workdir runs/reid_mot17 \\
        --set data_dir=/data/MOT17/train
    """
    return dataclasses.replace(
        market1501_r34(),
        dataset="mot",
        model=ReIDModelConfig(depth=18, width=64, embed_dim=512, last_stride=1),
    )


PRESETS = name_presets(synthetic_r18w16, market1501_r34, mot17_r18)


def get_config(name: str) -> ReIDExperiment:
    """The preset `name` (one of PRESETS)."""
    return get_preset(PRESETS, name, "ReID")


__all__ = ["PRESETS", "ReIDExperiment", "SyntheticDataConfig", "get_config"]
