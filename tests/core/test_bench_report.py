"""The shared benchmark table and config helpers (jaxmot.core.bench_report), and the
registry's `needs_features` (what pipelines.track asks before building its tracker)."""

import dataclasses
import json

import pytest

from jaxmot.core.bench_report import Column, check_choices, flag, format_table, report
from jaxmot.core.registry import TRACKER_NAMES, make_tracker, needs_features


def test_table_aligns_titles_and_cells_and_appends_the_footer():
    columns = (
        Column("name", 6, "name", left=True),
        Column("ms", 7, "ms", ".2f"),
        Column("x", 3, lambda r: f"{r['n']}x"),
    )
    table = format_table(columns, [{"name": "iou", "ms": 1.234, "n": 2}], footer=["(note)"])
    assert table.splitlines() == ["name        ms   x", "-" * 18, "iou       1.23  2x", "(note)"]


def test_check_choices_names_the_field():
    @dataclasses.dataclass(frozen=True)
    class Config:
        forms: tuple[str, ...] = flag(("a",), "forms to run", ("a", "b"))
        size: int = 3

        def __post_init__(self):
            check_choices(self)

    Config(forms=("b", "a"))
    with pytest.raises(ValueError, match=r"forms must be among \('a', 'b'\), got \['c'\]"):
        Config(forms=("a", "c"))


def test_report_writes_records_with_their_environment(tmp_path, capsys):
    out = tmp_path / "r.json"
    report([{"a": 1}], "TABLE", out)
    (record,) = json.loads(out.read_text())
    assert record["a"] == 1 and {"date", "jax", "backend"} <= set(record["environment"])
    assert "TABLE" in capsys.readouterr().out


@pytest.mark.parametrize("name", TRACKER_NAMES)
def test_needs_features_matches_the_built_tracker(name):
    assert needs_features(name) == make_tracker(name).needs_features


def test_needs_features_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown tracker"):
        needs_features("nope")
