"""The HTTP transport: every ``Transport`` method over the native REST API (``/api/v1``).

The only HTTP in the client. One persistent ``httpx.Client`` (keep-alive, ``TCP_NODELAY``, which
httpcore sets on every socket) and orjson bodies; no pydantic on this side, so the hot path
(``log_batch``) is one ``orjson.dumps`` and one round trip. Tests inject Starlette's
``TestClient`` (an ``httpx.Client``) to run the SDK suite in-process over real HTTP semantics.

Errors come back as the same ``ClewError`` classes the local transport raises
(``error_from_dict``). Requests that are safe to repeat are retried with backoff on connection
failures and on 503 ``TEMPORARILY_UNAVAILABLE`` (the server rolled the transaction back);
``log_batch`` is idempotent on the server, so it is retried too.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
import orjson

from clew.artifacts.local_tree import walk_local_tree
from clew.artifacts.model import FileInfo
from clew.artifacts.paths import join_artifact_path, validate_artifact_path
from clew.client import http_artifacts
from clew.client.identity_transport import HttpIdentity
from clew.client.jobs_transport import HttpJobs
from clew.client.lineage_transport import HttpLineage
from clew.client.logged_models_http import HttpLoggedModels, owner_path
from clew.client.pipelines_transport import HttpPipelines
from clew.client.promotion_transport import HttpPromotions
from clew.client.registry_http import HttpRegistry
from clew.client.run_views_transport import HttpRunViews
from clew.client.wire import Reply, WireClient, file_span
from clew.core.audit_model import AuditEvent, Verification
from clew.core.errors import (
    ClewError,
    InvalidInput,
    TemporarilyUnavailable,
    error_from_dict,
)
from clew.core.ids import check_experiment_id, check_run_id
from clew.tracking.model import (
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    Page,
    Run,
    RunInfo,
    ViewType,
)

#: What ``request`` returns: the wire client's whole ``Reply``, or httpx's response.
Response = Reply | httpx.Response

_JSON_HEADERS = {"content-type": "application/json"}
_DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_MAX_RETRY_AFTER = 10.0


def _pairs(items: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return [{"key": k, "value": v} for k, v in pairs]


def _param_pairs(items: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    # The service turns non-string param values into text; do the same before they go out.
    return [
        {"key": p["key"], "value": p["value"] if isinstance(p["value"], str) else str(p["value"])}
        for p in _pairs(items)
    ]


def _eid(experiment_id: str) -> str:
    return str(check_experiment_id(experiment_id))


class HttpTransport(
    HttpRegistry,
    HttpLoggedModels,
    HttpPipelines,
    HttpJobs,
    HttpIdentity,
    HttpPromotions,
    HttpLineage,
    HttpRunViews,
):
    """Implements :class:`~clew.client.transport.Transport` against a Clew server.

    Args:
        base_url: the server root, e.g. ``http://127.0.0.1:5000``.
        client: an ``httpx.Client`` to use (and not close), e.g. Starlette's ``TestClient``.
        timeout: seconds per request (connect, read, write).
        retries: extra attempts for retryable failures; ``0`` disables retrying.
        backoff: first retry delay in seconds, doubled on each further attempt (with jitter).
        token: an access token for a server with authentication on, sent as
            ``Authorization: Bearer``; by default ``CLEW_TRACKING_TOKEN``.
    """

    #: Read by the fluent API: remote calls are worth batching in the background.
    is_remote = True

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.1,
        chunk_bytes: int = 1024 * 1024,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api = self.base_url + "/api/v1"
        token = token if token is not None else os.environ.get("CLEW_TRACKING_TOKEN", "")
        self._auth = {"authorization": f"Bearer {token}"} if token else {}
        self._owns_client = client is None
        self._client = (
            client if client is not None else httpx.Client(timeout=timeout, headers=self._auth)
        )
        # Against a real server (not an injected client), JSON calls and file uploads skip httpx.
        self._wire = WireClient(self.base_url, timeout) if client is None else None
        self._retries = max(0, retries)
        self._backoff = backoff
        self.chunk_bytes = chunk_bytes

    # ---- plumbing ------------------------------------------------------------------------------

    def _sleep(self, attempt: int, response: Response | None) -> None:
        delay = self._backoff * (2**attempt) * (0.5 + random.random())
        if response is not None:
            with suppress(ValueError):
                retry_after = float(response.headers.get("retry-after", 0))
                delay = max(delay, min(retry_after, _MAX_RETRY_AFTER))
        time.sleep(delay)

    def _send(
        self,
        method: str,
        path: str,
        content: Any,
        headers: Mapping[str, str] | None,
        query: Mapping[str, Any] | None,
        upload: tuple[BinaryIO, int, int] | None,
    ) -> Response:
        """One attempt, over the lean wire client where it can carry the request."""
        if self._auth:
            headers = {**self._auth, **(headers or {})}
        if self._wire is not None:
            if upload is not None:
                stream, offset, count = upload
                return self._wire.send_file(
                    method,
                    "/api/v1" + path,
                    stream=stream,
                    offset=offset,
                    count=count,
                    headers=headers,
                )
            if content is None or isinstance(content, bytes):
                return self._wire.request(
                    method, "/api/v1" + path, content=content, headers=headers, params=query
                )
        if upload is not None:
            stream, offset, count = upload
            stream.seek(offset)
            content = _file_chunks(stream, count, self.chunk_bytes)
        return self._client.request(
            method, self._api + path, content=content, headers=headers, params=query
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        rewind: Any = None,
        upload: tuple[BinaryIO, int, int] | None = None,
    ) -> Response:
        """One API call with retries; raises the server's error as a ``ClewError``.

        ``upload`` is ``(file, offset, count)``: a body read from a regular file, resent from
        ``offset`` on a retry. ``rewind`` (for other streamed bodies) is called before a retry
        to restart the body; without it a streamed body is never retried.
        """
        if body is not None:
            content = orjson.dumps(body, option=_DUMPS_OPTIONS)
            headers = _JSON_HEADERS
        query = {k: v for k, v in params.items() if v is not None} if params else None
        attempt = 0
        while True:
            can_retry = attempt < self._retries and (rewind is not None or not _streamed(content))
            try:
                response = self._send(method, path, content, headers, query, upload)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if can_retry and (idempotent or never_sent):
                    self._sleep(attempt, None)
                    attempt += 1
                    content = rewind() if rewind is not None else content
                    continue
                raise TemporarilyUnavailable(
                    f"Cannot reach the Clew server at {self.base_url}: {type(exc).__name__}"
                ) from exc
            if response.status_code == 503 and can_retry:
                response.close()
                self._sleep(attempt, response)
                attempt += 1
                content = rewind() if rewind is not None else content
                continue
            if response.status_code >= 400:
                raise error_of(response)
            return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self.request(method, path, **kwargs).content)

    # ---- experiments ---------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        body = {"name": name, "artifact_location": artifact_location, "tags": dict(tags or {})}
        return str(self._json("POST", "/experiments", body=body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        data = self._json("GET", f"/experiments/{_eid(experiment_id)}", idempotent=True)
        return Experiment.from_dict(data)

    def get_experiment_by_name(self, name: str) -> Experiment:
        data = self._json("GET", "/experiments/by-name", params={"name": name}, idempotent=True)
        return Experiment.from_dict(data)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.request(
            "PATCH", f"/experiments/{_eid(experiment_id)}", body={"name": new_name}, idempotent=True
        )

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        path = f"/experiments/{_eid(experiment_id)}/tags"
        self.request("POST", path, body={"tags": dict(tags)}, idempotent=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.request("DELETE", f"/experiments/{_eid(experiment_id)}/tags", params={"key": key})

    def delete_experiment(self, experiment_id: str) -> None:
        self.request("DELETE", f"/experiments/{_eid(experiment_id)}")

    def restore_experiment(self, experiment_id: str) -> None:
        self.request("POST", f"/experiments/{_eid(experiment_id)}/restore")

    def search_experiments(
        self,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> Page[Experiment]:
        body = {
            "filter": filter_string,
            "order_by": list(order_by),
            "max_results": max_results,
            "page_token": page_token,
            "view_type": ViewType(view_type).value,
        }
        data = self._json("POST", "/experiments/search", body=body, idempotent=True)
        items = [Experiment.from_dict(e) for e in data["experiments"]]
        return Page(items, data.get("next_page_token"))

    # ---- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str = "0",
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        params: Sequence[tuple[str, str]] = (),
        metrics: Sequence[Metric] = (),
        status: str | None = None,
        end_time: int | None = None,
    ) -> Run:
        body: dict[str, Any] = {
            "experiment_id": str(experiment_id),
            "run_name": run_name,
            "start_time": start_time,
            "tags": dict(tags or {}),
            "parent_run_id": parent_run_id,
        }
        if params:
            body["params"] = [{"key": k, "value": v} for k, v in params]
        if metrics:
            body["metrics"] = [m.to_dict() for m in metrics]
        if status is not None:
            body["status"] = status
        if end_time is not None:
            body["end_time"] = end_time
        return Run.from_dict(self._json("POST", "/runs", body=body))

    def get_run(self, run_id: str) -> Run:
        return Run.from_dict(self._json("GET", f"/runs/{check_run_id(run_id)}", idempotent=True))

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        body = {"status": status, "end_time": end_time, "run_name": run_name}
        path = f"/runs/{check_run_id(run_id)}"
        return RunInfo.from_dict(self._json("PATCH", path, body=body, idempotent=True))

    def delete_run(self, run_id: str) -> None:
        self.request("DELETE", f"/runs/{check_run_id(run_id)}", idempotent=True)

    def restore_run(self, run_id: str) -> None:
        self.request("POST", f"/runs/{check_run_id(run_id)}/restore", idempotent=True)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> None:
        body = {
            "metrics": [m.to_dict() for m in metrics],
            "params": _param_pairs(params),
            "tags": _pairs(tags),
        }
        self.request("POST", f"/runs/{check_run_id(run_id)}/batch", body=body, idempotent=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.request("DELETE", f"/runs/{check_run_id(run_id)}/tags", params={"key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        body = {"datasets": [d.to_dict() for d in datasets]}
        self.request("POST", f"/runs/{check_run_id(run_id)}/inputs", body=body)

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> MetricHistory:
        params = {
            "key": key,
            "start_step": start_step,
            "end_step": end_step,
            "max_points": max_points,
        }
        path = f"/runs/{check_run_id(run_id)}/metrics/history"
        return MetricHistory.from_dict(self._json("GET", path, params=params, idempotent=True))

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        body = {
            "experiment_ids": None if experiment_ids is None else [str(e) for e in experiment_ids],
            "filter": filter_string,
            "view_type": ViewType(view_type).value,
            "max_results": max_results,
            "order_by": list(order_by),
            "page_token": page_token,
        }
        data = self._json("POST", "/runs/search", body=body, idempotent=True)
        return Page([Run.from_dict(r) for r in data["runs"]], data.get("next_page_token"))

    # ---- artifacts (the owner is a run id, or a logged model id) --------------------------------

    def _artifact_url(self, run_id: str, path: str) -> str:
        return f"{owner_path(run_id)}/artifacts/{quote(path, safe='/')}"

    def log_artifact_stream(self, run_id: str, path: str, stream: BinaryIO) -> FileInfo:
        canonical = validate_artifact_path(path)
        url = self._artifact_url(run_id, canonical)
        headers = {"content-type": "application/octet-stream"}
        span = file_span(stream)
        if span is not None:
            # A regular file: Content-Length up front (an oversized upload is refused before
            # it starts), sendfile on the wire, and a retry resends from the same offset.
            offset, count = span
            headers["content-length"] = str(count)
            response = self.request(
                "PUT", url, headers=headers, idempotent=True, upload=(stream, offset, count)
            )
            return FileInfo.from_dict(orjson.loads(response.content))
        start = http_artifacts.rewind_point(stream)
        chunk = self.chunk_bytes

        def body() -> Iterator[bytes]:
            while block := stream.read(chunk):
                yield block

        def rewind() -> Iterator[bytes]:
            assert start is not None
            stream.seek(start)
            return body()

        response = self.request(
            "PUT",
            url,
            content=body(),
            headers=headers,
            idempotent=True,
            rewind=rewind if start is not None else None,
        )
        return FileInfo.from_dict(orjson.loads(response.content))

    def log_artifact_dir(
        self, run_id: str, local_dir: Path, artifact_path: str | None
    ) -> list[FileInfo]:
        """One PUT per file (not one transaction, unlike the local transport); every name is
        validated, and symlinks checked, before the first byte goes out."""
        base = validate_artifact_path(artifact_path or "", allow_root=True)
        root = Path(local_dir)
        if not root.is_dir():
            raise InvalidInput(f"Not a directory: {root}")
        sources = [
            (local, join_artifact_path(base, rel)) for local, rel in walk_local_tree(root.resolve())
        ]
        uploaded = []
        for local, path in sources:
            with local.open("rb") as stream:
                uploaded.append(self.log_artifact_stream(run_id, path, stream))
        return uploaded

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]:
        params = {"path": validate_artifact_path(path, allow_root=True)}
        url = f"{owner_path(run_id)}/artifacts"
        data = self._json("GET", url, params=params, idempotent=True)
        return [FileInfo.from_dict(f) for f in data["files"]]

    @contextmanager
    def open_artifact(self, run_id: str, path: str) -> Iterator[Iterator[bytes]]:
        url = self._api + self._artifact_url(run_id, validate_artifact_path(path))
        with self._client.stream("GET", url) as response:
            if response.status_code >= 400:
                response.read()
                raise error_of(response)
            yield response.iter_bytes(self.chunk_bytes)

    def download_artifacts(self, run_id: str, path: str, dest_dir: Path) -> Path:
        return http_artifacts.download_tree(self, run_id, path, Path(dest_dir))

    # ---- audit ---------------------------------------------------------------------------------

    def verify_audit(self) -> Verification:
        return Verification(**self._json("GET", "/audit/verify", idempotent=True))

    def write_audit_export(self, dest: Path, since_seq: int = 1) -> int:
        url = self._api + "/audit/export"
        written = 0
        with self._client.stream("GET", url, params={"since_seq": since_seq}) as response:
            if response.status_code >= 400:
                response.read()
                raise error_of(response)
            with Path(dest).open("wb") as out:
                for chunk in response.iter_bytes(self.chunk_bytes):
                    written += out.write(chunk)
        return written

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        params = {
            "actor": actor,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "since": since_ms,
            "until": until_ms,
            "after_seq": after_seq,
            "limit": limit,
        }
        data = self._json("GET", "/audit/events", params=params, idempotent=True)
        return [AuditEvent(**e) for e in data["events"]]

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
        if self._wire is not None:
            self._wire.close()


def _file_chunks(stream: BinaryIO, count: int, chunk: int) -> Iterator[bytes]:
    """``count`` bytes of ``stream`` from where it is, a chunk at a time (the httpx upload)."""
    left = count
    while left > 0 and (block := stream.read(min(chunk, left))):
        left -= len(block)
        yield block


def _streamed(content: Any) -> bool:
    return content is not None and not isinstance(content, bytes | str)


def error_of(response: Response) -> ClewError:
    """The ``ClewError`` a response carries, or a generic one for non-Clew bodies (a proxy's)."""
    try:
        body = orjson.loads(response.content)
        error = body["error"]
        if not isinstance(error, dict):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        error = {
            "code": _code_for_status(response.status_code),
            "message": f"HTTP {response.status_code} from the server, not a Clew error body",
        }
    return error_from_dict(error, response.status_code)


def _code_for_status(status: int) -> str:
    """The code of the most general ``ClewError`` with this status (``INTERNAL_ERROR`` if none)."""
    queue: list[type[ClewError]] = [ClewError]
    while queue:
        cls = queue.pop(0)
        if cls.status == status:
            return cls.code
        queue.extend(cls.__subclasses__())
    return ClewError.code
