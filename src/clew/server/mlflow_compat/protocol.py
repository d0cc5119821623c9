"""MLflow's wire conventions, once: where request fields come from, what answers look like.

- **Requests.** GET fields come from the query string (a repeated key is a list); POST, PATCH
  and DELETE fields from a JSON object body (MLflow's client sends DELETE with a body).
  ``Fields`` reads them with MLflow's rules (``Missing value for required parameter 'x'``) and
  leaves every domain rule to Clew's services.
- **Answers.** Proto JSON: snake_case, unset fields and empty lists left out, ``{}`` for an
  empty answer (``compact``).
- **Errors.** ``{"error_code": …, "message": …}`` with MLflow's status for the code. Clew's
  finer codes (``PARAM_OVERWRITE``, ``INVALID_FILTER``) become the MLflow code a client of
  MLflow expects for the same mistake, and ``RESOURCE_ALREADY_EXISTS`` is a 400 as in MLflow.
  ``MlflowRoute`` applies this to every adapter route, so the handlers hold no try/except.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final, get_type_hints

import orjson
from fastapi.params import Depends
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from clew.core.errors import ClewError, InvalidInput
from clew.server.errors import error_headers

#: MLflow's HTTP status per error code (``mlflow/exceptions.py``).
MLFLOW_STATUS: Final[Mapping[str, int]] = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_CONFLICT": 409,
    "ABORTED": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
}

#: Clew's codes that MLflow spells differently (by status otherwise: 4xx → invalid value).
_CODE_FOR: Final[Mapping[str, str]] = {
    "METHOD_NOT_ALLOWED": "ENDPOINT_NOT_FOUND",
    "PAYLOAD_TOO_LARGE": "INVALID_PARAMETER_VALUE",
    "UNSUPPORTED_MEDIA_TYPE": "BAD_REQUEST",
}


def mlflow_code(error: ClewError) -> str:
    if error.code in MLFLOW_STATUS:
        return error.code
    if error.code in _CODE_FOR:
        return _CODE_FOR[error.code]
    if error.status == 404:
        return "RESOURCE_DOES_NOT_EXIST"
    if error.status == 409:
        return "RESOURCE_CONFLICT"
    if 400 <= error.status < 500:
        return "INVALID_PARAMETER_VALUE"
    return "INTERNAL_ERROR"


def error_response(error: ClewError) -> Response:
    code = mlflow_code(error)
    status = error.status if error.status in (405, 413, 415) else MLFLOW_STATUS[code]
    body = {"error_code": code, "message": error.message}
    return Response(
        orjson.dumps(body), status, headers=error_headers(status), media_type="application/json"
    )


_NESTED = (dict, list, tuple)


def compact(value: Any) -> Any:
    """Proto JSON: drop ``None`` and empty lists or objects, recursively; keep 0, "" and False
    that were set (MLflow's messages are proto2: a set default is still sent).

    Scalars are kept without a call of their own: a page of 100 versions has ~1,500 values,
    and recursing into each was a fifth of ``model-versions/search``'s server time.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            if isinstance(item, _NESTED):
                item = compact(item)
                if not item:
                    continue
            out[key] = item
        return out
    if isinstance(value, list | tuple):
        return [compact(item) if isinstance(item, _NESTED) else item for item in value]
    return value


def ok(payload: Mapping[str, Any] | None = None) -> Response:
    return Response(orjson.dumps(compact(dict(payload or {}))), media_type="application/json")


def key_values(mapping: Mapping[str, str]) -> list[dict[str, str]]:
    """``{"a": "1"}`` → ``[{"key": "a", "value": "1"}]``, MLflow's shape for tags and params."""
    return [{"key": k, "value": v} for k, v in mapping.items()]


class Fields:
    """The fields of one request, read with MLflow's presence rules."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    @classmethod
    async def of(cls, request: Request) -> Fields:
        if request.method == "GET":
            data: dict[str, Any] = {}
            for key, value in request.query_params.multi_items():
                data.setdefault(key, []).append(value)
            return cls({k: v[0] if len(v) == 1 else v for k, v in data.items()})
        body = await request.body()
        if not body.strip():
            return cls({})
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise InvalidInput("Request body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise InvalidInput("Request body must be a JSON object")
        return cls(parsed)

    def _missing(self, name: str) -> InvalidInput:
        return InvalidInput(f"Missing value for required parameter '{name}'")

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise self._missing(name)
            return default
        if isinstance(value, list):
            raise InvalidInput(f"Parameter '{name}' must be a single value")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidInput(f"Parameter '{name}' must be a string")
        return str(value)

    def integer(self, name: str, *, required: bool = False, default: int | None = None) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise self._missing(name)
            return default
        if isinstance(value, bool):
            raise InvalidInput(f"Parameter '{name}' must be an integer")
        try:
            number = int(value) if isinstance(value, int | str) else None
        except ValueError:
            number = None
        if number is None:
            raise InvalidInput(f"Parameter '{name}' must be an integer")
        return number

    def number(self, name: str, *, required: bool = False) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise self._missing(name)
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidInput(f"Parameter '{name}' must be a number")
        try:
            return float(value)  # "NaN", "Infinity" and "-Infinity" included, as MLflow sends
        except ValueError:
            raise InvalidInput(f"Parameter '{name}' must be a number") from None

    def flag(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidInput(f"Parameter '{name}' must be true or false")

    def items(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def run_id(self) -> Any:
        """``run_id``, or the ``run_uuid`` that 2.x clients send next to it."""
        found = self.text("run_id") or self.text("run_uuid")
        if found is None:
            raise self._missing("run_id")
        return found

    def pairs(self, name: str) -> list[tuple[str, str]]:
        """``[{"key": …, "value": …}]`` (tags, params) as pairs; values are stringified as
        MLflow's client already does."""
        pairs = []
        for item in self.items(name):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise InvalidInput(f"Every entry of '{name}' needs a string 'key'")
            value = item.get("value")
            pairs.append((item["key"], "" if value is None else str(value)))
        return pairs


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]
Resolver = Callable[[Request], Coroutine[Any, Any, Any]]


