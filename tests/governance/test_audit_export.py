"""The audit log exported as JSON Lines with a signed head, on both transports and databases,
and checked offline: every kind of tampering with the file is named (issue 6, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clew.audit.export import load_public_key, new_key, verify_export
from clew.cli.main import app
from clew.client.client import Client
from clew.core.settings import Settings


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = new_key()
    (tmp_path / "audit.key").write_bytes(private)
    (tmp_path / "audit.pub").write_bytes(public)
    return tmp_path / "audit.key", tmp_path / "audit.pub"


@pytest.fixture
def settings(clew_home: Path, database_url: str, keys: tuple[Path, Path]) -> Settings:
    """The store signs its exports (overrides the root fixture for the client fixtures)."""
    return Settings(
        home=clew_home,
        database_url=database_url,
        audit_signing_key=str(keys[0]),
        allowed_hosts="testserver",
    )


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _fill(client: Client) -> None:
    eid = client.create_experiment("audited")
    for i in range(3):
        run = client.create_run(eid, run_name=f"r{i}")
        client.log_param(run.info.run_id, "i", str(i))


def test_an_export_verifies_with_its_key_and_nothing_else(
    client: Client, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    _fill(client)
    out = client.export_audit(tmp_path / "log.jsonl")
    lines = _lines(out)
    events, head = lines[:-1], json.loads(lines[-1])
    assert len(events) == client.verify_audit().checked and len(events) >= 7
    assert head["head"]["seq"] == json.loads(events[-1])["seq"] and head["signature"]
    public = load_public_key(keys[1])
    result = verify_export(lines, public)
    assert result.ok and result.signed and result.checked == len(events), result
    _, other_public = new_key()
    (tmp_path / "other.pub").write_bytes(other_public)
    assert not verify_export(lines, load_public_key(tmp_path / "other.pub")).ok
    tail = client.export_audit(tmp_path / "tail.jsonl", since_seq=5)
    part = verify_export(_lines(tail), public)
    assert part.ok and part.first_seq == 5


def _edited(lines: list[bytes], index: int, **changes: object) -> list[bytes]:
    record = json.loads(lines[index])
    record.update(changes)
    return [*lines[:index], json.dumps(record).encode() + b"\n", *lines[index + 1 :]]


def _head(lines: list[bytes], **changes: object) -> dict[str, object]:
    return {**json.loads(lines[-1])["head"], **changes}


def test_every_kind_of_tampering_is_named(
    client: Client, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    _fill(client)
    lines = _lines(client.export_audit(tmp_path / "log.jsonl"))
    public = load_public_key(keys[1])
    third = json.loads(lines[2])
    cases = {
        "edited": (_edited(lines, 2, actor="mallory"), third["seq"], "content was altered"),
        "deleted": ([*lines[:2], *lines[3:]], third["seq"], "event missing"),
        "reordered": ([lines[0], lines[2], lines[1], *lines[3:]], None, "event missing"),
        "cut short": (lines[:-1], None, "no head line"),
        "tail dropped": ([*lines[:-2], lines[-1]], None, "does not name the last event"),
        "appended": ([*lines, lines[0]], None, "follows the head"),
        "re-headed": (
            _edited(lines, len(lines) - 1, head={**json.loads(lines[-1])["head"], "seq": 1}),
            None,
            "does not name",
        ),
    }
    for name, (tampered, seq, reason) in cases.items():
        result = verify_export(tampered, public)
        assert not result.ok, name
        assert reason in (result.reason or ""), (name, result)
        if seq is not None:
            assert result.broken_seq == seq, (name, result)
    forged_head = _edited(lines, len(lines) - 1, signature=json.loads(lines[-1])["signature"][:-4]
                          + "AAA=")  # fmt: skip
    assert verify_export(forged_head, public).reason == "the head's signature is not this key's"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_makes_keys_exports_and_checks_them(
    clew_home: Path, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / "signer")])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "signer.key").stat().st_mode & 0o077 == 0
    assert runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / "signer")]).exit_code != 0
    monkeypatch.setenv("CLEW_AUDIT_SIGNING_KEY", str(tmp_path / "signer.key"))
    with Client() as client:
        _fill(client)
    log = tmp_path / "log.jsonl"
    assert runner.invoke(app, ["audit", "export", "--out", str(log)]).exit_code == 0
    ok = runner.invoke(app, ["audit", "verify", "--file", str(log), "--public-key",
                             str(tmp_path / "signer.pub"), "--json"])  # fmt: skip
    assert ok.exit_code == 0 and json.loads(ok.output)["signed"] is True, ok.output
    tampered = log.read_bytes().replace(b'"action":"run.create"', b'"action":"run.delete"', 1)
    assert tampered != log.read_bytes()
    log.write_bytes(tampered)
    bad = runner.invoke(app, ["audit", "verify", "--file", str(log)])
    assert bad.exit_code == 1 and "content was altered" in bad.output
