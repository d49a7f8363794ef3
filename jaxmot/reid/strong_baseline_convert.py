"""Official ReID weights -> `ReIDModel`: torchvision ImageNet ResNets and the "Bag of
tricks" strong baseline (Luo et al. 2019, michuanhaohao/reid-strong-baseline).

ImageNet ResNet (`load_imagenet_reid`): the backbone from a torchvision file
(`jaxmot.reid.resnet_convert`), no reduction layer (embed_dim = the backbone's 512 or
2048 channels), an identity BN neck (scale 1, mean 0, var 1: embeddings are the
L2-normalised pooled features) and a 1-class zero classifier. An ImageNet baseline for
appearance, not a trained ReID model.

Strong baseline (`load_strong_baseline`), its `Baseline` module's state dict:

    official key                              ReIDModel                    array
    base.conv1.weight, base.layer1.0...       backbone (torchvision rule)  OIHW -> HWIO
    base.*.num_batches_tracked                (skipped: fixed momentum)
    bottleneck.weight                         bottleneck.scale             as is
    bottleneck.running_mean / running_var     bottleneck.mean / var        as is
    bottleneck.bias                           (none: folded into mean)     see below
    bottleneck.num_batches_tracked            (skipped)
    classifier.weight [N, D]                  classifier.kernel [D, N]     transposed
    classifier.bias (neck 'no' only)          (skipped: logits only train)

The neck: the reference BatchNorm1d has a bias frozen at its zero initialisation
(`bias.requires_grad_(False)`); jaxmot's neck has no bias parameter at all. A zero bias
is dropped; a non-zero one (a file trained otherwise) is folded into the running mean,
mean' = mean - bias * sqrt(var + eps) / weight, which is the same eval-mode function.
With the reference's `neck='no'` (no bottleneck keys, a biased classifier) the neck is
the identity and test features are the pooled ones, as the reference's neck_feat.
Retrieval uses the features after the neck, L2-normalised (the reference's
TEST.NECK_FEAT 'after' with FEAT_NORM 'yes').

The stem: the reference ResNet (modeling/backbones/resnet.py) has no ReLU between bn1
and the max-pool (commented out there as "add missed relu"), and its released weights
were trained that way; torchvision's and jaxmot's ResNet have one. The converted model
is built with `ReIDModelConfig(stem_relu=False)`.
Depths 18, 34 and 50 (the reference also has 101/152, SE-ResNet(X)s and IBN-a, which
jaxmot's ResNet does not build).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.nn import BN_EPSILON
from jaxmot.core.torch_io import StateDictMismatchError, as_numpy, listed_keys, read_checkpoint
from jaxmot.reid.model import ReIDModel, ReIDModelConfig, build_reid_model
from jaxmot.reid.resnet_convert import load_torchvision_resnet

_WRAPPER_KEYS = ("model", "state_dict")


def resnet_depth_width(shapes: Mapping[str, tuple], depth: int | None = None) -> tuple[int, int]:
    """(depth, width) of a torchvision-named ResNet from its keys and shapes: Bottleneck
    blocks (conv3) mean 50; else layer3's block count, 2 -> 18, 6 -> 34; width is conv1's
    output channels (64 in torchvision). `depth`, when given, wins (loading then checks
    it)."""
    conv1 = shapes.get("conv1.weight")
    width = int(conv1[0]) if conv1 else 64
    if depth is not None:
        return depth, width
    if any(k.endswith(".conv3.weight") for k in shapes):
        return 50, width
    blocks = {int(m[1]) for k in shapes if (m := re.match(r"layer3\.(\d+)\.", k))}
    return (34 if len(blocks) > 2 else 18), width


def _shapes(state: Mapping) -> dict[str, tuple]:
    return {k: tuple(getattr(v, "shape", np.shape(v))) for k, v in state.items()}


def _identity_neck(model: ReIDModel) -> None:
    dim = model.embed_dim
    model.bottleneck.scale.set_value(jnp.ones((dim,), jnp.float32))
    model.bottleneck.mean.set_value(jnp.zeros((dim,), jnp.float32))
    model.bottleneck.var.set_value(jnp.ones((dim,), jnp.float32))


def load_imagenet_reid(
    state: Mapping,
    *,
    depth: int | None = None,
    last_stride: int = 1,
    input_size: tuple[int, int] = (256, 128),
) -> tuple[ReIDModel, ReIDModelConfig]:
    """A ReIDModel (eval mode) whose backbone is the torchvision ResNet in `state` (a
    loaded state dict), with an identity neck and a zero 1-class classifier (module doc).

    Raises StateDictMismatchError naming missing / unexpected keys or shapes."""
    _, weights, _ = read_checkpoint(state, _WRAPPER_KEYS)
    depth, width = resnet_depth_width(_shapes(weights), depth)
    config = ReIDModelConfig(
        depth=depth,
        width=width,
        embed_dim=None,
        num_classes=1,
        last_stride=last_stride,
        input_size=tuple(input_size),
    )
    model = nnx.eval_shape(lambda: build_reid_model(config, nnx.Rngs(0)))
    load_torchvision_resnet(model, weights)
    _identity_neck(model)
    model.classifier.kernel.set_value(jnp.zeros((model.embed_dim, 1), jnp.float32))
    model.eval()
    return model, config


def load_strong_baseline(
    state: Mapping,
    *,
    depth: int | None = None,
    last_stride: int = 1,
    input_size: tuple[int, int] = (256, 128),
) -> tuple[ReIDModel, ReIDModelConfig, list[str]]:
    """A ReIDModel (eval mode) from a "Bag of tricks" `Baseline` state dict (module doc).

    last_stride: the reference's MODEL.LAST_STRIDE (1, its default); input_size: its
    INPUT.SIZE_TEST (256 x 128 in its Market-1501 configs).

    Returns:
      (model, config, notes): notes say what was dropped or folded (the neck's bias,
      a classifier bias).

    Raises:
      StateDictMismatchError naming missing / unexpected keys or mismatched shapes.
    """
    _, weights, original = read_checkpoint(state, _WRAPPER_KEYS)
    base = {k.removeprefix("base."): v for k, v in weights.items() if k.startswith("base.")}
    neck = {
        k.removeprefix("bottleneck."): v for k, v in weights.items() if k.startswith("bottleneck.")
    }
    head = {
        k.removeprefix("classifier."): v for k, v in weights.items() if k.startswith("classifier.")
    }
    unexpected = sorted(
        original[k] for k in weights if not k.startswith(("base.", "bottleneck.", "classifier."))
    )
    neck_keys = {"weight", "bias", "running_mean", "running_var"}
    missing = []
    if not base:
        missing.append("base.* (the ResNet)")
    if "weight" not in head:
        missing.append("classifier.weight")
    if neck:
        missing += [f"bottleneck.{k}" for k in sorted(neck_keys - set(neck))]
        unexpected += [
            f"bottleneck.{k}" for k in sorted(set(neck) - neck_keys - {"num_batches_tracked"})
        ]
    if neck and "bias" in head:
        unexpected.append("classifier.bias")
    unexpected += [f"classifier.{k}" for k in sorted(set(head) - {"weight", "bias"})]
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {listed_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {listed_keys(unexpected)}")
    if problems:
        raise StateDictMismatchError(
            "state dict does not fit the 'Bag of tricks' Baseline (base.*, bottleneck.*, "
            "classifier.weight): " + " | ".join(problems)
        )

    depth, width = resnet_depth_width(_shapes(base), depth)
    classifier = as_numpy(head["weight"], "classifier.weight", "checkpoint")
    config = ReIDModelConfig(
        depth=depth,
        width=width,
        embed_dim=None,
        num_classes=int(classifier.shape[0]),
        last_stride=last_stride,
        input_size=tuple(input_size),
        stem_relu=False,  # the reference ResNet has no ReLU after its stem (module doc)
    )
    model = nnx.eval_shape(lambda: build_reid_model(config, nnx.Rngs(0)))
    try:
        load_torchvision_resnet(model, base)
    except StateDictMismatchError as err:
        raise StateDictMismatchError(f"{err} (names under base.)") from None
    dim = model.embed_dim
    if classifier.shape != (config.num_classes, dim):
        raise StateDictMismatchError(
            f"state dict does not fit the 'Bag of tricks' Baseline: shape mismatches (1): "
            f"classifier.weight: checkpoint {list(classifier.shape)} vs model "
            f"[{config.num_classes}, {dim}]"
        )
    model.classifier.kernel.set_value(jnp.asarray(classifier.T, jnp.float32))
    notes = []
    if not neck:  # neck 'no': features are the pooled ones; the classifier's bias is training-only
        _identity_neck(model)
        if "bias" in head:
            notes.append("classifier.bias skipped (jaxmot's classifier has none; logits only)")
        model.eval()
        return model, config, notes
    arrays = {k: as_numpy(neck[k], f"bottleneck.{k}", "checkpoint") for k in neck_keys}
    for k, value in arrays.items():
        if value.shape != (dim,):
            raise StateDictMismatchError(
                f"state dict does not fit the 'Bag of tricks' Baseline: shape mismatches (1): "
                f"bottleneck.{k}: checkpoint {list(value.shape)} vs model [{dim}]"
            )
    mean = arrays["running_mean"].astype(np.float64)
    bias = arrays["bias"].astype(np.float64)
    if np.any(bias != 0):
        scale = arrays["weight"].astype(np.float64)
        if np.any((scale == 0) & (bias != 0)):
            raise ValueError(
                "bottleneck.bias is non-zero where bottleneck.weight is zero: the neck's "
                "shift cannot be folded into jaxmot's bias-free BN neck"
            )
        std = np.sqrt(arrays["running_var"].astype(np.float64) + BN_EPSILON)
        safe = np.where(scale == 0, 1.0, scale)
        mean = mean - bias * std / safe
        notes.append(
            f"bottleneck.bias non-zero (max |bias| {np.abs(bias).max():.3g}): folded into "
            "the running mean"
        )
    values = {"scale": arrays["weight"], "mean": mean, "var": arrays["running_var"]}
    for leaf, value in values.items():
        getattr(model.bottleneck, leaf).set_value(jnp.asarray(value, jnp.float32))
    model.eval()
    return model, config, notes


__all__ = [
    "load_imagenet_reid",
    "load_strong_baseline",
    "resnet_depth_width",
]
