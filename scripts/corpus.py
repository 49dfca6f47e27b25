"""Run the corpus of published models (tests/corpus/manifest.toml) through the engine and pysd.

    python scripts/corpus.py                 # engine and pysd on every model, the table
    python scripts/corpus.py --stored        # engine only, against the stored references
    python scripts/corpus.py --store         # also write pysd's output as a stored reference
    python scripts/corpus.py --only pink     # models whose id contains "pink"
    python scripts/corpus.py --json out.json --markdown table.md

Each tool runs each model in a child process with a time limit (``--timeout``, seconds), so a
model that hangs or crashes a tool is one failed row, not a failed batch. Every column is
compared with the one conformance metric (simulator.conformance: max|x - ref| <= 1e-3 max|ref|
+ 1e-6), the engine against pysd's output and, where the source publishes it, Vensim's.

The model files are read from ../shared/corpus (the folder beside the project, or $INNOSIM_CORPUS),
laid out as tests/corpus/manifest.toml says. pysd's output is stored in
tests/corpus/references/<hash>.csv.gz, keyed by the first 16 hex
digits of the model file's SHA-256, so that the tests compare the engine with it without
running pysd (and a changed model file never meets a stale reference).

Three manifest fields change how a model is run or compared, each saying why:
``pysd_workarounds`` (the pysd obstacles removed while its reference is made, scripts/corpus_pysd.py),
``compare_params`` (parameters given to both tools, such as noise amplitudes set to 0 so that a
model with random noise has a deterministic answer) and ``random_columns`` (text of the column
names that stay random even then: not compared).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "corpus" / "manifest.toml"
REFERENCES = ROOT / "tests" / "corpus" / "references"
# the published files themselves live beside the project, like the conformance cases
CORPUS = Path(os.environ.get("INNOSIM_CORPUS", ROOT.parent / "shared" / "corpus"))
sys.path.insert(0, os.environ.get("INNOSIM_CORPUS_ENGINE", str(ROOT)))


def read_manifest(corpus: Path = CORPUS) -> list[dict]:
    """The [[model]] entries of the manifest, each with its absolute ``path`` under ``corpus``."""
    with open(MANIFEST, "rb") as fh:
        models = tomllib.load(fh)["model"]
    for m in models:
        m["path"] = corpus / m["file"]
    return models


def model_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def reference_path(path: Path) -> Path:
    return REFERENCES / f"{model_hash(path)}.csv.gz"


def failure_path(path: Path) -> Path:
    return REFERENCES / f"{model_hash(path)}.pysd-failure.txt"


def store_pysd(path: Path, frame, status: dict) -> None:
    """pysd's output as the model's reference, or the one line saying how pysd failed on it."""
    REFERENCES.mkdir(parents=True, exist_ok=True)
    if frame is not None:
        frame.to_csv(reference_path(path), float_format="%.12g")
        failure_path(path).unlink(missing_ok=True)
    elif status.get("kind") != "timeout":  # a timeout says nothing about pysd, only about the machine
        message = re.sub(r"/\S*/innosim-pysd-[^/]+/model/", "", status.get("message", ""))
        failure_path(path).write_text(f"{status['kind']}: {message}\n", encoding="utf-8")


def read_stored(path: Path):
    import pandas as pd

    ref = reference_path(path)
    if not ref.is_file():
        return None
    frame = pd.read_csv(ref, index_col=0)
    frame.index = frame.index.astype(float)
    return frame


def read_published(path: Path):
    """A tool's published output as a frame over time: Vensim's ``.dat`` export (a variable's name
    on a line, then one ``time<TAB>value`` line per saved time), else
    :func:`simulator.conformance.read_reference` (``.csv``, ``.tab``)."""
    import pandas as pd

    from simulator.conformance import read_reference

    if Path(path).suffix.lower() != ".dat":
        return read_reference(Path(path))
    columns: dict[str, dict[float, float]] = {}
    current = None
    for n, line in enumerate(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) == 2 and current is not None:
            try:
                columns[current][float(parts[0])] = float(parts[1])
                continue
            except ValueError:
                pass
        if not line.strip() or len(parts) != 1:
            raise ValueError(f"{path}: line {n}: expected a variable name or 'time<TAB>value', got {line[:60]!r}")
        current = line.strip()
        columns[current] = {}
    # a constant is written once, at the initial time: it holds for the whole run
    frame = pd.DataFrame(columns).sort_index()
    return frame.ffill()


# ----------------------------------------------------------------------------- one tool, one model
def run_options(m: dict) -> dict:
    """How a manifest entry is run: its parameters (both tools) and pysd's workarounds."""
    return {"params": dict(m.get("compare_params", {})), "workarounds": list(m.get("pysd_workarounds", []))}


def _engine_frame(model: Path, params: dict):
    from simulator.model import RunOptions, load

    return load(model).run(params or None, method="euler", options=RunOptions(backend="numpy")).to_frame()


