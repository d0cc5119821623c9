"""``clew models download`` and ``clew models lineage`` in local mode, and the docstring examples
of the model API."""

from __future__ import annotations

import doctest
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

import clew
from clew.cli.main import app
from clew.client import fluent_models, model_methods
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings
from tests.conftest import need

runner = CliRunner()


def clew_cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def local(clew_home: Path) -> Iterator[Client]:
    c = Client(transport=LocalTransport(Settings(home=clew_home)))
    yield c
    c.close()


@pytest.fixture
def registered(local: Client) -> dict[str, Any]:
    pd = need("pandas")
    need("sklearn")
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    run = local.create_run(run_name="trainer")
    local.log_input(run.run_id, clew.data.from_pandas(frame, name="toy"), context="training")
    model = LogisticRegression().fit(frame[["a"]], frame["y"])
    info = local.log_model(run.run_id, model, "clf", registered_model_name="toy")
    local.set_registered_model_alias("toy", "champion", 1)
    return {"run_id": run.run_id, "info": info}


def test_download_writes_the_files_and_reports_them(
    registered: dict[str, Any], local: Client, tmp_path: Path
) -> None:
    out = tmp_path / "dl"
    shown = clew_cli("models", "download", "models:/toy@champion", "--dest", str(out))
    assert "Downloaded models:/toy@champion" in shown
    names = sorted(f.path for f in local.list_model_version_files("toy", 1))
    assert sorted(p.name for p in out.iterdir()) == names
    result = json.loads(
        clew_cli(
            "models", "download", "models:/toy/1", "-d", str(tmp_path / "b"), "--no-cache", "--json"
        )
    )
    assert (result["version"], result["files"], result["model_id"]) == (
        1,
        len(names),
        registered["info"].model_id,
    )
    assert result["digest"] == registered["info"].digest


def test_download_refuses_tampered_bytes_with_the_code(
    registered: dict[str, Any], local: Client, tmp_path: Path, clew_home: Path
) -> None:
    [skops] = [f for f in local.list_model_version_files("toy", 1) if f.path == "model.skops"]
    blob = clew_home / "artifacts" / "blobs" / skops.digest[:2] / skops.digest[2:]
    body = bytearray(blob.read_bytes())
    body[0] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(body))
    import sys

    from clew.cli.main import main

    argv = ["clew", "models", "download", "models:/toy/1", "-d", str(tmp_path / "x"), "--no-cache"]
    old, sys.argv = sys.argv, argv
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = old
    assert exited.value.code == 1


def test_lineage_walks_version_model_run_and_datasets(registered: dict[str, Any]) -> None:
    shown = clew_cli("models", "lineage", "toy", "1")
    for text in ("toy", "v1", "@champion", registered["info"].model_uri, "trainer", "toy"):
        assert text in shown
    assert "context training" in shown
    data = json.loads(clew_cli("models", "lineage", "toy", "1", "--json"))
    assert data["version"]["version"] == 1
    assert data["model_artifact"]["logged_model"]["model_id"] == registered["info"].model_id
    assert data["run"]["run_id"] == registered["run_id"]
    [dataset] = data["run"]["dataset_inputs"]
    assert dataset["dataset"]["name"] == "toy"
    assert dataset["tags"]["mlflow.data.context"] == "training"


MODULES = [model_methods, fluent_models, clew.sklearn]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType, local: Client) -> None:
    need("sklearn")
    with clew.use_client(local):
        result = doctest.testmod(
            module,
            extraglobs={"client": local, "clew": clew},
            optionflags=doctest.ELLIPSIS,
            raise_on_error=False,
            verbose=False,
        )
    assert result.failed == 0
    assert result.attempted > 0
