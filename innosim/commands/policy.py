"""``innosim compare | levers | run SCENARIO``: thin command-line layer over the policy library."""
from __future__ import annotations

import sys
from pathlib import Path

from simulator.clitools import year as year_arg
from simulator.model import DEFAULT_METHOD
from simulator.outputs import RunFolder, csv_bytes

from .common import add_model_option, chosen_model


def add_commands(sub) -> None:
    """Register the policy subcommands on an argparse subparsers object."""
    c = sub.add_parser("compare", help="compare scenarios with the baseline and write a report",
                       description="Run the baseline and scenarios (all built-in ones of the model when none "
                                   "is named) and write kpis.csv/.xlsx, timeseries.csv, costs.csv, charts and "
                                   "report.html.")
    c.add_argument("scenarios", nargs="*", help="built-in scenario ids of the model or scenario .toml files")
    c.add_argument("--years", nargs="+", type=year_arg, default=None,
                   help="target years (default: the model's report years, e.g. 2030 2035)")
    c.add_argument("--out", default="out/compare", help="output folder (default out/compare); its previous "
                   "results are replaced, and _COMPLETE.json is written last")
    add_model_option(c)
    c.add_argument("--method", default=DEFAULT_METHOD, help=f"integration method (default {DEFAULT_METHOD} at TIME STEP)")
    c.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the terminal table")
    c.set_defaults(func=cmd_compare)
    lv = sub.add_parser("levers", help="list a model's lever and shock catalogue")
    add_model_option(lv)
    lv.add_argument("--lang", choices=("en", "zh"), default="en")
    lv.add_argument("--scenarios", action="store_true", help="also list the built-in scenarios")
    lv.set_defaults(func=cmd_levers)


def model_and_catalogue(name, lang: str = "en"):
    """(ModelInfo, loaded model, catalogue) of ``--model``, the catalogue checked against the model."""
    import policies
    import simulator

    info = chosen_model(name, lang=lang)
    cat = info.catalogue()
    model = simulator.load(info.path)
    policies.check_against_model(cat, model)
    return info, model, cat


def cmd_compare(args) -> int:
    from policies.compare import compare, terminal_table
    from policies.report import write_report
    from simulator.solvers import check_method

    args.method = check_method(args.method)
    info, model, cat = model_and_catalogue(args.model, args.lang)
    years = args.years or list(info.report_years) or [2030, 2035]
    bar = None
    try:
        from tqdm import tqdm

        bar = tqdm(total=None, desc="scenarios", unit="run", file=sys.stderr, disable=not sys.stderr.isatty())
    except ImportError:  # pragma: no cover - tqdm is a dependency
        pass

    def progress(done, total, sid):
        if bar is not None:
            bar.total = total
            bar.set_postfix_str(sid)
            bar.update(1)

    comp = compare(model, args.scenarios or None, years=years, catalogue=cat, method=args.method,
                   progress=progress)
    if bar is not None:
        bar.close()
    comp.metadata["model_name"] = info.name
    files = write_report(comp, args.out, catalogue=cat, title=info.title, notice=info.notice)
    print(f"{info.label(args.lang)} ({info.name})")
    for year in comp.years:
        print(terminal_table(comp, year=year, catalogue=cat, lang=args.lang))
        print()
    names = ", ".join(sorted(p.name for p in files.values()))
    print(f"已写入 {len(files)} 个文件到 {Path(args.out)}/: {names}" if args.lang == "zh"
          else f"wrote {len(files)} files to {Path(args.out)}/: {names}")
    return 0


LEVER_TEXT = {
    "en": {"levers": "levers", "shocks": "shocks", "id": "id", "area": "area", "baseline": "baseline",
           "range": "range", "unit": "unit", "name": "name", "per": "per", "drives": "drives",
           "sources": "sources", "cost": "cost", "scenarios": "built-in scenarios", "extends": "extends"},
    "zh": {"levers": "政策杠杆", "shocks": "外部冲击", "id": "编号", "area": "领域", "baseline": "基准值",
           "range": "范围", "unit": "单位", "name": "名称", "per": "按", "drives": "作用于常数",
           "sources": "来源", "cost": "成本", "scenarios": "内置情景", "extends": "基于"},
}


