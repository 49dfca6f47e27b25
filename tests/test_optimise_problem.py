"""Problem files: every mistake is one clear error naming the file, the line and the key; the CLI
answers bad input with exit code 2 and one line."""
from __future__ import annotations

from pathlib import Path

import pytest

import optimise
from innosim.cli import main

FOLDER = Path(__file__).resolve().parent / "models" / "optimise_budget"

GOOD = f"""id = "p"
model = "{FOLDER / 'optimise_budget.mdl'}"
catalogue = "{FOLDER / 'levers.toml'}"

[[lever]]
id = "lever_a"

[[lever]]
id = "lever_b"

[[objective]]
kpi = "Output Rate"
year = 2030

[[constraint]]
fiscal = "yearly"
max = 60

[fixed]
"Budget Ceiling Switch" = 0

[search]
population = 8
generations = 3
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "problem.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_good_file_loads(tmp_path):
    p = optimise.load_problem(write(tmp_path, GOOD))
    assert [d.id for d in p.decisions] == ["lever_a", "lever_b"]
    assert p.objectives[0].direction == "maximise" and p.method == "de"
    assert p.fixed == {"Budget Ceiling Switch": 0.0}


@pytest.mark.parametrize("old, new, expected", [
    ('id = "lever_b"', 'id = "lever_bb"', r"problem.toml:9: \[\[lever\]\] #2.id: 'lever_bb' is not a lever .*Did you mean 'lever_b'"),
    ('id = "lever_b"', 'id = "lever_b"\nrange = [0, 500]', r"problem.toml:10: \[\[lever\]\] #2.range = \[0, 500\] leaves the catalogue's range"),
    ('id = "lever_b"', 'id = "lever_b"\nstrat = 2024', r"problem.toml:10: \[\[lever\]\] #2.strat: unknown key 'strat'. Did you mean 'start'"),
    ('id = "lever_b"', 'id = "lever_a"', r"lever 'lever_a' is a decision twice"),
    ('kpi = "Output Rate"', 'kpi = "Output Rat"', r"problem.toml:12: \[\[objective\]\] #1.kpi: 'Output Rat' is not a variable .*Did you mean 'Output Rate'"),
    ("year = 2030", "year = 2050", r"problem.toml:13: \[\[objective\]\] #1.year = 2050 is outside the run 2020-2030"),
    ("year = 2030", "", r"\[\[objective\]\] #1: a KPI needs 'year' or 'window'"),
    ("max = 60", "max = 60\nmin = 1", r"\[\[constraint\]\] #1: give exactly one of 'max'"),
    ('fiscal = "yearly"', 'fiscal = "annual"', r"problem.toml:16: \[\[constraint\]\] #1.fiscal must be 'yearly' or 'cumulative'"),
    ('"Budget Ceiling Switch" = 0', '"Output Rate" = 0', r"problem.toml:20: \[fixed\].Output Rate: 'Output Rate' is a auxiliary|is an? \w+, not a constant"),
    ("population = 8", "population = 2", r"problem.toml:23: \[search\].population must be a whole number from 4"),
    ("generations = 3", f"generations = 3\n[uncertainty]\nfile = '{FOLDER / 'uncertainties.toml'}'\nmeasure = 'worst'",
     r"\[uncertainty\].measure must be one of mean, p10, max_regret, satisficing"),
    ('id = "p"', 'id = "p"\nbudget = 5', r"problem.toml:2: budget: unknown key 'budget'"),
])
def test_each_mistake_names_file_line_and_key(tmp_path, old, new, expected):
    assert old in GOOD
    with pytest.raises(optimise.ProblemError, match=expected):
        optimise.load_problem(write(tmp_path, GOOD.replace(old, new, 1)))


def test_a_satisficing_measure_needs_its_threshold(tmp_path):
    text = GOOD + f"\n[uncertainty]\nfile = '{FOLDER / 'uncertainties.toml'}'\nmeasure = 'satisficing'\n"
    with pytest.raises(optimise.ProblemError, match="satisficing' needs 'threshold'"):
        optimise.load_problem(write(tmp_path, text))


def test_the_cli_answers_a_bad_file_with_exit_code_2(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace('id = "lever_b"', 'id = "nope"'))
    assert main(["optimise", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "problem.toml:9" in err[0] and "'nope' is not a lever" in err[0]
    assert main(["optimise", str(tmp_path / "missing.toml")]) == 2


def test_the_cli_writes_packages_and_report(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    out = tmp_path / "out"
    assert main(["optimise", str(path), "--out", str(out), "--no-progress", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "p-nominal" in text and "check through innosim compare" in text
    assert (out / "packages" / "p-nominal.toml").is_file()
    for name in ("index.html", "packages.csv", "levers.csv", "convergence.png", "compare_check.csv"):
        assert (out / name).is_file(), name


def test_every_bundled_problem_file_loads_against_its_model():
    from conftest import model_info

    import simulator
    from innosim.registry import load_registry

    found = 0
    for name in load_registry().names:
        info = model_info(name)
        files = sorted((info.folder / "problems").glob("*.toml"))
        if not files:
            continue
        model = simulator.load(info.path)
        for path in files:
            p = optimise.load_problem(path, model=model)
            assert p.decisions and p.objectives, path
            found += 1
    assert found >= 2
