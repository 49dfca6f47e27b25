"""Conformance: run test models (SDXorg ``test-models`` layout) and compare with canonical output.

One metric for every engine (``../shared/conformance/README.md``): a column matches when
``max|x - ref| <= 1e-3 * max|ref| + 1e-6`` over the column, skipping non-numeric or NaN cells of
the reference (Vensim writes :NA: as an empty cell and rounds to ~6 significant digits). The
engine and, when it is installed, pysd are judged by the same function, so that their verdicts
can be printed side by side.

A folder listed as out of scope by a manifest beside the cases (``cases.toml`` with
``[cases."tests/x"] scope = "out"`` and a ``reason``, or the shared ``index.json`` with an
``out_of_scope`` list) is still run and reported, but does not count in the summary or the
exit status.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import tomllib
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SimulatorError, UnsupportedFeatureError
from .names import normalize

RTOL = 1e-3
ATOL = 1e-6
MODEL_SUFFIXES = (".mdl", ".xmile", ".stmx")
REFERENCE_NAMES = ("output.tab", "output.csv")


# ---------------------------------------------------------------------------- the metric
@dataclass
class Comparison:
    """How one output frame compares with a reference, column by column.

    ``worst_error`` is the largest ratio of a column's max|x - ref| to its allowance
    ``rtol * max|ref| + atol``: the frames match when it is at most 1.
    """

    compared: int = 0
    worst_column: str = ""
    worst_error: float = 0.0
    missing: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.compared > 0 and self.worst_error <= 1.0 and not self.missing


def column_error(x: np.ndarray, ref: np.ndarray, *, rtol: float = RTOL, atol: float = ATOL) -> float:
    """max|x - ref| / (rtol * max|ref| + atol) over the cells where ``ref`` is a finite number.

    A non-finite ``x`` where the reference holds a number is an infinite error.
    """
    x = np.asarray(x, dtype=float)
    ref = np.asarray(ref, dtype=float)
    keep = np.isfinite(ref)
    if not keep.any():
        return 0.0
    x, ref = x[keep], ref[keep]
    if not np.isfinite(x).all():
        return float("inf")
    allowance = rtol * float(np.max(np.abs(ref))) + atol
    return float(np.max(np.abs(x - ref))) / allowance


def norm_column(name: str) -> str:
    """Vensim identity of an output column: ``name`` or ``name[elem,...]``."""
    name = str(name).strip().strip('"')
    m = re.match(r"^(.*?)\[(.*)\]$", name)
    if not m:
        return normalize(name)
    return normalize(m.group(1)) + "[" + ",".join(normalize(e) for e in m.group(2).split(",")) + "]"


def compare_frames(out: pd.DataFrame, ref: pd.DataFrame, *, rtol: float = RTOL,
                   atol: float = ATOL) -> Comparison:
    """Every numeric column of ``ref`` against the same-named column of ``out`` at ref's times.

    A reference column that ``out`` lacks is listed in ``missing``; so is one whose saved times
    ``out`` does not have, and so are output times after the reference's last one.
    """
    res = Comparison()
    ours = {norm_column(c): c for c in out.columns}
    out_times = out.index.to_numpy(dtype=float)
    ref_times = ref.index.to_numpy(dtype=float)
    if len(out_times) and len(ref_times) and out_times[-1] > ref_times[-1] * (1 + 1e-5) + 1e-5:
        # a run that goes on after the reference stopped (e.g. a FINAL TIME that changes) is wrong
        res.missing.append(f"(output goes on to time {out_times[-1]:g}, the reference stops at {ref_times[-1]:g})")
    for col in ref.columns:
        key = norm_column(col)
        if key == "time":
            continue
        b = pd.to_numeric(ref[col], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(b).any():
            continue
        if key not in ours:
            res.missing.append(str(col))
            continue
        rows = _rows_at(out_times, ref.index.to_numpy(dtype=float)[np.isfinite(b)])
        if rows is None:
            res.missing.append(f"{col} (times)")
            continue
        a = out[ours[key]].to_numpy(dtype=float)[rows]
        err = column_error(a, b[np.isfinite(b)], rtol=rtol, atol=atol)
        res.compared += 1
        if err > res.worst_error or not res.worst_column:
            res.worst_column, res.worst_error = str(col), err
    return res


def _rows_at(times: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
    """Row numbers of ``wanted`` times in ``times``, or None when one is absent.

    Canonical files round times to ~6 significant digits (12.03125 is written 12.0312), so a
    time matches the nearest row within 1e-5 relative, and within half the row spacing.
    """
    if len(times) == 0:
        return None
    idx = np.clip(np.searchsorted(times, wanted), 1, max(len(times) - 1, 1))
    idx = np.where(np.abs(times[idx - 1] - wanted) <= np.abs(times[np.minimum(idx, len(times) - 1)] - wanted),
                   idx - 1, np.minimum(idx, len(times) - 1))
    gap = np.min(np.diff(times)) / 2 if len(times) > 1 else np.inf
    slack = np.minimum(1e-5 * np.maximum(1.0, np.abs(wanted)), gap)
    if np.any(np.abs(times[idx] - wanted) > slack):
        return None
    return idx


# ---------------------------------------------------------------------------- reading cases
def find_cases(roots: list[Path]) -> list[tuple[Path, Path, Path]]:
    """(folder, model file, reference output) for every folder holding both."""
    cases = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such directory")
        folders = [root] + sorted(p for p in root.rglob("*") if p.is_dir())
        for folder in folders:
            ref = next((folder / n for n in REFERENCE_NAMES if (folder / n).is_file()), None)
            model = choose_model(folder) if ref is not None else None
            if model is not None and ref is not None:
                cases.append((folder, model, ref))
    return cases


def choose_model(folder: Path) -> Path | None:
    """The Vensim model of a folder when there is one (the canonical outputs are Vensim's)."""
    for suffix in MODEL_SUFFIXES:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix and p.is_file())
        if not files:
            continue
        for f in files:  # the model named after the folder or the canonical test name wins
            if f.stem.lower() in (folder.name.lower(), "test_" + folder.name.lower()):
                return f
        return files[0]
    return None


