"""Run a function over a stream of batches on a helper thread, in order, a bounded way behind.

A put hashes and writes every batch of a blob. Doing both on the thread that receives the
batches serialized the network, the hash and the disk; with a ``Trailing`` for each, the three
move at once (``hashlib`` and ``os.writev`` release the GIL) while memory stays bounded by
``limit_bytes`` per stage. A stream of one batch, the common small put, never starts a thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

T = TypeVar("T")


class Trailing(Generic[T]):
    """``submit`` batches; ``finish`` waits for all of them and raises the first error."""

    def __init__(self, fn: Callable[[T], object], name: str, limit_bytes: int) -> None:
        self._fn = fn
        self._name = name
        self._limit = limit_bytes
        self._held: T | None = None
        self._held_size = 0
        self._pool: ThreadPoolExecutor | None = None
        self._running: deque[tuple[Future[object], int]] = deque()
        self._in_flight = 0

    def submit(self, batch: T, size: int) -> None:
        if self._pool is None:
            if self._held is None:  # the first batch waits: it may be the only one
                self._held, self._held_size = batch, size
                return
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=self._name)
            held, self._held = self._held, None
            self._start(held, self._held_size)
        self._start(batch, size)
        while self._in_flight > self._limit and len(self._running) > 1:
            self._collect()

    def _start(self, batch: T, size: int) -> None:
        assert self._pool is not None
        self._running.append((self._pool.submit(self._fn, batch), size))
        self._in_flight += size

    def _collect(self) -> None:
        future, size = self._running.popleft()
        self._in_flight -= size
        future.result()

    def finish(self) -> None:
        """Every batch done (the held one on the caller's thread); an error raises here."""
        try:
            if self._held is not None:
                held, self._held = self._held, None
                self._fn(held)
            while self._running:
                self._collect()
        finally:
            self.close()

    def close(self) -> None:
        """Wait for what is running, without raising, and stop the thread (after an error)."""
        self._held = None
        wait([future for future, _ in self._running])
        self._running.clear()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
