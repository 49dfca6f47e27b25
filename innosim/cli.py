"""``innosim`` command line: a thin layer over the library.

Each command group lives in its own module of :mod:`innosim.commands`; this module builds the
top-level parser and dispatches. Every command takes ``--model NAME`` (a model of the registry,
``innosim models`` lists them) or ``--model PATH`` (a model file); without it the registry's
default model is used. Exit codes: see :mod:`simulator.clitools`.
"""
from __future__ import annotations

import sys

from simulator.clitools import Parser, debug_requested, guarded

from .commands import engine, loops, policy, precompile, units
from .commands import optimise as optimise_command

# subcommands whose argument parsing lives in their own module (argv is passed on unchanged)
DELEGATED = {
    "sensitivity": "sensitivity analysis: one-at-a-time, Monte Carlo bands, Morris, Sobol",
    "robustness": "share of uncertain futures in which one scenario beats another; regret table",
    "calibrate": "fit a calibrated model's free parameters to its recorded data",
    "validate": "in- and out-of-sample errors of a calibrated model",
    "serve": "start the workshop dashboard (FastAPI + uvicorn) on 127.0.0.1",
}


def build_parser() -> Parser:
    p = Parser(prog="innosim", description="System-dynamics policy simulator "
               "(Vensim/XMILE models, vectorised numpy engine). Every command takes --model NAME "
               "(see innosim models) or --model PATH; without it the registry's default model is used.",
               epilog="exit codes: 0 done, 1 internal error, 2 bad input, 130 interrupted")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    engine.add_commands(sub)
    policy.add_commands(sub)
    units.add_commands(sub)
    optimise_command.add_commands(sub)
    loops.add_commands(sub)
    precompile.add_commands(sub)
    for name, help_text in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def _delegate(command: str, argv: list[str]) -> int:
    try:
        if command in ("sensitivity", "robustness"):
            from .commands import sensitivity as module
        elif command in ("calibrate", "validate"):
            from .commands import calibrate as module
        else:
            from .commands import serve as module
        fn = getattr(module, "run_" + command)
    except ImportError as exc:
        extra = "dashboard" if command == "serve" else "sensitivity"
        print(f"innosim {command}: missing dependency ({exc.name}); install it with "
              f".venv/bin/pip install -e '.[{extra}]' (or pip install 'innosim[{extra}]')", file=sys.stderr)
        return 2
    return fn(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one ``innosim`` command; returns the exit code (see ``simulator.clitools``)."""
    debug, argv = debug_requested(list(sys.argv[1:] if argv is None else argv))
    command = argv[0] if argv else ""
    prog = f"innosim {command}" if command in DELEGATED else "innosim"
    return guarded(prog, _dispatch, argv, debug=debug)


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in DELEGATED:
        return _delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
