"""The parent side of the durability tests: start worker processes, line them up, reap them.

Workers are real OS processes (``python -m tests.durability.workers``), so each has its own
engine, its own SQLite connection and its own PostgreSQL session, as separate servers would.
Every wait here has a deadline: a hang fails the test instead of blocking CI.
"""

from __future__ import annotations

import contextlib
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
                start_new_session=True,  # its own process group: kill() reaches forked children
            )

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"worker {self.name} still running after {timeout:.0f}s\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the worker and anything it forked (a no-op for what already exited)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def result(self) -> dict[str, Any]:
        if not self.result_file.exists():
            pytest.fail(f"worker {self.name} wrote no result\n{self.output()}")
        result: dict[str, Any] = json.loads(self.result_file.read_text())
        return result


class Barrier:
    """Workers touch ``ready<tag>-<name>`` and poll for ``go<tag>``: released together."""

    def __init__(self, directory: Path, tag: str = "") -> None:
        self.directory = directory
        self.tag = tag
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def args(self) -> dict[str, str]:
        return {"barrier": str(self.directory), "barrier_tag": self.tag}

    def wait_ready(
        self, names: Iterable[str], processes: Iterable[Worker], timeout: float = 60.0
    ) -> None:
        """Wait until every name is ready; fail early if a process that runs them exits."""
        pending, processes = list(names), list(processes)
        deadline = time.monotonic() + timeout
        while pending:
            pending = [n for n in pending if not (self.directory / f"ready{self.tag}-{n}").exists()]
            if not pending:
                return
            for w in processes:
                if w.proc.poll() is not None:
                    pytest.fail(f"worker {w.name} exited before the barrier\n{w.output()}")
            if time.monotonic() > deadline:
                for w in processes:
                    w.kill()
                pytest.fail(f"not ready after {timeout:.0f}s: {pending}")
            time.sleep(0.01)

    def go(self) -> None:
        (self.directory / f"go{self.tag}").touch()


def run_together(
    command: str, arg_list: list[dict[str, Any]], workdir: Path, timeout: float = 120.0
) -> list[dict[str, Any]]:
    """Run one process per args (forked from one launcher), released at the same moment.

    Returns each worker's result. Any worker failing, or the whole not finishing within
    ``timeout`` seconds, fails the test with the workers' output.
    """
    barrier = Barrier(workdir / "barrier")
    names = [f"w{i}" for i in range(len(arg_list))]
    children = [
        {
            "command": command,
            "args": {
                **args,
                **barrier.args,
                "name": name,
                "result_file": str(workdir / f"{name}.result.json"),
            },
        }
        for name, args in zip(names, arg_list, strict=True)
    ]
    launcher = Worker("fanout", {"children": children}, workdir, "fanout")
    try:
        barrier.wait_ready(names, [launcher])
        barrier.go()
        code = launcher.wait(timeout)
        assert code == 0, f"workers failed (exit {code})\n{launcher.output()}"
    finally:
        launcher.kill()
    results = []
    for name in names:
        path = workdir / f"{name}.result.json"
        assert path.exists(), f"worker {name} wrote no result\n{launcher.output()}"
        results.append(json.loads(path.read_text()))
    return results


class Forker:
    """One warm launcher that forks a child per round on request (see ``workers.cmd_forker``).

    ``spawn(r)`` starts round ``r``'s child and returns its pid, for the test to SIGKILL;
    ``exit_code(r)`` is how it ended (``-9`` for SIGKILL), as reaped by the launcher.
    """

    def __init__(self, rounds: list[tuple[str, dict[str, Any]]], workdir: Path) -> None:
        self.control = workdir / "control"
        self.control.mkdir()
        spec = [{"command": command, "args": args} for command, args in rounds]
        self.launcher = Worker(
            "forker", {"control": str(self.control), "rounds": spec}, workdir, "forker"
        )

    def _wait_file(self, name: str, timeout: float) -> str:
        path = self.control / name
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.launcher.proc.poll() is not None:
                pytest.fail(f"the forker exited while waiting for {name}\n{self.output()}")
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f"no {name} after {timeout:.0f}s\n{self.output()}")
            time.sleep(0.005)
        return path.read_text()

    def spawn(self, r: int, timeout: float = 60.0) -> int:
        (self.control / f"spawn{r}").touch()
        return int(self._wait_file(f"pid{r}", timeout))

    def exited(self, r: int) -> bool:
        return (self.control / f"status{r}").exists()

    def exit_code(self, r: int, timeout: float = 30.0) -> int:
        return int(self._wait_file(f"status{r}", timeout))

    def output(self) -> str:
        return self.launcher.output()

    def close(self) -> None:
        self.launcher.kill()


def read_acks(path: Path) -> list[int]:
    """Acknowledged ids; a torn last line (killed mid-write) was never acknowledged."""
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")
    complete = lines[:-1]  # whatever follows the last newline is torn or empty
    return [int(line) for line in complete if line]
