"""Scenario comparison reports: CSV/XLSX tables, matplotlib charts and a self-contained HTML page."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import plotting
from simulator.outputs import RunFolder, csv_bytes, excel_bytes

from .catalogue import Catalogue
from .compare import Comparison, change_text

YEAR = ("年", "year")


def _kpi_label(k, width: int | None = None) -> str:
    return plotting.bilingual(k.name["zh"], k.name["en"], width=width)


def chart_trajectories(comp: Comparison, catalogue: Catalogue) -> bytes:
    """Small multiples: one row per scenario, one column per headline KPI, each panel the scenario
    (colour) over the baseline (grey, dashed) in the KPI's unit; a column shares its y axis."""
    heads = catalogue.headline_kpis
    ts = comp.timeseries
    scs = [sc for sc in comp.scenarios if sc.id != "baseline"] or list(comp.scenarios)
    start = min((st.start for sc in comp.scenarios for st in sc.settings.values()), default=2020) - 5
    with plotting.style():
        fig = plotting.figure(3.3 * len(heads) + 1.0, 1.35 * len(scs) + 1.4)
        axes = np.atleast_2d(fig.subplots(len(scs), len(heads), sharex=True, sharey="col", squeeze=False))
        base = ts[(ts.scenario == "baseline") & (ts.time >= start)]
        for i, sc in enumerate(scs):
            d = ts[(ts.scenario == sc.id) & (ts.time >= start)]
            for j, kpi in enumerate(heads):
                ax = axes[i, j]
                b = base[base.variable == kpi]
                s = d[d.variable == kpi]
                ax.plot(b.time, b.value, color=plotting.BASELINE, ls="--", lw=1.2, label="baseline")
                ax.plot(s.time, s.value, color=plotting.PALETTE[0], lw=1.8, label="scenario")
                ax.tick_params(labelsize=7)
                if i == 0:
                    k = catalogue.kpis[kpi]
                    ax.set_title(f"{_kpi_label(k, 40)}\n({k.unit})", fontsize=8)
                if j == 0:
                    ax.set_ylabel(sc.id, fontsize=8, rotation=0, ha="right", va="center")
            for ax in axes[-1]:
                ax.set_xlabel(plotting.bilingual(*YEAR), fontsize=8)
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside upper right", fontsize=8, ncols=2)
        fig.suptitle(plotting.bilingual("各情景关键指标轨迹 (虚线: 基准)", "KPI trajectories by scenario (dashed: baseline)"))
        return plotting.png(fig)


def chart_differences(comp: Comparison, catalogue: Catalogue) -> bytes:
    """Difference vs. the baseline of each headline KPI at every target year (% or, for KPIs the
    catalogue reports as differences, in their own unit)."""
    heads = catalogue.headline_kpis
    scs = [sc.id for sc in comp.scenarios if sc.id != "baseline"]
    with plotting.style():
        fig = plotting.figure(3.6 * len(heads) + 2.5, 0.32 * len(scs) * len(comp.years) / 1.5 + 2.2)
        axes = np.atleast_1d(fig.subplots(1, len(heads), sharey=True))
        y = np.arange(len(scs))
        h = 0.8 / len(comp.years)
        for ax, kpi in zip(axes, heads):
            k = catalogue.kpis[kpi]
            column = "diff" if k.change == "difference" else "pct_diff"
            for j, year in enumerate(comp.years):
                d = comp.kpis[(comp.kpis.kpi == kpi) & (comp.kpis.year == year)].set_index("scenario")
                ax.barh(y + j * h - 0.4 + h / 2, [d.loc[s, column] for s in scs], height=h,
                        color=plotting.PALETTE[j % len(plotting.PALETTE)], label=f"{year:g}")
            ax.axvline(0, color="k", lw=0.8)
            ax.set_title(_kpi_label(k, 40), fontsize=8)
            unit = f"{k.unit}" if k.change == "difference" else "%"
            ax.set_xlabel(plotting.bilingual(f"相对基准 ({unit})", f"vs. baseline ({unit})"), fontsize=8)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, scs, fontsize=8)
        axes[0].invert_yaxis()
        axes[-1].legend(title=plotting.bilingual(*YEAR), fontsize=8, loc="best")
        fig.suptitle(plotting.bilingual("目标年份相对基准的变化", "Difference from the baseline at the target years"))
        return plotting.png(fig)


