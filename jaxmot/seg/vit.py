"""DINO Vision Transformer (Caron et al., ICCV 2021) in Flax NNX, laid out like the official code.

    model = vit_small(16, rngs=nnx.Rngs(0))           # ViT-S/16: 384-d, 12 blocks, 6 heads
    feats = model(dino_preprocess(images_uint8))       # [B, H, W, 3] -> [B, H/16, W/16, 384]

Images are NHWC, H and W multiples of the patch size. The output is the dense patch
features of the last block after the final LayerNorm, CLS token dropped, as a grid.

Names follow facebookresearch/dino `vision_transformer.py` so that
`jaxmot.seg.dino_convert` is a one-to-one mapping: patch_embed.proj (PxP conv, stride
P), cls_token, pos_embed [1, 1 + G*G, D], blocks[i].{norm1, attn.qkv, attn.proj, norm2,
mlp.fc1, mlp.fc2}, norm. DINO's ViTs use qkv bias, LayerNorm eps 1e-6 and exact (erf) GELU.

Position embeddings are learned for the pretraining grid G x G (G = 224 / P). Other
grids get DINO's `interpolate_pos_encoding`: the G x G patch embeddings are resized with
torch's bicubic kernel (`F.interpolate(mode="bicubic", align_corners=False)`, cubic
convolution with a = -0.75; jax.image.resize uses a = -0.5 and would not match), called
with `scale_factor = (n + 0.1) / G` per axis for an n-patch axis. That means two things,
both reproduced by `dino_resize_matrix`:
  - the output has floor(G * (n + 0.1) / G) = n rows (the 0.1 guards against rounding
    down, see facebookresearch/dino issue 8);
  - torch samples the source at (i + 0.5) * G / (n + 0.1) - 0.5, i.e. with the given
    scale factor, not G / n, so the result differs slightly from a resize "to size n".
At the pretraining grid DINO skips the interpolation (its test is "same patch count and a
square image", which for whole patches means the grid is G x G); so does this module.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.images import IMAGENET_MEAN, IMAGENET_STD, imagenet_normalize

LAYER_NORM_EPS = 1e-6  # dino vit_small: partial(nn.LayerNorm, eps=1e-6)
PRETRAIN_SIZE = 224  # DINO pretraining crop; pos_embed covers a (224 / P)^2 grid
TORCH_BICUBIC_A = -0.75  # torch's cubic convolution coefficient (upsample_bicubic2d)
DINO_SCALE_OFFSET = 0.1  # added to the target grid before dividing by G (dino issue 8)

# dino _init_weights: trunc_normal_(std=.02) for Linear weights, cls_token and pos_embed.
_TRUNC_NORMAL = nnx.initializers.truncated_normal(stddev=0.02)


# DINO's eval transforms: torchvision ToTensor + Normalize with the ImageNet statistics.
dino_preprocess = imagenet_normalize


def _cubic_weights(t: np.ndarray, a: float) -> np.ndarray:
    """[..., 4] weights of the taps at floor(x) - 1 .. floor(x) + 2, t = x - floor(x)."""

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def torch_bicubic_matrix(
    in_size: int, out_size: int, scale_factor: float | None = None
) -> np.ndarray:
    """[out_size, in_size] float32 matrix M with M @ x == torch's 1-D bicubic resize of x.

    Matches `F.interpolate(mode="bicubic", align_corners=False)` along one axis: source
    coordinate (i + 0.5) * s - 0.5 with s = 1 / scale_factor when a scale factor was given
    (torch uses it as is), else in_size / out_size; cubic convolution with a = -0.75; taps
    outside the input clamped to the border. Computed in float32 like torch's CPU kernel.
    """
    if scale_factor is not None and scale_factor > 0:
        step = np.float32(1.0 / scale_factor)
    else:
        step = np.float32(in_size) / np.float32(out_size)
    src = step * (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5)
    # torch's guard_index_and_lambda: index at most in_size - 1, fraction within [0, 1].
    index = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    frac = np.clip(src - index.astype(np.float32), 0.0, 1.0).astype(np.float32)
    weights = _cubic_weights(frac, np.float32(TORCH_BICUBIC_A))  # [out, 4]
    taps = np.clip(index[:, None] + np.arange(-1, 3), 0, in_size - 1)  # [out, 4]
    matrix = np.zeros((out_size, in_size), np.float32)
    np.add.at(matrix, (np.repeat(np.arange(out_size), 4), taps.ravel()), weights.ravel())
    return matrix


def dino_resize_matrix(grid: int, n: int) -> np.ndarray:
    """[n, grid] bicubic matrix DINO's interpolate_pos_encoding applies along one axis."""
    scale = (n + DINO_SCALE_OFFSET) / grid
    out = int(grid * scale)  # torch: output size = floor(input size * scale factor)
    if out != n:  # DINO asserts this too
        raise ValueError(f"scale factor {scale} maps {grid} to {out} positions, not {n}")
    return torch_bicubic_matrix(grid, n, scale)


class Attention(nnx.Module):
    """Multi-head self-attention with a fused qkv projection (qkv channels: 3, heads, dim)."""

    def __init__(self, dim: int, num_heads: int, *, rngs: nnx.Rngs):
        if dim % num_heads:
            raise ValueError(f"embed dim {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nnx.Linear(dim, 3 * dim, kernel_init=_TRUNC_NORMAL, rngs=rngs)
        self.proj = nnx.Linear(dim, dim, kernel_init=_TRUNC_NORMAL, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """[B, N, D] -> [B, N, D]."""
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads)
        out = jax.nn.dot_product_attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2])
        return self.proj(out.reshape(b, n, d))


