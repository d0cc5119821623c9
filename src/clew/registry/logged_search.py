"""Logged-model search: MLflow's filter language for logged models, compiled to one ``Select``.

The grammar, the operators' meaning, the semi-joins and keyset paging are tracking's
(``clew.tracking.search``); this module adds only the vocabulary of a logged model and its
columns. So ``metrics.acc > 0.9 AND params.lr = '0.01'`` reads the same here as for runs, with
``OR`` and parentheses too, and every value reaches the database as a bound parameter.

A metric condition reads the latest point of each of the model's series (a series is a key on
one dataset, or on none): it matches when some series of that key matches, restricted to the
search's ``datasets`` when given. MLflow's NaN rules hold (NaN only satisfies ``!=``). Ordering
by a metric uses the newest series' latest value, or the named dataset's; models lacking it (or
whose value is NaN) come last either way. The default order is newest first, then id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, and_, case, false, null, or_, select, true

from clew.core import paging, schema
from clew.core.errors import InvalidInput
from clew.registry.logged_model import DatasetFilter, LoggedModelOrder
from clew.tracking.search.compile import RANK, check_limits, compare, condition, equals_any, keyed
from clew.tracking.search.fields import (
    ATTRIBUTE,
    ID_OPS,
    METRIC,
    NULL_OPS,
    NUMERIC_OPS,
    PARAM,
    STRING_OPS,
    TAG,
    Field,
    ValueKind,
    Vocabulary,
)
from clew.tracking.search.grammar import (
    Comparison,
    Node,
    OrderTerm,
    parse_filter_in,
    parse_order_by_in,
)
from clew.tracking.search.plan import SearchPlan, SortKey, ValueType, plan
from clew.tracking.search.semijoin import having

LM, LP, LT = schema.logged_models, schema.logged_model_params, schema.logged_model_tags
LLM = schema.logged_model_latest_metrics
ACTIVE = "active"

_STRING = Field(ValueKind.STRING, STRING_OPS)
_STRING_OR_NULL = Field(ValueKind.STRING, STRING_OPS | NULL_OPS)
_NUMBER = Field(ValueKind.NUMBER, NUMERIC_OPS)

LOGGED_MODELS = Vocabulary(
    what="logged models",
    aliases={
        "metrics": METRIC,
        "metric": METRIC,
        "params": PARAM,
        "param": PARAM,
        "parameters": PARAM,
        "parameter": PARAM,
        "tags": TAG,
        "tag": TAG,
        "attributes": ATTRIBUTE,
        "attribute": ATTRIBUTE,
        "attr": ATTRIBUTE,
    },
    keyed={
        METRIC: Field(ValueKind.NUMBER, NUMERIC_OPS | NULL_OPS),
        PARAM: _STRING_OR_NULL,
        TAG: _STRING_OR_NULL,
    },
    named={
        ATTRIBUTE: {
            "model_id": _STRING,
            "name": _STRING,
            "model_type": _STRING,
            "status": _STRING,
            "source_run_id": _STRING_OR_NULL,
            "experiment_id": Field(ValueKind.ID, ID_OPS),
            "creation_timestamp": _NUMBER,
            "last_updated_timestamp": _NUMBER,
        }
    },
    name_aliases={
        "id": "model_id",
        "created": "creation_timestamp",
        "creation_time": "creation_timestamp",
        "last_updated_time": "last_updated_timestamp",
    },
)

COLUMNS: dict[str, tuple[Column[Any], ValueType]] = {
    "model_id": (LM.c.id, "str"),
    "name": (LM.c.name, "str"),
    "model_type": (LM.c.model_type, "str"),
    "status": (LM.c.status, "str"),
    "source_run_id": (LM.c.source_run_id, "str"),
    "experiment_id": (LM.c.experiment_id, "int"),
    "creation_timestamp": (LM.c.created_at, "int"),
    "last_updated_timestamp": (LM.c.updated_at, "int"),
}


def compile_logged_model_search(
    *,
    experiment_ids: Sequence[int] | None,
    filter_string: str,
    datasets: Sequence[DatasetFilter],
    order_by: Sequence[LoggedModelOrder],
    max_results: int,
    page_token: str | None,
) -> SearchPlan:
    """Plan a search over active logged models; ``experiment_ids=None`` searches them all.

    Raises:
        InvalidFilter: the filter or an order_by field does not parse or type-check.
        InvalidInput: limits, or a dataset on an order_by term that is not a metric.
        InvalidPageToken: the token is malformed or belongs to another query.
    """
    check_limits(max_results, [o.field_name for o in order_by])
    node = parse_filter_in(LOGGED_MODELS, filter_string or "")
    terms = [(parse_order_by_in(LOGGED_MODELS, o.field_name), o) for o in order_by]
    scope = None if experiment_ids is None else sorted({int(e) for e in experiment_ids})
    on_datasets = _on_datasets(LLM, datasets)

    query = select(LM.c.id).where(LM.c.lifecycle_stage == ACTIVE)
    if scope is not None:
        query = query.where(equals_any(LM.c.experiment_id, scope))
    if node is not None:
        query = query.where(condition(node, lambda c: _comparison(c, on_datasets)))
    if on_datasets is not None and not _mentions_metric(node):
        # MLflow: datasets alone keep the models that have some metric on one of them.
        query = query.where(having(LM.c.id, LLM.c.model_id, on_datasets))
    keys: list[SortKey] = []
    for term, order in terms:
        query, term_keys = _sort(query, term, order)
        keys += term_keys
    if not any(t.entity == ATTRIBUTE and t.key == "creation_timestamp" for t, _ in terms):
        keys.append(SortKey(LM.c.created_at, False, "int"))
    keys.append(SortKey(LM.c.id, True, "str"))
    fingerprint = paging.fingerprint(
        "logged_models",
        repr(node),
        repr(terms),
        scope,
        [d.to_dict() for d in datasets],
    )
    return plan(
        query, keys=keys, max_results=max_results, fingerprint=fingerprint, page_token=page_token
    )


def _on_datasets(table: Any, datasets: Sequence[DatasetFilter]) -> ColumnElement[bool] | None:
    """``table``'s series is on one of ``datasets`` (a name alone matches any digest)."""
    if not datasets:
        return None
    options = []
    for d in datasets:
        same_name = table.c.dataset_name == d.dataset_name
        if d.dataset_digest:
            options.append(and_(same_name, table.c.dataset_digest == d.dataset_digest))
        else:
            options.append(same_name)
    return or_(*options)


