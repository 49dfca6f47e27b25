"""Turning a scenario into per-run parameters, and fiscal costs out of a run.

Applying a scenario never touches the model: it returns a dict of parameter overrides (numbers or
time series) for ``Model.run``. Break points of every time profile become switch times of the
integrator, so steps and ramps are hit exactly by the adaptive solvers too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import Catalogue, Lever
from .errors import PolicyError
from .scenario import Scenario, Setting

STEP_EPS = 1e-6   # years: width of a step in a time profile (series must be strictly increasing)


def horizon(model) -> tuple[float, float]:
    """(INITIAL TIME, FINAL TIME) of a model."""
    c = model.control
    return float(c["initial_time"]), float(c["final_time"])


def profile_points(setting: Setting, base: float, value: float, t0: float, tf: float) -> tuple[np.ndarray, np.ndarray]:
    """Break points (times, values) of a lever's time profile over the run [t0, tf].

    The value is ``base`` before ``start``, rises linearly to ``value`` over ``ramp`` years (a
    step when ramp is 0: the new value holds at ``start`` itself, as Vensim's STEP), and returns to
    ``base`` just after ``end``.
    """
    s, r, e = setting.start, setting.ramp, setting.end
    # a ramp shorter than a step's width is a step; break points must be strictly increasing
    pts = [(s, base), (s + r, value)] if r >= STEP_EPS else [(s - STEP_EPS, base), (s, value)]
    if e is not None:
        reached = pts[-1][0]
        if e > reached:        # an end at the very time the value is reached holds it an instant
            pts.append((e, value))
        pts.append((max(e, reached) + STEP_EPS, base))
    xs = np.array([p[0] for p in pts])
    ys = np.array([p[1] for p in pts])
    # clip to the run: evaluate the piecewise-linear profile at t0 and tf and keep inner points
    inner = (xs > t0) & (xs < tf)
    tt = np.concatenate([[t0], xs[inner], [tf]])
    full_x = np.concatenate([[min(t0, xs[0]) - 1.0], xs, [max(tf, xs[-1]) + 1.0]])
    full_y = np.concatenate([[ys[0]], ys, [ys[-1]]])
    vv = np.interp(tt, full_x, full_y)
    return tt, vv


def check_horizon(scenario: Scenario, t0: float, tf: float) -> None:
    """Raise if a setting starts or ends outside the run, or holds a number that is not finite.

    Files are checked when they are read; this also covers scenarios built in code (the
    dashboard, ``with_setting``), where a NaN ramp would silently become a step.
    """
    cap = scenario.budget_cap
    if cap is not None and not (np.isfinite(cap) and cap >= 0):
        raise PolicyError(f"{scenario.source}: budget_cap = {cap!r} must be a finite number >= 0")
    for section, table in (("levers", scenario.levers), ("shocks", scenario.shocks)):
        for item_id, st in table.items():
            numbers = {"value": st.value, "start": st.start, "ramp": st.ramp,
                       **({"end": st.end} if st.end is not None else {}),
                       **{f"allocation.{c}": v for c, v in st.cells}}
            for key, v in numbers.items():
                if not np.isfinite(v):
                    raise PolicyError(f"{scenario.source}: {section}.{item_id}.{key} = {v!r} is not a finite number")
            if st.ramp < 0:
                raise PolicyError(f"{scenario.source}: {section}.{item_id}.ramp = {st.ramp:g} must not be negative")
            if not t0 <= st.start <= tf:
                raise PolicyError(f"{scenario.source}: {section}.{item_id}.start = {st.start:g} is outside "
                                  f"the run {t0:g}-{tf:g}")
            if st.end is not None and not t0 <= st.end <= tf:
                raise PolicyError(f"{scenario.source}: {section}.{item_id}.end = {st.end:g} is outside "
                                  f"the run {t0:g}-{tf:g}")


def _series(setting: Setting, base: float, value: float, t0: float, tf: float):
    xs, ys = profile_points(setting, base, value, t0, tf)
    if np.all(ys == ys[0]):
        return float(ys[0])
    return pd.Series(ys, index=xs)


def scenario_params(scenario: Scenario, model, *, catalogue: Catalogue) -> dict:
    """Parameter overrides for ``model.run`` that realise ``scenario``.

    Values are floats (a setting that holds over the whole run) or pandas Series over time. Levers
    the scenario does not mention keep the model's values.
    """
    t0, tf = horizon(model)
    check_horizon(scenario, t0, tf)
    params: dict = {}
    for item_id, st in scenario.settings.items():
        item: Lever = catalogue.get(item_id)
        if item.subscript and st.cells:
            elements = model.subscripts.get(item.subscript)
            if elements is None:
                raise PolicyError(f"{catalogue.path.name}: {item.id!r} is set per {item.subscript!r}, "
                                  f"which {model.path.name} does not define")
            for elem, v in st.cells:
                if elem not in elements:
                    from simulator.names import suggest
                    raise PolicyError(f"{scenario.source}: {item.id}: unknown region {elem!r}.{suggest(elem, elements)}")
                params[f"{item.constant}[{elem}]"] = _series(st, item.baseline, v, t0, tf)
        elif item.subscript:
            for elem in model.subscripts[item.subscript]:
                params[f"{item.constant}[{elem}]"] = _series(st, item.baseline, st.value, t0, tf)
        else:
            params[item.constant] = _series(st, item.baseline, st.value, t0, tf)
    return params


# ----------------------------------------------------------------------------- fiscal cost
def cost_variables(catalogue: Catalogue) -> list[str]:
    """Model variables needed to compute every lever's fiscal cost, and the model's own annual and
    cumulative cost variables."""
    names: list[str] = [catalogue.costs.annual, catalogue.costs.cumulative]
    for lv in catalogue.levers.values():
        for n in lv.cost_variables:
            if n not in names:
                names.append(n)
    return names


def lever_costs(result, *, catalogue: Catalogue, member: int = 0) -> pd.DataFrame:
    """Gross fiscal cost of each lever over time (亿元/Year): rows = times, columns = lever ids.

    Each lever's cost is the product of its ``cost.variables`` in the run; subscripted variables are
    summed over their elements after the product is taken element by element.
    """
    cols = {}
    for lv in catalogue.levers.values():
        prod = None
        for name in lv.cost_variables:
            try:
                arr = np.asarray(result[name])[..., member]
            except KeyError:
                raise PolicyError(f"lever {lv.id!r}: the run did not keep {name!r}, needed for its fiscal cost; "
                                  "include policies.cost_variables() in the outputs") from None
            prod = arr if prod is None else _mul(prod, arr)
        cols[lv.id] = prod.reshape(len(result.times), -1).sum(axis=1)
    return pd.DataFrame(cols, index=pd.Index(result.times, name="time"))


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # time axis first; a scalar series (T,) broadcasts against a subscripted one (T, n)
    if a.ndim < b.ndim:
        a = a.reshape(a.shape + (1,) * (b.ndim - a.ndim))
    elif b.ndim < a.ndim:
        b = b.reshape(b.shape + (1,) * (a.ndim - b.ndim))
    return a * b
