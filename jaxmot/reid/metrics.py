"""Re-ID retrieval metrics (CMC rank-k and mAP) with the Market-1501 protocol.

For each query, the gallery is ranked by distance (ties keep gallery order), then:
  * excluded: gallery images with the query's id AND camera (the same person seen by the
    same camera is too easy: Zheng et al. 2015, "Scalable person re-identification");
  * excluded: "junk" gallery images, id -1 in Market-1501's bounding_box_test (bad
    detections, as the official evaluation code's junk_index);
  * kept: id 0 ("0000", distractors: detections of no annotated person), which never match
    a query and so count as negatives, as in the official code;
  * a query without any remaining true match is skipped (num_valid_queries counts the rest).

CMC rank-k: the fraction of valid queries whose first true match is in the top k of the
filtered ranking. AP: the mean, over the query's true matches, of the precision at the
rank of each match (the non-interpolated AP of torchreid / fast-reid / open-reid). The
original Market-1501 MATLAB code averages neighbouring precisions instead (a trapezoid),
which gives slightly different numbers. mAP averages AP over valid queries.

Host-side NumPy (evaluation runs once per epoch, on data that does not fit one batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MARKET1501_JUNK_IDS = (-1,)  # bounding_box_test "-1" images; "0000" distractors are kept


def _distances(query: np.ndarray, gallery: np.ndarray, metric: str) -> np.ndarray:
    """[q, D] x [G, D] -> [q, G] float64; only the order matters."""
    if metric == "cosine":
        qn = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
        gn = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
        return 1.0 - qn @ gn.T
    # Squared euclidean has the same order as euclidean; no square root needed.
    return (
        np.sum(np.square(query), axis=1)[:, None]
        + np.sum(np.square(gallery), axis=1)[None, :]
        - 2.0 * query @ gallery.T
    )


def _check(name: str, array: np.ndarray, ndim: int, length: int | None = None) -> None:
    if array.ndim != ndim or (length is not None and array.shape[0] != length):
        want = f"{ndim}-D" + (f" with {length} rows" if length is not None else "")
        raise ValueError(f"{name}: expected {want}, got shape {array.shape}")


def evaluate_retrieval(
    query_feats,
    query_ids,
    query_cams,
    gallery_feats,
    gallery_ids,
    gallery_cams,
    *,
    ranks: Sequence[int] = (1, 5, 10),
    junk_ids: Sequence[int] = MARKET1501_JUNK_IDS,
    metric: str = "euclidean",
    chunk_size: int = 256,
) -> dict[str, float | int]:
    """CMC and mAP of query-to-gallery retrieval (Market-1501 protocol, see the module doc).

    Args:
      query_feats: [Q, D]; query_ids: [Q] int; query_cams: [Q] int.
      gallery_feats: [G, D]; gallery_ids: [G] int; gallery_cams: [G] int.
      ranks: the k of the reported rank-k accuracies.
      junk_ids: gallery ids excluded from every ranking. () keeps everything.
      metric: "euclidean" or "cosine" (the same ranking for L2-normalised features).
      chunk_size: queries ranked at once; bounds memory to chunk_size * G distances.

    Returns:
      {"rank1": .., "rank5": .., "rank10": .. (one per k in ranks), "mAP": ..,
       "num_valid_queries": int}; accuracies are fractions in [0, 1].

    Raises:
      ValueError on inconsistent shapes, an unknown metric, or no valid query at all.
    """
    qf = np.asarray(query_feats, np.float64)
    gf = np.asarray(gallery_feats, np.float64)
    qid, qcam = np.asarray(query_ids), np.asarray(query_cams)
    gid, gcam = np.asarray(gallery_ids), np.asarray(gallery_cams)
    _check("query_feats", qf, 2)
    _check("gallery_feats", gf, 2)
    if qf.shape[1] != gf.shape[1]:
        raise ValueError(f"feature sizes differ: query {qf.shape[1]}, gallery {gf.shape[1]}")
    for name, arr, n in [
        ("query_ids", qid, len(qf)), ("query_cams", qcam, len(qf)),
        ("gallery_ids", gid, len(gf)), ("gallery_cams", gcam, len(gf)),
    ]:  # fmt: skip
        _check(name, arr, 1, n)
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")

    gallery_junk = np.isin(gid, np.asarray(junk_ids, dtype=gid.dtype))
    ranks = tuple(int(k) for k in ranks)
    first_hits, average_precisions = [], []
    for start in range(0, len(qf), chunk_size):
        sl = slice(start, start + chunk_size)
        order = np.argsort(_distances(qf[sl], gf, metric), axis=1, kind="stable")
        match = gid[order] == qid[sl, None]  # [q, G], in ranked order
        same_camera = gcam[order] == qcam[sl, None]
        keep = ~gallery_junk[order] & ~(match & same_camera)
        hits = match & keep
        position = np.cumsum(keep, axis=1)  # 1-based rank in the filtered list
        num_true = hits.sum(axis=1)
        valid = num_true > 0

        first = np.where(hits, position, np.iinfo(np.int64).max).min(axis=1)
        # Read only at hits; the floor avoids 0 / 0 before the first kept entry.
        precision = np.cumsum(hits, axis=1) / np.maximum(position, 1)
        ap = np.where(hits, precision, 0.0).sum(axis=1) / np.maximum(num_true, 1)
        first_hits.append(first[valid])
        average_precisions.append(ap[valid])

    first = np.concatenate(first_hits)
    if first.size == 0:
        raise ValueError(
            "no query has a true match in the gallery once same-camera matches and junk ids "
            f"{tuple(junk_ids)} are excluded; check the ids and cameras"
        )
    out = {f"rank{k}": float(np.mean(first <= k)) for k in ranks}
    out["mAP"] = float(np.mean(np.concatenate(average_precisions)))
    out["num_valid_queries"] = int(first.size)
    return out
