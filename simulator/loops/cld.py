"""Causal loop diagrams and dominance charts drawn from the model (matplotlib, networkx layout).

Labels are the variables' names, or with ``lang="zh"`` the Chinese name a variable's
documentation gives (``zh: …; en: …``), in a CJK font found through matplotlib's font manager.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei")
COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4",
          "#b2df8a", "#fb9a99", "#cab2d6", "#6a3d9a")


def pyplot(cjk: bool = False):
    """matplotlib's pyplot on the Agg backend; with ``cjk`` a CJK font (a warning when there is none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if cjk:
        font = cjk_font()
        if font is None:
            warnings.warn("no CJK font found (install fonts-noto-cjk): Chinese labels will show as boxes",
                          stacklevel=2)
        else:
            plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
            plt.rcParams["axes.unicode_minus"] = False
    return plt


def cjk_font() -> str | None:
    """The name of an installed CJK font, registering system font files matplotlib has not cached."""
    from matplotlib import font_manager

    def pick():
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((f for f in CJK_FONTS if f in names), None)

    font = pick()
    if font is None:
        for path in font_manager.findSystemFonts():
            if "cjk" in path.lower() or "wqy" in path.lower():
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        font = pick()
    return font


def zh_label(documentation: str) -> str | None:
    """The Chinese name in a documentation field ``zh: 名称 (注释); en: …``."""
    m = re.search(r"zh:\s*([^;]+)", documentation or "")
    if not m:
        return None
    return re.split(r"\s*[(（:：=]", m.group(1).strip())[0].strip() or None


def _wrap(text: str, width: int) -> str:
    if re.search(r"[\u4e00-\u9fff]", text):
        return "\n".join(text[i:i + 6] for i in range(0, len(text), 6))
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + len(w) + 1 > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "\n".join(lines + [cur])


def draw_cld(loopset, loops, *, labels: dict | None = None, title: str = "", path=None, fmt: str = "png"):
    """Draw the variables and links of ``loops`` (a list of :class:`~simulator.loops.Loop`), each
    loop's links in its colour, polarities at the arrow heads, stocks boxed. ``labels``: variable
    name -> label. Writes ``path`` when given; returns the figure."""
    import networkx as nx

    cjk = any(re.search(r"[\u4e00-\u9fff]", str(v)) for v in (labels or {}).values())
    plt = pyplot(cjk)
    structure = loopset.structure
    g = nx.DiGraph()
    owner: dict = {}
    for j, lp in enumerate(loops):
        for a, b in zip(lp.nodes, lp.nodes[1:] + lp.nodes[:1]):
            g.add_edge(a, b)
            owner.setdefault((a, b), j)
    if not g.number_of_nodes():
        raise ValueError("no loop to draw")
    pos = nx.kamada_kawai_layout(g) if g.number_of_nodes() > 2 else nx.circular_layout(g)
    fig, ax = plt.subplots(figsize=(18, 12))
    labels = labels or {}
    for n, (x, y) in pos.items():
        name = structure.names[n]
        text = _wrap(labels.get(name, name), 16)
        box = dict(boxstyle="square,pad=0.3", fc="#fff7e6", ec="#444") if structure.is_stock(n) else \
            dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85)
        ax.text(x, y, text, ha="center", va="center", fontsize=8, bbox=box, zorder=3)
    for (a, b), j in owner.items():
        pol = loopset.link_polarity.get((a, b), "?")
        color = COLORS[j % len(COLORS)]
        if a == b:
            x, y = pos[a]
            ax.annotate("", xy=(x + 0.02, y + 0.05), xytext=(x - 0.02, y + 0.05),
                        arrowprops=dict(arrowstyle="-|>", color=color, connectionstyle="arc3,rad=-2.5", lw=1.4))
            ax.text(x, y + 0.11, pol.replace("-", "−"), color=color, ha="center", fontsize=10, weight="bold")
            continue
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4, shrinkA=18, shrinkB=18,
                                    connectionstyle="arc3,rad=0.15"))
        p = np.asarray(pos[a]) * 0.25 + np.asarray(pos[b]) * 0.75
        ax.text(p[0], p[1], pol.replace("-", "−"), color=color, fontsize=11, weight="bold", ha="center",
                va="center", zorder=4)
    handles = [plt.Line2D([], [], color=COLORS[j % len(COLORS)], lw=2,
                          label=_wrap(f"{lp.id} {lp.name} ({lp.polarity})", 60))
               for j, lp in enumerate(loops)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title)
    xy = np.array(list(pos.values()))
    pad = 0.12 * max(float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])), 1.0)
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    ax.axis("off")
    fig.subplots_adjust(left=0.02, right=0.72, top=0.95, bottom=0.02)
    if path is not None:
        fig.savefig(path, format=fmt, dpi=130)
    return fig


def draw_dominance(scores, *, top: int = 6, title: str = "", path=None, fmt: str = "png"):
    """Relative loop scores over time of the ``top`` loops by mean absolute relative score: the
    median over members, with a 5–95 % band for an ensemble. Writes ``path`` when given."""
    plt = pyplot(False)
    rel = scores.relative
    order = np.argsort(-np.abs(rel).mean(axis=(1, 2)), kind="stable")[:top]
    fig, ax = plt.subplots(figsize=(11, 8))
    for c, j in enumerate(order):
        lp = scores.loops[j]
        color = COLORS[c % len(COLORS)]
        med = np.median(rel[j], axis=1)
        label = f"{lp.id} {lp.name}"
        ax.plot(scores.times, med, color=color, lw=1.8,
                label=(label if len(label) <= 90 else label[:89] + "…") + f" ({lp.polarity})")
        if rel.shape[2] > 1:
            lo, hi = np.quantile(rel[j], [0.05, 0.95], axis=1)
            ax.fill_between(scores.times, lo, hi, color=color, alpha=0.15, lw=0)
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_ylabel("relative loop score (+ reinforcing, − balancing)")
    ax.set_xlabel("time")
    ax.set_ylim(-1.05, 1.05)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.set_title(title)
    fig.subplots_adjust(left=0.08, right=0.97, top=0.93, bottom=0.42)
    if path is not None:
        fig.savefig(path, format=fmt, dpi=130)
    return fig
