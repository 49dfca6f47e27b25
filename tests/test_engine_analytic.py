"""Every integration method against closed-form solutions.

Models (``tests/models/``): exponential decay, logistic growth, goal seeking (first-order
approach to a goal) and an undamped harmonic oscillator (two stocks).

Error measure for the adaptive methods: the worst, over save times and stocks, of

    |engine - exact| / (atol + rtol * max_t |exact|)        with rtol = atol = 1e-8,

i.e. the global error in units of the requested tolerance. scipy controls the *local* error of
each step, so the global error is a small multiple of the tolerance that grows with the number of
steps; the bounds below are ~5x the worst value observed on these four models (scipy 1.x):

    RK45 20, DOP853 20, Radau 5 (implicit, order 5, very conservative step control),
    RK23 100 (order 3: many more steps), LSODA 100 and BDF 500 (multistep methods; their
    error accumulates most on the oscillator, whose energy is not damped).

Fixed-step methods have no tolerance, so their bounds are in terms of the TIME STEP ``dt``:

* the engine must be exactly the textbook recurrence (Euler ``y += dt f(t, y)``, classic RK4)
  computed here independently with numpy (relative 1e-12);
* Euler is first order: the error must halve when dt halves (ratio in [1.8, 2.3]), and on the
  contractive linear models (decay, goal seeking: 0 < k dt < 1, so each step's local error
  dt^2/2 |y''| is never amplified) it is bounded by dt/2 * integral |y''| dt = dt/2 * |y'(0)|;
* RK4 is fourth order: the error shrinks by ~16 when dt halves (ratio in [13, 19]) and is below
  1e-6 of the variable's scale at dt = 1/16.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import MODELS

import simulator

ADAPTIVE_BOUND = {"RK45": 20, "DOP853": 20, "Radau": 5, "RK23": 100, "LSODA": 100, "BDF": 500}
TOL = 1e-8

# parameters written in tests/models/*.mdl
DECAY = dict(k=0.3, S0=100.0)
LOGISTIC = dict(r=0.8, K=1000.0, P0=10.0)
GOAL = dict(goal=50.0, tau=2.5, L0=5.0)
OSC = dict(w=1.5, x0=1.0, v0=0.5)


def exact(name: str, t: np.ndarray) -> dict[str, np.ndarray]:
    if name == "decay":
        return {"Stock": DECAY["S0"] * np.exp(-DECAY["k"] * t)}
    if name == "logistic":
        r, K, P0 = LOGISTIC["r"], LOGISTIC["K"], LOGISTIC["P0"]
        return {"Population": K / (1 + (K - P0) / P0 * np.exp(-r * t))}
    if name == "goal_seek":
        return {"Level": GOAL["goal"] + (GOAL["L0"] - GOAL["goal"]) * np.exp(-t / GOAL["tau"])}
    if name == "oscillator":
        w, x0, v0 = OSC["w"], OSC["x0"], OSC["v0"]
        return {"Position": x0 * np.cos(w * t) + v0 / w * np.sin(w * t),
                "Velocity": -x0 * w * np.sin(w * t) + v0 * np.cos(w * t)}
    raise KeyError(name)


def derivative(name: str):
    """f(t, y) of each model, y ordered as the stocks in ``exact``; for the reference recurrences."""
    if name == "decay":
        return lambda t, y: np.array([-DECAY["k"] * y[0]])
    if name == "logistic":
        return lambda t, y: np.array([LOGISTIC["r"] * y[0] * (1 - y[0] / LOGISTIC["K"])])
    if name == "goal_seek":
        return lambda t, y: np.array([(GOAL["goal"] - y[0]) / GOAL["tau"]])
    if name == "oscillator":
        return lambda t, y: np.array([y[1], -OSC["w"] ** 2 * y[0]])
    raise KeyError(name)


NAMES = ["decay", "logistic", "goal_seek", "oscillator"]


@pytest.fixture(scope="module")
def models():
    return {n: simulator.load(MODELS / f"{n}.mdl") for n in NAMES}


def errors(res, name, scale_tol=None):
    """(worst error / (tol + tol*scale), worst error / scale) over the stocks of ``name``."""
    ex = exact(name, res.times)
    norm, rel = 0.0, 0.0
    for var, ref in ex.items():
        scale = np.max(np.abs(ref))
        err = np.max(np.abs(res[var][:, 0] - ref))
        rel = max(rel, err / scale)
        if scale_tol is not None:
            norm = max(norm, err / (scale_tol + scale_tol * scale))
    return norm, rel


def test_models_are_what_the_analytic_solutions_assume(models):
    assert models["decay"].stocks == ["Stock"]
    assert models["oscillator"].stocks == ["Position", "Velocity"]
    for n, m in models.items():
        assert m.control["initial_time"] == 0.0
        res = m.run(method="euler")
        for var, ref in exact(n, res.times[:1]).items():
            assert res[var][0, 0] == pytest.approx(ref[0], rel=1e-15), (n, var)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", list(ADAPTIVE_BOUND))
def test_adaptive_methods_within_tolerance_of_analytic(models, name, method):
    res = models[name].run(method=method, options=simulator.RunOptions(rtol=TOL, atol=TOL))
    assert res.metadata["method"] == method
    assert res.times[0] == 0.0 and res.times[-1] == models[name].control["final_time"]
    norm, _ = errors(res, name, TOL)
    assert norm <= ADAPTIVE_BOUND[method], f"{method} on {name}: error {norm:.3g} x tolerance"


@pytest.mark.parametrize("method", list(ADAPTIVE_BOUND))
def test_adaptive_error_shrinks_with_tolerance(models, method):
    # 1e-6 -> 1e-10: a working error control gains (much) more than 300x; observed >= 1700x
    _, loose = errors(models["logistic"].run(method=method, options=simulator.RunOptions(rtol=1e-6, atol=1e-6)),
                      "logistic")
    _, tight = errors(models["logistic"].run(method=method, options=simulator.RunOptions(rtol=1e-10, atol=1e-10)),
                      "logistic")
    assert loose > 0
    assert tight < loose / 300, f"{method}: {loose:.3g} -> {tight:.3g}"


def reference_fixed(name, method, dt, t_end, saveper):
    """The textbook Euler / RK4 recurrence, saved every ``saveper``."""
    f = derivative(name)
    y = np.array([v[0] for v in exact(name, np.array([0.0])).values()], dtype=float)
    n = int(round(t_end / dt))
    every = int(round(saveper / dt))
    out = [y.copy()]
    for k in range(n):
        t = k * dt
        if method == "euler":
            y = y + dt * f(t, y)
        else:
            k1 = f(t, y)
            k2 = f(t + dt / 2, y + dt / 2 * k1)
            k3 = f(t + dt / 2, y + dt / 2 * k2)
            k4 = f(t + dt, y + dt * k3)
            y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if (k + 1) % every == 0:
            out.append(y.copy())
    return np.array(out)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_fixed_step_is_the_textbook_recurrence(models, name, method):
    m = models[name]
    dt = 1 / 16
    res = m.run(method=method, options=simulator.RunOptions(time_step=dt))
    ctl = m.control
    ref = reference_fixed(name, method, dt, ctl["final_time"], ctl["saveper"])
    assert res.metadata["time_step"] == dt
    assert res.metadata["solver"]["steps"] == int(ctl["final_time"] / dt)
    got = np.column_stack([res[v][:, 0] for v in exact(name, np.zeros(1))])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("name", NAMES)
def test_euler_is_first_order(models, name):
    m = models[name]
    e1 = errors(m.run(method="euler", options=simulator.RunOptions(time_step=1 / 64)), name)[1]
    e2 = errors(m.run(method="euler", options=simulator.RunOptions(time_step=1 / 128)), name)[1]
    assert 1.8 <= e1 / e2 <= 2.3, f"error ratio {e1 / e2:.3f} when dt halves"


@pytest.mark.parametrize("name,slope0", [
    ("decay", DECAY["k"] * DECAY["S0"]),
    ("goal_seek", abs(GOAL["goal"] - GOAL["L0"]) / GOAL["tau"]),
])
@pytest.mark.parametrize("dt", [1 / 8, 1 / 32, 1 / 128])
def test_euler_error_within_dt_bound_on_contractive_models(models, name, slope0, dt):
    res = models[name].run(method="euler", options=simulator.RunOptions(time_step=dt))
    (var, ref), = exact(name, res.times).items()
    err = np.max(np.abs(res[var][:, 0] - ref))
    bound = dt / 2 * slope0  # y' decays monotonically, so integral |y''| = |y'(0)|
    assert 0 < err <= bound, f"dt={dt}: error {err:.3g} > bound {bound:.3g}"


@pytest.mark.parametrize("name", NAMES)
def test_rk4_is_fourth_order(models, name):
    m = models[name]
    e1 = errors(m.run(method="rk4", options=simulator.RunOptions(time_step=1 / 8)), name)[1]
    e2 = errors(m.run(method="rk4", options=simulator.RunOptions(time_step=1 / 16)), name)[1]
    assert 13 <= e1 / e2 <= 19, f"error ratio {e1 / e2:.3f} when dt halves"
    assert e2 <= 1e-6 if name != "oscillator" else e2 <= 2e-5  # oscillator: 10 time units at w=1.5


def test_method_names_are_case_insensitive_and_checked(models):
    m = models["decay"]
    a = m.run(method="rk45")
    b = m.run(method="RK45")
    np.testing.assert_array_equal(a["Stock"], b["Stock"])
    assert a.metadata["method"] == "RK45"
    with pytest.raises(simulator.ParameterError, match="unknown integration method 'heun'"):
        m.run(method="heun")
