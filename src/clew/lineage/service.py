"""Lineage walks: from a run or an artifact, what it came from (upstream) and what came of it
(downstream).

One walk covers every kind of node the graph holds, since they all hang off runs by INPUT and
OUTPUT events: datasets a run read, models and model versions it wrote, and the outputs pipeline
steps pass each other. Upstream goes run → what it read → the runs that wrote that → …;
downstream goes run → what it wrote → the runs that read that → …. Each hop from a run to
the next run is one level of ``depth``; the walk stops at ``max_nodes`` and says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission, Resource, allows
from clew.core.db import Database
from clew.core.errors import InvalidInput, NotFound
from clew.core.ids import check_run_id
from clew.lineage.model import LineageEdge, LineageGraph, LineageNode, node_key
from clew.lineage.store import LineageStore

DIRECTIONS: Final = ("upstream", "downstream", "both")
#: A whole sha256, or a prefix of at least 12 hex digits (what the trees print).
_DIGEST: Final = re.compile(r"[0-9a-f]{12,64}")
MAX_DEPTH: Final = 50
MAX_NODES: Final = 10_000


class LineageService:
    def __init__(self, db: Database, authz: Authorizer) -> None:
        self.db = db
        self.authz = authz

    def of_run(
        self,
        actor: Actor,
        run_id: str,
        *,
        direction: str = "both",
        depth: int = 10,
        max_nodes: int = 2000,
    ) -> LineageGraph:
        check_run_id(run_id)
        _check_walk(direction, depth, max_nodes)
        self.authz.check(actor, Permission.READ, Resource("run", run_id))
        with self.db.read(snapshot=True) as conn:
            walk = _Walk(LineageStore(conn), max_nodes, lambda r: self._readable(actor, r))
            if not walk.add_runs([run_id]):
                raise NotFound("No such run", run_id=run_id)
            for up in (True, False):
                if direction in ("both", "upstream" if up else "downstream"):
                    walk.go([run_id], up=up, depth=depth)
        return walk.graph(node_key("run", run_id))

    def of_artifact(
        self,
        actor: Actor,
        ref: str,
        *,
        direction: str = "both",
        depth: int = 10,
        max_nodes: int = 2000,
    ) -> LineageGraph:
        """The same walk from an artifact: ``sha256:<digest>`` (every node with those bytes:
        a data set, a step output, a model; 12 or more leading digits do) or a node's URI (``runs:/RUN/outputs/NAME``, a data
        set's source). Upstream are the runs that wrote it and what they came from; downstream
        the runs that read it and what came of them."""
        _check_walk(direction, depth, max_nodes)
        digest = ref[len("sha256:") :] if ref.startswith("sha256:") else None
        if digest is not None and not _DIGEST.fullmatch(digest):
            raise InvalidInput(
                "An artifact digest is sha256: and 12 to 64 lowercase hex characters"
            )
        if not ref or len(ref) > 4096:
            raise InvalidInput("Name an artifact by sha256:<digest> or by its URI")
        with self.db.read(snapshot=True) as conn:
            store = LineageStore(conn)
            found = store.node_ids(digest=digest) if digest else store.node_ids(uri=ref)
            if not found:
                raise NotFound("No artifact in the graph has this digest or URI", artifact=ref)
            digests = {row.digest for row in store.nodes(found)}
            if digest is not None and len(digests) > 1:
                raise InvalidInput(
                    f"sha256:{digest} is the start of {len(digests)} digests; give more of it"
                )
            walk = _Walk(store, max_nodes, lambda r: self._readable(actor, r))
            walk.add_artifacts(found[:max_nodes])
            for up in (True, False):
                if direction in ("both", "upstream" if up else "downstream"):
                    walk.from_nodes(found, up=up, depth=depth)
        return walk.graph(node_key("artifact", str(found[0])))

    def _readable(self, actor: Actor, run_id: str) -> bool:
        return allows(self.authz, actor, Permission.READ, Resource("run", run_id))


def upstream_of_run(store: LineageStore, run_id: str) -> LineageGraph:
    """Everything upstream of ``run_id``, as deep as it goes, up to ``MAX_NODES`` nodes, with
    no caller's permissions applied: for Clew's own checks inside a transaction (a policy's
    lineage check), not for showing to someone."""
    walk = _Walk(store, MAX_NODES, lambda _: True)
    if walk.add_runs([run_id]):
        walk.go([run_id], up=True, depth=MAX_NODES)  # bounded by the nodes, not the hops
    return walk.graph(node_key("run", run_id))


def _check_walk(direction: str, depth: int, max_nodes: int) -> None:
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}")
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be between 1 and {MAX_DEPTH}")
    if not 1 <= max_nodes <= MAX_NODES:
        raise InvalidInput(f"max_nodes must be between 1 and {MAX_NODES}")


class _Walk:
    def __init__(
        self, store: LineageStore, max_nodes: int, readable: Callable[[str], bool]
    ) -> None:
        self.store = store
        self.max_nodes = max_nodes
        self.readable = readable
        self.nodes: dict[str, LineageNode] = {}
        self.edges: dict[tuple[str, str, str, str], LineageEdge] = {}
        self.truncated = False

    def _room(self) -> bool:
        if len(self.nodes) >= self.max_nodes:
            self.truncated = True
            return False
        return True

    def add_runs(self, run_ids: list[str]) -> list[str]:
        added = []
        for row in self.store.runs(run_ids):
            key = node_key("run", row.id)
            if key in self.nodes:
                continue
            if not self.readable(str(row.id)) or not self._room():
                continue
            self.nodes[key] = LineageNode("run", row.id, "run", row.name, status=row.status)
            added.append(str(row.id))
        return added

    def add_artifacts(self, node_ids: list[int]) -> list[int]:
        added = []
        for row in self.store.nodes(node_ids):
            key = node_key("artifact", str(row.id))
            if key in self.nodes or not self._room():
                continue
            self.nodes[key] = LineageNode(
                "artifact", str(row.id), row.type, row.name, row.digest, row.uri
            )
            added.append(int(row.id))
        return added

    def _edge(self, run_id: str, node_id: int, type_: str, name: str) -> None:
        edge = LineageEdge(run_id, str(node_id), type_, name)
        self.edges[(edge.run, edge.artifact, edge.type, edge.name)] = edge

    def from_nodes(self, node_ids: list[int], *, up: bool, depth: int) -> None:
        """From nodes to the runs that wrote them (``up``) or read them, then on from those."""
        here = [n for n in node_ids if node_key("artifact", str(n)) in self.nodes]
        toward = "OUTPUT" if up else "INPUT"
        events = [e for e in self.store.events_of_nodes(here) if e.type == toward]
        runs = self.add_runs(sorted({str(e.execution_id) for e in events}))
        for e in events:
            if node_key("run", e.execution_id) in self.nodes:
                self._edge(e.execution_id, e.artifact_id, e.type, e.name)
        if depth > 1:
            self.go(runs, up=up, depth=depth - 1)

    def go(self, start: list[str], *, up: bool, depth: int) -> None:
        """From runs, across what they read (``up``) or wrote, to the runs on the other side."""
        toward, back = ("INPUT", "OUTPUT") if up else ("OUTPUT", "INPUT")
        frontier = start
        for _ in range(depth):
            if not frontier:
                return
            events = [e for e in self.store.events_of_runs(frontier) if e.type == toward]
            node_ids = sorted({int(e.artifact_id) for e in events})
            self.add_artifacts(node_ids)
            for e in events:
                if node_key("artifact", str(e.artifact_id)) in self.nodes:
                    self._edge(e.execution_id, e.artifact_id, e.type, e.name)
            known = [n for n in node_ids if node_key("artifact", str(n)) in self.nodes]
            across = [e for e in self.store.events_of_nodes(known) if e.type == back]
            fresh = self.add_runs(sorted({str(e.execution_id) for e in across}))
            for e in across:
                if node_key("run", e.execution_id) in self.nodes:
                    self._edge(e.execution_id, e.artifact_id, e.type, e.name)
            frontier = fresh

    def graph(self, start: str) -> LineageGraph:
        return LineageGraph(start, list(self.nodes.values()), list(self.edges.values()),
                            self.truncated)  # fmt: skip
