"""``make demo``: a training pipeline run twice, then the server to look at it.

The pipeline below is the whole of the training: load scikit-learn's breast-cancer data set (it
ships with scikit-learn, so nothing is downloaded), validate it, split it, train a random
forest per point of a small grid (fanned out, two at a time), pick and evaluate the best, gate
it on fixed thresholds (and on the current ``champion``, if there is one) and register it with
the alias ``challenger``. Every step is a tracked run with its inputs, metrics and outputs, and
the registered version links back through them to the data.

The demo runs it twice. The second run changes nothing, so every step is CACHED (its outputs
are those of the first run) except the gate, which always runs: the champion may have moved.
A cached registration is the version registered the first time, not an identical second one.
Then it loads ``models:/breast-cancer-forest@challenger``, scores a few rows and starts
``clew server``.

Run: ``python -m clew.demo [--no-serve] [--port 5000]``; the pipeline alone:
``clew pipelines run clew.demo:training -p folds=5``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

import clew
from clew.cli.output import console, table
from clew.cli.pipelines import live_progress, steps_table
from clew.client.client import Client
from clew.pipelines import (
    ParallelFor,
    PipelineRunResult,
    PipelineState,
    StepState,
    collect,
    pipeline,
    run,
    step,
)
from clew.pipelines.gates import quality_gate, register_model

MODEL_NAME = "breast-cancer-forest"
ALIAS = "challenger"
TARGET = "target"
GRID = [
    {"n_estimators": trees, "max_depth": depth, "max_features": share}
    for trees in (50, 100)
    for depth in (3, 6, None)
    for share in ("sqrt", 0.5)
]
#: What the best model must reach on the held-out rows to be registered.
THRESHOLDS = {"test_accuracy": ">= 0.9", "test_roc_auc": ">= 0.95"}


class Split(NamedTuple):
    train: pd.DataFrame
    test: pd.DataFrame


class Candidate(NamedTuple):
    model: RandomForestClassifier
    cv_accuracy: float


class Evaluation(NamedTuple):
    model: RandomForestClassifier
    metrics: dict[str, float]
    leaderboard: list[dict[str, Any]]


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=TARGET)


@step
def load() -> pd.DataFrame:
    """The breast-cancer data set: 569 rows, 30 numeric features, a 0/1 target."""
    frame = load_breast_cancer(as_frame=True).frame
    dataset = clew.data.from_pandas(
        frame, source="sklearn.datasets.load_breast_cancer", name="breast-cancer", targets=TARGET
    )
    clew.log_input(dataset, context="training")  # the data set, upstream in the lineage
    return frame


@step
def validate(frame: pd.DataFrame, min_class_share: float = 0.2) -> pd.DataFrame:
    """The frame, if its schema, nulls and class balance are fit to train on; else a
    ValueError that lists every problem."""
    problems = []
    if TARGET not in frame.columns:
        problems.append(f"no {TARGET!r} column")
    not_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if not_numeric:
        problems.append(f"columns that are not numeric: {not_numeric}")
    nulls = {c: int(n) for c, n in frame.isna().sum().items() if n}
    if nulls:
        problems.append(f"nulls (per column): {nulls}")
    if not problems:
        shares = frame[TARGET].value_counts(normalize=True)
        if set(shares.index) != {0, 1}:
            problems.append(f"{TARGET!r} must be 0 or 1, has {sorted(shares.index)}")
        elif shares.min() < min_class_share:
            problems.append(
                f"a class is {shares.min():.0%} of the rows, under {min_class_share:.0%}"
            )
    if problems:
        raise ValueError("the data set is not fit to train on: " + "; ".join(problems))
    clew.log_metrics(
        {"rows": len(frame), "features": frame.shape[1] - 1, "positive_share": frame[TARGET].mean()}
    )
    return frame


@step
def split(frame: pd.DataFrame, test_size: float = 0.25, seed: int = 7) -> Split:
    """Held-out rows for the evaluation, stratified so both parts keep the class balance."""
    train, test = train_test_split(
        frame, test_size=test_size, stratify=frame[TARGET], random_state=seed
    )
    clew.log_metrics({"train_rows": len(train), "test_rows": len(test)})
    return Split(train, test)


@step
def train(data: pd.DataFrame, params: dict[str, Any], folds: int = 3) -> Candidate:
    """A forest with ``params``: its cross-validated accuracy, then the model fit on all rows."""
    x, y = features(data), data[TARGET]
    clew.log_params(params)
    accuracies = []
    splits = StratifiedKFold(folds, shuffle=True, random_state=7).split(x, y)
    for fold, (fit_rows, check_rows) in enumerate(splits):
        model = RandomForestClassifier(random_state=fold, n_jobs=1, **params)
        model.fit(x.iloc[fit_rows], y.iloc[fit_rows])
        proba = model.predict_proba(x.iloc[check_rows])[:, 1]
        truth = y.iloc[check_rows]
        accuracies.append(accuracy_score(truth, proba >= 0.5))
        fold_metrics = {
            "fold_accuracy": accuracies[-1],
            "fold_roc_auc": roc_auc_score(truth, proba),
        }
        clew.log_metrics(fold_metrics, step=fold)
    cv_accuracy = sum(accuracies) / len(accuracies)
    clew.log_metric("cv_accuracy", cv_accuracy)
    return Candidate(
        RandomForestClassifier(random_state=0, n_jobs=1, **params).fit(x, y), cv_accuracy
    )


@step
def evaluate(
    models: list[RandomForestClassifier],
    scores: list[float],
    grid: list[dict[str, Any]],
    test: pd.DataFrame,
) -> Evaluation:
    """The model with the best cross-validated accuracy, scored on the held-out rows."""
    ranked = sorted(range(len(models)), key=lambda i: scores[i], reverse=True)
    best = models[ranked[0]]
    proba = best.predict_proba(features(test))[:, 1]
    truth = test[TARGET]
    metrics = {
        "cv_accuracy": scores[ranked[0]],
        "test_accuracy": float(accuracy_score(truth, proba >= 0.5)),
        "test_f1": float(f1_score(truth, proba >= 0.5)),
        "test_roc_auc": float(roc_auc_score(truth, proba)),
    }
    clew.log_metrics(metrics)
    clew.log_params({f"best_{key}": value for key, value in grid[ranked[0]].items()})
    leaderboard = [{**grid[i], "cv_accuracy": scores[i]} for i in ranked]
    return Evaluation(best, metrics, leaderboard)


@pipeline(name=MODEL_NAME)  # the pipeline, its experiment and the registered model share a name
def training(grid: list[dict[str, Any]] = GRID, folds: int = 3) -> int:
    """Train a random forest per grid point on the breast-cancer data set and register the
    best as ``challenger`` if it clears the bar; returns the registered version."""
    parts = split(validate(load()))
    with ParallelFor(grid, parallelism=2) as params:
        candidate = train(parts.train, params, folds)
    best = evaluate(collect(candidate.model), collect(candidate.cv_accuracy), grid, parts.test)
    checked = quality_gate(
        best.metrics, thresholds=THRESHOLDS, model_name=MODEL_NAME, against="champion"
    )
    return register_model(best.model, checked, name=MODEL_NAME, alias=ALIAS)


# ---- the demo around it ----------------------------------------------------------------------


def run_twice(
    params: Mapping[str, Any] | None = None, client: Client | None = None
) -> list[PipelineRunResult]:
    """Run ``training`` twice with live step progress; the second run finds every step but
    the gate in the cache. Exits with the reason if a run does not succeed."""
    results = []
    for label in ("First run", "Second run, nothing changed"):
        started = time.perf_counter()
        with live_progress(training.spec) as listener:
            result = run(training, params, client=client, listener=listener)
        if result.state is not PipelineState.SUCCEEDED:
            steps_table(result)
            raise SystemExit(f"{label}: the pipeline run {result.state.value}: {result.reason}")
        cached = sum(r.state is StepState.CACHED for r in result.steps.values())
        console.print(
            f"{label}: {result.state.value} in {time.perf_counter() - started:.1f} s, "
            f"{cached} of {len(result.steps)} steps cached"
        )
        results.append(result)
    return results


def _summary(result: PipelineRunResult, task: str) -> str:
    """One cell for a task's step runs (a loop has several): their states and wall time."""
    runs = [r for r in result.steps.values() if r.task == task]
    states = Counter(r.state.value for r in runs)
    shown = ", ".join(state if len(runs) == 1 else f"{n} {state}" for state, n in states.items())
    started = [r.started_at for r in runs if r.started_at]
    ended = [r.ended_at for r in runs if r.ended_at]
    return f"{shown}, {max(ended) - min(started):.2f} s" if started and ended else shown


