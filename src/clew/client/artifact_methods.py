"""The artifact and audit half of :class:`~clew.client.client.Client` (a mixin, for file size).

Artifacts stream: files go up as open file objects and come down chunk by chunk, so a
10 GB model never sits in memory. Artifact paths are validated here with the same validator
the server uses, so a bad path fails before any bytes move (the server checks anyway).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clew.artifacts.model import FileInfo
    from clew.client.transport import Transport
    from clew.core.audit_model import AuditEvent, Verification


def _check_path(path: str, *, allow_root: bool = False) -> str:
    from clew.artifacts.paths import validate_artifact_path

    return validate_artifact_path(path, allow_root=allow_root)


def _join(artifact_path: str | None, name: str) -> str:
    return f"{artifact_path.strip('/')}/{name}" if artifact_path else name


class ArtifactMethods:
    transport: Transport

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> FileInfo:
        """Upload one file as ``<artifact_path>/<file name>``.

        Example:
            >>> import pathlib, tempfile
            >>> f = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
            >>> _ = f.write_text("hello")
            >>> run = client.create_run()
            >>> client.log_artifact(run.run_id, f, "docs").path
            'docs/notes.txt'
        """
        local = Path(local_path)
        if not local.is_file():
            raise FileNotFoundError(f"No such file: {local}")
        path = _check_path(_join(artifact_path, local.name))
        with local.open("rb") as stream:
            return self.transport.log_artifact_stream(run_id, path, stream)

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[FileInfo]:
        """Upload a directory tree under ``artifact_path`` (the run's root if omitted)."""
        local = Path(local_dir)
        if not local.is_dir():
            raise NotADirectoryError(f"No such directory: {local}")
        checked = _check_path(artifact_path, allow_root=True) if artifact_path else None
        return self.transport.log_artifact_dir(run_id, local, checked or None)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> FileInfo:
        """Upload bytes held in memory as ``artifact_file``."""
        path = _check_path(artifact_file)
        return self.transport.log_artifact_stream(run_id, path, io.BytesIO(data))

    def log_text(self, run_id: str, text: str, artifact_file: str) -> FileInfo:
        """Save ``text`` (UTF-8) as ``artifact_file``, e.g. ``"notes/summary.md"``."""
        return self.log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> FileInfo:
        """Save a dict as JSON, or as YAML when the file ends in ``.yaml``/``.yml`` and PyYAML is
        installed (without it the file holds JSON, which is valid YAML too).

        Example:
            >>> run = client.create_run()
            >>> client.log_dict(run.run_id, {"lr": 0.1}, "config.json").size > 0
            True
        """
        text: str | None = None
        if artifact_file.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                pass
            else:
                text = yaml.safe_dump(dict(dictionary), sort_keys=False, allow_unicode=True)
        if text is None:
            text = json.dumps(dictionary, indent=2, ensure_ascii=False, default=str)
        return self.log_text(run_id, text, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        save_kwargs: Mapping[str, Any] | None = None,
    ) -> FileInfo:
        """Save a matplotlib figure (anything with ``savefig``) in the format its suffix names.

        The figure renders into memory, never a temporary file; matplotlib is not imported here,
        the figure brings its own. Plotly figures are saved as ``.html``.
        """
        buf = io.BytesIO()
        suffix = Path(artifact_file).suffix.lstrip(".").lower() or "png"
        if hasattr(figure, "savefig"):
            figure.savefig(buf, format=suffix, **dict(save_kwargs or {}))
        elif hasattr(figure, "to_html") and suffix in ("html", "htm"):
            buf.write(figure.to_html(**dict(save_kwargs or {})).encode("utf-8"))
        else:
            raise TypeError(
                f"Cannot save {type(figure).__name__} as {artifact_file!r}: expected a matplotlib "
                "figure, or a plotly figure saved as .html"
            )
        return self.log_bytes(run_id, buf.getvalue(), artifact_file)

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]:
        """Files and directories directly under ``path``."""
        return self.transport.list_artifacts(run_id, _check_path(path, allow_root=True))

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: str | Path | None = None
    ) -> str:
        """Download a file or directory (the whole run if ``path`` is empty) and return its path.

        ``dst_path`` defaults to a new temporary directory, which the caller then owns.
        """
        checked = _check_path(path, allow_root=True)
        dest = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="clew-"))
        dest.mkdir(parents=True, exist_ok=True)
        return str(self.transport.download_artifacts(run_id, checked, dest))

    def open_artifact(self, run_id: str, path: str) -> AbstractContextManager[Iterator[bytes]]:
        """Stream one artifact's bytes without saving it.

        Example:
            >>> run = client.create_run()
            >>> _ = client.log_text(run.run_id, "hi", "a.txt")
            >>> with client.open_artifact(run.run_id, "a.txt") as chunks:
            ...     b"".join(chunks)
            b'hi'
        """
        return self.transport.open_artifact(run_id, _check_path(path))

    # ---- audit ---------------------------------------------------------------------------------

    def verify_audit(self) -> Verification:
        """Recompute the audit log's hash chain; ``ok`` is False and names the first broken link
        if any event was altered, removed or reordered."""
        return self.transport.verify_audit()

    def export_audit(self, dest: str | os.PathLike[str], since_seq: int = 1) -> Path:
        """Write the audit log from ``since_seq`` to ``dest`` as JSON Lines ending in a head
        line, signed if the store has a signing key (``clew.audit.export``)."""
        path = Path(dest)
        self.transport.write_audit_export(path, since_seq)
        return path

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
        """Audit events, newest first; page with ``after_seq=<last event's seq>``."""
        return self.transport.list_audit(
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            since_ms=since_ms,
            until_ms=until_ms,
            after_seq=after_seq,
            limit=limit,
        )
