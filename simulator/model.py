"""Public model object: what the file contains, and ``run`` (a pure function of its inputs)."""
from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checks
from . import runtime as rt
from .errors import ParameterError, SolverError
from .ir import deep_trees, dependencies, lower_model
from .ir.strength import enabled_by_default
from .kernel_cache import KernelCache
from .loader import read_source
from .names import normalize, suggest
from .params import resolve
from .printers.numpy_printer import Program, print_numpy
from .result import Result, VariableMeta
from .solvers import (
    FIXED,
    MAX_OUTPUT_VALUES,
    MAX_STEPS,
    Adaptive,
    NonFiniteState,
    SolverStats,
    StepHooks,
    check_method,
    finite_check,
    integrate_adaptive,
    integrate_fixed,
    time_grid,
)

__version__ = "0.1.0"
BACKENDS = ("auto", "numpy", "numba")
CONTROL = ("initial_time", "final_time", "time_step", "saveper")
DEFAULT_METHOD = "euler"   # Vensim's own: fixed Euler steps of TIME STEP, in Python and every command


@dataclass(frozen=True)
class RunOptions:
    """How to integrate. Times in model time units; ``None`` means the model's own value.

    ``backend`` chooses how euler/rk4 runs are computed: "numpy" (vectorised, no compiling),
    "numba" (a compiled loop per member, see :mod:`simulator.fused`; compiled once per machine
    and model structure, seconds) or "auto" (numba for models whose numpy run would take at
    least ``fused.AUTO_MIN_SECONDS`` per member, judged from the model's size and number of steps
    only; numpy for smaller ones, for kernels too large to compile quickly and while a compile
    runs over ``fused.AUTO_COMPILE_SECONDS``). Both give the same numbers (bit for bit, or within
    1e-12 where numpy's SIMD pow/exp round differently from libm's, and where numba computes a
    power through exp and log, see :mod:`simulator.ir.strength`); ``metadata["backend"]`` says
    which ran, and why not numba when it did not.

    ``check_finite``: a NaN or infinity made by arithmetic raises :class:`NonFiniteError`
    (NaN that comes from Vensim's :NA: or missing values is data and is kept).
    ``max_steps`` bounds the TIME STEPs (and saved rows) of one run.
    ``data``: data files (paths) giving the values of DATA variables that have no equation
    (:mod:`simulator.datafiles`: Vensim's .dat, CSV, tab-separated, XLSX); without one such a
    variable is missing data, :NA: at every time. A series given in ``params`` wins.
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
    backend: str = "auto"
    max_steps: int = MAX_STEPS
    data: tuple = ()

    def __post_init__(self):
        if isinstance(self.data, (str, Path)) or not all(isinstance(f, (str, Path)) for f in self.data):
            raise ParameterError(f"RunOptions.data must be a tuple of file paths, got {self.data!r}")
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


def load(path: str | Path, *, cache: KernelCache | None = None, strength_reduction: bool | None = None) -> "Model":
    """Parse and compile a Vensim ``.mdl`` or XMILE ``.xmile``/``.stmx`` file.

    ``cache``: where compiled numba kernels are kept (default: ``$INNOSIM_CACHE`` or the user's
    cache folder, see :class:`~simulator.kernel_cache.KernelCache`).
    ``strength_reduction``: cheaper forms of powers in the printed code
    (:mod:`simulator.ir.strength`); None: on unless ``INNOSIM_STRENGTH_REDUCTION=0`` is set. Off
    only to compare or debug: the numbers agree within a few units in the last place.
    """
    return Model(path, cache=cache, strength_reduction=strength_reduction)


class Model:
    """A loaded model. Immutable from the caller's side: ``run`` never changes it."""

    def __init__(self, path: str | Path, *, cache: KernelCache | None = None,
                 strength_reduction: bool | None = None):
        self.source = read_source(path)
        # fixed for the model's life: every variant printed later is reduced alike
        self.strength_reduction = enabled_by_default() if strength_reduction is None else strength_reduction
        self.path = self.source.path
        self.sha256 = self.source.sha256
        self.cache = cache if cache is not None else KernelCache.from_env()
        self._variants: dict[frozenset, Program] = {}
        self._fused: dict[frozenset, object] = {}  # kernel variant -> fused.Kernel, or why there is none
        self._metas: dict[int, VariableMeta] = {}
        self._control: dict[str, float] | None = None
        self.program = self._program(frozenset())
        self._index = {v.key: v for v in self.program.ir.vars}
        self._elements = {el.key: el for el in self.source.elements.values()}

    # ------------------------------------------------------------------ introspection
    def _program(self, key: frozenset) -> Program:
        prog = self._variants.get(key)
        if prog is None:
            with deep_trees():
                prog = print_numpy(lower_model(self.source, dict(key)), reduce=self.strength_reduction)
            self._variants[key] = prog
        return prog

    @property
    def variables(self) -> dict[str, Variable]:
        out = {}
        deps = self.dependencies
        space = self.source.subscripts
        for v in self.program.ir.vars:
            kind = "stock" if v.is_stock else {"const": "constant", "lookup": "lookup"}.get(v.kind, "auxiliary")
            el = self._elements[v.key]
            out[v.name] = Variable(
                name=v.name, kind=kind, units=el.units, documentation=el.documentation, limits=el.limits,
                dims=tuple(space.display.get(d, d) for d in v.dims), dependencies=frozenset(deps.get(v.name, ())))
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
        names = {v.idx: v.name for v in self.program.ir.vars}
        return {names[i]: {names[j] for j in deps} for i, deps in dependencies(self.program.ir).items()}

    @property
    def doc(self):
        """One row per variable as a pandas DataFrame (pysd's ``model.doc``): variable, kind,
        units, subscripts, limits, zh/en description, range and source (see :mod:`simulator.doc`)."""
        from .doc import doc_table

        return doc_table(self)

    @property
    def control(self) -> dict[str, float]:
        """INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER as the model file sets them."""
        # computed once: it takes the whole initialisation, and every scenario applied asks for it
        if self._control is None:
            _, _, C, _ = self._initialise(self.program, dict(self.program.defaults), 1, fixed=True, seed=0)
            g = C["grid"]
            self._control = {"initial_time": g.t0, "final_time": g.tf, "time_step": g.dt, "saveper": g.saveper}
        return dict(self._control)

    def variable(self, name: str):
        """The variable called ``name`` (Vensim rules: case, spaces and underscores do not matter)."""
        var = self._index.get(normalize(name))
        if var is None:
            raise ParameterError(f"{self.path}: no variable named {name!r}."
                                 f"{suggest(name, [v.name for v in self.program.ir.vars])}")
        return var

    def default_value(self, name: str) -> np.ndarray:
        """The file's value of a constant: shape (*subscripts, 1), or (1,) for a scalar."""
        var = self.variable(name)
        if var.kind != "const":
            raise ParameterError(f"{self.path}: {var.name!r} is not a constant")
        return np.array(self.program.defaults[var.idx])

    # ------------------------------------------------------------------ running
    def _initialise(self, prog: Program, P, m, *, fixed, seed, opts: RunOptions | None = None):
        P = dict(P)
        opts = opts or RunOptions()
        ctl = {}
        for key in CONTROL:
            v = getattr(opts, key)
            var = self._index.get(key)
            if v is not None and var is not None and var.kind == "const":
                P[var.idx] = np.array([float(v)])
            ctl[key] = v
        t0_var = self._index["initial_time"]
        t0 = float(np.ravel(P[t0_var.idx])[0]) if t0_var.kind == "const" else 0.0
        if ctl["initial_time"] is not None:
            t0 = float(ctl["initial_time"])
        if not np.isfinite(t0):
            raise ParameterError(f"{self.path}: INITIAL TIME must be a finite number, got {t0}")
        clock = rt.Clock(dt=1.0, fixed=fixed, t0=t0, seed=seed)
        # the first pass gives the control values (they may be expressions) ...
        with np.errstate(all="ignore"):
            y0, S = prog.init(P, np.float64(t0), clock, m)
        C: dict = {"t0": t0}
        for key in ("final_time", "time_step", "saveper"):
            val = ctl[key] if ctl[key] is not None else S[self._index[key].idx]
            arr = np.ravel(np.asarray(val, dtype=float))
            if arr.size != 1 and not np.all(arr == arr[0]):
                raise ParameterError(f"{self._index[key].name} must be the same in every member")
            C[key] = float(arr[0])
        grid = time_grid(str(self.path), t0, C["final_time"], C["time_step"], C["saveper"], fixed=fixed,
                         max_steps=opts.max_steps)
        clock.dt = grid.dt
        clock.nsteps = grid.nsteps
        C["grid"] = grid
        C["clock"] = clock
        if prog.analysis.init_reads_clock:  # ... and a second one the values that read the clock
            with np.errstate(all="ignore"):
                y0, S = prog.init(P, np.float64(t0), clock, m)
        return y0, S, C, P

    def run(self, params: dict | None = None, *, method: str = DEFAULT_METHOD, options: RunOptions | None = None,
            outputs: list[str] | None = None, seed: int = 0, status: bool = False) -> Result:
        """Simulate.

        params: overrides by Vensim name (``"Name"`` or ``"Name[elem]"``): a number, an array
            with one value per member (the run becomes an ensemble), a pandas Series over time
            (a time series), a DataFrame over time with one column per member, or for a lookup a
            Series over x or an (x, y) pair. Values must be finite.
        method: "euler" (default: Vensim's fixed step of TIME STEP), "rk4", or an adaptive
            scipy method "RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau".
        outputs: variable names to keep (default: all).
        seed: seed of RANDOM UNIFORM/NORMAL noise.
        status: return a result with ``status`` per run instead of raising on solver failure.
        """
        method = check_method(method)
        opts = options or RunOptions()
        req = resolve(self, params)
        if opts.data:
            from .datafiles import data_overrides

            given = {i for i, _ in req.variant}
            req.P.update({i: t for i, t in data_overrides(self, opts.data).items() if i not in given})
        prog = self._program(req.variant)
        m = req.members
        started = _time.perf_counter()
        y0, S, C, P = self._initialise(prog, req.P, m, fixed=method in FIXED, seed=seed, opts=opts)
        clock, grid = C["clock"], C["grid"]
        chosen = self._chosen(prog, outputs)
        cells = sum(math.prod(v.shape) for v in chosen)
        if len(grid.save_times) * cells * m > MAX_OUTPUT_VALUES:
            raise ParameterError(
                f"{self.path}: the result would hold {len(grid.save_times)} rows x {cells} cells x {m} members; "
                f"the limit is {MAX_OUTPUT_VALUES:,} values: raise SAVEPER, shorten the run, pass "
                "outputs=[...] or split the ensemble")
        check = finite_check(prog.strict_rows) if opts.check_finite else None
        if check is not None and not check(y0):
            raise checks.diagnose(self, prog, P, S, clock, grid.t0, y0, initial=True)
        fused_run, backend, fused_meta = None, "numpy", None
        if method in ("euler", "rk4") and opts.backend != "numpy":
            from . import fused

            fused_run, backend, fused_meta = fused.attempt(
                self, prog, req.variant, method, opts, P=P, S=S, y0=y0, grid=grid, chosen=chosen, members=m)
        if fused_run is not None:
            stats = SolverStats(method=method, nfev=fused_run.nfev, steps=grid.nsteps, segments=1)
            data = fused_run.collect(S, chosen, m)
            save_times = grid.save_times[: fused_run.npos]
        else:
            states, stats = self._integrate(prog, method, opts, P, S, y0, C, req.switch_times, check)
            if not stats.success and not status:
                raise SolverError(f"{self.path}: solver {method} failed: {stats.message}")
            save_times = grid.save_times[: len(states)]
            data = self._collect(prog, P, S, clock, save_times, states, chosen, m)
        if opts.check_finite:
            skip = fused_run.finite_columns(chosen) if fused_run is not None else set()
            checks.check_outputs(self, prog, {k: v for k, v in data.items() if k not in skip}, save_times)
        metadata = {
            "model": str(self.path), "model_sha256": self.sha256, "engine_version": __version__,
            "method": method, "rtol": opts.rtol, "atol": opts.atol, "time_step": grid.dt,
            "saveper": grid.saveper, "members": m, "seed": seed, "params": dict(params or {}),
            "solver": stats.__dict__, "seconds": _time.perf_counter() - started, "backend": backend,
        }
        if fused_meta is not None:
            metadata["fused"] = fused_meta
        return Result(times=save_times, data=data, meta={v.name: self._meta(v) for v in chosen}, n_members=m,
                      metadata=metadata, status=[{"success": stats.success, "message": stats.message}])

    def _integrate(self, prog: Program, method, opts, P, S, y0, C, series_switch, check):
        clock, grid = C["clock"], C["grid"]

        def rhs(t, y):
            # numpy scalars make Time arithmetic follow IEEE rules (inf/nan, not ZeroDivisionError)
            return prog.rhs(np.float64(t), y, P, S, clock)

        try:
            with np.errstate(all="ignore"):
                if method in FIXED:
                    a = prog.analysis
                    hooks = StepHooks(
                        clip=tuple(off for s, off in zip(prog.ir.states, a.offsets) if s.non_negative),
                        check=check, registers=a.reg_offsets[0][0] if a.reg_offsets else 0,
                        update=None if prog.update is None else
                        (lambda t, y: prog.update(np.float64(t), y, P, S, clock)))
                    return integrate_fixed(rhs, y0, grid, method, hooks)
                if prog.ir.registers:
                    owner = next(v.name for v in prog.ir.vars if v.idx == prog.ir.registers[0].owner)
                    raise ParameterError(
                        f"{self.path}: variable {owner!r} uses DELAY FIXED, SAMPLE IF TRUE or DELAY N with a "
                        f"varying delay time, which step once per TIME STEP: run it with method='euler' or 'rk4'")
                switches = list(prog.switches(P, S, clock, grid.tf)) + list(series_switch) + \
                    list(opts.switch_times)
                if prog.analysis.has_noise:
                    switches += list(grid.t0 + grid.dt * np.arange(1, grid.nsteps + 1))
                setup = Adaptive(method=method, rtol=opts.rtol, atol=opts.atol, max_step=opts.max_step,
                                 switch_times=tuple(switches))
                return integrate_adaptive(rhs, y0, grid, setup, clock,
                                          check if check is not None else finite_check(prog.strict_rows))
        except NonFiniteState as exc:
            raise checks.diagnose(self, prog, P, S, clock, exc.t, exc.y) from None

    def prepare(self, *, method: str = "euler", options: RunOptions | None = None,
                outputs: list[str] | None = None, names: list[str] | None = None):
        """A :class:`~simulator.prepared.PreparedRun`: ``run`` with ``method`` (euler or rk4),
        ``options`` and ``outputs`` fixed, whose calls skip the fixed costs of :meth:`run`
        (``names``: scalar constants for its fastest call, ``run_values``)."""
        from .prepared import PreparedRun

        return PreparedRun(self, method=method, options=options, outputs=outputs, names=names)

    def _var_by_idx(self, idx: int):
        return self.program.ir.vars[idx] if self.program.ir.vars[idx].idx == idx else \
            next(v for v in self.program.ir.vars if v.idx == idx)

    def _kinds(self) -> dict:
        """idx -> kind of every variable of the base program (built once; callers only read it)."""
        kinds = self.__dict__.get("_kinds_cache")
        if kinds is None:
            kinds = self.__dict__["_kinds_cache"] = {v.idx: v.kind for v in self.program.ir.vars}
        return kinds

    def _chosen(self, prog: Program, outputs):
        wanted = None if outputs is None else {self.variable(o).idx for o in outputs}
        return [v for v in prog.ir.vars if v.kind != "lookup" and (wanted is None or v.idx in wanted)]

    def _meta(self, v) -> VariableMeta:
        meta = self._metas.get(v.idx)
        if meta is None:
            space = self.source.subscripts
            meta = self._metas[v.idx] = VariableMeta(
                name=v.name, dims=tuple(space.display.get(d, d) for d in v.dims),
                coords=tuple(tuple(space.display.get(e, e) for e in space.ranges[d]) for d in v.dims),
                units=self._elements[v.key].units)
        return meta

    def _collect(self, prog: Program, P, S, clock, times, states, chosen, m):
        data = {v.name: np.empty((len(times),) + v.shape + (m,)) for v in chosen}
        with np.errstate(all="ignore"):
            for k, t in enumerate(times):
                vals = prog.values(np.float64(t), states[k], P, S, clock)
                for v in chosen:
                    data[v.name][k] = np.broadcast_to(np.asarray(vals[v.idx], dtype=float), v.shape + (m,))
        return data


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
