"""``clew models …`` in local mode: tables for people, JSON for scripts, exit codes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clew.cli.main import app
from clew.cli.models import parse_time
from clew.client.client import Client

runner = CliRunner()


def clew(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def clew_json(*args: str) -> object:
    return json.loads(clew(*args, "--json"))


@pytest.fixture
def seeded(clew_home: Path) -> str:
    c = Client()
    run = c.create_run(run_name="train")
    c.log_text(run.run_id, "flavors: {}\n", "model/MLmodel")
    c.create_registered_model("churn", tags={"team": "ml"}, description="Churn model")
    c.create_model_version("churn", f"runs:/{run.run_id}/model")
    c.create_model_version("churn", "s3://bucket/churn/2")
    c.create_registered_model("fraud")
    c.close()
    return run.run_id


def test_list_show_and_versions(seeded: str) -> None:
    assert "churn" in clew("models", "list")
    listed = clew_json("models", "list", "--filter", "tags.team = 'ml'")
    assert [m["name"] for m in listed["registered_models"]] == ["churn"]  # type: ignore[index]
    shown = clew_json("models", "show", "churn")
    assert [v["version"] for v in shown["versions"]] == [2, 1]  # type: ignore[index]
    assert "Churn model" in clew("models", "show", "churn")
    versions = clew_json("models", "versions", "churn", "--filter", f"run_id = '{seeded}'")
    assert [v["version"] for v in versions["model_versions"]] == [1]  # type: ignore[index]
    assert "Model versions" in clew("models", "versions")


def test_alias_stage_and_history(seeded: str) -> None:
    clew("models", "alias", "set", "churn", "champion", "1")
    time.sleep(0.01)
    between = str(int(time.time() * 1000))
    time.sleep(0.01)
    clew("models", "alias", "set", "churn", "champion", "2")
    assert clew_json("models", "show", "churn")["aliases"] == {"champion": 2}  # type: ignore[index]
    moved = clew_json("models", "stage", "churn", "2", "production")
    assert moved["current_stage"] == "Production"  # type: ignore[index]
    history = clew_json("models", "history", "churn", "--alias", "champion", "--at", between)
    assert history["version_at"] == 1  # type: ignore[index]
    assert [m["version"] for m in history["moves"]] == [1, 2]  # type: ignore[index]
    text = clew("models", "history", "churn", "--at", between)
    assert "stage Production" in text and "champion→1" in text
    clew("models", "alias", "rm", "churn", "champion")
    assert clew_json("models", "show", "churn")["aliases"] == {}  # type: ignore[index]


def test_verify_reports_and_exits_1_on_damage(seeded: str, clew_home: Path) -> None:
    assert "intact" in clew("models", "verify", "churn", "1")
    files = Client().list_model_version_files("churn", 1)
    digest = files[0].digest
    os.remove(clew_home / "artifacts" / "blobs" / digest[:2] / digest[2:])
    result = clew_json_code("models", "verify", "churn", "1")
    assert result["missing"] == ["MLmodel"] and not result["ok"]


def clew_json_code(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_errors_are_one_line(seeded: str) -> None:
    from clew.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        import sys

        argv = sys.argv
        sys.argv = ["clew", "models", "show", "nope"]
        try:
            main()
        finally:
            sys.argv = argv
    assert exit_info.value.code == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000000", 1_700_000_000_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000_000),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text) == expected
