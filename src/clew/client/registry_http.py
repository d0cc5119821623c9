"""The registry half of the HTTP transport: every registry ``Transport`` method over REST.

A mixin of :class:`~clew.client.http.HttpTransport` (kept apart for file size) that uses its
``request``/``_json`` plumbing, so retries and error mapping are the transport's. Names and
aliases go in path segments percent-encoded with nothing kept safe (``quote(…, safe="")``):
the server refuses names a path could mangle, and encoding ``/`` as well means a bad name
reaches the service (and its ``INVALID_MODEL_NAME``) instead of a different route.
Reads and idempotent writes (tags, alias set, stage) are retried; creations are not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from clew.registry.model import (
    AliasHistory,
    ModelVersion,
    RegisteredModel,
    VersionFile,
    VersionVerification,
)
from clew.tracking.model import Page


def _seg(text: str | int) -> str:
    return quote(str(text), safe="")


def _model(name: str) -> str:
    return f"/registered-models/{_seg(name)}"


def _version(name: str, version: int | str) -> str:
    return f"{_model(name)}/versions/{_seg(version)}"


def _search_body(
    filter_string: str, max_results: int, order_by: Sequence[str], page_token: str | None
) -> dict[str, Any]:
    return {
        "filter": filter_string,
        "max_results": max_results,
        "order_by": list(order_by),
        "page_token": page_token,
    }


class HttpRegistry:
    # HttpTransport's plumbing, which this mixin calls.
    _json: Callable[..., Any]
    request: Callable[..., Any]

    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": dict(tags or {})}
        return RegisteredModel.from_dict(self._json("POST", "/registered-models", body=body))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.from_dict(self._json("GET", _model(name), idempotent=True))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        data = self._json("POST", _model(name) + "/rename", body={"new_name": new_name})
        return RegisteredModel.from_dict(data)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        data = self._json("PATCH", _model(name), body={"description": description}, idempotent=True)
        return RegisteredModel.from_dict(data)

    def delete_registered_model(self, name: str) -> None:
        self.request("DELETE", _model(name))

    def set_registered_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        self.request("POST", _model(name) + "/tags", body={"tags": dict(tags)}, idempotent=True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.request("DELETE", _model(name) + "/tags", params={"key": key})

    def search_registered_models(
        self,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        body = _search_body(filter_string, max_results, order_by, page_token)
        data = self._json("POST", "/registered-models/search", body=body, idempotent=True)
        items = [RegisteredModel.from_dict(m) for m in data["registered_models"]]
        return Page(items, data.get("next_page_token"))

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        logged_model_id: str | None = None,
        status: str = "READY",
    ) -> ModelVersion:
        body = {
            "source": source,
            "run_id": run_id,
            "tags": dict(tags or {}),
            "description": description,
            "logged_model_id": logged_model_id,
            "status": str(status),
        }
        return ModelVersion.from_dict(self._json("POST", _model(name) + "/versions", body=body))

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return ModelVersion.from_dict(self._json("GET", _version(name, version), idempotent=True))

    def update_model_version(
        self,
        name: str,
        version: int | str,
        description: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        body = {
            "description": description,
            "status": None if status is None else str(status),
            "status_message": status_message,
        }
        return ModelVersion.from_dict(self._json("PATCH", _version(name, version), body=body))

    def delete_model_version(self, name: str, version: int | str) -> None:
        self.request("DELETE", _version(name, version))

    def set_model_version_tags(
        self, name: str, version: int | str, tags: Mapping[str, str]
    ) -> None:
        path = _version(name, version) + "/tags"
        self.request("POST", path, body={"tags": dict(tags)}, idempotent=True)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.request("DELETE", _version(name, version) + "/tags", params={"key": key})

    def search_model_versions(
        self,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        body = _search_body(filter_string, max_results, order_by, page_token)
        data = self._json("POST", "/model-versions/search", body=body, idempotent=True)
        items = [ModelVersion.from_dict(v) for v in data["model_versions"]]
        return Page(items, data.get("next_page_token"))

    def list_model_version_files(self, name: str, version: int | str) -> list[VersionFile]:
        data = self._json("GET", _version(name, version) + "/files", idempotent=True)
        return [VersionFile.from_dict(f) for f in data["files"]]

    def verify_model_version(self, name: str, version: int | str) -> VersionVerification:
        data = self._json("POST", _version(name, version) + "/verify", idempotent=True)
        return VersionVerification.from_dict(data)

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        path = f"{_model(name)}/aliases/{_seg(alias)}"
        self.request("PUT", path, body={"version": version}, idempotent=True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.request("DELETE", f"{_model(name)}/aliases/{_seg(alias)}")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        data = self._json("GET", f"{_model(name)}/aliases/{_seg(alias)}", idempotent=True)
        return ModelVersion.from_dict(data)

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        data = self._json("GET", "/model-versions/resolve", params={"uri": uri}, idempotent=True)
        return ModelVersion.from_dict(data)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        body = {"stage": str(stage), "archive_existing_versions": archive_existing_versions}
        data = self._json("POST", _version(name, version) + "/stage", body=body, idempotent=True)
        return ModelVersion.from_dict(data)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        params = {"stages": [str(s) for s in stages]} if stages else None
        data = self._json("GET", _model(name) + "/latest-versions", params=params, idempotent=True)
        return [ModelVersion.from_dict(v) for v in data["model_versions"]]

    def alias_history(
        self, name: str, alias: str | None = None, at: int | None = None
    ) -> AliasHistory:
        params = {"alias": alias, "at": at}
        data = self._json("GET", _model(name) + "/history", params=params, idempotent=True)
        return AliasHistory.from_dict(data)
