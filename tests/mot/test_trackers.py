"""Online trackers and the shared lifecycle."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.core.compiles import CompileCounter
from jaxmot.core.lifecycle import LifecycleConfig, TrackState
from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import SceneConfig, simulate
from jaxmot.core.tracker import FrameDetections
from jaxmot.mot.iou_tracker import IoUTracker, IoUTrackerConfig
from jaxmot.mot.reid_tracker import ReIDTracker, longterm_config, reid_config


def _dets(boxes, scores=None, features=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.ones(len(boxes)) if scores is None else scores
    return FrameDetections(boxes, scores, features)


def _walker(frame, x0=100.0, y0=100.0, vx=3.0):
    return [x0 + vx * frame, y0, 40.0, 100.0]


def test_single_object_keeps_one_id():
    tracker = IoUTracker(IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1)))
    ids = [tracker.update(_dets([_walker(t)])).ids.tolist() for t in range(20)]
    assert all(i == [1] for i in ids)


def test_min_hits_delays_confirmation_after_the_first_frames():
    tracker = IoUTracker(IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=3)))
    for t in range(5):  # frames 1..5: one object from the start, confirmed at birth
        assert tracker.update(_dets([_walker(t)])).ids.tolist() == [1]
    reported = [len(tracker.update(_dets([_walker(t), _walker(t, y0=300)]))) for t in range(5, 9)]
    assert reported == [1, 1, 2, 2]  # the newcomer needs 3 matches


def test_empty_frames_and_all_detections_lost():
    cfg = IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1, max_lost=5))
    tracker = IoUTracker(cfg)
    assert len(tracker.update(FrameDetections.empty())) == 0
    tracker.update(_dets([_walker(1), _walker(1, y0=300)]))
    for _ in range(3):
        out = tracker.update(FrameDetections.empty())
        assert len(out) == 0
    assert len(tracker.tracks.tracks) == 2  # lost, not removed
    for _ in range(3):
        tracker.update(FrameDetections.empty())
    assert len(tracker.tracks.tracks) == 0  # removed after max_lost frames


@pytest.mark.parametrize("gap", [1, 4, 10])
def test_track_refound_after_gap_within_buffer(gap):
    cfg = IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1, max_lost=10))
    tracker = IoUTracker(cfg)
    for t in range(10):
        tracker.update(_dets([_walker(t)]))
    for _ in range(10, 10 + gap):
        tracker.update(FrameDetections.empty())
    out = tracker.update(_dets([_walker(10 + gap)]))  # the Kalman prediction kept moving
    assert out.ids.tolist() == [1]


def test_track_not_refound_after_buffer():
    cfg = IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1, max_lost=3))
    tracker = IoUTracker(cfg)
    for t in range(5):
        tracker.update(_dets([_walker(t)]))
    for _ in range(5, 10):
        tracker.update(FrameDetections.empty())
    assert tracker.update(_dets([_walker(10)])).ids.tolist() == [2]


def test_track_buffer_scales_with_frame_rate():
    cfg = LifecycleConfig(max_lost=30)
    assert IoUTracker(IoUTrackerConfig(lifecycle=cfg), frame_rate=15).tracks.max_lost_frames == 15
    assert IoUTracker(IoUTrackerConfig(lifecycle=cfg), frame_rate=60).tracks.max_lost_frames == 60


def test_crossing_objects_keep_their_ids():
    tracker = IoUTracker(IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1)))
    for t in range(40):
        a = [50 + 5 * t, 100, 40, 100]
        b = [250 - 5 * t, 130, 40, 100]
        out = tracker.update(_dets([a, b]))
    ids = dict(zip(out.ids.tolist(), out.boxes[:, 0].tolist(), strict=True))
    assert ids[1] > ids[2]  # id 1 started left and walked right


def test_capacity_grows_and_padding_never_changes_a_real_output():
    """Many simultaneous tracks force bucket growth; the same objects tracked alone or
    next to distant extra ones must get identical boxes."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 500, (3, 2))
    far = rng.uniform(5000, 9000, (60, 2))

    def run(with_extra):
        tracker = IoUTracker(IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1)))
        outs = []
        for t in range(6):
            pts = np.concatenate([base, far]) if with_extra else base
            boxes = np.concatenate([pts + 2 * t, np.tile([30.0, 80.0], (len(pts), 1))], 1)
            out = tracker.update(_dets(boxes))
            keep = np.isin(out.ids, [1, 2, 3])
            outs.append((out.ids[keep], out.boxes[keep]))
        return outs, tracker

    alone, _ = run(False)
    crowded, tracker = run(True)
    assert tracker.tracks.bank.capacity >= 64
    for (ia, ba), (ic, bc) in zip(alone, crowded, strict=True):
        np.testing.assert_array_equal(ia, ic)
        np.testing.assert_allclose(ba, bc, rtol=1e-6)


