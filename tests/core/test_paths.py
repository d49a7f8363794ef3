"""Recorded dataset paths are found again under the data root ($JAXMOT_DATA)."""

from jaxmot.core.paths import data_path, rerooted


def test_a_recorded_path_that_exists_is_kept(tmp_path):
    assert rerooted(tmp_path) == tmp_path


def test_a_missing_recorded_path_is_found_under_the_data_root(tmp_path, monkeypatch):
    (tmp_path / "mot17_gt" / "train").mkdir(parents=True)
    monkeypatch.setenv("JAXMOT_DATA", str(tmp_path))
    assert rerooted("/elsewhere/shared/data/mot17_gt/train") == tmp_path / "mot17_gt" / "train"
    assert data_path("mot17_gt/train") == str(tmp_path / "mot17_gt" / "train")


def test_a_path_found_nowhere_comes_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXMOT_DATA", str(tmp_path))
    assert str(rerooted("/elsewhere/data/missing")) == "/elsewhere/data/missing"
    assert str(rerooted("relative/folder")) == "relative/folder"
