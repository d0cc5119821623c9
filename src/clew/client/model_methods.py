"""The model half of :class:`~clew.client.client.Client` (a mixin): log, register, load, download.

``log_model`` follows MLflow 3: a model is a LoggedModel of its own (``m-<32 hex>``) whose files
live under the model, not the run; the run is its source, and the model is an OUTPUT of the
run in the metadata graph. ``load_model`` takes every URI MLflow does (see
:mod:`clew.client.model_uri`) and goes through the local content-addressed cache
(:mod:`clew.client.model_cache`): the first load downloads and verifies, later ones only ask
the server which digest the URI names now, so moving an alias is seen at once.

Example:
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> x = np.array([[0.0], [1.0]])
    >>> run = client.create_run()
    >>> info = client.log_model(run.run_id, LinearRegression().fit(x, [0, 1]), "reg",
    ...                         input_example=x, registered_model_name="doc-reg")
    >>> info.model_uri == f"models:/{info.model_id}", info.registered_model_version
    (True, 1)
    >>> client.load_model("models:/doc-reg/1").predict(np.array([[3.0]])).round(3).tolist()
    [3.0]
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clew.client.model_info import LoggedModelInfo, ModelLineage
from clew.client.model_uri import (
    MLMODEL,
    MODEL_DIR,
    ResolvedModel,
    find_run_model,
    parse_model_uri,
    resolve,
    walk,
)
from clew.core.errors import AlreadyExists, InvalidInput, ModelIntegrityError

if TYPE_CHECKING:
    from clew.client.model_cache import CacheEntry, ModelCache, Progress
    from clew.client.transport import Transport
    from clew.models.mlmodel import ModelInfo
    from clew.models.pyfunc_model import PyFuncModel
    from clew.models.signature import ModelSignature
    from clew.registry.model import ModelVersion, RegisteredModel, VersionFile

log = logging.getLogger(__name__)
MAX_FAILURE_MESSAGE = 2000


class ModelMethods:
    transport: Transport
    _model_cache: ModelCache | None = None

    # Provided by the other mixins of Client.
    create_logged_model: Any
    finalize_logged_model: Any
    log_model_artifacts: Any
    create_registered_model: Any
    create_model_version: Any
    get_logged_model: Any
    get_run: Any
    get_model_version: Any
    resolve_model_uri: Any
    list_model_version_files: Any
    iter_logged_models: Any

    @property
    def model_cache(self) -> ModelCache:
        """The local model cache (``CLEW_HOME/cache/models``); assign one to move it."""
        if self._model_cache is None:
            from clew.client.model_cache import ModelCache

            settings = getattr(self.transport, "settings", None)
            if settings is None:
                from clew.core.settings import Settings

                settings = Settings()
            self._model_cache = ModelCache(Path(settings.home) / "cache" / "models")
        return self._model_cache

    @model_cache.setter
    def model_cache(self, cache: ModelCache) -> None:
        self._model_cache = cache

    # ---- logging -------------------------------------------------------------------------------

    def log_model(
        self,
        run_id: str | None,
        model: Any,
        name: str = "model",
        *,
        input_example: Any = None,
        signature: ModelSignature | bool | None = None,
        registered_model_name: str | None = None,
        flavor: str | None = None,
        pip_requirements: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        model_type: str | None = None,
        experiment_id: str | None = None,
        **flavor_options: Any,
    ) -> LoggedModelInfo:
        """Save ``model`` as a new logged model from ``run_id`` (or in ``experiment_id``).

        The model is created PENDING, saved with :func:`clew.models.save_model`, its files
        uploaded, then finalized READY; if anything fails it is finalized FAILED (with the
        error as its status message) and the error re-raised. ``flavor`` forces a flavor;
        ``flavor_options`` go to it (``serialization_format=`` for sklearn …). With
        ``registered_model_name`` a version is registered too (the model created if needed).
        """
        from clew.models.api import save_model

        logged = self.create_logged_model(
            experiment_id, name, run_id, tags=tags, params=params, model_type=model_type
        )
        cache = self.model_cache
        try:
            with _staging(cache) as staged:
                info = save_model(
                    model,
                    staged / MODEL_DIR,
                    flavor=flavor,
                    input_example=input_example,
                    signature=signature,
                    pip_requirements=pip_requirements,
                    metadata=metadata,
                    run_id=run_id,
                    model_id=logged.model_id,
                    **flavor_options,
                )
                uploaded = self.log_model_artifacts(logged.model_id, staged / MODEL_DIR)
                logged = self.finalize_logged_model(logged.model_id, "READY")
                digest = _adopt(cache, staged, info, uploaded)
        except BaseException as exc:
            _mark_failed(self, logged.model_id, exc)
            raise
        version = None
        if registered_model_name:
            version = self.register_model(f"models:/{logged.model_id}", registered_model_name)
        return LoggedModelInfo(
            model_id=logged.model_id,
            model_uri=f"models:/{logged.model_id}",
            name=logged.name,
            run_id=run_id,
            logged_model=logged,
            mlmodel=info,
            digest=digest,
            registered_model_version=None if version is None else version.version,
        )

    # ---- registering ---------------------------------------------------------------------------

    def register_model(
        self,
        model_uri: str,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Register the model at ``model_uri`` as the next version of ``name`` (created if
        missing), as ``mlflow.register_model`` does.

        ``models:/m-…`` registers a logged model; ``runs:/<run>/<path>`` the run's own files
        there if they hold an MLmodel, else the run's logged model called ``path``;
        ``models:/<name>/<version>`` (or ``@alias``) registers that version's source again,
        e.g. under another name.
        """
        ref = parse_model_uri(model_uri)
        run_id: str | None = None
        model_id: str | None = None
        source = model_uri
        if ref.kind == "logged_model":
            assert ref.model_id is not None
            model_id = ref.model_id
            run_id = self.get_logged_model(model_id).source_run_id
        elif ref.kind == "run":
            assert ref.run_id is not None
            run_id = ref.run_id
            own = walk(self, ref.run_id, ref.path) if ref.path else []
            if not any(f.path == MLMODEL for f in own):
                model_id = find_run_model(self, ref.run_id, ref.path).model_id
                source = f"models:/{model_id}"
        elif ref.kind == "registry":
            mv = self.resolve_model_uri(model_uri)
            source, run_id, model_id = mv.source, mv.run_id, mv.logged_model_id
        else:
            raise InvalidInput(
                "Register a model from models:/ or runs:/; log a local model with log_model first",
                uri=model_uri,
            )
        ensure_registered_model(self, name)
        return self.create_model_version(
            name, source, run_id=run_id, tags=tags, description=description, model_id=model_id
        )

    # ---- loading -------------------------------------------------------------------------------

    def load_model(
        self,
        model_uri: str,
        *,
        trust: bool = False,
        verify: bool = False,
        skops_trusted_types: tuple[str, ...] = (),
    ) -> PyFuncModel:
        """Load the model ``model_uri`` names as a ``PyFuncModel`` (``.predict(data)``).

        URIs: ``models:/name@alias``, ``models:/name/<version|latest|stage>``,
        ``models:/m-<id>``, ``runs:/<run_id>/<path>`` or a local directory.

        Args:
            trust: allow pickles in a model that records no digests (see clew.models).
            verify: re-hash every file even on a cache hit (a hit normally trusts what it
                verified when it was filled; see :mod:`clew.client.model_cache`).

        Raises:
            NotFound: (404 ``RESOURCE_DOES_NOT_EXIST``) no such model, version or alias.
            ModelIntegrityError: (``MODEL_DIGEST_MISMATCH``) the server's bytes do not match
                what the registry or logged model recorded.
        """
        from clew.models.api import load_model

        ref = parse_model_uri(model_uri)
        if ref.kind == "local":
            return load_model(ref.path, trust=trust, skops_trusted_types=skops_trusted_types)
        resolved = resolve(self, ref)
        entry, fresh = self._cached(resolved)
        if fresh or verify:
            return load_model(
                entry.path,
                trust=trust,
                expected_digest=entry.mlmodel_digest,
                skops_trusted_types=skops_trusted_types,
            )
        from clew.client.model_cache import load_entry

        try:
            return load_entry(entry, trust=trust, skops_trusted_types=skops_trusted_types)
        except ModelIntegrityError:
            # The entry passed its stat check but its bytes changed: discard it and fetch again.
            log.warning("Cached model %s failed verification; fetching it again", entry.digest)
            self.model_cache.evict(entry.digest)
            entry, _ = self._cached(resolved)
            return load_model(
                entry.path,
                trust=trust,
                expected_digest=entry.mlmodel_digest,
                skops_trusted_types=skops_trusted_types,
            )

    def load_native_model(
        self,
        model_uri: str,
        flavor: str | None = None,
        *,
        trust: bool = False,
        skops_trusted_types: tuple[str, ...] = (),
    ) -> Any:
        """The flavor's own object (the estimator, the Booster) for ``model_uri``; every file
        is verified (``clew.models.load_native``)."""
        from clew.models.api import load_native

        ref = parse_model_uri(model_uri)
        if ref.kind == "local":
            return load_native(
                ref.path, flavor, trust=trust, skops_trusted_types=skops_trusted_types
            )
        entry, _ = self._cached(resolve(self, ref))
        return load_native(
            entry.path,
            flavor,
            trust=trust,
            expected_digest=entry.mlmodel_digest,
            skops_trusted_types=skops_trusted_types,
        )

    def resolve_model(self, model_uri: str) -> ResolvedModel:
        """Which files a ``models:/``/``runs:/`` URI names now, and the digest they must have
        (one call for a registry URI; see :mod:`clew.client.model_uri`)."""
        return resolve(self, parse_model_uri(model_uri))

    def download_model(
        self,
        model: str | ResolvedModel,
        dst: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        use_cache: bool = True,
    ) -> Path:
        """Write the model's files, verified, into ``dst`` (created; must be empty).

        ``model`` is a URI or what :meth:`resolve_model` returned. Through the cache by
        default (a second download is a local copy); ``progress`` is called with each
        chunk's byte count while downloading. Returns ``dst``.

        Raises:
            ModelIntegrityError: the server's bytes do not match their recorded digests.
        """
        from clew.client.model_cache import fetch_verified

        target = Path(dst)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InvalidInput(f"{target} exists and is not an empty directory", path=str(target))
        resolved = self.resolve_model(model) if isinstance(model, str) else model
        if not use_cache:
            fetch_verified(resolved.files(self), self._fetcher(resolved), target, progress)
            return target
        entry, _ = self._cached(resolved, progress)
        # Plain copies (not links): edits to the copy must never reach the verified entry.
        shutil.copytree(entry.path, target, copy_function=shutil.copyfile, dirs_exist_ok=True)
        for dirpath, _dirs, _files in os.walk(target):
            os.chmod(dirpath, 0o755)
        return target

    def _cached(
        self, resolved: ResolvedModel, progress: Progress | None = None
    ) -> tuple[CacheEntry, bool]:
        """The verified cache entry for ``resolved`` and whether it was fetched just now."""
        cache = self.model_cache
        entry = cache.lookup(resolved.digest)
        if entry is not None:
            return entry, False
        files = resolved.files(self)
        return cache.fill(resolved.digest, files, self._fetcher(resolved), progress), True

    def _fetcher(self, resolved: ResolvedModel) -> Any:
        def fetch(f: VersionFile) -> Any:
            return self.transport.open_artifact(resolved.owner_id, resolved.remote_path(f.path))

        return fetch

    # ---- lineage -------------------------------------------------------------------------------

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelLineage:
        """Upstream of a version: its model artifact, the run that produced it, and the
        datasets that run read (``clew models lineage`` prints it)."""
        mv = self.get_model_version(name, version)
        files = self.list_model_version_files(name, version)
        logged = self.get_logged_model(mv.logged_model_id) if mv.logged_model_id else None
        run_id = mv.run_id or (logged.source_run_id if logged else None)
        run = self.get_run(run_id) if run_id else None
        return ModelLineage(mv, files, logged, run)


