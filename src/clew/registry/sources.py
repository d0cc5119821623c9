"""Where a model version comes from, parsed and validated once (security.md §1b).

Three kinds of source:

* a run's artifacts: ``runs:/<run_id>/<path>``, the run's own artifact URI
  ``clew-artifacts:/runs/<run_id>/<path>``, or the root the MLflow adapter hands out for it,
  ``mlflow-artifacts:/<experiment>/<run_id>/artifacts/<path>`` (what MLflow clients register,
  kept as given so they read back their own source); the version records every file under
  the path;
* a logged model: ``models:/m-<32 hex>`` (MLflow 3's LoggedModel id) or its artifact location
  ``clew-artifacts:/logged-models/m-<32 hex>`` or
  ``mlflow-artifacts:/<experiment>/models/m-<32 hex>/artifacts``;
* an external URI on the allow-list: ``s3://``, ``gs://``, ``https://`` and, only when the
  service is built with ``allow_file_sources``, ``file:`` (local paths, never a remote host).

Every one of MLflow's source CVEs hid traversal in a layer its check did not look at: the query
(``a%3f/../..``), the fragment, ``;`` params, an empty scheme (``//proc/self/root``), a host on
``file:``, or one more percent-encoding. So the raw text is refused outright if any decoding
layer holds ``?``, ``#``, ``;``, a backslash, NUL or a control character, and the path part goes
through the one artifact-path validator (:func:`clew.artifacts.paths.validate_artifact_path`),
which decodes to a fixpoint and checks every layer. Messages never echo the source.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from clew.artifacts.paths import validate_artifact_path
from clew.core.errors import InvalidPath, InvalidSource, LimitExceeded, UrlNotAllowed
from clew.core.ids import is_logged_model_id
from clew.core.netguard import classify, parse_url

MAX_SOURCE = 4096
MAX_DECODE_ROUNDS = 10
EXTERNAL_SCHEMES = frozenset({"s3", "gs", "https"})

_RUN = re.compile(r"runs:/([0-9a-f]{32})(?:/(.*))?", re.DOTALL)
_RUN_URI = re.compile(r"clew-artifacts:/runs/([0-9a-f]{32})(?:/(.*))?", re.DOTALL)
#: MLflow's layouts (``server.mlflow_compat.uris``); the experiment segment only locates.
_RUN_PROXY = re.compile(
    r"mlflow-artifacts:/[0-9]{1,18}/([0-9a-f]{32})/artifacts(?:/(.*))?", re.DOTALL
)
_LOGGED = re.compile(r"(?:models:/|clew-artifacts:/logged-models/)(m-[0-9a-f]{32})/?")
_LOGGED_PROXY = re.compile(r"mlflow-artifacts:/[0-9]{1,18}/models/(m-[0-9a-f]{32})/artifacts/?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-_]{0,254}")
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?")
_FORBIDDEN = re.compile(r"[?#;\\\x00]")
#: Unicode's control (Cc) and surrogate (Cs) categories, exactly.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Source:
    """A checked source. ``path`` is the canonical artifact path for run sources ("" = all)."""

    kind: Literal["run", "logged_model", "external"]
    uri: str
    run_id: str | None = None
    path: str = ""
    logged_model_id: str | None = None

    @property
    def owner_id(self) -> str | None:
        """The ``artifact_files`` owner whose files the version records, if Clew holds them."""
        return self.run_id if self.kind == "run" else self.logged_model_id


def _invalid(reason: str) -> InvalidSource:
    return InvalidSource("Invalid model version source", reason=reason)


def _layers(text: str) -> list[str]:
    """The text and each percent-decode of it, until decoding changes nothing."""
    layers = [text]
    for _ in range(MAX_DECODE_ROUNDS):
        try:
            decoded = unquote(layers[-1], errors="strict")
        except UnicodeDecodeError:
            raise _invalid("bad_escape") from None
        if decoded == layers[-1]:
            return layers
        layers.append(decoded)
    raise _invalid("encoding_depth")


def _check_text(source: str) -> None:
    if len(source) > MAX_SOURCE:
        raise LimitExceeded(f"A model version source is longer than {MAX_SOURCE} characters")
    for layer in _layers(source):
        for text in (layer, unicodedata.normalize("NFKC", layer)):
            if _FORBIDDEN.search(text):
                raise _invalid("query_fragment_or_params")
            if _CONTROL.search(text):
                raise _invalid("control_character")
            if ".." in text.split("/"):
                raise _invalid("traversal")


def _checked_path(path: str, *, allow_root: bool) -> str:
    try:
        return validate_artifact_path(path, allow_root=allow_root)
    except InvalidPath as exc:
        raise _invalid(str(exc.details.get("reason", "path"))) from None


def parse_source(source: object, *, allow_file: bool = False) -> Source:
    """Check ``source`` and say what kind it is.

    Raises:
        InvalidSource: anything off the rules above (``details.reason`` says which, as a token).
        LimitExceeded: longer than ``MAX_SOURCE``.
    """
    if not isinstance(source, str) or not source.strip():
        raise _invalid("empty")
    _check_text(source)
    if m := _RUN.fullmatch(source) or _RUN_URI.fullmatch(source) or _RUN_PROXY.fullmatch(source):
        path = _checked_path(m.group(2) or "", allow_root=True)
        return Source("run", source, run_id=m.group(1), path=path)
    if m := _LOGGED.fullmatch(source) or _LOGGED_PROXY.fullmatch(source):
        assert is_logged_model_id(m.group(1))
        return Source("logged_model", source, logged_model_id=m.group(1))
    parts = urlsplit(source)
    scheme = parts.scheme.lower()
    if scheme == "file" and allow_file:
        if parts.netloc not in ("", "localhost"):
            raise _invalid("file_host")  # file://host/etc is not a local path (CVE-2024-3573)
        _checked_path(parts.path.lstrip("/"), allow_root=False)
        return Source("external", source)
    if scheme not in EXTERNAL_SCHEMES:
        raise _invalid("scheme")
    host = parts.netloc
    pattern = _HOST if scheme == "https" else _BUCKET
    if not pattern.fullmatch(host) or host.startswith((".", "-")):
        raise _invalid("host")
    if scheme == "https":
        _check_public_host(source)
    _checked_path(parts.path.lstrip("/"), allow_root=scheme == "https")
    return Source("external", source)


#: Host names that reach this machine or a cloud metadata service whatever they resolve to.
_LOCAL_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})


def _check_public_host(source: str) -> None:
    """An ``https`` source names a public host: no loopback, private, link-local (metadata) or
    reserved address, in any spelling (``127.1``, ``0x7f000001``, ``[::ffff:…]`` are refused by
    the webhook guard's strict URL parser), and no name that is local by definition.

    Clew's server never fetches an external source, but clients that load a version do, so a
    source is where a request to an internal address would be planted (security.md §1b). A
    public name that resolves to a private address is caught where a fetch happens, not here.
    """
    try:
        url = parse_url(source)
    except UrlNotAllowed:
        raise _invalid("host") from None
    name = url.host.rstrip(".")
    local_name = name in _LOCAL_NAMES or name.endswith((".localhost", ".internal"))
    if local_name or (url.literal is not None and classify(url.literal) is not None):
        raise _invalid("private_address")
