"""Loop discovery and Loops that Matter against known answers (logistic growth, Bass diffusion)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from simulator import loops
from tests.conftest import MODELS

LOOPS = MODELS / "loops"


def _switch_time(scores) -> float:
    """First save time at which balancing loops outweigh reinforcing ones (member 0)."""
    balance = scores.polarity_balance(member=0)[:, 0]
    after = np.nonzero(balance < 0)[0]
    assert after.size and balance[0] > 0, "expected reinforcing dominance first, balancing after"
    return float(scores.times[after[0]])


def test_logistic_reinforcing_dominates_until_half_capacity():
    model = simulator.load(LOOPS / "logistic_ltm.mdl")
    found = loops.find_loops(model)
    assert sorted((lp.polarity, lp.variables) for lp in found.loops) == [
        ("+", ("Population", "Net Growth")), ("-", ("Population", "Room", "Net Growth"))]
    scores = loops.score_loops(model, found)
    r, k, n0 = 0.5, 1000.0, 10.0
    analytic = math.log((k - n0) / n0) / r  # N(t) = K/2
    saveper = scores.times[1] - scores.times[0]
    assert abs(_switch_time(scores) - analytic) <= saveper
    # the same switch read from the run: where the population crosses K/2
    pop = model.run(method="euler")["Population"][:, 0]
    crossing = float(scores.times[np.nonzero(pop >= k / 2)[0][0]])
    assert abs(_switch_time(scores) - crossing) <= saveper


def test_bass_word_of_mouth_dominates_until_adopters_reach_m_q_minus_p_over_2q():
    model = simulator.load(LOOPS / "bass.mdl")
    found = loops.find_loops(model)
    assert {lp.polarity for lp in found.loops} == {"+", "-"}
    scores = loops.score_loops(model, found)
    p, q, m = 0.01, 0.5, 10000.0
    analytic = math.log(q / p) / (p + q)  # adopters reach m(q - p)/(2q): the peak of adoption
    saveper = scores.times[1] - scores.times[0]
    assert abs(_switch_time(scores) - analytic) <= saveper
    adopters = model.run(method="euler")["Adopters"][:, 0]
    crossing = float(scores.times[np.nonzero(adopters >= m * (q - p) / (2 * q))[0][0]])
    assert abs(_switch_time(scores) - crossing) <= saveper


def test_ensemble_scores_equal_members_scored_one_by_one():
    model = simulator.load(LOOPS / "bass.mdl")
    found = loops.find_loops(model)
    imitation = np.array([0.3, 0.5, 0.8])
    together = loops.score_loops(model, found, {"Imitation Coefficient": imitation})
    for i, q in enumerate(imitation):
        alone = loops.score_loops(model, found, {"Imitation Coefficient": q})
        np.testing.assert_allclose(together.score[:, :, i], alone.score[:, :, 0], rtol=1e-12, atol=1e-15)
    # a faster imitation moves the switch earlier in every member
    switch = [together.times[np.nonzero(together.polarity_balance()[:, i] < 0)[0][0]] for i in range(3)]
    assert switch[0] > switch[1] > switch[2]
    band = together.dominant()
    assert set(band.columns) >= {"loop", "share", "relative_p05", "relative_p95"}


def test_link_and_loop_polarity_of_an_outflow_and_a_delay(load_mdl):
    model = load_mdl("""
