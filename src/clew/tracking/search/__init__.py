"""Run and experiment search: MLflow's filter grammar (plus OR and parentheses) compiled to SQL.

``grammar`` turns text into a typed AST, ``compile`` turns the AST into a SQLAlchemy Core
``Select`` with keyset paging (``plan``). The tracking store runs the statement and hands the
rows back to :meth:`SearchPlan.page` for the page's ids and the next page token.
"""

from __future__ import annotations

from clew.tracking.search.compile import (
    compile_experiment_search,
    compile_run_count,
    compile_run_search,
)
from clew.tracking.search.grammar import (
    And,
    Comparison,
    Or,
    OrderTerm,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_filter,
    parse_order_by,
)
from clew.tracking.search.plan import SearchPlan

__all__ = [
    "And",
    "Comparison",
    "Or",
    "OrderTerm",
    "SearchPlan",
    "compile_experiment_search",
    "compile_run_count",
    "compile_run_search",
    "parse_experiment_filter",
    "parse_experiment_order_by",
    "parse_filter",
    "parse_order_by",
]
