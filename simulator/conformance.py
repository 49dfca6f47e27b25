"""Run SDXorg-style test models and compare with Vensim's canonical output."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SimulatorError, UnsupportedFeatureError
from .names import normalize

TOLERANCE = 1e-3
MODEL_SUFFIXES = (".mdl", ".xmile", ".stmx")


@dataclass
class CaseResult:
    folder: str
    model: str
    outcome: str  # match | differ | unsupported
    compared: int = 0
    worst_column: str = ""
    worst_error: float = 0.0
    message: str = ""


def find_cases(roots: list[Path]) -> list[tuple[Path, Path, Path]]:
    """(folder, model file, reference output) for every folder holding both."""
    cases = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such directory")
        folders = [root] + sorted(p for p in root.rglob("*") if p.is_dir())
        for folder in folders:
            ref = next((folder / n for n in ("output.tab", "output.csv") if (folder / n).is_file()), None)
            if ref is None:
                continue
            model = choose_model(folder)
            if model is not None:
                cases.append((folder, model, ref))
    return cases


def choose_model(folder: Path) -> Path | None:
    for suffix in MODEL_SUFFIXES:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix)
        if not files:
            continue
        for f in files:  # the model named after the folder or the canonical test name wins
            if f.stem.lower() in (folder.name.lower(), "test_" + folder.name.lower()):
                return f
        return files[0]
    return None


def read_reference(path: Path) -> pd.DataFrame:
    sep = "\t" if path.suffix == ".tab" else ","
    df = pd.read_csv(path, sep=sep, dtype=str, encoding="utf-8", encoding_errors="replace")
    if df.shape[1] > 1 and df.columns[0].strip().lower() in ("time", "years", "months") or df.shape[1] > 1:
        # Vensim's .tab can be transposed (one row per variable); detect by a numeric header
        pass
    first = df.columns[0]
    if not _is_number(first) and df.shape[0] > 0 and _is_number(str(df.iloc[0, 0])):
        df = df.set_index(first)
    else:  # transposed: first column holds names
        df = df.set_index(first).T
    df.index = [float(x) for x in df.index]
    return df


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _norm_col(name: str) -> str:
    name = name.strip().strip('"')
    m = re.match(r"^(.*?)\[(.*)\]$", name)
    if not m:
        return normalize(name)
    return normalize(m.group(1)) + "[" + ",".join(normalize(e) for e in m.group(2).split(",")) + "]"


def run_case(folder: Path, model_path: Path, ref_path: Path, tol: float = TOLERANCE) -> CaseResult:
    from .model import load

    res = CaseResult(folder=str(folder), model=model_path.name, outcome="differ")
    try:
        model = load(model_path)
        out = model.run(method="euler").to_frame()
    except UnsupportedFeatureError as exc:
        res.outcome, res.message = "unsupported", str(exc)
        return res
    except SimulatorError as exc:
        res.message = str(exc)
        return res
    ref = read_reference(ref_path)
    ours = {_norm_col(c): c for c in out.columns}
    worst, worst_col, compared = 0.0, "", 0
    for col in ref.columns:
        key = _norm_col(str(col))
        if key not in ours or key == "time":
            continue
        b = pd.to_numeric(ref[col], errors="coerce")
        times = [t for t in b.index if np.isfinite(b[t])]
        if not times:
            continue
        a_series = out[ours[key]]
        idx = np.searchsorted(out.index.to_numpy(), times)
        ok = [(t, i) for t, i in zip(times, idx) if i < len(out) and abs(out.index[i] - t) < 1e-9]
        if not ok:
            continue
        a = np.array([a_series.iloc[i] for _, i in ok])
        bv = np.array([b[t] for t, _ in ok], dtype=float)
        with np.errstate(all="ignore"):
            err = np.abs(a - bv) / (np.abs(bv) + 1e-6)
        err = np.where(np.isnan(a) & np.isnan(bv), 0.0, err)
        e = float(np.nanmax(np.where(np.isnan(err), np.inf, err)))
        compared += 1
        if e > worst:
            worst, worst_col = e, str(col)
    res.compared, res.worst_column, res.worst_error = compared, worst_col, worst
    if compared == 0:
        res.message = "no column in common with the reference output"
    elif worst <= tol:
        res.outcome = "match"
    else:
        res.message = f"worst column {worst_col!r}: relative difference {worst:.3g}"
    return res


def run_conformance(roots: list[Path], json_path: Path | None = None, echo=print) -> list[CaseResult]:
    results = []
    for folder, model, ref in find_cases(roots):
        r = run_case(folder, model, ref)
        results.append(r)
        tail = f" ({r.message})" if r.message else ""
        echo(f"{r.outcome:11s} {folder}/{model.name}: {r.compared} columns, "
             f"max rel diff {r.worst_error:.2e}{tail}")
    p = sum(r.outcome == "match" for r in results)
    f = sum(r.outcome == "differ" for r in results)
    u = sum(r.outcome == "unsupported" for r in results)
    echo(f"conformance: {p}/{len(results)} match, {f} differ, {u} unsupported")
    if json_path:
        Path(json_path).write_text(json.dumps([asdict(r) for r in results], indent=1, ensure_ascii=False),
                                   encoding="utf-8")
    return results
