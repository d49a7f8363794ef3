"""The batched E.T.Track online tracker, its CLI and the SOT pipelines end to end.

The model is the narrow E.T.Track with random weights (built once): these tests check
the tracker's mechanics (geometry, batching, padding, compilations, files), not its
accuracy; accuracy is in docs/sot.md, from `pipelines.compare_sot`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.compiles import CompileCounter
from jaxmot.sot.checkpoint import export_sot, load_sot
from jaxmot.sot.model import ETTrack, ETTrackConfig
from jaxmot.sot.synthetic import synthetic_sot_video
from jaxmot.sot.tracker import SOTTracker, SOTTrackerConfig


@pytest.fixture(scope="module")
def model():
    m = ETTrack(ETTrackConfig.narrow(), rngs=nnx.Rngs(0))
    m.eval()
    return m


@pytest.fixture(scope="module")
def video():
    return synthetic_sot_video(seed=3, num_frames=6, size=(120, 160))


def _run(tracker, frames, init):
    tracker.init([frames[0]] * len(init), init)
    return np.stack([tracker.update([f] * len(init)) for f in frames[1:]])


def test_batched_targets_equal_separate_runs_and_compile_once_per_bucket(model, video):
    frames, boxes = video
    init = boxes[0][None] + np.array([[0, 0, 0, 0], [6, -4, 4, 0], [-5, 3, 0, 6]])
    tracker = SOTTracker(model)
    together = _run(tracker, frames, init)  # 3 targets, padded to the bucket of 8
    assert together.shape == (len(frames) - 1, 3, 4)
    assert np.isfinite(together).all()
    for i in range(3):
        alone = _run(SOTTracker(model), frames, init[i : i + 1])  # bucket 1
        np.testing.assert_allclose(together[:, i], alone[:, 0], rtol=1e-4, atol=1e-3)
    # Another count in the same bucket, or another tracker on a model of the same
    # architecture, reuses the compiled calls.
    with CompileCounter() as compiles:
        _run(tracker, frames, init[:2])
        _run(SOTTracker(model), frames, init[1:])
    assert compiles.count == 0


def test_boxes_stay_in_the_image_and_sizes_clamped(model, video):
    frames, boxes = video
    tracker = SOTTracker(model, SOTTrackerConfig(min_size=10.0))
    out = _run(tracker, frames, boxes[0][None])[:, 0]
    cx, cy = out[:, 0] + out[:, 2] / 2, out[:, 1] + out[:, 3] / 2
    assert ((cx >= 0) & (cx <= 160) & (cy >= 0) & (cy <= 120)).all()
    assert (out[:, 2:] >= 10).all() and (out[:, 2] <= 160).all() and (out[:, 3] <= 120).all()


def test_tiny_targets_use_the_big_search_crop(model):
    frames = np.full((3, 480, 640, 3), 90, np.uint8)
    tracker = SOTTracker(model)
    tracker.init([frames[0]] * 2, np.array([[100, 100, 20, 20], [300, 200, 120, 90]]))
    assert tracker.search_size.tolist() == [288, 256]  # 400 px < 0.4 % of 307200 px
    out = tracker.update([frames[1]] * 2)
    assert out.shape == (2, 4) and np.isfinite(out).all()


def test_bad_init_boxes_raise(model, video):
    frames, _ = video
    tracker = SOTTracker(model)
    with pytest.raises(ValueError, match="w, h > 0"):
        tracker.init([frames[0]], np.array([[10, 10, 0, 5]]))
    with pytest.raises(ValueError, match="2 frames for 1 init boxes"):
        tracker.init([frames[0]] * 2, np.array([[10, 10, 5, 5]]))


def test_export_load_and_track_sot_cli(model, video, tmp_path, capsys):
    import cv2

    from pipelines import evaluate_sot, track_sot

    frames, boxes = video
    export_sot(model, SOTTrackerConfig(), tmp_path / "ckpt", step=0)
    loaded, tracker_cfg, manifest = load_sot(tmp_path / "ckpt")
    assert manifest["kind"] == "ettrack" and tracker_cfg == SOTTrackerConfig()
    assert loaded.config == model.config
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{t:05d}.png"), f[..., ::-1])
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(",".join(f"{v:.2f}" for v in b) + "\n" for b in boxes))
    init = ",".join(f"{v:.2f}" for v in boxes[0])
    for name in ("ettrack", "mil"):
        out = tmp_path / f"{name}.txt"
        args = ["--frames", str(folder), "--init", init, "--output", str(out), "--tracker", name]
        if name == "ettrack":
            args += ["--checkpoint", str(tmp_path / "ckpt"), "--video-out", str(tmp_path / "v.avi")]
        assert track_sot.main(args) == 0
        rows = np.loadtxt(out, delimiter=",")
        assert rows.shape == (len(frames), 4)
        np.testing.assert_allclose(rows[0], boxes[0], atol=0.01)
        assert evaluate_sot.main(["--predictions", str(out), "--groundtruth", str(gt),
                                  "--json", str(tmp_path / f"{name}.json")]) == 0  # fmt: skip
        scores = json.loads((tmp_path / f"{name}.json").read_text())
        assert 0.0 <= scores["OVERALL"]["auc"] <= 1.0
    assert (tmp_path / "v.avi").stat().st_size > 0
    # Several targets: one file per target in the output folder.
    assert track_sot.main(["--frames", str(folder), "--init", init, "--init", init,
                           "--output", str(tmp_path / "many"), "--checkpoint",
                           str(tmp_path / "ckpt")]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["target0.txt", "target1.txt"]
    capsys.readouterr()
    missing = ["--frames", str(tmp_path / "nowhere"), "--init", init]
    assert track_sot.main([*missing, "--output", str(tmp_path / "x.txt"), "--tracker", "mil"]) == 2
    assert "frame folder not found" in capsys.readouterr().err


def test_train_sot_then_track_end_to_end(tmp_path, video, capsys):
    """Two training steps through the shared loop (EMA on), export, resume, then track."""
    from pipelines import train_sot

    args = ["--workdir", str(tmp_path / "run"), "--steps", "2", "--no-progress",
            "--set", "train.batch_size=2", "--set", "train.optimizer.warmup_steps=0",
            "--set", "train.optimizer.schedule=constant", "--set", "model.cls_kernels=(3,3,3)",
            "--set", "model.reg_kernels=(3,3,3)", "--set", "data.synthetic_videos=2",
            "--set", "data.mot_sequences=()", "--set", "data.eval_synthetic_videos=1",
            "--set", "data.eval_davis=none", "--export", str(tmp_path / "ckpt")]  # fmt: skip
    assert train_sot.main(args) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert records[-1]["step"] == 2 and np.isfinite(records[-1]["loss"])
    evaluation = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert evaluation["weights"] == "ema" and 0 <= evaluation["OVERALL"]["auc"] <= 1
    model, _, manifest = load_sot(tmp_path / "ckpt")
    assert manifest["step"] == 2 and "train_sot" in manifest["command"]
    frames, boxes = video
    out = SOTTracker(model).track_sequence(frames, boxes[0])
    assert out.shape == (len(frames), 4) and np.isfinite(out).all()
    assert train_sot.main(args) == 0  # already complete: resumes, re-evaluates
    assert "already complete at step 2" in capsys.readouterr().out


@pytest.mark.slow  # about 2 min of compiling on 2 cores; the default run stays short
def test_bench_sot_and_demo_sot_run(tmp_path, capsys):
    """`bench sot` records have the documented fields; `demo sot` writes its outputs."""
    from pipelines import bench, demo

    out = tmp_path / "bench.json"
    args = ["sot", "--variants", "narrow", "--targets", "2", "--frames", "3",
            "--size", "120", "160", "--json", str(out)]  # fmt: skip
    assert bench.main(args) == 0
    records = json.loads(out.read_text())
    assert [(r["mode"], r["targets"]) for r in records] == [
        ("single", 1),
        ("network", 1),
        ("batched", 2),
    ]
    for r in records:
        assert r["fps"] > 0 and r["ms_median"] > 0 and r["compile_s"] >= 0
    workdir = tmp_path / "demo"
    assert demo.main(["sot", "--workdir", str(workdir), "--frames", "12", "--no-video"]) == 0
    summary = json.loads((workdir / "summary.json").read_text())
    assert set(summary) == {"ettrack", "mil"}
    assert np.loadtxt(workdir / "ettrack.txt", delimiter=",").shape == (12, 4)
    assert "AUC" in capsys.readouterr().out


def test_targets_sharded_over_two_cpu_devices_give_the_same_search(tmp_path):
    """A fresh process with 2 CPU devices: a batch of targets is searched on both (each
    device its own half) and gives what one device gives on the same crops."""
    script = """
