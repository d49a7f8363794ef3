"""Pixel-adaptive convolution (PAC; Su et al., CVPR 2019) without the unfold.

A PAC layer is an ordinary convolution whose every tap is re-weighted, per output pixel,
by how similar the guide features at the two ends of the tap are:

    y[i] = b + sum_j K(g[i], g[j]) W[p_i - p_j] x[j],   K(a, c) = exp(-0.5 ||a - c||^2)

over the k x k window of pixel i (the paper's definition, with its Gaussian kernel).
With a constant guide K = 1 and PAC is the plain convolution; an edge in the guide cuts
the window in two. Options of pacnet kept here: kernel normalisation (divide by the
window's sum of K, so the output is a K-weighted average of W x) and the transposed form
used for joint upsampling (zero insertion, then PAC at the output resolution). Added by
jaxmot: a per-channel scale of the guide (`scale_guide`), which narrows or widens the
Gaussian per guide channel; pacnet has no such parameter (its learnable kernel
parameters are `inv_alpha` / `inv_lambda` of its `inv_*` kernel types, not kept here).
Official code: NVlabs/pacnet.

Layouts: images NHWC (x [B, H, W, Cin], guide [B, H, W, Cg]), kernels HWIO
[kh, kw, Cin, Cout] like `flax.nnx.Conv`; kh and kw odd, stride 1, zero 'SAME' padding
(neighbours outside the image contribute nothing, and with `normalize` they are left
out of the kernel sum as well).

Memory. The PyTorch reference (NVlabs/pacnet `pac.py`) builds the unfolded input
[B, Cin, k, k, H, W] (k*k times the input) and multiplies it by the [B, 1, k, k, H, W]
kernel before one einsum, and saves the unfold again for backward: k*k = 9 (k = 3) to 25
(k = 5) copies of every activation, which is what runs out of memory on large images.
Here the sum over the k*k taps is accumulated one tap at a time in a `lax.scan`: for
each tap a shifted view of the (once padded) x and guide, the [H, W] map of K, and
`(K * x_shift) @ W[u, v]` added into the [H, W, Cout] accumulator. Live temporaries are
a few arrays of the input's / output's size, whatever k is. A scan, not a Python loop:
with the taps unrolled, XLA (CPU) hoisted all k*k shifted copies of x ahead of one big
fusion, i.e. materialised the unfold after all (B=1, 256x256, 16 channels, k=3: 38 MiB
of temporaries unrolled, 9.6 MiB scanned, and the scan was also faster). Measured by
`python -m pipelines.bench pac`, which reports XLA's temp allocation next to an unfold
implementation's.

The two public ops are jitted (dilation / stride / normalize static), so an eager call
is one compiled program rather than a dispatch per tap; shape errors are raised while
tracing, before anything compiles. Nested in a caller's jit they are inlined.

Gradients. Reverse mode through the scan would, left alone, stack K and K * x_shift of
every tap as residuals: the unfold again through the back door. Each tap is wrapped in
`jax.checkpoint`, so the only residuals are the padded inputs (loop-invariant, saved
once) and the tap index; backward recomputes a tap's K and K * x (elementwise, cheap;
the tap's matmul is not recomputed, backward never needs its output). Same setting as
above, value_and_grad w.r.t. x, guide and kernel with normalize: 27 MiB checkpointed,
105 MiB without, 132 MiB unrolled.

Transposed PAC (`pac_conv_transpose2d`), stride s: input sample x[i, j] lands on output
pixel (s*i, s*j) of an [s*H, s*W] grid, every other output pixel holds an inserted zero,
and a stride-1 PAC with the output-resolution guide runs on that grid. This is the
reference's `pacconv_transpose2d` with padding (k-1)/2 and output_padding s-1 (its
weight [Cin, Cout, kh, kw] is our kernel transposed to HWIO, correlated without a
flip). With `normalize`, as in the reference's `packernel2d` (which multiplies K by the
zero-inserted mask of ones before summing), the kernel sum counts only taps that land
on real input samples: inserted zeros are absent data, not dark pixels. A window that
holds no sample at all (possible only when k < s) gives 0 (+ bias), as the
reference's divide-by-(norm + [norm == 0]) does. The zeros are never computed on: output
phase (a, b) (pixels s*m + a, s*n + b) sees samples only through the taps with
(a + du) % s == 0 and (b + dv) % s == 0, and each tap of the kernel belongs to exactly
one phase per axis. So the transposed form is one scan over the kh*kw (phase, tap)
pairs at input resolution, each with its phase's centre guide (g[a::s, b::s]) against
the guide at the samples (g[::s, ::s]), accumulated into [s*s, H, W, Cout] and
interleaved at the end: s*s fewer multiply-adds than convolving the zero-inserted grid,
and the same k*k taps as a stride-1 PAC on the input.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def gaussian_kernel(a: jax.Array, b: jax.Array) -> jax.Array:
    """K(a, b) = exp(-0.5 ||a - b||^2) over the last axis: [..., C] x [..., C] -> [...]."""
    d = a - b
    return jnp.exp(-0.5 * jnp.sum(d * d, axis=-1))


def scale_guide(guide: jax.Array, log_scale: jax.Array) -> jax.Array:
    """guide [..., Cg] * exp(log_scale) [Cg]: a learnable per-channel inverse bandwidth
    of the Gaussian kernel (a jaxmot option; not in pacnet).

    exp keeps the scale positive; log_scale = 0 (the initial value) leaves the guide as
    it is. A larger scale makes K narrower (sharper edges), a smaller one flatter.
    """
    return guide * jnp.exp(log_scale).astype(guide.dtype)


# --- shape checks (run at trace time, so errors come before any compilation) ----------


def _check(x, guide, kernel, bias, out_hw: tuple[int, int], name: str):
    if x.ndim != 4:
        raise ValueError(f"{name}: x must be [B, H, W, Cin], got shape {x.shape}")
    if guide.ndim != 4:
        raise ValueError(f"{name}: guide must be [B, H, W, Cg], got shape {guide.shape}")
    if kernel.ndim != 4:
        raise ValueError(f"{name}: kernel must be [k, k, Cin, Cout] (HWIO), got {kernel.shape}")
    kh, kw, cin, cout = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"{name}: kernel size must be odd (a centred window), got {kh}x{kw}")
    if x.shape[-1] != cin:
        raise ValueError(
            f"{name}: x has {x.shape[-1]} channels but kernel {kernel.shape} expects Cin = {cin}"
        )
    expected = (x.shape[0], *out_hw)
    if guide.shape[:3] != expected:
        raise ValueError(
            f"{name}: guide {guide.shape} must be [B, H, W, Cg] = [{expected[0]}, "
            f"{expected[1]}, {expected[2]}, Cg] for x of shape {x.shape}"
        )
    if bias is not None and bias.shape != (cout,):
        raise ValueError(f"{name}: bias must be [Cout] = [{cout}], got {bias.shape}")


def _positive_int(value, what: str, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
    return int(value)


# --- the core: a PAC sum accumulated tap by tap -------------------------------------------


def _accumulate_taps(x, g_centre, g_neigh, taps, weights, normalize: bool):
    """For one image and P output phases: sum over taps t of phase p_t of
    K(g_centre[p_t], g_neigh shifted by t) * (x shifted by t) @ w_t.

    x: [H, W, Cin] and g_neigh: [H, W, Cg] on the input grid; g_centre: [P, H, W, Cg],
    the guide of each phase's output pixels (P = 1 for the plain PAC); taps: T static
    (p, dr, dc) triples, output (i, j) of phase p reading x and g_neigh at
    (i + dr, j + dc), which contributes nothing outside the grid; weights: [T, Cin, Cout].
    Returns ([P, H, W, Cout] sums, [P, H, W] sums of K over the in-grid taps, or None
    without normalize). One scan over all taps, whatever P is.
    """
    h, w, cin = x.shape
    phases = g_centre.shape[0]
    dtype = jnp.result_type(x, g_centre, weights)
    pr = max(abs(dr) for _, dr, _ in taps)
    pc = max(abs(dc) for _, _, dc in taps)
    xp = jnp.pad(x, ((pr, pr), (pc, pc), (0, 0)))
    gp = jnp.pad(g_neigh, ((pr, pr), (pc, pc), (0, 0)))
    rows = jnp.arange(h)[:, None]
    cols = jnp.arange(w)[None, :]

    @jax.checkpoint  # residuals: the (loop-invariant) inputs and the tap index
    def tap(xp, gp, g_centre, tap_index, wt):
        p, dr, dc = tap_index[0], tap_index[1], tap_index[2]
        zero = jnp.zeros((), tap_index.dtype)  # one index dtype, under x64 too
        xs = jax.lax.dynamic_slice(xp, (pr + dr, pc + dc, zero), (h, w, cin))
        gs = jax.lax.dynamic_slice(gp, (pr + dr, pc + dc, zero), (h, w, gp.shape[-1]))
        gc = jax.lax.dynamic_index_in_dim(g_centre, p, keepdims=False)
        k = gaussian_kernel(gc, gs)
        if normalize:  # padded guide pixels are not neighbours: keep them out of the sum
            inside = (rows + dr >= 0) & (rows + dr < h) & (cols + dc >= 0) & (cols + dc < w)
            k = jnp.where(inside, k, 0.0)
        return ((k[..., None] * xs) @ wt).astype(dtype), k.astype(dtype)

    def add(total, p, term):
        if phases == 1:
            return total + term[None]
        return total.at[p].add(term)  # in place in the loop: a dynamic_update_slice

    def step(carry, tap_inputs):
        acc, ksum = carry
        out, k = tap(xp, gp, g_centre, *tap_inputs)
        p = tap_inputs[0][0]
        return (add(acc, p, out), add(ksum, p, k) if normalize else None), None

    init = (
        jnp.zeros((phases, h, w, weights.shape[-1]), dtype),
        jnp.zeros((phases, h, w), dtype) if normalize else None,
    )
    (acc, ksum), _ = jax.lax.scan(step, init, (jnp.asarray(taps, jnp.int32), weights))
    return acc, ksum


def _finish(acc, ksum, bias):
    if ksum is not None:
        # An empty window (sum 0, possible in the transposed form only) gives 0.
        acc = acc / jnp.where(ksum > 0, ksum, 1.0)[..., None]
    if bias is not None:
        acc = acc + bias
    return acc


def _pac_image(x, guide, kernel, bias, dilation: int, normalize: bool):
    kh, kw, cin, cout = kernel.shape
    taps = [
        (0, (u - kh // 2) * dilation, (v - kw // 2) * dilation)
        for u in range(kh)
        for v in range(kw)
    ]
    weights = kernel.reshape(kh * kw, cin, cout)
    acc, ksum = _accumulate_taps(x, guide[None], guide, taps, weights, normalize)
    return _finish(acc, ksum, bias)[0]


@functools.partial(jax.jit, static_argnames=("dilation", "normalize"))
def pac_conv2d(
    x: jax.Array,
    guide: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None = None,
    *,
    dilation: int = 1,
    normalize: bool = False,
) -> jax.Array:
    """Pixel-adaptive convolution, stride 1, zero 'SAME' padding.

    Args:
      x: [B, H, W, Cin] input.
      guide: [B, H, W, Cg] guide features (scale them with `scale_guide` for a learnable
        bandwidth).
      kernel: [kh, kw, Cin, Cout] HWIO, kh and kw odd.
      bias: optional [Cout].
      dilation: spacing of the window's taps (static).
      normalize: divide each output (before the bias) by the sum of K over the in-image
        taps of its window.

    Returns:
      [B, H, W, Cout]: y[b, i, j, o] = bias[o] + sum_{u, v, c} K(g[b, i, j],
      g[b, i + u', j + v']) kernel[u, v, c, o] x[b, i + u', j + v', c] with
      u' = (u - kh // 2) * dilation, v' = (v - kw // 2) * dilation, over in-image taps.
    """
    dilation = _positive_int(dilation, "dilation", "pac_conv2d")
    _check(x, guide, kernel, bias, x.shape[1:3], "pac_conv2d")

    def one(xi, gi):
        return _pac_image(xi, gi, kernel, bias, dilation, normalize)

    return jax.vmap(one)(x, guide)


def _pac_transpose_image(x, guide, kernel, bias, stride: int, normalize: bool):
    kh, kw, _, cout = kernel.shape
    h, w = x.shape[:2]
    s = stride
    # Output pixel (s*m + a, s*n + b) is pixel (m, n) of phase p = a*s + b.
    centres = guide.reshape(h, s, w, s, -1).transpose(1, 3, 0, 2, 4).reshape(s * s, h, w, -1)
    # Tap (u, v) of phase (a, b) lands on a sample iff (a + du) % s == (b + dv) % s == 0,
    # namely sample (m + (a + du) // s, n + (b + dv) // s): every tap of the kernel
    # belongs to exactly one phase per axis, so there are kh*kw (phase, tap) pairs in all.
    taps, weights = [], []
    for a in range(s):
        for b in range(s):
            for u in range(kh):
                for v in range(kw):
                    du, dv = u - kh // 2, v - kw // 2
                    if (a + du) % s == 0 and (b + dv) % s == 0:
                        taps.append((a * s + b, (a + du) // s, (b + dv) // s))
                        weights.append((u, v))
    weights = jnp.stack([kernel[u, v] for u, v in weights])
    # Phases left without taps (only when k < s) keep acc = ksum = 0: output = bias.
    acc, ksum = _accumulate_taps(x, centres, centres[0], taps, weights, normalize)
    y = _finish(acc, ksum, bias)  # [s*s, H, W, Cout]
    return y.reshape(s, s, h, w, cout).transpose(2, 0, 3, 1, 4).reshape(h * s, w * s, cout)


@functools.partial(jax.jit, static_argnames=("stride", "normalize"))
def pac_conv_transpose2d(
    x: jax.Array,
    guide: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None = None,
    *,
    stride: int = 2,
    normalize: bool = False,
) -> jax.Array:
    """Transposed PAC: zero insertion by `stride`, then PAC guided at output resolution.

    Args:
      x: [B, H, W, Cin]; sample x[b, i, j] lands on output pixel (stride*i, stride*j).
      guide: [B, stride*H, stride*W, Cg], the guide at output resolution.
      kernel: [kh, kw, Cin, Cout] HWIO (odd sizes), correlated over the zero-inserted grid.
      bias: optional [Cout].
      stride: upsampling factor (static).
      normalize: divide by the sum of K over the window's taps that hold real input
        samples (inserted zeros are not counted; see the module docstring).

    Returns:
      [B, stride*H, stride*W, Cout], equal to `pac_conv2d(z, guide, kernel, bias)` with z
      the zero-inserted x when normalize is off, computed without z.
    """
    stride = _positive_int(stride, "stride", "pac_conv_transpose2d")
    if x.ndim == 4:
        out_hw = (stride * x.shape[1], stride * x.shape[2])
    else:
        out_hw = (0, 0)
    _check(x, guide, kernel, bias, out_hw, "pac_conv_transpose2d")

    def one(xi, gi):
        return _pac_transpose_image(xi, gi, kernel, bias, stride, normalize)

    return jax.vmap(one)(x, guide)


__all__ = ["gaussian_kernel", "pac_conv2d", "pac_conv_transpose2d", "scale_guide"]
