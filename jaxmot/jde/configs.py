"""JDE experiments: one frozen dataclass, presets.

Run a preset with `python -m pipelines.train_jde --config NAME --workdir DIR`; every
field can be overridden with `--set KEY=VALUE` (dotted paths), e.g.
`--set data.jde_root=/data/jde --set train.batch_size=32`.
"""

from __future__ import annotations

import dataclasses

from jaxmot.jde.detector import JDEDetectorConfig
from jaxmot.jde.model import JDEConfig
from jaxmot.jde.tracker import JDETrackerConfig
from jaxmot.train.config import TrainConfig, get_preset, momentum_sgd, name_presets, scratch_run


@dataclasses.dataclass(frozen=True)
class JDEDataConfig:
    """Where training images come from (jaxmot.jde.data); a source is used when set.

    synthetic_*: generated MOT scenes (jaxmot.core.synthetic, the embedded default, no
      files): `synthetic_scenes` scenes of `synthetic_frames` frames at `synthetic_size`
      (width, height), seeds 1000 * seed + 0, 1, ...; every identity is a training id.
    jde_root + jde_lists: the JDE dataset mixture in its own format (`images/`,
      `labels_with_ids/`): the official `.train` list files (paths as given, e.g. the
      JDE repository's `data/*.train`), whose image paths are relative to `jde_root`
      (as JDE's cfg/ccmcpe.json); ids are offset to be unique across datasets.
    mot_sequences: MOTChallenge sequence folders with `img1/` and `gt/gt.txt`.
    eval_*: held-out generated scenes (other seeds) for detection AP, embedding TPR at
      FAR and tracking metrics after training.
    """

    synthetic_scenes: int = 16
    synthetic_frames: int = 60
    synthetic_size: tuple[int, int] = (640, 480)
    jde_root: str | None = None
    jde_lists: tuple[str, ...] = ()
    mot_sequences: tuple[str, ...] = ()
    max_boxes: int = 64
    augment: bool = True
    eval_scenes: int = 2
    eval_frames: int = 100
    seed: int = 0

    def __post_init__(self):
        # Checked here, before training, so that a bad value fails at once instead of in
        # the evaluation after the run (eval_scenes=0 would find no 'OVERALL' row there).
        minimum = {"synthetic_scenes": 0, "synthetic_frames": 1, "max_boxes": 1}
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise ValueError(f"data.{name} must be >= {low}, got {getattr(self, name)}")
        if self.eval_scenes < 1 or self.eval_frames < 2:
            raise ValueError(
                f"data.eval_scenes must be >= 1 and data.eval_frames >= 2 (got "
                f"{self.eval_scenes}, {self.eval_frames}); to skip the evaluation pass --no-eval"
            )


@dataclasses.dataclass(frozen=True)
class JDEExperiment:
    """darknet_weights: a Darknet binary weights file the model starts from (the official
    training starts from the ImageNet backbone `darknet53.conv.74`;
    jaxmot.jde.darknet_weights); None trains from scratch.

    freeze_batchnorm: every BatchNorm's scale and bias stay as initialised or loaded (the
    official train.py sets requires_grad = False on all `batch_norm` parameters unless
    `--unfreeze-bn`, "an important trick for detection"); the running statistics still
    update. On in `mixture_full`, off where jaxmot trains from scratch."""

    model: JDEConfig = JDEConfig.small()
    detector: JDEDetectorConfig = JDEDetectorConfig()
    tracker: JDETrackerConfig = JDETrackerConfig()
    train: TrainConfig = TrainConfig()
    data: JDEDataConfig = JDEDataConfig()
    darknet_weights: str | None = None
    freeze_batchnorm: bool = False


def synthetic_small() -> JDEExperiment:
    """The shipped model (checkpoints/jde_small_synthetic): a narrow JDE at 576x320
    trained from scratch on generated scenes (Adam, cosine schedule, EMA of the weights;
    a short CPU run — the paper's recipe is `mixture_full`). Evaluated on held-out
    generated scenes (other seeds).

    python -m pipelines.train_jde --config synthetic_small --workdir runs/jde_small \\
        --export checkpoints/jde_small_synthetic
    """
    # Width 3/16 of Darknet-53 (8..192 channels): 5.6 MB of weights, ~1 s per step of 8
    # on 2 CPU cores (JDEConfig.small()'s 1/4 would be 10 MB).
    model = dataclasses.replace(JDEConfig.small("576x320"), width_multiplier=0.1875)
    return JDEExperiment(
        model=model,
        train=scratch_run(1500, 8),
    )


def mixture_full() -> JDEExperiment:
    """The paper's model and recipe: Darknet-53 + FPN at 1088x608 on the JDE mixture
    (Caltech, CityPersons, CUHK-SYSU, PRW, ETH, MOT17; 14455 identities), SGD lr 0.01
    momentum 0.9 weight decay 1e-4, batch 32, 30 epochs with the lr divided by 10 at
    50 % and 75 % (here: once, at 50 %, the `step` schedule has one period), 1000
    warm-up steps (linear here; the official burn-in is (i / 1000)^4), BatchNorm scale
    and bias frozen (`freeze_batchnorm`, the official default). Point
    `data.jde_root` at the folder holding the datasets and list the official `.train`
    files. The official training starts from the ImageNet Darknet-53 backbone
    (`darknet53.conv.74`, Darknet's binary format; `--set darknet_weights=PATH`):

    python -m pipelines.train_jde --config mixture_full --workdir runs/jde_full \\
        --set darknet_weights=/data/darknet53.conv.74 --set data.jde_root=/data/jde \\
        --set data.jde_lists=JDE/data/caltech.train,JDE/data/citypersons.train,\\
    JDE/data/cuhksysu.train,JDE/data/prw.train,JDE/data/eth.train,JDE/data/mot17.train
    """
    steps_per_epoch = 1700  # ~54k images / 32
    optimizer = momentum_sgd(
        0.01, schedule="step", warmup_steps=1000, decay_every=steps_per_epoch * 15
    )
    return JDEExperiment(
        model=JDEConfig.full("1088x608"),
        train=TrainConfig(
            steps=30 * steps_per_epoch,
            batch_size=32,
            optimizer=optimizer,
            log_every=100,
            checkpoint_every=2000,
        ),
        data=JDEDataConfig(synthetic_scenes=0),
        freeze_batchnorm=True,
    )


PRESETS = name_presets(synthetic_small, mixture_full)


def get_config(name: str) -> JDEExperiment:
    """The preset `name` (one of PRESETS)."""
    return get_preset(PRESETS, name, "JDE")


__all__ = ["PRESETS", "JDEDataConfig", "JDEExperiment", "get_config"]
