"""Scenario comparison: run the baseline and scenarios, tabulate KPIs, differences and costs."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .apply import cost_variables, horizon, lever_costs, scenario_params
from .catalogue import Catalogue
from .errors import PolicyError
from .scenario import Scenario, load_scenario

MIN_COST_FOR_RATIO = 1.0   # 亿元: below this extra cumulative cost "effect per 亿元" is not defined


@dataclass
class Comparison:
    """Tidy tables of a scenario comparison (every table is long: one row per observation).

    kpis: scenario, kpi, year, value, baseline, diff, pct_diff, fiscal_cost, extra_fiscal_cost,
          cum_extra_fiscal_cost, policy_effect, effect_per_yi. ``policy_effect`` is the change due
          to the scenario's levers: against the baseline, or, when the scenario also carries shocks,
          against the same shocks without the levers. ``effect_per_yi`` divides it by the extra
          cumulative fiscal cost of the levers (KPI unit per 亿元).
    timeseries: scenario, time, variable, value (yearly, KPIs and costs)
    costs: scenario, time, lever, cost, extra_cost (亿元/Year, gross and vs. the baseline)
    summary: one row per scenario: peak extra annual cost, budget cap, within budget, years over
    """

    scenarios: list
    years: list
    kpis: pd.DataFrame
    timeseries: pd.DataFrame
    costs: pd.DataFrame
    summary: pd.DataFrame
    metadata: dict = field(default_factory=dict)
    city: pd.DataFrame | None = None


def _run(model, scenario: Scenario, catalogue: Catalogue, outputs: list[str], method: str):
    params = scenario_params(scenario, model, catalogue=catalogue)
    return model.run(params, method=method, outputs=outputs)


def _yearly(result, name: str) -> pd.Series:
    arr = np.asarray(result[name])[..., 0]
    return pd.Series(arr.reshape(len(result.times), -1).sum(axis=1), index=result.times)


def regions(model, catalogue: Catalogue) -> list[str] | None:
    """The model's region elements (the catalogue's ``regions.dimension``), or None without one."""
    if not catalogue.region_dimension:
        return None
    return list(model.subscripts.get(catalogue.region_dimension, [])) or None


def compare(model, scenarios: list[Scenario | str] | None = None, *, catalogue: Catalogue,
            years=(2030, 2035), method: str = "euler", progress=None) -> Comparison:
    """Run the baseline and every scenario on ``model`` and compare them.

    scenarios: Scenario objects or built-in ids / TOML paths (default: every built-in scenario of
    the catalogue). years: target years for the KPI table. ``progress`` is an optional
    callable(done, total, id).
    """
    from .scenario import builtin_scenarios

    if scenarios is None:
        scenarios = builtin_scenarios(catalogue=catalogue)
    cities = regions(model, catalogue)
    scs = [s if isinstance(s, Scenario) else load_scenario(s, catalogue=catalogue, cities=cities)
           for s in scenarios]
    ids = [s.id for s in scs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise PolicyError(f"scenario id {sorted(dup)[0]!r} is given twice")
    base = next((s for s in scs if s.id == "baseline"), None) or load_scenario("baseline", catalogue=catalogue)
    scs = [base] + [s for s in scs if s.id != "baseline"]
    t0, tf = horizon(model)
    years = [float(y) for y in years]
    for y in years:
        if not t0 <= y <= tf:
            raise PolicyError(f"year {y:g} is outside the run {t0:g}-{tf:g}")
    kpi_names = list(catalogue.kpis)
    city_names = [k.per_city for k in catalogue.kpis.values() if k.per_city]
    outputs = list(dict.fromkeys(kpi_names + city_names + cost_variables(catalogue)))
    results, refs = {}, {}
    for n, sc in enumerate(scs):
        results[sc.id] = _run(model, sc, catalogue, outputs, method)
        if sc.shocks and sc.levers:
            # a policy's own effect under a shock is measured against the same shock without policy
            key = tuple(sorted((k, v) for k, v in sc.shocks.items()))
            if key not in refs:
                refs[key] = _run(model, replace(sc, levers={}), catalogue, outputs, method)
            results["__ref__" + sc.id] = refs[key]
        if progress:
            progress(n + 1, len(scs), sc.id)
    return _tabulate(model, scs, results, years, catalogue, kpi_names, city_names, method)


def _tabulate(model, scs, results, years, catalogue, kpi_names, city_names, method) -> Comparison:
    base = results["baseline"]
    times = base.times
    yearly = np.isclose(times, np.round(times))
    ts_rows, kpi_rows, cost_rows, summary_rows, city_rows = [], [], [], [], []
    annual, cumulative = catalogue.costs.annual, catalogue.costs.cumulative
    base_costs = lever_costs(base, catalogue=catalogue)
    base_cum = _yearly(base, cumulative)
    base_fc = _yearly(base, annual)
    region_elements = regions(model, catalogue) or []
    for sc in scs:
        res = results[sc.id]
        fc = _yearly(res, annual)
        cum = _yearly(res, cumulative)
        extra = fc - base_fc
        cum_extra = cum - base_cum
        ref = results.get("__ref__" + sc.id, base if not sc.levers or not sc.shocks else None)
        ref_cum = _yearly(ref, cumulative)
        for name in kpi_names:
            s = _yearly(res, name)
            b = _yearly(base, name)
            r = _yearly(ref, name)
            ts_rows.append(pd.DataFrame({"scenario": sc.id, "time": times[yearly], "variable": name,
                                         "value": s.to_numpy()[yearly]}))
            for y in years:
                v, bv = float(s.loc[y]), float(b.loc[y])
                diff = v - bv
                ce = float(cum_extra.loc[y])
                policy = v - float(r.loc[y]) if sc.levers else 0.0
                pce = float(cum.loc[y] - ref_cum.loc[y])
                kpi_rows.append({
                    "scenario": sc.id, "kpi": name, "year": int(y), "value": v, "baseline": bv,
                    "diff": diff, "pct_diff": 100.0 * diff / bv if bv else np.nan,
                    "fiscal_cost": float(fc.loc[y]), "extra_fiscal_cost": float(extra.loc[y]),
                    "cum_extra_fiscal_cost": ce, "policy_effect": policy,
                    "effect_per_yi": policy / pce if sc.levers and pce > MIN_COST_FOR_RATIO else np.nan,
                })
        costs = lever_costs(res, catalogue=catalogue)
        for lever in costs.columns:
            cost_rows.append(pd.DataFrame({
                "scenario": sc.id, "time": times[yearly], "lever": lever,
                "cost": costs[lever].to_numpy()[yearly],
                "extra_cost": (costs[lever] - base_costs[lever]).to_numpy()[yearly]}))
        for cname in city_names:
            arr = np.asarray(res[cname])[..., 0]
            for y in years:
                i = int(np.argmin(np.abs(times - y)))
                for k, elem in enumerate(region_elements):
                    city_rows.append({"scenario": sc.id, "variable": cname, "year": int(y), "city": elem,
                                      "value": float(arr[i, k])})
        over = extra[extra > (sc.budget_cap if sc.budget_cap is not None else np.inf) + 1e-9]
        summary_rows.append({
            "scenario": sc.id, "name_en": sc.name["en"], "name_zh": sc.name["zh"],
            "extends": sc.extends or "", "peak_extra_fiscal_cost": float(extra.max()),
            "cum_extra_fiscal_cost_end": float(cum_extra.iloc[-1]),
            "budget_cap": sc.budget_cap if sc.budget_cap is not None else np.nan,
            "within_budget": bool(over.empty) if sc.budget_cap is not None else np.nan,
            "years_over_budget": (f"{over.index.min():g}-{over.index.max():g}" if not over.empty else ""),
        })
    from simulator import __version__
    meta = {"model": str(model.path), "model_sha256": model.sha256, "engine_version": __version__,
            "method": method, "catalogue": str(catalogue.path), "years": [int(y) for y in years]}
    return Comparison(
        scenarios=scs, years=[int(y) for y in years], kpis=pd.DataFrame(kpi_rows),
        timeseries=pd.concat(ts_rows, ignore_index=True), costs=pd.concat(cost_rows, ignore_index=True),
        summary=pd.DataFrame(summary_rows), metadata=meta, city=pd.DataFrame(city_rows))


def change_text(kpi, row) -> str:
    """A KPI's change against the baseline as the catalogue asks: "+1.25 %" or "+1" (own unit)."""
    if kpi.change == "difference":
        return f"{row['diff']:+.3g}"
    return f"{row['pct_diff']:+.2f} %"


