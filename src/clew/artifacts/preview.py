"""The first rows of a tabular artifact (CSV, TSV, Parquet, JSON or JSON lines) as JSON-able
columns and rows, for the UI's table preview. Pure: it reads from a file handle it is given.

Bounded whatever the file's size: text formats read at most ``MAX_TEXT_BYTES`` from the start
(a CSV's row count is known only when the whole file fit); Parquet reads its footer, then only
the row groups that hold the rows asked for, and refuses when those exceed
``MAX_PARQUET_BYTES`` uncompressed. Cells are cut at ``MAX_CELL_CHARS`` and tables at
``MAX_COLUMNS``. Everything else, and anything that does not parse as a table, is
``PreviewUnsupported`` (the UI then offers the download).

Values keep JSON's types where the format has them (Parquet, JSON); CSV cells stay strings,
as the file has them. NaN and infinities travel as ``"NaN"``, ``"Infinity"``,
``"-Infinity"``, as in metric histories; dates and times as ISO 8601 text; bytes as a note of
their length.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

import orjson

from clew.core.errors import PreviewUnsupported

MAX_ROWS = 1_000
MAX_TEXT_BYTES = 4 * 1024 * 1024
MAX_PARQUET_BYTES = 64 * 1024 * 1024
MAX_COLUMNS = 500
MAX_CELL_CHARS = 10_000
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TablePreview:
    columns: list[str]
    rows: list[list[Any]]
    #: None when counting them would mean reading past the preview's bound.
    total_rows: int | None
    truncated: bool
    format: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "columns": self.columns,
            "rows": self.rows,
            "total_rows": self.total_rows,
            "truncated": self.truncated,
        }


def preview_format(path: str) -> str:
    """The preview format of an artifact path, by its extension (case-insensitive)."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    found = FORMATS.get(name[dot:]) if dot > 0 else None
    if found is None:
        raise PreviewUnsupported(
            "Only .csv, .tsv, .parquet, .json and .jsonl artifacts have a table preview",
            path=path,
        )
    return found


def preview_table(handle: BinaryIO, path: str, rows: int) -> TablePreview:
    """The first ``rows`` (1..1,000) rows of the artifact at ``path`` read from ``handle``."""
    kind = preview_format(path)
    rows = max(1, min(rows, MAX_ROWS))
    if kind == "parquet":
        return _parquet(handle, rows)
    data, complete = _head(handle)
    if kind in ("csv", "tsv"):
        return _delimited(data, complete, "," if kind == "csv" else "\t", rows, kind)
    if kind == "json" and complete:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # perhaps JSON lines under a .json name
        else:
            return _document(document, rows)
    return _json_lines(data, complete, rows)


def _head(handle: BinaryIO) -> tuple[bytes, bool]:
    """Up to ``MAX_TEXT_BYTES`` from the start (a UTF-8 BOM dropped); whether that is all."""
    data = handle.read(MAX_TEXT_BYTES + 1)
    complete = len(data) <= MAX_TEXT_BYTES
    if not complete:
        data = data[: data.rfind(b"\n", 0, MAX_TEXT_BYTES) + 1]  # whole lines only
    return data.removeprefix(b"\xef\xbb\xbf"), complete


def _delimited(data: bytes, complete: bool, delimiter: str, rows: int, kind: str) -> TablePreview:
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return TablePreview([], [], 0 if complete else None, not complete, kind)
        shown: list[list[Any]] = []
        count = 0
        for row in reader:
            if count < rows:
                shown.append([_cell(v) for v in row[:MAX_COLUMNS]])
            elif not complete:
                break
            count += 1
    except csv.Error as exc:
        raise PreviewUnsupported(f"The file does not parse as {kind.upper()}: {exc}") from None
    return TablePreview(
        columns=[_text(c) for c in header[:MAX_COLUMNS]],
        rows=shown,
        total_rows=count if complete else None,
        truncated=count > rows or not complete or len(header) > MAX_COLUMNS,
        format=kind,
    )


def _json_lines(data: bytes, complete: bool, rows: int) -> TablePreview:
    records: list[Any] = []
    count = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        if count < rows:
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise PreviewUnsupported(
                    "The file is neither a JSON table nor JSON lines"
                    + ("" if complete else f" within its first {MAX_TEXT_BYTES} bytes")
                ) from None
        elif not complete:
            break
        count += 1
    columns, shown = _records(records)
    truncated = count > rows or not complete
    return TablePreview(columns, shown, count if complete else None, truncated, "jsonl")


