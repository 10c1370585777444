"""Features on their scale: the command line standardises them, fitted on the training rows.

``z = (x - mean) / scale`` per feature, with ``mean`` and ``scale`` (the standard deviation, 1
where a feature is constant) of the training rows only, as scikit-learn's ``StandardScaler``
computes them.  ``nnbasics train`` fits it (unless ``--no-scale``) and saves both vectors in the
model file's metadata; ``evaluate`` and ``predict`` apply the saved ones, so every row a model
sees is on the scale it was trained on.  Gradient descent on unscaled features is slow to the
point of failing quietly (wine: 0.71 test accuracy unscaled, 1.00 standardised).

The Python API leaves this to the user, as scikit-learn does:
``make_pipeline(StandardScaler(), MLPClassifier())``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Standardizer"]


class Standardizer:
    """Per-feature ``mean`` and ``scale`` (float64, shape (D,)) and their transform."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        if self.mean.ndim != 1 or self.mean.shape != self.scale.shape:
            raise ValueError(f"a standardizer needs mean and scale of one shape (D,), got "
                             f"{self.mean.shape} and {self.scale.shape}")
        if not (np.isfinite(self.mean).all() and np.isfinite(self.scale).all()
                and (self.scale > 0).all()):
            raise ValueError("a standardizer's mean must be finite and its scale positive")

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """Mean and standard deviation of the rows of ``X`` (N, D), in float64; a scale below
        ``10 * eps`` (a constant feature) becomes 1, as in scikit-learn."""
        X = np.asarray(X)
        mean = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        return cls(mean, scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean) / scale`` in ``X``'s float dtype (float32 for the CLI's data)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"the data has {X.shape[-1]} features but the model's "
                             f"standardizer {self.mean.shape[0]}")
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        return ((X - self.mean) / self.scale).astype(dtype, copy=False)

    def to_metadata(self) -> dict[str, Any]:
        """JSON-ready: Python floats keep every bit of a float64 (``repr`` round-trips)."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_metadata(cls, extra: dict[str, Any]) -> Standardizer | None:
        """The standardizer saved with a model (``extra["standardize"]``), None if it has none;
        ValueError if what is saved is not one."""
        saved = extra.get("standardize")
        if saved is None:
            return None
        try:
            return cls(saved["mean"], saved["scale"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the model's saved standardizer is invalid ({exc})") from None
