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

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core.bench_report import Column, check_choices, flag, format_table
from jaxmot.core.timing import time_calls
from jaxmot.seg.pac import pac_conv2d

GUIDE_FEATURES = 3  # an RGB guide, as the PAC joint upsampler's (jaxmot.seg.model)
FORWARD_FORMS = ("pac", "pac-norm", "unfold", "unfold-norm", "conv")
GRAD_FORMS = ("pac", "unfold", "conv")


@dataclasses.dataclass(frozen=True)
class PACBenchConfig:
    """What `run_pac_bench` measures: forward rows for each of `forms` at every H = W in
    `sizes` (batch x H x W x channels, a kernel_size x kernel_size kernel), then
    fwd+bwd rows of pac, unfold and conv (those among `forms`) at `grad_size` (0: none);
    `repeats` timed calls per row."""

    sizes: tuple[int, ...] = flag((64, 128, 256), "H = W")
    batch: int = 1
    channels: int = flag(16, "Cin = Cout")
    kernel_size: int = 3
    forms: tuple[str, ...] = flag(
        FORWARD_FORMS,
        "forward rows to run (the grad rows use pac, unfold and conv where chosen)",
        FORWARD_FORMS,
    )
    grad_size: int = flag(128, "H = W of the grad rows (0: none)")
    repeats: int = 5

    def __post_init__(self):
        check_choices(self)


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


def _inputs(size: int, config: PACBenchConfig, seed: int = 0):
    rng = np.random.default_rng(seed)
    c, b, k = config.channels, config.batch, config.kernel_size
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


def run_pac_bench(config: PACBenchConfig, progress=print) -> list[dict]:
    records = []
    common = {"batch": config.batch, "channels": config.channels, "kernel_size": config.kernel_size}
    rows = [("forward", size, form) for size in config.sizes for form in config.forms]
    if config.grad_size > 0:
        rows += [("fwd+bwd", config.grad_size, f) for f in GRAD_FORMS if f in config.forms]
    for pass_, size, form in rows:
        progress(f"{form} {pass_} {config.batch}x{size}x{size}x{config.channels} ...")
        fn = _forward(form) if pass_ == "forward" else _with_grad(form)
        record = {"form": form, "pass": pass_, "size": size, **common}
        record.update(_measure(fn, _inputs(size, config), config.repeats))
        records.append(record)
    return records


def _temp(r) -> str:
    return "n/a" if r["temp_mib"] is None else f"{r['temp_mib']:.1f}"


def _ratio(r) -> str:
    return "n/a" if r["temp_over_input"] is None else f"{r['temp_over_input']:.1f}x"


COLUMNS = (
    Column("form", 12, "form", left=True),
    Column("pass", 8, "pass"),
    Column("HxW", 9, lambda r: f"{r['size']}x{r['size']}"),
    Column("ms median", 10, "ms_median", ".2f"),
    Column("compile s", 9, "compile_s", ".2f"),
    Column("temp MiB", 9, _temp),
    Column("temp/input", 10, _ratio),
)


def format_pac_records(records: list[dict]) -> str:
    footer = []
    if records:
        r = records[0]
        footer.append(
            f"(batch {r['batch']}, Cin = Cout = {r['channels']}, k = {r['kernel_size']}, "
            f"{GUIDE_FEATURES} guide channels; temp/input: XLA temporaries over the input's size)"
        )
    return format_table(COLUMNS, records, footer=footer)


__all__ = ["PACBenchConfig", "format_pac_records", "pac_conv2d_unfold", "run_pac_bench"]
