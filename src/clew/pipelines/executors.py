"""Where step functions run: one small interface, chosen by name (``--executor``).

An executor does two things for the engine: it runs the engine's per-step bookkeeping
(``submit``: tracking calls, materializing outputs; always threads of this process), and it
makes an ``Invoker`` per step that calls the step's function where the executor runs steps:

- ``threads`` (the default): in this process, lowest overhead, values shared in memory.
- ``processes``: in a pool of fresh interpreters (``spawn``, ``process_pool``), so a step that
  holds the GIL or leaks memory does not hold up the others; arguments and results travel
  pickled, and the step function must be importable by its reference (a module-level function).
  Inside the child the fluent API logs to the step's run through a client of its own, on the
  same store (local) or server (HTTP). A step whose process dies (SIGKILL, a crash) fails with
  the signal, and a fresh process takes its place.

- ``ray`` (``clew.pipelines.ray_executor``, needs the ``ray`` extra): each step a Ray task with
  the step's resource hints; tracked outputs are stored from the worker, not the driver.

Others register under the ``clew.executors`` entry-point group: a class taking
``max_workers`` with this interface. ``invoker`` gets the step's options (resource hints,
timeout) for an executor that can use them. An invoker that stores outputs where the step runs
says so (``by_reference``): tracking then passes how to store them (``RunContext.store``) and
gets back references (``pipelines.stored``) instead of values.

A step that times out is reported failed at once. Its process is killed under ``processes``
and its task canceled under ``ray``; a thread cannot be stopped from outside, so under
``threads`` the function runs on until it returns, and what it returns is dropped
(``attempts``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Final, Protocol

from clew.core.errors import InvalidInput
from clew.pipelines import attempts
from clew.pipelines.graph import StepOptions
from clew.pipelines.process_pool import ProcessPool

ENTRY_POINT_GROUP: Final = "clew.executors"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """Where the fluent API inside a step logs: run ``run_id`` through ``client``. ``run``
    (the ``Run`` itself, when the caller holds it) lets a thread attach without a fetch.
    ``store`` (a ``stored.OutputStore``) is set for a ``by_reference`` invoker: how to store
    the step's outputs where it runs."""

    client: Any
    run_id: str
    run: Any = None
    store: Any = None


@dataclass(frozen=True)
class Invoker:
    """Calls one step's function where its executor runs steps. ``by_reference``: given a
    ``RunContext.store`` it stores the outputs there and returns a ``stored.Stored``, and the
    inputs it is called with may be ``stored.StoredOutput`` references, loaded where it runs."""

    function: Callable[..., Any]
    run: Callable[[dict[str, Any], RunContext | None], Any]
    by_reference: bool = False

    def __call__(self, kwargs: dict[str, Any], context: RunContext | None = None) -> Any:
        return self.run(kwargs, context)


class Executor(Protocol):
    name: str

    def submit(self, call: Callable[[], Any]) -> Future[Any]: ...

    def invoker(
        self, step_ref: str, function: Callable[..., Any], options: StepOptions | None = None
    ) -> Invoker: ...

    def shutdown(self) -> None: ...


def import_step(ref: str) -> Callable[..., Any]:
    """The plain function ``module:qualname`` names (a ``Step``'s function)."""
    module, _, qualname = ref.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    function: Callable[..., Any] = getattr(found, "fn", found)
    return function


def call_in_run(
    context: RunContext | None, function: Callable[..., Any], kwargs: dict[str, Any]
) -> Any:
    """``function(**kwargs)`` with the fluent API pointed at the step's run, if there is one."""
    if context is None:
        return function(**kwargs)
    from clew.client.fluent import start_run, use_client
    from clew.client.runs import attached

    with use_client(context.client):
        if context.run is not None:  # the engine ends the run
            with attached(context.run):
                return _logged(context, function, kwargs)
        with start_run(run_id=context.run_id):
            return _logged(context, function, kwargs)


