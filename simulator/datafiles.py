"""Data files given to a run: the values of Vensim's DATA variables that have no equation.

In Vensim such a variable (``exports ~ units ~ |``, no ``=``) takes its values from the data sets
named when the run starts; without one it has none, and each of its values is :NA: (missing,
NaN here: data, never reported as a numerical failure). :class:`~simulator.model.RunOptions`
``data`` names the files; when a series is in more than one, the last file wins (Vensim's rule
for several data sets). Formats:

* ``.dat`` (Vensim's text data format): a line with a variable's name (``pop`` or ``pop[a,b]``),
  then one ``time value`` line per point; a value written :NA: is a missing point;
* ``.csv``, ``.tab`` (tab-separated), ``.xlsx``: a table of time-indexed columns, the first column
  time and one column per series under its name; or the transposed layout Vensim exports, one
  row per series with the times across the first row. Empty or :NA: cells are missing points.

Vensim's binary ``.vdf`` is refused with a message saying so. A missing point is left out of
the series: the variable's keyword then fills it (interpolated by default, :NA: when :RAW:).
Series that name no DATA variable of the model are not used (Vensim keeps them for comparison).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .errors import ParameterError
from .names import normalize

MISSING = {"", ":na:", "na", "nan", "#n/a"}


def read_data_file(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Series of one data file: name as written -> (times, values), missing points left out."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    if suffix == ".vdf":
        raise ParameterError(f"{path}: Vensim's binary .vdf data format is not readable here; export the "
                             "data set from Vensim as a .dat or .csv file and give that")
    if suffix == ".dat":
        return _series(path, _dat_points(path))
    if suffix in (".csv", ".tab", ".txt"):
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh, delimiter="\t" if suffix != ".csv" else ","))
        return _series(path, _table_points(path, rows))
    if suffix in (".xlsx", ".xlsm"):
        return _series(path, _table_points(path, _xlsx_rows(path)))
    raise ParameterError(f"{path}: unknown data file type {suffix!r}: give .dat, .csv, .tab or .xlsx")


def data_overrides(model, files) -> dict[int, object]:
    """Tables (``{var idx: (x, y)}`` or a list of them per cell) for the DATA variables of
    ``model`` that the files give series for, merged over the model's own (missing) tables."""
    from .params import parse_key

    targets = {key for key, el in model._elements.items()
               if el.components and all(c.is_data and type(c.ast).__name__ == "DataStructure"
                                        for c in el.components)}
    merged: dict[str, tuple[Path, str, tuple]] = {}  # the last file giving a series wins
    for f in files:
        for name, series in read_data_file(f).items():
            merged[normalize(name)] = (Path(f), name, series)
    out: dict[int, object] = {}
    per_cell: dict[int, list] = {}
    for f, name, (xs, ys) in merged.values():
        if normalize(name.split("[")[0]) not in targets:
            continue
        try:
            var, cell = parse_key(model, name)
        except ParameterError as exc:
            raise ParameterError(f"{f}: series {name!r}: {exc}") from None
        table = (xs, ys)
        if not var.dims:
            out[var.idx] = table
            continue
        cells = per_cell.setdefault(var.idx, list(model.program.defaults[var.idx]))
        if cell is None:
            cells[:] = [table] * len(cells)
        else:
            cells[int(np.ravel_multi_index(cell, var.shape))] = table
        out[var.idx] = cells
    return out


def _series(path: Path, points: dict[str, list[tuple[float, float, int]]]) -> dict:
    out = {}
    for name, pts in points.items():
        pts = [p for p in pts if p[1] == p[1]]
        if not pts:
            continue
        xs = np.array([p[0] for p in pts], dtype=float)
        ys = np.array([p[1] for p in pts], dtype=float)
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
        same = np.flatnonzero(np.diff(xs) == 0)
        if same.size:
            k = int(same[0]) + 1
            line = pts[int(order[k])][2]
            raise ParameterError(f"{path}: line {line}: series {name!r} gives time {xs[k]:g} twice")
        out[name] = (xs, ys)
    return out


def _number(text: str, path: Path, line: int, what: str) -> float:
    t = text.strip()
    if t.lower() in MISSING:
        return float("nan")
    try:
        v = float(t)
    except ValueError:
        raise ParameterError(f"{path}: line {line}: {what} {t!r} is not a number") from None
    if not np.isfinite(v):
        raise ParameterError(f"{path}: line {line}: {what} {t!r} is not a finite number")
    return v


def _dat_points(path: Path) -> dict:
    points: dict[str, list] = {}
    name = None
    for n, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        if len(parts) == 2 and _is_number(parts[0]):
            if name is None:
                raise ParameterError(f"{path}: line {n}: a time and value before any variable's name")
            t = _number(parts[0], path, n, "time")
            points[name].append((t, _number(parts[1], path, n, "value"), n))
        elif _is_number(parts[0]):
            raise ParameterError(f"{path}: line {n}: expected 'time value', got {line!r}")
        else:
            name = line
            points.setdefault(name, [])
    return points


def _table_points(path: Path, rows: list[list]) -> dict:
    rows = [[("" if c is None else str(c)) for c in r] for r in rows if any(str(c or "").strip() for c in r)]
    if len(rows) < 2 and not (rows and len(rows[0]) > 1):
        raise ParameterError(f"{path}: line 1: a data table needs a header and at least one row of values")
    head = rows[0]
    across = len(head) > 1 and all(_is_number(c) for c in head[1:] if c.strip())
    points: dict[str, list] = {}
    if across:  # Vensim's export: times across the first row, one series per row
        times = [(_number(c, path, 1, "time") if c.strip() else None) for c in head[1:]]
        for n, r in enumerate(rows[1:], start=2):
            name = r[0].strip()
            if not name:
                raise ParameterError(f"{path}: line {n}: a row of values without a series name")
            points[name] = [(t, _number(c, path, n, "value"), n) for t, c in zip(times, r[1:]) if t is not None]
        return points
    names = [c.strip() for c in head[1:]]
    for k, name in enumerate(names):
        if not name:
            raise ParameterError(f"{path}: line 1: column {k + 2} has no series name")
        points[name] = []
    for n, r in enumerate(rows[1:], start=2):
        t = _number(r[0], path, n, "time")
        if t != t:
            raise ParameterError(f"{path}: line {n}: the time (first column) is missing")
        for name, c in zip(names, r[1:] + [""] * (len(names) - len(r) + 1)):
            points[name].append((t, _number(c, path, n, "value"), n))
    return points


def _xlsx_rows(path: Path) -> list[list]:
    try:
        import openpyxl
    except ImportError:
        raise ParameterError(f"{path}: reading .xlsx needs the openpyxl package") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a workbook
        raise ParameterError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    sheet = book.worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def _is_number(text) -> bool:
    t = str(text).strip()
    if t.lower() in MISSING - {""}:
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True
