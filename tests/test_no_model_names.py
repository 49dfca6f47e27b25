"""Generic code names no model: no bundled model's names appear in the generic packages.

For each registered model (the flagship first) the list of names is derived, not written down:
the model's ``.mdl`` (every variable, subscript
range and subscript element, through ``simulator.load``), its lever catalogue (lever and shock ids,
KPI variables and their per-region twins, scenario ids) and its file names (the model's file stem,
its first word, and the files of its data folder). The generic packages are then searched for
each name: every text file under ``simulator/``, ``policies/``, ``sensitivity/``, ``dashboard/``
and ``innosim/`` (Python, JavaScript, HTML, CSS, TOML, Markdown).

Names too generic to matter are skipped, by these rules (and only these):
- Vensim's control variables (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER) and ``Time``: the
  engine's vocabulary, shared by every model;
- names shorter than 4 characters (``GDP``): they occur inside ordinary words and identifiers;
- the scenario id ``baseline``: the scenario format's reserved name for the reference run;
- the conventional data-file names that every model's folder uses and the generic code defines
  (``levers.toml``, ``scenarios``, ``model.toml``, ``targets.csv`` ...; see ``CONVENTIONS``).
A name counts as found when it occurs case-sensitively as a whole word (not inside a longer
identifier). The registry file ``models/registry.toml`` is the one place naming the default model.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FLAGSHIP, SYMBIOSIS, model_info

ROOT = Path(__file__).resolve().parent.parent
GENERIC = ("simulator", "policies", "sensitivity", "optimise", "dashboard", "innosim")
SUFFIXES = {".py", ".js", ".html", ".css", ".toml", ".md", ".txt", ".json"}
CONTROL = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER", "Time"}
RESERVED_SCENARIOS = {"baseline"}
CONVENTIONS = {"levers.toml", "units.toml", "scenarios", "problems", "uncertainties.toml", "exercises.toml", "assumptions.toml",
               "model.toml", "calibration_setup.toml", "calibration.toml", "calibration_holdout.toml",
               "targets.csv", "calibration.png", "validation.png"}
MIN_LENGTH = 4


def derive_names(model_name: str) -> dict[str, str]:
    """{name: where it comes from} for a registered model."""
    import policies
    import simulator

    info = model_info(model_name)
    model = simulator.load(info.path)
    names: dict[str, str] = {}

    def add(name: str, origin: str) -> None:
        if name and name not in CONTROL and len(name) >= MIN_LENGTH:
            names.setdefault(name, origin)

    for name in model.variables:
        add(name, "variable")
    for rng, elements in model.subscripts.items():
        add(rng, "subscript range")
        for e in elements:
            add(e, f"element of {rng}")
    cat = info.catalogue()
    for item in cat.items.values():
        add(item.id, f"{item.kind} id")
    for kpi in cat.kpis.values():
        add(kpi.variable, "KPI")
        if kpi.per_city:
            add(kpi.per_city, "per-region KPI")
    for sid in policies.builtin_scenario_files(cat):
        if sid not in RESERVED_SCENARIOS:
            add(sid, "scenario id")
    stem = info.path.stem
    add(stem, "model file name")
    add(stem.split("_")[0], "model file name (first word)")
    for path in sorted(info.folder.rglob("*")):
        if path.name not in CONVENTIONS and path.parent.name != "scenarios":
            add(path.name, "data file name")
    return names


def registered_names() -> list[str]:
    from innosim.registry import load_registry

    return list(load_registry().names)


MODELS = registered_names()
NAMES = {name: derive_names(name) for name in MODELS}


def generic_files() -> list[Path]:
    out = []
    for package in GENERIC:
        out += [p for p in sorted((ROOT / package).rglob("*")) if p.is_file() and p.suffix in SUFFIXES]
    return out


def pattern(name: str) -> re.Pattern:
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])")


def test_the_derived_list_is_the_model_s_own():
    """The derivation finds what the models really have (so an empty list cannot pass the search)."""
    assert MODELS[0] == FLAGSHIP and SYMBIOSIS in MODELS
    flagship = NAMES[FLAGSHIP]
    assert len(flagship) > 250
    for name in ("High Tech Exports", "Fiscal Cost", "City", "Quzhou", "rd_super_deduction",
                 "zhejiang_innovation_openness", "external_demand.csv", "policy-package"):
        assert name in flagship, name
    for skipped in ("Time", "GDP", "baseline", "levers.toml"):
        assert skipped not in flagship
    assert {"Symbiosis Mode", "chain_chief", "industrial_symbiosis"} <= set(NAMES[SYMBIOSIS])


def test_pattern_matches_whole_words_only():
    assert pattern("City").search('dim = "City"')
    assert not pattern("City").search("per_city = CityView")
    assert pattern("Fiscal Cost").search("'Cumulative Fiscal Cost'")   # a longer name still names it


@pytest.mark.parametrize("package", GENERIC)
@pytest.mark.parametrize("model", MODELS)
def test_generic_packages_name_no_model_name(package, model):
    files = [p for p in generic_files() if p.relative_to(ROOT).parts[0] == package]
    assert files
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for name, origin in NAMES[model].items():
            for m in pattern(name).finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {name!r} ({origin})")
    assert not found, f"names of {model} in generic code:\n" + "\n".join(found[:60])
