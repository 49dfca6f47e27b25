"""Helpers of the differential and conformance tests (and of scripts/make_references.py).

Stored pysd outputs live in ``tests/references/`` as compressed ``.npz`` files: ``times``,
``values`` (time x column), ``columns`` and ``meta`` (JSON: the model's sha256, the run's id, its
parameters and their sha256, pysd's version). A test compares the engine with such a file only
while the model file and the parameters are the ones it was made from; otherwise it skips and
says to run ``scripts/make_references.py``.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SDXORG = TESTS / "sdxorg"
REFERENCES = TESTS / "references"
FLAGSHIP = ROOT / "models" / "zhejiang_innovation_openness.mdl"
CONTROL = {"initial_time", "final_time", "time_step", "saveper"}
STALE = "references are for another model version: run scripts/make_references.py"
# engine = pysd to this fraction of each column's scale (max |ref|), with an absolute floor for
# columns that are zero throughout
DIFF_RTOL = 1e-9
DIFF_ATOL = 1e-12


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------- parameters
def encode_params(params: dict) -> dict:
    """Parameters as JSON data: numbers stay numbers, a Series becomes {"times", "values"}."""
    out = {}
    for key in sorted(params):
        v = params[key]
        if isinstance(v, pd.Series):
            out[key] = {"times": [float(x) for x in v.index], "values": [float(x) for x in v.to_numpy()]}
        else:
            out[key] = float(v)
    return out


def decode_params(data: dict) -> dict:
    return {k: (pd.Series(v["values"], index=v["times"]) if isinstance(v, dict) else float(v))
            for k, v in data.items()}


def params_sha256(params: dict) -> str:
    text = json.dumps(encode_params(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------- stored outputs
def save_reference(path: Path, frame: pd.DataFrame, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, times=frame.index.to_numpy(dtype=float),
                        values=frame.to_numpy(dtype=float), columns=np.array([str(c) for c in frame.columns]),
                        meta=np.array(json.dumps(meta, sort_keys=True, ensure_ascii=False)))
    tmp.replace(path)


def load_reference(path: Path) -> tuple[pd.DataFrame, dict]:
    with np.load(path, allow_pickle=False) as z:
        frame = pd.DataFrame(z["values"], index=pd.Index(z["times"], name="time"), columns=list(z["columns"]))
        meta = json.loads(str(z["meta"]))
    return frame, meta


def numeric_frame(df: pd.DataFrame) -> pd.DataFrame:
    """pysd's output with every column as float (it returns ints for integer constants)."""
    return df.apply(pd.to_numeric, errors="coerce").astype(float)


# ---------------------------------------------------------------------------- comparing
def frame_differences(got: pd.DataFrame, expected: pd.DataFrame, *, rtol: float = DIFF_RTOL,
                      atol: float = DIFF_ATOL, limit: int = 8) -> list[str]:
    """Why ``got`` differs from ``expected`` (empty when it does not).

    Same save times; every column of ``expected`` present in ``got``; NaN exactly where
    ``expected`` has NaN; elsewhere |got - expected| <= rtol * max|expected| + atol per column.
    """
    problems = []
    t_got, t_exp = got.index.to_numpy(dtype=float), expected.index.to_numpy(dtype=float)
    if t_got.shape != t_exp.shape or not np.allclose(t_got, t_exp, rtol=0, atol=1e-9 * max(1.0, np.abs(t_exp).max())):
        return [f"save times differ: {t_got[:5]}... ({len(t_got)}) vs {t_exp[:5]}... ({len(t_exp)})"]
    missing = [c for c in expected.columns if c not in got.columns]
    if missing:
        problems.append(f"{len(missing)} column(s) missing from the engine's output: {missing[:5]}")
    worst = []
    for col in expected.columns:
        if col in missing:
            continue
        b = expected[col].to_numpy(dtype=float)
        a = got[col].to_numpy(dtype=float)
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if (nan_a != nan_b).any():
            k = int(np.argmax(nan_a != nan_b))
            problems.append(f"{col}: NaN mismatch at time {t_exp[k]:g} (engine {a[k]}, pysd {b[k]})")
            continue
        ok = ~nan_b
        if not ok.any():
            continue
        if (np.isinf(a[ok]) | np.isinf(b[ok])).any():
            same = a[ok] == b[ok]
            if not same[np.isinf(b[ok]) | np.isinf(a[ok])].all():
                problems.append(f"{col}: infinite values differ")
                continue
            ok &= np.isfinite(b)
        scale = float(np.max(np.abs(b[ok]))) if ok.any() else 0.0
        err = float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else 0.0
        allowed = rtol * scale + atol
        if err > allowed:
            k = int(np.argmax(np.abs(a[ok] - b[ok])))
            worst.append((err / allowed, f"{col}: max|diff| {err:.3g} > {allowed:.3g} "
                                         f"(at time {t_exp[ok][k]:g}: engine {a[ok][k]!r}, pysd {b[ok][k]!r})"))
    worst.sort(reverse=True)
    problems += [w for _, w in worst[:limit]]
    if len(worst) > limit:
        problems.append(f"... and {len(worst) - limit} more column(s)")
    return problems


