"""Deterministic synthetic pedestrian scenes in the MOTChallenge layout.

The project's embedded default data: the demo, most tests and the benchmarks run on it,
so it needs no download and every run sees the same pixels.

A scene is simulated directly in image coordinates on a simple ground plane: a person's
feet stay inside a horizontal band of the image, and their height (and walking speed)
grows linearly with the feet's y coordinate, as under a pinhole camera looking down at a
flat floor. People stand inside the image at frame 1 or enter at the left/right border,
walk with a slowly varying heading and leave at a border; walkers at different depths and
in opposite directions cross, which produces occlusions. Nearer people (lower feet) are
drawn last.

Pipeline (separate steps, so benchmarks can skip the disk and the pixels):

  simulate(config) -> SceneData          tracks, gt, detections, appearances (in memory)
  render_frames(scene) -> RGB frames     background + figures + sensor noise
  generate_sequence(out_dir, config)     seqinfo.ini, gt/gt.txt, det/det.txt, img1/*.jpg
  generate_detection_stream(n, frames)   detections and gt at ~n detections per frame

Randomness: `np.random.SeedSequence(config.seed)` spawns independent streams for motion,
appearance, detector and rendering, so `render=False` or another DetectorModel leaves the
trajectories unchanged. The same config gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
from tqdm import tqdm

from jaxmot.core import mot_io as mot

__all__ = [
    "scene_seed",
    "Appearance",
    "DetectorModel",
    "SceneConfig",
    "SceneData",
    "assemble_detections",
    "detections_from_gt",
    "box_visibility",
    "generate_detection_stream",
    "generate_sequence",
    "render_frames",
    "simulate",
    "true_detections",
]


# --------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class DetectorModel:
    """A simulated pedestrian detector: what `det/det.txt` holds.

    Recall depends on visibility v (fraction of the gt box visible):
        p(v) = p_max * clip((v - vis_lo) / (vis_hi - vis_lo), 0, 1)
    A detected box is the gt box with Gaussian noise: centre std `center_std * h` (x and
    y), height std `size_std * h`, width std `size_std * w`; then clipped to the image.
    Scores: true detections `0.5 + 0.5 * Beta` with Beta mean `0.3 + 0.5 * v` (so scores
    fall in [0.5, 1] and correlate with visibility); false positives
    `fp_score_max * Beta(2, 3)` (mean 0.28 at the default, overlapping the true range).
    """

    p_max: float = 0.95  # best-case recall (strong public detectors reach ~0.9-0.95)
    vis_lo: float = 0.2  # at most 20% visible: never detected
    vis_hi: float = 0.8  # from 80% visible on: detected with p_max
    center_std: float = 0.04  # box centre noise, fraction of box height
    size_std: float = 0.05  # relative width/height noise
    fp_per_frame: float = 1.0  # Poisson mean of false positives per frame
    true_score_concentration: float = 8.0  # Beta a+b of true scores: larger = tighter
    fp_score_max: float = 0.7  # false-positive scores lie in [0, fp_score_max]

    def __post_init__(self):
        _check(0.0 <= self.p_max <= 1.0, "DetectorModel.p_max must be in [0, 1]")
        _check(0.0 <= self.vis_lo < self.vis_hi <= 1.0, "need 0 <= vis_lo < vis_hi <= 1")
        _check(self.center_std >= 0 and self.size_std >= 0, "noise stds must be >= 0")
        _check(self.fp_per_frame >= 0, "DetectorModel.fp_per_frame must be >= 0")
        _check(0.0 < self.fp_score_max <= 1.0, "DetectorModel.fp_score_max must be in (0, 1]")

    def detection_probability(self, visibility: np.ndarray) -> np.ndarray:
        """[K] visibility in [0, 1] -> [K] probability of being detected."""
        ramp = (np.asarray(visibility) - self.vis_lo) / (self.vis_hi - self.vis_lo)
        return self.p_max * np.clip(ramp, 0.0, 1.0)


@dataclass(frozen=True)
class SceneConfig:
    """Everything that defines a synthetic sequence; the defaults are the demo scene.

    Sizes and speeds are in pixels, speeds per frame. `height_range` and `speed_range`
    refer to the far and near edges of the walkable band (`ground_band`); in between they
    are interpolated linearly in the feet's y (ground-plane perspective).
    """

    width: int = 640  # image width, px (VGA, like several MOT15 sequences)
    height: int = 480  # image height, px
    num_frames: int = 150  # sequence length: 5 s at 30 fps
    frame_rate: float = 30.0  # written to seqinfo.ini; motion is defined per frame
    num_objects: int = 14  # identities over the whole sequence (~9 visible at a time)
    seed: int = 0  # everything random derives from this
    height_range: tuple[float, float] = (80.0, 200.0)  # person height at far/near band edge
    height_jitter: float = 0.07  # per-identity relative std of stature
    aspect_range: tuple[float, float] = (0.35, 0.45)  # box w/h (MOT pedestrians ~0.41)
    # Feet y as fractions of the image height (far, near); > 1 lets the bottom border cut
    # near people, like in real footage.
    ground_band: tuple[float, float] = (0.5, 1.03)
    # Walking speed at the near edge: 5 px/frame ~ 1.3 m/s at 30 fps for a 200 px person.
    speed_range: tuple[float, float] = (3.0, 6.0)
    heading_spread_deg: float = 20.0  # per-identity preferred slant from horizontal
    turn_std_deg: float = 0.4  # per-frame random change of angular velocity (deg/frame)
    turn_damping: float = 0.92  # angular velocity kept per frame: smooth curves, no zigzag
    heading_pull: float = 0.03  # per-frame pull back to the preferred heading
    depth_foreshortening: float = 0.5  # image y moves slower: depth motion looks shorter
    initial_fraction: float | None = None  # share present at frame 1; None: steady state
    detector: DetectorModel = field(default_factory=DetectorModel)  # what det.txt holds
    render: bool = True  # False: gt/det only, no img1/ (fast, for large benchmarks)
    noise_std: float = 2.5  # per-frame Gaussian sensor noise, grey levels
    jpeg_quality: int = 92  # img1/*.jpg quality (MOT17 frames are ~90-95)

    def __post_init__(self):
        _check(self.width >= 32 and self.height >= 32, "SceneConfig: image must be >= 32x32")
        _check(self.num_frames >= 1, "SceneConfig.num_frames must be >= 1")
        _check(self.num_objects >= 1, "SceneConfig.num_objects must be >= 1")
        _check(self.frame_rate > 0, "SceneConfig.frame_rate must be > 0")
        _check(
            0 < self.height_range[0] <= self.height_range[1],
            f"SceneConfig.height_range must be 0 < far <= near, got {self.height_range}",
        )
        _check(
            0 < self.aspect_range[0] <= self.aspect_range[1],
            f"SceneConfig.aspect_range must be 0 < low <= high, got {self.aspect_range}",
        )
        _check(
            0 <= self.ground_band[0] < min(1.0, self.ground_band[1]),
            f"SceneConfig.ground_band must be 0 <= far < near, far < 1, got {self.ground_band}",
        )
        _check(
            0 < self.speed_range[0] <= self.speed_range[1],
            f"SceneConfig.speed_range must be 0 < low <= high, got {self.speed_range}",
        )
        _check(0 <= self.turn_damping < 1, "SceneConfig.turn_damping must be in [0, 1)")
        frac = self.initial_fraction
        _check(frac is None or 0 <= frac <= 1, "SceneConfig.initial_fraction must be in [0, 1]")
        _check(1 <= self.jpeg_quality <= 100, "SceneConfig.jpeg_quality must be in [1, 100]")


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise ValueError(msg)


@dataclass(frozen=True)
class Appearance:
    """How one identity looks (colours RGB uint8-valued, texture of the top)."""

    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    texture: str  # "plain", "stripes" or "checks"
    texture_color: tuple[int, int, int]
    texture_period: float  # stripe/check period as a fraction of the person's height


# eq=False: generated equality would compare arrays with `==`, which is ambiguous.
@dataclass(frozen=True, eq=False)
class SceneData:
    """A simulated sequence, in memory.

    gt rows are sorted by (frame, id); `gt_phase` [K] is each row's walking-cycle phase
    (radians, for rendering). `det_gt_ids` [D] holds the identity a detection came from
    (-1 for false positives): an oracle for tests and benchmarks, never written to disk.
    """

    config: SceneConfig
    gt: mot.GroundTruth
    gt_phase: np.ndarray
    detections: mot.Detections
    det_gt_ids: np.ndarray
    appearances: dict[int, Appearance]


# --------------------------------------------------------------------------- motion


def _band_px(config: SceneConfig) -> tuple[float, float]:
    return config.ground_band[0] * config.height, config.ground_band[1] * config.height


def _perspective_height(config: SceneConfig, foot_y: np.ndarray) -> np.ndarray:
    """Height in px of an average-stature person whose feet are at `foot_y`."""
    y_far, y_near = _band_px(config)
    h_far, h_near = config.height_range
    return h_far + (h_near - h_far) * (np.asarray(foot_y) - y_far) / (y_near - y_far)


def _expected_crossing_frames(config: SceneConfig) -> float:
    """Mean frames a walker needs to cross the image, from config averages.

    Used to schedule entries so that the number of visible people stays roughly constant
    (a steady state: present at frame 1 / entering later = crossing time / length).
    """
    h_far, h_near = config.height_range
    mean_width = 0.5 * (h_far + h_near) * float(np.mean(config.aspect_range))
    # Crossing time goes with 1/speed, so average the reciprocals (speed uniform in
    # speed_range, perspective scale uniform in [h_far/h_near, 1]).
    lo, hi = config.speed_range
    inv_speed = math.log(hi / lo) / (hi - lo) if hi > lo else 1.0 / lo
    k0 = h_far / h_near
    inv_scale = math.log(1.0 / k0) / (1.0 - k0) if k0 < 1.0 else 1.0
    cos_slant = math.cos(math.radians(config.heading_spread_deg) / 2)
    return (config.width + mean_width) * inv_speed * inv_scale / cos_slant


def _simulate_motion(config: SceneConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Walk every identity over the sequence.

    Returns [T, N] arrays `x` (feet centre x), `y` (feet y), `h`, `w`, `phase` and the
    bool `active` (the identity exists in that frame, possibly outside the image).
    """
    n, t_len = config.num_objects, config.num_frames
    width = config.width
    y_far, y_near = _band_px(config)
    h_near = config.height_range[1]

    life = _expected_crossing_frames(config)
    frac = life / (life + t_len) if config.initial_fraction is None else config.initial_fraction
    n_init = int(np.clip(round(n * frac), 1, n))
    n_enter = n - n_init
    # Entry frames spread evenly (with jitter) over the first 90% of the sequence, so a
    # late entrant still walks into view before the end.
    start = np.zeros(n, np.int64)
    slots = (np.arange(n_enter) + rng.uniform(0.0, 1.0, n_enter)) / max(n_enter, 1)
    start[n_init:] = np.floor(slots * 0.9 * t_len).astype(np.int64)

    stature = np.clip(1.0 + config.height_jitter * rng.standard_normal(n), 0.8, 1.2)
    aspect = rng.uniform(*config.aspect_range, n)
    speed = rng.uniform(*config.speed_range, n)
    dir_x = rng.choice(np.array([-1.0, 1.0]), n)
    spread = math.radians(config.heading_spread_deg)
    slant = rng.uniform(-spread, spread, n)
    preferred = np.arctan2(np.sin(slant), dir_x * np.cos(slant))

    y = rng.uniform(y_far, y_near, n)
    h = _perspective_height(config, y) * stature
    w = aspect * h
    x = rng.uniform(0.0, width, n)
    # Entrants start just outside the border they walk in from.
    enter = np.arange(n) >= n_init
    x[enter] = np.where(dir_x[enter] > 0, -0.5 * w[enter] - 0.5, width + 0.5 * w[enter] + 0.5)
    heading = preferred.copy()
    omega = np.zeros(n)
    phase = rng.uniform(0.0, 2 * np.pi, n)
    gone = np.zeros(n, bool)

    out = {k: np.zeros((t_len, n)) for k in ("x", "y", "h", "w", "phase")}
    out["active"] = np.zeros((t_len, n), bool)
    turn_std = math.radians(config.turn_std_deg)
    margin = 0.1 * (y_near - y_far)
    edge_slant = max(spread, math.radians(10.0))
    for t in range(t_len):
        active = (start <= t) & ~gone
        h = _perspective_height(config, y) * stature
        w = aspect * h
        for key, val in (("x", x), ("y", y), ("h", h), ("w", w), ("phase", phase)):
            out[key][t] = val
        out["active"][t] = active

        # Heading: damped random angular velocity plus a pull to the preferred direction;
        # near the band edges the preferred direction slants back inside.
        target = preferred.copy()
        cos_dir = np.sign(np.cos(heading)) * math.cos(edge_slant)
        target = np.where(y < y_far + margin, np.arctan2(math.sin(edge_slant), cos_dir), target)
        target = np.where(y > y_near - margin, np.arctan2(-math.sin(edge_slant), cos_dir), target)
        omega = config.turn_damping * omega + turn_std * rng.standard_normal(n)
        delta = np.angle(np.exp(1j * (target - heading)))
        pull = np.where(target != preferred, 4 * config.heading_pull, config.heading_pull)
        heading = heading + omega + pull * delta

        v = speed * _perspective_height(config, y) / h_near
        dx = v * np.cos(heading)
        dy = config.depth_foreshortening * v * np.sin(heading)
        x = np.where(active, x + dx, x)
        y = np.where(active, np.clip(y + dy, y_far, y_near), y)
        # One gait cycle (two steps) covers ~0.8 body heights.
        phase = phase + np.where(active, 2 * np.pi * np.hypot(dx, dy) / (0.8 * h), 0.0)
        # Left the image walking outwards: gone for good (no re-entry).
        gone |= active & (((x + 0.5 * w < 0) & (dx < 0)) | ((x - 0.5 * w > width) & (dx > 0)))
    return out


