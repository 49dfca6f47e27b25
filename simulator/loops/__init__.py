"""Feedback-loop analysis read from a model's IR: loops, polarities, Loops that Matter, CLDs.

>>> import simulator
>>> from simulator import loops
>>> model = simulator.load("path/to/model.mdl")
>>> found = loops.find_loops(model)               # every loop, with polarity and a name
>>> found.frame()                                 # one row per loop
>>> scores = loops.score_loops(model, found)      # Loops that Matter over a run (any params)
>>> scores.dominant()                             # the dominant loop at each save time
>>> loops.dominant_loops(model, params, top=3)    # the same for one run, as the dashboard asks

See docs/loops.md.
"""
from .analysis import (
           Loop,
           LoopScores,
           LoopSet,
           dominant_loops,
           find_loops,
           score_loops,
           score_trajectory,
)
from .graph import Structure, build, to_networkx
from .trajectory import Trajectory, trajectory

__all__ = ["Loop", "LoopScores", "LoopSet", "Structure", "Trajectory", "build", "dominant_loops", "find_loops",
           "score_loops", "score_trajectory", "to_networkx", "trajectory"]
