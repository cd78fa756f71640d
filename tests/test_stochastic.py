"""Stochastic mode: conservation, expectations, reproducibility and common random numbers.

Draws are counter-based (``forcegen.engine.random``): one uniform per (seed, run, purpose,
day, unit key), turned into a binomial count by inversion. So results must not depend on
workers or chunking, and a unit's draws must not depend on which other units exist.
"""

from __future__ import annotations

import math
import time
from dataclasses import fields, replace

import numpy as np
import pytest
from conftest import changed, merge, needs_two_threads, scenario_data, scenario_text, yaml_text
from scipy.stats import binom

import forcegen
from forcegen.compile import compile_plan
from forcegen.engine import Records, simulate_plan
from forcegen.engine.random import binomial_inverse
from forcegen.sampling import sample_scenario
from forcegen.scenario.loader import loads

MIXED = scenario_data(
    name="mixed",
    horizon="120d",
    forces=[{"id": "blue"}, {"id": "red"}],
    unit_types=[{"id": "bn"}, {"id": "big"}],
    locations=[
        {"id": "front", "attrition": {"killed": 0.002, "wounded": "9%/mo", "missing": 0.0004,
                                      "deserted": 0.0002}},
        {"id": "rear", "attrition": {"killed": 0.0005}},
        {"id": "home"},
    ],
    policies=[
        {"id": "rotation", "positions": [
            {"name": "front", "location": "front", "duration": "30d", "deployed": True},
            {"name": "rear", "location": "rear", "duration": "20d"},
            {"name": "home", "location": "home", "duration": "40d"},
        ]},
        {"id": "contract", "positions": [
            {"name": "front", "location": "front", "duration": "45d", "deployed": True},
            {"name": "rear", "location": "rear", "duration": "15d"},
            {"name": "out", "location": "home", "terminal": True},
        ]},
        {"id": "pool", "positions": [
            {"name": "ready", "location": "home", "ready": True, "pull_to": "deployed"},
            {"name": "deployed", "location": "front", "duration": "25d", "deployed": True,
             "next": "ready"},
        ]},
    ],
    units=[
        {"id": "blue-bn", "force": "blue", "type": "bn", "count": 9, "strength": 500,
         "current": 0.9, "policy": "rotation"},
        {"id": "blue-contract", "force": "blue", "type": "bn", "count": 4, "strength": 300,
         "policy": "contract"},
        {"id": "red-big", "force": "red", "type": "big", "count": 2, "strength": 40000,
         "policy": "rotation", "phase": "0d"},
        {"id": "red-pool", "force": "red", "type": "bn", "count": 3, "strength": 700,
         "policy": "pool", "start": "ready"},
    ],
    demands=[{"id": "front-units", "location": "front", "units": 6,
              "fill": {"forces": ["red", "blue"]}}],
)  # fmt: skip
"""Two forces on three policies (rotation, contract, pool) at two deadly locations."""


def mixed(**changes) -> str:
    """The YAML text of :data:`MIXED` with these changes (as for :func:`changed`)."""
    return yaml_text(changed(MIXED, **changes))


def run(text: str | None = None, **kwargs):
    return forcegen.simulate(loads(text or mixed()), **kwargs).to_xarray()


# -- conservation --------------------------------------------------------------------------


def test_people_conserved_every_run_and_day():
    ds = run(runs=12, seed=3)
    lost = ds.losses.sum("cause").cumsum("day")
    present = ds.strength.sum("location")
    left = ds.initial_strength - lost
    # Exact: counts are whole numbers, held exactly in floating point.
    assert (left.transpose(*present.dims).values == present.values).all()
    assert float(ds.initial_strength.sel(force="blue").isel(run=0)) == 9 * 450 + 4 * 300
    # The scenario really exercises every cause, and the big units' search from the mode.
    totals = ds.losses.sum(["run", "day"])
    assert (totals.sel(force="blue").values > 0).all()  # killed, wounded, discharged
    assert float(totals.sel(force="red", cause="killed")) > 0
    assert float(totals.sel(force="blue", cause="discharged")) > 0
    # Every figure is a whole number of people.
    assert (ds.losses.values == np.round(ds.losses.values)).all()


