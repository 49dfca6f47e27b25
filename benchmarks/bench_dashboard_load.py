"""A workshop under load: many participants and a facilitator against one dashboard server.

    nice -n 10 python benchmarks/bench_dashboard_load.py [--clients 50] [--seconds 300] [--json out.json]

Starts ``python -m innosim serve`` on a free port (temporary data folder, default limits),
waits until the engine's fused kernel is warm, then runs for ``--seconds``:

- ``--clients`` participants, each from its own loopback address (127.0.0.2, 127.0.0.3, ...; Linux
  routes all of 127/8 to this machine), as on a workshop LAN where every laptop has its own
  address and so its own rate allowance. Each participant moves sliders: every 0.3-1.5 s a
  ``POST /api/run`` with 1-3 levers at random slider positions (some states repeat, as in a
  workshop, and are answered from the server's cache); now and then ``GET /api/baseline``; and
  about once a minute a submission under its own team name (with a fresh submission id and the
  team token it was given).
- one facilitator (127.0.0.1) polling ``GET /api/submissions?since=<cursor>`` every 10 s as the
  page does, loading the whole list page by page and exporting the CSV every 60 s.

Reported: requests, errors (any non-2xx answer or failed connection; expected 0), latency p50 /
p95 / max per kind of request, and the server's resident memory (VmRSS, Linux) sampled every 10 s
-- after warm-up, after the first minute and at the end. Nothing is asserted; this script reports.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-benchmark-facilitator-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_server(data_dir: str, timeout: float = 300.0, *, warm: bool = True) -> tuple[subprocess.Popen, str]:
    """``python -m innosim serve`` on a free port; waits for the fused kernel unless ``warm=False``."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "INNOSIM_FACILITATOR_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "innosim", "serve", "--port", str(port), "--data-dir", data_dir,
                             "--no-browser"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the dashboard server exited; run `python -m innosim serve` to see why")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if not warm or json.load(r)["warm_up"] not in ("not started", "compiling"):
                    return proc, url
        except OSError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"the dashboard server did not become ready in {timeout:g} s")


def pct(xs: list, q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))] if xs else float("nan")


class Tally:
    def __init__(self):
        self.lat = defaultdict(list)
        self.errors = Counter()
        self.examples: dict = {}

    def record(self, kind: str, started: float, response=None, exc: Exception | None = None) -> None:
        self.lat[kind].append((time.perf_counter() - started) * 1e3)
        if exc is not None or response is None or not 200 <= response.status_code < 300:
            what = f"{kind}: {type(exc).__name__}" if exc is not None else f"{kind}: HTTP {response.status_code}"
            self.errors[what] += 1
            self.examples.setdefault(what, str(exc) if exc is not None else response.text[:200])


async def participant(i: int, url: str, meta: dict, deadline: float, tally: Tally, rng: random.Random) -> None:
    import httpx

    levers = [lv for lv in meta["levers"] if lv["step"]]
    team, token = f"Team {i:02d}", None
    next_submit = time.monotonic() + rng.uniform(20, 60)
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + i}")
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as client:
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            state = {"levers": {}, "shocks": {}, "assumptions": {}}
            for lv in rng.sample(levers, rng.randint(1, 3)):
                steps = int(round((lv["high"] - lv["low"]) / lv["step"]))
                state["levers"][lv["id"]] = {"value": round(lv["low"] + lv["step"] * rng.randint(0, steps), 10)}
            if time.monotonic() >= next_submit:
                kind, next_submit = "submit", time.monotonic() + rng.uniform(45, 75)
            else:
                kind = "baseline" if rng.random() < 0.05 else "run"
            started = time.perf_counter()
            try:
                if kind == "submit":
                    body = {"team": team, "name": f"try {rng.randint(1, 999)}", "state": state,
                            "submission_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
                    r = await client.post("/api/submissions", json=body,
                                          headers={"X-Team-Token": token} if token else {})
                    if r.status_code in (200, 201) and r.json().get("team_token"):
                        token = r.json()["team_token"]
                elif kind == "baseline":
                    r = await client.get("/api/baseline")
                else:
                    r = await client.post("/api/run", json={"state": state, "city_kpi": meta["defaults"]["city_kpi"],
                                                            "city_year": 2035})
                tally.record(kind, started, r)
            except httpx.HTTPError as exc:
                tally.record(kind, started, exc=exc)


async def facilitator(url: str, deadline: float, tally: Tally) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {TOKEN}"}
    charts = "High Tech Exports|RD Expenditure|Industrial Clusters|Export Competitiveness"
    cursor, last_full = 0, 0.0
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                if time.monotonic() - last_full >= 60:
                    last_full = time.monotonic()
                    offset = 0
                    while True:
                        r = await client.get("/api/submissions", params={"limit": 200, "offset": offset, "series": charts})
                        if r.status_code != 200:
                            break
                        d = r.json()
                        cursor = d["cursor"] if offset == 0 else cursor
                        offset += len(d["submissions"])
                        if not d["more"]:
                            break
                    tally.record("list (all pages)", started, r)
                    started = time.perf_counter()
                    tally.record("csv", started, await client.get("/api/submissions.csv"))
                else:
                    r = await client.get("/api/submissions", params={"since": cursor, "series": charts})
                    if r.status_code == 200:
                        cursor = r.json()["cursor"]
                    tally.record("poll (since)", started, r)
            except httpx.HTTPError as exc:
                tally.record("facilitator", started, exc=exc)
            await asyncio.sleep(10)


async def sample_rss(pid: int, deadline: float, samples: list, t0: float) -> None:
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - t0, rss_mib(pid)))
        await asyncio.sleep(10)
    samples.append((time.monotonic() - t0, rss_mib(pid)))


