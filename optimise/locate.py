"""Reading problem files: line numbers of tables and keys, and checked values whose errors name
the file, the line and the key."""
from __future__ import annotations

import re
from pathlib import Path

from simulator.names import suggest
from simulator.tomlfile import finite_number, short

from .errors import ProblemError


class Lines:
    """Line numbers of tables and keys in the TOML text, so that messages can point at them."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str]] = []   # (line number, table name)
        for n, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if m:
                self.headers.append((n, m.group(1).strip()))

    def table(self, name: str, index: int = 0) -> int | None:
        found = [n for n, t in self.headers if t == name]
        return found[index] if index < len(found) else None

    def key(self, key: str, table: str | None = None, index: int = 0) -> int | None:
        start = self.table(table, index) if table else 0
        if table and start is None:
            return None
        following = [n for n, _ in self.headers if n > (start or 0)]
        stop = following[0] if following else len(self.lines) + 1
        pattern = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*=')
        for n in range((start or 0) + 1, stop):
            if pattern.match(self.lines[n - 1]):
                return n
        return start


class Where:
    def __init__(self, path: Path, lines: Lines):
        self.path, self.lines = path, lines

    def __call__(self, key: str | None = None, table: str | None = None, index: int = 0) -> str:
        line = self.lines.key(key, table, index) if key else (self.lines.table(table, index) if table else None)
        at = f"{self.path}:{line}" if line else str(self.path)
        what = f"[[{table}]] #{index + 1}" if table in ("lever", "objective", "constraint") else \
            (f"[{table}]" if table else "")
        return f"{at}: {what}{'.' if what and key else ''}{key or ''}".rstrip(": ")


def check_keys(table, allowed: set, where: Where, name: str | None, index: int = 0) -> None:
    if not isinstance(table, dict):
        raise ProblemError(f"{where(None, name, index)}: must be a table, got {short(table)}")
    for key in table:
        if key not in allowed:
            raise ProblemError(f"{where(key, name, index)}: unknown key {key!r}.{suggest(key, sorted(allowed))}")


def number(value, where: str) -> float:
    return finite_number(value, where, ProblemError)


def whole(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProblemError(f"{where} must be a whole number from {low:,} to {high:,}, got {short(value)}")
    return value


def pair(value, where: str) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2):
        raise ProblemError(f"{where} must be [first, last], got {short(value)}")
    a, b = (number(v, where) for v in value)
    if a > b:
        raise ProblemError(f"{where} = [{a:g}, {b:g}]: the first value is above the last")
    return a, b


def bilingual(value, default: str, where: str) -> dict:
    if value is None:
        return {"zh": default, "en": default}
    if isinstance(value, str):
        return {"zh": value, "en": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()) and set(value) <= {"zh", "en"}:
        en = value.get("en") or value.get("zh") or default
        return {"zh": value.get("zh") or en, "en": en}
    raise ProblemError(f"{where} must be text or {{ zh = ..., en = ... }}, got {short(value)}")
