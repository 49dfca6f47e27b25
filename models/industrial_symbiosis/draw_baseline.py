"""Charts of the industrial symbiosis model for its documentation (zh/en labels, CJK font).

    python models/industrial_symbiosis/draw_baseline.py   # writes docs/symbiosis_baseline.png
                                                         # and docs/symbiosis_levers.png

1. The baseline: the two symbiosis coefficients with the mode read from them (one-sided,
   commensal, mutualistic), the innovation stage, and the host network's dip and recovery.
2. What two levers of [ref:transfer_ecology, §4] change: the chain chief system and innovation alliances, each
   alone from 2026, against the baseline.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODEL = HERE.parent / "industrial_symbiosis.mdl"
MODE_COLOURS = {1: "#e4a1a1", 2: "#f2d58c", 3: "#9fd3a8"}
MODE_NAMES = {1: "单利 (寄生) 共生 one-sided", 2: "偏利共生 commensal", 3: "互利共生 mutualistic"}
STAGE_NAMES = {1: "线性 linear", 2: "集成 integrated", 3: "开放 open"}


def _cjk_font() -> None:
    """Use a CJK font when one is installed (fonts-noto-cjk), registering its files if needed."""
    wanted = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "SimHei")
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names.intersection(wanted):
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path.lower():
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
    found = [f for f in wanted if f in names]
    if not found:
        raise SystemExit("no CJK font found: install fonts-noto-cjk to draw the Chinese labels")
    plt.rcParams["font.sans-serif"] = [found[0], "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False


def _runs() -> dict:
    import simulator
    model = simulator.load(MODEL)
    opts = simulator.RunOptions(backend="numpy")
    runs = {"baseline": {}, "chain_chief": {"Chain Chief System": 1.0},
            "innovation_alliances": {"Innovation Alliances": 1.0}}
    out = {}
    for key, levers in runs.items():
        # levers from 2026 on, as in the scenario files (a step just before 2026)
        import pandas as pd
        params = {name: pd.Series([0.0, 0.0, value, value], index=[2025, 2026 - 1e-6, 2026, 2065])
                  for name, value in levers.items()}
        out[key] = model.run(params, method="euler", options=opts).to_frame()
    return out


def _mode_bands(ax, f, alpha=0.55):
    years, mode = f.index.to_numpy(float), f["Symbiosis Mode"].to_numpy()
    start = years[0]
    for k in range(1, len(years) + 1):
        if k == len(years) or mode[k] != mode[k - 1]:
            end = years[k] if k < len(years) else years[-1]
            ax.axvspan(start, end, color=MODE_COLOURS.get(int(mode[k - 1]), "#dddddd"), alpha=alpha, lw=0)
            start = end


def draw_baseline(f, path: Path) -> Path:
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1, 3]})
    ax = axes[0]
    _mode_bands(ax, f)
    ax.plot(f.index, f["Source Benefit Coefficient"], color="#1f4e79", lw=2, label="σ_SH 转出地受益系数 (source gains)")
    ax.plot(f.index, f["Host Benefit Coefficient"], color="#c0392b", lw=2, label="σ_HS 承接地受益系数 (host gains)")
    ax.axhline(0.05, color="grey", lw=0.8, ls=":", label="中性带 neutral band ±0.05")
    ax.axhline(-0.05, color="grey", lw=0.8, ls=":")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("共生系数 symbiosis coefficient")
    ax.set_title("基准情景: 共生模式由共生系数读出 / baseline: the mode is read from the coefficients")
    handles = ax.get_legend_handles_labels()[0] + [Patch(color=c, alpha=0.55, label=MODE_NAMES[m])
                                                   for m, c in MODE_COLOURS.items()]
    ax.legend(handles=handles, loc="lower right", fontsize=8, ncol=2)

    ax = axes[1]
    ax.step(f.index, f["Innovation Stage"], where="post", color="#5b2c6f", lw=2)
    ax.set_yticks([1, 2, 3], [STAGE_NAMES[k] for k in (1, 2, 3)], fontsize=8)
    ax.set_ylim(0.6, 3.4)
    ax.set_ylabel("创新行为\ninnovation stage", fontsize=9)

    ax = axes[2]
    for col, colour, label in (("Host Network Index", "black", "综合指数 index"),):
        ax.plot(f.index, f[col], color=colour, lw=2.5, label=label)
    base = f.iloc[0]
    for col, colour, label in (("Embedded Host Firms", "#2e86c1", "规模 scale (嵌入企业 embedded firms)"),
                               ("Host Network Strength", "#d68910", "强度 strength (平均节点强度)"),
                               ("Host Network Density", "#229954", "密度 density")):
        ax.plot(f.index, f[col] / base[col], color=colour, lw=1.4, ls="--", label=label)
    ax.plot(f.index, f["Host Leading Firms"] / base["Host Leading Firms"], color="#7f8c8d", lw=1.2, ls=":",
            label="龙头企业 leading firms")
    ax.axhline(1, color="grey", lw=0.8)
    low = f["Host Network Index"].idxmin()
    ax.annotate(f"阵痛最低点 deepest dip {low:.0f}: {f.loc[low, 'Host Network Index']:.3f}",
                xy=(low, f.loc[low, "Host Network Index"]), xytext=(low + 4, 0.55),
                arrowprops={"arrowstyle": "->", "color": "black"}, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(0.45, 5.0)
    ax.set_yticks([0.5, 0.75, 1, 1.5, 2, 3, 4], ["0.5", "0.75", "1", "1.5", "2", "3", "4"])
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("承接地网络 (初始 = 1)\nhost network (start = 1)")
    ax.set_xlabel("年份 year")
    ax.legend(loc="upper left", fontsize=8)
    fig.text(0.01, 0.005, "未经校准的理论模型 ([ref:transfer_ecology, §2-§3]) / uncalibrated theory model ([ref:transfer_ecology, §2-§3])",
             fontsize=8, color="grey")
    fig.tight_layout(rect=(0, 0.015, 1, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def draw_levers(runs: dict, path: Path) -> Path:
    labels = {"baseline": "基准 baseline", "chain_chief": "链长制 chain chief ([ref:transfer_ecology, §4.2])",
              "innovation_alliances": "创新联盟 alliances ([ref:transfer_ecology, §4.1])"}
    colours = {"baseline": "black", "chain_chief": "#1f618d", "innovation_alliances": "#b03a2e"}
    fig, axes = plt.subplots(2, 1, figsize=(9, 7), gridspec_kw={"height_ratios": [2, 3]})
    ax = axes[0]
    for row, f in enumerate(runs.values()):
        years, mode, stage = f.index.to_numpy(float), f["Symbiosis Mode"].to_numpy(), f["Innovation Stage"].to_numpy()
        for k in range(len(years) - 1):
            ax.barh(row, 1, left=years[k], color=MODE_COLOURS[int(mode[k])], height=0.5, lw=0)
        for s in (2, 3):
            hit = years[stage >= s]
            if len(hit):
                ax.plot(hit[0], row + 0.38, marker="v", color="#5b2c6f", ms=7)
                ax.text(hit[0] + 0.3, row + 0.32, STAGE_NAMES[s].split()[0], fontsize=7, color="#5b2c6f")
        hit = years[f["Balanced Mutualism"].to_numpy() >= 1]
        if len(hit):
            ax.plot(hit[0], row - 0.36, marker="D", color="#196f3d", ms=5)
            ax.text(hit[0] + 0.3, row - 0.3, "均衡 balanced", fontsize=7, color="#196f3d")
    ax.set_yticks(range(len(runs)), [labels[k] for k in runs], fontsize=8)
    ax.set_ylim(len(runs) + 0.2, -0.7)
    ax.set_xlim(2025, 2065)
    ax.set_title("共生模式与创新阶段 / mode and stage (▼ 集成/开放 integrated/open, ◆ 均衡 balanced)", fontsize=11)
    ax.legend(handles=[Patch(color=c, label=MODE_NAMES[m]) for m, c in MODE_COLOURS.items()],
              fontsize=7, ncol=3, loc="lower right")
    ax = axes[1]
    for key, f in runs.items():
        ax.plot(f.index, f["Host Network Index"], color=colours[key], lw=2, label=labels[key])
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xlim(2025, 2065)
    ax.set_ylabel("承接地网络综合指数\nhost network index")
    ax.set_xlabel("年份 year")
    ax.legend(fontsize=8, loc="upper left")
    fig.text(0.01, 0.005, "杠杆自 2026 年起满强度单独实施 / each lever alone at full intensity from 2026; uncalibrated theory model",
             fontsize=8, color="grey")
    fig.tight_layout(rect=(0, 0.015, 1, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main() -> None:
    _cjk_font()
    runs = _runs()
    docs = ROOT / "docs"
    print(draw_baseline(runs["baseline"], docs / "symbiosis_baseline.png"))
    print(draw_levers(runs, docs / "symbiosis_levers.png"))


if __name__ == "__main__":
    main()
