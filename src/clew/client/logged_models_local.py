"""The logged-model half of the local transport: ``LoggedModelService`` in-process, as the OS user.

A mixin of :class:`~clew.client.local.LocalTransport` (kept apart for file size). It adds no
rules: every check is the service's, so local and HTTP behave the same. A logged model's files
go through the transport's artifact methods, whose owner may be a model id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from clew.registry.logged_model import (
    DatasetFilter,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOrder,
)
from clew.tracking.model import Page

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform


class LocalLoggedModels:
    platform: Platform
    actor: Actor

    def create_logged_model(
        self,
        experiment_id: str | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        model_type: str | None = None,
        params: Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        return self.platform.logged_models.create(
            self.actor, experiment_id, name, source_run_id, model_type, params, tags or {}
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.platform.logged_models.get(self.actor, model_id)

    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str | None = None
    ) -> LoggedModel:
        return self.platform.logged_models.finalize(self.actor, model_id, status, status_message)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        self.platform.logged_models.set_tags(self.actor, model_id, tags)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.platform.logged_models.delete_tag(self.actor, model_id, key)

    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        self.platform.logged_models.log_params(self.actor, model_id, params)

    def log_logged_model_metrics(self, model_id: str, metrics: Sequence[LoggedModelMetric]) -> None:
        self.platform.logged_models.log_metrics(self.actor, model_id, metrics)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        datasets: Sequence[DatasetFilter] = (),
        max_results: int = 100,
        order_by: Sequence[LoggedModelOrder] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        return self.platform.logged_models.search(
            self.actor, experiment_ids, filter_string, datasets, max_results, order_by, page_token
        )

    def delete_logged_model(self, model_id: str) -> None:
        self.platform.logged_models.delete(self.actor, model_id)
