"""The logged-model half of :class:`~clew.client.client.Client` (a mixin, for file size).

MLflow 3's ``MlflowClient`` names: ``create_logged_model``, ``finalize_logged_model``,
``log_model_params``, ``log_model_artifact(s)`` … A logged model's files stream exactly as a
run's artifacts do (same transport methods, with the model id as the owner), and are accepted
while the model is PENDING; ``finalize_logged_model(id, "READY")`` then freezes them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clew.core.ids import check_logged_model_id, now_ms
from clew.registry.logged_model import (
    DatasetFilter,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOrder,
)
from clew.tracking.model import Page

if TYPE_CHECKING:
    from clew.artifacts.model import FileInfo
    from clew.client.transport import Transport


def _check_path(path: str, *, allow_root: bool = False) -> str:
    from clew.artifacts.paths import validate_artifact_path

    return validate_artifact_path(path, allow_root=allow_root)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


class LoggedModelMethods:
    transport: Transport

    def create_logged_model(
        self,
        experiment_id: str | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A PENDING logged model, from ``source_run_id`` (in its experiment) or standalone.

        Example:
            >>> run = client.create_run()
            >>> model = client.create_logged_model(source_run_id=run.run_id, name="clf")
            >>> model.status, model.experiment_id == run.info.experiment_id
            ('PENDING', True)
        """
        return self.transport.create_logged_model(
            None if experiment_id is None else str(experiment_id),
            name,
            source_run_id,
            model_type,
            [(k, _text(v)) for k, v in (params or {}).items()],
            {k: _text(v) for k, v in (tags or {}).items()},
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.transport.get_logged_model(model_id)

    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str | None = None
    ) -> LoggedModel:
        """PENDING → ``READY`` (files complete; now frozen) or ``FAILED``, once.

        Example:
            >>> model = client.create_logged_model("0")
            >>> _ = client.log_model_artifact_bytes(model.model_id, b"flavors: {}", "MLmodel")
            >>> client.finalize_logged_model(model.model_id, "READY").status
            'READY'
        """
        return self.transport.finalize_logged_model(model_id, str(status), status_message)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        self.transport.set_logged_model_tags(model_id, {k: _text(v) for k, v in tags.items()})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.transport.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Params are immutable, as a run's: a different value raises ``ParamOverwrite``."""
        self.transport.log_logged_model_params(model_id, [(k, _text(v)) for k, v in params.items()])

    def log_logged_model_metrics(self, model_id: str, metrics: Sequence[LoggedModelMetric]) -> None:
        """Log metric points, each optionally naming its run and dataset, in one call."""
        self.transport.log_logged_model_metrics(model_id, list(metrics))

    def log_model_metric(
        self,
        model_id: str,
        key: str,
        value: float,
        step: int = 0,
        timestamp: int | None = None,
        run_id: str | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
    ) -> None:
        """One metric point, e.g. an evaluation run's accuracy on a named dataset.

        Example:
            >>> model = client.create_logged_model("0")
            >>> client.log_model_metric(model.model_id, "acc", 0.9, dataset_name="val")
            >>> [(m.key, m.dataset_name) for m in client.get_logged_model(model.model_id).metrics]
            [('acc', 'val')]
        """
        ts = now_ms() if timestamp is None else timestamp
        point = LoggedModelMetric(key, value, ts, step, run_id, dataset_name, dataset_digest)
        self.transport.log_logged_model_metrics(model_id, [point])

    def search_logged_models(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        datasets: Sequence[Mapping[str, Any] | DatasetFilter] = (),
        max_results: int = 100,
        order_by: Sequence[str | Mapping[str, Any] | LoggedModelOrder] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        """One page of logged models matching MLflow's filter (plus ``OR`` and parentheses).

        ``order_by`` items are clauses (``"metrics.acc DESC"``) or MLflow's objects
        (``{"field_name": "metrics.acc", "ascending": False, "dataset_name": "val"}``).

        Example:
            >>> exp = client.create_experiment("doc-logged-models")
            >>> _ = client.create_logged_model(exp, name="a", params={"lr": 0.1})
            >>> [m.name for m in client.search_logged_models([exp], "params.lr = '0.1'")]
            ['a']
        """
        return self.transport.search_logged_models(
            None if experiment_ids is None else [str(e) for e in experiment_ids],
            filter_string,
            [DatasetFilter.of(d) for d in datasets],
            max_results,
            [LoggedModelOrder.of(o) for o in order_by],
            page_token,
        )

    def iter_logged_models(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        order_by: Sequence[str | Mapping[str, Any] | LoggedModelOrder] = (),
        page_size: int = 100,
    ) -> Iterator[LoggedModel]:
        """Every matching logged model, fetching page after page lazily."""
        token: str | None = None
        while True:
            page = self.search_logged_models(
                experiment_ids, filter_string, (), page_size, order_by, token
            )
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def delete_logged_model(self, model_id: str) -> None:
        self.transport.delete_logged_model(model_id)

    # ---- files -------------------------------------------------------------------------------

    def log_model_artifact(
        self, model_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> FileInfo:
        """Upload one file among the model's files, as ``<artifact_path>/<file name>``."""
        check_logged_model_id(model_id)
        local = Path(local_path)
        if not local.is_file():
            raise FileNotFoundError(f"No such file: {local}")
        base = f"{artifact_path.strip('/')}/" if artifact_path else ""
        with local.open("rb") as stream:
            return self.transport.log_artifact_stream(
                model_id, _check_path(base + local.name), stream
            )

    def log_model_artifacts(
        self, model_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[FileInfo]:
        """Upload a directory tree (e.g. a saved model) under ``artifact_path``."""
        check_logged_model_id(model_id)
        local = Path(local_dir)
        if not local.is_dir():
            raise NotADirectoryError(f"No such directory: {local}")
        checked = _check_path(artifact_path, allow_root=True) if artifact_path else None
        return self.transport.log_artifact_dir(model_id, local, checked or None)

    def log_model_artifact_bytes(self, model_id: str, data: bytes, artifact_file: str) -> FileInfo:
        """Upload bytes held in memory as ``artifact_file``."""
        import io

        check_logged_model_id(model_id)
        return self.transport.log_artifact_stream(
            model_id, _check_path(artifact_file), io.BytesIO(data)
        )

    def list_logged_model_artifacts(self, model_id: str, path: str = "") -> list[FileInfo]:
        """Files and directories directly under ``path`` of the model's files."""
        check_logged_model_id(model_id)
        return self.transport.list_artifacts(model_id, _check_path(path, allow_root=True))

    def open_logged_model_artifact(
        self, model_id: str, path: str
    ) -> AbstractContextManager[Iterator[bytes]]:
        """Stream one of the model's files without saving it."""
        check_logged_model_id(model_id)
        return self.transport.open_artifact(model_id, _check_path(path))

    def download_logged_model_artifacts(
        self, model_id: str, path: str = "", dst_path: str | Path | None = None
    ) -> str:
        """Download the model's files (or one file or folder of them); returns the local path."""
        check_logged_model_id(model_id)
        checked = _check_path(path, allow_root=True)
        dest = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="clew-"))
        dest.mkdir(parents=True, exist_ok=True)
        return str(self.transport.download_artifacts(model_id, checked, dest))