# --------------------------------------------------------------------------- ground truth


def box_visibility(
    boxes_xywh: np.ndarray, depth: np.ndarray, width: float, height: float
) -> np.ndarray:
    """Visible fraction of each box: inside the image and not covered by nearer boxes.

    Args:
      boxes_xywh: [N, 4] boxes of one frame, full extent (may reach outside the image).
      depth: [N] nearness, larger = nearer (the bottom y); ties: the later index is nearer.
      width, height: image size in px.

    Returns:
      [N] float64 in [0, 1]: visible area / full box area (0 for empty boxes).

    The covered area is computed exactly on the grid that the box edges induce (a box mask
    with one cell per edge interval instead of one per pixel), so it is exact for
    fractional boxes and cheap for many boxes.
    """
    b = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
    n = len(b)
    area = b[:, 2] * b[:, 3]
    x0, y0 = np.clip(b[:, 0], 0, width), np.clip(b[:, 1], 0, height)
    x1, y1 = np.clip(b[:, 0] + b[:, 2], 0, width), np.clip(b[:, 1] + b[:, 3], 0, height)
    visible = (x1 - x0) * (y1 - y0)
    rank = np.empty(n, np.int64)
    rank[np.argsort(np.asarray(depth), kind="stable")] = np.arange(n)
    # occludes[i, j]: box j is nearer than box i and their in-image parts intersect.
    occludes = rank[None, :] > rank[:, None]
    occludes &= (x0[None, :] < x1[:, None]) & (x0[:, None] < x1[None, :])
    occludes &= (y0[None, :] < y1[:, None]) & (y0[:, None] < y1[None, :])
    for i in np.flatnonzero(occludes.any(axis=1)):
        js = np.flatnonzero(occludes[i])
        ox0, ox1 = np.clip(x0[js], x0[i], x1[i]), np.clip(x1[js], x0[i], x1[i])
        oy0, oy1 = np.clip(y0[js], y0[i], y1[i]), np.clip(y1[js], y0[i], y1[i])
        xs = np.unique(np.concatenate([[x0[i], x1[i]], ox0, ox1]))
        ys = np.unique(np.concatenate([[y0[i], y1[i]], oy0, oy1]))
        mx, my = 0.5 * (xs[1:] + xs[:-1]), 0.5 * (ys[1:] + ys[:-1])
        in_x = (mx[None, :] > ox0[:, None]) & (mx[None, :] < ox1[:, None])  # [K, nx]
        in_y = (my[None, :] > oy0[:, None]) & (my[None, :] < oy1[:, None])  # [K, ny]
        covered = (in_y[:, :, None] & in_x[:, None, :]).any(axis=0)  # [ny, nx]
        visible[i] -= (np.diff(ys)[:, None] * np.diff(xs)[None, :])[covered].sum()
    safe = np.where(area > 0, area, 1.0)
    return np.where(area > 0, np.clip(visible / safe, 0.0, 1.0), 0.0)


