"""The artifact path validator: a regression corpus of traversal shapes, the names that must
survive untouched, and a property over arbitrary text (security.md §1a, §1k, §5 items 1-8)."""

from __future__ import annotations

import doctest
import os
import posixpath
import tempfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clew.artifacts import paths
from clew.artifacts.paths import (
    MAX_PATH_CHARS,
    join_artifact_path,
    local_target,
    validate_artifact_path,
)
from clew.core.errors import InvalidPath

BAD = [
    # plain traversal
    "..",
    "../",
    "../x",
    "../../../../etc/passwd",
    "a/../b",
    "a/b/../../../x",
    "./../x",
    "a/..",
    "x/./../../y",
    # percent-encoded, any case, any depth
    "%2e%2e",
    "%2E%2E",
    "%2e%2E/x",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "%2E%2E%2F..",
    "..%2F..%2Fetc",
    "..%2fx",
    "%2e./x",
    ".%2e/x",
    "a/%2e%2e/b",
    "a%2F%2E%2E%2Fb",
    "%252E%252E%252F",
    "%252e%252e/x",
    "%25252e%25252e/x",
    "%2%0952e%2%0952e/%2%0A52e%2%0A52e/path",
    "%2%0D52e%2%0D52e/x",
    "%" + "25" * 11 + "2e",  # one decoding layer more than the validator follows
    # overlong and invalid UTF-8 escapes
    "%c0%ae%c0%ae/x",
    "%C0%AE%C0%AE%C0%AFetc",
    "%e0%80%ae%e0%80%ae/x",
    "%c0%af",
    "%c1%9c..",
    "a%ff",
    # absolute
    "/",
    "/etc/passwd",
    "//etc/passwd",
    "///x",
    "/etc/passwd%00.jpg",
    "%2Fetc%2Fpasswd",
    "%2F%2Fhost/x",
    "/file://etc/passwd",
    # NUL and control characters, literal and encoded
    "a\x00b",
    "a%00b",
    "x.txt%00.jpg",
    "a\tb",
    "a\nb",
    "a\rb",
    "a%0Ab",
    "a%09b",
    "\x1b[31mred",
    "a\x7fb",
    "a\x85b",
    "a\u202eb.txt",
    "a\u2066b",
    # schemes and URIs
    "file:///proc/version",
    "file:/etc/passwd",
    "file://host/etc/passwd",
    "FILE:///etc/passwd",
    "file%3A%2F%2F%2Fetc%2Fpasswd",
    "s3://bucket/key",
    "http://evil.example/x",
    "mlflow-artifacts:/x",
    "dbfs:/x",
    "models:/m/1",
    "javascript:alert(1)",
    "data:text/html,x",
    "http:///#/../../etc/",
    # fragment, query and params delimiters
    "a#/../../x",
    "a?/../x",
    "a;/../x",
    "a#b",
    "a?b",
    "a;b",
    "a%23/x",
    "a%3F/x",
    "a%3b/x",
    # Windows shapes, on every OS
    "..\\x",
    "..\\..\\x",
    "a\\b",
    "\\x",
    "x/..\\y",
    "C:..\\x",
    "C:path",
    "C:/x",
    "c:\\windows",
    "C:",
    "a/C:x",
    "a/c:",
    "\\\\?\\C:\\x",
    "\\\\127.0.0.1\\c$\\x",
    "\\\\server\\share",
    "::Windows\\System32",
    "....\\\\",
    "/Windows\\..\\etc/passwd",
    "%5c..%5cx",
    "..%5c..%5cx",
    "%5C%5C%3F%5CC:%5Cx",
    # compatibility forms that NFKC turns into dots, separators or drives
    "\uff0e\uff0e/x",
    "x/\uff0e\uff0e",
    "\u2025/x",
    "\ufe52\ufe52/x",
    "a\uff3cb",
    "\uff43\uff1ax",
    "%EF%BC%8E%EF%BC%8E/x",
    # segments of dots and spaces (Windows trims them)
    "...",
    "x/.../y",
    ". .",
    "a/ /b",
    ".. ",
    # what URL parsers would read differently
    " a.txt",
    # empty, too long, unencodable
    "",
    ".",
    "./",
    "./.",
    "//",
    "a" * (MAX_PATH_CHARS + 1),
    "a/" + "b" * 256,
    "a\ud800b",
]

