"""Regenerate the stored pysd outputs of the differential tests, and tests/sdxorg/CASES.md.

    python scripts/make_references.py                 # everything (the flagship part takes minutes)
    python scripts/make_references.py --sdxorg        # pysd's output of every vendored SDXorg case
    python scripts/make_references.py --flagship      # built-in scenarios + perturbed constants
    python scripts/make_references.py --cases-md      # the per-case table (engine, pysd, reference)

pysd takes 15-30 s per run of the flagship model, which is why CI compares the engine with these
files instead of running pysd. Each file records the sha256 of the model it was made from and the
parameters of the run; the tests skip (and say to run this script) when either has changed.

Perturbations: ``PERTURB_DRAWS`` draws with seed ``PERTURB_SEED``, each multiplying every constant
of the flagship (every element of a subscripted one; not the four control values) by an
independent factor uniform in [1 - PERTURB_SPREAD, 1 + PERTURB_SPREAD].
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import difftools as dt  # noqa: E402

import simulator  # noqa: E402
from simulator import conformance  # noqa: E402

PERTURB_DRAWS = 8
PERTURB_SEED = 20240612
PERTURB_SPREAD = 0.2


def pysd_version() -> str:
    import pysd

    return pysd.__version__


def make_sdxorg() -> None:
    cases = dt.sdxorg_cases()
    for k, (case_id, _folder, model, _ref) in enumerate(cases, 1):
        started = time.perf_counter()
        meta = {"case": case_id, "model": model.name, "model_sha256": dt.file_sha256(model),
                "pysd_version": pysd_version()}
        try:
            with dt.pysd_compat():
                frame = dt.numeric_frame(conformance.run_pysd(model))
        except Exception as exc:  # noqa: BLE001 - recorded: the test then says pysd cannot run it
            frame = None
            meta["pysd_error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
        if frame is None:
            import pandas as pd

            frame = pd.DataFrame(index=pd.Index([], name="time", dtype=float))
        dt.save_reference(dt.case_reference(case_id), frame, meta)
        status = meta.get("pysd_error", f"{frame.shape[1]} columns")
        print(f"[{k}/{len(cases)}] {case_id}: {status} ({time.perf_counter() - started:.1f} s)", flush=True)


def perturbations(model: simulator.Model) -> list[tuple[str, dict]]:
    """(run id, parameters) of the seeded perturbations of every constant of ``model``."""
    sets = dt.perturbed_constants(model, draws=PERTURB_DRAWS, seed=PERTURB_SEED, spread=PERTURB_SPREAD)
    return [(f"perturb-{k}", {**p, **dt.REFERENCE_RUN}) for k, p in enumerate(sets)]


def make_flagship() -> None:
    model = simulator.load(dt.FLAGSHIP)
    runs = [(f"scenario-{sid}", p) for sid, p in dt.flagship_scenarios(model)] + perturbations(model)
    sha = dt.file_sha256(dt.FLAGSHIP)
    started = time.perf_counter()
    frames = conformance.run_pysd_many(dt.FLAGSHIP, [p for _, p in runs])
    for k, (run_id, params) in enumerate(runs, 1):
        with dt.pysd_compat():
            frame = next(frames)
        meta = {"model": dt.FLAGSHIP.name, "model_sha256": sha, "run": run_id,
                "params": dt.encode_params(params), "params_sha256": dt.params_sha256(params),
                "pysd_version": pysd_version()}
        dt.save_reference(dt.flagship_reference(run_id), dt.numeric_frame(frame), meta)
        print(f"[{k}/{len(runs)}] {run_id}: {frame.shape[1]} columns "
              f"({time.perf_counter() - started:.0f} s so far)", flush=True)


def reference_origin(folder: Path, ref: Path) -> str:
    """Which tool wrote the canonical output, from the folder's README (Vensim writes .tab)."""
    readme = folder / "README.md"
    rows = [line for line in readme.read_text(encoding="utf-8", errors="replace").splitlines()
            if "output" in line.lower()] if readme.is_file() else []
    said = " ".join(rows).lower()
    if "vensim" in said or (ref.suffix == ".tab" and "stella" not in said):
        return f"Vensim ({ref.name})"
    if "stella" in said or "isee" in said:
        return f"no: Stella ({ref.name})"
    return f"unknown ({ref.name})"


def _verdict(v, folder: Path) -> str:
    if v is None:
        return "-"
    if v.outcome in ("match", "differ") and v.compared:
        return f"{v.outcome} ({v.worst_error:.2g}x)"
    message = v.message.replace(f"{folder}/", "")
    return f"{v.outcome}: {message[:110]}".replace("|", "/")


def make_cases_md() -> None:
    """tests/sdxorg/CASES.md: every case, both verdicts (live runs) and the reference's origin."""
    cases = dt.sdxorg_cases()
    rows, core, engine_ok, pysd_ok = [], 0, 0, 0
    for case_id, folder, model, ref in cases:
        with dt.pysd_compat():
            r = conformance.run_case(folder, model, ref, with_pysd=True)
        scope = "core" if r.in_scope else f"out: {r.scope_reason}"
        if r.in_scope:
            core += 1
            engine_ok += r.engine.outcome == "match"
            pysd_ok += r.pysd.outcome == "match"
        rows.append(f"| `{case_id}` | {model.name} | {_verdict(r.engine, folder)} | {_verdict(r.pysd, folder)} | "
                    f"{reference_origin(folder, ref)} | {scope} |")
        print(rows[-1][:160], flush=True)
    listed = {c[1] for c in cases}
    others = sorted(p.relative_to(dt.SDXORG).as_posix() for base in ("tests", "samples")
                    for p in (dt.SDXORG / base).iterdir() if p.is_dir() and p not in listed)
    text = CASES_HEAD.format(core=core, engine_ok=engine_ok, pysd_ok=pysd_ok, total=len(cases))
    text += "\n".join(rows) + "\n"
    if others:
        text += "\nFolders without a model and a canonical output (not cases): " + \
            ", ".join(f"`{o}`" for o in others) + ".\n"
    (dt.SDXORG / "CASES.md").write_text(text, encoding="utf-8")


CASES_HEAD = """# SDXorg cases: verdicts of the engine and of pysd against the canonical output

Written by `python scripts/make_references.py --cases-md` (live runs: the engine's numpy printer
and pysd, Euler at each model's own TIME STEP, pysd inside `tests/difftools.pysd_compat()`).
Metric: a column matches when max|x - ref| <= 1e-3 * max|ref| + 1e-6 over the column (the
figure in brackets is the worst column's error divided by that allowance). Scope and reasons for
excluded cases: `cases.toml`. The engine's expected failures, with the bug or missing feature
behind each, are listed in `tests/test_conformance_sdxorg.py`.

Core cases: engine {engine_ok}/{core} match, pysd {pysd_ok}/{core} ({total} cases in all).

| case | model | engine | pysd | Vensim reference | scope |
|---|---|---|---|---|---|
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdxorg", action="store_true", help="pysd outputs of the vendored SDXorg cases")
    ap.add_argument("--flagship", action="store_true", help="pysd outputs of the flagship runs")
    ap.add_argument("--cases-md", action="store_true", help="rewrite tests/sdxorg/CASES.md")
    args = ap.parse_args(argv)
    everything = not (args.sdxorg or args.flagship or args.cases_md)
    if args.sdxorg or everything:
        make_sdxorg()
    if args.flagship or everything:
        make_flagship()
    if args.cases_md or everything:
        make_cases_md()
    return 0


if __name__ == "__main__":
    sys.exit(main())
