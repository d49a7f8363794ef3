"""Person re-identification model: ResNet + pooling + BNNeck (Luo et al. 2019, "Bag of tricks").

    images [B, H, W, 3] -> ResNet -> global average pool -> [optional Linear to embed_dim]
      -> features [B, D]   (triplet loss: metric learning wants the un-normalised space)
      -> BN neck           (BatchNorm1d, no bias) -> embeddings = L2-normalise [B, D]
      -> classifier        (Linear, no bias) -> logits [B, num_classes] (cross-entropy)

The BN neck separates the two losses (Luo et al. 2019, section 3.6): the triplet loss
shapes the free euclidean space before it; the ID loss acts after it, where the normalised
features lie near a hypersphere, the geometry cosine retrieval uses. The neck's bias is
frozen at zero (here: absent) and the classifier has none, so logits stay linear in the
normalised features.

Inputs are ImageNet-normalised float32 crops (`jaxmot.reid.data.transforms.normalize`).
Training: `model.train()`, `out = model(images)`. Retrieval: `model.eval()`,
`model.embed(images)` (batch-independent: BatchNorm uses its running statistics).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

from jaxmot.core.nn import batch_norm
from jaxmot.reid.resnet import ResNet


@dataclasses.dataclass(frozen=True)
class ReIDModelConfig:
    """Re-ID network hyper-parameters.

    depth/width/last_stride: the ResNet (last_stride 1 as in Luo et al., "Bag of Tricks
      and A Strong Baseline for Deep Person Re-identification", CVPR-W 2019).
    embed_dim: size of the embedding; 512 with ResNet-34, as in the tracking exercise
      (docs/mot.md). None, or the backbone's own channel count, adds no Linear layer.
    num_classes: training identities (751 in Market-1501's bounding_box_train).
    input_size: (height, width) crops are resized to; the usual 256x128 for pedestrians.
      The network itself accepts any size; data pipelines read it from here.
    """

    depth: int = 34
    width: int = 64
    embed_dim: int | None = 512
    num_classes: int = 751
    last_stride: int = 1
    input_size: tuple[int, int] = (256, 128)
    stem_relu: bool = True


class ReIDModel(nnx.Module):
    """Backbone + pooling + optional reduction + BN neck + identity classifier.

    Args:
      depth, width, last_stride: the ResNet backbone (see `jaxmot.reid.resnet.ResNet`).
      embed_dim: embedding size D; None (or equal to the backbone channels) keeps them.
      num_classes: identities of the classifier.

    Attributes:
      backbone (ResNet), reduction (nnx.Linear | None), bottleneck (the BN neck),
      classifier (nnx.Linear), embed_dim (D).
    """

    def __init__(
        self,
        *,
        depth: int = 34,
        width: int = 64,
        embed_dim: int | None = 512,
        num_classes: int,
        last_stride: int = 1,
        stem_relu: bool = True,
        dtype: DTypeLike | None = None,
        rngs: nnx.Rngs,
    ):
        self.backbone = ResNet(
            depth, width, last_stride, stem_relu=stem_relu, dtype=dtype, rngs=rngs
        )
        channels = self.backbone.out_channels
        dim = channels if embed_dim is None else embed_dim
        same = dim == channels
        self.reduction = None if same else nnx.Linear(channels, dim, dtype=dtype, rngs=rngs)
        # No bias parameter at all: the torch reference freezes it at zero, which is the
        # same function with nothing for an optimiser or a weight decay to touch.
        self.bottleneck = batch_norm(dim, use_bias=False, dtype=dtype, rngs=rngs)
        # std 0.001 as in the "Bag of tricks" reference code: small initial logits.
        self.classifier = nnx.Linear(
            dim,
            num_classes,
            use_bias=False,
            kernel_init=nnx.initializers.normal(1e-3),
            dtype=dtype,
            rngs=rngs,
        )
        self.embed_dim = dim
        self.num_classes = num_classes

    def _features(self, images: jax.Array) -> jax.Array:
        x = jnp.mean(self.backbone(images), axis=(1, 2))  # global average pool: [B, C]
        return x if self.reduction is None else self.reduction(x)

    @staticmethod
    def _l2_normalise(x: jax.Array) -> jax.Array:
        # The floor keeps a (degenerate) zero vector finite instead of NaN.
        return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    def __call__(self, images: jax.Array) -> dict[str, jax.Array]:
        """images [B, H, W, 3] float32 normalised -> dict of

        features [B, D] (before the BN neck: triplet loss), embeddings [B, D] (after it,
        L2-normalised: retrieval), logits [B, num_classes] (after it: cross-entropy).
        """
        features = self._features(images)
        neck = self.bottleneck(features)
        return {
            "features": features,
            "embeddings": self._l2_normalise(neck),
            "logits": self.classifier(neck),
        }

    def embed(self, images: jax.Array) -> jax.Array:
        """images [B, H, W, 3] -> L2-normalised embeddings [B, D]. Call `model.eval()` first."""
        return self._l2_normalise(self.bottleneck(self._features(images)))


def build_reid_model(
    config: ReIDModelConfig, rngs: nnx.Rngs, *, dtype: DTypeLike | None = None
) -> ReIDModel:
    """A ReIDModel from its config (training mode; call `.eval()` for retrieval)."""
    return ReIDModel(
        depth=config.depth,
        width=config.width,
        embed_dim=config.embed_dim,
        num_classes=config.num_classes,
        last_stride=config.last_stride,
        stem_relu=config.stem_relu,
        dtype=dtype,
        rngs=rngs,
    )
