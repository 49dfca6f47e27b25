"""``innosim compile [MODEL ...]``: compile models' kernels into the cache ahead of their first run."""
from __future__ import annotations

import sys

from ..registry import registered, resolve


def add_commands(sub) -> None:
    """Register ``compile`` on an argparse subparsers object."""
    c = sub.add_parser("compile", help="compile models' kernels into the kernel cache now (e.g. after "
                       "installing), so that their first fast run loads machine code instead of compiling")
    c.add_argument("models", nargs="*", metavar="NAME|PATH",
                   help="registered model names or model files (default: every bundled model)")
    c.add_argument("--no-ensemble", action="store_true",
                   help="compile only the single-run kernel, not the multi-threaded ensemble driver")
    c.set_defaults(func=cmd_compile)


def cmd_compile(args) -> int:
    import simulator
    from simulator.precompile import precompile

    infos = [resolve(name) for name in args.models] if args.models else registered()
    failed = 0
    for info in infos:
        print(f"{info.name}: compiling…", file=sys.stderr, flush=True)
        done = precompile(simulator.load(info.path), ensemble=not args.no_ensemble)
        if done.backend != "numba":
            failed += 1
            print(f"{info.name}: not compiled: {done.backend}")
            continue
        if done.compiler == "llvm":
            parts = f"single run, prepared run and ensemble driver {done.seconds.get('run_serial', 0.0):.1f} s (LLVM)"
        else:
            parts = ", ".join(f"{'single run' if k == 'run_serial' else 'ensemble driver'} {v:.1f} s"
                              for k, v in done.seconds.items())
        where = f"cached in {done.cached}" if done.cached else "no usable cache folder: compiled in memory only"
        print(f"{info.name}: {parts}; {where}")
    return 2 if failed else 0
