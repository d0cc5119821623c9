"""An MLflow backend store (``sqlite:///…``, ``postgresql://…``, ``mysql://…``) read directly
with SQLAlchemy Core, plus the artifact root where its files are.

For when the server is gone, slow, or behind auth the importer cannot pass: the tables are
MLflow's own (``mlflow/store/tracking/dbmodels/models.py`` and
``mlflow/store/model_registry/dbmodels/models.py`` in MLflow 3.x); only the columns read here
are named, as lightweight ``table()`` constructs, so a newer MLflow that adds columns still
reads. Tables an older MLflow lacks (``logged_models`` before 3.0, ``datasets`` before 2.4,
``registered_model_aliases`` before 2.3) read as empty. The store is only read: the engine is
opened and every statement is a ``SELECT``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine, column, create_engine, inspect, select, table
from sqlalchemy.engine import make_url

from clew.artifacts.blobstore import Source as ByteSource
from clew.importers.mlflow.artifact_root import ArtifactRoot
from clew.importers.mlflow.source import (
    LOGGED_MODEL_STATUS,
    SourceExperiment,
    SourceFile,
    SourceLoggedModel,
    SourceRegisteredModel,
    SourceRun,
    SourceVersion,
    model_id_of,
    parse_stage,
    public_label,
)
from clew.registry.logged_model import LoggedModelMetric
from clew.tracking.model import Dataset, DatasetInput, Metric


def _t(name: str, *cols: str) -> Any:
    return table(name, *(column(c) for c in cols))


EXPERIMENTS = _t("experiments", "experiment_id", "name", "artifact_location", "lifecycle_stage")
EXPERIMENT_TAGS = _t("experiment_tags", "experiment_id", "key", "value")
RUNS = _t(
    "runs",
    "run_uuid",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
)
PARAMS = _t("params", "run_uuid", "key", "value")
TAGS = _t("tags", "run_uuid", "key", "value")
METRICS = _t("metrics", "run_uuid", "key", "value", "timestamp", "step", "is_nan")
LATEST = _t("latest_metrics", "run_uuid", "key")
DATASETS = _t(
    "datasets",
    "dataset_uuid",
    "name",
    "digest",
    "dataset_source_type",
    "dataset_source",
    "dataset_schema",
    "dataset_profile",
)
INPUTS = _t(
    "inputs", "input_uuid", "source_type", "source_id", "destination_type", "destination_id"
)
INPUT_TAGS = _t("input_tags", "input_uuid", "name", "value")
LOGGED = _t(
    "logged_models",
    "model_id",
    "experiment_id",
    "name",
    "artifact_location",
    "status",
    "lifecycle_stage",
    "model_type",
    "source_run_id",
    "status_message",
)
LOGGED_PARAMS = _t("logged_model_params", "model_id", "param_key", "param_value")
LOGGED_TAGS = _t("logged_model_tags", "model_id", "tag_key", "tag_value")
LOGGED_METRICS = _t(
    "logged_model_metrics",
    "model_id",
    "metric_name",
    "metric_timestamp_ms",
    "metric_step",
    "metric_value",
    "run_id",
    "dataset_name",
    "dataset_digest",
)
REGISTERED = _t("registered_models", "name", "description")
REGISTERED_TAGS = _t("registered_model_tags", "name", "key", "value")
ALIASES = _t("registered_model_aliases", "name", "alias", "version")
VERSIONS = _t(
    "model_versions",
    "name",
    "version",
    "description",
    "current_stage",
    "source",
    "run_id",
    "status",
    "run_link",
)
VERSION_TAGS = _t("model_version_tags", "name", "version", "key", "value")

#: MLflow's SQL store marks a deleted version with this stage instead of removing the row.
DELETED_STAGE = "Deleted_Internal"


class SqlSource:
    """Reads an MLflow backend store; ``artifact_root`` is where its files are (see
    ``ArtifactRoot``): the server's ``--artifacts-destination`` for ``mlflow-artifacts:`` roots,
    or the folder/bucket that ``file:``/``s3:`` roots point into."""

    def __init__(self, backend_store_uri: str, artifact_root: str | None = None) -> None:
        url = make_url(backend_store_uri)
        self.label = public_label(backend_store_uri)
        self.engine: Engine = create_engine(url)
        self.tables = set(inspect(self.engine).get_table_names())
        self.root = ArtifactRoot(artifact_root)

    def _rows(self, query: Any, needs: str) -> list[Any]:
        if needs not in self.tables:
            return []
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    # ---- tracking ------------------------------------------------------------------------------

    def experiments(self) -> Sequence[SourceExperiment]:
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        for r in self._rows(select(EXPERIMENT_TAGS), "experiment_tags"):
            tags[str(r.experiment_id)][r.key] = r.value or ""
        rows = self._rows(select(EXPERIMENTS).order_by(EXPERIMENTS.c.experiment_id), "experiments")
        return [
            SourceExperiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                lifecycle_stage=parse_stage(r.lifecycle_stage),
                artifact_location=r.artifact_location or "",
                tags=tags[str(r.experiment_id)],
            )
            for r in rows
        ]

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        eid = int(experiment_id)
        query = select(RUNS).where(RUNS.c.experiment_id == eid).order_by(RUNS.c.start_time)
        for r in self._rows(query, "runs"):
            run_id = r.run_uuid
            yield SourceRun(
                run_id=r.run_uuid,
                experiment_id=str(r.experiment_id),
                name=r.name or "",
                status=r.status or "FINISHED",
                start_time=r.start_time,
                end_time=r.end_time,
                lifecycle_stage=parse_stage(r.lifecycle_stage),
                artifact_uri=r.artifact_uri or "",
                params=self._pairs(PARAMS, "params", run_id),
                tags=self._pairs(TAGS, "tags", run_id),
                metric_keys=self._metric_keys(run_id),
            )

    def _pairs(self, t: Any, name: str, run_id: str) -> dict[str, str]:
        rows = self._rows(select(t.c.key, t.c.value).where(t.c.run_uuid == run_id), name)
        return {r.key: r.value or "" for r in rows}

    def _metric_keys(self, run_id: str) -> tuple[str, ...]:
        t, name = (
            (LATEST, "latest_metrics") if "latest_metrics" in self.tables else (METRICS, "metrics")
        )
        rows = self._rows(select(t.c.key).where(t.c.run_uuid == run_id).distinct(), name)
        return tuple(sorted(r.key for r in rows))

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        m = METRICS.c
        query = (
            select(m.value, m.timestamp, m.step, m.is_nan)
            .where(m.run_uuid == run_id, m.key == key)
            .order_by(m.step, m.timestamp)
        )
        return [
            Metric(key, math.nan if r.is_nan else float(r.value), int(r.timestamp), int(r.step))
            for r in self._rows(query, "metrics")
        ]

    def inputs(self, run_id: str) -> list[DatasetInput]:
        i, d = INPUTS.c, DATASETS.c
        query = (
            select(i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source)
            .add_columns(d.dataset_schema, d.dataset_profile)
            .select_from(INPUTS.join(DATASETS, d.dataset_uuid == i.source_id))
            .where(
                i.destination_type == "RUN",
                i.destination_id == run_id,
                i.source_type == "DATASET",
            )
        )
        if "datasets" not in self.tables:
            return []
        out = []
        for r in self._rows(query, "inputs"):
            tag_rows = self._rows(
                select(INPUT_TAGS.c.name, INPUT_TAGS.c.value).where(
                    INPUT_TAGS.c.input_uuid == r.input_uuid
                ),
                "input_tags",
            )
            dataset = Dataset(
                name=r.name,
                digest=r.digest,
                source_type=r.dataset_source_type or "",
                source=r.dataset_source or "",
                schema=r.dataset_schema or "",
                profile=r.dataset_profile or "",
            )
            out.append(DatasetInput(dataset, tags={t.name: t.value for t in tag_rows}))
        return out

    def logged_models(self, experiment_id: str) -> Sequence[SourceLoggedModel]:
        rows = self._rows(
            select(LOGGED).where(LOGGED.c.experiment_id == int(experiment_id)), "logged_models"
        )
        return [self._logged_model(r) for r in rows]

    def _logged_model(self, r: Any) -> SourceLoggedModel:
        mid = r.model_id
        p, t, m = LOGGED_PARAMS.c, LOGGED_TAGS.c, LOGGED_METRICS.c
        params = self._rows(
            select(p.param_key, p.param_value).where(p.model_id == mid), "logged_model_params"
        )
        tags = self._rows(
            select(t.tag_key, t.tag_value).where(t.model_id == mid), "logged_model_tags"
        )
        points = self._rows(select(LOGGED_METRICS).where(m.model_id == mid), "logged_model_metrics")
        metrics = tuple(
            LoggedModelMetric(
                key=x.metric_name,
                value=math.nan if x.metric_value is None else float(x.metric_value),
                timestamp=int(x.metric_timestamp_ms),
                step=int(x.metric_step),
                run_id=x.run_id or None,
                dataset_name=x.dataset_name or None,
                dataset_digest=x.dataset_digest or None,
            )
            for x in points
        )
        return SourceLoggedModel(
            model_id=mid,
            experiment_id=str(r.experiment_id),
            name=r.name,
            status=LOGGED_MODEL_STATUS.get(str(r.status), "PENDING"),
            lifecycle_stage=parse_stage(r.lifecycle_stage),
            artifact_location=r.artifact_location,
            source_run_id=r.source_run_id or None,
            model_type=r.model_type or "",
            status_message=r.status_message or "",
            params={x.param_key: x.param_value for x in params},
            tags={x.tag_key: x.tag_value for x in tags},
            metrics=metrics,
        )

    # ---- registry ------------------------------------------------------------------------------

    def registered_models(self) -> Sequence[SourceRegisteredModel]:
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        for r in self._rows(select(REGISTERED_TAGS), "registered_model_tags"):
            tags[r.name][r.key] = r.value or ""
        aliases: dict[str, dict[str, int]] = defaultdict(dict)
        for r in self._rows(select(ALIASES), "registered_model_aliases"):
            aliases[r.name][r.alias] = int(r.version)
        rows = self._rows(select(REGISTERED).order_by(REGISTERED.c.name), "registered_models")
        return [
            SourceRegisteredModel(
                name=r.name,
                description=r.description or "",
                tags=tags[r.name],
                aliases=aliases[r.name],
            )
            for r in rows
        ]

    def versions(self, name: str) -> Sequence[SourceVersion]:
        v, t = VERSIONS.c, VERSION_TAGS.c
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for r in self._rows(select(VERSION_TAGS).where(t.name == name), "model_version_tags"):
            tags[int(r.version)][r.key] = r.value or ""
        query = select(VERSIONS).where(v.name == name).order_by(v.version)
        return [
            SourceVersion(
                name=r.name,
                version=int(r.version),
                source=r.source or "",
                status=r.status or "READY",
                stage=r.current_stage or "None",
                run_id=r.run_id or None,
                model_id=model_id_of(r.source or ""),
                description=r.description or "",
                tags=tags[int(r.version)],
                run_link=r.run_link or "",
            )
            for r in self._rows(query, "model_versions")
            if r.current_stage != DELETED_STAGE
        ]

    # ---- artifacts -----------------------------------------------------------------------------

    def files(self, artifact_uri: str) -> Iterator[SourceFile]:
        return self.root.files(artifact_uri)

    def open(self, artifact_uri: str, path: str) -> AbstractContextManager[ByteSource]:
        return self.root.open(artifact_uri, path)

    def close(self) -> None:
        self.engine.dispose()
