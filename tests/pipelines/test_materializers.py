"""Every built-in materializer round-trips its values through real files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from clew.pipelines.materializers import Materializers, PickleRefused


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


def _round_trip(value: Any, tmp_path: Path, **options: Any) -> tuple[str, Any]:
    chosen = Materializers(**options).for_value(value, step="make")
    tmp_path.mkdir(parents=True, exist_ok=True)
    chosen.save(value, tmp_path)
    return chosen.name, Materializers(**options).named(chosen.name).load(tmp_path)


def test_dataframes_arrays_text_bytes_and_json(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    name, back = _round_trip(frame, tmp_path / "pandas")
    assert name == "pandas" and back.equals(frame)
    frame_pl = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    name, back = _round_trip(frame_pl, tmp_path / "polars")
    assert name == "polars" and back.equals(frame_pl)
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    name, back = _round_trip(array, tmp_path / "numpy")
    assert name == "numpy" and back.dtype == np.float32 and (back == array).all()
    assert _round_trip("héllo", tmp_path / "text") == ("text", "héllo")
    assert _round_trip(b"\x00\xff", tmp_path / "bytes") == ("bytes", b"\x00\xff")
    nested = {"scores": [0.5, math.inf, -math.inf], "n": 3, "ok": True, "none": None}
    name, back = _round_trip({**nested, "nan": math.nan}, tmp_path / "json")
    assert name == "json" and math.isnan(back.pop("nan")) and back == nested


def test_a_model_is_stored_in_mlflow_format_through_its_flavor(tmp_path: Path) -> None:
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    name, back = _round_trip(model, tmp_path)
    assert name == "model" and (tmp_path / "model" / "MLmodel").exists()
    assert list(back.predict([[0.0], [3.0]])) == [0, 1]


def test_anything_else_is_pickled_unless_pickles_are_refused(tmp_path: Path) -> None:
    name, back = _round_trip(Opaque(7), tmp_path / "allowed")
    assert name == "pickle" and back.value == 7
    assert _round_trip({1: "int keys"}, tmp_path / "keys")[0] == "pickle"
    for dirty in (np.array([Opaque(1)], dtype=object), Opaque(1)):
        with pytest.raises(PickleRefused, match=r"step 'make' returned .*only pickle can store"):
            Materializers(allow_pickle=False).for_value(dirty, step="make")
    with pytest.raises(PickleRefused):
        Materializers(allow_pickle=False).named("pickle")


def test_a_registered_materializer_is_tried_first(tmp_path: Path) -> None:
    class Upper:
        name, unsafe = "upper", False

        def handles(self, value: Any) -> bool:
            return isinstance(value, str) and value.isupper()

        def save(self, value: str, directory: Path) -> None:
            (directory / "shout").write_text(value.lower())

        def load(self, directory: Path) -> str:
            return (directory / "shout").read_text().upper()

    chosen = Materializers([Upper()])
    assert chosen.for_value("LOUD").name == "upper" and chosen.for_value("quiet").name == "text"
    chosen.for_value("LOUD").save("LOUD", tmp_path)
    assert chosen.named("upper").load(tmp_path) == "LOUD"
