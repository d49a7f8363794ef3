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

# First static sizes when uncapped; they double (recompiling once per size) on a frame
# that fills them, and stay grown for the frames after.
FIRST_TOP_K = 1024
FIRST_MAX_DETECTIONS = 256


@dataclasses.dataclass(frozen=True)
class JDEDetectorConfig:
    """Post-processing settings (official track.py: conf_thres 0.5, nms_thres 0.4).

    top_k: candidates kept (by confidence) before NMS; None keeps every candidate, as
      the official non_max_suppression does; a number caps them (a fixed static size);
    max_detections: outputs of NMS per frame; None keeps all (official), a number caps.
    """

    conf_threshold: float = 0.5
    nms_threshold: float = 0.4
    top_k: int | None = None
    max_detections: int | None = None

    def __post_init__(self):
        if not 0.0 <= self.conf_threshold < 1.0:
            raise ValueError(f"conf_threshold must be in [0, 1), got {self.conf_threshold}")
        if not 0.0 < self.nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in (0, 1], got {self.nms_threshold}")
        for name in ("top_k", "max_detections"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None (no cap), got {value}")
        if None not in (self.top_k, self.max_detections) and self.max_detections > self.top_k:
            raise ValueError("need max_detections <= top_k")

    def first_sizes(self) -> tuple[int, int]:
        """(top_k, max_detections) of the first call: the caps, or the first buckets."""
        top_k = FIRST_TOP_K if self.top_k is None else self.top_k
        max_detections = self.max_detections or min(FIRST_MAX_DETECTIONS, top_k)
        return top_k, max_detections

    def grown_sizes(self, out, sizes: tuple[int, int]) -> tuple[int, int]:
        """The sizes `out` (postprocess's host dict, computed with `sizes`) needed: an
        uncapped top_k grows to the next power of two above the most candidates of a
        frame; an uncapped max_detections doubles while a frame filled it with
        candidates to spare. Equal to `sizes` when nothing was cut."""
        top_k, max_detections = sizes
        candidates = np.asarray(out["num_candidates"])
        if self.top_k is None and candidates.max(initial=0) > top_k:
            top_k = 1 << int(candidates.max() - 1).bit_length()
        kept = np.asarray(out["valid"]).sum(axis=1)
        if self.max_detections is None and ((kept == max_detections) & (candidates > kept)).any():
            max_detections *= 2
        return top_k, min(max_detections, top_k)


def _detect(structure, config: JDEDetectorConfig, sizes, leaves, images, anchors):
    """images [B, H, W, 3] float32 in [0, 1] -> postprocess dict (letterboxed pixels)."""
    model = merge_flat(structure, leaves)
    outputs = model(images)
    top_k, max_detections = sizes
    return jde_ops.postprocess(
        outputs,
        anchors,
        config.conf_threshold,
        config.nms_threshold,
        top_k=top_k,
        max_detections=max_detections,
    )


def run_uncut(run, config: JDEDetectorConfig, sizes: tuple[int, int]):
    """(out, sizes): `run(sizes)` -> postprocess dict, called again with grown sizes
    (config.grown_sizes) until no frame's candidates or detections were cut."""
    while True:
        out = run(sizes)
        grown = config.grown_sizes(jax.device_get(out), sizes)
        if grown == sizes:
            return out, sizes
        sizes = grown


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
        self._structure, self._leaves = split_flat(model)
        self._sizes = config.first_sizes()

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
        [0, 1]: `postprocess`'s dict, boxes in input pixels (on the device). Runs again
        with larger static sizes on a frame whose candidates they cut (`run_uncut`)."""

        def detect(sizes):
            fn = jit_bound(_detect, self._structure, self.config, sizes)
            return fn(self._leaves, images, self.anchors)

        out, self._sizes = run_uncut(detect, self.config, self._sizes)
        return out

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


__all__ = [
    "FIRST_MAX_DETECTIONS",
    "FIRST_TOP_K",
    "JDEDetector",
    "JDEDetectorConfig",
    "above",
    "run_uncut",
]
