"""The installed package: the wheel ships the checkpoints, annotations and programs;
the `jaxmot` command runs the programs; paths do not depend on the working directory."""

import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

from jaxmot import cli
from jaxmot.core import paths

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel `pip wheel` builds from a copy of the sources (so the checkout gets no
    build/ folder and no stale build output can leak into the wheel)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("jaxmot", "pipelines", "checkpoints"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: use this environment's setuptools, no package index needed.
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        str(src),
        "--no-deps",
        "--no-build-isolation",
        "--no-cache-dir",
        "-q",
        "-w",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    (built,) = out.glob("jaxmot-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_wheel_ships_every_module_checkpoint_and_annotation(wheel):
    names = set(wheel.namelist())
    sources = [*(ROOT / "jaxmot").rglob("*.py"), *(ROOT / "pipelines").glob("*.py")]
    missing = [
        str(p.relative_to(ROOT))
        for p in sources
        if "__pycache__" not in p.parts and str(p.relative_to(ROOT)) not in names
    ]
    assert not missing, f"not in the wheel (add the package to pyproject.toml): {missing}"
    manifests = sorted((ROOT / "checkpoints").glob("*/model.json"))
    assert len(manifests) >= 6
    for path in (ROOT / "checkpoints").rglob("*"):  # model.json and every state file
        if path.is_file():
            assert f"jaxmot/checkpoints/{path.relative_to(ROOT / 'checkpoints')}" in names, path
    for path in (ROOT / "jaxmot" / "sot" / "annotations").iterdir():
        assert f"jaxmot/sot/annotations/{path.name}" in names, path


def test_wheel_installs_the_jaxmot_command(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[console_scripts]" in text and "jaxmot = jaxmot.cli:main" in text


def test_paths_do_not_depend_on_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert (paths.shipped_checkpoint("reid_synthetic_r18w16") / "model.json").is_file()
    monkeypatch.setenv("JAXMOT_DATA", str(tmp_path / "datasets"))
    assert paths.data_path("davis2016") == str(tmp_path / "datasets" / "davis2016")
    monkeypatch.delenv("JAXMOT_DATA")
    assert paths.data_root() == pathlib.Path("data")


def test_cli_lists_the_programs(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for program in ("demo", "track", "evaluate", "train_gnn", "bench"):
        assert f"\n  {program} " in out
    assert cli.main(["--help"]) == 0 and "usage: jaxmot PROGRAM" in capsys.readouterr().out
    # every listed program is a module of `pipelines` with a __main__ block
    for program in cli.programs():
        assert (ROOT / "pipelines" / f"{program}.py").is_file()


def test_cli_unknown_program_is_one_line_and_exit_2(capsys):
    assert cli.main(["trak", "--x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown program 'trak'" in err and "'track'" in err


def test_cli_runs_a_program(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", "--help"])
    assert exit_.value.code == 0 and "--gt" in capsys.readouterr().out


def test_python_dash_m_jaxmot(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "jaxmot", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "jaxmot", "nope"], cwd=tmp_path, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown program 'nope'" in bad.stderr
