"""What a study leaves behind: scenario files of the packages (``innosim compare`` runs them), a
lever table with costs from the compare path, Pareto and convergence charts, an HTML report.

``write_outputs(outcome, out)`` writes ``packages/<id>.toml`` and, through the sensitivity
layer's report writer, CSV tables, PNG charts and ``index.html``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from policies import Scenario, Setting, scenario_from_dict
from policies.compare import compare
from sensitivity.report import Section, write_report
from simulator.outputs import RunFolder

from .study import Outcome, Package


# ----------------------------------------------------------------------------- scenario files
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    raise TypeError(type(v))


def _budget_cap(outcome: Outcome) -> float | None:
    """A yearly extra-cost ceiling of the problem: the scenario's ``budget_cap`` (compare checks it)."""
    caps = [c.bound for c in outcome.problem.constraints
            if c.quantity.fiscal == "yearly" and c.quantity.extra and c.sense == "max" and c.quantity.window is None]
    return min(caps) if caps else None


def package_scenario(outcome: Outcome, package: Package) -> Scenario:
    """The package as a scenario of the model's catalogue (checked like any scenario file)."""
    prob = outcome.problem
    text = _describe(outcome, package)
    data = {"id": package.id, "name": {"en": f"{prob.name['en']}: {package.kind} package",
                                       "zh": f"{prob.name['zh']}: {package.kind}"},
            "description": {"en": text, "zh": text},
            "levers": {d.id: _setting(d, v) for d, v in zip(prob.decisions, package.x)}}
    cap = _budget_cap(outcome)
    if cap is not None:
        data["budget_cap"] = cap
    return scenario_from_dict(data, catalogue=prob.catalogue, source=f"{package.id}.toml")


def _setting(d, value) -> dict:
    s = Setting(item=d.id, value=float(value), start=d.start, ramp=d.ramp, end=d.end)
    return s.as_dict()


def _describe(outcome: Outcome, p: Package) -> str:
    prob = outcome.problem
    parts = [f"{o.name} = {p.nominal.values[0, 0, k]:.6g} at the model's parameters"
             for k, o in enumerate(prob.objectives)]
    if not p.nominal.feasible[0]:
        parts.append("it does NOT meet every constraint at the model's parameters (no candidate did)")
    if p.robust is not None:
        u = prob.uncertainty
        parts.append(f"over {u.draws} draws: {u.measure} {p.robust.objective[0, 0]:.6g}, within every constraint "
                     f"in {100 * p.robust.share_ok[0]:.1f} % of the draws")
    return (f"Found by innosim optimise ({outcome.nominal.method if p.kind != 'robust' else outcome.robust.method}, "
            f"problem {prob.id}, seed {prob.search.seed}): " + "; ".join(parts) + ".")