def test_kalman_report_mode_reports_filtered_boxes():
    cfg = IoUTrackerConfig(lifecycle=LifecycleConfig(min_hits=1, report_box="kalman"))
    tracker = IoUTracker(cfg)
    for t in range(5):
        out = tracker.update(_dets([_walker(t)]))
    assert not np.allclose(out.boxes[0], _walker(4))  # filtered, not the detection
    np.testing.assert_allclose(out.boxes[0], _walker(4), atol=3)


def test_bad_detections_rejected():
    with pytest.raises(ValueError, match="non-positive width or height"):
        _dets([[0, 0, -1, 10]])
    with pytest.raises(ValueError, match="non-finite"):
        _dets([[0, np.nan, 1, 10]])
    with pytest.raises(ValueError, match="features must be"):
        _dets([[0, 0, 1, 10]], features=np.zeros((2, 8)))
    with pytest.raises(ValueError, match="needs appearance features"):
        make_tracker("reid").update(_dets([[0, 0, 1, 10]]))
    with pytest.raises(ValueError, match="unknown tracker"):
        make_tracker("nope")


def test_reid_dies_at_once_longterm_reidentifies_by_appearance():
    f_a, f_b = np.eye(8)[0], np.eye(8)[1]
    for config, expected in [(reid_config(), 2), (longterm_config(), 1)]:
        tracker = ReIDTracker(config)
        for t in range(5):
            tracker.update(_dets([_walker(t)], features=[f_a]))
        tracker.update(FrameDetections.empty(8))
        tracker.update(FrameDetections.empty(8))
        out = tracker.update(_dets([_walker(7), _walker(7, y0=400)], features=[f_a, f_b]))
        assert out.ids[np.argmin(out.boxes[:, 1])] == expected


def test_reid_appearance_decides_between_overlapping_candidates():
    f_a, f_b = np.eye(8)[0], np.eye(8)[1]
    tracker = ReIDTracker(reid_config())
    tracker.update(_dets([[100, 100, 40, 100], [108, 100, 40, 100]], features=[f_a, f_b]))
    # Both boxes overlap both tracks; appearance says they swapped places.
    out = tracker.update(_dets([[100, 100, 40, 100], [108, 100, 40, 100]], features=[f_b, f_a]))
    assert dict(zip(out.boxes[:, 0].tolist(), out.ids.tolist(), strict=True)) == {100: 2, 108: 1}


@pytest.mark.parametrize("name", ["iou", "reid", "longterm"])
def test_no_compilation_after_warmup_on_a_whole_sequence(name):
    frames = _scene_frames(60)
    tracker = make_tracker(name)
    for f in frames:
        tracker.update(f)
    tracker.reset()
    with CompileCounter() as compiles:
        for f in frames:
            tracker.update(f)
    assert compiles.count == 0
    # and a sequence compiles only a few times in total (buckets, not frames)
    fresh = make_tracker(name, frame_rate=31.0)  # new instance: its jit caches are shared
    with CompileCounter() as compiles:
        for f in frames:
            fresh.update(f)
    assert compiles.count <= 2


@pytest.mark.parametrize(
    "name", ["iou", "sort", "bytetrack", "ocsort", "botsort", "reid", "longterm"]
)
def test_one_device_call_per_frame(name, monkeypatch):
    """Every frame is one call of the tracker's jitted step (counted at its entry
    points), trackers that report the corrected Kalman box included: their boxes are
    corrected on the host (KalmanBank.corrected_boxes), not by a second device call."""
    from jaxmot.core import kalman_bank
    from jaxmot.mot import ocsort

    frames = _scene_frames(40)
    tracker = make_tracker(name)
    for f in frames:  # warm-up: every trace happens here
        tracker.update(f)
    calls = []
    for module, attr in [(kalman_bank, "correct_predict_and_score"),
                         (kalman_bank, "apply_corrections"), (ocsort, "_frame_step"),
                         (ocsort, "_flush")]:  # fmt: skip
        real = getattr(module, attr)
        monkeypatch.setattr(module, attr, functools.partial(_counted, real, calls))
    tracker.reset()
    reported = 0
    for f in frames:
        reported += len(tracker.update(f))
    assert len(calls) == len(frames) and reported > 0


def _counted(fn, calls, *args, **kwargs):
    calls.append(fn)
    return fn(*args, **kwargs)


def _scene_frames(num_frames):
    scene = simulate(SceneConfig(num_frames=num_frames, render=False, seed=3))
    dets = scene.detections
    feats = np.random.default_rng(0).normal(size=(len(dets), 16)).astype(np.float32)
    return [
        FrameDetections(dets.boxes[r], dets.scores[r], feats[r])
        for r in (dets.for_frame(t) for t in range(1, num_frames + 1))
    ]


