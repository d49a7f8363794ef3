"""`pipelines.track --source`: videos, image folders and globs, cameras; hog / file / jde
detectors; H.264 video out. The source path must track exactly as the sequence path
does on the same frames and detections."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jaxmot.core.draw import VideoWriter
from jaxmot.core.mot_io import read_results, read_sequence
from jaxmot.core.synthetic import SceneConfig, generate_sequence
from pipelines import track


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    config = dataclasses.replace(SceneConfig(), num_frames=20, width=320, height=240, seed=4)
    return generate_sequence(tmp_path_factory.mktemp("seq"), config, name="SRC")


@pytest.fixture(scope="module")
def video(sequence):
    seq = read_sequence(sequence)
    path = sequence.parent / "src.mp4"
    with VideoWriter(path, seq.info.frame_rate) as out:
        for t in range(1, seq.info.length + 1):
            out.write(seq.frame(t))
    return path


def _run(*args) -> int:
    return track.main([*map(str, args), "--no-progress"])


def _same(a, b):
    a, b = read_results(a), read_results(b)
    assert len(a) > 0
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)


@pytest.mark.parametrize("tracker", ["iou", "longterm"])
def test_image_folder_source_tracks_as_the_sequence(sequence, tmp_path, tracker):
    """Same frames (img1/), same detections (det.txt), same tracker: same results; for
    longterm the histogram embeddings of the crops come from the same pixels."""
    det = sequence / "det" / "det.txt"
    appearance = ["--appearance", "histogram"]
    assert _run("--sequence", sequence, "--tracker", tracker, *appearance,
                "--output", tmp_path / "seq.txt") == 0  # fmt: skip
    assert _run("--source", sequence / "img1", "--detector", "file", "--detections", det,
                "--fps", 25, "--tracker", tracker, *appearance,
                "--output", tmp_path / "src.txt") == 0  # fmt: skip
    _same(tmp_path / "seq.txt", tmp_path / "src.txt")


def test_video_source_with_h264_video_trails_and_crops(sequence, video, tmp_path, capsys):
    import av

    det = sequence / "det" / "det.txt"
    out, drawn, crops = tmp_path / "r.txt", tmp_path / "r.mp4", tmp_path / "crops"
    assert _run("--source", video, "--detector", "file", "--detections", det, "--tracker",
                "iou", "--output", out, "--video", drawn, "--trails", 10,
                "--save-crops", crops) == 0  # fmt: skip
    assert _run("--sequence", sequence, "--tracker", "iou", "--output", tmp_path / "s.txt") == 0
    _same(out, tmp_path / "s.txt")  # a motion tracker never looks at the pixels
    with av.open(str(drawn)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert float(stream.average_rate) == pytest.approx(read_sequence(sequence).info.frame_rate)
        assert sum(1 for _ in container.decode(stream)) == 20
    results = read_results(out)
    first = results.ids[0]
    saved = sorted((crops / f"{first:06d}").glob("*.jpg"))
    assert len(saved) == int((results.ids == first).sum())
    assert "H.264" in capsys.readouterr().out


def test_glob_source_max_frames_and_classes(sequence, tmp_path):
    det = tmp_path / "det.txt"
    rows = (sequence / "det" / "det.txt").read_text().splitlines()
    # Class column: odd lines class 1, even lines class 0.
    det.write_text("".join(
        ",".join(r.split(",")[:7] + [str(i % 2), "-1", "-1"]) + "\n" for i, r in enumerate(rows)
    ))  # fmt: skip
    out = tmp_path / "c.txt"
    assert _run("--source", sequence / "img1" / "*.jpg", "--detector", "file", "--detections",
                det, "--classes", 1, "--max-frames", 7, "--output", out) == 0  # fmt: skip
    results = read_results(out)
    assert results.frames.max() <= 7 and len(results) > 0
    # class 1 only: no result box equals a class-0 detection's box
    table = np.array([[float(v) for v in r.split(",")[:8]] for r in det.read_text().splitlines()])
    zero = table[(table[:, 7] == 0) & (table[:, 0] <= 7)][:, 2:6]
    assert not (np.abs(results.boxes[:, None] - zero[None]).max(-1) < 1e-3).any()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "99"], "no camera with index 99"),
        (["--source", "nope.mp4"], "no such video"),
        (["--source", "{seq}/img1", "--detector", "file"], "needs --detections"),
        (["--sequence", "{seq}", "--max-frames", "3"], "--max-frames is for --source"),
        (
            ["--source", "{seq}/img1", "--detector", "hog", "--detections", "x"],
            "for --detector file",
        ),
    ],
)
def test_errors_are_one_line(sequence, tmp_path, capsys, args, message):
    args = [a.replace("{seq}", str(sequence)) for a in args]
    assert _run(*args, "--output", tmp_path / "x.txt") == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_jde_detector_on_a_video(video, tmp_path):
    """The shipped JDE detects and embeds; the jde tracker uses its stored settings."""
    out = tmp_path / "j.txt"
    assert _run("--source", video, "--tracker", "jde", "--max-frames", 3, "--output", out) == 0
    assert read_results(out).frames.max(initial=0) <= 3
    # Another tracker on JDE's boxes and embeddings
    assert _run("--source", video, "--detector", "jde", "--tracker", "longterm",
                "--max-frames", 3, "--output", tmp_path / "l.txt") == 0  # fmt: skip


def test_track_sot_source_streams_an_h264_video(sequence, video, tmp_path, monkeypatch):
    """track_sot takes --source like track, and --video-out is H.264 at the source's rate,
    written frame by frame (never a list of frames)."""
    import av

    from jaxmot.core import draw
    from pipelines import track_sot

    seq = read_sequence(sequence)
    first = seq.gt.boxes[seq.gt.for_frame(1)[0]]
    init = ",".join(f"{v:.1f}" for v in first)
    written = []
    original = draw.VideoWriter.write

    def counting_write(self, frame):
        written.append(len(written))
        return original(self, frame)

    monkeypatch.setattr(draw.VideoWriter, "write", counting_write)
    monkeypatch.setattr(draw, "write_video", None)  # the old path kept every frame in memory
    out, drawn = tmp_path / "sot.txt", tmp_path / "sot.mp4"
    args = ["--source", str(video), "--init", init, "--output", str(out), "--tracker", "mil",
            "--video-out", str(drawn), "--max-frames", "12"]  # fmt: skip
    assert track_sot.main(args) == 0
    assert np.loadtxt(out, delimiter=",").shape == (12, 4)
    assert len(written) == 12
    with av.open(str(drawn)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert float(stream.average_rate) == pytest.approx(seq.info.frame_rate)
    # The older input names keep working: a folder of frames, a video file.
    assert track_sot.main(["--frames", str(sequence / "img1"), "--init", init, "--output",
                           str(tmp_path / "f.txt"), "--tracker", "mil"]) == 0  # fmt: skip
    assert track_sot.main(["--video", str(video), "--init", init, "--output",
                           str(tmp_path / "v.txt"), "--tracker", "mil"]) == 0  # fmt: skip
    np.testing.assert_allclose(np.loadtxt(tmp_path / "f.txt", delimiter=",")[0], first, atol=0.1)