def test_losses_never_exceed_people_exposed():
    ds = run(runs=6, seed=11, keep_units=True)
    strength = ds.unit_strength.values
    assert (strength >= 0).all()
    # A unit's strength never grows (no replacements here).
    assert (np.diff(strength, axis=1) <= 0).all()


# -- expected values -----------------------------------------------------------------------


@pytest.mark.parametrize("strength", [1000, 60000])  # search from 0 / from the mode
def test_mean_losses_match_deterministic_expectation(strength):
    text = scenario_text(
        name="attrition",
        locations=merge([{"attrition": {"killed": 0.002, "wounded": 0.003}}]),
        policies=merge([{"positions": [{"duration": "20d"}, {"duration": "20d"}]}]),
        units=merge([{"id": "bn", "count": 10, "strength": strength}]),
        demands=merge([{"people": 1}]),
    )
    runs = 300
    expected = run(text, deterministic=True).losses.sum("day").isel(run=0)
    ds = run(text, runs=runs, seed=7)
    totals = ds.losses.sum("day")
    for cause in ("killed", "wounded"):
        x = totals.sel(force="blue", cause=cause).values
        mean, se = x.mean(), x.std(ddof=1) / math.sqrt(runs)
        target = float(expected.sel(force="blue", cause=cause))
        assert target > 0 and se > 0
        assert abs(mean - target) < 4 * se, (cause, mean, target, se)
    # The deterministic figure is the textbook one: 10 units, each 20 days in 40 at the
    # front, hazards 0.002 and 0.003 per day while there.
    killed = float(expected.sel(force="blue", cause="killed"))
    assert killed < 10 * strength * 0.002 * 30 and killed > 10 * strength * 0.002 * 30 * 0.9


# -- reproducibility -----------------------------------------------------------------------


def test_same_seed_identical_dataset():
    a = run(runs=5, seed=42, keep_units=True)
    b = run(runs=5, seed=42, keep_units=True)
    assert a.identical(b)


def test_different_seed_different_draws():
    a = run(runs=5, seed=42)
    b = run(runs=5, seed=43)
    assert not np.array_equal(a.losses.values, b.losses.values)
    # ... but the same structure and the same people at the start.
    assert np.array_equal(a.initial_strength.values, b.initial_strength.values)


def test_runs_differ_within_one_simulation():
    ds = run(runs=4, seed=1)
    killed = ds.losses.sel(cause="killed").sum("day").values
    assert len({tuple(row) for row in killed}) == 4


@needs_two_threads
def test_worker_count_does_not_change_results():
    one = run(runs=6, seed=9, n_jobs=1, keep_units=True)
    two = run(runs=6, seed=9, n_jobs=2, keep_units=True)
    assert one.identical(two)


def test_run_prefix_is_stable():
    # Run r is the same whatever the number of runs asked for.
    few = run(runs=3, seed=5)
    many = run(runs=7, seed=5)
    assert np.array_equal(few.losses.values, many.losses.isel(run=slice(0, 3)).values)
    assert np.array_equal(few.strength.values, many.strength.isel(run=slice(0, 3)).values)


def test_chunk_size_does_not_change_records():
    scenario = loads(mixed())
    plan = compile_plan(scenario, sample_scenario(scenario, runs=1, seed=0, deterministic=False))
    parts = [
        simulate_plan(plan, runs=7, seed=13, keep_units=True, chunk_size=size)
        for size in (None, 1, 3, 7)
    ]
    for other in parts[1:]:
        for f in fields(Records):
            assert np.array_equal(getattr(parts[0], f.name), getattr(other, f.name)), f.name