def test_synthetic_sequence_is_tracked_well():
    scene = simulate(SceneConfig(num_frames=100, render=False, seed=1))
    from jaxmot.core.eval.metrics import evaluate
    from jaxmot.core.mot_io import MOTSequence, SequenceInfo
    from jaxmot.core.sequence import track_sequence

    info = SequenceInfo("S", None, 30.0, 100, 640, 480)
    run = track_sequence(make_tracker("iou"), MOTSequence(info, scene.detections, scene.gt))
    m = evaluate({"S": (scene.gt, run.results)})["OVERALL"]
    assert m["MOTA"] > 0.4 and m["IDF1"] > 0.5, m


@pytest.mark.parametrize("duplicate_iou", [None, 0.85])
def test_duplicate_removal_drops_the_younger_of_overlapping_tracked_and_lost(duplicate_iou):
    cfg = IoUTrackerConfig(
        lifecycle=LifecycleConfig(min_hits=1, max_lost=30, duplicate_iou=duplicate_iou)
    )
    tracker = IoUTracker(cfg)
    for t in range(12):
        walker = [300.0 - 20 * t, 100, 40, 100]  # id 2 walks onto id 1's last place
        boxes = [[100.0, 100, 40, 100], walker] if t < 3 else [walker]
        tracker.update(_dets(boxes))
    ids = sorted(t.track_id for t in tracker.tracks.tracks)
    assert ids == ([1, 2] if duplicate_iou is None else [2])


def test_sort_keeps_detections_with_negative_scores():
    tracker = make_tracker("sort")
    outs = [len(tracker.update(_dets([_walker(t)], scores=np.array([-0.3])))) for t in range(5)]
    assert outs == [1, 1, 1, 1, 1]


def test_feature_history_copies_the_callers_buffer():
    tracker = ReIDTracker(longterm_config())
    buffer = np.zeros((1, 4), np.float32)
    for t in range(3):
        buffer[0] = [1, 0, 0, 0]
        tracker.update(_dets([_walker(t)], features=buffer))
    buffer[0] = [0, 1, 0, 0]
    (track,) = tracker.tracks.tracks
    np.testing.assert_array_equal(np.stack(track.history), np.tile([1, 0, 0, 0], (3, 1)))


# The exercise keeps a lost track while inactive <= patience, in frames at any frame rate.
@pytest.mark.parametrize("frame_rate", [30.0, 14.0, 1.0])
@pytest.mark.parametrize("gap, same_id", [(19, True), (20, True), (21, False)])
def test_longterm_keeps_a_track_while_inactive_at_most_patience(gap, same_id, frame_rate):
    tracker = ReIDTracker(longterm_config(patience=20), frame_rate=frame_rate)
    f = np.eye(4)[:1]
    for _ in range(3):
        tracker.update(_dets([[100.0, 100, 40, 100]], features=f))
    for _ in range(gap):
        tracker.update(FrameDetections.empty(4))
    out = tracker.update(_dets([[100.0, 100, 40, 100]], features=f))
    assert (out.ids.tolist() == [1]) == same_id


def test_kalman_bank_release_drops_queued_corrections():
    from jaxmot.core.kalman_bank import KalmanBank

    bank = KalmanBank(8)
    slot = bank.allocate()
    bank.correct([], np.zeros((0, 4)), [slot], np.array([[50.0, 50, 0.5, 100]]))
    bank.predict()
    bank.correct([slot], np.array([[60.0, 50, 0.5, 100]]), [], np.zeros((0, 4)))
    bank.release(slot)
    again = bank.allocate()
    assert again == slot
    bank.correct([], np.zeros((0, 4)), [again], np.array([[500.0, 50, 0.5, 60]]))
    bank.flush()
    np.testing.assert_allclose(bank.mean[again, :4], [500, 50, 0.5, 60])


def test_iou_threshold_must_be_positive():
    with pytest.raises(ValueError, match="iou_threshold"):
        IoUTrackerConfig(iou_threshold=0.0)


def test_frame_rate_scaling_rounds_unless_told_to_truncate_like_bytetrack():
    cfg = IoUTrackerConfig(lifecycle=LifecycleConfig(max_lost=3))
    assert IoUTracker(cfg, frame_rate=15).tracks.max_lost_frames == 2  # 1.5, halves up
    floor = IoUTrackerConfig(lifecycle=LifecycleConfig(max_lost=3, frame_rate_rounding="floor"))
    assert IoUTracker(floor, frame_rate=15).tracks.max_lost_frames == 1  # int(1.5)
    assert make_tracker("sort", frame_rate=7).tracks.max_lost_frames == 1  # SORT: not scaled


