"""The FastAPI app: static page, plotly.js from the installed package, and a JSON API.

Every model run goes through :class:`dashboard.simulation.Simulation` (validated by
:mod:`policies`, cached by state). Run endpoints are plain ``def`` functions, so FastAPI runs them
in its thread pool and the event loop stays free while the model integrates.
"""
from __future__ import annotations

import gzip
import logging
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from . import modelviews, submissions
from .errors import DashboardError, Denied, NotFound
from .exercises import Exercise, check_goal, load_exercises, reveal
from .schemas import CheckRequest, Login, RevealRequest, RunRequest
from .security import Access, Guard, clip
from .simulation import RunData, Simulation
from .store import SubmissionStore, default_data_dir
from .submissions import BAD_INPUT, DEFAULT_YEAR, year_index
from .submissions import series as _series

STATIC = Path(__file__).resolve().parent / "static"
MAX_MESSAGE = 600
log = logging.getLogger("innosim.dashboard")


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def _plotly_gz() -> bytes:
    return gzip.compress(_plotly_js().read_bytes(), compresslevel=6)


def _lever_json(item) -> dict:
    return {"id": item.id, "kind": item.kind, "area": item.area, "unit": item.unit,
            "baseline": item.baseline, "low": item.low, "high": item.high, "step": item.step,
            "name": item.name, "description": item.description, "source": item.source,
            "subscript": item.subscript, "alone": item.alone, "alone_cities": list(item.alone_cities),
            "cost_rule": item.cost_rule or None}


