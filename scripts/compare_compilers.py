"""Every model file under the given folders run with the kernel compiled by LLVM and by numba:
every column of Euler and RK4 runs compared bit for bit.

    python3 scripts/compare_compilers.py [FOLDER ...] [--limit N]

Default folders: the SDXorg copies in tests/sdxorg, and the published-models folder
``$INNOSIM_CORPUS`` when it is set. A model that stays on numpy (a function the kernel does not
print) or that the engine refuses is counted as such; a kernel LLVM's translator does not take
(numba compiles it) is listed. Exit code 1 when any column differs. Long (numba compiles every
model): kept out of the test suite, which checks the helpers, a model of every helper and the
flagship's perturbed ensemble (tests/test_llvm_kernel.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402
from simulator.errors import SimulatorError  # noqa: E402
from simulator.kernel_cache import KernelCache  # noqa: E402

PATTERNS = ("*.mdl", "*.xmile", "*.stmx")
COMPILED = simulator.RunOptions(backend="numba")


def model_files(folders: list[Path], limit: int | None) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        found = sorted({p for pattern in PATTERNS for p in folder.rglob(pattern)})
        files += found[:limit] if limit else found
    return files


def compare(path: Path, caches: dict) -> tuple[str, str]:
    """(outcome, detail): same | differ | fallback | numpy | refused."""
    runs = {}
    for compiler, cache in caches.items():
        model = simulator.load(path, cache=cache)
        for method in ("euler", "rk4"):
            runs[(compiler, method)] = model.run(method=method, options=COMPILED)
    first = runs[("llvm", "euler")].metadata
    if first["backend"] != "numba":
        return "numpy", first["backend"]
    if first["fused"]["compiler"] != "llvm":
        return "fallback", first["fused"]["compiler"]
    differ = [f"{method}: {name}" for method in ("euler", "rk4") for name in runs[("numba", method)].data
              if not np.array_equal(np.asarray(runs[("llvm", method)][name]),
                                    np.asarray(runs[("numba", method)][name]), equal_nan=True)]
    return ("differ", ", ".join(differ[:5])) if differ else ("same", "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--limit", type=int, default=None, help="at most N files per folder")
    args = ap.parse_args(argv)
    folders = args.folders or [ROOT / "tests" / "sdxorg"]
    if not args.folders and os.environ.get("INNOSIM_CORPUS"):
        folders.append(Path(os.environ["INNOSIM_CORPUS"]))
    warnings.filterwarnings("ignore")
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="compare_compilers_") as tmp:
        caches = {c: KernelCache(Path(tmp) / c, compiler=c) for c in ("llvm", "numba")}
        for path in model_files(folders, args.limit):
            try:
                outcome, detail = compare(path, caches)
            except SimulatorError as exc:
                outcome, detail = "refused", str(exc).splitlines()[0][:120]
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome in ("differ", "fallback"):
                print(f"{outcome}: {path}: {detail}", flush=True)
    print("models: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if counts.get("differ") else 0


if __name__ == "__main__":
    sys.exit(main())
