"""What every ``innosim`` command shares: argument checks, one-line errors and exit codes.

Exit codes: 0 success; 1 an internal error (a bug: one line, ``--debug`` shows the traceback);
2 a user error (bad file, option or model: one line naming the file, variable or field);
130 interrupted with Ctrl-C. No traceback reaches the user unless ``--debug`` asks for it.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import traceback

from .errors import SimulatorError

MAX_MESSAGE = 2000     # characters of an error line
MAX_SAMPLES = 10_000_000
MAX_SEED = 2**63 - 1   # numpy's generators take seeds in [0, 2**64); one signed int64 keeps portable
DEBUG_FLAG = "--debug"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr with exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def finite_float(text: str) -> float:
    """argparse type: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def year(text: str) -> float:
    """argparse type: a year (finite, within ±100000, a bound far beyond any model's horizon)."""
    value = finite_float(text)
    if abs(value) > 1e5:
        raise argparse.ArgumentTypeError(f"{text!r} is not a plausible year")
    return value


def int_between(low: int, high: int):
    """argparse type factory: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be between {low:,} and {high:,}")
        return value

    parse.__name__ = "whole number"   # argparse names the type in its messages
    return parse


def error_line(exc: BaseException) -> str:
    """The message of ``exc`` (and its notes) as one bounded line."""
    parts = [str(exc) or type(exc).__name__, *getattr(exc, "__notes__", ())]
    text = " ".join(" ".join(parts).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    what = exc.strerror or str(exc)
    return f"{where}: {what}" if where else what


def debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """Whether ``--debug`` (or ``INNOSIM_DEBUG=1``) asks for tracebacks, and argv without it."""
    debug = DEBUG_FLAG in argv or os.environ.get("INNOSIM_DEBUG", "") not in ("", "0")
    return debug, [a for a in argv if a != DEBUG_FLAG]


def guarded(prog: str, fn, *args, debug: bool = False) -> int:
    """Call ``fn(*args)`` and turn every exception into one line on stderr and an exit code."""
    try:
        return fn(*args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:   # argparse has printed its one line (or the help) already
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except SimulatorError as exc:
        _trace(debug)
        print(f"{prog}: error: {error_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        _trace(debug)
        print(f"{prog}: error: {error_line(OSError(_os_message(exc)))}", file=sys.stderr)
        return 2
    except MemoryError:
        _trace(debug)
        print(f"{prog}: error: out of memory; use fewer samples, members or outputs", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        _trace(debug)
        hint = "" if debug else f" (run again with {DEBUG_FLAG} for the traceback)"
        print(f"{prog}: internal error: {type(exc).__name__}: {error_line(exc)}{hint}", file=sys.stderr)
        return 1


def _trace(debug: bool) -> None:
    if debug:
        traceback.print_exc()
