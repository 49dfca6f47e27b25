"""A large study on the flagship model end to end, with its time, CPU time and peak memory.

    python benchmarks/bench_study_scale.py sobol [--n 1024] [--params 22] [--chunk-size 5000]
    /usr/bin/time -v python benchmarks/bench_study_scale.py ensemble [--members 100000] [--chunk-size 5000]

``sobol``: a Sobol analysis (first-order and total indices) of the four headline KPIs in 2035 with
base sample ``--n`` over the first ``--params`` uncertainties of the model's uncertainties file
(runs = n (params + 2); 1 024 x 24 = 24 576 with the defaults): sampling, runs and analysis,
timed after one small warm-up study (the kernel compiled and cached, as in a working session).
``ensemble``: ``--members`` members of all uncertainties, keeping only the four KPIs in 2035; run
it under ``/usr/bin/time -v`` for the peak resident memory of the whole process. Both print the
wall time, the process's CPU time (less sensitive to a loaded machine) and its peak RSS so far.
Nothing is asserted; this script only reports.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402
from sensitivity import EnsembleOptions, Study, UncertaintySpec, load_uncertainties, run_ensemble  # noqa: E402
from sensitivity.methods import sobol as sobol_method  # noqa: E402

MODEL = ROOT / "models" / "zhejiang_innovation_openness.mdl"
SPEC = ROOT / "models" / "zhejiang_innovation_openness" / "uncertainties.toml"
KPIS = ("High Tech Exports", "RD Expenditure", "Industrial Clusters", "Export Competitiveness")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def backend(model, spec) -> str:
    """What the engine uses for a sampled ensemble (a numpy fallback means the kernel was not warm)."""
    two = spec.sample(2, seed=0)
    res = model.run({k: two[k].to_numpy() for k in two.columns}, method="euler", outputs=[KPIS[0]])
    return str(res.metadata.get("backend", "numpy"))


def sobol(model, spec, n: int, chunk_size: int) -> None:
    opts = EnsembleOptions(chunk_size=chunk_size, progress=False)
    study = Study(model, spec, kpis=KPIS, years=(2035,), options=opts)
    study(spec.transform(np.full((4, len(spec)), 0.5)))          # warm: kernel compiled or loaded from cache
    runs = sobol_method.runs(n, len(spec))
    w0, c0 = time.perf_counter(), cpu()
    X = spec.transform(sobol_method.sample(spec, n, seed=0))
    w1 = time.perf_counter()
    Y = study(X)
    w2 = time.perf_counter()
    table = sobol_method.analyze(spec, Y, outputs=study.outputs, seed=0)
    w3, c3 = time.perf_counter(), cpu()
    print(f"Sobol, {len(spec)} parameters, base sample {n}: {runs:,} runs, {len(table)} index rows; "
          f"engine backend: {backend(model, spec)}")
    print(f"end to end {w3 - w0:.2f} s (sampling {w1 - w0:.2f}, runs {w2 - w1:.2f}, analysis {w3 - w2:.2f}); "
          f"CPU {c3 - c0:.2f} s; {(w2 - w1) / runs * 1e6:.0f} us per run; peak RSS {peak_mib():.0f} MiB")


def ensemble(model, spec, members: int, chunk_size: int) -> None:
    samples = spec.sample(members, seed=0)
    opts = EnsembleOptions(outputs=KPIS, times=(2035,), chunk_size=chunk_size, progress=False)
    run_ensemble(model, samples.iloc[:4], options=opts)               # warm
    before = peak_mib()
    w0, c0 = time.perf_counter(), cpu()
    ens = run_ensemble(model, samples, options=opts)
    w1, c1 = time.perf_counter(), cpu()
    kept = sum(v.nbytes for v in ens.dataset.data_vars.values())
    print(f"engine backend: {backend(model, spec)}")
    print(f"ensemble of {members:,} members ({len(spec)} uncertainties), outputs {', '.join(KPIS)} in 2035, "
          f"chunks of {chunk_size:,}: {w1 - w0:.2f} s, CPU {c1 - c0:.2f} s; results {kept / 2**20:.1f} MiB; "
          f"samples {samples.memory_usage().sum() / 2**20:.0f} MiB; peak RSS {before:.0f} MiB before, "
          f"{peak_mib():.0f} MiB after")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["sobol", "ensemble"])
    ap.add_argument("--n", type=int, default=1024, help="Sobol base sample (default 1024)")
    ap.add_argument("--params", type=int, default=22, help="Sobol: uncertainties analysed, the file's first (default 22)")
    ap.add_argument("--members", type=int, default=100_000, help="ensemble members (default 100 000)")
    ap.add_argument("--chunk-size", type=int, default=5000, help="members per vectorised run (default 5000)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    model = simulator.load(MODEL)
    spec = load_uncertainties(SPEC, model=model)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    if args.what == "sobol":
        if not 1 <= args.params <= len(spec):
            raise SystemExit(f"--params must be 1..{len(spec)}")
        sobol(model, UncertaintySpec(spec.uncertainties[:args.params], path=spec.path), args.n, args.chunk_size)
    else:
        ensemble(model, spec, args.members, args.chunk_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
