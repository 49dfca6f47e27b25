"""Engine benchmark against pysd, measured in one process on the same model file.

    python benchmarks/bench_engine.py [--model PATH] [--sizes 1000 10000] [--repeat 5]
    python benchmarks/bench_engine.py --section fused [--fused-model PATH]
        [--fused-sizes 1000 10000 100000] [--numpy-sizes 1000 10000]

Section "engine": load time, single-run time (euler at TIME STEP and RK45), ensemble per-member
time, peak memory of the largest ensemble and the ratios against pysd.
Section "fused": the numba backend on the flagship model: JIT compile time (cold, in a fresh
cache folder) and the time to load the compiled kernel from that cache in a new process; single
euler run numpy vs numba vs pysd; per-member cost of euler ensembles (every scalar constant drawn
within +-10 % of its value) for numba and numpy; and the largest difference between the two.
No timing is asserted anywhere; this script only reports.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402
from simulator.parsing import pysd_read_vensim  # noqa: E402

DEFAULT_MODEL = ROOT / "benchmarks" / "models" / "benchmark_model.mdl"
FLAGSHIP = ROOT / "models" / "zhejiang_innovation_openness.mdl"
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


def timed(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def ensemble_params(model, n, rng):
    """Every scalar constant with a Vensim range gets one uniform draw per member."""
    params = {}
    for name, v in model.variables.items():
        if v.kind == "constant" and not v.dims and v.limits[0] is not None and v.limits[1] is not None \
                and name.upper() not in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"):
            lo, hi = float(v.limits[0]), float(v.limits[1])
            params[name] = rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo), n)
    return params


def spread_params(model, n, rng, spread=0.1):
    """Every scalar constant (not the control ones, not calendar dates) drawn uniformly within
    +-spread of its value."""
    c = model.control
    t0, span = c["initial_time"], c["final_time"] - c["initial_time"]
    params = {}
    for name, v in model.variables.items():
        if v.kind == "constant" and not v.dims and name.upper() not in CONTROL:
            base = float(np.ravel(model.default_value(name))[0])
            is_date = t0 > span and t0 - span <= base <= t0 + 2 * span  # 'Last Data Year' = 2024
            if base != 0 and np.isfinite(base) and not is_date:
                params[name] = base * rng.uniform(1 - spread, 1 + spread, n)
    return params


def max_rel(a, b) -> float:
    """Largest difference relative to its column's scale (the largest |value| of that cell and
    member over time): point by point, a value that passes near zero turns last-bit differences
    into noise."""
    worst = 0.0
    for k in a.data:
        x, y = a.data[k], b.data[k]
        ok = np.isfinite(x)
        if ok.any():
            scale = np.maximum(np.nanmax(np.abs(x), axis=0, keepdims=True), 1e-300)
            worst = max(worst, float(np.max((np.abs(x - y) / scale)[ok])))
    return worst


def fused_section(args):
    """Numba backend figures on one model (the flagship by default)."""
    cache = Path(tempfile.mkdtemp(prefix="innosim-bench-cache-"))
    saved = {k: os.environ.get(k) for k in ("INNOSIM_CACHE", "INNOSIM_CACHE_DIR")}
    os.environ["INNOSIM_CACHE"] = str(cache)  # a cold cache: the compile is measured, not loaded
    os.environ.pop("INNOSIM_CACHE_DIR", None)
    try:
        _fused_section(args, cache)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(cache, ignore_errors=True)


def _fused_section(args, cache):
    path = Path(args.fused_model)
    numpy_opts = simulator.RunOptions(backend="numpy")
    numba_opts = simulator.RunOptions(backend="numba")
    model = simulator.load(path)
    print(f"\n== fused backend (numba) on {path.name}: {len(model.stocks)} stocks, {model.program.n_state} "
          f"state variables, control {model.control}")
    t = time.perf_counter()
    first = model.run(method="euler", options=numba_opts)
    cold = time.perf_counter() - t
    fm = first.metadata
    print(f"backend: {fm['backend']}")
    if fm["backend"] != "numba":
        return
    print(f"JIT compile, cold cache    {fm['fused']['compile_seconds']['run_serial']:8.2f} s "
          f"(serial driver; first run {cold:.2f} s in all)")
    code = ("import time, simulator\n"
            f"m = simulator.load({str(path)!r})\n"
            "t = time.perf_counter()\n"
            "r = m.run(method='euler', options=simulator.RunOptions(backend='numba'))\n"
            "print(r.metadata['fused']['compile_seconds']['run_serial'], time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode == 0:
        load, total = (float(x) for x in out.stdout.split())
        print(f"kernel from the disk cache {load:8.2f} s in a new process (first run {total:.2f} s in all)")
    src = tempfile.mkdtemp()
    shutil.copy(path, src)
    pm = pysd_read_vensim(Path(src) / path.name)
    t_pysd, _ = timed(lambda: pm.run(), args.repeat)
    t_np, ref = timed(lambda: model.run(method="euler", options=numpy_opts), args.repeat)
    t_nb, res = timed(lambda: model.run(method="euler", options=numba_opts), args.repeat)
    loop = res.metadata["fused"]["loop_seconds"]
    print(f"single euler run   pysd {t_pysd * 1e3:8.1f} ms   numpy {t_np * 1e3:8.1f} ms   "
          f"numba {t_nb * 1e3:6.2f} ms (compiled loop {loop * 1e3:.2f} ms) -> x{t_np / t_nb:.0f} vs numpy, "
          f"x{t_pysd / t_nb:.0f} vs pysd")
    print(f"numba vs numpy: max relative difference {max_rel(ref, res):.1e}")
    rng = np.random.default_rng(0)
    # the stocks without subscripts: 100 000 members of every cell would pass the engine's bound
    # on the size of a result (200 million values)
    outputs = args.outputs or [s for s in model.stocks if not model.variables[s].dims]
    for n in args.fused_sizes:
        params = spread_params(model, n, rng)
        runs = [("numba", numba_opts)] + ([("numpy", numpy_opts)] if n in args.numpy_sizes else [])
        got = {}
        for label, opts in runs:
            if label == "numba" and n == args.fused_sizes[0]:
                model.run(spread_params(model, 32, rng), method="euler", options=opts, outputs=outputs)  # compile
            t = time.perf_counter()
            got[label] = model.run(params, method="euler", options=opts, outputs=outputs)
            dt = time.perf_counter() - t
            extra = ""
            if label == "numba":
                md = got[label].metadata["fused"]
                extra = (f", compiled loop {md['loop_seconds'] / n * 1e6:7.1f} us/member "
                         f"(parallel driver compiled in {md['compile_seconds'].get('run_parallel', 0):.1f} s)")
            print(f"ensemble N={n:7d} {label}: {dt:8.2f} s, {dt / n * 1e6:8.1f} us/member "
                  f"(pysd single run / member cost x{t_pysd / (dt / n):,.0f}){extra}")
        if len(got) == 2:
            print(f"  numba vs numpy at N={n}: max relative difference {max_rel(got['numpy'], got['numba']):.1e}")
    shutil.rmtree(src, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--outputs", nargs="*", default=None, help="variables kept in ensemble runs")
    ap.add_argument("--section", choices=["engine", "fused", "all"], default="all")
    ap.add_argument("--fused-model", default=str(FLAGSHIP))
    ap.add_argument("--fused-sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--numpy-sizes", type=int, nargs="*", default=[1000, 10000],
                    help="fused-section ensemble sizes also run on the numpy backend")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.section in ("fused", "all"):
        fused_section(args)
    if args.section == "fused":
        return

    tmp = Path(tempfile.mkdtemp())
    src = tmp / Path(args.model).name
    shutil.copy(args.model, src)

    t_pysd_load, pm = timed(lambda: pysd_read_vensim(src), 1)
    t_load, model = timed(lambda: simulator.load(args.model), 1)
    print(f"model: {Path(args.model).name}: {len(model.stocks)} stocks, {model.program.n_state} state "
          f"variables, {len(model.variables)} variables; control {model.control}")
    print(f"load           pysd {t_pysd_load * 1e3:9.1f} ms   engine {t_load * 1e3:9.1f} ms")

    t_pysd, pdf = timed(lambda: pm.run(), args.repeat)
    npo = simulator.RunOptions(backend="numpy")  # this section measures the numpy path
    t_eu, res = timed(lambda: model.run(method="euler", options=npo), args.repeat)
    t_rk, _ = timed(lambda: model.run(method="RK45"), args.repeat)
    df = res.to_frame()
    cols = [c for c in df.columns if c in pdf.columns]
    err = max(float(np.nanmax(np.abs(df[c].to_numpy() - pdf[c].to_numpy()) /
                              (np.abs(pdf[c].to_numpy()) + 1e-12))) for c in cols)
    print(f"single run     pysd {t_pysd * 1e3:9.2f} ms   engine euler {t_eu * 1e3:8.2f} ms "
          f"(x{t_pysd / t_eu:.1f})   engine RK45 {t_rk * 1e3:8.2f} ms (x{t_pysd / t_rk:.1f})")
    print(f"euler vs pysd: max relative difference {err:.2e} over {len(cols)} columns")

    rng = np.random.default_rng(0)
    # the stocks without subscripts: 100 000 members of every cell would pass the engine's bound
    # on the size of a result (200 million values)
    outputs = args.outputs or [s for s in model.stocks if not model.variables[s].dims]
    for n in args.sizes:
        params = ensemble_params(model, n, rng)
        for method in ("euler", "RK45"):
            tracemalloc.start()
            t0 = time.perf_counter()
            r = model.run(params, method=method, outputs=outputs, options=npo)
            dt = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            per = dt / n
            print(f"ensemble N={n:6d} {method:5s}: {dt:7.2f} s total, {per * 1e6:9.1f} us/member "
                  f"(pysd/member ratio x{t_pysd / per:,.0f}), peak traced memory {peak / 2**20:7.1f} MiB, "
                  f"{r.metadata['solver']['nfev']} rhs evaluations, {len(params)} varied constants")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
