"""Table previews of artifacts (``artifacts.preview``): each format, the bounds on what is read,
and the stable refusal for everything else."""

from __future__ import annotations

import io
import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clew.artifacts.preview import MAX_TEXT_BYTES, preview_table
from clew.core.errors import PreviewUnsupported


class Counting(io.BytesIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.read_bytes += n
        return n


def _preview(data: bytes, name: str, rows: int = 100) -> dict[str, Any]:
    return preview_table(io.BytesIO(data), name, rows).to_dict()


def test_csv_with_quotes_and_a_bom() -> None:
    data = '\ufeffa,b\n1,"x, y"\n2,"multi\nline"\n3,z\n'.encode()
    got = _preview(data, "t/table.CSV", rows=2)
    assert got == {"format": "csv", "columns": ["a", "b"], "rows": [["1", "x, y"],
                   ["2", "multi\nline"]], "total_rows": 3, "truncated": True}  # fmt: skip
    assert _preview(b"a\tb\n1\t2\n", "x.tsv")["rows"] == [["1", "2"]]
    assert _preview(b"", "empty.csv")["columns"] == []


def test_a_large_csv_is_read_only_up_to_the_bound() -> None:
    line = b"1,2,3,4,5,6,7,8,9,10\n"
    big = Counting(b"a,b,c,d,e,f,g,h,i,j\n" + line * (3 * MAX_TEXT_BYTES // len(line)))
    got = preview_table(big, "big.csv", 5).to_dict()
    assert len(got["rows"]) == 5 and got["truncated"] and got["total_rows"] is None
    assert big.read_bytes <= MAX_TEXT_BYTES + 1


def test_json_shapes() -> None:
    records = b'[{"a": 1, "b": NaN}, {"a": 2, "c": [1, 2]}]'.replace(b"NaN", b"null")
    assert _preview(records, "r.json") == {"format": "json", "columns": ["a", "b", "c"],
        "rows": [[1, None, None], [2, None, [1, 2]]], "total_rows": 2, "truncated": False}  # fmt: skip
    split = b'{"columns": ["x", "y"], "data": [[1, "a"], [2, "b"]]}'
    assert _preview(split, "s.json")["rows"] == [[1, "a"], [2, "b"]]
    columns = b'{"x": {"0": 1, "1": 2}, "y": {"0": "a", "1": "b"}}'
    assert _preview(columns, "c.json")["rows"] == [[1, "a"], [2, "b"]]
    lists = b'{"x": [1, 2, 3], "y": ["a"]}'
    assert _preview(lists, "l.json", rows=2)["rows"] == [[1, "a"], [2, None]]
    lines = b'{"a": 1}\n\n{"a": 2, "b": true}\n{"a": 3}\n'
    got = _preview(lines, "l.jsonl", rows=2)
    assert got["columns"] == ["a", "b"] and got["rows"] == [[1, None], [2, True]]
    assert (got["total_rows"], got["truncated"]) == (3, True)
    assert _preview(lines, "lines-named.json")["format"] == "jsonl"


def test_parquet_reads_the_first_row_groups_only(tmp_path: Any) -> None:
    n = 200_000
    table = pa.table({"i": pa.array(range(n)), "f": pa.array([math.nan] + [1.5] * (n - 1)),
                      "s": pa.array(["text"] * n)})  # fmt: skip
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=10_000)
    handle = Counting(sink.getvalue())
    got = preview_table(handle, "d/data.parquet", 3).to_dict()
    assert got["columns"] == ["i", "f", "s"]
    assert got["rows"] == [[0, "NaN", "text"], [1, 1.5, "text"], [2, 1.5, "text"]]
    assert (got["total_rows"], got["truncated"]) == (n, True)
    assert handle.read_bytes < len(sink.getvalue()) / 4


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("model.pkl", b"\x80\x04", id="not-a-table-format"),
        pytest.param("page.html", b"<script>alert(1)</script>", id="html"),
        pytest.param("noext", b"a,b", id="no-extension"),
        pytest.param("bad.parquet", b"not parquet at all", id="bad-parquet"),
        pytest.param("scalar.json", b"42", id="json-not-a-table"),
        pytest.param("broken.jsonl", b'{"a": 1}\n{oops\n', id="broken-lines"),
        pytest.param("bad.csv", b'a,b\n"unterminated,1\n', id="bad-csv"),
    ],
)
def test_what_is_not_a_table_is_refused_with_a_stable_code(name: str, data: bytes) -> None:
    with pytest.raises(PreviewUnsupported) as refused:
        _preview(data, name)
    assert refused.value.code == "PREVIEW_UNSUPPORTED" and refused.value.status == 400
