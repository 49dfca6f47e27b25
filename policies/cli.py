"""``innosim compare | levers | run SCENARIO``: thin command-line layer over the policy library."""
from __future__ import annotations

import sys
from pathlib import Path

from simulator.clitools import year as year_arg
from simulator.outputs import RunFolder, csv_bytes

from .catalogue import load_catalogue


def add_commands(sub) -> None:
    """Register the policy subcommands on an argparse subparsers object."""
    c = sub.add_parser("compare", help="compare scenarios with the baseline and write a report",
                       description="Run the baseline and scenarios (all built-in ones when none is named) "
                                   "and write kpis.csv/.xlsx, timeseries.csv, costs.csv, charts and report.html.")
    c.add_argument("scenarios", nargs="*", help="built-in scenario ids or scenario .toml files")
    c.add_argument("--years", nargs="+", type=year_arg, default=[2030, 2035], help="target years (default 2030 2035)")
    c.add_argument("--out", default="out/compare", help="output folder (default out/compare); its previous "
                   "results are replaced, and _COMPLETE.json is written last")
    c.add_argument("--model", default=None, help="model file (default: the flagship model)")
    c.add_argument("--method", default="euler", help="integration method (default euler at TIME STEP)")
    c.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the terminal table")
    c.set_defaults(func=cmd_compare)
    lv = sub.add_parser("levers", help="list the lever and shock catalogue")
    lv.add_argument("--lang", choices=("en", "zh"), default="en")
    lv.add_argument("--scenarios", action="store_true", help="also list the built-in scenarios")
    lv.set_defaults(func=cmd_levers)


def _model(path):
    import simulator

    from .catalogue import check_against_model

    cat = load_catalogue()
    model = simulator.load(path or cat.model_path)
    if path is None or Path(path).resolve() == cat.model_path.resolve():
        check_against_model(cat, model)
    return model, cat


def cmd_compare(args) -> int:
    from simulator.solvers import check_method

    from .compare import compare, terminal_table
    from .report import write_report

    args.method = check_method(args.method)
    model, cat = _model(args.model)
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

    comp = compare(model, args.scenarios or None, years=args.years, catalogue=cat, method=args.method,
                   progress=progress)
    if bar is not None:
        bar.close()
    files = write_report(comp, args.out, catalogue=cat)
    for year in comp.years:
        print(terminal_table(comp, year=year, catalogue=cat, lang=args.lang))
        print()
    print(f"wrote {len(files)} files to {Path(args.out)}/: " + ", ".join(sorted(p.name for p in files.values())))
    return 0


def cmd_levers(args) -> int:
    cat = load_catalogue()
    lang = args.lang
    for kind, items in (("levers", cat.levers), ("shocks", cat.shocks)):
        print(f"{kind}:")
        print(f"  {'id':28s} {'area':11s} {'baseline':>9s} {'range':>14s}  {'unit':10s} name")
        for it in items.values():
            rng = f"{it.low:g}..{it.high:g}"
            per = f" [per {it.subscript}]" if it.subscript else ""
            print(f"  {it.id:28s} {it.area:11s} {it.baseline:>9g} {rng:>14s}  {it.unit:10s} {it.label(lang)}{per}")
            print(f"  {'':28s} drives {it.constant!r}; seed: {it.seed}")
            if it.cost_rule:
                print(f"  {'':28s} cost: {it.cost_rule[lang]}")
        print()
    if args.scenarios:
        from .scenario import builtin_scenarios

        print("built-in scenarios:")
        for sc in builtin_scenarios(catalogue=cat):
            ext = f" (extends {sc.extends})" if sc.extends else ""
            print(f"  {sc.id:28s} {sc.label(lang)}{ext}")
    return 0


def cmd_run_scenario(args) -> int:
    """Run one scenario and write its time series (CSV) and per-lever fiscal costs."""
    from simulator import RunOptions
    from simulator.cli import check_run_options
    from simulator.solvers import check_method

    from .apply import cost_variables, lever_costs, scenario_params
    from .scenario import load_scenario

    args.method = check_method(args.method)
    model, cat = _model(args.model)
    check_run_options(model, args)
    sc = load_scenario(args.target, catalogue=cat, cities=model.subscripts.get("City"))
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
                                           "model_sha256": model.sha256, "method": args.method}) as folder:
        csv = folder.write(f"{run}.csv", csv_bytes(df, encoding="utf-8"))
        cost_csv = folder.write(f"{run}_costs.csv", csv_bytes(costs, encoding="utf-8"))
    heads = [k for k in cat.headline_kpis if k in df.columns] or list(df.columns[:4])
    yearly = df[df.index.isin(range(2008, 2051, 5))]
    print(f"{sc.id}: {sc.label('en')}")
    print(yearly[heads + (["Fiscal Cost"] if "Fiscal Cost" in df else [])]
          .to_string(float_format=lambda x: f"{x:,.4g}"))
    print(f"\nwrote {csv} and {cost_csv}")
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - use innosim
    from simulator.cli import main as innosim_main

    return innosim_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
