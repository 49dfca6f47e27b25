"""Engine benchmark against pysd, measured in one process on the same model file.

    python benchmarks/bench_engine.py [--model PATH] [--sizes 1000 10000] [--repeat 5]

Prints load time, single-run time (euler at TIME STEP and RK45), ensemble per-member time,
peak memory of the largest ensemble and the ratios against pysd. No timing is asserted
anywhere; this script only reports.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
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

DEFAULT_MODEL = ROOT / "benchmarks" / "models" / "benchmark_model.mdl"


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--outputs", nargs="*", default=None, help="variables kept in ensemble runs")
    args = ap.parse_args(argv)
    import pysd

    warnings.filterwarnings("ignore")
    tmp = Path(tempfile.mkdtemp())
    src = tmp / Path(args.model).name
    shutil.copy(args.model, src)

    t_pysd_load, pm = timed(lambda: pysd.read_vensim(str(src)), 1)
    t_load, model = timed(lambda: simulator.load(args.model), 1)
    print(f"model: {Path(args.model).name}: {len(model.stocks)} stocks, {model.program.n_state} state "
          f"variables, {len(model.variables)} variables; control {model.control}")
    print(f"load           pysd {t_pysd_load * 1e3:9.1f} ms   engine {t_load * 1e3:9.1f} ms")

    t_pysd, pdf = timed(lambda: pm.run(), args.repeat)
    t_eu, res = timed(lambda: model.run(method="euler"), args.repeat)
    t_rk, _ = timed(lambda: model.run(method="RK45"), args.repeat)
    df = res.to_frame()
    cols = [c for c in df.columns if c in pdf.columns]
    err = max(float(np.nanmax(np.abs(df[c].to_numpy() - pdf[c].to_numpy()) /
                              (np.abs(pdf[c].to_numpy()) + 1e-12))) for c in cols)
    print(f"single run     pysd {t_pysd * 1e3:9.2f} ms   engine euler {t_eu * 1e3:8.2f} ms "
          f"(x{t_pysd / t_eu:.1f})   engine RK45 {t_rk * 1e3:8.2f} ms (x{t_pysd / t_rk:.1f})")
    print(f"euler vs pysd: max relative difference {err:.2e} over {len(cols)} columns")

    rng = np.random.default_rng(0)
    outputs = args.outputs or model.stocks
    for n in args.sizes:
        params = ensemble_params(model, n, rng)
        for method in ("euler", "RK45"):
            tracemalloc.start()
            t0 = time.perf_counter()
            r = model.run(params, method=method, outputs=outputs)
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