class MlflowRoute(APIRoute):
    """Every error of an adapter route in MLflow's shape, whatever raised it.

    Almost every adapter endpoint is ``async def f(request, platform, actor)``: it reads its
    fields itself (``Fields``), so FastAPI has nothing to validate, yet its generic handler
    still solved the dependency graph, probed each dependency's kind and copied the request
    scope on every call, a tenth of the server's time for ``runs/log-metric``. Such an
    endpoint is called directly, each dependency awaited with the request (honouring
    ``app.dependency_overrides``, so authentication still plugs in at ``server.deps``); any
    other signature (path parameters, sync endpoints) keeps FastAPI's handler.
    """

    @property
    def is_direct(self) -> bool:
        """Whether the handler calls the endpoint itself (and so needs nothing of FastAPI's
        per-request scope): such a route with a literal path can be dispatched by
        ``server.exact_routes`` before FastAPI's router."""
        return _direct_resolvers(self.endpoint) is not None

    def get_route_handler(self) -> Endpoint:
        resolvers = _direct_resolvers(self.endpoint)
        handler = super().get_route_handler() if resolvers is None else None
        endpoint = self.endpoint

        async def mlflow_errors(request: Request) -> Response:
            try:
                if handler is not None:
                    return await handler(request)
                overrides = request.app.dependency_overrides
                values = {
                    name: await overrides.get(dependency, dependency)(request)
                    for name, dependency in resolvers.items()  # type: ignore[union-attr]
                }
                response: Response = await endpoint(request, **values)
                return response
            except ClewError as error:
                return error_response(error)

        return mlflow_errors


def _direct_resolvers(endpoint: Callable[..., Any]) -> dict[str, Resolver] | None:
    """``{parameter: dependency}`` when ``endpoint`` is a coroutine taking ``request`` first
    and otherwise only ``Depends`` of ``async def dependency(request)``; else ``None``."""
    if not inspect.iscoroutinefunction(endpoint):
        return None
    hints = get_type_hints(endpoint, include_extras=True)
    names = list(inspect.signature(endpoint).parameters)
    if not names or names[0] != "request" or hints.get("request") is not Request:
        return None
    resolvers: dict[str, Resolver] = {}
    for name in names[1:]:
        depends = [
            m for m in getattr(hints.get(name), "__metadata__", ()) if isinstance(m, Depends)
        ]
        dependency = depends[0].dependency if len(depends) == 1 else None
        if dependency is None or not inspect.iscoroutinefunction(dependency):
            return None
        if list(inspect.signature(dependency).parameters) != ["request"]:
            return None
        resolvers[name] = dependency
    return resolvers
