"""Units check: the reader of Vensim units, the rules on small models, the bundled models, and
unit errors seeded into copies of real models (every one must be found)."""
from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import pytest

from innosim.cli import main
from innosim.commands.units import read_accepted
from innosim.registry import load_registry
from simulator.errors import ModelLoadError
from simulator.loader import read_source
from simulator.units import UnitsError, UnitSystem, check_units

ROOT = Path(__file__).resolve().parents[1]
SDX = ROOT / "tests" / "sdxorg"


# ----------------------------------------------------------------------------- the units reader
def test_reader_products_quotients_powers_and_names():
    u = UnitSystem()
    assert u.same(u.parse("亿元/(enterprises*Year)"), u.parse("亿元/Year/enterprise"))
    assert u.same(u.parse("Widget^2/Widget"), u.parse("Widgets"))
    assert u.same(u.parse("Dmnl"), u.parse("1"))
    assert u.same(u.parse("people/Year"), u.parse("Person/Year")) is False  # different names
    assert u.same(u.parse("FTE*Year/亿元") * u.parse("亿元/Year"), u.parse("FTE"))
    assert u.parse("  ") is None
    written = u.format(u.parse("亿元/(enterprises*Year)"))
    assert written.startswith("亿元/(") and sorted(written[4:-1].split("*")) == ["Year", "enterprises"]


def test_reader_time_units_share_a_dimension_but_not_a_scale():
    u = UnitSystem()
    month, year = u.parse("Month"), u.parse("Years")
    assert u.same_dimension(month, year) and not u.same(month, year)
    assert u.same(u.parse("Month") * 12, year)


@pytest.mark.parametrize("text", ["Widget/(Year", "Widget^x", "Widget*", "/"])
def test_reader_refuses_what_it_cannot_read(text):
    with pytest.raises(UnitsError, match="units"):
        UnitSystem().parse(text)


# ----------------------------------------------------------------------------- rules
HEAD = "{UTF-8}\n"
TAIL = """
INITIAL TIME = 0 ~ Year ~ |
FINAL TIME = 10 ~ Year ~ |
TIME STEP = 1 ~ Year ~ |
SAVEPER = TIME STEP ~ Year ~ |
"""


def _model(tmp_path, body: str) -> Path:
    path = tmp_path / "m.mdl"
    path.write_text(HEAD + body + TAIL, encoding="utf-8")
    return path


def _errors(tmp_path, body) -> list:
    return check_units(_model(tmp_path, body)).errors


def test_consistent_stock_flow_model_is_clean(tmp_path):
    body = """
Stock = INTEG(Inflow - Outflow, Initial Stock) ~ Widgets ~ |
Initial Stock = 10 ~ Widget ~ |
Inflow = Stock * Growth Rate * (1 - Stock / Capacity) ~ Widgets/Year ~ |
Outflow = SMOOTH(Inflow, Delay) + RAMP(1, 2, 5) + STEP(3, 4) ~ Widgets/Year ~ |
Growth Rate = 0.1 ~ 1/Year ~ |
Capacity = 100 ~ Widgets ~ |
Delay = 2 ~ Year ~ |
Index = (Stock / Capacity) ^ 0.5 + EXP(-Growth Rate * Delay) + MAX(0, Stock / Capacity) ~ Dmnl ~ |
Effect = Effect Table(Stock / Capacity) ~ Dmnl ~ |
Effect Table((0,0),(1,1)) ~ Dmnl ~ |
"""
    report = check_units(_model(tmp_path, body))
    assert report.errors == [] and report.warnings == []


@pytest.mark.parametrize("body, variable, fragment", [
    ("S = INTEG(F, 1) ~ Widgets ~ |\nF = 2 * K ~ Widgets ~ |\nK = 1 ~ Dmnl ~ |",
     "S", "the flow times the time unit has units Widgets*Year"),
    ("A = B + C ~ Widgets ~ |\nB = 1 ~ Widgets ~ |\nC = 1 ~ Gadgets ~ |", "A", "operands disagree"),
    ("A = SMOOTH(B, T) ~ Widgets ~ |\nB = 1 ~ Widgets ~ |\nT = 1 ~ Widgets ~ |", "A", "SMOOTH"),
    ("A = EXP(B) ~ Dmnl ~ |\nB = 1 ~ Widgets ~ |", "A", "argument of EXP"),
    ("A = B ^ C ~ Dmnl ~ |\nB = 1 ~ Widgets ~ |\nC = 2 ~ Dmnl ~ |", "A", "not a number"),
    ("A = IF THEN ELSE(B > 0, B, C) ~ Widgets ~ |\nB = 1 ~ Widgets ~ |\nC = 1 ~ Dmnl ~ |", "A", "disagree"),
    ("A = B ~ Widgets/Month ~ |\nB = 1 ~ Widgets/Year ~ |", "A", "different scale"),
])
def test_each_rule_finds_its_error(tmp_path, body, variable, fragment):
    errors = _errors(tmp_path, body)
    assert any(e.variable == variable and fragment in e.message for e in errors), errors


def test_missing_declarations_and_unchecked_functions_are_warnings(tmp_path):
    report = check_units(_model(tmp_path, "A = B * 2 ~ ~ |\nB = 1 ~ Widgets ~ |"))
    assert report.errors == []
    assert [(w.variable, w.message) for w in report.warnings] == [("A", "no units declared")]


