"""What runs code and what does not: pickles need digests or trust; skops needs known types."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from clew.core.errors import ModelIntegrityError, UntrustedModel
from clew.models import load_model, load_native, save_model
from tests.conftest import need


class _Payload:
    """Unpickling this creates a canary file: stands in for ``os.system`` payloads."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self) -> Any:
        return (Path.write_text, (self.canary, "pwned"))


def _strip_digests(path: Path) -> None:
    """Make a Clew model look like an MLflow one: no clew_files."""
    doc = yaml.safe_load((path / "MLmodel").read_text())
    del doc["clew_files"]
    (path / "MLmodel").write_text(yaml.safe_dump(doc))


def test_swapped_pickle_never_runs(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", serialization_format="pickle")
    canary = tmp_path / "canary"
    (tmp_path / "m" / "model.pkl").write_bytes(pickle.dumps(_Payload(canary)))
    with pytest.raises(ModelIntegrityError):
        load_model(tmp_path / "m")
    assert not canary.exists()


def test_pickle_without_digests_needs_trust(sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", serialization_format="cloudpickle")
    _strip_digests(tmp_path / "m")
    with pytest.raises(UntrustedModel) as err:
        load_model(tmp_path / "m")
    assert err.value.code == "MODEL_UNTRUSTED"
    loaded = load_model(tmp_path / "m", trust=True)
    assert loaded.predict(frame).tolist() == sk_logreg.predict(frame).tolist()


def test_payload_without_digests_never_runs_untrusted(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", serialization_format="pickle")
    _strip_digests(tmp_path / "m")
    canary = tmp_path / "canary"
    (tmp_path / "m" / "model.pkl").write_bytes(pickle.dumps(_Payload(canary)))
    with pytest.raises(UntrustedModel):
        load_native(tmp_path / "m")
    assert not canary.exists()


def test_skops_without_digests_loads_with_known_types(
    sk_logreg: Any, frame: Any, tmp_path: Path
) -> None:
    save_model(sk_logreg, tmp_path / "m")
    _strip_digests(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.predict(frame).tolist() == sk_logreg.predict(frame).tolist()


def test_skops_trusted_types_in_mlmodel_are_ignored(tmp_path: Path, matrix: Any) -> None:
    """GHSA-w582-9x45-8mpx: the trust list comes from the loader, never from the model."""
    lgb = need("lightgbm")
    model = lgb.LGBMRegressor(n_estimators=2, min_child_samples=2, verbose=-1)
    model.fit(matrix, matrix[:, 0])
    save_model(model, tmp_path / "m", flavor="sklearn", serialization_format="skops")
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert "lightgbm.basic.Booster" in doc["flavors"]["sklearn"]["skops_trusted_types"]
    with pytest.raises(UntrustedModel) as err:
        load_native(tmp_path / "m", "sklearn")
    assert "lightgbm.basic.Booster" in err.value.details["types"]


def test_skops_types_trusted_by_the_caller_load(tmp_path: Path, matrix: Any) -> None:
    lgb = need("lightgbm")
    model = lgb.LGBMRegressor(n_estimators=2, min_child_samples=2, verbose=-1)
    model.fit(matrix, matrix[:, 0])
    save_model(model, tmp_path / "m", flavor="sklearn", serialization_format="skops")
    trusted = (
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMRegressor",
    )
    loaded = load_native(tmp_path / "m", "sklearn", skops_trusted_types=trusted)
    assert loaded.predict(matrix).tolist() == model.predict(matrix).tolist()


def test_no_loader_reads_outside_the_model(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", serialization_format="pickle")
    _strip_digests(tmp_path / "m")
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    doc["flavors"]["sklearn"]["pickled_model"] = "../outside.pkl"
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(doc))
    (tmp_path / "outside.pkl").write_bytes(pickle.dumps(_Payload(tmp_path / "canary")))
    from clew.core.errors import InvalidPath

    with pytest.raises(InvalidPath):
        load_native(tmp_path / "m", trust=True)
    assert not (tmp_path / "canary").exists()
    assert os.path.exists(tmp_path / "outside.pkl")
