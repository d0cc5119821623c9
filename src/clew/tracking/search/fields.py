"""What may be searched: the entities, names, operators and value types of each search.

The parser is one piece of code driven by a :class:`Vocabulary`, so run search and experiment
search cannot drift apart in how they read ``AND``, quoting or ``IN`` lists, and adding a
searchable attribute is one line here plus its column in ``compile``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

METRIC, PARAM, TAG, ATTRIBUTE, DATASET = "metric", "param", "tag", "attribute", "dataset"

NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
ID_OPS = frozenset({"=", "!=", "IN", "NOT IN"})
LIST_OPS = frozenset({"IN", "NOT IN"})
PATTERN_OPS = frozenset({"LIKE", "ILIKE"})

# Operators in the order error messages list them.
OP_ORDER = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
)


class ValueKind(enum.Enum):
    NUMBER = "a number"
    STRING = "a quoted string"
    ID = "an integer id"  # quoted or bare, e.g. experiment_id IN ('1', 2)


@dataclass(frozen=True, slots=True)
class Field:
    """One searchable thing: which values it compares with and through which operators."""

    kind: ValueKind
    ops: frozenset[str]
    orderable: bool = True

    def ops_text(self) -> str:
        return ", ".join(op for op in OP_ORDER if op in self.ops)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The language of one search.

    Attributes:
        what: the searched things, for messages ("runs").
        aliases: every accepted entity prefix (lowercase) to its canonical entity.
        keyed: entities whose key is free-form (``metrics.<any key>``), with their one Field.
        named: entities with a fixed set of names, canonical name to Field.
        name_aliases: extra spellings of names (``created`` is ``start_time``).
        bare: the entity of an identifier written without a prefix.
    """

    what: str
    aliases: Mapping[str, str]
    keyed: Mapping[str, Field]
    named: Mapping[str, Mapping[str, Field]]
    name_aliases: Mapping[str, str]
    bare: str = ATTRIBUTE


def normalize_name(name: str) -> str:
    """Attribute names are matched leniently: ``Run name``, ``run name`` and ``run_name``."""
    return "_".join(name.strip().lower().replace("-", " ").split())


_STRING = Field(ValueKind.STRING, STRING_OPS)
_STRING_OR_NULL = Field(ValueKind.STRING, STRING_OPS | NULL_OPS)
_NUMBER = Field(ValueKind.NUMBER, NUMERIC_OPS)
_ID = Field(ValueKind.ID, ID_OPS)

RUNS = Vocabulary(
    what="runs",
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
        "run": ATTRIBUTE,
        "datasets": DATASET,
        "dataset": DATASET,
    },
    keyed={
        METRIC: Field(ValueKind.NUMBER, NUMERIC_OPS | NULL_OPS),
        PARAM: _STRING_OR_NULL,
        TAG: _STRING_OR_NULL,
    },
    named={
        ATTRIBUTE: {
            "run_id": _STRING,
            "run_name": _STRING,
            "user_id": _STRING,
            "status": _STRING,
            "artifact_uri": _STRING,
            "lifecycle_stage": _STRING,
            "experiment_id": _ID,
            "start_time": _NUMBER,
            # end_time is NULL while a run is running, so it may be asked about.
            "end_time": Field(ValueKind.NUMBER, NUMERIC_OPS | NULL_OPS),
        },
        DATASET: {
            "name": Field(ValueKind.STRING, STRING_OPS, orderable=False),
            "digest": Field(ValueKind.STRING, STRING_OPS, orderable=False),
            "context": Field(ValueKind.STRING, STRING_OPS, orderable=False),
        },
    },
    name_aliases={"created": "start_time", "runname": "run_name", "id": "run_id"},
)

EXPERIMENTS = Vocabulary(
    what="experiments",
    aliases={
        "tags": TAG,
        "tag": TAG,
        "attributes": ATTRIBUTE,
        "attribute": ATTRIBUTE,
        "attr": ATTRIBUTE,
    },
    keyed={TAG: Field(ValueKind.STRING, STRING_OPS | NULL_OPS, orderable=False)},
    named={
        ATTRIBUTE: {
            "name": _STRING,
            "experiment_id": _ID,
            "creation_time": _NUMBER,
            "last_update_time": _NUMBER,
        }
    },
    name_aliases={
        "id": "experiment_id",
        "creation_timestamp": "creation_time",
        "last_updated_timestamp": "last_update_time",
        "last_update_timestamp": "last_update_time",
    },
)
