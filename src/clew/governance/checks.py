"""A policy's checks on one model version, with the evidence each one read.

Run when a promotion request is made and again when it is applied, inside the caller's
transaction, from stored data only: the version's run's latest metrics, its tags, the data
sets upstream of its run (INPUT events of ``dataset`` nodes, walked back through the runs that
made what it read), and its files' bytes re-hashed against
their recorded digests. The result is frozen into the request as JSON, so a reviewer later
sees what was checked and against what, not just that it passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from clew.core import schema
from clew.governance.policy import Policy
from clew.lineage.service import upstream_of_run
from clew.lineage.store import LineageStore
from clew.registry.store import RegistryStore


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail,
                "evidence": self.evidence}  # fmt: skip


def run_checks(conn: Connection, blobs: Any, policy: Policy, version_id: int) -> list[CheckResult]:
    """Every check the policy asks for, on the version (approvals are counted elsewhere)."""
    store = RegistryStore(conn)
    version = store.get_version(version_id)
    results: list[CheckResult] = []
    if policy.metrics:
        results.append(_metrics(conn, policy, version.run_id))
    if policy.tags:
        missing = [t for t in policy.tags if not version.tags.get(t)]
        results.append(CheckResult(
            "tags", not missing,
            "every required tag is set" if not missing else f"missing tags {missing}",
            {t: version.tags.get(t, "") for t in policy.tags},
        ))  # fmt: skip
    if policy.datasets:
        found, walked = upstream_datasets(conn, version.run_id)
        results.append(CheckResult(
            "lineage", bool(found),
            f"{len(found)} data set(s) upstream of the version's run ({walked} run(s) walked)"
            if found else f"no logged data set upstream of the version's run ({walked} run(s) walked)",
            {"datasets": found, "runs_walked": walked},
        ))  # fmt: skip
    if policy.digests:
        results.append(_digests(store, blobs, version_id))
    return results


def _metrics(conn: Connection, policy: Policy, run_id: str | None) -> CheckResult:
    if run_id is None:
        return CheckResult("metrics", False, "the version has no run to read metrics from")
    latest = schema.latest_metrics
    rows = conn.execute(
        select(latest.c.key, latest.c.value).where(
            latest.c.execution_id == run_id, latest.c.key.in_(list(policy.metrics))
        )
    )
    values = {key: float(value) for key, value in rows}
    failing = []
    for key, threshold in sorted(policy.metrics.items()):
        value = values.get(key)
        if value is None or math.isnan(value) or not threshold.holds(value):
            failing.append(f"{key} = {value} (needs {threshold})")
    detail = "every metric meets its threshold" if not failing else "; ".join(failing)
    return CheckResult("metrics", not failing, detail, {"run_id": run_id, "values": values})


def upstream_datasets(conn: Connection, run_id: str | None) -> tuple[list[dict[str, str]], int]:
    """The logged data sets upstream of ``run_id`` (read by it, or by a run that made an
    artifact it read, and so on: a model registered by a pipeline step traces back to the
    data its first step read), each with the run that read it; and how many runs were walked.
    The walk is the lineage explorer's (``lineage.service.upstream_of_run``)."""
    if run_id is None:
        return [], 0
    graph = upstream_of_run(LineageStore(conn), run_id)
    datasets = {n.id: n for n in graph.nodes if n.kind == "artifact" and n.type == "dataset"}
    found: dict[int, dict[str, str]] = {}
    for edge in graph.edges:
        node = datasets.get(edge.artifact)
        if node is not None and edge.type == "INPUT" and int(node.id) not in found:
            found[int(node.id)] = {"id": node.id, "name": node.name, "digest": node.digest,
                                   "read_by": edge.run}  # fmt: skip
    walked = sum(1 for n in graph.nodes if n.kind == "run")
    return [found[k] for k in sorted(found)], walked


def _digests(store: RegistryStore, blobs: Any, version_id: int) -> CheckResult:
    files = store.version_files(version_id)
    if blobs is None:
        return CheckResult("digests", False, "no blob store to verify the files against")
    bad = [
        f.path
        for f in files
        if not blobs.exists(f.digest) or blobs.size(f.digest) != f.size
        or not blobs.verify(f.digest)
    ]  # fmt: skip
    detail = f"{len(files)} file(s) match their digests" if not bad else f"changed: {bad}"
    return CheckResult("digests", not bad, detail, {f.path: f.digest for f in files})
