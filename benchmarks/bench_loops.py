"""Loops that Matter over a large ensemble of the default model, streamed in chunks of members.

    python benchmarks/bench_loops.py [--members 10000] [--chunk 5000] [--backend numpy] [--model NAME]

Finds the loops once (baseline run), then for each chunk of members drawn from the model's
uncertainty file: the run (states at save times), the link and loop scores, and what is kept
(for every member: the dominant loop at each save time, and the relative scores of the loops that
matter most at baseline, as float32). Prints wall and CPU time split into run and scoring (on a
shared machine the CPU time of this process is the comparable figure), the process's peak
resident memory, and the dominance reading with its uncertainty. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402
from innosim.registry import load_registry  # noqa: E402
from sensitivity import load_uncertainties  # noqa: E402
from simulator import RunOptions, loops  # noqa: E402

KEEP = 10  # loops whose relative scores are kept for every member


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--chunk", type=int, default=5000)
    p.add_argument("--backend", default="numpy", choices=["auto", "numpy", "numba"],
                   help="engine backend of the runs (numpy: one vectorised run per chunk, the faster for "
                        "thousands of members)")
    p.add_argument("--model", default=None, help="registered model (default: the registry's default)")
    args = p.parse_args(argv)
    reg = load_registry()
    info = reg.get(args.model) if args.model else reg.get(reg.default)
    model = simulator.load(info.path)
    t0 = time.perf_counter()
    found = loops.find_loops(model)
    t_find = time.perf_counter() - t0
    base = loops.score_loops(model, found)
    keep = np.argsort(-np.abs(base.relative[:, :, 0]).mean(axis=1), kind="stable")[:KEEP]
    spec = load_uncertainties(info.files["uncertainties"], model=model)
    samples = spec.sample(args.members, seed=0)
    n_t = len(base.times)
    dominant = np.empty((n_t, args.members), dtype=np.int32)
    kept = np.empty((KEEP, n_t, args.members), dtype=np.float32)
    t_run = t_score = 0.0
    cpu0 = time.process_time()
    for start in range(0, args.members, args.chunk):
        stop = min(start + args.chunk, args.members)
        params = {c: samples[c].to_numpy()[start:stop] for c in samples.columns}
        a, ca = time.perf_counter(), time.process_time()
        traj = loops.trajectory(model, params, options=RunOptions(backend=args.backend))
        b, cb = time.perf_counter(), time.process_time()
        res = loops.score_trajectory(traj, found)
        c, cc = time.perf_counter(), time.process_time()
        t_run += b - a
        t_score += c - b
        dominant[:, start:stop] = np.abs(res.relative).argmax(axis=0)
        kept[:, :, start:stop] = res.relative[keep]
        del traj, res
        print(f"  members {start:>6,}-{stop:>6,}: run {b - a:6.1f} s (CPU {cb - ca:5.1f} s), scores {c - b:6.1f} s "
              f"(CPU {cc - cb:5.1f} s), peak RSS {peak_rss_gb():.2f} GB", flush=True)
    total = t_run + t_score
    print(f"\n{info.name}: {len(found.loops)} loops ({found.search}), found in {t_find:.1f} s (baseline run)")
    print(f"{args.members:,} members in chunks of {args.chunk:,} ({args.backend} backend): run {t_run:.1f} s + scores {t_score:.1f} s "
          f"= {total:.1f} s wall, {time.process_time() - cpu0:.1f} s CPU of this process; "
          f"peak RSS {peak_rss_gb():.2f} GB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("\ndominant loop at each report year (share of members) and its relative score, 5-50-95 %:")
    ids = [lp.id for lp in found.loops]
    for k in range(0, n_t, max(1, n_t // 12)):
        counts = np.bincount(dominant[k], minlength=len(ids))
        j = int(counts.argmax())
        where = np.nonzero(keep == j)[0]
        band = "[not kept: not among the baseline's top loops]"
        if where.size:
            q = np.quantile(kept[where[0], k], [0.05, 0.5, 0.95])
            band = f"[{q[0]:+.2f} {q[1]:+.2f} {q[2]:+.2f}]"
        print(f"  {base.times[k]:g}: {ids[j]:>5} {counts[j] / args.members:6.1%}  {band}  {found.loops[j].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
