"""The ``MLmodel`` file: one YAML document that says how to load a model directory.

The keys are MLflow's (``flavors``, ``signature``, ``saved_input_example_info``,
``utc_time_created``, ``model_uuid``, ``model_id``, ``run_id``, ``model_size_bytes``,
``metadata``) so MLflow reads what Clew writes. Clew adds ``clew_version`` and ``clew_files``
(relative path -> ``{digest, size}`` for every other file); MLflow's ``Model.load`` keeps unknown
keys as attributes and ignores them. Keys neither tool knows are kept in ``extra`` and written
back, so reading and re-writing a model loses nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clew.core.errors import InvalidModel
from clew.models.files import MLMODEL, FileDigest, sha256_bytes
from clew.models.signature import ModelSignature

_KNOWN = (
    "artifact_path",
    "flavors",
    "signature",
    "saved_input_example_info",
    "utc_time_created",
    "model_uuid",
    "model_id",
    "run_id",
    "model_size_bytes",
    "metadata",
    "clew_version",
    "mlflow_version",
    "clew_files",
)


@dataclass(frozen=True)
class ModelInfo:
    """What an MLmodel file says, plus where it was read from and its own digest."""

    flavors: dict[str, dict[str, Any]]
    model_uuid: str
    utc_time_created: str
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_id: str | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    model_size_bytes: int | None = None
    metadata: dict[str, Any] | None = None
    clew_version: str | None = None
    mlflow_version: str | None = None
    files: dict[str, FileDigest] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    mlmodel_digest: str = ""

    @property
    def pyfunc_config(self) -> dict[str, Any] | None:
        return self.flavors.get("python_function")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out |= {
            "artifact_path": self.artifact_path,
            "flavors": self.flavors,
            "model_uuid": self.model_uuid,
            "model_id": self.model_id,
            "run_id": self.run_id,
            "utc_time_created": self.utc_time_created,
            "clew_version": self.clew_version,
        }
        optional = {
            "signature": self.signature.to_dict() if self.signature else None,
            "saved_input_example_info": self.saved_input_example_info,
            "model_size_bytes": self.model_size_bytes,
            "metadata": self.metadata,
            "mlflow_version": self.mlflow_version,
        }
        out |= {k: v for k, v in optional.items() if v is not None}
        if self.files is not None:
            out["clew_files"] = {
                rel: {"digest": d.digest, "size": d.size} for rel, d in sorted(self.files.items())
            }
        if out["artifact_path"] is None:
            del out["artifact_path"]
        return out


def _yaml() -> Any:
    import yaml

    return yaml


def write_mlmodel(info: ModelInfo, directory: str | os.PathLike[str]) -> ModelInfo:
    """Write ``MLmodel`` into ``directory``; returns ``info`` with path and digest filled in."""
    yaml = _yaml()
    text = yaml.safe_dump(info.to_dict(), default_flow_style=False, sort_keys=True)
    data = text.encode("utf-8")
    root = Path(directory)
    (root / MLMODEL).write_bytes(data)
    return replace(info, path=str(root), mlmodel_digest=sha256_bytes(data))


def read_mlmodel(directory: str | os.PathLike[str]) -> ModelInfo:
    """Parse ``directory/MLmodel`` (safe YAML only) into a ``ModelInfo``."""
    root = Path(directory)
    try:
        data = (root / MLMODEL).read_bytes()
    except OSError as exc:
        raise InvalidModel(f"No MLmodel file in {root}", path=str(root)) from exc
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(data, Loader=loader)  # a SafeLoader (C or Python), never the full one
    except yaml.YAMLError as exc:
        raise InvalidModel(f"MLmodel is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("flavors"), dict):
        raise InvalidModel("MLmodel has no flavors mapping")
    return _from_dict(doc, str(root), sha256_bytes(data))


def _from_dict(doc: dict[str, Any], path: str, digest: str) -> ModelInfo:
    signature = doc.get("signature")
    files = doc.get("clew_files")
    recorded: dict[str, FileDigest] | None = None
    if files is not None:
        if not isinstance(files, dict):
            raise InvalidModel("clew_files must map paths to digests")
        try:
            recorded = {
                str(rel): FileDigest(str(v["digest"]), int(v["size"])) for rel, v in files.items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidModel(f"Malformed clew_files entry: {exc}") from exc
    size = doc.get("model_size_bytes")
    return ModelInfo(
        flavors={str(k): dict(v or {}) for k, v in doc["flavors"].items()},
        model_uuid=str(doc.get("model_uuid") or ""),
        utc_time_created=str(doc.get("utc_time_created") or ""),
        signature=ModelSignature.from_dict(signature) if isinstance(signature, dict) else None,
        saved_input_example_info=doc.get("saved_input_example_info"),
        model_id=_opt_str(doc.get("model_id")),
        run_id=_opt_str(doc.get("run_id")),
        artifact_path=_opt_str(doc.get("artifact_path")),
        model_size_bytes=int(size) if isinstance(size, int) else None,
        metadata=doc.get("metadata"),
        clew_version=_opt_str(doc.get("clew_version")),
        mlflow_version=_opt_str(doc.get("mlflow_version")),
        files=recorded,
        extra={k: v for k, v in doc.items() if k not in _KNOWN},
        path=path,
        mlmodel_digest=digest,
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
