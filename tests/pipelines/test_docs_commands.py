"""Every command in README.md and docs/*.md runs as written.

The commands are read from the docs themselves: each `python -m pipelines.<name> ...`
and `jaxmot <name> ...` in a fenced code block or an inline code span. For every
program, `<program> --help` (after its subcommand, e.g. `bench sot --help`) must exit 0
and name every `--flag` the docs use with it, so renaming or dropping a flag fails here.
A few cheap commands run in full, exactly as written, in a scratch folder that mirrors
the repository root (`checkpoints/`, and `data/` linked to the real samples).

Also checked: the README starts with the two commands CI runs (.ci/run), stays short,
every `just <recipe>` exists, every relative link resolves, and the docs name no file
outside the repository.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PROGRAMS = {p.stem for p in (REPO / "pipelines").glob("*.py") if not p.stem.startswith("_")}

INSTALL_AND_DEMO = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/jaxmot demo"
INSTALL_AND_TEST = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/just test"
)

# Run in full, as written (each must appear verbatim in the docs); grouped where a
# later command reads what an earlier one wrote. About 45 s together on 2 cores.
DEMO_RUN = ("python -m pipelines.demo --frames 40 --no-video",)
TUD_RUN = (
    "python -m pipelines.track --sequence data/mot15/train/TUD-Campus"
    " --output runs/tud/TUD-Campus.txt",
    "python -m pipelines.track --sequence data/mot15/train/TUD-Stadtmitte"
    " --output runs/tud/TUD-Stadtmitte.txt",
    "python -m pipelines.evaluate --gt data/mot15/train --results runs/tud",
)

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`([^`\n]+(?:\n[^`\n]+)*)`")
_COMMAND = re.compile(r"(?:^|\s)(?:\S*/)?(?:python3?\s+-m\s+pipelines\.|jaxmot\s+)([a-z_]+)\b(.*)$")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_POSITIONAL = re.compile(r"^[a-z][a-z_]*$")


def _logical_lines(block: str) -> list[str]:
    """A code block's shell lines: continuations joined, comments dropped, && split."""
    text = re.sub(r"\\\n", " ", block)
    lines = []
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        lines += [part.strip() for part in line.split("&&") if part.strip()]
    return lines


def _parse(line: str) -> tuple[str, tuple[str, ...], frozenset[str]] | None:
    """(program, leading positional words, flags) of a command line, or None."""
    match = _COMMAND.search(line)
    if match is None:
        return None
    program, rest = match.group(1), match.group(2)
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    positional = []
    for word in words:
        if not _POSITIONAL.match(word):
            break
        positional.append(word)
    return program, tuple(positional), frozenset(_FLAG.findall(rest))


@functools.cache
def documented_commands() -> tuple[tuple[str, str], ...]:
    """(where, command line) for every command in the docs, in order."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO).as_posix()
        for block in _FENCE.findall(text):
            found += [(where, line) for line in _logical_lines(block) if _parse(line)]
        prose = _FENCE.sub("", text)
        for span in _INLINE.findall(prose):
            span = " ".join(span.split())
            if re.match(r"(python3?\s+-m\s+pipelines\.|jaxmot\s+[a-z_]+)", span) and _parse(span):
                found.append((where, span))
    return tuple(found)


def _help_targets() -> dict[tuple[str, tuple[str, ...]], list[tuple[str, str, frozenset]]]:
    """(program, positional words) -> the documented commands that use it."""
    targets: dict = {}
    for where, line in documented_commands():
        program, positional, flags = _parse(line)
        targets.setdefault((program, positional), []).append((where, line, flags))
    return targets


HELP_TARGETS = _help_targets()


def _run(args: list[str], cwd: pathlib.Path, timeout: float, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


# One child process prints every program's --help through the `jaxmot` command
# (jaxmot.cli runs pipelines.<name> as `python -m` does), so JAX is imported once, not
# once per program.
_HELP_SCRIPT = """
import contextlib, io, json, sys
from jaxmot.cli import main
texts = []
for words in json.loads(sys.argv[1]):
    out, err, code = io.StringIO(), io.StringIO(), 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*words, "--help"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    texts.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(texts))
