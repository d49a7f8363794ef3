"""Every system's presets: built by name through get_preset, datasets under the data root."""

import dataclasses
import importlib

import pytest

SYSTEMS = ("reid", "gnn", "jde", "sot", "seg")


def _strings(value):
    """Every string in a (nested) dataclass config."""
    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("system", SYSTEMS)
def test_presets_build_and_name_data_under_the_data_root(system, monkeypatch, tmp_path):
    configs = importlib.import_module(f"jaxmot.{system}.configs")
    monkeypatch.setenv("JAXMOT_DATA", str(tmp_path / "datasets"))
    for name in configs.PRESETS:
        config = configs.get_config(name)
        for text in _strings(config):
            assert "shared" not in text, (name, text)
            if "/" in text:  # a dataset path: read from $JAXMOT_DATA when the preset is built
                assert text.startswith(str(tmp_path / "datasets")), (name, text)
    with pytest.raises(ValueError, match=r"unknown .* config 'nope'; choose one of "):
        configs.get_config("nope")
