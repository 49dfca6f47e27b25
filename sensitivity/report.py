"""Charts (matplotlib, no pyplot state), CSV files and a self-contained HTML page.

Every chart function takes a result table and returns a ``matplotlib.figure.Figure``;
``write_report`` writes each table as CSV, each figure as PNG, and one ``index.html`` that
embeds the PNGs (base64) and the tables, so the page can be mailed as a single file.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simulator.outputs import RunFolder, csv_bytes, safe_stem

_RC = {"axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 100}
_CJK = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei")


@functools.cache
def _families() -> tuple[str, ...]:
    """DejaVu has no Chinese glyphs (units such as 亿元): add a CJK fallback that matplotlib knows."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans",) + tuple(f for f in _CJK if f in known)


@contextlib.contextmanager
def _style():
    with matplotlib.rc_context({**_RC, "font.family": list(_families())}):
        yield


def _figure(width=8.0, height=4.5) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_bands(bands: pd.DataFrame, variable: str, *, years: Sequence[float] = (), units: str = "") -> Figure:
    """Median and 25–75 / 5–95 % bands of one variable over time (``mc.bands`` table)."""
    d = bands[bands["variable"] == variable].sort_values("time")
    with _style():
        fig = _figure()
        ax = fig.add_subplot()
        t = d["time"].to_numpy()
        ax.fill_between(t, d["p5"], d["p95"], color="tab:blue", alpha=0.18, lw=0, label="5–95 %")
        ax.fill_between(t, d["p25"], d["p75"], color="tab:blue", alpha=0.38, lw=0, label="25–75 %")
        ax.plot(t, d["p50"], color="tab:blue", lw=2, label="median")
        for y in years:
            ax.axvline(y, color="grey", ls=":", lw=1)
        ax.set_title(f"{variable}: Monte Carlo bands")
        ax.set_xlabel("year")
        ax.set_ylabel(f"{variable} ({units})" if units else variable)
        ax.legend(loc="upper left")
    return fig


def plot_tornado(table: pd.DataFrame, output: str, *, top: int = 15) -> Figure:
    """Tornado of an OAT table: change of ``output`` from its base value at each parameter's low/high."""
    d = table[table["output"] == output].nlargest(top, "abs_swing").iloc[::-1]
    with _style():
        fig = _figure(8, 0.35 * len(d) + 1.5)
        ax = fig.add_subplot()
        base = float(d["y_base"].iloc[0]) if len(d) else 0.0
        y = np.arange(len(d))
        ax.barh(y, d["y_low"] - base, left=base, color="tab:orange", label="parameter at low")
        ax.barh(y, d["y_high"] - base, left=base, color="tab:blue", label="parameter at high")
        ax.axvline(base, color="black", lw=1)
        ax.set_yticks(y, d["parameter"])
        ax.set_title(f"{output}: one-at-a-time sensitivity")
        ax.set_xlabel(output)
        ax.legend(loc="lower right")
    return fig


def plot_morris(table: pd.DataFrame, output: str, *, labels: int = 10) -> Figure:
    """Morris mu* against sigma; the ``labels`` largest mu* are named."""
    d = table[table["output"] == output]
    with _style():
        fig = _figure(7, 5)
        ax = fig.add_subplot()
        ax.errorbar(d["mu_star"], d["sigma"], xerr=d["mu_star_conf"], fmt="o", ms=4, color="tab:blue",
                    ecolor="tab:blue", alpha=0.7, lw=0.8)
        for _, r in d.nlargest(labels, "mu_star").iterrows():
            ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        lim = float(max(d["mu_star"].max(), d["sigma"].max(), 1e-12)) * 1.05
        ax.plot([0, lim], [0, lim], color="grey", ls=":", lw=1)
        ax.set_xlabel("mu* (mean |elementary effect|)")
        ax.set_ylabel("sigma (interactions / non-linearity)")
        ax.set_title(f"{output}: Morris screening")
    return fig


def plot_sobol(table: pd.DataFrame, output: str, *, top: int = 15) -> Figure:
    """First-order and total Sobol indices with their confidence intervals as error bars."""
    d = table[table["output"] == output].nlargest(top, "ST")
    with _style():
        fig = _figure(max(6.0, 0.55 * len(d) + 2), 4.8)
        ax = fig.add_subplot()
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["S1"], 0.4, yerr=d["S1_conf"], capsize=3, color="tab:blue", label="first order S1")
        ax.bar(x + 0.2, d["ST"], 0.4, yerr=d["ST_conf"], capsize=3, color="tab:orange", label="total ST")
        ax.set_xticks(x, d["parameter"], rotation=40, ha="right", fontsize=8)
        ax.set_ylabel("share of output variance")
        ax.set_title(f"{output}: Sobol indices")
        ax.legend()
    return fig


def plot_shares(shares: pd.DataFrame, *, title: str) -> Figure:
    """Heat map of the robustness share table (row scenario beats column scenario)."""
    with _style():
        n = len(shares)
        fig = _figure(1.2 * n + 3, 1.0 * n + 2)
        ax = fig.add_subplot()
        ax.grid(False)
        im = ax.imshow(shares.to_numpy(dtype=float), vmin=0, vmax=1, cmap="RdYlGn")
        ax.set_xticks(range(n), shares.columns, rotation=30, ha="right")
        ax.set_yticks(range(n), shares.index)
        for i in range(n):
            for j in range(n):
                v = shares.iat[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=9)
        fig.colorbar(im, ax=ax, label="share of members where row beats column")
        ax.set_title(title)
    return fig


def plot_distributions(values: pd.DataFrame, *, title: str) -> Figure:
    """Box plot of one KPI per scenario over the uncertainty members."""
    with _style():
        fig = _figure(max(5.0, 1.3 * values.shape[1] + 2), 4.5)
        ax = fig.add_subplot()
        ax.boxplot([values[c].to_numpy() for c in values.columns], whis=(5, 95), showfliers=False)
        ax.set_xticks(range(1, values.shape[1] + 1), values.columns, rotation=20, ha="right")
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
