"""Sensitivity-at-scale benchmark on the flagship model, measured in one process (issue 5).

    python benchmarks/bench_sensitivity.py [--quick] [--sizes 1000 10000 100000] [--sobol-n 1024]
                                           [--workers 2] [--repeat 3]

Prints one table: a pysd run vs. the engine's single run; ensemble cost per member at each N
(euler at TIME STEP and RK45, chunked by the sensitivity runner, uncertainties drawn from
models/zhejiang_innovation_openness/uncertainties.toml); memory (resident-set growth during the ensemble, and the
process's peak RSS so far); and a Sobol analysis (>= 10 parameters,
N (D + 2) >= 20 000 runs) end to end (sampling + runs + analysis), with its ratio to the same
number of pysd runs. When ``simulator.RunOptions`` has a ``backend`` option, fixed-step rows
are measured for each backend. ``--quick`` uses smaller N. Nothing is asserted; this reports.
"""
from __future__ import annotations

import argparse
import dataclasses
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402
from sensitivity import (  # noqa: E402
    Compute,
    EnsembleOptions,
    Study,
    executor,
    load_uncertainties,
    run_ensemble,
)
from sensitivity.methods import sobol as sobol_method  # noqa: E402
from simulator.parsing import pysd_read_vensim  # noqa: E402

MODEL = ROOT / "models" / "zhejiang_innovation_openness.mdl"
SPEC = ROOT / "models" / "zhejiang_innovation_openness" / "uncertainties.toml"
KPIS = ("High Tech Exports", "RD Expenditure", "Industrial Clusters", "Export Competitiveness")


def timed(fn, repeat=1):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakMemory:
    """Peak resident memory above the starting level while the block runs, sampled every 5 ms.

    Unlike tracemalloc it sees numba's allocations and does not slow the Python code it measures.
    """

    def __enter__(self):
        import psutil

        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        self.delta = self.peak - self.start


CHOSEN: list[str] = []  # --backends


def backends() -> list[str | None]:
    """The fixed-step backends to compare: [None] when RunOptions has no backend option."""
    if CHOSEN:
        return list(CHOSEN)
    fields = {f.name for f in dataclasses.fields(simulator.RunOptions)}
    return ["numpy", "auto"] if "backend" in fields else [None]


def run_options(backend):
    return simulator.RunOptions() if backend is None else simulator.RunOptions(backend=backend)


def engine_backend(model, samples, method, backend) -> str:
    """What the engine reports it used for a 2-member run like the ensemble's chunks."""
    two = {k: samples[k].to_numpy()[:2] for k in samples.columns}
    res = model.run(two, method=method, options=run_options(backend), outputs=[KPIS[0]])
    return str(res.metadata.get("backend", "numpy"))