def ensure_registered_model(client: Any, name: str) -> RegisteredModel | None:
    """Create ``name`` unless it exists (MLflow's register_model does the same)."""
    try:
        return client.create_registered_model(name)
    except AlreadyExists:
        return None


@contextlib.contextmanager
def _staging(cache: ModelCache) -> Iterator[Path]:
    """Where ``log_model`` saves: inside the cache (so the files can be adopted by a rename),
    or a plain temp dir when the cache cannot be written."""
    with contextlib.ExitStack() as stack:
        try:
            staged = stack.enter_context(cache.staging())
        except OSError as exc:
            log.info("Model cache unavailable (%s); saving to a temp dir", exc)
            staged = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="clew-model-")))
        yield staged


def _adopt(cache: ModelCache, staged: Path, info: ModelInfo, uploaded: list[Any]) -> str:
    """Move the just-saved files into the cache if the server's digests match ours, so the
    first load after logging downloads nothing. Returns the model's tree digest."""
    from clew.registry.model import VersionFile, tree_digest

    files = [VersionFile(f.path, str(f.digest), int(f.size or 0)) for f in uploaded]
    digest = tree_digest(files)
    local = {rel: d.digest for rel, d in (info.files or {}).items()}
    local[MLMODEL] = info.mlmodel_digest
    try:
        cache.adopt(staged, digest, files, local)
    except (OSError, ModelIntegrityError) as exc:  # the cache is an optimisation here
        log.info("Not caching the logged model: %s", exc)
    return digest


def _mark_failed(client: Any, model_id: str, exc: BaseException) -> None:
    message = f"{type(exc).__name__}: {exc}"[:MAX_FAILURE_MESSAGE]
    try:
        client.finalize_logged_model(model_id, "FAILED", message)
    except Exception as err:
        exc.add_note(f"clew: marking logged model {model_id} FAILED also failed: {err!r}")
