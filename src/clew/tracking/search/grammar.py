"""The search grammar: MLflow's filter language plus ``OR`` and parentheses, parsed to an AST.

Recursive descent over the tokens of :mod:`.lexer`; no SQL is produced here, so the grammar can
be tested without a database and the compiler never sees unchecked text. Every comparison is
type-checked against a :class:`~.fields.Vocabulary` while parsing, so a bad filter fails with
the position of the token at fault instead of as a database error later::

    expr       := and_expr ("OR" and_expr)*
    and_expr   := primary ("AND" primary)*          -- AND binds tighter than OR
    primary    := "(" expr ")" | comparison
    comparison := identifier operator value
    operator   := = != < <= > >= LIKE ILIKE IN | NOT IN | IS NULL | IS NOT NULL
    value      := string | number | "(" value ("," value)* ")"

Example:
    >>> parse_filter("metrics.acc > 0.9 OR params.lr = '0.1'")
    Or(terms=(Comparison(entity='metric', key='acc', op='>', value=0.9), \
Comparison(entity='param', key='lr', op='=', value='0.1')))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clew.tracking.search.fields import (
    EXPERIMENTS,
    LIST_OPS,
    NULL_OPS,
    PATTERN_OPS,
    RUNS,
    Field,
    ValueKind,
    Vocabulary,
    normalize_name,
)
from clew.tracking.search.lexer import Kind, Token, fail, tokenize

MAX_DEPTH = 32
MAX_COMPARISONS = 200
MAX_VALUES = 10_000

Scalar = str | int | float
Value = Scalar | tuple[Scalar, ...] | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """``entity.key op value``; ``value`` is a tuple for IN lists and None for IS [NOT] NULL."""

    entity: str
    key: str
    op: str
    value: Value


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[Node, ...]


Node = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderTerm:
    entity: str
    key: str
    ascending: bool = True


def parse_filter(text: str) -> Node | None:
    """Parse a run filter; an empty or blank filter is ``None`` (match everything)."""
    return _Parser(text, RUNS, "filter").parse()


def parse_experiment_filter(text: str) -> Node | None:
    """Parse an experiment filter (``name``, ``experiment_id``, times and ``tags.<k>``)."""
    return _Parser(text, EXPERIMENTS, "filter").parse()


def parse_order_by(clause: str) -> OrderTerm:
    """Parse one run order-by clause such as ``metrics.acc DESC`` or ``start_time``."""
    return _Parser(clause, RUNS, "order_by clause").parse_order_term()


def parse_experiment_order_by(clause: str) -> OrderTerm:
    """Parse one experiment order-by clause: name, experiment_id, creation/last_update_time."""
    return _Parser(clause, EXPERIMENTS, "order_by clause").parse_order_term()


def parse_filter_in(vocabulary: Vocabulary, text: str) -> Node | None:
    """Parse a filter in another search's language (logged models use this)."""
    return _Parser(text, vocabulary, "filter").parse()


def parse_order_by_in(vocabulary: Vocabulary, clause: str) -> OrderTerm:
    """Parse one order-by clause in another search's language."""
    return _Parser(clause, vocabulary, "order_by clause").parse_order_term()


_ID_TEXT = re.compile(r"[0-9]{1,18}")


