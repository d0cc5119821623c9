"""Background batching of fluent logging: many small calls become a few ``log_batch`` requests.

One ``log_batch`` per ``log_metric`` costs a transaction (and an audit event) each, plus a round
trip over HTTP (MLflow: 1,000 calls in 90 s against 4 s as one batch, issue #5269). The fluent
API instead appends to a per-run buffer and returns; one daemon thread per client drains the
buffers, coalescing everything waiting for a run into calls up to the batch limits. While one
call is in flight, the next batch fills.

Errors are never dropped. A batch that fails is recorded with what it held; the next
``flush()`` (or ``end_run``) of that run raises the error, and ``flush()`` with no run raises any.
A batch rejected as invalid (say a param overwrite) is retried as params, tags and metrics
separately, so one bad param does not take 10,000 good metric points with it; each part's error
is still reported. Params keep their semantics: two values for one key in the buffer reach the
service in one batch, which rejects it (``PARAM_OVERWRITE``) exactly as two direct calls would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clew.core.errors import ClewError
from clew.tracking.model import Metric


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """Most items of each kind one ``log_batch`` may carry (the server's ``max_batch_*``)."""

    metrics: int = 10_000
    params: int = 1_000
    tags: int = 1_000

    @classmethod
    def of(cls, settings: Any) -> BatchLimits:
        """Limits from a ``Settings``-like object, or the defaults when it has none."""
        try:
            return cls(
                settings.max_batch_metrics, settings.max_batch_params, settings.max_batch_tags
            )
        except AttributeError:
            return cls()


#: ``log_batch(run_id, metrics, params, tags)`` as the buffer calls it.
SendBatch = Callable[[str, list[Metric], list[tuple[str, str]], list[tuple[str, str]]], None]


@dataclass(slots=True)
class _RunBuffer:
    metrics: list[Metric] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)

    def take(self, limits: BatchLimits) -> _RunBuffer:
        """Remove and return the oldest items that fit one call."""
        out = _RunBuffer(self.metrics[: limits.metrics], self.params[: limits.params])
        del self.metrics[: limits.metrics], self.params[: limits.params]
        if len(self.tags) <= limits.tags:
            out.tags, self.tags = self.tags, {}
        else:
            keys = list(self.tags)[: limits.tags]
            out.tags = {k: self.tags.pop(k) for k in keys}
        return out


class LogBuffer:
    """Per-run buffers drained by one background thread into ``send`` calls.

    Args:
        send: writes one batch (the client's ``log_batch``); called from the background thread.
        limits: the most items of each kind per call.
        max_pending: producers block once this many items wait, so a fast loop against a slow
            server cannot grow memory without bound.
    """

    def __init__(self, send: SendBatch, limits: BatchLimits, max_pending: int = 200_000) -> None:
        self._send = send
        self._limits = limits
        self._max_pending = max_pending
        self._cond = threading.Condition()
        self._buffers: dict[str, _RunBuffer] = {}
        self._pending = 0
        self._in_flight: set[str] = set()
        self._errors: list[tuple[str, BaseException]] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    # ---- producers -----------------------------------------------------------------------------

    def add(
        self,
        run_id: str,
        metrics: list[Metric] | None = None,
        params: list[tuple[str, str]] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        n = len(metrics or ()) + len(params or ()) + len(tags or ())
        if not n:
            return
        with self._cond:
            if self._closed:
                raise RuntimeError("This log buffer is closed")
            while self._pending >= self._max_pending:
                self._cond.wait()
            buf = self._buffers.setdefault(run_id, _RunBuffer())
            before = len(buf)
            if metrics:
                buf.metrics.extend(metrics)
            if params:
                buf.params.extend(params)
            if tags:
                buf.tags.update(tags)  # a later value for a waiting tag replaces it: count once
            self._pending += len(buf) - before
            self._ensure_thread()
            self._cond.notify_all()

    def flush(self, run_id: str | None = None) -> None:
        """Wait until everything buffered (for ``run_id``, or for all runs) is sent.

        Raises:
            The first error a background send hit for that run (or any run), with a note on
            what was not written and on any further errors.
        """
        with self._cond:
            if run_id is None:
                while self._pending or self._in_flight:
                    self._cond.wait()
            else:
                while run_id in self._buffers or run_id in self._in_flight:
                    self._cond.wait()
            errors = [e for r, e in self._errors if run_id is None or r == run_id]
            self._errors = [(r, e) for r, e in self._errors if run_id is not None and r != run_id]
        if errors:
            first = errors[0]
            if len(errors) > 1:
                first.add_note(
                    f"… and {len(errors) - 1} more background logging error(s): "
                    + "; ".join(repr(e) for e in errors[1:4])
                )
            raise first

    def close(self) -> None:
        """Stop the thread once the buffers are empty; errors stay for a last ``flush``."""
        with self._cond:
            while self._pending or self._in_flight:
                self._cond.wait()
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # ---- the background thread -----------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="clew-log-batcher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._buffers and not self._closed:
                    self._cond.wait()
                if not self._buffers:
                    return  # closed and drained
                run_id = next(iter(self._buffers))
                buf = self._buffers.pop(run_id)
                batch = buf.take(self._limits)
                if len(buf):  # more left: back of the line, so other runs are not starved
                    self._buffers[run_id] = buf
                self._in_flight.add(run_id)
            try:
                self._deliver(run_id, batch)
            finally:
                with self._cond:
                    self._in_flight.discard(run_id)
                    self._pending -= len(batch)
                    self._cond.notify_all()

    def _deliver(self, run_id: str, batch: _RunBuffer) -> None:
        tags = list(batch.tags.items())
        try:
            self._send(run_id, batch.metrics, batch.params, tags)
            return
        except ClewError as exc:
            mixed = sum(bool(part) for part in (batch.metrics, batch.params, tags)) > 1
            if not (mixed and 400 <= exc.status < 500):
                self._record(run_id, exc, batch)
                return
        except Exception as exc:  # transport failures (server gone): report, never drop silently
            self._record(run_id, exc, batch)
            return
        # An invalid combined batch: resend the parts apart so the valid ones are kept.
        for part in (
            _RunBuffer(params=batch.params),
            _RunBuffer(tags=batch.tags),
            _RunBuffer(metrics=batch.metrics),
        ):
            if not len(part):
                continue
            try:
                self._send(run_id, part.metrics, part.params, list(part.tags.items()))
            except Exception as exc:
                self._record(run_id, exc, part)

    def _record(self, run_id: str, exc: BaseException, lost: _RunBuffer) -> None:
        exc.add_note(
            f"Raised by background logging for run {run_id}: {len(lost.metrics)} metric points, "
            f"{len(lost.params)} params and {len(lost.tags)} tags of that batch were not written."
        )
        with self._cond:
            self._errors.append((run_id, exc))