def test_kernel_refuses_a_plan_with_a_negative_index():
    # The kernel takes a unit's force, type, position and policy as unsigned indices; a
    # negative one (a bug upstream) must stop it rather than wrap around.
    scenario = loads(mixed())
    plan = compile_plan(scenario, sample_scenario(scenario, runs=1, seed=0, deterministic=True))
    force = plan.unit_force.copy()
    force[0] = -1
    with pytest.raises(ValueError, match="unit_force has a negative index"):
        simulate_plan(replace(plan, unit_force=force), runs=1, seed=0, deterministic=True)


# -- common random numbers ------------------------------------------------------------------


def test_adding_unrelated_group_keeps_existing_draws():
    # A new group, in a new force, placed FIRST in the file (so every existing unit's index
    # shifts) at the same front: the existing units' draws and losses must not change.
    green = {"id": "green-extra", "force": "green", "type": "bn", "count": 5, "strength": 800,
             "policy": "rotation"}  # fmt: skip
    extra = mixed(forces=[*MIXED["forces"], {"id": "green"}], units=[green, *MIXED["units"]])
    base = run(runs=5, seed=21, keep_units=True)
    more = run(extra, runs=5, seed=21, keep_units=True)
    assert more.sizes["unit"] == base.sizes["unit"] + 5
    assert list(more.unit.values[:5]) == [f"green-extra#{i}" for i in range(5)]
    for force in ("blue", "red"):
        assert np.array_equal(
            base.losses.sel(force=force).values, more.losses.sel(force=force).values
        ), force
    units = list(base.unit.values)
    assert np.array_equal(
        base.unit_strength.sel(unit=units).values, more.unit_strength.sel(unit=units).values
    )
    assert float(more.losses.sel(force="green").sum()) > 0


def test_identical_units_draw_independently():
    # Units in the same position with the same strength and hazards get their own draws
    # (keyed by unit), so their losses differ; and so do the two causes.
    text = mixed(units=merge([{"phase": "0d"}]))
    ds = run(text, runs=2, seed=4, keep_units=True)
    units = [f"blue-bn#{i}" for i in range(9)]
    end = ds.unit_strength.sel(unit=units).isel(day=29).values
    for r in range(2):
        assert len(set(end[r])) > 4, end[r]
    assert not np.array_equal(end[0], end[1])


def test_adding_unit_to_group_keeps_existing_members_draws():
    # Members keep their keys (group#member): a tenth battalion does not reshuffle the nine.
    # Fixed phase, so members also keep their place in the cycle.
    base = run(mixed(units=merge([{"phase": "10d"}])), runs=4, seed=2, keep_units=True)
    more = run(mixed(units=merge([{"phase": "10d", "count": 10}])), runs=4, seed=2, keep_units=True)
    units = [f"blue-bn#{i}" for i in range(9)]
    assert np.array_equal(
        base.unit_strength.sel(unit=units).values, more.unit_strength.sel(unit=units).values
    )


# -- binomial by inversion ------------------------------------------------------------------

EXACT_CASES = [
    (1, 0.3),
    (5, 0.5),
    (10, 0.01),
    (20, 0.9),
    (50, 0.3),
    (400, 0.5),
    (1000, 0.1),
    (10000, 0.005),
    (3, 0.999),
    (250, 0.02),
    # quantiles of 0 to 3, found without the search loop (n of 4 and more)
    (4, 0.5),
    (600, 0.0032),
    (2000, 1e-300),
]
LARGE_CASES = [(1000, 0.5), (10000, 0.3), (50000, 0.01), (2_000_000, 0.0001), (100_000_000, 0.2)]
"""Means of 30 and more: the inversion starts from the mode."""