# ---------------------------------------------------------------------------- pysd as an oracle
@contextmanager
def pysd_compat():
    """Work around two faults of pysd 3.14 (with xarray 2026) that stop it, not change its numbers.

    1. pysd stacks every state (and derivative) with ``np.array([...], dtype=object)``, which
       raises "could not broadcast input array" when two states share their first dimension but
       not their shape: stocks over [A] and [A,B], or a DELAY3 over a 3-element range beside a
       stock over it. Here both are built element by element, as pysd's own code does whenever
       the shapes differ in their first dimension.
    2. pysd spreads a scalar over a subscripted equation with ``xr.DataArray(value, coords,
       dims)``; xarray 2026 refuses a numpy scalar there ("different number of dimensions on
       data and dims: 0 vs 1"), so any np.float64 (a stateful's output, MIN, EXP, a lookup...)
       in such a place stops the run. Here such a value is passed on as a Python float, which
       xarray broadcasts.
    No arithmetic changes; ``tests/test_differential_pysd_faults.py`` records both failures
    without this block.
    """
    import xarray as xr
    from pysd.py_backend import model as pysd_model

    def stack(items):
        out = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            out[i] = item
        return out

    def data_array_init(self, *args, **kwargs):
        dims = args[2] if len(args) > 2 else kwargs.get("dims")
        data = args[0] if args else kwargs.get("data")
        if dims and isinstance(data, (np.ndarray, np.generic)) and np.ndim(data) == 0:
            if args:
                args = (data.item(),) + args[1:]
            else:
                kwargs["data"] = data.item()
        return init(self, *args, **kwargs)

    cls = pysd_model.Model
    ddt, state, init = cls.ddt, cls.state, xr.DataArray.__init__
    cls.ddt = lambda self: stack([c.ddt() for c in self._dynamicstateful_elements])
    cls.state = property(lambda self: stack([c.state for c in self._dynamicstateful_elements]), state.fset)
    xr.DataArray.__init__ = data_array_init
    try:
        yield
    finally:
        cls.ddt, cls.state, xr.DataArray.__init__ = ddt, state, init


# ---------------------------------------------------------------------------- the SDXorg cases
def sdxorg_cases() -> list[tuple[str, Path, Path, Path]]:
    """(case id such as "tests/abs", folder, model file, canonical output) of the vendored suite."""
    from simulator.conformance import find_cases

    if not SDXORG.is_dir():
        return []
    return [(folder.relative_to(SDXORG).as_posix(), folder, model, ref)
            for folder, model, ref in find_cases([SDXORG])]


def case_reference(case_id: str) -> Path:
    return REFERENCES / "sdxorg" / (case_id.replace("/", "__") + ".npz")


# ---------------------------------------------------------------------------- the flagship
# pysd needs minutes per flagship run at the model's own TIME STEP (1/64); the references are
# made at a coarser step, given to both engines as a parameter: the equations are what is compared
REFERENCE_RUN = {"TIME STEP": 0.0625}


def flagship_catalogue():
    """The flagship's lever catalogue (its data folder beside the model file)."""
    import innosim

    return innosim.catalogue(FLAGSHIP)


def flagship_scenarios(model) -> list[tuple[str, dict]]:
    """(scenario id, parameters) of every built-in scenario, as the application runs them (plus
    :data:`REFERENCE_RUN`)."""
    import policies

    catalogue = flagship_catalogue()
    out = []
    for sid in sorted(policies.builtin_scenario_files(catalogue)):
        scenario = policies.load_scenario(sid, catalogue=catalogue, cities=model.subscripts.get("City"))
        out.append((sid, {**policies.scenario_params(scenario, model, catalogue=catalogue), **REFERENCE_RUN}))
    return out


def perturbable(model) -> set[str]:
    """The constants a perturbation scales: not the control values, and not calendar dates (on a
    time axis far from 0, constants in its range, such as 'Last Trade Data Year' = 2024 on
    2008-2050: 20 % off is the year 1620). Durations (3 years) are perturbed."""
    import numpy as np

    from simulator.names import normalize

    c = model.control
    t0, span = c["initial_time"], c["final_time"] - c["initial_time"]

    def is_date(name: str) -> bool:
        if t0 <= span:  # a time axis from 0 (or near it): no calendar dates to tell apart
            return False
        v = np.ravel(model.default_value(name))
        return bool(np.all((v >= t0 - span) & (v <= t0 + 2 * span)))

    return {n for n in model.constants if normalize(n) not in CONTROL and not is_date(n)}


def perturbed_constants(model, *, draws: int, seed: int, spread: float = 0.2) -> list[dict]:
    """``draws`` parameter sets: every :func:`perturbable` constant of ``model`` (each element of a
    subscripted one) times an independent factor uniform in [1 - spread, 1 + spread]."""
    import simulator

    base = model.run(method="euler", options=simulator.RunOptions(backend="numpy")).to_frame().iloc[0]
    names = perturbable(model)
    keys = [c for c in base.index if c.split("[")[0] in names]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        factors = rng.uniform(1 - spread, 1 + spread, size=len(keys))
        out.append({k: float(base[k]) * float(f) for k, f in zip(keys, factors)})
    return out


def flagship_reference(run_id: str) -> Path:
    return REFERENCES / "flagship" / f"{run_id}.npz"
