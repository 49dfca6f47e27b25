"""Calibrate a model's free parameters to recorded data (``innosim calibrate``).

Pipeline: targets CSV (year, series, value, source[, weight]) -> free parameters (the model's
constants documented with ``kind: calibrated`` and a ``range: lo..hi``) -> scipy.optimize fit of
the relative errors -> a TOML calibration file, per-series MAPE and a plot of model vs data.

The fitted values live in ``<prefix>_calibration.toml`` (``[params]`` table); any engine takes them
as run parameters through :func:`load_calibrated_params`. ``--update-model`` also writes them into
the ``.mdl`` constants, so the model file alone reproduces the fit.

Runs go through a *runner*: the project's engine (one ensemble run per generation of
``differential_evolution(vectorized=True)``) when it imports and loads the model, otherwise pysd
(one run per candidate, slower; a local least-squares fit is then the default).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "models" / "zhejiang_innovation_openness.mdl"
DEFAULT_TARGETS = REPO / "models" / "zhejiang_targets.csv"

__all__ = [
    "FreeParameter", "CalibrationConfig", "CalibrationResult", "Runner",
    "read_targets", "free_parameters", "make_runner", "calibrate", "mape_table",
    "write_calibration", "load_calibrated_params", "write_params_to_mdl", "plot_fit", "main",
]


# ---------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class FreeParameter:
    """A constant to fit: Vensim name, bounds and the model file's current value."""

    name: str
    lower: float
    upper: float
    value: float

    def __post_init__(self):
        if not self.lower < self.upper:
            raise ValueError(f"{self.name!r}: lower bound {self.lower} is not below upper {self.upper}")


