"""The kernel cache: shared between processes, never corrupted by them, repaired when damaged;
``innosim compile`` fills it ahead of a model's first run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simulator
from innosim.cli import main
from simulator.kernel_cache import KernelCache

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parent.parent
NUMBA = simulator.RunOptions(backend="numba")
RUN = ("import simulator, sys\n"
       "from simulator.kernel_cache import KernelCache\n"
       "r = simulator.load(sys.argv[1], cache=KernelCache(sys.argv[2], compiler=sys.argv[3])).run(method='euler', "
       "options=simulator.RunOptions(backend='numba'))\n"
       "print(r.metadata['backend'], repr(float(r['S'][-1, 0])))\n")


def compiled_files(cache: Path) -> dict[str, int]:
    """The machine code of every kernel in ``cache`` (numba's cache files and LLVM's object files):
    name -> modification time (ns)."""
    found = list((cache / "fused" / "__pycache__").glob("innosim_fused_*.nb*"))
    found += (cache / "fused").glob("innosim_llvm_*.o")
    return {p.name: p.stat().st_mtime_ns for p in found}


def run_in_processes(path: Path, cache: Path, count: int, compiler: str = "llvm") -> list[str]:
    """``count`` python processes running ``path`` on the numba backend at the same time."""
    procs = [subprocess.Popen([sys.executable, "-c", RUN, str(path), str(cache), compiler], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
             for _ in range(count)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    return [out.strip() for out, _err in outs]


@pytest.mark.parametrize("compiler", ["llvm", "numba"])
def test_concurrent_writers_leave_one_complete_kernel_that_a_later_process_loads(write_mdl, tmp_path, compiler):
    cache = tmp_path / "cache"
    path = write_mdl("S = INTEG(k * (9.5 - S) + 0.1875, 1) ~ u ~ |\nk = 0.35 ~ 1/Month ~ |\n")
    first = run_in_processes(path, cache, 3, compiler)
    assert len(set(first)) == 1 and first[0].startswith("numba ")
    if compiler == "numba":
        assert len(list((cache / "fused").glob("innosim_fused_*.py"))) == 1
    assert not list((cache / "fused").rglob("*.tmp*")) and not list((cache / "fused").rglob(".*"))  # no partial file
    before = compiled_files(cache)
    assert any(name.endswith(".nbc" if compiler == "numba" else ".o") for name in before)
    assert compiler == "numba" or len(before) == 1
    later = run_in_processes(path, cache, 1, compiler)
    assert later == first[:1]
    assert compiled_files(cache) == before  # loaded: nothing compiled or written again


@pytest.mark.parametrize("compiler,damage", [("numba", "nbc"), ("numba", "nbi"), ("llvm", "o")])
def test_a_damaged_cache_file_is_compiled_again_with_a_message(write_mdl, tmp_path, capfd, compiler, damage):
    cache = tmp_path / "cache"
    path = write_mdl("S = INTEG(k * (8.5 - S) + 0.3125, 1) ~ u ~ |\nk = 0.45 ~ 1/Month ~ |\n")
    good = simulator.load(path, cache=KernelCache(cache, compiler=compiler)).run(method="euler", options=NUMBA)
    damaged = list((cache / "fused").rglob(f"*.{damage}"))
    assert damaged
    for f in damaged:
        f.write_bytes(f.read_bytes()[:40])  # as a writer killed half-way through (an old numba) would leave it
    capfd.readouterr()
    again = simulator.load(path, cache=KernelCache(cache, compiler=compiler)).run(method="euler", options=NUMBA)
    err = capfd.readouterr().err
    assert again.metadata["backend"] == "numba"
    assert again.metadata["fused"]["compiler"] == compiler
    assert "could not be read" in err and "compiled it again" in err and "Traceback" not in err
    np.testing.assert_array_equal(again["S"], good["S"])
    # repaired: the next process loads the new files without a word
    out = subprocess.run([sys.executable, "-c", RUN, str(path), str(cache), compiler], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert out.returncode == 0 and "could not be read" not in out.stderr
    assert out.stdout.split()[0] == "numba"


def test_a_damaged_kernel_source_is_rewritten(write_mdl, tmp_path):
    cache = tmp_path / "cache"
    path = write_mdl("S = INTEG(k * (7.5 - S) + 0.4375, 1) ~ u ~ |\nk = 0.55 ~ 1/Month ~ |\n")
    good = simulator.load(path, cache=KernelCache(cache, compiler="numba")).run(method="euler", options=NUMBA)
    (src,) = (cache / "fused").glob("innosim_fused_*.py")
    text = src.read_text(encoding="utf-8")
    src.write_text(text[: len(text) // 2], encoding="utf-8")
    again = simulator.load(path, cache=KernelCache(cache, compiler="numba")).run(method="euler", options=NUMBA)
    assert again.metadata["backend"] == "numba"
    assert src.read_text(encoding="utf-8") == text
    np.testing.assert_array_equal(again["S"], good["S"])


def test_innosim_compile_fills_the_cache_for_a_later_process(write_mdl, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("INNOSIM_CACHE", str(cache))
    path = write_mdl("S = INTEG(k * (6.5 - S) + 0.5625, 1) ~ u ~ |\nk = 0.65 ~ 1/Month ~ |\n")
    assert main(["compile", str(path), "--no-ensemble"]) == 0
    out = capsys.readouterr().out
    assert "single run" in out and str(cache / "fused") in out
    before = compiled_files(cache)
    assert any(name.endswith(".o") for name in before)  # LLVM's machine code: member, initial, drivers
    (later,) = run_in_processes(path, cache, 1)
    assert later.split()[0] == "numba"
    assert compiled_files(cache) == before


@pytest.mark.slow
@pytest.mark.parametrize("compiler", ["llvm", "numba"])
def test_precompile_also_compiles_the_ensemble_driver(load_mdl, tmp_path, compiler):
    from simulator.precompile import precompile

    m = load_mdl("S = INTEG(k * (5.5 - S) + 0.6875, 1) ~ u ~ |\nk = 0.75 ~ 1/Month ~ |\n")
    m = simulator.load(m.path, cache=KernelCache(tmp_path / "cache", compiler=compiler))
    done = precompile(m)
    assert done.backend == "numba"
    assert set(done.seconds) == {"run_serial", "run_parallel"}
    assert done.cached == str(tmp_path / "cache" / "fused")
    if compiler == "llvm":  # one object file holds member, initial and both drivers
        assert len(list((tmp_path / "cache" / "fused").glob("innosim_llvm_*.o"))) == 1
        return
    names = {p.name.split(".")[1].split("-")[0] for p in (tmp_path / "cache" / "fused" / "__pycache__").glob("*.nbi")}
    assert {"member", "run_parallel"} <= names


def test_innosim_compile_says_why_a_model_stays_on_numpy(write_mdl, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INNOSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "numba", None)  # as on a machine without numba
    path = write_mdl("S = INTEG(k * (4.5 - S), 1) ~ u ~ |\nk = 0.85 ~ 1/Month ~ |\n")
    assert main(["compile", str(path)]) == 2
    assert "not compiled: numpy (fused backend: numba is not available" in capsys.readouterr().out
