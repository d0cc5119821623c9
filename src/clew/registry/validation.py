"""Input rules for the registry: model names, aliases, stages, tags and descriptions.

Names reach URL paths (``/registered-models/{name}``) and, in peers, file paths: MLflow's
CVE-2023-1176 was a registered-model name used as a FileStore path. So a name may not hold a
path separator, a ``..``, a percent-escape (``m%6fdel`` must never be a second ``model``,
security.md §5 item 18), a control or bidi character, or be only dots. Limits are documented
in docs/registry.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import unquote

from clew.core.errors import InvalidInput, InvalidModelName, LimitExceeded
from clew.registry.model import Stage, VersionStatus
from clew.tracking import validation as tv

MAX_NAME = 256
MAX_ALIAS = 255
MAX_DESCRIPTION = 65_536
MAX_TAG_VALUE = 100_000
MAX_STATUS_MESSAGE = 8_000
MAX_RUN_LINK = 8_000
MAX_TAGS = 1_000

_ALIAS = re.compile(r"[A-Za-z0-9_\-]+")
_VERSION_LIKE = re.compile(r"[vV][0-9]+")
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def check_model_name(name: object) -> str:
    """A registered model name: 1 to 256 characters, safe in a URL path segment.

    Raises:
        InvalidModelName: a separator, ``..``, an escape, a control character, or empty.
        LimitExceeded: longer than 256 characters.
    """
    if not isinstance(name, str):
        raise InvalidModelName("A registered model name must be a string")
    if not name.strip():
        raise InvalidModelName("A registered model name must not be empty")
    if len(name) > MAX_NAME:
        raise LimitExceeded(f"A registered model name is longer than {MAX_NAME} characters")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI:
            raise InvalidModelName("A registered model name must not contain control characters")
    folded = unicodedata.normalize("NFKC", name)
    for text in (name, folded):
        if "/" in text or "\\" in text:
            raise InvalidModelName("A registered model name must not contain '/' or '\\'")
        if ".." in text or not text.strip(". "):
            raise InvalidModelName("A registered model name must not contain '..'")
    if _ESCAPE.search(name) or unquote(name) != name:
        raise InvalidModelName("A registered model name must not contain percent-escapes")
    return name


def check_alias(alias: object) -> str:
    """An alias: letters, digits, ``_`` and ``-``; not ``latest`` nor version-like (``v3``),
    which ``models:/name@…`` URIs would read differently (MLflow's rule)."""
    if not isinstance(alias, str) or not alias:
        raise InvalidModelName("An alias must be a non-empty string")
    if len(alias) > MAX_ALIAS:
        raise LimitExceeded(f"An alias is longer than {MAX_ALIAS} characters")
    if not _ALIAS.fullmatch(alias):
        raise InvalidModelName("An alias may hold only letters, digits, '_' and '-'")
    if alias.lower() == "latest" or _VERSION_LIKE.fullmatch(alias):
        raise InvalidModelName("An alias may not be 'latest' or look like a version ('v3')")
    return alias


def check_version(version: object) -> int:
    """A version number as an int (MLflow's clients send strings: ``"3"``)."""
    if isinstance(version, bool):
        raise InvalidInput("A model version must be a positive integer")
    if isinstance(version, str) and version.isascii() and version.isdigit() and len(version) < 19:
        version = int(version)
    if not isinstance(version, int) or not 1 <= version < 2**63:
        raise InvalidInput("A model version must be a positive integer")
    return version


def check_stage(stage: object) -> Stage:
    """One of None/Staging/Production/Archived, case-insensitively (as MLflow)."""
    if isinstance(stage, str):
        for member in Stage:
            if member.value.lower() == stage.strip().lower():
                return member
    raise InvalidInput(f"Stage must be one of {', '.join(s.value for s in Stage)}")


def check_status(status: object) -> VersionStatus:
    try:
        return VersionStatus(str(status))
    except ValueError:
        choices = ", ".join(s.value for s in VersionStatus)
        raise InvalidInput(f"Status must be one of {choices}") from None


def check_run_link(run_link: object) -> str:
    """Any text up to 8,000 characters: a link Clew stores and answers back, never follows."""
    if run_link is None:
        return ""
    if not isinstance(run_link, str):
        raise InvalidInput("run_link must be a string")
    if len(run_link) > MAX_RUN_LINK:
        raise InvalidInput(f"run_link is longer than {MAX_RUN_LINK} characters")
    return run_link


def check_description(description: object) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidInput("A description must be a string")
    if len(description) > MAX_DESCRIPTION:
        raise LimitExceeded(f"A description is longer than {MAX_DESCRIPTION} characters")
    if "\x00" in description:
        raise InvalidInput("A description must not contain NUL")
    return description


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    tags = dict(tags or {})
    if len(tags) > MAX_TAGS:
        raise LimitExceeded(f"At most {MAX_TAGS} tags at once", limit=MAX_TAGS)
    for key, value in tags.items():
        tv.check_key("Tag", key)
        tv.check_value("Tag", key, value, MAX_TAG_VALUE)
    return tags
