"""Where step functions run: one small interface, chosen by name (``--executor``).

The engine hands an executor a zero-argument call and gets a ``Future`` back; it never waits on
one worker for another, so any pool size works. ``threads`` (the default) has the lowest
overhead and shares memory with the engine. A step that times out on a thread is reported
failed at once, but Python cannot stop a thread: the function runs on until it returns, and
what it returns is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol


class Executor(Protocol):
    name: str

    def submit(self, call: Callable[[], Any]) -> Future[Any]: ...

    def shutdown(self) -> None: ...


class ThreadExecutor:
    """Steps on a thread pool in this process."""

    name = "threads"

    def __init__(self, max_workers: int | None = None) -> None:
        workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="clew-step")

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        return self._pool.submit(call)

    def shutdown(self) -> None:
        # Do not wait for steps that timed out and still run: their results are dropped.
        self._pool.shutdown(wait=False, cancel_futures=True)


def executor(name: str = "threads", **options: Any) -> Executor:
    if name == "threads":
        return ThreadExecutor(**options)
    raise ValueError(f"unknown executor {name!r}; known: threads")
