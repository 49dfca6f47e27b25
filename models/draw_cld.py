"""Draw the causal loop diagram of zhejiang_innovation_openness.mdl to docs/cld.png.

    python models/draw_cld.py [output.png]

Nodes are placed by hand (no graph-layout library); links carry their polarity, loop labels
sit inside the loops. The loops are explained in models/zhejiang_innovation_openness.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

NODES = {  # name: (x, y) on a 20 x 13 canvas
    "R&D\nexpenditure": (3.0, 7.0),
    "desired R&D\nintensity": (1.2, 4.2),
    "R&D knowledge\nstock": (6.5, 9.2),
    "knowledge\nobsolescence": (6.6, 12.6),
    "technology\nlevel": (9.6, 6.6),
    "R&D talent": (0.9, 10.4),
    "cost per\nresearcher": (3.4, 10.0),
    "absorptive\ncapacity": (3.0, 12.6),
    "spillovers\n(LBE, FDI, ODI)": (9.6, 11.2),
    "technology gap": (12.6, 9.2),
    "FDI stock": (13.6, 12.2),
    "ODI stock": (16.2, 10.6),
    "financial\necology": (5.4, 4.6),
    "exporter share\n(Melitz)": (12.0, 5.4),
    "export\ndemand": (15.4, 7.6),
    "export\ncapacity": (16.4, 4.6),
    "high-tech\nexports": (18.6, 7.2),
    "brand equity": (18.8, 2.8),
    "high-tech\nenterprises": (10.0, 2.4),
    "industrial\nclusters": (14.0, 1.2),
    "export\ncompetitiveness": (17.8, 0.6),
    "enterprise\nroom": (6.4, 0.8),
}

LINKS = [  # (from, to, polarity, curvature)
    ("desired R&D\nintensity", "R&D\nexpenditure", "+", -0.2),
    ("R&D\nexpenditure", "R&D knowledge\nstock", "+", -0.2),
    ("R&D knowledge\nstock", "knowledge\nobsolescence", "+", 0.2),
    ("knowledge\nobsolescence", "R&D knowledge\nstock", "−", 0.35),
    ("R&D knowledge\nstock", "technology\nlevel", "+", -0.15),
    ("technology\nlevel", "desired R&D\nintensity", "+", -0.15),
    ("R&D\nexpenditure", "R&D talent", "+", -0.2),
    ("R&D\nexpenditure", "cost per\nresearcher", "+", 0.15),
    ("R&D talent", "cost per\nresearcher", "−", 0.2),
    ("cost per\nresearcher", "R&D knowledge\nstock", "−", -0.15),
    ("cost per\nresearcher", "desired R&D\nintensity", "−", 0.35),
    ("R&D talent", "absorptive\ncapacity", "+", -0.2),
    ("absorptive\ncapacity", "spillovers\n(LBE, FDI, ODI)", "+", -0.1),
    ("spillovers\n(LBE, FDI, ODI)", "R&D knowledge\nstock", "+", 0.1),
    ("technology\nlevel", "technology gap", "−", -0.2),
    ("technology gap", "spillovers\n(LBE, FDI, ODI)", "−", 0.2),
    ("technology\nlevel", "FDI stock", "+", -0.3),
    ("FDI stock", "spillovers\n(LBE, FDI, ODI)", "+", 0.15),
    ("FDI stock", "export\ndemand", "+", 0.2),
    ("technology gap", "ODI stock", "+", -0.15),
    ("absorptive\ncapacity", "ODI stock", "+", -0.35),
    ("ODI stock", "spillovers\n(LBE, FDI, ODI)", "+", 0.25),
    ("technology\nlevel", "financial\necology", "+", 0.2),
    ("financial\necology", "desired R&D\nintensity", "+", 0.15),
    ("R&D\nexpenditure", "financial\necology", "−", 0.2),
    ("technology\nlevel", "exporter share\n(Melitz)", "+", -0.1),
    ("exporter share\n(Melitz)", "export\ndemand", "+", -0.1),
    ("high-tech\nenterprises", "export\ndemand", "+", -0.25),
    ("export\ndemand", "export\ncapacity", "+", -0.2),
    ("export\ndemand", "high-tech\nexports", "+", -0.1),
    ("export\ncapacity", "high-tech\nexports", "+", 0.2),
    ("high-tech\nexports", "spillovers\n(LBE, FDI, ODI)", "+", 0.25),
    ("high-tech\nexports", "brand equity", "+", -0.3),
    ("brand equity", "export\ndemand", "+", 0.25),
    ("desired R&D\nintensity", "high-tech\nenterprises", "+", 0.25),
    ("high-tech\nenterprises", "industrial\nclusters", "+", -0.2),
    ("industrial\nclusters", "high-tech\nenterprises", "+", -0.3),
    ("industrial\nclusters", "export\ncompetitiveness", "+", -0.2),
    ("financial\necology", "high-tech\nenterprises", "+", 0.15),
    ("high-tech\nenterprises", "enterprise\nroom", "−", -0.2),
    ("enterprise\nroom", "high-tech\nenterprises", "+", -0.25),
]

LOOPS = [  # (label, x, y, colour): numbering as in models/zhejiang_innovation_openness.md
    ("R1", 5.4, 7.2, "C3"), ("R2", 13.6, 7.6, "C3"), ("R3", 7.0, 4.6, "C3"),
    ("R4", 4.0, 5.8, "C3"), ("R5", 3.4, 11.4, "C3"), ("R6", 11.0, 10.2, "C3"),
    ("R7", 12.6, 2.0, "C3"), ("R8", 17.6, 5.4, "C3"), ("R9", 5.2, 3.0, "C3"),
    ("B1", 7.3, 11.0, "C0"), ("B2", 2.2, 8.6, "C0"), ("B4", 8.1, 1.6, "C0"),
]

EXOGENOUS = [  # (text, x, y, target node)
    ("levers: super-deduction, subsidy, CIT\n(scaled by the budget ceiling)", 0.0, 1.6, "desired R&D\nintensity"),
    ("finance support", 3.6, 2.6, "financial\necology"),
    ("regional fund, incubators, CIT", 7.6, 4.0, "high-tech\nenterprises"),
    ("external demand: world trade volume x price\nx yuan per dollar x China's share; tariffs", 15.0, 9.8, "export\ndemand"),
    ("brand programme", 19.0, 1.4, "brand equity"),
    ("platforms (FDI), M&A (ODI)", 17.0, 12.6, "FDI stock"),
    ("GDP (data, projection)", 0.2, 7.6, "R&D\nexpenditure"),
]


def draw(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(16, 10.5))
    ax.set_xlim(-0.5, 20.5)
    ax.set_ylim(-0.3, 13.3)
    ax.axis("off")
    box = dict(boxstyle="round,pad=0.35", fc="#f7f7f2", ec="#555555", lw=1.0)
    for name, (x, y) in NODES.items():
        ax.text(x, y, name, ha="center", va="center", fontsize=10, bbox=box, zorder=3)
    for src, dst, pol, rad in LINKS:
        (x0, y0), (x1, y1) = NODES[src], NODES[dst]
        arrow = FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=f"arc3,rad={rad}",
                                arrowstyle="-|>", mutation_scale=14, lw=1.2, shrinkA=26,
                                shrinkB=26, color="#333333", zorder=2)
        ax.add_patch(arrow)
        # polarity near the head: point at 80 % along the quadratic Bezier
        mx, my = (x0 + x1) / 2 + rad * (y1 - y0), (y0 + y1) / 2 - rad * (x1 - x0)
        t = 0.78
        px = (1 - t) ** 2 * x0 + 2 * t * (1 - t) * mx + t ** 2 * x1
        py = (1 - t) ** 2 * y0 + 2 * t * (1 - t) * my + t ** 2 * y1
        ax.text(px, py, pol, fontsize=13, fontweight="bold", ha="center", va="center",
                color="C3" if pol == "−" else "C2", zorder=4)
    for label, x, y, col in LOOPS:
        ax.text(x, y, f"↻ {label}", fontsize=11, fontweight="bold", color=col, ha="center",
                va="center", zorder=4)
    for text, x, y, target in EXOGENOUS:
        tx, ty = NODES[target]
        ax.annotate(text, xy=(tx, ty), xytext=(x, y), fontsize=8.5, color="#6b6b6b",
                    style="italic", arrowprops=dict(arrowstyle="->", color="#9a9a9a", lw=0.8,
                                                    shrinkB=22, linestyle="--"))
    ax.set_title("innosim — Zhejiang innovation–openness model: causal loop diagram\n"
                 "R = reinforcing, B = balancing (see models/zhejiang_innovation_openness.md; B3 and B5-B8 are saturations and ceilings, not drawn)", fontsize=13)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "cld.png"
    print(draw(out))
