"""The trainers' side of issue 18: evaluation during training, WORKDIR/best/, export of
the best weights, bfloat16 losses and the batch factories (`training_batches`), on tiny
generated data."""

import dataclasses
import json

import numpy as np
import pytest

from jaxmot.gnn import configs as gnn_configs
from jaxmot.gnn import trainer as gnn_trainer
from jaxmot.jde import configs as jde_configs
from jaxmot.jde import trainer as jde_trainer
from jaxmot.jde.model import JDEConfig
from jaxmot.reid import configs as reid_configs
from jaxmot.reid import trainer as reid_trainer
from jaxmot.seg import configs as seg_configs
from jaxmot.seg import trainer as seg_trainer
from jaxmot.sot import configs as sot_configs
from jaxmot.sot import trainer as sot_trainer
from jaxmot.train.export import read_manifest


def _replace(exp, **sections):
    """`exp` with fields of its nested dataclasses replaced: section={field: value}."""
    changes = {
        name: dataclasses.replace(getattr(exp, name), **fields) if isinstance(fields, dict)
        else fields
        for name, fields in sections.items()
    }  # fmt: skip
    return dataclasses.replace(exp, **changes)


def _train(steps=6, batch_size=4, **fields):
    return {"steps": steps, "batch_size": batch_size, "log_every": 1, **fields}


def tiny_seg(**train):
    exp = seg_configs.get_config("synthetic_joint")
    data = {"synthetic_train": 8, "synthetic_val": 3, "synthetic_size": (64, 64)}
    return _replace(exp, data={**data, "eval_davis": None}, train=_train(**train))


def tiny_reid(**train):
    exp = reid_configs.get_config("synthetic_r18w16")
    model = {"width": 4, "embed_dim": 16, "input_size": (32, 16)}
    synthetic = {"num_train_scenes": 1, "num_test_scenes": 1, "frames": 12}
    exp = _replace(exp, model=model, synthetic=synthetic, p=4, k=2)
    optimizer = dataclasses.replace(exp.train.optimizer, warmup_steps=1)
    return _replace(exp, train=_train(batch_size=8, optimizer=optimizer, **train))


def tiny_gnn():
    exp = gnn_configs.get_config("synthetic_sim")
    data = {"synthetic_train_scenes": 1, "synthetic_val_scenes": 1, "draws": 1, "embed_dim": 8}
    model = {"node_dim": 4, "edge_dim": 8, "num_steps": 2, "reid_dim": 8}
    return _replace(exp, data=data, model=model, train=_train(batch_size=2))


def tiny_sot():
    exp = sot_configs.get_config("synthetic_narrow")
    data = {"synthetic_videos": 2, "mot_sequences": (), "eval_davis": None}
    return _replace(exp, data=data, train=_train(batch_size=2))


def tiny_jde():
    exp = jde_configs.get_config("synthetic_small")
    model = JDEConfig(width=128, height=96, width_multiplier=0.125, blocks=(1, 1, 1, 1, 1))
    data = {"synthetic_scenes": 1, "synthetic_frames": 3, "synthetic_size": (160, 128)}
    return _replace(exp, model=model, data=data, train=_train(batch_size=3))


def _records(workdir):
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def _eval_rows(workdir):
    return [r for r in _records(workdir) if "eval" in r]


def _check_best(workdir, metric, eval_steps):
    """Eval rows at `eval_steps` with `metric`; best/<step> at the first argmax of it;
    eval.json says the best weights of that step. Returns the evaluation."""
    rows = _eval_rows(workdir)
    assert [r["step"] for r in rows] == eval_steps
    values = [r["eval"][metric] for r in rows]
    assert all(np.isfinite(values))
    best_step = eval_steps[int(np.argmax(values))]  # a tie keeps the earlier step
    assert [p.name for p in (workdir / "best").iterdir() if p.name.isdigit()] == [str(best_step)]
    evaluation = json.loads((workdir / "eval.json").read_text())
    assert evaluation["weights"] == "best" and evaluation["best_step"] == best_step
    return evaluation


