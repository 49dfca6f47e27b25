"""Policy design under a budget: the best lever package for an objective, robust packages over
uncertain parameters, and Pareto fronts, from a problem file.

>>> import optimise
>>> problem = optimise.load_problem("models/<name>/problems/<problem>.toml")
>>> outcome = optimise.optimise(problem, progress=False)
>>> outcome.table()                                # the packages, their objectives and costs
>>> optimise.write_outputs(outcome, "out/optimise")  # scenario files, charts, report.html

A generation of candidate packages, each under every uncertainty draw, is one ensemble run of the
engine (chunked, optionally on Dask through :mod:`sensitivity`). See docs/optimise.md.
"""
from .errors import ProblemError
from .evaluate import Evaluator, Scores
from .problem import (
    MEASURES,
    Constraint,
    Decision,
    Objective,
    Problem,
    Quantity,
    Search,
    Uncertainty,
    load_problem,
)
from .search import SearchResult, differential_evolution, nsga2
from .study import Outcome, Package, draws_of, optimise

__all__ = [
    "load_problem", "Problem", "Decision", "Objective", "Constraint", "Quantity", "Uncertainty", "Search",
    "MEASURES", "ProblemError",
    "Evaluator", "Scores", "SearchResult", "differential_evolution", "nsga2",
    "optimise", "Outcome", "Package", "draws_of",
]