def terminal_table(comp: Comparison, *, catalogue: Catalogue, year: int | None = None,
                   lang: str = "en") -> str:
    """A readable table of headline KPI changes vs. the baseline at one target year."""
    year = year or comp.years[-1]
    heads = catalogue.headline_kpis
    first = catalogue.kpis[heads[0]]
    df = comp.kpis[comp.kpis.year == year]
    width = max(28, *(len(sc.id) + 1 for sc in comp.scenarios))
    cols = [catalogue.kpis[h].short_label(lang) for h in heads]
    per_yi = f"{first.short_label(lang)}/亿元"
    header = f"{'scenario':{width}s}" + "".join(f"{c:>12s}" for c in cols) + \
        f"{'extra cost':>12s}{per_yi:>14s}{'budget':>8s}"
    lines = [f"Scenario comparison at {year}: change vs. baseline (% unless the KPI is shown in its own unit); "
             f"extra cost = cumulative fiscal cost above the baseline up to {year} (亿元); {per_yi} = extra "
             f"{first.label('en')} in {year} ({first.unit}) due to the levers (under a shock: vs. the shock "
             "alone) per 亿元 of their extra cost; budget = peak extra annual cost within the scenario's cap",
             header, "-" * len(header)]
    summ = comp.summary.set_index("scenario")
    for sc in comp.scenarios:
        sub = df[df.scenario == sc.id].set_index("kpi")
        row = f"{sc.id:{width}s}"
        for h in heads:
            row += f"{change_text(catalogue.kpis[h], sub.loc[h]):>12s}"
        ce = sub.loc[heads[0], "cum_extra_fiscal_cost"]
        eff = sub.loc[heads[0], "effect_per_yi"]
        row += f"{ce:>12,.0f}" + (f"{eff:>14.4g}" if np.isfinite(eff) else f"{'-':>14s}")
        wb = summ.loc[sc.id, "within_budget"]
        row += f"{('ok' if wb else 'OVER') if isinstance(wb, (bool, np.bool_)) else '-':>8s}"
        lines.append(row)
    b = df[df.scenario == "baseline"].set_index("kpi")
    lines.append("-" * len(header))
    lines.append("baseline levels: " + ", ".join(
        f"{catalogue.kpis[h].label(lang)} {b.loc[h, 'value']:,.4g} {catalogue.kpis[h].unit}" for h in heads))
    return "\n".join(lines)
