"""Latency of ``POST /api/run`` with one client: what a slider move costs the server and the wire.

    python benchmarks/bench_dashboard_api.py [--requests 200] [--lever innovation_finance] [--json out.json]

Starts ``python -m innosim serve`` on a free port (temporary data folder), waits until the
engine's fused kernel is warm, then sends ``--requests`` runs one after the other over one
keep-alive connection, as the page does: the default charts, the regional variable and year, and
one lever at a new value each time (so no cache answers). Reported: the client's time from
request to the last byte of the answer (p50 / p95 / max), the server's model-run time, and the
size of the answer, and the server process's CPU time per request (user + system, all threads:
the figure least disturbed by other jobs on the machine). Goal: p95 <= 20 ms. Nothing is asserted; this script only reports.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_dashboard_load import pct, start_server  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def measure(url: str, requests: int, lever: str, pid: int) -> dict:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(method: str, path: str, body: dict | None = None) -> tuple[dict, int]:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise SystemExit(f"{method} {path}: HTTP {resp.status}: {raw[:300]!r}")
        return json.loads(raw), len(raw)

    meta, _ = call("GET", "/api/meta")
    item = next((x for x in meta["levers"] if x["id"] == lever), None)
    if item is None:
        raise SystemExit(f"unknown lever {lever!r}; levers: {', '.join(x['id'] for x in meta['levers'])}")
    lo, hi = item["low"], item["high"]
    base = {"kpis": meta["defaults"]["charts"], "city_kpi": meta["defaults"]["city_kpi"],
            "city_year": meta["defaults"]["year"]}
    total, server, sizes = [], [], []
    cpu0 = 0.0
    for i in range(requests + 10):
        if i == 10:
            cpu0 = cpu_seconds(pid)
        value = lo + (hi - lo) * (i + 0.5) / (requests + 10)     # a new state every time
        body = {**base, "state": {"levers": {lever: {"value": value}}}}
        t = time.perf_counter()
        out, size = call("POST", "/api/run", body)
        ms = (time.perf_counter() - t) * 1e3
        if i < 10:          # the first requests warm the connection and the server's code paths
            continue
        if out.get("cached"):
            raise SystemExit("a run was answered from the server's cache; restart the benchmark")
        total.append(ms)
        server.append(out["run_ms"])
        sizes.append(size)
    cpu_ms = (cpu_seconds(pid) - cpu0) / requests * 1e3
    conn.close()
    return {"requests": requests, "lever": lever, "total_ms": total, "server_run_ms": server, "server_cpu_ms": cpu_ms,
            "response_bytes": statistics.median(sizes), "backend": out.get("backend")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="runs measured (default 200)")
    ap.add_argument("--lever", default="innovation_finance", help="lever set to a new value in each run")
    ap.add_argument("--json", help="also write the raw samples as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start_server(data_dir)
        try:
            res = measure(url, args.requests, args.lever, proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"POST /api/run, one client, {res['requests']} new states of {res['lever']!r}; backend {res['backend']}; "
          f"{os.cpu_count()} CPUs, load average {load:.2f}")
    for name, xs in (("request -> last byte", res["total_ms"]), ("  server model run", res["server_run_ms"])):
        print(f"{name:<24s} median {statistics.median(xs):6.1f} ms   p95 {pct(xs, 0.95):6.1f} ms   max {max(xs):6.1f} ms")
    print(f"server CPU per request   {res['server_cpu_ms']:.1f} ms (all threads; less sensitive to a loaded machine)")
    print(f"answer size              {res['response_bytes']:.0f} bytes")
    p95 = pct(res["total_ms"], 0.95)
    print(f"goal p95 <= 20 ms: {'met' if p95 <= 20 else 'NOT met'} ({p95:.1f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
