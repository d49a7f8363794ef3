"""JDE inference: frames in, detections with embeddings out.

`JDEDetector(model)(frame)` letterboxes an RGB frame to the model's input size, runs the
network and the post-processing (`jaxmot.jde.ops.postprocess`: softmax confidence, box
decoding at the three strides, confidence threshold, top-k, NMS with a fixed number of
outputs, L2-normalised embeddings) in ONE jitted call, and maps the boxes back to the
frame. The result is a `FrameDetections` (xywh boxes, scores, [M, E] features) that any
appearance tracker takes, the `jde` tracker in particular.

Defaults are the official demo/track settings (conf_thres 0.5, nms_thres 0.4). The jitted
function is module-level with the model's graph static, so detectors of one architecture
share compiled code; a batch of frames compiles once per batch size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core.jit import jit_bound, merge_flat, split_flat
from jaxmot.core.tracker import FrameDetections
from jaxmot.jde import ops as jde_ops
from jaxmot.jde.augment import boxes_to_original, letterbox


@dataclasses.dataclass(frozen=True)
class JDEDetectorConfig:
    """Post-processing settings (official track.py: conf_thres 0.5, nms_thres 0.4).

    top_k: candidates kept (by confidence) before NMS, a static size;
    max_detections: outputs of NMS per frame (padded with valid = False).
    """

    conf_threshold: float = 0.5
    nms_threshold: float = 0.4
    top_k: int = 1024
    max_detections: int = 256

    def __post_init__(self):
        if not 0.0 <= self.conf_threshold < 1.0:
            raise ValueError(f"conf_threshold must be in [0, 1), got {self.conf_threshold}")
        if not 0.0 < self.nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in (0, 1], got {self.nms_threshold}")
        if not 0 < self.max_detections <= self.top_k:
            raise ValueError("need 0 < max_detections <= top_k")


def _detect(structure, config: JDEDetectorConfig, leaves, images, anchors):
    """images [B, H, W, 3] float32 in [0, 1] -> postprocess dict (letterboxed pixels)."""
    model = merge_flat(structure, leaves)
    outputs = model(images)
    return jde_ops.postprocess(
        outputs,
        anchors,
        config.conf_threshold,
        config.nms_threshold,
        top_k=config.top_k,
        max_detections=config.max_detections,
    )


class JDEDetector:
    """Detect and embed people with a trained JDE model.

        detector = JDEDetector(model)
        dets = detector(frame)                    # FrameDetections, features [M, E]
        dets_list = detector.detect_batch(frames) # one FrameDetections per frame

    Frames are RGB uint8 [H, W, 3] of any size (letterboxed to the model's input).
    """

    def __init__(self, model, config: JDEDetectorConfig = JDEDetectorConfig()):
        model.eval()
        self.model_config = model.config
        self.config = config
        self.width, self.height = model.config.width, model.config.height
        self.anchors = jnp.asarray(jde_ops.anchors_for_size(self.width, self.height))
        # Graph and config bound once, the state a flat list of arrays (jaxmot.core.jit):
        # as static arguments and an nnx.State, JAX would hash and flatten them per call.
        structure, self._leaves = split_flat(model)
        self._detect = jit_bound(_detect, structure, config)

    @property
    def embedding_dim(self) -> int:
        return self.model_config.embedding_dim

    def __call__(self, frame: np.ndarray) -> FrameDetections:
        return self.detect_batch([frame])[0]

    def preprocess(self, frames: Sequence[np.ndarray]):
        """Letterbox frames: (images float32 [B, H, W, 3] in [0, 1], [(ratio, pad, hw)])."""
        images, geometry = [], []
        for i, frame in enumerate(frames):
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(
                    f"frame {i}: expected RGB uint8 [H, W, 3], got {frame.dtype} {frame.shape}"
                )
            boxed, ratio, pad = letterbox(frame, self.width, self.height)
            images.append(boxed)
            geometry.append((ratio, pad, frame.shape[:2]))
        return np.stack(images).astype(np.float32) / 255.0, geometry

    def run(self, images) -> dict[str, jax.Array]:
        """The jitted network + post-processing on letterboxed images [B, H, W, 3] in
        [0, 1]: `postprocess`'s dict, boxes in input pixels (on the device)."""
        return self._detect(self._leaves, images, self.anchors)

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[FrameDetections]:
        if not len(frames):
            return []
        images, geometry = self.preprocess(frames)
        out = jax.device_get(self.run(images))
        detections = []
        for b, (ratio, pad, hw) in enumerate(geometry):
            keep = out["valid"][b]
            xyxy = boxes_to_original(out["boxes_xyxy"][b][keep], ratio, pad, hw)
            xywh = box_ops.xyxy_to_xywh(xyxy)
            # Clipping can leave a sliver at the border: drop boxes that lost their area.
            ok = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
            detections.append(
                FrameDetections(
                    xywh[ok], out["scores"][b][keep][ok], out["embeddings"][b][keep][ok]
                )
            )
        return detections


def above(dets: FrameDetections, threshold: float) -> FrameDetections:
    """The detections scoring >= threshold (boxes, scores and embeddings kept together):
    the detector runs at a low threshold for evaluation, the tracker takes the confident
    ones."""
    keep = dets.scores >= threshold
    return FrameDetections(dets.boxes[keep], dets.scores[keep], dets.features[keep])


__all__ = ["JDEDetector", "JDEDetectorConfig", "above"]
