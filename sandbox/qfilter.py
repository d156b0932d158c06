"""The ``q`` filter grammar of Fatture in Cloud list endpoints (docs/providers/fatture-in-cloud.md §3.1, from the
official ``fattureincloud/api-filter`` library), evaluated on JSON documents.

- condition: ``field op value``; fields are lowercase with ``_`` and ``.`` (``entity.name``);
- comparison: ``=``, ``<>``, ``!=``, ``>``, ``>=``, ``<``, ``<=``;
- strings in single quotes, a literal ``'`` written ``''``; integers, decimals, ``true``, ``false``;
- pattern (strings only): ``like``, ``not like``, ``contains``, ``not contains``, ``starts with``,
  ``ends with``, any letter case;
- null checks: ``is null``, ``is not null``, ``= null``, ``!= null``;
- ``and`` / ``or`` (``and`` binds tighter) and parentheses.

String comparisons ignore letter case, as the provider's database collation does [unverified].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class QueryError(ValueError):
    """The expression cannot be parsed or names a field that cannot be filtered on."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><>|!=|>=|<=|=|>|<)
      | (?P<paren>[()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_WORD_OPS = {
    ("not", "like"): "not like",
    ("not", "contains"): "not contains",
    ("starts", "with"): "starts with",
    ("ends", "with"): "ends with",
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"Unexpected text at position {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str, fields: frozenset[str] | None):
        self.tokens = _tokens(text)
        self.pos = 0
        self.fields = fields

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("The expression ends too early.")
        self.pos += 1
        return token

    def word_is(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[0] == "word" and token[1].lower() == word

    def parse(self):
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError(f"Unexpected {self.peek()[1]!r}.")
        return node

    def or_expr(self):
        parts = [self.and_expr()]
        while self.word_is("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self):
        parts = [self.primary()]
        while self.word_is("and"):
            self.take()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def primary(self):
        if self.peek() == ("paren", "("):
            self.take()
            node = self.or_expr()
            if self.take() != ("paren", ")"):
                raise QueryError("Missing ')'.")
            return node
        return self.condition()

    def condition(self) -> Condition:
        kind, field = self.take()
        if kind != "word":
            raise QueryError(f"Expected a field name, got {field!r}.")
        field = field.lower()
        if self.fields is not None and field not in self.fields:
            raise QueryError(f"The field '{field}' cannot be used in a filter.")
        if self.word_is("is"):
            self.take()
            negate = self.word_is("not")
            if negate:
                self.take()
            if not self.word_is("null"):
                raise QueryError("Expected 'null' after 'is'.")
            self.take()
            return Condition(field, "is not null" if negate else "is null", None)
        op = self.operator()
        value = self.value()
        if value is None and op in ("=", "<>", "!="):
            return Condition(field, "is null" if op == "=" else "is not null", None)
        if op in ("like", "not like", "contains", "not contains", "starts with", "ends with") and not isinstance(
            value, str
        ):
            raise QueryError(f"'{op}' needs a string value.")
        return Condition(field, op, value)

    def operator(self) -> str:
        kind, text = self.take()
        if kind == "op":
            return text
        if kind == "word":
            first = text.lower()
            if first in ("like", "contains"):
                return first
            second = self.peek()
            if second and second[0] == "word" and (first, second[1].lower()) in _WORD_OPS:
                self.take()
                return _WORD_OPS[(first, second[1].lower())]
        raise QueryError(f"Unknown operator {text!r}.")

    def value(self):
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return Decimal(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise QueryError(f"Expected a value, got {text!r}.")


def parse(text: str, *, fields: frozenset[str] | None = None):
    """The expression tree of ``text``; ``fields`` restricts the field names allowed."""
    return _Parser(text, fields).parse()


def lookup(document: dict, field: str):
    value: Any = document
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _like(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None


def _as_number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(actual, op: str, expected) -> bool:
    if op == "is null":
        return actual in (None, "")
    if op == "is not null":
        return actual not in (None, "")
    if actual is None:
        return op in ("<>", "!=", "not like", "not contains")
    if isinstance(expected, bool):
        left, right = bool(actual), expected
    elif isinstance(expected, Decimal):
        left, right = _as_number(actual), expected
        if left is None:
            return op in ("<>", "!=")
    else:
        left, right = str(actual).lower(), expected.lower()
    if op == "like":
        return _like(right, left)
    if op == "not like":
        return not _like(right, left)
    if op == "contains":
        return right in left
    if op == "not contains":
        return right not in left
    if op == "starts with":
        return left.startswith(right)
    if op == "ends with":
        return left.endswith(right)
    return {
        "=": left == right,
        "<>": left != right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


def matches(node, document: dict) -> bool:
    """Whether ``document`` satisfies the parsed expression ``node``."""
    if isinstance(node, BoolOp):
        results = (matches(part, document) for part in node.parts)
        return all(results) if node.op == "and" else any(results)
    return _compare(lookup(document, node.field), node.op, node.value)


def required_equalities(node) -> dict[str, Any]:
    """``field = value`` conditions every match must satisfy (top-level ``and`` only), so a caller
    can narrow its database query before evaluating the whole expression."""
    parts = node.parts if isinstance(node, BoolOp) and node.op == "and" else (node,)
    return {p.field: p.value for p in parts if isinstance(p, Condition) and p.op == "=" and p.value is not None}
