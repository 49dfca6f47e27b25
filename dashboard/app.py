"""The FastAPI app: static page, plotly.js from the installed package, and a JSON API.

Every model run goes through :class:`dashboard.simulation.Simulation` (validated by
:mod:`policies`, cached by state). Run endpoints are plain ``def`` functions, so FastAPI runs them
in its thread pool and the event loop stays free while the model integrates.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

import policies
import simulator

from .errors import DashboardError, NotFound
from .exercises import Exercise, check_goal, load_exercises, reveal
from .schemas import CheckRequest, RevealRequest, RunRequest, SubmissionIn
from .simulation import RunData, Simulation
from .store import SubmissionStore, default_data_dir

STATIC = Path(__file__).resolve().parent / "static"
AREAS = {
    "innovation": {"zh": "创新", "en": "Innovation"},
    "finance": {"zh": "金融", "en": "Finance"},
    "openness": {"zh": "开放", "en": "Openness"},
    "regions": {"zh": "区域", "en": "Regions"},
    "brands": {"zh": "品牌", "en": "Brands"},
    "shocks": {"zh": "外部冲击", "en": "Shocks"},
}
DEFAULT_YEAR = 2035
_BAD_INPUT = (DashboardError, policies.PolicyError, simulator.SimulatorError)


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def _plotly_gz() -> bytes:
    return gzip.compress(_plotly_js().read_bytes(), compresslevel=6)


def _num(x: float) -> float | None:
    """A float with 6 significant digits for compact JSON (None for NaN)."""
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else None


def _series(arr: np.ndarray) -> list:
    return [_num(v) for v in np.ravel(arr)]


def _lever_json(item) -> dict:
    return {"id": item.id, "kind": item.kind, "area": item.area, "unit": item.unit,
            "baseline": item.baseline, "low": item.low, "high": item.high, "step": item.step,
            "name": item.name, "description": item.description, "seed": item.seed,
            "subscript": item.subscript, "alone": item.alone, "alone_cities": list(item.alone_cities),
            "cost_rule": item.cost_rule or None}


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message, **extra})


def create_app(data_dir: str | Path | None = None, *, simulation: Simulation | None = None,
               exercises_path: str | Path | None = None, warm_up: bool = True) -> FastAPI:
    """The dashboard app. ``data_dir`` holds the submissions database (default: user data folder).

    ``simulation`` lets several app instances (tests) share one loaded model and its run cache.
    """
    sim = simulation or Simulation()
    exercises: dict[str, Exercise] = load_exercises(sim, exercises_path)
    store = SubmissionStore(data_dir or default_data_dir())
    app = FastAPI(title="innosim dashboard", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.sim, app.state.store, app.state.exercises = sim, store, exercises
    if warm_up:   # compile the fused kernel in the background; runs use numpy until it is ready
        def _warm():
            _plotly_gz()
            sim.warm_up()
        threading.Thread(target=_warm, name="innosim-warm-up", daemon=True).start()

    # ------------------------------------------------------------------ errors
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        parts = []
        for e in errors[:3]:
            loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else e.get("msg", "invalid"))
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors]
        return _error(422, "; ".join(parts) or "invalid request", detail=detail)

    for exc_type in _BAD_INPUT:
        @app.exception_handler(exc_type)
        async def _bad(request: Request, exc: Exception):
            return _error(422, str(exc))

    def exercise(eid: str) -> Exercise:
        ex = exercises.get(eid)
        if ex is None:
            raise NotFound(f"unknown exercise {eid!r}; exercises: {', '.join(exercises)}")
        return ex

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound):
        return _error(404, str(exc.args[0]) if exc.args else "not found")

    # ------------------------------------------------------------------ page and assets
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/facilitator", include_in_schema=False)
    def facilitator():
        return FileResponse(STATIC / "facilitator.html", headers={"Cache-Control": "no-cache"})

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js(request: Request):
        headers = {"Cache-Control": "public, max-age=86400", "Content-Type": "application/javascript"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(_plotly_gz(), headers={**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return FileResponse(_plotly_js(), headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ model, catalogue, baseline
    @app.get("/api/meta")
    def meta():
        cat, model = sim.catalogue, sim.model
        from .assumptions import model_doc

        kpis = []
        for k in cat.kpis.values():
            entry = {"variable": k.variable, "name": k.name, "unit": k.unit, "direction": k.direction,
                     "headline": k.headline, "per_city": k.per_city, "doc": model_doc(model, k.variable)}
            kpis.append(entry)
        per_city = [{"variable": v, "unit": model.variables[v].units, "doc": model_doc(model, v)}
                    for v in sim.per_city]
        years = sim.baseline().years
        return {
            "model": {"file": model.path.name, "sha256": model.sha256, "version": sim.version,
                      "years": [int(y) for y in years], "cities": sim.cities},
            "areas": [{"id": a, "name": AREAS.get(a, {"zh": a, "en": a})} for a in AREAS],
            "levers": [_lever_json(lv) for lv in cat.levers.values()],
            "shocks": [_lever_json(s) for s in cat.shocks.values()],
            "kpis": kpis, "per_city": per_city,
            "assumptions": [a.as_json() for a in sim.assumptions.values()],
            "defaults": {"charts": cat.headline_kpis[:4], "year": DEFAULT_YEAR, "start": cat.default_start,
                         "city_kpi": sim.per_city[0] if sim.per_city else None,
                         "fiscal_cost": "Fiscal Cost"},
            "exercises": [ex.as_json() for ex in exercises.values()],
        }

    def run_json(data: RunData, kpis: list[str], extra: np.ndarray | None) -> dict:
        return {"kpis": {k: _series(data.series[k]) for k in kpis},
                "extra_cost": None if extra is None else _series(extra)}

    def _kpis(names: list[str] | None) -> list[str]:
        names = names if names is not None else sim.catalogue.headline_kpis
        for n in names:
            if n not in sim.kpis:
                from simulator.names import suggest
                raise DashboardError(f"unknown KPI {n!r}.{suggest(n, sim.kpis)}")
        return list(dict.fromkeys(names))

    def _city(data: RunData, city_kpi: str | None, year: float | None) -> dict | None:
        if not city_kpi:
            return None
        if city_kpi not in sim.per_city:
            raise DashboardError(f"city_kpi must be one of {', '.join(sim.per_city)}, not {city_kpi!r}")
        arr = data.series[city_kpi]
        if year is None:
            return {"variable": city_kpi, "values": [_series(row) for row in arr]}
        k = int(np.argmin(np.abs(data.years - year)))
        return {"variable": city_kpi, "year": float(data.years[k]), "values": _series(arr[k])}

    @app.get("/api/baseline")
    def baseline():
        data = sim.baseline()
        out = run_json(data, sim.kpis, None)
        out["cities"] = {v: [_series(row) for row in data.series[v]] for v in sim.per_city}
        out["years"] = [int(y) for y in data.years]
        return out

    @app.post("/api/run")
    def run(req: RunRequest):
        """Yearly KPI series of a scenario, its extra fiscal cost, and the exercise goal if asked."""
        state = sim.normalize(req.state.as_dict())
        kpis = _kpis(req.kpis)
        cached = sim.cached(state)
        data = sim.run(state)
        out = run_json(data, kpis, sim.extra_cost(state, data))
        out["city"] = _city(data, req.city_kpi, req.city_year)
        out["goal"] = check_goal(sim, exercise(req.exercise), state) if req.exercise else None
        out["run_ms"] = round(data.seconds * 1e3, 2)   # model time when first computed
        out["cached"] = cached
        out["backend"] = sim.last_backend
        out["state"] = state
        return out

    # ------------------------------------------------------------------ exercises
    @app.get("/api/exercises")
    def list_exercises():
        return [ex.as_json() for ex in exercises.values()]

    @app.post("/api/exercises/{eid}/check")
    def check(eid: str, req: CheckRequest):
        return check_goal(sim, exercise(eid), req.state.as_dict())

    @app.post("/api/exercises/{eid}/reveal")
    def reveal_answer(eid: str, req: RevealRequest):
        return reveal(sim, exercise(eid), req.prediction)

    @app.get("/api/exercises/{eid}/solution")
    def solution(eid: str):
        ex = exercise(eid)
        if ex.solution is None:
            raise NotFound(f"exercise {eid!r} has no example solution")
        return {"exercise": eid, "state": ex.solution, "goal": check_goal(sim, ex, ex.solution)}

    # ------------------------------------------------------------------ facilitator mode
    def summary(sub: dict, year: float) -> dict:
        out = dict(sub)
        try:
            state = sim.normalize(sub["state"])
            data, base = sim.run(state), sim.baseline()
            k = int(np.argmin(np.abs(data.years - year)))
            out["kpis"] = {name: {"value": _num(data.series[name][k]), "baseline": _num(base.series[name][k])}
                           for name in sim.kpis}
            out["series"] = {name: _series(data.series[name]) for name in sim.kpis}
            out["extra_cost"] = _num(sim.extra_cost(state, data)[k])
            ex = exercises.get(sub.get("exercise") or "")
            out["goal"] = check_goal(sim, ex, state) if ex else None
            out["error"] = None
        except _BAD_INPUT as exc:   # stored under an older catalogue or model: still listed
            out.update(kpis=None, series=None, extra_cost=None, goal=None, error=str(exc))
        return out

    @app.get("/api/submissions")
    def submissions(year: float = DEFAULT_YEAR):
        return {"year": year, "model_version": sim.version,
                "submissions": [summary(s, year) for s in store.list()]}

    @app.post("/api/submissions", status_code=201)
    def submit(sub: SubmissionIn):
        state = sim.normalize(sub.state.as_dict())
        if sub.exercise is not None:
            exercise(sub.exercise)
        saved = store.add(team=sub.team, name=sub.name, state=state, model_version=sim.version,
                          exercise=sub.exercise)
        return summary(saved, DEFAULT_YEAR)

    @app.delete("/api/submissions/{sub_id}")
    def delete_submission(sub_id: int):
        if not store.delete(sub_id):
            raise NotFound(f"no submission #{sub_id}")
        return {"deleted": sub_id}

    @app.get("/api/submissions.csv")
    def submissions_csv(year: float = DEFAULT_YEAR):
        rows = [summary(s, year) for s in store.list()]
        base = sim.baseline()
        k = int(np.argmin(np.abs(base.years - year)))
        y = int(base.years[k])
        buf = io.StringIO()
        w = csv.writer(buf)
        head = ["id", "created", "team", "scenario", "exercise", "goal_met", "model_version",
                f"extra_fiscal_cost_to_{y} (亿元)"]
        for name in sim.kpis:
            unit = sim.catalogue.kpis[name].unit
            head += [f"{name} {y} ({unit})", f"{name} {y} vs baseline (%)"]
        w.writerow([*head, "settings", "error"])
        w.writerow(["", "", "(baseline)", "baseline", "", "", sim.version, 0]
                   + [v for name in sim.kpis for v in (_num(base.series[name][k]), 0)] + ["{}", ""])
        for r in rows:
            line = [r["id"], r["created"], r["team"], r["name"], r["exercise"] or "",
                    "" if not r.get("goal") else ("yes" if r["goal"]["met"] else "no"),
                    r["model_version"], r["extra_cost"]]
            for name in sim.kpis:
                kv = (r["kpis"] or {}).get(name)
                if kv:
                    pct = 100 * (kv["value"] / kv["baseline"] - 1) if kv["baseline"] else None
                    line += [kv["value"], None if pct is None else round(pct, 3)]
                else:
                    line += ["", ""]
            line += [sim.key(r["state"]), r["error"] or ""]
            w.writerow(line)
        body = "\ufeff" + buf.getvalue()   # BOM: spreadsheet programs then read the Chinese text right
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="innosim_submissions_{y}.csv"'})

    @app.get("/api/health")
    def health():
        return {"ok": True, "model_version": sim.version, "backend": sim.last_backend, "warm_up": sim.warm,
                "data_dir": str(store.data_dir)}

    return app
