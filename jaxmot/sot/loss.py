"""Training targets and loss of the LightTrack recipe (used to train E.T.Track).

E.T.Track released no training code of its own beyond LightTrack's; both repositories
(researchmm/LightTrack `lib/dataset/dataset_base.py`, `lib/models/super_model.py`;
pblatter/ettrack `lib/dataset/dataset_prepped.py`, `lib/models/super_model.py`,
`lib/core/function.py`) build the same targets and the same loss:

  - classification: cells within L1 (city-block) distance `rPos = 16 / stride` cells of
    the target's cell are positives (1), every other cell a negative (0); the ignore band
    (0.5 where distance < rNeg) is disabled (rNeg = 0), so there is no ignore label;
  - regression: l, t, r, b = distances from each cell's position to the box sides, with
    weight 1 where all four are > 0 (the cell lies strictly inside the box);
  - loss = weighted BCE (0.5 * mean over positives + 0.5 * mean over negatives, each mean
    pooled over the whole batch) + 1.2 * IoU loss -log((I + 1) / (U + 1)), the areas
    computed from the l, t, r, b distances (FCOS style) and averaged over all weighted
    cells of the batch.

Where this differs from the official code: empty groups (no positive, no negative, no
cell inside a box) contribute 0 here; the official code returns NaN for an empty
selection and, through a `squeeze()` on the index list, silently 0 for a selection of
exactly one element. The target cell comes from the box centre here, not from the
augmentation's shift parameter (see `classification_labels`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _grid_centre_and_stride(grid: jax.Array) -> tuple[jax.Array, jax.Array]:
    s = grid.shape[0]
    return grid[s // 2, s // 2], grid[0, 1, 0] - grid[0, 0, 0]


def classification_labels(
    box: jax.Array, grid: jax.Array, *, radius: float | None = None
) -> jax.Array:
    """Positive cells around the box centre, as the official dynamic label.

    The target's cell is S // 2 + trunc((c - g0) / stride) per axis, where c is the box
    centre and g0 the position of cell S // 2 (the crop centre, search_size // 2);
    cells with |dx| + |dy| <= radius (in cells) from it are positive. Truncation toward
    zero follows the official `int(-shift / stride)`. The official code derives the cell
    from the augmentation shift (c = centre - shift), ignoring the scale augmentation
    that also moves the box centre by up to ~18 %; here it comes from the box itself, so
    the two agree for unscaled crops and the labels follow the box otherwise.

    Args:
      box: [4] x1, y1, x2, y2 in search-crop pixels.
      grid: [S, S, 2] cell positions (`sot_geometry.score_grid`).
      radius: in cells; default 16 / stride (official rPos), 1 cell at stride 16.

    Returns:
      [S, S] float32, 1 for positives, 0 for negatives.
    """
    g0, stride = _grid_centre_and_stride(grid)
    if radius is None:
        radius = 16.0 / stride
    centre = (box[:2] + box[2:]) / 2
    target_cell = jnp.trunc((centre - g0) / stride)
    cells = (grid - g0) / stride  # j - S // 2, i - S // 2: whole numbers
    dist = jnp.abs(cells - target_cell).sum(axis=-1)
    return (dist <= radius).astype(jnp.float32)


def regression_targets(box: jax.Array, grid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """l, t, r, b distances from every cell to the box sides, and which cells regress.

    Args:
      box: [4] x1, y1, x2, y2 in search-crop pixels.
      grid: [S, S, 2] cell positions.

    Returns:
      targets: [S, S, 4] (gx - x1, gy - y1, x2 - gx, y2 - gy); negative outside the box.
      weight: [S, S] float32, 1 where all four distances are > 0 (strictly inside).
    """
    targets = jnp.concatenate([grid - box[:2], box[2:] - grid], axis=-1)
    return targets, (targets.min(axis=-1) > 0).astype(jnp.float32)


def ltrb_iou(pred: jax.Array, target: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Intersection and union of two boxes given as l, t, r, b distances from one point.

    Args:
      pred, target: [..., 4] non-negative distances.

    Returns:
      (intersection [...], union [...]) areas in pixels squared.
    """
    area_p = (pred[..., 0] + pred[..., 2]) * (pred[..., 1] + pred[..., 3])
    area_t = (target[..., 0] + target[..., 2]) * (target[..., 1] + target[..., 3])
    lo = jnp.minimum(pred, target)
    inter = (lo[..., 0] + lo[..., 2]) * (lo[..., 1] + lo[..., 3])
    return inter, area_p + area_t - inter


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of values where mask; 0 (with zero gradient) when the mask is empty."""
    return (values * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def sot_loss(
    cls_logits: jax.Array,
    reg: jax.Array,
    boxes: jax.Array,
    grid: jax.Array,
    *,
    iou_weight: float = 1.2,
    radius: float | None = None,
    valid: jax.Array | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """LightTrack / E.T.Track training loss for a batch of search crops.

    loss = 0.5 * BCE(positives) + 0.5 * BCE(negatives) + iou_weight * IoU loss, each
    term a mean over its cells pooled across the batch (the official losses flatten the
    batch before selecting cells). IoU loss = -log((I + 1) / (U + 1)) over cells inside
    the ground-truth box (official `_IOULoss`, 1.2 in `lib/core/function.py`).

    Args:
      cls_logits: [B, S, S, 1] classification logits.
      reg: [B, S, S, 4] predicted l, t, r, b distances in crop pixels; must be >= 0, as
        the head's ReLU guarantees (negative distances can make I or U meaningless).
      boxes: [B, 4] ground truth x1, y1, x2, y2 in search-crop pixels.
      grid: [S, S, 2] cell positions (`sot_geometry.score_grid`).
      iou_weight: weight of the IoU term.
      radius: positive radius in cells (`classification_labels`).
      valid: optional [B] bool; invalid samples (padding) contribute nothing.

    Returns:
      (loss [], metrics) with metrics cls_loss, cls_pos, cls_neg, iou_loss, mean_iou (over
      regressed cells), num_pos, num_reg. Finite values and gradients for any mask,
      including a batch with no positive or no cell inside a box.
    """
    labels = jax.vmap(lambda b: classification_labels(b, grid, radius=radius))(boxes)
    targets, weight = jax.vmap(lambda b: regression_targets(b, grid))(boxes)
    if valid is None:
        valid = jnp.ones(boxes.shape[0], bool)
    sample = valid.astype(jnp.float32)[:, None, None]
    pos = (labels == 1).astype(jnp.float32) * sample
    neg = (labels == 0).astype(jnp.float32) * sample
    weight = weight * sample

    logits = cls_logits[..., 0].astype(jnp.float32)
    # BCE with logits, stable for large |x|: softplus(x) - y * x.
    bce = jax.nn.softplus(logits) - labels * logits
    cls_pos = _masked_mean(bce, pos)
    cls_neg = _masked_mean(bce, neg)
    cls_loss = 0.5 * cls_pos + 0.5 * cls_neg

    inside = weight > 0
    # Outside the box the targets are negative and U + 1 can be <= 0; feed those cells
    # harmless values so neither the log nor its gradient produces NaN before masking.
    safe_t = jnp.where(inside[..., None], targets, 1.0)
    safe_p = jnp.where(inside[..., None], reg.astype(jnp.float32), 1.0)
    inter, union = ltrb_iou(safe_p, safe_t)
    iou_terms = -jnp.log((inter + 1.0) / (union + 1.0))
    iou_loss = _masked_mean(iou_terms, weight)
    loss = cls_loss + iou_weight * iou_loss
    metrics = {
        "cls_loss": cls_loss,
        "cls_pos": cls_pos,
        "cls_neg": cls_neg,
        "iou_loss": iou_loss,
        "mean_iou": _masked_mean(inter / jnp.maximum(union, 1e-6), weight),
        "num_pos": pos.sum(),
        "num_reg": weight.sum(),
    }
    return loss, metrics
