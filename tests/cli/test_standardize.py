"""The CLI's standardizer: scikit-learn's StandardScaler arithmetic, saved as metadata."""

import json

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from nnbasics.cli.standardize import Standardizer


def test_fit_and_transform_match_scikit_learns_standard_scaler(rng):
    X = (rng.normal(size=(200, 4)) * [1, 1e3, 1e-3, 0] + [5, -2, 0, 7]).astype(np.float32)
    ours = Standardizer.fit(X)
    theirs = StandardScaler().fit(X.astype(np.float64))
    np.testing.assert_allclose(ours.mean, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.scale, theirs.scale_, rtol=1e-12)
    assert ours.scale[3] == 1.0  # a constant feature is centred, not divided by zero
    Z = ours.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z, theirs.transform(X.astype(np.float64)), atol=1e-5)


def test_metadata_round_trip_is_exact_through_json(rng):
    s = Standardizer.fit(rng.normal(size=(50, 3)))
    back = Standardizer.from_metadata(json.loads(json.dumps({"standardize": s.to_metadata()})))
    assert np.array_equal(back.mean, s.mean) and np.array_equal(back.scale, s.scale)
    assert Standardizer.from_metadata({}) is None


@pytest.mark.parametrize("saved", [
    {"mean": [0.0], "scale": [0.0]},
    {"mean": [0.0, 1.0], "scale": [1.0]},
    {"mean": [float("nan")], "scale": [1.0]},
    {"scale": [1.0]},
    "junk",
])
def test_a_damaged_saved_standardizer_is_a_value_error(saved):
    with pytest.raises(ValueError, match="standardizer is invalid"):
        Standardizer.from_metadata({"standardize": saved})


def test_wrong_number_of_features_is_named():
    s = Standardizer(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="the data has 2 features but the model's "
                                         "standardizer 3"):
        s.transform(np.zeros((4, 2)))
