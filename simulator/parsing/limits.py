"""Bounds on what one model file may ask of the engine, checked before pysd sees the file.

Each bound is far above what a real policy model needs (the flagship model uses a few hundred
cells, nesting below 10 and at most a few dozen terms per equation) and far below what would hang
the machine or overflow Python's recursion: pysd's parser needs about 25 Python frames per bracket
level, and Python's compiler gives up on a flat sum of about 3 000 terms. A file over a bound is
rejected with a :class:`~simulator.errors.ModelLimitError` naming the file, line and variable.
"""
from __future__ import annotations

#: bytes in a model file
MAX_FILE_BYTES = 64 * 1024 * 1024
#: elements in one subscript range (after expanding numeric ranges such as ``(a1-a100)``)
MAX_RANGE_ELEMENTS = 100_000
#: cells of one variable: the product of the sizes of its subscript ranges
MAX_VARIABLE_CELLS = 1_000_000
#: cells of all variables of a model together
MAX_MODEL_CELLS = 10_000_000
#: brackets ``(`` / ``[`` open at once inside one equation
MAX_NESTING = 100
#: binary operators plus argument separators in one equation (numeric tables not counted)
MAX_TERMS = 1_000
#: points of one lookup table
MAX_LOOKUP_POINTS = 100_000
#: characters of one equation (its left and right-hand side, not its documentation)
MAX_EQUATION_CHARS = 1_000_000
#: characters of one name
MAX_NAME_CHARS = 1_000
