"""Room for deep expression trees while the IR is lowered, checked and printed.

An equation of N terms (``a + b + c + ...``) is a left-nested chain of N binary nodes, and every
walker of the IR recurses along it. The parsing layer bounds equations (1 000 terms, 100 nested
brackets), so the recursion is bounded too; this raises Python's limit to fit that bound for the
duration of a lowering or printing, and restores it afterwards.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# frames a walker may need: a few per tree level, for 1 000 terms plus nesting
DEEP_RECURSION_LIMIT = 20_000


@contextmanager
def deep_trees() -> Iterator[None]:
    old = sys.getrecursionlimit()
    if old < DEEP_RECURSION_LIMIT:
        sys.setrecursionlimit(DEEP_RECURSION_LIMIT)
    try:
        yield
    finally:
        if old < DEEP_RECURSION_LIMIT:
            sys.setrecursionlimit(old)
