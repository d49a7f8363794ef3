"""The E.T. layer as a Flax NNX module around the pure op `jaxmot.sot.exemplar`.

    layer = ExemplarTransformerLayer(256, kernel_size=5, rngs=nnx.Rngs(0))
    y = layer(x)              # x [B, H, W, 256] -> [B, H, W, 256]

The op's params pytree is held as nested `nnx.Dict`s with the same keys: weights as
`nnx.Param`, the BatchNorm running statistics (`dw_bn` / `pw_bn` `mean`, `var`) as
`nnx.BatchStat`. Modes follow NNX (`model.train()` / `model.eval()` toggle
`use_running_average` and `deterministic`, as on nnx.BatchNorm / nnx.Dropout; a new
layer is in train mode): in train mode BatchNorm uses the batch's statistics and
updates the running ones with torch's momentum (running <- 0.9 running + 0.1 batch,
unbiased batch variance), and dropout draws its masks from the `dropout` stream of the
`rngs` given at construction.
"""

from __future__ import annotations

import jax
from flax import nnx

from jaxmot.sot.exemplar import (
    ExemplarConfig,
    exemplar_layer,
    init_exemplar_params,
    update_running_stats,
)

_STAT_NAMES = ("mean", "var")
_BN_NAMES = ("dw_bn", "pw_bn")


def _to_variables(tree: dict) -> dict:
    """Params pytree -> the same nesting of nnx.Dict / nnx.Param / nnx.BatchStat."""
    out = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            out[name] = nnx.Dict(_to_variables(value))
        elif name in _STAT_NAMES:
            out[name] = nnx.BatchStat(value)
        else:
            out[name] = nnx.Param(value)
    return out


def _to_arrays(node) -> dict | jax.Array:
    if isinstance(node, nnx.Variable):
        return node[...]
    return {name: _to_arrays(node[name]) for name in node}


class ExemplarTransformerLayer(nnx.Module):
    """x [B, H, W, channels] -> [B, H, W, channels] (see `jaxmot.sot.exemplar`).

    Args:
      channels: C (input = output).
      kernel_size: k of the dynamic depth-wise conv (odd: padding (k - 1) // 2 keeps H, W).
      config: E, query width, temperature, FFN width, dropout rates, eps, momentum
        (default `ExemplarConfig()`, the shipped tracker's).
      rngs: `params` initialises the weights; `dropout` (or the default stream) drives
        dropout in train mode.
    """

    param_names = (
        "query",
        "keys",
        "dw_kernels",
        "pw_kernels",
        "dw_bn",
        "se",
        "pw_bn",
        "norm1",
        "ffn1",
        "ffn2",
        "norm2",
    )

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        config: ExemplarConfig | None = None,
        *,
        use_running_average: bool = False,
        deterministic: bool = False,
        rngs: nnx.Rngs,
    ):
        config = ExemplarConfig() if config is None else config
        self.channels, self.kernel_size, self.config = channels, kernel_size, config
        self.use_running_average = use_running_average
        self.deterministic = deterministic
        params = init_exemplar_params(rngs.params(), channels, kernel_size, config)
        for name, value in _to_variables(params).items():
            setattr(self, name, value)
        self.rngs = rngs["dropout"].fork()

    def params_tree(self) -> dict:
        """The current values as the op's params pytree (running statistics included)."""
        return {name: _to_arrays(getattr(self, name)) for name in self.param_names}

    def __call__(self, x: jax.Array) -> jax.Array:
        config = self.config
        rates = (config.dropout, config.ffn_hidden_dropout, config.residual_dropout)
        stochastic = not self.deterministic and any(r > 0 for r in rates)
        y, batch_stats = exemplar_layer(
            self.params_tree(),
            x,
            config=config,
            train=not self.use_running_average,
            deterministic=not stochastic,
            dropout_rng=self.rngs() if stochastic else None,
        )
        if batch_stats is not None:
            for bn_name in _BN_NAMES:
                bn = getattr(self, bn_name)
                running = {k: bn[k][...] for k in _STAT_NAMES}
                new = update_running_stats(running, batch_stats[bn_name], config.bn_momentum)
                for k in _STAT_NAMES:
                    bn[k][...] = new[k]
        return y


__all__ = ["ExemplarTransformerLayer"]
