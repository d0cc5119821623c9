"""``Client``: the explicit, run-id-passing SDK (MLflow's ``MlflowClient``, same method names).

One class over one :class:`~clew.client.transport.Transport`: local (services in-process on
``CLEW_HOME``) or HTTP (a ``clew server``). Whichever it is, calls behave the same and raise the
same errors from :mod:`clew.core.errors`. The fluent API (``clew.start_run`` …) is built on it.
Docstring examples use a ``client`` and run as tests (``tests/client/test_docs.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from clew.client.artifact_methods import ArtifactMethods
from clew.client.batching import BatchLimits
from clew.client.identity_methods import IdentityMethods
from clew.client.jobs_methods import JobMethods
from clew.client.lineage_methods import LineageMethods
from clew.client.logged_model_methods import LoggedModelMethods
from clew.client.model_methods import ModelMethods
from clew.client.pipeline_methods import PipelineMethods
from clew.client.promotion_methods import PromotionMethods
from clew.client.registry_methods import RegistryMethods
from clew.client.resolve import is_local, transport_for
from clew.client.run_view_methods import RunViewMethods
from clew.core.errors import NotFound
from clew.core.ids import now_ms
from clew.tracking.model import (
    Dataset,
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    Page,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)

if TYPE_CHECKING:
    import pandas as pd

    from clew.client.transport import Transport

#: Tag MLflow uses for a dataset input's role (``training``, ``evaluation`` …).
DATASET_CONTEXT_TAG = "mlflow.data.context"


class Client(
    ArtifactMethods,
    RegistryMethods,
    LoggedModelMethods,
    ModelMethods,
    PipelineMethods,
    JobMethods,
    IdentityMethods,
    PromotionMethods,
    LineageMethods,
    RunViewMethods,
):
    """Talk to a Clew tracking store, locally or over HTTP.

    Args:
        tracking_uri: ``http(s)://host:port`` for a server; a directory (or ``file://`` URI) to
            use as ``CLEW_HOME``; a ``sqlite:``/``postgresql:`` database URL; empty for local
            mode on ``CLEW_HOME``. Defaults to ``CLEW_TRACKING_URI``.
        transport: use this transport instead (tests, or a pre-configured HTTP client).

    Example:
        >>> exp_id = client.create_experiment("doc-client")
        >>> run = client.create_run(exp_id, run_name="first")
        >>> client.log_metric(run.run_id, "loss", 0.25, step=1)
        >>> client.get_run(run.run_id).data.metrics["loss"].value
        0.25
    """

    def __init__(self, tracking_uri: str | None = None, *, transport: Transport | None = None):
        if transport is None:
            if tracking_uri is None:
                tracking_uri = os.environ.get("CLEW_TRACKING_URI", "")
            transport = transport_for(tracking_uri)
        self.tracking_uri = tracking_uri or ""
        self.transport: Transport = transport
        is_remote = getattr(transport, "is_remote", None)
        #: True when calls cross a network (HTTP); False for the in-process local transport.
        self.is_remote: bool = bool(is_remote) if is_remote is not None else not is_local(transport)
        self.limits = BatchLimits.of(getattr(transport, "settings", None))

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.tracking_uri!r}, transport={type(self.transport).__name__})"

    # ---- experiments ---------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; names are unique (``AlreadyExists``)."""
        return self.transport.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.transport.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or ``None`` (as MLflow: absence is not an error here).

        Example:
            >>> client.get_experiment_by_name("no-such-experiment") is None
            True
        """
        try:
            return self.transport.get_experiment_by_name(name)
        except NotFound:
            return None

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.transport.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.transport.set_experiment_tags(str(experiment_id), {key: value})

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        self.transport.set_experiment_tags(str(experiment_id), tags)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.transport.delete_experiment_tag(str(experiment_id), key)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete: the experiment and its runs leave searches until restored."""
        self.transport.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.transport.restore_experiment(str(experiment_id))

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """One page of experiments; pass ``page.next_page_token`` back for the next one.

        Example:
            >>> _ = client.create_experiment("doc-search", tags={"team": "a"})
            >>> [e.name for e in client.search_experiments(filter_string="tags.team = 'a'")]
            ['doc-search']
        """
        return self.transport.search_experiments(
            filter_string, order_by, max_results, page_token, ViewType(view_type)
        )

    # ---- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str = "0",
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Sequence[Metric] = (),
        status: str | None = None,
        end_time: int | None = None,
    ) -> Run:
        """Start a RUNNING run; it stays so until ``set_terminated``.

        ``params`` and ``metrics`` are written with the run, in one request and one
        transaction (MLflow's clients need three calls for this). ``status="FINISHED"`` (and
        ``end_time``) records a run that already ended, e.g. when importing or batch logging.

        Example:
            >>> run = client.create_run(params={"lr": 0.1}, metrics=[Metric("loss", 0.5, 0, 0)])
            >>> run.data.params, run.data.metrics["loss"].value
            ({'lr': '0.1'}, 0.5)
        """
        return self.transport.create_run(
            str(experiment_id),
            run_name,
            start_time,
            tags,
            parent_run_id,
            as_pairs(params or {}),
            list(metrics),
            status,
            end_time,
        )

    def get_run(self, run_id: str) -> Run:
        return self.transport.get_run(run_id)

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        name: str | None = None,
        end_time: int | None = None,
    ) -> RunInfo:
        return self.transport.update_run(
            run_id, None if status is None else str(status), end_time, name
        )

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> RunInfo:
        """End a run: ``FINISHED``, ``FAILED`` or ``KILLED``; ``end_time`` defaults to now."""
        return self.transport.update_run(run_id, str(status), end_time, None)

    def delete_run(self, run_id: str) -> None:
        self.transport.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.transport.restore_run(run_id)

    # ---- logging -------------------------------------------------------------------------------

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        """Append one point to a metric's history. NaN and ±Inf are kept as such."""
        ts = now_ms() if timestamp is None else timestamp
        self.transport.log_batch(run_id, metrics=[Metric(key, value, ts, step or 0)])

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Several metrics at one step and time, in one call.

        Example:
            >>> run = client.create_run()
            >>> client.log_metrics(run.run_id, {"acc": 0.9, "loss": 0.1}, step=3)
            >>> sorted(client.get_run(run.run_id).data.metrics)
            ['acc', 'loss']
        """
        ts = now_ms() if timestamp is None else timestamp
        points = [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
        self.log_batch(run_id, metrics=points)

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log a param (stringified). Params are immutable: a different value raises
        ``ParamOverwrite``, the same value again is fine. Returns ``value``, as MLflow does.
        """
        self.transport.log_batch(run_id, params=[(key, as_text(value))])
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.log_batch(run_id, params=[(k, as_text(v)) for k, v in params.items()])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set (or overwrite) a run tag."""
        self.transport.log_batch(run_id, tags=[(key, as_text(value))])

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.log_batch(run_id, tags=[(k, as_text(v)) for k, v in tags.items()])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.transport.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | Sequence[Param | tuple[str, Any]] = (),
        tags: Mapping[str, Any] | Sequence[RunTag | tuple[str, Any]] = (),
    ) -> None:
        """Log metrics, params and tags together: one atomic call when within the batch limits.

        Larger batches are split (params first, then tags, then metrics); each part is atomic,
        and retrying the whole batch after a failure writes nothing twice.
        """
        param_items = as_pairs(params)
        tag_items = as_pairs(tags)
        metric_list = list(metrics)
        lim = self.limits
        if (
            len(metric_list) <= lim.metrics
            and len(param_items) <= lim.params
            and (len(tag_items) <= lim.tags)
        ):
            self.transport.log_batch(run_id, metric_list, param_items, tag_items)
            return
        for i in range(0, len(param_items), lim.params):
            self.transport.log_batch(run_id, params=param_items[i : i + lim.params])
        for i in range(0, len(tag_items), lim.tags):
            self.transport.log_batch(run_id, tags=tag_items[i : i + lim.tags])
        for i in range(0, len(metric_list), lim.metrics):
            self.transport.log_batch(run_id, metrics=metric_list[i : i + lim.metrics])

    def log_input(
        self,
        run_id: str,
        dataset: Dataset,
        context: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Record that the run read ``dataset`` (see :func:`clew.data.from_pandas`).

        Args:
            context: the dataset's role, e.g. ``"training"`` or ``"evaluation"``.
        """
        input_tags = dict(tags or {})
        if context:
            input_tags[DATASET_CONTEXT_TAG] = context
        self.transport.log_inputs(run_id, [DatasetInput(dataset, input_tags)])

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.transport.log_inputs(run_id, list(datasets))

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> MetricHistory:
        """Every point of a metric, ordered by step then time, as columns; ``max_points``
        (5..10,000) downsamples it on the server as :meth:`get_metric_series` does.

        Example:
            >>> run = client.create_run()
            >>> for step in range(3):
            ...     client.log_metric(run.run_id, "loss", 1 / (step + 1), step=step)
            >>> client.get_metric_history(run.run_id, "loss", start_step=1).steps
            [1, 2]
        """
        return self.transport.get_metric_history(run_id, key, start_step, end_step, max_points)

    # ---- search --------------------------------------------------------------------------------

    @overload
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = ...,
        filter_string: str = ...,
        run_view_type: ViewType = ...,
        max_results: int = ...,
        order_by: Sequence[str] = ...,
        page_token: str | None = ...,
        output: Literal["list"] = ...,
    ) -> Page[Run]: ...
    @overload
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = ...,
        filter_string: str = ...,
        run_view_type: ViewType = ...,
        max_results: int = ...,
        order_by: Sequence[str] = ...,
        page_token: str | None = ...,
        *,
        output: Literal["pandas"],
    ) -> pd.DataFrame: ...

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
        output: Literal["list", "pandas"] = "list",
    ) -> Page[Run] | pd.DataFrame:
        """One page of runs matching MLflow's filter grammar (all experiments if none given).

        ``output="pandas"`` returns a DataFrame with MLflow's columns (``run_id``, ``status``,
        ``start_time``, ``metrics.<key>``, ``params.<key>``, ``tags.<key>`` …); the next page's
        token is in ``df.attrs["next_page_token"]``. For every page use :meth:`iter_runs`.

        Example:
            >>> exp = client.create_experiment("doc-search-runs")
            >>> for lr in (0.1, 0.01):
            ...     _ = client.log_param(client.create_run(exp).run_id, "lr", lr)
            >>> df = client.search_runs([exp], "params.lr = '0.1'", output="pandas")
            >>> list(df["params.lr"])
            ['0.1']
        """
        ids = None if experiment_ids is None else [str(e) for e in experiment_ids]
        page = self.transport.search_runs(
            ids, filter_string, ViewType(run_view_type), max_results, tuple(order_by), page_token
        )
        if output == "pandas":
            from clew.client.frames import runs_to_frame

            return runs_to_frame(page.items, page.next_page_token)
        if output != "list":
            raise ValueError(f"output must be 'list' or 'pandas', not {output!r}")
        return page

    def iter_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        order_by: Sequence[str] = (),
        page_size: int = 1000,
    ) -> Iterator[Run]:
        """Every matching run, fetching page after page lazily (cursor paging, no offsets)."""
        token: str | None = None
        while True:
            page = self.search_runs(
                experiment_ids, filter_string, run_view_type, page_size, order_by, token
            )
            yield from page.items
            token = page.next_page_token
            if not token:
                return


def as_text(value: Any) -> str:
    """Params and tags are strings; other values are logged as ``str(value)``, as in MLflow."""
    return value if isinstance(value, str) else str(value)


def as_pairs(items: Mapping[str, Any] | Sequence[Any]) -> list[tuple[str, str]]:
    """``(key, text)`` pairs from a mapping, or a sequence of pairs or ``Param``/``RunTag``."""
    seq = items.items() if isinstance(items, Mapping) else items
    return [
        (i.key, i.value) if isinstance(i, Param | RunTag) else (i[0], as_text(i[1])) for i in seq
    ]
