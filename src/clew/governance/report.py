"""The compliance report of a model version: an evidence pack a reviewer can follow (issue 6,
item 5), as Markdown and as a self-contained HTML page.

Laid out after the technical documentation the EU AI Act asks for (Annex IV): a general
description, the development process (data, lineage, code, pipeline), evaluation metrics,
the risk-management and oversight record (the policy's checks with their evidence, the
approvals and approvers), the change log (the version's audit trail) and the integrity of
that record (the audit chain verified, the files re-hashed). Everything comes from stored
data at the moment the report is made; nothing in it is typed by hand.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

from clew.core.actor import Actor
from clew.core.errors import InvalidInput
from clew.core.ids import now_ms

#: Run tags that name the code a run came from (MLflow's, then Clew's pipeline tags).
_CODE_TAGS = ("mlflow.source.git.commit", "mlflow.source.name", "mlflow.source.git.repoURL",
              "clew.pipeline", "clew.pipeline.digest")  # fmt: skip


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]]
    note: str = ""


def build(platform: Any, actor: Actor, name: str, version: int) -> dict[str, Any]:
    """The report's facts, read through the services (so the caller's permissions apply)."""
    mv = platform.registry.get_model_version(actor, name, version)
    run = platform.tracking.get_run(actor, mv.run_id) if mv.run_id else None
    lineage = platform.lineage.of_run(actor, mv.run_id, direction="upstream") if run else None
    datasets = [n for n in lineage.nodes if n.kind == "artifact" and n.type == "dataset"] \
        if lineage else []  # fmt: skip
    steps = [n for n in lineage.nodes if n.kind == "run"] if lineage else []
    requests = [r for r in platform.promotions.list_requests(actor, name)
                if r.version == version]  # fmt: skip
    events = [e for e in platform.audit.list(actor, resource_id=name, limit=10_000)
              if e.summary.get("version") in (version, str(version))]  # fmt: skip
    return {
        "model": name,
        "version": mv,
        "run": run,
        "datasets": datasets,
        "steps": steps,
        "requests": requests,
        "events": sorted(events, key=lambda e: e.seq),
        "chain": platform.audit.verify(actor),
        "files": platform.registry.verify_version(actor, name, version),
        "made_at": now_ms(),
        "made_by": actor.name,
    }


def sections(facts: dict[str, Any]) -> list[Section]:
    mv, run = facts["version"], facts["run"]
    tags = dict(mv.tags)
    card = {
        k.removeprefix("model_card."): v for k, v in tags.items() if k.startswith("model_card.")
    }
    code = {k: run.data.tags[k] for k in _CODE_TAGS if run and k in run.data.tags}
    out = [
        Section("1. General description of the system", [
            ("Model", f"{facts['model']} version {mv.version}"),
            ("Description", mv.description or "(none recorded)"),
            ("Source", mv.source), ("Content digest (sha256 tree)", mv.digest or "(external)"),
            ("Stage / aliases", f"{mv.current_stage} / {', '.join(mv.aliases) or 'none'}"),
            *((f"Model card: {k}", v) for k, v in sorted(card.items())),
            ("Registered by", f"{mv.user_id} at {_time(mv.creation_timestamp)}"),
        ]),
        Section("2. Development process: data, code and pipeline", [
            ("Training run", f"{run.info.run_name} ({run.info.run_id})" if run else "none"),
            *((f"Data set: {d.name}", f"digest {d.digest}, {d.uri}") for d in facts["datasets"]),
            *((f"Code: {k}", v) for k, v in code.items()),
            ("Pipeline run", tags.get("clew.pipeline.run", "none")),
            ("Upstream runs", ", ".join(f"{s.name} ({s.status})" for s in facts["steps"])
             or "none"),
        ], note="" if facts["datasets"] else "No logged data set reaches this version."),
        Section("3. Evaluation: metrics of the training run", [
            (key, f"{metric.value:g} (step {metric.step})")
            for key, metric in sorted((run.data.metrics if run else {}).items())
        ] or [("Metrics", "none recorded")]),
    ]  # fmt: skip
    oversight: list[tuple[str, str]] = []
    for request in facts["requests"]:
        head = f"request {request.id} ({request.state})"
        oversight.append((head, f"{request.target_kind} {request.target}, asked by "
                          f"{request.requested_by}: {request.justification}"))  # fmt: skip
        for check in request.applied_checks or request.checks:
            oversight.append(
                (
                    f"  check {check['name']}",
                    f"{'passed' if check['ok'] else 'FAILED'}: {check['detail']}",
                )
            )
        for decision in request.approvals:
            oversight.append((f"  {decision['decision']}", f"{decision['approver']} "
                              f"({decision['role']}) at {_time(decision['at'])}: "
                              f"{decision['comment']}"))  # fmt: skip
    out.append(
        Section(
            "4. Risk management and human oversight: policy checks and approvals",
            oversight or [("Promotion requests", "none for this version")],
        )
    )
    out.append(Section("5. Change log: the version's audit trail", [
        (f"#{e.seq} {_time(e.time)}", f"{e.action} by {e.actor}") for e in facts["events"]
    ] or [("Events", "none")]))  # fmt: skip
    chain, files = facts["chain"], facts["files"]
    out.append(Section("6. Integrity of this record", [
        ("Audit chain", f"intact, {chain.checked} events verified" if chain.ok
         else f"BROKEN at event {chain.broken_seq}: {chain.reason}"),
        ("Model files", f"{files.checked} re-hashed, all match" if files.ok
         else f"changed {list(files.mismatched)}, missing {list(files.missing)}"),
        ("Report made", f"by {facts['made_by']} at {_time(facts['made_at'])}"),
    ]))  # fmt: skip
    return out


def markdown(facts: dict[str, Any]) -> str:
    lines = [f"# Compliance report: {facts['model']} version {facts['version'].version}", ""]
    for section in sections(facts):
        lines += [f"## {section.title}", "", "| item | record |", "|---|---|"]
        lines += [f"| {_md(k)} | {_md(v)} |" for k, v in section.rows]
        if section.note:
            lines += ["", f"> {section.note}"]
        lines.append("")
    return "\n".join(lines)


def to_html(facts: dict[str, Any]) -> str:
    """One self-contained page; every value is escaped (names, tags and comments are input)."""
    title = html.escape(f"Compliance report: {facts['model']} version {facts['version'].version}")
    body = [f"<h1>{title}</h1>"]
    for section in sections(facts):
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in section.rows)  # fmt: skip
        note = f"<p class=note>{html.escape(section.note)}</p>" if section.note else ""
        body.append(f"<h2>{html.escape(section.title)}</h2><table>{rows}</table>{note}")
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}"
             "table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;"
             "padding:.3rem .5rem;text-align:left;vertical-align:top}th{width:30%}"
             ".note{color:#a40}")  # fmt: skip
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")  # fmt: skip


def render(platform: Any, actor: Actor, name: str, version: int, fmt: str) -> str:
    """The report as ``markdown`` or ``html``."""
    if fmt not in ("markdown", "html"):
        raise InvalidInput("format is markdown or html")
    facts = build(platform, actor, name, version)
    return markdown(facts) if fmt == "markdown" else to_html(facts)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
