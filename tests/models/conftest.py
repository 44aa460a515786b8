"""Fixtures for the `.flm` tests: small fitted scikit-learn models, built per test."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


@pytest.fixture
def sklearn_factory() -> Callable[..., tuple[Any, Any]]:
    """``sklearn_factory()`` -> (fitted LogisticRegression, its training inputs)."""

    def build(features: int = 3) -> tuple[Any, Any]:
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(7)
        inputs = rng.random((40, features))
        return LogisticRegression().fit(inputs, (inputs[:, 0] > 0.5).astype(int)), inputs

    return build
