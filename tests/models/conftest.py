"""Fixtures for the model-format tests: small fitted models and their training data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import need


@pytest.fixture
def frame() -> Any:
    pd = need("pandas")
    return pd.DataFrame(
        {
            "a": [0.1, 0.5, 0.9, 0.3, 0.7, 0.2],
            "b": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


@pytest.fixture
def labels() -> list[int]:
    return [0, 1, 1, 0, 1, 0]


@pytest.fixture
def matrix() -> Any:
    np = need("numpy")
    rng = np.random.default_rng(0)
    return rng.random((40, 3))


@pytest.fixture
def sk_logreg(frame: Any, labels: list[int]) -> Any:
    linear_model = need("sklearn.linear_model")
    return linear_model.LogisticRegression().fit(frame, labels)