class Mlp(nnx.Module):
    def __init__(self, dim: int, hidden: int, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(dim, hidden, kernel_init=_TRUNC_NORMAL, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, dim, kernel_init=_TRUNC_NORMAL, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fc2(jax.nn.gelu(self.fc1(x), approximate=False))  # torch nn.GELU: erf


def _layer_norm(dim: int, rngs: nnx.Rngs) -> nnx.LayerNorm:
    # use_fast_variance=False: E[(x - mean)^2], as torch computes it.
    return nnx.LayerNorm(dim, epsilon=LAYER_NORM_EPS, use_fast_variance=False, rngs=rngs)


class Block(nnx.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, *, rngs: nnx.Rngs):
        self.norm1 = _layer_norm(dim, rngs)
        self.attn = Attention(dim, num_heads, rngs=rngs)
        self.norm2 = _layer_norm(dim, rngs)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nnx.Module):
    """PxP convolution with stride P: [B, H, W, C] -> [B, H/P, W/P, D]."""

    def __init__(self, patch_size: int, in_chans: int, dim: int, *, rngs: nnx.Rngs):
        self.proj = nnx.Conv(
            in_chans, dim, (patch_size, patch_size), strides=patch_size, padding="VALID", rngs=rngs
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.proj(x)


class VisionTransformer(nnx.Module):
    """DINO ViT returning dense patch features [B, H/P, W/P, D].

    Args:
      patch_size: P, the patch side in pixels.
      embed_dim: D. depth: number of blocks. num_heads: attention heads (D % heads == 0).
      mlp_ratio: MLP hidden width / D.
      pretrain_grid: G, the side of the patch grid the position embeddings were learned
        on (224 / P for DINO); pos_embed is [1, 1 + G*G, D].
    """

    def __init__(
        self,
        patch_size: int = 16,
        embed_dim: int = 384,
        depth: int = 12,
        num_heads: int = 6,
        mlp_ratio: float = 4.0,
        pretrain_grid: int = PRETRAIN_SIZE // 16,
        *,
        in_chans: int = 3,
        rngs: nnx.Rngs,
    ):
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.pretrain_grid = pretrain_grid
        self.num_patches = pretrain_grid * pretrain_grid  # at pretraining, as in DINO
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, rngs=rngs)
        self.cls_token = nnx.Param(_TRUNC_NORMAL(rngs.params(), (1, 1, embed_dim)))
        self.pos_embed = nnx.Param(
            _TRUNC_NORMAL(rngs.params(), (1, 1 + self.num_patches, embed_dim))
        )
        self.blocks = nnx.List(
            [Block(embed_dim, num_heads, mlp_ratio, rngs=rngs) for _ in range(depth)]
        )
        self.norm = _layer_norm(embed_dim, rngs)

    def grid_size(self, height: int, width: int) -> tuple[int, int]:
        """(H/P, W/P) for an image size; ValueError unless both are multiples of P."""
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(
                f"image size {height}x{width} is not a multiple of the patch size {p}; "
                f"crop or pad to e.g. {height // p * p}x{width // p * p}"
            )
        return height // p, width // p

    def position_embeddings(self, h: int, w: int) -> jax.Array:
        """[1, 1 + h*w, D]: CLS position, then the patch grid resized as DINO does."""
        pos = self.pos_embed[...]
        g = self.pretrain_grid
        if (h, w) == (g, g):
            return pos
        grid = pos[0, 1:].reshape(g, g, self.embed_dim)
        rows = jnp.asarray(dino_resize_matrix(g, h))
        cols = jnp.asarray(dino_resize_matrix(g, w))
        grid = jnp.einsum("ai,bj,ijd->abd", rows, cols, grid, precision=jax.lax.Precision.HIGHEST)
        return jnp.concatenate([pos[:, :1], grid.reshape(1, h * w, self.embed_dim)], axis=1)

    def __call__(self, images: jax.Array) -> jax.Array:
        """images: [B, H, W, 3] float, normalised (see dino_preprocess) -> [B, H/P, W/P, D]."""
        if images.ndim != 4:
            raise ValueError(f"expected images [B, H, W, C], got shape {images.shape}")
        b, height, width, _ = images.shape
        h, w = self.grid_size(height, width)
        x = self.patch_embed(images).reshape(b, h * w, self.embed_dim)  # row-major, as torch
        cls = jnp.broadcast_to(self.cls_token[...], (b, 1, self.embed_dim))
        x = jnp.concatenate([cls.astype(x.dtype), x], axis=1) + self.position_embeddings(h, w)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 1:].reshape(b, h, w, self.embed_dim)


def vit_small(patch_size: int = 16, *, rngs: nnx.Rngs) -> VisionTransformer:
    """DINO ViT-S/P (P = 16 or 8): 384-d, 12 blocks, 6 heads, pretrained at 224 x 224."""
    if patch_size not in (8, 16):
        raise ValueError(f"DINO ViT-S has patch size 8 or 16, got {patch_size}")
    return VisionTransformer(
        patch_size, 384, 12, 6, 4.0, pretrain_grid=PRETRAIN_SIZE // patch_size, rngs=rngs
    )


__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VisionTransformer",
    "dino_preprocess",
    "dino_resize_matrix",
    "torch_bicubic_matrix",
    "vit_small",
]
