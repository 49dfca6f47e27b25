"""Fuzzing of scenario and uncertainty files (hypothesis, fixed seed).

Every input must give either a clean ``PolicyError`` / ``UncertaintySpecError`` with a message, or
an object that passes fixed invariant checks; never another exception, never a file outside the
output folder. ``INNOSIM_FUZZ_EXAMPLES`` sets the examples per test (default 400: about 2 000
inputs over the five tests); e.g. ``INNOSIM_FUZZ_EXAMPLES=5000`` for a longer run.

Scenarios are checked against the real lever catalogue and the flagship model's regions and
horizon (parsing and parameter building only; no model is run). Uncertainties use a tiny model.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import eq, mdl_text

hypothesis = pytest.importorskip("hypothesis", reason="fuzzing needs hypothesis (the dev extra)")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import policies  # noqa: E402
import simulator  # noqa: E402
from policies import PolicyError  # noqa: E402
from policies.apply import scenario_params  # noqa: E402
from sensitivity.errors import UncertaintySpecError  # noqa: E402
from sensitivity.uncertainty import ModelCatalog, load_uncertainties  # noqa: E402
from simulator.outputs import RunFolder, csv_bytes, name_problem  # noqa: E402

EXAMPLES = int(os.environ.get("INNOSIM_FUZZ_EXAMPLES", "400"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
pytestmark = pytest.mark.slow

from conftest import flagship_catalogue  # noqa: E402

CAT = flagship_catalogue()
FLAGSHIP = simulator.load(CAT.model_path) if CAT.model_path.is_file() else None
CITIES = list(FLAGSHIP.subscripts["City"]) if FLAGSHIP else ["Hangzhou", "Quzhou"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def fresh(work: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=work))


# ------------------------------------------------------------------------------ TOML text
def _string(k: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest as is."""
    out = []
    for c in k:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def to_toml_value(v) -> str:
    """TOML for the generated values (inline tables and arrays; nan/inf as TOML writes them)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(to_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_string(k)} = {to_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(d: dict) -> str:
    return "".join(f"{_string(k)} = {to_toml_value(v)}\n" for k, v in d.items())


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
junk = st.one_of(text, st.booleans(), st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(text, st.integers(), max_size=2))
odd_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 10**400, -(10**400), 2**63, 1.7e308]),
    st.integers(-10**6, 10**6))


def number_near(low: float, high: float):
    span = (high - low) or 1.0
    return st.one_of(st.floats(low - span, high + span, allow_nan=False), st.floats(low, high, allow_nan=False),
                     odd_numbers, junk)


years = st.one_of(st.floats(1990, 2060, allow_nan=False), st.integers(2000, 2055), odd_numbers, junk)
ramps = st.one_of(st.floats(0, 30, allow_nan=False), st.sampled_from([0, -1, math.nan, math.inf]), odd_numbers, junk)
ids = st.one_of(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,20}", fullmatch=True),
                st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,20}", fullmatch=True),
                st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
                st.sampled_from(["../../ESCAPED", "/tmp/abs", "a/b", "x" * 300, "CON", "..", ".", "", "名字", "a\nb"]),
                text, junk)


@st.composite
def setting(draw, item):
    """A setting that is valid, then (often) one field corrupted or an odd key added."""
    start = draw(st.floats(2010, 2045, allow_nan=False))
    ramp = draw(st.floats(0, 10, allow_nan=False))
    table = {"value": draw(st.floats(item.low, item.high, allow_nan=False)), "start": start, "ramp": ramp}
    if draw(st.booleans()):
        table["end"] = start + ramp + draw(st.floats(0, 10, allow_nan=False))
    if item.subscript and draw(st.booleans()):
        if draw(st.booleans()):
            table["cities"] = draw(st.lists(st.sampled_from(CITIES), min_size=1, max_size=3, unique=True))
        else:
            del table["value"]
            table["allocation"] = draw(st.dictionaries(st.sampled_from(CITIES),
                                                       st.floats(item.low, item.high, allow_nan=False),
                                                       min_size=1, max_size=3))
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 0, 0, 1, 2]))):
        key = draw(st.sampled_from(["value", "start", "ramp", "end", "cities", "allocation", "bogus"]))
        table[key] = draw({"value": number_near(item.low, item.high), "start": years, "end": years, "ramp": ramps,
                           "cities": st.one_of(st.lists(st.sampled_from(CITIES + ["Atlantis"]), max_size=4), junk),
                           "allocation": st.one_of(st.dictionaries(st.sampled_from(CITIES + ["Atlantis"]),
                                                                   number_near(item.low, item.high), max_size=4),
                                                   junk)}.get(key, junk))
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(number_near(item.low, item.high), junk))   # the short form, or junk
    return table


@st.composite
def scenario_dict(draw):
    d = {}
    if draw(st.integers(0, 5)):
        d["id"] = draw(ids)
    for key, strategy in (("name", st.one_of(text, st.fixed_dictionaries({"zh": text, "en": text}), junk)),
                          ("description", st.one_of(text, st.text(max_size=6000), junk)),
                          ("extends", st.one_of(st.sampled_from(["baseline", "xiasha-model", "nope", "../x.toml"]), junk)),
                          ("budget_cap", st.one_of(st.floats(0, 1000, allow_nan=False), odd_numbers, junk)),
                          ("bogus", junk)):
        if draw(st.integers(0, 3 if key != "bogus" else 12)) == 0:
            d[key] = draw(strategy)
        elif key == "budget_cap" and draw(st.booleans()):
            d[key] = draw(st.floats(0, 500, allow_nan=False))
    for section, pool in (("levers", CAT.levers), ("shocks", CAT.shocks)):
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from([*pool, *pool, "not_a_lever"]), max_size=4, unique=True))
            d[section] = {i: (draw(setting(pool[i])) if i in pool else draw(junk)) for i in chosen}
    return d


def mutate(draw, source: str) -> str:
    """Delete, duplicate or replace a slice of ``source`` with TOML-ish tokens."""
    tokens = st.sampled_from(["[", "]", "{", "}", "=", ",", ".", '"', "'", "\n", "nan", "inf", "-", "1e999",
                              "[levers.", "[[", "]]", "\\u0000", "\\", '"""', "#", "a.b.c", "0x", "1979-05-27"])
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(source)))
        j = draw(st.integers(i, min(len(source), i + 20)))
        new = "".join(draw(st.lists(tokens, max_size=4)))
        source = source[:i] + draw(st.sampled_from([new, source[i:j] * 2, ""])) + source[j:]
    return source


