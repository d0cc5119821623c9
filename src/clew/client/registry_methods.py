"""The model-registry half of :class:`~clew.client.client.Client` (a mixin, for file size).

Method names and argument order are ``MlflowClient``'s, so code written for MLflow's registry
reads the same here; versions come back as ints. Aliases are the way to promote a version
(``champion``, ``challenger``); stages still work, as in MLflow.

Example:
    >>> _ = client.create_registered_model("doc-churn", description="Churn model")
    >>> v1 = client.create_model_version("doc-churn", "s3://bucket/churn/1")
    >>> client.set_registered_model_alias("doc-churn", "champion", v1.version)
    >>> client.get_model_version_by_alias("doc-churn", "champion").version
    1
    >>> [m.version for m in client.get_alias_history("doc-churn", "champion").moves]
    [1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clew.client.transport import Transport
    from clew.registry.model import (
        AliasHistory,
        ModelVersion,
        RegisteredModel,
        VersionFile,
        VersionVerification,
    )
    from clew.tracking.model import Page


def _text_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: v if isinstance(v, str) else str(v) for k, v in (tags or {}).items()}


class RegistryMethods:
    transport: Transport

    # ---- registered models -------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create a registered model; names are unique (``AlreadyExists``)."""
        return self.transport.create_registered_model(name, description, _text_tags(tags))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and newest version per stage (``NotFound``)."""
        return self.transport.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.transport.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.transport.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        """Delete the model, every version and alias (the audit log and lineage keep them)."""
        self.transport.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models matching e.g. ``"name LIKE 'churn%' AND tags.team = 'ml'"``, a page at a time."""
        return self.transport.search_registered_models(
            filter_string or "", max_results, order_by or (), page_token
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.transport.set_registered_model_tags(name, _text_tags({key: value}))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.transport.delete_registered_model_tag(name, key)

    # ---- versions ----------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register ``source`` as the next version of ``name``.

        ``source`` is ``runs:/<run_id>/<path>`` (the version records every file under it),
        ``models:/m-<id>`` (a logged model; ``model_id`` as in MLflow 3) or an ``s3://``,
        ``gs://`` or ``https://`` URI. Anything that could reach the server's disk or hide
        traversal is ``InvalidSource``.
        """
        return self.transport.create_model_version(
            name, source, run_id, _text_tags(tags), description, model_id
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.transport.get_model_version(name, version)

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return self.transport.update_model_version(name, version, description)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version and its aliases; its number is never handed out again."""
        self.transport.delete_model_version(name, version)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions matching e.g. ``"name = 'churn' AND version_number > 2"``."""
        return self.transport.search_model_versions(
            filter_string or "", max_results, order_by or (), page_token
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.transport.set_model_version_tags(name, version, _text_tags({key: value}))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.transport.delete_model_version_tag(name, version, key)

    def list_model_version_files(self, name: str, version: int | str) -> list[VersionFile]:
        """The files (path, digest, size) the version was registered with."""
        return self.transport.list_model_version_files(name, version)

    def verify_model_version(self, name: str, version: int | str) -> VersionVerification:
        """Re-hash the version's stored bytes on the server; ``.ok`` says whether all match."""
        return self.transport.verify_model_version(name, version)

    # ---- aliases and stages ------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (creating or moving it); audited with the previous."""
        self.transport.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.transport.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.transport.get_model_version_by_alias(name, alias)

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version ``models:/name@alias`` or ``models:/name/<version|stage|latest>`` names."""
        return self.transport.resolve_model_uri(uri)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to None/Staging/Production/Archived (deprecated in MLflow; kept)."""
        return self.transport.transition_model_version_stage(
            name, version, stage, archive_existing_versions
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage asked for (every stage if none)."""
        return self.transport.get_latest_versions(name, stages)

    def get_alias_history(
        self, name: str, alias: str | None = None, at: int | None = None
    ) -> AliasHistory:
        """Every move of the model's aliases (or one alias) from the audit log; with ``at``
        (UTC ms), what each alias pointed at then (``.version_at`` for ``alias``)."""
        return self.transport.alias_history(name, alias, at)
