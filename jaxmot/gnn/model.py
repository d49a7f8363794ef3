"""AssignmentSimilarityNet, a GNN association model, as an NNX module.

The model is the GNN of a multi-object tracking teaching exercise ("the exercise" below
means its reference code; see docs/gnn.md), inspired by the message-passing tracker of
Brasó & Leal-Taixé, "Learning a Neural Solver for Multiple Object Tracking" (CVPR 2020,
code: dvl-tum/mot_neural_solver).

The numerical work is the pure `jaxmot.gnn.message_passing.message_passing` (fast form);
this module only holds its parameters (`nnx.Param` leaves in the ops' pytree layout) and
computes the edge features from boxes, times and appearance features:

    logits [S, N, M] = model(track_boxes [N,4] xywh, track_t [N], track_features [N,D],
                             track_valid [N], det_boxes [M,4], det_t [M],
                             det_features [M,D], det_valid [M])

`model.score_batch(batch)` does the same for a batch dict of `jaxmot.gnn.data`
(leading [B] on every array) and returns [B, S, N, M].
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from jaxmot.gnn import message_passing as mp


@dataclasses.dataclass(frozen=True)
class GNNConfig:
    """The exercise's defaults: node_dim 32, edge_dim 64, 10 message-passing steps, 512-d ReID
    input (`reid_dim` must equal the size of the appearance features it will see).
    mot_neural_solver itself uses 12 steps, node 32, edge 16."""

    reid_dim: int = 512
    node_dim: int = 32
    edge_dim: int = 64
    num_steps: int = 10
    dropout: float = 0.0  # after every ReLU of the MLPs, training only

    def __post_init__(self):
        for name in ("reid_dim", "node_dim", "edge_dim", "num_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"GNNConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GNNConfig.dropout must be in [0, 1), got {self.dropout}")


def _to_nnx(tree):
    if isinstance(tree, dict):
        return nnx.Dict({k: _to_nnx(v) for k, v in tree.items()})
    if isinstance(tree, list | tuple):
        return nnx.List([_to_nnx(v) for v in tree])
    return nnx.Param(jnp.asarray(tree))


def _values(tree):
    if isinstance(tree, nnx.Dict | dict):
        return {k: _values(tree[k]) for k in tree}
    if isinstance(tree, nnx.List | list):
        return [_values(v) for v in tree]
    return tree[...]


class AssociationGNN(nnx.Module):
    """Bipartite message passing between past tracks and current detections."""

    def __init__(self, config: GNNConfig, rngs: nnx.Rngs):
        self.config = config
        params = mp.init_params(rngs.params(), config.reid_dim, config.node_dim, config.edge_dim)
        self.params = _to_nnx(params)
        self.deterministic = False  # set by model.train() / model.eval()

    def param_tree(self) -> dict:
        """The parameters as the plain pytree `jaxmot.gnn.message_passing` takes."""
        return _values(self.params)

    def _dropout(self, rng):
        """(rate, rng) for the ops: dropout only in train mode, with a key."""
        if self.deterministic or self.config.dropout == 0 or rng is None:
            return 0.0, None
        return self.config.dropout, rng

    def __call__(
        self,
        track_boxes,
        track_t,
        track_features,
        track_valid,
        det_boxes,
        det_t,
        det_features,
        det_valid,
        *,
        rng: jax.Array | None = None,
    ) -> jax.Array:
        """Logits [num_steps, N, M]; dropout only in train mode with an `rng`."""
        rate, rng = self._dropout(rng)
        return score_graph(
            self.param_tree(),
            self.config.num_steps,
            track_boxes,
            track_t,
            track_features,
            track_valid,
            det_boxes,
            det_t,
            det_features,
            det_valid,
            dropout_rate=rate,
            rng=rng,
        )

    def score_batch(self, batch: dict, rng: jax.Array | None = None) -> jax.Array:
        """[B, S, N, M] logits for a padded batch (keys of jaxmot.gnn.data)."""
        rate, rng = self._dropout(rng)
        b = batch["track_boxes"].shape[0]
        keys = None if rng is None else jax.random.split(rng, b)
        params = self.param_tree()

        def one(arrays, key):
            return score_graph(params, self.config.num_steps, *arrays, dropout_rate=rate, rng=key)

        arrays = tuple(batch[k] for k in GRAPH_KEYS)
        return jax.vmap(one, in_axes=(0, None if keys is None else 0))(arrays, keys)


def score_graph(
    params,
    num_steps,
    track_boxes,
    track_t,
    track_features,
    track_valid,
    det_boxes,
    det_t,
    det_features,
    det_valid,
    *,
    dropout_rate=0.0,
    rng=None,
    all_steps=True,
):
    """Logits [num_steps, N, M] of one padded graph from boxes, times and features
    ([1, N, M], the last step's, when not `all_steps`).

    Padded rows may hold zero boxes: their edge features are not finite, but
    `message_passing` replaces every padded input with zeros (`where`) before use, and
    no parameter's gradient passes through the edge features.
    """
    edges = mp.edge_features(track_boxes, det_boxes, track_t, det_t, track_features, det_features)
    return mp.message_passing(
        params,
        track_features,
        det_features,
        edges,
        track_valid,
        det_valid,
        num_steps,
        dropout_rate=dropout_rate,
        rng=rng,
        all_steps=all_steps,
    )


# The inputs of `score_graph` after (params, num_steps), in order: batch keys of
# jaxmot.gnn.data.
GRAPH_KEYS = (
    "track_boxes",
    "track_t",
    "track_features",
    "track_valid",
    "det_boxes",
    "det_t",
    "det_features",
    "det_valid",
)


def pair_labels(batch: dict) -> tuple[jax.Array, jax.Array]:
    """(labels [B, N, M] float32, pair_valid [B, N, M] bool) of a padded batch.

    A pair is positive when the track's and the detection's identities agree; false
    positives (id -1) and padding match nothing.
    """
    track_ids, det_ids = batch["track_ids"], batch["det_ids"]
    valid = batch["track_valid"][:, :, None] & batch["det_valid"][:, None, :]
    same = track_ids[:, :, None] == det_ids[:, None, :]
    labels = same & (det_ids >= 0)[:, None, :] & valid
    return labels.astype(jnp.float32), valid


__all__ = ["GRAPH_KEYS", "AssociationGNN", "GNNConfig", "pair_labels", "score_graph"]
