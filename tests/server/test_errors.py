"""The error shape (datasette's ``test_error_shape``): every error class, one JSON shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from clew.core import errors
from clew.core.errors import ClewError, error_from_dict
from clew.server import errors as server_errors  # noqa: F401 - registers server-side classes
from clew.server.errors import validation_error

from .conftest import TestClient, assert_error


def _classes() -> list[type[ClewError]]:
    out, queue = [], [ClewError]
    while queue:
        cls = queue.pop(0)
        out.append(cls)
        queue.extend(cls.__subclasses__())
    return out


ALL_ERRORS = _classes()


@pytest.fixture
def boom_api(app: FastAPI) -> Iterator[TestClient]:
    """The app plus a route that raises whatever ``?name=`` names."""

    by_name = {cls.__name__: cls for cls in ALL_ERRORS}

    @app.get("/api/v1/boom")
    def boom(name: str) -> None:
        if name == "KeyError":
            raise KeyError("secret-internal-detail")
        raise by_name[name]("it broke", extra="detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_class_has_the_json_shape(boom_api: TestClient, cls: type[ClewError]) -> None:
    response = boom_api.get("/api/v1/boom", params={"name": cls.__name__})
    error = assert_error(response, cls.status, cls.code)
    assert error == {"code": cls.code, "message": "it broke", "details": {"extra": "detail"}}
    assert response.headers["x-content-type-options"] == "nosniff"
    rebuilt = error_from_dict(error, response.status_code)
    assert type(rebuilt) is cls and rebuilt.details == {"extra": "detail"}


def test_temporarily_unavailable_says_when_to_retry(boom_api: TestClient) -> None:
    response = boom_api.get("/api/v1/boom", params={"name": "TemporarilyUnavailable"})
    assert response.headers["retry-after"] == "1"


def test_unexpected_exception_is_a_bare_500(boom_api: TestClient) -> None:
    response = boom_api.get("/api/v1/boom", params={"name": "KeyError"})
    assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret-internal-detail" not in response.text and "Traceback" not in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_unknown_route_and_method(api: TestClient) -> None:
    assert_error(api.get("/api/v1/nope"), 404, "ENDPOINT_NOT_FOUND")
    assert_error(api.put("/api/v1/audit/verify"), 405, "METHOD_NOT_ALLOWED")


def test_missing_query_parameter(api: TestClient) -> None:
    error = assert_error(api.get("/api/v1/experiments/by-name"), 400, "INVALID_PARAMETER_VALUE")
    assert "name" in error["message"]


def test_validation_error_is_bounded_and_names_fields() -> None:
    items: list[dict[str, Any]] = [
        {"type": "int_type", "loc": ("body", "x" * 10_000, i), "msg": "bad " * 1000, "input": "S"}
        for i in range(100)
    ]
    error = validation_error(items)
    assert error.code == "INVALID_PARAMETER_VALUE"
    assert len(error.message) <= 1000 and "S" not in error.message.replace("Invalid", "")
    too_long = validation_error([{"type": "string_too_long", "loc": ("body", "name"), "msg": "m"}])
    assert too_long.code == "LIMIT_EXCEEDED"


def test_core_errors_module_is_the_source_of_codes() -> None:
    assert errors.NotFound.code == "RESOURCE_DOES_NOT_EXIST"
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(codes) == len(set(codes)), "codes must be unique"