def _mentions_metric(node: Node | None) -> bool:
    if node is None:
        return False
    if isinstance(node, Comparison):
        return node.entity == METRIC
    return any(_mentions_metric(t) for t in node.terms)


def _comparison(c: Comparison, on_datasets: ColumnElement[bool] | None) -> ColumnElement[bool]:
    if c.entity == ATTRIBUTE:
        return compare(COLUMNS[c.key][0], c.op, c.value)
    if c.entity in (PARAM, TAG):
        table = LP if c.entity == PARAM else LT
        return keyed(LM.c.id, table.c.model_id, table.c.key == c.key, table.c.value, c)
    key = LLM.c.key == c.key if on_datasets is None else and_(LLM.c.key == c.key, on_datasets)
    if c.op in ("IS NULL", "IS NOT NULL"):
        return keyed(LM.c.id, LLM.c.model_id, key, LLM.c.value, c)
    value = float(c.value)  # type: ignore[arg-type]
    if c.op == "!=":
        matches = or_(LLM.c.is_nan == true(), LLM.c.value != value)
    else:
        matches = and_(LLM.c.is_nan == false(), compare(LLM.c.value, c.op, value))
    return having(LM.c.id, LLM.c.model_id, key, matches)


def _sort(query: Any, term: OrderTerm, order: LoggedModelOrder) -> tuple[Any, list[SortKey]]:
    """The sort keys of one order_by term (a rank first wherever a value can be missing)."""
    asc = term.ascending and order.ascending
    if order.dataset_name and term.entity != METRIC:
        raise InvalidInput("order_by dataset_name applies to metrics.<key> fields only")
    if term.entity == ATTRIBUTE:
        column, kind = COLUMNS[term.key]
        if not column.nullable:
            return query, [SortKey(column, asc, kind)]
        missing = case((column.is_(None), RANK[1]), else_=RANK[0])
        return query, [SortKey(missing, True, "int"), SortKey(column, asc, kind, nullable=True)]
    if term.entity == METRIC:
        lm = LLM.alias()
        on = [lm.c.model_id == LM.c.id, lm.c.key == term.key]
        if order.dataset_name:
            only = DatasetFilter(order.dataset_name, order.dataset_digest)
            on.append(_on_datasets(lm, [only]))  # type: ignore[arg-type]
        value = (
            select(case((lm.c.is_nan == true(), null()), else_=lm.c.value))
            .where(*on)
            .order_by(
                lm.c.step.desc(),
                lm.c.timestamp.desc(),
                lm.c.value.desc(),
                lm.c.dataset_name,
                lm.c.dataset_digest,
            )
            .limit(1)
            .scalar_subquery()
        )
        rank = case((value.is_(None), RANK[1]), else_=RANK[0])
        return query, [SortKey(rank, True, "int"), SortKey(value, asc, "float", nullable=True)]
    table = (LP if term.entity == PARAM else LT).alias()
    query = query.outerjoin(table, and_(table.c.model_id == LM.c.id, table.c.key == term.key))
    missing = case((table.c.value.is_(None), RANK[1]), else_=RANK[0])
    return query, [SortKey(missing, True, "int"), SortKey(table.c.value, asc, "str", nullable=True)]
