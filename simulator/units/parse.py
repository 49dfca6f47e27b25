"""Vensim units strings as pint quantities.

A Vensim units string is a product/quotient of unit names with integer or fractional powers and
parentheses: ``亿元/(enterprises*Year)``, ``1/Year``, ``Dmnl``, ``people/(Year*Year)``,
``Widget^2``. Our own small parser reads it (pint's expression parser is never given model text);
each name becomes a pint unit:

- time words (Year, Month, Week, Day, Hour, Minute, Second and their plurals) are pint's time units,
  so ``Month`` and ``Year`` share a dimension and differ by a factor of 12, which the check reports;
- ``Dmnl``, ``dimensionless``, ``fraction``, ``1`` are dimensionless; ``%``/``percent`` is 0.01;
- any other name is a base dimension of its own, case- and plural-insensitive (``enterprise`` and
  ``Enterprises`` are the same unit), as Vensim's default unit equivalences treat them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pint

__all__ = ["UnitsError", "UnitSystem"]

TIME_WORDS = {"year": "year", "yr": "year", "month": "month", "week": "week", "day": "day",
              "hour": "hour", "hr": "hour", "minute": "minute", "min": "minute", "second": "second",
              "sec": "second", "s": "second", "quarter": "quarter_year"}
DIMENSIONLESS = {"dmnl", "dimensionless", "fraction", "1", "unitless", "nondimensional"}
PERCENT = {"%", "percent"}

_TOKEN = re.compile(r"\s*(?:(?P<op>[*/()^])|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[^*/()^]+))")


class UnitsError(ValueError):
    """A units string that cannot be read (the message says where)."""


def _key(name: str) -> str:
    """Case- and plural-insensitive identity of a unit name."""
    k = " ".join(name.lower().split())
    if k.endswith("ies") and len(k) > 4:
        return k[:-3] + "y"
    if k.endswith("s") and not k.endswith("ss") and len(k) > 2:
        return k[:-1]
    return k


@dataclass
class UnitSystem:
    """A pint registry with the model's own unit names defined as they are met."""

    registry: pint.UnitRegistry = field(default_factory=lambda: pint.UnitRegistry(autoconvert_offset_to_baseunit=True))
    _custom: dict[str, str] = field(default_factory=dict)   # key -> pint name
    _display: dict[str, str] = field(default_factory=dict)  # pint name -> name as first written

    def __post_init__(self) -> None:
        self.registry.define("quarter_year = 3 * month")
        self.one = self.registry.Quantity(1.0, "")

    # ------------------------------------------------------------------ names
    def unit(self, name: str):
        """The quantity of one unit name (defining it on first use)."""
        key = _key(name)
        if key in DIMENSIONLESS:
            return self.one
        if key in PERCENT:
            return self.registry.Quantity(0.01, "")
        if key in TIME_WORDS:
            return self.registry.Quantity(1.0, TIME_WORDS[key])
        pname = self._custom.get(key)
        if pname is None:
            pname = f"u{len(self._custom)}_"
            self.registry.define(f"{pname} = [{pname}]")
            self._custom[key] = pname
            self._display[pname] = " ".join(name.split())
        return self.registry.Quantity(1.0, pname)

    # ------------------------------------------------------------------ strings
    def parse(self, text: str):
        """The quantity of a whole units string; ``None`` when the string is empty."""
        text = text.strip()
        if not text:
            return None
        tokens = self._tokens(text)
        pos, q = self._product(tokens, 0, text)
        if pos != len(tokens):
            raise UnitsError(f"units {text!r}: unexpected {tokens[pos][1]!r}")
        return q

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip():
                    raise UnitsError(f"units {text!r}: cannot read from column {pos + 1}")
                break
            kind = m.lastgroup
            if kind is None:  # every alternative of _TOKEN is a named group, so this is a bug
                raise AssertionError(f"units {text!r}: token without a kind at column {pos + 1}")
            value = m.group(kind).strip()
            if value:
                out.append((kind, value))
            pos = m.end()
        return out

    def _product(self, tokens, pos: int, text: str):
        pos, q = self._power(tokens, pos, text)
        while pos < len(tokens) and tokens[pos][1] in ("*", "/"):
            op = tokens[pos][1]
            pos, rhs = self._power(tokens, pos + 1, text)
            q = q * rhs if op == "*" else q / rhs
        return pos, q

    def _power(self, tokens, pos: int, text: str):
        pos, q = self._atom(tokens, pos, text)
        if pos < len(tokens) and tokens[pos][1] == "^":
            if pos + 1 >= len(tokens) or tokens[pos + 1][0] != "num":
                raise UnitsError(f"units {text!r}: '^' must be followed by a number")
            q = q ** float(tokens[pos + 1][1])
            pos += 2
        return pos, q

    def _atom(self, tokens, pos: int, text: str):
        if pos >= len(tokens):
            raise UnitsError(f"units {text!r}: ends where a unit was expected")
        kind, value = tokens[pos]
        if value == "(":
            pos, q = self._product(tokens, pos + 1, text)
            if pos >= len(tokens) or tokens[pos][1] != ")":
                raise UnitsError(f"units {text!r}: missing ')'")
            return pos + 1, q
        if kind == "num":
            return pos + 1, self.registry.Quantity(float(value), "")
        if kind == "name":
            return pos + 1, self.unit(value)
        raise UnitsError(f"units {text!r}: unexpected {value!r}")

    # ------------------------------------------------------------------ comparison and display
    def same(self, a, b) -> bool:
        """Same dimension and same scale (Month and Year differ)."""
        ratio = (a / b).to_base_units()
        return ratio.dimensionless and abs(float(ratio.magnitude) - 1.0) < 1e-9

    def same_dimension(self, a, b) -> bool:
        return (a / b).to_base_units().dimensionless

    def format(self, q) -> str:
        """A quantity written back in the model's own names (``亿元/(enterprises*Year)``)."""
        num: list[str] = []
        den: list[str] = []
        for name, exp in sorted(q.unit_items()):
            shown = self._display.get(name, name.capitalize() if name in TIME_WORDS.values() else name)
            power = abs(exp)
            text = shown if power == 1 else f"{shown}^{power:g}"
            (num if exp > 0 else den).append(text)
        scale = float(q.magnitude)
        head = "*".join(num) or "1"
        if scale != 1.0:
            head = f"{scale:g}*{head}" if num else f"{scale:g}"
        if not den:
            return "Dmnl" if head == "1" else head
        tail = den[0] if len(den) == 1 else "(" + "*".join(den) + ")"
        return f"{head}/{tail}"
