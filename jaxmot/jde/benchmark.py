"""Evaluate a JDE model on held-out generated scenes: detector, embedding, tracker.

`evaluate_jde(model, experiment)` renders `data.eval_scenes` scenes the model never saw
(seeds apart from the training ones; `validation_scenes` are as many others, for the
evaluation during training), runs the detector on every frame once (confidence
down to `AP_CONF_THRESHOLD`, so the precision-recall curve reaches low scores), and
reports

* detection AP at IoU 0.5 (`jaxmot.jde.detection_eval.average_precision`: the pooled VOC AP
  and JDE test.py's per-image mean), against the people at least `MIN_VISIBILITY`
  visible (the training labels use the same rule);
* embedding TPR at FAR 0.1 (and the other JDE levels), JDE's verification measure, on
  the embeddings of detections matched one-to-one to a gt person (IoU >= 0.5), labelled
  with that person's id (JDE's test_emb reads the embedding at the gt box's own anchor
  instead; here it is the embedding the tracker actually uses);
* MOTA / IDF1 / HOTA / ID switches of the `jde` tracker, and of `longterm` on the same
  detections and embeddings, over the frames' detections at the tracker's confidence
  threshold (`experiment.detector.conf_threshold`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.assignment import linear_assignment
from jaxmot.core.boxes import iou_matrix, xywh_to_xyxy
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.registry import make_tracker
from jaxmot.core.sequence import track_frames
from jaxmot.core.synthetic import SceneConfig, SceneData, render_frames, simulate
from jaxmot.jde.detection_eval import average_precision, embedding_tpr_at_far
from jaxmot.jde.detector import JDEDetector, above
from jaxmot.jde.tracker import JDETracker

MIN_VISIBILITY = 0.25  # people less visible than this are neither labels nor gt for AP
AP_CONF_THRESHOLD = 0.1
EVAL_SEED_BASE = 10_000  # training scenes use seeds 1000 * data.seed + i
VALIDATION_SEED_BASE = 20_000  # validation scenes (evaluation during training)
DETECT_BATCH = 8
TRACKERS = ("jde", "longterm")  # on the same detections and embeddings


def held_out_scenes(data, base: int = EVAL_SEED_BASE) -> list[SceneData]:
    """The evaluation scenes of a JDEDataConfig (seeds never used for training):
    `data.eval_scenes` scenes of `data.eval_frames` frames, seeds base + 100 * data.seed
    + i."""
    width, height = data.synthetic_size
    return [
        simulate(
            SceneConfig(
                width=width,
                height=height,
                num_frames=data.eval_frames,
                seed=base + 100 * data.seed + i,
            )
        )
        for i in range(data.eval_scenes)
    ]


def validation_scenes(data) -> list[SceneData]:
    """As many scenes as `held_out_scenes`, with other seeds (VALIDATION_SEED_BASE): what
    the evaluation during training scores, so that picking the best checkpoint never
    looks at the scenes eval.json reports."""
    return held_out_scenes(data, VALIDATION_SEED_BASE)


def detect_frames(detector: JDEDetector, frames, progress: bool = False, desc: str = ""):
    """FrameDetections for every frame, DETECT_BATCH frames per jitted call (a short
    last batch is padded with copies of its last frame, so one shape is compiled)."""
    out = []
    starts = range(0, len(frames), DETECT_BATCH)
    for i in tqdm(starts, desc=desc, disable=not progress, leave=False):
        chunk = list(frames[i : i + DETECT_BATCH])
        real = len(chunk)
        chunk += [chunk[-1]] * (DETECT_BATCH - real)
        out += detector.detect_batch(chunk)[:real]
    return out


def visible_gt(scene: SceneData, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """A frame's gt people at least MIN_VISIBILITY visible: (boxes_xyxy [G, 4], ids [G])."""
    gt = scene.gt
    rows = gt.for_frame(frame)
    rows = rows[gt.visibility[rows] >= MIN_VISIBILITY]
    return xywh_to_xyxy(gt.boxes[rows]), gt.ids[rows]


