"""``make demo``: a small grid search tracked by Clew, then the server to look at it.

Trains a random forest on scikit-learn's breast-cancer data set (it ships with scikit-learn, so
nothing is downloaded) over a hyper-parameter grid: one nested run per combination under a
parent run, per-fold metrics, the data set as an input, the fitted model as an artifact. Then
it logs the best model as a logged model (``clew.sklearn.log_model``), registers it, points the
alias ``challenger`` at it, loads it back by ``models:/<name>@challenger`` and scores a few
rows, prints the best runs and starts ``clew server``.

Run: ``python -m clew.demo [--no-serve] [--port 5000]``.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import clew
from clew.cli.output import console, table

EXPERIMENT = "breast-cancer-forest"
MODEL_NAME = "breast-cancer-forest"
ALIAS = "challenger"
GRID: dict[str, list[Any]] = {
    "n_estimators": [50, 150],
    "max_depth": [3, 6, None],
    "max_features": ["sqrt", 0.5],
}
FOLDS = 5


def train_grid() -> str:
    """Run the grid and log the best model from the parent run; return the parent run's id."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    frame = load_breast_cancer(as_frame=True).frame
    features, target = frame.drop(columns="target"), frame["target"]
    dataset = clew.data.from_pandas(
        frame, source="sklearn.datasets.load_breast_cancer", name="breast-cancer", targets="target"
    )
    clew.set_experiment(EXPERIMENT)
    combos = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=7).split(features, target))

    best: tuple[float, dict[str, Any], Any, str] | None = None
    with clew.start_run(run_name=f"grid-{time.strftime('%H%M%S')}") as parent:
        clew.log_input(dataset, context="training")
        clew.set_tags({"kind": "grid-search", "model": "RandomForestClassifier"})
        clew.log_dict(GRID, "grid.json")
        with console.status("Training") as status:
            for i, params in enumerate(combos, 1):
                status.update(f"Training combination {i}/{len(combos)}: {params}")
                name = "rf-" + "-".join(str(v) for v in params.values())
                with clew.start_run(run_name=name, nested=True) as child:
                    clew.log_params(params)
                    clew.log_input(dataset, context="training")
                    accuracies = []
                    for fold, (train, test) in enumerate(folds):
                        model = RandomForestClassifier(random_state=fold, n_jobs=1, **params)
                        model.fit(features.iloc[train], target.iloc[train])
                        proba = model.predict_proba(features.iloc[test])[:, 1]
                        pred = (proba >= 0.5).astype(int)
                        truth = target.iloc[test]
                        accuracies.append(accuracy_score(truth, pred))
                        clew.log_metrics(
                            {
                                "fold_accuracy": accuracies[-1],
                                "fold_f1": f1_score(truth, pred),
                                "fold_roc_auc": roc_auc_score(truth, proba),
                            },
                            step=fold,
                        )
                    final = RandomForestClassifier(random_state=0, n_jobs=1, **params)
                    final.fit(features, target)
                    cv_accuracy = sum(accuracies) / len(accuracies)
                    clew.log_metric("cv_accuracy", cv_accuracy)
                    if best is None or cv_accuracy > best[0]:
                        best = (cv_accuracy, params, final, child.info.run_id)
                    with tempfile.TemporaryDirectory() as tmp:
                        path = Path(tmp) / "model.pkl"
                        path.write_bytes(pickle.dumps(final))
                        clew.log_artifact(str(path), artifact_path="model")
            assert best is not None
            status.update("Logging and registering the best model")
            cv_accuracy, params, model, child_id = best
            info = clew.sklearn.log_model(
                model,
                name="best-forest",
                input_example=features.head(5),
                registered_model_name=MODEL_NAME,
                params=params,
                tags={"best_child_run": child_id, "cv_accuracy": f"{cv_accuracy:.4f}"},
            )
        assert info.registered_model_version is not None
        clew.set_model_alias(MODEL_NAME, ALIAS, info.registered_model_version)
        console.print(
            f"Logged the best model as [bold]{info.model_uri}[/bold] and registered it as "
            f"{MODEL_NAME} v{info.registered_model_version} (alias [cyan]{ALIAS}[/cyan]); "
            f"`clew models lineage {MODEL_NAME} {info.registered_model_version}` traces it back"
        )
        return parent.info.run_id


def score_challenger(rows: int = 6) -> None:
    """Load the model the ``challenger`` alias names and score a few rows with it."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.sample(rows, random_state=3)
    uri = f"models:/{MODEL_NAME}@{ALIAS}"
    model = clew.load_model(uri)
    predicted = model.predict(frame.drop(columns="target"))
    shown = ["mean radius", "mean texture", "worst area"]
    table(
        f"Scored by {uri}",
        ["row", *shown, "target", "predicted"],
        (
            (index, *(f"{row[c]:.2f}" for c in shown), int(row["target"]), int(label))
            for (index, row), label in zip(frame.iterrows(), predicted, strict=True)
        ),
    )


def show_best(parent_run_id: str, top: int = 5) -> None:
    runs = clew.search_runs(
        experiment_names=[EXPERIMENT],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}'",
        order_by=["metrics.cv_accuracy DESC"],
        max_results=top,
        output_format="list",
    )
    table(
        f"Best {len(runs)} of the grid (parent run {parent_run_id})",
        ["run", "n_estimators", "max_depth", "max_features", "cv_accuracy"],
        (
            (
                r.info.run_name,
                r.data.params.get("n_estimators"),
                r.data.params.get("max_depth"),
                r.data.params.get("max_features"),
                f"{r.data.metrics['cv_accuracy'].value:.4f}",
            )
            for r in runs
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-serve", action="store_true", help="Train and report, then stop.")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()

    parent = train_grid()
    show_best(parent)
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
    main()