# Values are rounded before they become float32 so that the text files stay short and
# reading them back gives exactly the in-memory arrays.
_BOX_DECIMALS = 2
_SCORE_DECIMALS = 4


def _ground_truth(
    config: SceneConfig, tracks: dict[str, np.ndarray]
) -> tuple[mot.GroundTruth, np.ndarray, np.ndarray]:
    """gt rows of everyone who overlaps the image, ids numbered by first appearance.

    Returns (gt, phase [K], id_of_object [N] with 0 for objects never in view).
    Visibility is computed from the stored (rounded, float32) boxes with the bottom edge
    as depth, the same order the renderer draws in, so it can be recomputed from gt.txt.
    """
    x, y, h, w = (tracks[k] for k in ("x", "y", "h", "w"))
    t_idx, n_idx = np.nonzero(tracks["active"])
    boxes = np.stack([x - 0.5 * w, y - h, w, h], -1)[t_idx, n_idx]
    boxes = np.round(boxes, _BOX_DECIMALS).astype(np.float32).astype(np.float64)
    inside = (boxes[:, 0] < config.width) & (boxes[:, 0] + boxes[:, 2] > 0)
    inside &= (boxes[:, 1] < config.height) & (boxes[:, 1] + boxes[:, 3] > 0)
    t_idx, n_idx, boxes = t_idx[inside], n_idx[inside], boxes[inside]

    n = config.num_objects
    first = np.full(n, config.num_frames)
    np.minimum.at(first, n_idx, t_idx)
    seen = first < config.num_frames
    order = np.lexsort((np.arange(n), first))[: int(seen.sum())]
    id_of = np.zeros(n, np.int64)
    id_of[order] = np.arange(1, len(order) + 1)
    rows = np.lexsort((id_of[n_idx], t_idx))
    t_idx, n_idx, boxes = t_idx[rows], n_idx[rows], boxes[rows]

    vis = np.zeros(len(rows))
    bounds = np.searchsorted(t_idx, np.arange(config.num_frames + 1))
    for t in range(config.num_frames):
        s = slice(bounds[t], bounds[t + 1])
        b = boxes[s]
        vis[s] = box_visibility(b, b[:, 1] + b[:, 3], config.width, config.height)
    k = len(rows)
    gt = mot.GroundTruth(
        frames=(t_idx + 1).astype(np.int32),
        ids=id_of[n_idx].astype(np.int32),
        boxes=boxes.astype(np.float32),
        flags=np.ones(k, np.int32),
        classes=np.ones(k, np.int32),
        visibility=np.round(vis, _SCORE_DECIMALS).astype(np.float32),
    )
    return gt, tracks["phase"][t_idx, n_idx], id_of


