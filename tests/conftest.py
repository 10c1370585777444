"""Shared test settings: hypothesis profile, a seeded generator fixture, and a numba cache that
cannot be stale across files."""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Deterministic and bounded property tests: the suite's time budget is shared by every module.
settings.register_profile(
    "nnbasics",
    max_examples=int(os.environ.get("NNBASICS_HYPOTHESIS_EXAMPLES", "60")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("nnbasics")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


# numba's disk cache (cache=True) checks only the timestamp of the file that defines a function.
# These modules compile code of _softmax_kernel.py into their own cached functions (run_task, the
# job fields): after an edit of that file their cache would keep running the old code.  Before a
# test session, a dependent's cache older than its dependency is removed.
_CROSS_FILE_NUMBA_DEPENDENCIES = {
    "helper_thread": "softmax_kernel.py",
}


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        return
    import nnbasics

    package = Path(nnbasics.__file__).parent / "accel"
    cache = package / "__pycache__"
    for dependent, dependency in _CROSS_FILE_NUMBA_DEPENDENCIES.items():
        source_time = (package / dependency).stat().st_mtime
        for entry in cache.glob(f"{dependent}.*.nb[ic]"):
            try:
                if entry.stat().st_mtime < source_time:
                    entry.unlink()
            except FileNotFoundError:  # another session removed it first
                pass
