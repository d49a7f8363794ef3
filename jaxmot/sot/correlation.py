"""Pixel-wise correlation of Siamese trackers (LightTrack, E.T.Track).

Every template position is one 1x1 "kernel" slid over the search map: the output
channel p is the dot product, over channels, of template pixel p with every search
pixel. It is the official `pixel_corr_mat` (pblatter/ettrack `lib/models/model_parts.py`,
`z.view(b, c, -1).transpose(1, 2) @ x.view(b, c, -1)`), so channel p is template
position (p // w, p % w), row-major, as there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def pixelwise_correlation(template: jax.Array, search: jax.Array) -> jax.Array:
    """template [B, h, w, C], search [B, H, W, C] -> [B, H, W, h * w] with
    out[b, i, j, p] = sum_c template[b, p // w, p % w, c] * search[b, i, j, c]."""
    if template.ndim != 4 or search.ndim != 4:
        raise ValueError(
            f"expected NHWC template and search, got {template.shape} and {search.shape}"
        )
    if template.shape[0] != search.shape[0] or template.shape[-1] != search.shape[-1]:
        raise ValueError(
            f"template {template.shape} and search {search.shape} must share batch and channels"
        )
    b, h, w, c = template.shape
    return jnp.einsum("bpc,bijc->bijp", template.reshape(b, h * w, c), search)


__all__ = ["pixelwise_correlation"]
