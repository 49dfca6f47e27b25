"""This engine against its peers on the same model files, each peer timed in its own process.

    python benchmarks/bench_peers.py [--models flagship teacup subscript_3d_arrays workforce]
        [--peers engine pysd simlin] [--seconds 3] [--members 1000] [--markdown]

Peers: pysd (``pysd.read_vensim``, ``model.run()``), Simlin (``pysimlin``: ``simlin.load``,
``model.run(analyze_loops=False)``) and this engine: a single run through ``Model.run`` and through
``Model.prepare`` (the fixed costs paid once), every variable saved at SAVEPER as the peers do, and
the per-member time of a 1 000-member euler ensemble (every scalar constant within ±10 %) on one
thread and on every core. Each (peer, model) pair runs in a fresh process that loads the model,
runs it once (compiling where the peer compiles) and then times runs in a loop for about
``--seconds`` (at least 3 runs; pysd runs the flagship model once: one run takes 15-30 s).
Models: the flagship and SDXorg samples from tests/sdxorg, ../shared/conformance or the published
models folder ``INNOSIM_CORPUS`` (where Workforce is; see docs/corpus.md); a model file
that is not there is reported as such. SDEverywhere (``--peers sde``): ``@sdeverywhere/compile``
and ``@sdeverywhere/runtime`` from npm into ``--sde-dir``, the model generated as JavaScript and
run under node (its C runtime ships with its command-line package, which npm does not serve us);
compile's spreadsheet dependency is replaced by a stub (it is fetched from outside the registry and
no benchmark model reads a spreadsheet).
Medians are printed with the ratio engine/peer; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "conformance"
MODELS = {
    "flagship": [ROOT / "models" / "zhejiang_innovation_openness.mdl"],
    "teacup": [ROOT / "tests" / "sdxorg" / "samples" / "teacup" / "teacup.mdl"],
    "subscript_3d_arrays": [ROOT / "tests" / "sdxorg" / "tests" / "subscript_3d_arrays" / "test_subscript_3d_arrays.mdl",
                            SHARED / "tests" / "subscript_3d_arrays" / "test_subscript_3d_arrays.mdl"],
    "workforce": [],  # found by name below
}
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


def find_model(name: str) -> Path | None:
    for p in MODELS.get(name, []):
        if p.is_file():
            return p
    corpus = os.environ.get("INNOSIM_CORPUS")  # the published models (tests/corpus/manifest.toml)
    for base in (ROOT / "tests" / "sdxorg", SHARED) + ((Path(corpus),) if corpus else ()):
        if base.is_dir():
            hits = sorted(p for p in base.rglob("*.mdl") if name.replace("_", "").lower() in p.stem.replace("_", "").lower())
            if hits:
                return hits[0]
    return None


def loop(fn, seconds: float, at_least: int = 3, at_most: int = 100_000) -> tuple[float, int]:
    """Median seconds of ``fn()`` over a loop of about ``seconds``."""
    times = []
    end = time.perf_counter() + seconds
    while len(times) < at_least or (time.perf_counter() < end and len(times) < at_most):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], len(times)


# ---------------------------------------------------------------------------------- workers
def work_engine(path: Path, seconds: float, members: int) -> dict:
    import numpy as np

    import simulator

    model = simulator.load(path)
    opts = simulator.RunOptions(backend="numba")
    first = time.perf_counter()
    base = model.run(method="euler", options=opts)
    out = {"first_run_s": time.perf_counter() - first, "backend": base.metadata["backend"]}
    out["run_s"], out["run_n"] = loop(lambda: model.run(method="euler", options=opts), seconds)
    prepared = model.prepare(method="euler", options=opts)
    out["prepared_s"], out["prepared_n"] = loop(lambda: prepared.run(None), seconds)
    res = model.run(method="euler", options=opts)
    loop_s = res.metadata.get("fused", {}).get("loop_seconds")
    if loop_s is not None:
        out["kernel_loop_s"] = loop_s
    rng = np.random.default_rng(0)
    params = {}
    for name, v in model.variables.items():
        if v.kind == "constant" and not v.dims and name.upper() not in CONTROL:
            val = float(np.ravel(model.default_value(name))[0])
            if val != 0 and np.isfinite(val):
                params[name] = val * rng.uniform(0.9, 1.1, members)
    if params:
        ens = model.run(params, method="euler", options=opts, outputs=model.stocks[:5] or None)
        out["ensemble_backend"] = ens.metadata["backend"]
        out["ensemble_member_s"], _ = loop(
            lambda: model.run(params, method="euler", options=opts, outputs=model.stocks[:5] or None),
            seconds, at_least=2, at_most=20)
        out["ensemble_member_s"] /= members
    return out


def work_pysd(path: Path, seconds: float, runs: int) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    from simulator.parsing import pysd_read_vensim

    # pysd writes its generated module beside the model file: work on a copy of the model's folder
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(path.parent, tmp / "model")
    model = pysd_read_vensim(str(tmp / "model" / path.name))
    first = time.perf_counter()
    model.run()
    out = {"first_run_s": time.perf_counter() - first}
    if runs <= 1:
        out["run_s"], out["run_n"] = out["first_run_s"], 1
    else:
        out["run_s"], out["run_n"] = loop(lambda: model.run(), seconds, at_least=min(runs, 3), at_most=runs)
    return out


def work_simlin(path: Path, seconds: float) -> dict:
    import simlin

    model = simlin.load(str(path))
    first = time.perf_counter()
    model.run(analyze_loops=False)
    out = {"first_run_s": time.perf_counter() - first}
    out["run_s"], out["run_n"] = loop(lambda: model.run(analyze_loops=False), seconds)
    return out


GEN_JS = """
import fs from 'fs'
import path from 'path'
import { parseAndGenerate } from '@sdeverywhere/compile'
const [mdlPath, outDir, names] = process.argv.slice(2)
const spec = { inputVarNames: [], outputVarNames: JSON.parse(fs.readFileSync(names, 'utf8')) }
fs.mkdirSync(outDir, { recursive: true })
await parseAndGenerate(fs.readFileSync(mdlPath, 'utf8'), 'vensim', spec, ['generateJS'],
                       path.dirname(path.resolve(mdlPath)), 'model', outDir)
