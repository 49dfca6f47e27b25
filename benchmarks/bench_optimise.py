"""Policy design under a budget on the flagship model, end to end (issue 19; not run in CI).

    python benchmarks/bench_optimise.py [--out out/bench-optimise] [--skip-pareto] [--workers K]

1. ``problems/exports-budget.toml``: the best three-lever package for high-tech exports in 2035
   under an extra fiscal budget, at the model's own parameters (differential evolution) and robust
   over 200 uncertainty draws per candidate (the same draws for every candidate); both packages
   scored under both settings, re-run through the compare path, written as scenario files.
2. ``problems/exports-vs-cost.toml``: the Pareto front of exports against cumulative extra fiscal
   cost (NSGA-II).

Prints the wall time of each study from loading the problem to the written report, the packages,
their costs, the share of draws within budget, and the Pareto front. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROBLEMS = ROOT / "models" / "zhejiang_innovation_openness" / "problems"


def study(path: Path, out: Path, workers: int | None) -> None:
    import pandas as pd

    import optimise
    import simulator
    from optimise.outputs import write_outputs
    from sensitivity.distributed import Compute

    started = time.perf_counter()
    problem = optimise.load_problem(path)
    model = simulator.load(problem.model_path)
    outcome = optimise.optimise(problem, model, compute=Compute(workers=workers), progress=None)
    searched = time.perf_counter() - started
    written = write_outputs(outcome, out, model)
    total = time.perf_counter() - started
    with pd.option_context("display.width", 220, "display.max_columns", 40, "display.max_colwidth", 50):
        print(f"\n=== {problem.id}: {path.relative_to(ROOT)}")
        print(f"wall time end to end: {total:.1f} s (search {searched:.1f} s, report and compare check "
              f"{total - searched:.1f} s); {outcome.metadata['member_runs']:,} member runs")
        for res, label in ((outcome.nominal, "nominal"), (outcome.robust, "robust")):
            if res is not None:
                h = res.history
                print(f"{label} search: {res.method}, {len(h)} generations, {int(h.candidates.iloc[-1])} candidates, "
                      f"{int(h.member_runs.iloc[-1]):,} member runs, {h.seconds.iloc[-1]:.1f} s; {res.message}")
        print(outcome.table().T.to_string(header=False, float_format=lambda x: f"{x:,.6g}"))
        print("\nlever settings and costs (compare path):")
        print(pd.read_csv(out / "levers.csv").to_string(index=False, float_format=lambda x: f"{x:,.5g}"))
        print("\ncompare check (the model as it is):")
        print(written["compare"].to_string(index=False, float_format=lambda x: f"{x:,.6g}"))
        if (out / "pareto.csv").exists():
            front = pd.read_csv(out / "pareto.csv")
            print(f"\nPareto front ({int(front.feasible.sum())} packages):")
            print(front.sort_values(front.columns[-2]).to_string(index=False, float_format=lambda x: f"{x:,.5g}"))
        print(f"report: {written['report']}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/bench-optimise")
    p.add_argument("--skip-pareto", action="store_true")
    p.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default: this process)")
    args = p.parse_args(argv)
    out = Path(args.out)
    study(PROBLEMS / "exports-budget.toml", out / "exports-budget", args.workers)
    if not args.skip_pareto:
        study(PROBLEMS / "exports-vs-cost.toml", out / "exports-vs-cost", args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