@pytest.mark.parametrize(("n", "p"), EXACT_CASES + LARGE_CASES)
def test_binomial_inverse_equals_scipy_quantile(n, p):
    rng = np.random.default_rng(n)
    us = np.concatenate(
        [rng.uniform(1e-12, 1 - 1e-12, 1500), [1e-9, 1e-6, 0.001, 0.5, 0.999, 1 - 1e-6, 1 - 1e-9]]
    )
    got = np.array([binomial_inverse(float(n), p, float(u)) for u in us])
    want = binom.ppf(us, n, p)
    assert np.array_equal(got, want), us[got != want][:5]


def _implied_cdf_moments(n: float, p: float) -> tuple[float, float]:
    """Mean and variance of binomial_inverse(n, p, U), U uniform, found exactly.

    F(k) = sup{u : inverse(u) <= k} by bisection; then E X = sum P(X > k) and
    E X^2 = sum (2k + 1) P(X > k).
    """
    tiny = 2.0**-53
    lo_k = int(binomial_inverse(n, p, tiny))
    hi_k = int(binomial_inverse(n, p, 1 - tiny))
    mean = float(lo_k)
    second = float(lo_k) ** 2
    for k in range(lo_k, hi_k):
        a, b = 0.0, 1.0
        for _ in range(60):
            m = 0.5 * (a + b)
            if binomial_inverse(n, p, m) <= k:
                a = m
            else:
                b = m
        tail = 1.0 - a
        mean += tail
        second += (2 * k + 1) * tail
    return mean, second - mean**2


@pytest.mark.parametrize(
    ("n", "p"), [(50, 0.3), (400, 0.5), (1000, 0.1), (10000, 0.005), (20, 0.9)]
)
def test_binomial_inverse_moments_exact_regime(n, p):
    mean, var = _implied_cdf_moments(float(n), p)
    assert mean == pytest.approx(n * p, rel=1e-9)
    assert var == pytest.approx(n * p * (1 - p), rel=1e-7)


@pytest.mark.parametrize(("n", "p"), LARGE_CASES[:4])
def test_binomial_inverse_moments_from_the_mode(n, p):
    mean, var = _implied_cdf_moments(float(n), p)
    assert mean == pytest.approx(n * p, rel=1e-9)
    assert var == pytest.approx(n * p * (1 - p), rel=1e-7)


def test_binomial_inverse_edges():
    assert binomial_inverse(0.0, 0.5, 0.7) == 0
    assert binomial_inverse(100.0, 0.0, 0.99) == 0
    assert binomial_inverse(100.0, 1.0, 0.01) == 100
    assert binomial_inverse(7.0, 0.3, 1e-15) == 0
    assert binomial_inverse(7.0, 0.3, 1 - 1e-15) == 7
    # Never more than n, never negative, when searching from the mode too.
    assert binomial_inverse(1000.0, 0.5, 1e-300) >= 0
    assert binomial_inverse(1000.0, 0.5, 1 - 2.0**-53) <= 1000


def test_binomial_inverse_monotone_in_u():
    for n, p in EXACT_CASES + LARGE_CASES:
        us = np.linspace(1e-6, 1 - 1e-6, 401)
        ks = [binomial_inverse(float(n), p, float(u)) for u in us]
        assert all(a <= b for a, b in zip(ks, ks[1:], strict=False)), (n, p)


def test_binomial_inverse_monotone_in_p():
    # "A larger probability never gives a smaller count for the same uniform."
    us = np.linspace(0.005, 0.995, 199)
    for n, ps in [(50, np.linspace(0.01, 0.99, 50)), (10000, np.linspace(0.02, 0.5, 25))]:
        for u in us:
            ks = [binomial_inverse(float(n), float(p), float(u)) for p in ps]
            assert all(a <= b for a, b in zip(ks, ks[1:], strict=False)), (n, u)


