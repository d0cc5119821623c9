"""Registered-model use cases: create, read, rename, describe, tag, delete, search.

Each public method: authorize → validate → write → audit, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.exc import IntegrityError

from clew.core.actor import Actor
from clew.core.authz import Permission, Resource, readable_scope
from clew.core.db import retry_conflicts
from clew.core.errors import AlreadyExists, NotFound
from clew.core.ids import now_ms
from clew.registry import validation as v
from clew.registry.model import RegisteredModel
from clew.registry.promotion import Promotion
from clew.registry.search import compile_model_search
from clew.registry.service_base import RESOURCE_TYPE, RegistryUseCases, model_resource
from clew.registry.store import RegistryStore
from clew.tracking.model import Page


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists("A registered model with this name already exists", name=name)


class ModelUseCases(RegistryUseCases):
    @retry_conflicts
    def create_registered_model(
        self,
        actor: Actor,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a model (no versions yet). Names are unique: ``AlreadyExists`` (409)."""
        self.authz.check(actor, Permission.EDIT, Resource(RESOURCE_TYPE, "*"))
        v.check_model_name(name)
        text = v.check_description(description)
        checked = v.check_tags(tags)
        now = now_ms()
        try:
            with self.db.write() as conn:
                store = RegistryStore(conn)
                if store.model_id(name) is not None:
                    raise _taken(name)
                model_id = store.insert_model(name, text, actor.name, now)
                store.set_model_tags(model_id, checked)
                self._record(
                    conn,
                    actor,
                    "registered_model.create",
                    model_id,
                    {"name": name, "description": text, "tags": checked},
                )
        except IntegrityError as exc:  # a concurrent creator won the race for the name
            raise _taken(name) from exc
        return RegisteredModel(name, now, now, actor.name, text, checked)

    def get_registered_model(self, actor: Actor, name: str) -> RegisteredModel:
        v.check_model_name(name)
        self.authz.check(actor, Permission.READ, model_resource(name))
        with self.db.read() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            return store.get_models([model_id])[model_id]

    @retry_conflicts
    def rename_registered_model(self, actor: Actor, name: str, new_name: str) -> RegisteredModel:
        """Rename; versions, aliases and the audit history follow (they key on the model id)."""
        v.check_model_name(name)
        v.check_model_name(new_name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        try:
            with self.db.write() as conn:
                store = RegistryStore(conn)
                model_id = store.require_model(name)
                other = store.model_id(new_name)
                if other is not None and other != model_id:
                    raise _taken(new_name)
                store.update_model(model_id, now_ms(), name=new_name)
                self._record(
                    conn,
                    actor,
                    "registered_model.rename",
                    model_id,
                    {"name": new_name, "from": name, "to": new_name},
                )
                return store.get_models([model_id])[model_id]
        except IntegrityError as exc:
            raise _taken(new_name) from exc

    @retry_conflicts
    def update_registered_model(
        self, actor: Actor, name: str, description: str | None = None
    ) -> RegisteredModel:
        """Set the description (``None`` leaves it; ``""`` clears it)."""
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            if description is not None:
                text = v.check_description(description)
                store.update_model(model_id, now_ms(), description=text)
                self._record(
                    conn,
                    actor,
                    "registered_model.update",
                    model_id,
                    {"name": name, "description": text},
                )
            return store.get_models([model_id])[model_id]

    @retry_conflicts
    def set_registered_model_tags(self, actor: Actor, name: str, tags: Mapping[str, str]) -> None:
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        checked = v.check_tags(tags)
        if not checked:
            return
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            store.set_model_tags(model_id, checked)
            store.touch_model(model_id, now_ms())
            self._record(
                conn,
                actor,
                "registered_model.tag.set",
                model_id,
                {"name": name, "tags": checked},
            )

    @retry_conflicts
    def delete_registered_model_tag(self, actor: Actor, name: str, key: str) -> None:
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            if not store.delete_model_tag(model_id, key):
                raise NotFound("The registered model has no such tag", name=name)
            store.touch_model(model_id, now_ms())
            self._record(
                conn,
                actor,
                "registered_model.tag.delete",
                model_id,
                {"name": name, "key": key},
            )

    @retry_conflicts
    def delete_registered_model(self, actor: Actor, name: str) -> None:
        """Delete the model with every version and alias (each alias removal passes the guard).

        The versions' nodes in the metadata graph stay: lineage is history.
        """
        v.check_model_name(name)
        self.authz.check(actor, Permission.MANAGE, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            self._lock_model(conn, model_id)
            aliases = store.aliases_of_model(model_id)
            for alias, version in aliases.items():
                self.guard.check(
                    conn,
                    actor,
                    Promotion(name, None, version, alias=alias, reason="model_deleted"),
                )
            versions = store.version_count(model_id)
            store.delete_model(model_id)
            self._record(
                conn,
                actor,
                "registered_model.delete",
                model_id,
                {"name": name, "versions": versions, "aliases_removed": aliases},
            )

    def search_registered_models(
        self,
        actor: Actor,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models matching the filter (see ``registry.search``), a page at a time."""
        readable = readable_scope(self.authz, actor, RESOURCE_TYPE)  # in the query; None: all
        if readable is not None and not readable:
            return Page([], None)
        plan = compile_model_search(
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            only_names=None if readable is None else sorted(readable),
        )
        with self.db.read() as conn:
            store = RegistryStore(conn)
            ids, token = plan.page(store.run_search(plan.statement))
            found = store.get_models(ids)
        return Page([found[i] for i in ids if i in found], token)