class _Parser:
    def __init__(self, text: str, vocabulary: Vocabulary, what: str) -> None:
        if not isinstance(text, str):
            raise fail("expected a string", 0, repr(text)[:20], what)
        self.vocabulary = vocabulary
        self.what = what
        self.tokens = tokenize(text, what)
        self.i = 0
        self.depth = 0
        self.comparisons = 0
        self.values = 0

    # ---- token stream ------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind is not Kind.END:
            self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind is Kind.KEYWORD and self.current.value in words

    def expect(self, kind: Kind, context: str) -> Token:
        if self.current.kind is not kind:
            raise self.error(f"expected {kind.value} {context}, got {self.current.describe()}")
        return self.advance()

    def error(self, message: str, token: Token | None = None) -> Exception:
        token = token or self.current
        return fail(message, token.pos, token.text, self.what)

    # ---- filters -----------------------------------------------------------------------------

    def parse(self) -> Node | None:
        if self.current.kind is Kind.END:
            return None
        node = self.parse_or()
        if self.current.kind is not Kind.END:
            raise self.error(
                f"unexpected {self.current.describe()} after a complete condition "
                "(conditions are joined with AND or OR)"
            )
        return node

    def parse_or(self) -> Node:
        terms = [self.parse_and()]
        while self.at_keyword("OR"):
            self.advance()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else Or(_flatten(Or, terms))

    def parse_and(self) -> Node:
        terms = [self.parse_primary()]
        while self.at_keyword("AND"):
            self.advance()
            terms.append(self.parse_primary())
        return terms[0] if len(terms) == 1 else And(_flatten(And, terms))

    def parse_primary(self) -> Node:
        if self.current.kind is not Kind.LPAREN:
            return self.parse_comparison()
        opening = self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"parentheses nested deeper than {MAX_DEPTH}", opening)
        node = self.parse_or()
        if self.current.kind is not Kind.RPAREN:
            raise self.error(
                f"expected ')' to close the '(' at position {opening.pos}, "
                f"got {self.current.describe()}"
            )
        self.advance()
        self.depth -= 1
        return node

    def parse_comparison(self) -> Comparison:
        ident = self.current
        entity, key, field = self.resolve(self.advance())
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.error(f"more than {MAX_COMPARISONS} conditions", ident)
        op_token = self.current
        op = self.parse_operator(ident)
        if op not in field.ops:
            raise self.error(
                f"operator {op!r} is not supported for {ident.text!r} "
                f"(use one of: {field.ops_text()})",
                op_token,
            )
        if op in NULL_OPS:
            return Comparison(entity, key, op, None)
        if op in LIST_OPS:
            return Comparison(entity, key, op, self.parse_list(ident, op, field))
        value = self.parse_scalar(ident, op, field)
        if op in PATTERN_OPS:
            _check_pattern(str(value), self.tokens[self.i - 1])
        return Comparison(entity, key, op, value)

    def parse_operator(self, ident: Token) -> str:
        token = self.advance()
        if token.kind is Kind.OP:
            return str(token.value)
        if token.kind is Kind.KEYWORD:
            word = str(token.value)
            if word in ("LIKE", "ILIKE", "IN"):
                return word
            if word == "NOT" and self.at_keyword("IN"):
                self.advance()
                return "NOT IN"
            if word == "IS":
                negated = self.at_keyword("NOT")
                if negated:
                    self.advance()
                if not self.at_keyword("NULL"):
                    raise self.error(f"expected NULL after IS, got {self.current.describe()}")
                self.advance()
                return "IS NOT NULL" if negated else "IS NULL"
        raise self.error(
            f"expected an operator after {ident.text!r}, got {token.describe()}", token
        )

    def parse_list(self, ident: Token, op: str, field: Field) -> tuple[Scalar, ...]:
        self.expect(Kind.LPAREN, f"after {op}")
        if self.current.kind is Kind.RPAREN:
            raise self.error(f"empty list after {op}")
        items = [self.parse_scalar(ident, op, field)]
        while self.current.kind is Kind.COMMA:
            self.advance()
            items.append(self.parse_scalar(ident, op, field))
        self.expect(Kind.RPAREN, f"to close the {op} list")
        self.values += len(items)
        if self.values > MAX_VALUES:
            raise self.error(f"more than {MAX_VALUES} values in IN lists")
        return tuple(items)

    def parse_scalar(self, ident: Token, op: str, field: Field) -> Scalar:
        token = self.advance()
        if field.kind is ValueKind.NUMBER and token.kind is Kind.NUMBER:
            assert isinstance(token.value, int | float)
            return token.value
        if field.kind is ValueKind.STRING and token.kind is Kind.STRING:
            return str(token.value)
        if field.kind is ValueKind.ID and token.kind in (Kind.STRING, Kind.NUMBER):
            text = str(token.value)
            if _ID_TEXT.fullmatch(text):
                return int(text)
            raise self.error(f"{ident.text!r} compares with integer ids, not {token.text!r}", token)
        raise self.error(
            f"{ident.text!r} compares with {field.kind.value}; "
            f"expected {field.kind.value} after {op}, got {token.describe()}",
            token,
        )

    def resolve(self, token: Token) -> tuple[str, str, Field]:
        """Map an identifier token to (canonical entity, canonical key, its Field)."""
        vocab = self.vocabulary
        if token.kind is Kind.IDENT and token.entity is not None:
            entity = vocab.aliases.get(token.entity.lower())
            if entity is None:
                raise self.error(
                    f"unknown entity {token.entity!r} in {token.text!r} for {vocab.what} "
                    f"(use one of: {', '.join(sorted(set(vocab.aliases)))})",
                    token,
                )
            key = str(token.value)
        elif token.kind in (Kind.IDENT, Kind.QUOTED_IDENT) or (
            token.kind is Kind.STRING and token.text.startswith('"')
        ):
            entity, key = vocab.bare, str(token.value)
        else:
            raise self.error(f"expected an identifier, got {token.describe()}", token)
        if entity in vocab.keyed:
            return entity, key, vocab.keyed[entity]
        names = vocab.named[entity]
        name = normalize_name(key)
        name = vocab.name_aliases.get(name, name)
        if name not in names:
            raise self.error(
                f"unknown {entity} {key!r} for {vocab.what} (use one of: {', '.join(names)})",
                token,
            )
        return entity, name, names[name]

    # ---- order by ----------------------------------------------------------------------------

    def parse_order_term(self) -> OrderTerm:
        if self.current.kind is Kind.END:
            raise self.error("empty order_by clause")
        ident = self.current
        entity, key, field = self.resolve(self.advance())
        if not field.orderable:
            raise self.error(f"cannot order {self.vocabulary.what} by {ident.text!r}", ident)
        ascending = True
        if self.at_keyword("ASC", "DESC"):
            ascending = self.advance().value == "ASC"
        if self.current.kind is not Kind.END:
            raise self.error(
                f"unexpected {self.current.describe()} in order_by "
                "(expected '<identifier> [ASC|DESC]')"
            )
        return OrderTerm(entity, key, ascending)


def _flatten(kind: type[And] | type[Or], terms: list[Node]) -> tuple[Node, ...]:
    """``(a AND b) AND c`` is ``And(a, b, c)``: a flat tree keeps the SQL shallow."""
    out: list[Node] = []
    for term in terms:
        out.extend(term.terms if isinstance(term, kind) else (term,))
    return tuple(out)


def _check_pattern(pattern: str, token: Token) -> None:
    """A pattern may not end in an unpaired backslash: PostgreSQL rejects it, SQLite ignores it."""
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2:
        raise fail("a LIKE pattern cannot end with an escaping backslash", token.pos, token.text)
