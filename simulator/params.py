"""Parameters of one run: a caller's overrides checked and turned into the run's inputs.

``resolve(model, params)`` gives the parameter dict ``P`` (variable index -> value with the
member axis last), the model variant the overrides need (an auxiliary replaced by a constant or a
time series is a different program), the ensemble size and the switch times of time series.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from . import runtime as rt
from .errors import ParameterError
from .names import normalize, suggest


@dataclass(frozen=True)
class Resolved:
    P: dict
    variant: frozenset  # (var idx, "const" | "series") pairs
    members: int
    switch_times: tuple


def _pandas_types() -> tuple:
    pd = sys.modules.get("pandas")  # a value cannot be a pandas object unless pandas is imported
    return (pd.Series, pd.DataFrame) if pd is not None else ()


def parse_key(model, key: str):
    """``"Name"`` or ``"Name[elem, ...]"`` -> (variable, cell index or None)."""
    key = key.strip()
    if not (key.endswith("]") and "[" in key):
        return model.variable(key), None
    base, _, inner = key[:-1].partition("[")
    var = model.variable(base)
    elems = [normalize(e) for e in inner.split(",")]
    if len(elems) != len(var.dims):
        raise ParameterError(f"{key!r}: {var.name!r} has {len(var.dims)} subscripts, {len(elems)} given")
    space = model.source.subscripts
    cell = []
    for d, e in zip(var.dims, elems):
        els = space.ranges[d]
        if e not in els:
            raise ParameterError(f"{key!r}: {e!r} is not an element of {space.display.get(d, d)!r}."
                                 f"{suggest(e, els)}")
        cell.append(els.index(e))
    return var, tuple(cell)


def resolve(model, params: dict | None) -> Resolved:
    base = model.program
    P = dict(base.defaults)
    variant: dict[int, str] = {}
    series_specs: dict[int, list] = {}
    switch: list[float] = []
    sizes = set()
    pandas = _pandas_types()
    for key, value in (params or {}).items():
        var, cell = parse_key(model, key)
        if var.is_stock:
            raise ParameterError(f"{key!r} is a stock; override its initial value's constant instead")
        if var.kind == "lookup":
            P[var.idx] = as_table(key, value, var)
            continue
        if (pandas and isinstance(value, pandas)) or (isinstance(value, tuple) and len(value) == 2):
            xs, ys = as_series(key, value)
            if ys.ndim == 2:
                sizes.add(ys.shape[1])
            series_specs.setdefault(var.idx, []).append((cell, xs, ys))
            variant[var.idx] = "series"
            if len(xs) <= 500:
                switch.extend(xs.tolist())
            continue
        arr = as_array(key, value, var.shape if cell is None else ())
        if arr.shape[-1] > 1:
            sizes.add(arr.shape[-1])
        if var.kind != "const":
            variant[var.idx] = "const"
        if cell is None:
            P[var.idx] = arr if var.shape else arr.reshape(-1)
        else:
            old = P.get(var.idx)
            if old is None:
                raise ParameterError(f"{key!r}: only constants can be set element by element")
            mm = max(old.shape[-1], arr.shape[-1])
            new = np.array(np.broadcast_to(old, old.shape[:-1] + (mm,)))
            new[cell] = arr.reshape(-1)
            P[var.idx] = new
    if len(sizes) > 1:
        raise ParameterError(f"parameters give different ensemble sizes: {sorted(sizes)}")
    m = sizes.pop() if sizes else 1
    by_idx = {v.idx: v for v in base.ir.vars} if series_specs else {}
    for idx, specs in series_specs.items():
        var = by_idx[idx]
        old = P.get(idx)
        if old is None or var.kind != "const":
            old = np.zeros(var.shape + (1,)) if var.shape else np.zeros(1)
            if any(c is not None for c, _, _ in specs):
                raise ParameterError(f"{var.name!r}: only constants can take element-wise time series")
        P[idx] = rt.Override(np.asarray(old, dtype=float), [(c, x, y) for c, x, y in specs])
    return Resolved(P=P, variant=frozenset(variant.items()), members=m, switch_times=tuple(switch))


def as_array(key, value, shape) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{key!r}: expected a number or an array of numbers, got {type(value).__name__}") from None
    if not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ParameterError(f"{key!r}: values must be finite numbers, got {bad}")
    if arr.ndim == 0:
        # a plain number: the same value in every element of a subscripted constant
        return np.full(shape + (1,), float(arr))
    if arr.shape == shape:
        return arr[..., None]
    if arr.ndim == 1 and shape == ():
        return arr
    if arr.shape == shape + arr.shape[-1:]:
        return arr
    if arr.ndim == 1:  # one value per member, same for every element
        return np.broadcast_to(arr, shape + arr.shape).copy()
    raise ParameterError(f"{key!r}: array of shape {arr.shape} fits neither the variable's shape {shape} "
                         "nor (members,) / shape + (members,)")


def as_series(key, value):
    if isinstance(value, tuple):
        xs, ys = (np.asarray(v, dtype=float) for v in value)
    else:
        xs, ys = value.index.to_numpy(dtype=float), value.to_numpy(dtype=float)
    if xs.ndim != 1 or len(xs) == 0 or ys.shape[0] != len(xs):
        raise ParameterError(f"{key!r}: time series needs matching time and value arrays")
    if not np.all(np.diff(xs) > 0):
        raise ParameterError(f"{key!r}: time series index must be strictly increasing")
    if not np.isfinite(ys).all():
        raise ParameterError(f"{key!r}: time series contains non-finite values")
    return xs, ys


def as_table(key, value, var):
    if var.dims:
        raise ParameterError(f"{key!r}: replacing subscripted lookups is not supported")
    pandas = _pandas_types()
    if pandas and isinstance(value, pandas[0]):
        xs, ys = value.index.to_numpy(dtype=float), value.to_numpy(dtype=float)
    else:
        try:
            xs, ys = (np.asarray(v, dtype=float) for v in value)
        except (TypeError, ValueError):
            raise ParameterError(f"{key!r} is a lookup: give a pandas Series (index x) or an (x, y) pair") from None
    if len(xs) != len(ys) or len(xs) == 0 or not np.all(np.diff(xs) > 0):
        raise ParameterError(f"{key!r}: lookup x values must be strictly increasing and match y")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ParameterError(f"{key!r}: lookup points must be finite numbers")
    return xs, ys
