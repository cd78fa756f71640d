"""Manpower: pipelines, reservoirs, cohorts, contracts, replacements, wounded who return.

Deterministic tests check closed forms exactly (Little's law, contract discharge, recovery
delays, reservoir depletion); stochastic tests check conservation of people and bounds.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, flow, line_of, scenario_text

import forcegen
from forcegen.errors import ScenarioError


def sections(
    *,
    horizon: str = "400d",
    front: str = "",
    contract: str = "180d",
    size: int = 100_000,
    units: list | None = None,
    pipelines: list | None = None,
    rule: str = "most_depleted",
) -> dict:
    """RU and WG with three policies and a reservoir; ``front`` is the front's attrition
    as written inside a YAML flow mapping (``"killed: 3%/mo, recovery: 45d"``)."""
    return dict(
        name="manpower",
        horizon=horizon,
        forces=[{"id": "RU", "replacement_rule": rule}, {"id": "WG"}],
        unit_types=[{"id": "bn"}, {"id": "assault"}],
        locations=[
            {"id": "front", "attrition": flow("{" + front + "}")},
            {"id": "rear"},
            {"id": "home"},
        ],
        policies=[
            {"id": "cycle", "positions": [
                {"name": "front", "location": "front", "duration": "30d", "deployed": True},
                {"name": "rear", "location": "rear", "duration": "30d"},
                {"name": "home", "location": "home", "duration": "30d"},
            ]},
            {"id": "contract", "positions": [
                {"name": "front", "location": "front", "duration": contract, "deployed": True},
                {"name": "out", "location": "home", "terminal": True},
            ]},
            {"id": "hold", "positions": [
                {"name": "front", "location": "front", "duration": "10y", "deployed": True},
            ]},
        ],
        reservoirs=[{"id": "prisoners", "size": size}],
        units=units or [],
        pipelines=pipelines or [],
        demands=None,
    )  # fmt: skip


def scenario(**changes):
    return build("manpower.yaml", **sections(**changes))


def cohort_pipeline(
    *,
    rate: str,
    every: str = "1d",
    training: str = "0d",
    reservoir: str | None = None,
    uptake: str = "capped",
) -> dict:
    res = {"reservoir": reservoir} if reservoir else {}
    return {
        "id": "wg",
        "force": "WG",
        **res,
        "uptake": uptake,
        "intake": [{"from": "0d", "rate": flow(rate)}],
        "training": training,
        "into": "cohorts",
        "cohort": {"type": "assault", "policy": "contract", "every": every},
    }


def group(id: str, force: str, type: str, policy: str, count: int, strength: int, **more):
    return {"id": id, "force": force, "type": type, "count": count, "strength": strength,
            "policy": policy, **more}  # fmt: skip


def wave(people: int, over: str, start: str = "0d", **more) -> dict:
    return {"id": "mob", "force": "RU", "waves": [{"from": start, "people": people, "over": over}],
            **more, "into": "replacements"}  # fmt: skip


def run(sc, **kw):
    return forcegen.simulate(sc, **kw).to_xarray()


def test_littles_law_stock_at_the_front_is_rate_times_stay():
    # 100 recruits a day, each day's batch forms a unit that serves 30 days, then leaves.
    ds = run(scenario(contract="30d", pipelines=[cohort_pipeline(rate="100")]), deterministic=True)
    front = ds.strength.sel(force="WG", location="front").isel(run=0).values
    assert np.allclose(front[30:], 100 * 30, rtol=0, atol=1e-9)
    # Filling up: day d holds d + 1 daily cohorts.
    assert np.allclose(front[:30], 100 * np.arange(1, 31), rtol=0, atol=1e-9)


def test_littles_law_stock_in_training_is_rate_times_training_time():
    ds = run(
        scenario(contract="30d", pipelines=[cohort_pipeline(rate="70", training="21d")]),
        deterministic=True,
    )
    in_training = ds.pipeline_flows.sel(pipeline="wg", measure="in_training").isel(run=0)
    assert np.allclose(in_training.values[21:], 70 * 21, rtol=0, atol=1e-9)
    graduates = ds.pipeline_flows.sel(pipeline="wg", measure="graduates").isel(run=0).values
    assert np.all(graduates[:21] == 0) and np.allclose(graduates[21:], 70)


def test_contract_cohort_is_discharged_on_day_180_with_predicted_survivors():
    p_month = 0.06
    daily = 1 - (1 - p_month) ** (1 / 30)
    sc = scenario(
        front=f"killed: {p_month * 100}%/mo",
        contract="180d",
        horizon="300d",
        pipelines=[cohort_pipeline(rate="300/mo", every="1mo")],
    )
    ds = run(sc, deterministic=True, keep_units=True)
    batch0 = "wg#0.0"
    strength = ds.unit_strength.sel(unit=batch0).isel(run=0).values.astype(float)
    position = ds.unit_position.sel(unit=batch0).isel(run=0).values
    formed = 29  # the first monthly batch closes on day 29
    assert position[formed - 1] == -1 and position[formed] >= 0
    assert np.all(position[formed : formed + 180] >= 0)
    assert position[formed + 180] == -1  # discharged 180 days after it was formed
    assert strength[formed] == pytest.approx(300)  # not exposed on the day it forms
    discharged = ds.losses.sel(force="WG", cause="discharged").isel(run=0).values
    assert discharged[formed + 180] == pytest.approx(300 * (1 - daily) ** 180, rel=1e-6)
    assert np.all(discharged[: formed + 180] == 0)


@pytest.mark.parametrize("deterministic", [True, False])
def test_days_active_and_deployed_match_each_units_daily_trace(deterministic):
    # Batches formed every 20 days serve 50 days: units are formed and discharged inside the
    # horizon, and the last ones are still serving at its end. Units present from the start
    # rotate in and out of deployment.
    sc = scenario(
        front="killed: 3%/mo",
        contract="50d",
        horizon="130d",
        pipelines=[cohort_pipeline(rate="40", every="20d")],
        units=[group("old", "WG", "assault", "cycle", 3, 100)],
    )
    ds = run(sc, deterministic=deterministic, runs=3, keep_units=True)
    position = ds.unit_position.values  # (run, day, unit); -1: not in the force
    present = position >= 0
    deployed = present & ds.position_deployed.values[np.where(present, position, 0)]
    active_days = present.sum(axis=1)
    assert set(active_days[0]) > {50, 130}  # served out, served from the start, and between
    assert 0 < deployed.sum() < present.sum()
    assert np.array_equal(ds.active_days.values, active_days)
    assert np.array_equal(ds.deployed_days.values, deployed.sum(axis=1))


def test_wounded_return_exactly_after_recovery():
    sc = scenario(
        front="wounded: 3%/mo, return_share: 0.4, recovery: 45d",
        units=[group("b", "RU", "bn", "hold", 1, 1000)],
    )
    ds = run(sc, deterministic=True)
    flows = ds.flows.sel(force="RU").isel(run=0)
    into_recovery = flows.sel(flow="wounded_returning").values
    returned = flows.sel(flow="returned").values
    wounded = ds.losses.sel(force="RU", cause="wounded").isel(run=0).values
    assert np.allclose(into_recovery, 0.4 * wounded)
    assert np.all(returned[:45] == 0)
    assert np.allclose(returned[45:], into_recovery[:-45], rtol=0, atol=1e-9)
    in_recovery = ds.stocks.sel(force="RU", stock="in_recovery").isel(run=0).values
    assert in_recovery[100] == pytest.approx(into_recovery[56:101].sum())


def test_proportional_uptake_follows_its_closed_form():
    size, rate = 50_000, 400.0
    sc = scenario(
        size=size,
        pipelines=[cohort_pipeline(rate=str(rate), reservoir="prisoners", uptake="proportional")],
    )
    ds = run(sc, deterministic=True)
    level = ds.reservoir_level.sel(reservoir="prisoners").isel(run=0).values
    days = np.arange(len(level))
    assert np.allclose(level, size * (1 - rate / size) ** (days + 1), rtol=1e-12)


def test_capped_uptake_takes_the_rate_until_the_reservoir_is_empty():
    sc = scenario(size=1000, pipelines=[cohort_pipeline(rate="300", reservoir="prisoners")])
    ds = run(sc, deterministic=True)
    recruits = ds.pipeline_flows.sel(pipeline="wg", measure="recruits").isel(run=0).values
    assert recruits[:4].tolist() == [300, 300, 300, 100]
    assert np.all(recruits[4:] == 0)
    assert ds.reservoir_level.isel(run=0).min() == 0


def test_replacements_go_to_units_by_the_force_rule():
    units = [group("b", "RU", "bn", "cycle", 3, 500, current="60%")]
    pipes = [wave(250, "1d")]
    for rule, expect_first in (("most_depleted", "b#0"), ("deployed_first", "b#0")):
        ds = run(
            scenario(units=units, pipelines=pipes, rule=rule), deterministic=True, keep_units=True
        )
        got = ds.unit_strength.isel(run=0, day=0).to_series()
        # Equal depletion: ties go by unit number; 250 people fill b#0 (needs 200), then 50.
        assert got[expect_first] == 500
        assert got["b#1"] == 350 and got["b#2"] == 300
    delivered = ds.flows.sel(force="RU", flow="replaced").isel(run=0).values
    assert delivered[0] == 250
    assert ds.stocks.sel(force="RU", stock="unmet_need").isel(run=0, day=0) == 3 * 200 - 250


@pytest.mark.parametrize("people", [100_000, 200, 0])
def test_replacements_every_day_go_to_every_unit_below_strength(people):
    # Units lose people at the front every day and no wounded return; a stream of
    # replacements is plenty (every unit is topped up every day), too small, or none.
    daily = 1 - 0.9 ** (1 / 30)
    units = [group("b", "RU", "bn", "cycle", 6, 500)]
    pipes = [wave(people, "100d")] if people else []
    sc = scenario(front="killed: 10%/mo", units=units, pipelines=pipes, horizon="100d")
    ds = run(sc, deterministic=True, keep_units=True)
    strength = ds.unit_strength.isel(run=0).values.astype(float)  # (day, unit)
    at_front = ds.position.values[ds.unit_position.isel(run=0).values] == "cycle/front"
    replaced = ds.flows.sel(force="RU", flow="replaced").isel(run=0).values
    unmet = ds.stocks.sel(force="RU", stock="unmet_need").isel(run=0).values
    # What units lack before a day's replacements is what they lacked at the last census.
    gap = (500 - strength[:-1]).sum(axis=1)
    assert np.allclose(replaced[1:] + unmet[1:], gap, rtol=0, atol=1e-3)
    assert gap.min() > 0
    if people > 6 * 500:
        assert np.all(unmet == 0)
        # Topped up each morning, a unit then loses a day's share if it spent it at the front.
        expect = np.where(at_front[:-1], 500 * (1 - daily), 500.0)
        assert np.allclose(strength[1:], expect, rtol=0, atol=1e-3)
    elif people == 0:  # nothing to deliver: the need is all unmet
        assert np.all(replaced == 0)
    else:  # 2 a day against about 3.5 lost: from day 3 each day's 2 go, and need is left
        assert np.allclose(replaced[3:], 2, rtol=0, atol=1e-9)
        assert np.all(unmet[3:] > 0)


def test_deployed_first_prefers_deployed_units():
    units = [group("b", "RU", "bn", "cycle", 3, 500, current="60%")]
    ds = run(
        scenario(units=units, pipelines=[wave(200, "1d")], rule="deployed_first"),
        deterministic=True,
        keep_units=True,
    )
    pos = ds.unit_position.isel(run=0, day=0).values
    labels = ds.position.values
    deployed = [u for u, p in zip(ds.unit.values, pos, strict=True) if labels[p].endswith("/front")]
    assert deployed == ["b#0"]
    # b#0 is deployed and gets everything even under a tie on depletion.
    assert ds.unit_strength.isel(run=0, day=0).sel(unit="b#0") == 500


def test_reconstitution_withdraws_a_weak_unit():
    data = sections(
        horizon="100d",
        front="killed: 20%/mo",
        size=1,
        units=[group("b", "RU", "bn", "hold", 1, 100)],
    )
    hold = data["policies"][2]
    hold["reconstitute"] = {"below": "50%", "position": "rest"}
    hold["positions"].append(
        {"name": "rest", "location": "home", "duration": "20d", "next": "front"}
    )
    ds = run(build("r.yaml", **data), deterministic=True, keep_units=True)
    strength = ds.unit_strength.isel(run=0).sel(unit="b#0").values.astype(float)
    position = ds.position.values[ds.unit_position.isel(run=0).sel(unit="b#0").values]
    first_weak = int(np.argmax(strength < 50))
    assert position[first_weak] == "hold/rest"
    assert set(position[:first_weak]) == {"hold/front"}


@pytest.mark.parametrize("seed", [0, 1])
def test_people_are_conserved_across_every_flow(seed):
    sc = _rich_scenario()
    ds = run(sc, runs=30, seed=seed)
    end = ds.strength.sum("location")
    gains = ds.flows.sel(flow=["formed", "replaced", "returned"]).sum("flow").cumsum("day")
    losses = ds.losses.sum("cause").cumsum("day")
    assert float(abs(ds.initial_strength + gains - losses - end).max()) == 0.0
    # The pool and recovery balance too: what went in came out or is still there.
    pool_in = ds.pipeline_flows.sel(measure="graduates", pipeline="mob").sum("day")
    delivered = ds.flows.sel(force="RU", flow="replaced").sum("day")
    pool_end = ds.stocks.sel(force="RU", stock="replacement_pool").isel(day=-1)
    assert np.all(pool_in + _returned_to_pool(ds) - delivered == pool_end)


def _returned_to_pool(ds):
    into = ds.flows.sel(force="RU", flow="wounded_returning").sum("day")
    back = ds.flows.sel(force="RU", flow="returned").sum("day")
    still = ds.stocks.sel(force="RU", stock="in_recovery").isel(day=-1)
    return into - back - still


def _rich_scenario():
    units = [group("b", "RU", "bn", "cycle", 9, 500)]
    pipes = [
        cohort_pipeline(
            rate="3000/mo",
            every="1mo",
            training="14d",
            reservoir="prisoners",
            uptake="proportional",
        ),
        wave(2000, "60d", start="10d", training="30d"),
    ]
    return scenario(
        front="killed: 2%/mo, wounded: 6%/mo, return_share: 0.5, recovery: 45d, "
        "missing: 0.5%/mo, deserted: 0.2%/mo",
        size=20_000,
        units=units,
        pipelines=pipes,
    )


def test_recruits_never_exceed_the_reservoir():
    sc = scenario(size=500, pipelines=[cohort_pipeline(rate="200", reservoir="prisoners")])
    ds = run(sc, runs=40, seed=3)
    recruits = ds.pipeline_flows.sel(pipeline="wg", measure="recruits").sum("day")
    assert np.all(recruits <= 500)
    assert np.all(ds.reservoir_level >= 0)
    assert np.all(recruits + ds.reservoir_level.isel(day=-1, reservoir=0) == 500)


def test_stochastic_recruits_average_the_rate():
    sc = scenario(pipelines=[cohort_pipeline(rate="50")], horizon="100d")
    ds = run(sc, runs=200, seed=5)
    total = ds.pipeline_flows.sel(pipeline="wg", measure="recruits").sum("day")
    # Poisson(50) a day for 100 days: mean 5000, sd of the mean over 200 runs = 5.
    assert abs(float(total.mean()) - 5000) < 4 * 5


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            {"reservoir": "nowhere"},
            "pipelines[0].reservoir",
            "expected the id of one of the reservoirs",
        ),
        (
            {"intake": [{"from": "0d", "rate": -300}]},
            "pipelines[0].intake[0].rate",
            "people per day",
        ),
        ({"uptake": "proportional", "reservoir": None}, "pipelines[0]", ""),
    ],
)
def test_impossible_pipelines_are_refused(edit, field, words):
    pipeline = {**cohort_pipeline(rate="300", reservoir="prisoners"), **edit}
    pipeline = {key: value for key, value in pipeline.items() if value is not None}
    with pytest.raises(ScenarioError) as info:
        build(
            "bad.yaml",
            **sections(horizon="100d", front="killed: 1%/mo", size=100, pipelines=[pipeline]),
        )
    problems = info.value.problems
    assert any(p.field.startswith(field) and words in p.message for p in problems), problems


def refused(front: str) -> list:
    """The problems of a scenario with these front attrition fields (and nothing else)."""
    with pytest.raises(ScenarioError) as info:
        build("bad.yaml", **sections(horizon="100d", front=front, size=100))
    return info.value.problems


def test_return_share_above_one_is_refused():
    (problem,) = refused("wounded: 1%/mo, return_share: 1.2, recovery: 30d")
    assert problem.field == "locations[0].attrition.return_share"
    assert "share between 0 and 1" in problem.message and "1.2" in problem.message
    text = scenario_text(**sections(horizon="100d", front="wounded: 1%/mo, return_share: 1.2"))
    assert problem.line == line_of(text, "return_share: 1.2")


def test_return_share_needs_a_recovery_time():
    problems = refused("wounded: 1%/mo, return_share: 0.5")
    assert [p.field for p in problems] == ["locations[0].attrition.recovery"]
