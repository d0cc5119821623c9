"""The search grammar without a database: what parses to which AST, and what is refused where."""

from __future__ import annotations

import doctest

import pytest

from clew.core.errors import InvalidFilter
from clew.tracking.search import grammar
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


def C(entity: str, key: str, op: str, value: object) -> Comparison:
    return Comparison(entity, key, op, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", None, id="empty"),
        pytest.param("   \n\t", None, id="blank"),
        # every operator
        pytest.param("metrics.acc = 1", C("metric", "acc", "=", 1), id="metric-eq"),
        pytest.param("metrics.acc != 1", C("metric", "acc", "!=", 1), id="metric-ne"),
        pytest.param("metrics.acc < 0.5", C("metric", "acc", "<", 0.5), id="metric-lt"),
        pytest.param("metrics.acc <= 0.5", C("metric", "acc", "<=", 0.5), id="metric-le"),
        pytest.param("metrics.acc > -2", C("metric", "acc", ">", -2), id="metric-gt-negative"),
        pytest.param("metrics.acc >= 1e-3", C("metric", "acc", ">=", 0.001), id="metric-ge-sci"),
        pytest.param("metrics.acc>=.5", C("metric", "acc", ">=", 0.5), id="no-spaces"),
        pytest.param("metrics.acc < 2.5E+2", C("metric", "acc", "<", 250.0), id="sci-upper"),
        pytest.param("metrics.acc IS NULL", C("metric", "acc", "IS NULL", None), id="metric-null"),
        pytest.param(
            "metrics.acc is not null", C("metric", "acc", "IS NOT NULL", None), id="not-null-lower"
        ),
        pytest.param("params.lr = '0.1'", C("param", "lr", "=", "0.1"), id="param-eq"),
        pytest.param('params.lr != "0.1"', C("param", "lr", "!=", "0.1"), id="param-ne-dq"),
        pytest.param("params.lr LIKE '0.%'", C("param", "lr", "LIKE", "0.%"), id="like"),
        pytest.param("params.lr ilike '0.%'", C("param", "lr", "ILIKE", "0.%"), id="ilike"),
        pytest.param(
            "params.lr IN ('0.1', \"0.2\")", C("param", "lr", "IN", ("0.1", "0.2")), id="in"
        ),
        pytest.param("params.lr NOT IN ('0.1')", C("param", "lr", "NOT IN", ("0.1",)), id="not-in"),
        pytest.param("tags.t IS NULL", C("tag", "t", "IS NULL", None), id="tag-null"),
        # entity aliases and keys
        pytest.param("metric.acc = 1", C("metric", "acc", "=", 1), id="alias-metric"),
        pytest.param("param.lr = 'x'", C("param", "lr", "=", "x"), id="alias-param"),
        pytest.param("parameters.lr = 'x'", C("param", "lr", "=", "x"), id="alias-parameters"),
        pytest.param("tag.t = 'x'", C("tag", "t", "=", "x"), id="alias-tag"),
        pytest.param("TAGS.t = 'x'", C("tag", "t", "=", "x"), id="entity-case"),
        pytest.param("tags.Team = 'x'", C("tag", "Team", "=", "x"), id="key-keeps-case"),
        pytest.param(
            "tags.mlflow.runName = 'x'", C("tag", "mlflow.runName", "=", "x"), id="dotted-key"
        ),
        pytest.param(
            "params.model/lr-rate = 'x'", C("param", "model/lr-rate", "=", "x"), id="slash-dash"
        ),
        pytest.param(
            "metrics.`f1 score` > 0", C("metric", "f1 score", ">", 0), id="backticked-key"
        ),
        pytest.param(
            'metrics."f1 score" > 0', C("metric", "f1 score", ">", 0), id="double-quoted-key"
        ),
        pytest.param(
            "params.`a``b` = 'x'", C("param", "a`b", "=", "x"), id="doubled-backtick-in-key"
        ),
        # attributes
        pytest.param("attributes.status = 'FINISHED'", C("attribute", "status", "=", "FINISHED")),
        pytest.param("attr.run_id = 'x'", C("attribute", "run_id", "=", "x"), id="alias-attr"),
        pytest.param("attribute.user_id = 'x'", C("attribute", "user_id", "=", "x")),
        pytest.param("run.run_name = 'x'", C("attribute", "run_name", "=", "x"), id="alias-run"),
        pytest.param("status = 'FAILED'", C("attribute", "status", "=", "FAILED"), id="bare"),
        pytest.param(
            "attributes.\"run name\" = 'x'", C("attribute", "run_name", "=", "x"), id="run-name"
        ),
        pytest.param("`Run name` = 'x'", C("attribute", "run_name", "=", "x"), id="run-name-bt"),
        pytest.param("created > 5", C("attribute", "start_time", ">", 5), id="created"),
        pytest.param("end_time IS NULL", C("attribute", "end_time", "IS NULL", None)),
        pytest.param(
            "attributes.artifact_uri LIKE 's3://%'",
            C("attribute", "artifact_uri", "LIKE", "s3://%"),
        ),
        pytest.param(
            "lifecycle_stage = 'deleted'", C("attribute", "lifecycle_stage", "=", "deleted")
        ),
        pytest.param(
            "attributes.experiment_id IN ('1', 2)",
            C("attribute", "experiment_id", "IN", (1, 2)),
            id="experiment-id-in",
        ),
        pytest.param("attributes.run_id IN ('a', 'b')", C("attribute", "run_id", "IN", ("a", "b"))),
        # datasets
        pytest.param("datasets.name = 'iris'", C("dataset", "name", "=", "iris")),
        pytest.param("dataset.digest IN ('d1')", C("dataset", "digest", "IN", ("d1",))),
        pytest.param("datasets.context ILIKE 'train%'", C("dataset", "context", "ILIKE", "train%")),
        # strings and escapes
        pytest.param("params.q = 'it''s'", C("param", "q", "=", "it's"), id="doubled-quote"),
        pytest.param("params.q = 'it\\'s'", C("param", "q", "=", "it's"), id="backslash-quote"),
        pytest.param('params.q = "say ""hi"""', C("param", "q", "=", 'say "hi"'), id="dq-doubled"),
        pytest.param("params.q = 'a\\\\'", C("param", "q", "=", "a\\"), id="escaped-backslash"),
        pytest.param("params.q = 'C:\\path'", C("param", "q", "=", "C:\\path"), id="other-bs"),
        pytest.param("params.q LIKE '50\\%'", C("param", "q", "LIKE", "50\\%"), id="like-escape"),
        pytest.param("params.q = ''", C("param", "q", "=", ""), id="empty-string"),
        pytest.param("params.q = 'AND OR ('", C("param", "q", "=", "AND OR ("), id="kw-in-str"),
        # big numbers become floats rather than overflowing a 64-bit column
        pytest.param("start_time > 99999999999999999999", C("attribute", "start_time", ">", 1e20)),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


A1, A2, A3 = (C("param", k, "=", "1") for k in "abc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("params.a = '1' AND params.b = '1'", And((A1, A2)), id="and"),
        pytest.param("params.a = '1' and params.b = '1' AnD params.c = '1'", And((A1, A2, A3))),
        pytest.param("params.a = '1' OR params.b = '1'", Or((A1, A2)), id="or"),
        pytest.param(
            "params.a = '1' OR params.b = '1' AND params.c = '1'",
            Or((A1, And((A2, A3)))),
            id="and-binds-tighter-right",
        ),
        pytest.param(
            "params.a = '1' AND params.b = '1' OR params.c = '1'",
            Or((And((A1, A2)), A3)),
            id="and-binds-tighter-left",
        ),
        pytest.param(
            "params.a = '1' AND (params.b = '1' OR params.c = '1')",
            And((A1, Or((A2, A3)))),
            id="parens-override",
        ),
        pytest.param("((params.a = '1'))", A1, id="redundant-parens"),
        pytest.param(
            "(params.a = '1' AND params.b = '1') AND params.c = '1'",
            And((A1, A2, A3)),
            id="flattened",
        ),
        pytest.param(
            "(params.a = '1' OR params.b = '1') OR (params.c = '1')",
            Or((A1, A2, A3)),
            id="flattened-or",
        ),
    ],
)
def test_precedence(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        # SQL injection attempts: refused by the grammar, not escaped into SQL
        pytest.param("params.x = '1' OR 1=1 --", 22, "unexpected character '-'", id="or-1-eq-1--"),
        pytest.param("params.x = '1' OR 1=1", 18, "expected an identifier", id="or-1-eq-1"),
        pytest.param("params.x = '1' OR '1'='1'", 18, "expected an identifier", id="or-str-eq"),
        pytest.param("params.x = '1' --", 15, "unexpected character '-'", id="comment"),
        pytest.param("params.x = '1'; DROP TABLE executions", 14, "';'", id="semicolon"),
        pytest.param("params.x = '1' UNION SELECT id FROM executions", 15, "'UNION'", id="union"),
        pytest.param("params.x = 1 OR TRUE", 11, "a quoted string", id="unquoted-number"),
        pytest.param("params.x = x", 11, "a quoted string", id="bare-word-value"),
        pytest.param("params.x = '1' /* c */", 15, "'/'", id="block-comment"),
        # malformed
        pytest.param("params.x = 'abc", 11, "unterminated ' quote", id="unbalanced-quote"),
        pytest.param('params.x = "abc', 11, 'unterminated " quote', id="unbalanced-dq"),
        pytest.param("metrics.`f1 = 1", 8, "unterminated ` quote", id="unbalanced-backtick"),
        pytest.param("(params.x = '1'", 15, "expected ')'", id="unclosed-paren"),
        pytest.param("params.x = '1')", 14, "unexpected ')'", id="extra-paren"),
        pytest.param("()", 1, "expected an identifier", id="empty-parens"),
        pytest.param("params.x = '1' params.y = '2'", 15, "unexpected 'params.y'", id="no-and"),
        pytest.param("params.x = '1' AND", 18, "expected an identifier", id="dangling-and"),
        pytest.param("OR params.x = '1'", 0, "expected an identifier", id="leading-or"),
        pytest.param("params.x = '1' garbage", 15, "unexpected 'garbage'", id="trailing"),
        pytest.param("params.x", 8, "expected an operator", id="no-operator"),
        pytest.param("params.x =", 10, "expected a quoted string", id="no-value"),
        pytest.param("params.x == '1'", 10, "got '='", id="double-eq"),
        pytest.param("params.x IN ()", 13, "empty list", id="empty-in"),
        pytest.param("params.x IN ('a',)", 17, "expected a quoted string", id="trailing-comma"),
        pytest.param("params.x IN 'a'", 12, "expected '('", id="in-without-list"),
        pytest.param("params.x IN ('a'", 16, "to close the IN list", id="unclosed-in"),
        pytest.param("params.x IS 'a'", 12, "expected NULL", id="is-value"),
        pytest.param("params.x NOT LIKE 'a'", 9, "expected an operator", id="not-like"),
        pytest.param("params. = 'a'", 7, "expected a key", id="empty-key"),
        pytest.param("params.`` = 'a'", 7, "empty key", id="empty-backticks"),
        pytest.param("metrics.acc > 1abc", 14, "malformed number", id="bad-number"),
        pytest.param("metrics.acc > 1.2.3", 14, "malformed number", id="two-dots"),
        pytest.param("params.x LIKE 'a\\\\'", 14, "escaping backslash", id="trailing-escape"),
        pytest.param("(" * 40 + "params.x = '1'" + ")" * 40, 32, "nested deeper", id="deep"),
        # unknown names
        pytest.param("foo.x = 1", 0, "unknown entity 'foo'", id="unknown-entity"),
        pytest.param("attributes.foo = 'x'", 0, "unknown attribute 'foo'", id="unknown-attr"),
        pytest.param("bogus = 'x'", 0, "unknown attribute 'bogus'", id="unknown-bare"),
        pytest.param("datasets.size = 'x'", 0, "unknown dataset 'size'", id="unknown-dataset"),
        pytest.param("1 = 1", 0, "expected an identifier", id="number-identifier"),
        pytest.param("'params.x' = '1'", 0, "expected an identifier", id="sq-identifier"),
        # types and operators
        pytest.param("metrics.acc = '1'", 14, "compares with a number", id="metric-string"),
        pytest.param("metrics.acc LIKE '1'", 12, "'LIKE' is not supported", id="metric-like"),
        pytest.param("metrics.acc IN (1)", 12, "'IN' is not supported", id="metric-in"),
        pytest.param("params.lr > '1'", 10, "'>' is not supported", id="param-gt"),
        pytest.param("params.lr = 1", 12, "compares with a quoted string", id="param-number"),
        pytest.param("tags.t < 'a'", 7, "'<' is not supported", id="tag-lt"),
        pytest.param("start_time = '5'", 13, "compares with a number", id="time-string"),
        pytest.param("start_time LIKE '5%'", 11, "not supported", id="time-like"),
        pytest.param("start_time IS NULL", 11, "not supported", id="start-time-null"),
        pytest.param("status > 'A'", 7, "not supported", id="string-attr-gt"),
        pytest.param("status = 1", 9, "compares with a quoted string", id="string-attr-number"),
        pytest.param("status IS NULL", 7, "not supported", id="string-attr-null"),
        pytest.param("attributes.experiment_id = 'abc'", 27, "integer ids", id="bad-exp-id"),
        pytest.param("experiment_id LIKE '1%'", 14, "not supported", id="exp-id-like"),
        pytest.param("datasets.name IS NULL", 14, "not supported", id="dataset-null"),
        pytest.param("datasets.name > 'a'", 14, "not supported", id="dataset-gt"),
    ],
)
def test_rejects(text: str, position: int, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    error = info.value
    assert error.code == "INVALID_FILTER"
    assert error.status == 400
    assert fragment in error.message
    assert error.details["position"] == position
    assert error.message.startswith(f"Invalid filter at position {position}: ")


def test_error_names_the_offending_token() -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_filter("params.a = '1' AND metrics.b LIKE 'x'")
    assert info.value.details == {"position": 29, "token": "LIKE"}
    assert "'metrics.b'" in info.value.message
    assert info.value.to_dict()["code"] == "INVALID_FILTER"


def test_limits() -> None:
    many = " OR ".join(f"params.k{i} = 'v'" for i in range(grammar.MAX_COMPARISONS + 1))
    with pytest.raises(InvalidFilter, match="more than"):
        parse_filter(many)
    with pytest.raises(InvalidFilter, match="longer than"):
        parse_filter("params.x = '" + "a" * 100_001 + "'")
    values = ", ".join(f"'{i}'" for i in range(grammar.MAX_VALUES + 1))
    with pytest.raises(InvalidFilter, match="values in IN lists"):
        parse_filter(f"attributes.run_id IN ({values})")


def test_non_string_filter_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidFilter):
        parse_filter(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        pytest.param("metrics.acc DESC", OrderTerm("metric", "acc", False)),
        pytest.param("metrics.acc desc", OrderTerm("metric", "acc", False), id="lowercase"),
        pytest.param("params.`lr`", OrderTerm("param", "lr", True), id="backticked"),
        pytest.param("params.lr ASC", OrderTerm("param", "lr", True)),
        pytest.param("attributes.start_time ASC", OrderTerm("attribute", "start_time", True)),
        pytest.param("start_time", OrderTerm("attribute", "start_time", True), id="bare"),
        pytest.param("created DESC", OrderTerm("attribute", "start_time", False), id="created"),
        pytest.param("tags.x", OrderTerm("tag", "x", True)),
        pytest.param("`Run name` DESC", OrderTerm("attribute", "run_name", False)),
        pytest.param("attr.end_time", OrderTerm("attribute", "end_time", True)),
        pytest.param("metrics.`f1 score` DESC", OrderTerm("metric", "f1 score", False)),
    ],
)
def test_order_by(clause: str, expected: OrderTerm) -> None:
    assert parse_order_by(clause) == expected


