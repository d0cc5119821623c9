"""``clew schedule …`` (cron and interval schedules of registered pipelines) and ``clew
scheduler`` (a worker on its own: fires schedules and runs jobs, beside or instead of the one
in ``clew server``)."""

from __future__ import annotations

import re
import signal
import threading
from typing import Annotated, Any

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, table, when_utc
from clew.cli.pipelines import load_pipeline, parse_params
from clew.cli.store_options import (
    ArtifactRootOption,
    DatabaseUrlOption,
    HomeOption,
    store_overrides,
)
from clew.core.errors import InvalidInput
from clew.pipelines.job_records import Schedule

app = typer.Typer(help="Run registered pipelines on a schedule.", no_args_is_help=True)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d`` → seconds."""
    found = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not found:
        raise InvalidInput(f"--every takes a number of seconds or 15m, 2h, 1d; not {text!r}")
    return int(found.group(1)) * _UNITS[found.group(2) or "s"]


def _rows(schedules: list[Schedule]) -> list[tuple[Any, ...]]:
    return [
        (
            s.name,
            s.pipeline,
            s.cron or f"every {s.interval_s}s",
            "yes" if s.enabled else "paused",
            when_utc(s.next_fire_at) if s.enabled else "",
            when_utc(s.last_fire_at),
        )
        for s in schedules
    ]


def _show(schedules: list[Schedule], as_json: bool, title: str = "schedules") -> None:
    columns = ["name", "pipeline", "when (UTC)", "enabled", "next", "last"]
    emit(as_json, [s.to_dict() for s in schedules],
         lambda: table(title, columns, _rows(schedules)))  # fmt: skip


@app.command("create")
def create_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    target: Annotated[
        str,
        typer.Argument(
            help="MODULE:NAME of a @pipeline (its definition is registered and "
            "pinned), or a registered pipeline's name (its newest version then)."
        ),
    ],
    cron: Annotated[
        str | None, typer.Option(help='Five-field cron in UTC, e.g. "0 3 * * *" or @hourly.')
    ] = None,
    every: Annotated[str | None, typer.Option(help="An interval: 90s, 15m, 2h, 1d.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter as key=value.")
    ] = None,
    catchup: Annotated[
        bool, typer.Option(help="After downtime, run every missed time (else only the latest).")
    ] = False,
    max_concurrency: Annotated[
        int, typer.Option(help="Skip a firing while this many of its jobs are active.")
    ] = 1,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Reuse no earlier outputs.")] = False,
    executor: Annotated[str, typer.Option("--executor", "-e", help="Where steps run.")] = "threads",
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a schedule: a job of the pipeline at every cron time or interval."""
    with client(ctx) as tracking:
        digest = None
        pipeline = target
        if ":" in target:
            version = tracking.register_pipeline(load_pipeline(target))
            pipeline, digest = version.pipeline, version.digest
        made = tracking.create_pipeline_schedule(
            name,
            pipeline,
            cron=cron,
            interval_s=None if every is None else parse_every(every),
            params=parse_params(param or []),
            digest=digest,
            catchup=catchup,
            max_concurrency=max_concurrency,
            cache=not no_cache,
            executor=executor,
            enabled=not paused,
        )
    _show([made], as_json, f"schedule {name}")


@app.command("list")
def list_command(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline's schedules.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List schedules with their next and last fire times."""
    with client(ctx) as tracking:
        _show(tracking.list_pipeline_schedules(pipeline), as_json)


@app.command("pause")
def pause_command(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Stop a schedule from firing (its queued and running jobs go on)."""
    with client(ctx) as tracking:
        _show([tracking.set_pipeline_schedule_enabled(name, False)], False, f"schedule {name}")


@app.command("resume")
def resume_command(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Fire a paused schedule again, from the next time after now."""
    with client(ctx) as tracking:
        _show([tracking.set_pipeline_schedule_enabled(name, True)], False, f"schedule {name}")


@app.command("delete")
def delete_command(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Delete a schedule; the jobs it made stay."""
    with client(ctx) as tracking:
        tracking.delete_pipeline_schedule(name)
    console.print(f"Deleted schedule {name}")


def scheduler(
    modules: Annotated[
        str | None,
        typer.Option(help="CLEW_PIPELINE_MODULES: module prefixes whose steps may run here."),
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    home: HomeOption = None,
    database_url: DatabaseUrlOption = None,
    artifact_root: ArtifactRootOption = None,
) -> None:
    """Fire due schedules and run queued pipeline jobs on this store until interrupted.

    Run as many as you like against one database (and beside clew server's own worker): each
    job runs once and each schedule fires once per time.
    """
    from clew.core.settings import Settings
    from clew.pipelines.worker import PipelineWorker
    from clew.platform import Platform

    overrides = store_overrides(home, database_url, artifact_root)
    if modules is not None:
        overrides["pipeline_modules"] = modules
    if jobs is not None:
        overrides["pipeline_worker_jobs"] = jobs
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if not settings.allowed_step_modules():
        raise InvalidInput(
            "Set --modules or CLEW_PIPELINE_MODULES: the modules whose steps run here"
        )
    platform = Platform.open(settings)
    worker = PipelineWorker(platform)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    console.print(f"Scheduler {worker.name} running jobs of {settings.pipeline_modules}")
    try:
        stop.wait()
    finally:
        console.print("Stopping: canceling what runs here (Finally steps still run)")
        worker.stop()
        platform.close()
