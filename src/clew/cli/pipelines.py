"""``clew pipelines``: run a pipeline from a file or module, with live progress."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from clew.cli.context import client
from clew.cli.output import console, emit, table
from clew.core.errors import InvalidInput

if TYPE_CHECKING:  # the engine loads only when a pipeline runs
    from clew.pipelines.engine import Listener
    from clew.pipelines.graph import PipelineSpec
    from clew.pipelines.state import PipelineRunResult, StepRun

app = typer.Typer(help="Run pipelines here, or submit them to the server.", no_args_is_help=True)


def load_pipeline(target: str) -> Any:
    """``path/to/file.py:name`` or ``package.module:name`` → the ``@pipeline`` object."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise InvalidInput("Name the pipeline as FILE.py:NAME or MODULE:NAME")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise InvalidInput(f"No such file: {where}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # steps import back by reference
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    found = getattr(module, name, None)
    if found is None or not hasattr(found, "spec"):
        raise InvalidInput(f"{target} is not a @pipeline")
    return found


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value that parses as JSON is taken as JSON (``n=5`` is 5)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"Parameters are key=value, not {pair!r}")
        try:
            params[key] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            params[key] = raw
    return params


@contextmanager
def live_progress(spec: PipelineSpec, *, disable: bool = False) -> Iterator[Listener]:
    """A progress bar over a pipeline run's steps while the block runs (gone when it ends);
    yields the engine listener that moves it: each step's latest state, settled steps counted
    (a loop's iterations add to the total as they appear)."""
    settled: set[str] = set()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True, disable=disable) as progress:
        bar = progress.add_task(f"pipeline {spec.name}", total=len(spec.tasks))

        def changed(step_run: StepRun) -> None:
            if step_run.state.is_terminal and step_run.key not in settled:
                settled.add(step_run.key)
                total = max(progress.tasks[bar].total or 0, len(settled))
                progress.update(bar, completed=len(settled), total=total,
                                description=f"{step_run.key}: {step_run.state.value}")  # fmt: skip
            elif not step_run.state.is_terminal:
                progress.update(bar, description=f"{step_run.key}: {step_run.state.value}")

        yield changed


def steps_table(result: PipelineRunResult) -> None:
    """Each step run's state, attempts and reason, under the pipeline run's state."""
    table(
        f"{result.pipeline}: {result.state.value}",
        ["step", "state", "attempts", "reason"],
        [(k, r.state.value, r.attempts, r.reason) for k, r in result.steps.items()],
        styles={"state": "bold"},
    )


@app.command("run")
def run_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="FILE.py:NAME or MODULE:NAME of a @pipeline.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as key=value (JSON values parsed)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step, reusing no earlier outputs.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="A failed run (its run id) to resume: its steps that succeeded are reused.",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            "-e",
            help="Where steps run: threads (default), processes or ray (or a plugin's name).",
        ),
    ] = "threads",
    no_pickle: Annotated[
        bool, typer.Option("--no-pickle", help="Fail a step whose output only pickle can store.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run a pipeline to the end, tracking every step; exit status 1 if it did not succeed."""
    from clew.pipelines import run
    from clew.pipelines.state import PipelineState

    pipeline = load_pipeline(target)
    params = parse_params(param or [])
    with live_progress(pipeline.spec, disable=as_json) as changed, client(ctx) as tracking:
        result = run(
            pipeline,
            params,
            client=tracking,
            cache=not no_cache,
            resume_from=resume,
            executor=executor,
            allow_pickle=not no_pickle,
            listener=changed,
        )
    data = {
        "pipeline": result.pipeline,
        "state": result.state.value,
        "reason": result.reason,
        "params": result.params,
        "steps": {
            key: {"state": r.state.value, "attempts": r.attempts, "reason": r.reason}
            for key, r in result.steps.items()
        },
    }

    emit(as_json, data, lambda: steps_table(result))
    if result.state is not PipelineState.SUCCEEDED:
        raise typer.Exit(1)
