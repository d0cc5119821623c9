"""The ``clew`` command in local mode: people's tables, scripts' JSON, errors as one line."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clew.cli.main import app
from clew.client.client import Client
from clew.tracking.model import Metric

runner = CliRunner()


@pytest.fixture
def home(clew_home: Path) -> Path:
    return clew_home


def clew(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def clew_json(*args: str) -> object:
    return json.loads(clew(*args, "--json"))


@pytest.fixture
def seeded(home: Path) -> dict[str, str]:
    c = Client()
    eid = c.create_experiment("churn", tags={"team": "ml"})
    best = c.create_run(
        eid, run_name="best", params={"lr": "0.1"}, metrics=[Metric("acc", 0.9, 1, 0)]
    )
    worst = c.create_run(
        eid, run_name="worst", params={"lr": "0.5"}, metrics=[Metric("acc", 0.4, 1, 0)]
    )
    c.log_text(best.info.run_id, "hello", "notes/readme.txt")
    c.close()
    return {"eid": eid, "best": best.info.run_id, "worst": worst.info.run_id}


def test_experiments_lifecycle(home: Path) -> None:
    eid = clew_json("experiments", "create", "fraud", "--tag", "team=risk")["experiment_id"]  # type: ignore[index]
    listed = clew_json("experiments", "list", "--filter", "tags.team = 'risk'")
    assert [e["name"] for e in listed] == ["fraud"]  # type: ignore[union-attr,index]
    clew("experiments", "rename", "fraud", "fraud-v2")
    clew("experiments", "tag", eid, "owner=alice")
    shown = clew_json("experiments", "show", "fraud-v2")
    assert shown["tags"] == {"team": "risk", "owner": "alice"}  # type: ignore[index]
    clew("experiments", "delete", eid)
    assert clew_json("experiments", "list", "--view", "DELETED_ONLY")[0]["name"] == "fraud-v2"  # type: ignore[index]
    clew("experiments", "restore", eid)
    assert "fraud-v2" in clew("experiments", "list")


def test_runs_search_show_and_delete(seeded: dict[str, str]) -> None:
    found = clew_json(
        "runs", "search", "-f", "metrics.acc > 0.5 OR params.lr = '0.7'", "-o", "metrics.acc DESC"
    )
    assert [r["info"]["run_id"] for r in found["runs"]] == [seeded["best"]]  # type: ignore[index]
    table = clew("runs", "search", "-e", "churn", "-o", "metrics.acc DESC", "-c", "params.lr")
    assert table.index("best") < table.index("worst")
    shown = clew("runs", "show", seeded["best"])
    assert "lr" in shown and "notes/" in shown
    clew("runs", "delete", seeded["worst"])
    remaining = clew_json("runs", "list", "-e", seeded["eid"])
    assert [r["info"]["run_name"] for r in remaining["runs"]] == ["best"]  # type: ignore[index]
    clew("runs", "restore", seeded["worst"])
    assert len(clew_json("runs", "list")["runs"]) == 2  # type: ignore[index]


def test_artifacts_list_and_get(seeded: dict[str, str], tmp_path: Path) -> None:
    listed = clew_json("artifacts", "list", seeded["best"], "notes")
    assert [f["path"] for f in listed] == ["notes/readme.txt"]  # type: ignore[index]
    clew("artifacts", "get", seeded["best"], "--dest", str(tmp_path / "all"))
    assert (tmp_path / "all" / "notes" / "readme.txt").read_text() == "hello"
    clew("artifacts", "get", seeded["best"], "notes/readme.txt", "--dest", str(tmp_path / "one"))
    assert (tmp_path / "one" / "notes" / "readme.txt").read_text() == "hello"


def test_audit_verify_and_log(seeded: dict[str, str]) -> None:
    assert clew_json("audit", "verify")["ok"] is True  # type: ignore[index]
    events = clew_json("audit", "log", "--action", "run.create")
    assert {e["resource_id"] for e in events} == {seeded["best"], seeded["worst"]}  # type: ignore[union-attr]
    assert "run.create" in clew("audit", "log", "--limit", "3")


def test_audit_verify_fails_on_a_broken_chain(seeded: dict[str, str], home: Path) -> None:
    with sqlite3.connect(home / "clew.db") as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at event 2" in result.output


def test_db_upgrade_and_current(home: Path) -> None:
    assert "upgraded to" in clew("db", "upgrade") or "already at" in clew("db", "upgrade")
    from clew.core.migrate import head_revision

    assert f"current: {head_revision()}" in clew("db", "current")


def test_errors_are_one_line_with_a_code(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from clew.cli.main import main

    monkeypatch.setattr(sys, "argv", ["clew", "runs", "show", "0" * 32])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert "RESOURCE_DOES_NOT_EXIST" in capsys.readouterr().err
