"""Registry search: registered models and model versions, in tracking's filter grammar.

The grammar, operators, quoting, LIKE escapes and keyset paging are tracking's
(:mod:`clew.tracking.search`), driven by the two vocabularies below, so ``tags.team = 'ml'``
or ``name LIKE 'churn%'`` mean the same everywhere. Values are always bound parameters.

Searchable, as MLflow's registry (plus ``OR``, parentheses and a few more attributes):

* models: ``name`` (``= != LIKE ILIKE IN NOT IN``), ``creation_timestamp``,
  ``last_updated_timestamp``, ``tags.<key>``; order by name or either time (default name).
* versions: ``name``, ``version_number``, ``run_id``, ``source`` (alias ``source_path``),
  ``current_stage``, ``status``, ``logged_model_id``, ``user_id``, the times, ``tags.<key>``;
  order by name, version_number or either time (default name ASC, version_number DESC).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, select

from clew.core import paging, schema
from clew.tracking.search.compile import check_limits, compare, condition, keyed
from clew.tracking.search.fields import (
    ATTRIBUTE,
    NULL_OPS,
    NUMERIC_OPS,
    STRING_OPS,
    TAG,
    Field,
    ValueKind,
    Vocabulary,
)
from clew.tracking.search.grammar import Comparison, parse_filter_in, parse_order_by_in
from clew.tracking.search.plan import SearchPlan, SortKey, ValueType, plan

C, CT = schema.contexts, schema.context_tags
MV, MVT = schema.model_versions, schema.model_version_tags
REGISTERED_MODEL = "registered_model"

_STRING = Field(ValueKind.STRING, STRING_OPS)
_STRING_UNORDERED = Field(ValueKind.STRING, STRING_OPS, orderable=False)
_NULLABLE_STRING = Field(ValueKind.STRING, STRING_OPS | NULL_OPS, orderable=False)
_NUMBER = Field(ValueKind.NUMBER, NUMERIC_OPS)
_TIME_ALIASES = {
    "creation_time": "creation_timestamp",
    "created": "creation_timestamp",
    "last_update_time": "last_updated_timestamp",
    "last_updated_time": "last_updated_timestamp",
    "last_update_timestamp": "last_updated_timestamp",
}
_ENTITIES = {
    "tags": TAG,
    "tag": TAG,
    "attributes": ATTRIBUTE,
    "attribute": ATTRIBUTE,
    "attr": ATTRIBUTE,
}

MODELS = Vocabulary(
    what="registered models",
    aliases=_ENTITIES,
    keyed={TAG: _NULLABLE_STRING},
    named={
        ATTRIBUTE: {
            "name": _STRING,
            "creation_timestamp": _NUMBER,
            "last_updated_timestamp": _NUMBER,
        }
    },
    name_aliases=_TIME_ALIASES,
)

VERSIONS = Vocabulary(
    what="model versions",
    aliases=_ENTITIES,
    keyed={TAG: _NULLABLE_STRING},
    named={
        ATTRIBUTE: {
            "name": _STRING,
            "version_number": _NUMBER,
            "run_id": _NULLABLE_STRING,
            "source": _STRING_UNORDERED,
            "current_stage": _STRING_UNORDERED,
            "status": _STRING_UNORDERED,
            "logged_model_id": _NULLABLE_STRING,
            "user_id": _STRING_UNORDERED,
            "creation_timestamp": _NUMBER,
            "last_updated_timestamp": _NUMBER,
        }
    },
    name_aliases={
        **_TIME_ALIASES,
        "version": "version_number",
        "source_path": "source",
        "stage": "current_stage",
        "model_id": "logged_model_id",
    },
)

MODEL_COLUMNS: dict[str, tuple[Column[Any], ValueType]] = {
    "name": (C.c.name, "str"),
    "creation_timestamp": (C.c.created_at, "int"),
    "last_updated_timestamp": (C.c.updated_at, "int"),
}
VERSION_COLUMNS: dict[str, tuple[Column[Any], ValueType]] = {
    "name": (C.c.name, "str"),
    "version_number": (MV.c.version, "int"),
    "run_id": (MV.c.run_id, "str"),
    "source": (MV.c.source, "str"),
    "current_stage": (MV.c.stage, "str"),
    "status": (MV.c.status, "str"),
    "logged_model_id": (MV.c.logged_model_id, "str"),
    "user_id": (MV.c.user_id, "str"),
    "creation_timestamp": (MV.c.created_at, "int"),
    "last_updated_timestamp": (MV.c.updated_at, "int"),
}


def _model_comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity == TAG:
        return keyed(C.c.id, CT.c.context_id, CT.c.key == c.key, CT.c.value, c)
    return compare(MODEL_COLUMNS[c.key][0], c.op, c.value)


def _version_comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity == TAG:
        return keyed(MV.c.id, MVT.c.version_id, MVT.c.key == c.key, MVT.c.value, c)
    return compare(VERSION_COLUMNS[c.key][0], c.op, c.value)


def compile_model_search(
    *,
    filter_string: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
    only_names: Sequence[str] | None = None,
) -> SearchPlan:
    """Plan a registered-model search (ids of ``contexts`` rows); default order is by name.

    Raises:
        InvalidFilter, InvalidInput, InvalidPageToken: as tracking's searches.
    """
    order_by = check_limits(max_results, order_by)
    only = None if only_names is None else tuple(sorted(only_names))
    return _model_plan(filter_string or "", tuple(order_by), max_results, page_token, only)


# Plans are immutable, and a deployment loop asks the same search again and again: parsing and
# building one cost about as much as running it on SQLite. Failures are not cached (they raise).
@functools.lru_cache(maxsize=256)
def _model_plan(
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    page_token: str | None,
    only_names: tuple[str, ...] | None,
) -> SearchPlan:
    node = parse_filter_in(MODELS, filter_string)
    terms = [parse_order_by_in(MODELS, clause) for clause in order_by]
    query = select(C.c.id).where(C.c.type == REGISTERED_MODEL)
    if node is not None:
        query = query.where(condition(node, _model_comparison))
    if only_names is not None:  # the models the caller may read
        query = query.where(C.c.name.in_(only_names))
    keys = [SortKey(MODEL_COLUMNS[t.key][0], t.ascending, MODEL_COLUMNS[t.key][1]) for t in terms]
    if not terms:
        keys.append(SortKey(C.c.name, True, "str"))
    keys.append(SortKey(C.c.id, True, "int"))
    fingerprint = paging.fingerprint("registered_models", repr(node), repr(terms), only_names)
    return plan(
        query, keys=keys, max_results=max_results, fingerprint=fingerprint, page_token=page_token
    )


def compile_version_search(
    *,
    filter_string: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
    only_names: Sequence[str] | None = None,
) -> SearchPlan:
    """Plan a model-version search (ids of ``model_versions`` rows).

    Raises:
        InvalidFilter, InvalidInput, InvalidPageToken: as tracking's searches.
    """
    order_by = check_limits(max_results, order_by)
    only = None if only_names is None else tuple(sorted(only_names))
    return _version_plan(filter_string or "", tuple(order_by), max_results, page_token, only)


@functools.lru_cache(maxsize=256)
def _version_plan(
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    page_token: str | None,
    only_names: tuple[str, ...] | None,
) -> SearchPlan:
    node = parse_filter_in(VERSIONS, filter_string)
    terms = [parse_order_by_in(VERSIONS, clause) for clause in order_by]
    query = select(MV.c.id).join(C, C.c.id == MV.c.model_id)
    if node is not None:
        query = query.where(condition(node, _version_comparison))
    if only_names is not None:  # the models the caller may read
        query = query.where(C.c.name.in_(only_names))
    keys = [
        SortKey(VERSION_COLUMNS[t.key][0], t.ascending, VERSION_COLUMNS[t.key][1]) for t in terms
    ]
    if not terms:
        keys += [SortKey(C.c.name, True, "str"), SortKey(MV.c.version, False, "int")]
    keys.append(SortKey(MV.c.id, True, "int"))
    fingerprint = paging.fingerprint("model_versions", repr(node), repr(terms), only_names)
    return plan(
        query, keys=keys, max_results=max_results, fingerprint=fingerprint, page_token=page_token
    )