def read_targets(path: str | Path) -> pd.DataFrame:
    """Read a targets CSV with columns year, series, value, source and an optional weight."""
    df = pd.read_csv(path)
    missing = {"year", "series", "value", "source"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: targets file lacks columns {sorted(missing)}")
    if "weight" not in df.columns:
        df["weight"] = 1.0
    df = df.astype({"year": float, "value": float, "weight": float})
    if (df["value"] == 0).any():
        raise ValueError(f"{path}: zero target values make relative errors undefined")
    return df


def mdl_elements(path: str | Path) -> dict[str, dict]:
    """Split a Vensim file into {name: {equation, units, doc, op}} (plain text, no evaluation).

    ``op`` is ``=`` for equations, ``(`` for lookups and ``:`` for subscript ranges; group
    headers (``***`` lines) are skipped.
    """
    text = Path(path).read_text(encoding="utf-8")
    text = text.split("\\\\\\---///", 1)[0].replace("{UTF-8}", "", 1)
    out = {}
    for chunk in text.split("|"):
        parts = chunk.split("~")
        eq = parts[0].strip()
        if len(parts) != 3 or not eq or eq.startswith("*"):
            continue
        units, doc = parts[1], parts[2]
        m = re.match(r"([^=(:]+?)\s*(\[[^\]]*\])?\s*(=|\(|:)", eq)
        if not m:
            continue
        out[m.group(1).strip()] = {"equation": eq, "units": units.strip(),
                                    "doc": " ".join(doc.split()), "op": m.group(3)}
    return out


def doc_field(doc: str, key: str) -> str | None:
    """The ``key: value`` field of a ``zh: ...; en: ...; source: ...`` documentation string."""
    m = re.search(rf"(?:^|;\s*){key}:\s*([^;]*)", doc)
    return m.group(1).strip() if m else None


def free_parameters(model_path: str | Path, only: list[str] | None = None) -> list[FreeParameter]:
    """Constants documented ``kind: calibrated``, bounds from their ``range: lo..hi`` field."""
    params = []
    for name, el in mdl_elements(model_path).items():
        if doc_field(el["doc"], "kind") != "calibrated" or (only and name not in only):
            continue
        lo, hi = (float(x) for x in doc_field(el["doc"], "range").split(".."))
        value = float(el["equation"].split("=", 1)[1])
        params.append(FreeParameter(name, lo, hi, min(max(value, lo), hi)))
    if only and len(params) != len(only):
        known = {p.name for p in params}
        raise ValueError(f"not calibratable in {model_path}: {sorted(set(only) - known)}")
    return params


# ---------------------------------------------------------------------------- runners
class Runner(Protocol):
    """Runs a model for an ensemble of parameter sets; returns {output: (n_years, members)}."""

    name: str

    def __call__(self, params: dict[str, np.ndarray], outputs: list[str],
                 years: np.ndarray) -> dict[str, np.ndarray]: ...


class EngineRunner:
    """The project's engine: every member of the ensemble in one vectorised Euler run."""

    name = "simulator"

    def __init__(self, model_path: str | Path, base: dict | None = None):
        import simulator
        self._sim = simulator
        self.model = simulator.load(model_path)
        self.base = dict(base or {})

        self.ensemble = True  # cleared if this engine version rejects member arrays

    def _run(self, params, outputs, years):
        opts = self._sim.RunOptions(final_time=float(years.max()))
        res = self.model.run({**self.base, **params}, method="euler", options=opts, outputs=outputs)
        idx = np.searchsorted(res.times, years)
        return {o: np.asarray(res[o])[idx].reshape(len(years), -1) for o in outputs}

    def __call__(self, params, outputs, years):
        members = max([np.size(v) for v in params.values()] + [1])
        if self.ensemble or members == 1:
            try:
                return self._run(params, outputs, years)
            except ValueError:
                if members == 1:
                    raise
                self.ensemble = False
        runs = [self._run({n: float(np.ravel(v)[k % np.size(v)]) for n, v in params.items()},
                          outputs, years) for k in range(members)]
        return {o: np.hstack([r[o] for r in runs]) for o in outputs}


class PysdRunner:
    """pysd fallback: one run per member (pysd keeps set parameters, so all are passed each time)."""

    name = "pysd"

    def __init__(self, model_path: str | Path, base: dict | None = None):
        from .parsing import pysd_read_vensim
        self.model = pysd_read_vensim(model_path)
        self.base = dict(base or {})

    def __call__(self, params, outputs, years):
        members = max([np.size(v) for v in params.values()] + [1])
        out = {o: np.empty((len(years), members)) for o in outputs}
        for k in range(members):
            p = {**self.base, **{n: float(np.ravel(v)[k % np.size(v)]) for n, v in params.items()}}
            df = self.model.run(params=p, return_columns=outputs, return_timestamps=list(years),
                                final_time=float(years.max()))
            for o in outputs:
                out[o][:, k] = df[o].to_numpy()
        return out


def make_runner(model_path: str | Path, engine: str = "auto", base: dict | None = None) -> Runner:
    """The engine if it loads this model (or ``engine='simulator'``), else pysd."""
    if engine in ("auto", "simulator"):
        try:
            return EngineRunner(model_path, base)
        except Exception as exc:  # noqa: BLE001 - any engine failure means: use pysd
            if engine == "simulator":
                raise
            print(f"engine unavailable ({type(exc).__name__}: {exc}); using pysd", file=sys.stderr)
    return PysdRunner(model_path, base)


# ---------------------------------------------------------------------------- fit
@dataclass(frozen=True)
class CalibrationConfig:
    """Options of a calibration (the CLI maps onto these)."""

    model: Path = DEFAULT_MODEL
    targets: Path = DEFAULT_TARGETS
    out: Path | None = None
    method: str = "auto"  # auto | de | least_squares
    maxiter: int = 60
    popsize: int = 12
    seed: int = 1
    engine: str = "auto"
    only: tuple[str, ...] = ()
    update_model: bool = False
    plot: bool = True


@dataclass
class CalibrationResult:
    params: dict[str, float]
    objective: float
    mape: dict[str, float]
    method: str
    runner: str
    evaluations: int
    free: list[FreeParameter] = field(default_factory=list)


class _Objective:
    """Weighted mean squared relative error, each series weighted equally (times its weight)."""

    def __init__(self, runner: Runner, free: list[FreeParameter], targets: pd.DataFrame):
        self.runner, self.free, self.targets = runner, free, targets
        self.series = list(dict.fromkeys(targets["series"]))
        self.years = np.array(sorted(set(targets["year"])))
        self.rows = []  # (series, year index, value, weight / n points in series)
        for s in self.series:
            sub = targets[targets["series"] == s]
            for _, r in sub.iterrows():
                self.rows.append((s, int(np.searchsorted(self.years, r["year"])), r["value"],
                                  r["weight"] / len(sub)))
        self.evaluations = 0

    def simulate(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """X: (n_params, members) -> {series: (n_years, members)}."""
        self.evaluations += X.shape[1]
        params = {p.name: X[i] for i, p in enumerate(self.free)}
        return self.runner(params, self.series, self.years)

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """Weighted relative errors, shape (n_rows, members); non-finite runs get a large error."""
        sim = self.simulate(X)
        res = np.array([math.sqrt(w) * (sim[s][i] - v) / v for s, i, v, w in self.rows])
        return np.where(np.isfinite(res), res, 1e3)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        single = X.ndim == 1
        r = self.residuals(X[:, None] if single else X)
        loss = np.sum(r ** 2, axis=0)
        return float(loss[0]) if single else loss


def mape_table(sim: dict[str, np.ndarray], targets: pd.DataFrame, years: np.ndarray,
               member: int = 0) -> dict[str, float]:
    """Mean absolute percentage error per series (fraction, e.g. 0.03 = 3 %)."""
    out = {}
    for s, sub in targets.groupby("series", sort=False):
        idx = np.searchsorted(years, sub["year"].to_numpy())
        model = sim[s][idx, member]
        out[s] = float(np.mean(np.abs(model - sub["value"].to_numpy()) / np.abs(sub["value"].to_numpy())))
    return out


def calibrate(cfg: CalibrationConfig, runner: Runner | None = None,
              log: Callable[[str], None] = print) -> CalibrationResult:
    """Fit the free parameters of ``cfg.model`` to ``cfg.targets``."""
    from scipy import optimize

    targets = read_targets(cfg.targets)
    free = free_parameters(cfg.model, list(cfg.only) or None)
    runner = runner or make_runner(cfg.model, cfg.engine)
    obj = _Objective(runner, free, targets)
    lo = np.array([p.lower for p in free])
    hi = np.array([p.upper for p in free])
    x0 = np.array([p.value for p in free])
    method = cfg.method
    if method == "auto":
        method = "de" if runner.name == "simulator" else "least_squares"
    log(f"calibrating {len(free)} parameters with {method} ({runner.name} runner); "
        f"start objective {obj(x0):.5g}")
    x = x0
    if method == "de":
        de = optimize.differential_evolution(
            obj, list(zip(lo, hi)), maxiter=cfg.maxiter, popsize=cfg.popsize, seed=cfg.seed,
            vectorized=True, updating="deferred", polish=False, tol=1e-8,
            x0=np.clip(x0, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo)))
        x = de.x
        log(f"differential evolution: objective {de.fun:.5g} after {de.nit} generations")
    if method in ("de", "least_squares"):
        ls = optimize.least_squares(lambda v: obj.residuals(v[:, None])[:, 0], np.clip(x, lo, hi),
                                    bounds=(lo, hi), x_scale=hi - lo, diff_step=1e-4,
                                    max_nfev=max(cfg.maxiter, 1) * 10)
        x = ls.x
        log(f"least squares: objective {2 * ls.cost:.5g} ({ls.nfev} evaluations)")
    else:
        raise ValueError(f"unknown method {cfg.method!r}")
    sim = obj.simulate(x[:, None])
    fitted = {p.name: float(v) for p, v in zip(free, x)}
    return CalibrationResult(params=fitted, objective=obj(x), mape=mape_table(sim, targets, obj.years),
                             method=method, runner=runner.name, evaluations=obj.evaluations, free=free)


# ---------------------------------------------------------------------------- outputs
def _toml_key(k: str) -> str:
    return '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_calibration(path: str | Path, result: CalibrationResult, cfg: CalibrationConfig) -> Path:
    """Write the fitted parameters, their bounds and the fit statistics as TOML."""
    import hashlib

    path = Path(path)
    sha = hashlib.sha256(Path(cfg.model).read_bytes()).hexdigest()
    lines = [
        "# Written by `innosim calibrate`: fitted free parameters of the model below.",
        "# Pass [params] as run parameters (simulator.calibration.load_calibrated_params).",
        "", "[calibration]",
        f"model = {_toml_key(_rel(cfg.model))}",
        f"model_sha256_before_update = {_toml_key(sha)}",
        f"targets = {_toml_key(_rel(cfg.targets))}",
        f"method = {_toml_key(result.method)}",
        f"runner = {_toml_key(result.runner)}",
        f"objective = {result.objective:.6g}",
        f"evaluations = {result.evaluations}",
        f"created = {_toml_key(_dt.date.today().isoformat())}",
        "", "[params]",
        *[f"{_toml_key(k)} = {v:.6g}" for k, v in result.params.items()],
        "", "[bounds]",
        *[f"{_toml_key(p.name)} = [{p.lower:g}, {p.upper:g}]" for p in result.free],
        "", "[mape]",
        *[f"{_toml_key(k)} = {v:.6g}" for k, v in result.mape.items()],
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _rel(p) -> str:
    p = Path(p).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(p)


def load_calibrated_params(path: str | Path) -> dict[str, float]:
    """The ``[params]`` table of a calibration file: {Vensim name: value}."""
    import tomllib

    with open(path, "rb") as f:
        data = tomllib.load(f)
    return {k: float(v) for k, v in data.get("params", {}).items()}


def write_params_to_mdl(path: str | Path, params: dict[str, float]) -> None:
    """Replace the values of scalar constants ``Name = number`` in a Vensim file, in place."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    for name, value in params.items():
        pat = re.compile(rf"(^|\n)({re.escape(name)}\s*=\s*)([-+0-9.eE]+)(\s*~)")
        text, n = pat.subn(lambda m, v=value: f"{m.group(1)}{m.group(2)}{v:.6g}{m.group(4)}", text)
        if n != 1:
            raise ValueError(f"{path}: constant {name!r} found {n} times, expected once")
    path.write_text(text, encoding="utf-8")


def plot_fit(path: str | Path, runner: Runner, params: dict[str, float], targets: pd.DataFrame,
             mape: dict[str, float]) -> Path:
    """Model (lines, 2008..last target year + 6) vs data (dots), one panel per series."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = list(dict.fromkeys(targets["series"]))
    years = np.arange(2008.0, float(targets["year"].max()) + 7)
    sim = runner({k: np.array([v]) for k, v in params.items()}, series, years)
    ncol = 3
    nrow = math.ceil(len(series) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax, s in zip(axes.flat, series):
        sub = targets[targets["series"] == s]
        ax.plot(years, sim[s][:, 0], color="C0", label="model")
        ax.plot(sub["year"], sub["value"], "o", color="C3", label="data")
        ax.set_title(f"{s}\nMAPE {100 * mape[s]:.1f} %", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


# ---------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innosim calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="Vensim model (.mdl)")
    p.add_argument("--targets", type=Path, default=DEFAULT_TARGETS,
                   help="CSV with year, series, value, source[, weight]")
    p.add_argument("--out", type=Path, default=None,
                   help="directory for <prefix>_calibration.toml and .png (default: the model's)")
    p.add_argument("--maxiter", type=int, default=60, help="generations (de) / x10 evaluations")
    p.add_argument("--method", choices=["auto", "de", "least_squares"], default="auto")
    p.add_argument("--engine", choices=["auto", "simulator", "pysd"], default="auto")
    p.add_argument("--param", action="append", default=[], metavar="NAME",
                   help="fit only this constant (repeatable; default: all kind: calibrated)")
    p.add_argument("--update-model", action="store_true",
                   help="also write the fitted values into the .mdl constants")
    p.add_argument("--no-plot", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """``innosim calibrate``: fit, write the calibration file, print MAPE, save the plot."""
    a = _parser().parse_args(argv)
    out = a.out or a.model.parent
    cfg = CalibrationConfig(model=a.model, targets=a.targets, out=out, method=a.method,
                            maxiter=a.maxiter, engine=a.engine, only=tuple(a.param),
                            update_model=a.update_model, plot=not a.no_plot)
    try:
        runner = make_runner(cfg.model, cfg.engine)
        result = calibrate(cfg, runner)
    except (OSError, ValueError) as exc:
        print(f"innosim calibrate: {exc}", file=sys.stderr)
        return 2
    prefix = cfg.targets.stem.removesuffix("_targets")
    out.mkdir(parents=True, exist_ok=True)
    toml_path = write_calibration(out / f"{prefix}_calibration.toml", result, cfg)
    print(f"{'series':<28}{'MAPE %':>8}")
    for s, v in result.mape.items():
        print(f"{s:<28}{100 * v:>8.2f}")
    print(f"wrote {toml_path}")
    if cfg.update_model:
        write_params_to_mdl(cfg.model, result.params)
        print(f"updated constants in {cfg.model}")
    if cfg.plot:
        png = plot_fit(out / f"{prefix}_calibration.png", runner, result.params,
                       read_targets(cfg.targets), result.mape)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
