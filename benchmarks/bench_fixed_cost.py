"""The fixed cost of a prepared single run: its time beyond the compiled loop, per call.

    python benchmarks/bench_fixed_cost.py [--models flagship teacup] [--calls 3000]

For each model: ``model.prepare(method="euler")`` on the numba backend, one warm-up call, then
``--calls`` calls of ``run(None)``, each timed as a whole and around its compiled kernel call;
the difference is what the call costs besides integrating (argument handling, buffers, the
finiteness check, the result). Prints medians and p95. Nothing is asserted; this script reports.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODELS = {"flagship": ROOT / "models" / "zhejiang_innovation_openness.mdl",
          "teacup": ROOT / "tests" / "sdxorg" / "samples" / "teacup" / "teacup.mdl"}


def measure(path: Path, calls: int) -> tuple[float, float, float, float]:
    import simulator

    prepared = simulator.load(path).prepare(method="euler", options=simulator.RunOptions(backend="numba"))
    prepared.run(None)  # compiles or loads the kernel
    inner, spent = prepared._run, []

    def timed(*args):
        t = time.perf_counter()
        inner(*args)
        spent.append(time.perf_counter() - t)

    prepared._run = timed
    total = []
    for _ in range(calls):
        t = time.perf_counter()
        prepared.run(None)
        total.append(time.perf_counter() - t)
    fixed = sorted(a - b for a, b in zip(total, spent))
    return statistics.median(total), statistics.median(spent), fixed[len(fixed) // 2], fixed[int(len(fixed) * 0.95)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--calls", type=int, default=3000)
    args = ap.parse_args()
    print(f"{'model':10} {'call':>10} {'kernel':>10} {'fixed p50':>10} {'fixed p95':>10}   (microseconds)")
    for name in args.models:
        if not MODELS[name].is_file():
            print(f"{name:10} model file not found: {MODELS[name]}")
            continue
        calls = args.calls if name != "flagship" else max(50, args.calls // 10)
        run, kernel, p50, p95 = (x * 1e6 for x in measure(MODELS[name], calls))
        print(f"{name:10} {run:10.1f} {kernel:10.1f} {p50:10.1f} {p95:10.1f}")


if __name__ == "__main__":
    main()
