"""Routes of the views that explain the model: recorded data, uncertainty bands, documentation page,
causal loop diagram and the "why" panel (dominant loops of the current run).

Each view is there when the model brings what it needs (a calibration set-up with data, an
uncertainty file, a loop analysis in the engine); ``/api/meta`` says which are (``features``), so
the page shows only those.
"""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, Response

from .bands import Bands
from .errors import NotFound
from .history import load_history
from .modeldoc import IMAGE_SUFFIXES, documentation_image, loops_module, variable_table
from .schemas import StateRequest
from .security import Access
from .why import LoopViews, available

log = logging.getLogger("innosim.dashboard")


class ModelViews:
    """What the views of one model need, loaded once when the app is made."""

    def __init__(self, sim, access: Access):
        setup = sim.setup
        self.sim = sim
        self.history = load_history(setup.calibration, sim.model) if setup and setup.calibration else {}
        self.bands = (Bands(sim, setup.uncertainties, limits=access.limits)
                      if setup and setup.uncertainties else None)
        self.doc_image = documentation_image(setup.documentation if setup else None)
        loops = loops_module()
        self.loops = (LoopViews(loops, sim, documentation=setup.documentation if setup else None,
                                limits=access.limits) if available(loops) else None)

    def features(self) -> dict:
        return {"history": bool(self.history), "bands": self.bands.describe() if self.bands else None,
                "doc": True, "cld": self.loops is not None or self.doc_image is not None,
                "why": self.loops is not None}

    def cld(self, lang: str) -> tuple[bytes | Path, str]:
        """The causal loop diagram: the one the model's documentation shows (drawn with care, once),
        else one drawn from the model by the loop analysis (in the page's language)."""
        if self.doc_image is not None:
            return self.doc_image, IMAGE_SUFFIXES[self.doc_image.suffix.lower()]
        if self.loops is not None:
            png = self.loops.cld(lang)
            if png:
                return png, "image/png"
        raise NotFound("this model has no causal loop diagram")


def register(app: FastAPI, sim, access: Access, static: Path) -> ModelViews:
    """Add the model views' routes to ``app``; returns what they serve (``features()`` for /api/meta)."""
    views = ModelViews(sim, access)

    @app.get("/doc", include_in_schema=False)
    def doc_page():
        return FileResponse(static / "doc.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/history")
    def history():
        """Recorded data of the model by variable: years, values, sources (reference keys)."""
        return {"series": views.history}

    @app.post("/api/bands")
    def bands(req: StateRequest, request: Request):
        """p5, p25, p50, p75 and p95 of every KPI by year over the uncertainty ensemble of a scenario."""
        if views.bands is None:
            raise NotFound(f"model {sim.name!r} has no uncertainty file")
        client = request.client.host if request.client else "unknown"
        return views.bands.compute(req.state.as_dict(), client)

    @app.get("/api/doc")
    def doc():
        """The documentation page's content: the model and every variable."""
        setup = sim.setup
        return {"model": {"name": sim.name, "title": sim.title, "notice": sim.notice,
                          "description": setup.description if setup else None,
                          "file": sim.model.path.name, "version": sim.version},
                "features": views.features(), "variables": variable_table(sim.model)}

    @app.post("/api/why")
    def why(req: StateRequest, request: Request):
        """Dominant feedback loops of a scenario's run: periods, leading loops by year, loop names."""
        if views.loops is None:
            raise NotFound("the engine has no loop analysis (simulator.loops)")
        client = request.client.host if request.client else "unknown"
        return views.loops.why(req.state.as_dict(), client)

    @app.get("/api/doc/cld", include_in_schema=False)
    def cld(lang: str = Query("en", pattern="^(en|zh)$")):
        body, media = views.cld(lang)
        headers = {"Cache-Control": "no-cache"}
        if isinstance(body, Path):
            return FileResponse(body, media_type=media, headers=headers)
        return Response(body, media_type=media, headers=headers)

    return views
