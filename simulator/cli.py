"""``innosim`` command line: a thin layer over the library."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import SimulatorError

FLAGSHIP = Path(__file__).resolve().parent.parent / "models" / "zhejiang_innovation_openness.mdl"


MODEL_SUFFIXES = (".mdl", ".xmile", ".stmx", ".xml")


def _cmd_run(args) -> int:
    from .model import RunOptions, load

    if not args.target.lower().endswith(MODEL_SUFFIXES):
        from policies.cli import cmd_run_scenario

        return cmd_run_scenario(args)
    if args.model:
        print("innosim run: --model is for scenario runs; give the model file as the argument", file=sys.stderr)
        return 2
    args.model = args.target
    model = load(args.model)
    opts = RunOptions(time_step=args.time_step, final_time=args.final_time)
    res = model.run(method=args.method, options=opts, outputs=args.var or None)
    df = res.to_frame()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / (Path(args.model).stem + "_" + args.method + ".csv")
    df.to_csv(csv, encoding="utf-8")
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innosim", description="System-dynamics policy simulator "
                                "(Vensim/XMILE models, vectorised numpy engine)")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a model file, or a scenario on the flagship model, and write "
                       "its time series as CSV")
    r.add_argument("target", nargs="?", default=str(FLAGSHIP),
                   help="a .mdl/.xmile/.stmx file, or a built-in scenario id / scenario .toml file "
                        "(default: the flagship model)")
    r.add_argument("--model", default=None, help="model for a scenario run (default: the flagship model)")
    r.add_argument("--method", default="euler",
                   help="euler, rk4, RK45, RK23, DOP853, LSODA, BDF, Radau (default euler)")
    r.add_argument("--time-step", type=float, default=None, help="override TIME STEP")
    r.add_argument("--final-time", type=float, default=None, help="override FINAL TIME")
    r.add_argument("--var", action="append", help="variable to keep (repeatable; default all)")
    r.add_argument("--out", default="out", help="output folder (default out/)")
    r.set_defaults(func=_cmd_run)
    c = sub.add_parser("conformance", help="compare test models with Vensim's canonical output")
    c.add_argument("dirs", nargs="+", help="folders searched for model + output.tab/output.csv")
    c.add_argument("--json", help="also write the results as JSON")
    c.set_defaults(func=_cmd_conformance)
    i = sub.add_parser("info", help="list a model's variables, units and ranges")
    i.add_argument("model", nargs="?", default=str(FLAGSHIP))
    i.set_defaults(func=_cmd_info)
    sub.add_parser("calibrate", help="fit the flagship model to recorded data", add_help=False)
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
            from sensitivity.cli import main_sensitivity as fn
        elif command == "robustness":
            from sensitivity.cli import main_robustness as fn
        else:
            from dashboard.server import main as fn
    except ImportError as exc:
        extra = "dashboard" if command == "serve" else "sensitivity"
        print(f"innosim {command}: missing dependency ({exc.name}); install it with "
              f"python3 -m pip install -e '.[{extra}]'", file=sys.stderr)
        return 2
    return fn(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "calibrate":
        return _cmd_calibrate(argv[1:])
    if argv and argv[0] in DELEGATED:
        return _delegate(argv[0], argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SimulatorError as exc:
        print(f"innosim: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"innosim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