GOOD = [
    "dog%step%100%timestamp%100",
    "a b/\u00fc.txt",
    "metrics.json",
    "model/MLmodel",
    "plots/roc curve.png",
    "a%41.txt",
    "a%2fb",
    "model%2Fdata",
    "a%20b",
    "100%",
    "%",
    "%zz",
    "%2",
    ".hidden",
    "a..b",
    "..a",
    "b..",
    "x/step:10.png",
    "2024-01-01T10:00:00.json",
    "a+b",
    "it's",
    "x'y\"z",
    "~/x",
    "$HOME/x",
    "@latest",
    "a=b&c",
    "a\uff0etxt",
    "\ufb01le.txt",
    "\u65e5\u672c\u8a9e/\u30c7\u30fc\u30bf.csv",
    "\U0001f642.txt",
    "/".join(["a" * 255] * 4),
]

CANONICAL = [
    ("a/./b", "a/b"),
    ("a//b", "a/b"),
    ("a/b/", "a/b"),
    ("./a", "a"),
    ("a/.", "a"),
    ("././a//./b/", "a/b"),
]


@pytest.mark.parametrize("path", BAD, ids=[repr(p)[:60] for p in BAD])
def test_bad_paths_are_rejected_without_reflection(path: str) -> None:
    with pytest.raises(InvalidPath) as info:
        validate_artifact_path(path)
    assert info.value.message == "Invalid artifact path"
    assert info.value.code == "INVALID_PATH" and info.value.status == 400
    assert set(info.value.details) == {"reason"}


@pytest.mark.parametrize("path", [p for p in BAD if p not in ("", ".", "./", "./.", "//")])
def test_bad_paths_are_rejected_as_roots_too(path: str) -> None:
    with pytest.raises(InvalidPath):
        validate_artifact_path(path, allow_root=True)


def test_corpus_size() -> None:
    assert len(BAD) >= 90 and len(set(BAD)) == len(BAD)


@pytest.mark.parametrize("path", GOOD)
def test_good_paths_survive_byte_identical(path: str) -> None:
    assert validate_artifact_path(path) == path


@pytest.mark.parametrize(("path", "expected"), CANONICAL)
def test_dot_and_empty_segments_collapse(path: str, expected: str) -> None:
    assert validate_artifact_path(path) == expected


@pytest.mark.parametrize("path", ["", ".", "./", "./."])
def test_root_only_when_allowed(path: str) -> None:
    assert validate_artifact_path(path, allow_root=True) == ""
    with pytest.raises(InvalidPath):
        validate_artifact_path(path)


@pytest.mark.parametrize("value", [None, b"a.txt", 3])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(InvalidPath):
        validate_artifact_path(value)  # type: ignore[arg-type]


def test_literal_percent_is_not_decoded() -> None:
    """The returned value is the literal name, not its decoding (a deliberate MLflow difference):
    ``%41`` stays ``%41``, and every decoding of it was checked too."""
    assert validate_artifact_path("a%2541") == "a%2541"
    assert validate_artifact_path("a%41") != "aA"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(paths)
    assert result.attempted > 0 and result.failed == 0


def test_join_and_local_target(tmp_path: Path) -> None:
    assert join_artifact_path("", "model", "", "MLmodel") == "model/MLmodel"
    with pytest.raises(InvalidPath):
        join_artifact_path("..", "x")
    assert local_target(tmp_path, "a/./b") == tmp_path / "a" / "b"
    assert local_target(tmp_path, "") == tmp_path
    with pytest.raises(InvalidPath):
        local_target(tmp_path, "../x")


def _layers(path: str) -> list[str]:
    layers = [path]
    while (decoded := unquote(layers[-1])) != layers[-1]:
        layers.append(decoded)
    return layers


TOKENS = [
    "..",
    ".",
    "/",
    "\\",
    "%",
    "%2e",
    "%2E",
    "%25",
    "%2f",
    "%2F",
    "%5c",
    "%00",
    "%0a",
    "%09",
    "%c0%ae",
    "a",
    "b",
    ":",
    "C:",
    "#",
    "?",
    ";",
    " ",
    "\t",
    "\uff0e",
    "\u2025",
    "file:",
    "~",
]
ROOT = Path(os.path.realpath(tempfile.gettempdir())) / "clew-path-property-root"


def _check_property(path: str) -> None:
    try:
        q = validate_artifact_path(path, allow_root=True)
    except InvalidPath as exc:
        assert exc.message == "Invalid artifact path"
        return
    for layer in _layers(q):
        assert ".." not in layer.split("/")
        assert not layer.startswith("/") and "\\" not in layer and "\x00" not in layer
    resolved = os.path.realpath(os.path.join(ROOT, q))
    assert resolved == str(ROOT) or resolved.startswith(str(ROOT) + os.sep)
    assert posixpath.normpath("/" + q) == "/" + q if q else True
    assert validate_artifact_path(q, allow_root=True) == q  # canonical is a fixpoint


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=60))
def test_property_any_text(path: str) -> None:
    _check_property(path)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join))
def test_property_traversal_tokens(path: str) -> None:
    _check_property(path)
