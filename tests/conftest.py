"""Shared fixtures.

`shared_data` points at ../shared/data (real public samples). Tests that need it skip
with a clear reason when it is missing, and fail instead when CI=true.
"""

import os
import pathlib

import pytest

SHARED_DATA = pathlib.Path(
    os.environ.get(
        "JAXMOT_SHARED_DATA", pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
).resolve()


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    if not SHARED_DATA.is_dir():
        msg = f"../shared/data not found at {SHARED_DATA} (set JAXMOT_SHARED_DATA to point at it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + "; CI=true requires it")
        pytest.skip(msg)
    return SHARED_DATA


# Modules whose tests compile and train whole pipelines (minutes each on 2 cores),
# longest first. Collected first, so `pytest -n 2 --dist loadfile` (what `just test`
# runs) starts them at once and the many short modules fill the other worker, instead
# of one of them starting last and running alone.
_LONG_MODULES = (
    "test_sot_tracker.py",
    "test_jde_pipeline.py",
    "test_pipelines.py",
    "test_gnn.py",
    "test_ettrack.py",
    "test_segmenter.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return _LONG_MODULES.index(name) if name in _LONG_MODULES else len(_LONG_MODULES)

    items.sort(key=rank)  # stable: test order within a module is kept
