"""``innosim run MODEL-FILE | info | conformance | models``: the engine's commands."""
from __future__ import annotations

import math
from pathlib import Path

from simulator.clitools import positive_float, year
from simulator.errors import ParameterError
from simulator.model import DEFAULT_METHOD
from simulator.outputs import RunFolder, csv_bytes, safe_stem

from ..registry import MODEL_SUFFIXES, load_registry
from .common import add_model_option, chosen_model

MAX_STEPS = 10_000_000   # integration steps of one CLI run (memory and time stay bounded)
FIXED_METHODS = ("euler", "rk4")


def add_commands(sub) -> None:
    """Register ``run``, ``info``, ``conformance`` and ``models`` on an argparse subparsers object."""
    r = sub.add_parser("run", help="run a model, or a scenario on a model, and write its time series as CSV")
    r.add_argument("target", nargs="?", default=None,
                   help="a .mdl/.xmile/.stmx file, or a built-in scenario id / scenario .toml file of "
                        "--model (default: the --model model as it is)")
    add_model_option(r)
    r.add_argument("--method", default=DEFAULT_METHOD,
                   help=f"euler, rk4, RK45, RK23, DOP853, LSODA, BDF, Radau (default {DEFAULT_METHOD}, "
                        "Vensim's fixed step of TIME STEP)")
    r.add_argument("--time-step", type=positive_float, default=None,
                   help="override TIME STEP (with euler/rk4 it must divide SAVEPER and the run's length)")
    r.add_argument("--final-time", type=year, default=None, help="override FINAL TIME")
    r.add_argument("--var", action="append", help="variable to keep (repeatable; default all)")
    r.add_argument("--data", action="append", metavar="FILE",
                   help="data file for the model's DATA variables without an equation: Vensim .dat, .csv, "
                        ".tab or .xlsx (repeatable; a later file wins; without one they are :NA:)")
    r.add_argument("--out", default="out", help="output folder (default out/); the run's files are "
                   "listed in _COMPLETE.<run>.json, written last")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("conformance", help="compare test models with Vensim's canonical output")
    c.add_argument("dirs", nargs="+", help="folders searched for model + output.tab/output.csv")
    c.add_argument("--json", help="also write the results as JSON")
    c.set_defaults(func=cmd_conformance)
    i = sub.add_parser("info", help="list a model's variables, units and ranges")
    i.add_argument("model", nargs="?", default=None, help="a registered model name or a model file "
                   "(default: the registry's default model)")
    i.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="language of the variables' descriptions (from the model's documentation)")
    i.set_defaults(func=cmd_info)
    m = sub.add_parser("models", help="list the registered models (names for --model)")
    m.add_argument("--lang", choices=("en", "zh"), default="en")
    m.set_defaults(func=cmd_models)


def check_run_options(model, args) -> None:
    """Refuse control values (the model's, or --time-step / --final-time) that give no run, an
    empty output or an unbounded one."""
    c = model.control
    t0 = float(c["initial_time"])
    tf = float(args.final_time if args.final_time is not None else c["final_time"])
    dt = float(args.time_step if args.time_step is not None else c["time_step"])
    saveper = float(c["saveper"])
    name = model.path.name
    for label, value in (("INITIAL TIME", t0), ("FINAL TIME", tf), ("TIME STEP", dt), ("SAVEPER", saveper)):
        if not math.isfinite(value):
            raise ParameterError(f"{name}: {label} = {value!r} is not a finite number")
    for label, value in (("TIME STEP", dt), ("SAVEPER", saveper)):
        if value <= 0:
            raise ParameterError(f"{name}: {label} = {value:g} must be positive")
    if not tf > t0:
        raise ParameterError(f"{name}: final time {tf:g} must be after the initial time {t0:g}")
    if (tf - t0) / saveper > MAX_STEPS:
        raise ParameterError(f"{name}: SAVEPER {saveper:g} from {t0:g} to {tf:g} gives more than {MAX_STEPS:,} "
                             "output rows")
    if (tf - t0) / dt > MAX_STEPS:
        raise ParameterError(f"{name}: {(tf - t0) / dt:,.0f} steps of {dt:g} from {t0:g} to {tf:g} "
                             f"exceed the limit of {MAX_STEPS:,}; use a larger --time-step")
    if args.time_step is not None and getattr(args, "method", "euler") in FIXED_METHODS:
        check_time_step(model, dt, saveper, t0, tf)


def _divides(step: float, span: float) -> bool:
    n = span / step
    return abs(n - round(n)) <= 1e-6 * max(1.0, n)


