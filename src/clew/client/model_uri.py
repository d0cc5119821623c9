"""Model URIs: what ``clew.load_model``, ``register_model`` and ``download_model`` accept.

MLflow 3's forms, parsed here once and resolved to the files Clew holds for them:

* ``models:/<name>@<alias>``, ``models:/<name>/<version>``, ``models:/<name>/latest``,
  ``models:/<name>/<stage>``: a registered version (the registry resolves them in one call);
* ``models:/m-<32 hex>``: a logged model (what ``log_model`` returns);
* ``runs:/<run_id>/<path>``: the run's own artifacts at ``path`` if they hold an ``MLmodel``,
  else the logged model called ``path`` that the run produced (MLflow 3 stores a logged
  model's files under the model, not the run, and resolves ``runs:/`` this way too);
* anything else: a local directory (``file://`` allowed), loaded in place, never cached.

A resolved model names the *owner* whose artifact files hold it (a run or a logged model),
the prefix inside that owner, and the tree digest (:func:`clew.registry.model.tree_digest`)
over the files: the digest the registry pinned for a version, or the one computed from a logged
model's file list. That digest is the local cache key, so a version and the logged model it
was registered from share one cache entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from clew.core.errors import Conflict, InvalidInput, InvalidModel, InvalidSource, NotFound
from clew.core.ids import check_run_id, is_logged_model_id
from clew.registry.model import ModelVersion, VersionFile, tree_digest

if TYPE_CHECKING:
    from clew.client.transport import Transport
    from clew.registry.logged_model import LoggedModel
    from clew.tracking.model import Run

Kind = Literal["registry", "logged_model", "run", "local"]

_LOGGED = re.compile(r"models:/(m-[0-9a-f]{32})/?")
_REGISTRY = re.compile(r"models:/([^/@]+)(?:@([^/@]+)|/([^/@]+))/?")
_RUNS = re.compile(r"runs:/([^/]*)/?(.*)", re.DOTALL)
MLMODEL = "MLmodel"
#: The model directory inside a cache entry (and where ``log_model`` stages its files).
MODEL_DIR = "model"


class ModelSource(Protocol):
    """The client calls resolving needs (``Client`` has them all)."""

    transport: Transport

    def resolve_model_uri(self, uri: str) -> ModelVersion: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...
    def list_model_version_files(self, name: str, version: int | str) -> list[VersionFile]: ...
    def get_run(self, run_id: str) -> Run: ...
    def iter_logged_models(
        self,
        experiment_ids: Sequence[str] | None = ...,
        filter_string: str = ...,
        order_by: Sequence[Any] = ...,
        page_size: int = ...,
    ) -> Iterator[LoggedModel]: ...


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed model URI (nothing looked up yet)."""

    kind: Kind
    uri: str
    model_id: str | None = None
    run_id: str | None = None
    path: str = ""


