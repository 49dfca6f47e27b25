"""Charts (matplotlib, no pyplot state), CSV files and a self-contained HTML page.

Every chart function takes a result table and returns a ``matplotlib.figure.Figure``;
``write_report`` writes each table as CSV, each figure as PNG, and one ``index.html`` that
embeds the PNGs (base64) and the tables, so the page can be mailed as a single file.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simulator import plotting
from simulator.outputs import RunFolder, csv_bytes, safe_stem

_style = plotting.style
_figure = plotting.figure
P = plotting.PALETTE


def _axis(label: str | None, variable: str, units: str) -> str:
    """An axis label: the variable's (bilingual) label and its unit."""
    text = label or variable
    return f"{text} ({units})" if units else text


def plot_bands(bands: pd.DataFrame, variable: str, *, years: Sequence[float] = (), units: str = "",
               label: str | None = None) -> Figure:
    """Median and 25–75 / 5–95 % bands of one variable over time (``mc.bands`` table).
    ``label``: the variable's display name (e.g. bilingual), ``units``: its unit."""
    d = bands[bands["variable"] == variable].sort_values("time")
    bi = plotting.bilingual
    with _style():
        fig = _figure()
        ax = fig.add_subplot()
        t = d["time"].to_numpy()
        ax.fill_between(t, d["p5"], d["p95"], color=P[0], alpha=0.18, lw=0, label=bi("5–95 % 区间", "5–95 %"))
        ax.fill_between(t, d["p25"], d["p75"], color=P[0], alpha=0.38, lw=0, label=bi("25–75 % 区间", "25–75 %"))
        ax.plot(t, d["p50"], color=P[0], lw=2, label=bi("中位数", "median"))
        for y in years:
            ax.axvline(y, color="grey", ls=":", lw=1)
        ax.set_title(f"{label or variable}: " + bi("蒙特卡洛区间", "Monte Carlo bands"))
        ax.set_xlabel(bi("年", "year"))
        ax.set_ylabel(_axis(label, variable, units))
        ax.legend(loc="upper left")
    return fig


def plot_tornado(table: pd.DataFrame, output: str, *, top: int = 15, units: str = "",
                 label: str | None = None) -> Figure:
    """Tornado of an OAT table: change of ``output`` from its base value at each parameter's low/high."""
    d = table[table["output"] == output].nlargest(top, "abs_swing").iloc[::-1]
    bi = plotting.bilingual
    with _style():
        fig = _figure(8, 0.35 * len(d) + 1.8)
        ax = fig.add_subplot()
        base = float(d["y_base"].iloc[0]) if len(d) else 0.0
        y = np.arange(len(d))
        ax.barh(y, d["y_low"] - base, left=base, color=P[1], label=bi("参数取下限", "parameter at low"))
        ax.barh(y, d["y_high"] - base, left=base, color=P[0], label=bi("参数取上限", "parameter at high"))
        ax.axvline(base, color="black", lw=1)
        ax.set_yticks(y, d["parameter"])
        ax.set_ylabel(bi("参数", "parameter"))
        ax.set_title(f"{label or output}: " + bi("单因素敏感性", "one-at-a-time sensitivity"))
        ax.set_xlabel(_axis(label, output, units))
        ax.legend(loc="lower right")
    return fig


def plot_morris(table: pd.DataFrame, output: str, *, labels: int = 10, units: str = "",
                label: str | None = None) -> Figure:
    """Morris mu* against sigma; the ``labels`` largest mu* carry numbers, named in a key beside
    the plot (names next to crowded points would overprint)."""
    d = table[table["output"] == output]
    bi = plotting.bilingual
    unit = f" ({units})" if units else ""
    with _style():
        fig = _figure(10, 5.5)
        ax, key = fig.subplots(1, 2, width_ratios=(3, 1.3))
        ax.errorbar(d["mu_star"], d["sigma"], xerr=d["mu_star_conf"], fmt="o", ms=4, color=P[0],
                    ecolor=P[0], alpha=0.7, lw=0.8)
        top = d.nlargest(labels, "mu_star")
        plotting.numbered_labels(ax, top["mu_star"], top["sigma"], list(top["parameter"]), key_ax=key,
                                 title=bi("参数 (按 mu* 排序)", "parameter (by mu*)"))
        lim = float(max(d["mu_star"].max(), d["sigma"].max(), 1e-12)) * 1.05
        ax.plot([0, lim], [0, lim], color="grey", ls=":", lw=1)
        ax.set_xlabel(bi("mu* 平均绝对基本效应", "mu* (mean |elementary effect|)") + unit)
        ax.set_ylabel(bi("sigma 交互/非线性", "sigma (interactions / non-linearity)") + unit)
        ax.set_title(f"{label or output}: " + bi("Morris 筛选", "Morris screening"))
    return fig