def read_reference(path: Path) -> pd.DataFrame:
    """A canonical output as a frame indexed by time (one column per variable, strings kept).

    Vensim writes its exports in the Windows code page and old Stella files end lines with CR
    alone, so the text is decoded as UTF-8, else cp1252, with any line ending.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = "\n".join(text.splitlines())
    sep = "\t" if path.suffix == ".tab" else ","
    df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str)
    first = df.columns[0]
    df = df.set_index(first)
    if not all(_is_number(str(x)) for x in df.index):  # transposed: one row per variable
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, header=None).set_index(0).T
        df = df.set_index(first)
    df.index = [float(str(x).strip()) for x in df.index]
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_scope(folder: Path) -> tuple[bool, str]:
    """(in scope, reason) of a case folder, from the nearest manifest among its ancestors."""
    for parent in [folder, *folder.parents]:
        rel = folder.relative_to(parent).as_posix()
        manifest = parent / "cases.toml"
        if manifest.is_file():
            with open(manifest, "rb") as fh:
                case = tomllib.load(fh).get("cases", {}).get(rel)
            if case is not None:
                return case.get("scope", "core") != "out", case.get("reason", "")
        index = parent / "index.json"
        if index.is_file():
            try:
                data = json.loads(index.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(data, dict) and rel in data.get("out_of_scope", ()):
                return False, f"listed as out of scope in {index}"
    return True, ""


# ---------------------------------------------------------------------------- running engines
def case_data_files(folder: Path) -> tuple[str, ...]:
    """Data files a case's model reads at run time (``data = [...]`` of its cases.toml entry,
    relative to the case folder): Vensim's DATA variables without an equation."""
    for parent in [folder, *folder.parents]:
        manifest = parent / "cases.toml"
        if manifest.is_file():
            with open(manifest, "rb") as fh:
                case = tomllib.load(fh).get("cases", {}).get(folder.relative_to(parent).as_posix())
            if case is not None:
                return tuple(str(folder / f) for f in case.get("data", ()))
    return ()


def run_engine(model_path: Path, backend: str = "numpy") -> pd.DataFrame:
    """The engine's Euler run at the model's own TIME STEP and SAVEPER, as a frame (with the
    case's data files, :func:`case_data_files`)."""
    from .model import RunOptions, load

    opts = RunOptions(backend=backend, data=case_data_files(Path(model_path).parent))
    return load(model_path).run(method="euler", options=opts).to_frame()