BUILTIN_TEXTS = [p.read_text(encoding="utf-8") for p in policies.builtin_scenario_files(CAT).values()]


# ------------------------------------------------------------------------------ scenario invariants
def check_scenario(sc, path: Path) -> None:
    assert name_problem(sc.id) is None, sc.id
    if sc.budget_cap is not None:
        assert math.isfinite(sc.budget_cap) and sc.budget_cap >= 0
    for item_id, s in sc.settings.items():
        item = CAT.get(item_id)
        for v in [s.value, *(v for _, v in s.cells)]:
            assert math.isfinite(v) and item.low <= v <= item.high, (item_id, v)
        assert math.isfinite(s.start) and math.isfinite(s.ramp) and s.ramp >= 0
        assert s.end is None or (math.isfinite(s.end) and s.end >= s.start + s.ramp)
        assert all(c in CITIES for c, _ in s.cells)
    if FLAGSHIP is not None:
        try:
            params = scenario_params(sc, FLAGSHIP, catalogue=CAT)
        except PolicyError as exc:
            assert "outside the run" in str(exc), exc
        else:
            for name, p in params.items():
                if isinstance(p, pd.Series):
                    assert np.isfinite(p.to_numpy()).all() and np.isfinite(p.index.to_numpy()).all(), name
                    assert (np.diff(p.index.to_numpy()) > 0).all(), name
                else:
                    assert math.isfinite(p), name
    out = path.parent / "out"
    with RunFolder(out, run=f"{sc.id}_euler") as folder:   # the id names the output files
        folder.write(f"{sc.id}_euler.csv", csv_bytes(pd.DataFrame({"x": [1.0]})))
    assert sorted(p.name for p in path.parent.iterdir()) == ["out", "s.toml"]
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{sc.id}_euler.csv", f"_COMPLETE.{sc.id}_euler.json"])