# --------------------------------------------------------------------------- detector


def _clip_boxes(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """[D, 4] xywh -> (clipped xywh, keep mask): a detector never reports a sliver."""
    x0, y0 = np.clip(boxes[:, 0], 0, width), np.clip(boxes[:, 1], 0, height)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    out = np.stack([x0, y0, x1 - x0, y1 - y0], 1)
    return out, (out[:, 2] >= 2.0) & (out[:, 3] >= 4.0)


def true_detections(
    model: DetectorModel, boxes: np.ndarray, visibility: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The DetectorModel's fate of every gt row: (hit [K] bool, boxes [K, 4] xywh float64,
    scores [K] float64), before clipping to the image.

    boxes: [K, 4] xywh gt boxes; visibility: [K] in [0, 1]. Draws every random number for
    every row, hit or not, so one row's fate never shifts another row's noise.
    """
    k = len(boxes)
    hit = rng.random(k) < model.detection_probability(visibility)
    noise = rng.standard_normal((k, 4))
    mean = 0.3 + 0.5 * visibility.astype(np.float64)
    conc = model.true_score_concentration
    scores = 0.5 + 0.5 * rng.beta(mean * conc, (1.0 - mean) * conc)
    b = boxes.astype(np.float64)
    cx = b[:, 0] + 0.5 * b[:, 2] + model.center_std * b[:, 3] * noise[:, 0]
    cy = b[:, 1] + 0.5 * b[:, 3] + model.center_std * b[:, 3] * noise[:, 1]
    bw = b[:, 2] * np.maximum(1.0 + model.size_std * noise[:, 2], 0.2)
    bh = b[:, 3] * np.maximum(1.0 + model.size_std * noise[:, 3], 0.2)
    return hit, np.stack([cx - 0.5 * bw, cy - 0.5 * bh, bw, bh], 1), scores


def assemble_detections(
    frames: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    src: np.ndarray,
    width: int,
    height: int,
    rng: np.random.Generator,
) -> tuple[mot.Detections, np.ndarray, np.ndarray]:
    """Detector output rows -> (detections sorted by frame, src[rows], rows).

    Clips boxes to the image and drops slivers, rounds like the files, and shuffles rows
    within each frame (the order of rows must not leak identities). `src` [D] is any
    per-row tag (the source id); `rows` [K] indexes the kept input rows in output order.
    """
    frames = np.asarray(frames).astype(np.int32)
    boxes, keep = _clip_boxes(boxes, width, height)
    perm = rng.permutation(len(frames))
    perm = perm[keep[perm]]
    perm = perm[np.argsort(frames[perm], kind="stable")]
    dets = mot.Detections(
        frames=frames[perm],
        boxes=np.round(boxes[perm], _BOX_DECIMALS).astype(np.float32),
        scores=np.round(scores[perm], _SCORE_DECIMALS).astype(np.float32),
    )
    return dets, src[perm], perm


def _detect(
    config: SceneConfig, gt: mot.GroundTruth, rng: np.random.Generator
) -> tuple[mot.Detections, np.ndarray]:
    """Run the DetectorModel on the gt: (detections sorted by frame, source id per row)."""
    model = config.detector
    hit, true_boxes, true_scores = true_detections(model, gt.boxes, gt.visibility, rng)

    # False positives: person-shaped boxes at plausible ground positions.
    fp_counts = rng.poisson(model.fp_per_frame, config.num_frames)
    f = int(fp_counts.sum())
    fp_frames = np.repeat(np.arange(1, config.num_frames + 1), fp_counts)
    foot = rng.uniform(*_band_px(config), f)
    fh = _perspective_height(config, foot) * rng.uniform(0.7, 1.2, f)
    fw = fh * rng.uniform(*config.aspect_range, f)
    fx = rng.uniform(0.0, config.width, f) - 0.5 * fw
    fp_boxes = np.stack([fx, foot - fh, fw, fh], 1)
    fp_scores = model.fp_score_max * rng.beta(2.0, 3.0, f)

    dets, src, _ = assemble_detections(
        np.concatenate([gt.frames[hit], fp_frames]),
        np.concatenate([true_boxes[hit], fp_boxes]),
        np.concatenate([true_scores[hit], fp_scores]),
        np.concatenate([gt.ids[hit], np.full(f, -1)]),
        config.width,
        config.height,
        rng,
    )
    return dets, src.astype(np.int32)


def detections_from_gt(
    sequence: mot.MOTSequence, detector: DetectorModel, rng: np.random.Generator
) -> tuple[mot.Detections, np.ndarray, np.ndarray]:
    """Run the simulated detector on a sequence's gt pedestrians.

    Pedestrians: flag 1 and class 1 (MOT16/17) or -1 (MOT15); unknown visibility (-1)
    counts as fully visible. True detections follow `DetectorModel` exactly as in the
    synthetic scenes. False positives (Poisson fp_per_frame per frame) take the size and
    feet height of a random pedestrian row of the sequence, scaled by U(0.7, 1.2), at a
    uniform x: person-shaped boxes where people walk. A sequence without pedestrians
    gets none. Boxes are clipped to the image (size from seqinfo.ini).

    Returns (detections, ids [K] int32 with -1 for false positives, visibility [K]
    float32: the source's gt visibility, 1 for false positives).
    """
    info, gt = sequence.info, sequence.gt
    if gt is None:
        raise ValueError(f"{info.name}: no gt/gt.txt in {info.path}")
    if info.width is None or info.height is None:
        raise ValueError(f"{info.path / 'seqinfo.ini'}: imWidth and imHeight are needed")
    ped = (gt.flags == 1) & ((gt.classes == 1) | (gt.classes == -1))
    boxes, vis = gt.boxes[ped], gt.visibility[ped]
    vis = np.where(vis < 0, np.float32(1.0), vis)
    hit, true_boxes, true_scores = true_detections(detector, boxes, vis, rng)

    num_frames = max(info.length, int(gt.frames.max(initial=0)))
    fp_counts = rng.poisson(detector.fp_per_frame, num_frames) * (len(boxes) > 0)
    f = int(fp_counts.sum())
    ref = boxes[rng.integers(0, max(len(boxes), 1), f)].astype(np.float64)
    fh = ref[:, 3] * rng.uniform(0.7, 1.2, f)
    fw = fh * ref[:, 2] / ref[:, 3]
    fx = rng.uniform(0.0, info.width, f) - 0.5 * fw
    fp_boxes = np.stack([fx, ref[:, 1] + ref[:, 3] - fh, fw, fh], 1)
    fp_scores = detector.fp_score_max * rng.beta(2.0, 3.0, f)

    dets, ids, rows = assemble_detections(
        np.concatenate([gt.frames[ped][hit], np.repeat(np.arange(1, num_frames + 1), fp_counts)]),
        np.concatenate([true_boxes[hit], fp_boxes]),
        np.concatenate([true_scores[hit], fp_scores]),
        np.concatenate([gt.ids[ped][hit], np.full(f, -1)]),
        info.width,
        info.height,
        rng,
    )
    source_vis = np.concatenate([vis[hit], np.ones(f, np.float32)])[rows]
    return dets, ids.astype(np.int32), source_vis.astype(np.float32)


# --------------------------------------------------------------------------- simulate


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators: motion, appearance, detector, rendering."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]


def simulate(config: SceneConfig | None = None) -> SceneData:
    """Simulate a scene in memory: trajectories -> gt -> detections, plus appearances.

    Pure and deterministic in `config`; touches no files and renders no pixels.
    """
    config = SceneConfig() if config is None else config
    rng_motion, rng_look, rng_det, _ = _streams(config.seed)
    tracks = _simulate_motion(config, rng_motion)
    gt, phase, id_of = _ground_truth(config, tracks)
    dets, det_ids = _detect(config, gt, rng_det)
    # One appearance per simulated object (fixed draws per object), kept for those in view.
    looks = [_random_appearance(rng_look) for _ in range(config.num_objects)]
    appearances = {int(i): looks[n] for n, i in enumerate(id_of) if i > 0}
    return SceneData(config, gt, phase, dets, det_ids, dict(sorted(appearances.items())))


# --------------------------------------------------------------------------- appearance

# Clothing colours (RGB) of an ordinary street crowd. Drawn with replacement and jittered,
# so most identities differ but some pairs look alike, as in real footage.
_TOPS = np.array(
    [
        (28, 28, 32),  # black
        (235, 235, 228),  # white
        (120, 122, 128),  # grey
        (32, 48, 92),  # navy
        (160, 34, 38),  # red
        (112, 32, 54),  # maroon
        (44, 96, 58),  # dark green
        (200, 176, 132),  # beige
        (214, 150, 44),  # mustard
        (120, 164, 206),  # light blue
        (176, 72, 132),  # magenta
        (96, 70, 48),  # brown
    ],
    np.float64,
)
_BOTTOMS = np.array(
    [
        (30, 30, 34),  # black
        (58, 84, 130),  # denim
        (40, 52, 84),  # dark denim
        (96, 96, 100),  # grey
        (180, 160, 120),  # khaki
        (88, 64, 44),  # brown
        (86, 90, 56),  # olive
    ],
    np.float64,
)
_SKIN = np.array([(236, 200, 170), (214, 170, 130), (176, 128, 90), (124, 84, 56)], np.float64)
_HAIR = np.array([(24, 20, 18), (70, 46, 30), (150, 110, 60), (190, 190, 185)], np.float64)
_TEXTURES = ("plain", "stripes", "checks")
_TEXTURE_P = (0.55, 0.3, 0.15)  # most clothes are plain


def _random_appearance(rng: np.random.Generator) -> Appearance:
    """One identity's look; always the same number of draws (stable streams)."""
    picks = rng.integers(0, 1 << 16, 5)
    jitter = rng.uniform(-14, 14, (3, 3))

    def color(palette: np.ndarray, k: int, j: np.ndarray | None = None) -> tuple[int, int, int]:
        c = palette[picks[k] % len(palette)] + (0 if j is None else j)
        return tuple(int(v) for v in np.clip(np.rint(c), 0, 255))

    top = color(_TOPS, 0, jitter[0])
    # Texture colour: another palette colour, or a lighter/darker shade of the top.
    tex = color(_TOPS, 3, jitter[2]) if picks[3] % 3 else tuple(255 - v for v in top)
    return Appearance(
        top=top,
        bottom=color(_BOTTOMS, 1, jitter[1]),
        skin=color(_SKIN, 2),
        hair=color(_HAIR, 4),
        texture=str(rng.choice(_TEXTURES, p=_TEXTURE_P)),
        texture_color=tex,
        texture_period=float(rng.uniform(0.04, 0.09)),
    )


# --------------------------------------------------------------------------- rendering

_SHIFT = 4  # cv2 drawing with 4 fractional bits: sub-pixel motion looks smooth
_NOISE_PAD = 32  # sensor noise comes from random crops of one padded noise image


def _background(config: SceneConfig, rng: np.random.Generator) -> np.ndarray:
    """[H, W, 3] uint8 static scene: building facade, paved ground plane, posts."""
    width, height = config.width, config.height
    y_far = _band_px(config)[0]
    h_far = config.height_range[0]
    ground = int(np.clip(y_far - 0.2 * h_far, 1, height - 1))  # floor shows behind far feet
    img = np.zeros((height, width, 3), np.float32)

    facades = np.array([(150, 132, 118), (146, 86, 66), (172, 166, 150), (120, 124, 130)])
    img[:ground] = facades[rng.integers(len(facades))]
    # Windows: a grid of dark glass panes with lighter frames.
    win_h, win_w = 0.12 * height, 0.07 * width
    for row_y in np.arange(0.05 * height, ground - win_h - 0.05 * height, 1.6 * win_h):
        for col_x in np.arange(0.04 * width, width - win_w, 1.8 * win_w):
            glass = np.array([60, 72, 88]) + rng.uniform(-12, 30)
            p0, p1 = (int(col_x), int(row_y)), (int(col_x + win_w), int(row_y + win_h))
            cv2.rectangle(img, p0, p1, (200.0, 200.0, 195.0), -1)
            cv2.rectangle(img, (p0[0] + 3, p0[1] + 3), (p1[0] - 3, p1[1] - 3), glass.tolist(), -1)

    # Ground plane: brighter towards the camera, paving joints with perspective spacing.
    ramp = np.linspace(0.0, 1.0, height - ground, dtype=np.float32)[:, None, None]
    img[ground:] = np.array([118, 114, 106], np.float32) + 40 * ramp
    vp = (width / 2, ground - 0.8 * height)  # vanishing point above the image
    for k in range(1, 40):
        y = ground + (height - ground) * (k / 12) ** 1.6
        if y >= height:
            break
        cv2.line(img, (0, int(y)), (width, int(y)), (96.0, 92.0, 86.0), 1)
    for bx in np.linspace(-width, 2 * width, 16):
        t = (ground - vp[1]) / (height - vp[1])
        top = (int(vp[0] + (bx - vp[0]) * t), ground)
        cv2.line(img, top, (int(bx), height), (96.0, 92.0, 86.0), 1)
    cv2.rectangle(img, (0, ground - 3), (width, ground + 2), (176.0, 172.0, 164.0), -1)  # kerb

    # Lamp posts and planters against the facade: behind every walker, so they never
    # occlude anyone (gt visibility only knows about people).
    for _ in range(3):
        px, ph = rng.uniform(0.05, 0.95) * width, 2.4 * h_far
        pw = max(2, int(0.06 * h_far))
        cv2.rectangle(img, (int(px), int(ground - ph)), (int(px) + pw, ground), (52, 54, 58), -1)
        cv2.circle(img, (int(px) + pw // 2, int(ground - ph)), 2 * pw, (230, 226, 190), -1)
    for _ in range(2):
        px, pw = rng.uniform(0.0, 0.9) * width, 0.5 * h_far
        p0, p1 = (int(px), int(ground - 0.3 * h_far)), (int(px + pw), ground)
        cv2.rectangle(img, p0, p1, (92, 84, 78), -1)
        bush, bush_axes = (int(px + pw / 2), p0[1]), (int(pw / 2), int(0.2 * h_far))
        cv2.ellipse(img, bush, bush_axes, 0, 180, 360, (52, 104, 48), -1)

    # Low-frequency shading (uneven light, stains) plus fine grain, fixed over time.
    # Mostly brightness, a little colour: strong chroma blotches look unnatural.
    low = rng.standard_normal((6, 8, 3)).astype(np.float32) * np.float32(3.0)
    low += rng.standard_normal((6, 8, 1)).astype(np.float32) * np.float32(10.0)
    low = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.standard_normal((max(1, height // 2), max(1, width // 2))).astype(np.float32)
    grain = cv2.resize(grain, (width, height), interpolation=cv2.INTER_LINEAR)
    img += low + 5.0 * grain[:, :, None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _draw_person(img: np.ndarray, box: np.ndarray, phase: float, look: Appearance) -> None:
    """Draw one walking figure filling `box` (xywh) into `img` in place.

    Drawn in a small canvas with its own mask (clothing texture needs the torso mask),
    then pasted with clipping; limbs swing with the gait `phase`.
    """
    x, y, w, h = (float(v) for v in box)
    x0, y0 = math.floor(x), math.floor(y)
    cw, ch = math.ceil(x + w) - x0 + 1, math.ceil(y + h) - y0 + 1
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + cw, img.shape[1]), min(y0 + ch, img.shape[0])
    if ix1 <= ix0 or iy1 <= iy0:
        return
    canvas = np.zeros((ch, cw, 3), np.uint8)
    mask = np.zeros((ch, cw), np.uint8)
    fx, fy = x - x0, y - y0

    def pt(u: float, v: float) -> tuple[int, int]:
        return round((fx + u * w) * 16), round((fy + v * h) * 16)

    def limb(points: list[tuple[int, int]], color, thick: float) -> None:
        pts = np.array(points, np.int32)[None]
        t = max(1, round(thick))
        cv2.polylines(canvas, pts, False, color, t, cv2.LINE_8, _SHIFT)
        cv2.polylines(mask, pts, False, 255, t, cv2.LINE_8, _SHIFT)

    def shade(c, f: float):
        return tuple(min(255, int(v * f)) for v in c)

    s = math.sin(phase)
    for side in (-1.0, 1.0):  # back limbs first (darker), then the front ones
        f = 0.78 if side < 0 else 1.0
        leg = side * s * 0.3
        knee_bend = 0.06 * max(0.0, math.cos(phase + (side < 0) * math.pi))
        legs = [pt(0.5, 0.52), pt(0.5 + 0.5 * leg + knee_bend, 0.75), pt(0.5 + leg, 0.95)]
        arm = -side * s * 0.24
        arms = [pt(0.5, 0.22), pt(0.5 + 0.45 * arm, 0.37), pt(0.5 + arm, 0.5)]
        if side > 0:
            _draw_torso(canvas, mask, pt, h, look)
        limb(legs, shade(look.bottom, f), 0.2 * w)
        shoe = legs[-1]
        sc = (shoe[0], shoe[1] + round(0.02 * h * 16))
        axes = (max(1, round(0.11 * w * 16)), max(1, round(0.025 * h * 16)))
        cv2.ellipse(canvas, sc, axes, 0, 0, 360, (36, 32, 30), -1, cv2.LINE_8, _SHIFT)
        cv2.ellipse(mask, sc, axes, 0, 0, 360, 255, -1, cv2.LINE_8, _SHIFT)
        limb(arms, shade(look.top, f), 0.13 * w)
        hand = arms[-1]
        cv2.circle(canvas, hand, max(1, round(0.06 * w * 16)), look.skin, -1, cv2.LINE_8, _SHIFT)
        cv2.circle(mask, hand, max(1, round(0.06 * w * 16)), 255, -1, cv2.LINE_8, _SHIFT)

    # Head: skin ellipse with hair over its upper half.
    head = pt(0.5, 0.095)
    axes = (max(1, round(0.17 * w * 16)), max(1, round(0.075 * h * 16)))
    cv2.ellipse(canvas, head, axes, 0, 0, 360, look.skin, -1, cv2.LINE_8, _SHIFT)
    cv2.ellipse(mask, head, axes, 0, 0, 360, 255, -1, cv2.LINE_8, _SHIFT)
    hair_axes = (axes[0] + 16, axes[1] + 8)
    cv2.ellipse(canvas, head, hair_axes, 0, 180, 360, look.hair, -1, cv2.LINE_8, _SHIFT)
    cv2.ellipse(mask, head, hair_axes, 0, 180, 360, 255, -1, cv2.LINE_8, _SHIFT)

    # Side light: the figure's left is darker, so it does not look like a flat sticker.
    light = np.linspace(0.82, 1.08, cw, dtype=np.float32)[None, :, None]
    canvas = np.clip(canvas * light, 0, 255).astype(np.uint8)
    sub_mask = mask[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] > 0
    region = img[iy0:iy1, ix0:ix1]
    region[sub_mask] = canvas[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0][sub_mask]


def _draw_torso(canvas: np.ndarray, mask: np.ndarray, pt, h: float, look: Appearance) -> None:
    """Torso (with neck) in the top colour and texture, into canvas and mask."""
    poly = np.array([pt(0.24, 0.18), pt(0.76, 0.18), pt(0.7, 0.56), pt(0.3, 0.56)], np.int32)
    torso = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(torso, poly, 255, cv2.LINE_8, _SHIFT)
    neck = np.array([pt(0.44, 0.14), pt(0.56, 0.14), pt(0.56, 0.2), pt(0.44, 0.2)], np.int32)
    cv2.fillConvexPoly(canvas, neck, look.skin, cv2.LINE_8, _SHIFT)
    cv2.fillConvexPoly(mask, neck, 255, cv2.LINE_8, _SHIFT)
    on = torso > 0
    canvas[on] = look.top
    if look.texture != "plain":
        half = max(1.0, 0.5 * look.texture_period * h)
        # Anchored to the box corner, not the canvas grid, so the pattern moves with the
        # person instead of jumping by a pixel.
        ox, oy = (c / 16 for c in pt(0.0, 0.0))
        rows = np.floor((np.arange(mask.shape[0]) - oy) / half).astype(np.int64)[:, None]
        cols = np.floor((np.arange(mask.shape[1]) - ox) / half).astype(np.int64)[None, :]
        pattern = rows % 2 == 0 if look.texture == "stripes" else (rows + cols) % 2 == 0
        canvas[on & pattern] = look.texture_color
    mask |= torso


def render_frames(scene: SceneData) -> Iterator[np.ndarray]:
    """Yield the sequence's frames, [H, W, 3] uint8 RGB, frame 1 first.

    The background is fixed; people are drawn far to near (by the feet's y); each frame
    gets its own sensor noise.
    """
    cfg, gt = scene.config, scene.gt
    rng = _streams(cfg.seed)[3]
    background = _background(cfg, rng)
    pool_shape = (cfg.height + _NOISE_PAD, cfg.width + _NOISE_PAD, 3)
    noise = np.rint(cfg.noise_std * rng.standard_normal(pool_shape)).astype(np.int16)
    bounds = np.searchsorted(gt.frames, np.arange(1, cfg.num_frames + 2))
    for t in range(cfg.num_frames):
        rows = np.arange(bounds[t], bounds[t + 1])
        # Same depth order as the gt visibility: bottom edge, ties by id.
        b = gt.boxes[rows].astype(np.float64)
        bottoms = b[:, 1] + b[:, 3]
        img = background.copy()
        for r in rows[np.argsort(bottoms, kind="stable")]:
            _draw_person(
                img, gt.boxes[r], float(scene.gt_phase[r]), scene.appearances[int(gt.ids[r])]
            )
        oy, ox = rng.integers(0, _NOISE_PAD, 2)
        noisy = img.astype(np.int16) + noise[oy : oy + cfg.height, ox : ox + cfg.width]
        yield np.clip(noisy, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- files


def generate_sequence(
    out_dir: str | pathlib.Path,
    config: SceneConfig | None = None,
    *,
    name: str = "SYNTH-01",
    progress: bool = False,
) -> pathlib.Path:
    """Write a MOTChallenge-layout sequence and return its folder `out_dir/name`.

    Writes img1/000001.jpg... (unless `config.render` is False), gt/gt.txt, det/det.txt
    and, last, seqinfo.ini: a folder without seqinfo.ini is an interrupted generation.
    Existing files of the same names are overwritten; stale frames beyond the new length
    are removed.
    """
    config = SceneConfig() if config is None else config
    seq_dir = pathlib.Path(out_dir) / name
    scene = simulate(config)
    seq_dir.mkdir(parents=True, exist_ok=True)
    if config.render:
        img_dir = seq_dir / "img1"
        img_dir.mkdir(exist_ok=True)
        for stale in img_dir.glob("*.jpg"):
            if not stale.stem.isdigit() or int(stale.stem) > config.num_frames:
                stale.unlink()
        params = [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality]
        frames = tqdm(
            render_frames(scene), total=config.num_frames, desc=name, disable=not progress
        )
        for i, frame in enumerate(frames, start=1):
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
            if not ok:
                raise RuntimeError(f"cv2 could not encode frame {i} of {seq_dir}")
            (img_dir / f"{i:06d}.jpg").write_bytes(buf.tobytes())
    mot.write_gt(seq_dir / "gt" / "gt.txt", scene.gt)
    mot.write_detections(seq_dir / "det" / "det.txt", scene.detections)
    info = mot.SequenceInfo(
        name=name,
        path=seq_dir,
        frame_rate=config.frame_rate,
        length=config.num_frames,
        width=config.width,
        height=config.height,
        im_dir="img1",
        im_ext=".jpg",
    )
    mot.write_seqinfo(seq_dir, info)
    return seq_dir


# Measured on the demo scene (SceneConfig()): mean share of the people in view that the
# default DetectorModel detects. Occlusion and border statistics stay similar when the
# image grows at constant crowd density, so it predicts larger scenes too.
_STREAM_RECALL = 0.77


def generate_detection_stream(
    detections_per_frame: float,
    num_frames: int,
    seed: int = 0,
    *,
    detector: DetectorModel | None = None,
) -> tuple[mot.Detections, mot.GroundTruth]:
    """Detections and gt with roughly `detections_per_frame` detections per frame.

    For benchmarks (10, 50, 200 per frame...): the demo scene's crowd density and
    person sizes are kept and the image area grows with the count (from a floor of half
    the demo size, so very small counts come out higher). No pixels, no files.
    """
    _check(detections_per_frame > 0, "detections_per_frame must be > 0")
    detector = DetectorModel() if detector is None else detector
    base = SceneConfig()
    base_area = base.width * base.height
    life = _expected_crossing_frames(base)
    density = base.num_objects * life / (life + base.num_frames) / base_area  # people / px^2
    per_px = _STREAM_RECALL * density + detector.fp_per_frame / base_area
    scale = max(0.5, math.sqrt(detections_per_frame / per_px / base_area))
    width, height = round(base.width * scale), round(base.height * scale)
    config = dataclasses.replace(
        base,
        width=width,
        height=height,
        num_frames=num_frames,
        seed=seed,
        render=False,
        detector=dataclasses.replace(
            detector, fp_per_frame=detector.fp_per_frame * width * height / base_area
        ),
    )
    life = _expected_crossing_frames(config)
    visible = density * width * height
    num_objects = max(1, round(visible * (life + num_frames) / life))
    scene = simulate(dataclasses.replace(config, num_objects=num_objects))
    return scene.detections, scene.gt


def scene_seed(seed: int, part: int, index: int) -> int:
    """Seed of scene `index` of stream `part`: independent streams of scenes per use.

    Parts in use: 0 ReID train, 1 ReID test, 2 appearance-gate validation, 3 and 4 GNN
    train and validation, 5 motion-tracker default selection (jaxmot.mot.selection); the
    demo is seed 0 itself, outside every stream.
    """
    return int(np.random.SeedSequence([seed, part, index]).generate_state(1)[0])
