"""Drivers: the rank correlation of inputs with a per-run figure, the claims behind each
input, and the choice of the inputs a figure follows most."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, merge

from forcegen.analysis.drivers import (
    MIN_RUNS,
    RHO_FLOOR,
    TOP,
    Driver,
    input_claims,
    rank_correlations,
    sampled,
    top_drivers,
)
from forcegen.api import simulate

CLAIMS = [
    {
        "id": c,
        "source": {"publication": f"paper {c}"},
        "attribution": "named",
        "paraphrase": f"claim {c}",
        "grade": g,
    }
    for c, g in (("A", "B2"), ("Z", "E5"), ("S", "C3"))
]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho the slow, obvious way: Pearson on mean ranks, loops over values."""

    def ranks(v: np.ndarray) -> np.ndarray:
        return np.array([(v < a).sum() + ((v == a).sum() + 1) / 2 for a in v])

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def test_rank_correlation_is_spearmans_with_ties_given_their_mean_rank() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, 40).astype(float)  # many ties in the figure
    x = np.column_stack([rng.integers(0, 4, 40), y + rng.normal(0, 1, 40), rng.normal(size=40)])
    rho = rank_correlations(x, y)
    assert rho == pytest.approx([_spearman(x[:, j], y) for j in range(3)], abs=1e-12)
    # A monotone transform of an input changes nothing: only ranks count.
    assert rank_correlations(np.exp(x), y) == pytest.approx(rho, abs=1e-12)


def test_rank_correlation_has_the_sign_of_the_association() -> None:
    y = np.arange(20.0) ** 3
    x = np.column_stack([np.arange(20.0), -np.sqrt(np.arange(20.0)), np.ones(20)])
    assert list(rank_correlations(x, y)) == pytest.approx([1.0, -1.0, 0.0])


def test_rank_correlation_leaves_nan_runs_out() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    y_nan = y.copy()
    y_nan[[2, 7]] = np.nan
    x_nan = x.copy()
    x_nan[5, 1] = np.nan
    got = rank_correlations(x_nan, y_nan)
    keep0 = np.isfinite(y_nan)
    keep1 = keep0 & np.isfinite(x_nan[:, 1])
    assert got[0] == pytest.approx(_spearman(x[keep0, 0], y[keep0]), abs=1e-12)
    assert got[1] == pytest.approx(_spearman(x[keep1, 1], y[keep1]), abs=1e-12)
    # A column of NaN, a constant column and a constant figure give 0, not NaN.
    assert rank_correlations(np.full((30, 1), np.nan), y)[0] == 0.0
    assert rank_correlations(x, np.full(30, 2.0)) == pytest.approx([0.0, 0.0])
    assert rank_correlations(np.ones(2), np.arange(2.0))[0] == 0.0


def test_top_drivers_are_ordered_by_magnitude_cut_at_the_floor_and_at_top() -> None:
    rng = np.random.default_rng(1)
    runs = 400
    x = rng.normal(size=(runs, 6))
    y = 1.0 * x[:, 0] - 3.0 * x[:, 1] + 2.0 * x[:, 2] + 0.6 * x[:, 3]
    names = ["a", "b", "c", "d", "e", "f"]
    claims = {"b": ("Z",), "c": ("A", "S")}
    grades = {"A": "B2", "Z": "E5", "S": "C3"}
    found, note = top_drivers(y, names, x, claims=claims, grades=grades)
    assert note == "" and len(found) == TOP
    assert [d.input for d in found] == ["b", "c", "a"]
    assert found[0].rho < -0.5 < 0.5 < found[1].rho
    assert found[0] == Driver("b", found[0].rho, ("Z",), ("E5",), "b")
    assert found[1].label() == "A (B2), S (C3)" and found[2].label() == "a (assumption)"
    # Only inputs at or above the floor are named: none of the noise columns.
    found, _ = top_drivers(y, names, x, claims=claims, grades=grades, top=6)
    assert {d.input for d in found} <= {"a", "b", "c", "d"}
    assert all(abs(d.rho) >= RHO_FLOOR for d in found)
    found, note = top_drivers(rng.normal(size=runs), names, x, claims={}, grades={}, floor=0.5)
    assert found == [] and "rank correlation of 0.5 or more" in note


def test_top_drivers_say_why_none_is_named() -> None:
    x = np.column_stack([np.arange(30.0), np.zeros(30)])
    y = np.arange(30.0)
    few = np.where(np.arange(30) < MIN_RUNS - 1, y, np.nan)  # NaN runs do not count
    assert "too few runs" in top_drivers(few, ["a", "b"], x, claims={}, grades={})[1]
    fixed = np.zeros((30, 2))
    assert "no uncertain input varies" in top_drivers(y, ["a", "b"], fixed, claims={}, grades={})[1]
    flat = np.full(30, 4.0)
    assert "the same in every run" in top_drivers(flat, ["a", "b"], x, claims={}, grades={})[1]
    assert "no uncertain input varies" in top_drivers(y, [], x[:, :0], claims={}, grades={})[1]


def _choice_scenario():
    strength = {
        "choose": "size",
        "default": "big",
        "weights": {"big": 1, "small": 1},
        "options": {
            "big": {"pert": [400, 500, 600], "cites": ["Z"]},
            "small": {"pert": [100, 200, 300], "cites": ["A", "S"]},
        },
    }
    return build(
        claims=CLAIMS,
        units=merge([{"strength": strength, "count": {"triangular": [2, 4, 6], "cites": ["A"]}}]),
    )


def test_input_claims_name_each_option_of_a_choice_and_the_option_taken() -> None:
    scenario = _choice_scenario()
    cited = input_claims(scenario)
    assert cited["units[0].count"] == ("A",)
    assert cited["units[0].strength.options.big"] == ("Z",)
    assert cited["units[0].strength.options.small"] == ("A", "S")
    assert cited["units[0].strength"] == ("Z",)  # the default option
    assert input_claims(scenario, {"size": "small"})["units[0].strength"] == ("A", "S")
    assert cited["demands[0].people"] == ()  # an assumption


def test_a_choice_that_drives_the_figure_is_named_by_the_claims_of_the_option_taken() -> None:
    scenario = _choice_scenario()
    results = simulate(scenario, runs=60, seed=2, choices={"size": "small"})
    names, values = sampled(results.to_xarray())
    assert set(names) == {"units[0].count", "units[0].strength"} and values.shape == (60, 2)
    people = results.to_xarray().strength.sel(force="blue").sum("location").isel(day=0).values
    found, _ = top_drivers(
        people,
        names,
        values,
        claims=input_claims(scenario, {"size": "small"}),
        grades={c["id"]: c["grade"] for c in CLAIMS},
        scenario=scenario,
    )
    by_input = {d.input: d for d in found}
    assert by_input["units[0].strength"].claims == ("A", "S")
    assert by_input["units[0].strength"].name == "units[b].strength"
    assert all(d.rho > 0 for d in found)
