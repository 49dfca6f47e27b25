"""innosim's simulation engine: Vensim/XMILE models compiled to vectorised numpy, integrated with scipy.

>>> import simulator
>>> model = simulator.load("path/to/model.mdl")   # any Vensim (.mdl) or XMILE file
>>> result = model.run(method="euler")
>>> result.to_frame().head()
"""
from .errors import (
                     AlgebraicLoopError,
                     ModelLimitError,
                     ModelLoadError,
                     NonFiniteError,
                     ParameterError,
                     SimulatorError,
                     SolverError,
                     UnsafeModelTextError,
                     UnsupportedFeatureError,
)
from .model import Model, RunOptions, Variable, __version__, load
from .result import Result

__all__ = [
    "load", "Model", "RunOptions", "Result", "Variable", "__version__",
    "SimulatorError", "ModelLoadError", "UnsupportedFeatureError", "UnsafeModelTextError",
    "ModelLimitError", "AlgebraicLoopError",
    "ParameterError", "NonFiniteError", "SolverError",
]
