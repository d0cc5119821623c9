"""The fluent API's active runs: ``start_run``, ``end_run``, ``active_run``.

The stack of active runs is a ``ContextVar`` (CONVENTIONS.md), so each thread and each asyncio
task has its own: runs started in a worker thread do not nest under the main thread's, and
two tasks logging concurrently do not write to each other's runs. Each active run remembers
the session (client) it was started with, so its writes and its end go to the same store even if
the tracking URI changes meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from clew.client import session as sessions
from clew.client.client import as_text
from clew.core.errors import Conflict, InvalidInput
from clew.tracking.model import LifecycleStage, Run, RunData, RunInfo, RunStatus

NOTE_TAG = "mlflow.note.content"


class ActiveRun:
    """A run started by :func:`start_run`; a context manager that ends it.

    Leaving the ``with`` block ends the run ``FINISHED``, or ``FAILED`` when an exception
    escapes, or ``KILLED`` on ``KeyboardInterrupt``. ``info`` and ``data`` are as of the start;
    use ``clew.get_run(run.info.run_id)`` for what has been logged since.
    """

    def __init__(self, run: Run, session: sessions.Session) -> None:
        self._run = run
        self.session = session

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self._run.data

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def __repr__(self) -> str:
        return f"<ActiveRun {self.run_id} experiment={self.info.experiment_id}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        try:
            _end(self, status)
        except Exception as err:
            if exc is None:
                raise
            # Do not hide the user's exception behind ours; report ours on it and on stderr.
            exc.add_note(f"clew: ending run {self.run_id} also failed: {err!r}")
            sessions.report(err)


_stack: ContextVar[tuple[ActiveRun, ...]] = ContextVar("clew_active_runs", default=())


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread or task, or ``None``."""
    stack = _stack.get()
    return stack[-1] if stack else None


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active run.

    The experiment is ``experiment_id``, else the parent's for a nested run, else the one from
    :func:`clew.set_experiment`, else the default experiment ``"0"``.

    Args:
        nested: start a child of the active run (it gets ``parent_run_id``). Without it,
            starting a run while one is active raises ``Conflict``, as in MLflow.
        parent_run_id: nest under this run explicitly.

    Example:
        >>> with clew.start_run(run_name="outer") as outer:
        ...     with clew.start_run(nested=True) as inner:
        ...         inner.info.parent_run_id == outer.info.run_id
        True
    """
    stack = _stack.get()
    if stack and not nested:
        raise Conflict(
            f"Run {stack[-1].run_id} is already active. End it with clew.end_run() first, "
            "or pass nested=True to start a nested run."
        )
    session = stack[-1].session if stack else sessions.current()
    client = session.client
    tag_values = {k: as_text(v) for k, v in (tags or {}).items()}
    if description:
        tag_values[NOTE_TAG] = description
    if run_id is not None:
        run = _resume(session, run_id, experiment_id, run_name, tag_values)
    else:
        parent_id = parent_run_id or (stack[-1].run_id if stack else None)
        if experiment_id is not None:
            exp = str(experiment_id)
        elif parent_id is not None:
            parent = (
                stack[-1].info
                if stack and stack[-1].run_id == parent_id
                else (client.get_run(parent_id).info)
            )
            exp = parent.experiment_id
        else:
            exp = session.experiment_id or "0"
        run = client.create_run(
            exp, tags=tag_values or None, run_name=run_name, parent_run_id=parent_id
        )
    active = ActiveRun(run, session)
    _stack.set((*_stack.get(), active))
    sessions.ensure_exit_hook()
    return active


def _resume(
    session: sessions.Session,
    run_id: str,
    experiment_id: str | None,
    run_name: str | None,
    tags: dict[str, str],
) -> Run:
    client = session.client
    run = client.get_run(run_id)
    if experiment_id is not None and str(experiment_id) != run.info.experiment_id:
        raise InvalidInput(
            f"Run {run_id} is in experiment {run.info.experiment_id}, not {experiment_id}"
        )
    if run.info.lifecycle_stage != LifecycleStage.ACTIVE:
        raise Conflict(f"Run {run_id} is deleted; restore it before resuming it")
    if run.info.status != RunStatus.RUNNING or run_name:
        client.update_run(run_id, status=RunStatus.RUNNING, name=run_name)
    if tags:
        client.set_tags(run_id, tags)
    return client.get_run(run_id)


@contextmanager
def attached(run: Run) -> Iterator[ActiveRun]:
    """Make ``run``, which the caller already holds, the active run inside the block, without
    fetching it and without ending it: for an engine that owns the run's lifecycle (each
    pipeline step's run, ``clew.pipelines``). What the block buffered is sent as it leaves."""
    session = sessions.current()
    active = ActiveRun(run, session)
    token = _stack.set((*_stack.get(), active))
    failed = True
    try:
        yield active
        failed = False
    finally:
        _stack.reset(token)
        try:
            session.flush(run.info.run_id)
        except Exception as exc:
            if not failed:
                raise
            sessions.report(exc)  # the block's own exception is the one to see


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run, first sending what it buffered.

    Raises:
        The first failure of background logging for this run (the run is then ended
        ``FAILED``), so no failed write goes unnoticed.
    """
    stack = _stack.get()
    if stack:
        _end(stack[-1], RunStatus(status))


def run_for_logging() -> ActiveRun:
    """The active run, starting one if there is none (MLflow's ``_get_or_start_run``)."""
    return active_run() or start_run()


def _end(active: ActiveRun, status: RunStatus) -> None:
    """End ``active`` and any runs still open inside it, innermost first."""
    stack = _stack.get()
    position = next((i for i, r in enumerate(stack) if r is active), None)
    if position is None:
        return  # already ended (e.g. end_run() inside its with-block)
    first_error: Exception | None = None
    for run in reversed(stack[position:]):
        current = _stack.get()
        _stack.set(current[: next(i for i, r in enumerate(current) if r is run)])
        try:
            _terminate(run, status)
        except Exception as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


def _terminate(run: ActiveRun, status: RunStatus) -> None:
    error: Exception | None = None
    try:
        run.session.flush(run.run_id)
    except Exception as exc:
        error = exc
        if status == RunStatus.FINISHED:
            status = RunStatus.FAILED
    try:
        run.session.client.set_terminated(run.run_id, status)
    except Exception as exc:
        if error is None:
            raise
        error.add_note(f"Ending run {run.run_id} failed too: {exc!r}")
    if error is not None:
        raise error


def _end_all_at_exit() -> None:
    """End the runs the main thread left open, as MLflow does at interpreter exit."""
    while _stack.get():
        try:
            end_run()
        except Exception as exc:  # end_run popped the run already; go on with the others
            sessions.report(exc)


sessions.exit_callbacks.append(_end_all_at_exit)
