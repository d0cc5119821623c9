"""Steps and pipelines that server-run jobs in the tests import (CLEW_PIPELINE_MODULES allows
``tests.pipelines.job_steps``). Module-level, as a worker needs them to be."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import clew
from clew.pipelines import pipeline, step

#: Set by a test to let ``blocker`` return.
release = threading.Event()
#: Set by ``blocker`` once it runs.
entered = threading.Event()


@step
def double(x: int) -> int:
    clew.log_metric("doubled", 2 * x)
    return 2 * x


@step
def add(a: int, b: int) -> int:
    print(f"adding {a} and {b}")
    print("to stderr too", file=sys.stderr)
    return a + b


@pipeline
def arithmetic(x: int = 3, y: int = 4) -> int:
    return add(double(x), y)


@pipeline
def needs_x(x: int) -> int:
    return double(x)


@step
def blocker(x: int) -> int:
    entered.set()
    release.wait(30)
    return x


@pipeline
def blocking(x: int = 1) -> int:
    return double(blocker(x))


@step
def fails_unless(flag: str, x: int) -> int:
    """Fails until the file ``flag`` exists: a fault fixed between a run and its resume."""
    if not Path(flag).exists():
        raise RuntimeError(f"no {flag}")
    return x


@pipeline
def flaky(flag: str, x: int = 5) -> int:
    return fails_unless(flag, double(x))


@step
def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pipeline
def sleeper(seconds: float = 0.0) -> float:
    return slow(seconds)


def not_a_step(x: int) -> int:
    return x


unsafe = os.system  # an allowed module that lends out a function it imported
