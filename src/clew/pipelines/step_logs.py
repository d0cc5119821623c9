"""What a step prints, kept with its run: ``logs/step.log`` among its artifacts.

Steps of one pipeline run share a process (threads) and its ``sys.stdout``, so capture goes by
context: while a step's function runs, a context variable holds its buffer, and proxies on
``sys.stdout`` / ``sys.stderr`` copy what that thread writes into it. Everything still reaches
the real streams, so a terminal shows what it always did. Log records arrive when their
handler writes to ``sys.stderr`` as it is now (``logging.lastResort``, ``basicConfig`` after
the first step); a handler that holds the stream it was given at start-up is not seen, nor
are threads the step starts itself (they have a context of their own).

A buffer keeps the first ``LIMIT`` bytes and says how many more there were. A retried step's
log is its last attempt's.
"""

from __future__ import annotations

import contextvars
import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, TextIO

LIMIT: Final = 1024 * 1024
PATH: Final = "logs/step.log"

_buffer: contextvars.ContextVar[_Buffer | None] = contextvars.ContextVar(
    "clew_step_log", default=None
)
_install_lock = threading.Lock()


class _Buffer:
    def __init__(self) -> None:
        self._parts = io.StringIO()
        self._size = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            room = LIMIT - self._size
            if room <= 0:
                self.dropped += len(text)
                return
            self._parts.write(text[:room])
            self._size += min(room, len(text))
            self.dropped += max(0, len(text) - room)

    def text(self) -> str:
        body = self._parts.getvalue()
        if self.dropped:
            body += f"\n[clew: {self.dropped} more characters not kept]\n"
        return body


class _Tee(io.TextIOBase):
    """Stands in for a standard stream: writes go to it, and to the current step's log."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        found = _buffer.get()
        if found is not None:
            found.write(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty…
        return getattr(self._stream, name)


def _install() -> None:
    """Wrap the standard streams, unless they are wrapped (again after someone replaced them)."""
    with _install_lock:
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout)
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr)


@contextmanager
def captured() -> Iterator[_Buffer]:
    """Capture what this context writes to the standard streams while the block runs."""
    _install()
    buffer = _Buffer()
    token = _buffer.set(buffer)
    try:
        yield buffer
    finally:
        _buffer.reset(token)
