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
