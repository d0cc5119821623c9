"""Fuzz the OpenAPI document: no request schemathesis can build may cause a 5xx, and every
response must match what the document promises (status, content type, body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.platform import Platform
from clew.server.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_schema(tmp_path: Path, clew_home: Path) -> Iterator[Any]:
    """SQLite only: the fuzzer exercises the HTTP layer, which is the same on both databases."""
    app_settings = Settings(
        home=clew_home, database_url=f"sqlite:///{tmp_path / 'fuzz.db'}", allowed_hosts="testserver"
    )
    platform = Platform.open(app_settings)
    # One real run, so that some generated requests get past "no such run".
    platform.tracking.create_run(Actor("fuzz"))
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(app_settings, platform))
    platform.close()


def test_api_conforms_to_its_openapi_document(fuzz_schema: Any) -> None:
    # schemathesis' pytest plugin (``from_fixture``) does not run on pytest 9 yet, so drive
    # hypothesis directly: one property per operation, a bounded number of examples each.
    failures: list[str] = []
    statuses: list[int] = []
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            statuses.append(case.call_and_validate(checks=CHECKS).status_code)

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(statuses) > 100 and {200, 201, 204, 400, 404} <= set(statuses)
