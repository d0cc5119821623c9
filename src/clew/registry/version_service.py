"""Model-version use cases: create (from a run, a logged model or an external URI), read,
update, tag, delete, search, list files and verify.

Each public method: authorize → validate → write → audit, in one transaction. Creating a
version also puts it in the metadata graph: an ``artifacts`` node of type ``model`` whose
digest is the tree digest of its files, and an OUTPUT event from the producing run, so lineage
walks version → model artifact → run → the run's dataset INPUT events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from clew.core.actor import Actor
from clew.core.authz import Permission, readable_scope
from clew.core.db import retry_conflicts
from clew.core.errors import Conflict, InvalidInput, InvalidSource, NotFound
from clew.core.ids import check_logged_model_id, check_run_id, now_ms
from clew.registry import validation as v
from clew.registry.logged_store import LoggedModelStore
from clew.registry.model import (
    ModelVersion,
    Stage,
    VersionFile,
    VersionStatus,
    VersionVerification,
    tree_digest,
)
from clew.registry.promotion import Promotion
from clew.registry.search import compile_version_search
from clew.registry.service_base import RESOURCE_TYPE, RegistryUseCases, model_resource
from clew.registry.sources import Source, parse_source
from clew.registry.store import RegistryStore
from clew.tracking.model import Page
from clew.tracking.store import TrackingStore

#: Audit summaries list at most this many files; ``digest`` (the tree digest) covers them all.
SUMMARY_FILES = 200


class VersionUseCases(RegistryUseCases):
    @retry_conflicts
    def create_model_version(
        self,
        actor: Actor,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        logged_model_id: str | None = None,
        status: str = VersionStatus.READY,
        run_link: str | None = None,
    ) -> ModelVersion:
        """Register a new version of ``name`` (numbers 1, 2, 3 … per model, never reused).

        Args:
            source: ``runs:/<run_id>/<path>``, ``clew-artifacts:/runs/<run_id>/<path>``,
                ``models:/m-<32 hex>`` or an allowed external URI (``s3://``, ``gs://``,
                ``https://``). For a run source the version records every file under the path.
            run_id: the producing run; implied by a run source (and must match it), and for
                a logged model's version its source run unless given (as MLflow does).
            logged_model_id: implied by a ``models:/m-…`` source (and must match it).
            status: ``READY`` (default) or ``PENDING_REGISTRATION`` for a registration that an
                importer finishes later with ``update_model_version(status=…)``.
            run_link: a URL to the producing run, stored and answered back (MLflow's field).

        Raises:
            InvalidSource: a source off the rules of ``registry.sources``; a run source with
                nothing logged at its path.
            NotFound: no such model, or no such run.
        """
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        parsed = parse_source(source, allow_file=self.allow_file_sources)
        if run_id is not None:
            check_run_id(run_id)
        if parsed.run_id is not None:
            if run_id is not None and run_id != parsed.run_id:
                raise InvalidSource("run_id does not match the source's run", reason="run_id")
            run_id = parsed.run_id
        if logged_model_id is not None:
            check_logged_model_id(logged_model_id)
            if parsed.logged_model_id not in (None, logged_model_id):
                raise InvalidSource("model_id does not match the source", reason="model_id")
        logged_model_id = logged_model_id or parsed.logged_model_id
        state = v.check_status(status)
        if state is VersionStatus.FAILED_REGISTRATION:
            raise InvalidInput("A version cannot be created as FAILED_REGISTRATION")
        text = v.check_description(description)
        link = v.check_run_link(run_link)
        checked = v.check_tags(tags)
        now = now_ms()
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            if run_id is None and logged_model_id is not None:
                run_id = _producing_run(conn, logged_model_id)
            if run_id is not None:
                TrackingStore(conn).get_run_info(run_id)  # NotFound for an unknown run
            files = self._source_files(conn, store, parsed)
            if parsed.kind == "run" and not files:
                raise InvalidSource("Nothing is logged at that path of the run", reason="empty")
            digest = tree_digest(files)
            version = store.next_version(model_id)
            artifact_id = store.insert_model_artifact(
                name=f"{name}/{version}",
                uri=source,
                digest=digest,
                properties={
                    "registered_model_id": model_id,
                    "version": version,
                    "run_id": run_id,
                    "logged_model_id": logged_model_id,
                    "path": parsed.path,
                    "files": len(files),
                    "size": sum(f.size for f in files),
                },
                now=now,
            )
            if run_id is not None:
                store.insert_output_event(run_id, artifact_id, "model", now)
            version_id = store.insert_version(
                {
                    "model_id": model_id,
                    "version": version,
                    "artifact_id": artifact_id,
                    "source": source,
                    "run_id": run_id,
                    "logged_model_id": logged_model_id,
                    "status": str(state),
                    "status_message": "",
                    "stage": str(Stage.NONE),
                    "description": text,
                    "user_id": actor.name,
                    "created_at": now,
                    "updated_at": now,
                    "run_link": link,
                }
            )
            store.insert_files(version_id, files)
            store.set_version_tags(version_id, checked)
            store.touch_model(model_id, now)
            summary: dict[str, Any] = {
                "name": name,
                "version": version,
                "source": source,
                "run_id": run_id,
                "logged_model_id": logged_model_id,
                "digest": digest,
                "status": str(state),
                "files": [f.to_dict() for f in files[:SUMMARY_FILES]],
                "file_count": len(files),
            }
            if checked:
                summary["tags"] = checked
            self._record(conn, actor, "model_version.create", model_id, summary)
        return ModelVersion(
            name=name,
            version=version,
            creation_timestamp=now,
            last_updated_timestamp=now,
            user_id=actor.name,
            current_stage=Stage.NONE,
            description=text,
            source=source,
            run_id=run_id,
            status=state,
            logged_model_id=logged_model_id,
            digest=digest,
            tags=checked,
            run_link=link,
        )

    def _source_files(
        self, conn: Connection, store: RegistryStore, source: Source
    ) -> list[VersionFile]:
        """What Clew holds of the source: a run's files under its path, a logged model's."""
        if source.kind == "run" and source.run_id is not None:
            return store.owner_files(source.run_id, source.path)
        if source.logged_model_id is None:
            return []
        if self.logged_model_files is None:
            return store.owner_files(source.logged_model_id, "")
        found = self.logged_model_files(conn, source.logged_model_id)
        return [VersionFile(f.path, f.digest or "", f.size or 0) for f in found]

    def get_model_version(self, actor: Actor, name: str, version: int | str) -> ModelVersion:
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.READ, model_resource(name))
        with self.db.read() as conn:
            store = RegistryStore(conn)
            version_id = store.require_version(store.require_model(name), name, number)
            return store.get_version(version_id)

    @retry_conflicts
    def update_model_version(
        self,
        actor: Actor,
        name: str,
        version: int | str,
        description: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        """Set the description, or finish a pending registration (``PENDING_REGISTRATION`` →
        ``READY`` or ``FAILED_REGISTRATION``, with a ``status_message``)."""
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = v.check_description(description)
        if status is not None:
            values["status"] = str(v.check_status(status))
        if status_message is not None:
            if len(status_message) > v.MAX_STATUS_MESSAGE or "\x00" in status_message:
                raise InvalidInput(f"status_message: at most {v.MAX_STATUS_MESSAGE} characters")
            values["status_message"] = status_message
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            version_id = store.require_version(model_id, name, number)
            current = store.get_version(version_id)
            moving = "status" in values and values["status"] != current.status
            if moving and current.status != VersionStatus.PENDING_REGISTRATION:
                raise Conflict("Only a pending registration can change its status")
            if values:
                store.update_version(version_id, now_ms(), **values)
                self._record(
                    conn,
                    actor,
                    "model_version.update",
                    model_id,
                    {"name": name, "version": number, **values, "was": current.status},
                )
            return store.get_version(version_id)

    @retry_conflicts
    def set_model_version_tags(
        self, actor: Actor, name: str, version: int | str, tags: Mapping[str, str]
    ) -> None:
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        checked = v.check_tags(tags)
        if not checked:
            return
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            version_id = store.require_version(model_id, name, number)
            store.set_version_tags(version_id, checked)
            store.touch_version(version_id, now_ms())
            self._record(
                conn,
                actor,
                "model_version.tag.set",
                model_id,
                {"name": name, "version": number, "tags": checked},
            )

    @retry_conflicts
    def delete_model_version_tag(
        self, actor: Actor, name: str, version: int | str, key: str
    ) -> None:
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.EDIT, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            version_id = store.require_version(model_id, name, number)
            if not store.delete_version_tag(version_id, key):
                raise NotFound("The model version has no such tag", name=name, version=number)
            store.touch_version(version_id, now_ms())
            self._record(
                conn,
                actor,
                "model_version.tag.delete",
                model_id,
                {"name": name, "version": number, "key": key},
            )

    @retry_conflicts
    def delete_model_version(self, actor: Actor, name: str, version: int | str) -> None:
        """Delete a version and the aliases naming it (each removal passes the guard).

        Its number is not handed out again, and its node in the metadata graph stays.
        """
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.MANAGE, model_resource(name))
        with self.db.write() as conn:
            store = RegistryStore(conn)
            model_id = store.require_model(name)
            self._lock_model(conn, model_id)
            version_id = store.require_version(model_id, name, number)
            held = store.get_version(version_id).aliases
            for alias in held:
                self.guard.check(
                    conn,
                    actor,
                    Promotion(name, None, number, alias=alias, reason="version_deleted"),
                )
            store.delete_version(version_id)
            store.touch_model(model_id, now_ms())
            self._record(
                conn,
                actor,
                "model_version.delete",
                model_id,
                {"name": name, "version": number, "aliases_removed": list(held)},
            )

    def search_model_versions(
        self,
        actor: Actor,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions across models matching the filter (see ``registry.search``)."""
        readable = readable_scope(self.authz, actor, RESOURCE_TYPE)  # in the query; None: all
        if readable is not None and not readable:
            return Page([], None)
        plan = compile_version_search(
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            only_names=None if readable is None else sorted(readable),
        )
        with self.db.read() as conn:
            store = RegistryStore(conn)
            ids, token = plan.page(store.run_search(plan.statement))
            return Page(store.get_versions(ids), token)

    def list_model_version_files(
        self, actor: Actor, name: str, version: int | str
    ) -> list[VersionFile]:
        """The files the version was registered with (paths relative to its source path)."""
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.READ, model_resource(name))
        with self.db.read() as conn:
            store = RegistryStore(conn)
            version_id = store.require_version(store.require_model(name), name, number)
            return store.version_files(version_id)

    def verify_version(self, actor: Actor, name: str, version: int | str) -> VersionVerification:
        """Re-hash every stored blob of the version; report files whose bytes changed or went.

        Also checks that the recorded file list still adds up to the version's tree digest
        (the digest lineage and audit events quote).
        """
        number = v.check_version(version)
        v.check_model_name(name)
        self.authz.check(actor, Permission.READ, model_resource(name))
        if self.blobs is None:
            raise Conflict("This registry has no blob store to verify against")
        with self.db.read() as conn:
            store = RegistryStore(conn)
            version_id = store.require_version(store.require_model(name), name, number)
            files = store.version_files(version_id)
            recorded = store.get_version(version_id).digest
        mismatched, missing = [], []
        for f in files:
            if not self.blobs.exists(f.digest):
                missing.append(f.path)
            elif self.blobs.size(f.digest) != f.size or not self.blobs.verify(f.digest):
                mismatched.append(f.path)
        return VersionVerification(
            name=name,
            version=number,
            checked=len(files),
            mismatched=tuple(mismatched),
            missing=tuple(missing),
            tree_ok=tree_digest(files) == recorded,
        )


def _producing_run(conn: Connection, logged_model_id: str) -> str | None:
    """The run that logged the model, if any (an unknown model fails later, on its files)."""
    row = LoggedModelStore(conn).row(logged_model_id)
    return None if row is None else row.source_run_id
