"""Re-ID retrieval metrics: a hand-computed example and a plain per-query loop reference."""

import numpy as np
import pytest

from jaxmot.reid.metrics import evaluate_retrieval

# 1-D features, so distances are plain differences. Gallery (id, camera, feature):
GALLERY = [
    (1, 1, 0.1),  # g0
    (2, 2, 0.2),  # g1
    (1, 2, 0.3),  # g2
    (-1, 2, 0.4),  # g3: junk (excluded)
    (0, 3, 0.5),  # g4: distractor (a negative)
    (1, 3, 0.6),  # g5
    (3, 1, 0.7),  # g6
]
QUERIES = [
    (1, 1, 0.0),  # q0
    (2, 1, 0.22),  # q1
    (3, 1, 0.7),  # q2
    (1, 3, 1.0),  # q3
]
# q0 (id 1, cam 1): by distance g0 g1 g2 g3 g4 g5 g6. Drop g0 (id 1 AND cam 1) and g3 (junk):
#     g1 x, g2 HIT, g4 x, g5 HIT, g6 x   -> first hit at 2; AP = (1/2 + 2/4) / 2 = 1/2
# q1 (id 2, cam 1): distances g1 .02, g2 .08, g0 .12, g3 .18, g4 .28, g5 .38, g6 .48. Drop g3:
#     g1 HIT (cam 2), g2 x, g0 x, g4 x, g5 x, g6 x   -> first hit at 1; AP = 1/1 = 1
# q2 (id 3, cam 1): its only match g6 shares camera 1 -> no valid positive, skipped.
# q3 (id 1, cam 3): g6 .3, g5 .4, g4 .5, g3 .6, g2 .7, g1 .8, g0 .9. Drop g5 (id 1, cam 3), g3:
#     g6 x, g4 x (distractor), g2 HIT, g1 x, g0 HIT   -> first hit at 3; AP = (1/3 + 2/5) / 2
#                                                                              = 11/30
# Over the 3 valid queries: rank1 = 1/3 (q1), rank5 = rank10 = 3/3,
# mAP = (1/2 + 1 + 11/30) / 3 = (15 + 30 + 11) / 90 = 56/90.


def _arrays(rows):
    ids, cams, feats = zip(*rows, strict=True)
    return np.asarray(feats, np.float32)[:, None], np.asarray(ids), np.asarray(cams)


def _evaluate(queries, gallery, **kwargs):
    qf, qid, qcam = _arrays(queries)
    gf, gid, gcam = _arrays(gallery)
    return evaluate_retrieval(qf, qid, qcam, gf, gid, gcam, **kwargs)


def test_hand_computed_example():
    got = _evaluate(QUERIES, GALLERY)
    assert got["num_valid_queries"] == 3
    assert got["rank1"] == pytest.approx(1 / 3)
    assert got["rank5"] == pytest.approx(1.0)
    assert got["rank10"] == pytest.approx(1.0)
    assert got["mAP"] == pytest.approx(56 / 90)


def test_hand_computed_ranks_and_single_queries():
    got = _evaluate(QUERIES[3:], GALLERY, ranks=(1, 2, 3))
    assert (got["rank1"], got["rank2"], got["rank3"]) == (0.0, 0.0, 1.0)
    assert got["mAP"] == pytest.approx(11 / 30)
    # Without junk ids, g3 becomes a negative: q0 ranks g1 x, g2 HIT, g3 x, g4 x, g5 HIT,
    # g6 x -> AP = (1/2 + 2/5) / 2 = 0.45.
    assert _evaluate(QUERIES[:1], GALLERY, junk_ids=())["mAP"] == pytest.approx(0.45)


def test_no_valid_query_is_an_error():
    with pytest.raises(ValueError, match="no query has a true match"):
        _evaluate(QUERIES[2:3], GALLERY)


def test_bad_shapes_are_reported():
    qf, qid, qcam = _arrays(QUERIES)
    gf, gid, gcam = _arrays(GALLERY)
    with pytest.raises(ValueError, match="gallery_cams"):
        evaluate_retrieval(qf, qid, qcam, gf, gid, gcam[:-1])
    with pytest.raises(ValueError, match="feature sizes differ"):
        evaluate_retrieval(qf, qid, qcam, np.c_[gf, gf], gid, gcam)


def _reference(qf, qid, qcam, gf, gid, gcam, ranks):
    """The official Market-1501 evaluation, one query at a time (standard AP)."""
    hits_at, aps = [], []
    for i in range(len(qf)):
        dist = [float(np.sum((qf[i] - g) ** 2)) for g in gf]
        order = sorted(range(len(gf)), key=lambda j: (dist[j], j))
        ranked = []  # True/False per kept gallery entry, in ranked order
        for j in order:
            if gid[j] == -1 or (gid[j] == qid[i] and gcam[j] == qcam[i]):
                continue
            ranked.append(gid[j] == qid[i])
        if not any(ranked):
            continue
        first = ranked.index(True) + 1
        precisions, found = [], 0
        for position, hit in enumerate(ranked, start=1):
            if hit:
                found += 1
                precisions.append(found / position)
        hits_at.append(first)
        aps.append(np.mean(precisions))
    out = {f"rank{k}": np.mean([f <= k for f in hits_at]) for k in ranks}
    return out | {"mAP": np.mean(aps), "num_valid_queries": len(aps)}


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_random_against_loop_reference(metric):
    rng = np.random.default_rng(0)
    num_q, num_g, dim = 40, 150, 6
    gid = rng.integers(-1, 12, num_g)  # includes junk -1 and distractors 0
    gcam = rng.integers(1, 4, num_g)
    qid, qcam = rng.integers(1, 12, num_q), rng.integers(1, 4, num_q)
    centres = rng.normal(size=(13, dim))
    gf = centres[gid + 1] + rng.normal(size=(num_g, dim))
    qf = centres[qid + 1] + rng.normal(size=(num_q, dim))
    # L2-normalised: cosine and euclidean give the same ranking, one reference serves both.
    gf /= np.linalg.norm(gf, axis=1, keepdims=True)
    qf /= np.linalg.norm(qf, axis=1, keepdims=True)
    ranks = (1, 3, 5, 10)
    got = evaluate_retrieval(qf, qid, qcam, gf, gid, gcam, ranks=ranks, metric=metric, chunk_size=7)
    want = _reference(qf, qid, qcam, gf, gid, gcam, ranks)
    assert got["num_valid_queries"] == want["num_valid_queries"] > 30
    for key in [f"rank{k}" for k in ranks] + ["mAP"]:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key
    assert 0.0 < got["rank1"] < got["rank10"] < 1.0  # not a degenerate case
