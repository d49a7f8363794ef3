"""jaxmot.train.export (the one export module every system uses) and get_preset."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from flax import nnx

from jaxmot.train.config import get_preset
from jaxmot.train.export import (
    config_from_manifest,
    export_with_config,
    load_with_config,
    read_manifest,
    update_manifest,
)


@dataclasses.dataclass(frozen=True)
class Inner:
    scale: float = 1.0
    sizes: tuple[int, ...] = (2, 3)


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    features: int = 3
    inner: Inner = Inner()


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    threshold: float = 0.5


class Tiny(nnx.Module):
    def __init__(self, config: TinyConfig, rngs: nnx.Rngs):
        self.config = config
        self.linear = nnx.Linear(2, config.features, rngs=rngs)
        self.norm = nnx.BatchNorm(config.features, rngs=rngs)

    def __call__(self, x):
        return self.norm(self.linear(x))


def _load(directory, kind="tiny"):
    return load_with_config(
        directory,
        kind=kind,
        label="a tiny model",
        config_class=TinyConfig,
        build=lambda config: Tiny(config, nnx.Rngs(0)),
    )


@pytest.fixture
def exported(tmp_path):
    config = TinyConfig(features=4, inner=Inner(scale=2.0, sizes=(5,)))
    model = Tiny(config, nnx.Rngs(7))
    export_with_config(
        model,
        tmp_path / "m",
        kind="tiny",
        config=config,
        tracker=TrackerSettings(0.25),
        note="hello",
    )
    return model, config, tmp_path / "m"


def test_round_trip_restores_config_weights_and_sections(exported):
    model, config, directory = exported
    manifest = read_manifest(directory)
    assert manifest["kind"] == "tiny" and manifest["note"] == "hello"
    assert manifest["config"] == {"features": 4, "inner": {"scale": 2.0, "sizes": [5]}}
    assert manifest["tracker"] == {"threshold": 0.25}  # dataclass sections stored as objects
    loaded, loaded_config, _ = _load(directory)
    assert loaded_config == config  # lists back to tuples, nested dataclasses rebuilt
    assert loaded.norm.use_running_average  # eval mode
    x = np.ones((2, 2), np.float32)
    model.eval()
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
    tracker = config_from_manifest(manifest, TrackerSettings, directory, "tracker")
    assert tracker == TrackerSettings(0.25)
    absent = config_from_manifest(manifest, TrackerSettings, directory, "detector", required=False)
    assert absent == TrackerSettings()
    update_manifest(directory, note="changed")
    assert read_manifest(directory)["note"] == "changed" and _load(directory)[1] == config


def test_wrong_kind_names_the_file_and_key(exported):
    _, _, directory = exported
    with pytest.raises(ValueError) as err:
        _load(directory, kind="other")
    message = str(err.value)
    assert message == (
        f"{directory.resolve() / 'model.json'}: not a tiny model "
        "(key 'kind' is 'tiny', expected 'other')"
    )


def _rewrite(directory, **changes):
    path = directory / "model.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    for key, value in changes.items():
        if value is None:
            del manifest[key]
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"config": None}, r"model\.json: key 'config' is missing"),
        ({"config": [1, 2]}, r"model\.json: key 'config' must be a JSON object, got list"),
        ({"config": {"features": 4, "width": 2}}, r"key 'config': TinyConfig has no field width"),
        ({"config": {"inner": {"scal": 1.0}}}, r"TinyConfig has no field inner\.scal"),
    ],
)
def test_bad_config_is_one_clear_line(exported, changes, match):
    _, _, directory = exported
    _rewrite(directory, **changes)
    with pytest.raises(ValueError, match=match) as err:
        _load(directory)
    assert "\n" not in str(err.value)


def test_missing_or_corrupt_manifest(exported, tmp_path):
    _, _, directory = exported
    with pytest.raises(FileNotFoundError, match=r"missing/model\.json: no exported model"):
        _load(tmp_path / "missing")
    (directory / "model.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"model\.json: corrupt manifest \(expected a JSON"):
        _load(directory)
    (directory / "model.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"model\.json: corrupt manifest"):
        _load(directory)


def test_weights_that_do_not_fit_name_the_state_folder(exported):
    _, _, directory = exported
    _rewrite(directory, config={"features": 6, "inner": {"scale": 2.0, "sizes": [5]}})
    with pytest.raises(ValueError, match=r"state: cannot restore the exported model") as err:
        _load(directory)
    assert "\n" not in str(err.value)


def test_get_preset():
    presets = {"small": lambda: TinyConfig(1), "large": lambda: TinyConfig(9)}
    assert get_preset(presets, "large", "tiny") == TinyConfig(9)
    with pytest.raises(
        ValueError,
        match=r"unknown tiny config 'smal' \(did you mean 'small'\?\); "
        r"choose one of small, large",
    ):
        get_preset(presets, "smal", "tiny")
