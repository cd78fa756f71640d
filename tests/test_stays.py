"""Stays drawn at each entry, lead times and mobilisation, prorated dwell (issue 18).

Deterministic runs are checked exactly against hand computations; stochastic ones against
closed forms within statistical tolerances:

* a stay with ``per: stay`` is the distribution's quantile at a keyed uniform, rounded to the
  nearest whole day and at least 1, so the engine's stays are the exact quantiles of their
  uniforms, and their sample mean is the distribution's mean (to rounding);
* units that alternate between a random stay away (mean ``a``) and a stay back (mean ``b``),
  each independently, are away on a day long after the start with probability
  ``a / (a + b)`` (an alternating renewal process), so the number away is binomial;
* a demand with a lead time of ``L`` days pulls a unit ``L`` days before its start, so that a
  unit mobilised for ``L`` days on the way is at the demand on its first day.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, scenario_data, yaml_text
from scipy import stats

import forcegen
from forcegen.analysis.rules import rotation_rules
from forcegen.compile import stay_cdf
from forcegen.engine.kernel import _stay
from forcegen.errors import ScenarioError
from forcegen.scenario.loader import loads

LOGNORMAL = {"lognormal": {"median": "20d", "p90": "40d"}}


def trace(ds, unit: str, run: int = 0) -> list[str]:
    """Position name of one unit at each census day; '-' once discharged."""
    labels = [str(p).split("/")[1] for p in ds.position.values]
    return [labels[i] if i >= 0 else "-" for i in ds.unit_position.sel(unit=unit).values[run]]


def stretches(days: list[str]) -> list[tuple[str, int, int]]:
    """(name, first day, length) of each maximal stretch of one position."""
    out: list[tuple[str, int, int]] = []
    for day, name in enumerate(days):
        if out and out[-1][0] == name:
            out[-1] = (name, out[-1][1], out[-1][2] + 1)
        else:
            out.append((name, day, 1))
    return out


def away_and_back(away: dict, back: object, *, count: int, horizon: int) -> dict:
    """Units alternating between a stay away and a stay back, with no demand."""
    return dict(
        horizon=f"{horizon}d",
        policies=[{"id": "p", "positions": [
            {"name": "away", "location": "front", "duration": away},
            {"name": "back", "location": "home", "duration": back},
        ]}],
        units=[{"id": "b", "force": "blue", "type": "bn", "count": count, "strength": 10,
                "policy": "p"}],
        demands=[],
    )  # fmt: skip


def discrete_mean(dist, width: int = 4000) -> float:
    """Mean of the whole-day stays the engine draws from ``dist`` (its table's pmf)."""
    cdf = stay_cdf(dist, width)
    pmf = np.diff(np.concatenate([[0.0], cdf]))
    return float((np.arange(1, width + 1) * pmf).sum())


# --- per-stay durations ---------------------------------------------------------------------


def test_a_stay_is_the_rounded_quantile_of_its_uniform():
    sc = build(**away_and_back({**LOGNORMAL, "per": "stay"}, "10d", count=1, horizon=10))
    dist = sc.policies[0].positions[0].duration.dist
    cdf = stay_cdf(dist, 500)
    u = np.random.default_rng(5).uniform(size=2000)
    expected = np.maximum(np.rint(dist.quantiles(u)), 1)
    drawn = np.array([_stay(cdf, x) for x in u])
    assert np.array_equal(drawn, np.minimum(expected, 500))


def test_sample_mean_of_stays_is_the_distributions_mean():
    horizon = 3000
    sc = build(**away_and_back({**LOGNORMAL, "per": "stay"}, "10d", count=10, horizon=horizon))
    dist = sc.policies[0].positions[0].duration.dist
    ds = forcegen.simulate(sc, runs=8, seed=11, keep_units=True).to_xarray()
    lengths = []
    for run in range(8):
        for unit in ds.unit.values:
            for name, first, length in stretches(trace(ds, unit, run)):
                # Stays that start after the first day and well before the horizon: all end
                # within it (none is cut, so long ones are not under-counted).
                if name == "away" and 0 < first < horizon - 1000:
                    lengths.append(length)
                elif name == "back" and 0 < first < horizon - 1000:
                    assert length == 10
    lengths = np.array(lengths)
    assert len(lengths) > 3000
    assert len(np.unique(lengths)) > 30  # each stay drawn afresh, not once per run
    se = lengths.std() / np.sqrt(len(lengths))
    assert abs(lengths.mean() - discrete_mean(dist)) < 4 * se
    assert abs(lengths.mean() - dist.mean()) < 4 * se + 0.05  # rounding moves it by little


@pytest.mark.parametrize(
    ("away", "back"),
    [
        (LOGNORMAL, "15d"),
        (LOGNORMAL, {"uniform": ["5d", "25d"], "per": "stay"}),
        ({"exponential": "20d"}, {"exponential": {"mean": "15d"}, "per": "stay"}),
    ],
    ids=["fixed", "random", "exponential"],
)
def test_units_away_on_a_day_are_binomial(away, back):
    n, runs, horizon = 8, 300, 2200
    sc = build(**away_and_back({**away, "per": "stay"}, back, count=n, horizon=horizon))
    away_dist = sc.policies[0].positions[0].duration.dist
    back_q = sc.policies[0].positions[1].duration
    mean_back = discrete_mean(back_q.dist) if back_q.dist is not None else back_q.value
    share = discrete_mean(away_dist) / (discrete_mean(away_dist) + mean_back)
    ds = forcegen.simulate(sc, runs=runs, seed=4).to_xarray()
    away = ds.units_in_position.sel(position="p/away").values
    days = np.arange(400, horizon, 200)  # long after the start, far apart
    k = away[:, days].ravel()
    observed = np.bincount(k, minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, share) * len(k)
    # Pool the sparse tails, then a chi-square test of the binomial.
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    assert stats.chi2.sf(chi2, len(obs) - 1) > 1e-3, (observed, expected.round(1))
    assert abs(k.mean() / n - share) < 4 * np.sqrt(share * (1 - share) / len(k))


def test_per_run_is_the_default_and_unchanged():
    base = away_and_back(LOGNORMAL, "10d", count=5, horizon=200)
    said = away_and_back({**LOGNORMAL, "per": "run"}, "10d", count=5, horizon=200)
    a = forcegen.simulate(build(**base), runs=6, seed=2).to_xarray()
    b = forcegen.simulate(build(**said), runs=6, seed=2).to_xarray()
    assert np.array_equal(a.units_in_position.values, b.units_in_position.values)
    # Once per run: every stay away within a run has the same length.
    ds = forcegen.simulate(build(**base), runs=3, seed=2, keep_units=True).to_xarray()
    for run in range(3):
        inner = {
            length
            for unit in ds.unit.values
            for name, first, length in stretches(trace(ds, unit, run))
            if name == "away" and first > 0 and first + length < 200
        }
        assert len(inner) == 1


def test_per_stay_can_be_written_beside_the_duration_too():
    inside = away_and_back({**LOGNORMAL, "per": "stay"}, "10d", count=3, horizon=300)
    beside = away_and_back(LOGNORMAL, "10d", count=3, horizon=300)
    beside["policies"][0]["positions"][0]["per"] = "stay"
    a = forcegen.simulate(build(**inside), runs=4, seed=9).to_xarray()
    b = forcegen.simulate(build(**beside), runs=4, seed=9).to_xarray()
    assert np.array_equal(a.units_in_position.values, b.units_in_position.values)


def test_per_stay_runs_are_reproducible_and_deterministic_mode_takes_the_central_value():
    sc = build(**away_and_back({**LOGNORMAL, "per": "stay"}, "10d", count=4, horizon=300))
    a = forcegen.simulate(sc, runs=3, seed=8).to_xarray()
    b = forcegen.simulate(sc, runs=3, seed=8).to_xarray()
    assert np.array_equal(a.units_in_position.values, b.units_in_position.values)
    central = sc.policies[0].positions[0].duration.value
    fixed = build(**away_and_back(f"{central:g}d", "10d", count=4, horizon=300))
    d1 = forcegen.simulate(sc, deterministic=True).to_xarray()
    d2 = forcegen.simulate(fixed, deterministic=True).to_xarray()
    assert np.array_equal(d1.units_in_position.values, d2.units_in_position.values)


def problems(data: dict) -> list:
    with pytest.raises(ScenarioError) as info:
        loads(yaml_text(data), "s.yaml")
    return info.value.problems


def test_per_stay_needs_an_uncertain_duration():
    data = scenario_data()
    data["policies"][0]["positions"][0]["per"] = "stay"
    (problem,) = problems(data)
    assert problem.field == "policies[0].positions[0].per"
    assert "uncertain duration" in problem.message


def test_per_given_twice_is_refused_where_written():
    data = scenario_data()
    pos = data["policies"][0]["positions"][0]
    pos["duration"] = {**LOGNORMAL, "per": "stay"}
    pos["per"] = "run"
    (problem,) = problems(data)
    assert problem.field.startswith("policies[0].positions[0]")
    assert "given twice" in problem.message


def test_per_takes_run_or_stay():
    data = scenario_data()
    data["policies"][0]["positions"][0]["duration"] = {**LOGNORMAL, "per": "visit"}
    (problem,) = problems(data)
    assert problem.field == "policies[0].positions[0].per"


# --- lead time and mobilisation -------------------------------------------------------------


def called_up(*, lead: int | None, mob: int, start: int = 50, via_mob: bool = True) -> dict:
    """Two reserve units waiting ready at home; a demand for one at the front from ``start``,
    reached through ``mob`` days of post-mobilisation training at a camp."""
    demand = {"id": "d", "location": "front", "units": 1, "start": f"{start}d",
              "fill": {"forces": ["blue"]}}  # fmt: skip
    if lead is not None:
        demand["lead_time"] = f"{lead}d"
    return dict(
        horizon="200d",
        locations=[{"id": "front"}, {"id": "home"}, {"id": "camp"}],
        policies=[{"id": "p", "positions": [
            {"name": "ready", "location": "home", "ready": True,
             "pull_to": "mob" if via_mob else "deployed"},
            {"name": "mob", "location": "camp", "duration": f"{mob}d", "mobilised": True},
            {"name": "deployed", "location": "front", "duration": "300d", "deployed": True},
        ]}],
        units=[{"id": "b", "force": "blue", "type": "bn", "count": 2, "strength": 100,
                "policy": "p", "start": "ready"}],
        demands=[demand],
    )  # fmt: skip


@pytest.mark.parametrize("lead", [1, 7, 30])
def test_a_lead_time_puts_a_unit_at_the_demand_on_its_first_day(lead):
    ds = forcegen.simulate(
        build(**called_up(lead=lead, mob=lead)), deterministic=True, keep_units=True
    ).to_xarray()
    front = ds.units_in_position.sel(position="p/deployed").values[0]
    mob = ds.units_in_position.sel(position="p/mob").values[0]
    assert front[49] == 0 and (front[50:] == 1).all()
    assert (mob[50 - lead : 50] == 1).all() and mob[: 50 - lead].sum() == 0 and mob[50:].sum() == 0
    # One unit only: the unit on its way counts toward the demand.
    assert trace(ds, "b#1") == ["ready"] * 200
    assert float(ds.filled.values[0, 50, 0]) == 1.0


def test_without_a_lead_time_the_unit_arrives_after_its_mobilisation():
    ds = forcegen.simulate(build(**called_up(lead=None, mob=7)), deterministic=True).to_xarray()
    front = ds.units_in_position.sel(position="p/deployed").values[0]
    assert front[56] == 0 and front[57] == 1  # pulled on day 50, 7 days at the camp
    assert ds.units_in_position.sel(position="p/mob").values[0, 50:57].tolist() == [1] * 7


def test_a_lead_time_straight_to_the_demand_arrives_that_many_days_early():
    ds = forcegen.simulate(
        build(**called_up(lead=5, mob=7, via_mob=False)), deterministic=True
    ).to_xarray()
    front = ds.units_in_position.sel(position="p/deployed").values[0]
    assert front[44] == 0 and (front[45:] == 1).all()


def mobilisation_cycle(horizon: int) -> dict:
    """A reserve cycle: 30 days of mobilisation, 90 deployed, 15 of demobilisation, then 405
    at home (540 days in all), six units evenly staggered."""
    return dict(
        horizon=f"{horizon}d",
        locations=[{"id": "front"}, {"id": "home"}, {"id": "camp"}],
        policies=[{"id": "p", "positions": [
            {"name": "mob", "location": "camp", "duration": "30d", "mobilised": True},
            {"name": "deployed", "location": "front", "duration": "90d", "deployed": True},
            {"name": "demob", "location": "camp", "duration": "15d", "mobilised": True},
            {"name": "home", "location": "home", "duration": "405d"},
        ]}],
        units=[{"id": "b", "force": "blue", "type": "bn", "count": 6, "strength": 100,
                "policy": "p"}],
        demands=[{"id": "d", "location": "front", "units": 1, "fill": {"forces": ["blue"]}}],
        rules={"max_deployed_to_dwell": 0.25, "max_mobilised_to_dwell": 0.2},
    )  # fmt: skip


def test_deployed_and_mobilisation_to_dwell_on_a_textbook_cycle():
    sc = build(**mobilisation_cycle(2 * 540))
    results = forcegen.simulate(sc, deterministic=True, keep_units=True)
    ds = results.to_xarray()
    # Per unit over two whole cycles: 180 days deployed, 2 x (30 + 90 + 15) = 270 mobilised.
    assert (ds.deployed_days.values == 180).all()
    assert (ds.mobilised_days.values == 270).all()
    assert float(results.deployed_to_dwell().sel(force="blue")) == pytest.approx(180 / 900)
    assert float(results.mobilised_to_dwell().sel(force="blue")) == pytest.approx(270 / 810)
    (force,) = results.summary()["forces"]
    assert force["deployed_to_dwell"] == pytest.approx(0.2)
    assert force["mobilised_to_dwell"] == pytest.approx(1 / 3, abs=1e-6)
    check = rotation_rules(results, sc.rules)
    assert np.allclose(check.units["mobilised_to_dwell"], 1 / 3)
    assert np.allclose(check.units["deployed_to_dwell"], 0.2)
    broken = check.breaches
    assert set(broken["rule"]) == {"mobilised_to_dwell"}  # 1:3 breaks the 1:5 rule
    assert (broken["measure"] == "ratio").all() and len(broken) == 6


def test_deployed_positions_count_as_mobilised():
    results = forcegen.simulate(build(), deterministic=True)
    ds = results.to_xarray()
    assert np.array_equal(ds.mobilised_days.values, ds.deployed_days.values)
    assert float(results.mobilised_to_dwell().sel(force="blue")) == pytest.approx(
        float(results.deployed_to_dwell().sel(force="blue"))
    )


# --- small fixes: a demand of nothing, prorated dwell ---------------------------------------


def test_a_demand_of_zero_units_is_active_over_its_window():
    demands = [
        {"id": "none", "location": "front", "units": 0, "start": "10d", "duration": "20d",
         "fill": {"forces": ["blue"]}},
        {"id": "some", "location": "front", "units": 1, "start": "10d", "duration": "20d",
         "fill": {"forces": ["blue"]}},
    ]  # fmt: skip
    summary = forcegen.simulate(build(demands=demands), deterministic=True).summary()
    by_id = {d["id"]: d for d in summary["demands"]}
    assert by_id["none"]["days_active"] == by_id["some"]["days_active"] == 20
    assert by_id["none"]["coverage_mean"] is None  # a share of nothing is not defined


def short_demand(release: str | None) -> dict:
    """One unit waits ready; a demand pulls it on day 0 for 40 days of a 100-day deployment;
    then 60 days of reset."""
    policy = {"id": "p", "positions": [
        {"name": "ready", "location": "home", "ready": True, "pull_to": "deployed"},
        {"name": "deployed", "location": "front", "duration": "100d", "deployed": True},
        {"name": "reset", "location": "home", "duration": "60d", "next": "ready"},
    ]}  # fmt: skip
    if release is not None:
        policy["release"] = release
    return dict(
        horizon="150d",
        policies=[policy],
        units=[{"id": "b", "force": "blue", "type": "bn", "count": 1, "strength": 100,
                "policy": "p", "start": "ready"}],
        demands=[{"id": "d", "location": "front", "units": 1, "duration": "40d",
                  "fill": {"forces": ["blue"]}}],
    )  # fmt: skip


@pytest.mark.parametrize(("release", "dwell"), [(None, 60), ("full_dwell", 60), ("prorated", 24)])
def test_a_unit_released_early_serves_a_full_or_prorated_dwell(release, dwell):
    ds = forcegen.simulate(
        build(**short_demand(release)), deterministic=True, keep_units=True
    ).to_xarray()
    got = stretches(trace(ds, "b#0"))
    # Pulled on day 0, released when the demand ends after 40 days: 40 of 100 days served,
    # so a prorated dwell is ceil(60 x 40 / 100) = 24 days.
    assert got[:3] == [
        ("deployed", 0, 40),
        ("reset", 40, dwell),
        ("ready", 40 + dwell, 110 - dwell),
    ]


@pytest.mark.parametrize(("served", "deployment", "dwell", "owed"), [
    (40, 100, 60, 24), (1, 100, 60, 1), (99, 100, 60, 60), (50, 100, 61, 31), (100, 100, 60, 60),
])  # fmt: skip
def test_prorated_dwell_is_the_share_served_rounded_up(served, deployment, dwell, owed):
    from forcegen.engine.kernel import _prorated_days

    assert dwell - _prorated_days(served, deployment, dwell) == owed


def test_release_takes_full_dwell_or_prorated():
    data = scenario_data()
    data["policies"][0]["release"] = "half"
    (problem,) = problems(data)
    assert problem.field == "policies[0].release"


def test_lead_time_is_a_duration():
    data = scenario_data()
    data["demands"][0]["lead_time"] = "soon"
    (problem,) = problems(data)
    assert problem.field == "demands[0].lead_time"


def test_the_schema_takes_per_inside_a_duration():
    import json

    import jsonschema

    from forcegen.scenario.model import Scenario

    schema = Scenario.model_json_schema()
    data = json.loads(json.dumps(scenario_data()))
    pos = data["policies"][0]["positions"][0]
    pos["duration"] = {**LOGNORMAL, "per": "stay"}
    jsonschema.validate(data, schema)
    pos["duration"] = {**LOGNORMAL, "per": "visit"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_stays_are_common_random_numbers_across_scenarios():
    alone = away_and_back({**LOGNORMAL, "per": "stay"}, "10d", count=3, horizon=400)
    more = away_and_back({**LOGNORMAL, "per": "stay"}, "10d", count=3, horizon=400)
    more["units"].insert(0, {"id": "a", "force": "blue", "type": "bn", "count": 5,
                             "strength": 10, "policy": "p", "phase": "20d"})  # fmt: skip
    a = forcegen.simulate(build(**alone), runs=4, seed=6, keep_units=True).to_xarray()
    b = forcegen.simulate(build(**more), runs=4, seed=6, keep_units=True).to_xarray()
    for run in range(4):
        for unit in a.unit.values:
            assert trace(a, unit, run) == trace(b, unit, run)


def test_a_template_override_draws_per_stay():
    data = away_and_back(LOGNORMAL, "10d", count=4, horizon=600)
    data["policies"].append({"id": "q", "template": "p", "overrides": {"away": {"per": "stay"}}})
    data["units"][0]["policy"] = "q"
    ds = forcegen.simulate(build(**data), runs=1, seed=3, keep_units=True).to_xarray()
    lengths = {
        length
        for unit in ds.unit.values
        for name, first, length in stretches(trace(ds, unit))
        if name == "away" and first > 0 and first + length < 600
    }
    assert len(lengths) > 5


def test_people_are_conserved_through_mobilisation_and_random_stays():
    data = called_up(lead=10, mob=10)
    data["policies"][0]["positions"][1]["duration"] = {
        "triangular": ["5d", "10d", "20d"],
        "per": "stay",
    }
    data["locations"] = [
        {"id": "front", "attrition": {"killed": "1%/mo", "wounded": "2%/mo"}},
        {"id": "home"},
        {"id": "camp", "attrition": {"deserted": "1%/mo"}},
    ]
    results = forcegen.simulate(build(**data), runs=20, seed=1)
    ds = results.to_xarray()
    present = ds.strength.sum("location").sel(force="blue").values
    lost = ds.losses.sel(force="blue").sum("cause").cumsum("day").values
    returned = ds.flows.sel(force="blue", flow="returned").cumsum("day").values
    start = ds.initial_strength.sel(force="blue").values[:, None]
    assert np.allclose(present + lost - returned, start)
    assert lost[:, -1].min() > 0


def test_the_tables_show_mobilisation_to_dwell_only_where_it_says_more():
    from forcegen.report import formats
    from forcegen.report.page import _headline

    mobilised = forcegen.simulate(build(**mobilisation_cycle(540)), deterministic=True)
    summary = mobilised.summary()
    assert formats.mobilising(summary["forces"])
    assert _headline(summary)["mobilising"]
    assert _headline(summary)["forces"][0]["md"] == formats.dwell(1 / 3)
    plain = build(
        **away_and_back({"lognormal": LOGNORMAL["lognormal"]}, "10d", count=2, horizon=60)
    )
    assert not formats.mobilising(forcegen.simulate(plain, runs=2).summary()["forces"])
