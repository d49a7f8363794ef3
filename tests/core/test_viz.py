"""Track drawing and video writing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from jaxmot.core import draw as viz
from jaxmot.core import mot_io as mot
from jaxmot.core import synthetic as syn


def _frames(n, h=48, w=64):
    """Distinct solid-ish frames, so a decoder's output can be told apart."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (n, 1, 1, 3), dtype=np.uint8)
    return [np.broadcast_to(b, (h, w, 3)).copy() for b in base]


def _read_video(path):
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def test_id_colours_are_stable_and_distinct():
    assert viz.id_color(7) == viz.id_color(7) == viz.id_color(np.int64(7))
    colours = np.array([viz.id_color(i) for i in range(1, 101)], float)
    assert len({tuple(c) for c in colours}) == 100
    # Consecutive ids (often neighbours in a scene) are far apart in colour.
    assert np.linalg.norm(np.diff(colours, axis=0), axis=1).min() > 60
    assert colours.min() >= 0 and colours.max() <= 255


def test_draw_tracks_draws_box_in_id_colour_on_a_copy():
    frame = np.full((120, 160, 3), 50, np.uint8)
    boxes = np.array([[20.0, 30.0, 40.0, 60.0], [150.0, -10.0, 40.0, 50.0]])
    out = viz.draw_tracks(frame, boxes, np.array([3, 8]), thickness=1)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.all(frame == 50)  # input untouched
    # The left edge of box 3, below its label, has id 3's colour.
    np.testing.assert_array_equal(out[80, 20], viz.id_color(3))
    # Inside of the box is untouched.
    np.testing.assert_array_equal(out[70, 40], [50, 50, 50])
    # A box cut by the border is drawn without error, and its label stays in view.
    assert np.any(np.all(out[:, 150:] == viz.id_color(8), axis=-1))


def test_draw_tracks_labels_and_validation():
    frame = np.zeros((60, 80, 3), np.uint8)
    boxes = np.array([[10.0, 10.0, 20.0, 30.0]])
    a = viz.draw_tracks(frame, boxes, np.array([1]))
    b = viz.draw_tracks(frame, boxes, np.array([1]), labels=["person 1 (0.93)"])
    assert not np.array_equal(a, b)
    empty = viz.draw_tracks(frame, np.zeros((0, 4)), np.zeros(0, int))
    np.testing.assert_array_equal(empty, frame)
    with pytest.raises(ValueError, match="ids"):
        viz.draw_tracks(frame, boxes, np.array([1, 2]))
    with pytest.raises(ValueError, match="uint8"):
        viz.draw_tracks(frame.astype(np.float32), boxes, np.array([1]))


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_write_video_round_trip(tmp_path, ext):
    frames = _frames(7)
    path = tmp_path / "sub" / f"out{ext}"
    viz.write_video(path, iter(frames), fps=10)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp left
    got = _read_video(path)
    assert len(got) == 7 and got[0].shape == (48, 64, 3)
    for g, f in zip(got, frames, strict=True):  # lossy codecs: close, not equal
        assert np.abs(g.astype(int) - f.astype(int)).mean() < 12
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10, abs=0.5)
    cap.release()


@pytest.mark.parametrize(("fps", "size"), [(25.0, (48, 64)), (12.5, (47, 63))])
def test_mp4_is_h264_a_browser_plays(tmp_path, fps, size):
    """yuv420p H.264 at the given rate; odd sizes padded by one black row / column."""
    import av

    h, w = size
    frames = [np.full((h, w, 3), 40 * i, np.uint8) for i in range(5)]
    path = tmp_path / "out.mp4"
    with viz.VideoWriter(path, fps) as video:
        for frame in frames:  # streamed: one frame at a time
            video.write(frame)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert float(stream.average_rate) == pytest.approx(fps)
        assert (stream.width, stream.height) == (w + w % 2, h + h % 2)
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == 5
    for got, want in zip(decoded, frames, strict=True):
        assert np.abs(got[:h, :w].astype(int) - want.astype(int)).mean() < 3


def test_interrupted_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous video")

    def broken():
        yield from _frames(3)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        viz.write_video(path, broken(), fps=5)
    assert path.read_bytes() == b"previous video"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_write_video_errors(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        viz.write_video(tmp_path / "out.gif", _frames(1), fps=5)
    with pytest.raises(ValueError, match="no frames"):
        viz.write_video(tmp_path / "out.mp4", [], fps=5)
    with pytest.raises(ValueError, match="frame 1"):
        viz.write_video(tmp_path / "out.avi", [_frames(1)[0], _frames(1, h=40)[0]], fps=5)
    assert list(tmp_path.iterdir()) == []


def test_render_tracking_video(tmp_path):
    cfg = syn.SceneConfig(
        width=160, height=120, num_frames=6, num_objects=4, height_range=(20.0, 50.0), seed=2
    )
    seq_dir = syn.generate_sequence(tmp_path, cfg, name="V")
    gt = mot.read_sequence(seq_dir).gt
    results = mot.TrackResults(
        frames=gt.frames, ids=gt.ids, boxes=gt.boxes, scores=np.ones(len(gt))
    )
    out = tmp_path / "tracks.avi"
    viz.render_tracking_video(seq_dir, results, out, progress=False)
    got = _read_video(out)
    assert len(got) == cfg.num_frames and got[0].shape == (120, 160, 3)
    # Boxes were drawn: the video differs from the raw frames where the tracks are.
    raw = mot.read_sequence(seq_dir).frame(1)
    assert np.abs(got[0].astype(int) - raw.astype(int)).mean() > 1