def check_time_step(model, dt: float, saveper: float, t0: float, tf: float) -> None:
    """A fixed-step run keeps states at multiples of TIME STEP only: a --time-step that does not
    divide SAVEPER (or the run's length) would save rows between the save times (2045.1, 2049.0,
    ... instead of 2045, 2046, ...) and stop short of FINAL TIME, so it is refused."""
    follows = "TIME STEP" in {n.upper() for n in model.dependencies.get("SAVEPER", set())}
    name = model.path.name
    if not follows and not _divides(dt, saveper):
        fits = [f"{saveper / k:g}" for k in (1, 2, 4, 8) if saveper / k < dt * 4][:3] or [f"{saveper:g}"]
        raise ParameterError(f"{name}: --time-step {dt:g} does not divide SAVEPER {saveper:g} "
                             f"({saveper / dt:.3g} steps per saved row), so the saved rows would fall "
                             f"between the save times; use a step such as {', '.join(fits)}")
    if not _divides(dt, tf - t0):
        raise ParameterError(f"{name}: --time-step {dt:g} does not divide the run from {t0:g} to {tf:g} "
                             f"({(tf - t0) / dt:.4g} steps), so the run would stop short of FINAL TIME")


def cmd_run(args) -> int:
    from simulator.model import RunOptions, load
    from simulator.solvers import check_method

    if args.target is not None and not args.target.lower().endswith(MODEL_SUFFIXES):
        from .policy import cmd_run_scenario

        if getattr(args, "data", None):
            raise ParameterError("--data is for runs of a model file; give the model file as the argument")
        if args.model is None and args.target in load_registry().names:
            raise ParameterError(f"{args.target!r} is a registered model, not a scenario: run it with "
                                 f"innosim run --model {args.target}")
        return cmd_run_scenario(args)
    if args.target is not None and args.model:
        raise ParameterError("--model is for scenario runs; give the model file as the argument")
    args.method = check_method(args.method)
    info = chosen_model(args.target or args.model)
    model = load(info.path)
    check_run_options(model, args)
    opts = RunOptions(time_step=args.time_step, final_time=args.final_time, data=tuple(args.data or ()))
    res = model.run(method=args.method, options=opts, outputs=args.var or None)
    df = res.to_frame()
    run = f"{safe_stem(Path(info.path).stem)}_{args.method}"
    with RunFolder(args.out, run=run, meta={"model": str(model.path), "model_sha256": model.sha256,
                                           "method": args.method}) as folder:
        csv = folder.write(f"{run}.csv", csv_bytes(df, encoding="utf-8"))
    show = [c for c in df.columns if not args.var or c.split("[")[0] in args.var][:8]
    print(df[show].iloc[:: max(1, len(df) // 10)].to_string(float_format=lambda x: f"{x:,.4g}"))
    s = res.metadata["solver"]
    print(f"\n{model.path.name}: {len(model.stocks)} stocks, method {args.method}, "
          f"{s['nfev']} derivative evaluations, {res.metadata['seconds'] * 1e3:.1f} ms; wrote {csv}")
    return 0


def cmd_conformance(args) -> int:
    from simulator.conformance import exit_code, run_conformance

    results = run_conformance([Path(d) for d in args.dirs], Path(args.json) if args.json else None)
    return exit_code(results) if results else 1


def cmd_info(args) -> int:
    from simulator.model import load

    info = chosen_model(args.model)
    model = load(info.path)
    print(f"{model.path}  sha256 {model.sha256[:12]}")
    print("control:", model.control)
    from simulator.doc import parse_documentation

    lang = getattr(args, "lang", "en")
    for name, v in model.variables.items():
        lim = "" if v.limits == (None, None) else f" {list(v.limits)}"
        dims = f"[{','.join(v.dims)}]" if v.dims else ""
        print(f"  {v.kind:9s} {name}{dims} ({v.units}){lim}")
        parts = parse_documentation(v.documentation)
        text = parts.get(lang) or parts.get("en", "")
        if text:
            src = f"; {'来源' if lang == 'zh' else 'source'}: {parts['source']}" if parts.get("source") else ""
            print(f"  {'':9s}   {text}{src}")
    return 0


def cmd_models(args) -> int:
    registry = load_registry()
    print(f"models in {registry.folder} (default: {registry.default}):")
    for name in registry.names:
        info = registry.get(name)
        state = "calibrated" if info.calibrated else "uncalibrated"
        mark = "*" if name == registry.default else " "
        print(f"{mark} {name:32s} {info.label(args.lang)} ({state}; {info.path.name})")
        if info.notice:
            print(f"  {'':32s} {info.notice[args.lang]}")
    return 0