def cmd_levers(args) -> int:
    from policies.compare import _pad, display_width, unit_text

    info = chosen_model(args.model, lang=args.lang)
    cat = info.catalogue()
    lang = args.lang
    tx = LEVER_TEXT["zh" if lang == "zh" else "en"]
    print(f"{info.label(lang)} ({info.name})\n")
    width = max([display_width(tx["id"]), *(display_width(i) for i in cat.items)]) + 1
    aw = max([display_width(tx["area"]), *(display_width(a[lang]) for a in cat.areas.values())]) + 1
    units = [unit_text(it.unit, lang) for it in cat.items.values()]
    uw = max([display_width(tx["unit"]), *(display_width(u) for u in units)]) + 1
    for kind, items in (("levers", cat.levers), ("shocks", cat.shocks)):
        print(f"{tx[kind]}:")
        print(f"  {_pad(tx['id'], width, False)} {_pad(tx['area'], aw, False)} {_pad(tx['baseline'], 9)} "
              f"{_pad(tx['range'], 14)}  {_pad(tx['unit'], uw, False)} {tx['name']}")
        for it in items.values():
            rng = f"{it.low:g}..{it.high:g}"
            per = f" [{tx['per']} {it.subscript}]" if it.subscript else ""
            area = cat.areas[it.area][lang]
            print(f"  {_pad(it.id, width, False)} {_pad(area, aw, False)} {it.baseline:>9g} {rng:>14s}  "
                  f"{_pad(unit_text(it.unit, lang), uw, False)} {it.label(lang)}{per}")
            print(f"  {'':{width}s} {tx['drives']} {it.constant!r}; {tx['sources']}: {it.source}")
            if it.cost_rule:
                print(f"  {'':{width}s} {tx['cost']}: {it.cost_rule[lang]}")
        print()
    if args.scenarios:
        from policies.scenario import builtin_scenarios

        print(f"{tx['scenarios']}:")
        for sc in builtin_scenarios(catalogue=cat):
            ext = f" ({tx['extends']} {sc.extends})" if sc.extends else ""
            print(f"  {_pad(sc.id, width, False)} {sc.label(lang)}{ext}")
    return 0


def cmd_run_scenario(args) -> int:
    """Run one scenario and write its time series (CSV) and per-lever fiscal costs."""
    from policies.apply import cost_variables, lever_costs, scenario_params
    from policies.compare import regions
    from policies.scenario import load_scenario
    from simulator import RunOptions
    from simulator.solvers import check_method

    from .engine import check_run_options

    args.method = check_method(args.method)
    info, model, cat = model_and_catalogue(args.model)
    check_run_options(model, args)
    sc = load_scenario(args.target, catalogue=cat, cities=regions(model, cat))
    params = scenario_params(sc, model, catalogue=cat)
    outputs = None
    if args.var:
        outputs = list(dict.fromkeys(list(args.var) + cost_variables(cat)))
    opts = RunOptions(time_step=args.time_step, final_time=args.final_time)
    res = model.run(params, method=args.method, options=opts, outputs=outputs)
    df = res.to_frame()
    costs = lever_costs(res, catalogue=cat)
    run = f"{sc.id}_{args.method}"   # the id is a safe file-name part (checked when it was read)
    with RunFolder(args.out, run=run, meta={"scenario": sc.id, "source": sc.source, "model": str(model.path),
                                           "model_name": info.name, "model_sha256": model.sha256,
                                           "method": args.method}) as folder:
        csv = folder.write(f"{run}.csv", csv_bytes(df, encoding="utf-8"))
        cost_csv = folder.write(f"{run}_costs.csv", csv_bytes(costs, encoding="utf-8"))
    heads = [k for k in cat.headline_kpis if k in df.columns] or list(df.columns[:4])
    t0, tf = float(df.index[0]), float(df.index[-1])
    step = 5 if tf - t0 >= 20 else 1
    shown = df[[abs(t - round(t)) < 1e-9 and round(t) % step == 0 for t in df.index]]
    annual = [cat.costs.annual] if cat.costs.annual in df else []
    print(f"{sc.id}: {sc.label('en')}")
    print(shown[heads + annual].to_string(float_format=lambda x: f"{x:,.4g}"))
    print(f"\nwrote {csv} and {cost_csv}")
    return 0
