"""Logged models through ``clew.Client`` on both transports (local and HTTP), on each database:
the same calls, the same results, the same errors."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import pytest

from clew import Client, Conflict, InvalidInput, InvalidPath, NotFound, ParamOverwrite
from clew.client import logged_model_methods
from clew.core.errors import InvalidStatusTransition
from clew.registry.logged_model import LoggedModelMetric


def _audit_len(client: Client) -> int:
    return len(client.list_audit(limit=10_000))


def test_log_a_model_from_a_run(client: Client, tmp_path: Path) -> None:
    run = client.create_run()
    model = client.create_logged_model(
        source_run_id=run.run_id, name="clf", params={"lr": 0.1}, model_type="sklearn"
    )
    saved = tmp_path / "saved"
    (saved / "data").mkdir(parents=True)
    (saved / "MLmodel").write_text("flavors: {}")
    (saved / "data" / "model.pkl").write_bytes(b"\x00" * 100)
    files = client.log_model_artifacts(model.model_id, saved, "model")
    assert sorted(f.path for f in files) == ["model/MLmodel", "model/data/model.pkl"]
    extra = tmp_path / "requirements.txt"
    extra.write_text("scikit-learn\n")
    assert client.log_model_artifact(model.model_id, extra).path == "requirements.txt"

    ready = client.finalize_logged_model(model.model_id, "READY")
    assert ready.status == "READY" and ready.params == {"lr": "0.1"}
    listed = client.list_logged_model_artifacts(model.model_id, "model")
    assert [(f.path, f.is_dir) for f in listed] == [("model/MLmodel", False), ("model/data", True)]
    with client.open_logged_model_artifact(model.model_id, "model/MLmodel") as chunks:
        assert b"".join(chunks) == b"flavors: {}"
    out = Path(client.download_logged_model_artifacts(model.model_id, "", tmp_path / "out"))
    assert (out / "model" / "data" / "model.pkl").read_bytes() == b"\x00" * 100
    assert (out / "requirements.txt").read_text() == "scikit-learn\n"

    with pytest.raises(Conflict):
        client.log_model_artifact(model.model_id, extra, "late")
    # The run's own artifacts are a different owner: untouched.
    assert client.list_artifacts(run.run_id) == []


def test_tags_params_metrics_and_search(client: Client) -> None:
    exp = client.create_experiment("lm-client")
    run = client.create_run(exp)
    a = client.create_logged_model(exp, name="a", tags={"stage": "dev"})
    b = client.create_logged_model(exp, name="b")
    client.set_logged_model_tags(b.model_id, {"stage": "prod", "x": 1})
    client.delete_logged_model_tag(b.model_id, "x")
    client.log_model_params(a.model_id, {"lr": 0.1})
    client.log_model_metric(a.model_id, "acc", 0.8, run_id=run.run_id, dataset_name="val")
    client.log_logged_model_metrics(
        b.model_id,
        [
            LoggedModelMetric("acc", 0.9, 1, dataset_name="val", dataset_digest="d"),
            LoggedModelMetric("loss", math.nan, 1),
        ],
    )
    got = client.get_logged_model(b.model_id)
    assert got.tags == {"stage": "prod"}
    assert math.isnan(next(m.value for m in got.metrics if m.key == "loss"))
    assert next(m for m in client.get_logged_model(a.model_id).metrics).run_id == run.run_id

    page = client.search_logged_models([exp], "metrics.acc > 0.5", order_by=["metrics.acc DESC"])
    assert [m.name for m in page] == ["b", "a"]
    page = client.search_logged_models(
        [exp],
        "tags.stage = 'dev' OR tags.stage = 'prod'",
        datasets=[{"dataset_name": "val", "dataset_digest": "d"}],
    )
    assert [m.name for m in page] == ["b"]
    paged = client.search_logged_models(
        [exp], order_by=[{"field_name": "name", "ascending": True}], max_results=1
    )
    assert [m.name for m in paged] == ["a"] and paged.next_page_token
    assert [m.name for m in client.iter_logged_models([exp], order_by=["name"], page_size=1)] == [
        "a",
        "b",
    ]

    client.delete_logged_model(a.model_id)
    assert [m.name for m in client.search_logged_models([exp])] == ["b"]
    with pytest.raises(NotFound):
        client.get_logged_model(a.model_id)


def test_errors_are_the_same_on_both_transports(client: Client) -> None:
    model = client.create_logged_model("0", params={"lr": "0.1"})
    client.finalize_logged_model(model.model_id, "FAILED", "upload died")
    before = _audit_len(client)
    with pytest.raises(InvalidStatusTransition) as caught:
        client.finalize_logged_model(model.model_id, "READY")
    assert caught.value.details["current"] == "FAILED"
    with pytest.raises(ParamOverwrite):
        client.log_model_params(model.model_id, {"lr": "0.2"})
    with pytest.raises(InvalidInput):
        client.get_logged_model("m-nope")
    with pytest.raises(InvalidInput):
        client.create_logged_model()
    with pytest.raises(NotFound):
        client.get_logged_model("m-" + "1" * 32)
    with pytest.raises(InvalidPath):
        client.list_logged_model_artifacts(model.model_id, "../x")
    assert _audit_len(client) == before


def test_docstring_examples_run(client: Client) -> None:
    result = doctest.testmod(
        logged_model_methods,
        extraglobs={"client": client},
        optionflags=doctest.ELLIPSIS,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0 and result.attempted > 0
