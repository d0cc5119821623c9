"""The parent side of the durability tests: start worker processes, line them up, reap them.

Workers are real OS processes (``python -m tests.durability.workers``), so each has its own
engine, its own SQLite connection and its own PostgreSQL session, as separate servers would.
Every wait here has a deadline: a hang fails the test instead of blocking CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


class Worker:
    """One worker process; its stderr goes to a file so a chatty worker never blocks on a pipe."""

    def __init__(self, command: str, args: dict[str, Any], workdir: Path, name: str) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self.result_file = workdir / f"{name}.result.json"
        args = {**args, "result_file": str(self.result_file), "name": name}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), str(REPO / "src"), env.get("PYTHONPATH", "")) if p
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.durability.workers", command, json.dumps(args)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"worker {self.name} still running after {timeout:.0f}s\n{self.output()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def result(self) -> dict[str, Any]:
        if not self.result_file.exists():
            pytest.fail(f"worker {self.name} wrote no result\n{self.output()}")
        result: dict[str, Any] = json.loads(self.result_file.read_text())
        return result


class Barrier:
    """Workers touch ``ready-<name>`` and poll for ``go``: the parent releases them together."""

    def __init__(self, directory: Path, tag: str = "") -> None:
        self.directory = directory
        self.tag = tag
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def args(self) -> dict[str, str]:
        return {"barrier": str(self.directory), "barrier_tag": self.tag}

    def wait_ready(self, workers: Iterable[Worker], timeout: float = 60.0) -> None:
        pending = list(workers)
        deadline = time.monotonic() + timeout
        while pending:
            pending = [
                w for w in pending if not (self.directory / f"ready{self.tag}-{w.name}").exists()
            ]
            for w in pending:
                if w.proc.poll() is not None:
                    pytest.fail(f"worker {w.name} exited before the barrier\n{w.output()}")
            if pending and time.monotonic() > deadline:
                for w in pending:
                    w.kill()
                pytest.fail(f"workers not ready after {timeout:.0f}s: {[w.name for w in pending]}")
            time.sleep(0.01)

    def go(self) -> None:
        (self.directory / f"go{self.tag}").touch()


def run_together(
    command: str, arg_list: list[dict[str, Any]], workdir: Path, timeout: float = 90.0
) -> list[dict[str, Any]]:
    """Start one worker per args, release them at the same moment, return their results."""
    barrier = Barrier(workdir / "barrier")
    workers = [
        Worker(command, {**args, **barrier.args}, workdir, f"w{i}")
        for i, args in enumerate(arg_list)
    ]
    try:
        barrier.wait_ready(workers)
        barrier.go()
        deadline = time.monotonic() + timeout
        for w in workers:
            code = w.wait(max(1.0, deadline - time.monotonic()))
            assert code == 0, f"worker {w.name} exited with {code}\n{w.output()}"
        return [w.result() for w in workers]
    finally:
        for w in workers:
            w.kill()


def read_acks(path: Path) -> list[int]:
    """Acknowledged ids; a torn last line (killed mid-write) was never acknowledged."""
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")
    complete = lines[:-1]  # whatever follows the last newline is torn or empty
    return [int(line) for line in complete if line]