def test_buffered_iou_links_a_walker_whose_boxes_never_overlap():
    """A walker moving 1.25 box widths a frame: plain IoU never links two of its boxes
    (a new identity every frame), C-BIoU's buffer links them into one track; the buffered
    cost is the NumPy IoU of the grown boxes."""
    from jaxmot.core import boxes as box_ops
    from jaxmot.core.kalman import MOTION_MODELS
    from jaxmot.mot.costs import buffered_iou_cost

    frames = [_dets([_walker(t, vx=50.0)]) for t in range(12)]
    ids = {}
    for buffer in (0.0, 1.0):  # grown by 1.0: consecutive boxes overlap at IoU 70 / 170
        cfg = IoUTrackerConfig(buffer_scale=buffer, buffer_jitter=None,
                               lifecycle=LifecycleConfig(min_hits=1))  # fmt: skip
        tracker = IoUTracker(cfg)
        ids[buffer] = {i for f in frames for i in tracker.update(f).ids.tolist()}
    assert len(ids[0.0]) == len(frames) and ids[1.0] == {1}

    # The scorer's rows against the grown boxes' IoU in NumPy (K = 2 buffers), under jit.
    rng = np.random.default_rng(0)
    tracks = np.concatenate([rng.uniform(0, 200, (5, 2)), rng.uniform(10, 60, (5, 2))], 1)
    dets = box_ops.xywh_to_xyxy(tracks[[0, 2, 4]] + rng.normal(0, 8, (3, 4)))
    mean = np.concatenate([box_ops.xywh_to_cxcywh(tracks), np.zeros((5, 4))], 1)
    cost = jax.jit(functools.partial(buffered_iou_cost, motion=MOTION_MODELS["xywh"]))
    buffers = np.array([0.0, 0.4], np.float32)
    got = cost(jnp.asarray(mean, jnp.float32), None, None,
               {"boxes_xyxy": jnp.asarray(dets, jnp.float32), "buffers": buffers})  # fmt: skip
    for k, b in enumerate(buffers):
        grown_tracks = box_ops.buffered_xyxy(box_ops.xywh_to_xyxy(tracks), float(b))
        expected = 1 - box_ops.iou_matrix(grown_tracks, box_ops.buffered_xyxy(dets, float(b)))
        np.testing.assert_allclose(got[k], expected, atol=1e-5)
    assert (got[1] <= got[0] + 1e-6).all() and (got[1] < got[0] - 0.05).any()


def test_jitter_buffer_follows_how_far_detections_land_from_predictions():
    """buffer_jitter = k: the buffer is k times the mean offset of matched detections
    from their tracks' predictions per unit of box size, computed here by hand for a
    walker whose detections jitter by known amounts; the buffer changes every frame
    without a compile after warm-up."""
    rng = np.random.default_rng(4)
    offsets = rng.uniform(-6, 6, (30, 2))  # px: the detector's jitter, x and y
    frames = [_dets([[100 + 2.0 * t + dx, 100 + dy, 40.0, 100.0]])
              for t, (dx, dy) in enumerate(offsets)]  # fmt: skip
    cfg = IoUTrackerConfig(buffer_jitter=2.0, buffer_cap=5.0,
                           lifecycle=LifecycleConfig(min_hits=1))  # fmt: skip
    tracker = IoUTracker(cfg)
    expected_sum, count = 0.0, 0
    for frame in frames:
        assert tracker.buffer() == pytest.approx(2.0 * expected_sum / max(count, 1))
        was_tracked = [t.state for t in tracker.tracks.tracks] == [TrackState.TRACKED]
        tracker.update(frame)
        if was_tracked:
            # The bank holds this frame's predicted boxes until the next frame's predict.
            p = tracker.tracks.bank.boxes[tracker.tracks.tracks[0].slot]
            cx, cy = p[0] + p[2] / 2, p[1] + p[3] / 2
            box = frame.boxes[0]
            dx = abs(box[0] + box[2] / 2 - cx) / p[2]
            dy = abs(box[1] + box[3] / 2 - cy) / p[3]
            expected_sum += (dx + dy) / 2
            count += 1
    assert count == len(frames) - 1 and tracker.buffer() > 0.05
    assert tracker.buffer() == pytest.approx(2.0 * expected_sum / count)
    tracker.reset()
    assert tracker.buffer() == 0.0
    with CompileCounter() as compiles:
        for frame in frames:
            tracker.update(frame)
    assert compiles.count == 0


def test_buffer_settings_are_checked():
    with pytest.raises(ValueError, match="buffer_jitter"):
        IoUTrackerConfig(buffer_jitter=-1.0)
