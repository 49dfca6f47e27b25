"""Scenario comparison: run the baseline and scenarios, tabulate KPIs, differences and costs."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from simulator.model import DEFAULT_METHOD

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
            years=(2030, 2035), method: str = DEFAULT_METHOD, progress=None) -> Comparison:
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


_TEXT = {
    "en": {"scenario": "scenario", "extra": "extra cost", "budget": "budget",
           "intro": ("Scenario comparison at {year}: change vs. baseline (% unless the KPI is shown in its own "
                     "unit); extra cost = cumulative fiscal cost above the baseline up to {year} (亿元); {per_yi} = "
                     "extra {kpi} in {year} ({unit}) due to the levers (under a shock: vs. the shock alone) per 亿元 "
                     "of their extra cost; budget = peak extra annual cost against the scenario's cap"),
           "ok": "ok", "over": "over by {amount} 亿元/yr in {years}", "levels": "baseline levels"},
    "zh": {"scenario": "情景", "extra": "新增成本", "budget": "预算",
           "intro": ("{year} 年情景比较: 相对基准的变化 (除以自身单位显示的指标外为 %); 新增成本 = 截至 {year} 年"
                     "高于基准的累计财政成本 (亿元); {per_yi} = 每亿元新增成本带来的 {year} 年{kpi}增量 ({unit}; "
                     "有冲击时相对于仅有冲击的情景); 预算 = 年度新增成本峰值与情景预算上限之比较"),
           "ok": "未超", "over": "超出 {amount} 亿元/年 ({years} 年)", "levels": "基准水平"},
}


def display_width(text: str) -> int:
    """Terminal columns of ``text``: a Chinese character takes two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = True) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def fmt_number(value: float) -> str:
    """One format for every amount in a table: thousands separators, no exponent; three
    significant digits below 100 (an exponent only below 0.0001)."""
    if not np.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def unit_text(unit: str, lang: str) -> str:
    """A Vensim unit for the table's language (亿元/Year -> 亿元/年 in Chinese)."""
    if lang != "zh":
        return unit
    return unit.replace("Dmnl", "无量纲").replace("Years", "年").replace("Year", "年")


def budget_text(row, lang: str) -> str:
    """``ok`` or how far the peak extra annual cost goes over the cap, and in which years."""
    within = row["within_budget"]
    if not isinstance(within, (bool, np.bool_)):
        return "-"
    if within:
        return _TEXT[lang]["ok"]
    amount = fmt_number(float(row["peak_extra_fiscal_cost"]) - float(row["budget_cap"]))
    return _TEXT[lang]["over"].format(amount=amount, years=row["years_over_budget"] or "?")


def terminal_table(comp: Comparison, *, catalogue: Catalogue, year: int | None = None,
                   lang: str = "en") -> str:
    """A readable table of headline KPI changes vs. the baseline at one target year, every header
    and unit in ``lang`` (en or zh), scenario ids in full."""
    text = _TEXT["zh" if lang == "zh" else "en"]
    year = year or comp.years[-1]
    heads = catalogue.headline_kpis
    first = catalogue.kpis[heads[0]]
    df = comp.kpis[comp.kpis.year == year]
    summ = comp.summary.set_index("scenario")
    cols = [catalogue.kpis[h].short_label(lang) for h in heads]
    per_yi = f"{first.short_label(lang)}/亿元"
    budgets = {sc.id: budget_text(summ.loc[sc.id], lang) for sc in comp.scenarios}
    width = max([display_width(text["scenario"]), *(display_width(sc.id) for sc in comp.scenarios)]) + 2
    kw = max([12, *(display_width(c) + 2 for c in cols)])
    bw = max([display_width(text["budget"]), *(display_width(b) for b in budgets.values())]) + 2
    header = (_pad(text["scenario"], width, right=False) + "".join(_pad(c, kw) for c in cols)
              + _pad(text["extra"], 12) + _pad(per_yi, 14) + "  " + text["budget"])
    rule = "-" * (display_width(header) - display_width(text["budget"]) + bw)
    lines = [text["intro"].format(year=year, per_yi=per_yi, kpi=first.label(lang), unit=unit_text(first.unit, lang)),
             header, rule]
    for sc in comp.scenarios:
        sub = df[df.scenario == sc.id].set_index("kpi")
        row = _pad(sc.id, width, right=False)
        row += "".join(_pad(change_text(catalogue.kpis[h], sub.loc[h]), kw) for h in heads)
        row += _pad(fmt_number(sub.loc[heads[0], "cum_extra_fiscal_cost"]), 12)
        row += _pad(fmt_number(sub.loc[heads[0], "effect_per_yi"]), 14)
        lines.append(row + "  " + budgets[sc.id])
    b = df[df.scenario == "baseline"].set_index("kpi")
    lines.append(rule)
    lines.append(f"{text['levels']}: " + ", ".join(
        f"{catalogue.kpis[h].label(lang)} {fmt_number(b.loc[h, 'value'])} {unit_text(catalogue.kpis[h].unit, lang)}"
        for h in heads))
    return "\n".join(lines)