def scenario_toml(scenario: Scenario, header: str = "") -> str:
    """A scenario as TOML text that ``policies.load_scenario`` reads back to the same settings."""
    d = scenario.as_dict()
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"id = {_toml_value(d['id'])}",
              f"name = {{ zh = {_toml_value(d['name']['zh'])}, en = {_toml_value(d['name']['en'])} }}",
              f"description.zh = {_toml_value(d['description']['zh'])}",
              f"description.en = {_toml_value(d['description']['en'])}"]
    if "budget_cap" in d:
        lines.append(f"budget_cap = {_toml_value(d['budget_cap'])}")
    for lid, setting in d["levers"].items():
        lines += ["", f"[levers.{lid}]"] + [f"{k} = {_toml_value(v)}" for k, v in setting.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the compare path
def compare_packages(outcome: Outcome, model, *, years=None):
    """Run every package as a scenario through ``policies.compare`` (the model as it is: its own
    budget ceiling acts again, the problem's ``fixed`` constants do not apply)."""
    prob = outcome.problem
    scs = [package_scenario(outcome, p) for p in outcome.packages]
    if years is None:
        ys = [o.quantity.year or (o.quantity.window or (None, None))[1] for o in prob.objectives]
        years = sorted({float(y) for y in ys if y is not None}) or [float(model.control["final_time"])]
    return compare(model, scs, catalogue=prob.catalogue, years=years)


def lever_table(outcome: Outcome, comparison) -> pd.DataFrame:
    """One row per package and lever: value, baseline, unit, extra cost (peak per year, sum over the run)."""
    prob = outcome.problem
    costs = comparison.costs
    rows = []
    for p in outcome.packages:
        sub = costs[costs.scenario == p.id]
        for d, v in zip(prob.decisions, p.x):
            c = sub[sub.lever == d.id]
            rows.append({"package": p.id, "lever": d.id, "name": d.lever.label("en"), "unit": d.lever.unit,
                         "baseline": d.lever.baseline, "value": float(v), "start": d.start, "ramp": d.ramp,
                         "peak_extra_cost_per_year": float(c.extra_cost.max()) if len(c) else math.nan,
                         "extra_cost_total": float(c.extra_cost.sum()) if len(c) else math.nan})
    return pd.DataFrame(rows)


def compare_check(outcome: Outcome, comparison) -> pd.DataFrame:
    """Per package: the compare path's budget verdict and objective next to the optimiser's."""
    prob = outcome.problem
    summ = comparison.summary.set_index("scenario")
    kpis = comparison.kpis
    rows = []
    for p in outcome.packages:
        row = {"package": p.id, "peak_extra_fiscal_cost": float(summ.loc[p.id, "peak_extra_fiscal_cost"]),
               "budget_cap": summ.loc[p.id, "budget_cap"], "within_budget": summ.loc[p.id, "within_budget"]}
        extra = comparison.costs[comparison.costs.scenario == p.id].groupby("time").extra_cost.sum()
        for c in prob.constraints:
            q = c.quantity
            if q.fiscal == "yearly" and q.extra and c.sense == "max":
                lo, hi = q.window or (extra.index.min(), extra.index.max())
                peak = float(extra[(extra.index >= lo - 1e-9) & (extra.index <= hi + 1e-9)].max())
                row[f"{c.name}: compare peak"] = peak
                row[f"{c.name}: compare within"] = bool(peak <= c.bound + 1e-9)
        for k, o in enumerate(prob.objectives):
            q = o.quantity
            if q.variable and q.year is not None and q.variable in set(kpis.kpi):
                r = kpis[(kpis.scenario == p.id) & (kpis.kpi == q.variable) & (kpis.year == int(q.year))]
                if len(r):
                    row[f"{o.name}: compare"] = float(r.value.iloc[0])
                    row[f"{o.name}: optimiser"] = float(p.nominal.values[0, 0, k])
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- charts
def _figure(width=7.5, height=4.5) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_convergence(outcome: Outcome) -> Figure:
    """Best objective per generation of each search (robust: the robust measure)."""
    fig = _figure()
    ax = fig.add_subplot()
    unc = outcome.problem.uncertainty
    labels = (("nominal", outcome.nominal, "model's parameters"),
              ("robust", outcome.robust, f"{unc.measure} over {unc.draws} draws" if unc else ""))
    for label, res, what in labels:
        if res is not None and len(res.history):
            h = res.history
            line, = ax.plot(h.generation, h.best_objective, label=f"{label}: {what}")
            bad = h.feasible_share < 1
            if bad.any():   # scipy's best member may still break a constraint early on
                ax.plot(h.generation[bad], h.best_objective[bad], "x", color=line.get_color(),
                        label=f"{label}: best breaks a constraint")
    o = outcome.problem.objectives[0]
    ax.set_xlabel("generation")
    ax.set_ylabel(o.name)
    ax.set_title("convergence: best package per generation")
    ax.legend()
    return fig


def plot_pareto(outcome: Outcome) -> Figure | None:
    """The first two objectives of the Pareto set (NSGA-II), or None for one objective."""
    prob = outcome.problem
    res = outcome.robust or outcome.nominal
    if len(prob.objectives) < 2:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    sc = res.scores
    ok = sc.feasible
    ax.scatter(sc.objective[ok, 1], sc.objective[ok, 0], color="tab:blue", label="non-dominated packages")
    chosen = [p for p in outcome.packages if p.kind == "pareto"]
    if chosen:
        pts = np.array([(p.robust or p.nominal).objective[0, :2] for p in chosen])
        ax.scatter(pts[:, 1], pts[:, 0], facecolor="none", edgecolor="tab:red", s=90, label="written as scenarios")
    ax.set_xlabel(prob.objectives[1].name)
    ax.set_ylabel(prob.objectives[0].name)
    ax.set_title("Pareto front")
    ax.legend()
    return fig


def plot_draws(outcome: Outcome) -> Figure | None:
    """Distributions over the draws of the objective and of each constraint quantity, nominal vs robust."""
    prob = outcome.problem
    pk = [p for p in outcome.packages if p.robust is not None and p.kind in ("nominal", "robust")]
    if not pk:
        return None
    panels = 1 + len(prob.constraints)
    fig = _figure(4.0 * panels, 3.8)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for p in pk:
        axes[0].hist(p.robust.values[0, :, 0], bins=30, alpha=0.5, label=p.kind)
        for i, c in enumerate(prob.constraints):
            s = p.robust.slack[0, :, i]
            axes[i + 1].hist(s + c.bound if c.sense == "max" else c.bound - s, bins=30, alpha=0.5, label=p.kind)
    axes[0].set_title(prob.objectives[0].name, fontsize=9)
    for i, c in enumerate(prob.constraints):
        axes[i + 1].axvline(c.bound, color="k", ls="--")
        axes[i + 1].set_title(c.name, fontsize=9)
    axes[0].legend()
    fig.suptitle(f"over {prob.uncertainty.draws} draws (the same for both packages)")
    return fig


# ----------------------------------------------------------------------------- the report
def write_outputs(outcome: Outcome, out: str | Path, model) -> dict:
    """Write the packages as scenario files (``out/packages``) and the report (``out``).

    Returns {"report": index.html, "packages": [scenario files], "compare": compare check table}.
    """
    out = Path(out)
    comparison = compare_packages(outcome, model)
    check = compare_check(outcome, comparison)
    levers = lever_table(outcome, comparison)
    files = []
    with RunFolder(out / "packages", meta={"problem": str(outcome.problem.path)}) as folder:
        for p in outcome.packages:
            sc = package_scenario(outcome, p)
            header = (f"Package {p.id} of optimisation problem {outcome.problem.id}; run it with\n"
                      f"innosim compare {out / 'packages' / (p.id + '.toml')} --model {model.path}")
            files.append(folder.write(f"{p.id}.toml", scenario_toml(sc, header)))
    prob = outcome.problem
    text = (f"{len(prob.decisions)} decision levers; objectives: {', '.join(o.name + ' (' + o.direction + ')' for o in prob.objectives)}; "
            f"constraints: {', '.join(c.name for c in prob.constraints) or 'none'}; "
            f"held fixed while optimising: {', '.join(f'{k} = {v:g}' for k, v in prob.fixed.items()) or 'nothing'}.")
    sections = [Section("Problem", text),
                Section("Packages", "Lever values and scores. 'nominal' = at the model's own parameters; "
                        "over the draws: the robust measure, percentiles and the share of draws within "
                        "each constraint (the same draws for every package).",
                        tables={"packages": outcome.table(), "levers": levers})]
    figs = {"convergence": plot_convergence(outcome)}
    for name, fig in (("pareto", plot_pareto(outcome)), ("draws", plot_draws(outcome))):
        if fig is not None:
            figs[name] = fig
    sections.append(Section("Charts", "", figures=figs))
    hist = [res.history.assign(search=label) for label, res in (("nominal", outcome.nominal), ("robust", outcome.robust))
            if res is not None]
    sections.append(Section("Search", f"{outcome.nominal.method}: {outcome.nominal.message}"
                            + (f"; robust: {outcome.robust.message}" if outcome.robust else ""),
                            tables={"convergence": pd.concat(hist, ignore_index=True)}))
    if outcome.robust is None and len(prob.objectives) > 1:
        sc = outcome.nominal.scores
        front = pd.DataFrame(outcome.nominal.X, columns=[d.id for d in prob.decisions])
        for k, o in enumerate(prob.objectives):
            front[o.name] = sc.objective[:, k]
        front["feasible"] = sc.feasible
        sections.append(Section("Pareto front", "", tables={"pareto": front}))
    sections.append(Section("Check through innosim compare",
                            "Every package re-run as a scenario with the model as it is (its own budget "
                            "ceiling on again); within_budget is compare's verdict against budget_cap.",
                            tables={"compare_check": check}))
    meta = {k: v for k, v in outcome.metadata.items() if k not in ("fixed",)}
    page = write_report(out, f"innosim optimise: {prob.id}", sections, meta=meta)
    return {"report": page, "packages": files, "compare": check}
