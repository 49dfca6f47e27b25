"""Strength reduction A/B: the flagship with the pass off and on, in one process, paired.

    python benchmarks/bench_strength.py [--backend numpy|numba] [--members 1] [--pairs 11]

Two copies of the model are loaded (``simulator.load(..., strength_reduction=False/True)``), each
runs once (numba: its kernel compiles into the usual cache), then the two are run alternately,
off on, on off, ..., so that the load of a shared machine falls on both alike. ``--members`` > 1
runs an ensemble (every scalar constant spread by +-10 %, fixed seed). Timed: the numba
kernel's loop (``metadata["fused"]["loop_seconds"]``) or the numpy ``Model.run`` wall time.
Printed: each side's median, the pairwise ratio on/off (median and quartiles) and the largest
difference between the two runs' outputs relative to each column's scale. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from bench_engine import spread_params  # every scalar constant within +-10 %, dates left alone

import simulator

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "models" / "zhejiang_innovation_openness.mdl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="numba", choices=["numpy", "numba"])
    ap.add_argument("--members", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=11)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    models = {label: simulator.load(FLAGSHIP, strength_reduction=label == "on") for label in ("off", "on")}
    params = None if args.members == 1 else spread_params(models["off"], args.members, np.random.default_rng(0))
    opts = simulator.RunOptions(backend=args.backend)
    outputs = [s for s in models["off"].stocks if not models["off"].variables[s].dims]

    def run(label):
        started = time.perf_counter()
        res = models[label].run(params, method="euler", options=opts, outputs=outputs)
        wall = time.perf_counter() - started
        return res, res.metadata["fused"]["loop_seconds"] if args.backend == "numba" else wall

    first = {label: run(label)[0] for label in models}
    for label, res in first.items():
        print(f"{label}: {res.metadata['backend']}", flush=True)
    times: dict = {k: [] for k in models}
    for i in range(args.pairs):
        for label in (("off", "on") if i % 2 == 0 else ("on", "off")):
            times[label].append(run(label)[1])
    ratios = [b / a for a, b in zip(times["off"], times["on"])]
    q = sorted(ratios)
    for label in models:
        print(f"{label}: median {statistics.median(times[label]) * 1e3:.2f} ms over {args.pairs} runs")
    print(f"{args.backend}, {args.members} member(s): on/off median {statistics.median(ratios):.3f} "
          f"[quartiles {q[len(q) // 4]:.3f}, {q[(3 * (len(q) - 1)) // 4]:.3f}], {len(ratios)} pairs")
    a, b = first["on"].to_frame().to_numpy(dtype=float), first["off"].to_frame().to_numpy(dtype=float)
    scale = np.nanmax(np.abs(b), axis=0, initial=0.0)
    scale[~(scale > 0)] = 1.0
    print(f"largest difference on/off: {np.nanmax(np.abs(a - b) / scale, initial=0.0):.3g} of a column's scale")


if __name__ == "__main__":
    main()
