"""The shared lifecycle's lost-track buffer: frame-rate rounding and the `<=` boundary."""

import numpy as np
import pytest

from jaxmot.core.lifecycle import LifecycleConfig, TrackSet, TrackState


# (max_lost, fps) -> frames worked by hand: max_lost * fps / 30, then the rule.
@pytest.mark.parametrize(
    "max_lost, fps, rounded, floored",
    [
        (20, 30.0, 20, 20),
        (20, 14.0, 9, 9),  # 9.33
        (20, 25.0, 17, 16),  # 16.67
        (20, 1.0, 1, 0),  # 0.67: round gives 1; floor (JDE) a buffer of 0
        (1, 1.0, 1, 0),  # 0.03: never below one frame
        (3, 15.0, 2, 1),  # 1.5: halves round up
        (30, 60.0, 60, 60),
        (0, 14.0, 0, 0),  # no buffer stays no buffer
    ],
)
def test_buffer_rounding(max_lost, fps, rounded, floored):
    assert TrackSet(LifecycleConfig(max_lost=max_lost), fps).max_lost_frames == rounded
    floor = LifecycleConfig(max_lost=max_lost, frame_rate_rounding="floor")
    assert TrackSet(floor, fps).max_lost_frames == floored
    # The JDE/ByteTrack formula, as their code writes it.
    assert floored == int(fps / 30.0 * max_lost)


def test_unscaled_buffer_is_a_frame_count():
    cfg = LifecycleConfig(max_lost=20, scale_with_frame_rate=False)
    assert TrackSet(cfg, 1.0).max_lost_frames == TrackSet(cfg, 14.0).max_lost_frames == 20


def test_bad_rounding_and_frame_rate_are_one_clear_error():
    with pytest.raises(ValueError, match="frame_rate_rounding must be one of .*'ceil'"):
        LifecycleConfig(frame_rate_rounding="ceil")
    with pytest.raises(ValueError, match="frame_rate must be > 0"):
        TrackSet(LifecycleConfig(max_lost=20), 0.0)


def _run(tracks: TrackSet, misses: int):
    """One track born on frame 1, `misses` empty frames, then its box again:
    returns the state of that track after each frame and whether it was re-found."""
    box = np.array([[100.0, 100.0, 40.0, 100.0]], np.float32)
    score = np.ones(1, np.float32)
    tracks.predict()
    tracks.step(box, score, [], np.array([0]))
    states = []
    for _ in range(misses):
        tracks.predict()
        tracks.step(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [], np.zeros(0, int))
        states.append(tracks.tracks[0].state if tracks.tracks else TrackState.REMOVED)
    tracks.predict()
    alive = list(tracks.tracks)
    matches = [(alive[0], 0)] if alive else []
    new = np.zeros(0, int) if alive else np.array([0])
    reported = tracks.step(box, score, matches, new)
    return states, [t.track_id for t in reported] == [1]


@pytest.mark.parametrize(
    "max_lost, fps, keep",
    [(20, 30.0, 20), (20, 14.0, 9), (20, 1.0, 1)],
)
def test_lost_track_is_kept_while_inactive_at_most_the_buffer(max_lost, fps, keep):
    # Re-found after exactly `keep` missed frames (inactive == keep is kept) ...
    states, refound = _run(TrackSet(LifecycleConfig(max_lost=max_lost), fps), keep)
    assert refound and states == [TrackState.LOST] * keep
    # ... removed at the next miss, so it comes back under a new id.
    states, refound = _run(TrackSet(LifecycleConfig(max_lost=max_lost), fps), keep + 1)
    assert not refound and states == [TrackState.LOST] * keep + [TrackState.REMOVED]


def test_floor_at_one_fps_removes_at_the_first_miss():
    cfg = LifecycleConfig(max_lost=20, frame_rate_rounding="floor")
    states, refound = _run(TrackSet(cfg, 1.0), 1)
    assert not refound and states == [TrackState.REMOVED]
