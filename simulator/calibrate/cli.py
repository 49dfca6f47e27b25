"""``innosim calibrate``: fit the free parameters named in the model's calibration set-up file.

By default the results go to an output folder (``out/calibrate``): the calibration TOML and a
chart. ``--in-place`` instead updates the model's own calibration file and writes the fitted
constants into the ``.mdl`` (so that Vensim, pysd and this engine all open the calibrated model);
with ``--until YEAR`` it updates the hold-out calibration file used by ``innosim validate`` and
leaves the ``.mdl`` alone. The files default to the model's data folder (``<name>/`` beside
``<name>.mdl``): ``calibration_setup.toml``, ``calibration.toml``, ``calibration_holdout.toml``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SimulatorError
from .fit import FitOptions, calibrate
from .mdlfile import constant_value, read_elements, write_params_to_mdl
from .records import load_calibrated_params, write_calibration
from .setup import data_folder, default_setup_path, load_setup, read_targets


def calibration_paths(model: Path) -> tuple[Path, Path]:
    """(full-sample calibration file, hold-out calibration file) in the model's data folder."""
    folder = data_folder(model)
    return folder / "calibration.toml", folder / "calibration_holdout.toml"


def model_constants(model: Path) -> dict[str, float]:
    out = {}
    for name, el in read_elements(model).items():
        v = constant_value(el)
        if v is not None:
            out[name] = v
    return out


def load_model_and_setup(model_path: Path, setup_path: Path | None):
    """The engine's model and its calibration set-up (by default the one in its data folder)."""
    import simulator

    model = simulator.load(model_path)
    setup = load_setup(setup_path or default_setup_path(model_path), model_path, model_constants(model_path))
    return model, setup


def mape_table(mape: dict[str, float], targets, until: float | None) -> str:
    """MAPE per series with the number of data points it rests on. A series with one point is
    fitted exactly by any free parameter that moves it, so its 0 % says nothing: it is shown as
    such instead of as a score."""
    fitted = targets if until is None else targets[targets["year"] <= until]
    points = fitted.groupby("series", sort=False).size()
    width = max([28, *(len(s) + 2 for s in mape)])
    lines = [f"{'series':<{width}}{'points':>7}{'MAPE %':>9}"]
    for s, v in mape.items():
        n = int(points.get(s, 0))
        score = f"{100 * v:>9.2f}" if n > 1 else "   (one point: fitted, not scored)"
        lines.append(f"{s:<{width}}{n:>7d}{score}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innosim calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="the model (a .mdl file, or for innosim a registered name)")
    p.add_argument("--setup", type=Path, default=None,
                   help="calibration set-up TOML (default: the model's data folder's calibration_setup.toml)")
    p.add_argument("--calibration", type=Path, default=None,
                   help="the model's full-sample calibration file that --in-place updates "
                        "(default: calibration.toml in its data folder)")
    p.add_argument("--holdout-calibration", type=Path, default=None,
                   help="the model's hold-out calibration file (default: calibration_holdout.toml in its data folder)")
    p.add_argument("--targets", type=Path, default=None, help="override the set-up's targets CSV")
    p.add_argument("--out", type=Path, default=Path("out/calibrate"), help="output folder (default out/calibrate)")
    p.add_argument("--in-place", action="store_true",
                   help="update the model's calibration file (and, for a full fit, the .mdl constants)")
    p.add_argument("--until", type=float, default=None, help="fit targets up to this year only")
    p.add_argument("--holdout", action="store_true", help="fit up to the set-up's holdout_until year")
    p.add_argument("--maxiter", type=int, default=150, help="differential-evolution generations")
    p.add_argument("--popsize", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--param", action="append", default=[], metavar="NAME",
                   help="fit only this parameter (repeatable; default: every one in the set-up)")
    p.add_argument("--start", type=Path, default=None,
                   help="calibration file whose values seed the first population (default: the priors)")
    p.add_argument("--no-polish", action="store_true", help="skip the least-squares polish")
    p.add_argument("--no-plot", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        model, setup = load_model_and_setup(a.model, a.setup)
        if a.param:
            setup = setup.only(a.param)
        targets = read_targets(a.targets or setup.targets)
        until = setup.holdout_until if a.holdout else a.until
        start = load_calibrated_params(a.start) if a.start else None
        opts = FitOptions(maxiter=a.maxiter, popsize=a.popsize, seed=a.seed, until=until,
                          polish=not a.no_polish, start=start)
        result = calibrate(model, setup, targets, opts)
    except (OSError, ValueError, SimulatorError) as exc:
        print(f"innosim calibrate: {exc}", file=sys.stderr)
        return 2
    full, holdout = calibration_paths(a.model)
    full, holdout = a.calibration or full, a.holdout_calibration or holdout
    if a.in_place:
        dest = full if until is None else holdout
    else:
        a.out.mkdir(parents=True, exist_ok=True)
        dest = a.out / (full.name if until is None else holdout.name)
    write_calibration(dest, result, model=a.model, setup=setup.path)
    print(mape_table(result.mape, targets, until))
    at_bound = [p.name for p in result.free
                if min(result.params[p.name] - p.lower, p.upper - result.params[p.name]) < 1e-3 * (p.upper - p.lower)]
    if at_bound:
        print(f"at a bound of its range: {', '.join(at_bound)}")
    print(f"wrote {dest}")
    if a.in_place and until is None:
        write_params_to_mdl(a.model, result.params)
        print(f"wrote the fitted constants into {a.model}")
    if not a.no_plot:
        from .validate import plot_fit

        png = dest.with_suffix(".png")
        plot_fit(png, model, result.params, targets, until)
        print(f"wrote {png}")
    return 0
