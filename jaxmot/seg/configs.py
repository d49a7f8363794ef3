"""Object-segmentation experiments: one frozen dataclass, presets.

"The exercise" below is the object-segmentation teaching exercise whose probe, PAC
upsampler and `obj_seg` data layout jaxmot.seg reimplements (see docs/seg.md); "pacnet"
is NVlabs/pacnet, whose joint upsampling network the `joint_pacnet_*` presets train.

Run a preset with `python -m pipelines.train_seg --config NAME --workdir DIR`; every
field can be overridden with `--set KEY=VALUE` (dotted paths), e.g.
`--set data.data_dir=/data/obj_seg --set train.optimizer.learning_rate=1e-3`.
"""

from __future__ import annotations

import dataclasses

from jaxmot.core.paths import data_path
from jaxmot.seg.joint_upsample import PacJointConfig
from jaxmot.seg.model import SegmenterConfig
from jaxmot.train.config import OptimizerConfig, TrainConfig, get_preset, name_presets, short_run

DATASETS = ("synthetic", "obj_seg", "davis")
FEATURES = ("files", "vit")
JOINT_INPUTS = ("mask_area", "mask_max")


@dataclasses.dataclass(frozen=True)
class SegDataConfig:
    """Images, masks and features (jaxmot.seg.data).

    dataset: "synthetic" (generated images with objects, the embedded default),
      "obj_seg" (the exercise's layout `data_dir/{train,test}/<category>/...`) or "davis"
      (`data_dir/{JPEGImages,Annotations}/480p/<seq>`, split by the sequence lists).
    features: where the `linear`/`pac` heads' patch features come from: "files" (the
      obj_seg `embeddings/*.pt`) or "vit" (a frozen ViT run once per image; DINO
      weights from `vit_checkpoint`, a local official .pth; without one the ViT is
      randomly initialised, which only shows the plumbing, and the run says so).
    joint_input: the `joint` head's low-resolution input: "mask_area" (the fraction of
      each patch that is foreground, a soft low-resolution mask) or "mask_max" (the
      exercise's coarse masks: the patch max-pool).
    crop: train on random crops of this size (pixels, a multiple of the patch size,
      aligned to the patch grid so the features crop with the image); 0 = whole images.
    every: use every n-th frame of video datasets (DAVIS).
    epochs: when set, replaces train.steps with ceil(epochs * train images / batch size).
    eval_davis: also evaluate on this DAVIS folder (e.g. $JAXMOT_DATA/davis2016).
    """

    dataset: str = "synthetic"
    data_dir: str | None = None
    categories: tuple[str, ...] = ()  # obj_seg: all when empty
    train_sequences: tuple[str, ...] = ()  # davis
    val_sequences: tuple[str, ...] = ()
    every: int = 1
    synthetic_train: int = 512
    synthetic_val: int = 64
    synthetic_size: tuple[int, int] = (128, 128)
    features: str = "vit"
    vit_patch: int = 16
    vit_checkpoint: str | None = None
    joint_input: str = "mask_area"
    crop: int = 0
    epochs: int | None = None
    eval_davis: str | None = None
    seed: int = 0

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"data.dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.features not in FEATURES:
            raise ValueError(f"data.features must be one of {FEATURES}, got {self.features!r}")
        if self.joint_input not in JOINT_INPUTS:
            raise ValueError(
                f"data.joint_input must be one of {JOINT_INPUTS}, got {self.joint_input!r}"
            )


@dataclasses.dataclass(frozen=True)
class SegExperiment:
    model: SegmenterConfig = SegmenterConfig()
    train: TrainConfig = TrainConfig()
    data: SegDataConfig = SegDataConfig()


def _train(steps: int, batch_size: int = 16) -> TrainConfig:
    # The exercise's optimiser: Adam 5e-4, batch 16.
    return short_run(steps, batch_size, OptimizerConfig(name="adam", learning_rate=5e-4))


def synthetic_joint() -> SegExperiment:
    """The shipped PAC joint upsampler (checkpoints/seg_joint_synthetic): the exercise's
    head on a 1-channel input, 16x upsampling of a soft low-resolution mask guided by the
    image, trained on 512 generated 128x128 images (no ViT needed), evaluated on 64
    others and on the real DAVIS frames ($JAXMOT_DATA/davis2016). It turns on the
    learnable guide scale (jaxmot's option; neither the exercise nor pacnet has it), as
    the shipped checkpoint was trained.

    python -m pipelines.train_seg --config synthetic_joint --workdir runs/seg_joint \\
        --export checkpoints/seg_joint_synthetic
    """
    return SegExperiment(
        model=SegmenterConfig(kind="joint", learn_guide_scale=True),
        train=dataclasses.replace(
            _train(1500), optimizer=OptimizerConfig(learning_rate=3e-3, schedule="cosine")
        ),
        data=SegDataConfig(eval_davis=data_path("davis2016")),
    )


