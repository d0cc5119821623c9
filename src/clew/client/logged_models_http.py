"""The logged-model half of the HTTP transport: every logged-model ``Transport`` method over REST.

A mixin of :class:`~clew.client.http.HttpTransport` (kept apart for file size) that uses its
``request``/``_json`` plumbing, so retries and error mapping are the transport's. Ids are
checked before a request goes out. Reads and idempotent writes (finalize, tags, params,
metrics, delete) are retried; creation is not. Files travel through the transport's artifact
methods: ``owner_path`` sends a model id's to ``/logged-models/<id>/artifacts``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from clew.core.ids import check_logged_model_id, check_run_id, is_logged_model_id
from clew.registry.logged_model import (
    DatasetFilter,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOrder,
)
from clew.tracking.model import Page


def owner_path(owner_id: str) -> str:
    """The API path of an artifact owner: a logged model (``m-…``) or a run."""
    if is_logged_model_id(owner_id):
        return f"/logged-models/{owner_id}"
    return f"/runs/{check_run_id(owner_id)}"


def _model(model_id: str) -> str:
    return f"/logged-models/{check_logged_model_id(model_id)}"


class HttpLoggedModels:
    # HttpTransport's plumbing, which this mixin calls.
    _json: Callable[..., Any]
    request: Callable[..., Any]

    def create_logged_model(
        self,
        experiment_id: str | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        model_type: str | None = None,
        params: Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        body = {
            "experiment_id": None if experiment_id is None else str(experiment_id),
            "name": name,
            "source_run_id": source_run_id,
            "model_type": model_type,
            "params": [{"key": k, "value": v} for k, v in params],
            "tags": dict(tags or {}),
        }
        return LoggedModel.from_dict(self._json("POST", "/logged-models", body=body))

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return LoggedModel.from_dict(self._json("GET", _model(model_id), idempotent=True))

    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str | None = None
    ) -> LoggedModel:
        body = {"status": str(status), "status_message": status_message}
        data = self._json("PATCH", _model(model_id), body=body, idempotent=True)
        return LoggedModel.from_dict(data)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        path = f"{_model(model_id)}/tags"
        self.request("POST", path, body={"tags": dict(tags)}, idempotent=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.request("DELETE", f"{_model(model_id)}/tags", params={"key": key})

    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        body = {"params": [{"key": k, "value": v} for k, v in params]}
        self.request("POST", f"{_model(model_id)}/params", body=body, idempotent=True)

    def log_logged_model_metrics(self, model_id: str, metrics: Sequence[LoggedModelMetric]) -> None:
        body = {"metrics": [m.to_dict() for m in metrics]}
        self.request("POST", f"{_model(model_id)}/metrics", body=body, idempotent=True)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        datasets: Sequence[DatasetFilter] = (),
        max_results: int = 100,
        order_by: Sequence[LoggedModelOrder] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        body = {
            "experiment_ids": None if experiment_ids is None else [str(e) for e in experiment_ids],
            "filter": filter_string,
            "datasets": [d.to_dict() for d in datasets],
            "max_results": max_results,
            "order_by": [o.to_dict() for o in order_by],
            "page_token": page_token,
        }
        data = self._json("POST", "/logged-models/search", body=body, idempotent=True)
        models = [LoggedModel.from_dict(m) for m in data["models"]]
        return Page(models, data.get("next_page_token"))

    def delete_logged_model(self, model_id: str) -> None:
        self.request("DELETE", _model(model_id), idempotent=True)
