"""``innosim`` command line: a thin layer over the library."""
from __future__ import annotations

import math
import sys
from pathlib import Path

from .clitools import Parser, debug_requested, guarded, positive_float, year
from .errors import ParameterError
from .outputs import RunFolder, csv_bytes, safe_stem

FLAGSHIP = Path(__file__).resolve().parent.parent / "models" / "zhejiang_innovation_openness.mdl"


MODEL_SUFFIXES = (".mdl", ".xmile", ".stmx", ".xml")


MAX_STEPS = 10_000_000   # integration steps of one CLI run (memory and time stay bounded)


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


def _cmd_run(args) -> int:
    from .model import RunOptions, load
    from .solvers import check_method

    if not args.target.lower().endswith(MODEL_SUFFIXES):
        from policies.cli import cmd_run_scenario

        return cmd_run_scenario(args)
    if args.model:
        raise ParameterError("--model is for scenario runs; give the model file as the argument")
    args.method = check_method(args.method)
    args.model = args.target
    model = load(args.model)
    check_run_options(model, args)
    opts = RunOptions(time_step=args.time_step, final_time=args.final_time)
    res = model.run(method=args.method, options=opts, outputs=args.var or None)
    df = res.to_frame()
    run = f"{safe_stem(Path(args.model).stem)}_{args.method}"
    with RunFolder(args.out, run=run, meta={"model": str(model.path), "model_sha256": model.sha256,
                                           "method": args.method}) as folder:
        csv = folder.write(f"{run}.csv", csv_bytes(df, encoding="utf-8"))
    show = [c for c in df.columns if not args.var or c.split("[")[0] in args.var][:8]
    print(df[show].iloc[:: max(1, len(df) // 10)].to_string(float_format=lambda x: f"{x:,.4g}"))
    s = res.metadata["solver"]
    print(f"\n{model.path.name}: {len(model.stocks)} stocks, method {args.method}, "
          f"{s['nfev']} derivative evaluations, {res.metadata['seconds'] * 1e3:.1f} ms; wrote {csv}")
    return 0


def _cmd_conformance(args) -> int:
    from .conformance import exit_code, run_conformance

    results = run_conformance([Path(d) for d in args.dirs], Path(args.json) if args.json else None)
    return exit_code(results) if results else 1


def _cmd_info(args) -> int:
    from .model import load

    model = load(args.model)
    print(f"{model.path}  sha256 {model.sha256[:12]}")
    print("control:", model.control)
    for name, v in model.variables.items():
        lim = "" if v.limits == (None, None) else f" {list(v.limits)}"
        dims = f"[{','.join(v.dims)}]" if v.dims else ""
        print(f"  {v.kind:9s} {name}{dims} ({v.units}){lim}")
    return 0


def _cmd_calibrate(argv) -> int:
    try:
        from .calibration import main as calibrate_main
    except ImportError:
        print("innosim calibrate: calibration module is not installed", file=sys.stderr)
        return 2
    return calibrate_main(argv)


def build_parser() -> Parser:
    p = Parser(prog="innosim", description="System-dynamics policy simulator "
               "(Vensim/XMILE models, vectorised numpy engine)",
               epilog="exit codes: 0 done, 1 internal error, 2 bad input, 130 interrupted")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a model file, or a scenario on the flagship model, and write "
                       "its time series as CSV")
    r.add_argument("target", nargs="?", default=str(FLAGSHIP),
                   help="a .mdl/.xmile/.stmx file, or a built-in scenario id / scenario .toml file "
                        "(default: the flagship model)")
    r.add_argument("--model", default=None, help="model for a scenario run (default: the flagship model)")
    r.add_argument("--method", default="euler",
                   help="euler, rk4, RK45, RK23, DOP853, LSODA, BDF, Radau (default euler)")
    r.add_argument("--time-step", type=positive_float, default=None, help="override TIME STEP")
    r.add_argument("--final-time", type=year, default=None, help="override FINAL TIME")
    r.add_argument("--var", action="append", help="variable to keep (repeatable; default all)")
    r.add_argument("--out", default="out", help="output folder (default out/); the run's files are "
                   "listed in _COMPLETE.<run>.json, written last")
    r.set_defaults(func=_cmd_run)
    c = sub.add_parser("conformance", help="compare test models with Vensim's canonical output")
    c.add_argument("dirs", nargs="+", help="folders searched for model + output.tab/output.csv")
    c.add_argument("--json", help="also write the results as JSON")
    c.set_defaults(func=_cmd_conformance)
    i = sub.add_parser("info", help="list a model's variables, units and ranges")
    i.add_argument("model", nargs="?", default=str(FLAGSHIP))
    i.set_defaults(func=_cmd_info)
    sub.add_parser("calibrate", help="fit the flagship model to recorded data", add_help=False)
    sub.add_parser("validate", help="in- and out-of-sample errors of the calibrated model", add_help=False)
    from policies.cli import add_commands as policy_commands

    policy_commands(sub)
    for name, help_text in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return p


# subcommands whose argument parsing lives in their own package (argv is passed on unchanged)
DELEGATED = {
    "sensitivity": "sensitivity analysis: one-at-a-time, Monte Carlo bands, Morris, Sobol",
    "robustness": "share of uncertain futures in which one scenario beats another; regret table",
    "serve": "start the workshop dashboard (FastAPI + uvicorn) on 127.0.0.1",
}


def _delegate(command: str, argv: list[str]) -> int:
    try:
        if command == "sensitivity":
            from sensitivity.cli import run_sensitivity as fn
        elif command == "robustness":
            from sensitivity.cli import run_robustness as fn
        else:
            from dashboard.server import main as fn
    except ImportError as exc:
        extra = "dashboard" if command == "serve" else "sensitivity"
        print(f"innosim {command}: missing dependency ({exc.name}); install it with "
              f"python3 -m pip install -e '.[{extra}]'", file=sys.stderr)
        return 2
    return fn(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one ``innosim`` command; returns the exit code (see ``simulator.clitools``)."""
    debug, argv = debug_requested(list(sys.argv[1:] if argv is None else argv))
    command = argv[0] if argv else ""
    prog = f"innosim {command}" if command in (*DELEGATED, "calibrate") else "innosim"
    return guarded(prog, _dispatch, argv, debug=debug)


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "calibrate":
        return _cmd_calibrate(argv[1:])
    if argv and argv[0] == "validate":
        from .calibrate.validate import main as validate_main

        return validate_main(argv[1:])
    if argv and argv[0] in DELEGATED:
        return _delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