def davis_joint() -> SegExperiment:
    """The PAC joint upsampler trained on real frames: 128x128 crops of DAVIS-2016
    blackswan (50 frames), validated on the whole frames of dog (60 frames).

    python -m pipelines.train_seg --config davis_joint --workdir runs/seg_davis_joint
    """
    data = SegDataConfig(
        dataset="davis",
        data_dir=data_path("davis2016"),
        train_sequences=("blackswan",),
        val_sequences=("dog",),
        crop=128,
    )
    return dataclasses.replace(synthetic_joint(), data=data)


def synthetic_pac() -> SegExperiment:
    """PAC segmenter on frozen ViT-S/16 features of generated images. Without DINO
    weights (`--set data.vit_checkpoint=dino_deitsmall16_pretrain.pth`) the ViT is
    random: a plumbing check, not a result.

    python -m pipelines.train_seg --config synthetic_pac --workdir runs/seg_pac
    """
    return SegExperiment(model=SegmenterConfig(kind="pac"), train=_train(600))


def synthetic_linear() -> SegExperiment:
    """Linear probe on frozen ViT-S/16 features of generated images (see synthetic_pac).

    python -m pipelines.train_seg --config synthetic_linear --workdir runs/seg_linear
    """
    return SegExperiment(model=SegmenterConfig(kind="linear"), train=_train(600))


def obj_seg_linear() -> SegExperiment:
    """The exercise's linear probe on the obj_seg embeddings: Adam 5e-4, batch 16,
    10 epochs. The exercise expects mean IoU (fg/bg) 0.86 on coarse masks.

    python -m pipelines.train_seg --config obj_seg_linear --workdir runs/obj_seg_linear \\
        --set data.data_dir=/path/to/obj_seg
    """
    data = SegDataConfig(dataset="obj_seg", features="files", epochs=10)
    return SegExperiment(model=SegmenterConfig(kind="linear"), train=_train(1000), data=data)


def obj_seg_pac() -> SegExperiment:
    """The exercise's PAC upsampler on the obj_seg embeddings (Adam 5e-4, batch 16,
    10 epochs). The exercise expects mean IoU (fg/bg) 0.94. As in the exercise, the
    guide is the ImageNet-normalised RGB image and its scale is fixed; jaxmot's
    learnable guide scale is an option, off (`--set model.learn_guide_scale=true`).

    python -m pipelines.train_seg --config obj_seg_pac --workdir runs/obj_seg_pac \\
        --set data.data_dir=/path/to/obj_seg
    """
    data = SegDataConfig(dataset="obj_seg", features="files", epochs=10)
    return SegExperiment(model=SegmenterConfig(kind="pac"), train=_train(1000), data=data)


# pacnet's joint upsampler: its own recipe is Adam 1e-4, batch 1, 256x256 crops,
# thousands of epochs (task_jointUpsampling/main.py). Runs of a few hundred steps on a
# CPU need a larger step: Adam 1e-3 with a cosine decay, batch 4, 128x128 crops.
PACNET_STEPS = 300
PACNET_BATCH = 4


def _pacnet_train(steps: int = PACNET_STEPS) -> TrainConfig:
    optimizer = OptimizerConfig(name="adam", learning_rate=1e-3, schedule="cosine")
    return short_run(steps, PACNET_BATCH, optimizer, checkpoint_every=100)


def joint_pacnet_synthetic() -> SegExperiment:
    """pacnet's PacJointUpsample (jaxmot.seg.joint_upsample, pacnet's default network:
    32-channel 5x5 branches, 16 guide channels per 2x step, one transposed PAC per step)
    at 16x on the soft low-resolution masks of `synthetic_joint`'s generated images,
    trained with pacnet's L2 loss on its normalised target; evaluated on 64 generated
    images and on DAVIS ($JAXMOT_DATA/davis2016). About 7 min on 2 CPU cores.

    python -m pipelines.train_seg --config joint_pacnet_synthetic \\
        --workdir runs/seg_pacnet_synthetic
    """
    return SegExperiment(
        model=SegmenterConfig(kind="pacnet", pacnet=PacJointConfig()),
        train=_pacnet_train(),
        data=SegDataConfig(eval_davis=data_path("davis2016")),
    )


def joint_pacnet_davis() -> SegExperiment:
    """PacJointUpsample as `joint_pacnet_synthetic`, trained on `davis_joint`'s data
    (128x128 crops of DAVIS-2016 blackswan), validated on the whole frames of dog.

    python -m pipelines.train_seg --config joint_pacnet_davis --workdir runs/seg_pacnet_davis
    """
    return dataclasses.replace(joint_pacnet_synthetic(), data=davis_joint().data)


PRESETS = name_presets(
    synthetic_joint,
    davis_joint,
    joint_pacnet_synthetic,
    joint_pacnet_davis,
    synthetic_pac,
    synthetic_linear,
    obj_seg_linear,
    obj_seg_pac,
)


def get_config(name: str) -> SegExperiment:
    """The preset `name` (one of PRESETS)."""
    return get_preset(PRESETS, name, "segmentation")


__all__ = ["PRESETS", "SegDataConfig", "SegExperiment", "get_config"]
