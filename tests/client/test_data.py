"""Dataset helpers: stable content digests, MLflow-shaped schema, source and profile."""

from __future__ import annotations

import json
import subprocess
import sys

import clew
from tests.conftest import need

pd = need("pandas")
np = need("numpy")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.5, 2.5], "n": pd.array([1, 2], dtype="int32"), "s": ["a", "b"]})


def test_pandas_digest_depends_on_content_only() -> None:
    a = clew.data.from_pandas(_frame())
    assert a.digest == clew.data.from_pandas(_frame()).digest
    changed = _frame()
    changed.loc[1, "x"] = 9.0
    renamed = _frame().rename(columns={"x": "y"})
    retyped = _frame().astype({"x": "float32"})
    digests = {a.digest} | {clew.data.from_pandas(d).digest for d in (changed, renamed, retyped)}
    assert len(digests) == 4
    assert len(a.digest) == 16


def test_pandas_digest_is_stable_across_processes() -> None:
    code = (
        "import pandas as pd, clew;"
        "print(clew.data.from_pandas(pd.DataFrame({'x': [1.5, 2.5], 's': ['a', 'b']})).digest)"
    )
    out = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    here = clew.data.from_pandas(pd.DataFrame({"x": [1.5, 2.5], "s": ["a", "b"]})).digest
    assert out == {here}


def test_pandas_schema_source_and_profile() -> None:
    ds = clew.data.from_pandas(_frame(), source="s3://b/k.parquet", name="train", targets="x")
    assert (ds.name, ds.source_type, json.loads(ds.source)) == (
        "train",
        "s3",
        {"uri": "s3://b/k.parquet"},
    )
    spec = json.loads(ds.schema)["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in spec] == [
        ("x", "double"),
        ("n", "integer"),
        ("s", "string"),
    ]
    profile = json.loads(ds.profile)
    assert (profile["num_rows"], profile["num_elements"], profile["targets"]) == (2, 6, ["x"])


def test_pandas_frame_with_unhashable_cells() -> None:
    df = pd.DataFrame({"tags": [["a"], ["b", "c"]]})
    assert clew.data.from_pandas(df).digest == clew.data.from_pandas(df.copy()).digest


def test_defaults_name_and_code_source() -> None:
    ds = clew.data.from_pandas(_frame())
    assert (ds.name, ds.source_type) == ("dataset", "code")
    local = clew.data.from_pandas(_frame(), source="/data/train.csv")
    assert local.source_type == "local"


def test_numpy_dataset() -> None:
    x = np.arange(12, dtype="float64").reshape(4, 3)
    ds = clew.data.from_numpy(x, targets=np.zeros(4), source="https://h/x.npy")
    assert ds.digest == clew.data.from_numpy(x.copy(), targets=np.zeros(4)).digest
    assert ds.digest != clew.data.from_numpy(x, targets=np.ones(4)).digest
    assert ds.digest != clew.data.from_numpy(x.astype("float32"), targets=np.zeros(4)).digest
    assert ds.source_type == "http"
    profile = json.loads(ds.profile)
    assert (profile["num_rows"], profile["num_elements"]) == (4, 12)
    spec = json.loads(json.loads(ds.schema)["mlflow_tensorspec"]["features"])
    assert spec["tensor-spec"] == {"dtype": "float64", "shape": [-1, 3]}
