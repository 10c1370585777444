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
# A module that compiles numba code of another file into its own cached functions (an @overload or
# @intrinsic imported from there) would keep running the old code after an edit of that file, so
# before a test session a dependent's cache older than its dependency is removed.  Entries:
# dependent module -> the file it compiles code of.  None at present: ``exp_nonpositive``, which
# mlp_kernels compiled from the deleted softmax kernel, now lives in mlp_kernels.py itself.
_CROSS_FILE_NUMBA_DEPENDENCIES: dict[str, str] = {}


def pytest_configure(config):
    # The CLI says on stderr when kernels compile (a fresh clone's first runs): tests that read
    # stderr must not depend on which test compiled first, so the notice goes to a sink here
    # (tests/test_accel.py checks it in a fresh process).
    import io

    from nnbasics._accel import announce_compilation

    announce_compilation(io.StringIO())
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        return
    import nnbasics

    package = Path(nnbasics.__file__).parent / "_accel"
    cache = package / "__pycache__"
    for dependent, dependency in _CROSS_FILE_NUMBA_DEPENDENCIES.items():
        source_time = (package / dependency).stat().st_mtime
        for entry in cache.glob(f"{dependent}.*.nb[ic]"):
            try:
                if entry.stat().st_mtime < source_time:
                    entry.unlink()
            except FileNotFoundError:  # another session removed it first
                pass