def _pysd_frame(model: Path, params: dict, workarounds: list[str]):
    from corpus_pysd import applied

    from simulator.conformance import run_pysd

    with applied(workarounds):
        return run_pysd(model, params or None)


def _worker(tool: str, model: str, out: str, options: str = "{}") -> int:
    """Child process: run one tool on one model, pickle the frame, print a JSON status line."""
    import warnings

    import numpy as np
    import pandas as pd

    from simulator.errors import SimulatorError, UnsupportedFeatureError

    t0 = time.perf_counter()
    status: dict = {"ok": False}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            opts = json.loads(options)
            frame = (_engine_frame(Path(model), opts["params"]) if tool == "engine"
                     else _pysd_frame(Path(model), opts["params"], opts["workarounds"]))
        if tool == "engine":
            backend = getattr(frame, "attrs", {}).get("backend")
            status["backend"] = backend
        pd.to_pickle(frame, out)
        status["ok"] = True
    except UnsupportedFeatureError as exc:
        status["kind"], status["message"] = "unsupported", _line(exc)
    except SimulatorError as exc:
        status["kind"], status["message"] = "error", _line(exc)
    except Exception as exc:  # noqa: BLE001 - a tool that breaks on a model is one row of the table
        status["kind"], status["message"] = "crash", f"{type(exc).__name__}: {_line(exc)}"
    status["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(status))
    return 0


def _line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def run_tool(tool: str, model: Path, timeout: float, engine_root: Path = ROOT, options: dict | None = None):
    """(frame or None, status dict) of one tool on one model, in a child process whose
    ``simulator`` package is the one in ``engine_root``; ``options`` as :func:`run_options`."""
    import os

    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="innosim-corpus-") as tmp:
        out = Path(tmp) / "frame.pkl"
        opts = json.dumps(options or {"params": {}, "workarounds": []})
        cmd = [sys.executable, __file__, "--worker", tool, str(model), str(out), opts]
        env = dict(os.environ, INNOSIM_CORPUS_ENGINE=str(engine_root))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=engine_root, env=env)
        except subprocess.TimeoutExpired:
            return None, {"ok": False, "kind": "timeout", "message": f"no answer within {timeout:g} s"}
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return None, {"ok": False, "kind": "crash", "message": f"the process died: {tail[:200]}"}
        status = json.loads(lines[-1])
        return (pd.read_pickle(out) if status["ok"] else None), status


# ----------------------------------------------------------------------------- one row of the table
@dataclass
class Row:
    id: str
    source: str
    engine: str          # "runs" or the failure kind
    pysd: str            # "runs", "stored", the failure kind, or "-" when not run
    agreement: str       # with pysd and with Vensim, by the one metric
    failure: str         # what stopped a tool, with the feature and line where it says so
    agrees: bool         # the engine runs and agrees wherever pysd or Vensim has an answer
    seconds: float = 0.0


def _verdict(out, ref, who: str) -> tuple[str, bool]:
    from simulator.conformance import compare_frames

    cmp = compare_frames(out, ref)
    if cmp.matches:
        return f"= {who} ({cmp.compared} cols)", True
    if cmp.compared == 0 and not cmp.missing:
        return f"{who}: no column in common", False
    if cmp.missing:
        return f"{who}: {len(cmp.missing)} missing ({cmp.missing[0]})", False
    return f"{who}: {cmp.worst_column} off {cmp.worst_error:.3g}x", False


def _defined_columns(vref, out, pysd_out):
    """The columns of a published output that this model file defines.

    A folder's one canonical output serves several files (the .mdl, .xmile and .stmx of one
    model), and an older export may lack or rename a variable: a column that neither the engine
    nor pysd writes is not the model's, so it is not held against the engine.
    """
    from simulator.conformance import norm_column

    known = {norm_column(c) for c in out.columns}
    if pysd_out is not None:
        known |= {norm_column(c) for c in pysd_out.columns}
    keep = [c for c in vref.columns if norm_column(c) in known or norm_column(c) == "time"]
    return vref[keep]


