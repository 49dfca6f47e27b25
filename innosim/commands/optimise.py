"""``innosim optimise PROBLEM.toml``: the best lever package under a budget, robust packages over
uncertainty, Pareto fronts (a thin layer over :mod:`optimise`)."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from simulator.clitools import MAX_SEED, int_between
from simulator.errors import SimulatorError

from .common import add_model_option


def add_commands(sub) -> None:
    """Register ``optimise`` on an argparse subparsers object."""
    p = sub.add_parser("optimise", help="best lever package under a budget; robust packages; Pareto fronts",
                       description="Search the lever package that a problem file asks for (scipy's differential "
                                   "evolution for one objective, pymoo's NSGA-II for several), write the packages as "
                                   "scenario files that innosim compare runs, charts and index.html.")
    p.add_argument("problem", help="problem file (.toml): levers, objectives, constraints, optional uncertainty")
    p.add_argument("--out", default=None, help="output folder (default out/optimise-<problem id>); its previous "
                   "results are replaced, and _COMPLETE.json is written last")
    add_model_option(p, "model: a registered name or a model file (default: the problem file's 'model')")
    p.add_argument("--seed", type=int_between(0, MAX_SEED), default=None, help="seed of the search (default: the file's)")
    p.add_argument("--generations", type=int_between(1, 100_000), default=None, help="generations (default: the file's)")
    p.add_argument("--population", type=int_between(4, 10_000), default=None, help="candidates per generation")
    p.add_argument("--draws", type=int_between(1, 100_000), default=None, help="uncertainty draws per candidate")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int_between(1, 256), help="start a Dask LocalCluster with K worker processes")
    g.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler, e.g. tcp://host:8786")
    p.set_defaults(func=cmd_optimise)


def _load(args):
    import optimise
    import simulator

    from .common import chosen_model

    model = catalogue = None
    if args.model is not None:
        info = chosen_model(args.model)
        model = simulator.load(info.path)
        catalogue = info.catalogue() if "levers" in info.files else None
    problem = optimise.load_problem(args.problem, model=model, catalogue=catalogue)
    search = problem.search
    for key in ("seed", "generations", "population"):
        if getattr(args, key) is not None:
            search = replace(search, **{key: getattr(args, key)})
    problem = replace(problem, search=search)
    if args.draws is not None:
        if problem.uncertainty is None:
            raise SimulatorError(f"{args.problem}: --draws needs an [uncertainty] table in the problem file")
        problem = replace(problem, uncertainty=replace(problem.uncertainty, draws=args.draws))
    return problem, model or simulator.load(problem.model_path)


def cmd_optimise(args) -> int:
    try:
        import optimise
        from optimise.outputs import write_outputs
        from sensitivity.distributed import Compute
    except ImportError as exc:
        print(f"innosim optimise: missing dependency ({exc.name}); install it with "
              "python3 -m pip install -e '.[optimise]'", file=sys.stderr)
        return 2
    problem, model = _load(args)
    if problem.method == "nsga2":
        try:
            import pymoo  # noqa: F401
        except ImportError:
            print("innosim optimise: a problem with several objectives needs pymoo; install it with "
                  "python3 -m pip install -e '.[optimise]'", file=sys.stderr)
            return 2
    compute = Compute(workers=args.workers, scheduler=args.scheduler)
    unc = problem.uncertainty
    print(f"{problem.id}: {len(problem.decisions)} levers ({', '.join(d.id for d in problem.decisions)}), "
          f"{len(problem.objectives)} objective(s), {len(problem.constraints)} constraint(s); "
          f"{'differential evolution' if problem.method == 'de' else 'NSGA-II'}, population "
          f"{problem.search.population}, {problem.search.generations} generations, seed {problem.search.seed}"
          + (f"; robust: {unc.draws} draws (seed {unc.seed}), measure {unc.measure}" if unc else "")
          + f"; {compute.description}")
    outcome = optimise.optimise(problem, model, compute=compute, progress=False if args.no_progress else None)
    out = Path(args.out or f"out/optimise-{problem.id}")
    written = write_outputs(outcome, out, model)
    table = outcome.table()
    with_pd_width(lambda: print(table.T.to_string(header=False, float_format=lambda x: f"{x:,.6g}")))
    check = written["compare"]
    print("\ncheck through innosim compare (the model as it is):")
    print(check.to_string(index=False, float_format=lambda x: f"{x:,.6g}"))
    for _, row in check.iterrows():
        for col in [c for c in check.columns if c.endswith(": compare")]:
            ours = row[col.replace(": compare", ": optimiser")]
            if abs(row[col] - ours) > 1e-6 * max(1.0, abs(ours)):
                print(f"warning: {row['package']}: run as it is, the model gives {col[:-9]} = {row[col]:,.6g}, not "
                      f"{ours:,.6g}: what the problem holds fixed while optimising (e.g. the model's own budget "
                      "ceiling) changes this package's result", file=sys.stderr)
    for res, label in ((outcome.nominal, "nominal"), (outcome.robust, "robust")):
        if res is not None and not res.success:
            print(f"warning: {label} search: {res.message}", file=sys.stderr)
    print(f"\n{outcome.metadata['member_runs']:,} model runs in {outcome.metadata['seconds']:.1f} s; "
          f"wrote {written['report']} and {len(written['packages'])} scenario file(s) in {out / 'packages'}")
    return 0


def with_pd_width(fn) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        fn()