Stock = INTEG(Inflow - Outflow, 100)
~ ~ |
Inflow = Target Gap / 2
~ ~ |
Target Gap = 200 - Perceived
~ ~ |
Perceived = SMOOTH3(Stock, 3)
~ ~ |
Outflow = Stock / 10
~ ~ |
""")
    found = loops.find_loops(model)
    by_vars = {lp.variables: lp.polarity for lp in found.loops}
    assert by_vars[("Stock", "Outflow")] == "-"
    # the loop through the smooth runs through its three stages, each a stock
    through = [v for v in by_vars if "Perceived" in v]
    assert len(through) == 1 and by_vars[through[0]] == "-"
    assert sum("(stage" in name for name in through[0]) == 3


def test_dominant_loops_api_for_one_run():
    model = simulator.load(LOOPS / "logistic_ltm.mdl")
    table = loops.dominant_loops(model, {"Growth Rate": 0.8}, top=2)
    assert list(table.columns) == ["loop", "name", "polarity", "relative"]
    first, last = table.xs(1, level="rank").iloc[0], table.xs(1, level="rank").iloc[-1]
    assert first.polarity == "+" and last.polarity == "-"
    ds = loops.score_loops(model, loops.find_loops(model)).to_xarray()
    assert ds["relative_score"].dims == ("loop", "time", "member")
    assert np.all(np.abs(ds["relative_score"].values) <= 1 + 1e-12)


@pytest.mark.parametrize("cap", [0, 1])
def test_strongest_path_search_finds_the_dominant_loops_when_cycles_are_too_many(cap):
    model = simulator.load(LOOPS / "bass.mdl")
    found = loops.find_loops(model, max_loops=cap)
    assert found.search == "strongest path"
    assert {lp.variables for lp in found.loops} == {lp.variables for lp in loops.find_loops(model).loops}


def test_innosim_loops_writes_table_charts_and_cld(tmp_path, capsys):
    from innosim.cli import main

    out = tmp_path / "out"
    assert main(["loops", str(LOOPS / "bass.mdl"), "--out", str(out), "--format", "svg"]) == 0
    text = capsys.readouterr().out
    assert "2 loops (all cycles)" in text and "dominant loop by period" in text
    assert {p.name for p in out.iterdir()} == {"loops.csv", "dominance.csv", "dominance.svg", "cld.svg"}
    import pandas as pd

    table = pd.read_csv(out / "loops.csv", index_col="loop")
    assert set(table["polarity"]) == {"+", "-"} and table["periods_dominant"].sum() > 0


def test_innosim_loops_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    from innosim.cli import main

    assert main(["loops", str(tmp_path / "missing.mdl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.mdl" in err[0]
    assert main(["loops", str(LOOPS / "bass.mdl"), "--scenario", "baseline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "scenario" in err[-1] and "Traceback" not in "".join(err)


def test_documented_loops_are_read_from_markdown_and_name_the_loops(tmp_path):
    from simulator.loops.annotations import documented_loops

    doc = tmp_path / "model.md"
    doc.write_text("# m\n\n| loop | polarity | path | source |\n|---|---|---|---|\n"
                   "| R1 word of mouth | + | adopters → adoption rate → adopters | bass |\n"
                   "| B1 saturation | − | Potential Adopters → Adoption Rate | bass |\n"
                   "| B2 not in the model | − | adopters → market size | none |\n\ntext\n", encoding="utf-8")
    documented = documented_loops(doc)
    assert [(d.id, d.polarity) for d in documented] == [("R1", "+"), ("B1", "-"), ("B2", "-")]
    found = loops.find_loops(simulator.load(LOOPS / "bass.mdl"), names=documented)
    assert {lp.id: lp.name for lp in found.loops} == {"R1": "word of mouth", "B1": "saturation"}


def test_cld_with_chinese_labels(tmp_path):
    from simulator.loops.cld import cjk_font, draw_cld

    found = loops.find_loops(simulator.load(LOOPS / "logistic_ltm.mdl"))
    labels = {"Population": "人口", "Net Growth": "净增长", "Room": "剩余空间"}
    if cjk_font() is None:
        with pytest.warns(UserWarning, match="CJK"):
            draw_cld(found, found.loops, labels=labels, path=tmp_path / "cld.png")
    else:
        draw_cld(found, found.loops, labels=labels, path=tmp_path / "cld.png")
    assert (tmp_path / "cld.png").stat().st_size > 10_000


def test_a_model_without_feedback_loops(load_mdl, capsys):
    model = load_mdl("""
Level = INTEG(Inflow, 0)
~ ~ |
Inflow = 2
~ ~ |
Report = Level * 3
~ ~ |
""")
    found = loops.find_loops(model)
    assert found.loops == [] and found.frame().empty
    assert loops.dominant_loops(model, loopset=found).empty
    assert (loops.score_loops(model, found).dominant()["loop"] == "").all()


def test_a_sum_over_elements_fed_back_to_every_element_scores_as_its_scalar_equivalent():
    """Two identical regions, Capital' = 0.1 Capital - 0.07 (Capital[North] + Capital[South]): each
    region decays at 0.1 - 2 * 0.07 = -0.04 a year, as does the scalar model of one region with
    Total Capital = 2 * Capital. The balancing loop through the sum must dominate in both, with the
    scalar model's scores: R 0.1 / (0.1 + 0.14) = 5/12, B -7/12. Scored per element (each element
    loop through the sum crediting only its own element's share of the sum's change, as Simlin
    does) the reinforcing loops would dominate, 0.1 / 0.34 against 0.07 / 0.34 each."""
    rel = {}
    for name in ("shared_sum_two_regions", "shared_sum_scalar"):
        model = simulator.load(LOOPS / f"{name}.mdl")
        found = loops.find_loops(model)
        res = loops.score_loops(model, found)
        rel[name] = {lp.polarity: res.relative[j, :, 0] for j, lp in enumerate(found.loops)}
        assert sorted(rel[name]) == ["+", "-"]
        assert np.allclose(rel[name]["+"], 5 / 12) and np.allclose(rel[name]["-"], -7 / 12)
        assert set(res.dominant(member=0)["polarity"]) == {"-"}
    capital = simulator.load(LOOPS / "shared_sum_two_regions.mdl").run()["Capital"]
    assert np.all(np.diff(np.asarray(capital).reshape(len(capital), -1), axis=0) < 0)