def show_runs(results: list[PipelineRunResult]) -> None:
    """Both runs' step states side by side, a loop's iterations in one row."""
    tasks = list(dict.fromkeys(r.task for r in results[0].steps.values()))
    table(
        f"Pipeline {MODEL_NAME}, run twice",
        ["step", *(f"run {n}" for n in range(1, len(results) + 1))],
        ((task, *(_summary(result, task) for result in results)) for task in tasks),
    )


def show_best(result: PipelineRunResult, top: int = 5) -> None:
    """The best grid points by cross-validated accuracy, and the version registered."""
    leaderboard = result.step("evaluate").outputs["leaderboard"]
    metrics = result.step("evaluate").outputs["metrics"]
    table(
        f"Best {min(top, len(leaderboard))} of {len(leaderboard)} grid points",
        ["n_estimators", "max_depth", "max_features", "cv_accuracy"],
        (
            (p["n_estimators"], str(p["max_depth"]), p["max_features"], f"{p['cv_accuracy']:.4f}")
            for p in leaderboard[:top]
        ),
    )
    scores = (
        f"The best scores {metrics['test_accuracy']:.4f} accuracy and "
        f"{metrics['test_roc_auc']:.4f} ROC AUC on held-out rows"
    )
    if result.output is None:  # the gate stopped the branch: say why
        console.print(f"{scores}; not registered: {result.step('quality_gate').reason}")
        return
    console.print(
        f"{scores}; registered as {MODEL_NAME} v{result.output} (alias [cyan]{ALIAS}[/cyan]). "
        f"`clew lineage show {MODEL_NAME}@{ALIAS}` traces it back to the data."
    )


