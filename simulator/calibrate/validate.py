"""``innosim validate``: behaviour reproduction in and out of sample (Sterman 2000, ch. 21).

The hold-out fit (targets up to ``holdout_until`` only, from the model's ``calibration_holdout.toml``)
is compared on the later years with a naive trend forecast made from the same early data; the
full fit (the constants in the ``.mdl``) gives the in-sample errors over all years. For every
series: in-sample and out-of-sample MAPE, Theil's U against the naive forecast, and Theil's
decomposition of the out-of-sample error. A chart shows data, both fits and the naive forecast.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SimulatorError
from .fit import simulate
from .mdlfile import doc_field, read_elements
from .metrics import mape, naive_trend, theil_decomposition, theil_u
from .records import load_calibrated_params
from .setup import read_targets


def validation_table(model, targets: pd.DataFrame, holdout: dict, full: dict | None, until: float) -> pd.DataFrame:
    """One row per series: MAPE in and out of sample, Theil's U and decomposition (out of sample)."""
    series = list(dict.fromkeys(targets["series"]))
    years = np.array(sorted(set(targets["year"])))
    sim_h = simulate(model, holdout, series, years)
    sim_f = simulate(model, full or {}, series, years)
    rows = []
    for s in series:
        sub = targets[targets["series"] == s].sort_values("year")
        idx = np.searchsorted(years, sub["year"].to_numpy())
        obs, y = sub["value"].to_numpy(), sub["year"].to_numpy()
        h, f = sim_h[s][idx, 0], sim_f[s][idx, 0]
        early, late = y <= until, y > until
        row = {"series": s, "n_in": int(early.sum()), "n_out": int(late.sum()),
               "mape_in_holdout_fit": mape(h[early], obs[early]) if early.any() else np.nan,
               "mape_out": mape(h[late], obs[late]) if late.any() else np.nan,
               "mape_full_fit": mape(f, obs)}
        row.update({"mape_naive_out": np.nan, "theil_u": np.nan, "UM": np.nan, "US": np.nan, "UC": np.nan})
        if late.any():
            row.update(theil_decomposition(h[late], obs[late]))
            row.pop("MSE", None)
            if early.sum() >= 2:
                naive = naive_trend(y[early], obs[early], y[late])
                row["mape_naive_out"] = mape(naive, obs[late])
                row["theil_u"] = theil_u(h[late], naive, obs[late])
        rows.append(row)
    return pd.DataFrame(rows).set_index("series")


def _zh_names(model_path: Path) -> dict[str, str]:
    out = {}
    for name, el in read_elements(model_path).items():
        zh = doc_field(el.doc, "zh")
        if zh:
            out[name] = zh.split("(")[0].strip()
    return out


def plot_fit(path: str | Path, model, params: dict, targets: pd.DataFrame, until: float | None,
             *, holdout: dict | None = None, series: list[str] | None = None) -> Path:
    """Model against data per series; with ``holdout`` also the hold-out fit and the naive trend."""
    from .. import plotting

    bi = plotting.bilingual
    zh = _zh_names(Path(model.path))
    series = series or list(dict.fromkeys(targets["series"]))
    start = min(float(model.control["initial_time"]), float(targets["year"].min()))
    years = np.arange(np.ceil(start), float(targets["year"].max()) + 7)
    sim = simulate(model, params, series, years)
    sim_h = simulate(model, holdout, series, years) if holdout is not None else None
    ncol = 2 if len(series) <= 4 else 3
    nrow = -(-len(series) // ncol)
    with plotting.style():
        fig = plotting.figure(5.0 * ncol, 3.4 * nrow)
        axes = np.atleast_2d(fig.subplots(nrow, ncol, squeeze=False))
        _draw_fit(axes, series, targets, years, sim, sim_h, until, zh, model, bi)
        fig.savefig(path, dpi=110)
    return Path(path)


def _draw_fit(axes, series, targets, years, sim, sim_h, until, zh, model, bi) -> None:
    from .. import plotting

    P = plotting.PALETTE
    for ax, s in zip(axes.flat, series):
        sub = targets[targets["series"] == s].sort_values("year")
        ax.plot(sub["year"], sub["value"], "o", color=P[3], label=bi("数据", "data"))
        ax.plot(years, sim[s][:, 0], color=P[0], label=bi("全样本拟合", "full fit"))
        if sim_h is not None:
            ax.plot(years, sim_h[s][:, 0], color=P[2], ls="--", label=bi(f"≤{until:g} 拟合", f"hold-out fit ≤{until:g}"))
            early = sub[sub["year"] <= until]
            if len(early) >= 2:
                fut = years[years >= early["year"].max()]
                ax.plot(fut, naive_trend(early["year"], early["value"], fut), color="grey", ls=":",
                        label=bi("朴素趋势", "naive trend"))
        if until is not None:
            ax.axvline(until + 0.5, color="k", lw=0.6)
        ax.set_title(bi(zh.get(s, ""), s, width=50), fontsize=9)
        ax.set_xlabel(bi("年", "year"), fontsize=8)
        units = model.variables[s].units if s in model.variables else ""
        if units:
            ax.set_ylabel(units, fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innosim validate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="the model (a .mdl file, or for innosim a registered name)")
    p.add_argument("--setup", type=Path, default=None,
                   help="calibration set-up TOML (default: the model's data folder's calibration_setup.toml)")
    p.add_argument("--holdout-params", type=Path, default=None,
                   help="calibration file of the hold-out fit (default: calibration_holdout.toml in the "
                        "model's data folder)")
    p.add_argument("--out", type=Path, default=Path("out/validate"))
    return p


def main(argv: list[str] | None = None) -> int:
    """Print the validation table, write validation.csv and validation.png."""
    from .cli import calibration_paths, load_model_and_setup

    a = _parser().parse_args(argv)
    try:
        model, setup = load_model_and_setup(a.model, a.setup)
        if setup.holdout_until is None:
            raise ValueError(f"{setup.path}: [fit] holdout_until is not set")
        targets = read_targets(setup.targets)
        hold_path = a.holdout_params or calibration_paths(a.model)[1]
        holdout = load_calibrated_params(hold_path)
    except (OSError, ValueError, SimulatorError) as exc:
        print(f"innosim validate: {exc}", file=sys.stderr)
        return 2
    table = validation_table(model, targets, holdout, None, setup.holdout_until)
    a.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out / "validation.csv", float_format="%.6g")
    pct = ["mape_in_holdout_fit", "mape_out", "mape_naive_out", "mape_full_fit"]
    show = table.copy()
    show[pct] = show[pct] * 100
    print(f"hold-out fit on targets up to {setup.holdout_until:g} ({hold_path.name}); "
          f"full fit = the constants in {a.model.name}. MAPE in %.")
    print(show.to_string(float_format=lambda v: f"{v:.3g}"))
    png = plot_fit(a.out / "validation.png", model, {}, targets, setup.holdout_until, holdout=holdout,
                   series=list(setup.headline) or None)
    print(f"wrote {a.out / 'validation.csv'} and {png}")
    return 0
