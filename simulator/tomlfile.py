"""Reading the project's TOML data files (catalogue, scenarios, uncertainties, exercises) with
errors that name the file, never a traceback."""
from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import SimulatorError


def read_toml(path: str | Path, what: str, error: type[Exception] = SimulatorError) -> dict:
    """Parse the TOML file ``path``; ``what`` names it in messages ("scenario file", ...).

    Raises ``error`` for a missing or unreadable file, text that is not UTF-8, or malformed TOML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: malformed TOML: {exc}") from None
