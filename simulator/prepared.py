"""A single run set up once and called many times (a dashboard's slider, an optimiser's loop).

``model.prepare(method="euler", outputs=[...])`` does once what every ``Model.run`` call repeats:
choosing and compiling the fused kernel, the time grid, the layout of outputs and of the kernel's
inputs. Each ``prepared.run(params)`` then checks ``params`` as ``Model.run`` does, writes the
constants into the kernel's input rows, lets the kernel compute the initial values itself (no
numpy initialisation) and runs it into a fresh output array that the returned
:class:`~simulator.result.Result` wraps without copying. ``prepared.run_values(values)`` is the
fastest form: one number per name given to ``prepare(names=...)``, no dictionary to check.

Results equal ``Model.run``'s with the same arguments. Whatever the prepared path does not cover
(an ensemble, an override that changes the model's structure, a value that turns NaN or infinite,
no numba) is handed to ``Model.run``, so errors and messages are the same as there.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import runtime as rt
from .errors import ParameterError
from .params import resolve
from .result import Result

FIXED_METHODS = ("euler", "rk4")


class PreparedRun:
    """``Model.run`` with the method, options and outputs fixed; see the module's documentation."""

    def __init__(self, model, *, method: str = "euler", options=None, outputs=None, names=None):
        from . import fused
        from .model import RunOptions

        if method not in FIXED_METHODS:
            raise ParameterError(f"prepare: method must be one of {', '.join(FIXED_METHODS)}, got {method!r}")
        self.model = model
        self.method = method
        self.options = options or RunOptions()
        self.outputs = None if outputs is None else list(outputs)
        self._fast: bool | None = None
        self.why = ""
        base = model.run(None, method=method, options=_numba(self.options), outputs=self.outputs)
        self.backend = str(base.metadata.get("backend", ""))
        self.names = [] if names is None else list(names)
        self._name_rows: list[tuple[int, int]] = []
        kernel = model._fused.get(frozenset())
        if self.options.backend == "numpy" or not isinstance(kernel, fused.Kernel) or self.backend != "numba":
            self.why = self.backend or "numpy"
            self._check_names()
            return
        try:
            self._setup(kernel, base)
        except Exception as exc:  # noqa: BLE001 - numba could not compile ``initial``: Model.run serves every call
            self._fast = None
            self.why = f"the kernel's initialisation could not be compiled ({type(exc).__name__})"
            self._check_names()

    # ------------------------------------------------------------------ set-up
    def _setup(self, kernel, base: Result) -> None:
        from . import fused

        model, prog = self.model, self.model.program
        plan = kernel.plan
        P = dict(prog.defaults)
        _, S, C, P = model._initialise(prog, P, 1, fixed=True, seed=0, opts=self.options)
        grid = C["grid"]
        wshared, _, _ = fused._rows(plan, prog, P, S)
        self._control = {model.variable(k).idx for k in ("initial_time", "final_time", "time_step", "saveper")
                         if k in model._index}
        self._const_rows: dict[int, tuple[int, int]] = {}
        for r, (kind, key, flat) in enumerate(plan.rows):
            if kind == "const" and flat == 0:
                var = model._var_by_idx(key)
                self._const_rows[key] = (r, int(np.prod(var.shape)) if var.shape else 1)
        chosen = model._chosen(prog, self.outputs)
        slots = {cell: k for k, cell in enumerate(plan.cells)}
        colmap = np.full(max(len(plan.cells), 1), -1, dtype=np.int64)
        layout, ncols = {}, 0
        for v in chosen:
            size = int(np.prod(v.shape)) if v.shape else 1
            layout[v.name] = (ncols, ncols + size, v.shape)
            for f in range(size):
                colmap[slots[(v.idx, f)]] = ncols + f
            ncols += size
        save_at = np.rint((grid.save_times - grid.t0) / grid.dt).astype(np.int64)
        npos = int(np.searchsorted(save_at, grid.nsteps, side="right"))
        tables = fused._tables(plan, P)
        series = fused._series(plan, P, prog)
        n = plan.n_state
        self._w0 = wshared
        self._tables0 = tables
        self._series0 = series
        self._layout = layout
        self._shape = (len(grid.save_times), ncols, 1)
        self._npos = npos
        self._times = grid.save_times[:npos]
        self._yinit = np.empty((n, 1))
        self._frame = dict(wpm=np.zeros((0, 1)), wpmrow=np.full(len(plan.rows), -1, dtype=np.int64),
                           t0=float(grid.t0), dt=float(grid.dt), nsteps=int(grid.nsteps), rk=self.method == "rk4",
                           check=bool(self.options.check_finite),
                           strict=np.ascontiguousarray(prog.strict_rows, dtype=np.bool_), save_at=save_at,
                           save_t=np.ascontiguousarray(grid.save_times, dtype=float), colmap=colmap)
        self._meta = dict(base.meta)
        self._metadata = {k: v for k, v in base.metadata.items() if k not in ("params", "seconds", "fused")}
        self._metadata["backend"] = "numba (prepared)"
        self._kernel = kernel
        self._run = kernel.serial()
        self._init = kernel.module.initial
        self._fast = True
        self._check_names()
        # the first call compiles the kernel's own initialisation; check it against Model.run
        got = self.run(None)
        for name, arr in base.data.items():
            if not np.array_equal(np.asarray(got.data[name]), arr, equal_nan=True):
                self._fast = None
                self.why = f"the kernel's initial values differ from the numpy path's ({name})"
                break

    def _check_names(self) -> None:
        self._name_rows = []
        for name in self.names:
            var = self.model.variable(name)
            if var.kind != "const" or var.dims:
                raise ParameterError(f"prepare: names must be scalar constants; {var.name!r} is not")
            if self._fast:
                row = self._const_rows.get(var.idx)
                self._name_rows.append((row[0] if row else -1, var.idx))

    # ------------------------------------------------------------------ calls
    def run(self, params: dict | None = None) -> Result:
        """One run with ``params`` (as ``Model.run``'s): the same result, computed without the fixed costs."""
        if not self._fast:
            return self._slow(params)
        req = resolve(self.model, params)
        if req.members != 1 or req.variant.difference(_series_of_constants(self.model, req.variant)):
            return self._slow(params)
        from . import fused

        w = self._w0.copy()
        defaults = self.model.program.defaults
        tables_changed = False
        for idx, val in req.P.items():
            if val is defaults.get(idx):
                continue
            if idx in self._control:
                return self._slow(params)  # another time grid
            spot = self._const_rows.get(idx)
            if spot is None:
                if self.model._var_by_idx(idx).kind == "lookup":
                    tables_changed = True
                continue
            r, size = spot
            flat = np.asarray(val.base if isinstance(val, rt.Override) else val, dtype=float).reshape(-1)
            w[r:r + size] = flat[:size] if flat.size >= size else np.broadcast_to(flat, (size,))
        plan, prog = self._kernel.plan, self.model.program
        tables = fused._tables(plan, req.P) if tables_changed else self._tables0
        series = fused._series(plan, req.P, prog) if any(k == "series" for _, k in req.variant) else self._series0
        return self._call(w, tables, series, params)

    def run_values(self, values) -> Result:
        """One run with the constants named in ``prepare(names=...)`` set to ``values`` (in that order)."""
        vals = np.asarray(values, dtype=float).reshape(-1)
        if vals.shape[0] != len(self.names):
            raise ParameterError(f"run_values: expected {len(self.names)} values, got {vals.shape[0]}")
        if not np.isfinite(vals).all():
            raise ParameterError("run_values: values must be finite numbers")
        if not self._fast:
            return self._slow(dict(zip(self.names, vals.tolist())))
        w = self._w0.copy()
        for (r, _), v in zip(self._name_rows, vals):
            if r >= 0:
                w[r] = v
        return self._call(w, self._tables0, self._series0, None, vals)

    def _call(self, w, tables, series, params, vals=None) -> Result:
        tabx, taby, taboff = tables
        serx, sery, sermeta, act_row, act_ser = series
        f = self._frame
        yinit = np.empty_like(self._yinit)
        self._init(w, tabx, taby, taboff, serx, sery, sermeta, act_row, act_ser, f["t0"], f["dt"], yinit)
        out = np.empty(self._shape)
        bad = np.zeros(1, dtype=np.int64)
        self._run(yinit, w, f["wpm"], f["wpmrow"], tabx, taby, taboff, serx, sery, sermeta, act_row, act_ser,
                  f["t0"], f["dt"], f["nsteps"], f["rk"], f["check"], f["strict"], f["save_at"], f["save_t"],
                  f["colmap"], out, bad)
        npos = self._npos
        if bad[0] or (f["check"] and not np.isfinite(out[:npos]).all()):
            if params is None and vals is not None:
                params = dict(zip(self.names, vals.tolist()))
            return self._slow(params)  # Model.run says where, or keeps :NA: as data
        data = _Columns(out, npos, self._layout)
        return Result(times=self._times, data=data, meta=self._meta, n_members=1,
                      metadata=dict(self._metadata, params=dict(params or {})),
                      status=[{"success": True, "message": ""}])

    def _slow(self, params) -> Result:
        return self.model.run(params, method=self.method, options=self.options, outputs=self.outputs)


def _numba(options):
    import dataclasses

    return options if options.backend == "numpy" else dataclasses.replace(options, backend="numba")


def _series_of_constants(model, variant) -> frozenset:
    """The part of a variant that keeps the base kernel: time series replacing constants."""
    kinds = model._kinds()
    return frozenset((i, k) for i, k in variant if k == "series" and kinds[i] == "const")


class _Columns(Mapping):
    """A run's outputs by name, each the view ``out[:npos, a:b]`` shaped (time, *shape, 1), made
    when first read: a caller that reads five of the flagship's 324 variables does not pay for
    the other views (about 0.4 ms a call)."""

    def __init__(self, out: np.ndarray, npos: int, layout: dict):
        self._out, self._npos, self._layout = out, npos, layout
        self._made: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        arr = self._made.get(name)
        if arr is None:
            a, b, shape = self._layout[name]
            arr = self._made[name] = self._out[:self._npos, a:b].reshape((self._npos,) + shape + (1,))
        return arr

    def __iter__(self):
        return iter(self._layout)

    def __len__(self) -> int:
        return len(self._layout)

    def __contains__(self, name) -> bool:
        return name in self._layout