def score_challenger(rows: int = 6) -> None:
    """Load the model the ``challenger`` alias names and score a few rows with it."""
    frame = load_breast_cancer(as_frame=True).frame.sample(rows, random_state=3)
    uri = f"models:/{MODEL_NAME}@{ALIAS}"
    predicted = clew.load_model(uri).predict(features(frame))
    shown = ["mean radius", "mean texture", "worst area"]
    table(
        f"Scored by {uri}",
        ["row", *shown, TARGET, "predicted"],
        (
            (index, *(f"{row[c]:.2f}" for c in shown), int(row[TARGET]), int(label))
            for (index, row), label in zip(frame.iterrows(), predicted, strict=True)
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-serve", action="store_true", help="Train and report, then stop.")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()

    with Client() as client, clew.use_client(client):
        results = run_twice(client=client)
        show_runs(results)
        show_best(results[-1])
        if results[-1].output is not None:
            score_challenger()
    if args.no_serve:
        return
    from clew.core.settings import Settings
    from clew.server.main import serve

    settings = Settings()
    console.print(
        f"\nServing [bold]{settings.home}[/bold] at [link]http://127.0.0.1:{args.port}[/link] "
        f"(API docs: http://127.0.0.1:{args.port}/api/v1/docs). Ctrl-C stops it."
    )
    serve(settings, host="127.0.0.1", port=args.port, workers=1)


if __name__ == "__main__":
    # Run the steps as clew.demo's, not __main__'s: a step's cache key names where it lives,
    # so `clew pipelines run clew.demo:training` afterwards finds these runs' outputs.
    from clew import demo

    demo.main()
