"""The same kernel compiled by LLVM directly and by numba, timed alternately in one process.

    python benchmarks/bench_compilers.py [--models teacup flagship] [--rounds 6] [--members 1000]

For each model and compiler (``KernelCache(compiler=...)``, a private cache each): ``Model.run`` of
one member, a prepared run (``Model.prepare``) and the per-member time of an ensemble (every scalar
constant within ±10 %, every core). The rounds alternate between the compilers so that a shared
machine's load falls on both alike; the minimum over rounds of each round's median is printed.
Compile times are ``bench_compile.py``'s. Nothing is asserted; this script only reports.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODELS = {"flagship": ROOT / "models" / "zhejiang_innovation_openness.mdl",
          "teacup": ROOT / "tests" / "sdxorg" / "samples" / "teacup" / "teacup.mdl"}
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


def median_of(fn, n: int) -> float:
    spent = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - t)
    return statistics.median(spent)


def setup(path: Path, compiler: str, members: int, folder: Path):
    import simulator
    from simulator.kernel_cache import KernelCache

    model = simulator.load(path, cache=KernelCache(folder / compiler, compiler=compiler))
    opts = simulator.RunOptions(backend="numba")
    model.run(method="euler", options=opts)
    prepared = model.prepare(method="euler", options=opts)
    rng = np.random.default_rng(0)
    params = {}
    for name, var in model.variables.items():
        if var.kind == "constant" and not var.dims and name.upper() not in CONTROL:
            value = float(np.ravel(model.default_value(name))[0])
            if value != 0 and np.isfinite(value):
                params[name] = value * rng.uniform(0.9, 1.1, members)
    outputs = model.stocks[:5] or None
    model.run(params, method="euler", options=opts, outputs=outputs)
    return {"run": lambda: model.run(method="euler", options=opts),
            "prepared": lambda: prepared.run(None),
            "ensemble": lambda: model.run(params, method="euler", options=opts, outputs=outputs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["teacup", "flagship"], choices=list(MODELS))
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--members", type=int, default=1000)
    args = ap.parse_args()
    print(f"{'model':9} {'compiler':8} {'Model.run':>11} {'prepared':>11} {'per member':>11}  (min over rounds of medians)")
    with tempfile.TemporaryDirectory(prefix="bench_compilers_") as tmp:
        for name in args.models:
            small = name != "flagship"
            calls = {c: setup(MODELS[name], c, args.members, Path(tmp)) for c in ("llvm", "numba")}
            best: dict = {c: {"run": [], "prepared": [], "ensemble": []} for c in calls}
            for _ in range(args.rounds):
                for c, fns in calls.items():
                    best[c]["run"].append(median_of(fns["run"], 100 if small else 10))
                    best[c]["prepared"].append(median_of(fns["prepared"], 300 if small else 20))
                    best[c]["ensemble"].append(median_of(fns["ensemble"], 3 if small else 1) / args.members)
            for c, got in best.items():
                run, prep, member = (min(got[k]) * 1e6 for k in ("run", "prepared", "ensemble"))
                print(f"{name:9} {c:8} {run:9.1f} µs {prep:9.1f} µs {member:9.2f} µs", flush=True)


if __name__ == "__main__":
    main()