"""
RUN_JS = """
import { createSynchronousModelRunner } from '@sdeverywhere/runtime'
const [modelJs, seconds] = process.argv.slice(2)
const runner = createSynchronousModelRunner(await (await import(modelJs)).default())
const outputs = runner.createOutputs()
runner.runModelSync([], outputs)
const times = []
const end = performance.now() + 1000 * Number(seconds)
while (times.length < 3 || (performance.now() < end && times.length < 100000)) {
  const t = performance.now()
  runner.runModelSync([], outputs)
  times.push(performance.now() - t)
}
times.sort((a, b) => a - b)
console.log('RESULT ' + JSON.stringify({ run_s: times[Math.floor(times.length / 2)] / 1000, run_n: times.length }))
"""


def sde_folder(folder: Path) -> str | None:
    """npm-install SDEverywhere's compiler and runtime into ``folder``; None when ready, else why not."""
    if (folder / "node_modules" / "@sdeverywhere" / "runtime").is_dir():
        return None
    shim = folder / "xlsx-stub"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "package.json").write_text('{"name": "xlsx", "version": "0.0.0", "main": "index.js"}')
    (shim / "index.js").write_text("module.exports = { set_fs() {}, readFile() { throw new Error('no spreadsheets "
                                   "in this benchmark') }, utils: {} }\n")
    (folder / "package.json").write_text(json.dumps({"name": "peers", "version": "1.0.0", "private": True,
                                                     "type": "module", "overrides": {"xlsx": "file:./xlsx-stub"}}))
    try:
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "@sdeverywhere/compile@0.7.28",
                               "@sdeverywhere/runtime@0.2.6"], cwd=folder, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm: {exc}"
    return None if proc.returncode == 0 else "npm install failed: " + (proc.stderr.strip().splitlines() or [""])[-1]