def pysd_model(model_path: Path, workdir: Path):
    """pysd's translation of a copy of the model's folder in ``workdir`` (pysd writes beside it).

    The one place where this project hands a model file to pysd.
    """
    from .parsing import pysd_read_vensim, pysd_read_xmile

    copy = Path(workdir) / "model"
    shutil.copytree(model_path.parent, copy, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.png", "*.html"))
    target = copy / model_path.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model_path.suffix.lower() == ".mdl":
            return pysd_read_vensim(target)
        return pysd_read_xmile(target)


def run_pysd(model_path: Path, params: dict | None = None) -> pd.DataFrame:
    """pysd's Euler run of the model (translated in a temporary folder, removed afterwards)."""
    return next(iter(run_pysd_many(model_path, [params or {}])))


def run_pysd_many(model_path: Path, param_sets: list[dict]):
    """pysd's run for each parameter set, translating the model once (a generator of frames).

    ``params`` use the engine's keys: ``"Name"`` or ``"Name[elem,...]"``, numbers or pandas
    Series over time; they are turned into the whole-variable values pysd expects.
    """
    import pysd

    with tempfile.TemporaryDirectory(prefix="innosim-pysd-") as tmp:
        model = pysd_model(Path(model_path), Path(tmp))
        for i, params in enumerate(param_sets):
            if i:  # pysd keeps parameters between runs: start from a fresh copy
                model = pysd.load(model.py_model_file)
            params = dict(params or {})
            control = _pysd_control(params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield model.run(params=_pysd_params(model, params), **control)


# pysd takes these as arguments of run(): given as parameters, it reports the new value but keeps
# integrating with the file's (TIME STEP 0.0625 for a model of 0.125 runs at 0.125)
_PYSD_CONTROL = {"final time": "final_time", "time step": "time_step", "saveper": "saveper"}


def _pysd_control(params: dict) -> dict:
    """Move the control values out of ``params`` (in place) into pysd's ``run`` arguments."""
    out = {}
    for key in list(params):
        norm = " ".join(key.replace("_", " ").lower().split())
        if norm == "initial time":
            raise ValueError("INITIAL TIME cannot be overridden in a pysd comparison run")
        if norm in _PYSD_CONTROL:
            out[_PYSD_CONTROL[norm]] = float(params.pop(key))
    return out


def _pysd_params(model, params: dict) -> dict:
    """Engine-style overrides as pysd's: one value per variable, xarray for subscripted ones."""
    from pysd.py_backend.utils import get_key_and_value_by_insensitive_key_or_value as lookup

    out: dict = {}
    cells: dict = {}
    for key, value in params.items():
        base, _, inner = key.partition("[")
        if inner:
            cells.setdefault(base.strip(), []).append((tuple(e.strip() for e in inner.rstrip("]").split(",")), value))
        else:
            out[key] = value
    t0, tf = float(model.components.initial_time()), float(model.components.final_time())
    for base, items in cells.items():
        default = getattr(model.components, lookup(base, model.namespace)[1])()
        series = [v for _, v in items if isinstance(v, pd.Series)]
        if not series:
            arr = default.copy(deep=True)
            for cell, v in items:
                arr.loc[cell] = float(v)
            out[base] = arr
            continue
        # one DataArray per time of any element's series; np.interp keeps each series piecewise
        # linear with flat ends, as the engine and pysd read a series for a whole variable
        times = np.unique(np.concatenate([s.index.to_numpy(dtype=float) for s in series] + [[t0, tf]]))
        frames = []
        for t in times:
            arr = default.copy(deep=True).astype(float)
            for cell, v in items:
                arr.loc[cell] = (float(np.interp(t, v.index.to_numpy(dtype=float), v.to_numpy(dtype=float)))
                                 if isinstance(v, pd.Series) else float(v))
            frames.append(arr)
        out[base] = pd.Series(frames, index=times)
    return out


def pysd_available() -> bool:
    try:
        import pysd  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Verdict:
    """One engine on one case: match | differ | unsupported | error (clean) | crash (a bug)."""

    outcome: str
    compared: int = 0
    worst_column: str = ""
    worst_error: float = 0.0
    message: str = ""


def judge(run, ref: pd.DataFrame, *, rtol: float = RTOL, atol: float = ATOL) -> Verdict:
    """Run ``run()`` (which returns a frame) and compare its output with ``ref``."""
    try:
        with np.errstate(all="ignore"):
            out = run()
    except UnsupportedFeatureError as exc:
        return Verdict("unsupported", message=_one_line(exc))
    except SimulatorError as exc:
        return Verdict("error", message=_one_line(exc))
    except Exception as exc:  # noqa: BLE001 - a batch goes on past a model that breaks a tool
        return Verdict("crash", message=f"{type(exc).__name__}: {_one_line(exc)}")
    cmp = compare_frames(out, ref, rtol=rtol, atol=atol)
    v = Verdict("match" if cmp.matches else "differ", cmp.compared, cmp.worst_column, cmp.worst_error)
    if cmp.compared == 0 and not cmp.missing:
        v.message = "no column in common with the reference output"
    elif cmp.missing:
        v.message = f"{len(cmp.missing)} reference column(s) or times missing from the output: {cmp.missing[:3]}"
    elif not cmp.matches:
        v.message = f"column {cmp.worst_column!r} off by {cmp.worst_error:.3g} x the allowance"
    return v


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@dataclass
class CaseResult:
    folder: str
    model: str
    in_scope: bool
    scope_reason: str
    engine: Verdict
    pysd: Verdict | None = None

    @property
    def outcome(self) -> str:
        return self.engine.outcome


def run_case(folder: Path, model_path: Path, ref_path: Path, *, with_pysd: bool = False,
             backend: str = "numpy") -> CaseResult:
    """Both verdicts on one case (pysd's only when asked)."""
    in_scope, reason = read_scope(folder)
    ref = read_reference(ref_path)
    res = CaseResult(str(folder), model_path.name, in_scope, reason,
                     judge(lambda: run_engine(model_path, backend), ref))
    if with_pysd:
        res.pysd = judge(lambda: run_pysd(model_path), ref)
    return res


def summary_line(results: list[CaseResult]) -> str:
    """``conformance: P/T match (pysd P2/T)`` over the in-scope cases."""
    core = [r for r in results if r.in_scope]
    p = sum(r.engine.outcome == "match" for r in core)
    line = f"conformance: {p}/{len(core)} match"
    if core and all(r.pysd is not None for r in core):
        line += f" (pysd {sum(r.pysd.outcome == 'match' for r in core if r.pysd)}/{len(core)})"
    out = len(results) - len(core)
    return line + (f"; {out} out-of-scope case(s) not counted" if out else "")


def exit_code(results: list[CaseResult]) -> int:
    """0 when every in-scope case matches, else 1."""
    return 0 if all(r.engine.outcome == "match" for r in results if r.in_scope) else 1


def _case_line(r: CaseResult) -> str:
    e = r.engine
    if e.outcome in ("unsupported", "error", "crash") and not e.compared:
        what = "not supported by this engine" if e.outcome == "unsupported" else "failed"
        text = f"{e.outcome:11s} {r.folder}/{r.model}: {what}"
    else:
        text = f"{e.outcome:11s} {r.folder}/{r.model}: {e.compared} columns, worst {e.worst_error:.2g}x"
    if r.pysd is not None:
        text += f" | pysd {r.pysd.outcome}"
    if not r.in_scope:
        text += f" [out of scope: {r.scope_reason}]"
    if e.message:
        text += f" ({e.message})"
    return text


def run_conformance(roots: list[Path], json_path: Path | None = None, echo=print, *,
                    with_pysd: bool | None = None, backend: str = "numpy") -> list[CaseResult]:
    """Every case under ``roots``: one line per case, then the summary line.

    ``with_pysd=None`` judges pysd too when it is installed.
    """
    if with_pysd is None:
        with_pysd = pysd_available()
    results = []
    for folder, model, ref in find_cases(roots):
        r = run_case(folder, model, ref, with_pysd=with_pysd, backend=backend)
        results.append(r)
        echo(_case_line(r))
    echo(summary_line(results))
    if json_path:
        rows = [dict(asdict(r), outcome=r.outcome) for r in results]
        Path(json_path).write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return results
