"""``Trailing``: in order, bounded, errors surface, and a single batch needs no thread."""

from __future__ import annotations

import threading
import time

import pytest

from clew.artifacts.trailing import Trailing


def test_batches_run_in_order_on_one_helper_thread() -> None:
    seen: list[tuple[int, str]] = []
    trail: Trailing[int] = Trailing(
        lambda n: seen.append((n, threading.current_thread().name)), "t-order", 10
    )
    for n in range(50):
        trail.submit(n, 1)
    trail.finish()
    assert [n for n, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"t-order_0"}


def test_a_single_batch_runs_on_the_caller_without_a_thread() -> None:
    seen: list[str] = []
    trail: Trailing[int] = Trailing(lambda _: seen.append(threading.current_thread().name), "x", 1)
    trail.submit(1, 1)
    assert seen == []  # held: it may be the only one
    trail.finish()
    assert seen == [threading.current_thread().name]


def test_in_flight_bytes_stay_bounded() -> None:
    """A slow stage makes the submitter wait once ``limit_bytes`` are queued behind it."""
    release = threading.Event()
    started: list[int] = []

    def slow(n: int) -> None:
        started.append(n)
        release.wait(5)

    trail: Trailing[int] = Trailing(slow, "t-bound", 3)
    done = threading.Event()

    def submit_all() -> None:
        for n in range(10):
            trail.submit(n, 1)
        done.set()

    thread = threading.Thread(target=submit_all)
    thread.start()
    time.sleep(0.2)
    assert not done.is_set()  # blocked behind the slow stage, not queueing all ten
    release.set()
    thread.join(5)
    trail.finish()
    assert started == list(range(10))


def test_an_error_surfaces_at_finish_and_close_does_not_raise() -> None:
    def fail_on_three(n: int) -> None:
        if n == 3:
            raise OSError("disk full")

    trail: Trailing[int] = Trailing(fail_on_three, "t-err", 100)
    for n in range(5):
        trail.submit(n, 1)
    with pytest.raises(OSError, match="disk full"):
        trail.finish()

    other: Trailing[int] = Trailing(fail_on_three, "t-err2", 100)
    for n in range(5):
        other.submit(n, 1)
    other.close()  # after an error elsewhere: waits, never raises
