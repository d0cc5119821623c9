"""The worker in ``clew server`` and ``clew scheduler``: fires schedules, runs queued jobs.

One loop thread, every ``pipeline_poll_interval_s``: fire due schedules into jobs, fail jobs
whose worker died (their lease lapsed), and claim queued jobs while fewer than
``pipeline_worker_jobs`` run here. Each claimed job runs on a thread of its own through the
engine, tracked into this server's store as the user who submitted it; a renewer thread
extends its lease every third of the lease, records the pipeline run's id once the engine
has made it, and cancels the engine when someone asked to or when the lease was lost.

Any number of workers may share one database (``jobs.JobService`` makes each hand-over a
compare-and-set), so server replicas each run one and a job still runs once.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import traceback
import uuid
from typing import Any

from clew.core.actor import Actor
from clew.core.errors import InvalidInput
from clew.pipelines import serialize
from clew.pipelines.job_records import Job, JobState, PipelineVersion
from clew.pipelines.jobs import JobService, check_steps_allowed

log = logging.getLogger(__name__)


def worker_name() -> str:
    """Unique per worker: host, process and a random suffix (one process may run several)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class PipelineWorker:
    def __init__(self, platform: Any, *, name: str | None = None) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.jobs: JobService = platform.jobs
        self.name = name or worker_name()
        self.lease_ms = int(self.settings.pipeline_lease_s * 1000)
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._running: dict[str, _RunningJob] = {}
        self._lock = threading.Lock()

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._loop is None:
            self._loop = threading.Thread(target=self._forever, name="clew-pipeline-worker",
                                          daemon=True)  # fmt: skip
            self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; cancel what runs here (Finally steps still run) and wait for it."""
        self._stop.set()
        if self._loop is not None:
            self._loop.join(timeout)
            self._loop = None
        with self._lock:
            running = list(self._running.values())
        for job in running:
            job.cancel("the worker stopped")
        for job in running:
            job.thread.join(timeout)

    def _forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # a database blip must not end the worker
                log.exception("pipeline worker poll failed")
            self._stop.wait(self.settings.pipeline_poll_interval_s)

    # ---- one round ----------------------------------------------------------------------------

    def poll(self) -> list[str]:
        """One round: fire schedules, fail lapsed jobs, start what fits. Returns started ids."""
        self.platform.schedules.fire_due()
        self.jobs.fail_lapsed()
        started: list[str] = []
        while not self._stop.is_set() and self.busy() < self.settings.pipeline_worker_jobs:
            claimed = self.jobs.claim(self.name, self.lease_ms)
            if claimed is None:
                break
            self._start(*claimed)
            started.append(claimed[0].id)
        return started

    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def wait_idle(self, timeout: float) -> bool:
        """Whether every job started here ended within ``timeout`` seconds (for tests, CLI)."""
        with self._lock:
            running = list(self._running.values())
        for job in running:
            job.thread.join(timeout)
        return self.busy() == 0

    def _start(self, job: Job, version: PipelineVersion) -> None:
        running = _RunningJob(self, job, version)
        with self._lock:
            self._running[job.id] = running
        running.thread.start()

    def _ended(self, job_id: str) -> None:
        with self._lock:
            self._running.pop(job_id, None)


class _RunningJob:
    """One claimed job: the engine on its own thread, and the lease renewer beside it."""

    def __init__(self, worker: PipelineWorker, job: Job, version: PipelineVersion) -> None:
        self.worker = worker
        self.job = job
        self.version = version
        self.engine: Any = None
        self._why_canceled = ""
        self._done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"clew-job-{job.id[:8]}",
                                       daemon=True)  # fmt: skip

    def cancel(self, why: str) -> None:
        self._why_canceled = self._why_canceled or why
        if self.engine is not None:
            self.engine.cancel()

    def run_id(self) -> str | None:
        hooks = getattr(self.engine, "hooks", None)
        return getattr(hooks, "root_run_id", None)

    def _run(self) -> None:
        renewer = threading.Thread(target=self._renew, name=f"clew-lease-{self.job.id[:8]}",
                                   daemon=True)  # fmt: skip
        try:
            state, message = self._execute(renewer)
        except Exception as exc:  # the job's failure, not the worker's
            state, message = JobState.FAILED, f"{type(exc).__name__}: {exc}"
            log.debug("pipeline job %s failed:\n%s", self.job.id, traceback.format_exc())
        finally:
            self._done.set()
        if renewer.is_alive():
            renewer.join()
        if self._why_canceled and state == JobState.CANCELED:
            message = message or self._why_canceled
        self.worker.jobs.finish(self.job.id, self.worker.name, state, message, self.run_id())
        self.worker._ended(self.job.id)

    def _execute(self, renewer: threading.Thread) -> tuple[str, str]:
        from clew.client.client import Client
        from clew.client.local import LocalTransport
        from clew.pipelines.launch import prepare

        check_steps_allowed(self.version, self.worker.settings.allowed_step_modules())
        assert self.version.spec is not None
        spec = serialize.from_dict(self.version.spec)
        _check_step_objects(spec)
        transport = LocalTransport(platform=self.worker.platform)
        transport.actor = _actor_of(self.job)
        options = self.job.options
        self.engine = prepare(
            spec,
            self.job.params,
            client=Client(transport=transport),
            cache=bool(options.get("cache", True)),
            resume_from=self.job.resume_from,
            executor=str(options.get("executor", "threads")),
        )
        renewer.start()
        if self._why_canceled:  # asked before the engine existed
            self.engine.cancel()
        result = self.engine.run()
        return result.state.value, result.reason or ""

    def _renew(self) -> None:
        every = self.worker.lease_ms / 3000
        while not self._done.wait(every):
            try:
                canceled = self.worker.jobs.renew(
                    self.job.id, self.worker.name, self.worker.lease_ms, self.run_id()
                )
            except Exception:
                log.exception("renewing the lease of pipeline job %s failed", self.job.id)
                continue
            if canceled is None:
                self.cancel("the worker lost its lease on the job")
            elif canceled:
                self.cancel("canceled on request")


def _actor_of(job: Job) -> Actor:
    if job.requested_by.startswith("schedule:"):
        return Actor(name=job.requested_by, kind="system")
    return Actor(name=job.requested_by)


def _check_step_objects(spec: Any) -> None:
    """Each step reference names a ``@step`` defined in its own module (so an allowed module
    cannot lend out a function it merely imported)."""
    from clew.pipelines.dsl import Step
    from clew.pipelines.flatten import flatten

    for task in flatten(spec).tasks:
        module_name, _, name = (task.step or "").partition(":")
        found = getattr(importlib.import_module(module_name), name, None)
        if not isinstance(found, Step) or found.fn.__module__ != module_name:
            raise InvalidInput(f"step {task.name!r}: {task.step!r} is not a @step of its module")
