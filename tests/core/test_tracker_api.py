"""The frame-by-frame API: xyxy or xywh boxes, classes, and the detection each reported
track took."""

from __future__ import annotations

import numpy as np
import pytest

from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import SceneConfig, simulate
from jaxmot.core.tracker import FrameDetections


@pytest.fixture(scope="module")
def scene():
    return simulate(SceneConfig(num_frames=30, render=False, seed=7))


def _frames(scene):
    dets = scene.detections
    classes = np.full(len(dets), 2)  # one class: per-class association changes nothing
    for t in range(1, 31):
        rows = dets.for_frame(t)
        yield dets.boxes[rows], dets.scores[rows], classes[rows]


@pytest.mark.parametrize("name", ["iou", "sort"])
def test_xyxy_arrays_equal_xywh_detections_and_index_points_at_the_box(scene, name):
    by_arrays, by_dets = make_tracker(name), make_tracker(name)
    reported = 0
    for boxes, scores, classes in _frames(scene):
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        a = by_arrays.update(boxes=xyxy, scores=scores, classes=classes)
        b = by_dets.update(FrameDetections(boxes, scores))
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)
        np.testing.assert_allclose(a.boxes_xyxy[:, 2:], a.boxes[:, :2] + a.boxes[:, 2:])
        # Every reported track names the detection it took this frame (new ones too).
        assert a.detection_index.shape == a.ids.shape
        if name == "sort":  # reports the matched detection's box: the index must point at it
            np.testing.assert_allclose(a.boxes, boxes[a.detection_index], atol=1e-4)
        assert len(set(a.detection_index.tolist())) == len(a)  # one detection, one track
        np.testing.assert_array_equal(a.classes, classes[a.detection_index])
        assert (b.classes == -1).all()  # no classes given
        reported += len(a)
    assert reported > 50


def test_xywh_flag_and_errors():
    tracker = make_tracker("iou")
    out = tracker.update(boxes=[[10, 20, 30, 60]], scores=[0.9], box_format="xywh")
    np.testing.assert_allclose(out.boxes, [[10, 20, 30, 60]])
    assert out.detection_index.tolist() == [0]
    with pytest.raises(ValueError, match="box_format"):
        tracker.update(boxes=[[0, 0, 1, 1]], scores=[1.0], box_format="cxcywh")
    with pytest.raises(ValueError, match="boxes= and scores="):
        tracker.update()
    with pytest.raises(ValueError, match="classes"):
        tracker.update(boxes=[[0, 0, 5, 5]], scores=[1.0], classes=[1, 2])
    with pytest.raises(ValueError, match="non-positive"):  # x2 < x1
        tracker.update(boxes=[[10, 10, 5, 20]], scores=[1.0])


def test_extractors_say_their_channel_order():
    """An OpenCV (BGR) frame embeds as its RGB twin when it says so, once, in one place."""
    from jaxmot.core.images import as_rgb
    from jaxmot.mot.histogram import ColorHistogramExtractor

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    rgb[:, :40, 0] = 250  # a red left half: the order matters
    bgr = rgb[..., ::-1].copy()
    boxes = np.array([[5, 5, 30, 40], [40, 10, 30, 40]], np.float32)
    extractor = ColorHistogramExtractor()
    np.testing.assert_array_equal(extractor(bgr, boxes, channel_order="bgr"), extractor(rgb, boxes))
    assert not np.array_equal(extractor(bgr, boxes), extractor(rgb, boxes))
    np.testing.assert_array_equal(as_rgb(bgr, "bgr"), rgb)
    with pytest.raises(ValueError, match="channel_order"):
        as_rgb(rgb, "hsv")
    with pytest.raises(ValueError, match="uint8"):
        as_rgb(rgb.astype(np.float32))
