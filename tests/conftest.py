"""Shared test settings: hypothesis profile and a seeded generator fixture."""

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
