"""Every chart type renders with Chinese labels and no "Glyph … missing" warning; the shared style
uses a colour-blind-safe palette; a machine without a CJK font gets one clear warning and English
labels instead of boxes."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from simulator import plotting

needs_cjk = pytest.mark.skipif(
    plotting.cjk_font() is None,
    reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk; .ci/run installs it)")

ZH_NAMES = ["研发加计扣除 RD Super Deduction", "区域基金 Regional Fund", "人才政策 Talent", "开放平台 Platform"]


def _rendered_without_missing_glyphs(render) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = render()
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not missing, missing[:3]
    return out


def _sensitivity_figures():
    from sensitivity.report import (
        plot_bands,
        plot_distributions,
        plot_morris,
        plot_shares,
        plot_sobol,
        plot_tornado,
    )

    rng = np.random.default_rng(0)
    out = "高新技术出口 (2030)"
    t = np.arange(2020, 2031.0)
    bands = pd.DataFrame({"variable": "高新技术出口", "time": t, "p5": t - 3, "p25": t - 1, "p50": t,
                          "p75": t + 1, "p95": t + 3})
    oat = pd.DataFrame({"output": out, "parameter": ZH_NAMES, "y_base": 10.0, "y_low": [8, 9, 9.5, 9.8],
                        "y_high": [12, 11, 10.4, 10.1], "abs_swing": [4, 2, 0.9, 0.3]})
    morris = pd.DataFrame({"output": out, "parameter": ZH_NAMES * 3, "mu_star": rng.random(12),
                           "mu_star_conf": 0.05, "sigma": rng.random(12)})
    sobol = pd.DataFrame({"output": out, "parameter": ZH_NAMES, "S1": [0.5, 0.2, 0.1, 0.0], "S1_conf": 0.05,
                          "ST": [0.6, 0.3, 0.1, 0.02], "ST_conf": 0.05})
    shares = pd.DataFrame([[np.nan, 0.7], [0.3, np.nan]], index=["基准 base", "政策组合 package"],
                          columns=["基准 base", "政策组合 package"])
    values = pd.DataFrame({"基准 base": rng.random(50), "政策组合 package": rng.random(50)})
    label = plotting.bilingual("高新技术产品出口", "High-tech exports")
    return [plot_bands(bands, "高新技术出口", years=[2030], units="亿元/年", label=label),
            plot_tornado(oat, out, units="亿元/年", label=label),
            plot_morris(morris, out, units="亿元/年", label=label),
            plot_sobol(sobol, out, label=label),
            plot_shares(shares, title="稳健性 robustness"),
            plot_distributions(values, title="分布 distribution", units="亿元/年", label=label)]


@needs_cjk
def test_every_sensitivity_chart_renders_chinese_labels():
    figures = _rendered_without_missing_glyphs(_sensitivity_figures)
    for fig in figures:
        png = _rendered_without_missing_glyphs(lambda fig=fig: plotting.png(fig))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    morris = figures[2]
    key = "\n".join(t.get_text() for ax in morris.axes for t in ax.texts)
    assert all(name in key for name in ZH_NAMES)   # named once, in the key, not next to the points
    assert all(ax.get_xlabel() or not ax.axison for fig in figures for ax in fig.axes if ax.get_label() != "<colorbar>")


@needs_cjk
@pytest.mark.parametrize("name", ["industrial_symbiosis"])
def test_comparison_and_calibration_charts_render_chinese_labels(name, tmp_path):
    import innosim
    from policies.report import chart_cost_effect, chart_differences, chart_trajectories

    comp = innosim.compare(name, ["baseline", *innosim.scenarios(name)[:3]], years=[2035])
    cat = innosim.catalogue(name)
    for chart in (chart_trajectories, chart_differences, chart_cost_effect):
        png = _rendered_without_missing_glyphs(lambda chart=chart: chart(comp, cat))
        assert png[:8] == b"\x89PNG\r\n\x1a\n", chart.__name__


@needs_cjk
def test_calibration_fit_chart_renders_chinese_labels(tmp_path):
    import innosim
    from simulator.calibrate.setup import read_targets
    from simulator.calibrate.validate import plot_fit

    info = innosim.info(None)
    if "calibration_setup" not in info.files:
        pytest.skip("the default model has no calibration set-up")
    from simulator.calibrate.cli import load_model_and_setup

    model, setup = load_model_and_setup(info.path, info.files["calibration_setup"])
    targets = read_targets(setup.targets)
    path = _rendered_without_missing_glyphs(
        lambda: plot_fit(tmp_path / "fit.png", model, {}, targets, None, series=list(dict.fromkeys(targets.series))[:2]))
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_palette_is_okabe_ito_and_bilingual_labels():
    assert plotting.PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")
    assert plotting.rc()["axes.prop_cycle"].by_key()["color"][:8] == list(plotting.PALETTE)
    if plotting.has_cjk():
        assert plotting.bilingual("年", "year") == "year / 年"
        assert plotting.bilingual("年份", "calendar year", width=8).split("\n") == ["calendar", "year", "年份"]
    assert plotting.bilingual("", "year") == "year"


def test_without_a_cjk_font_one_clear_warning_and_english_labels(monkeypatch):
    monkeypatch.setattr(plotting, "cjk_font", lambda: None)
    plotting.has_cjk.cache_clear()
    try:
        with pytest.warns(UserWarning, match="fonts-noto-cjk"):
            assert plotting.bilingual("年", "year") == "year"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert plotting.bilingual("年", "year") == "year"   # warned once per process
        assert plotting.rc()["font.family"] == ["DejaVu Sans"]
    finally:
        plotting.has_cjk.cache_clear()
