"""Box formats and IoU, on NumPy or JAX arrays.

Formats (last axis of size 4):
  xywh   top-left x, top-left y, width, height (MOTChallenge files)
  xyxy   x1, y1, x2, y2
  cxcywh centre x, centre y, width, height
  xyah   centre x, centre y, aspect ratio w/h, height (the Kalman measurement)

Every function takes arrays of shape [..., 4] and returns the same kind of array it was
given: NumPy in, NumPy out (cheap on the host, where trackers keep per-frame state);
jax.Array or tracer in, jax.Array out (works under jit, vmap and grad).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def array_namespace(*arrays):
    """`jnp` if any argument is a JAX array (or tracer), else `np`."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def _split(boxes):
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


# Conversions slice pairs of columns and concatenate: a few operations on whole arrays,
# which keeps NumPy's per-call overhead low on the trackers' per-frame host path.


def xywh_to_xyxy(boxes):
    """[..., 4] xywh -> [..., 4] xyxy."""
    xp = array_namespace(boxes)
    xy = boxes[..., :2]
    return xp.concatenate([xy, xy + boxes[..., 2:]], axis=-1)


def xyxy_to_xywh(boxes):
    """[..., 4] xyxy -> [..., 4] xywh."""
    xp = array_namespace(boxes)
    xy = boxes[..., :2]
    return xp.concatenate([xy, boxes[..., 2:] - xy], axis=-1)


def xywh_to_cxcywh(boxes):
    """[..., 4] xywh -> [..., 4] cxcywh."""
    xp = array_namespace(boxes)
    x, y, w, h = _split(boxes)
    return xp.stack([x + w / 2, y + h / 2, w, h], axis=-1)


def cxcywh_to_xywh(boxes):
    """[..., 4] cxcywh -> [..., 4] xywh."""
    xp = array_namespace(boxes)
    cx, cy, w, h = _split(boxes)
    return xp.stack([cx - w / 2, cy - h / 2, w, h], axis=-1)


def xyxy_to_cxcywh(boxes):
    """[..., 4] xyxy -> [..., 4] cxcywh."""
    return xywh_to_cxcywh(xyxy_to_xywh(boxes))


def cxcywh_to_xyxy(boxes):
    """[..., 4] cxcywh -> [..., 4] xyxy."""
    return xywh_to_xyxy(cxcywh_to_xywh(boxes))


def xywh_to_xyah(boxes):
    """xywh -> (cx, cy, w/h, h). Heights must be positive (the readers check this)."""
    xp = array_namespace(boxes)
    wh = boxes[..., 2:]
    h = boxes[..., 3:]
    return xp.concatenate([boxes[..., :2] + wh / 2, boxes[..., 2:3] / h, h], axis=-1)


def xyah_to_xywh(boxes):
    """[..., 4] xyah -> [..., 4] xywh."""
    xp = array_namespace(boxes)
    h = boxes[..., 3:]
    wh = xp.concatenate([boxes[..., 2:3] * h, h], axis=-1)
    return xp.concatenate([boxes[..., :2] - wh / 2, wh], axis=-1)


def xyxy_to_xyah(boxes):
    """[..., 4] xyxy -> [..., 4] xyah."""
    return xywh_to_xyah(xyxy_to_xywh(boxes))


def xyah_to_xyxy(boxes):
    """[..., 4] xyah -> [..., 4] xyxy."""
    return xywh_to_xyxy(xyah_to_xywh(boxes))


def box_area(boxes_xyxy):
    """[..., 4] xyxy -> [...]; boxes with x2 < x1 or y2 < y1 have area 0."""
    xp = array_namespace(boxes_xyxy)
    x1, y1, x2, y2 = _split(boxes_xyxy)
    return xp.maximum(x2 - x1, 0) * xp.maximum(y2 - y1, 0)


def iou_matrix(a, b):
    """Pairwise intersection over union.

    Args:
      a: [N, 4] xyxy.
      b: [M, 4] xyxy.

    Returns:
      [N, M] IoU in [0, 1]. A pair whose union is empty (two zero-area boxes) has IoU 0,
      never NaN, so padded rows of zeros score 0 against everything.
    """
    xp = array_namespace(a, b)
    a = a[:, None, :]
    b = b[None, :, :]
    iw = xp.maximum(xp.minimum(a[..., 2], b[..., 2]) - xp.maximum(a[..., 0], b[..., 0]), 0)
    ih = xp.maximum(xp.minimum(a[..., 3], b[..., 3]) - xp.maximum(a[..., 1], b[..., 1]), 0)
    inter = iw * ih
    union = box_area(a) + box_area(b) - inter
    positive = union > 0
    # The inner where keeps the division (and its gradient) finite where union is 0.
    return xp.where(positive, inter / xp.where(positive, union, 1), 0)


def buffered_xyxy(boxes_xyxy, scale: float):
    """[..., 4] xyxy -> [..., 4] xyxy grown by `scale` x its width on the left and right
    and `scale` x its height above and below, the centre kept: C-BIoU's buffered box
    (Yang et al., WACV 2023: (x - b w, y - b h, (1 + 2b) w, (1 + 2b) h)). scale 0
    returns the boxes unchanged; zero-size (padding) boxes stay zero-size."""
    xp = array_namespace(boxes_xyxy)
    size = boxes_xyxy[..., 2:] - boxes_xyxy[..., :2]
    return boxes_xyxy + scale * xp.concatenate([-size, size], axis=-1)
