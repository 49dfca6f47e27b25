"""Paired A/B timing of two versions of the engine: this checkout against a git revision.

    python benchmarks/ab_engine.py --old REV [--mode fused-single|fused-ensemble|numpy-euler|numpy-rk45]
        [--members 1000] [--pairs 21]

The revision is extracted (``git archive``) into a temporary folder. One long-lived worker process
per version loads the model, runs once (the numba kernel compiles into a private cache) and then
both are triggered alternately, A B, B A, ..., so that the load of a shared machine falls on both
alike. Printed: each version's median, and the pairwise ratio new/old (median and quartiles).
Fused modes time the compiled loop (``metadata["fused"]["loop_seconds"]``) of the flagship model;
numpy modes time ``Model.run`` of ``benchmarks/models/benchmark_model.mdl`` over an ensemble.
No timing is asserted anywhere; this script only reports.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r'''
import os, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
import simulator

mode, n = sys.argv[1], int(sys.argv[2])
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")

def default(model, name):
    if hasattr(model, "default_value"):
        return model.default_value(name)
    return model.program.defaults[model.variable(name).idx]

def spread(model, n, rng, width=0.1):
    # every scalar constant within +-10 %, calendar dates left alone (as bench_engine.py)
    c = model.control
    t0, span = c["initial_time"], c["final_time"] - c["initial_time"]
    out = {}
    for name in sorted(model.variables):
        v = model.variables[name]
        if v.kind == "constant" and not v.dims and name.upper() not in CONTROL:
            base = float(np.ravel(default(model, name))[0])
            is_date = t0 > span and t0 - span <= base <= t0 + 2 * span
            if base != 0 and np.isfinite(base) and not is_date:
                out[name] = base * rng.uniform(1 - width, 1 + width, n)
    return out

rng = np.random.default_rng(0)
fused = mode.startswith("fused")
path = "models/zhejiang_innovation_openness.mdl" if fused else "benchmarks/models/benchmark_model.mdl"
model = simulator.load(path)
opts = simulator.RunOptions(backend="numba" if fused else "numpy")
outputs = [s for s in model.stocks if not model.variables[s].dims]
method = "RK45" if mode == "numpy-rk45" else "euler"
params = None if mode == "fused-single" else spread(model, n, rng)
call = lambda: model.run(params, method=method, options=opts, outputs=outputs)
res = call()
print("ready", res.metadata.get("backend"), flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    t = time.perf_counter()
    res = call()
    wall = time.perf_counter() - t
    print(res.metadata["fused"]["loop_seconds"] if fused else wall, flush=True)
'''


def _extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "simulator", "models", "benchmarks"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _quartile(xs: list, f: float) -> float:
    xs = sorted(xs)
    return xs[int(f * (len(xs) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="git revision of the older engine")
    ap.add_argument("--mode", default="fused-single",
                    choices=["fused-single", "fused-ensemble", "numpy-euler", "numpy-rk45"])
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=21)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="innosim-ab-") as tmp:
        (Path(tmp) / "old").mkdir()
        old = _extract(args.old, Path(tmp) / "old")
        trees = {"old": old, "new": ROOT}
        procs = {}
        for label, tree in trees.items():
            cache = str(Path(tmp) / f"cache-{label}")  # a private kernel cache (older versions: _DIR)
            env = dict(os.environ, PYTHONPATH=str(tree), INNOSIM_CACHE=cache, INNOSIM_CACHE_DIR=cache)
            procs[label] = subprocess.Popen([sys.executable, "-c", WORKER, args.mode, str(args.members)],
                                            cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            text=True, bufsize=1)
            print(f"{label} ({args.old if label == 'old' else 'this checkout'}):",
                  procs[label].stdout.readline().strip(), flush=True)
        times: dict = {k: [] for k in trees}
        for i in range(args.pairs):
            for label in (("old", "new") if i % 2 == 0 else ("new", "old")):
                procs[label].stdin.write("go\n")
                procs[label].stdin.flush()
                times[label].append(float(procs[label].stdout.readline()))
        for p in procs.values():
            p.stdin.write("quit\n")
            p.stdin.flush()
            p.wait()
    ratios = [b / a for a, b in zip(times["old"], times["new"])]
    for label in trees:
        print(f"{label}: median {statistics.median(times[label]) * 1e3:.2f} ms over {args.pairs} runs")
    print(f"{args.mode}: new/old median {statistics.median(ratios):.3f} "
          f"[quartiles {_quartile(ratios, 0.25):.3f}, {_quartile(ratios, 0.75):.3f}], {len(ratios)} pairs")


if __name__ == "__main__":
    main()