def plot_sobol(table: pd.DataFrame, output: str, *, top: int = 15, label: str | None = None) -> Figure:
    """First-order and total Sobol indices with their confidence intervals as error bars."""
    d = table[table["output"] == output].nlargest(top, "ST")
    bi = plotting.bilingual
    with _style():
        fig = _figure(max(6.0, 0.55 * len(d) + 2), 5.0)
        ax = fig.add_subplot()
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["S1"], 0.4, yerr=d["S1_conf"], capsize=3, color=P[0], label=bi("一阶 S1", "first order S1"))
        ax.bar(x + 0.2, d["ST"], 0.4, yerr=d["ST_conf"], capsize=3, color=P[1], label=bi("总效应 ST", "total ST"))
        ax.set_xticks(x, d["parameter"], rotation=40, ha="right", fontsize=8)
        ax.set_xlabel(bi("参数", "parameter"))
        ax.set_ylabel(bi("输出方差份额 (0–1)", "share of output variance (0–1)"))
        ax.set_title(f"{label or output}: " + bi("Sobol 指数", "Sobol indices"))
        ax.legend()
    return fig


def plot_shares(shares: pd.DataFrame, *, title: str) -> Figure:
    """Heat map of the robustness share table (row scenario beats column scenario); cividis reads
    the same with every common colour-vision deficiency."""
    bi = plotting.bilingual
    with _style():
        n = len(shares)
        fig = _figure(max(7.0, 1.2 * n + 3.5), max(5.0, 1.0 * n + 2.5))
        ax = fig.add_subplot()
        ax.grid(False)
        im = ax.imshow(shares.to_numpy(dtype=float), vmin=0, vmax=1, cmap="cividis")
        ax.set_xticks(range(n), shares.columns, rotation=30, ha="right")
        ax.set_yticks(range(n), shares.index)
        ax.set_xlabel(bi("列情景", "column scenario"))
        ax.set_ylabel(bi("行情景", "row scenario"))
        for i in range(n):
            for j in range(n):
                v = shares.iat[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=9,
                            color="black" if v > 0.55 else "white")
        fig.colorbar(im, ax=ax, label=bi("行情景胜出的成员比例", "share of members where row beats column", width=40))
        ax.set_title(title)
    return fig


def plot_distributions(values: pd.DataFrame, *, title: str, units: str = "", label: str | None = None) -> Figure:
    """Box plot of one KPI per scenario over the uncertainty members (whiskers 5–95 %)."""
    bi = plotting.bilingual
    with _style():
        fig = _figure(max(5.0, 1.3 * values.shape[1] + 2), 4.8)
        ax = fig.add_subplot()
        ax.boxplot([values[c].to_numpy() for c in values.columns], whis=(5, 95), showfliers=False)
        ax.set_xticks(range(1, values.shape[1] + 1), values.columns, rotation=20, ha="right")
        ax.set_xlabel(bi("情景", "scenario"))
        if label or units:
            ax.set_ylabel(_axis(label, "", units))
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------- page
@dataclass
class Section:
    """One part of the page: a heading, a paragraph, figures and tables (each also saved as a file)."""

    heading: str
    text: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def write_report(out: str | Path, title: str, sections: Sequence[Section], *, meta: dict | None = None,
                 max_rows: int = 40) -> Path:
    """Write ``<name>.csv`` for every table, ``<name>.png`` for every figure and ``index.html``.

    The folder is a ``simulator.outputs.RunFolder``: the previous report's files are removed
    first, each file is written atomically, and ``_COMPLETE.json`` (files and sha256) comes last.
    Table and figure names are made safe for file names (``safe_stem``).
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if meta:
        items = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                        for k, v in meta.items())
        parts.append(f"<table class='meta'>{items}</table>")
    marker_meta = {"report": title, **{str(k): str(v) for k, v in (meta or {}).items()}}
    with RunFolder(out, meta=marker_meta) as folder:
        for sec in sections:
            parts.append(f"<h2>{html.escape(sec.heading)}</h2>")
            if sec.text:
                parts.append(f"<p>{html.escape(sec.text)}</p>")
            for name, fig in sec.figures.items():
                png = _png(fig)
                file = folder.write(f"{safe_stem(name, 60)}.png", png).name
                parts.append(f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,"
                             f"{base64.b64encode(png).decode()}'><figcaption>{html.escape(file)}"
                             "</figcaption></figure>")
            for name, df in sec.tables.items():
                file = folder.write(f"{safe_stem(name, 60)}.csv", csv_bytes(df, index=False, encoding="utf-8")).name
                shown = df.head(max_rows)
                more = f" (first {max_rows} of {len(df)} rows)" if len(df) > max_rows else ""
                parts.append(f"<h3>{html.escape(file)}{more}</h3>")
                parts.append(shown.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="data"))
        page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>"
                "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                "table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}"
                "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}"
                "table.meta td,table.meta th{text-align:left}img{max-width:100%}"
                "</style></head><body>" + "\n".join(parts) + "</body></html>")
        return folder.write("index.html", page)