# ----------------------------------------------------------------------------- bundled models
def _bundled():
    registry = load_registry()
    return [registry.get(name) for name in registry.names]


@pytest.mark.parametrize("info", _bundled(), ids=lambda i: i.name)
def test_bundled_models_have_no_unexplained_unit_error(info):
    accept = info.folder / "units.toml"
    accepted = read_accepted(accept) if accept.is_file() else {}
    report = check_units(info.path, accepted)
    assert report.errors == [], [f"{e.variable}: {e.message}" for e in report.errors]
    assert len(report.warnings) <= 5
    assert len(accepted) <= 5, "more than a handful of explained unit findings"
    found = {i.variable for i in report.issues}
    assert set(accepted) <= found, f"accepted findings that no longer occur: {set(accepted) - found}"


# ----------------------------------------------------------------------------- seeded errors
def _units_line(lines: list[str], start: int) -> int:
    """Index of the units line (``~ units``) of the equation starting at file line ``start``."""
    for k in range(start - 1, min(len(lines), start + 60)):
        if lines[k].lstrip().startswith("~"):
            return k
    raise AssertionError(f"no units line after line {start}")


def _seed(path: Path, element, new_units: str, out: Path) -> Path:
    lines = path.read_text(encoding="utf-8").split("\n")
    k = _units_line(lines, element.line)
    m = re.match(r"(\s*~\s*)([^\[~]*)(.*)", lines[k])
    lines[k] = m.group(1) + new_units + (" " + m.group(3).lstrip() if m.group(3).strip() else "")
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def _used(source) -> set[str]:
    """Variables that appear in another variable's equation (a wrong unit there must show)."""
    text = " ".join(repr(c.ast) for el in source.elements.values() for c in el.components)
    return {k for k in source.elements if f"'{k}'" in text}


SEED_MODELS = [ROOT / "models" / "zhejiang_innovation_openness.mdl",
               ROOT / "models" / "industrial_symbiosis.mdl",
               SDX / "samples" / "teacup" / "teacup.mdl"]


def _with_units(source, key: str, units: str):
    """A copy of the parsed model with one variable's declared units replaced."""
    elements = dict(source.elements)
    elements[key] = dataclasses.replace(elements[key], units=units)
    return dataclasses.replace(source, elements=elements)


@pytest.mark.parametrize("path", SEED_MODELS, ids=lambda p: p.stem)
def test_seeded_unit_errors_are_all_found(path):
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout")
    source = read_source(path)
    base = {(i.variable, i.message) for i in check_units(source).issues}
    used = _used(source)
    candidates = sorted(k for k, el in source.elements.items()
                        if el.units and not el.is_control and k in used
                        and not any(c.is_lookup or c.is_data for c in el.components))
    rng = random.Random(20261202)
    picks = rng.sample(candidates, min(12, len(candidates)))
    for n, key in enumerate(picks):
        el = source.elements[key]
        wrong = "Gizmos" if n % 2 == 0 else el.units + "*Gizmos"
        issues = check_units(_with_units(source, key, wrong)).errors
        new = [i for i in issues if (i.variable, i.message) not in base]
        assert new, f"{path.name}: units of {el.name!r} changed to {wrong!r}, no new error found"


def test_seeded_error_in_the_file_text_is_found(tmp_path):
    """End to end: a time constant of the flagship written in Month instead of Year in the file."""
    path = SEED_MODELS[0]
    source = read_source(path)
    times = sorted(k for k, el in source.elements.items() if el.units == "Year" and not el.is_control
                   and k in _used(source))
    el = source.elements[times[0]]
    seeded = _seed(path, el, "Month", tmp_path / "month.mdl")
    base = {(i.variable, i.message) for i in check_units(source).issues}
    new = [i for i in check_units(seeded).errors if (i.variable, i.message) not in base]
    assert new and all("Month" in i.message for i in new), new


# ----------------------------------------------------------------------------- the command
def test_cli_units_on_the_default_model(capsys):
    assert main(["units"]) == 0
    out = capsys.readouterr().out
    assert "0 unexplained unit error(s)" in out and "accepted" in out


def test_cli_units_exit_codes(tmp_path, capsys):
    bad = _model(tmp_path, "A = B + C ~ Widgets ~ |\nB = 1 ~ Widgets ~ |\nC = 1 ~ Gadgets ~ |")
    assert main(["units", str(bad)]) == 1
    assert "operands disagree" in capsys.readouterr().out
    accept = tmp_path / "units.toml"
    accept.write_text('[[accept]]\nvariable = "A"\nreason = "a test"\n', encoding="utf-8")
    assert main(["units", str(bad), "--accepted", str(accept)]) == 0
    accept.write_text('[[accept]]\nvariable = "Nope"\nreason = "x"\n', encoding="utf-8")
    assert main(["units", str(bad), "--accepted", str(accept)]) == 2
    assert "unknown variables: Nope" in capsys.readouterr().err


def test_accept_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "units.toml"
    bad.write_text('[[accept]]\nvariable = "A"\n', encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"units.toml: accept entry 1"):
        read_accepted(bad)
