"""Fuzzing model files (issue 11, item 7): whatever the text, loading and running it ends in

- a clean ``simulator.SimulatorError`` (a subclass) whose message names the file, or
- a result that passes fixed invariants: finite positive TIME STEP and SAVEPER; save times are
  INITIAL TIME + k SAVEPER up to FINAL TIME, each on the Euler grid INITIAL TIME + j TIME STEP
  (a row holds the time it is labelled with); every variable but the constants is finite; a stock written ``INTEG(flow, init)`` moves
  by TIME STEP x flow per step (Euler, SAVEPER = TIME STEP);

and never in another exception (a traceback), a run past LIMIT_SECONDS, code executed from the
model (the hostile inputs try to create a canary file) or a file written anywhere but the
temporary folder the model sits in (each example runs with a fresh temporary working folder).

Classes of input, each its own test (``EXAMPLES`` per class, 300 by default, fixed seed): random
bytes and text; valid models, as they are and with random edits; edited XMILE; bad subscripts;
odd numbers; arithmetic hazards; hostile text. Each class runs all its examples, then fails once
with a count of every kind of broken promise and the first input of each. Classes that find
engine bugs today are strict xfails whose reason names them (issue 11 is fixing them); the
terminal summary prints the counts either way. Memory bombs (huge ranges, DELAY N of order 1e9) are left out on purpose: they
would take the shared CI machine down rather than fail a test.

    INNOSIM_FUZZ_MODEL_EXAMPLES=2000 python3 -m pytest tests/test_conformance_fuzz_models.py
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import eq, mdl_text

import simulator

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

_HOME = tempfile.mkdtemp(prefix="innosim-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, True)

EXAMPLES = int(os.environ.get("INNOSIM_FUZZ_MODEL_EXAMPLES", "300"))  # per class
LIMIT_SECONDS = float(os.environ.get("INNOSIM_FUZZ_LIMIT", "10"))  # a run this long counts as a hang
CANARY = "CANARY"
COUNTS: Counter = Counter()
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
XMILE = Path(__file__).resolve().parent / "sdxorg" / "samples" / "teacup" / "teacup.xmile"


class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        if COUNTS:
            tr = terminalreporter
            tr.section("model-file fuzzing")
            for cls in sorted({k[0] for k in COUNTS}):
                n = {k[1]: v for k, v in COUNTS.items() if k[0] == cls}
                tr.write_line(f"  {cls:18s} {sum(n.values()):6d} inputs: {n.get('error', 0)} clean errors, "
                              f"{n.get('result', 0)} results passing the invariants")
                for kind, count in sorted(n.items()):
                    if kind.startswith("FAILED"):
                        tr.write_line(f"      {count:6d} x {kind}")


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    request.config.pluginmanager.register(_Summary(), "innosim-fuzz-summary")


class Hang(BaseException):
    """Raised by the time limit; a BaseException so that no ``except Exception`` in the engine
    can turn it into an ordinary error."""


@contextmanager
def time_limit(seconds: float):
    def alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------- the oracle
def check(cls: str, content: bytes | str, suffix: str, failures: dict, limit: float = LIMIT_SECONDS) -> None:
    """Load and run ``content`` as a model file; a broken promise is recorded in ``failures``
    (kind -> [count, first input]) so that one class reports every kind of failure it finds."""
    try:
        _check(cls, content, suffix, limit)
    except (AssertionError, pytest.fail.Exception) as exc:
        kind = next((line for line in str(exc).splitlines() if line.strip()), "")[:100]
        kind = re.sub(r"'[^']*'|\d+(\.\d+)?(e[-+]?\d+)?", "_", kind)
        COUNTS[cls, f"FAILED {kind}"] += 1
        entry = failures.setdefault(kind, [0, content])
        entry[0] += 1


def _check(cls: str, content: bytes | str, suffix: str, limit: float) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="innosim-fuzz-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        path = folder / f"fuzzed{suffix}"
        path.write_bytes(data)
        os.chdir(tmp)
        try:
            with time_limit(limit):
                outcome = _load_and_run(path)
        except Hang as exc:
            pytest.fail(f"{cls}: {exc} on\n{data[:2000]!r}")
        finally:
            os.chdir(cwd)
        written = sorted(p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*")
                         if p != folder and p != path)
        assert not written, f"{cls}: files written while loading/running: {written}\n{data[:2000]!r}"
    if isinstance(outcome, Exception):
        msg = str(outcome).strip()
        assert msg and path.name in msg, f"{cls}: {type(outcome).__name__} without the file name: {msg!r}"
        COUNTS[cls, "error"] += 1
        return
    model, result = outcome
    invariants(model, result, data.decode("utf-8", errors="replace"), cls)
    COUNTS[cls, "result"] += 1


def _load_and_run(path: Path):
    try:
        model = simulator.load(path)
        result = model.run(method="euler", options=simulator.RunOptions(backend="numpy"))
    except simulator.SimulatorError as exc:
        return exc
    except Hang:
        raise
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - the very thing this test hunts
        pytest.fail(f"traceback: {type(exc).__name__}: {str(exc)[:300]} on\n{path.read_bytes()[:2000]!r}")
    return model, result


def invariants(model, result, text: str, cls: str) -> None:
    frame = result.to_frame()
    first = frame.iloc[0] if len(frame) else None
    assert first is not None, f"{cls}: a run without a single output row\n{text[:2000]}"
    t0, tf, saveper, dt = (float(first[c]) for c in ("INITIAL TIME", "FINAL TIME", "SAVEPER", "TIME STEP"))
    assert all(np.isfinite([t0, tf, saveper, dt])) and saveper > 0 and dt > 0, \
        f"{cls}: a result with INITIAL TIME {t0}, FINAL TIME {tf}, SAVEPER {saveper}, TIME STEP {dt}"
    n = int(np.floor((tf - t0) / saveper + 1e-9)) + 1
    expected = t0 + saveper * np.arange(n)
    # Euler holds states at step times only: when SAVEPER is not a multiple of TIME STEP, the rows
    # are the steps nearest each multiple of SAVEPER (up to the last step), each once
    steps = np.rint((expected - t0) / dt)
    if not np.allclose(t0 + steps * dt, expected, rtol=0, atol=1e-6 * dt + 1e-12 * abs(t0)):
        expected = t0 + dt * np.unique(np.minimum(steps, np.floor((tf - t0) / dt + 1e-9)))
    assert len(result.times) == len(expected) and \
        np.allclose(result.times, expected, rtol=1e-12, atol=1e-12 * abs(t0)), \
        f"{cls}: save times {result.times[:5]}... ({len(result.times)}) are not {expected[:5]}... " \
        f"({len(expected)}: {t0} + k x {saveper} up to {tf}, on the steps of {dt})"
    steps = (result.times - t0) / dt
    assert np.allclose(steps, np.round(steps), rtol=0, atol=1e-6), \
        f"{cls}: rows labelled with times between Euler steps (SAVEPER {saveper}, TIME STEP {dt}): " \
        f"the row at {result.times[np.argmax(np.abs(steps - np.round(steps)))]:g} holds another time's state"
    constants = set(model.constants)
    for col in frame.columns:
        if col.split("[")[0] not in constants:
            assert np.isfinite(frame[col].to_numpy(dtype=float)).all(), f"{cls}: {col} is not finite\n{text[:2000]}"
    if abs(saveper - dt) > 1e-12 * max(1.0, abs(dt)):
        return
    for stock, flow in re.findall(r"^\s*([A-Za-z][\w ]*?)\s*=\s*INTEG\s*\(\s*([A-Za-z][\w ]*?)\s*,", text, re.M):
        if stock in frame.columns and flow in frame.columns:
            s, f = frame[stock].to_numpy(dtype=float), frame[flow].to_numpy(dtype=float)
            np.testing.assert_allclose(np.diff(s), dt * f[:-1], rtol=1e-9,
                                       atol=1e-9 * max(1.0, np.abs(s).max()), err_msg=f"{cls}: {stock} vs {flow}")


# ---------------------------------------------------------------------------- strategies
NUMBERS = st.one_of(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
                    st.sampled_from([0.0, 1e-9, 0.5, 2.0, 1e6]))


@st.composite
def stock_flow_models(draw) -> str:
    """Valid models of stocks with named flows (the stock-flow invariant applies to them)."""
    n = draw(st.integers(1, 3))
    body = ""
    for i in range(n):
        other = f"s{draw(st.integers(0, n - 1))}"
        rate = draw(st.sampled_from(["0.1", "0.5", "1.5"]))
        expr = draw(st.sampled_from([f"({rate} - s{i}) * 0.3", f"-s{i} * 0.2 + {other} * 0.1",
                                     f"MIN(1, {other}) - s{i} * {rate}", f"tbl{i}(Time) - s{i}"]))
        body += eq(f"s{i}", f"INTEG(f{i}, {draw(NUMBERS):.6g})") + eq(f"f{i}", expr)
        body += f"tbl{i}(\n\t[(0,-5)-(10,5)],(0,0),(5,{draw(NUMBERS):.4g}),(10,1))\n\t~\t\n\t~\t\t|\n\n"
    dt = draw(st.sampled_from([0.25, 0.5, 1]))
    return mdl_text(body, final_time=draw(st.sampled_from([2, 5, 10])), time_step=dt, saveper=dt)


TOKENS = ["(", ")", ",", "[", "]", "=", "~", "|", ":", "!", '"', "\\", "INTEG(", "1e308", "-",
          "*", "/", "^", ":NA:", "A", "Time", "\n", "\t", "{UTF-8}", ":MACRO:", "->", "0", "'", "%"]


@st.composite
def edited(draw, base) -> str:
    """``base`` with a few random deletions, insertions, duplications or a truncation."""
    text = draw(base)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = min(len(text), i + draw(st.integers(0, 30)))
        op = draw(st.sampled_from(["delete", "insert", "insert", "duplicate", "truncate"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS) | st.text(max_size=5)) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i]
    return text


@st.composite
def bad_subscripts(draw) -> str:
    n = draw(st.integers(1, 4))
    elems = [draw(st.sampled_from(["a1", "a2", "a3", "a1", "b1", "x"])) for _ in range(n)]
    values = ", ".join(f"{draw(NUMBERS):.4g}" for _ in range(draw(st.integers(1, 5))))
    ref_sub = draw(st.sampled_from(["A", "B", "a1", "a9", "A!", "B!", "A,B", "A,A", "SubA", "", "A,a1"]))
    lhs_sub = draw(st.sampled_from(["A", "B", "A,B", "SubA", "a1", "A,A"]))
    body = f"A:\n\t{', '.join(elems)}\n\t~\t\n\t~\t\t|\n\n"
    if draw(st.booleans()):
        body += f"SubA:\n\t{draw(st.sampled_from(['a1', 'a9', 'a1, a2', 'B']))}\n\t~\t\n\t~\t\t|\n\n"
    body += eq(f"c[{lhs_sub}]", values)
    body += eq("y[A]", draw(st.sampled_from([f"c[{ref_sub}]", f"SUM(c[{ref_sub}])", f"c[{ref_sub}] + Time"])))
    body += eq("s[A]", "INTEG(y[A], 1)")
    return mdl_text(body)


ODD = st.sampled_from(["0", "-0", "1e308", "-1e308", "1e-320", "1e309", "-1e309", "1e-12", "-5",
                       "2.5e5", "1e15", "3"])


@st.composite
def odd_numbers(draw) -> str:
    """Odd constants, initial values and control values (never more than 1e5 steps: runs that
    are merely long are test_long_runs_are_bounded's business)."""
    body = eq("c", draw(ODD)) + eq("s", f"INTEG(f, {draw(ODD)})") + eq("f", draw(st.sampled_from(
        ["c * s", "c - s", "c / 1e-300", "EXP(c)", "INTEGER(c)", "c ^ 2", "DELAY1(c, 1)",
         "SMOOTH(c, c)", "STEP(c, c)", "PULSE(c, c)", "RAMP(c, 0, c)"])))
    control = {"final_time": draw(st.sampled_from(["10", "-1", "0", "3.5", "1e-320"])),
               "initial_time": draw(st.sampled_from(["0", "-5", "5", "1e15", "-0"])),
               "time_step": draw(st.sampled_from(["1", "0.5", "-1", "1e-3", "0", "1e-320", "20", "1e309"])),
               "saveper": draw(st.sampled_from(["1", "TIME STEP", "-1", "0", "1e6", "0.3", "1e-320"]))}
    return mdl_text(body, **control)


HAZARDS = ["1/0", "0/0", "c/0", "LN(0)", "LN(-1)", "SQRT(-1)", "MODULO(Time, 0)", "0^(-1)",
           "(-8)^(1/3)", "EXP(1000)", "INTEGER(1e300)", "XIDZ(1, 0, 1/0)", "ZIDZ(0, 0)", "tbl(1e308)",
           "tbl(-1/0)", "ARCSIN(2)", "ARCCOS(-2)", "TAN(1e300)", "LOG(-1, 10)", "MIN(1/0, 1)",
           "IF THEN ELSE(0/0 > 1, 1, 2)", "SUM(v[A!]) / 0", "POWER(0, -1)", "c ^ 1e6"]


@st.composite
def hazards(draw) -> str:
    expr = draw(st.sampled_from(HAZARDS))
    if draw(st.booleans()):
        expr = f"{expr} + {draw(st.sampled_from(HAZARDS))}"
    body = "A:\n\ta1, a2\n\t~\t\n\t~\t\t|\n\n" + eq("v[A]", "1, 2") + eq("c", draw(ODD))
    body += "tbl(\n\t(0,0),(1,1))\n\t~\t\n\t~\t\t|\n\n"
    body += eq("x", expr) + eq("s", f"INTEG({draw(st.sampled_from(['x', '0', 's * 0']))}, 1)")
    return mdl_text(body)


PAYLOADS = [f'__import__("pathlib").Path("{CANARY}").write_text("x")',
            f'__import__("os").system("touch {CANARY}")',
            f'open("{CANARY}", "w").write("x")',
            f'exec("open(\'{CANARY}\', \'w\')")']


@st.composite
def hostile(draw) -> str:
    payload = draw(st.sampled_from(PAYLOADS))
    where = draw(st.sampled_from(["range", "range", "with lookup", "point", "name", "units", "doc",
                                  "nesting", "long name", "long sum"]))
    tbl = "(0,0),(10,1)"
    body = ""
    if where == "range":
        body = f"tbl(\n\t[({payload}*0,0)-(10,10)],{tbl})\n\t~\t\n\t~\t\t|\n\n" + eq("x", "tbl(Time)")
    elif where == "with lookup":
        body = eq("x", f"WITH LOOKUP(Time, ([(0,0)-({payload},10)],{tbl}))")
    elif where == "point":
        body = f"tbl(\n\t(0,{payload}),(10,1))\n\t~\t\n\t~\t\t|\n\n" + eq("x", "tbl(Time)")
    elif where == "name":
        body = eq(f'"x{payload}"', "1") + eq("y", f'"x{payload}" * 2')
    elif where == "units":
        body = eq("x", "1", units=f"{payload} [0,{payload}]")
    elif where == "doc":
        body = eq("x", "1", doc=payload)
    elif where == "nesting":
        depth = draw(st.integers(50, 250))
        body = eq("x", "(" * depth + "1" + ")" * depth)
    elif where == "long name":
        body = eq("x" * draw(st.integers(100, 2000)), "1")
    else:
        body = eq("x", " + ".join(["Time"] * draw(st.integers(100, 300))))
    return mdl_text(body + eq("s", "INTEG(1, 0)"))


# ---------------------------------------------------------------------------- the tests
def known_bugs(reason: str):
    """A strict xfail naming the engine bugs the class finds today."""
    return pytest.mark.xfail(strict=True, reason=reason)


def fuzz(cls: str, strategy, suffix: str = ".mdl") -> None:
    """Every example of ``strategy`` through ``check``; then fail once, listing what broke."""
    failures: dict = {}

    @FUZZ
    @given(content=strategy)
    def run(content):
        check(cls, content, suffix, failures)

    run()
    report = [f"{n} x {kind}\n    first: {str(first)[:400]!r}" for kind, (n, first) in
              sorted(failures.items(), key=lambda kv: -kv[1][0])]
    assert not failures, f"{cls}: {sum(n for n, _ in failures.values())} of {EXAMPLES} inputs broke a promise:\n" + \
        "\n".join(report)


def test_fuzz_random_bytes_and_text():
    fuzz("random bytes", st.binary(max_size=3000) | st.text(max_size=2000)
         | st.text(max_size=500).map(lambda t: "{UTF-8}\n" + t))


def test_fuzz_edited_valid_models():
    fuzz("edited models", edited(stock_flow_models()))


def test_fuzz_edited_xmile():
    if not XMILE.is_file():
        pytest.skip(f"{XMILE} is absent")
    fuzz("edited xmile", edited(st.just(XMILE.read_text(encoding="utf-8"))), suffix=".xmile")


def test_fuzz_valid_models_pass_the_invariants():
    fuzz("valid models", stock_flow_models())


def test_fuzz_bad_subscripts():
    fuzz("bad subscripts", bad_subscripts())


def test_fuzz_odd_numbers():
    fuzz("odd numbers", odd_numbers())


def test_fuzz_arithmetic_hazards():
    fuzz("arithmetic", hazards())


@pytest.mark.slow
def test_fuzz_hostile_text():
    fuzz("hostile", hostile())


LONG_RUNS = [{"final_time": "1e15"}, {"time_step": "1e-9"}, {"final_time": "1e308", "time_step": "1e-3"}]


@pytest.mark.parametrize("control", LONG_RUNS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_long_runs_are_bounded(control):
    failures: dict = {}
    check("long runs", mdl_text(eq("s", "INTEG(1, 0)"), **control), ".mdl", failures, limit=3)
    assert not failures, failures
