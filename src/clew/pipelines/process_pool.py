"""A pool of spawned interpreters that knows which process runs which call.

``concurrent.futures.ProcessPoolExecutor`` cannot tell which call a dead worker was running: a
worker killed by a signal (the OOM killer's SIGKILL, a segfault) breaks the whole pool, fails
every call in it with ``BrokenProcessPool`` and refuses new ones; nor can it stop one call that
hangs. Here each worker runs one call at a time over a pipe of its own, so:

- a worker that dies fails only its own call, with ``StepProcessDied`` naming the signal or the
  exit status, and a fresh worker takes its place for the next call (a retry, a Finally step);
- a call can be stopped (the engine gives up on a step past its timeout): its worker is killed
  and replaced, and the others run on;
- a worker exits when the process that started it dies, even in the middle of a step, so a
  killed engine leaves no step running on behind it.

Workers start when first needed, up to ``max_workers``, and are reused, so the imports of one
step serve the steps after it. They are not daemons: a step may start processes of its own
(scikit-learn's ``n_jobs``).
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util  # its exit hook first, so ``shutdown`` runs before it joins workers
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, Final

#: How long a worker asked to exit gets before it is killed.
_EXIT_GRACE_S: Final = 2.0


class StepProcessDied(RuntimeError):
    """The process running a step ended before the step returned."""


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


def _exit_with_parent() -> None:
    """End this worker as soon as its parent is gone, whatever the step is doing."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="clew-parent-watch", daemon=True).start()


def _serve(conn: Connection) -> None:
    """A worker's loop: a call from the pipe, its result (or its error) back, until told to stop."""
    _exit_with_parent()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        function, args = message
        try:
            reply: tuple[bool, Any] = (True, function(*args))
        except BaseException as exc:  # the step's error, sent back as the step's failure
            reply = (False, exc)
        try:
            conn.send(reply)  # pickled whole before a byte is written
        except Exception as exc:
            what = "result" if reply[0] else "error"
            conn.send((False, RuntimeError(f"the step's {what} cannot be sent back: {exc!r}")))


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end,), name="clew-step")
        self.process.start()
        child_end.close()

    def close(self, *, kill: bool) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
            else:
                self.process.join(_EXIT_GRACE_S)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        self.process.close()


class _Call:
    """One call on one worker: stopped (its worker killed) or settled, never both."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker
        self.stopped = False
        self._settled = False
        self._lock = threading.Lock()

    def stop(self) -> None:
        with self._lock:
            if self._settled:
                return  # it returned: its worker may already run the next call
            self.stopped = True
        self.worker.process.kill()

    def settle(self) -> bool:
        with self._lock:
            self._settled = not self.stopped
            return self._settled


class ProcessPool:
    """``call`` runs a picklable function in one of at most ``max_workers`` spawned workers."""

    def __init__(self, max_workers: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._max = max_workers
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0
        self._changed = threading.Condition()
        self._closed = False
        atexit.register(self.shutdown)

    def call(
        self,
        function: Callable[..., Any],
        *args: Any,
        on_stop: Callable[[Callable[[], None]], None] | None = None,
    ) -> Any:
        """``function(*args)`` in a worker, waiting for it. ``on_stop`` is handed a callable
        that stops this call (kills its worker) for as long as it runs.

        Raises:
            StepProcessDied: the worker ended (killed, crashed or stopped) before it replied.
            What ``function`` raised, as it raised it.
        """
        worker = self._take()
        call = _Call(worker)
        if on_stop is not None:
            on_stop(call.stop)
        healthy = False
        try:
            worker.conn.send((function, args))  # pickled first: a bad argument sends nothing
            ready = wait([worker.conn, worker.process.sentinel])
            reply: tuple[bool, Any] | None = None
            if worker.conn in ready:
                try:
                    reply = worker.conn.recv()
                except (EOFError, OSError):
                    reply = None
            if not call.settle() or reply is None:
                worker.process.join()
                pid = worker.process.pid
                how = "was stopped" if call.stopped else _how(worker.process.exitcode)
                raise StepProcessDied(f"the step's process (pid {pid}) {how}")
            healthy = True
        except (EOFError, OSError) as exc:  # the pipe broke: the worker is gone
            pid = worker.process.pid
            raise StepProcessDied(f"the step's process (pid {pid}) is gone: {exc}") from exc
        except StepProcessDied:
            raise
        except BaseException:
            healthy = not call.stopped and worker.process.is_alive()  # e.g. an unpicklable arg
            raise
        finally:
            self._give(worker, healthy)
        ok, value = reply
        if ok:
            return value
        raise value

    def _take(self) -> _Worker:
        with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError("the process pool is shut down")
                while self._idle:
                    worker = self._idle.pop()  # the most recently used: its imports are warm
                    if worker.process.is_alive():
                        self._busy.add(worker)
                        return worker
                    worker.close(kill=True)  # died while idle
                if len(self._busy) + self._starting < self._max:
                    self._starting += 1
                    break
                self._changed.wait()
        try:
            worker = _Worker(self._context)  # outside the lock: a spawn takes a while
        finally:
            with self._changed:
                self._starting -= 1
                self._changed.notify_all()
        with self._changed:
            self._busy.add(worker)
        return worker

    def _give(self, worker: _Worker, healthy: bool) -> None:
        with self._changed:
            self._busy.discard(worker)
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            self._changed.notify_all()
        if not keep:
            worker.close(kill=not healthy)

    def shutdown(self) -> None:
        """Let idle workers exit and kill busy ones (steps the engine already gave up on)."""
        atexit.unregister(self.shutdown)
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._changed.notify_all()
        for worker in busy:
            worker.process.kill()  # its caller sees StepProcessDied and closes it
        for worker in idle:
            worker.close(kill=False)
