"""A person re-identification set cut from synthetic scenes: the embedded default.

Scenes are simulated and rendered in memory (`jaxmot.core.synthetic.simulate` and
`render_frames`; no files) and cut with the `crops` rules (visibility >= 0.5 by default).

* Train and test come from different scenes with independent seeds (scene i of part p
  has seed `SeedSequence([seed, p, i])`, p = 0 train, 1 test), so no test identity is
  ever trained on.
* Identity: scene g's gt id i becomes `g * ID_STRIDE + i`, g = i for train scenes and
  num_train_scenes + j for test scene j: unique over the whole dataset.
* Cameras: train crops carry their scene index i. Test scene j: the first half (in time)
  of an identity's crops are queries with camera j, the rest gallery with camera
  j + num_test_scenes (`split.time_split`; distinct cameras keep Market's
  same-id-same-camera exclusion from dropping the true matches).

Deterministic in its arguments. A scene is `SceneConfig()` with `frames` frames and
`objects_per_scene` people (override other fields through `scene`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxmot.core.mot_io import GroundTruth
from jaxmot.core.synthetic import SceneConfig, render_frames, scene_seed, simulate
from jaxmot.reid.data.crops import cut_crops, plan_crops
from jaxmot.reid.data.mot_crops import ID_STRIDE
from jaxmot.reid.data.split import ReIDDataset, ReIDSplit, concat, time_split

_TRAIN, _TEST = 0, 1


def _detection_boxes(scene) -> GroundTruth:
    """The scene's true detections as gt-like rows (their id, the detector's noisy box).

    Visibility is left unknown (-1): the detector model already decides which occluded
    people are found, so the crops are exactly what a tracker embeds.
    """
    dets, ids = scene.detections, scene.det_gt_ids
    true = ids >= 0
    n = int(true.sum())
    return GroundTruth(
        frames=dets.frames[true],
        ids=ids[true],
        boxes=dets.boxes[true],
        flags=np.ones(n),
        classes=np.ones(n),
        visibility=np.full(n, -1.0),
    )


def scene_crops(
    config: SceneConfig,
    size: tuple[int, int],
    *,
    min_visibility: float = 0.5,
    min_height: int = 40,
    max_per_id: int | None = 20,
    boxes: str = "gt",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crops of one rendered scene: images [M, H, W, 3] uint8, gt ids [M], frames [M].

    boxes: "gt" (exact boxes, visibility >= min_visibility) or "detections" (the
    detector model's noisy boxes of real people, occluded ones included: the
    distribution an online tracker's extractor sees).
    """
    if boxes not in ("gt", "detections"):
        raise ValueError(f"boxes must be 'gt' or 'detections', got {boxes!r}")
    scene = simulate(config)
    plan = plan_crops(
        scene.gt if boxes == "gt" else _detection_boxes(scene),
        (config.width, config.height),
        min_visibility=min_visibility,
        min_height=min_height,
        max_per_id=max_per_id,
    )
    images = cut_crops(plan, enumerate(render_frames(scene), start=1), size)
    return images, plan.ids, plan.frames


def synthetic_reid_dataset(
    num_train_scenes: int = 20,
    num_test_scenes: int = 6,
    size: tuple[int, int] = (128, 64),
    seed: int = 0,
    *,
    frames: int = 50,
    objects_per_scene: int = 20,
    max_per_id: int | None = 20,
    min_visibility: float = 0.5,
    min_height: int = 40,
    scene: SceneConfig | None = None,
    train_boxes: str = "gt",
) -> ReIDDataset:
    """Render scenes and cut train / query / gallery crops as the module describes.

    train_boxes: "gt" or "detections" for the training scenes (see `scene_crops`); test
    crops always use gt boxes.

    At the defaults (20 + 6 scenes of 50 frames, 20 people each): train 345 ids / 5926
    crops, query 982 and gallery 992 crops of 110 ids, in ~20 s of one CPU core (the
    rendering of the figures dominates).
    """
    if num_train_scenes < 0 or num_test_scenes < 0:
        raise ValueError("scene counts must be >= 0")
    template = SceneConfig() if scene is None else scene
    template = dataclasses.replace(template, num_frames=frames, num_objects=objects_per_scene)
    kwargs = {"min_visibility": min_visibility, "min_height": min_height, "max_per_id": max_per_id}

    def split_of(part: int, index: int, global_index: int) -> tuple[ReIDSplit, np.ndarray]:
        config = dataclasses.replace(template, seed=scene_seed(seed, part, index))
        boxes = train_boxes if part == _TRAIN else "gt"
        images, ids, crop_frames = scene_crops(config, size, boxes=boxes, **kwargs)
        ids = global_index * ID_STRIDE + ids
        return ReIDSplit(images, ids, np.full(len(ids), index)), crop_frames

    train = [split_of(_TRAIN, i, i)[0] for i in range(num_train_scenes)]
    queries, galleries = [], []
    for j in range(num_test_scenes):
        split, crop_frames = split_of(_TEST, j, num_train_scenes + j)
        query, gallery = time_split(split, crop_frames, num_test_scenes)
        queries.append(query)
        galleries.append(gallery)
    return {
        "train": concat(train, size),
        "query": concat(queries, size),
        "gallery": concat(galleries, size),
    }


__all__ = ["scene_crops", "scene_seed", "synthetic_reid_dataset"]