@pytest.mark.parametrize(
    "clause",
    [
        pytest.param("", id="empty"),
        pytest.param("metrics.acc DESC ASC", id="two-directions"),
        pytest.param("metrics.acc DESC; DROP TABLE executions", id="injection"),
        pytest.param("datasets.name", id="dataset-not-orderable"),
        pytest.param("foo.bar", id="unknown-entity"),
        pytest.param("nope", id="unknown-attribute"),
        pytest.param("metrics.acc, params.lr", id="comma"),
        pytest.param("'start_time'", id="single-quoted"),
    ],
)
def test_order_by_rejects(clause: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_order_by(clause)
    assert info.value.code == "INVALID_FILTER"
    assert info.value.message.startswith("Invalid order_by clause at position")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("name = 'x'", C("attribute", "name", "=", "x")),
        pytest.param("attributes.name LIKE '%exp%'", C("attribute", "name", "LIKE", "%exp%")),
        pytest.param("experiment_id IN ('1', '2')", C("attribute", "experiment_id", "IN", (1, 2))),
        pytest.param("creation_time >= 10", C("attribute", "creation_time", ">=", 10)),
        pytest.param("last_update_time < 10", C("attribute", "last_update_time", "<", 10)),
        pytest.param(
            "name ILIKE 'a%' OR (tags.team = 'ml' AND tags.x IS NULL)",
            Or(
                (
                    C("attribute", "name", "ILIKE", "a%"),
                    And((C("tag", "team", "=", "ml"), C("tag", "x", "IS NULL", None))),
                )
            ),
            id="or-parens",
        ),
    ],
)
def test_experiment_filter(text: str, expected: object) -> None:
    assert parse_experiment_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("metrics.acc > 1", id="metrics"),
        pytest.param("params.lr = 'x'", id="params"),
        pytest.param("datasets.name = 'x'", id="datasets"),
        pytest.param("status = 'x'", id="run-attribute"),
        pytest.param("name > 'x'", id="name-gt"),
        pytest.param("creation_time = 'x'", id="time-string"),
    ],
)
def test_experiment_filter_rejects(text: str) -> None:
    with pytest.raises(InvalidFilter):
        parse_experiment_filter(text)


def test_experiment_order_by() -> None:
    assert parse_experiment_order_by("name") == OrderTerm("attribute", "name", True)
    assert parse_experiment_order_by("experiment_id DESC") == OrderTerm(
        "attribute", "experiment_id", False
    )
    assert parse_experiment_order_by("last_update_time DESC").key == "last_update_time"
    assert parse_experiment_order_by("creation_time").key == "creation_time"
    with pytest.raises(InvalidFilter):
        parse_experiment_order_by("tags.x")
    with pytest.raises(InvalidFilter):
        parse_experiment_order_by("start_time")


def test_module_example_runs() -> None:
    assert doctest.testmod(grammar).failed == 0
