"""The ``ray`` executor: each step run a Ray task, its outputs through the artifact store.

``run(..., executor="ray")`` (``clew pipelines run -e ray``) connects to the cluster that
``RAY_ADDRESS`` names, or else starts a local Ray instance for the run and shuts it down after;
a Ray this process already initialized is used as it is and left running. Ray is imported only
here, when the executor is made, so ``import clew`` stays light (the ``ray`` extra installs it).

- **Resources.** A step's hints become the task's: ``cpu`` → ``num_cpus``, ``memory`` →
  ``memory`` (bytes), ``gpu`` → ``num_gpus``; without hints a task takes Ray's default of one
  CPU. On a local instance this executor started, a step asking for more than the machine has
  fails at once with the reason, where Ray would wait for a node that never comes.
- **Outputs.** Tracked, a step's worker loads its inputs from Clew's artifact store, runs the
  step with the fluent API on the step's run (through a client of its own on the same store or
  server), stores each output there with its materializer and sends back only references
  (``stored.StoredOutput``): the driver never holds the values, except where it decides on them
  itself (a condition, a loop's items, the pipeline's outputs). Workers on other machines must
  reach that store: track to a server (``CLEW_TRACKING_URI``) or to a shared database and
  bucket, not a local SQLite file. Untracked, values travel through Ray's object store and back
  to the driver, as with the process pool.
- **Retries** are the engine's, with the step's backoff; Ray's own are off (``max_retries=0``).
- **Timeouts.** A task still running at the step's timeout is canceled with
  ``ray.cancel(force=True)``, which kills the worker process running it: unlike a thread or a
  pool task, the step really stops. A retry then starts a new task.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from clew.core.errors import InvalidInput
from clew.pipelines.executors import (
    Invoker,
    RunContext,
    _child_client,
    _client_target,
    call_in_run,
)
from clew.pipelines.graph import StepOptions
from clew.pipelines.stored import OutputStore, resolve, store_outputs

#: Steps in flight at once by default (driver threads waiting on their tasks; Ray schedules).
_IN_FLIGHT = 32


def task_options(options: StepOptions | None) -> dict[str, Any]:
    """A step's resource hints as Ray task options (only those the step sets)."""
    if options is None:
        return {}
    hints = options.resources
    found: dict[str, Any] = {}
    if hints.cpu is not None:
        found["num_cpus"] = hints.cpu
    if hints.memory is not None:
        found["memory"] = hints.memory
    if hints.gpu is not None:
        found["num_gpus"] = hints.gpu
    return found


_RESOURCE_OF = {"num_cpus": "CPU", "memory": "memory", "num_gpus": "GPU"}


def _unmet(asked: dict[str, Any], has: dict[str, float]) -> str | None:
    for option, amount in asked.items():
        resource = _RESOURCE_OF[option]
        if amount > has.get(resource, 0):
            return (
                f"{option}={amount:g}; this local Ray instance has {has.get(resource, 0):g} "
                "and cannot grow"
            )
    return None


def _step_task(
    function: Callable[..., Any],
    kwargs: dict[str, Any],
    target: tuple[str, str] | None,
    run_id: str | None,
    run: Any,
    store: OutputStore | None,
) -> Any:
    """In the Ray worker: load the inputs, run the step on its run, store the outputs."""
    if target is None or run_id is None:
        return function(**kwargs)
    client = _child_client(target)
    if store is not None:
        kwargs = {k: resolve(client, store.materializers, v) for k, v in kwargs.items()}
    value = call_in_run(RunContext(client, run_id, run), function, kwargs)
    return value if store is None else store_outputs(client, store, run_id, value)


class RayExecutor:
    """Steps as Ray tasks; the engine's bookkeeping on threads of the driver."""

    name = "ray"

    def __init__(self, max_workers: int | None = None) -> None:
        import ray

        self._ray = ray
        address = os.environ.get("RAY_ADDRESS")
        self._started = not ray.is_initialized()
        if self._started and address:
            ray.init(address=address)
        elif self._started:  # "local": a new instance, not one a `ray start` left running
            ray.init(address="local", include_dashboard=False)
        # Only an instance this executor brought up here cannot grow: a cluster may add nodes.
        self._local = self._started and not address
        self._has = ray.cluster_resources() if self._local else {}
        self._task = ray.remote(max_retries=0)(_step_task)
        self._threads = ThreadPoolExecutor(max_workers or _IN_FLIGHT, thread_name_prefix="clew-ray")

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        return self._threads.submit(call)

    def invoker(
        self, step_ref: str, function: Callable[..., Any], options: StepOptions | None = None
    ) -> Invoker:
        ray = self._ray
        asked = task_options(options)
        unmet = _unmet(asked, self._has) if self._local else None
        remote = self._task.options(**asked) if asked else self._task
        timeout = options.timeout_s if options else None
        shipped: list[Any] = []  # the function in Ray's object store, put once for every call
        lock = threading.Lock()

        def run(kwargs: dict[str, Any], context: RunContext | None) -> Any:
            if unmet:
                raise InvalidInput(f"the step asks for {unmet}")
            with lock:
                if not shipped:
                    shipped.append(ray.put(function))
            target = None if context is None else _client_target(context.client)
            run_id = None if context is None else context.run_id
            held = None if context is None else context.run
            store = None if context is None else context.store
            ref = remote.remote(shipped[0], kwargs, target, run_id, held, store)
            try:
                return ray.get(ref, timeout=timeout)
            except ray.exceptions.GetTimeoutError:
                ray.cancel(ref, force=True)
                raise TimeoutError(f"exceeded {timeout:g} s; its Ray task was canceled") from None
            except ray.exceptions.RayTaskError as exc:
                # The step's own exception (a StopBranch stays one), not Ray's wrapper of it.
                raise (exc.cause or exc) from None

        return Invoker(function, run, by_reference=True)

    def shutdown(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._started:
            self._ray.shutdown()