def test_binomial_inverse_monotone_in_p_where_the_search_method_changes():
    # Where the mean crosses 30 the search starts from the mode instead of 0; the property
    # still holds, which matters for paired comparisons of scenarios whose hazards differ.
    n = 1000.0
    for u in (0.02, 0.5, 0.98, 0.99):
        assert binomial_inverse(n, 0.1128, u) >= binomial_inverse(n, 0.1127, u), u
        ks = [binomial_inverse(n, p, u) for p in np.linspace(0.025, 0.035, 201)]
        assert all(a <= b for a, b in zip(ks, ks[1:], strict=False)), u


# -- memory layout --------------------------------------------------------------------------


def test_default_records_are_aggregates_and_unit_traces_come_with_keep_units():
    plain = run(runs=4, seed=2)
    kept = run(runs=4, seed=2, keep_units=True)
    # By default: daily aggregates by force and location and by position, not by unit.
    assert plain["units_in_position"].dims == ("run", "day", "position")
    assert "unit_position" not in plain.data_vars and "unit_strength" not in plain.data_vars
    assert kept["unit_position"].dims == ("run", "day", "unit")
    # Units by position add up to the units in the force, every run and day.
    by_position = plain.units_in_position.sum("position").values
    assert (by_position == plain.units_active.sum("force").values).all()
    # Everything else is the same, whether unit-level traces are kept or not.
    for name in plain.data_vars:
        assert np.array_equal(plain[name].values, kept[name].values), name
    # Counts of units are small integers; people are float32 in stochastic runs.
    assert plain.units_active.dtype == np.int16
    assert plain.units_in_position.dtype == np.int16
    assert plain.strength.dtype == np.float32


def test_records_bytes_per_run_day_stay_small():
    # The default records of a run-day hold aggregates only: their size does not grow
    # with the number of units.
    def per_run_day(units: int, keep: bool) -> float:
        scenario = loads(mixed(units=merge([{"count": units}])))
        plan = compile_plan(
            scenario, sample_scenario(scenario, runs=1, seed=0, deterministic=False)
        )
        return Records.nbytes(plan, 1, keep, compact=True) / plan.horizon

    small, large = per_run_day(9, False), per_run_day(900, False)
    # Only the per-run totals by unit (days deployed, days mobilised, days in the force) grow
    # with units.
    assert large - small == pytest.approx((900 - 9) * 3 * 4 / 120)
    assert per_run_day(900, True) > large + 900 * 6  # unit traces: 6 bytes per unit-day


def test_progress_counts_run_days_up_to_their_total() -> None:
    # The API reports (done so far, in all): a face needs nothing of the scenario to draw a bar.
    seen: list[tuple[int, int]] = []
    forcegen.simulate(
        "scenarios/textbook-fixed-rotation.yaml",
        runs=150,
        progress=lambda done, total: seen.append((done, total)),
    )
    horizon = 360
    assert seen[0] == (0, 150 * horizon) and seen[-1] == (150 * horizon, 150 * horizon)
    assert all(a[0] < b[0] and a[1] == b[1] for a, b in zip(seen, seen[1:], strict=False))


def test_an_interrupted_simulation_starts_no_more_slices(monkeypatch: pytest.MonkeyPatch):
    # Ctrl-C (here: a progress callback that fails) stops the threads taking new slices; the
    # slices already running finish, and the error reaches the caller.
    import forcegen.engine.simulate as simulate_module

    scenario = loads(mixed())
    plan = compile_plan(scenario, sample_scenario(scenario, runs=1, seed=0, deterministic=False))
    started: list[int] = []
    kernel = simulate_module.simulate_runs

    def counted(*args: object) -> None:
        started.append(1)
        kernel(*args)
        # Slices as long as a real run's: the main thread sees the interrupt while the
        # running ones are still busy (the tiny scenario's take microseconds).
        time.sleep(0.2)

    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate_module, "simulate_runs", counted)
    with pytest.raises(KeyboardInterrupt):
        simulate_plan(plan, runs=64, seed=1, n_jobs=2, chunk_size=2, progress=interrupt)
    assert 0 < len(started) <= 4  # of 32 slices: the two running, and at most one more each
