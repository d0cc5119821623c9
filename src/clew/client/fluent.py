"""The module-level API: ``clew.start_run()``, ``clew.log_metric()`` … (MLflow's fluent API).

Calls log to the active run (starting one if there is none). Metrics, params and tags are
buffered and sent in the background in large batches, locally and over HTTP (30-100 times
the throughput of a call each; see :class:`clew.client.session.Session`). ``clew.flush()``,
``end_run`` and interpreter exit send what is left and raise (or, at exit, print) any failure.
Pass ``synchronous=True`` or set ``CLEW_ASYNC_LOGGING=false`` to write each call at once.
Everything else (artifacts, inputs, reads) is synchronous, and reads flush first, so they see
what this process logged.

Example:
    >>> experiment = clew.set_experiment("doc-fluent")
    >>> with clew.start_run() as run:
    ...     clew.log_param("lr", 0.01)
    ...     clew.log_metric("loss", 0.5, step=1)
    0.01
    >>> clew.get_run(run.info.run_id).data.params
    {'lr': '0.01'}
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clew.client import session as sessions
from clew.client.client import Client, as_pairs, as_text
from clew.client.runs import ActiveRun, active_run, end_run, run_for_logging, start_run
from clew.client.session import get_tracking_uri, set_tracking_uri
from clew.core.errors import Conflict, InvalidInput
from clew.core.ids import now_ms
from clew.tracking.model import (
    Dataset,
    Experiment,
    LifecycleStage,
    Metric,
    MetricHistory,
    Run,
    ViewType,
)

if TYPE_CHECKING:
    import pandas as pd

    from clew.artifacts.model import FileInfo

__all__ = [
    "ActiveRun",
    "active_run",
    "delete_tag",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "use_client",
]


def set_experiment(
    name: str | None = None, experiment_id: str | None = None, *, experiment_name: str | None = None
) -> Experiment:
    """Make an experiment the active one for new runs, creating it by name if missing.

    ``experiment_name`` is accepted as an alias of ``name`` (MLflow's keyword).

    Raises:
        NotFound: ``experiment_id`` does not exist.
        Conflict: the experiment is deleted (restore it first).
    """
    name = name if name is not None else experiment_name
    if (name is None) == (experiment_id is None):
        raise InvalidInput("Pass exactly one of name or experiment_id")
    session = sessions.current()
    client = session.client
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
    else:
        assert name is not None
        found = client.get_experiment_by_name(name)
        exp = found or client.get_experiment(client.create_experiment(name))
    if exp.lifecycle_stage != LifecycleStage.ACTIVE:
        raise Conflict(
            f"Experiment {exp.name!r} is deleted; restore it before making it the active one"
        )
    session.experiment_id = exp.experiment_id
    return exp


# ---- metrics, params, tags: buffered over HTTP ---------------------------------------------------


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Log one metric point to the active run (time defaults to now, step to 0)."""
    run = run_for_logging()
    ts = now_ms() if timestamp is None else timestamp
    run.session.write(
        run.run_id, metrics=[Metric(key, value, ts, step or 0)], synchronous=synchronous
    )


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Log several metrics at one step and time."""
    run = run_for_logging()
    ts = now_ms() if timestamp is None else timestamp
    points = [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
    run.session.write(run.run_id, metrics=points, synchronous=synchronous)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param; returns ``value``. Logging a different value for the key later raises
    ``ParamOverwrite`` (when buffered: from the next ``flush``/``end_run``)."""
    run = run_for_logging()
    run.session.write(run.run_id, params=[(key, as_text(value))], synchronous=synchronous)
    return value


def log_params(params: Mapping[str, Any], synchronous: bool | None = None) -> None:
    run = run_for_logging()
    run.session.write(run.run_id, params=as_pairs(params), synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    run = run_for_logging()
    run.session.write(run.run_id, tags={key: as_text(value)}, synchronous=synchronous)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    run = run_for_logging()
    run.session.write(run.run_id, tags=dict(as_pairs(tags)), synchronous=synchronous)


def delete_tag(key: str) -> None:
    run = _flushed_run()
    run.session.client.delete_tag(run.run_id, key)


def flush() -> None:
    """Send everything buffered by every client; raise the first background failure.

    Returns at once when nothing was buffered.
    """
    sessions.flush_all()


# ---- synchronous writes ----------------------------------------------------------------------


def log_input(
    dataset: Dataset, context: str | None = None, tags: Mapping[str, str] | None = None
) -> None:
    """Record that the active run read ``dataset`` (``clew.data.from_pandas(df)``)."""
    run = run_for_logging()
    run.session.client.log_input(run.run_id, dataset, context, tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> FileInfo:
    run = run_for_logging()
    return run.session.client.log_artifact(run.run_id, local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> list[FileInfo]:
    run = run_for_logging()
    return run.session.client.log_artifacts(run.run_id, local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> FileInfo:
    run = run_for_logging()
    return run.session.client.log_text(run.run_id, text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> FileInfo:
    run = run_for_logging()
    return run.session.client.log_dict(run.run_id, dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, save_kwargs: Mapping[str, Any] | None = None
) -> FileInfo:
    """Save a matplotlib figure into the active run's artifacts (rendered in memory)."""
    run = run_for_logging()
    return run.session.client.log_figure(run.run_id, figure, artifact_file, save_kwargs)


# ---- reads (flush first: read your own writes) -----------------------------------------------


def get_run(run_id: str) -> Run:
    session = sessions.current()
    session.flush(run_id)
    return session.client.get_run(run_id)


def get_metric_history(run_id: str, key: str) -> MetricHistory:
    session = sessions.current()
    session.flush(run_id)
    return session.client.get_metric_history(run_id, key)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] = (),
    output_format: str | None = None,
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching a filter, all pages up to ``max_results``.

    Searches the active experiment unless ``experiment_ids``/``experiment_names`` are given or
    ``search_all_experiments`` is set. ``output_format`` is ``"pandas"`` (a DataFrame in MLflow's
    layout, the default when pandas is installed, as in MLflow) or ``"list"`` (the default
    without pandas).
    """
    session = sessions.current()
    session.flush()
    client = session.client
    ids: list[str] | None
    if experiment_names is not None:
        found = [client.get_experiment_by_name(n) for n in experiment_names]
        ids = [*(experiment_ids or ()), *(e.experiment_id for e in found if e is not None)]
    elif experiment_ids is not None:
        ids = [str(e) for e in experiment_ids]
    elif search_all_experiments:
        ids = None
    else:
        ids = [session.experiment_id or "0"]
    if output_format is None:
        output_format = "pandas" if importlib.util.find_spec("pandas") else "list"
    if output_format not in ("pandas", "list"):
        raise ValueError(f"output_format must be 'pandas' or 'list', not {output_format!r}")
    runs: list[Run] = []
    page_size = max(1, min(max_results, 10_000))
    for run in client.iter_runs(ids, filter_string, run_view_type, order_by, page_size):
        if len(runs) >= max_results:
            break
        runs.append(run)
    if output_format == "list":
        return runs
    from clew.client.frames import runs_to_frame

    return runs_to_frame(runs)


# ---- tests and embedding -----------------------------------------------------------------


@contextmanager
def use_client(client: Client) -> Iterator[Client]:
    """Route the fluent API to ``client`` inside the block (in this thread or task).

    The block starts with no active run; runs left open in it are ended on the way out, and
    buffered writes are flushed (their failure raised) when the block exits normally.

    Example:
        >>> with clew.use_client(client):
        ...     with clew.start_run() as run:
        ...         clew.log_metric("m", 1.0)
        >>> client.get_run(run.info.run_id).info.status
        'FINISHED'
    """
    from clew.client import runs

    session = sessions.Session(client)
    session_token = sessions._override.set(session)
    stack_token = runs._stack.set(())
    failed = True
    try:
        yield client
        failed = False
    finally:
        errors: list[Exception] = []
        while runs._stack.get():
            try:
                end_run("FAILED" if failed else "FINISHED")
            except Exception as exc:
                errors.append(exc)
        try:
            session.close()
        except Exception as exc:
            errors.append(exc)
        runs._stack.reset(stack_token)
        sessions._override.reset(session_token)
        if errors and not failed:
            raise errors[0]
        for error in errors:  # the block's own exception is propagating: report ours beside it
            sessions.report(error)


def _flushed_run() -> ActiveRun:
    run = run_for_logging()
    run.session.flush(run.run_id)
    return run