def parse_model_uri(uri: str) -> ModelRef:
    """Say which kind of model ``uri`` names; malformed ``models:``/``runs:`` URIs raise.

    Raises:
        InvalidInput: a ``models:/`` or ``runs:/`` URI not of a form above.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInput("A model URI must be a non-empty string")
    if uri.startswith("models:"):
        if m := _LOGGED.fullmatch(uri):
            return ModelRef("logged_model", uri, model_id=m.group(1))
        if _REGISTRY.fullmatch(uri):
            return ModelRef("registry", uri.rstrip("/"))
        raise InvalidInput(
            "Expected models:/<name>@<alias>, models:/<name>/<version|stage|latest> or "
            "models:/m-<id>",
            uri=uri,
        )
    if uri.startswith("runs:"):
        m = _RUNS.fullmatch(uri)
        if m is None:
            raise InvalidInput("Expected runs:/<run_id>/<path>", uri=uri)
        from clew.artifacts.paths import validate_artifact_path

        path = validate_artifact_path(m.group(2).strip("/"), allow_root=True)
        return ModelRef("run", uri, run_id=check_run_id(m.group(1)), path=path)
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput("A file: model URI must name a local path", uri=uri)
        return ModelRef("local", uri, path=unquote(parts.path))
    return ModelRef("local", uri, path=uri)


@dataclass
class ResolvedModel:
    """Where a model's files are and what they must hash to.

    ``files`` (paths relative to ``prefix``) is fetched lazily for registry versions: the hot
    path, a cache hit, needs only the digest, which comes with the version.
    """

    uri: str
    owner_id: str
    prefix: str
    digest: str
    version: ModelVersion | None = None
    logged_model: LoggedModel | None = None
    run_id: str | None = None
    _files: list[VersionFile] | None = field(default=None, repr=False)

    @property
    def model_id(self) -> str | None:
        return self.logged_model.model_id if self.logged_model else _owner_model(self.owner_id)

    def files(self, client: ModelSource) -> list[VersionFile]:
        if self._files is None:
            assert self.version is not None
            self._files = client.list_model_version_files(self.version.name, self.version.version)
        return self._files

    def remote_path(self, rel: str) -> str:
        """The artifact path of file ``rel`` inside the owner."""
        return f"{self.prefix}/{rel}" if self.prefix else rel

    @property
    def mlmodel_digest(self) -> str | None:
        """``sha256:<hex>`` of the MLmodel file, when the file list is known."""
        for f in self._files or ():
            if f.path == MLMODEL:
                return "sha256:" + f.digest
        return None


def _owner_model(owner_id: str) -> str | None:
    return owner_id if is_logged_model_id(owner_id) else None


def resolve(client: ModelSource, ref: ModelRef) -> ResolvedModel:
    """Look up the model ``ref`` names (registry, logged model or run); not for local paths.

    Raises:
        NotFound: no such version, alias, logged model, run, or nothing at a run's path.
        Conflict: a logged model that is not READY (still uploading, or failed).
        InvalidSource: a version whose source Clew holds no bytes for (an external URI).
    """
    if ref.kind == "registry":
        return resolve_version(client, client.resolve_model_uri(ref.uri), ref.uri)
    if ref.kind == "logged_model":
        assert ref.model_id is not None
        return resolve_logged(client, client.get_logged_model(ref.model_id), ref.uri)
    if ref.kind == "run":
        assert ref.run_id is not None
        return resolve_run(client, ref.run_id, ref.path, ref.uri)
    raise InvalidInput("A local path is loaded in place, not resolved", uri=ref.uri)


def resolve_version(client: ModelSource, mv: ModelVersion, uri: str) -> ResolvedModel:
    if mv.logged_model_id:
        return ResolvedModel(uri, mv.logged_model_id, "", mv.digest, version=mv, run_id=mv.run_id)
    from clew.registry.sources import parse_source

    source = parse_source(mv.source)
    if source.kind != "run" or source.run_id is None or not mv.digest:
        raise InvalidSource(
            "This version's files are not held by Clew (an external source); fetch them "
            "from their store",
            reason="external",
            name=mv.name,
            version=mv.version,
        )
    return ResolvedModel(uri, source.run_id, source.path, mv.digest, version=mv, run_id=mv.run_id)


def resolve_logged(client: ModelSource, model: LoggedModel, uri: str) -> ResolvedModel:
    if model.status != "READY":
        raise Conflict(
            f"Logged model {model.model_id} is {model.status}, not READY: its files are incomplete",
            status=model.status,
        )
    files = walk(client, model.model_id, "")
    if not files:
        raise InvalidModel(f"Logged model {model.model_id} has no files", model_id=model.model_id)
    return ResolvedModel(
        uri,
        model.model_id,
        "",
        tree_digest(files),
        logged_model=model,
        run_id=model.source_run_id,
        _files=files,
    )


def resolve_run(client: ModelSource, run_id: str, path: str, uri: str) -> ResolvedModel:
    """The run's own files at ``path`` if they hold an MLmodel, else its logged model ``path``."""
    if path:
        files = walk(client, run_id, path)
        if any(f.path == MLMODEL for f in files):
            return ResolvedModel(uri, run_id, path, tree_digest(files), run_id=run_id, _files=files)
    model = find_run_model(client, run_id, path)
    return resolve_logged(client, model, uri)


def find_run_model(client: ModelSource, run_id: str, name: str) -> LoggedModel:
    """The newest logged model called ``name`` that ``run_id`` produced (MLflow 3's rule for
    ``runs:/<run>/<name>`` when the run's own artifacts hold no model there)."""
    run = client.get_run(run_id)
    filter_string = f"source_run_id = '{run_id}'"
    found = [
        m
        for m in client.iter_logged_models([run.info.experiment_id], filter_string)
        if m.name == name and m.source_run_id == run_id
    ]
    if not found:
        raise NotFound(
            f"Run {run_id} has no model at {name!r}: no MLmodel in its artifacts there and no "
            "logged model of that name",
            run_id=run_id,
            path=name,
        )
    return max(found, key=lambda m: (m.creation_timestamp, m.model_id))


def walk(client: ModelSource, owner_id: str, path: str) -> list[VersionFile]:
    """Every file under ``path`` of an owner, relative to it, with its digest and size.

    One listing per directory (the transports list one level at a time); model directories
    are shallow, so that is one or two calls.
    """
    out: list[VersionFile] = []
    pending = [path]
    cut = len(path) + 1 if path else 0
    while pending:
        current = pending.pop()
        for info in client.transport.list_artifacts(owner_id, current):
            if info.is_dir:
                pending.append(info.path)
            elif info.digest is not None:
                out.append(VersionFile(info.path[cut:], info.digest, int(info.size or 0)))
    return sorted(out, key=lambda f: f.path)
