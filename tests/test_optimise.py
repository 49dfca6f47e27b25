"""Policy design under a budget (optimise/): analytic optimum, compare path, robust packages.

The test model (tests/models/optimise_budget/) splits an annual budget across three programmes
with square-root returns r_i * sqrt(L_i): the best split of a total spending S gives programme i
S * r_i^2 / sum(r^2), and the output rate is then sqrt(S * sum(r^2)). The model's own budget
ceiling (50 a year) is below the optimum's spending (90), so the analytic optimum is reached only
when the problem switches the ceiling off.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

import optimise  # noqa: E402
import policies  # noqa: E402
import simulator  # noqa: E402
from optimise.outputs import write_outputs  # noqa: E402
from policies.compare import compare  # noqa: E402
from sensitivity.distributed import Executor  # noqa: E402

FOLDER = Path(__file__).resolve().parent / "models" / "optimise_budget"
RETURNS = np.array([2.0, 3.0, 1.0])
BASE_SPEND = 30.0           # three programmes at 10 each in the baseline


def analytic(extra_budget: float) -> tuple[np.ndarray, float]:
    total = BASE_SPEND + extra_budget
    return total * RETURNS**2 / (RETURNS**2).sum(), float(np.sqrt(total * (RETURNS**2).sum()))


@pytest.fixture(scope="module")
def model():
    return simulator.load(FOLDER / "optimise_budget.mdl")


def problem(name: str, model, **search) -> optimise.Problem:
    p = optimise.load_problem(FOLDER / name, model=model)
    return dataclasses.replace(p, search=dataclasses.replace(p.search, **search)) if search else p


def with_budget(p: optimise.Problem, budget: float) -> optimise.Problem:
    cons = tuple(dataclasses.replace(c, bound=budget, name=f"budget {budget:g}") for c in p.constraints)
    return dataclasses.replace(p, constraints=cons)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_analytic_best_split_of_the_budget_is_found_from_two_seeds(model, seed):
    p = problem("allocate.toml", model, seed=seed)
    out = optimise.optimise(p, model, progress=False)
    best = out.package("nominal")
    x_star, f_star = analytic(60.0)
    assert np.all(np.abs(best.x - x_star) <= 0.01 * 60.0), (best.x, x_star)      # 1 % of the budget
    assert abs(best.nominal.values[0, 0, 0] - f_star) <= 1e-3 * f_star            # 0.1 % of the objective
    assert best.nominal.feasible[0] and out.nominal.success


def test_without_switching_the_models_ceiling_off_the_optimum_is_out_of_reach(model):
    p = problem("allocate.toml", model, generations=40)
    p = dataclasses.replace(p, fixed={})
    out = optimise.optimise(p, model, progress=False)
    # the ceiling scales every programme down to a total of 50 a year
    assert out.package("nominal").nominal.values[0, 0, 0] <= np.sqrt(50 * 14) + 1e-9 < analytic(60.0)[1]


def test_one_generation_is_one_ensemble_run_and_the_same_seed_gives_the_same_package(model):
    p = problem("allocate.toml", model, generations=15, population=12)
    ev = optimise.Evaluator(model, p, draws=None, executor=Executor())
    res = optimise.differential_evolution(ev, p, progress=False)
    sizes = [s for s, _, _ in ev.count.runs]
    # the baseline, scipy's probe of the constraint's shape, the initial population, then one
    # ensemble run of the whole trial population per generation
    assert sizes[0] == 1 and max(sizes) == 12 and sizes[3:] == [12] * (len(sizes) - 3), sizes
    assert len(sizes) == len(res.history) + 3
    again = optimise.differential_evolution(optimise.Evaluator(model, p, draws=None, executor=Executor()), p,
                                            progress=False)
    assert np.array_equal(res.X, again.X)


def test_chunked_scores_equal_unchunked_ones(model):
    p = problem("robust.toml", model)
    draws = optimise.draws_of(dataclasses.replace(p, uncertainty=dataclasses.replace(p.uncertainty, draws=9)))
    X = np.array([[20.0, 50.0, 5.0], [30.0, 40.0, 20.0], [10.0, 10.0, 10.0]])
    whole = optimise.Evaluator(model, p, draws=draws, executor=Executor()).evaluate(X)
    small = dataclasses.replace(p, search=dataclasses.replace(p.search, chunk_size=4))
    parts = optimise.Evaluator(model, small, draws=draws, executor=Executor()).evaluate(X)
    assert np.array_equal(whole.values, parts.values) and np.array_equal(whole.slack, parts.slack)


@pytest.mark.parametrize("budget", [15.0, 60.0])
def test_a_nominal_package_keeps_its_budget_when_run_through_compare(model, tmp_path, budget):
    p = with_budget(problem("allocate.toml", model, generations=60), budget)
    out = optimise.optimise(p, model, progress=False)
    written = write_outputs(out, tmp_path, model)
    file = tmp_path / "packages" / "allocate-nominal.toml"
    assert file in written["packages"] and (tmp_path / "index.html").is_file()
    sc = policies.load_scenario(file, catalogue=p.catalogue)
    assert sc.budget_cap == budget
    comp = compare(model, [sc], catalogue=p.catalogue, years=[2030])
    row = comp.summary.set_index("scenario").loc["allocate-nominal"]
    assert row.within_budget is True or row.within_budget == np.True_
    if budget < 50 - BASE_SPEND:    # the model's own ceiling does not bind: compare gives the optimiser's value
        kpi = comp.kpis[(comp.kpis.scenario == "allocate-nominal") & (comp.kpis.kpi == "Output Rate")]
        assert kpi.value.iloc[0] == pytest.approx(out.package("nominal").nominal.values[0, 0, 0], rel=1e-12)
        assert row.peak_extra_fiscal_cost <= budget + 1e-9


def test_the_robust_package_keeps_the_budget_in_every_draw_and_reports_its_share(model):
    p = problem("robust.toml", model, generations=60, robust_generations=80)
    p = dataclasses.replace(p, uncertainty=dataclasses.replace(p.uncertainty, draws=20))
    out = optimise.optimise(p, model, progress=False)
    nominal, robust = out.package("nominal"), out.package("robust")
    # the nominal optimum spends below baseline on programme C: a cheaper C than planned breaks the budget
    assert 0.0 < nominal.robust.share_ok[0] < 1.0
    assert robust.robust.share_ok[0] == 1.0 and robust.robust.feasible[0]
    # analytic robust optimum: C stays at its baseline 10, A and B split 80 as 4 : 9
    assert np.allclose(robust.x, [80 * 4 / 13, 80 * 9 / 13, 10.0], atol=0.01 * 60)
    table = out.table().set_index("package")
    assert table.loc["robust-robust", "share within every constraint"] == 1.0
    assert table.loc["robust-nominal", "share within every constraint"] == nominal.robust.share_ok[0]


def test_a_pareto_front_of_output_against_cost_lies_on_the_analytic_frontier(model, tmp_path):
    text = (FOLDER / "allocate.toml").read_text(encoding="utf-8")
    text = text.replace("[[constraint]]\nfiscal = \"yearly\"\nmax = 60",
                        "[[objective]]\nfiscal = \"yearly\"\n\n[[constraint]]\nfiscal = \"yearly\"\nmax = 60")
    text = text.replace("population = 30\ngenerations = 200", "population = 40\ngenerations = 60")
    text = text.replace('model = "optimise_budget.mdl"', f'model = "{FOLDER / "optimise_budget.mdl"}"')
    text = text.replace('catalogue = "levers.toml"', f'catalogue = "{FOLDER / "levers.toml"}"')
    path = tmp_path / "front.toml"
    path.write_text(text, encoding="utf-8")
    p = optimise.load_problem(path, model=model)
    assert p.method == "nsga2"
    out = optimise.optimise(p, model, progress=False)
    sc = out.nominal.scores
    ok = sc.feasible
    assert ok.sum() >= 10
    cost, rate = sc.objective[ok, 1], sc.objective[ok, 0]
    assert np.all(cost <= 60 + 1e-9)
    frontier = np.sqrt((BASE_SPEND + cost) * (RETURNS**2).sum())
    assert np.all(rate <= frontier + 1e-9)
    assert np.all(rate >= 0.98 * frontier)          # within 2 % of the frontier after 60 generations
    assert cost.min() < 10 and cost.max() > 50      # and spread along it
    assert any(pk.kind == "pareto" for pk in out.packages)


@pytest.mark.parametrize("measure, threshold", [("p10", None), ("max_regret", None), ("satisficing", 35.0)])
def test_every_robust_measure_scores_the_same_draws(model, measure, threshold):
    p = problem("robust.toml", model, generations=10, robust_generations=10, population=9)
    p = dataclasses.replace(p, uncertainty=dataclasses.replace(p.uncertainty, draws=10, measure=measure,
                                                               threshold=threshold))
    out = optimise.optimise(p, model, progress=False)
    robust = out.package("robust").robust
    values = robust.values[0, :, 0]
    if measure == "p10":
        assert robust.objective[0, 0] == pytest.approx(np.percentile(values, 10))
    elif measure == "satisficing":
        ok = (values >= threshold) & np.all(robust.slack[0] <= 0, axis=1)
        assert robust.objective[0, 0] == pytest.approx(ok.mean())
    else:
        assert robust.objective[0, 0] >= 0.0     # regret against the best package found in each draw
    assert out.robust.history.generation.tolist() == list(range(1, len(out.robust.history) + 1))


def test_a_dask_cluster_scores_candidates_like_this_process(model):
    pytest.importorskip("distributed")
    from sensitivity.distributed import Compute, executor

    p = problem("robust.toml", model, chunk_size=20)
    draws = optimise.draws_of(dataclasses.replace(p, uncertainty=dataclasses.replace(p.uncertainty, draws=10)))
    X = np.array([[20.0, 50.0, 5.0], [30.0, 40.0, 20.0], [10.0, 10.0, 10.0], [60.0, 5.0, 0.0]])
    here = optimise.Evaluator(model, p, draws=draws, executor=Executor()).evaluate(X)
    with executor(Compute(workers=2, processes=False)) as ex:
        there = optimise.Evaluator(model, p, draws=draws, executor=ex).evaluate(X)
    assert np.array_equal(here.values, there.values) and np.array_equal(here.slack, there.slack)