def test_seg_evaluates_during_training_and_exports_the_best(tmp_path):
    exp = tiny_seg(eval_every=2, export_weights="best")
    workdir, export = tmp_path / "run", tmp_path / "export"
    evaluation = seg_trainer.train_and_evaluate(exp, workdir, export=export, progress=False)
    assert _check_best(workdir, seg_trainer.HEADLINE, [2, 4, 6]) == evaluation
    assert set(_eval_rows(workdir)[0]["eval"]) == {"fg_iou", "mean_iou_fg_bg"}
    assert read_manifest(export)["evaluation"]["weights"] == "best"


def test_reid_evaluates_during_training_and_exports_the_best(tmp_path):
    exp = tiny_reid(steps=5, eval_every=2, export_weights="best")
    workdir, export = tmp_path / "run", tmp_path / "export"
    evaluation = reid_trainer.train_and_evaluate(exp, workdir, export=export, progress=False)
    assert _check_best(workdir, "rank1", [2, 4, 5]) == evaluation  # and the last step
    assert set(_eval_rows(workdir)[0]["eval"]) == {"rank1", "rank5", "mAP"}
    assert 0 <= evaluation["synthetic_test"]["mAP"] <= 1
    manifest = read_manifest(export)
    assert manifest["evaluation"]["weights"] == "best" and manifest["step"] == 5


def test_without_evaluations_the_last_weights_are_exported(tmp_path):
    evaluation = seg_trainer.train_and_evaluate(tiny_seg(steps=2), tmp_path, progress=False)
    assert evaluation["weights"] == "last" and "best_step" not in evaluation
    assert not any("eval" in r for r in _records(tmp_path))
    assert not (tmp_path / "best").exists()


def test_bfloat16_training_has_finite_losses_close_to_float32(tmp_path):
    losses = {}
    for dtype in ("float32", "bfloat16"):
        exp = tiny_reid(steps=3, compute_dtype=dtype)
        reid_trainer.train_and_evaluate(exp, tmp_path / dtype, progress=False)
        losses[dtype] = [r["loss"] for r in _records(tmp_path / dtype)]
    assert len(losses["bfloat16"]) == 3 and np.isfinite(losses["bfloat16"]).all()
    np.testing.assert_allclose(losses["bfloat16"], losses["float32"], rtol=0.05)


@pytest.mark.parametrize(
    ("system", "make"),
    [
        (
            "reid",
            lambda tmp: reid_trainer.training_batches(reid_trainer.with_pk_batch(tiny_reid())),
        ),
        ("gnn", lambda tmp: gnn_trainer.training_batches(tiny_gnn(), tmp)),
        ("seg", lambda tmp: seg_trainer.training_batches(tiny_seg())),
        ("sot", lambda tmp: sot_trainer.training_batches(tiny_sot())),
        ("jde", lambda tmp: jde_trainer.training_batches(tiny_jde())),
    ],
)
def test_training_batches_have_the_configured_batch_size(system, make, tmp_path):
    exp = {"reid": tiny_reid, "gnn": tiny_gnn, "seg": tiny_seg, "sot": tiny_sot, "jde": tiny_jde}
    rows = exp[system]().train.batch_size
    batches = make(tmp_path)
    for step in (0, 7):
        batch = batches.batch(step)
        assert batch and all(np.shape(v)[0] == rows for v in batch.values()), system
    again = batches.batch(7)  # a pure function of the step
    for name, value in batches.batch(7).items():
        np.testing.assert_array_equal(value, again[name])


@pytest.mark.parametrize("system", ["sot", "jde"])
def test_a_hosts_rows_equal_those_rows_of_the_global_batch(system):
    """`batch_rows`, what each host of a multi-host run builds, is a slice of the batch."""
    if system == "sot":
        exp = _replace(tiny_sot(), train=_train(batch_size=4))
        task = sot_trainer.SOTTask(exp, sot_trainer.training_batches(exp))
    else:
        exp = _replace(tiny_jde(), train=_train(batch_size=4))
        task = jde_trainer.JDETask(exp, jde_trainer.training_batches(exp))
    full = task.batch(3)
    for rows in (slice(0, 2), slice(2, 4)):
        part = task.batch_rows(3, rows)
        assert sorted(part) == sorted(full)
        for name, value in full.items():
            np.testing.assert_array_equal(part[name], value[rows], err_msg=name)