def _document(document: Any, rows: int) -> TablePreview:
    """A whole JSON document that is a table: a list of records or of rows, pandas' ``split``
    (``{"columns", "data"}``) or ``columns`` orientation (``{"col": [..]}``/``{"col": {..}}``)."""
    if isinstance(document, list):
        columns, shown = _records(document[:rows])
        return TablePreview(columns, shown, len(document), len(document) > rows, "json")
    if isinstance(document, dict):
        if isinstance(document.get("columns"), list) and isinstance(document.get("data"), list):
            data = document["data"]
            columns = [_text(c) for c in document["columns"][:MAX_COLUMNS]]
            shown = [_row(r) for r in data[:rows]]
            return TablePreview(columns, shown, len(data), len(data) > rows, "json")
        values = list(document.values())
        if values and all(isinstance(v, list) for v in values):
            length = max(len(v) for v in values)
            cols = list(document)[:MAX_COLUMNS]
            shown = [[_cell(document[c][i]) if i < len(document[c]) else None for c in cols]
                     for i in range(min(rows, length))]  # fmt: skip
            return TablePreview([_text(c) for c in cols], shown, length, length > rows, "json")
        if values and all(isinstance(v, dict) for v in values):
            index = list(dict.fromkeys(k for v in values for k in v))
            cols = list(document)[:MAX_COLUMNS]
            shown = [[_cell(document[c].get(i)) for c in cols] for i in index[:rows]]
            return TablePreview([_text(c) for c in cols], shown, len(index), len(index) > rows,
                                "json")  # fmt: skip
    raise PreviewUnsupported("The JSON document is not a table (records, rows or columns)")


def _records(records: Sequence[Any]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a list of objects (columns in first-seen order) or of arrays
    (columns numbered); anything else is one ``value`` column."""
    if records and all(isinstance(r, dict) for r in records):
        columns = list(dict.fromkeys(k for r in records for k in r))[:MAX_COLUMNS]
        return [_text(c) for c in columns], [[_cell(r.get(c)) for c in columns] for r in records]
    if records and all(isinstance(r, list) for r in records):
        width = min(max(len(r) for r in records), MAX_COLUMNS)
        return [str(i) for i in range(width)], [_row(r)[:width] for r in records]
    return ["value"], [[_cell(r)] for r in records]


def _parquet(handle: BinaryIO, rows: int) -> TablePreview:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowException, OSError) as exc:
        raise PreviewUnsupported(f"The file does not parse as Parquet: {exc}") from None
    meta = parquet.metadata
    names = parquet.schema_arrow.names
    columns = names[:MAX_COLUMNS]
    needed, size, groups = 0, 0, []
    for i in range(meta.num_row_groups):
        if needed >= rows:
            break
        group = meta.row_group(i)
        needed += group.num_rows
        size += group.total_byte_size
        groups.append(i)
    if size > MAX_PARQUET_BYTES:
        raise PreviewUnsupported(
            f"The first rows' row groups hold {size} bytes, more than the preview reads "
            f"({MAX_PARQUET_BYTES}); download the file instead"
        )
    shown: list[list[Any]] = []
    if groups:
        table = parquet.read_row_groups(groups, columns=columns).slice(0, rows)
        data = table.to_pydict()
        shown = [[_cell(data[c][i]) for c in columns] for i in range(table.num_rows)]
    truncated = meta.num_rows > rows or len(names) > MAX_COLUMNS
    return TablePreview([_text(c) for c in columns], shown, meta.num_rows, truncated, "parquet")


def _row(values: Any) -> list[Any]:
    if not isinstance(values, list):
        return [_cell(values)]
    return [_cell(v) for v in values[:MAX_COLUMNS]]


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def _cell(value: Any) -> Any:
    """A JSON-able cell: numbers, text, booleans, null, and lists/objects of those."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {_text(k): _cell(v) for k, v in list(value.items())[:MAX_COLUMNS]}
    if isinstance(value, Iterable):
        return [_cell(v) for v in list(value)[:MAX_COLUMNS]]
    return _text(value)
