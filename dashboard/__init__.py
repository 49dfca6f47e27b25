"""Workshop dashboard: a FastAPI app over :mod:`simulator` and :mod:`policies`.

>>> from dashboard import ModelSetup, Simulation, create_app
>>> setup = ModelSetup(name="my_model", title={"zh": "...", "en": "..."},
...                    catalogue=Path("models/my_model/levers.toml"))
>>> app = create_app("/tmp/innosim-data", simulation=Simulation.from_setup(setup))   # then: uvicorn.run(app)

or from the command line: ``innosim serve [--model NAME]`` (every registered model behind a
model switch; see :func:`dashboard.site.create_site`). The FastAPI app itself is imported lazily,
so ``import dashboard`` works without the extra.
"""
from .assumptions import Assumption, load_assumptions
from .errors import DashboardError, NotFound
from .exercises import Exercise, Goal, Predict, check_goal, load_exercises, reveal
from .simulation import ModelSetup, RunData, Simulation
from .store import SubmissionStore, default_data_dir

__all__ = [
    "create_app", "create_site", "ModelSetup", "Simulation", "RunData", "Assumption", "load_assumptions",
    "Exercise", "Goal", "Predict", "load_exercises", "check_goal", "reveal",
    "SubmissionStore", "default_data_dir", "DashboardError", "NotFound",
]


def create_app(*args, **kwargs):
    """See :func:`dashboard.app.create_app` (imported here on first use: it needs fastapi)."""
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


def create_site(*args, **kwargs):
    """See :func:`dashboard.site.create_site` (imported here on first use: it needs fastapi)."""
    from .site import create_site as _create_site

    return _create_site(*args, **kwargs)
