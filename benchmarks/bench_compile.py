"""First-compile time of the compiled backend, and the time to load a compiled kernel from the cache.

    python benchmarks/bench_compile.py [--models flagship 1d 2d] [--compilers llvm numba]
                                       [--compare OTHER_CHECKOUT]

``--compilers``: who compiles the kernel (``KernelCache(compiler=...)``): LLVM from the kernel's
source directly (the default) and/or numba; each is measured in its own processes.

Models: ``flagship`` (models/zhejiang_innovation_openness.mdl) and two generated subscripted models
of 1 000 elements, each with a lookup and a SUM: ``1d`` (one range of 1 000 regions) and ``2d``
(40 regions x 25 sectors). Each figure comes from its own python process:

- cold: a fresh cache folder; the first ``backend="numba"`` euler run, split into the kernel's
  compile (``Result.metadata["fused"]["compile_seconds"]``, wall clock) and the process's CPU time
  over the whole first run (numba imported beforehand, so its import is not counted);
- load: a second process on the same cache folder; the same first run, now loading machine code.

With ``--compare DIR`` the same processes also run on another checkout of the engine (e.g. the main
branch) right before this one, so that a busy machine slows both alike; ratios are printed.
No timing is asserted anywhere; this script only reports.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "models" / "zhejiang_innovation_openness.mdl"

CONTROL = """INITIAL TIME = 0 ~ Year ~ |
FINAL TIME = 100 ~ Year ~ |
TIME STEP = 0.25 ~ Year ~ |
SAVEPER = 1 ~ Year ~ |
"""

ONE_D = """{UTF-8}
Region: (e1-e1000) ~~|
Pop[Region] = INTEG(births[Region] - deaths[Region], init pop[Region]) ~ people ~ |
init pop[Region] = 100 ~ people ~ |
births[Region] = Pop[Region] * birth rate[Region] * effect of crowding(crowding[Region]) ~ people/Year ~ |
deaths[Region] = Pop[Region] / lifetime ~ people/Year ~ |
birth rate[Region] = 0.03 ~ 1/Year ~ |
lifetime = 50 ~ Year ~ |
crowding[Region] = Pop[Region] / (capacity + SUM(Pop[Region!]) / 1000) ~ Dmnl ~ |
effect of crowding([(0,0)-(3,2)],(0,1.5),(0.5,1.2),(1,1),(2,0.4),(3,0)) ~ Dmnl ~ |
capacity = 1000 ~ people ~ |
"""

TWO_D = """{UTF-8}
Region: (r1-r40) ~~|
Sector: (s1-s25) ~~|
Firms[Region, Sector] = INTEG(entry[Region, Sector] - exit[Region, Sector], 10) ~ firms ~ |
entry[Region, Sector] = Firms[Region, Sector] * entry rate * attractiveness(share[Region, Sector]) ~ firms/Year ~ |
exit[Region, Sector] = Firms[Region, Sector] / firm life ~ firms/Year ~ |
share[Region, Sector] = Firms[Region, Sector] * 25 / SUM(Firms[Region, Sector!]) ~ Dmnl ~ |
regional firms[Region] = SUM(Firms[Region, Sector!]) ~ firms ~ |
attractiveness([(0,0)-(3,2)],(0,1.6),(1,1),(2,0.5),(3,0.2)) ~ Dmnl ~ |
entry rate = 0.08 ~ 1/Year ~ |
firm life = 15 ~ Year ~ |
"""

CHILD = """
import json, sys, time
import numba  # imported before timing: the figures are the compile's, not numba's import
import simulator
from simulator.kernel_cache import KernelCache
try:
    cache = KernelCache(sys.argv[2], compiler=sys.argv[3])
except TypeError:  # an engine from before the choice of compiler: numba
    cache = KernelCache(sys.argv[2])
m = simulator.load(sys.argv[1], cache=cache)
cpu, wall = time.process_time(), time.perf_counter()
r = m.run(method="euler", options=simulator.RunOptions(backend="numba"))
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
f = r.metadata.get("fused") or {}
print(json.dumps({"backend": r.metadata["backend"], "kernel": f.get("kernel"), "compiler": f.get("compiler", "numba"),
                  "compile": sum(f.get("compile_seconds", {}).values()), "cpu": cpu, "wall": wall}))
"""


def model_files(folder: Path) -> dict[str, Path]:
    """The benchmark's models: the flagship and the generated 1-D and 2-D models."""
    files = {"flagship": FLAGSHIP}
    for name, text in (("1d", ONE_D), ("2d", TWO_D)):
        path = folder / f"generated_{name}.mdl"
        path.write_text(text + CONTROL, encoding="utf-8")
        files[name] = path
    return files


def measure(root: Path, model: Path, cache: Path, compiler: str) -> dict:
    """One first run of ``model`` in a new python process of the engine at ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), str(cache), compiler], capture_output=True,
                         text=True, cwd=root, env=env, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"bench_compile: the run of {model.name} on {root} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["flagship", "1d", "2d"], choices=["flagship", "1d", "2d"])
    ap.add_argument("--compilers", nargs="+", default=["llvm"], choices=["llvm", "numba"])
    ap.add_argument("--compare", type=Path, default=None, help="another checkout of the engine, measured first")
    args = ap.parse_args(argv)
    roots = ([("other", args.compare.resolve())] if args.compare else [])
    roots += [(f"this/{c}" if len(args.compilers) > 1 else "this", ROOT, c) for c in args.compilers]
    if args.compare:
        roots[0] = ("other", args.compare.resolve(), args.compilers[0])
    with tempfile.TemporaryDirectory(prefix="bench_compile_") as tmp:
        files = model_files(Path(tmp))
        print(f"{'model':9} {'engine':10} {'cold compile':>13} {'cold CPU':>9} {'load (new process)':>19}  compiler")
        for name in args.models:
            got = {}
            for label, root, compiler in roots:
                cache = Path(tmp) / f"cache_{name}_{label.replace('/', '_')}"
                cold = measure(root, files[name], cache, compiler)
                warm = measure(root, files[name], cache, compiler)
                got[label] = (cold, warm)
                print(f"{name:9} {label:10} {cold['compile']:11.2f} s {cold['cpu']:7.2f} s {warm['wall']:17.2f} s  "
                      f"{cold['compiler']} ({cold['backend']})", flush=True)
            if "other" in got and "this" in got:
                (oc, ow), (tc, tw) = got["other"], got["this"]
                print(f"{name:9} ratio  {tc['compile'] / oc['compile']:11.2f}   {tc['cpu'] / oc['cpu']:7.2f}   "
                      f"{tw['wall'] / ow['wall']:17.2f}    (this / other)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
