"""Loops that Matter over a large ensemble of the default model, streamed in chunks of members.

    python benchmarks/bench_loops.py [--members 10000] [--chunk 5000] [--workers 1] [--float32] [--backend numpy]
        [--model NAME]

Finds the loops once (baseline run), then for each chunk of members drawn from the model's
uncertainty file: the run (states at save times), the link and loop scores, and what is kept
(for every member: the dominant loop at each save time, and the relative scores of the loops that
matter most at baseline, as float32). Prints wall and CPU time split into run and scoring (on a
shared machine the CPU time of this process is the comparable figure), the process's peak
resident memory, and the dominance reading with its uncertainty. Nothing is asserted.

``--workers K`` scores K chunks at once in forked worker processes (the model and its loops are
found once, before the fork); the memory figure is then the sum of every process's peak, and the
CPU figure the sum of every process's CPU time.
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
_SHARED: dict = {}  # what forked workers read: model, loops, samples, kept loop rows, backend


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def _chunk(bounds: tuple[int, int]):
    """Run and score members [start, stop): dominant loop rows, kept relative scores, timings."""
    start, stop = bounds
    sh = _SHARED
    params = {c: sh["samples"][c].to_numpy()[start:stop] for c in sh["samples"].columns}
    a, ca = time.perf_counter(), time.process_time()
    traj = loops.trajectory(sh["model"], params, options=RunOptions(backend=sh["backend"]))
    b, cb = time.perf_counter(), time.process_time()
    res = loops.score_trajectory(traj, sh["found"], dtype=sh["dtype"])
    c, cc = time.perf_counter(), time.process_time()
    dom = np.abs(res.relative).argmax(axis=0).astype(np.int32)
    kept = res.relative[sh["keep"]].astype(np.float32)
    stats = {"run": b - a, "run_cpu": cb - ca, "score": c - b, "score_cpu": cc - cb, "cpu": time.process_time() - ca,
             "rss": peak_rss_gb(), "pid": os.getpid()}
    return dom, kept, stats


def _report(start: int, stop: int, stats: dict) -> None:
    print(f"  members {start:>6,}-{stop:>6,}: run {stats['run']:6.1f} s (CPU {stats['run_cpu']:5.1f} s), scores "
          f"{stats['score']:6.1f} s (CPU {stats['score_cpu']:5.1f} s), peak RSS of its process {stats['rss']:.2f} GB",
          flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--chunk", type=int, default=5000)
    p.add_argument("--backend", default="numpy", choices=["auto", "numpy", "numba"],
                   help="engine backend of the runs (numpy: one vectorised run per chunk, the faster for "
                        "thousands of members)")
    p.add_argument("--workers", type=int, default=1, help="chunks scored at once in forked processes")
    p.add_argument("--float32", action="store_true", help="loop products in float32 (link scores stay float64)")
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
    _SHARED.update(model=model, found=found, samples=samples, keep=keep, backend=args.backend,
                   dtype=np.float32 if args.float32 else np.float64)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    bounds = [(s, min(s + args.chunk, args.members)) for s in range(0, args.members, args.chunk)]
    t_run = t_score = cpu_workers = 0.0
    rss_workers = []
    if args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(args.workers, mp_context=get_context("fork")) as pool:
            done = pool.map(_chunk, bounds)
            for (start, stop), (dom, kp, stats) in zip(bounds, done):
                dominant[:, start:stop], kept[:, :, start:stop] = dom, kp
                t_run, t_score = t_run + stats["run"], t_score + stats["score"]
                cpu_workers += stats["cpu"]
                rss_workers.append((stats["pid"], stats["rss"]))
                _report(start, stop, stats)
    else:
        for start, stop in bounds:
            dom, kp, stats = _chunk((start, stop))
            dominant[:, start:stop], kept[:, :, start:stop] = dom, kp
            t_run, t_score = t_run + stats["run"], t_score + stats["score"]
            _report(start, stop, stats)
    wall = time.perf_counter() - wall0
    peak = peak_rss_gb() + sum(dict(rss_workers).values())  # each worker's peak counted once
    cpu = time.process_time() - cpu0 + cpu_workers
    print(f"\n{info.name}: {len(found.loops)} loops ({found.search}), found in {t_find:.1f} s (baseline run)")
    print(f"{args.members:,} members in chunks of {args.chunk:,} on {args.workers} worker(s) ({args.backend} backend): "
          f"{wall:.1f} s wall (chunks: run {t_run:.1f} s + scores {t_score:.1f} s), {cpu:.1f} s CPU of all processes; "
          f"peak RSS {peak:.2f} GB (sum over processes); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
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
