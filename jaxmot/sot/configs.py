"""Single-object tracking (E.T.Track) experiments: one frozen dataclass, presets.

Run a preset with `python -m pipelines.train_sot --config NAME --workdir DIR`; every
field can be overridden with `--set KEY=VALUE` (dotted paths), e.g.
`--set data.got10k=/data/got10k/train --set train.batch_size=32`.
"""

from __future__ import annotations

import dataclasses

from jaxmot.core.paths import data_path
from jaxmot.sot.model import ETTrackConfig
from jaxmot.sot.tracker import SOTTrackerConfig
from jaxmot.train.config import TrainConfig, get_preset, momentum_sgd, name_presets, scratch_run


@dataclasses.dataclass(frozen=True)
class SOTDataConfig:
    """Where training pairs come from (jaxmot.sot.pairs); a source is used when its
    path is set (or, for the generated videos, when `synthetic_videos` > 0), with the
    given sampling weight.

    synthetic_*: generated moving-object videos (the embedded default, no files);
      `synthetic_target_size`: the target's sqrt(w h) at the start as a fraction of
      min(H, W) (jaxmot.sot.synthetic.SyntheticSOTConfig.target_size).
    got10k / lasot / trackingnet: roots in the official folder formats.
    davis: a DAVIS root (`JPEGImages/480p`, `Annotations/480p`; boxes from the masks),
      restricted to `davis_sequences` when given.
    coco_annotations + coco_images: still images with boxes (an `instances_*.json`).
    mot_sequences: MOTChallenge sequence folders with `img1/` and `gt/gt.txt`; every gt
      box is a still-image sample (e.g. the MOT17 sequences of $JAXMOT_DATA/mot17_mini/train).
    eval_*: what `train_sot` evaluates the trained tracker on afterwards (held-out
      generated videos; DAVIS sequences with boxes from masks).
    """

    synthetic_videos: int = 64
    synthetic_frames: int = 60
    synthetic_size: tuple[int, int] = (240, 320)
    synthetic_weight: float = 1.0
    synthetic_target_size: tuple[float, float] = (0.12, 0.32)
    got10k: str | None = None
    got10k_weight: float = 1.0
    lasot: str | None = None
    lasot_weight: float = 1.0
    trackingnet: str | None = None
    trackingnet_weight: float = 1.0
    davis: str | None = None
    davis_sequences: tuple[str, ...] = ()
    davis_weight: float = 1.0
    coco_annotations: str | None = None
    coco_images: str | None = None
    coco_weight: float = 1.0
    mot_sequences: tuple[str, ...] = ()
    mot_weight: float = 1.0
    eval_synthetic_videos: int = 8
    eval_davis: str | None = None
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class SOTExperiment:
    model: ETTrackConfig = ETTrackConfig()
    tracker: SOTTrackerConfig = SOTTrackerConfig()
    train: TrainConfig = TrainConfig()
    data: SOTDataConfig = SOTDataConfig()
    iou_weight: float = 1.2  # reference: weighted BCE + 1.2 x IoU loss


def synthetic() -> SOTExperiment:
    """The default: the narrow E.T.Track of `synthetic_narrow` trained from scratch on
    generated moving-object videos only and evaluated on held-out generated videos, so
    it runs anywhere with no dataset ($JAXMOT_DATA is never read).

    python -m pipelines.train_sot --config synthetic --workdir runs/sot_synthetic
    """
    return SOTExperiment(
        model=ETTrackConfig.narrow(),
        train=scratch_run(1000, 16),
        # Targets up to 70 % of the frame: real videos (DAVIS) have targets that large,
        # whose search crops are mostly mean-colour padding; a model that never saw that
        # inflates its boxes there.
        data=SOTDataConfig(synthetic_target_size=(0.1, 0.7)),
    )


def synthetic_narrow() -> SOTExperiment:
    """The shipped tracker (checkpoints/sot_ettrack_narrow): `synthetic` plus the person
    boxes of MOT17-02 and MOT17-04 ($JAXMOT_DATA/mot17_mini/train) as still images; Adam
    with a cosine schedule and EMA of the weights (a short CPU run; the paper's SGD
    recipe is in `got10k_full`).
    Evaluated on held-out generated videos and DAVIS-2016 ($JAXMOT_DATA/davis2016, never
    trained on).

    python -m pipelines.train_sot --config synthetic_narrow --workdir runs/sot_narrow \\
        --export checkpoints/sot_ettrack_narrow
    """
    base = synthetic()
    mot = tuple(data_path(f"mot17_mini/train/MOT17-0{n}-FRCNN") for n in (2, 4))
    data = dataclasses.replace(
        base.data, mot_sequences=mot, mot_weight=0.3, eval_davis=data_path("davis2016")
    )
    return dataclasses.replace(base, data=data)


def got10k_full() -> SOTExperiment:
    """The full E.T.Track with the LightTrack recipe on GOT-10k (+ LaSOT, TrackingNet,
    COCO when set): SGD momentum 0.9, weight decay 1e-4, warmup 0.02 -> 0.1 then decay
    (here cosine), batch 32, EMA of the weights. The paper trains 50 epochs on the
    four datasets with an ImageNet-pretrained backbone frozen for the first 10; this
    preset trains from scratch unless weights are converted in.

    python -m pipelines.train_sot --config got10k_full --workdir runs/sot_got10k \\
        --set data.got10k=/data/got10k/train [--set data.lasot=/data/lasot ...]
    """
    optimizer = momentum_sgd(0.1, schedule="warmup_cosine", warmup_steps=5000)
    return SOTExperiment(
        model=ETTrackConfig(),
        train=TrainConfig(
            steps=300_000,
            batch_size=32,
            optimizer=optimizer,
            log_every=100,
            checkpoint_every=5000,
            ema_decay=0.9998,
        ),
        data=SOTDataConfig(synthetic_videos=0, eval_davis=data_path("davis2016")),
    )


PRESETS = name_presets(synthetic, synthetic_narrow, got10k_full)


def get_config(name: str) -> SOTExperiment:
    """The preset `name` (one of PRESETS)."""
    return get_preset(PRESETS, name, "SOT")


__all__ = ["PRESETS", "SOTDataConfig", "SOTExperiment", "get_config"]
