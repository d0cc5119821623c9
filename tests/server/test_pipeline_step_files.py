"""A step's small output files arrive base64 in JSON: anything else is a 400, never a 500."""

from __future__ import annotations

import pytest

from .conftest import TestClient, assert_error

RUN = "a" * 32


@pytest.mark.parametrize("data", ["not base64!", "é", "QUJD\u00e9"])
def test_a_file_that_is_not_base64_is_refused(api: TestClient, data: str) -> None:
    body = {"outputs": [], "inputs": [], "status": "FINISHED", "files": {"out": {"f": data}}}
    response = api.post(f"/api/v1/pipeline-runs/{RUN}/steps/{RUN}", json=body)
    assert_error(response, 400, "INVALID_PARAMETER_VALUE")
