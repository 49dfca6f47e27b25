"""The facilitator's list with many submissions: page, poll and export times over HTTP.

    nice -n 10 python benchmarks/bench_dashboard_list.py [--submissions 5000] [--repeat 30]

Fills a temporary data folder with ``--submissions`` submissions through the store's normal write
path (summaries computed as ``POST /api/submissions`` computes them; 50 teams, 200 distinct
scenarios), starts ``python -m innosim serve`` on it and times, with one keep-alive client:

- a page of 100 (the default) and of 200 (the largest), compact and with the four charted series;
- the whole list in pages of 200 with the charted series (what the facilitator page loads once);
- the 10-second poll (``?since=<cursor>``) with nothing new, and after 5 new submissions;
- the CSV export of every submission.

Peer in the same run: the listing as schema version 1 served it -- every submission's summary
re-derived from its state (runs from the warm cache) with every series, all in one answer --
timed in-process on the same rows. Goal: a list request under 200 ms at 5 000 submissions.
Nothing is asserted; this script only reports.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dashboard_load import TOKEN, pct, start_server  # noqa: E402

CHARTS = "High Tech Exports|RD Expenditure|Industrial Clusters|Export Competitiveness"


def fill(data_dir: str, n: int, seed: int = 1):
    """``n`` submissions written through the store, as the API writes them; returns (sim, rows)."""
    from dashboard import Simulation, create_app
    from dashboard.security import Access
    from innosim.commands.serve import model_setup
    from innosim.registry import resolve

    sim = Simulation.from_setup(model_setup(resolve(None)))
    # `innosim serve` keeps each model's submissions in <data folder>/<model name>/
    app = create_app(Path(data_dir) / sim.name, simulation=sim, warm_up=False, access=Access(token=TOKEN))
    store, summaries = app.state.store, app.state.summaries
    rng = random.Random(seed)
    levers = [lv for lv in sim.catalogue.levers.values() if lv.step]
    states = []
    for _ in range(200):
        state = {"levers": {}, "shocks": {}, "assumptions": {}}
        for lv in rng.sample(levers, rng.randint(1, 3)):
            steps = int(round((lv.high - lv.low) / lv.step))
            state["levers"][lv.id] = {"value": round(lv.low + lv.step * rng.randint(0, steps), 10)}
        states.append(sim.normalize(state))
    exercises = [None, None, *app.state.exercises]
    tokens: dict = {}
    for i in range(n):
        team = f"Team {i % 50:02d}"
        state, ex = states[i % len(states)], exercises[i % len(exercises)]
        claim = store.add(team=team, name=f"scenario {i}", state=state, model_version=sim.version, exercise=ex,
                          summary=summaries.compute(state, ex), team_token=tokens.get(team), limits=(10**9, 10**9))
        tokens.setdefault(team, claim.team_token)
    return app, sim


def old_listing(app, sim) -> float:
    """Seconds for the schema-1 listing: every summary re-derived, with every series, in one answer."""
    from dashboard.submissions import num, series

    store = app.state.store
    t = time.perf_counter()
    rows = []
    base = sim.baseline()
    k = int(list(base.years).index(2035))
    for row in store.all():
        state = sim.normalize(row["state"])
        data = sim.run(state)
        out = {k: v for k, v in row.items() if k not in ("summary", "uid")}
        out["kpis"] = {n: {"value": num(data.series[n][k]), "baseline": num(base.series[n][k])} for n in sim.kpis}
        out["series"] = {n: series(data.series[n]) for n in sim.kpis}
        out["extra_cost"] = num(sim.extra_cost(state, data)[k])
        rows.append(out)
    json.dumps({"submissions": rows})
    return time.perf_counter() - t


def timed(client, path: str, params: dict, repeat: int) -> tuple[list, int]:
    times, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(path, params=params)
        times.append((time.perf_counter() - t) * 1e3)
        r.raise_for_status()
        size = len(r.content)
    return times, size


def main(argv: list[str] | None = None) -> int:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        t = time.perf_counter()
        app, sim = fill(data_dir, args.submissions)
        print(f"stored {args.submissions} submissions in {time.perf_counter() - t:.1f} s")
        old = old_listing(app, sim)
        proc, url = start_server(data_dir)
        results = []
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as c:
                cases = [("page of 100 (default)", {}), ("page of 100 + 4 series", {"series": CHARTS}),
                         ("page of 200, last", {"limit": 200, "offset": args.submissions - 200}),
                         ("page of 200 + 4 series", {"limit": 200, "series": CHARTS})]
                for label, params in cases:
                    results.append((label, *timed(c, "/api/submissions", params, args.repeat)))
                full = []
                for _ in range(max(3, args.repeat // 10)):
                    t, offset, size = time.perf_counter(), 0, 0
                    while True:
                        r = c.get("/api/submissions", params={"limit": 200, "offset": offset, "series": CHARTS})
                        d = r.json()
                        size += len(r.content)
                        offset += len(d["submissions"])
                        if not d["more"]:
                            break
                    full.append((time.perf_counter() - t) * 1e3)
                results.append(("all pages of 200 + 4 series", full, size))
                cursor = c.get("/api/submissions", params={"limit": 1}).json()["cursor"]
                results.append(("poll, nothing new", *timed(c, "/api/submissions", {"since": cursor, "series": CHARTS},
                                                            args.repeat)))
                for i in range(5):
                    c.post("/api/submissions", json={"team": f"Late {i}", "name": "late",
                                                     "state": {"levers": {"incubators": {"value": 30 + i}}}})
                results.append(("poll, 5 new", *timed(c, "/api/submissions", {"since": cursor, "series": CHARTS},
                                                      args.repeat)))
                results.append(("CSV export (all)", *timed(c, "/api/submissions.csv", {}, max(3, args.repeat // 10))))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    print(f"facilitator list over HTTP, {args.submissions} submissions ({os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f})")
    for label, times, size in results:
        print(f"  {label:<30s} median {statistics.median(times):8.1f} ms   p95 {pct(times, 0.95):8.1f} ms   "
              f"{size / 1024:8.1f} KiB")
    print(f"  peer: schema-1 listing (re-derive every summary, all series, one answer, in-process): "
          f"{old * 1e3:.0f} ms")
    worst_page = max(pct(t, 0.95) for label, t, _ in results if label.startswith(("page", "poll")))
    print(f"goal: a list request < 200 ms: {'met' if worst_page < 200 else 'NOT met'} "
          f"(slowest p95 of a page or poll: {worst_page:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