def load_or_refuse(text_: str, work: Path) -> None:
    folder = fresh(work)
    path = folder / "s.toml"
    path.write_text(text_, encoding="utf-8")
    try:
        sc = policies.load_scenario(path, catalogue=CAT, cities=CITIES)
    except PolicyError as exc:
        assert str(exc).strip(), exc
        assert sorted(p.name for p in folder.iterdir()) == ["s.toml"]
        event("refused: " + " ".join(str(exc).replace(str(path), "").split()[1:4])[:50])
        return
    check_scenario(sc, path)
    event("valid scenario")


@FUZZ
@given(d=scenario_dict())
def test_fuzz_scenario_files(work, d):
    load_or_refuse(to_toml(d), work)


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_scenario_text(work, data):
    source = data.draw(st.sampled_from(BUILTIN_TEXTS))
    load_or_refuse(mutate(data.draw, source), work)


# ------------------------------------------------------------------------------ uncertainties
TINY = (eq("Stock", "INTEG(Rate * Stock * (1 - Stock / Capacity), 10)", "widgets")
        + eq("Rate", "0.05", "1/Month", "range: 0.01..0.1")
        + eq("Capacity", "1000", "widgets [100,5000]")
        + eq("Delay", "3", "Month")
        + eq("Fund", "1", "", "kind: lever")
        + "Region: North, South\n\t~\t\n\t~\t\n\t|\n\n"
        + eq("Share[Region]", "0.5, 0.5", "", "range: 0..1"))


@pytest.fixture(scope="module")
def tiny(work):
    path = work / "tiny.mdl"
    path.write_text(mdl_text(TINY), encoding="utf-8")
    return ModelCatalog(simulator.load(path))

NAMES = ["Rate", "Capacity", "Delay", "Fund", "Stock", "Share[North]", "Share[East]", "Share", "rate", "TIME STEP",
         "Nope"]
DIST_KEYS = ["distribution", "min", "max", "mode", "mean", "sd", "median", "sigma", "range", "source",
             "assumption", "bogus"]


VALID = {"Rate": (0.01, 0.1), "Capacity": (100, 5000), "Delay": (1, 10), "Share[North]": (0, 1)}


@st.composite
def distribution(draw, low, high):
    """A valid distribution table over [low, high]."""
    kind = draw(st.sampled_from(["uniform", "triangular", "normal", "lognormal", None]))
    a, b = sorted(draw(st.floats(low, high, allow_nan=False)) for _ in range(2))
    if a == b:
        a, b = low, high
    if kind is None:
        return {} if draw(st.booleans()) else {"range": [a, b]}
    if kind == "uniform":
        return {"distribution": kind, "min": a, "max": b}
    if kind == "triangular":
        return {"distribution": kind, "min": a, "mode": draw(st.floats(a, b)), "max": b}
    spread = draw(st.floats(0.01, 1.0)) * (high - low)
    if kind == "normal":
        table = {"distribution": kind, "mean": (a + b) / 2, "sd": spread}
    else:
        table = {"distribution": kind, "median": max((a + b) / 2, 1e-3), "sigma": draw(st.floats(0.01, 1.5))}
    if draw(st.booleans()):
        table.update({"min": max(a, 0.0), "max": b})
    return table


