"""The public surface of ``clew``: what it exports, and that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import clew
from clew.client import session

HEAVY = ("pandas", "numpy", "matplotlib", "fastapi", "sqlalchemy", "httpx", "pydantic")


def test_import_pulls_in_nothing_heavy() -> None:
    code = f"import sys, clew; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_exports_resolve() -> None:
    for name in clew.__all__:
        assert getattr(clew, name) is not None, name
    assert isinstance(clew.__version__, str)


def test_fluent_names_match_mlflow() -> None:
    for name in (
        "start_run",
        "end_run",
        "active_run",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "set_tag",
        "set_tags",
        "set_experiment",
        "set_tracking_uri",
        "get_tracking_uri",
        "search_runs",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_figure",
        "log_input",
        "flush",
    ):
        assert callable(getattr(clew, name)), name


def test_tracking_uri_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session._registry, "uri", None)
    monkeypatch.setenv("CLEW_TRACKING_URI", "http://env.invalid:1")
    assert clew.get_tracking_uri() == "http://env.invalid:1"
    clew.set_tracking_uri("http://example.invalid:5000")
    assert clew.get_tracking_uri() == "http://example.invalid:5000"


def test_tracking_uri_picks_the_transport(clew_home: Path) -> None:
    from clew.client.http import HttpTransport
    from clew.client.local import LocalTransport

    remote = clew.Client("http://127.0.0.1:9")
    assert isinstance(remote.transport, HttpTransport)
    assert remote.is_remote
    remote.close()
    for uri in (str(clew_home / "a"), f"file://{clew_home / 'b'}", ""):
        local = clew.Client(uri)
        assert isinstance(local.transport, LocalTransport)
        assert not local.is_remote
        local.close()
    assert (clew_home / "a" / "clew.db").exists()
    assert (clew_home / "b" / "clew.db").exists()
    assert (clew_home / "clew.db").exists()