def _error(status: int, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    # a last bound on length: messages quote user input (clipped where it is quoted), and some
    # come from the layers below, which do not know they are answering a web request
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return JSONResponse(status_code=status, content={"error": message, **extra}, headers=headers)


def create_app(data_dir: str | Path | None = None, *, simulation: Simulation,
               exercises_path: str | Path | None = None, warm_up: bool = True,
               access: Access | None = None, models: tuple = (), initial: dict | None = None) -> FastAPI:
    """The dashboard app of one model. ``data_dir`` holds the submissions database (default: user
    data folder).

    ``simulation`` is the model (several app instances, e.g. tests, may share one and its run
    cache). ``exercises_path`` defaults to the exercises of the simulation's :class:`ModelSetup`.
    ``access`` holds the facilitator token, the accepted Host names and the limits (default: a new
    random token, loopback names only, :class:`dashboard.limits.Limits`); the token is
    ``app.state.access.token``. ``models`` lists the pages of the model switch
    (``{"name", "title", "url"}``; see :func:`dashboard.site.create_site`). ``initial`` is the
    state the page opens with when its address sets nothing (``innosim serve --set``; validated here).
    """
    sim = simulation
    access = access or Access()
    if exercises_path is None and sim.setup is not None:
        exercises_path = sim.setup.exercises
    exercises: dict[str, Exercise] = load_exercises(sim, exercises_path)
    initial = sim.normalize(initial) if initial else None
    store = SubmissionStore(data_dir or default_data_dir())
    app = FastAPI(title="innosim dashboard", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.sim, app.state.store, app.state.exercises, app.state.access = sim, store, exercises, access
    app.add_middleware(Guard, access=access)
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
            # dict keys sent by the client appear in the location: clipped like any echo
            loc = ".".join(str(p)[:80] for p in e.get("loc", ()) if p != "body")
            msg = str(e.get("msg", "invalid"))[:200]
            parts.append(f"{loc}: {msg}" if loc else msg)
        detail = [{"loc": [str(p)[:80] for p in e.get("loc", ())], "msg": str(e.get("msg"))[:200]}
                  for e in errors[:20]]
        return _error(422, "; ".join(parts) or "invalid request", detail=detail)

    for exc_type in BAD_INPUT:
        @app.exception_handler(exc_type)
        async def _bad(request: Request, exc: Exception):
            return _error(422, str(exc))

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound):
        return _error(404, str(exc.args[0]) if exc.args else "not found")

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        # unknown paths, wrong methods, unreadable JSON: the same {"error": ...} shape as the rest
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        # a bug must not show its traceback to the page (it may hold paths and data): log it here
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    def exercise(eid: str) -> Exercise:
        ex = exercises.get(eid)
        if ex is None:
            raise NotFound(f"unknown exercise {clip(eid)}; exercises: {', '.join(exercises)}")
        return ex

    submissions.register(app, sim, store, exercises, access)
    views = app.state.views = modelviews.register(app, sim, access, STATIC)
    gate = app.state.gate
    facilitator = gate.require

    # ------------------------------------------------------------------ page and assets
    @app.get("/", include_in_schema=False)
    def index(model: str | None = None):
        """The workshop page; ``?model=NAME`` goes to another model's page of the switch."""
        if model is not None and model != sim.name:
            target = next((m["url"] for m in models if m["name"] == model), None)
            if target is None:
                raise NotFound(f"unknown model {clip(model)}; models: {', '.join(m['name'] for m in models) or sim.name}")
            return RedirectResponse(target, status_code=303)
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/facilitator", include_in_schema=False)
    def facilitator_page(request: Request, token: str | None = None, lang: str | None = None):
        """The facilitator view; ``?token=`` once sets the cookie and is taken out of the address."""
        if token is None:
            return FileResponse(STATIC / "facilitator.html", headers={"Cache-Control": "no-cache"})
        # under a model switch this app may be mounted below the site's root
        where = request.scope.get("root_path", "") + "/facilitator" + ("?lang=zh" if lang == "zh" else "")
        gate.guard(request)
        if not access.token_ok(token[:200]):
            gate.missed(request)
            return RedirectResponse(where + ("&" if "?" in where else "?") + "login=failed", status_code=303)
        # redirect so that the token leaves the address bar, the history and any Referer
        resp = RedirectResponse(where, status_code=303)
        gate.set_cookie(request, resp)
        return resp

    @app.post("/api/facilitator/login")
    def login(body: Login, request: Request):
        """Exchange the token typed into the facilitator page for the cookie."""
        gate.guard(request)
        if not access.token_ok(body.token):
            gate.missed(request)
            raise Denied(403, "wrong facilitator token")
        resp = JSONResponse({"facilitator": True})
        gate.set_cookie(request, resp)
        return resp

    @app.post("/api/facilitator/logout")
    def logout(request: Request):
        resp = JSONResponse({"facilitator": False})
        resp.delete_cookie(gate.cookie_name(request), path="/")
        return resp

    @app.get("/api/facilitator", dependencies=[Depends(facilitator)])
    def whoami():
        return {"facilitator": True}

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
                     "headline": k.headline, "per_city": k.per_city, "change": k.change,
                     "doc": model_doc(model, k.variable)}
            kpis.append(entry)
        per_city = [{"variable": v, "unit": model.variables[v].units, "doc": model_doc(model, v)}
                    for v in sim.per_city]
        years = sim.baseline().years
        year = DEFAULT_YEAR if years[0] <= DEFAULT_YEAR <= years[-1] else int(years[-1])
        return {
            "model": {"name": sim.name, "title": sim.title, "notice": sim.notice,
                      "file": model.path.name, "sha256": model.sha256, "version": sim.version,
                      "years": [int(y) for y in years], "cities": sim.cities,
                      "regions": {c: {"zh": cat.region_label(c, "zh"), "en": cat.region_label(c, "en")}
                                  for c in sim.cities}},
            "models": [{**m, "current": m["name"] == sim.name} for m in models],
            "areas": [{"id": a, "name": name} for a, name in cat.areas.items()],
            "levers": [_lever_json(lv) for lv in cat.levers.values()],
            "shocks": [_lever_json(s) for s in cat.shocks.values()],
            "kpis": kpis, "per_city": per_city,
            "assumptions": [a.as_json() for a in sim.assumptions.values()],
            "defaults": {"charts": sim.chart_kpis, "year": year, "start": cat.default_start,
                         "city_kpi": sim.per_city[0] if sim.per_city else None,
                         "fiscal_cost": cat.costs.annual},
            "exercises": [ex.as_json() for ex in exercises.values()],
            "features": views.features(), "initial": initial,
        }

    def run_json(data: RunData, kpis: list[str], extra: np.ndarray | None) -> dict:
        return {"kpis": {k: _series(data.series[k]) for k in kpis},
                "extra_cost": None if extra is None else _series(extra)}

    def _kpis(names: list[str] | None) -> list[str]:
        names = names if names is not None else sim.catalogue.headline_kpis
        for n in names:
            if n not in sim.kpis:
                from simulator.names import suggest
                raise DashboardError(f"unknown KPI {clip(n)}.{suggest(n, sim.kpis)}")
        return list(dict.fromkeys(names))

    def _city(data: RunData, city_kpi: str | None, year: float | None) -> dict | None:
        if not city_kpi:
            return None
        if city_kpi not in sim.per_city:
            raise DashboardError(f"city_kpi must be one of {', '.join(sim.per_city)}, not {clip(city_kpi)}")
        arr = data.series[city_kpi]
        if year is None:
            return {"variable": city_kpi, "values": [_series(row) for row in arr]}
        k = year_index(sim, year, "city_year")
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
        # already plain JSON types: skip FastAPI's generic encoder, which walks every number
        return JSONResponse(out)

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

    @app.get("/api/exercises/{eid}/solution", dependencies=[Depends(facilitator)])
    def solution(eid: str):
        """An exercise's example solution: for the facilitator only, or it gives the answers away."""
        ex = exercise(eid)
        if ex.solution is None:
            raise NotFound(f"exercise {clip(eid)} has no example solution")
        return {"exercise": eid, "state": ex.solution, "goal": check_goal(sim, ex, ex.solution)}

    @app.get("/api/health")
    def health():
        return {"ok": True, "model": sim.name, "model_version": sim.version, "backend": sim.last_backend, "warm_up": sim.warm,
                "data_dir": str(store.data_dir)}

    return app