def chart_cost_effect(comp: Comparison, catalogue: Catalogue) -> bytes:
    """Extra cumulative fiscal cost against the lever-driven change of the first headline KPI.
    Points carry numbers and a key lists the scenarios, so that no two labels can overprint."""
    kpi = catalogue.headline_kpis[0]
    year = comp.years[-1]
    d = comp.kpis[(comp.kpis.kpi == kpi) & (comp.kpis.year == year)]
    d = d[d.scenario != "baseline"].sort_values("cum_extra_fiscal_cost")
    k = catalogue.kpis[kpi]
    with plotting.style():
        fig = plotting.figure(10, 6)
        ax, key = fig.subplots(1, 2, width_ratios=(3, 1.25))
        ax.scatter(d.cum_extra_fiscal_cost, d.policy_effect, color=plotting.PALETTE[0], s=40, zorder=3)
        plotting.numbered_labels(ax, d.cum_extra_fiscal_cost, d.policy_effect, list(d.scenario), key_ax=key,
                                 title=plotting.bilingual("情景", "scenario"))
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(plotting.bilingual(f"至 {year:g} 年累计新增财政成本 (亿元)",
                                         f"extra cumulative fiscal cost to {year:g} (亿元)"))
        ax.set_ylabel(plotting.bilingual(f"杠杆带来的{k.name['zh']}变化, {year:g} ({k.unit})",
                                         f"change in {k.name['en']} due to the levers, {year:g} ({k.unit})", width=60))
        ax.set_title(plotting.bilingual("成本与效果", "Cost vs. effect"))
        return plotting.png(fig)