async def _run(url: str, pid: int, clients: int, seconds: float, seed: int) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=url) as c:
        meta = (await c.get("/api/meta")).json()
    tally, samples = Tally(), []
    t0 = time.monotonic()
    deadline = t0 + seconds
    rng = random.Random(seed)
    tasks = [participant(i, url, meta, deadline, tally, random.Random(rng.getrandbits(64))) for i in range(clients)]
    tasks += [facilitator(url, deadline, tally), sample_rss(pid, deadline, samples, t0)]
    await asyncio.gather(*tasks)
    return {"tally": tally, "rss": samples}


def run(clients: int = 50, seconds: float = 300.0, seed: int = 1) -> dict:
    """Start a server, load it, stop it; returns the figures (also used by a short slow test)."""
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start_server(data_dir)
        try:
            out = asyncio.run(_run(url, proc.pid, clients, seconds, seed))
            with urllib.request.urlopen(url + "/api/health", timeout=5) as r:
                backend = json.load(r)["backend"]
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    t: Tally = out["tally"]
    every = [x for xs in t.lat.values() for x in xs]
    rss = out["rss"]
    after_minute = next((m for s, m in rss if s >= 60), rss[-1][1])
    return {"clients": clients, "seconds": seconds, "backend": backend, "requests": len(every),
            "errors": sum(t.errors.values()), "error_kinds": dict(t.errors), "error_examples": t.examples,
            "p50_ms": pct(every, 0.5), "p95_ms": pct(every, 0.95), "max_ms": max(every, default=float("nan")),
            "by_kind": {k: {"n": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95), "max_ms": max(v)}
                        for k, v in sorted(t.lat.items())},
            "rss_mib": {"start": rss[0][1], "after_60s": after_minute, "end": rss[-1][1],
                        "max": max(m for _, m in rss)}, "rss_samples": rss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    r = run(args.clients, args.seconds, args.seed)
    print(f"dashboard load: {r['clients']} participants + 1 facilitator for {r['seconds']:g} s "
          f"(engine backend {r['backend']}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f})")
    print(f"requests {r['requests']}, errors {r['errors']}  {r['error_kinds'] or ''}")
    for what, ex in r["error_examples"].items():
        print(f"  e.g. {what}: {ex}")
    print(f"latency, all requests: p50 {r['p50_ms']:.1f} ms   p95 {r['p95_ms']:.1f} ms   max {r['max_ms']:.1f} ms")
    for k, v in r["by_kind"].items():
        print(f"  {k:<18s} n={v['n']:<6d} p50 {v['p50_ms']:7.1f} ms   p95 {v['p95_ms']:7.1f} ms   max {v['max_ms']:7.1f} ms")
    m = r["rss_mib"]
    print(f"server RSS: start {m['start']:.1f} MiB, after 60 s {m['after_60s']:.1f} MiB, end {m['end']:.1f} MiB, "
          f"max {m['max']:.1f} MiB")
    print("RSS samples (s, MiB): " + ", ".join(f"{s:.0f}:{v:.1f}" for s, v in r["rss_samples"]))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
