"""``clew pipelines submit|jobs|job|cancel|resume|logs``: pipelines the server runs.

Registered onto ``clew pipelines`` (``cli.pipelines.app``). ``submit`` registers the
pipeline's definition as a version and queues it; a worker in ``clew server`` or ``clew
scheduler`` runs it. ``--wait`` follows the job with a live status line until it ends.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, table, when
from clew.cli.pipelines import app, load_pipeline, parse_params
from clew.pipelines.job_records import Job, JobState

ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A parameter as key=value (JSON values parsed)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _show(job: Job, as_json: bool) -> None:
    def human() -> None:
        table(
            f"job {job.id}",
            ["field", "value"],
            [
                ("pipeline", job.pipeline),
                ("version", job.digest[:12]),
                ("state", job.state + (" (cancel asked)" if job.cancel_requested else "")),
                ("params", job.params),
                ("run", job.run_id),
                ("requested by", job.requested_by),
                ("created", when(job.created_at)),
                ("started", when(job.started_at)),
                ("ended", when(job.ended_at)),
                ("message", job.message),
            ],
        )

    emit(as_json, job.to_dict(), human)


def _follow(ctx: typer.Context, job: Job) -> Job:
    with client(ctx) as tracking, console.status(f"{job.pipeline}: {job.state}") as status:
        while job.state not in JobState.TERMINAL:
            time.sleep(0.5)
            job = tracking.get_pipeline_job(job.id)
            steps = tracking.pipeline_job_steps(job.id)
            done = sum(1 for s in steps if s["status"] != "RUNNING")
            status.update(f"{job.pipeline}: {job.state}, {done}/{len(steps)} steps ended")
    return job


def _exit_for(job: Job) -> None:
    if job.state in (JobState.FAILED, JobState.CANCELED):
        raise typer.Exit(1)


@app.command("submit")
def submit_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="MODULE:NAME of a @pipeline (registered, then queued), or the "
            "name of a registered pipeline."
        ),
    ],
    param: ParamOption = None,
    digest: Annotated[
        str | None, typer.Option(help="A registered version (default: the newest).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Reuse no earlier outputs.")] = False,
    executor: Annotated[str, typer.Option("--executor", "-e", help="Where steps run.")] = "threads",
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue a run of a pipeline on the server.

    A @pipeline's definition is registered first and that version runs. The server's worker
    imports the steps, so their modules must be installed there and in CLEW_PIPELINE_MODULES.
    """
    pipeline: Any = load_pipeline(target) if ":" in target else target
    with client(ctx) as tracking:
        job = tracking.submit_pipeline(pipeline, parse_params(param or []), digest=digest,
                                       cache=not no_cache, executor=executor)  # fmt: skip
    if wait:
        job = _follow(ctx, job)
    _show(job, as_json)
    _exit_for(job)


@app.command("jobs")
def jobs_command(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline's jobs.")] = None,
    state: Annotated[
        list[str] | None, typer.Option(help="QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELED.")
    ] = None,
    schedule: Annotated[str | None, typer.Option(help="Only jobs this schedule made.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List pipeline jobs, newest first."""
    with client(ctx) as tracking:
        jobs, _ = tracking.list_pipeline_jobs(pipeline, states=state, schedule=schedule,
                                              limit=limit)  # fmt: skip

    def human() -> None:
        table(
            "pipeline jobs",
            ["id", "pipeline", "state", "created", "run", "message"],
            [(j.id, j.pipeline, j.state, when(j.created_at), j.run_id, j.message) for j in jobs],
            styles={"state": "bold"},
        )

    emit(as_json, [j.to_dict() for j in jobs], human)


@app.command("job")
def job_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    steps: Annotated[bool, typer.Option("--steps", help="Also list its step runs.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one job (and its steps)."""
    with client(ctx) as tracking:
        job = tracking.get_pipeline_job(job_id)
        step_runs = tracking.pipeline_job_steps(job_id) if steps else []
    if as_json:
        emit(True, {**job.to_dict(), **({"steps": step_runs} if steps else {})}, lambda: None)
        return
    _show(job, False)
    if steps:
        table("steps", ["step", "state", "run"],
              [(s["step"], s["state"] or s["status"], s["run_id"]) for s in step_runs])  # fmt: skip


@app.command("cancel")
def cancel_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    as_json: JsonOption = False,
) -> None:
    """Cancel a job: a queued one at once, a running one at its next lease renewal."""
    with client(ctx) as tracking:
        _show(tracking.cancel_pipeline_job(job_id), as_json)


@app.command("resume")
def resume_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="A failed or canceled job's id.")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the new job until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue a job that resumes a failed or canceled one, reusing the steps that finished."""
    with client(ctx) as tracking:
        job = tracking.resume_pipeline_job(job_id)
    if wait:
        job = _follow(ctx, job)
    _show(job, as_json)
    _exit_for(job)


@app.command("logs")
def logs_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    step: Annotated[str, typer.Argument(help="The step run: fit, or fit[2] in a loop.")],
) -> None:
    """Print what a step of a job printed."""
    with client(ctx) as tracking:
        text = tracking.pipeline_job_step_log(job_id, step)
    console.out(text, end="", highlight=False)
