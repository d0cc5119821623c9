"""The MLmodel YAML: MLflow's keys, Clew's extension keys, and lossless re-writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clew.models import read_mlmodel, save_model, write_mlmodel
from clew.models.files import sha256_bytes
from tests.conftest import need


def _doc(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((path / "MLmodel").read_text()))


def test_mlmodel_has_mlflow_and_clew_keys(sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", input_example=frame.head(2), run_id="r" * 32)
    doc = _doc(tmp_path / "m")
    assert set(doc) == {
        "clew_files",
        "clew_version",
        "flavors",
        "model_id",
        "model_size_bytes",
        "model_uuid",
        "run_id",
        "saved_input_example_info",
        "signature",
        "utc_time_created",
    }
    assert "mlflow_version" not in doc
    assert doc["run_id"] == "r" * 32
    assert doc["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert doc["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
    }
    assert set(doc["signature"]) == {"inputs", "outputs", "params"}
    assert all(isinstance(doc["signature"][k], str) for k in ("inputs", "outputs"))


def test_clew_files_cover_every_other_file(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m")
    doc = _doc(tmp_path / "m")
    on_disk = sorted(p.name for p in (tmp_path / "m").iterdir() if p.name != "MLmodel")
    assert sorted(doc["clew_files"]) == on_disk
    skops = doc["clew_files"]["model.skops"]
    data = (tmp_path / "m" / "model.skops").read_bytes()
    assert skops == {"digest": sha256_bytes(data), "size": len(data)}
    assert doc["model_size_bytes"] == sum(v["size"] for v in doc["clew_files"].values())


def test_model_id_is_recorded(sk_logreg: Any, tmp_path: Path) -> None:
    info = save_model(sk_logreg, tmp_path / "m", model_id="m-" + "a" * 32)
    assert (info.model_id, info.model_uuid) == ("m-" + "a" * 32, "m-" + "a" * 32)


def test_unknown_keys_survive_a_rewrite(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m")
    doc = _doc(tmp_path / "m")
    doc |= {"prompts": None, "is_signature_from_type_hint": False, "resources": {"x": 1}}
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(doc))
    info = read_mlmodel(tmp_path / "m")
    assert info.extra == {
        "prompts": None,
        "is_signature_from_type_hint": False,
        "resources": {"x": 1},
    }
    (tmp_path / "copy").mkdir()
    write_mlmodel(info, tmp_path / "copy")
    assert _doc(tmp_path / "copy") == doc


def test_mlmodel_digest_is_of_the_file(sk_logreg: Any, tmp_path: Path) -> None:
    info = save_model(sk_logreg, tmp_path / "m")
    assert info.mlmodel_digest == sha256_bytes((tmp_path / "m" / "MLmodel").read_bytes())
    assert read_mlmodel(tmp_path / "m").mlmodel_digest == info.mlmodel_digest


def test_save_refuses_non_empty_directory(sk_logreg: Any, tmp_path: Path) -> None:
    need("sklearn")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("")
    from clew.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        save_model(sk_logreg, tmp_path / "m")
