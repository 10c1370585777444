"""Shared test settings: hypothesis profile, a seeded generator fixture, and the compile notice
sent to a sink."""

import os

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


def pytest_configure(config):
    # The CLI says on stderr when kernels compile (a fresh clone's first runs): tests that read
    # stderr must not depend on which test compiled first, so the notice goes to a sink here
    # (tests/test_accel.py checks it in a fresh process).
    import io

    from nnbasics._accel import announce_compilation

    announce_compilation(io.StringIO())
