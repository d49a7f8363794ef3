"""Depth-wise convolution as a sum of shifted slices, with a hand-written VJP.

XLA's CPU backend runs `lax.conv_general_dilated` with `feature_group_count = C` (a
depth-wise conv) through a generic grouped path that is 25-35x slower than the k*k
multiply-adds it needs (bench: [8, 64, 64, 96], k = 5: 214 ms vs 8 ms), and its gradient
is slower still. LightTrack-Mobile and E.T.Track are mostly depth-wise convs, so every
one of them goes through `depthwise_conv2d`, which writes the conv as k*k strided slices
of the padded input times the per-channel taps (XLA fuses these into one loop), with a
custom VJP of the same form: the input gradient is the same shifted sum over the
(dilated) output gradient with the flipped kernel, the kernel gradient k*k reductions.

Kernels may be shared [k, k, C] or per sample [B, k, k, C] (E.T.Track's dynamic
depth-wise convs: no vmap and no grouped-conv trick needed). Padding is symmetric,
`padding` pixels on each side (PyTorch's `padding=k // 2` for odd k).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax


def _tap(kernel: jax.Array, i: int, j: int) -> jax.Array:
    """Tap (i, j) shaped to broadcast against [B, H, W, C]."""
    if kernel.ndim == 4:  # per sample
        return kernel[:, i, j][:, None, None, :]
    return kernel[i, j]


def _shift_sum(xp: jax.Array, kernel: jax.Array, out_hw: tuple[int, int], stride: int):
    """y[b, h, w] = sum_ij xp[b, h*s + i, w*s + j] * kernel[(b,) i, j] (valid correlation)."""
    kh, kw = kernel.shape[-3:-1]
    ho, wo = out_hw
    out = None
    for i in range(kh):
        for j in range(kw):
            patch = lax.slice(
                xp,
                (0, i, j, 0),
                (xp.shape[0], i + (ho - 1) * stride + 1, j + (wo - 1) * stride + 1, xp.shape[3]),
                (1, stride, stride, 1),
            )
            term = patch * _tap(kernel, i, j)
            out = term if out is None else out + term
    return out


def _out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def depthwise_conv2d(x: jax.Array, kernel: jax.Array, stride: int = 1, padding: int = 0):
    """Depth-wise conv of x [B, H, W, C] with kernel [k, k, C] or [B, k, k, C].

    Returns [B, Ho, Wo, C], Ho = (H + 2 * padding - k) // stride + 1; equals
    `lax.conv_general_dilated(..., feature_group_count=C)` with the same padding.
    """
    return _forward(x, kernel, stride, padding)


def _forward(x, kernel, stride, padding):
    kh, kw = kernel.shape[-3:-1]
    if x.ndim != 4 or kernel.shape[-1] != x.shape[-1]:
        raise ValueError(f"depthwise_conv2d: x {x.shape} and kernel {kernel.shape} do not fit")
    out_hw = (
        _out_size(x.shape[1], kh, stride, padding),
        _out_size(x.shape[2], kw, stride, padding),
    )
    xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    return _shift_sum(xp, kernel.astype(x.dtype), out_hw, stride)


def _fwd(x, kernel, stride, padding):
    return _forward(x, kernel, stride, padding), (x, kernel)


def _bwd(stride, padding, residuals, dy):
    x, kernel = residuals
    kh, kw = kernel.shape[-3:-1]
    b, h, w, c = x.shape
    ho, wo = dy.shape[1:3]
    hp, wp = h + 2 * padding, w + 2 * padding
    # Input gradient: dxp[p] = sum_i u[p - i] k[i], u = dy dilated by the stride; a valid
    # correlation of u padded by k - 1 with the flipped kernel, then cropped to x.
    dilate = ((0, 0, 0), (kh - 1, kh - 1, stride - 1), (kw - 1, kw - 1, stride - 1), (0, 0, 0))
    u = lax.pad(dy, jnp.zeros((), dy.dtype), dilate)
    flipped = kernel[..., ::-1, ::-1, :]
    full_h, full_w = (ho - 1) * stride + kh, (wo - 1) * stride + kw
    dxp = _shift_sum(u, flipped.astype(dy.dtype), (full_h, full_w), 1)
    dxp = jnp.pad(dxp, ((0, 0), (0, hp - full_h), (0, wp - full_w), (0, 0)))
    dx = dxp[:, padding : padding + h, padding : padding + w, :]
    dk = _kernel_grad(x, dy, kernel.shape, stride, padding)
    return dx.astype(x.dtype), dk.astype(kernel.dtype)


ROW_BLOCK = 8  # output rows per step of the kernel-gradient scan (the block stays in cache)


def _kernel_grad(x, dy, kernel_shape, stride: int, padding: int):
    """dk[(b,) i, j, c] = sum x_padded[b, h*s + i, w*s + j, c] * dy[b, h, w, c].

    k*k separate full-tensor reductions would each stream the whole input from memory
    (12x slower than the forward on a 2-core CPU); instead a scan over (sample, block of
    ROW_BLOCK output rows) computes all k*k partial sums of one cached block at a time.
    """
    kh, kw = kernel_shape[-3:-1]
    b, ho, wo, c = dy.shape
    rb = min(ROW_BLOCK, ho)
    nb = -(-ho // rb)
    dy = jnp.pad(dy, ((0, 0), (0, nb * rb - ho), (0, 0), (0, 0)))  # zero rows add nothing
    rows_in = (rb - 1) * stride + kh
    cols_in = (wo - 1) * stride + kw
    need_h = (nb - 1) * rb * stride + rows_in
    xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    xp = jnp.pad(xp, ((0, 0), (0, max(need_h - xp.shape[1], 0)), (0, 0), (0, 0)))
    per_sample = len(kernel_shape) == 4

    def block(acc, index):
        n, r = index // nb, index % nb
        xb = lax.dynamic_slice(xp, (n, r * rb * stride, 0, 0), (1, rows_in, cols_in, c))[0]
        yb = lax.dynamic_slice(dy, (n, r * rb, 0, 0), (1, rb, wo, c))[0]
        taps = jnp.stack([
            jnp.sum(lax.slice(xb, (i, j, 0), (i + (rb - 1) * stride + 1,
                                              j + (wo - 1) * stride + 1, c),
                              (stride, stride, 1)) * yb, axis=(0, 1))
            for i in range(kh) for j in range(kw)
        ])  # fmt: skip
        if per_sample:
            return acc.at[n].add(taps), None
        return acc + taps, None

    acc = jnp.zeros(((b,) if per_sample else ()) + (kh * kw, c), jnp.result_type(x, dy))
    acc, _ = lax.scan(block, acc, jnp.arange(b * nb))
    return acc.reshape(kernel_shape)


depthwise_conv2d.defvjp(_fwd, _bwd)
