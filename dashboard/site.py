"""Several models in one dashboard: the first model's page at ``/``, every other one at ``/m/<name>/``.

Each model gets its own app (:func:`dashboard.app.create_app`): its catalogue, assumptions,
exercises, run cache and submissions database (``<data folder>/<model name>/``). The page's model
switch lists them all; ``/?model=NAME`` leads to a model's page too. A model other than the first
is loaded when its page is first asked for, so the server starts as fast as with one model.
The facilitator token, the Host allow-list and the limits are shared (one :class:`Access`).
"""
from __future__ import annotations

import threading
from pathlib import Path

from .security import Access
from .simulation import ModelSetup, Simulation

MOUNT = "/m"


def model_url(setups: list[ModelSetup], name: str) -> str:
    """The page of model ``name``: ``/`` for the first model, ``/m/<name>/`` for the others."""
    return "/" if name == setups[0].name else f"{MOUNT}/{name}/"


def switch(setups: list[ModelSetup]) -> tuple:
    """The entries of the page's model switch: name, zh/en title, address, notice."""
    return tuple({"name": s.name, "title": s.title, "url": model_url(setups, s.name),
                  "notice": s.notice is not None} for s in setups)


class LazyApp:
    """An ASGI app built on its first request (in a worker thread: loading a model takes seconds)."""

    def __init__(self, build):
        self._build = build
        self._app = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._app is None:
                self._app = self._build()
        return self._app

    async def __call__(self, scope, receive, send):
        app = self._app
        if app is None:
            import anyio

            app = await anyio.to_thread.run_sync(self._get)
        await app(scope, receive, send)


def create_site(setups: list[ModelSetup], data_dir: str | Path, *, access: Access | None = None,
                warm_up: bool = True, simulation: Simulation | None = None, initial=None):
    """The dashboard of ``setups`` (the first one at ``/``). ``simulation`` may give the first
    model's simulation already loaded (it must be the model of ``setups[0]``); ``initial`` is the
    first model's opening state, or a function of its simulation that returns it
    (``innosim serve --set``)."""
    from .app import create_app

    if not setups:
        raise ValueError("create_site: no model to serve")
    names = [s.name for s in setups]
    if len(set(names)) != len(names):
        raise ValueError(f"create_site: a model is listed twice ({', '.join(names)})")
    data_dir = Path(data_dir)
    access = access or Access()
    entries = switch(setups)
    first = simulation or Simulation.from_setup(setups[0])
    if callable(initial):
        initial = initial(first)
    app = create_app(data_dir / setups[0].name, simulation=first, warm_up=warm_up, access=access, models=entries,
                     initial=initial)
    for setup in setups[1:]:
        def build(setup=setup):
            return create_app(data_dir / setup.name, simulation=Simulation.from_setup(setup),
                              warm_up=warm_up, access=access, models=entries)

        app.mount(f"{MOUNT}/{setup.name}", LazyApp(build))
    return app
