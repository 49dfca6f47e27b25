"""Facilitator mode: team submissions, their stored summaries, the CSV export and access rules.

A submission's KPI series, extra cost and goal check are computed once, when it is written, and
stored with it (``summary``). Listing then reads summaries page by page and picks the asked year,
so the facilitator's 10-second poll neither re-runs the model nor re-sends every series: it asks
for what changed since its cursor.
"""
from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse

import policies
import simulator

from .errors import DashboardError, Denied, NotFound
from .exercises import Exercise, check_goal
from .limits import RateLimiter
from .schemas import SubmissionIn
from .security import TEAM_HEADER, Access, Gate, clip
from .simulation import Simulation
from .store import Claim, SubmissionStore, team_key

DEFAULT_YEAR = 2035
BAD_INPUT = (DashboardError, policies.PolicyError, simulator.SimulatorError)
MAX_ID = 2**63 - 1   # SQLite's INTEGER range; a larger id is refused by validation, not by SQLite
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def num(x: float) -> float | None:
    """A float with 6 significant digits for compact JSON (None for NaN)."""
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else None


def series(arr: np.ndarray) -> list:
    return [num(v) for v in np.ravel(arr)]


def csv_cell(value):
    """A CSV cell that a spreadsheet program will not run as a formula.

    Text starting with ``= + - @``, tab or carriage return is prefixed with an apostrophe (a team
    called ``=HYPERLINK(...)`` stays text). Numbers, and text that is just a number such as
    ``-12.5``, are left alone so they stay numeric.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START) \
            and not _PLAIN_NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def year_index(sim: Simulation, year: float, field: str = "year") -> int:
    """Index of ``year`` in the run's years; a year outside the run is a clear error, not the nearest."""
    years = sim.baseline().years
    if not math.isfinite(year) or not years[0] <= year <= years[-1]:
        raise DashboardError(f"{field} = {year:g} is outside the run ({years[0]:g}-{years[-1]:g})")
    return int(np.argmin(np.abs(years - year)))


def _floats(values) -> list:
    return [None if v != v else v for v in values.tolist()]   # NaN (v != v) -> null


class Summaries:
    """Compact summaries of submissions: computed at write time, refreshed when the model changes.

    A summary holds the goal check (or why the state cannot run) and an array of the yearly
    series, one row per KPI and a last row for the extra fiscal cost, rounded as the API sends them.
    """

    def __init__(self, sim: Simulation, exercises: dict[str, Exercise], store: SubmissionStore):
        self.sim, self.exercises, self.store = sim, exercises, store
        self.row_of = {name: i for i, name in enumerate(sim.kpis)}

    def compute(self, state: dict, exercise: str | None) -> dict:
        sim = self.sim
        try:
            state = sim.normalize(state)
            data = sim.run(state)
            ex = self.exercises.get(exercise or "")
            rows = [series(data.series[name]) for name in sim.kpis] + [series(sim.extra_cost(state, data))]
            return {"v": sim.version, "names": list(sim.kpis), "error": None,
                    "goal": check_goal(sim, ex, state) if ex else None,
                    "series": np.array(rows, dtype=float)}   # None -> NaN
        except BAD_INPUT as exc:   # stored under an older catalogue or model: still listed, with why
            return {"v": sim.version, "names": list(sim.kpis), "error": str(exc), "goal": None, "series": None}

    def ensure(self, row: dict) -> dict:
        """``row`` with a summary for the loaded model (computed and stored once if missing or stale)."""
        s = row.get("summary")
        if not s or s.get("v") != self.sim.version or s.get("names") != self.sim.kpis:
            s = self.compute(row["state"], row["exercise"])
            self.store.set_summary(row["id"], s)
            row = {**row, "summary": s}
        return row

    def row_json(self, row: dict, k: int, with_series: list[str]) -> dict:
        """A listed row: KPI values in the year of index ``k`` (the baseline's are sent once, apart)."""
        row = self.ensure(row)
        s = row["summary"]
        out = {key: row[key] for key in ("id", "created", "team", "name", "exercise", "model_version", "state")}
        g = s["goal"]
        out["goal"] = {"met": g["met"], "result": g["result"], "cost": g["cost"]} if g else None
        out["error"] = s["error"]
        if s["error"] or s["series"] is None:
            out.update(kpis=None, extra_cost=None, series=None)
            return out
        at_k = _floats(s["series"][:, k])
        out["kpis"] = dict(zip(self.sim.kpis, at_k))
        out["extra_cost"] = at_k[-1]
        out["series"] = ({n: _floats(s["series"][self.row_of[n]]) for n in with_series}
                         if with_series else None)
        return out


