"""The registry half of the local transport: ``RegistryService`` in-process, as the OS user.

A mixin of :class:`~clew.client.local.LocalTransport` (kept apart for file size). It adds no
rules: every check is the service's, so local and HTTP behave the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from clew.registry.model import (
    AliasHistory,
    ModelVersion,
    RegisteredModel,
    VersionFile,
    VersionVerification,
)
from clew.tracking.model import Page

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform


class LocalRegistry:
    platform: Platform
    actor: Actor

    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        return self.platform.registry.create_registered_model(self.actor, name, description, tags)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.platform.registry.get_registered_model(self.actor, name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.platform.registry.rename_registered_model(self.actor, name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.platform.registry.update_registered_model(self.actor, name, description)

    def delete_registered_model(self, name: str) -> None:
        self.platform.registry.delete_registered_model(self.actor, name)

    def set_registered_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        self.platform.registry.set_registered_model_tags(self.actor, name, tags)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.platform.registry.delete_registered_model_tag(self.actor, name, key)

    def search_registered_models(
        self,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        return self.platform.registry.search_registered_models(
            self.actor, filter_string, max_results, order_by, page_token
        )

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
        return self.platform.registry.create_model_version(
            self.actor, name, source, run_id, tags, description, logged_model_id, status
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.platform.registry.get_model_version(self.actor, name, version)

    def update_model_version(
        self,
        name: str,
        version: int | str,
        description: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        return self.platform.registry.update_model_version(
            self.actor, name, version, description, status, status_message
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        self.platform.registry.delete_model_version(self.actor, name, version)

    def set_model_version_tags(
        self, name: str, version: int | str, tags: Mapping[str, str]
    ) -> None:
        self.platform.registry.set_model_version_tags(self.actor, name, version, tags)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.platform.registry.delete_model_version_tag(self.actor, name, version, key)

    def search_model_versions(
        self,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        return self.platform.registry.search_model_versions(
            self.actor, filter_string, max_results, order_by, page_token
        )

    def list_model_version_files(self, name: str, version: int | str) -> list[VersionFile]:
        return self.platform.registry.list_model_version_files(self.actor, name, version)

    def verify_model_version(self, name: str, version: int | str) -> VersionVerification:
        return self.platform.registry.verify_version(self.actor, name, version)

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.platform.registry.set_registered_model_alias(self.actor, name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.platform.registry.delete_registered_model_alias(self.actor, name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.platform.registry.get_model_version_by_alias(self.actor, name, alias)

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        return self.platform.registry.resolve_model_uri(self.actor, uri)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self.platform.registry.transition_model_version_stage(
            self.actor, name, version, stage, archive_existing_versions
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        return self.platform.registry.get_latest_versions(self.actor, name, stages)

    def alias_history(
        self, name: str, alias: str | None = None, at: int | None = None
    ) -> AliasHistory:
        return self.platform.registry.alias_history(self.actor, name, alias, at)
