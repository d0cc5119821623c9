"""Compile a parsed search into one SQLAlchemy Core ``Select`` over the metadata graph.

Every value reaches the database as a bound parameter: the AST holds Python values and they
only ever pass through SQLAlchemy operators, never into SQL text.

Shape of a run search, chosen by measuring SQLite at 100,000 runs: the outer query walks
``executions`` in ``start_time`` order through an index and stops after ``max_results + 1``
matches; each condition on a param, tag, metric or dataset is a semi-join (``semijoin``: an
``IN`` list read once from the child's ``(key, value)`` index on SQLite, ``EXISTS`` on
PostgreSQL). Ordering by a param, tag or metric is a ``LEFT JOIN`` on the child's primary key
``(execution_id, key)``, so at most one row per run; that costs one probe per candidate run,
which is why a filter that narrows the candidates makes such a sort faster.

MLflow's semantics kept: a metric condition reads the latest value and ignores NaN except for
``!=`` (NaN differs from everything); a run lacking the key never matches a comparison; runs
lacking a sort value come last in both directions (NaN metrics just before them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Integer,
    and_,
    case,
    cast,
    false,
    literal_column,
    null,
    or_,
    select,
    true,
)

from clew.core import paging, schema
from clew.core.errors import InvalidInput
from clew.tracking.model import ViewType
from clew.tracking.search.fields import ATTRIBUTE, DATASET, METRIC, PARAM, TAG
from clew.tracking.search.grammar import (
    And,
    Comparison,
    Node,
    Or,
    OrderTerm,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_filter,
    parse_order_by,
)
from clew.tracking.search.hints import unindexed_number, unindexed_text
from clew.tracking.search.plan import SearchPlan, SortKey, ValueType, after, plan, read_cursor
from clew.tracking.search.semijoin import having

__all__ = ["SearchPlan", "compile_experiment_search", "compile_run_count", "compile_run_search"]

MAX_RESULTS_LIMIT = 50_000
MAX_ORDER_BY = 10

C, CT = schema.contexts, schema.context_tags
E, EP, ET, LM = (
    schema.executions,
    schema.execution_params,
    schema.execution_tags,
    schema.latest_metrics,
)
A, EV = schema.artifacts, schema.events

EXPERIMENT = "experiment"
# Sort ranks are constants of the query's shape, written inline so ORDER BY repeats no params.
RANK = [literal_column(str(n), Integer) for n in range(3)]

RUN_COLUMNS: dict[str, tuple[Column[Any], ValueType]] = {
    "run_id": (E.c.id, "str"),
    "run_name": (E.c.name, "str"),
    "user_id": (E.c.user_id, "str"),
    "status": (E.c.status, "str"),
    "artifact_uri": (E.c.artifact_uri, "str"),
    "lifecycle_stage": (E.c.lifecycle_stage, "str"),
    "experiment_id": (E.c.context_id, "int"),
    "start_time": (E.c.start_time, "int"),
    "end_time": (E.c.end_time, "int"),
}
EXPERIMENT_COLUMNS: dict[str, tuple[Column[Any], ValueType]] = {
    "name": (C.c.name, "str"),
    "experiment_id": (C.c.id, "int"),
    "creation_time": (C.c.created_at, "int"),
    "last_update_time": (C.c.updated_at, "int"),
}
DATASET_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": A.c.name,
    "digest": A.c.digest,
    "context": EV.c.name,  # how the run used it: "training", "evaluation" …
}


def compile_run_search(
    *,
    experiment_ids: Sequence[int] | None,
    filter_string: str,
    order_by: Sequence[str],
    view_type: ViewType,
    max_results: int,
    page_token: str | None,
) -> SearchPlan:
    """Plan a run search; ``experiment_ids=None`` searches every experiment.

    Raises:
        InvalidFilter: the filter or an order_by clause does not parse or type-check.
        InvalidInput: ``max_results`` out of 1..50,000 or too many order_by clauses.
        InvalidPageToken: the token is malformed or belongs to another query.
    """
    order_by = _check_limits(max_results, order_by)
    node = parse_filter(filter_string or "")
    terms = [parse_order_by(clause) for clause in order_by]
    view = _view(view_type)
    scope = None if experiment_ids is None else _experiment_scope(experiment_ids)
    query = _run_candidates(view, scope, node, indexed=True)
    keys: list[SortKey] = []
    for term in terms:
        query, term_keys = _run_sort(query, term)
        keys += term_keys
    tail = _tail_keys(terms)
    keys += tail
    fingerprint = paging.fingerprint("runs", repr(node), repr(terms), scope, view.value)
    full = plan(
        query, keys=keys, max_results=max_results, fingerprint=fingerprint, page_token=page_token
    )
    if not terms or terms[0].entity != METRIC:
        return full
    cursor = read_cursor(page_token, full.fingerprint, full.keys) if page_token else None
    if cursor is not None and cursor[0] != 0:
        return full  # already past every run that has the metric
    lm = LM.alias()
    on_sort_key, rest = _split_sort_metric(node, terms[0].key)
    walked = [
        lm.c.key == terms[0].key,
        lm.c.is_nan == false(),
        *(_compare(lm.c.value, c.op, float(c.value)) for c in on_sort_key),  # type: ignore[arg-type]
    ]
    base = _run_candidates(view, scope, rest, indexed=False)
    base = base.join(lm, lm.c.execution_id == E.c.id).where(*walked)

    def walk() -> Any:
        probe = _run_candidates(view, scope, rest, indexed=False, hide="probe")
        return _metric_walk(full, probe, lm, walked, terms, tail, cursor)

    fast = _metric_first(full, base, lm, terms, tail, cursor)
    return replace(fast, fast_postgres=walk)


def compile_run_count(
    *, experiment_ids: Sequence[int] | None, filter_string: str, view_type: ViewType
) -> Any:
    """The ids of every run a search with these scope, filter and view finds, unordered and
    unpaged: :func:`compile_run_search`'s candidates, so a count and the search it sizes
    always agree. ``experiment_ids=None`` is every experiment.

    Raises:
        InvalidFilter: the filter does not parse or type-check.
    """
    node = parse_filter(filter_string or "")
    scope = None if experiment_ids is None else _experiment_scope(experiment_ids)
    return _run_candidates(_view(view_type), scope, node, indexed=True)


_RANGE_OPS = frozenset({"=", "<", "<=", ">", ">="})


def _split_sort_metric(node: Node | None, key: str) -> tuple[list[Comparison], Node | None]:
    """Top-level ANDed comparisons on the sort metric, and what is left of the filter.

    Those comparisons become a range on the metric index that already drives the query,
    instead of a semi-join that lists every run matching them.
    """
    parts = list(node.terms) if isinstance(node, And) else [] if node is None else [node]
    on_key = [
        p
        for p in parts
        if isinstance(p, Comparison) and p.entity == METRIC and p.key == key and p.op in _RANGE_OPS
    ]
    rest = [p for p in parts if p not in on_key]
    if not rest:
        return on_key, None
    return on_key, rest[0] if len(rest) == 1 else And(tuple(rest))


Hide = Literal["sqlite", "probe"]


def _run_candidates(
    view: ViewType,
    scope: list[int] | None,
    node: Node | None,
    *,
    indexed: bool,
    hide: Hide = "sqlite",
) -> Any:
    """Run ids in the view, the experiments and the filter.

    ``indexed=False`` keeps the planner from driving the query from the executions indexes
    (``hints``): a caller that joins a table already in sort order wants that table as the
    outer loop. ``hide`` says how: for SQLite only (``hints.Unindexed``), or, for a query that
    probes one run at a time (``_metric_walk``), on every backend and for the child tables'
    ``(key, value)`` indexes too, so that each probe can only go through primary keys.
    """
    stage: ColumnElement[Any] = E.c.lifecycle_stage
    experiment: ColumnElement[Any] = E.c.context_id
    comparison: Any = _run_comparison
    if not indexed and hide == "sqlite":
        stage, experiment = unindexed_text(stage), unindexed_number(experiment)
    elif not indexed:
        stage, experiment = stage.concat(""), experiment + 0
        comparison = _probe_comparison
    query = select(E.c.id).where(_equals_any(stage, _stages(view)))
    if scope is not None:
        query = query.where(_equals_any(experiment, scope))
    if node is not None:
        query = query.where(_condition(node, comparison))
    return query


def _tail_keys(terms: Sequence[OrderTerm]) -> list[SortKey]:
    """start_time DESC unless ordered by it already, then the id: the order is always total."""
    keys = []
    if not any(t.entity == ATTRIBUTE and t.key == "start_time" for t in terms):
        keys.append(SortKey(E.c.start_time, False, "int"))
    keys.append(SortKey(E.c.id, True, "str"))
    return keys


def _metric_first(
    full: SearchPlan,
    base: Any,
    lm: Any,
    terms: Sequence[OrderTerm],
    tail: list[SortKey],
    cursor: list[Any] | None,
) -> SearchPlan:
    """Ordering by a metric first: read the runs that have a value from the metric's index.

    The general plan left-joins every candidate run to its metric and sorts them all, because
    runs without the metric (rank 2) or with NaN (rank 1) sort after the rest. Rank-0 rows are
    a prefix of that order, and an inner join driven by ``latest_metrics(key, is_nan, value)``
    reads them already sorted and stops at the page's end. Only when they run out does the
    general plan run, restricted to ranks 1 and 2. ``cursor``: a rank-0 one, or None.
    """
    query = base
    keys = [SortKey(lm.c.value, terms[0].ascending, "float")]
    for term in terms[1:]:
        query, term_keys = _run_sort(query, term)
        keys += term_keys
    keys += tail
    statement = _rank_zero(full, query, keys, cursor, E.c.id)
    # After every rank-0 row (the cursor, if any, is one of them): ranks 1 and 2 only.
    rest = full.statement.where(full.keys[0].expr > RANK[0])
    return replace(full, fast=statement, remainder=rest)


def _metric_walk(
    full: SearchPlan,
    probe: Any,
    lm: Any,
    walked: Sequence[ColumnElement[bool]],
    terms: Sequence[OrderTerm],
    tail: list[SortKey],
    cursor: list[Any] | None,
) -> Any:
    """PostgreSQL's rank-0 statement: the metric index walked in order, one probe per row.

    ``FROM latest_metrics JOIN LATERAL (SELECT … FROM executions WHERE id = execution_id AND
    <filter> LIMIT 1)``: the ``LIMIT`` keeps PostgreSQL from flattening the probe into a join
    it could reorder, so the walk is the outer loop by construction, not by estimate, and the
    probe (``hide="probe"``) can only read primary keys. The sort values the probe owns (later
    order_by terms, start_time) come out of it as columns; the cursor compares those columns.
    The rows have :func:`_metric_first`'s shape, so the two read each other's page tokens.
    """
    inner: list[SortKey] = []
    for term in terms[1:]:
        probe, term_keys = _run_sort(probe, term)
        inner += term_keys
    inner += tail[:-1]  # the tail ends with the id, which the probe selects first
    probe = probe.add_columns(*(k.expr.label(f"key_{i}") for i, k in enumerate(inner)))
    run = probe.where(E.c.id == lm.c.execution_id).limit(1).lateral("run")
    keys = [
        SortKey(lm.c.value, terms[0].ascending, "float"),
        *(replace(k, expr=run.c[f"key_{i}"]) for i, k in enumerate(inner)),
        replace(tail[-1], expr=run.c.id),
    ]
    query = select(run.c.id).select_from(lm).join(run, true()).where(*walked)
    return _rank_zero(full, query, keys, cursor, run.c.id)


def _rank_zero(
    full: SearchPlan,
    query: Any,
    keys: list[SortKey],
    cursor: list[Any] | None,
    run_id: ColumnElement[Any],
) -> Any:
    """``query`` ordered by ``keys`` (the metric's value first), in the general plan's row
    shape: the id, the (constant) rank 0, then the sort values; after ``cursor`` if given."""
    fast = plan(
        query,
        keys=keys,
        max_results=full.max_results,
        fingerprint=full.fingerprint,
        page_token=None,
    )
    sorts = (k.expr.label(f"sort_{i + 1}") for i, k in enumerate(keys[:-1]))
    statement = fast.statement.with_only_columns(run_id, RANK[0].label("sort_0"), *sorts)
    if cursor is not None:
        statement = statement.where(after(keys, cursor[1:]))
    return statement


def compile_experiment_search(
    *,
    filter_string: str,
    order_by: Sequence[str],
    view_type: ViewType,
    max_results: int,
    page_token: str | None,
    only_ids: Sequence[int] | None = None,
) -> SearchPlan:
    """Plan an experiment search; default order is newest first (MLflow's). ``only_ids``
    keeps it to those experiments (the ones the caller may read), in the query.

    Raises:
        InvalidFilter, InvalidInput, InvalidPageToken: as :func:`compile_run_search`.
    """
    order_by = _check_limits(max_results, order_by)
    view = _view(view_type)
    node = parse_experiment_filter(filter_string or "")
    terms = [parse_experiment_order_by(clause) for clause in order_by]
    query = select(C.c.id).where(
        C.c.type == EXPERIMENT, _equals_any(C.c.lifecycle_stage, _stages(view))
    )
    if node is not None:
        query = query.where(_condition(node, _experiment_comparison))
    if only_ids is not None:
        query = query.where(C.c.id.in_(list(only_ids)))
    keys = [
        SortKey(EXPERIMENT_COLUMNS[t.key][0], t.ascending, EXPERIMENT_COLUMNS[t.key][1])
        for t in terms
    ]
    if not terms:
        keys.append(SortKey(C.c.created_at, False, "int"))
    keys.append(SortKey(C.c.id, True, "int"))
    scope = "" if only_ids is None else repr(sorted(only_ids))
    fingerprint = paging.fingerprint("experiments", repr(node), repr(terms), view.value, scope)
    return plan(
        query, keys=keys, max_results=max_results, fingerprint=fingerprint, page_token=page_token
    )


def _check_limits(max_results: int, order_by: Sequence[str] | None) -> Sequence[str]:
    """Validate paging and ordering sizes; ``None`` order_by is the default order."""
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InvalidInput(f"max_results must be an integer, not {max_results!r}")
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise InvalidInput(
            f"max_results must be between 1 and {MAX_RESULTS_LIMIT}, not {max_results}"
        )
    order_by = order_by or ()
    if isinstance(order_by, str) or len(order_by) > MAX_ORDER_BY:
        raise InvalidInput(f"order_by takes a list of at most {MAX_ORDER_BY} clauses")
    return order_by


def _view(view_type: ViewType | str) -> ViewType:
    try:
        return ViewType(view_type)
    except ValueError:
        choices = ", ".join(v.value for v in ViewType)
        raise InvalidInput(f"view_type must be one of {choices}, not {view_type!r}") from None


def _experiment_scope(experiment_ids: Sequence[int]) -> list[int]:
    try:
        return sorted({int(i) for i in experiment_ids})
    except (TypeError, ValueError):
        raise InvalidInput(f"experiment ids must be integers: {experiment_ids!r}") from None


def _stages(view: ViewType) -> list[str]:
    """Plain strings: a driver may adapt an Enum member by its name rather than its value."""
    return [str(stage) for stage in view.stages()]


def _equals_any(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``=`` for one value: SQLite can then also read an index in order for the ORDER BY."""
    if len(values) == 1:
        return column == values[0]
    return column.in_(list(values))


# ---- conditions --------------------------------------------------------------------------------


def _condition(node: Node, comparison: Any) -> ColumnElement[bool]:
    if isinstance(node, And):
        return and_(*(_condition(t, comparison) for t in node.terms))
    if isinstance(node, Or):
        return or_(*(_condition(t, comparison) for t in node.terms))
    result: ColumnElement[bool] = comparison(node)
    return result


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """``column op value`` with ``value`` bound. LIKE escapes with a backslash on both backends
    (PostgreSQL's default, which SQLite only has when told), so ``'50\\%'`` means "50%"."""
    if isinstance(value, float) and isinstance(column.type, Integer):
        column = cast(column, Float)  # start_time > 1.5: compare as numbers, not truncated
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return column.like(value, escape="\\")
    if op == "ILIKE":
        return column.ilike(value, escape="\\")
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    raise AssertionError(f"unhandled operator {op!r}")  # the grammar admits no other


def _run_comparison(c: Comparison, *, probe: bool = False) -> ColumnElement[bool]:
    """``probe``: child values wrapped (``value || ''``, ``value + 0``) so that no
    ``(key, value)`` index competes with the primary key ``(execution_id, key)``, which
    PostgreSQL's default estimates would otherwise price the same (``_metric_walk``)."""
    if c.entity == ATTRIBUTE:
        return _compare(RUN_COLUMNS[c.key][0], c.op, c.value)
    if c.entity in (PARAM, TAG):
        table = EP if c.entity == PARAM else ET
        value = table.c.value.concat("") if probe else table.c.value
        return _keyed(E.c.id, table.c.execution_id, table.c.key == c.key, value, c)
    if c.entity == METRIC:
        return _metric(c, LM.c.value + 0.0 if probe else LM.c.value)
    if c.entity == DATASET:
        return having(
            E.c.id,
            EV.c.execution_id,
            EV.c.type == "INPUT",
            A.c.type == "dataset",
            _compare(DATASET_COLUMNS[c.key], c.op, c.value),
            source=EV.join(A, A.c.id == EV.c.artifact_id),
        )
    raise AssertionError(f"unhandled entity {c.entity!r}")


def _keyed(
    owner: ColumnElement[Any],
    child: ColumnElement[Any],
    key: ColumnElement[bool],
    value: ColumnElement[Any],
    c: Comparison,
) -> ColumnElement[bool]:
    """A key/value child row: ``IS NULL`` means the key is absent; other operators need it."""
    if c.op == "IS NULL":
        return having(owner, child, key, negate=True)
    if c.op == "IS NOT NULL":
        return having(owner, child, key)
    return having(owner, child, key, _compare(value, c.op, c.value))


def _metric(c: Comparison, column: ColumnElement[float]) -> ColumnElement[bool]:
    key = LM.c.key == c.key
    if c.op in ("IS NULL", "IS NOT NULL"):
        return _keyed(E.c.id, LM.c.execution_id, key, column, c)
    value = float(c.value)  # type: ignore[arg-type]
    if c.op == "!=":
        matches = or_(LM.c.is_nan == true(), column != value)
    else:
        matches = and_(LM.c.is_nan == false(), _compare(column, c.op, value))
    return having(E.c.id, LM.c.execution_id, key, matches)


def _probe_comparison(c: Comparison) -> ColumnElement[bool]:
    return _run_comparison(c, probe=True)


def _experiment_comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity == ATTRIBUTE:
        return _compare(EXPERIMENT_COLUMNS[c.key][0], c.op, c.value)
    if c.entity == TAG:
        return _keyed(C.c.id, CT.c.context_id, CT.c.key == c.key, CT.c.value, c)
    raise AssertionError(f"unhandled entity {c.entity!r}")


# ---- ordering ----------------------------------------------------------------------------------


def _run_sort(query: Any, term: OrderTerm) -> tuple[Any, list[SortKey]]:
    """The sort keys of one order_by term, joining the child table it reads if any."""
    asc = term.ascending
    if term.entity == ATTRIBUTE:
        column, kind = RUN_COLUMNS[term.key]
        if not column.nullable:
            return query, [SortKey(column, asc, kind)]
        missing = case((column.is_(None), RANK[1]), else_=RANK[0])
        return query, [SortKey(missing, True, "int"), SortKey(column, asc, kind, nullable=True)]
    if term.entity == METRIC:
        lm = LM.alias()
        query = query.outerjoin(lm, and_(lm.c.execution_id == E.c.id, lm.c.key == term.key))
        rank = case(
            (lm.c.execution_id.is_(None), RANK[2]), (lm.c.is_nan == true(), RANK[1]), else_=RANK[0]
        )
        value = case((lm.c.is_nan == true(), null()), else_=lm.c.value)
        return query, [SortKey(rank, True, "int"), SortKey(value, asc, "float", nullable=True)]
    table = (EP if term.entity == PARAM else ET).alias()
    query = query.outerjoin(table, and_(table.c.execution_id == E.c.id, table.c.key == term.key))
    missing = case((table.c.value.is_(None), RANK[1]), else_=RANK[0])
    return query, [SortKey(missing, True, "int"), SortKey(table.c.value, asc, "str", nullable=True)]


# ---- building blocks other searches compile with (registry/logged_search.py) --------------------
# One meaning for each operator, for "a key/value child row matches" and for the paging limits,
# whichever table is searched.
compare = _compare
condition = _condition
keyed = _keyed
check_limits = _check_limits
equals_any = _equals_any
