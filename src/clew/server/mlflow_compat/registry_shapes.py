"""Clew's registry objects in MLflow's JSON shapes (``model_registry.proto``), one function each.

The domain models already use MLflow's field names; what differs is the wire: versions are
strings, tags are ``[{key, value}]``, a model's aliases are ``[{alias, version}]``, the
LoggedModel id is ``model_id``. ``source`` is returned as the client registered it. Empty
fields are dropped later by ``protocol.ok``.
"""

from __future__ import annotations

from typing import Any

from clew.registry.model import ModelVersion, RegisteredModel
from clew.server.mlflow_compat.protocol import key_values


def model_version(mv: ModelVersion) -> dict[str, Any]:
    return {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "user_id": mv.user_id or None,
        "current_stage": mv.current_stage,
        "description": mv.description or None,
        "source": mv.source,
        "run_id": mv.run_id,
        "status": mv.status,
        "status_message": mv.status_message or None,
        "tags": key_values(mv.tags),
        "aliases": list(mv.aliases),
        "model_id": mv.logged_model_id,
        "run_link": mv.run_link or None,
    }


def registered_model(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "user_id": model.user_id or None,
        "description": model.description or None,
        "latest_versions": [model_version(mv) for mv in model.latest_versions],
        "tags": key_values(model.tags),
        "aliases": [
            {"alias": alias, "version": str(version)}
            for alias, version in sorted(model.aliases.items())
        ],
    }
