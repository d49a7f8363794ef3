"""Bipartite neural message passing between tracks and detections.

AssignmentSimilarityNet, the GNN of a multi-object tracking teaching exercise ("the
exercise" below means its reference code; see docs/gnn.md), as pure functions over a
params pytree. Its design follows the message-passing tracker of Brasó & Leal-Taixé,
"Learning a Neural Solver for Multiple Object Tracking" (CVPR 2020, code:
dvl-tum/mot_neural_solver). One message-passing layer, shared by all steps, runs on a
dense bipartite graph of N tracks (rows) and M detections (columns). Each step (in the
exercise's order):

  1. edge update: edge_ij = edge_mlp(concat(track_i, det_j, edge_ij, edge0_ij));
  2. node update from the *updated* edges, aggregating before the MLP as the exercise's
     `node_update` does (`nodes_a_in` has shape (|A|, node_dim + edge_dim)):
     track_i = node_mlp(concat(track_i, sum_j edge_ij)),
     det_j   = node_mlp(concat(det_j,   sum_i edge_ij)), one node_mlp for both sides;
  3. logits[step] = classifier(edge).

Two forms with the same output: `message_passing_reference` concatenates per edge
literally as the exercise does; `message_passing` splits every first-layer kernel by
input block so node terms are projected per node and broadcast-added, the edge0 term is
computed once, and no per-edge copy of a node embedding is ever built.

Padding: `track_valid` [N] / `det_valid` [M] bool masks. Padded nodes send no messages
(they are left out of the sums) and their inputs are zeroed first, so any garbage in
them neither reaches a real logit nor makes a NaN in the gradients. Logits at pairs
with a padded end are 0.

Params (plain nested dicts / lists; kernels [in, out] as in flax), n = node_dim,
e = edge_dim, D = reid_dim:
  node_in: {kernel [D, n], bias [n]}                      ReLU(x @ k + b)
  edge_in: 2 x Linear-ReLU, [6, e] then [e, e]
  edge_mlp: 2 x Linear-ReLU, [2n + 2e, e] then [e, e]     input (track, det, edge, edge0)
  node_mlp: 2 x Linear-ReLU, [n + e, n] then [n, n]       input (node, summed edges)
  classifier: Linear-ReLU-Linear, [e, e] then [e, 1]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxmot.core.nn import torch_default_init

EDGE_FEATURE_DIM = 6  # 5 motion features + 1 appearance (cosine) distance
_COSINE_EPS = 1e-8  # norms below this are clamped, so a zero vector has distance 1


# --- edge features -----------------------------------------------------------------


def motion_edge_features(
    track_boxes: jax.Array, det_boxes: jax.Array, track_t: jax.Array, det_t: jax.Array
) -> jax.Array:
    """Pairwise motion features between tracks and detections (the exercise's).

    Args:
      track_boxes: [N, 4] xywh (top-left x, y, width, height), pixels.
      det_boxes: [M, 4] xywh.
      track_t: [N] frame number of each track's box.
      det_t: [M] frame number of each detection.

    Returns:
      [N, M, 5]: with (x, y) box centres and (w, h) sizes, per pair (i, j)
      (2(x_j - x_i)/(h_i + h_j), 2(y_j - y_i)/(h_i + h_j), log(h_i/h_j), log(w_i/w_j),
      t_j - t_i).
    """
    tc = track_boxes[:, :2] + 0.5 * track_boxes[:, 2:]
    dc = det_boxes[:, :2] + 0.5 * det_boxes[:, 2:]
    tw, th = track_boxes[:, 2], track_boxes[:, 3]
    dw, dh = det_boxes[:, 2], det_boxes[:, 3]
    scale = 2.0 / (th[:, None] + dh[None, :])  # normalised by the mean height
    dxy = (dc[None, :, :] - tc[:, None, :]) * scale[..., None]
    log_h = jnp.log(th[:, None] / dh[None, :])
    log_w = jnp.log(tw[:, None] / dw[None, :])
    dt = (det_t[None, :] - track_t[:, None]).astype(dxy.dtype)
    return jnp.concatenate([dxy, log_h[..., None], log_w[..., None], dt[..., None]], axis=-1)


def cosine_distance(a: jax.Array, b: jax.Array) -> jax.Array:
    """1 - cosine similarity. a: [N, D], b: [M, D] -> [N, M] in [0, 2].

    Norms are clamped at 1e-8, so zero vectors give distance 1 instead of NaN.
    """
    eps2 = _COSINE_EPS**2
    an = a * jax.lax.rsqrt(jnp.maximum(jnp.sum(a * a, axis=-1, keepdims=True), eps2))
    bn = b * jax.lax.rsqrt(jnp.maximum(jnp.sum(b * b, axis=-1, keepdims=True), eps2))
    return 1.0 - an @ bn.T


def edge_features(
    track_boxes: jax.Array,
    det_boxes: jax.Array,
    track_t: jax.Array,
    det_t: jax.Array,
    track_feats: jax.Array,
    det_feats: jax.Array,
) -> jax.Array:
    """[N, M, 6] = concat(motion_edge_features [N, M, 5], cosine_distance [N, M, 1]).

    track_feats: [N, D], det_feats: [M, D] ReID features; the rest as in
    `motion_edge_features`.
    """
    motion = motion_edge_features(track_boxes, det_boxes, track_t, det_t)
    app = cosine_distance(track_feats, det_feats)
    return jnp.concatenate([motion, app[..., None].astype(motion.dtype)], axis=-1)


# --- parameters --------------------------------------------------------------------


def _linear(key, fan_in: int, fan_out: int) -> dict:
    # torch.nn.Linear's default init, as the reference model gets.
    kk, kb = jax.random.split(key)
    init = torch_default_init(fan_in)
    return {"kernel": init(kk, (fan_in, fan_out)), "bias": init(kb, (fan_out,))}


def init_params(
    key: jax.Array, reid_dim: int = 512, node_dim: int = 32, edge_dim: int = 64
) -> dict:
    """The params pytree described in the module docstring (the exercise's defaults)."""
    n, e = node_dim, edge_dim
    k = jax.random.split(key, 9)
    return {
        "node_in": _linear(k[0], reid_dim, n),
        "edge_in": [_linear(k[1], EDGE_FEATURE_DIM, e), _linear(k[2], e, e)],
        "edge_mlp": [_linear(k[3], 2 * n + 2 * e, e), _linear(k[4], e, e)],
        "node_mlp": [_linear(k[5], n + e, n), _linear(k[6], n, n)],
        "classifier": [_linear(k[7], e, e), _linear(k[8], e, 1)],
    }


# --- shared helpers ----------------------------------------------------------------


def _dense(layer: dict, x: jax.Array) -> jax.Array:
    return x @ layer["kernel"] + layer["bias"]


def _relu_mlp(layers: list, x: jax.Array) -> jax.Array:
    """Linear-ReLU pairs (the exercise's MLPs in eval mode: dropout is identity)."""
    for layer in layers:
        x = jax.nn.relu(_dense(layer, x))
    return x


def _sanitise(track_feats, det_feats, edge_feats, track_valid, det_valid):
    """Zero padded inputs so garbage (huge values) in them stays out of every sum and
    out of the backward pass (where, not a multiply: inf * 0 is NaN)."""
    track_valid = track_valid.astype(bool)
    det_valid = det_valid.astype(bool)
    pair = track_valid[:, None] & det_valid[None, :]
    track_feats = jnp.where(track_valid[:, None], track_feats, 0)
    det_feats = jnp.where(det_valid[:, None], det_feats, 0)
    edge_feats = jnp.where(pair[..., None], edge_feats, 0)
    return track_feats, det_feats, edge_feats, track_valid, det_valid, pair


# --- the plain form ----------------------------------------------------------------


def message_passing_reference(
    params: dict,
    track_feats: jax.Array,
    det_feats: jax.Array,
    edge_feats: jax.Array,
    track_valid: jax.Array,
    det_valid: jax.Array,
    num_steps: int,
    *,
    all_steps: bool = True,
) -> jax.Array:
    """The exercise's AssignmentSimilarityNet, written as literally as possible.

    Args:
      params: see `init_params`.
      track_feats: [N, D] ReID features of the tracks.
      det_feats: [M, D] ReID features of the detections.
      edge_feats: [N, M, 6] from `edge_features`.
      track_valid: [N] bool, det_valid: [M] bool.
      num_steps: message-passing steps (static).
      all_steps: False runs the classifier after the last step only.

    Returns:
      logits [num_steps, N, M] ([1, N, M] when not all_steps); 0 at pairs with a
      padded end.
    """
    track_feats, det_feats, edge_feats, tv, dv, pair = _sanitise(
        track_feats, det_feats, edge_feats, track_valid, det_valid
    )
    n, m = edge_feats.shape[:2]
    edge0 = _relu_mlp(params["edge_in"], edge_feats)  # [N, M, e]
    track = jax.nn.relu(_dense(params["node_in"], track_feats))  # [N, n]
    det = jax.nn.relu(_dense(params["node_in"], det_feats))  # [M, n]
    edge = edge0
    logits = []
    for step in range(num_steps):
        # edge update: per-edge copies of both node embeddings, concatenated
        track_rep = jnp.broadcast_to(track[:, None, :], (n, m, track.shape[-1]))
        det_rep = jnp.broadcast_to(det[None, :, :], (n, m, det.shape[-1]))
        edge_in = jnp.concatenate([track_rep, det_rep, edge, edge0], axis=-1)
        edge = _relu_mlp(params["edge_mlp"], edge_in)  # [N, M, e]
        # node update from the updated edges: sum messages from valid nodes only
        track_msg = jnp.sum(jnp.where(dv[None, :, None], edge, 0), axis=1)  # [N, e]
        det_msg = jnp.sum(jnp.where(tv[:, None, None], edge, 0), axis=0)  # [M, e]
        track_in = jnp.concatenate([track, track_msg], axis=-1)
        det_in = jnp.concatenate([det, det_msg], axis=-1)
        track = _relu_mlp(params["node_mlp"], track_in)
        det = _relu_mlp(params["node_mlp"], det_in)
        if all_steps or step == num_steps - 1:
            hidden = jax.nn.relu(_dense(params["classifier"][0], edge))
            logits.append(_dense(params["classifier"][1], hidden)[..., 0])
    return jnp.where(pair, jnp.stack(logits), 0)


# --- the fast form -----------------------------------------------------------------


def _dropout(x, rate, key):
    if key is None:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0)


def message_passing(
    params: dict,
    track_feats: jax.Array,
    det_feats: jax.Array,
    edge_feats: jax.Array,
    track_valid: jax.Array,
    det_valid: jax.Array,
    num_steps: int,
    *,
    dropout_rate: float = 0.0,
    rng: jax.Array | None = None,
    all_steps: bool = True,
) -> jax.Array:
    """Same model and output as `message_passing_reference`, computed efficiently.

    Args and returns as in `message_passing_reference`, plus:
      all_steps: False returns only the last step's logits, [1, N, M] (inference).
      dropout_rate: dropout after each ReLU of edge_in, edge_mlp and node_mlp (the
        exercise's placement); applied only when > 0 and `rng` is given.
      rng: a PRNG key for dropout (per sample under vmap).

    How it saves work: edge_mlp's first kernel [2n + 2e, e] is split by input block.
    The track and det blocks are applied per node ([N, e], [M, e]) and broadcast-added,
    so no per-edge copy of a node embedding exists; the edge0 block and the bias are
    constant over the steps and computed once. The current-edge block of step s + 1 and
    the classifier's first layer of step s both read the same edge embedding, so one
    [N*M, e] @ [e, 2e] matmul serves both. Node messages are masked sums over the edge
    embeddings ([N, e], [M, e]), then node_mlp runs per node. With `all_steps=False`
    (what a tracker needs) the classifier runs only after the last step.
    """
    track_feats, det_feats, edge_feats, tv, dv, pair = _sanitise(
        track_feats, det_feats, edge_feats, track_valid, det_valid
    )
    n, m = edge_feats.shape[:2]
    node_dim = params["node_in"]["kernel"].shape[1]
    w1 = params["edge_mlp"][0]["kernel"]
    e = w1.shape[1]
    w_track, w_det = w1[:node_dim], w1[node_dim : 2 * node_dim]
    w_edge, w_edge0 = w1[2 * node_dim : 2 * node_dim + e], w1[2 * node_dim + e :]
    v1 = params["node_mlp"][0]["kernel"]
    v_node, v_msg = v1[:node_dim], v1[node_dim:]
    cls0, cls1 = params["classifier"]
    pair_weight = pair.astype(edge_feats.dtype)[..., None]  # [N, M, 1] for the sums

    use_dropout = dropout_rate > 0 and rng is not None

    def drop(x, key, site):
        # one key per (step, dropout site): fold_in(fold_in(rng, step), site)
        if not use_dropout:
            return x
        return _dropout(x, dropout_rate, jax.random.fold_in(key, site))

    # All per-edge work on [N*M, features] rows: plain 2-D matmuls.
    key0 = jax.random.fold_in(rng, num_steps) if use_dropout else None
    x = edge_feats.reshape(n * m, -1)
    x = drop(jax.nn.relu(_dense(params["edge_in"][0], x)), key0, 0)
    edge0 = drop(jax.nn.relu(_dense(params["edge_in"][1], x)), key0, 1)  # [NM, e]
    const = edge0 @ w_edge0 + params["edge_mlp"][0]["bias"]  # the same in every step
    track = jax.nn.relu(_dense(params["node_in"], track_feats))  # [N, n]
    det = jax.nn.relu(_dense(params["node_in"], det_feats))  # [M, n]
    w_cat = jnp.concatenate([w_edge, cls0["kernel"]], axis=1)  # [e, 2e]
    b1 = params["node_mlp"][0]["bias"]

    def edge_update(proj, track, det, key):
        """The edge MLP from the current edge term `proj` [NM, e] -> edge [NM, e]."""
        node_term = (track @ w_track)[:, None, :] + (det @ w_det)[None, :, :]  # [N, M, e]
        h = (proj + const).reshape(n, m, e) + node_term
        h = drop(jax.nn.relu(h), key, 0).reshape(n * m, e)
        return drop(jax.nn.relu(_dense(params["edge_mlp"][1], h)), key, 1)

    def classify(hidden_pre):
        """Classifier from its first layer's pre-activation (bias not added) -> [NM]."""
        hidden = jax.nn.relu(hidden_pre + cls0["bias"])
        return hidden @ cls1["kernel"][:, 0] + cls1["bias"][0]

    def step(carry, index):
        proj, track, det = carry
        key = jax.random.fold_in(rng, index) if use_dropout else None
        edge = edge_update(proj, track, det, key)
        if all_steps:
            both = edge @ w_cat  # [NM, 2e]: next step's edge term | classifier hidden
            proj, logits = both[:, :e], classify(both[:, e:])
        else:
            proj, logits = edge @ w_edge, None
        # Messages from valid nodes only. One pair mask (not a mask per side) is the
        # same sum at every real node, and XLA then reads the masked edges once for
        # both sums; on one CPU core that made the messages nearly free, where the
        # per-side masked sums (or einsum contractions) took a third of the step.
        masked = edge.reshape(n, m, e) * pair_weight
        track_msg = jnp.sum(masked, axis=1)  # [N, e]
        det_msg = jnp.sum(masked, axis=0)  # [M, e]
        track = drop(jax.nn.relu(track @ v_node + track_msg @ v_msg + b1), key, 2)
        det = drop(jax.nn.relu(det @ v_node + det_msg @ v_msg + b1), key, 3)
        track = drop(jax.nn.relu(_dense(params["node_mlp"][1], track)), key, 4)
        det = drop(jax.nn.relu(_dense(params["node_mlp"][1], det)), key, 5)
        return (proj, track, det), logits

    # The last step runs outside the scan because its node update and next edge term
    # would feed nothing. The scan is unrolled: on CPU a rolled loop kept XLA from
    # fusing across steps and copied the carry each iteration (1.5x slower at
    # N = M = 64); compiling the 10 unrolled steps costs about a second once.
    carry = (edge0 @ w_edge, track, det)
    carry, logits = jax.lax.scan(step, carry, jnp.arange(num_steps - 1), unroll=True)
    last_key = jax.random.fold_in(rng, num_steps - 1) if use_dropout else None
    last = classify(edge_update(*carry, last_key) @ cls0["kernel"])[None]
    if all_steps:
        last = jnp.concatenate([logits, last])
    return jnp.where(pair, last.reshape(-1, n, m), 0)


# --- loss and cost -----------------------------------------------------------------


def association_loss(
    logits: jax.Array, labels: jax.Array, pair_valid: jax.Array, pos_weight: float = 20.0
) -> jax.Array:
    """Weighted binary cross-entropy with logits over all steps (the exercise's
    `BCEWithLogitsLoss(pos_weight=20)`), averaged over steps and valid pairs.

    Args:
      logits: [S, N, M]. labels: [N, M], 1 = same identity. pair_valid: [N, M] bool.
      pos_weight: weight of the positive term (matches are ~1/N of all pairs).

    Returns:
      scalar: mean over S x (valid pairs) of -(pw y log s(x) + (1 - y) log(1 - s(x)));
      0 when no pair is valid.
    """
    mask = jnp.broadcast_to(pair_valid.astype(bool), logits.shape)
    x = jnp.where(mask, logits, 0)  # keeps garbage at invalid pairs out of the gradient
    y = labels.astype(x.dtype)
    per_pair = -(pos_weight * y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))
    total = jnp.sum(jnp.where(mask, per_pair, 0))
    return total / jnp.maximum(jnp.sum(mask), 1).astype(x.dtype)