@st.composite
def uncertainty_dict(draw):
    entries = {}
    names = [draw(st.one_of(st.sampled_from(list(VALID)), st.sampled_from(list(VALID)), st.sampled_from(NAMES),
                            text)) for _ in range(draw(st.integers(0, 4)))]
    for name in dict.fromkeys(names):
        table = draw(distribution(*VALID.get(name, (0, 1))))
        for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 1, 2]))):
            key = draw(st.sampled_from(DIST_KEYS))
            if key == "distribution":
                table[key] = draw(st.one_of(st.sampled_from(["uniform", "triangular", "normal", "lognormal", "beta"]),
                                            junk))
            elif key == "range":
                table[key] = draw(st.one_of(st.lists(st.one_of(st.floats(-10, 5000), odd_numbers), max_size=3), junk))
            elif key in ("source", "assumption", "bogus"):
                table[key] = draw(st.one_of(text, st.booleans(), junk))
            else:
                table[key] = draw(st.one_of(st.floats(-10, 5000, allow_nan=False), st.floats(0.001, 2), odd_numbers,
                                            junk))
        entries[name] = table if draw(st.integers(0, 12)) else draw(junk)
    d = {"uncertainties": entries}
    if draw(st.integers(0, 4)) == 0:
        d["spec"] = draw(st.one_of(st.fixed_dictionaries({"model": st.one_of(text, junk)}), junk))
    if draw(st.integers(0, 10)) == 0:
        d["bogus"] = draw(junk)
    return d


def check_spec(spec) -> None:
    spans, med = spec.spans(), spec.medians()
    assert np.isfinite(spans).all() and np.isfinite(med).all()
    assert (spans[:, 0] <= med).all() and (med <= spans[:, 1]).all()
    x = spec.sample(16, seed=0, scheme="latin").to_numpy()
    assert np.isfinite(x).all()
    assert ((x >= spans[:, 0] - 1e-9 * np.abs(spans[:, 0])) & (x <= spans[:, 1] + 1e-9 * np.abs(spans[:, 1]))).all()
    assert len(spec.to_frame()) == len(spec)
    names = [n for n in spec.names]
    assert len(set(names)) == len(names)


@FUZZ
@given(d=uncertainty_dict())
def test_fuzz_uncertainty_files(work, tiny, d):
    path = fresh(work) / "u.toml"
    path.write_text(to_toml(d), encoding="utf-8")
    try:
        spec = load_uncertainties(path, model=tiny)
    except UncertaintySpecError as exc:
        assert str(exc).startswith(str(path)), exc
        event("refused: " + " ".join(str(exc).replace(str(path), "").split()[1:4])[:50])
        return
    check_spec(spec)
    event("valid specification")


UNCERTAINTY_TEXT = """[spec]
model = "tiny.mdl"
[uncertainties."Rate"]
source = "range"
[uncertainties."Capacity"]
distribution = "triangular"
min = 500
mode = 1000
max = 2000
[uncertainties."Delay"]
distribution = "normal"
mean = 3
sd = 1
min = 1
max = 5
"""


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_uncertainty_text(work, tiny, data):
    path = fresh(work) / "u.toml"
    path.write_text(mutate(data.draw, UNCERTAINTY_TEXT), encoding="utf-8")
    try:
        spec = load_uncertainties(path, model=tiny)
    except UncertaintySpecError as exc:
        assert str(exc).startswith(str(path)), exc
        event("refused: " + " ".join(str(exc).replace(str(path), "").split()[1:4])[:50])
        return
    check_spec(spec)
    event("valid specification")


@FUZZ
@given(raw=st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(work, tiny, raw):
    path = fresh(work) / "b.toml"
    path.write_bytes(raw)
    for load, error in ((lambda p: policies.load_scenario(p, catalogue=CAT), PolicyError),
                        (lambda p: load_uncertainties(p, model=tiny), UncertaintySpecError)):
        try:
            load(path)
        except error as exc:
            assert str(exc), exc