import jax, numpy as np
from jaxmot.core.runtime import use_cpu_devices
assert use_cpu_devices(2) == 2
from jaxmot.sot.synthetic import synthetic_sot_video
from jaxmot.sot.checkpoint import load_sot_tracker
tracker = load_sot_tracker()
frames, boxes = synthetic_sot_video(seed=3, num_frames=3, size=(120, 160))
init = boxes[0][None] + np.array([[0, 0, 0, 0], [4, -3, 2, 0], [-3, 2, 0, 3]])
tracker.init([frames[0]] * 3, init)
rng = np.random.default_rng(0)
crops = rng.uniform(0, 255, (8, 256, 256, 3)).astype(np.float32)
sizes = rng.uniform(20, 60, (8, 2)).astype(np.float32)
rows = np.array([0, 1, 2, 0, 1, 2, 0, 0])
assert tracker._shards(8) and not tracker._shards(1)
sharded = tracker.run(crops, sizes, rows, 256)
assert len(sharded[0].sharding.device_set) == 2
single = tracker._step(tracker._leaves, tracker.template_features, rows, crops, sizes,
                       search_size=256)
for a, b in zip(sharded, single):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-3)
out = tracker.update([frames[1]] * 3)
assert out.shape == (3, 4) and np.isfinite(out).all()
"""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


# ---------------------------------------------------------------------------------------
# The official box report and crop placement (pblatter/ettrack et_tracker.py, utils.py)
# ---------------------------------------------------------------------------------------


def _official_rect(center, size):
    """Official `cxy_wh_2_rect`: [max(0, cx - w/2), max(0, cy - h/2), w, h]."""
    return np.array([[max(0.0, c[0] - s[0] / 2), max(0.0, c[1] - s[1] / 2), s[0], s[1]]
                     for c, s in zip(center, size, strict=True)])  # fmt: skip


def test_reported_box_clamped_at_the_image_edge_as_official(model, video):
    frames, _ = video
    init = np.array([[-6.0, 2.0, 30.0, 24.0], [60.0, 40.0, 30.0, 24.0]])  # one past the edge
    clamped, raw = SOTTracker(model), SOTTracker(model, SOTTrackerConfig(clamp_box_origin=False))
    for tracker in (clamped, raw):
        tracker.init([frames[0]] * 2, init)
        # The state right at the corner: the box sticks out up to 20 px left and 15 up.
        tracker.center = np.array([[5.0, 3.0], [80.0, 50.0]])
        tracker.size = np.array([[40.0, 30.0], [20.0, 16.0]])
    np.testing.assert_array_equal(clamped.boxes, _official_rect(clamped.center, clamped.size))
    np.testing.assert_array_equal(clamped.boxes[0], [0, 0, 40, 30])  # w, h kept, not cut
    np.testing.assert_array_equal(raw.boxes[0], [-15, -12, 40, 30])
    np.testing.assert_array_equal(raw.boxes[1], clamped.boxes[1])  # inside: no change
    # Through update: the state (centre) is not clamped beyond the image, only the report.
    out = clamped.update([frames[1]] * 2)
    np.testing.assert_array_equal(out, _official_rect(clamped.center, clamped.size))
    assert (out[:, :2] >= 0).all()
    # track_sequence reports frame 0 as the init box given, as pytracking does.
    rows = SOTTracker(model).track_sequence(frames[:3], init[0])
    np.testing.assert_array_equal(rows[0], init[0])
    assert (rows[1:, :2] >= 0).all()


def _smooth_image(h=120, w=160):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    red = 120 + 80 * np.sin(x / 13.0) * np.cos(y / 17.0)
    img = np.stack([red, 100 + 60 * np.cos(x / 11.0 + y / 19.0), 128 + 0.5 * x - 0.4 * y], -1)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _official_subwindow(im, pos, model_sz, original_sz, avg):
    """Official `get_subwindow_tracking`: integer window from round(pos - (sz + 1) / 2),
    mean-colour padding (into a uint8 image: truncated), cv2.resize of the slice."""
    c = (original_sz + 1) / 2
    xmin, ymin = round(float(pos[0] - c)), round(float(pos[1] - c))
    xmax, ymax = xmin + original_sz - 1, ymin + original_sz - 1
    left, top = max(0, -xmin), max(0, -ymin)
    right, bottom = max(0, xmax - im.shape[1] + 1), max(0, ymax - im.shape[0] + 1)
    padded = np.zeros((im.shape[0] + top + bottom, im.shape[1] + left + right, 3), np.uint8)
    padded[:] = avg  # numpy casts the float mean to uint8 by truncation
    padded[top : top + im.shape[0], left : left + im.shape[1]] = im
    patch = padded[ymin + top : ymax + top + 1, xmin + left : xmax + left + 1]
    return cv2.resize(patch, (model_sz, model_sz)).astype(np.float32)


def _python2round(f):
    """Official python2round: half away from zero."""
    return f + abs(f) / f * 0.5 if round(f + 1) - round(f) != 1 else round(f)


@pytest.mark.parametrize("official", [True, False])
def test_crops_placed_as_official_by_default(model, official, monkeypatch):
    assert SOTTrackerConfig().official_crop_rounding  # the default
    image = _smooth_image()
    # A centre off the pixel grid and near the edge, so rounding and padding both matter.
    init = np.array([[7.3, 30.6, 33.0, 41.0]])
    tracker = SOTTracker(model, SOTTrackerConfig(official_crop_rounding=official))
    seen = {}

    def record(key, call, crops_at):  # keep the crops the tracker hands to the network
        def wrapped(*args):
            seen[key] = args[crops_at]
            return call(*args)

        return wrapped

    monkeypatch.setattr(tracker, "_embed_templates", record("z", tracker._embed_templates, 0))
    monkeypatch.setattr(tracker, "_search", record("x", tracker._search, 1))
    tracker.init([image], init)
    w, h = init[0, 2:]
    pos = init[0, :2] + init[0, 2:] / 2  # official get_axis_aligned_bbox: x + w / 2
    avg = image.reshape(-1, 3).mean(0)
    s_z = np.sqrt((w + 0.5 * (w + h)) * (h + 0.5 * (w + h)))
    template = _official_subwindow(image, pos, 127, round(float(s_z)), avg)
    tracker.update([image])
    s_x = s_z + 2 * ((256 - 127) / 2 / (127 / s_z))  # official track()
    search_crop = _official_subwindow(image, pos, 256, int(_python2round(float(s_x))), avg)
    for name, ref in (("z", template), ("x", search_crop)):
        ours = np.asarray(seen[name])[0]
        # cv2.resize clamps at the slice edge when upscaling: compare inside the border.
        err = np.abs(ours - ref)[1:-1, 1:-1].max()
        if official:  # within cv2's fixed-point rounding (warpAffine, resize)
            assert err <= 1.0, (name, err)
        else:  # exactly centred crops sit up to a pixel away: many levels on this image
            assert err > 3, (name, err)
