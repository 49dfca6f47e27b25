"""Reading the project's TOML data files (catalogue, scenarios, uncertainties, exercises) with
errors that name the file, never a traceback.

The reader bounds what a file can make the program do: its size (``MAX_BYTES``), how deeply
tables and arrays nest (``MAX_DEPTH``) and how long an array is (``MAX_ITEMS``). Data files of
this project are a few kilobytes, nested three levels deep.
"""
from __future__ import annotations

import math
import re
import reprlib
import tomllib
from pathlib import Path

from .errors import SimulatorError

MAX_BYTES = 256 * 1024   # the largest data file of the project is 15 KiB
MAX_DEPTH = 16
MAX_ITEMS = 10_000
# A dotted key or table header of more than MAX_DEPTH parts, found before parsing: tomllib takes
# time quadratic in the number of parts (100 s for 50 000). Linear: the look-behind stops a
# search from starting inside a word, and possessive quantifiers never backtrack.
_DEEP_KEY = re.compile(r"(?<![A-Za-z0-9_\-\"'])(?:(?:\"[^\"\n]*+\"|'[^'\n]*+'|[A-Za-z0-9_-]++)[ \t]*+\.[ \t]*+)"
                       r"{%d,}" % MAX_DEPTH)
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlevel = 40, 40, 3


def short(value) -> str:
    """A bounded repr of ``value`` for error messages (deep or huge values stay one short line)."""
    try:
        return _SHORT.repr(value)
    except ValueError:   # an integer too long to print (Python limits int -> str conversion)
        return f"<{type(value).__name__} too large to show>"


def read_toml(path: str | Path, what: str, error: type[Exception] = SimulatorError, *,
              max_bytes: int = MAX_BYTES) -> dict:
    """Parse the TOML file ``path``; ``what`` names it in messages ("scenario file", ...).

    Raises ``error`` for a missing or unreadable file, a file larger than ``max_bytes``, text that
    is not UTF-8, malformed TOML (with tomllib's line and column), or nesting and arrays beyond
    ``MAX_DEPTH`` / ``MAX_ITEMS``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:   # bounded read: also safe on a pipe or a device file
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: {what} is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise error(f"{path}: {what} is larger than {max_bytes // 1024} KiB; not a data file of innosim")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text: {exc}") from None
    if _DEEP_KEY.search(text):
        raise error(f"{path}: a dotted key or table name has more than {MAX_DEPTH} parts")
    try:
        data = tomllib.loads(text)
    except ValueError as exc:   # TOMLDecodeError, or an integer literal of thousands of digits
        raise error(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:
        raise error(f"{path}: {what} nests arrays or tables too deeply (more than {MAX_DEPTH} levels)") from None
    problem = shape_problem(data)
    if problem:
        raise error(f"{path}: {problem}")
    return data


def shape_problem(data) -> str | None:
    """Why parsed data is too deep or too long for a data file (None when it is fine).

    Iterative, so that a file nested a hundred thousand levels deep is reported, not a crash.
    """
    stack = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            return f"{where.lstrip('.') or 'the file'} nests more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            if len(value) > MAX_ITEMS:
                return f"{where.lstrip('.') or 'the file'} has more than {MAX_ITEMS} keys"
            stack.extend((v, depth + 1, f"{where}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                return f"{where.lstrip('.')} has more than {MAX_ITEMS} items"
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))
    return None


def finite_number(value, where: str, error: type[Exception] = SimulatorError) -> float:
    """``value`` as a finite float, else ``error`` naming ``where`` (a bool is not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{where} must be a number, got {short(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise error(f"{where} = {short(value)} is too large") from None
    if not math.isfinite(number):
        raise error(f"{where} must be a finite number, got {number!r}")
    return number
