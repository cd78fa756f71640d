"""Limits on the compile and engine side: scenarios without units, the units cohort
pipelines can form, and the memory check that runs before anything is allocated."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from conftest import build, changed, scenario_data, yaml_text

import forcegen
import forcegen.api
from forcegen.compile import compile_plan, plan_nbytes, plan_sizes
from forcegen.errors import ScenarioError, UsageError
from forcegen.sampling import sample_scenario
from forcegen.scenario.loader import load, loads
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import MAX_UNITS

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


def no_units(**sections):
    """One location with losses, one policy, no unit groups: a scenario of nothing."""
    base = {
        "name": "f",
        "horizon": "3d",
        "forces": [{"id": "blue"}],
        "unit_types": [{"id": "inf"}],
        "locations": [{"id": "l", "attrition": {"killed": "1%/mo"}}],
        "policies": [{"id": "p", "positions": [{"name": "a", "location": "l", "duration": "1d"}]}],
        "units": None,
        "demands": None,
    }
    return scenario_data(**{**base, **sections})


def cohorts(units: int, rate: object = 100) -> dict:
    """300 declared units, and a pipeline forming a batch of ``units`` units every day."""
    return changed(
        no_units(),
        name="cohorts",
        horizon="365d",
        policies=[{"id": "p", "positions": [{"name": "a", "location": "l", "duration": "30d"}]}],
        units=[
            {
                "id": "g",
                "type": "inf",
                "force": "blue",
                "policy": "p",
                "count": 300,
                "strength": 100,
            }
        ],
        pipelines=[
            {
                "id": "wg-cohorts",
                "force": "blue",
                "intake": [{"from": "0d", "rate": rate}],
                "training": "1d",
                "into": "cohorts",
                "cohort": {"type": "inf", "policy": "p", "every": "1d", "units": units},
            }
        ],
    )


def load_data(data: dict):
    return loads(yaml_text(data), "test.yaml")


def _zero(ds) -> None:
    for name in ("strength", "losses", "flows", "units_active", "units_deployed"):
        values = ds[name].values
        assert np.isfinite(values.astype(float)).all(), name
        assert (values == 0).all(), name


@pytest.mark.parametrize("deterministic", [False, True])
def test_a_scenario_without_unit_groups_runs_to_zero_records(deterministic: bool) -> None:
    ds = forcegen.simulate(load_data(no_units()), runs=2, deterministic=deterministic).to_xarray()
    assert ds.sizes["unit"] == 0 and ds.sizes["day"] == 3
    _zero(ds)


def test_a_group_of_no_units_runs_to_zero_records() -> None:
    group = {"id": "g", "type": "inf", "force": "blue", "policy": "p", "count": 0, "strength": 9}
    ds = forcegen.simulate(load_data(no_units(units=[group])), runs=2, seed=3).to_xarray()
    _zero(ds)


def test_cohort_units_over_the_limit_are_refused_before_compiling() -> None:
    # The loader refuses such a file at the pipeline's `every`; a scenario built in Python
    # (as a requirements search builds its variants) meets the same limit in compile.
    with pytest.raises(ScenarioError, match=r"pipelines\[0\]\.cohort\.every"):
        load_data(cohorts(100))
    scenario = Scenario.model_validate(cohorts(100))
    sample = sample_scenario(scenario, runs=1, seed=0, deterministic=True)
    with pytest.raises(UsageError) as caught:
        compile_plan(scenario, sample)
    message = str(caught.value)
    assert "pipelines[0] (wg-cohorts)" in message
    assert "36,500 units over the 365-day horizon" in message
    assert "365 batches of 100 units, one every 1 day" in message
    assert "300 declared units" in message and "36,800 units in all" in message
    assert f"{MAX_UNITS:,}" in message and "cohort.every" in message
    with pytest.raises(UsageError, match="wg-cohorts"):
        forcegen.simulate(scenario, runs=2)


def test_cohort_units_within_the_limit_are_slots_of_the_plan() -> None:
    scenario = load_data(cohorts(2))
    sample = sample_scenario(scenario, runs=1, seed=0, deterministic=True)
    sizes = plan_sizes(scenario, sample)
    assert sizes.declared_units == 300 and sizes.cohort_units == (730,)
    assert compile_plan(scenario, sample).n_units == sizes.units == 1030


def _plan_nbytes(plan) -> int:
    return sum(a.nbytes for f in fields(plan) if isinstance(a := getattr(plan, f.name), np.ndarray))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
@pytest.mark.parametrize("runs", [1, 7])
def test_the_estimate_of_a_plan_is_close_to_its_arrays(path: Path, runs: int) -> None:
    scenario = load(path)
    sample = sample_scenario(scenario, runs=runs, seed=0, deterministic=runs == 1)
    plan = compile_plan(scenario, sample)
    sizes = plan_sizes(scenario, sample)
    assert sizes.units == plan.n_units and sizes.samples == plan.samples
    assert sizes.horizon == plan.horizon
    assert plan.cohort_slots.shape == (sizes.pipelines, sizes.batches, sizes.batch_units)
    assert plan.policy_cycle_pos.shape == (sizes.policies, sizes.cycle_width)
    real, estimate = _plan_nbytes(plan), plan_nbytes(scenario, sample)
    assert real / 2 <= estimate <= 2 * real, (real, estimate)


def test_memory_is_checked_before_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load(SCENARIOS[0])
    monkeypatch.setattr(forcegen.api, "_available_memory", lambda: 1_000_000)

    def never(*args, **kwargs):
        raise AssertionError("compiled a plan that does not fit")

    monkeypatch.setattr(forcegen.api, "compile_plan", never)
    with pytest.raises(UsageError, match=r"10 runs of this scenario need about .* GiB"):
        forcegen.simulate(scenario, runs=10)


def test_the_memory_check_counts_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many uncertain runs: the plan's intake rates by sample and day are counted, though
    # the records of one run are small.
    scenario = load_data(cohorts(1, rate={"uniform": [50, 150]}))
    sizes = plan_sizes(scenario, sample_scenario(scenario, runs=1000, seed=0, deterministic=False))
    rates = sizes.samples * sizes.horizon * 9  # pipe_rate float64 and cohort_close bool
    assert sizes.samples == 1000 and sizes.nbytes >= rates
    monkeypatch.setattr(forcegen.api, "_available_memory", lambda: 2 * rates)
    with pytest.raises(UsageError, match="1 runs of this scenario need about"):
        forcegen.api._check_memory(sizes, 1, keep_units=False, deterministic=False, n_jobs=1)
    monkeypatch.setattr(forcegen.api, "_available_memory", lambda: 2**40)
    forcegen.api._check_memory(sizes, 1, keep_units=False, deterministic=False, n_jobs=1)


def test_attrition_by_type_overrides_only_the_fields_it_gives() -> None:
    scenario = build(
        name="overrides",
        horizon="10d",
        unit_types=[{"id": "a"}, {"id": "b"}, {"id": "c"}],
        locations=[
            {
                "id": "front",
                "attrition": {
                    "killed": "1%/d",
                    "wounded": "2%/d",
                    "return_share": 0.5,
                    "recovery": "20d",
                },
                "attrition_by_type": {"b": {"killed": "3%/d", "recovery": "5d"}},
            },
            {"id": "home"},
        ],
        policies=[{"id": "p", "positions": [{"name": "x", "location": "front", "duration": "1d"}]}],
        units=None,
        demands=None,
    )
    plan = compile_plan(scenario, sample_scenario(scenario, runs=1, seed=0, deterministic=True))
    killed, wounded = plan.hazard[0, 0], plan.hazard[0, 1]
    np.testing.assert_allclose(killed, [[0.01, 0.03, 0.01], [0, 0, 0]])
    np.testing.assert_allclose(wounded, [[0.02, 0.02, 0.02], [0, 0, 0]])
    np.testing.assert_allclose(plan.return_share[0], [[0.5, 0.5, 0.5], [0, 0, 0]])
    np.testing.assert_array_equal(plan.recovery[0], [[20, 5, 20], [0, 0, 0]])
