"""Training data for the GNN association model: labelled detections -> padded graphs.

A sample is one frame t of a sequence whose detections know their gt identity, built
as the tracking exercise's GNN training dataset builds its samples (see docs/gnn.md):

  window   frames t - past_frames .. t - 1, 21 by default: the exercise passes
           max_past_frames = 20 (its patience) and its window starts at
           t - max_past_frames - 1, so a track lost for the whole patience (inactive ==
           20, still kept by the tracker) is seen in training too.
  filter   every frame of the window and frame t keeps its true detections with
           visibility >= min_visibility (`past_visibility=False`: frame t only) and
           every false positive (visibility 1).
  drop     each remaining box of each frame (past and current) is dropped with p =
           drop_p; if that drops every box of a frame, the frame keeps them all (the
           exercise's "keep at least one box" guard, `keep_one`). A past identity whose
           latest box was dropped then enters with an older appearance.
           `drop="identity"` instead drops whole past tracks (and current boxes) after
           the merge, with the guard on each side.
  past     the latest remaining appearance of each identity in the window: its box,
           time (the frame of that appearance), feature and id, most recent first (ties
           by id). False positives of the window follow only with
           `past_false_positives` > 0 (each with that probability, id -1).
  current  the remaining detections of frame t, false positives included (id -1: they
           match nothing, so the model learns to reject them), in stored row order.
  jitter   every box's corners move by uniform noise up to `jitter` times its width
           (x1, x2) or height (y1, y2); width and height stay >= 1 px.

Unlike the exercise (ground-truth boxes), the inputs are detections with false
positives, so false positives join the current frame and, optionally, the past.

Labelled detections come from MOTChallenge gt run through the simulated detector of
`jaxmot.core.synthetic.DetectorModel` with simulated identity embeddings
(`labelled_sequence`), or embedded by a real FeatureExtractor: on a sequence's frames
(`labelled_sequence_with_extractor`) or on a synthetic scene rendered in memory
(`labelled_scene`).

Sample keys (`AssociationBatches.batch` adds a leading [B]):
  track_boxes [N, 4] float32 xywh, track_t [N] float32, track_features [N, D] float32,
  track_ids [N] int32, track_valid [N] bool, det_boxes [M, 4], det_t [M] float32 (= t),
  det_features [M, D], det_ids [M] int32, det_valid [M] bool.
Padded rows are zeros with valid False, det id -1 and track id -2. Compute labels with
`association_labels`, i.e. `(track_ids[:, None] == det_ids[None, :]) & (det_ids >= 0)
& track_valid[:, None] & det_valid[None, :]`: it stays right whatever the pad ids.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.core.mot_io import MOTSequence
from jaxmot.core.padding import bucket_size
from jaxmot.core.synthetic import (
    DetectorModel,
    SceneConfig,
    detections_from_gt,
    render_frames,
    simulate,
)

__all__ = [
    "DEFAULT_PAST_FRAMES",
    "DROP_MODES",
    "SAMPLE_KEYS",
    "AssociationBatches",
    "EmbeddingModel",
    "LabelledDetections",
    "association_labels",
    "build_sample",
    "detections_from_gt",
    "labelled_scene",
    "labelled_sequence",
    "labelled_sequence_with_extractor",
    "pad_sample",
    "simulated_embeddings",
    "usable_frames",
]

SAMPLE_KEYS = (
    "track_boxes",
    "track_t",
    "track_features",
    "track_ids",
    "track_valid",
    "det_boxes",
    "det_t",
    "det_features",
    "det_ids",
    "det_valid",
)
TRACK_PAD_ID = -2  # never equal to a false positive's -1
DET_PAD_ID = -1
_SAMPLE_OPTIONS = (
    "past_frames",
    "min_visibility",
    "drop_p",
    "jitter",
    "past_false_positives",
    "past_visibility",
    "drop",
    "keep_one",
)
_WINDOW_OPTIONS = ("past_frames", "min_visibility", "past_visibility")
DROP_MODES = ("frame", "identity")
DEFAULT_PAST_FRAMES = 21  # the exercise's max_past_frames = 20 spans 21 frames


# --------------------------------------------------------------------------- embeddings


@dataclass(frozen=True)
class EmbeddingModel:
    """Simulated identity embeddings, [dim] unit vectors.

    Each identity has a unit prototype that random-walks (per-frame step of norm ~drift,
    renormalised: slow appearance change). A detection's embedding is its prototype plus
    Gaussian noise of total norm ~noise (per-component std noise / sqrt(dim)),
    renormalised; noise is drawn once per sequence, uniformly from `noise_range`, so
    sequences differ in how reliable appearance is. Same-identity cosine similarity is
    then ~1 / (1 + noise^2). False positives get random unit vectors.
    """

    dim: int = 128
    noise_range: tuple[float, float] = (0.2, 0.8)
    drift: float = 0.02

    def __post_init__(self):
        lo, hi = self.noise_range
        if self.dim < 1 or not 0 <= lo <= hi or self.drift < 0:
            raise ValueError(
                f"EmbeddingModel needs dim >= 1, 0 <= noise_range[0] <= noise_range[1] and "
                f"drift >= 0, got dim={self.dim}, noise_range={self.noise_range}, "
                f"drift={self.drift}"
            )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def simulated_embeddings(
    ids: np.ndarray, frames: np.ndarray, model: EmbeddingModel, rng: np.random.Generator
) -> np.ndarray:
    """ids [K] (-1 = false positive), frames [K] -> [K, dim] float32 unit vectors."""
    ids, frames = np.asarray(ids, np.int64), np.asarray(frames, np.int64)
    if ids.shape != frames.shape or ids.ndim != 1:
        raise ValueError(f"ids and frames must be [K], got {ids.shape} and {frames.shape}")
    d = model.dim
    noise = rng.uniform(*model.noise_range)
    out = np.zeros((len(ids), d))
    true = np.flatnonzero(ids >= 0)
    uniq, who = np.unique(ids[true], return_inverse=True)
    proto = _unit(rng.standard_normal((len(uniq), d)))
    if len(true):
        order = np.argsort(frames[true], kind="stable")
        rows, who = true[order], who[order]
        f0, f1 = int(frames[rows[0]]), int(frames[rows[-1]])
        bounds = np.searchsorted(frames[rows], np.arange(f0, f1 + 2))
        step = model.drift / np.sqrt(d)
        for i in range(f1 - f0 + 1):
            if i and step:
                proto = _unit(proto + step * rng.standard_normal(proto.shape))
            s = slice(bounds[i], bounds[i + 1])
            out[rows[s]] = proto[who[s]]
        out[true] += noise / np.sqrt(d) * rng.standard_normal((len(true), d))
    fp = np.flatnonzero(ids < 0)
    out[fp] = rng.standard_normal((len(fp), d))
    return _unit(out).astype(np.float32)


# --------------------------------------------------------------------------- labelled data


@dataclass(frozen=True, eq=False)
class LabelledDetections:
    """One sequence's detections with their gt identity, sorted by frame.

    frames [K] int32; boxes [K, 4] float32 xywh; scores [K] float32; ids [K] int32 (-1:
    false positive); visibility [K] float32: the gt visibility of the source (1 for false
    positives, which are whole by construction, and for gt without visibility, MOT15);
    features [K, D] float32.
    """

    name: str
    frames: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    ids: np.ndarray
    visibility: np.ndarray
    features: np.ndarray
    _dtypes = {
        "frames": np.int32,
        "boxes": np.float32,
        "scores": np.float32,
        "ids": np.int32,
        "visibility": np.float32,
        "features": np.float32,
    }

    def __post_init__(self):
        arrays = {k: np.asarray(getattr(self, k), dt) for k, dt in self._dtypes.items()}
        k = len(arrays["frames"])
        for name, a in arrays.items():
            ndim = 2 if name in ("boxes", "features") else 1
            if a.ndim != ndim or len(a) != k or (name == "boxes" and a.shape[1] != 4):
                raise ValueError(
                    f"LabelledDetections({self.name}).{name}: shape {a.shape}, expected {k} rows"
                )
        if k > 1 and np.any(np.diff(arrays["frames"]) < 0):
            order = np.argsort(arrays["frames"], kind="stable")
            arrays = {n: a[order] for n, a in arrays.items()}
        for n, a in arrays.items():
            object.__setattr__(self, n, a)

    def __len__(self) -> int:
        return len(self.frames)


def labelled_sequence(
    sequence: MOTSequence,
    detector: DetectorModel,
    embeddings: EmbeddingModel,
    rng: np.random.Generator,
) -> LabelledDetections:
    """`detections_from_gt` with `simulated_embeddings` as features."""
    dets, ids, vis = detections_from_gt(sequence, detector, rng)
    features = simulated_embeddings(ids, dets.frames, embeddings, rng)
    return LabelledDetections(
        sequence.info.name, dets.frames, dets.boxes, dets.scores, ids, vis, features
    )


def labelled_sequence_with_extractor(
    sequence: MOTSequence,
    detector: DetectorModel,
    extractor: FeatureExtractor,
    rng: np.random.Generator,
    progress: str | None = None,
) -> LabelledDetections:
    """`detections_from_gt` with features from `extractor` on the sequence's own frames
    (it needs pixels: img1/ or a video). progress: a progress-bar label (None: none)."""
    from jaxmot.core.extractor import embed_sequence_detections

    dets, ids, vis = detections_from_gt(sequence, detector, rng)
    view = dataclasses.replace(sequence, detections=dets)
    try:
        features = embed_sequence_detections(view, extractor, progress)
    finally:
        view.close()
    return LabelledDetections(
        sequence.info.name, dets.frames, dets.boxes, dets.scores, ids, vis, features
    )


def labelled_scene(scene_config: SceneConfig, extractor: FeatureExtractor) -> LabelledDetections:
    """A synthetic scene's detections, embedded by `extractor` on the rendered frames.

    ids come from the scene's oracle (`det_gt_ids`); visibility is that of the source gt
    row (1 for false positives). Named `synthetic-<seed>`.
    """
    scene = simulate(scene_config)
    dets, ids, gt = scene.detections, scene.det_gt_ids, scene.gt
    features = np.zeros((len(dets), extractor.dim), np.float32)
    for frame, image in enumerate(render_frames(scene), start=1):
        rows = dets.for_frame(frame)
        if len(rows):
            features[rows] = extractor(image, dets.boxes[rows])
    span = int(max(gt.ids.max(initial=0), ids.max(initial=0))) + 1
    gt_keys = gt.frames.astype(np.int64) * span + gt.ids
    order = np.argsort(gt_keys)
    det_keys = dets.frames.astype(np.int64) * span + np.maximum(ids, 0)
    at = order[np.minimum(np.searchsorted(gt_keys, det_keys, sorter=order), len(order) - 1)]
    vis = np.where(ids >= 0, gt.visibility[at] if len(gt) else 1.0, 1.0)
    return LabelledDetections(
        f"synthetic-{scene_config.seed}",
        dets.frames,
        dets.boxes,
        dets.scores,
        ids,
        vis,
        features,
    )


# --------------------------------------------------------------------------- samples


def _jitter_boxes(boxes: np.ndarray, u: np.ndarray, jitter: float) -> np.ndarray:
    """[n, 4] xywh, u [n, 4] in [-1, 1] (x1, y1, x2, y2) -> jittered xywh, w, h >= 1."""
    x, y, w, h = boxes.T
    x1, x2 = x + jitter * w * u[:, 0], x + w + jitter * w * u[:, 2]
    y1, y2 = y + jitter * h * u[:, 1], y + h + jitter * h * u[:, 3]
    return np.stack([x1, y1, np.maximum(x2 - x1, 1.0), np.maximum(y2 - y1, 1.0)], 1)


def _drop_mask(groups: np.ndarray, rng: np.random.Generator, drop_p: float,
               keep_one: bool) -> np.ndarray:  # fmt: skip
    """[n] bool kept: each row dropped with p = drop_p; with keep_one, a group (frame)
    whose rows were all dropped keeps them all (the exercise's guard)."""
    keep = rng.random(len(groups)) >= drop_p
    if keep_one and len(groups):
        _, group = np.unique(groups, return_inverse=True)
        any_kept = np.bincount(group, weights=keep.astype(np.float64)) > 0
        keep |= ~any_kept[group]
    return keep


def _latest_per_identity(rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows (sorted by frame) -> the last row of each identity, most recent first."""
    recent = rows[::-1]
    _, first = np.unique(ids[recent], return_index=True)
    return recent[np.sort(first)]


def _check_sample_options(past_frames: int, drop: str) -> None:
    if past_frames < 1:
        raise ValueError(f"sample option past_frames must be >= 1, got {past_frames}")
    if drop not in DROP_MODES:
        raise ValueError(f"sample option drop must be one of {DROP_MODES}, got {drop!r}")


def _sample_rows(
    seq: LabelledDetections,
    frame: int,
    rng: np.random.Generator,
    past_frames: int = DEFAULT_PAST_FRAMES,
    min_visibility: float = 0.25,
    drop_p: float = 0.1,
    jitter: float = 0.05,
    past_false_positives: float = 0.0,
    past_visibility: bool = True,
    drop: str = "frame",
    keep_one: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(track rows [n], track boxes [n, 4], det rows [m], det boxes [m, 4]) of a sample.

    past_false_positives: probability that each false positive of the past window also
    enters as a past track (id -1, so it matches nothing), after the true tracks: online,
    every false positive starts a track that lingers in the graph while it is lost.
    """
    _check_sample_options(past_frames, drop)
    lo, hi, end = np.searchsorted(seq.frames, [frame - past_frames, frame, frame + 1])
    rows = np.arange(lo, end)
    true = seq.ids[rows] >= 0
    visible = seq.visibility[rows] >= min_visibility
    is_past = rows < hi
    rows = rows[~true | visible | (is_past & (not past_visibility))]
    if drop == "frame":
        rows = rows[_drop_mask(seq.frames[rows], rng, drop_p, keep_one)]
    past, current = rows[rows < hi], rows[rows >= hi]
    true_past = past[seq.ids[past] >= 0]
    tracks = _latest_per_identity(true_past, seq.ids)
    if past_false_positives > 0:
        false = past[seq.ids[past] < 0][::-1]
        false = false[rng.random(len(false)) < past_false_positives]
        tracks = np.concatenate([tracks, false])
    if drop == "identity":
        tracks = tracks[_drop_mask(np.zeros(len(tracks)), rng, drop_p, keep_one)]
        current = current[_drop_mask(np.zeros(len(current)), rng, drop_p, keep_one)]

    rows = np.concatenate([tracks, current])
    u = rng.uniform(-1.0, 1.0, (len(rows), 4))
    boxes = _jitter_boxes(seq.boxes[rows].astype(np.float64), u, jitter).astype(np.float32)
    n = len(tracks)
    return tracks, boxes[:n], current, boxes[n:]


def build_sample(
    seq: LabelledDetections,
    frame: int,
    rng: np.random.Generator,
    *,
    past_frames: int = DEFAULT_PAST_FRAMES,
    min_visibility: float = 0.25,
    drop_p: float = 0.1,
    jitter: float = 0.05,
    past_false_positives: float = 0.0,
    past_visibility: bool = True,
    drop: str = "frame",
    keep_one: bool = True,
) -> dict[str, np.ndarray]:
    """The (past tracks, current detections) graph of `frame` (module doc), unpadded:
    the SAMPLE_KEYS without the valid masks, n tracks and m detections."""
    tracks, track_boxes, dets, det_boxes = _sample_rows(
        seq, frame, rng, past_frames, min_visibility, drop_p, jitter, past_false_positives,
        past_visibility, drop, keep_one,
    )  # fmt: skip
    return {
        "track_boxes": track_boxes,
        "track_t": seq.frames[tracks].astype(np.float32),
        "track_features": seq.features[tracks],
        "track_ids": seq.ids[tracks],
        "det_boxes": det_boxes,
        "det_t": np.full(len(dets), frame, np.float32),
        "det_features": seq.features[dets],
        "det_ids": seq.ids[dets],
    }


def usable_frames(
    seq: LabelledDetections,
    past_frames: int = DEFAULT_PAST_FRAMES,
    min_visibility: float = 0.25,
    past_visibility: bool = True,
) -> np.ndarray:
    """Frames [F] int32 whose sample (before augmentation) has >= 1 past track and >= 1
    current detection (the drop guard keeps both sides non-empty in "frame" mode)."""
    if not len(seq):
        return np.zeros(0, np.int32)
    last = int(seq.frames.max())
    true = seq.ids >= 0
    visible = seq.visibility >= min_visibility
    in_past = true & visible if past_visibility else true
    per_frame = np.bincount(seq.frames[in_past], minlength=last + 1)
    cum = np.concatenate([[0], np.cumsum(per_frame)])  # cum[f] = past rows in frames < f
    t = np.arange(1, last + 1)
    past = cum[t] - cum[np.maximum(t - past_frames, 0)]
    current = (~true) | visible
    now = np.bincount(seq.frames[current], minlength=last + 1)[1:]
    return t[(past > 0) & (now > 0)].astype(np.int32)


def pad_sample(sample: dict[str, np.ndarray], n: int, m: int) -> dict[str, np.ndarray]:
    """Pad an unpadded sample to n tracks and m detections (module doc: pad values)."""
    nt, nd = len(sample["track_ids"]), len(sample["det_ids"])
    if nt > n or nd > m:
        raise ValueError(f"sample has {nt} tracks / {nd} detections, cannot pad to {n} / {m}")
    out = {}
    for side, size, count, pad_id in (("track", n, nt, TRACK_PAD_ID), ("det", m, nd, DET_PAD_ID)):
        for key in ("boxes", "t", "features", "ids"):
            x = sample[f"{side}_{key}"]
            out[f"{side}_{key}"] = padded = np.zeros((size, *x.shape[1:]), x.dtype)
            padded[:count] = x
        out[f"{side}_ids"][count:] = pad_id
        out[f"{side}_valid"] = np.arange(size) < count
    return {k: out[k] for k in SAMPLE_KEYS}


def association_labels(track_ids, det_ids, track_valid, det_valid):
    """[..., N, M] bool: track i and detection j are the same identity (false positives
    and padding never match). Works on NumPy and JAX arrays, batched or not."""
    same = track_ids[..., :, None] == det_ids[..., None, :]
    return same & (det_ids >= 0)[..., None, :] & track_valid[..., :, None] & det_valid[..., None, :]


# --------------------------------------------------------------------------- batches


class AssociationBatches:
    """Random padded batches of samples, a pure function of (seed, step).

    (sequence, frame) pairs are drawn uniformly among the usable frames of all sequences
    (so sequences weigh by their number of usable frames) with
    `np.random.default_rng([seed, step])`, which also drives the augmentation. A batch
    is padded to (N, M) = the smallest buckets holding its largest sample, at most the
    largest bucket: a larger sample keeps its most recent past tracks and a random
    subset of its detections (with a warning, once per instance).

    sample_kwargs: the options of `build_sample` (past_frames, min_visibility, drop_p,
    jitter, past_false_positives, past_visibility, drop, keep_one).
    """

    def __init__(
        self,
        sequences: list[LabelledDetections],
        batch_size: int,
        seed: int = 0,
        buckets: tuple[int, ...] = (8, 16, 32, 64, 128, 256),
        **sample_kwargs,
    ):
        unknown = sorted(set(sample_kwargs) - set(_SAMPLE_OPTIONS))
        if unknown:
            raise TypeError(f"unknown sample options {unknown}; known: {list(_SAMPLE_OPTIONS)}")
        if batch_size < 1 or not sequences or not buckets:
            raise ValueError("need batch_size >= 1, at least one sequence and one bucket")
        dims = {s.features.shape[1] for s in sequences}
        if len(dims) != 1:
            raise ValueError(f"sequences have different feature dims: {sorted(dims)}")
        self.sequences = list(sequences)
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.buckets = tuple(sorted(buckets))
        self.sample_kwargs = dict(sample_kwargs)
        self.feature_dim = dims.pop()
        _check_sample_options(
            sample_kwargs.get("past_frames", DEFAULT_PAST_FRAMES),
            sample_kwargs.get("drop", "frame"),
        )
        window = {k: v for k, v in sample_kwargs.items() if k in _WINDOW_OPTIONS}
        usable = [usable_frames(s, **window) for s in self.sequences]
        self.frames_per_sequence = {s.name: len(u) for s, u in zip(sequences, usable, strict=True)}
        self._seq_of = np.repeat(np.arange(len(usable)), [len(u) for u in usable])
        self._frame_of = np.concatenate(usable)
        if not len(self._frame_of):
            raise ValueError(f"no usable frame in {[s.name for s in sequences]}")
        self._warned = False

    @property
    def num_frames(self) -> int:
        """Usable (sequence, frame) pairs over all sequences."""
        return len(self._frame_of)

    def _size(self, count: int) -> int:
        return min(bucket_size(count, self.buckets), self.buckets[-1])

    def batch(self, step: int) -> dict[str, np.ndarray]:
        """The SAMPLE_KEYS with a leading [batch_size]."""
        rng = np.random.default_rng([self.seed, step])
        picks = rng.integers(0, self.num_frames, self.batch_size)
        seqs = [self.sequences[i] for i in self._seq_of[picks]]
        frames = self._frame_of[picks]
        parts = [
            _sample_rows(seq, int(t), rng, **self.sample_kwargs)
            for seq, t in zip(seqs, frames, strict=True)
        ]
        n = self._size(max(len(p[0]) for p in parts))
        m = self._size(max(len(p[2]) for p in parts))
        b, d = self.batch_size, self.feature_dim
        out = {
            "track_boxes": np.zeros((b, n, 4), np.float32),
            "track_t": np.zeros((b, n), np.float32),
            "track_features": np.zeros((b, n, d), np.float32),
            "track_ids": np.full((b, n), TRACK_PAD_ID, np.int32),
            "track_valid": np.zeros((b, n), bool),
            "det_boxes": np.zeros((b, m, 4), np.float32),
            "det_t": np.zeros((b, m), np.float32),
            "det_features": np.zeros((b, m, d), np.float32),
            "det_ids": np.full((b, m), DET_PAD_ID, np.int32),
            "det_valid": np.zeros((b, m), bool),
        }
        for i, (seq, t, part) in enumerate(zip(seqs, frames, parts, strict=True)):
            tracks, track_boxes, dets, det_boxes = self._cap(part, n, m, rng)
            nt, nd = len(tracks), len(dets)
            out["track_boxes"][i, :nt] = track_boxes
            out["track_t"][i, :nt] = seq.frames[tracks]
            out["track_features"][i, :nt] = seq.features[tracks]
            out["track_ids"][i, :nt] = seq.ids[tracks]
            out["track_valid"][i, :nt] = True
            out["det_boxes"][i, :nd] = det_boxes
            out["det_t"][i, :nd] = t
            out["det_features"][i, :nd] = seq.features[dets]
            out["det_ids"][i, :nd] = seq.ids[dets]
            out["det_valid"][i, :nd] = True
        return out

    def _cap(self, part: tuple, n: int, m: int, rng: np.random.Generator) -> tuple:
        tracks, track_boxes, dets, det_boxes = part
        nt, nd = len(tracks), len(dets)
        if nt <= n and nd <= m:
            return part
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"AssociationBatches: a sample with {nt} tracks / {nd} detections exceeds the "
                f"largest bucket {self.buckets[-1]}; keeping the {n} most recent tracks and "
                f"{m} random detections (warned once)",
                stacklevel=3,
            )
        keep = np.sort(rng.choice(nd, m, replace=False)) if nd > m else slice(None)
        return tracks[:n], track_boxes[:n], dets[keep], det_boxes[keep]
