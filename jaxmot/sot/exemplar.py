"""Exemplar attention: the E.T. layer of E.T.Track (Blatter et al., WACV 2023) as pure
functions of a params pytree.

For x [B, H, W, C] (C in = C out), following the official `ExemplarTransformer`
(pblatter/ettrack `tracking/basic_model/exemplar_transformer.py`) step by step:

    q    = ReLU(Linear(C -> D)(mean over H, W of x))                 [B, D]  (pool S = 1)
    attn = softmax(q K^T / sqrt(D) / T)  over the E exemplars        [B, E]
    w_dw = attn @ V_dw,  w_pw = attn @ V_pw      each sample's own kernels
    y = ReLU(BN(depthwise_conv(x, w_dw)))        k x k, padding (k - 1) // 2
    y = SE(y)                                    squeeze-excite, ratio 0.5, ReLU, sigmoid gate
    y = ReLU(BN(pointwise_conv(y, w_pw)))        C x C
    y = y + x                                    (official `dropout=True`: + Dropout(x))
    y = LayerNorm(y)                             over C, per pixel ("norm1")
    y = LayerNorm(y + Dropout(Linear(ReLU(Linear(y)))))   FFN C -> F -> C ("norm2")

This is the order of the official forward (pblatter/ettrack) and of the paper's Fig. 3.
K [E, D] are learned and independent of the input; V_dw [E, k, k, C] and V_pw [E, C, C]
are the exemplar kernels. `sqrt(D)` is applied only when `scale_by_sqrt_dim`
(official `sm_normalization`; True in the shipped tracker, False in the class default),
and the temperature T always (shipped 2; the class default 30, `ET_Tracker` default 1).

Per-sample kernels are applied as per-sample convolutions under `jax.vmap` (one
`lax.conv_general_dilated` with feature_group_count = C per sample for the depth-wise
step, a [H*W, C] @ [C, C] matmul for the point-wise one). The PyTorch code folds the
batch into channels and runs one grouped convolution instead; the tests check that both
give the same values and gradients.

BatchNorm in a pure function: with `train=False` it normalises with the running
statistics stored in the params (`mean`, `var`); with `train=True` it normalises with
the batch's (biased) statistics and returns them as `batch_stats`
({"dw_bn": {"mean", "var"}, "pw_bn": {...}}, `var` unbiased: what torch folds into the
running variance), so a module can update its running averages with
`update_running_stats`.

Params pytree (`init_exemplar_params`), NHWC layouts, with the official names:

    query   {"kernel": [C, D], "bias": [D]}           average_pooler.fc1
    keys    [E, D]                                    K
    dw_kernels [E, k, k, C]                           V_dw   ([E, C*1*k*k] in torch)
    pw_kernels [E, C, C] (in, out)                    V_pw   ([E, C_out*C_in] in torch)
    dw_bn, pw_bn {"scale", "bias", "mean", "var"} [C] dw_bn, pw_bn
    se      {"reduce": {"kernel": [C, R], "bias": [R]},
             "expand": {"kernel": [R, C], "bias": [C]}}  se.conv_reduce / conv_expand
    norm1, norm2 {"scale", "bias"} [C]                norm1, norm2
    ffn1    {"kernel": [C, F], "bias": [F]}           linear1
    ffn2    {"kernel": [F, C], "bias": [C]}           linear2
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax import lax

from jaxmot.core.nn import torch_default_init
from jaxmot.sot.depthwise import depthwise_conv2d


@dataclasses.dataclass(frozen=True)
class ExemplarConfig:
    """Hyper-parameters of one E.T. layer. Defaults: the shipped E.T.Track tracker
    (pblatter/ettrack `pytracking/parameter/et_tracker/et_tracker.py` builds
    `ET_Tracker(e_exemplars=4, sm_normalization=True, temperature=2, dropout=False)`,
    everything else is an `ExemplarTransformer` default).

    num_exemplars: E, the number of exemplar kernels and keys (e_exemplars=4).
    query_dim: D, width of the query and the keys (hidden_dim=256).
    pool_size: S of the adaptive average pool feeding the query (seq_red=1). Only 1: the
      official code reshapes the mixed kernels as [B * C, ...], which holds for S = 1 only.
    temperature: T, softmax(qK^T [/ sqrt(D)] / T) (temperature=2 in the shipped tracker).
    scale_by_sqrt_dim: divide qK^T by sqrt(D) (sm_normalization=True in the shipped one).
    ffn_dim: F, the FFN's hidden width (dim_feedforward=1024).
    dropout: on the FFN output before its residual add (ff_dropout=0.1, `ff_dropout2`).
    ffn_hidden_dropout: after the FFN's ReLU (`ff_dropout = nn.Dropout(dropout)` built from
      the *boolean* `dropout` flag: p = 0 when it is False as shipped; True would give
      p = 1, which zeroes the FFN in training, a quirk not worth reproducing).
    residual_dropout: on the skip branch of the conv block (`do`, dropout_rate=0.1, used
      only with `dropout=True`; off as shipped).
    se_ratio: squeeze-excite reduction, R = round(C * se_ratio) (se_ratio=0.5, divisor 1).
    bn_eps, bn_momentum: nn.BatchNorm2d defaults; torch convention, running <- (1 - m)
      running + m batch.
    ln_eps: nn.LayerNorm eps (layer_norm_eps=1e-5).
    """

    num_exemplars: int = 4
    query_dim: int = 256
    pool_size: int = 1
    temperature: float = 2.0
    scale_by_sqrt_dim: bool = True
    ffn_dim: int = 1024
    dropout: float = 0.1
    ffn_hidden_dropout: float = 0.0
    residual_dropout: float = 0.0
    se_ratio: float = 0.5
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    ln_eps: float = 1e-5

    def __post_init__(self):
        if self.pool_size != 1:
            raise ValueError(
                f"ExemplarConfig.pool_size must be 1 (the official layer mixes one kernel per "
                f"sample), got {self.pool_size}"
            )
        if self.temperature <= 0:
            raise ValueError(f"ExemplarConfig.temperature must be > 0, got {self.temperature}")
        for name in ("dropout", "ffn_hidden_dropout", "residual_dropout"):
            rate = getattr(self, name)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"ExemplarConfig.{name} must be in [0, 1), got {rate}")


def se_channels(channels: int, ratio: float) -> int:
    """Squeeze-excite width: timm's make_divisible(channels * ratio, divisor=1), i.e.
    round half up, never below 1 (nor below 90% of channels * ratio)."""
    v = channels * ratio
    r = max(1, int(v + 0.5))
    return r + 1 if r < 0.9 * v else r


def init_exemplar_params(
    key: jax.Array,
    channels: int,
    kernel_size: int,
    config: ExemplarConfig = ExemplarConfig(),
    dtype=jnp.float32,
) -> dict:
    """A fresh params pytree (layout in the module docstring), initialised as PyTorch
    initialises the official layer: K ~ N(0, 1); each exemplar kernel and every
    Linear / 1x1 conv weight and bias ~ U(+-1/sqrt(fan_in)) (kaiming_uniform with
    a = sqrt(5), torch's default); BatchNorm and LayerNorm scale 1, bias 0; running
    mean 0, var 1."""
    c, d, e, f, k = channels, config.query_dim, config.num_exemplars, config.ffn_dim, kernel_size
    r = se_channels(c, config.se_ratio)
    keys = iter(jax.random.split(key, 13))  # one per random array below

    def uniform(shape, fan_in):
        return torch_default_init(fan_in)(next(keys), shape, dtype)

    def dense(n_in, n_out):
        return {"kernel": uniform((n_in, n_out), n_in), "bias": uniform((n_out,), n_in)}

    def bn():
        return {
            "scale": jnp.ones((c,), dtype),
            "bias": jnp.zeros((c,), dtype),
            "mean": jnp.zeros((c,), dtype),
            "var": jnp.ones((c,), dtype),
        }

    def ln():
        return {"scale": jnp.ones((c,), dtype), "bias": jnp.zeros((c,), dtype)}

    return {
        "query": dense(c, d),
        "keys": jax.random.normal(next(keys), (e, d), dtype),
        "dw_kernels": uniform((e, k, k, c), k * k),  # depth-wise: fan_in = 1 * k * k
        "pw_kernels": uniform((e, c, c), c),
        "dw_bn": bn(),
        "se": {"reduce": dense(c, r), "expand": dense(r, c)},
        "pw_bn": bn(),
        "norm1": ln(),
        "ffn1": dense(c, f),
        "ffn2": dense(f, c),
        "norm2": ln(),
    }


def exemplar_attention_weights(params: dict, x: jax.Array, config: ExemplarConfig) -> jax.Array:
    """x [B, H, W, C] -> attention over the exemplars [B, E] (rows sum to 1)."""
    pooled = jnp.mean(x, axis=(1, 2))  # AdaptiveAvgPool2d(1), flattened: [B, C]
    q = jax.nn.relu(pooled @ params["query"]["kernel"] + params["query"]["bias"])  # [B, D]
    logits = q @ params["keys"].T  # [B, E]
    if config.scale_by_sqrt_dim:
        logits = logits / math.sqrt(q.shape[-1])
    return jax.nn.softmax(logits / config.temperature, axis=-1)


def dynamic_conv_kernels(params: dict, attn: jax.Array) -> tuple[jax.Array, jax.Array]:
    """attn [B, E] -> each sample's depth-wise kernel [B, k, k, C] and point-wise kernel
    [B, C_in, C_out]: attention-weighted sums of the E exemplar kernels."""
    dw = jnp.einsum("be,ehwc->bhwc", attn, params["dw_kernels"])
    pw = jnp.einsum("be,eio->bio", attn, params["pw_kernels"])
    return dw, pw


def _depthwise_conv_one(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """One sample: x [H, W, C], kernel [k, k, C] -> [H, W, C], stride 1, zero padding
    (k - 1) // 2 on every side (the official dw_padding; 'same' size for odd k). The conv
    is `depthwise_conv2d` (shifted multiply-adds: XLA's grouped conv is slow on CPU)."""
    return depthwise_conv2d(x[None], kernel, 1, (kernel.shape[0] - 1) // 2)[0]


def dynamic_depthwise_conv(x: jax.Array, kernels: jax.Array) -> jax.Array:
    """Per-sample depth-wise conv: x [B, H, W, C], kernels [B, k, k, C] -> [B, H', W', C]."""
    return jax.vmap(_depthwise_conv_one)(x, kernels)


def dynamic_pointwise_conv(x: jax.Array, kernels: jax.Array) -> jax.Array:
    """Per-sample 1x1 conv: x [B, H, W, C_in], kernels [B, C_in, C_out] -> [B, H, W, C_out]."""
    return jax.vmap(jnp.matmul)(x, kernels)


def batch_norm(bn: dict, x: jax.Array, *, train: bool, eps: float) -> tuple[jax.Array, dict | None]:
    """BatchNorm2d over [B, H, W, C]: running statistics when not `train`; otherwise the
    batch's biased statistics, returned as {"mean", "var" (unbiased, n / (n - 1))}, the
    values torch folds into its running averages (no gradient flows through them)."""
    if train:
        mean = jnp.mean(x, axis=(0, 1, 2))
        var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
        n = x.shape[0] * x.shape[1] * x.shape[2]
        stats = {
            "mean": lax.stop_gradient(mean),
            "var": lax.stop_gradient(var * (n / max(n - 1, 1))),
        }
    else:
        mean, var, stats = bn["mean"], bn["var"], None
    y = (x - mean) * lax.rsqrt(var + eps)
    return y * bn["scale"] + bn["bias"], stats


def update_running_stats(running: dict, batch: dict, momentum: float) -> dict:
    """torch's BatchNorm update: (1 - momentum) * running + momentum * batch, per key."""
    return {k: (1.0 - momentum) * running[k] + momentum * batch[k] for k in ("mean", "var")}


def layer_norm(ln: dict, x: jax.Array, eps: float) -> jax.Array:
    """LayerNorm over the last (channel) axis: every pixel is one token."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * lax.rsqrt(var + eps) * ln["scale"] + ln["bias"]


def squeeze_excite(se: dict, x: jax.Array) -> jax.Array:
    """x [B, H, W, C] * sigmoid(expand(ReLU(reduce(mean over H, W of x)))): the layer's
    own SqueezeExcite (ReLU, plain sigmoid gate; not the backbone's hard sigmoid)."""
    s = jnp.mean(x, axis=(1, 2))
    s = jax.nn.relu(s @ se["reduce"]["kernel"] + se["reduce"]["bias"])
    s = s @ se["expand"]["kernel"] + se["expand"]["bias"]
    return x * jax.nn.sigmoid(s)[:, None, None, :]


def _dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def exemplar_layer(
    params: dict,
    x: jax.Array,
    *,
    config: ExemplarConfig,
    kernel_size: int | None = None,
    train: bool = False,
    deterministic: bool | None = None,
    dropout_rng: jax.Array | None = None,
) -> tuple[jax.Array, dict | None]:
    """One E.T. layer: x [B, H, W, C] -> (y [B, H, W, C], batch_stats).

    Args:
      params: the pytree of `init_exemplar_params` (running BN statistics included).
      config: the layer's hyper-parameters.
      kernel_size: optional check of the depth-wise kernel size the params carry.
      train: normalise with the batch's statistics (returned) instead of the running ones.
      deterministic: no dropout; defaults to `not train`. Dropout with a non-zero rate
        needs `dropout_rng`.
      dropout_rng: PRNG key for the dropout masks.

    Returns:
      y and, with `train`, {"dw_bn": {"mean", "var"}, "pw_bn": {...}} of this batch
      (`var` unbiased); None otherwise.
    """
    if x.ndim != 4:
        raise ValueError(f"exemplar_layer expects x [B, H, W, C], got shape {x.shape}")
    k, c = params["dw_kernels"].shape[1], params["dw_kernels"].shape[-1]
    if kernel_size is not None and kernel_size != k:
        raise ValueError(f"kernel_size {kernel_size} but the params hold {k}x{k} kernels")
    if x.shape[-1] != c:
        raise ValueError(f"x has {x.shape[-1]} channels, the params expect {c}")
    rates = (config.residual_dropout, config.ffn_hidden_dropout, config.dropout)
    if deterministic is None:
        deterministic = not train
    use_dropout = not deterministic and any(r > 0 for r in rates)
    if use_dropout and dropout_rng is None:
        raise ValueError(
            "exemplar_layer with dropout (train=True or deterministic=False) needs a dropout_rng"
        )
    drop_keys = jax.random.split(dropout_rng, 3) if use_dropout else (None,) * 3

    attn = exemplar_attention_weights(params, x, config)
    dw_kernels, pw_kernels = dynamic_conv_kernels(params, attn)

    y = dynamic_depthwise_conv(x, dw_kernels)
    y, dw_stats = batch_norm(params["dw_bn"], y, train=train, eps=config.bn_eps)
    y = squeeze_excite(params["se"], jax.nn.relu(y))
    y = dynamic_pointwise_conv(y, pw_kernels)
    y, pw_stats = batch_norm(params["pw_bn"], y, train=train, eps=config.bn_eps)
    y = jax.nn.relu(y) + _dropout(x, config.residual_dropout, drop_keys[0])

    # Transformer-style post-norm block over the H * W tokens.
    y = layer_norm(params["norm1"], y, config.ln_eps)
    h = jax.nn.relu(y @ params["ffn1"]["kernel"] + params["ffn1"]["bias"])
    h = _dropout(h, config.ffn_hidden_dropout, drop_keys[1])
    h = h @ params["ffn2"]["kernel"] + params["ffn2"]["bias"]
    y = y + _dropout(h, config.dropout, drop_keys[2])
    y = layer_norm(params["norm2"], y, config.ln_eps)

    batch_stats = {"dw_bn": dw_stats, "pw_bn": pw_stats} if train else None
    return y, batch_stats


__all__ = [
    "ExemplarConfig",
    "batch_norm",
    "dynamic_conv_kernels",
    "dynamic_depthwise_conv",
    "dynamic_pointwise_conv",
    "exemplar_attention_weights",
    "exemplar_layer",
    "init_exemplar_params",
    "layer_norm",
    "se_channels",
    "squeeze_excite",
    "update_running_stats",
]
