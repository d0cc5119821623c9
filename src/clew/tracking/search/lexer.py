"""The tokenizer of the search grammar: filter text in, a list of positioned tokens out.

Hand-written rather than regex-split or ``sqlparse``-based so that every token knows where it
started: an error can then name the exact character, and nothing of the input is silently
dropped (a ``--`` comment or a ``;`` is a token we refuse, not whitespace we skip).

String escapes, chosen so that values round-trip and LIKE patterns stay writable:
inside a quoted string, a doubled quote (``''``) or a backslash before the quote (``\\'``) is
the quote itself, ``\\\\`` is one backslash, and any other backslash is kept as written, so
``'50\\%'`` reaches LIKE as ``50\\%`` (a literal percent sign).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from clew.core.errors import InvalidFilter

MAX_FILTER_LENGTH = 100_000

KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})

# A plain key, after ``entity.``: word characters, dots, dashes and slashes (MLflow's rule).
_PLAIN_KEY = re.compile(r"[\w.\-/]+")
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")


class Kind(enum.Enum):
    IDENT = "identifier"
    KEYWORD = "keyword"
    STRING = "string"
    QUOTED_IDENT = "quoted identifier"  # a backticked name, only ever an identifier
    NUMBER = "number"
    OP = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    END = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    """One token. ``entity`` is set on ``entity.key`` identifiers; ``text`` is what was written."""

    kind: Kind
    text: str
    pos: int
    value: str | int | float | None = None
    entity: str | None = None

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "end of input"
        return repr(self.text)


def fail(message: str, pos: int, token: str, what: str = "filter") -> InvalidFilter:
    """The one way grammar errors are built: position and offending token in text and details."""
    return InvalidFilter(f"Invalid {what} at position {pos}: {message}", position=pos, token=token)


def _quoted(text: str, start: int, what: str) -> tuple[str, int]:
    """Read the quoted string opening at ``start``; return its value and the index after it."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise fail(f"unterminated {quote} quote", start, text[start : start + 20], what)


def _number(raw: str) -> int | float:
    """Integers stay exact while they fit in 64 bits; anything else is a float."""
    if re.fullmatch(r"[+-]?\d+", raw):
        value = int(raw)
        if -(2**63) <= value < 2**63:
            return value
    return float(raw)


def _identifier(text: str, i: int, what: str) -> tuple[Token, int]:
    """A bare word (keyword or attribute name) or ``entity.key`` with a plain/quoted key."""
    word = _WORD.match(text, i)
    assert word is not None
    end = word.end()
    if end >= len(text) or text[end] != ".":
        raw = word.group()
        if raw.upper() in KEYWORDS:
            return Token(Kind.KEYWORD, raw, i, raw.upper()), end
        return Token(Kind.IDENT, raw, i, raw), end
    entity, key_start = word.group(), end + 1
    if key_start < len(text) and text[key_start] in '`"':
        key, after = _quoted(text, key_start, what)
    else:
        plain = _PLAIN_KEY.match(text, key_start)
        if plain is None:
            raise fail(f"expected a key after {entity + '.'!r}", key_start, text[i:key_start], what)
        key, after = plain.group(), plain.end()
    if not key:
        raise fail(f"empty key after {entity + '.'!r}", key_start, text[i:after], what)
    return Token(Kind.IDENT, text[i:after], i, key, entity), after


def tokenize(text: str, what: str = "filter") -> list[Token]:
    """Split ``text`` into tokens, ending with one ``END`` token; ``what`` names it in errors."""
    if len(text) > MAX_FILTER_LENGTH:
        raise fail(f"longer than {MAX_FILTER_LENGTH} characters", 0, text[:20], what)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            value, end = _quoted(text, i, what)
            tokens.append(Token(Kind.STRING, text[i:end], i, value))
            i = end
        elif ch == "`":
            value, end = _quoted(text, i, what)
            tokens.append(Token(Kind.QUOTED_IDENT, text[i:end], i, value))
            i = end
        elif ch.isalpha() or ch == "_":
            token, i = _identifier(text, i, what)
            tokens.append(token)
        elif number := _NUMBER.match(text, i):
            end = number.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                raise fail("malformed number", i, text[i : end + 1], what)
            tokens.append(Token(Kind.NUMBER, number.group(), i, _number(number.group())))
            i = end
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(Token(Kind.OP, op, i, op))
            i += len(op)
        elif ch in "(),":
            kind = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}[ch]
            tokens.append(Token(kind, ch, i, ch))
            i += 1
        else:
            raise fail(f"unexpected character {ch!r}", i, ch, what)
    tokens.append(Token(Kind.END, "", n))
    return tokens
