"""``innosim sensitivity`` and ``innosim robustness``: thin layers over :mod:`sensitivity`.

``main_sensitivity(argv)`` and ``main_robustness(argv)`` take argument lists and return an exit
code (0 ok, 2 bad input: the message names the file and key, no traceback); ``run_sensitivity`` and
``run_robustness`` let errors propagate to ``innosim``'s handler. The model comes from
``--model`` (registry name or file); its uncertainty file, default KPIs, report year and
catalogue (for ``--scenario`` and the scenarios of ``robustness``) come from its ``model.toml``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sensitivity.distributed import Compute, executor
from sensitivity.ensemble import DEFAULT_YEAR, EnsembleOptions
from sensitivity.methods.sobol import runs as sobol_runs
from sensitivity.report import (
    Section,
    plot_bands,
    plot_distributions,
    plot_morris,
    plot_shares,
    plot_sobol,
    plot_tornado,
    write_report,
)
from sensitivity.robustness import DIRECTIONS, robustness
from sensitivity.study import Study
from sensitivity.uncertainty import from_model, load_uncertainties
from simulator import RunOptions
from simulator.clitools import MAX_SAMPLES, MAX_SEED, Parser, guarded, int_between, year
from simulator.errors import SimulatorError
from simulator.model import DEFAULT_METHOD
from simulator.outputs import safe_stem

from ..registry import ModelInfo
from .common import add_model_option, chosen_model

DEFAULT_SAMPLES = {"oat": 0, "mc": 1000, "morris": 20, "sobol": 512}
MAX_RUNS = 10_000_000      # model runs of one command: the sample matrix alone is runs x parameters


# ------------------------------------------------------------------------------ arguments
def _common(p: argparse.ArgumentParser) -> None:
    add_model_option(p)
    p.add_argument("--uncertainties", metavar="TOML",
                   help="uncertainty file (default: the model's own, named in its model.toml; else uniform "
                        "over every documented range)")
    p.add_argument("--year", type=year, action="append",
                   help=f"year the KPIs are read at (default: the model's last report year, else {DEFAULT_YEAR:g})")
    p.add_argument("--seed", type=int_between(0, MAX_SEED), default=0, help="seed of the samples (default 0)")
    p.add_argument("--out", help="output folder for CSV, PNG and index.html; its previous results are "
                   "replaced, and _COMPLETE.json is written last")
    p.add_argument("--method-solver", "--solver", dest="solver", default=DEFAULT_METHOD,
                   help="integration method: euler (default, at TIME STEP), rk4, RK45, ...")
    p.add_argument("--chunk-size", type=int_between(1, 1_000_000), default=5000,
                   help="members per vectorised run (default 5000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int_between(1, 256), help="start a Dask LocalCluster with K worker processes")
    g.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler, e.g. tcp://host:8786")


def sensitivity_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--method", choices=["oat", "mc", "morris", "sobol"], default="mc",
                   help="oat (tornado), mc (Monte Carlo bands), morris, sobol (default mc)")
    p.add_argument("--samples", type=int_between(1, MAX_SAMPLES), metavar="N",
                   help="mc: members (1000); morris: trajectories (20); sobol: base sample, runs = N(D+2), "
                        "a power of two (512); oat: not used")
    p.add_argument("--kpi", action="append", help="output to analyse (repeatable; default: the model's default "
                   "KPIs from its model.toml)")
    p.add_argument("--scenario", help="run the analysis under this scenario of the model (built-in id or .toml; "
                   "default: the model as is)")
    _common(p)
    return p


def robustness_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario names or .toml files (two or more)")
    p.add_argument("--kpi", default=None, help="KPI compared (default: the model's first default KPI)")
    p.add_argument("--direction", choices=DIRECTIONS, default=None,
                   help="is more of the KPI better? (default: the KPI's direction in the model's catalogue, "
                        "else maximise)")
    p.add_argument("--samples", type=int_between(1, MAX_SAMPLES), default=1000, metavar="N",
                   help="uncertainty members (default 1000)")
    _common(p)
    return p


def add_commands(subparsers) -> None:
    """Register ``sensitivity`` and ``robustness`` on ``parser.add_subparsers()``; each sets ``func``."""
    s = subparsers.add_parser("sensitivity", help="Monte Carlo bands, tornado, Morris and Sobol analyses")
    sensitivity_arguments(s).set_defaults(func=lambda a: guarded("innosim sensitivity", _sensitivity, a))
    r = subparsers.add_parser("robustness", help="share of uncertain futures in which one policy beats another")
    robustness_arguments(r).set_defaults(func=lambda a: guarded("innosim robustness", _robustness, a))


def run_sensitivity(argv: list[str] | None = None) -> int:
    """Parse and run ``innosim sensitivity``; errors propagate (``innosim``'s handler reports them)."""
    p = sensitivity_arguments(Parser(prog="innosim sensitivity", description=__doc__.splitlines()[0]))
    return _sensitivity(p.parse_args(argv))


def run_robustness(argv: list[str] | None = None) -> int:
    """Parse and run ``innosim robustness``; errors propagate (``innosim``'s handler reports them)."""
    p = robustness_arguments(Parser(prog="innosim robustness", description=__doc__.splitlines()[0]))
    return _robustness(p.parse_args(argv))


def main_sensitivity(argv: list[str] | None = None) -> int:
    """``innosim sensitivity`` with errors as one line and an exit code (2: bad input)."""
    return guarded("innosim sensitivity", run_sensitivity, argv)


def main_robustness(argv: list[str] | None = None) -> int:
    """``innosim robustness`` with errors as one line and an exit code (2: bad input)."""
    return guarded("innosim robustness", run_robustness, argv)


# ------------------------------------------------------------------------------ shared set-up
def _setup(args):
    import simulator

    info = chosen_model(args.model)
    model = simulator.load(info.path)
    if args.uncertainties:
        spec = load_uncertainties(args.uncertainties, model=model)
    elif "uncertainties" in info.files:
        spec = load_uncertainties(info.files["uncertainties"], model=model)
    else:
        spec = from_model(model)
        print(f"no --uncertainties: uniform over the documented ranges of {len(spec)} constants")
    opts = EnsembleOptions(method=args.solver, chunk_size=args.chunk_size,
                           progress=False if args.no_progress else None, run_options=RunOptions())
    compute = Compute(workers=args.workers, scheduler=args.scheduler)
    return info, model, spec, opts, compute


def default_kpis(info: ModelInfo) -> tuple:
    """The model's default KPIs: its model.toml's chart KPIs, else its catalogue's headline KPIs."""
    if info.default_kpis:
        return info.default_kpis
    if "levers" in info.files:
        return tuple(info.catalogue().headline_kpis)
    raise SimulatorError(f"model {info.name!r} names no default KPIs (no model.toml beside it); give --kpi")


def default_year(info: ModelInfo) -> float:
    return info.report_years[-1] if info.report_years else DEFAULT_YEAR


def _scenario_params(name: str, model, info: ModelInfo) -> tuple[str, dict]:
    from policies import load_scenario, regions, scenario_params

    catalogue = info.catalogue()
    scenario = load_scenario(name, catalogue=catalogue, cities=regions(model, catalogue))
    label = Path(name).stem if name.endswith(".toml") else name
    return label, scenario_params(scenario, model, catalogue=catalogue)


def _print(df, cols, n=12):
    """The first rows of a table, or the first five per output when it has several outputs."""
    if "output" in df.columns and df["output"].nunique() > 1:
        df = df.groupby("output", sort=False).head(5)
    else:
        df = df.head(n)
    print(df[cols].to_string(index=False, float_format=lambda x: f"{x:,.4g}"))


# ------------------------------------------------------------------------------ commands
def _sensitivity(args) -> int:
    info, model, spec, opts, compute = _setup(args)
    n = args.samples if args.samples is not None else DEFAULT_SAMPLES[args.method]
    if args.method != "oat" and n < 2:
        raise SimulatorError(f"--samples must be at least 2 for {args.method}, got {n}")
    params = {}
    scen = "model as is"
    if args.scenario:
        scen, params = _scenario_params(args.scenario, model, info)
    years = tuple(args.year or (default_year(info),))
    kpis = tuple(args.kpi or default_kpis(info))
    out = Path(args.out or f"out/sensitivity-{args.method}")
    runs = {"oat": 1 + 2 * len(spec), "mc": n, "morris": n * (len(spec) + 1),
            "sobol": sobol_runs(n, len(spec))}[args.method]
    if runs > MAX_RUNS:
        raise SimulatorError(f"--samples {n} means {runs:,} runs of {len(spec)} parameters, more than the "
                             f"limit of {MAX_RUNS:,}; use fewer samples")
    print(f"{args.method}: {len(spec)} uncertain parameters, {runs:,} runs of {info.path.name} "
          f"({args.solver}), KPIs {', '.join(kpis)} in {', '.join(f'{y:g}' for y in years)}; {compute.description}")
    if args.method == "sobol" and n & (n - 1):
        print(f"note: --samples {n} is not a power of two; Sobol sequences converge best at 2^k")
    sections = [*_model_section(info),
                Section("Uncertainties", f"{spec.path or 'model ranges'}; scenario: {scen}",
                        tables={"uncertainties": spec.to_frame()})]
    with executor(compute) as ex:
        study = Study(model, spec, kpis=kpis, years=years, params=params, options=opts, compute=ex)
        if args.method == "mc":
            res = study.monte_carlo(n, seed=args.seed)
            kpi_values = study.kpi_values(res.ensemble)
            members = res.ensemble.samples.assign(
                **{o: kpi_values[:, i] for i, o in enumerate(study.outputs)}).reset_index()
            figs = {f"bands_{_slug(k)}": plot_bands(res.bands, k, years=years, **_described(model, k))
                    for k in kpis if "[" not in k}
            sections.append(Section("Monte Carlo", f"{n} members, seed {args.seed}; bands are the 5/25/50/75/95th "
                                    "percentiles over members", figs,
                                    {"summary": res.summary, "bands": res.bands, "members": members}))
            _print(res.summary, ["output", "p5", "p50", "p95", "mean"])
        elif args.method == "oat":
            table = study.oat()
            figs = {f"tornado_{_slug(o)}": plot_tornado(table, o, **_described(model, o)) for o in study.outputs}
            sections.append(Section("One at a time", "each parameter at the ends of its range, others at the "
                                    "model's values", figs, {"oat": table}))
            _print(table, ["output", "parameter", "low", "high", "y_low", "y_high", "swing"])
        elif args.method == "morris":
            table = study.morris(n, seed=args.seed)
            figs = {f"morris_{_slug(o)}": plot_morris(table, o, **_described(model, o)) for o in study.outputs}
            sections.append(Section("Morris", f"{n} trajectories, 4 levels, seed {args.seed}", figs, {"morris": table}))
            _print(table, ["output", "parameter", "mu_star", "mu_star_conf", "sigma"])
        else:
            table = study.sobol(n, seed=args.seed)
            figs = {f"sobol_{_slug(o)}": plot_sobol(table, o, label=_described(model, o)["label"])
                    for o in study.outputs}
            sections.append(Section("Sobol", f"base sample {n}, {runs} runs, seed {args.seed}; error bars are "
                                    "95 % bootstrap confidence intervals", figs, {"sobol": table}))
            _print(table, ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"])
    page = write_report(out, f"innosim sensitivity: {args.method}", sections,
                        meta={"model": info.name, "sha256": model.sha256[:12], "method": args.method,
                              "samples": n, "runs": runs, "seed": args.seed, "solver": args.solver,
                              "compute": compute.description})
    print(f"wrote {page} and CSV/PNG files in {out}")
    return 0


def _robustness(args) -> int:
    if len(args.scenarios) < 2:
        raise SimulatorError("name at least two scenarios to compare")
    if args.samples * len(args.scenarios) > MAX_RUNS:
        raise SimulatorError(f"{args.samples:,} members x {len(args.scenarios)} scenarios exceed the limit of "
                             f"{MAX_RUNS:,} runs; use fewer samples")
    info, model, spec, opts, compute = _setup(args)
    scenarios = dict(_scenario_params(s, model, info) for s in args.scenarios)
    year = (args.year or [default_year(info)])[0]
    args.kpi = args.kpi or default_kpis(info)[0]
    if args.direction is None:
        kpi = info.catalogue().kpis.get(args.kpi) if "levers" in info.files else None
        args.direction = kpi.direction if kpi is not None else "maximise"
    print(f"robustness: {len(scenarios)} scenarios × {args.samples:,} members of {len(spec)} uncertainties; "
          f"{args.kpi} in {year:g}, {args.direction}; {compute.description}")
    res = robustness(model, scenarios, spec, args.kpi, year, args.samples, args.seed, direction=args.direction,
                     options=opts, compute=compute)
    from simulator import plotting

    out = Path(args.out or "out/robustness")
    title = f"{args.kpi} ({year:g})"
    shares = res.shares.reset_index()
    sec = Section("Robustness", f"{args.samples} members, seed {args.seed}; KPI to {args.direction}. "
                  "share = fraction of members in which the row scenario beats the column scenario; "
                  "regret = best scenario's value in the member minus this scenario's value.",
                  {"shares": plot_shares(res.shares, title=plotting.bilingual(
                      f"{title}: 行情景胜过列情景的比例", f"{title}: row beats column", width=50)),
                   "distribution": plot_distributions(res.values, title=title, **_described(model, args.kpi))},
                  {"regret": res.regret, "shares": shares, "pairs": res.pairs(),
                   "members": res.samples.join(res.values).reset_index()})
    page = write_report(out, f"innosim robustness: {title}", [*_model_section(info), sec],
                        meta={"model": info.name, "scenarios": ", ".join(scenarios), "kpi": args.kpi,
                              "year": year, "direction": args.direction, "members": args.samples,
                              "seed": args.seed, "compute": compute.description})
    _print(res.pairs(), ["a", "b", "share_a_beats_b", "mean_difference"], n=30)
    print()
    _print(res.regret, ["scenario", "p50", "share_best", "mean_regret", "max_regret"])
    print(f"wrote {page} and CSV/PNG files in {out}")
    return 0


def _model_section(info: ModelInfo) -> list:
    """A first report section naming the model, with its notice (an uncalibrated model says so)."""
    text = f"{info.label('en')} ({info.name}, {info.path.name})"
    if info.notice:
        text += f". {info.notice['en']} {info.notice['zh']}"
    return [Section("Model", text)]


def _described(model, output: str) -> dict:
    """The chart label (name in en and zh, from the model's documentation) and unit of a KPI
    output such as ``Name`` or ``Name (2030)``."""
    from simulator import plotting
    from simulator.doc import parse_documentation

    name = output.rsplit(" (", 1)[0].split("[")[0].strip() if output.endswith(")") else output.split("[")[0]
    try:
        var = model.variable(name)
    except SimulatorError:
        return {"label": output, "units": ""}
    meta = model.variables.get(var.name)
    zh = parse_documentation(meta.documentation).get("zh", "") if meta else ""
    zh = zh.split("(")[0].split("（")[0].strip()
    label = plotting.bilingual(zh, output, width=60) if zh else output
    return {"label": label, "units": (meta.units if meta else "") or ""}


def _slug(text: str) -> str:
    words = "_".join("".join(c if c.isalnum() else " " for c in text).lower().split())
    return safe_stem(words)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main_sensitivity())
