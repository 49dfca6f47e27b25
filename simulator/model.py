"""Public model object: what the file contains, and ``run`` (a pure function of its inputs)."""
from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import fused as fused_backend
from . import runtime as rt
from .compiler import Compiler, Program
from .errors import NonFiniteError, ParameterError, SimulatorError, SolverError
from .fused import BACKENDS
from .loader import read_source
from .names import normalize, suggest
from .result import Result, VariableMeta
from .solvers import (
    FIXED,
    MAX_OUTPUT_VALUES,
    MAX_STEPS,
    NonFiniteState,
    SolverStats,
    check_method,
    finite_check,
    integrate_adaptive,
    integrate_fixed,
    time_grid,
)

__version__ = "0.1.0"


@dataclass(frozen=True)
class RunOptions:
    """How to integrate. Times in model time units; ``None`` means the model's own value.

    ``backend`` chooses how euler/rk4 runs are computed: "numpy" (vectorised, no compiling),
    "numba" (a compiled loop per member, see :mod:`simulator.fused`; compiled once per machine
    and model structure, seconds) or "auto" (numba for models whose numpy run would take at
    least ``fused.AUTO_MIN_SECONDS`` per member, judged from the model's size and number of steps
    only; numpy for smaller ones). Both give the same numbers (bit for bit, or within 1e-12
    where numpy's SIMD pow/exp round differently from libm's); ``metadata["backend"]`` says which
    ran, and why not numba when it did not.
    """

    rtol: float = 1e-6
    atol: float = 1e-6
    time_step: float | None = None
    saveper: float | None = None
    initial_time: float | None = None
    final_time: float | None = None
    switch_times: tuple = ()
    max_step: float = np.inf
    check_finite: bool = True
    backend: str = "auto"  # auto | numpy | numba: how fixed-step (euler, rk4) runs are computed
    max_steps: int = MAX_STEPS  # bound on TIME STEPs (and saved rows) of one run

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ParameterError(f"RunOptions.backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        for name in ("rtol", "atol", "time_step", "saveper", "max_step", "max_steps"):
            v = getattr(self, name)
            if v is not None and not (_is_number(v) and v > 0 and (np.isfinite(v) or name == "max_step")):
                raise ParameterError(f"RunOptions.{name} must be a positive number, got {v!r}")
        for name in ("initial_time", "final_time"):
            v = getattr(self, name)
            if v is not None and not (_is_number(v) and np.isfinite(v)):
                raise ParameterError(f"RunOptions.{name} must be a finite number, got {v!r}")


@dataclass(frozen=True)
class Variable:
    """Metadata of one model variable."""

    name: str
    kind: str  # stock | auxiliary | constant | lookup
    units: str
    documentation: str
    limits: tuple
    dims: tuple[str, ...]
    dependencies: frozenset = field(default_factory=frozenset)


def load(path: str | Path) -> "Model":
    """Parse and compile a Vensim ``.mdl`` or XMILE ``.xmile``/``.stmx`` file."""
    return Model(path)


class Model:
    """A loaded model. Immutable from the caller's side: ``run`` never changes it."""

    def __init__(self, path: str | Path):
        self.source = read_source(path)
        self.path = self.source.path
        self.sha256 = self.source.sha256
        self._variants: dict[frozenset, Program] = {}
        self._fused: dict[frozenset, object] = {}  # kernel variant -> fused.Kernel, or why there is none
        self._metas: dict[int, VariableMeta] = {}
        self.program = self._program(frozenset())
        self._index = {v.key: v for v in self.program.vars.values()}

    # ------------------------------------------------------------------ introspection
    def _program(self, key: frozenset) -> Program:
        prog = self._variants.get(key)
        if prog is None:
            prog = Compiler(self.source, dict(key)).compile()
            self._variants[key] = prog
        return prog

    @property
    def variables(self) -> dict[str, Variable]:
        out = {}
        deps = self.dependencies
        for v in self.program.order:
            kind = "stock" if v.is_stock else {"const": "constant", "lookup": "lookup"}.get(v.kind, "auxiliary")
            el = v.element
            out[v.name] = Variable(
                name=v.name, kind=kind, units=el.units, documentation=el.documentation,
                limits=el.limits, dims=tuple(self.source.subscripts.display.get(d, d) for d in v.dims),
                dependencies=frozenset(deps.get(v.name, ())))
        return out

    def _names_of(self, kind: str) -> list[str]:
        return [n for n, v in self.variables.items() if v.kind == kind]

    @property
    def stocks(self) -> list[str]:
        return self._names_of("stock")

    @property
    def auxiliaries(self) -> list[str]:
        return self._names_of("auxiliary")

    @property
    def constants(self) -> list[str]:
        return self._names_of("constant")

    @property
    def lookups(self) -> list[str]:
        return self._names_of("lookup")

    @property
    def subscripts(self) -> dict[str, list[str]]:
        sp = self.source.subscripts
        return {sp.display.get(k, k): [sp.display.get(e, e) for e in els] for k, els in sp.ranges.items()}

    @property
    def dependencies(self) -> dict[str, set[str]]:
        """Variable -> the variables its equations read (through stocks' flows and initial values too)."""
        names = {v.idx: v.name for v in self.program.vars.values()}
        out: dict[str, set[str]] = {}
        for v in self.program.vars.values():
            if v.kind in ("const", "lookup"):
                out[v.name] = set()
        comp = Compiler(self.source)
        for v in comp.vars.values():
            if v.kind in ("const", "lookup"):
                continue
            deps = set()
            _, ctx = comp._compile_var(v, "run")
            deps |= {names[d[1]] for d in ctx.deps if d[0] == "v"}
            stateful_ids = [d[1] for d in ctx.deps if d[0] == "s"]
            comp._compile_var(v, "init")
            i = 0
            while i < len(comp.statefuls):
                comp._compile_stateful_parts(comp.statefuls[i])
                i += 1
            for sid in stateful_ids:
                for dset in comp.statefuls[sid].deps.values():
                    deps |= {names[d[1]] for d in dset if d[0] == "v"}
            out[v.name] = deps
        return out

    @property
    def control(self) -> dict[str, float]:
        """INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER as the model file sets them."""
        y0, S, C, P = self._initialise(self.program, self._params({}, 1)[0], 1, fixed=True, seed=0)
        return {"initial_time": C["t0"], "final_time": C["tf"], "time_step": C["dt"], "saveper": C["saveper"]}

    def variable(self, name: str):
        return self._find(name)

    def _find(self, name: str):
        var = self._index.get(normalize(name))
        if var is None:
            raise ParameterError(f"{self.path}: no variable named {name!r}."
                                 f"{suggest(name, [v.name for v in self.program.vars.values()])}")
        return var

    # ------------------------------------------------------------------ parameters
    def _parse_key(self, key: str):
        key = key.strip()
        cell = None
        if key.endswith("]") and "[" in key:
            base, _, inner = key[:-1].partition("[")
            var = self._find(base)
            elems = [normalize(e) for e in inner.split(",")]
            if len(elems) != len(var.dims):
                raise ParameterError(f"{key!r}: {var.name!r} has {len(var.dims)} subscripts, "
                                     f"{len(elems)} given")
            cell = []
            for d, e in zip(var.dims, elems):
                els = self.source.subscripts.ranges[d]
                if e not in els:
                    raise ParameterError(f"{key!r}: {e!r} is not an element of "
                                         f"{self.source.subscripts.display.get(d, d)!r}."
                                         f"{suggest(e, els)}")
                cell.append(els.index(e))
            cell = tuple(cell)
        else:
            var = self._find(key)
        return var, cell

    def _params(self, params: dict, members: int | None):
        """Resolve overrides into (P, variant key, member count, series switch times)."""
        prog0 = self.program
        P = dict(prog0.defaults)
        variant: dict[int, str] = {}
        series_specs: dict[int, list] = {}
        switch = []
        m = members or 1
        sizes = set()
        for key, value in (params or {}).items():
            var, cell = self._parse_key(key)
            if var.is_stock:
                raise ParameterError(f"{key!r} is a stock; override its initial value's constant instead")
            if var.kind == "lookup":
                P[var.idx] = _as_table(key, value, var)
                continue
            if isinstance(value, (pd.Series, pd.DataFrame)) or (isinstance(value, tuple) and len(value) == 2):
                xs, ys = _as_series(key, value)
                if ys.ndim == 2:
                    sizes.add(ys.shape[1])
                series_specs.setdefault(var.idx, []).append((cell, xs, ys))
                variant[var.idx] = "series"
                if len(xs) <= 500:
                    switch.extend(xs.tolist())
                continue
            arr = _as_array(key, value, var.shape if cell is None else ())
            if arr.shape[-1] > 1:
                sizes.add(arr.shape[-1])
            if var.kind != "const":
                variant[var.idx] = "const"
            base = P.get(var.idx)
            if cell is None:
                P[var.idx] = arr if var.shape else arr.reshape(-1)
            else:
                if base is None:
                    raise ParameterError(f"{key!r}: only constants can be set element by element")
                mm = max(base.shape[-1], arr.shape[-1])
                new = np.array(np.broadcast_to(base, base.shape[:-1] + (mm,)))
                new[cell] = arr.reshape(-1)
                P[var.idx] = new
        if len(sizes) > 1:
            raise ParameterError(f"parameters give different ensemble sizes: {sorted(sizes)}")
        if sizes:
            size = sizes.pop()
            if members not in (None, size):
                raise ParameterError(f"members={members} but parameters carry {size} values each")
            m = size
        for idx, specs in series_specs.items():
            var = next(v for v in prog0.vars.values() if v.idx == idx)
            base = P.get(idx)
            if base is None or var.kind != "const":
                base = np.zeros(var.shape + (1,)) if var.shape else np.zeros(1)
                if any(c is not None for c, _, _ in specs):
                    raise ParameterError(f"{var.name!r}: only constants can take element-wise time series")
            P[idx] = rt.Override(np.asarray(base, dtype=float), [(c, x, y) for c, x, y in specs])
        return P, frozenset(variant.items()), m, switch

    # ------------------------------------------------------------------ running
    def _initialise(self, prog: Program, P, m, *, fixed, seed, opts: RunOptions | None = None):
        P = dict(P)
        opts = opts or RunOptions()
        ctl = {}
        for key, attr in (("initial_time", "initial_time"), ("final_time", "final_time"),
                          ("time_step", "time_step"), ("saveper", "saveper")):
            v = getattr(opts, attr)
            var = prog.vars.get(key)
            if v is not None and var is not None and var.kind == "const":
                P[var.idx] = np.array([float(v)])
            ctl[key] = v
        t0 = float(np.ravel(P[prog.vars["initial_time"].idx])[0]) if prog.vars["initial_time"].kind == "const" \
            else 0.0
        if ctl["initial_time"] is not None:
            t0 = float(ctl["initial_time"])
        if not np.isfinite(t0):
            raise ParameterError(f"{self.path}: INITIAL TIME must be a finite number, got {t0}")
        clock = rt.Clock(dt=1.0, fixed=fixed, t0=t0, seed=seed)
        # the first pass gives the control values (they may be expressions) ...
        with np.errstate(all="ignore"):
            y_first, S = prog.init(P, np.float64(t0), clock, m)
        C = {"t0": t0}
        for key in ("final_time", "time_step", "saveper"):
            val = ctl[key] if ctl[key] is not None else S[prog.vars[key].idx]
            arr = np.ravel(np.asarray(val, dtype=float))
            if arr.size != 1 and not np.all(arr == arr[0]):
                raise ParameterError(f"{prog.vars[key].name} must be the same in every member")
            C[{"final_time": "tf", "time_step": "dt", "saveper": "saveper"}[key]] = float(arr[0])
        grid = time_grid(str(self.path), t0, C["tf"], C["dt"], C["saveper"], fixed=fixed,
                         max_steps=opts.max_steps)
        clock.dt = C["dt"]
        clock.nsteps = grid.nsteps
        C["grid"] = grid
        if prog.init_uses_clock:  # otherwise the first pass already gave every value
            with np.errstate(all="ignore"):
                y0, S = prog.init(P, np.float64(t0), clock, m)
        else:
            y0 = y_first
        C["clock"] = clock
        return y0, S, C, P

    def run(self, params: dict | None = None, *, method: str = "RK45", options: RunOptions | None = None,
            outputs: list[str] | None = None, seed: int = 0, status: bool = False) -> Result:
        """Simulate.

        params: overrides by Vensim name (``"Name"`` or ``"Name[elem]"``): a number, an array
            with one value per member (the run becomes an ensemble), a pandas Series over time
            (a time series), a DataFrame over time with one column per member, or for a lookup a
            Series over x or an (x, y) pair.
        method: "RK45" (default), "RK23", "DOP853", "LSODA", "BDF", "Radau", "euler", "rk4".
        outputs: variable names to keep (default: all).
        seed: seed of RANDOM UNIFORM/NORMAL noise.
        status: return a result with ``status`` per run instead of raising on solver failure.
        """
        method = check_method(method)
        opts = options or RunOptions()
        P, key, m, series_switch = self._params(params or {}, None)
        prog = self._program(key)
        fixed = method in FIXED
        started = _time.perf_counter()
        y0, S, C, P = self._initialise(prog, P, m, fixed=fixed, seed=seed, opts=opts)
        clock = C["clock"]
        t0, tf, dt, saveper = C["t0"], C["tf"], C["dt"], C["saveper"]
        save_times = C["grid"].save_times
        chosen = self._chosen(prog, outputs)
        cells = sum(int(np.prod(v.shape)) for v in chosen)
        if len(save_times) * cells * m > MAX_OUTPUT_VALUES:
            raise ParameterError(
                f"{self.path}: the result would hold {len(save_times)} rows x {cells} cells x {m} members; "
                f"the limit is {MAX_OUTPUT_VALUES:,} values: raise SAVEPER, shorten the run, pass "
                "outputs=[...] or split the ensemble")
        check = finite_check(prog.strict_rows) if opts.check_finite else None
        if check is not None and not check(y0):
            raise self._diagnose(prog, P, S, clock, t0, y0, initial=True)

        def rhs(t, y):
            # numpy scalars make Time arithmetic follow IEEE rules (inf/nan, not ZeroDivisionError)
            return prog.rhs(np.float64(t), y, P, S, clock)

        clip = [(a, b) for sid, a, b, _ in prog.blocks
                if prog.statefuls[sid].kind == "integ" and prog.statefuls[sid].non_negative]
        kernel, driver, backend = fused_backend.select(self, prog, key, method, opts, clock.nsteps, m)
        fused = None
        if kernel is not None:
            try:
                fused = kernel.integrate(prog, P, S, y0, t0=t0, dt=dt, nsteps=clock.nsteps, save_times=save_times,
                                         rk=method == "rk4", check=opts.check_finite, wanted=chosen, members=m,
                                         parallel=driver == "parallel",
                                         compile_limit=fused_backend.AUTO_COMPILE_SECONDS
                                         if opts.backend == "auto" else None)
            except fused_backend.FusedUnsupported as exc:
                fused_backend.forget(self, kernel, str(exc))
                kernel, backend = None, f"numpy (fused backend: {exc})"
            if fused is None and kernel is not None:
                backend = "numpy (fused backend: a value became NaN or infinite; the numpy path handles it)"
        try:
            with np.errstate(all="ignore"):
                if fused is not None:
                    stats = SolverStats(method=method, nfev=fused[3], steps=clock.nsteps, segments=1)
                    states = fused[1][: fused[2]]
                elif fixed:
                    states, stats = integrate_fixed(rhs, y0, t0, dt, clock.nsteps, save_times, method, clip,
                                                    check)
                else:
                    with np.errstate(all="ignore"):
                        sw = prog.switches(P, S, clock, tf)
                    switches = list(sw) + list(series_switch) + list(opts.switch_times)
                    if _has_random(prog):
                        switches += list(t0 + dt * np.arange(1, clock.nsteps + 1))
                    states, stats = integrate_adaptive(rhs, y0, (t0, tf), save_times, method, opts.rtol,
                                                       opts.atol, switches, clock, opts.max_step,
                                                       check if check is not None else finite_check(prog.strict_rows))
        except NonFiniteState as exc:
            raise self._diagnose(prog, P, S, clock, exc.t, exc.y) from None
        if not stats.success and not status:
            raise SolverError(f"{self.path}: solver {method} failed: {stats.message}")
        save_times = save_times[: len(states)]
        if fused is not None:
            data, meta = fused_backend.collect(S, chosen, fused, m), {v.name: self._meta(v) for v in chosen}
        else:
            data, meta = self._collect(prog, P, S, clock, save_times, states, chosen, m)
        if opts.check_finite:
            if fused is not None and np.isfinite(fused[1][: fused[2]]).all():
                # the kernel's columns are finite: only values taken from the initial pass remain
                from_kernel = {v.name for v in chosen if v.idx in fused[0]}
                self._check_outputs(prog, {k: v for k, v in data.items() if k not in from_kernel}, save_times)
            else:
                self._check_outputs(prog, data, save_times)
        elapsed = _time.perf_counter() - started
        metadata = {
            "model": str(self.path), "model_sha256": self.sha256, "engine_version": __version__,
            "method": method, "rtol": opts.rtol, "atol": opts.atol, "time_step": dt, "saveper": saveper,
            "members": m, "seed": seed, "params": dict(params or {}),
            "solver": stats.__dict__, "seconds": elapsed, "backend": backend,
        }
        if kernel is not None:
            metadata["fused"] = {"kernel": kernel.origin, "compile_seconds": dict(kernel.compile_seconds),
                                 "loop_seconds": kernel.last_seconds}
        return Result(times=save_times, data=data, meta=meta, n_members=m, metadata=metadata,
                      status=[{"success": stats.success, "message": stats.message}])

    def _chosen(self, prog, outputs):
        wanted = None
        if outputs is not None:
            wanted = {self._find(o).idx for o in outputs}
        return [v for v in prog.order if v.kind != "lookup" and (wanted is None or v.idx in wanted)]

    def _meta(self, v) -> VariableMeta:
        meta = self._metas.get(v.idx)
        if meta is None:
            space = self.source.subscripts
            meta = self._metas[v.idx] = VariableMeta(
                name=v.name, dims=tuple(space.display.get(d, d) for d in v.dims),
                coords=tuple(tuple(space.display.get(e, e) for e in space.ranges[d]) for d in v.dims),
                units=v.element.units)
        return meta

    def _collect(self, prog, P, S, clock, times, states, chosen, m):
        data, meta = {}, {}
        for v in chosen:
            data[v.name] = np.empty((len(times),) + v.shape + (m,))
            meta[v.name] = self._meta(v)
        with np.errstate(all="ignore"):
            for k, t in enumerate(times):
                vals = prog.values(np.float64(t), states[k], P, S, clock)
                for v in chosen:
                    data[v.name][k] = np.broadcast_to(np.asarray(vals[v.idx], dtype=float), v.shape + (m,))
        return data, meta

    def _check_outputs(self, prog, data, times):
        """A variable that feeds no stock can still turn NaN/inf: report it, never return it silently.

        NaN in a variable that reads Vensim's :NA: or missing values (``prog.na_vars``) is data,
        not a failure; infinity never is.
        """
        for v in prog.order:
            arr = data.get(v.name)
            if arr is None:
                continue
            bad = np.isinf(arr) if v.idx in prog.na_vars else ~np.isfinite(arr)
            if bad.any():
                k, *cell = np.argwhere(bad)[0]
                raise NonFiniteError(
                    f"{self.path}: variable {v.name!r}{self._cell_label(v, cell[:-1])} has a non-finite value "
                    f"({float(arr[(k, *cell)])}) at time {float(times[k]):g} in member {int(cell[-1])}",
                    variable=v.name, member=int(cell[-1]), time=float(times[k]))

    def _cell_label(self, v, cell) -> str:
        if not v.dims:
            return ""
        space = self.source.subscripts
        return "[" + ",".join(space.display.get(space.ranges[d][int(i)], "?") for d, i in zip(v.dims, cell)) + "]"

    def _diagnose(self, prog, P, S, clock, t, y, initial=False) -> SimulatorError:
        with np.errstate(all="ignore"):
            try:
                vals = prog.values(np.float64(t), y, P, S, clock)
            except Exception:  # noqa: BLE001 - diagnosis must not mask the original problem
                vals = {}
        order = [prog.vars[k] for k in prog.vars]
        run_pos = {node[1]: i for i, node in enumerate(prog.run_order) if node[0] == "v"}
        order.sort(key=lambda v: run_pos.get(v.idx, -1))
        for v in order:
            if v.idx not in vals:
                continue
            arr = np.asarray(vals[v.idx], dtype=float)
            bad = np.isinf(arr) if v.idx in prog.na_vars else ~np.isfinite(arr)
            if bad.any():
                cell = np.argwhere(bad)[0]
                member = int(cell[-1]) if arr.ndim else 0
                where = self._cell_label(v, cell[:-1])
                what = "initial value" if initial else "value"
                return NonFiniteError(
                    f"{self.path}: variable {v.name!r}{where} has a non-finite {what} "
                    f"({float(arr[tuple(cell)])}) at time {float(t):g} in member {member}",
                    variable=v.name, member=member, time=float(t))
        strict = prog.strict_rows if prog.strict_rows is not None else np.ones(len(y), dtype=bool)
        bad = np.argwhere(np.where(strict[:, None], ~np.isfinite(y), np.isinf(y)))
        member = int(bad[0][-1]) if len(bad) else 0
        row = int(bad[0][0]) if len(bad) else 0
        owner = next((prog.statefuls[sid].owner for sid, a, b, _ in prog.blocks if a <= row < b), "?")
        return NonFiniteError(f"{self.path}: stock {owner!r} became non-finite at time {float(t):g} "
                              f"in member {member}", variable=owner, member=member, time=float(t))


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _has_random(prog: Program) -> bool:
    return "rt.make_noise" in prog.source_text


def _as_array(key, value, shape) -> np.ndarray:
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


def _as_series(key, value):
    if isinstance(value, tuple):
        xs, ys = (np.asarray(v, dtype=float) for v in value)
    elif isinstance(value, pd.DataFrame):
        xs, ys = value.index.to_numpy(dtype=float), value.to_numpy(dtype=float)
    else:
        xs, ys = value.index.to_numpy(dtype=float), value.to_numpy(dtype=float)
    if xs.ndim != 1 or len(xs) == 0 or ys.shape[0] != len(xs):
        raise ParameterError(f"{key!r}: time series needs matching time and value arrays")
    if not np.all(np.diff(xs) > 0):
        raise ParameterError(f"{key!r}: time series index must be strictly increasing")
    if not np.isfinite(ys).all():
        raise ParameterError(f"{key!r}: time series contains non-finite values")
    return xs, ys


def _as_table(key, value, var):
    if var.dims:
        raise ParameterError(f"{key!r}: replacing subscripted lookups is not supported")
    if isinstance(value, pd.Series):
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
