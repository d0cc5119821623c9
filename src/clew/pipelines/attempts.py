"""One attempt of a step run, shared by the scheduler and the worker that runs it.

The scheduler gives up on an attempt whose timeout passed while the worker may still run it,
and the worker may return at that very moment. Whichever settles the attempt first wins:

- an attempt given up on (``abandon``) that returns late records nothing: no outputs, no
  SUCCEEDED, nothing that says it did what it was failed for not doing (issue 5);
- an attempt whose function returned in time (``finish``) is not failed by a deadline that
  passes while its outputs are being stored.

An executor that can stop a call (the process pool kills its worker) says how with
``on_abandon``; it finds the attempt of the step it runs through ``current()``, set on the
worker thread by the engine for the length of the call, as the fluent API finds its active run.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator


class Abandoned(Exception):
    """Raised on the worker when the attempt it ran was given up on (its timeout passed)."""


class Attempt:
    """Settled once, by ``finish`` (the worker) or ``abandon`` (the scheduler)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settled: str | None = None
        self._stops: list[Callable[[], None]] = []

    @property
    def abandoned(self) -> bool:
        return self._settled == "abandoned"

    def finish(self) -> bool:
        """Claim the attempt for the worker; ``False`` if it was already given up on."""
        with self._lock:
            if self._settled is None:
                self._settled = "finished"
            return self._settled == "finished"

    def abandon(self) -> bool:
        """Give up on the attempt and stop what can be stopped; ``False`` if it had already
        finished (its outputs are being stored: let it end)."""
        with self._lock:
            if self._settled is None:
                self._settled = "abandoned"
            if self._settled != "abandoned":
                return False
            stops, self._stops = self._stops, []
        for stop in stops:
            stop()
        return True

    def on_abandon(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` when the attempt is given up on (at once, if it already was)."""
        with self._lock:
            if self._settled != "abandoned":
                self._stops.append(stop)
                return
        stop()


_current: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "clew_step_attempt", default=None
)


def current() -> Attempt | None:
    """The attempt the calling worker thread runs, if any."""
    return _current.get()


@contextlib.contextmanager
def running(attempt: Attempt) -> Iterator[None]:
    token = _current.set(attempt)
    try:
        yield
    finally:
        _current.reset(token)
