"""Background batching of fluent logging: flushed on end_run, flush() and exit; failures surface."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import clew
from clew import Client, ParamOverwrite, TemporarilyUnavailable
from clew.client.batching import BatchLimits, LogBuffer
from clew.client.transport import Transport
from clew.tracking.model import Metric

pytestmark = pytest.mark.usefixtures("async_logging")


class FlakyTransport:
    """Forwards to a real transport; ``log_batch`` raises ``fail`` while it is set."""

    is_remote = True

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.fail: Exception | None = None
        self.batches = 0

    def log_batch(self, *args: Any, **kwargs: Any) -> None:
        self.batches += 1
        if self.fail is not None:
            raise self.fail
        self.inner.log_batch(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_buffered_writes_arrive_on_end_run(fluent: Client) -> None:
    run = clew.start_run()
    clew.log_param("p", "v")
    clew.log_metric("m", 1.0, step=0)
    clew.set_tag("t", "x")
    clew.end_run()
    got = fluent.get_run(run.info.run_id)
    assert (got.data.params, got.data.metrics["m"].value, got.data.tags["t"]) == (
        {"p": "v"},
        1.0,
        "x",
    )
    assert got.info.status == "FINISHED"


def test_flush_makes_writes_visible_mid_run(fluent: Client) -> None:
    with clew.start_run() as run:
        for step in range(50):
            clew.log_metric("m", float(step), step=step)
        clew.flush()
        assert len(fluent.get_metric_history(run.info.run_id, "m")) == 50


def test_later_tag_value_wins(fluent: Client) -> None:
    with clew.start_run() as run:
        clew.set_tag("t", "first")
        clew.set_tag("t", "second")
        clew.set_tag("t", "third", synchronous=True)
    assert fluent.get_run(run.info.run_id).data.tags["t"] == "third"


def test_flush_with_nothing_buffered_sends_nothing(
    fluent: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(fluent.transport, "log_batch", lambda *a, **k: calls.append(a))
    for _ in range(1000):
        clew.flush()
    assert calls == []


def test_conflicting_param_in_buffer_surfaces_at_end_run(fluent: Client) -> None:
    run = clew.start_run()
    clew.log_param("p", 1)
    clew.log_param("p", 2)
    clew.log_metric("kept", 1.0)
    with pytest.raises(ParamOverwrite) as raised:
        clew.end_run()
    assert any("background logging" in n for n in raised.value.__notes__)
    got = fluent.get_run(run.info.run_id)
    assert got.info.status == "FAILED"  # a run whose writes failed did not finish cleanly
    assert got.data.metrics["kept"].value == 1.0  # one bad param does not sink the batch
    assert clew.active_run() is None


def test_param_overwrite_against_stored_value_surfaces_at_flush(fluent: Client) -> None:
    with clew.start_run() as run:
        clew.log_param("p", 1)
        clew.flush()
        clew.log_param("p", 2)
        clew.log_metric("m", 3.0)
        with pytest.raises(ParamOverwrite):
            clew.flush()
        clew.flush()  # reported once, then cleared
    got = fluent.get_run(run.info.run_id)
    assert got.data.params == {"p": "1"}
    assert got.data.metrics["m"].value == 3.0
    assert got.info.status == "FINISHED"


def test_server_gone_surfaces_on_next_flush(client: Client) -> None:
    flaky = FlakyTransport(client.transport)
    with clew.use_client(Client(transport=flaky)):
        run = clew.start_run()
        flaky.fail = TemporarilyUnavailable("server gone")
        clew.log_metric("m", 1.0)
        with pytest.raises(TemporarilyUnavailable, match="server gone") as raised:
            clew.flush()
        assert "1 metric points" in "".join(raised.value.__notes__)
        flaky.fail = None
        clew.log_metric("m", 2.0)
        clew.end_run()
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert client.get_metric_history(run.info.run_id, "m").values == [2.0]


def test_failure_escaping_with_block_keeps_the_users_exception(client: Client, capsys: Any) -> None:
    flaky = FlakyTransport(client.transport)
    with clew.use_client(Client(transport=flaky)):
        with pytest.raises(ValueError) as raised, clew.start_run():
            flaky.fail = TemporarilyUnavailable("server gone")
            clew.log_metric("m", 1.0)
            raise ValueError("user error")
        assert any("server gone" in n for n in raised.value.__notes__)
    assert "server gone" in capsys.readouterr().err


def test_ten_thousand_points_arrive_exactly_once(fluent: Client) -> None:
    with clew.start_run() as run:
        for step in range(10_000):
            clew.log_metric("m", float(step), step=step)
    history = fluent.get_metric_history(run.info.run_id, "m")
    assert history.steps == list(range(10_000))
    assert history.values == [float(s) for s in range(10_000)]


def test_points_are_coalesced_into_few_batches(client: Client) -> None:
    flaky = FlakyTransport(client.transport)
    with clew.use_client(Client(transport=flaky)), clew.start_run() as run:
        for step in range(2_000):
            clew.log_metric("m", float(step), step=step)
    assert flaky.batches < 200
    assert len(client.get_metric_history(run.info.run_id, "m")) == 2_000


def test_exit_flushes_and_reports_failures(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import clew
        clew.start_run(run_name="at-exit")
        clew.log_param("p", 1)
        clew.log_metric("m", 1.0)
        clew.log_param("p", 2)
        """
    )
    env = {"CLEW_HOME": str(tmp_path / "home"), "CLEW_ASYNC_LOGGING": "true", "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING clew" in proc.stderr
    assert "ParamOverwrite" in proc.stderr
    reader = Client(str(tmp_path / "home"))
    (run,) = reader.search_runs(filter_string="attributes.run_name = 'at-exit'")
    assert run.data.metrics["m"].value == 1.0
    assert run.info.status == "FAILED"
    reader.close()


# ---- the buffer on its own ----------------------------------------------------------------------


def test_buffer_respects_limits_and_round_robins_runs() -> None:
    calls: list[tuple[str, int]] = []

    def send(run_id: str, metrics: list[Metric], params: Any, tags: Any) -> None:
        calls.append((run_id, len(metrics)))

    buf = LogBuffer(send, BatchLimits(metrics=10, params=1, tags=1))
    for run_id in ("a", "b"):
        buf.add(run_id, metrics=[Metric("m", 0.0, 0, i) for i in range(25)])
    buf.flush()
    buf.close()
    assert sum(n for _, n in calls) == 50
    assert max(n for _, n in calls) <= 10
    assert {r for r, _ in calls} == {"a", "b"}


def test_buffer_blocks_producers_when_full() -> None:
    def slow(*_: Any) -> None:
        time.sleep(0.01)

    buf = LogBuffer(slow, BatchLimits(metrics=5), max_pending=10)
    for i in range(50):
        buf.add("r", metrics=[Metric("m", 0.0, 0, i)])
        assert buf._pending <= 10
    buf.close()
    buf.flush()
