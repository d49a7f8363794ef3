"""The package layout: a shared core, the training stack, one package per system.

A system package imports only `jaxmot.core` and `jaxmot.train` (never another system);
the core and the training stack import no system; importing `jaxmot` or one system is
cheap (it loads no other system). Programs in `pipelines/` combine systems and never
import each other.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "jaxmot"
SYSTEMS = ("mot", "reid", "gnn", "jde", "sot", "seg")
SHARED = ("core", "train")


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module a file imports (at any depth: lazy imports inside functions count)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}: relative import; use absolute jaxmot.* imports")
            if node.module == "jaxmot":
                found.update(f"jaxmot.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
    return found


def owner(module: str) -> str | None:
    """'jaxmot.sot.model' -> 'sot'; 'pipelines.track' -> 'pipelines'; others None."""
    parts = module.split(".")
    if parts[0] == "pipelines":
        return "pipelines"
    if parts[0] == "jaxmot" and len(parts) > 1:
        return parts[1]
    return None


def library_files():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_library_module_belongs_to_core_train_or_a_system():
    tops = {p.relative_to(PACKAGE).parts[0] for p in library_files()}
    assert tops <= {*SYSTEMS, *SHARED, "__init__.py", "__main__.py", "cli.py"}, tops


@pytest.mark.parametrize("path", library_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_import_rule(path):
    here = path.relative_to(PACKAGE).parts[0]
    allowed = {*SHARED, here} if here in SYSTEMS else {*SHARED}
    if here == "__main__.py":
        allowed.add("cli")  # `python -m jaxmot` is the `jaxmot` command
    bad = []
    for module in imported_modules(path):
        who = owner(module)
        if who == "pipelines" or (who is not None and who not in allowed):
            bad.append(module)
    where = f"system {here!r}" if here in SYSTEMS else f"{here!r}"
    assert not bad, f"{path.relative_to(ROOT)} ({where}) imports {sorted(bad)}"


def test_only_the_registry_imports_by_name():
    """Systems are resolved by name (importlib) in one place, core/registry.py, which the
    import rule allows: anywhere else a dynamic import would hide a forbidden edge."""
    users = [
        str(path.relative_to(ROOT))
        for path in library_files()
        if "import_module(" in path.read_text() and path != PACKAGE / "core" / "registry.py"
    ]
    assert not users, f"dynamic imports outside jaxmot/core/registry.py: {users}"


def test_programs_never_import_programs():
    for path in sorted((ROOT / "pipelines").glob("*.py")):
        bad = [m for m in imported_modules(path) if owner(m) == "pipelines"]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import sys; {statement}; "
        "print('\\n'.join(m for m in sys.modules if m.startswith('jaxmot')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return out.stdout.split()


@pytest.mark.parametrize("system", SYSTEMS)
def test_importing_a_system_loads_no_other_system(system):
    loaded = _loaded_after(f"import jaxmot.{system}")
    others = [m for m in loaded if owner(m) not in (system, *SHARED, None)]
    assert not others, f"import jaxmot.{system} loaded {others}"
    # the package itself is cheap: its __init__ imports nothing
    assert loaded == ["jaxmot", f"jaxmot.{system}"], loaded


def test_importing_jaxmot_is_cheap():
    assert _loaded_after("import jaxmot") == ["jaxmot"]
    out = subprocess.run(
        [sys.executable, "-c", "import sys, jaxmot; print('jax' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_system_module_loads_only_its_system_and_the_core(system):
    """Deep imports too: every module of the system, imported in one fresh process."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (PACKAGE / system).rglob("*.py")
        if p.name != "__init__.py" and "tfds" not in p.name
    )
    loaded = _loaded_after("; ".join(f"import {m}" for m in modules))
    others = [m for m in loaded if owner(m) not in (system, *SHARED, None)]
    assert not others, f"the modules of jaxmot.{system} loaded {others}"
