"""What every step of one import shares: the platform, the source, who acts, the summary, and
the copy of an owner's files (a run's or a logged model's).

Keys. Clew keeps MLflow's identifier shapes, so the importer keeps MLflow's identities where
they are global: a run keeps its 32-hex id and a LoggedModel its ``m-…`` id (the services take
them through the importer-only ``run_id=`` / ``model_id=`` keywords), which makes a second
import find them by a primary-key read and keeps ``runs:/<id>/…`` and ``models:/m-…`` URIs in
users' code working. Experiment ids are small integers in both systems and would collide with
Clew's own, so experiments are keyed by name (merged into a Clew experiment of the same
name), and registered models by name too. A model version's number cannot be kept when a
model is merged, so a version carries the reserved tag ``clew.import.source`` whose value
names its MLflow identity (``<model>/<version>@<run or model id>``); it is written in the
version's creating transaction, so a version exists exactly when its key does.

Resuming. An object is finished when it carries ``clew.import.source`` (runs, logged models)
or exists under its key (versions): the marker is the last write of a copy. Every earlier
write is idempotent (exact metric repeats are ignored, equal params are accepted, tags and
dataset inputs are upserts, a file present with the same size is not sent again), so an
import killed half-way through a run simply copies that run again and converges on the
same end state as an uninterrupted one. Deletions (runs, logged models, experiments deleted
in MLflow and included with ``include_deleted``) come after everything of their experiment,
because Clew refuses writes to deleted owners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from clew.artifacts.service import ArtifactService
from clew.core.actor import Actor
from clew.core.errors import ClewError, NotFound
from clew.importers.mlflow.source import ArtifactsUnreachable, MlflowSource
from clew.importers.summary import ALREADY, Summary
from clew.platform import Platform

#: The reserved tag naming where an object came from; its presence marks a finished copy.
MARK = "clew.import.source"

Checkpoint = Callable[[str], None]


@dataclass
class Job:
    platform: Platform
    source: MlflowSource
    actor: Actor
    summary: Summary
    include_deleted: bool = False
    #: Called at each step boundary ("run.created", "run.metrics", …): tests interrupt here.
    checkpoint: Checkpoint | None = None
    #: MLflow run id → whether it exists in Clew (filled as runs are copied).
    runs_here: set[str] = field(default_factory=set)
    logged_models_here: set[str] = field(default_factory=set)

    def at(self, step: str) -> None:
        if self.checkpoint is not None:
            self.checkpoint(step)

    def copy_files(self, artifact_uri: str, owner_id: str, service: ArtifactService) -> None:
        """Stream every file under the owner's MLflow root into Clew's content-addressed store;
        a file already there with the same size is not sent again."""
        summary = self.summary
        try:
            wanted = list(self.source.files(artifact_uri))
        except ArtifactsUnreachable as exc:
            summary.skip("artifacts", f"unreachable root ({exc})")
            return
        have = self._clew_files(service, owner_id) if wanted else {}
        for f in wanted:
            size = have.get(f.path)
            if size is not None and (f.size is None or size == f.size):
                summary.skip("artifacts", ALREADY)
                continue
            try:
                with self.source.open(artifact_uri, f.path) as stream:
                    service.log_stream(self.actor, owner_id, f.path, stream)
            except (FileNotFoundError, ArtifactsUnreachable):
                summary.skip("artifacts", "missing in the source's artifact store")
                continue
            except ClewError as exc:
                summary.skip("artifacts", f"refused by Clew: {exc.code}")
                continue
            summary.copy("artifacts")
            self.at("artifact")

    def _clew_files(self, service: ArtifactService, owner_id: str) -> dict[str, int]:
        """Every file Clew holds for the owner: path → size (a recursive walk of ``list``)."""
        out: dict[str, int] = {}
        pending = [""]
        while pending:
            try:
                entries = service.list(self.actor, owner_id, pending.pop())
            except NotFound:
                return out
            for e in entries:
                if e.is_dir:
                    pending.append(e.path)
                else:
                    out[e.path] = int(e.size or 0)
        return out
