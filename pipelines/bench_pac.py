"""`python -m pipelines.bench pac`: time and memory of pixel-adaptive convolution.

For each image size (B x S x S, Cin = Cout channels, k x k kernel, 3 guide channels),
jitted forward passes of:

    pac          jaxmot.seg.pac.pac_conv2d (taps accumulated one at a time), normalize off
    pac-norm     the same with kernel normalisation
    unfold       the PyTorch reference's formulation (NVlabs/pacnet `pac.py`) in jnp:
                 build the unfolded input [B, H, W, k*k, Cin] and guide, multiply by K,
                 contract with the kernel (`pac_conv2d_unfold` below)
    unfold-norm  the same with kernel normalisation
    conv         plain jax.lax.conv_general_dilated (no guide): the floor

then, at `--grad-size`, jitted value_and_grad of sum(y^2) w.r.t. x, guide and kernel
(normalize on) for pac, unfold and conv. Each row: median ms of `repeats` calls after a
warm-up call (`time_calls`), compile seconds (lower + compile, apart), and XLA's
temporary allocation of the compiled program (`memory_analysis().temp_size_in_bytes`,
None where the backend does not say) in MiB and as a multiple of the input's size: the
number that says whether the unfold was materialised.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core.timing import time_calls
from jaxmot.seg.pac import pac_conv2d

DEFAULT_SIZES = (64, 128, 256)
GUIDE_FEATURES = 3  # an RGB guide, as in the course's PAC upsampler
FORWARD_FORMS = ("pac", "pac-norm", "unfold", "unfold-norm", "conv")
GRAD_FORMS = ("pac", "unfold", "conv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES), help="H = W")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--channels", type=int, default=16, help="Cin = Cout")
    parser.add_argument("--kernel-size", type=int, default=3)
    parser.add_argument(
        "--forms", nargs="+", choices=FORWARD_FORMS, default=list(FORWARD_FORMS),
        help="forward rows to run (the grad rows use pac, unfold and conv where chosen)",
    )  # fmt: skip
    parser.add_argument(
        "--grad-size", type=int, default=128, help="H = W of the grad rows (0: none)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=pathlib.Path, help="write the records here")


def pac_conv2d_unfold(x, guide, kernel, *, normalize: bool = False):
    """PAC as the reference computes it: materialise the k*k unfold, then contract.

    x [B, H, W, Cin], guide [B, H, W, Cg], kernel [k, k, Cin, Cout] -> [B, H, W, Cout]
    (no bias, dilation 1); same values as `pac_conv2d`.
    """
    k, _, cin, cout = kernel.shape
    r = k // 2
    _, h, w, _ = x.shape
    pad = ((0, 0), (r, r), (r, r), (0, 0))
    xp, gp = jnp.pad(x, pad), jnp.pad(guide, pad)
    inside = jnp.pad(jnp.ones((h, w), x.dtype), r)
    windows = [(u, v) for u in range(k) for v in range(k)]
    cols = jnp.stack([xp[:, u : u + h, v : v + w] for u, v in windows], axis=3)  # [B,H,W,kk,Cin]
    gcols = jnp.stack([gp[:, u : u + h, v : v + w] for u, v in windows], axis=3)
    kern = jnp.exp(-0.5 * jnp.sum((gcols - guide[:, :, :, None]) ** 2, axis=-1))  # [B,H,W,kk]
    if normalize:
        kern = kern * jnp.stack([inside[u : u + h, v : v + w] for u, v in windows], axis=-1)
    y = jnp.einsum("bhwtc,tco->bhwo", cols * kern[..., None], kernel.reshape(k * k, cin, cout))
    return y / jnp.sum(kern, axis=-1, keepdims=True) if normalize else y


def _conv(x, guide, kernel):
    del guide
    return jax.lax.conv_general_dilated(
        x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


def _forward(form: str):
    if form == "conv":
        return _conv
    normalize = form.endswith("-norm")
    if form.startswith("unfold"):
        return lambda x, g, k: pac_conv2d_unfold(x, g, k, normalize=normalize)
    return lambda x, g, k: pac_conv2d(x, g, k, normalize=normalize)


def _with_grad(form: str):
    fn = _conv if form == "conv" else _forward(form + "-norm")
    return jax.value_and_grad(lambda x, g, k: jnp.sum(fn(x, g, k) ** 2), argnums=(0, 1, 2))


def _inputs(size: int, args, seed: int = 0):
    rng = np.random.default_rng(seed)
    c, b, k = args.channels, args.batch, args.kernel_size
    x = jnp.asarray(rng.normal(size=(b, size, size, c)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(b, size, size, GUIDE_FEATURES)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(k, k, c, c)) / (k * np.sqrt(c)), jnp.float32)
    return x, g, kernel


def _measure(fn, inputs, repeats: int) -> dict:
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*inputs).compile()
    compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    temp = None if memory is None else getattr(memory, "temp_size_in_bytes", None)
    _, seconds = time_calls(lambda: compiled(*inputs), repeats)
    input_bytes = inputs[0].size * inputs[0].dtype.itemsize
    return {
        "ms_median": 1e3 * seconds,
        "compile_s": compile_s,
        "temp_mib": None if temp is None else temp / 2**20,
        "temp_over_input": None if temp is None else temp / input_bytes,
        "input_mib": input_bytes / 2**20,
    }


def run_pac_bench(args, progress=print) -> list[dict]:
    records = []
    common = {"batch": args.batch, "channels": args.channels, "kernel_size": args.kernel_size}
    rows = [("forward", size, form) for size in args.sizes for form in args.forms]
    if args.grad_size > 0:
        rows += [("fwd+bwd", args.grad_size, f) for f in GRAD_FORMS if f in args.forms]
    for pass_, size, form in rows:
        progress(f"{form} {pass_} {args.batch}x{size}x{size}x{args.channels} ...")
        fn = _forward(form) if pass_ == "forward" else _with_grad(form)
        record = {"form": form, "pass": pass_, "size": size, **common}
        record.update(_measure(fn, _inputs(size, args), args.repeats))
        records.append(record)
    return records


def format_pac_records(records: list[dict]) -> str:
    header = (f"{'form':12s} {'pass':>8s} {'HxW':>9s} {'ms median':>10s} {'compile s':>9s} "
              f"{'temp MiB':>9s} {'temp/input':>10s}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for r in records:
        temp = "n/a" if r["temp_mib"] is None else f"{r['temp_mib']:.1f}"
        ratio = "n/a" if r["temp_over_input"] is None else f"{r['temp_over_input']:.1f}x"
        lines.append(
            f"{r['form']:12s} {r['pass']:>8s} {str(r['size']) + 'x' + str(r['size']):>9s} "
            f"{r['ms_median']:10.2f} {r['compile_s']:9.2f} {temp:>9s} {ratio:>10s}"
        )
    if records:
        r = records[0]
        lines.append(
            f"(batch {r['batch']}, Cin = Cout = {r['channels']}, k = {r['kernel_size']}, "
            f"{GUIDE_FEATURES} guide channels; temp/input: XLA temporaries over the input's size)"
        )
    return "\n".join(lines)


__all__ = ["add_arguments", "format_pac_records", "pac_conv2d_unfold", "run_pac_bench"]
