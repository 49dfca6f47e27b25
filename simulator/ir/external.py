"""Data read from spreadsheet files at load time: GET XLS/DIRECT CONSTANTS, LOOKUPS, DATA.

The cells are read by pysd's readers (:mod:`pysd.py_backend.external`: cell references, named
cell ranges, transposed ``*`` ranges, .xls and .xlsx), which only read values: nothing of the
file is executed. Every file must sit in the model's folder or below it; a name that leads
elsewhere is refused. What comes back is plain numbers for the IR: constants' values, lookup
tables and the time series of data variables.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError, UnsupportedFeatureError
from ..subscripts import SubscriptSpace
from .nodes import Table

DATA_MODES = {None: "interpolate", "interpolate": "interpolate", "hold_backward": "backward",
              "look_forward": "forward", "raw": "raw"}


class ExternalReader:
    """Reads the external values of one model file."""

    def __init__(self, model_path: Path, space: SubscriptSpace):
        self.path = Path(model_path)
        self.root = self.path.resolve().parent
        self.space = space

    def file(self, name: str, where: str) -> Path:
        """The data file ``name`` relative to the model, refused unless it is inside its folder."""
        target = (self.root / str(name).strip().strip("'\"")).resolve()
        if not (target == self.root or self.root in target.parents):
            raise ModelLoadError(f"{where}: data file {name!r} is outside the model's folder")
        if not target.is_file():
            raise ModelLoadError(f"{where}: data file {name!r} not found next to the model")
        return target

    def _coords(self, dims, lhs) -> tuple[dict, dict]:
        final = {d: list(self.space.ranges[d]) for d in dims}
        here = {d: list(self.space.elements(n)) for d, n in zip(dims, lhs)}
        return here, final

    def _load(self, cls, args: tuple, where: str):
        from pysd.py_backend.external import Excels

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = cls(*args)
                obj.initialize()
                return obj.data
        except ModelLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - pysd raises ValueError/KeyError/... on bad files
            raise ModelLoadError(f"{where}: could not read the external data "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[-1][:200]})") from None
        finally:
            Excels.clean()

    def constant_piece(self, var, comp, where: str) -> np.ndarray:
        """The values one GET ... CONSTANTS equation gives its cells (the piece's shape)."""
        full = self.constants(var, [comp], where)
        block = full[..., 0][self._block(var, comp.lhs)] if var.dims else full
        return np.asarray(block, dtype=float)

    def constants(self, var, comps, where: str) -> np.ndarray:
        """Values of a constant whose equations read files (or are numbers): shape + (1,)."""
        from pysd.py_backend.external import ExtConstant

        out = np.full(var.shape, np.nan)
        for comp in comps:
            node = comp.ast
            here, final = self._coords(var.dims, comp.lhs)
            if type(node).__name__ != "GetConstantsStructure":
                val = np.broadcast_to(np.asarray(node, dtype=float), tuple(len(v) for v in here.values()))
            else:
                f = self.file(node.file, where)
                data = self._load(ExtConstant, (str(f.name), node.tab, node.cell, here, f.parent, final,
                                                "constant"), where)
                val = np.asarray(data.sel(here).transpose(*here).values if var.dims else data, dtype=float)
            out[self._block(var, comp.lhs)] = val
        return out[..., None] if var.dims else out.reshape(1)

    def lookups(self, var, comps, where: str, partial: bool = False) -> list:
        """Tables of a lookup whose equations read files, per flat cell of the variable (None for
        cells these equations do not define, when ``partial``)."""
        from pysd.py_backend.external import ExtLookup

        cells: list[Table | None] = [None] * (int(np.prod(var.shape)) if var.shape else 1)
        for comp in comps:
            node = comp.ast
            here, final = self._coords(var.dims, comp.lhs)
            f = self.file(node.file, where)
            data = self._load(ExtLookup, (str(f.name), node.tab, node.x_row_or_col, node.cell, here, f.parent,
                                          final, "lookup"), where)
            self._fill(cells, var, comp.lhs, here, data, "lookup_dim")
        return cells if partial else self._complete(cells, where)

    def data(self, var, comps, where: str) -> tuple[str, list]:
        """(interpolation mode, table of time -> value per flat cell, None where these equations
        define no series) of the DATA equations ``comps`` of a variable."""
        from pysd.py_backend.external import ExtData

        modes = {DATA_MODES.get(c.data_keyword or None) for c in comps}
        mode = modes.pop() if len(modes) == 1 else None
        if mode is None:
            raise ModelLoadError(f"{where}: the equations of a data variable must share one interpolation keyword")
        cells: list[Table | None] = [None] * (int(np.prod(var.shape)) if var.shape else 1)
        for comp in comps:
            node = comp.ast
            if type(node).__name__ == "DataStructure":
                # no equation: the values come from a data file given to the run (RunOptions.data);
                # without one, Vensim's missing data, :NA: at every time
                self._fill_missing(cells, var, comp.lhs)
                continue
            if type(node).__name__ == "ReferenceStructure":
                continue  # another data variable under this name: it reads that variable's series
            if type(node).__name__ != "GetDataStructure":
                raise UnsupportedFeatureError(f"{where} is a DATA equation computed from other values (:=), "
                                              "which is not supported (a data variable named alone is)")
            here, final = self._coords(var.dims, comp.lhs)
            f = self.file(node.file, where)
            keyword = comp.data_keyword or None  # pysd fills missing values by the same rule
            data = self._load(ExtData, (str(f.name), node.tab, node.time_row_or_col, node.cell, keyword, here,
                                        f.parent, final, "data"), where)
            self._fill(cells, var, comp.lhs, here, data, "time")
        return mode, cells

    # ------------------------------------------------------------------ helpers
    def _block(self, var, lhs):
        per = [[self.space.ranges[var.dims[p]].index(e) for e in self.space.elements(n)] for p, n in enumerate(lhs)]
        return np.ix_(*per) if per else ()

    def _fill(self, cells, var, lhs, here, data, axis: str) -> None:
        xs = np.asarray(data.coords[axis].values, dtype=float)
        values = data.sel(here).transpose(axis, *here).values if var.dims else np.asarray(data.values)
        values = np.asarray(values, dtype=float).reshape(len(xs), -1)
        per = [[self.space.ranges[var.dims[p]].index(e) for e in self.space.elements(n)] for p, n in enumerate(lhs)]
        flat = np.arange(int(np.prod(var.shape)) if var.shape else 1).reshape(var.shape)[np.ix_(*per)].ravel() \
            if per else np.zeros(1, dtype=int)
        for k, f in enumerate(flat):
            cells[int(f)] = Table(x=tuple(float(x) for x in xs), y=tuple(float(y) for y in values[:, k]))

    def _fill_missing(self, cells, var, lhs) -> None:
        per = [[self.space.ranges[var.dims[p]].index(e) for e in self.space.elements(n)] for p, n in enumerate(lhs)]
        flat = np.arange(int(np.prod(var.shape)) if var.shape else 1).reshape(var.shape)[np.ix_(*per)].ravel() \
            if per else np.zeros(1, dtype=int)
        for f in flat:
            cells[int(f)] = Table(x=(0.0,), y=(float("nan"),))

    @staticmethod
    def _complete(cells, where: str) -> list[Table]:
        if any(t is None for t in cells):
            raise ModelLoadError(f"{where} is not defined for every subscript element")
        return cells
