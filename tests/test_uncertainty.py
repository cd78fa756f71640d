"""Uncertain values: sampling, Latin hypercube strata, widening by grade, weighted choices,
bands across runs, and convergence of stochastic runs to the deterministic ones."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import flow, line_of, merge, needs_two_threads, scenario_text
from scipy import stats

import forcegen
from forcegen.errors import ScenarioError
from forcegen.sampling import sample_scenario
from forcegen.scenario.distributions import (
    SHAPES,
    Exponential,
    Lognormal,
    Pert,
    Triangular,
    Uniform,
)
from forcegen.scenario.loader import loads

CLAIMS = [
    {"id": "good", "source": {"publication": "P"}, "attribution": "official",
     "paraphrase": "x", "grade": "A1"},
    {"id": "weak", "source": {"publication": "P"}, "attribution": "anonymous",
     "paraphrase": "x", "grade": "F5"},
]  # fmt: skip


def text(*, strength="500", killed="0.001", count="4", horizon="60d", **changes) -> str:
    """Four battalions rotating to a front; values are given as written in YAML."""
    return scenario_text(
        **{
            "name": "uncertain",
            "horizon": horizon,
            "claims": CLAIMS,
            "locations": merge([{"attrition": {"killed": flow(killed)}}]),
            "units": merge([{"count": flow(count), "strength": flow(strength)}]),
            **changes,
        }
    )


def scenario(**values):
    return loads(text(**values), "u.yaml")


@pytest.mark.parametrize(
    ("text", "frozen"),
    [
        (
            "{pert: [400, 500, 800]}",
            stats.beta(1 + 4 * 100 / 400, 1 + 4 * 300 / 400, loc=400, scale=400),
        ),
        ("{triangular: [400, 500, 800]}", stats.triang(0.25, loc=400, scale=400)),
        ("{uniform: [400, 800]}", stats.uniform(400, 400)),
        (
            "{lognormal: {median: 500, p90: 900}}",
            stats.lognorm(np.log(900 / 500) / 1.2815515655446004, scale=500),
        ),
    ],
)
def test_samples_match_each_distribution(text, frozen):
    sc = scenario(strength=text)
    sample = sample_scenario(sc, runs=4000, seed=1, deterministic=False)
    got = sample.of(sc.units[0].strength)
    assert got.shape == (4000,)
    # Counts are whole numbers: compare with the rounded distribution's mean and quantiles.
    assert np.all(got == np.rint(got))
    assert abs(got.mean() - frozen.mean()) < 4 * frozen.std() / np.sqrt(4000) + 0.5
    for q in (0.1, 0.5, 0.9):
        assert abs(np.quantile(got, q) - frozen.ppf(q)) < 0.05 * frozen.std() + 1.0
    # Deterministic runs take the mean (rounded for a count).
    det = sample_scenario(sc, runs=4000, seed=1, deterministic=True)
    assert det.size == 1
    assert det.of(sc.units[0].strength)[0] == pytest.approx(round(frozen.mean()), abs=0.5)


def test_central_values_follow_the_documented_means():
    assert Pert(low=1, mode=2, high=9).central() == pytest.approx(3.0)
    assert Triangular(low=1, mode=2, high=9).central() == pytest.approx(4.0)
    assert Uniform(low=1, high=9).central() == pytest.approx(5.0)
    sigma = np.log(3.0) / 1.2815515655446004
    assert Lognormal(median=1, p90=3).central() == pytest.approx(np.exp(sigma**2 / 2))


def test_latin_hypercube_hits_every_stratum_once():
    sc = scenario(strength="{uniform: [0, 1000]}", killed="{uniform: [0.0, 0.002]}")
    runs = 50
    sample = sample_scenario(sc, runs=runs, seed=3, deterministic=False, lhs=True)
    for q in (sc.units[0].strength, sc.locations[0].attrition.killed):
        values = sample.of(q)
        dist = q.dist
        u = (values - dist.low) / (dist.high - dist.low)
        strata = np.floor(np.clip(u, 0, 1 - 1e-12) * runs).astype(int)
        # Count rounding can move a value across a stratum edge by half a person.
        if dist.integer:
            strata = np.floor(
                np.clip((values - dist.low + 0.5) / 1000, 0, 1 - 1e-12) * runs
            ).astype(int)
            assert len(set(strata)) >= runs - 2
        else:
            assert sorted(strata) == list(range(runs))
    # Independent sampling leaves some strata empty (the chance of none empty is tiny).
    plain = sample_scenario(sc, runs=runs, seed=3, deterministic=False)
    u = plain.of(sc.locations[0].attrition.killed) / 0.002
    assert len(set(np.floor(u * runs).astype(int))) < runs


def test_samples_do_not_depend_on_other_uncertain_values():
    one = scenario(strength="{uniform: [400, 800]}")
    two = scenario(strength="{uniform: [400, 800]}", killed="{uniform: [0.0005, 0.002]}")
    a = sample_scenario(one, runs=30, seed=9, deterministic=False).of(one.units[0].strength)
    b = sample_scenario(two, runs=30, seed=9, deterministic=False).of(two.units[0].strength)
    assert np.array_equal(a, b)


def test_grade_widens_the_spread_of_values_citing_weak_claims():
    good = scenario(strength="{pert: [400, 500, 600], cites: [good]}")
    weak = scenario(strength="{pert: [400, 500, 600], cites: [weak]}")
    g = sample_scenario(good, runs=2000, seed=2, deterministic=False)
    w = sample_scenario(weak, runs=2000, seed=2, deterministic=False)
    # F5: 1.25 * 1.5 = 1.875 by default; A1: 1.
    assert g.widening[id(good.units[0].strength)] == 1.0
    assert w.widening[id(weak.units[0].strength)] == pytest.approx(1.875)
    spread_good = np.std(g.of(good.units[0].strength))
    spread_weak = np.std(w.of(weak.units[0].strength))
    assert spread_weak / spread_good == pytest.approx(1.875, rel=0.08)
    d = Pert(low=400, mode=500, high=600, integer=True).widened(1.875)
    assert (d.low, d.mode, d.high) == (312.5, 500, 687.5)
    # Kept within the kind's range: a hazard never goes below 0.
    h = Uniform(low=0.0, high=0.002, upper=1.0).widened(3.0)
    assert h.low == 0.0 and h.high == pytest.approx(0.004)


def test_widening_can_be_switched_off_per_value_and_per_scenario():
    off = scenario(strength="{pert: [400, 500, 600], cites: [weak], widen: false}")
    assert (
        sample_scenario(off, runs=10, seed=0, deterministic=False).widening[
            id(off.units[0].strength)
        ]
        == 1.0
    )
    sc = scenario(
        strength="{pert: [400, 500, 600], cites: [weak]}",
        uncertainty={"widen_by_grade": False},
    )
    assert (
        sample_scenario(sc, runs=10, seed=0, deterministic=False).widening[id(sc.units[0].strength)]
        == 1.0
    )


def test_weighted_choice_is_drawn_per_run_and_shared_by_name():
    choice = "{choose: src, default: a, weights: {a: 1, b: 3}, options: {a: 400, b: 800}}"
    people = "{choose: src, default: a, weights: {a: 1, b: 3}, options: {a: 100, b: 200}}"
    sc = scenario(strength=choice, demands=merge([{"people": flow(people)}]))
    sample = sample_scenario(sc, runs=4000, seed=5, deterministic=False)
    picks = sample.picks["src"]
    assert abs((picks == "b").mean() - 0.75) < 0.03
    strength = sample.of(sc.units[0].strength)
    people = sample.of(sc.demands[0].people)
    assert np.array_equal(strength == 800, people == 200)  # one pick sets both numbers
    pinned = sample_scenario(sc, runs=100, seed=5, deterministic=False, choices={"src": "a"})
    assert set(pinned.of(sc.units[0].strength)) == {400.0}
    assert (
        sample_scenario(sc, runs=100, seed=5, deterministic=True).of(sc.units[0].strength)[0]
        == 400.0
    )


def test_uncertain_count_leaves_absent_slots_empty():
    sc = scenario(count="{uniform: [2, 6]}", strength="500")
    res = forcegen.simulate(sc, runs=40, seed=4)
    ds = res.to_xarray()
    counts = ds.inputs.sel(input="units[0].count").values
    assert set(np.unique(counts)) <= {2.0, 3.0, 4.0, 5.0, 6.0} and len(np.unique(counts)) > 2
    assert ds.sizes["unit"] == 6
    assert np.array_equal(ds.initial_strength.sel(force="blue").values, counts * 500)
    assert np.array_equal(ds.units_active.isel(day=0).sel(force="blue").values, counts)


def test_distribution_errors_are_located():
    with pytest.raises(ScenarioError) as info:
        scenario(strength="{pert: [500, 400, 800]}")
    (problem,) = info.value.problems
    assert problem.field == "units[0].strength"
    assert "increasing order" in problem.message
    assert problem.line == line_of(text(strength="{pert: [500, 400, 800]}"), "[500, 400, 800]")
    with pytest.raises(ScenarioError) as info:
        scenario(strength="{lognormal: {median: 500, p90: 400}}")
    assert "0 < median < p90" in info.value.problems[0].message
    with pytest.raises(ScenarioError) as info:
        scenario(strength="{pert: [400, 500, 600], value: 500}")
    assert "either 'value' or a distribution" in info.value.problems[0].message


def test_stochastic_means_converge_to_deterministic_for_linear_flows():
    # Losses are linear in strength and hazard: the mean over runs of total killed must
    # approach the deterministic figure, and the error must shrink with more runs.
    sc = scenario(
        strength="{pert: [400, 500, 700]}", killed="{uniform: [0.0005, 0.0015]}", horizon="120d"
    )
    det = float(
        forcegen.simulate(sc, deterministic=True).to_xarray().losses.sel(cause="killed").sum()
    )
    errors = []
    for runs in (50, 800):
        ds = forcegen.simulate(sc, runs=runs, seed=11).to_xarray()
        killed = ds.losses.sel(cause="killed").sum(["day", "force"])
        errors.append(abs(float(killed.mean()) - det))
        assert errors[-1] < 4 * float(killed.std()) / np.sqrt(runs) + 0.01 * det
    # Strength and hazard are independent, so E[killed] = E[strength] E[hazard] exactly.
    assert errors[1] < errors[0] or errors[1] < 0.002 * det


def test_bands_and_per_run_table():
    sc = scenario(strength="{pert: [400, 500, 700]}")
    res = forcegen.simulate(sc, runs=30, seed=1)
    summary = res.summary((0.1, 0.9))
    assert summary["run"]["quantiles"] == [0.1, 0.9]
    (d,) = summary["demands"]
    low, high = d["coverage_q"]
    assert low <= d["coverage_mean"] <= high
    table = res.per_run()
    assert len(table) == 30
    assert np.allclose(table["input:units[0].strength"], res.to_xarray().inputs.values[:, 0])
    assert np.quantile(table["coverage:d"], 0.1) == pytest.approx(low, abs=1e-6)
    p = res.p_fully_covered()
    assert p.dims == ("day", "demand") and float(p.min()) >= 0 and float(p.max()) <= 1
    band = res.bands("strength", (0.05, 0.95))
    assert band.sizes["quantile"] == 2
    assert np.all(band.sel(quantile=0.05) <= band.sel(quantile=0.95))


@needs_two_threads
def test_results_do_not_depend_on_threads_or_chunks_with_uncertainty():
    sc = scenario(strength="{pert: [400, 500, 700]}", killed="{uniform: [0.0005, 0.002]}")
    a = forcegen.simulate(sc, runs=24, seed=6, n_jobs=1).to_xarray()
    b = forcegen.simulate(sc, runs=24, seed=6, n_jobs=2).to_xarray()
    assert a.identical(b)


def test_required_follows_an_uncertain_demand_and_is_shared_otherwise():
    # Uncertain strength, certain demand: every run requires the same, held once.
    res = forcegen.simulate(scenario(strength="{uniform: [400, 600]}"), runs=5, seed=1)
    required = res.to_xarray().required
    assert (required == 1000).all() and not required.values.flags.writeable
    # An uncertain demand: each run requires what it sampled.
    uncertain = scenario(demands=merge([{"people": {"uniform": [800, 1200]}}]))
    res = forcegen.simulate(uncertain, runs=5, seed=1)
    ds = res.to_xarray()
    sampled = ds.inputs.sel(input="demands[0].people").values
    assert len(set(sampled.round(6))) == 5
    np.testing.assert_allclose(ds.required.isel(day=0, demand=0).values, sampled, rtol=1e-6)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "{pert: [1, 2]}",
            "expected pert: [low, mode, high], each a whole number >= 0; found [1, 2]",
        ),
        (
            "{uniform: [3, 3]}",
            "expected [low, high] in increasing order with low < high; found [3, 3]",
        ),
        (
            "{lognormal: [1, 2]}",
            "expected lognormal: {median: ..., p90: ...}, each a whole number >= 0; found [1, 2]",
        ),
        (
            "{pert: [1, 2, 3], uniform: [1, 2]}",
            "expected exactly one distribution shape (pert, triangular, uniform, "
            "lognormal or exponential); found pert, uniform",
        ),
        (
            "{cites: []}",
            "expected a whole number >= 0, or a mapping with 'value' and 'cites' (or a "
            "distribution: pert, triangular, uniform, lognormal, exponential; or a hedge: "
            "at_least, at_most, about, between); found a mapping without 'value'",
        ),
    ],
)
def test_distribution_error_messages_are_unchanged(written, message):
    # The texts as they were before distributions moved into a registry (issue 12).
    with pytest.raises(ScenarioError) as info:
        scenario(strength=written)
    assert [p.message for p in info.value.problems] == [message]


def test_every_shape_is_registered_and_describes_itself():
    assert list(SHAPES) == ["pert", "triangular", "uniform", "lognormal", "exponential"]
    assert Pert(low=400, mode=500, high=650).describe() == "pert 400 / 500 / 650"
    assert Triangular(low=1, mode=2, high=3).describe() == "triangular 1 / 2 / 3"
    assert Uniform(low=400, high=650).describe() == "uniform 400 to 650"
    assert Lognormal(median=0.001, p90=0.002).describe() == "lognormal, median 0.001, p90 0.002"
    assert Exponential(scale=30).describe() == "exponential, mean 30"
    sc = scenario(strength="{triangular: [400, 500, 650]}")
    assert isinstance(sc.units[0].strength.dist, Triangular)
    # A scenario dumped and read back keeps each shape (as requirements searches do).
    again = type(sc).model_validate(sc.model_dump(by_alias=True, exclude_unset=True))
    assert again.units[0].strength.dist == sc.units[0].strength.dist