def judge_model(m: dict, *, pysd_mode: str, timeout: float, store: bool, engine_root: Path = ROOT) -> Row:
    t0 = time.perf_counter()
    out, est = run_tool("engine", m["path"], timeout, engine_root, run_options(m))
    ref, pst = None, {"ok": False, "kind": "-", "message": ""}
    if pysd_mode == "missing" and read_stored(m["path"]) is not None:
        pysd_mode = "stored"
    if pysd_mode in ("run", "missing"):
        ref, pst = run_tool("pysd", m["path"], timeout, options=run_options(m))
        if store:
            store_pysd(m["path"], ref, pst)
    elif pysd_mode == "stored":
        ref = read_stored(m["path"])
        pst = {"ok": ref is not None, "kind": "stored" if ref is not None else "-", "message": ""}
        failed = failure_path(m["path"])
        if ref is None and failed.is_file():
            kind, _, message = failed.read_text(encoding="utf-8").strip().partition(": ")
            pst = {"ok": False, "kind": kind, "message": message}
    verdicts, agree = [], out is not None
    if out is not None and ref is not None and m.get("random_columns"):
        out, ref = drop_random(out, m["random_columns"]), drop_random(ref, m["random_columns"])
    if out is not None and m.get("random"):
        verdicts.append(f"not comparable: {m['random'].split(':')[0]}")
    elif out is not None:
        if ref is not None and m.get("pysd_fault"):
            # pysd is wrong after the initial time (docs/corpus.md): only its initial values count
            text, ok = _verdict(out.iloc[:1], ref.iloc[:1], "pysd at t0")
            verdicts.append(text + "; later rows: pysd at fault")
            agree &= ok
        elif ref is not None:
            text, ok = _verdict(out, ref, "pysd")
            verdicts.append(text)
            agree &= ok
        vref = m.get("vensim_reference")
        published = _defined_columns(read_published(CORPUS / vref), out, ref) if vref else None
        if published is not None and len(published.columns):  # else the output is not this file's
            text, ok = _verdict(out, published, "vensim")
            verdicts.append(text)
            agree &= ok
    if out is not None and not verdicts:
        verdicts.append("unchecked: no reference (pysd fails, no published output)")
        agree = False
    failure = "; ".join(f"{who}: {st['message']}" for who, st in (("engine", est), ("pysd", pst))
                        if not st["ok"] and st.get("message"))
    engine_state = "runs" if est["ok"] else est["kind"]
    if est.get("backend") and est["backend"] != "numpy":
        engine_state += f" ({est['backend']})"
    pysd_state = ("stored" if pysd_mode == "stored" else "runs") if pst["ok"] else pst["kind"]
    return Row(m["id"], m["source"], engine_state, pysd_state, "; ".join(verdicts) or "-", failure,
               agree, round(time.perf_counter() - t0, 1))


def drop_random(frame, patterns: list[str]):
    """``frame`` without the columns whose name holds one of ``patterns`` (compared lowercase)."""
    keep = [c for c in frame.columns if not any(p.lower() in str(c).lower() for p in patterns)]
    return frame[keep]


def _short(text: str) -> str:
    """A message without this machine's folders: the corpus file's own name and line stay."""
    return text.replace(str(CORPUS) + "/", "").replace("|", "/")


def markdown(rows: list[Row]) -> str:
    head = "| model | source | engine runs? | pysd runs? | agreement | failure (feature, line) |\n|---|---|---|---|---|---|\n"
    body = "".join(f"| {r.id} | {r.source} | {r.engine} | {r.pysd} | {r.agreement} | {_short(r.failure)} |\n"
                   for r in rows)
    return head + body


def summary(rows: list[Row]) -> str:
    n = len(rows)
    runs = sum(r.engine == "runs" or r.engine.startswith("runs ") for r in rows)
    pysd = sum(r.pysd in ("runs", "stored") for r in rows)
    agree = sum(r.agrees for r in rows)
    random = sum(r.agrees and r.agreement.startswith("not comparable") for r in rows)
    unchecked = sum(r.agreement.startswith("unchecked") for r in rows)
    return (f"corpus: {n} models; engine runs {runs}, pysd runs {pysd}; engine runs and agrees with "
            f"pysd/Vensim: {agree}/{n} ({100 * agree / max(n, 1):.0f} %; {random} of them random, with "
            f"nothing to compare); {unchecked} run with no reference to check them")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=4, metavar=("TOOL", "MODEL", "OUT", "OPTIONS"), help=argparse.SUPPRESS)
    ap.add_argument("--only", default="", help="run the models whose id contains this text")
    ap.add_argument("--stored", action="store_true", help="compare with stored pysd references, do not run pysd")
    ap.add_argument("--store", action="store_true", help="store pysd's output as the reference of each model")
    ap.add_argument("--missing", action="store_true", help="run pysd only where no reference is stored")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per model and tool (default 300)")
    ap.add_argument("--engine", type=Path, default=ROOT,
                    help="the repository whose engine runs (default: this one; another checkout gives a 'before')")
    ap.add_argument("--json", type=Path, help="write the rows as JSON")
    ap.add_argument("--markdown", type=Path, help="write the table as Markdown")
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(*args.worker)
    if not CORPUS.is_dir():
        ap.error(f"{CORPUS}: no corpus folder (set INNOSIM_CORPUS to the folder of the published models)")
    models = [m for m in read_manifest() if args.only in m["id"]]
    rows = []
    for m in models:
        row = judge_model(m, pysd_mode="stored" if args.stored else "missing" if args.missing else "run", timeout=args.timeout,
                          store=args.store, engine_root=args.engine.resolve())
        rows.append(row)
        print(f"{row.id:62s} engine {row.engine:12s} pysd {row.pysd:8s} {row.agreement}"
              + (f"  [{row.failure}]" if row.failure else ""), flush=True)
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(rows) + "\n" + summary(rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
