"""Vensim name normalisation and closest-name suggestions."""
from __future__ import annotations

import difflib
import re

_WS = re.compile(r"[\s_]+")


def normalize(name: str) -> str:
    """Vensim identity of a name: case-, space- and underscore-insensitive, quotes stripped."""
    name = name.strip()
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
    return _WS.sub("_", name.strip().lower())


def suggest(name: str, candidates, n: int = 3) -> str:
    """A ' Did you mean ...?' phrase for an unknown name, or '' when nothing is close."""
    norm_map: dict[str, str] = {}
    for c in candidates:
        norm_map.setdefault(normalize(c), c)
    close = difflib.get_close_matches(normalize(name), list(norm_map), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(norm_map[c]) for c in close) + "?"
