"""``clew promote …`` and ``clew policy …``: protected aliases move by approved requests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, table, when

promote_app = typer.Typer(help="Promotion requests: move a protected alias or stage.",
                          no_args_is_help=True)  # fmt: skip
policy_app = typer.Typer(help="A registered model's policy (YAML, versioned).",
                         no_args_is_help=True)  # fmt: skip
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _show(request: dict[str, Any], as_json: bool) -> None:
    def human() -> None:
        target = f"{request['target_kind']} {request['target']}"
        table(f"promotion {request['id']}: {request['state']}", ["field", "value"], [
            ("model", f"{request['model']} v{request['version']} → {target}"),
            ("requested by", f"{request['requested_by']} at {when(request['created_at'])}"),
            ("justification", request["justification"]),
            ("checks", ", ".join(f"{c['name']} {'ok' if c['ok'] else 'FAILED: ' + c['detail']}"
                                 for c in request["checks"]) or "none"),
            ("approvals", ", ".join(f"{a['approver']} ({a['decision']})"
                                    for a in request["approvals"]) or "none"),
            ("applied", f"by {request['applied_by']} at {when(request['applied_at'])}"
             if request["applied_at"] else ""),
        ])  # fmt: skip

    emit(as_json, request, human)


@promote_app.command("request")
def request_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument()],
    alias: Annotated[str | None, typer.Option(help="The protected alias to move.")] = None,
    stage: Annotated[str | None, typer.Option(help="The protected stage to enter.")] = None,
    justification: Annotated[str, typer.Option("--why", help="Why this version.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Ask to move a protected alias (or stage) to VERSION; the policy's checks run now."""
    with client(ctx) as c:
        _show(c.request_promotion(model, version, alias=alias, stage=stage,
                                  justification=justification), as_json)  # fmt: skip


def _action(name: str, doc: str) -> None:
    def command(
        ctx: typer.Context,
        request_id: Annotated[str, typer.Argument(help="The request's id.")],
        comment: Annotated[str, typer.Option(help="Why (approve, reject).")] = "",
        as_json: JsonOpt = False,
    ) -> None:
        with client(ctx) as c:
            _show(c.transport.promotion(request_id, name, comment), as_json)

    command.__doc__ = doc
    promote_app.command(name)(command)


_action("approve", "Approve a request (not your own; with the policy's role on the model).")
_action("reject", "Reject a request; one rejection ends it.")
_action("cancel", "Withdraw a request (yours, or as a maintainer).")
_action("apply", "Move the alias as approved, re-checking the policy, in one transaction.")
_action("get", "Show a request, its checks' evidence and its approvals.")


@promote_app.command("list")
def list_command(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only this model's.")] = None,
    state: Annotated[str | None, typer.Option(help="PENDING, APPROVED, APPLIED …")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Promotion requests, newest first."""
    with client(ctx) as c:
        found = c.list_promotions(model, state)
    emit(as_json, found, lambda: table("promotion requests",
         ["id", "model", "version", "target", "state", "requested by"],
         [(r["id"], r["model"], r["version"], r["target"], r["state"], r["requested_by"])
          for r in found]))  # fmt: skip


@policy_app.command("set")
def set_policy(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument()],
    file: Annotated[Path, typer.Argument(help="The policy's YAML.")],
) -> None:
    """Give MODEL a new version of its policy."""
    with client(ctx) as c:
        made = c.set_model_policy(model, file.read_text())
    console.print(f"{model}: policy version {made['version']}")


@policy_app.command("show")
def show_policy(
    ctx: typer.Context, model: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    with client(ctx) as c:
        found = c.get_model_policy(model)
    if found is None:
        console.print(f"{model} has no policy: its aliases and stages move freely")
        return
    emit(as_json, found, lambda: console.print(found["document"], markup=False, highlight=False))


def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The registered model.")],
    version: Annotated[int, typer.Argument()],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html and .md.")
    ] = Path("."),
) -> None:
    """Write the version's compliance report (EU AI Act Annex IV headings) as HTML and
    Markdown: model card, data and lineage, code and pipeline, metrics, policy checks with
    their evidence, approvals, the audit trail and the chain verified."""
    out.mkdir(parents=True, exist_ok=True)
    with client(ctx) as c:
        for fmt, suffix in (("html", "html"), ("markdown", "md")):
            target = out / f"{name}-v{version}-report.{suffix}"
            target.write_text(c.compliance_report(name, version, fmt))
            console.print(f"Wrote {target}")
