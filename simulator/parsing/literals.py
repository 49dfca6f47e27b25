"""A strict parser for the numeric literals that pysd's translators would otherwise ``eval``.

pysd 3.14 hands pieces of model text to Python's ``eval``: lookup ranges ``[(0,0)-(10,10)]``,
lookup points, single numbers, argument lists and quoted strings. Only literals ever belong
there, so :func:`parse_literal` accepts exactly these and nothing else:

* numbers as Vensim writes them (``3``, ``-2.5``, ``.5``, ``1e-3``; ASCII digits only),
  with any number of unary ``+``/``-`` signs, and sums and differences of such numbers
  (pysd's grammar reads ``2 + 1`` as two signed numbers and leaves the sum to ``eval``);
* tuples ``( ... )`` and lists ``[ ... ]`` of those (trailing commas allowed, nesting bounded),
  and a bare comma-separated sequence, which is a tuple as in Python;
* one single-quoted string with no quote inside (pysd's ``'...'`` argument strings).

The value returned is the one ``eval`` would give for the same text (``int`` for a plain integer,
``float`` otherwise, tuples and lists as written), so valid models translate exactly as before.
Whitespace includes ``\\``, which Vensim uses to continue a line. Nothing is ever executed:
the text is tokenised and walked by hand.
"""
from __future__ import annotations

import ast
import math
import re

_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPACE = re.compile(r"[\s\\]*")


def _space_end(text: str, pos: int) -> int:
    """Where the run of white space (and Vensim's line-continuation backslashes) at ``pos`` ends."""
    m = _SPACE.match(text, pos)
    return m.end() if m else pos
_STRING = re.compile(r"'[^'\n\r]*'")
MAX_LITERAL_DEPTH = 16
MAX_NUMBER_CHARS = 400


class LiteralError(ValueError):
    """Text that is not a plain numeric literal; the message says what was found and where."""


def parse_literal(text: str):
    """Value of a numeric literal, tuple/list of literals or a quoted string (see module doc)."""
    if not isinstance(text, str):
        raise LiteralError(f"expected text, got {type(text).__name__}")
    stripped = text.strip()
    if stripped.startswith("'"):
        if not _STRING.fullmatch(stripped):
            raise LiteralError(f"malformed quoted string {_snippet(stripped)}")
        try:
            value = ast.literal_eval(stripped)  # a quote-free single-quoted string: pure parsing
        except (SyntaxError, ValueError) as exc:
            raise LiteralError(f"malformed quoted string {_snippet(stripped)}: {exc}") from None
        return value
    parser = _Parser(text)
    items, comma = parser.sequence(top=True)
    parser.skip()
    if parser.pos != len(text):
        raise LiteralError(parser.unexpected())
    return tuple(items) if comma else items[0]


def _snippet(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.depth = 0

    def skip(self) -> None:
        self.pos = _space_end(self.text, self.pos)

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos:self.pos + 1]

    def unexpected(self) -> str:
        if self.pos >= len(self.text):
            return f"unexpected end of {_snippet(self.text)}"
        return (f"unexpected {_snippet(self.text[self.pos:self.pos + 20])} at character {self.pos + 1} "
                f"of {_snippet(self.text)}; only numbers, commas and brackets are allowed here")

    def sequence(self, top: bool = False, close: str = ""):
        """Items up to ``close`` (or the end); a tuple when a comma appears, as in Python."""
        items, comma = [], False
        while True:
            c = self.peek()
            if c == close or (top and c == ""):
                break
            items.append(self.value())
            if self.peek() != ",":
                break
            self.pos += 1
            comma = True
        if not items and top:
            raise LiteralError(f"empty literal {_snippet(self.text)}")
        return items, comma

    def value(self):
        sign = 1
        while self.peek() in ("+", "-"):
            if self.text[self.pos] == "-":
                sign = -sign
            self.pos += 1
        c = self.peek()
        if c in ("(", "["):
            close = ")" if c == "(" else "]"
            self.depth += 1
            if self.depth > MAX_LITERAL_DEPTH:
                raise LiteralError(f"brackets nested deeper than {MAX_LITERAL_DEPTH} in {_snippet(self.text)}")
            self.pos += 1
            items, comma = self.sequence(close=close)
            if self.peek() != close:
                raise LiteralError(self.unexpected())
            self.pos += 1
            self.depth -= 1
            value: object
            if close == "]":
                value = list(items)
            elif comma or not items:
                value = tuple(items)
            else:
                value = items[0]
            return value if sign == 1 else self._negate(value, sign)
        value = sign * self._signed_number(signed=False)
        # pysd's number arrays let "2 + 1" through as two signed numbers and eval adds them
        while self.peek() in ("+", "-"):
            value = value + self._signed_number(signed=True)
        return value

    def _signed_number(self, signed: bool):
        sign = 1
        while signed and self.peek() in ("+", "-"):
            if self.text[self.pos] == "-":
                sign = -sign
            self.pos += 1
        self.skip()
        m = _NUMBER.match(self.text, self.pos)
        if not m:
            raise LiteralError(self.unexpected())
        self.pos = m.end()
        return sign * self._number(m.group())

    def _negate(self, value, sign: int):
        if isinstance(value, (int, float)):
            return sign * value
        raise LiteralError(f"a sign before a bracketed list in {_snippet(self.text)}")

    def _number(self, token: str):
        if len(token) > MAX_NUMBER_CHARS:
            raise LiteralError(f"number with {len(token)} characters in {_snippet(self.text)}")
        if token.isdigit():
            value = int(token)
            if value.bit_length() > 1024:
                raise LiteralError(f"number {_snippet(token)} is out of the floating-point range")
            return value
        number = float(token)
        if not math.isfinite(number):
            raise LiteralError(f"number {_snippet(token)} is out of the floating-point range")
        return number