def _logged(context: RunContext, function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """``function(**kwargs)``, what it prints stored as the run's ``logs/step.log``."""
    from clew.pipelines import step_logs

    with step_logs.captured() as log:
        try:
            return function(**kwargs)
        finally:
            text = log.text()
            if text:
                try:
                    context.client.log_text(context.run_id, text, step_logs.PATH)
                except Exception as exc:  # the step's outcome stands; say the log is lost
                    _log.warning("the log of step run %s was not stored: %s", context.run_id, exc)


def _workers(max_workers: int | None) -> int:
    return max_workers or min(32, (os.cpu_count() or 1) + 4)


class ThreadExecutor:
    """Steps on a thread pool in this process."""

    name = "threads"

    def __init__(self, max_workers: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(_workers(max_workers), thread_name_prefix="clew-step")

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        return self._pool.submit(call)

    def invoker(
        self, step_ref: str, function: Callable[..., Any], options: StepOptions | None = None
    ) -> Invoker:
        return Invoker(function, lambda kwargs, context: call_in_run(context, function, kwargs))

    def shutdown(self) -> None:
        # Do not wait for steps that timed out and still run: their results are dropped.
        self._pool.shutdown(wait=False, cancel_futures=True)


#: A child process's (or Ray worker's) clients, one per tracking target, reused by the steps
#: it runs.
_child_clients: dict[tuple[str, str], Any] = {}


def _client_target(client: Any) -> tuple[str, str]:
    """What a child needs to build a client on the same store or server as ``client``."""
    if client.is_remote:
        return ("http", str(client.tracking_uri))
    settings = client.transport.settings
    return ("local", settings.model_dump_json())


def _child_client(target: tuple[str, str]) -> Any:
    found = _child_clients.get(target)
    if found is None:
        from clew.client.client import Client

        if target[0] == "http":
            found = Client(target[1])
        else:
            from clew.client.local import LocalTransport
            from clew.core.settings import Settings

            found = Client(transport=LocalTransport(Settings.model_validate_json(target[1])))
        _child_clients[target] = found
    return found


def _in_child(
    step_ref: str, kwargs: dict[str, Any], target: tuple[str, str] | None, run_id: str | None
) -> Any:
    function = import_step(step_ref)
    context = None
    if target is not None and run_id is not None:
        # Attached, not resumed: the engine ends the run once the outputs are stored, so a
        # step run never looks finished before its outputs exist.
        client = _child_client(target)
        context = RunContext(client, run_id, client.get_run(run_id))
    return call_in_run(context, function, kwargs)


class ProcessExecutor:
    """Steps in a pool of spawned interpreters; bookkeeping on threads of this process."""

    name = "processes"

    def __init__(self, max_workers: int | None = None) -> None:
        workers = max_workers or (os.cpu_count() or 1)
        self._threads = ThreadPoolExecutor(_workers(None), thread_name_prefix="clew-step")
        self._pool = ProcessPool(workers)

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        return self._threads.submit(call)

    def invoker(
        self, step_ref: str, function: Callable[..., Any], options: StepOptions | None = None
    ) -> Invoker:
        pool = self._pool

        def run(kwargs: dict[str, Any], context: RunContext | None) -> Any:
            # The child attaches to the run by id (a Run does not cross processes); a step the
            # engine gives up on (its timeout) has its process killed.
            target = None if context is None else _client_target(context.client)
            run_id = None if context is None else context.run_id
            attempt = attempts.current()
            stop = None if attempt is None else attempt.on_abandon
            return pool.call(_in_child, step_ref, kwargs, target, run_id, on_stop=stop)

        return Invoker(function, run)

    def shutdown(self) -> None:
        self._pool.shutdown()
        self._threads.shutdown(wait=False, cancel_futures=True)


BUILT_IN: Final[dict[str, type]] = {"threads": ThreadExecutor, "processes": ProcessExecutor}


def executor(name: str = "threads", **options: Any) -> Executor:
    """The executor registered as ``name`` (built in, or a ``clew.executors`` entry point)."""
    kind = BUILT_IN.get(name)
    if kind is None:
        found = [e for e in metadata.entry_points(group=ENTRY_POINT_GROUP) if e.name == name]
        if not found:
            known = sorted(
                {*BUILT_IN, *(e.name for e in metadata.entry_points(group=ENTRY_POINT_GROUP))}
            )
            raise InvalidInput(f"unknown executor {name!r}; known: {', '.join(known)}")
        kind = found[0].load()
    made: Executor = kind(**options)
    return made