def work_sde(path: Path, seconds: float, folder: Path) -> dict:
    import itertools

    import simulator

    why = sde_folder(folder)
    if why:
        return {"error": why}
    model = simulator.load(path)
    names = []
    for name, v in model.variables.items():
        if v.kind == "lookup":
            continue
        els = [model.subscripts[d] for d in v.dims]
        names += [f"{name}[{','.join(c)}]" for c in itertools.product(*els)] if els else [name]
    work = folder / "models" / path.stem
    work.mkdir(parents=True, exist_ok=True)
    (folder / "gen.mjs").write_text(GEN_JS)
    (folder / "run.mjs").write_text(RUN_JS)
    (work / "names.json").write_text(json.dumps(names))
    gen = subprocess.run(["node", str(folder / "gen.mjs"), str(path), str(work), str(work / "names.json")],
                         cwd=folder, capture_output=True, text=True, timeout=600)
    if gen.returncode != 0:
        return {"error": "generate: " + (gen.stderr.strip().splitlines() or [""])[0][:160]}
    (work / "package.json").write_text('{"type": "module"}')
    run = subprocess.run(["node", str(folder / "run.mjs"), str(work / "model.js"), str(seconds)], cwd=folder,
                         capture_output=True, text=True, timeout=600)
    for line in run.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": "run: " + (run.stderr.strip().splitlines() or ["no output"])[0][:160]}


def worker(argv) -> None:
    peer, path, seconds, extra = argv[0], Path(argv[1]), float(argv[2]), int(argv[3])
    try:
        if peer == "engine":
            out = work_engine(path, seconds, extra)
        elif peer == "pysd":
            out = work_pysd(path, seconds, extra)
        elif peer == "sde":
            out = work_sde(path, seconds, Path(argv[4]))
        else:
            out = work_simlin(path, seconds)
    except Exception as exc:  # noqa: BLE001 - a peer that cannot run a model is a result too
        out = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"}
    print("RESULT " + json.dumps(out))


# ---------------------------------------------------------------------------------- driver
def measure(peer: str, path: Path, seconds: float, extra: int, threads: int | None = None, sde_dir: str = "") -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    proc = subprocess.run([sys.executable, __file__, "--worker", peer, str(path), str(seconds), str(extra), sde_dir],
                          capture_output=True, text=True, env=env, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": tail[:200]}


def fmt(s) -> str:
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["flagship", "workforce", "subscript_3d_arrays", "teacup"])
    ap.add_argument("--peers", nargs="+", default=["engine", "pysd", "simlin", "sde"])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--pysd-flagship-runs", type=int, default=1)
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--sde-dir", default=str(Path(tempfile.gettempdir()) / "innosim-bench-sde"),
                    help="where SDEverywhere is installed from npm (peer sde)")
    args = ap.parse_args(argv)
    rows, everything = [], {}
    for name in args.models:
        path = find_model(name)
        if path is None:
            rows.append(f"| {name} | model file not found | | | | | | | |")
            continue
        got = {}
        for peer in args.peers:
            extra = args.members if peer == "engine" else (args.pysd_flagship_runs if name == "flagship" else 1000)
            got[peer] = measure(peer, path, args.seconds, extra, threads=1 if peer == "engine" else None,
                                sde_dir=args.sde_dir)
            print(f"{name} {peer}: {got[peer]}", file=sys.stderr)
        if "engine" in args.peers:
            multi = measure("engine", path, args.seconds, args.members, threads=None)
            got["engine_threads"] = multi
        everything[name] = {"path": str(path), **got}
        e = got.get("engine", {})
        single = e.get("prepared_s")

        def ratio(peer, e_s=single, g=got):
            p = g.get(peer, {}).get("run_s")
            return f"{e_s / p:.3g}" if p and e_s else "–"

        def pe(peer, g=got):
            return f"{fmt(g[peer].get('run_s'))}" if "run_s" in g.get(peer, {}) else \
                ("–" if peer not in g else "fails")

        rows.append(
            f"| {name} | {pe('pysd')} | {pe('simlin')} | {pe('sde')} | "
            f"{fmt(e.get('run_s'))} | {fmt(single)} | {fmt(e.get('ensemble_member_s'))} | "
            f"{fmt(got.get('engine_threads', {}).get('ensemble_member_s'))} | "
            f"{ratio('pysd')} / {ratio('simlin')} / {ratio('sde')} |")
    print("| model | pysd run | Simlin run | SDEverywhere JS run | engine Model.run | engine prepared run "
          "| engine per member, 1 thread | per member, all cores | prepared / pysd, / Simlin, / SDE |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
    else:
        sys.exit(main())
