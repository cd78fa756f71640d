"""Fuzz tests: hostile scenarios are refused with located messages or run to sane results.

Property-based (Hypothesis) with a fixed seed and a small budget, so that CI runs the same
inputs every time in a few tens of seconds. A longer campaign through the real command line
is ``python benchmarks/fuzz.py`` (see README.md, "For developers").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from fuzz_inputs import generated_scenarios, mutated_examples, to_yaml
from hypothesis import HealthCheck, given, settings

import forcegen
from forcegen.errors import ScenarioError, UsageError
from forcegen.scenario.loader import _largest, loads

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=False,
)

MAX_RUN_DAYS = 800
"""Accepted mutations of the examples are run only when this short (to bound the time)."""


def assert_located(error: ScenarioError) -> None:
    assert error.problems, "a ScenarioError must carry problems"
    for problem in error.problems:
        assert problem.file == "fuzz.yaml", str(problem)
        assert problem.line is not None and problem.column is not None, str(problem)
        assert problem.message, str(problem)


def assert_sane(ds: xr.Dataset) -> None:
    """No NaN or infinity anywhere, and no negative people."""
    for name, var in ds.data_vars.items():
        if np.issubdtype(var.dtype, np.floating):
            assert np.isfinite(var.values).all(), f"{name} has NaN or infinity"
    assert (ds.strength.values >= 0).all()
    assert (ds.losses.values >= 0).all()


def load_or_refuse(text: str):
    """The scenario, or None when it is refused with located problems."""
    try:
        return loads(text, "fuzz.yaml")
    except ScenarioError as error:
        assert_located(error)
        return None


def run_or_refuse(scenario, **kwargs) -> xr.Dataset | None:
    try:
        return forcegen.simulate(scenario, **kwargs).to_xarray()
    except (ScenarioError, UsageError) as error:
        assert str(error).strip()
        return None


@FUZZ
@given(mutated_examples())
def test_mutated_examples_are_refused_cleanly_or_run(text: str) -> None:
    scenario = load_or_refuse(text)
    if scenario is None:
        return
    days = _largest(scenario.horizon, 1.0)
    units = sum(_largest(u.count, 1.0) for u in scenario.units)
    if days > MAX_RUN_DAYS or units > 5000:
        return
    for kwargs in ({"deterministic": True}, {"runs": 2, "seed": 1}):
        ds = run_or_refuse(scenario, **kwargs)
        if ds is not None:
            assert_sane(ds)


@FUZZ
@given(generated_scenarios())
def test_generated_scenarios_conserve_people(data: dict) -> None:
    scenario = load_or_refuse(to_yaml(data))
    if scenario is None:
        return
    for kwargs in ({"deterministic": True}, {"runs": 2, "seed": 7}):
        ds = run_or_refuse(scenario, **kwargs)
        if ds is None:
            continue
        assert_sane(ds)
        # No pipelines and no wounded returning: people present are those at the start
        # less those lost so far (exactly in stochastic runs, where people are whole;
        # to float32's precision in deterministic runs, which carry expected values).
        lost = ds.losses.sum("cause").cumsum("day")
        present = ds.strength.sum("location")
        left = ds.initial_strength - lost
        left = left.transpose(*present.dims).values
        if kwargs.get("deterministic"):
            np.testing.assert_allclose(left, present.values, rtol=1e-5, atol=1e-3)
        else:
            assert (left == present.values).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_results_of_a_generated_scenario_read_back(tmp_path, seed: int) -> None:
    data = _fixed(seed)
    scenario = loads(to_yaml(data), "fuzz.yaml")
    ds = forcegen.simulate(scenario, runs=2, seed=seed).to_xarray()
    path = tmp_path / "results.nc"
    ds.to_netcdf(path)
    back = xr.load_dataset(path)
    assert back.sizes == ds.sizes
    assert math.isfinite(float(back.strength.sum()))


def _fixed(seed: int) -> dict:
    return {
        "forcegen": 1,
        "name": "[/] é🙂",
        "start": "2199-11-01" if seed else "1900-01-01",
        "horizon": "60d",
        "forces": [{"id": "blue"}],
        "unit_types": [{"id": "inf"}],
        "locations": [{"id": "front", "attrition": {"killed": "2%/mo"}}, {"id": "home"}],
        "policies": [
            {
                "id": "cycle",
                "positions": [
                    {"name": "front", "location": "front", "duration": "20d", "deployed": True},
                    {"name": "home", "location": "home", "duration": {"uniform": [10, 40]}},
                ],
            }
        ],
        "units": [
            {
                "id": "g",
                "force": "blue",
                "type": "inf",
                "policy": "cycle",
                "count": 6,
                "strength": 1000000,
            }
        ],
        "demands": [{"id": "d", "location": "front", "units": 2, "fill": {"forces": ["blue"]}}],
    }


def test_a_stochastic_run_without_units_runs_to_zero_records() -> None:
    # Once a failure of the engine (a zero-size reduction): now a run of nothing.
    data = _fixed(0)
    data["units"], data["demands"] = [], []
    ds = forcegen.simulate(loads(to_yaml(data), "fuzz.yaml"), runs=2, seed=1).to_xarray()
    assert_sane(ds)
    assert float(ds.strength.sum()) == 0