"""


@pytest.fixture(scope="module")
def help_texts() -> dict:
    """(exit status, stdout, stderr) of `jaxmot <program> [positional] --help` for every
    documented program."""
    keys = [key for key in HELP_TARGETS if key[0] in PROGRAMS]
    words = json.dumps([[program, *positional] for program, positional in keys])
    result = _run([sys.executable, "-c", _HELP_SCRIPT, words], REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    texts = json.loads(result.stdout.strip().splitlines()[-1])
    return dict(zip(keys, texts, strict=True))


def test_the_docs_document_commands():
    programs = {key[0] for key in HELP_TARGETS}
    assert len(documented_commands()) > 40
    for expected in ("demo", "track", "evaluate", "train_gnn", "bench", "track_sot"):
        assert expected in programs


@pytest.mark.parametrize("key", sorted(HELP_TARGETS), ids=lambda key: " ".join((key[0], *key[1])))
def test_documented_flags_exist(key, help_texts):
    program, positional = key
    uses = HELP_TARGETS[key]
    assert program in PROGRAMS, f"{uses[0][0]}: no program pipelines.{program}: {uses[0][1]}"
    code, text, errors = help_texts[key]
    name = " ".join((program, *positional))
    assert code == 0, f"`jaxmot {name} --help` failed:\n{errors[-2000:]}"
    for where, line, flags in uses:
        for flag in sorted(flags):
            if flag == "--help":
                continue
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), (
                f"{where}: `{name}` has no flag {flag} (command: {line})"
            )


@pytest.fixture
def scratch(tmp_path) -> pathlib.Path:
    """A folder standing in for the repository root: its checkpoints, a data root."""
    (tmp_path / "checkpoints").symlink_to(REPO / "checkpoints")
    return tmp_path


def _run_as_written(commands, cwd: pathlib.Path) -> list[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    documented = {line for _, line in documented_commands()}
    outputs = []
    for command in commands:
        assert command in documented, f"no longer in the docs: {command}"
        words = shlex.split(command)
        assert words[:2] == ["python", "-m"]
        result = _run([sys.executable, *words[1:]], cwd, timeout=300, env=env)
        assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        outputs.append(result.stdout)
    return outputs


def test_demo_runs_as_written(scratch):
    (output,) = _run_as_written(DEMO_RUN, scratch)
    assert "longterm+reid" in output and "gnn+reid" in output  # shipped models were found
    assert (scratch / "runs" / "demo" / "summary.json").is_file()


def test_tud_commands_run_as_written_and_give_the_documented_figures(scratch, shared_data):
    (scratch / "data").symlink_to(shared_data)
    *_, table = _run_as_written(TUD_RUN, scratch)
    overall = next(line for line in table.splitlines() if line.startswith("OVERALL"))
    # docs/mot.md's `iou` overall row: MOTA 70.8, IDF1 77.3, HOTA 53.8, 16 ID switches
    documented = "| overall | **70.8** | **77.3** | **53.8** | 16 |"
    assert documented in (REPO / "docs" / "mot.md").read_text(encoding="utf-8")
    header = next(line for line in table.splitlines() if line.startswith("Sequence")).split()
    assert overall.split()[header.index("HOTA")] == "53.8"
    assert overall.split()[header.index("MOTA")] == "70.8"
    assert overall.split()[header.index("IDF1")] == "77.3"
    assert overall.split()[header.index("IDs")] == "16"


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = _FENCE.search(readme)
    assert readme[: first_block.start()].strip() == "# jaxmot"
    lines = [ln for ln in first_block.group(1).splitlines() if ln.strip()]
    assert lines == [INSTALL_AND_DEMO, INSTALL_AND_TEST]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert INSTALL_AND_TEST.replace("pip install", "pip install -q") in ci
    assert len(readme.splitlines()) <= 250


def test_every_just_recipe_named_in_the_docs_exists():
    justfile = (REPO / "justfile").read_text(encoding="utf-8")
    recipes = set(re.findall(r"^([a-z][\w-]*)\b[^\n:=]*:(?!=)", justfile, re.M))
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in _FENCE.findall(text):
            for line in _logical_lines(block):
                match = re.match(r"(?:\S*/)?just\s+([a-z][\w-]*)", line)
                if match:
                    assert match.group(1) in recipes, f"{path.name}: no recipe in: {line}"


def test_relative_links_resolve():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


@pytest.mark.parametrize("phrase", ["../shared", "reference.md", "the course"])
def test_the_docs_name_nothing_outside_the_repository(phrase):
    for path in [*DOCS, REPO / "checkpoints" / "README.md"]:
        text = path.read_text(encoding="utf-8").lower()
        assert phrase not in text, f"{path.relative_to(REPO)} mentions {phrase!r}"
