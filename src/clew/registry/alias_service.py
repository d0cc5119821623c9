"""Promotion use cases: aliases (set, move, delete, resolve), stages, latest versions, history.

Every change goes: authorize → validate → lock the model → ``PromotionGuard.check`` → write →
audit, in one transaction. The audit summary records the model, the alias or stage, the new
version and the previous one, which is what ``alias_history`` replays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from clew.core.actor import Actor
from clew.core.authz import Permission
from clew.core.db import retry_conflicts
from clew.core.errors import InvalidInput, NotFound
from clew.core.ids import now_ms
from clew.registry import validation as v
from clew.registry.history import ALIAS_DELETE, ALIAS_SET, STAGE, alias_history
from clew.registry.model import AliasHistory, ModelVersion, Stage
from clew.registry.promotion import Promotion
from clew.registry.service_base import RegistryUseCases, model_resource
from clew.registry.store import RegistryStore

_MODEL_URI = re.compile(r"models:/([^/@]+)(?:@([^/]+)|/([^/]+))/?")


class AliasUseCases(RegistryUseCases):
    @retry_conflicts
    def set_registered_model_alias(
        self, actor: Actor, name: str, alias: str, version: int | str
    ) -> None:
        """Point ``alias`` at ``version`` (creating or moving it). An alias names one version
        of its model; a version may hold many aliases."""
        number = v.check_version(version)
        v.check_model_name(name)
        v.check_alias(alias)
        self.authz.check(actor, Permission.MANAGE, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            self._lock_model(conn, model_id)
            version_id = store.require_version(model_id, name, number)
            held = store.alias_target(model_id, alias)
            previous = None if held is None else held[1]
            self.guard.check(conn, actor, Promotion(name, number, previous, alias=alias))
            store.set_alias(model_id, alias, version_id)
            self._record(
                conn,
                actor,
                ALIAS_SET,
                model_id,
                {"name": name, "alias": alias, "version": number, "previous": previous},
            )

    @retry_conflicts
    def delete_registered_model_alias(self, actor: Actor, name: str, alias: str) -> None:
        v.check_model_name(name)
        v.check_alias(alias)
        self.authz.check(actor, Permission.MANAGE, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            self._lock_model(conn, model_id)
            held = store.alias_target(model_id, alias)
            if held is None:
                raise NotFound("The registered model has no such alias", name=name, alias=alias)
            self.guard.check(conn, actor, Promotion(name, None, held[1], alias=alias))
            store.delete_alias(model_id, alias)
            self._record(
                conn,
                actor,
                ALIAS_DELETE,
                model_id,
                {"name": name, "alias": alias, "version": None, "previous": held[1]},
            )

    def get_model_version_by_alias(self, actor: Actor, name: str, alias: str) -> ModelVersion:
        v.check_model_name(name)
        v.check_alias(alias)
        self.authz.check(actor, Permission.READ, model_resource(name))
        with self.db.read() as conn:
            store = RegistryStore(conn)
            held = store.alias_target(store.require_model(name), alias)
            if held is None:
                raise NotFound("The registered model has no such alias", name=name, alias=alias)
            return store.get_version(held[0])

    def resolve_model_uri(self, actor: Actor, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names: ``models:/name@alias``, ``models:/name/3``,
        ``models:/name/latest`` or ``models:/name/<Stage>`` (the newest version in it)."""
        m = _MODEL_URI.fullmatch(uri) if isinstance(uri, str) else None
        if m is None:
            raise InvalidInput("Expected models:/<name>@<alias> or models:/<name>/<version>")
        name, alias, ref = m.group(1), m.group(2), m.group(3)
        if alias is not None:
            return self.get_model_version_by_alias(actor, name, alias)
        assert ref is not None
        if ref.isdigit():
            number = v.check_version(ref)
            v.check_model_name(name)
            self.authz.check(actor, Permission.READ, model_resource(name))
            with self.db.read() as conn:
                store = RegistryStore(conn)
                return store.get_version(
                    store.require_version(store.require_model(name), name, number)
                )
        stages = None if ref.lower() == "latest" else [v.check_stage(ref)]
        latest = self.get_latest_versions(actor, name, stages)
        if not latest:
            raise NotFound("The registered model has no version there", name=name)
        return max(latest, key=lambda mv: mv.version)

    @retry_conflicts
    def transition_model_version_stage(
        self,
        actor: Actor,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage; with ``archive_existing_versions`` (Staging/Production
        only) the stage's other versions go to Archived in the same transaction."""
        number = v.check_version(version)
        v.check_model_name(name)
        target = v.check_stage(stage)
        if archive_existing_versions and target not in (Stage.STAGING, Stage.PRODUCTION):
            raise InvalidInput("archive_existing_versions applies to Staging and Production only")
        self.authz.check(actor, Permission.MANAGE, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            self._lock_model(conn, model_id)
            version_id = store.require_version(model_id, name, number)
            was = store.get_version(version_id).current_stage
            others = [h for h in store.versions_in_stage(model_id, target) if h[0] != version_id]
            previous = others[-1][1] if others else None
            self.guard.check(
                conn,
                actor,
                Promotion(
                    name,
                    number,
                    previous,
                    stage=target,
                    archive_existing=archive_existing_versions,
                ),
            )
            now = now_ms()
            store.set_stage([version_id], target, now)
            archived = [h[1] for h in others] if archive_existing_versions else []
            if archived:
                store.set_stage([h[0] for h in others], Stage.ARCHIVED, now)
            self._record(
                conn,
                actor,
                STAGE,
                model_id,
                {
                    "name": name,
                    "version": number,
                    "stage": str(target),
                    "previous_stage": was,
                    "previous": previous,
                    "archived": archived,
                },
            )
            return store.get_version(version_id)

    def get_latest_versions(
        self, actor: Actor, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (every stage if none), by version."""
        v.check_model_name(name)
        wanted = None if not stages else [str(v.check_stage(s)) for s in stages]
        self.authz.check(actor, Permission.READ, model_resource(name))
        with self.db.read() as conn:
            store = RegistryStore(conn)
            ids = store.latest_version_ids([store.require_model(name)], wanted)
            return sorted(store.get_versions(ids), key=lambda mv: mv.version)

    def alias_history(
        self, actor: Actor, name: str, alias: str | None = None, at: int | None = None
    ) -> AliasHistory:
        """Every move of the model's aliases (or of ``alias``) and stage changes, oldest first,
        from the audit log; with ``at`` (UTC ms), which version each alias held then."""
        v.check_model_name(name)
        if alias is not None:
            v.check_alias(alias)
        if at is not None and (isinstance(at, bool) or not isinstance(at, int)):
            raise InvalidInput("at must be a time in UTC milliseconds")
        self.authz.check(actor, Permission.READ, model_resource(name))
        with self.db.read() as conn:
            model_id = RegistryStore(conn).require_model(name)
            return alias_history(conn, model_id, name, alias, at)