def evaluate_jde(
    model,
    experiment,
    progress: bool = False,
    scenes=None,
    trackers: tuple[str, ...] = TRACKERS,
) -> dict:
    """{"ap50", "jde_ap50", "recall", "tpr_at_far": {far: tpr}, "tracking": {tracker:
    OVERALL metrics}, "scenes", "frames"} on `scenes` (SceneData; None: the held-out
    scenes) (module docstring); `trackers`: which of TRACKERS run."""
    conf = min(AP_CONF_THRESHOLD, experiment.detector.conf_threshold)
    detector = JDEDetector(model, dataclasses.replace(experiment.detector, conf_threshold=conf))
    predictions, gt_boxes, embeddings, embedding_ids = [], [], [], []
    pairs: dict[str, dict] = {name: {} for name in trackers}
    scenes = held_out_scenes(experiment.data) if scenes is None else scenes
    for k, scene in enumerate(scenes):
        frames = list(render_frames(scene))
        detections = detect_frames(detector, frames, progress, f"scene {k}")
        for t, dets in enumerate(detections, start=1):
            gt_xyxy, ids = visible_gt(scene, t)
            det_xyxy = xywh_to_xyxy(dets.boxes)
            predictions.append((det_xyxy, dets.scores))
            gt_boxes.append(gt_xyxy)
            if len(dets) and len(gt_xyxy):
                matched, _, _ = linear_assignment(1.0 - iou_matrix(det_xyxy, gt_xyxy), 0.5)
                embeddings.append(dets.features[matched[:, 0]])
                embedding_ids.append(1000 * k + ids[matched[:, 1]])
        tracked = [above(d, experiment.detector.conf_threshold) for d in detections]
        rate = scene.config.frame_rate
        for name in trackers:
            if name == "jde":
                tracker = JDETracker(experiment.tracker, rate)
            else:
                tracker = make_tracker(name, rate)
            pairs[name][f"scene{k}"] = (scene.gt, track_frames(tracker, tracked))
    ap = average_precision(predictions, gt_boxes)
    result = {
        "scenes": len(scenes),
        "frames": len(predictions),
        "ap50": ap["ap"],
        "jde_ap50": ap["jde_ap"],
        "recall": ap["recall"],
        "tracking": {name: evaluate(p)["OVERALL"] for name, p in pairs.items()},
    }
    if embeddings:
        emb, emb_ids = np.concatenate(embeddings), np.concatenate(embedding_ids)
        try:
            tpr = embedding_tpr_at_far(emb, emb_ids)
            result["tpr_at_far"] = {str(far): value for far, value in tpr.items()}
        except ValueError as err:  # e.g. every detection of one person: no negative pair
            result["tpr_at_far_error"] = str(err)
    return result


def format_jde_eval(result: dict) -> str:
    """A short table of `evaluate_jde`'s numbers."""
    tpr = result.get("tpr_at_far", {}).get("0.1", float("nan"))
    lines = [
        f"held-out scenes: {result['scenes']} ({result['frames']} frames)",
        f"detection AP@0.5 {100 * result['ap50']:.1f} (JDE per-image mean "
        f"{100 * result['jde_ap50']:.1f}), recall {100 * result['recall']:.1f}; "
        f"embedding TPR@FAR0.1 {100 * tpr:.1f}",
        f"{'tracker':10s} {'MOTA':>6s} {'IDF1':>6s} {'HOTA':>6s} {'IDs':>6s}",
    ]
    for name, m in result["tracking"].items():
        lines.append(
            f"{name:10s} {100 * m['MOTA']:6.1f} {100 * m['IDF1']:6.1f} "
            f"{100 * m['HOTA']:6.1f} {m['IDs']:6d}"
        )
    return "\n".join(lines)


__all__ = [
    "AP_CONF_THRESHOLD",
    "MIN_VISIBILITY",
    "detect_frames",
    "evaluate_jde",
    "format_jde_eval",
    "held_out_scenes",
    "validation_scenes",
    "visible_gt",
]