def row(label, seconds, n=None, pysd_run=None, mem=None, note=""):
    per = f"{seconds / n * 1e6:12,.1f}" if n else f"{'':>12}"
    ratio = f"x{pysd_run / (seconds / n):,.0f}" if n and pysd_run else ""
    mem = f"{mem / 2**20:9.1f}" if mem is not None else f"{'':>9}"
    print(f"{label:<44s} {seconds:10.3f} {per} {ratio:>10s} {mem} {rss_mib():9.0f}  {note}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 1 000 and 10 000, a 2^9 Sobol base sample")
    ap.add_argument("--sizes", type=int, nargs="+", help="ensemble sizes (default 1000 10000 100000)")
    ap.add_argument("--sobol-n", type=int, help="Sobol base sample N (runs = N (D + 2); default 1024)")
    ap.add_argument("--chunk-size", type=int, default=5000, help="members per vectorised run (default 5000)")
    ap.add_argument("--workers", type=int, default=0, help="also run the Sobol study on a K-process LocalCluster")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rk45-max", type=int, default=None, help="largest N measured with RK45 (default: all)")
    ap.add_argument("--sobol-only", action="store_true", help="only the Sobol study (no pysd, no ensembles)")
    ap.add_argument("--backends", nargs="+", help="fixed-step backends measured (default: numpy and auto)")
    args = ap.parse_args(argv)
    if args.backends:
        CHOSEN[:] = args.backends
    sizes = args.sizes or ([1000, 10_000] if args.quick else [1000, 10_000, 100_000])
    sobol_n = args.sobol_n or (512 if args.quick else 1024)
    warnings.filterwarnings("ignore")

    # ------------------------------------------------------------------ pysd and single runs
    t_pysd = t_pysd_load = None
    if not args.sobol_only:
        tmp = Path(tempfile.mkdtemp())
        try:
            src = tmp / MODEL.name
            shutil.copy(MODEL, src)  # pysd writes its generated .py next to the model file
            t_pysd_load, pm = timed(lambda: pysd_read_vensim(src))
            t_pysd, _ = timed(lambda: pm.run(), args.repeat)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    t_load, model = timed(lambda: simulator.load(MODEL))
    spec = load_uncertainties(SPEC, model=model)
    print(f"model {MODEL.name}: {len(model.stocks)} stocks, control {model.control}; "
          f"{len(spec)} uncertain parameters from {SPEC.name}")
    print(f"\n{'what':<44s} {'seconds':>10s} {'us/member':>12s} {'vs pysd':>10s} {'+peak MiB':>9s} "
          f"{'RSS MiB':>9s}")
    if t_pysd is not None:
        row("pysd load (read_vensim, checked)", t_pysd_load)
        row("pysd single run", t_pysd, 1, t_pysd)
    row("engine load", t_load)
    for b in backends():
        opts = run_options(b)
        model.run(method="euler", options=opts)  # compile/warm once
        t, res = timed(lambda opts=opts: model.run(method="euler", options=opts), args.repeat)
        row(f"engine single run euler{'' if b is None else ' [' + b + ']'}", t, 1, t_pysd,
            note=res.metadata.get("backend", ""))
    t, _ = timed(lambda: model.run(method="RK45"), args.repeat)
    row("engine single run RK45", t, 1, t_pysd)

    # ------------------------------------------------------------------ ensembles
    for n in [] if args.sobol_only else sizes:
        samples = spec.sample(n, seed=0)
        cases = [("euler", b) for b in backends()]
        if args.rk45_max is None or n <= args.rk45_max:
            cases.append(("RK45", None))
        for method, b in cases:
            opts = EnsembleOptions(outputs=KPIS, method=method, chunk_size=args.chunk_size, progress=False,
                                   run_options=run_options(b))
            with PeakMemory() as mem:
                t, ens = timed(lambda opts=opts, samples=samples: run_ensemble(model, samples, options=opts))
            label = f"ensemble N={n:,} {method}{'' if b is None else ' [' + b + ']'}"
            row(label, t, n, t_pysd, mem.delta, f"{ens.metadata['chunks']} chunk(s) of <= {args.chunk_size:,}; "
                f"engine backend: {engine_backend(model, samples, method, b)}")

    # ------------------------------------------------------------------ Sobol end to end
    runs = sobol_method.runs(sobol_n, len(spec))
    print(f"\nSobol: {len(spec)} parameters, base sample {sobol_n}, {runs:,} runs, KPIs {', '.join(KPIS)} in 2035")
    table = None

    def sobol_run(label, compute, backend, chunk_size, startup=0.0):
        """Sampling + runs + analysis; ``startup`` (cluster start, model load on workers) is added."""
        opts = EnsembleOptions(chunk_size=chunk_size, progress=False, run_options=run_options(backend))
        study = Study(model, spec, kpis=KPIS, years=(2035,), options=opts, compute=compute)
        t0 = time.perf_counter()
        X = spec.transform(sobol_method.sample(spec, sobol_n, seed=0))
        t1 = time.perf_counter()
        Y = study(X)
        t2 = time.perf_counter()
        out = sobol_method.analyze(spec, Y, outputs=study.outputs, seed=0)
        t3 = time.perf_counter()
        note = f"sampling {t1 - t0:.2f} s, runs {t2 - t1:.2f} s, analysis {t3 - t2:.2f} s"
        if startup:
            note += f", cluster start + warm-up {startup:.1f} s"
        row(f"Sobol end to end, {label}{'' if backend is None else ' [' + backend + ']'}", t3 - t0 + startup,
            runs, t_pysd, note=note + f"; chunks of {chunk_size:,}")
        return out

    for b in backends():
        table = sobol_run("single process", None, b, args.chunk_size)
    if args.workers:
        # several chunks per worker keep both busy; cluster start and model loading are timed apart
        chunk = -(-runs // (4 * args.workers))
        for b in backends():
            t = time.perf_counter()
            with executor(Compute(workers=args.workers)) as ex:
                warm = Study(model, spec, kpis=KPIS, years=(2035,), compute=ex,
                             options=EnsembleOptions(chunk_size=1, progress=False, run_options=run_options(b)))
                warm(spec.transform(np.full((2 * args.workers, len(spec)), 0.5)))  # load + compile on workers
                sobol_run(f"{args.workers} workers", ex, b, chunk, startup=time.perf_counter() - t)
    if t_pysd is not None:
        print(f"pysd would need {runs * t_pysd / 60:,.1f} min for the same {runs:,} runs (one process)")
    hte = table[table["output"] == "High Tech Exports (2035)"].nlargest(5, "ST")
    print("\ntop five Sobol drivers of High Tech Exports (2035), by total index S_T:")
    print(hte[["parameter", "ST", "ST_conf", "S1", "S1_conf"]].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