def reference_flops(
    n: int,
    m: int,
    reid_dim: int,
    node_dim: int,
    edge_dim: int,
    num_steps: int,
    all_steps: bool = True,
) -> int:
    """Matmul FLOPs (2 per multiply-add) of `message_passing_reference` on one graph of
    n tracks and m detections: node_in, edge_in, and per step edge_mlp, node_mlp (both
    sides) and the classifier (after the last step only when not `all_steps`). Biases,
    ReLUs and the message sums are not counted."""
    nd, e, pairs = node_dim, edge_dim, n * m
    node_in = (n + m) * reid_dim * nd
    edge_in = pairs * (EDGE_FEATURE_DIM * e + e * e)
    edge_mlp = pairs * ((2 * nd + 2 * e) * e + e * e)
    node_mlp = (n + m) * ((nd + e) * nd + nd * nd)
    classifier = pairs * (e * e + e)
    classified = num_steps if all_steps else 1
    return 2 * (node_in + edge_in + num_steps * (edge_mlp + node_mlp) + classified * classifier)


__all__ = [
    "EDGE_FEATURE_DIM",
    "association_loss",
    "cosine_distance",
    "edge_features",
    "init_params",
    "message_passing",
    "message_passing_reference",
    "motion_edge_features",
    "reference_flops",
]
