"""Workshop dashboard: a FastAPI app over :mod:`simulator` and :mod:`policies`.

>>> from dashboard import create_app
>>> app = create_app("/tmp/innosim-data")        # then: uvicorn.run(app)

or from the command line: ``innosim serve`` (see :func:`dashboard.server.main`).
The FastAPI app itself is imported lazily, so ``import dashboard`` works without the extra.
"""
from .assumptions import Assumption, load_assumptions
from .errors import DashboardError, NotFound
from .exercises import Exercise, Goal, Predict, check_goal, load_exercises, reveal
from .simulation import RunData, Simulation
from .store import SubmissionStore, default_data_dir

__all__ = [
    "create_app", "main", "Simulation", "RunData", "Assumption", "load_assumptions",
    "Exercise", "Goal", "Predict", "load_exercises", "check_goal", "reveal",
    "SubmissionStore", "default_data_dir", "DashboardError", "NotFound",
]


def create_app(*args, **kwargs):
    """See :func:`dashboard.app.create_app` (imported here on first use: it needs fastapi)."""
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """``innosim serve``: see :func:`dashboard.server.main`."""
    from .server import main as _main

    return _main(argv)