def _img(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'


def _bi(zh: str, en: str) -> str:
    return f'<span class="en">{html.escape(en)}</span><span class="zh">{html.escape(zh)}</span>'


def _scenario_html(sc, catalogue: Catalogue) -> str:
    rows = []
    for item_id, st in sc.settings.items():
        item = catalogue.get(item_id)
        val = ", ".join(f"{c} {v:g}" for c, v in st.cells) if st.cells else f"{st.value:g}"
        end = f"{st.end:g}" if st.end is not None else "—"
        rows.append(f"<tr><td>{_bi(item.name['zh'], item.name['en'])}</td><td>{item.kind}</td>"
                    f"<td>{item.baseline:g} → {html.escape(val)} {html.escape(item.unit)}</td>"
                    f"<td>{st.start:g}</td><td>{st.ramp:g}</td><td>{end}</td></tr>")
    table = ("<table><tr><th>" + _bi("杠杆/冲击", "lever / shock") + "</th><th>kind</th><th>"
             + _bi("设置", "setting") + "</th><th>" + _bi("开始", "start") + "</th><th>" + _bi("爬坡年数", "ramp")
             + "</th><th>" + _bi("结束", "end") + "</th></tr>" + "".join(rows) + "</table>") if rows else \
        "<p>" + _bi("所有杠杆保持基准值。", "Every lever at its baseline value.") + "</p>"
    ext = f" <small>(extends {html.escape(sc.extends)})</small>" if sc.extends else ""
    cap = f"<p>budget cap: {sc.budget_cap:g} 亿元/yr</p>" if sc.budget_cap is not None else ""
    return (f'<div class="scenario" id="sc-{html.escape(sc.id)}"><h3>{html.escape(sc.id)}: '
            f"{_bi(sc.name['zh'], sc.name['en'])}{ext}</h3><p>{_bi(sc.description['zh'], sc.description['en'])}</p>"
            f"{cap}{table}</div>")


_CSS = """body{font-family:'Noto Sans CJK SC','Noto Sans',sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
body.lang-en .zh{display:none}body.lang-zh .en{display:none}.scenario{border-top:1px solid #ddd;margin-top:1em}
button{position:fixed;top:1em;right:1em;padding:.4em 1em}.neg{color:#b00}.pos{color:#060}
.notice{background:#fff4d6;border-left:4px solid #d9a300;padding:.5em 1em}"""


def _notice_html(title: dict | None, notice: dict | None) -> str:
    parts = []
    if title:
        parts.append(f"<p><b>{_bi(title['zh'], title['en'])}</b></p>")
    if notice:
        parts.append(f"<p class='notice'>{_bi(notice['zh'], notice['en'])}</p>")
    return "".join(parts)


def report_html(comp: Comparison, catalogue: Catalogue, charts: dict, *, title: dict | None = None,
                notice: dict | None = None) -> str:
    """A self-contained HTML report (charts {name: PNG bytes} embedded, zh/en toggle, no external
    requests). ``title`` and ``notice`` (zh/en) describe the model, e.g. an uncalibrated model's
    warning, shown at the top."""
    heads = catalogue.headline_kpis
    first = catalogue.kpis[heads[0]]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>innosim scenario comparison</title>"
             f"<style>{_CSS}</style></head><body class='lang-en'>",
             "<button onclick=\"document.body.classList.toggle('lang-en');document.body.classList.toggle('lang-zh')\">"
             "中文 / English</button>",
             "<h1>" + _bi("情景比较报告", "Scenario comparison report") + "</h1>",
             _notice_html(title, notice),
             f"<p>model <code>{html.escape(Path(comp.metadata['model']).name)}</code> sha256 "
             f"<code>{comp.metadata['model_sha256']}</code>; engine innosim {comp.metadata['engine_version']}; "
             f"method {comp.metadata['method']}; target years {', '.join(map(str, comp.years))}</p>"]
    for year in comp.years:
        d = comp.kpis[comp.kpis.year == year]
        parts.append(f"<h2>{_bi('相对基准的变化', 'Change vs. baseline')}, {year}</h2><table><tr><th>scenario</th>")
        parts += [f"<th>{_bi(catalogue.kpis[h].name['zh'], catalogue.kpis[h].name['en'])}</th>" for h in heads]
        parts.append(f"<th>{_bi('累计新增财政成本 (亿元)', 'extra cumulative fiscal cost (亿元)')}</th>"
                     f"<th>{_bi('每亿元' + first.name['zh'] + '增量', first.name['en'] + ' per 亿元')} "
                     f"({html.escape(first.unit)})</th></tr>")
        for sc in comp.scenarios:
            sub = d[d.scenario == sc.id].set_index("kpi")
            cells = "".join(
                f"<td class='{'neg' if sub.loc[h, 'diff'] < 0 else 'pos'}'>"
                f"{html.escape(change_text(catalogue.kpis[h], sub.loc[h]))}</td>" for h in heads)
            eff = sub.loc[heads[0], "effect_per_yi"]
            parts.append(f"<tr><td><a href='#sc-{html.escape(sc.id)}'>{html.escape(sc.id)}</a></td>{cells}"
                         f"<td>{sub.loc[heads[0], 'cum_extra_fiscal_cost']:,.0f}</td>"
                         f"<td>{'—' if not np.isfinite(eff) else f'{eff:.4g}'}</td></tr>")
        parts.append("</table>")
    titles = {"trajectories": ("关键指标轨迹", "KPI trajectories"), "differences": ("目标年份的差异", "Differences at target years"),
              "cost_effect": ("成本与效果", "Cost vs. effect")}
    for key, p in charts.items():
        zh, en = titles.get(key, (key, key))
        parts.append(f"<h2>{_bi(zh, en)}</h2>{_img(key, p)}")
    s = comp.summary
    parts.append(f"<h2>{_bi('财政成本与预算', 'Fiscal cost and budget')}</h2>" + s.to_html(index=False, na_rep="—",
                 float_format=lambda x: f"{x:,.1f}"))
    parts.append(f"<h2>{_bi('情景定义', 'Scenario definitions')}</h2>")
    parts += [_scenario_html(sc, catalogue) for sc in comp.scenarios]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(comp: Comparison, out: str | Path, *, catalogue: Catalogue, title: dict | None = None,
                 notice: dict | None = None) -> dict:
    """Write kpis.csv/.xlsx, timeseries.csv, costs.csv, summary.csv, charts and report.html to ``out``.

    Returns {name: path}. The folder is a ``simulator.outputs.RunFolder``: the previous report's
    files (those listed in its ``_COMPLETE.json``) are removed first, every file is written
    atomically and ``_COMPLETE.json`` is written last; other files in the folder are not touched.
    """
    meta = {k: v for k, v in comp.metadata.items() if isinstance(v, (str, int, float, list))}
    with RunFolder(out, meta={"report": "scenario comparison", **meta}) as folder:
        for name, table in (("kpis", comp.kpis), ("timeseries", comp.timeseries), ("costs", comp.costs),
                            ("summary", comp.summary)):
            folder.write(f"{name}.csv", csv_bytes(table, index=False, encoding="utf-8"))
        if comp.city is not None and not comp.city.empty:
            folder.write("city.csv", csv_bytes(comp.city, index=False, encoding="utf-8"))
        scenarios = pd.DataFrame([
            {"scenario": sc.id, "name_zh": sc.name["zh"], "name_en": sc.name["en"], "extends": sc.extends or "",
             "source": sc.source, "settings": "; ".join(f"{k}={v.as_dict()}" for k, v in sc.settings.items())}
            for sc in comp.scenarios])
        metadata = pd.DataFrame(sorted(comp.metadata.items()), columns=["key", "value"]).astype(str)
        folder.write("kpis.xlsx", excel_bytes({"kpis": comp.kpis, "summary": comp.summary,
                                               "scenarios": scenarios, "metadata": metadata}))
        charts = {"trajectories": chart_trajectories(comp, catalogue),
                  "differences": chart_differences(comp, catalogue),
                  "cost_effect": chart_cost_effect(comp, catalogue)}
        for key, png in charts.items():
            folder.write(f"{key}.png", png)
        folder.write("report.html", report_html(comp, catalogue, charts, title=title, notice=notice))
    return dict(folder.files)
