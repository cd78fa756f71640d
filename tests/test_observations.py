"""Observations: each measure at a date equals the figure computed from the daily records;
targets follow the documented tolerance rule; verdicts and contradictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build

from forcegen.analysis.observations import (
    Z90,
    Target,
    assess,
    contradictions,
    observed_figures,
    targets,
    verdict,
)
from forcegen.api import simulate
from forcegen.errors import UsageError

CLAIMS = [
    {
        "id": f"c{grade}",
        "source": {"publication": "test"},
        "attribution": "named",
        "paraphrase": "a test claim",
        "grade": grade,
    }
    for grade in ("A1", "B2", "D3", "E5")
]

# A force that recruits into cohorts on six-week contracts, with losses of every cause, a
# reservoir and a demand: every measure has something to count.
MANPOWER = dict(
    horizon="120d",
    claims=CLAIMS,
    locations=[
        {
            "id": "front",
            "attrition": {
                "killed": "2%/mo",
                "wounded": "4%/mo",
                "return_share": 0.5,
                "recovery": "10d",
                "missing": "0.5%/mo",
                "deserted": "0.5%/mo",
            },
        },
        {"id": "home"},
        {"id": "out"},
    ],
    unit_types=[{"id": "bn"}, {"id": "co"}],
    policies=[
        {
            "id": "p",
            "positions": [
                {"name": "front", "location": "front", "duration": "30d", "deployed": True},
                {"name": "home", "location": "home", "duration": "30d"},
            ],
        },
        {
            "id": "contract",
            "positions": [
                {"name": "front", "location": "front", "duration": "40d", "deployed": True},
                {"name": "out", "location": "out", "terminal": True},
            ],
        },
    ],
    reservoirs=[{"id": "pool", "size": 20000}],
    pipelines=[
        {
            "id": "pipe",
            "force": "blue",
            "reservoir": "pool",
            "uptake": "proportional",
            "intake": [{"from": "0d", "rate": {"uniform": ["40/d", "80/d"]}}],
            "training": "7d",
            "into": "cohorts",
            "cohort": {"type": "co", "policy": "contract", "every": "10d"},
        }
    ],
)

DATES = ("2023-01-01", "2023-02-15", "2023-04-30")


def _direct(ds, day: int) -> dict[str, np.ndarray]:
    """Figures on ``day`` computed straight from the daily records, by hand."""
    ds = ds.astype(np.float64)  # stochastic records are 32-bit; totals are taken in 64
    losses = ds.losses.values[:, : day + 1].sum(axis=1)  # run, force, cause
    causes = list(ds.cause.values)
    flows = ds.pipeline_flows.values[:, : day + 1].sum(axis=1)  # run, pipeline, measure
    measures = list(ds.measure.values)
    filled, required = ds.filled.values[:, day, 0], ds.required.values[:, day, 0]
    return {
        "people:blue": ds.strength.values[:, day, 0, :].sum(axis=1),
        "people:blue:front": ds.strength.values[:, day, 0, 0],
        "killed:blue": losses[:, 0, causes.index("killed")],
        "wounded:blue": losses[:, 0, causes.index("wounded")],
        "discharged:blue": losses[:, 0, causes.index("discharged")],
        "lost:blue": sum(losses[:, 0, causes.index(c)] for c in causes if c != "discharged"),
        "recruits:pipe": flows[:, 0, measures.index("recruits")],
        "graduates:pipe": flows[:, 0, measures.index("graduates")],
        "reservoir:pool": ds.reservoir_level.values[:, day, 0],
        "units_deployed:blue": ds.units_deployed.values[:, day, 0],
        "coverage:d": np.where(required > 0, filled / np.where(required > 0, required, 1), np.nan),
    }


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "stochastic"])
def test_each_measure_at_a_date_equals_the_daily_records(deterministic: bool) -> None:
    scenario = build(**MANPOWER)
    results = simulate(scenario, runs=6, seed=3, deterministic=deterministic)
    ds = results.to_xarray()
    for date in DATES:
        day = results.day_of(date)
        table = results.at(date)
        assert len(table) == ds.sizes["run"]
        for column, expected in _direct(ds, day).items():
            np.testing.assert_allclose(
                table[column].to_numpy(), expected, rtol=1e-9, err_msg=column
            )
    # Something happened: the checks above are not comparing zeros.
    late = results.at(DATES[-1])
    assert (late["killed:blue"] > 0).all() and (late["discharged:blue"] > 0).all()
    assert (late["recruits:pipe"] > late["graduates:pipe"]).all()


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "stochastic"])
def test_observed_figures_equal_the_daily_records(deterministic: bool) -> None:
    observations = [
        {"id": "killed", "measure": "killed", "force": "blue", "by": "2023-03-01", "value": 1},
        {"id": "front", "measure": "people", "location": "front", "at": "2023-02-15", "value": 1},
        {
            "id": "window",
            "measure": "recruits",
            "pipeline": "pipe",
            "from": "2023-02-01",
            "to": "2023-02-28",
            "value": 1,
        },
        {
            "id": "level",
            "measure": "reservoir",
            "reservoir": "pool",
            "from": "2023-02-01",
            "to": "2023-02-10",
            "value": 1,
        },
        {
            "id": "share",
            "measure": "killed",
            "by": "2023-04-30",
            "share_of": {"measure": "graduates", "pipeline": "pipe"},
            "value": "5%",
        },
        {
            "id": "offset",
            "measure": "discharged",
            "before_start": 1000,
            "by": "2023-04-30",
            "value": 1,
        },
        {"id": "cov", "measure": "coverage", "demand": "d", "at": "2023-01-20", "value": 1},
        {"id": "typed", "measure": "people", "unit_type": "co", "at": "2023-03-20", "value": 1},
    ]
    scenario = build(**MANPOWER, observations=observations)
    results = simulate(scenario, runs=5, seed=7, deterministic=deterministic, keep_units=True)
    ds = results.to_xarray()
    got = observed_figures(results, scenario)
    assert got.dims == ("run", "observation")
    assert list(got.observation.values) == [o["id"] for o in observations]
    causes, measures = list(ds.cause.values), list(ds.measure.values)
    ds = ds.astype(np.float64)  # stochastic records are 32-bit; totals are taken in 64
    killed = ds.losses.values[:, :, 0, causes.index("killed")]
    grads = ds.pipeline_flows.values[:, :, 0, measures.index("graduates")]
    recruits = ds.pipeline_flows.values[:, :, 0, measures.index("recruits")]
    d = results.day_of
    expected = {
        "killed": killed[:, : d("2023-03-01") + 1].sum(axis=1),
        "front": ds.strength.values[:, d("2023-02-15"), 0, 0],
        "window": recruits[:, d("2023-02-01") : d("2023-02-28") + 1].sum(axis=1),
        "level": ds.reservoir_level.values[:, d("2023-02-01") : d("2023-02-10") + 1, 0].mean(
            axis=1
        ),
        "share": killed[:, : d("2023-04-30") + 1].sum(axis=1)
        / grads[:, : d("2023-04-30") + 1].sum(axis=1),
        "offset": 1000 + ds.losses.values[:, : d("2023-04-30") + 1, 0, -1].sum(axis=1),
        "cov": ds.filled.values[:, d("2023-01-20"), 0] / ds.required.values[:, d("2023-01-20"), 0],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(
            got.sel(observation=name).values, values, rtol=1e-9, err_msg=name
        )
    # People of a unit type: the strength of that type's units where they are present.
    day = d("2023-03-20")
    co = ds.unit_type.values == "co"
    pos = ds.unit_position.values[:, day][:, co]
    strength = ds.unit_strength.values[:, day][:, co]
    typed = np.where(pos >= 0, strength, 0).sum(axis=1)
    np.testing.assert_allclose(got.sel(observation="typed").values, typed, rtol=1e-9)
    assert typed.min() > 0
    # With both unit types, people everywhere equal the census of every location.
    everyone = results.measure("people", unit_type="co") + results.measure("people", unit_type="bn")
    np.testing.assert_allclose(everyone.values, ds.strength.values.sum(axis=(2, 3)), rtol=1e-6)


def test_results_at_refuses_days_not_simulated() -> None:
    results = simulate(build(), deterministic=True)
    with pytest.raises(UsageError, match="not a day simulated"):
        results.at("2024-01-01")
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        results.at("next tuesday")
    with pytest.raises(UsageError, match="unit-level traces"):
        results.measure("people", unit_type="bn")
    assert results.at(0).shape[0] == 1


def _obs(**fields):
    return {"id": "o", "measure": "killed", "by": "2023-02-01", **fields}


@pytest.mark.parametrize(
    ("fields", "low", "high"),
    [
        # Tolerance by grade: reliability + credibility shares (A1 5%, B2 10%, D3 25%, E5 50%).
        ({"value": 1000, "cites": ["cA1"]}, 950, 1050),
        ({"value": 1000, "cites": ["cB2"]}, 900, 1100),
        ({"value": 1000, "cites": ["cD3"]}, 750, 1250),
        ({"value": 1000, "cites": ["cB2", "cE5"]}, 500, 1500),  # the largest share
        ({"value": 1000}, 750, 1250),  # uncited: 25%
        ({"value": 1000, "tolerance": 0, "cites": ["cE5"]}, 1000, 1000),  # overridden
        ({"value": 1000, "plus_minus": 100, "cites": ["cA1"]}, 900 * 0.95, 1100 * 1.05),
        ({"value": 1000, "sd": 100, "tolerance": 0}, 1000 - Z90 * 100, 1000 + Z90 * 100),
        ({"between": [800, 1200], "tolerance": 0.1}, 720, 1320),
        ({"at_least": 9000, "cites": ["cB2"]}, 8100, math.inf),
        ({"at_most": "20%", "share_of": {"measure": "discharged"}, "tolerance": 0}, -math.inf, 0.2),
    ],
)
def test_targets_follow_the_tolerance_rule(fields, low, high) -> None:
    scenario = build(claims=CLAIMS, observations=[_obs(**fields)])
    (t,) = targets(scenario)
    assert t.low == pytest.approx(low) and t.high == pytest.approx(high)
    assert t.claims == tuple(fields.get("cites", ()))


def test_the_scenario_may_change_the_tolerance_rule() -> None:
    scenario = build(
        claims=CLAIMS,
        observations=[_obs(value=1000, cites=["cD3"])],
        uncertainty={"tolerance": {"reliability": {"D": 0.5}, "credibility": {"3": 0}}},
    )
    assert targets(scenario)[0].low == pytest.approx(500)


def test_target_holds_and_distance() -> None:
    t = Target("o", low=10, high=20, centre=15, sd=2.0, claims=(), scale=2.0)
    values = np.array([5, 10, 15, 20, 26, np.nan])
    assert t.holds(values).tolist() == [False, True, True, True, False, False]
    assert t.distance(values).tolist() == [2.5, 0, 0, 0, 3.0, math.inf]
    one_sided = targets(build(observations=[_obs(at_least=1000, tolerance=0)]))[0]
    assert one_sided.sd is None and one_sided.scale == pytest.approx(100)  # 10% of the bound
    assert one_sided.distance(np.array([800]))[0] == pytest.approx(2.0)


def test_verdicts_by_the_claims_place_in_the_band() -> None:
    runs = np.arange(100.0)  # q5 = 4.95, q95 = 94.05
    assert verdict(Target("o", 50, 60, 55, None, ()), runs) == "consistent"
    assert verdict(Target("o", 96, 120, None, None, ()), runs) == "in tension"
    assert verdict(Target("o", 100, 120, None, None, ()), runs) == "inconsistent"
    assert verdict(Target("o", 0, 1, None, None, ()), np.full(4, np.nan)) == "inconsistent"


def test_observations_that_contradict_each_other_are_inconsistent() -> None:
    scenario = build(
        claims=CLAIMS,
        locations=[{"id": "front", "attrition": {"killed": "1%/mo"}}, {"id": "home"}],
        observations=[
            _obs(id="low", at_most=5, cites=["cA1"]),
            _obs(id="high", at_least=50, cites=["cA1"]),
            _obs(id="other", measure="wounded", at_most=1000),
        ],
    )
    pairs = contradictions(scenario)
    assert [(a, b) for a, b, _ in pairs] == [("low", "high")]
    results = simulate(scenario, runs=10, seed=0)
    verdicts = {a.id: (a.verdict, a.contradicts) for a in assess(results, scenario)}
    assert verdicts["low"] == ("inconsistent", ("high",))
    assert verdicts["high"] == ("inconsistent", ("low",))
    assert verdicts["other"] == ("consistent", ())


def test_assessment_reports_the_band_and_the_share_of_runs() -> None:
    scenario = build(
        claims=CLAIMS,
        locations=[{"id": "front", "attrition": {"killed": "3%/mo"}}, {"id": "home"}],
        observations=[_obs(id="k", between=[5, 25], cites=["cB2"], tolerance=0)],
    )
    results = simulate(scenario, runs=40, seed=2)
    (a,) = assess(results, scenario)
    values = observed_figures(results, scenario).sel(observation="k").values
    assert a.median == pytest.approx(np.median(values))
    assert a.q5 == pytest.approx(np.quantile(values, 0.05))
    assert a.p_holds == pytest.approx(((values >= 5) & (values <= 25)).mean())
    assert a.claims == ("cB2",) and a.grades == ("B2",)
    assert a.summary()["verdict"] == a.verdict == "consistent"
