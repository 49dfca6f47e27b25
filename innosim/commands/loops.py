"""``innosim loops``: the feedback loops of a model, which of them dominate over a run, and its CLD.

Writes to ``--out`` (default ``out/loops-<model>[-<scenario>]``): ``loops.csv`` (every loop with its
polarity, path and scores), ``dominance.csv`` (the dominant loop at each save time),
``dominance.png`` (relative loop scores over time) and ``cld.png`` (the causal loop diagram of the
dominant and documented loops); ``--format svg`` writes SVG charts instead.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import simulator
from simulator import loops
from simulator.clitools import int_between
from simulator.errors import SimulatorError
from simulator.loops.annotations import documented_loops
from simulator.loops.cld import draw_cld, draw_dominance, zh_label
from simulator.outputs import safe_stem, write_atomic

from .common import chosen_model


def add_commands(subparsers) -> None:
    """Register ``loops`` on ``parser.add_subparsers()``."""
    p = subparsers.add_parser("loops", help="feedback loops, their dominance over a run (Loops that Matter), CLD")
    p.add_argument("model_arg", nargs="?", metavar="MODEL",
                   help="a registered model name or a model file (default: the registry's default model)")
    p.add_argument("--model", default=None, metavar="NAME|PATH", help="the same as MODEL")
    p.add_argument("--scenario", help="score the loops under this scenario of the model (built-in id or .toml)")
    p.add_argument("--method", default="euler", help="integration method (default euler, at TIME STEP)")
    p.add_argument("--top", type=int_between(1, 50), default=8, help="loops shown in the table and charts (8)")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="labels of the CLD (zh: from the "
                   "variables' documentation, in a CJK font)")
    p.add_argument("--format", choices=["png", "svg"], default="png", help="chart format (png)")
    p.add_argument("--out", help="output folder (default out/loops-<model>[-<scenario>])")
    p.set_defaults(func=_loops)


def _scenario_params(name: str, model, info) -> dict:
    from policies import load_scenario, regions, scenario_params

    if "levers" not in info.files:
        raise SimulatorError(f"model {info.name!r} has no lever catalogue, so it has no scenarios; drop --scenario")
    catalogue = info.catalogue()
    scenario = load_scenario(name, catalogue=catalogue, cities=regions(model, catalogue))
    return scenario_params(scenario, model, catalogue=catalogue)


def _labels(model, lang: str) -> dict:
    if lang != "zh":
        return {}
    out = {}
    for name, var in model.variables.items():
        zh = zh_label(var.documentation)
        if zh:
            out[name] = zh
    return out


def _loops(args) -> int:
    if args.model_arg and args.model and args.model_arg != args.model:
        raise SimulatorError("give the model once: as MODEL or as --model")
    info = chosen_model(args.model_arg or args.model)
    model = simulator.load(info.path)
    params = _scenario_params(args.scenario, model, info) if args.scenario else None
    doc = documented_loops(info.documentation) if getattr(info, "documentation", None) else []
    found = loops.find_loops(model, method=args.method, names=doc or None)
    if not found.loops:
        print(f"{info.name}: no feedback loops (no cycle of causes runs through a stock): nothing to score")
        return 0
    scores = loops.score_loops(model, found, params, method=args.method)
    stem = safe_stem(info.name) + (f"-{safe_stem(Path(args.scenario).stem)}" if args.scenario else "")
    out = Path(args.out or f"out/loops-{stem}")
    out.mkdir(parents=True, exist_ok=True)
    table = found.frame()
    rel = scores.relative[:, :, 0]
    top_of = np.abs(rel).argmax(axis=0)
    active = np.abs(rel).sum(axis=0) > 0
    table["mean_abs_relative"] = np.abs(rel).mean(axis=1)
    table["periods_dominant"] = [int(np.sum((top_of == j) & active)) for j in range(len(found.loops))]
    table = table.sort_values("mean_abs_relative", ascending=False)
    write_atomic(out / "loops.csv", table.to_csv())
    dom = scores.dominant()
    write_atomic(out / "dominance.csv", dom.to_csv())
    where = f" under scenario {args.scenario}" if args.scenario else ""
    print(f"{info.name}{where}: {len(found.loops)} loops ({found.search}); "
          f"{sum(lp.polarity == '+' for lp in found.loops)} reinforcing, "
          f"{sum(lp.polarity == '-' for lp in found.loops)} balancing, "
          f"{sum(lp.polarity not in '+-' for lp in found.loops)} of changing or unread polarity")
    print(table.head(args.top)[["name", "polarity", "length", "mean_abs_relative", "periods_dominant"]]
          .to_string(float_format=lambda x: f"{x:.3f}"))
    print("\ndominant loop by period:")
    runs, start = [], 0
    ids = dom["loop"].tolist()
    for k in range(1, len(ids) + 1):
        if k == len(ids) or ids[k] != ids[start]:
            runs.append((dom.index[start], dom.index[k - 1], ids[start], dom["name"].iloc[start]))
            start = k
    for a, b, lid, name in runs:
        print(f"  {a:g}–{b:g}: {lid or '(none)'} {name}")
    ext = args.format
    draw_dominance(scores, top=args.top, title=f"Loop dominance: {info.name}{where}",
                   path=out / f"dominance.{ext}", fmt=ext)
    documented = {d.id for d in doc}
    by_id = {lp.id: lp for lp in found.loops}
    shown = [lp for lp in found.loops if lp.id in documented]  # the model's own loops first
    shown += [by_id[i] for i in table.index if i not in documented][: max(0, args.top - len(shown))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw_cld(found, shown, labels=_labels(model, args.lang), title=f"Causal loop diagram: {info.name}",
                 path=out / f"cld.{ext}", fmt=ext)
    for w in caught:
        print(f"warning: {w.message}")
    print(f"\nwrote {out}/loops.csv, dominance.csv, dominance.{ext}, cld.{ext}")
    return 0
