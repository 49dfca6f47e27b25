"""The method layer on plain vectorised functions X (n, D) -> Y, SALib style, against analytic answers.

Ishigami (a = 7, b = 0.1, inputs uniform on [-pi, pi]) and a linear model have closed-form
Sobol indices; the estimates must lie within SALib's own confidence half-widths of them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sensitivity import (
    Triangular,
    Uncertainty,
    UncertaintySpec,
    Uniform,
    morris,
    oat,
    percentile_bands,
    sobol,
)
from sensitivity.methods import sobol as sobol_module

A, B = 7.0, 0.1


def ishigami(X):
    return np.sin(X[:, 0]) + A * np.sin(X[:, 1]) ** 2 + B * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_indices():
    v1 = 0.5 * (1 + B * np.pi ** 4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = B ** 2 * np.pi ** 8 * 8 / 225
    v = v1 + v2 + v13
    return {"S1": [v1 / v, v2 / v, 0.0], "ST": [(v1 + v13) / v, v2 / v, v13 / v]}


def spec_of(*dists):
    return UncertaintySpec(tuple(Uncertainty(f"x{i + 1}", d) for i, d in enumerate(dists)))


def assert_within_conf(table, expected, slack=1.0):
    for key in ("S1", "ST"):
        est = table[key].to_numpy()
        conf = table[f"{key}_conf"].to_numpy()
        err = np.abs(est - np.asarray(expected[key]))
        assert np.all(err <= slack * conf), f"{key}: estimates {est}, expected {expected[key]}, conf {conf}"


def test_sobol_ishigami_matches_analytic_indices():
    spec = spec_of(*[Uniform(-np.pi, np.pi)] * 3)
    table = sobol(ishigami, spec, 4096, seed=1).set_index("parameter").loc[["x1", "x2", "x3"]]
    expected = ishigami_indices()
    assert_within_conf(table, expected)
    # and the confidence intervals are tight enough for this to mean something
    assert (table["ST_conf"] < 0.05).all()
    assert table["ST"].idxmax() == "x1" and table["S1"].idxmax() == "x2"


def test_sobol_linear_model_with_mixed_distributions():
    # Y = sum a_i X_i, independent X_i: S1_i = ST_i = a_i^2 Var X_i / sum_j a_j^2 Var X_j
    a = np.array([1.0, 2.0, -3.0, 0.5])
    dists = [Uniform(0, 1), Uniform(-2, 2), Triangular(0, 0.25, 1), Uniform(10, 11)]
    var = np.array([1 / 12, 16 / 12, (0 + 1 + 0.0625 - 0 - 0 - 0.25) / 18, 1 / 12])
    share = a ** 2 * var / np.sum(a ** 2 * var)
    spec = spec_of(*dists)
    table = sobol(lambda X: X @ a, spec, 2048, seed=3).set_index("parameter").loc[spec.names]
    assert_within_conf(table, {"S1": share, "ST": share})
    assert table["S1"].sum() == pytest.approx(1, abs=0.05)


def test_sobol_several_outputs_and_design_size():
    spec = spec_of(Uniform(0, 1), Uniform(0, 1))
    seen = []

    def f(X):
        seen.append(len(X))
        return np.column_stack([X[:, 0], 3 * X[:, 1]])

    table = sobol(f, spec, 256, seed=0, outputs=["first", "second"])
    assert seen == [sobol_module.runs(256, 2)] == [256 * 4]
    top = table.sort_values("ST", ascending=False).groupby("output", sort=False).first()
    assert top.loc["first", "parameter"] == "x1" and top.loc["second", "parameter"] == "x2"
    assert top["ST"].to_numpy() == pytest.approx([1, 1], abs=0.02)


def test_morris_on_a_linear_model_is_exact():
    # elementary effects of a linear function are constant: mu* = |a_i| (hi - lo), sigma = 0
    a = np.array([2.0, -1.0, 0.0])
    spec = spec_of(Uniform(0, 1), Uniform(0, 10), Uniform(-1, 1))
    table = morris(lambda X: X @ a, spec, 12, seed=4).set_index("parameter").loc[spec.names]
    np.testing.assert_allclose(table["mu_star"], [2.0, 10.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(table["mu"], [2.0, -10.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(table["sigma"], 0.0, atol=1e-9)


def test_morris_flags_interactions_with_sigma():
    spec = spec_of(Uniform(0, 1), Uniform(0, 1), Uniform(0, 1))
    table = morris(lambda X: X[:, 0] * X[:, 1] + 0.1 * X[:, 2], spec, 30, seed=2).set_index("parameter")
    assert table.loc["x1", "sigma"] > 0.05 and table.loc["x3", "sigma"] < 1e-9
    assert table.loc["x3", "mu_star"] == pytest.approx(0.1)


def test_oat_tornado_on_a_linear_model():
    a = np.array([1.0, -4.0])
    spec = spec_of(Uniform(0, 2), Uniform(5, 6))
    table = oat(lambda X: X @ a, spec, base=[1.0, 5.5])
    assert list(table["parameter"]) == ["x2", "x1"]  # sorted by |swing|: 4, then 2
    t = table.set_index("parameter")
    assert t.loc["x1", "swing"] == pytest.approx(2.0) and t.loc["x2", "swing"] == pytest.approx(-4.0)
    assert t.loc["x2", "y_base"] == pytest.approx(1 - 22)
    assert (t.loc[["x1", "x2"], "low"].tolist(), t.loc[["x1", "x2"], "high"].tolist()) == ([0, 5], [2, 6])


def test_function_errors_are_reported():
    from sensitivity import SensitivityError

    spec = spec_of(Uniform(0, 1))
    with pytest.raises(SensitivityError, match="must return shape"):
        oat(lambda X: np.ones((len(X), 2, 2)), spec)
    with pytest.raises(SensitivityError, match="not finite for sample"), np.errstate(all="ignore"):
        oat(lambda X: np.log(X[:, 0] - 0.5), spec)


def test_percentile_bands():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(1000, 3)) + np.array([0, 10, 20])
    df = percentile_bands(v, np.array([2020.0, 2021, 2022]))
    assert list(df.columns) == ["p5", "p25", "p50", "p75", "p95", "mean"]
    np.testing.assert_allclose(df["p25"], np.percentile(v, 25, axis=0))
    assert isinstance(df.index, pd.Index) and df.index.name == "time"
    assert np.all(np.diff(df.to_numpy()[:, :5], axis=1) > 0)


def test_public_api_is_documented():
    import inspect

    import sensitivity

    missing = []
    for name in sensitivity.__all__:
        obj = getattr(sensitivity, name)
        if callable(obj) and not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            missing += [f"{name}.{k}" for k, v in vars(obj).items()
                        if not k.startswith("_") and callable(v) and not (v.__doc__ or "").strip()]
    assert not missing, f"public names without a docstring: {missing}"