def _series_names(sim: Simulation, raw: str) -> list[str]:
    names = [n for n in raw.split("|") if n] if raw else []
    if names == ["all"]:
        return list(sim.kpis)
    for n in names:
        if n not in sim.kpis:
            raise DashboardError(f"series: unknown KPI {clip(n)}")
    return names


def _claim_error(claim: Claim, team: str, limits) -> Denied:
    if claim.status == "conflict":
        return Denied(409, "submission_id is already used by a different submission; make a new id per submission")
    if claim.status == "team_taken":
        return Denied(403, f"team name {clip(team)} is already used by another browser; submit from that "
                           "browser, or choose another team name")
    if claim.status == "team_full":
        return Denied(429, f"team {clip(team)} has {limits.team_total} submissions, the most a team may keep; "
                           "ask the facilitator to delete some")
    return Denied(429, f"the workshop holds {limits.total} submissions, the most it may keep; "
                       "ask the facilitator to delete some")


def register(app: FastAPI, sim: Simulation, store: SubmissionStore, exercises: dict[str, Exercise],
             access: Access) -> None:
    """Add the submission and facilitator routes to ``app``."""
    limits = access.limits
    summaries = Summaries(sim, exercises, store)
    client_rate = RateLimiter(*limits.client_rate)
    team_rate = RateLimiter(*limits.team_rate)
    app.state.summaries = summaries

    gate = Gate(access)
    facilitator = gate.require
    app.state.gate = gate

    def rate(limiter: RateLimiter, key: str, what: str, spec: tuple) -> None:
        wait = limiter.take(key)
        if wait:
            n, per = spec
            raise Denied(429, f"too many submissions from {what}: at most {n} per {per:g} s; try again in "
                              f"{math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})

    @app.get("/api/submissions", dependencies=[Depends(facilitator)])
    def list_submissions(year: float = DEFAULT_YEAR, limit: int = Query(100, ge=1, le=limits.page_max),
                         offset: int = Query(0, ge=0, le=MAX_ID), since: int | None = Query(None, ge=0, le=MAX_ID),
                         series: str = Query("", max_length=2000)):
        """A page of submissions (``offset``/``limit``), or what changed after cursor ``since``.

        ``series`` = KPI names joined by ``|`` (or ``all``) whose yearly series to include.
        """
        k = year_index(sim, year)
        names = _series_names(sim, series)
        base_run = sim.baseline()
        out: dict = {"year": float(base_run.years[k]), "model_version": sim.version, "limit": limit,
                     "baseline": {n: num(base_run.series[n][k]) for n in sim.kpis}}
        if since is None:
            rows, total, cursor = store.page(offset=offset, limit=limit)
            out.update(offset=offset, total=total, cursor=cursor, more=offset + len(rows) < total, deleted=[])
        else:
            rows, deleted, cursor, more = store.changes(since, limit=limit)
            out.update(since=since, total=store.count(), cursor=cursor, more=more, deleted=deleted)
        out["submissions"] = [summaries.row_json(r, k, names) for r in rows]
        # plain data already: skip FastAPI's generic encoder, which took most of the time of a page
        return JSONResponse(out)

    @app.post("/api/submissions", status_code=201)
    def submit(sub: SubmissionIn, request: Request, response: Response):
        """Store a team's scenario. The first submission of a team name returns its ``team_token``."""
        token = request.headers.get(TEAM_HEADER)
        state = sim.normalize(sub.state.as_dict())
        if sub.exercise is not None and sub.exercise not in exercises:
            raise NotFound(f"unknown exercise {clip(sub.exercise)}; exercises: {', '.join(exercises)}")
        args = {"team": sub.team, "name": sub.name, "state": state, "model_version": sim.version,
                "exercise": sub.exercise, "uid": sub.submission_id, "team_token": token,
                "limits": (limits.team_total, limits.total)}
        retry = sub.submission_id is not None and store.has_uid(sub.submission_id)
        if not retry:
            # rates are charged before the model runs; the team's only once the team is known to
            # be the caller's, so nobody can use up another team's allowance
            client = request.client.host if request.client else "unknown"
            rate(client_rate, client, "this computer", limits.client_rate)
            if store.owner(sub.team, token) == "taken" and not (
                    sub.submission_id and store.has_uid(sub.submission_id)):   # (a retry racing its original)
                raise _claim_error(Claim("team_taken"), sub.team, limits)
            rate(team_rate, team_key(sub.team), f"team {clip(sub.team)}", limits.team_rate)
            args["summary"] = summaries.compute(state, sub.exercise)
        claim = store.add(**args)
        if claim.row is None:
            raise _claim_error(claim, sub.team, limits)
        if claim.status == "existing":
            response.status_code = 200
        out = summaries.row_json(claim.row, year_index(sim, DEFAULT_YEAR), [])
        out["submission_id"] = claim.row["uid"]
        out["team_token"] = claim.team_token
        return out

    @app.delete("/api/submissions/{sub_id}")
    def delete_submission(request: Request, sub_id: int = Path(ge=1, le=MAX_ID)):
        """Delete a submission: the facilitator may delete any, a team only its own."""
        ok, team_token = gate.check(request), request.headers.get(TEAM_HEADER)
        if ok is None and team_token:
            owned = store.team_token_ok(sub_id, team_token)
            if owned is None:
                raise NotFound(f"no submission #{sub_id}")
            if not owned:
                raise Denied(403, f"submission #{sub_id} belongs to another team")
        else:
            gate.deny(ok)
        if not store.delete(sub_id):
            raise NotFound(f"no submission #{sub_id}")
        return {"deleted": sub_id}

    @app.get("/api/submissions.csv", dependencies=[Depends(facilitator)])
    def submissions_csv(year: float = DEFAULT_YEAR):
        k = year_index(sim, year)
        base_run = sim.baseline()
        y = int(base_run.years[k])
        base = {n: num(base_run.series[n][k]) for n in sim.kpis}
        buf = io.StringIO()
        w = csv.writer(buf)
        head = ["id", "created", "team", "scenario", "exercise", "goal_met", "model_version",
                f"extra_fiscal_cost_to_{y} (亿元)"]
        for name in sim.kpis:
            unit = sim.catalogue.kpis[name].unit
            head += [f"{name} {y} ({unit})", f"{name} {y} vs baseline (%)"]
        w.writerow([csv_cell(c) for c in [*head, "settings", "error"]])
        w.writerow(["", "", "(baseline)", "baseline", "", "", sim.version, 0]
                   + [v for name in sim.kpis for v in (base[name], 0)] + ["{}", ""])
        for row in store.all():
            r = summaries.row_json(row, k, [])
            line = [r["id"], r["created"], r["team"], r["name"], r["exercise"] or "",
                    "" if not r.get("goal") else ("yes" if r["goal"]["met"] else "no"),
                    r["model_version"], r["extra_cost"]]
            for name in sim.kpis:
                value = (r["kpis"] or {}).get(name)
                if value is not None:
                    pct = 100 * (value / base[name] - 1) if base[name] else None
                    line += [value, None if pct is None else round(pct, 3)]
                else:
                    line += ["", ""]
            line += [sim.key(r["state"]), r["error"] or ""]
            w.writerow([csv_cell(c) for c in line])
        body = "\ufeff" + buf.getvalue()   # BOM: spreadsheet programs then read the Chinese text right
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="innosim_submissions_{y}.csv"'})
