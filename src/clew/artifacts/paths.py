"""The one artifact-path validator. Every entry point that takes a path calls it and then uses
only the value it returns.

Why it looks the way it does: each MLflow fix for artifact-path traversal was bypassed by one
more layer of encoding (``..`` -> ``%2E%2E`` -> ``%252E`` -> ``%2%0952e`` -> ``\\`` -> ``C:..`` ->
UNC), because the string that was checked was not the string that was used (see
``reference/security.md`` §1a, §1k). So this module:

1. rejects control characters, bidi overrides and lone surrogates in the literal text;
2. collapses ``.`` and empty segments (``a/./b`` and ``a//b`` -> ``a/b``), rejecting absolute
   paths and ``..`` outright rather than resolving them;
3. decodes the collapsed path to a fixpoint (at most ``MAX_DECODE_ROUNDS`` rounds, each a strict
   UTF-8 percent-decode) and checks **every** layer, literal included, and the NFKC form of every
   layer, against the same structural rules: no ``..`` segment, no absolute POSIX or Windows
   path, no ``X:`` drive, no ``scheme:`` prefix, no backslash, no ``#``/``?``/``;``, no NUL,
   TAB, LF or CR, and nothing a URL parser would read differently (``urlsplit``/``urlunsplit``
   must round-trip: this is the parse step that would strip the TAB out of ``%2%0952e``);
4. returns the collapsed *literal* path.

Returning the literal rather than the decoded form is deliberate and differs from MLflow: a
legitimate name survives byte-identical (``dog%step%100%timestamp%100``, ``a%41.txt``), and since
every decoding layer was checked, a consumer that decodes the returned value again, any number
of times, still gets a safe relative path. HTTP percent-encoding is undone once by the web
framework before the path reaches us; what arrives here is the name the user chose.

Decisions, each pinned by ``tests/artifacts/test_paths.py``:

- ``#``, ``?`` and ``;`` are rejected anywhere, in any layer: they are where URL parsers cut
  fragments, queries and params, which is how ``a#/../../x`` style payloads hid traversal.
- A percent-escape that is not valid UTF-8 (``%c0%ae``, ``%ff``) is rejected: overlong forms
  are how old decoders turned bytes into dots.
- Compatibility characters are stored as given but checked in NFKC form too: a name with a
  fullwidth dot inside (``a\uff0etxt``) is accepted, while two fullwidth dots (U+FF0E), the
  two-dot leader (U+2025) or two small full stops (U+FE52) — which any NFKC-normalising
  consumer turns into ``..`` — are rejected, as are the fullwidth backslash and colon.
- ``:`` is allowed except as a scheme (``file:``, ``s3:``) at the start or a drive (``C:``) at the
  start of any segment, so ``2024-01-01T10:00:00.json`` is fine.
- A segment of only dots and spaces (``...``, ``. .``) is rejected: Windows trims trailing dots
  and spaces, so such a segment means something else when downloaded there.
- Limits: ``MAX_PATH_CHARS`` (the column width), ``MAX_SEGMENT_BYTES`` per segment (NAME_MAX:
  downloads write these names to disk).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath
from urllib.parse import unquote, urlsplit, urlunsplit

from clew.core.errors import InvalidPath

MAX_INPUT_CHARS = 4096
MAX_PATH_CHARS = 1024
MAX_SEGMENT_BYTES = 255
MAX_DECODE_ROUNDS = 10

_MESSAGE = "Invalid artifact path"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DRIVE = re.compile(r"[A-Za-z]:")
_URI_DELIMITERS = frozenset("#?;")
# What urlsplit strips silently (TAB, LF, CR) and what truncates C strings (NUL).
_HIDDEN = frozenset("\x00\t\n\r")
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _invalid(reason: str) -> InvalidPath:
    # The message never echoes the input (no reflection); ``reason`` is a fixed token.
    return InvalidPath(_MESSAGE, reason=reason)


def validate_artifact_path(path: str, *, allow_root: bool = False) -> str:
    """Return the canonical relative POSIX form of ``path`` or raise ``InvalidPath``.

    Args:
        path: an artifact path as the caller gave it (already URL-decoded once by the web
            framework, if it came over HTTP).
        allow_root: accept the empty path (and ``.``) as the root, returning ``""``; listing and
            downloading the whole tree need it, writing and deleting do not.

    Example:
        >>> validate_artifact_path("plots/./roc.png")
        'plots/roc.png'
    """
    if not isinstance(path, str) or len(path) > MAX_INPUT_CHARS:
        raise _invalid("type_or_length")
    _check_literal_characters(path)
    if path.startswith("/"):
        raise _invalid("absolute")
    canonical = "/".join(seg for seg in path.split("/") if seg not in ("", "."))
    if not canonical:
        if allow_root:
            return ""
        raise _invalid("empty")
    if len(canonical) > MAX_PATH_CHARS:
        raise _invalid("too_long")
    for segment in canonical.split("/"):
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _invalid("segment_too_long")
    for layer in _decoded_layers(canonical):
        _check_structure(layer)
        normalized = unicodedata.normalize("NFKC", layer)
        if normalized != layer:
            _check_structure(normalized)
    return canonical


def _check_literal_characters(text: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in _BIDI:
            raise _invalid("control_character")


def _decoded_layers(text: str) -> Iterator[str]:
    """The text, then each strict percent-decode of it, until decoding changes nothing."""
    layer = text
    for _ in range(MAX_DECODE_ROUNDS):
        yield layer
        try:
            decoded = unquote(layer, errors="strict")
        except UnicodeDecodeError:
            raise _invalid("bad_escape") from None
        if decoded == layer:
            return
        layer = decoded
    raise _invalid("encoding_depth")


def _check_structure(layer: str) -> None:
    """The rules every layer must pass; ``.`` and empty segments are tolerated below the top."""
    if any(char in _HIDDEN for char in layer):
        raise _invalid("control_character")
    if "\\" in layer:
        raise _invalid("backslash")
    if any(char in _URI_DELIMITERS for char in layer):
        raise _invalid("uri_delimiter")
    try:
        reparsed = urlunsplit(urlsplit(layer))
    except ValueError:
        raise _invalid("uri_syntax") from None
    if reparsed != layer:
        raise _invalid("uri_syntax")
    if layer.startswith("/"):
        raise _invalid("absolute")
    windows = PureWindowsPath(layer)
    if windows.drive or windows.root:
        raise _invalid("absolute")
    segments = layer.split("/")
    if _SCHEME.match(segments[0]):
        raise _invalid("scheme")
    for segment in segments:
        if segment in ("", "."):
            continue
        if not segment.strip(". "):
            raise _invalid("traversal")
        if _DRIVE.match(segment):
            raise _invalid("drive")


def join_artifact_path(*parts: str) -> str:
    """Join path pieces with ``/`` (skipping empty ones) and validate the result."""
    return validate_artifact_path("/".join(part for part in parts if part))


def local_target(root: Path, path: str) -> Path:
    """Where artifact ``path`` goes under the local directory ``root``.

    ``path`` is validated again (rows may come from anywhere) and the result is checked to be
    lexically inside ``root``. Symlinks already present under ``root`` are the writer's to
    refuse; see ``ArtifactService.download``.
    """
    canonical = validate_artifact_path(path, allow_root=True)
    target = root.joinpath(*canonical.split("/")) if canonical else root
    if target != root and root not in target.parents:
        raise _invalid("outside_root")
    return target
