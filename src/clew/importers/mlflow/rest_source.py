"""An MLflow tracking server read over its REST API with httpx (no ``mlflow`` package needed).

Everything is read with MLflow's public endpoints (``/api/2.0/mlflow/…``), paged with its
``page_token``s. Files come through the server's artifact proxy
(``/api/2.0/mlflow-artifacts/artifacts/…``) when the roots are ``mlflow-artifacts:`` (a server
started with ``--serve-artifacts``, the default since MLflow 2.0); roots the server hands out
as ``s3://…`` or local paths are not reachable this way, and the importer reports those files
as skipped (the SQL source with ``--artifact-root`` reads them instead).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import quote

import httpx

from clew.artifacts.blobstore import Source as ByteSource
from clew.importers.mlflow.artifact_root import PROXY_SCHEME
from clew.importers.mlflow.source import (
    LOGGED_MODEL_STATUS,
    ArtifactsUnreachable,
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

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
#: MLflow's own caps per page (§1.5 of the reference): ask for the most it hands out.
RUN_PAGE = 1000
HISTORY_PAGE = 25_000


class RestSource:
    """Reads one MLflow server. ``headers`` carry credentials (e.g. ``Authorization``)."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.label = public_label(tracking_uri.rstrip("/"))
        self.http = httpx.Client(
            base_url=tracking_uri.rstrip("/"),
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    # ---- tracking ------------------------------------------------------------------------------

    def experiments(self) -> Sequence[SourceExperiment]:
        found = self._pages(
            "POST", "/experiments/search", {"view_type": "ALL", "max_results": 1000}, "experiments"
        )
        return [
            SourceExperiment(
                experiment_id=str(e["experiment_id"]),
                name=e["name"],
                lifecycle_stage=parse_stage(e.get("lifecycle_stage")),
                artifact_location=e.get("artifact_location", ""),
                tags=_pairs(e.get("tags")),
            )
            for e in found
        ]

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        body = {"experiment_ids": [experiment_id], "run_view_type": "ALL", "max_results": RUN_PAGE}
        for run in self._pages("POST", "/runs/search", body, "runs"):
            info, data = run["info"], run.get("data", {})
            yield SourceRun(
                run_id=info["run_id"],
                experiment_id=str(info["experiment_id"]),
                name=info.get("run_name", ""),
                status=info.get("status", "FINISHED"),
                start_time=_int_or_none(info.get("start_time")),
                end_time=_int_or_none(info.get("end_time")),
                lifecycle_stage=parse_stage(info.get("lifecycle_stage")),
                artifact_uri=info.get("artifact_uri", ""),
                params=_pairs(data.get("params")),
                tags=_pairs(data.get("tags")),
                metric_keys=tuple(sorted({m["key"] for m in data.get("metrics", [])})),
            )

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        params = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
        points = self._pages("GET", "/metrics/get-history", params, "metrics")
        return [
            Metric(
                key, _number(p.get("value", 0.0)), int(p.get("timestamp", 0)), int(p.get("step", 0))
            )
            for p in points
        ]

    def inputs(self, run_id: str) -> list[DatasetInput]:
        run = self._call("GET", "/runs/get", {"run_id": run_id})["run"]
        out = []
        for item in run.get("inputs", {}).get("dataset_inputs", []):
            d = item["dataset"]
            dataset = Dataset(
                name=d["name"],
                digest=d["digest"],
                source_type=d.get("source_type", ""),
                source=d.get("source", ""),
                schema=d.get("schema", ""),
                profile=d.get("profile", ""),
            )
            out.append(DatasetInput(dataset=dataset, tags=_pairs(item.get("tags"))))
        return out

    def logged_models(self, experiment_id: str) -> Sequence[SourceLoggedModel]:
        body = {"experiment_ids": [experiment_id], "max_results": 100}
        try:
            found = self._pages("POST", "/logged-models/search", body, "models")
        except httpx.HTTPStatusError as exc:  # an MLflow 2.x server has no LoggedModels
            if exc.response.status_code in (404, 501):
                return []
            raise
        return [_logged_model(m) for m in found]

    # ---- registry ------------------------------------------------------------------------------

    def registered_models(self) -> Sequence[SourceRegisteredModel]:
        found = self._pages(
            "GET", "/registered-models/search", {"max_results": 1000}, "registered_models"
        )
        return [
            SourceRegisteredModel(
                name=m["name"],
                description=m.get("description", ""),
                tags=_pairs(m.get("tags")),
                aliases={a["alias"]: int(a["version"]) for a in m.get("aliases", [])},
            )
            for m in found
        ]

    def versions(self, name: str) -> Sequence[SourceVersion]:
        escaped = name.replace("'", "\\'")
        params = {"filter": f"name='{escaped}'", "max_results": 1000}
        found = self._pages("GET", "/model-versions/search", params, "model_versions")
        out = [
            SourceVersion(
                name=v["name"],
                version=int(v["version"]),
                source=v.get("source", ""),
                status=v.get("status", "READY"),
                stage=v.get("current_stage", "None"),
                run_id=v.get("run_id") or None,
                model_id=v.get("model_id") or model_id_of(v.get("source", "")),
                description=v.get("description", ""),
                tags=_pairs(v.get("tags")),
                run_link=v.get("run_link") or "",
            )
            for v in found
            if v["name"] == name
        ]
        return sorted(out, key=lambda v: v.version)

    # ---- artifacts -----------------------------------------------------------------------------

    def files(self, artifact_uri: str) -> Iterator[SourceFile]:
        root = _proxied(artifact_uri)
        pending = [""]
        while pending:
            rel = pending.pop()
            here = f"{root}/{rel}" if rel else root
            listing = self._get_json(PROXY, {"path": here})
            for f in listing.get("files", []):
                path = f"{rel}/{f['path']}" if rel else f["path"]
                if f.get("is_dir"):
                    pending.append(path)
                else:
                    yield SourceFile(path, _int_or_none(f.get("file_size")))

    def open(self, artifact_uri: str, path: str) -> AbstractContextManager[ByteSource]:
        return self._download(f"{PROXY}/{quote(_proxied(artifact_uri) + '/' + path)}")

    @contextmanager
    def _download(self, url: str) -> Iterator[ByteSource]:
        with self.http.stream("GET", url) as response:
            if response.status_code == 404:
                raise FileNotFoundError(url)
            response.raise_for_status()
            yield response.iter_bytes(1 << 20)

    def close(self) -> None:
        self.http.close()

    # ---- wire ----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        if method == "GET":
            return self._get_json(API + path, fields)
        response = self.http.request(method, API + path, json=dict(fields))
        response.raise_for_status()
        return dict(response.json())

    def _get_json(self, url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        response = self.http.get(url, params=dict(params))
        response.raise_for_status()
        return dict(response.json())

    def _pages(
        self, method: str, path: str, fields: Mapping[str, Any], key: str
    ) -> list[dict[str, Any]]:
        """Every item of a paged MLflow listing, following ``next_page_token`` to the end."""
        out: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._call(method, path, {**fields, **({"page_token": token} if token else {})})
            out += page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return out


def _proxied(artifact_uri: str) -> str:
    """``mlflow-artifacts:/1/<run>/artifacts`` → ``1/<run>/artifacts`` (the proxy's path)."""
    if not artifact_uri.startswith(PROXY_SCHEME):
        raise ArtifactsUnreachable(
            f"the server does not proxy {artifact_uri.split(':', 1)[0]!r} artifact roots; "
            "import from the backend store with --artifact-root to copy these files"
        )
    return artifact_uri[len(PROXY_SCHEME) :].strip("/")


def _logged_model(m: Mapping[str, Any]) -> SourceLoggedModel:
    info, data = m["info"], m.get("data", {})
    metrics = tuple(
        LoggedModelMetric(
            key=p["key"],
            value=_number(p.get("value", 0.0)),
            timestamp=int(p.get("timestamp", 0)),
            step=int(p.get("step", 0)),
            run_id=p.get("run_id") or None,
            dataset_name=p.get("dataset_name") or None,
            dataset_digest=p.get("dataset_digest") or None,
        )
        for p in data.get("metrics", [])
    )
    return SourceLoggedModel(
        model_id=info["model_id"],
        experiment_id=str(info["experiment_id"]),
        name=info.get("name", ""),
        status=LOGGED_MODEL_STATUS.get(str(info.get("status")), "PENDING"),
        lifecycle_stage=parse_stage(info.get("lifecycle_stage")),
        artifact_location=info.get("artifact_uri", ""),
        source_run_id=info.get("source_run_id") or None,
        model_type=info.get("model_type", ""),
        status_message=info.get("status_message", ""),
        params=_pairs(data.get("params")),
        tags=_pairs(info.get("tags")),
        metrics=metrics,
    )


def _pairs(items: Any) -> dict[str, str]:
    return {i["key"]: i.get("value", "") for i in items or []}


def _number(value: Any) -> float:
    """Proto JSON writes NaN and the infinities as strings."""
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(
            value, float(value)
        )
    return float(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)
