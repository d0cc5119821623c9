"""Digest verification: a changed, extra or missing file refuses the load; verify reports it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from clew.core.errors import InvalidModel, ModelIntegrityError
from clew.models import load_model, load_native, save_model, verify_model


@pytest.fixture
def pickled(sk_logreg: Any, tmp_path: Path) -> Path:
    save_model(sk_logreg, tmp_path / "m", serialization_format="cloudpickle")
    return tmp_path / "m"


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_untouched_model_verifies(pickled: Path) -> None:
    report = verify_model(pickled)
    assert report.ok and report.recorded
    assert "model.pkl" in report.files


def test_one_changed_byte_in_model_pkl_refuses(pickled: Path) -> None:
    _flip_one_byte(pickled / "model.pkl")
    with pytest.raises(ModelIntegrityError) as err:
        load_model(pickled)
    assert err.value.code == "MODEL_DIGEST_MISMATCH"
    assert err.value.details["mismatched"] == ["model.pkl"]


def test_changed_side_file_refuses_before_unpickling(pickled: Path) -> None:
    (pickled / "requirements.txt").write_text("evil==1\n")
    with pytest.raises(ModelIntegrityError) as err:
        load_native(pickled)
    assert err.value.details["mismatched"] == ["requirements.txt"]


def test_extra_file_refuses(pickled: Path) -> None:
    (pickled / "sitecustomize.py").write_text("import os\n")
    with pytest.raises(ModelIntegrityError) as err:
        load_model(pickled)
    assert err.value.details["unrecorded"] == ["sitecustomize.py"]


def test_missing_file_refuses(pickled: Path) -> None:
    (pickled / "conda.yaml").unlink()
    with pytest.raises(ModelIntegrityError) as err:
        load_model(pickled)
    assert err.value.details["missing"] == ["conda.yaml"]


def test_verify_reports_without_raising(pickled: Path) -> None:
    _flip_one_byte(pickled / "model.pkl")
    (pickled / "extra.txt").write_text("x")
    report = verify_model(pickled)
    assert not report.ok
    assert (report.mismatched, report.unrecorded, report.missing) == (
        ("model.pkl",),
        ("extra.txt",),
        (),
    )


def test_pinned_digest_mismatch_refuses(pickled: Path, sk_logreg: Any, tmp_path: Path) -> None:
    other = save_model(sk_logreg, tmp_path / "other")
    with pytest.raises(ModelIntegrityError, match="pinned"):
        load_model(pickled, expected_digest=other.mlmodel_digest)


def test_pinned_digest_match_loads(pickled: Path, frame: Any, sk_logreg: Any) -> None:
    digest = verify_model(pickled).model_digest
    loaded = load_model(pickled, expected_digest=digest)
    assert loaded.predict(frame).tolist() == sk_logreg.predict(frame).tolist()


def test_symlink_in_model_dir_refuses(pickled: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").write_text("x")
    os.symlink(tmp_path / "outside", pickled / "link")
    with pytest.raises(InvalidModel, match="symlink"):
        load_model(pickled)
