"""States and their stocks (issue 18 part 1): the Markov manpower-planning model.

Deterministic runs are held to closed forms: the daily recursion n(t) = n(t-1) M + intake,
its steady state (the balance equations, solved with numpy), the textbook yearly model
n(k) = n(k-1) P + R, and the equivalence of a yearly probability applied daily. Stochastic
runs are held to the conservation of people across every flow of a stock, per force, run
and day, and to the deterministic means within statistical tolerance. Each new field has a
located validation error.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, line_of, scenario_text

import forcegen
from forcegen.errors import ScenarioError

CHAIN = [
    {
        "id": "recruits",
        "force": "blue",
        "initial": 300,
        "wastage": 0.004,
        "transitions": [{"to": "trained", "hazard": 0.02}],
    },
    {
        "id": "trained",
        "force": "blue",
        "initial": 100,
        "wastage": 0.003,
        "transitions": [{"to": "veterans", "hazard": 0.01}, {"to": "recruits", "hazard": 0.001}],
    },
    {"id": "veterans", "force": "blue", "initial": 0, "wastage": 0.012},
]
"""Three states of one force, with daily hazards written as plain probabilities."""

RATE = 25.0
"""Recruits a day into the first state."""


def intake(rate: float = RATE, stock: str = "recruits", **more: object) -> dict:
    return {
        "id": "intake",
        "force": "blue",
        "intake": [{"from": "0d", "rate": rate}],
        "into": "stock",
        "stock": stock,
        **more,
    }


def chain_matrix() -> np.ndarray:
    """M[i, j]: the share of state i's people in state j the next day (wastage leaves)."""
    ids = [s["id"] for s in CHAIN]
    m = np.zeros((3, 3))
    for i, state in enumerate(CHAIN):
        out = state["wastage"]
        for move in state.get("transitions", []):
            m[i, ids.index(move["to"])] = move["hazard"]
            out += move["hazard"]
        m[i, i] = 1.0 - out
    return m


def test_the_daily_recursion_and_its_steady_state_hold_exactly():
    horizon = 4000
    sc = build(horizon=f"{horizon}d", stocks=CHAIN, pipelines=[intake()])
    ds = forcegen.simulate(sc, runs=1, deterministic=True).to_xarray()
    level = ds.stock_level.isel(run=0).values
    m = chain_matrix()
    n = np.array([s["initial"] for s in CHAIN], float)
    expected = np.zeros((horizon, 3))
    for day in range(horizon):  # moves on the day's stock first, then the day's intake
        n = n @ m + np.array([RATE, 0.0, 0.0])
        expected[day] = n
    np.testing.assert_allclose(level, expected, rtol=1e-9)
    # The balance equations: n = n M + r, so n (I - M) = r.
    steady = np.linalg.solve((np.eye(3) - m).T, np.array([RATE, 0.0, 0.0]))
    np.testing.assert_allclose(level[-1], steady, rtol=1e-9)
    # Flows by transition: each day's moves are the expected people of the day before.
    moved = ds.transition_flows.isel(run=0)
    assert list(ds.transition.values) == [
        "recruits>trained",
        "recruits>out",
        "trained>veterans",
        "trained>recruits",
        "trained>out",
        "veterans>out",
    ]
    np.testing.assert_allclose(
        moved.sel(transition="trained>veterans").values[1:], level[:-1, 1] * 0.01, rtol=1e-12
    )
    assert float(ds.stock_flows.sel(stock_flow="intake").sum()) == pytest.approx(RATE * horizon)


def test_a_yearly_step_reproduces_the_textbook_discrete_time_model():
    # Bartholomew and Forbes' grade model n(k) = n(k-1) P + R, one step a year: hazards
    # written per year, recruits arriving once a year after the moves (a one-day wave on
    # the last day of each year).
    p = np.array([[0.6, 0.25, 0.0], [0.0, 0.7, 0.2], [0.0, 0.0, 0.85]])
    recruits = 1000.0
    years = 6
    stocks = [
        {
            "id": "g1",
            "force": "blue",
            "initial": 2000,
            "step": "year",
            "wastage": "15%/y",
            "transitions": [{"to": "g2", "hazard": "25%/y"}],
        },
        {
            "id": "g2",
            "force": "blue",
            "initial": 1000,
            "step": "year",
            "wastage": "10%/y",
            "transitions": [{"to": "g3", "hazard": "20%/y"}],
        },
        {"id": "g3", "force": "blue", "initial": 500, "step": "year", "wastage": "15%/y"},
    ]
    waves = [
        {"from": f"{365 * k - 1}d", "people": recruits, "over": "1d"} for k in range(1, years + 1)
    ]
    pipe = {"id": "intake", "force": "blue", "waves": waves, "into": "stock", "stock": "g1"}
    sc = build(horizon=f"{365 * years}d", stocks=stocks, pipelines=[pipe])
    level = forcegen.simulate(sc, runs=1, deterministic=True).to_xarray().stock_level
    level = level.isel(run=0).values
    n = np.array([2000.0, 1000.0, 500.0])
    for k in range(1, years + 1):
        before = n
        n = n @ p + np.array([recruits, 0.0, 0.0])
        np.testing.assert_allclose(level[365 * k - 1], n, rtol=1e-9)
        # Nothing moves between anniversaries.
        np.testing.assert_allclose(
            level[365 * (k - 1) : 365 * k - 1], before[None, :].repeat(364, 0)
        )


def test_a_yearly_probability_applied_daily_gives_the_same_yearly_survival():
    stocks = [
        {"id": "daily", "force": "blue", "initial": 1000, "wastage": "10%/y"},
        {"id": "yearly", "force": "blue", "initial": 1000, "wastage": "10%/y", "step": "year"},
    ]
    sc = build(horizon="730d", stocks=stocks)
    level = forcegen.simulate(sc, runs=1, deterministic=True).to_xarray().stock_level.isel(run=0)
    for day, kept in ((364, 900.0), (729, 810.0)):
        assert float(level.sel(state="daily").isel(day=day)) == pytest.approx(kept, rel=1e-9)
        assert float(level.sel(state="yearly").isel(day=day)) == pytest.approx(kept, rel=1e-9)


LINKED = dict(
    horizon="400d",
    locations=[
        {"id": "front", "attrition": {"killed": "10%/mo", "deserted": "5%/mo"}},
        {"id": "home"},
    ],
    policies=[
        {
            "id": "contract",
            "positions": [
                {"name": "front", "location": "front", "duration": "90d", "deployed": True},
                {"name": "out", "location": "home", "terminal": True},
            ],
        },
    ],
    units=[
        {"id": "b", "force": "blue", "type": "bn", "count": 6, "strength": 200,
         "policy": "contract"},
    ],
    demands=None,
    stocks=[
        {
            "id": "recruits",
            "force": "blue",
            "initial": 40,
            "wastage": "2%/mo",
            "transitions": [{"to": "trained", "hazard": "30%/mo"}],
        },
        {
            "id": "trained",
            "force": "blue",
            "initial": 300,
            "wastage": "1%/mo",
            "feeds_replacements": True,
        },
        {
            "id": "veterans",
            "force": "blue",
            "initial": 0,
            "wastage": "5%/mo",
            "transitions": [{"to": "trained", "hazard": "2%/mo"}],
            "takes_discharged": True,
        },
    ],
    pipelines=[intake(rate=6.0)],
)  # fmt: skip


def test_people_are_conserved_across_every_flow_of_a_stock():
    sc = build(**LINKED)
    ds = forcegen.simulate(sc, runs=40, seed=7).to_xarray()
    level = ds.stock_level.values.astype(np.float64)  # (R, T, N)
    start = ds.stock_initial.values[:, None, :]
    change = np.diff(np.concatenate([start, level], axis=1), axis=1)
    flows = ds.stock_flows.astype(np.float64)
    intake_ = flows.sel(stock_flow="intake").values
    to_units = flows.sel(stock_flow="to_units").values
    from_units = flows.sel(stock_flow="from_units").values
    moved = ds.transition_flows.values.astype(np.float64)  # (R, T, E)
    into = np.zeros_like(level)
    out_of = np.zeros_like(level)
    states = list(ds.state.values)
    for e, (a, b) in enumerate(
        zip(ds.transition_from.values, ds.transition_to.values, strict=True)
    ):
        out_of[:, :, states.index(a)] += moved[:, :, e]
        if b != "out":
            into[:, :, states.index(b)] += moved[:, :, e]
    # Per state, run and day: what changed is what came in less what left.
    np.testing.assert_array_equal(change, intake_ + from_units - to_units + into - out_of)
    # Per force (one here), run and day: transitions within the force cancel; wastage leaves.
    wastage = moved[:, :, [t.endswith(">out") for t in ds.transition.values]].sum(axis=2)
    np.testing.assert_array_equal(
        change.sum(axis=2), (intake_ + from_units - to_units).sum(axis=2) - wastage
    )
    # Whole people, never negative; the stock's people are among those replaced, the
    # discharged are those of the units.
    assert (level >= 0).all() and (level == np.round(level)).all()
    replaced = ds.flows.sel(force="blue", flow="replaced").values.astype(np.float64)
    assert (to_units.sum(axis=2) <= replaced + 1e-9).all()
    assert to_units.sum() > 0
    discharged = ds.losses.sel(force="blue", cause="discharged").values.astype(np.float64)
    np.testing.assert_array_equal(from_units[:, :, states.index("veterans")], discharged)
    assert discharged.sum() > 0
    # Pipelines into a stock put their graduates there, not in the replacement pool.
    graduates = ds.pipeline_flows.sel(pipeline="intake", measure="graduates").values
    np.testing.assert_array_equal(intake_[:, :, states.index("recruits")], graduates)


def test_stochastic_stocks_match_the_expected_values_within_tolerance():
    sc = build(horizon="200d", stocks=CHAIN, pipelines=[intake()])
    exact = forcegen.simulate(sc, runs=1, deterministic=True).to_xarray().stock_level
    drawn = forcegen.simulate(sc, runs=200, seed=11).to_xarray().stock_level
    end = drawn.isel(day=-1).astype(np.float64)
    se = end.std("run") / np.sqrt(end.sizes["run"])
    gap = abs(end.mean("run") - exact.isel(run=0, day=-1))
    assert (gap < 4 * se + 1e-9).all(), (gap.values, se.values)


def test_units_draw_from_the_stock_only_once_the_pool_is_spent():
    # A replacement pipeline fills the pool with 2 people a day; the units lose about
    # 6 a day while they serve, more than that, so the stock gives the rest.
    pool_pipe = {
        "id": "pool",
        "force": "blue",
        "intake": [{"from": "0d", "rate": 2}],
        "into": "replacements",
    }
    sc = build(**{**LINKED, "pipelines": [intake(rate=6.0), pool_pipe]})
    ds = forcegen.simulate(sc, runs=1, deterministic=True).to_xarray()
    replaced = ds.flows.sel(force="blue", flow="replaced").isel(run=0).values
    drawn = ds.stock_flows.sel(stock_flow="to_units", state="trained").isel(run=0).values
    pool = ds.stocks.sel(force="blue", stock="replacement_pool").isel(run=0).values
    # Days the pool starts empty and gets its 2, and the units need more: the stock gives
    # the rest, and the pool ends empty.
    days = (replaced > 2.5) & (np.concatenate([[1.0], pool[:-1]]) == 0.0)
    assert days.any()
    np.testing.assert_allclose(drawn[days], replaced[days] - 2.0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pool[days], 0.0, atol=1e-9)
    # The replacements the stock gave are those it lost.
    level = ds.stock_level.sel(state="trained").isel(run=0).values
    assert level.min() >= 0.0


def test_results_without_stocks_have_no_stock_variables():
    ds = forcegen.simulate(build(), runs=2, seed=1).to_xarray()
    assert "stock_level" not in ds and "state" not in ds.coords
    assert "stocks" not in forcegen.simulate(build(), runs=2, seed=1).summary()


def test_summary_and_per_run_report_stocks():
    sc = build(horizon="100d", stocks=CHAIN, pipelines=[intake()])
    res = forcegen.simulate(sc, runs=5, seed=2)
    per_run = res.per_run()
    for state in ("recruits", "trained", "veterans"):
        col = per_run[f"stock_end:{state}"].to_numpy()
        np.testing.assert_array_equal(
            col, res.to_xarray().stock_level.sel(state=state).isel(day=-1).values
        )
    (first, *_) = res.summary()["stocks"]
    assert first["id"] == "recruits" and first["force"] == "blue"
    assert first["start_mean"] == 300.0
    assert set(first["transitions_mean"]) == {"trained", "out"}
    assert set(first["flows_mean"]) == {"intake", "to_units", "from_units"}


def problems_of(**sections: object) -> list:
    with pytest.raises(ScenarioError) as info:
        build("bad.yaml", **sections)
    return info.value.problems


@pytest.mark.parametrize(
    ("stocks", "pipelines", "field", "words"),
    [
        (
            [{"id": "a", "force": "blue", "transitions": [{"to": "b", "hazard": 0.1}]}],
            [],
            "stocks[0].transitions[0].to",
            "expected the id of one of the stocks",
        ),
        (
            [{"id": "a", "force": "blue", "transitions": [{"to": "a", "hazard": 0.1}]}],
            [],
            "stocks[0].transitions[0].to",
            "leads to another state",
        ),
        (
            [{"id": "a", "force": "blue", "transitions": [{"to": "b", "hazard": -0.1}]},
             {"id": "b", "force": "blue"}],
            [],
            "stocks[0].transitions[0].hazard",
            "",
        ),
        (
            [{"id": "a", "force": "blue", "wastage": "-2%/mo"}],
            [],
            "stocks[0].wastage",
            "",
        ),
        (
            [{"id": "a", "force": "red"}],
            [],
            "stocks[0].force",
            "expected the id of one of the forces",
        ),
        (
            [{"id": "a", "force": "blue"}, {"id": "a", "force": "blue"}],
            [],
            "stocks[1].id",
            "duplicate id",
        ),
        (
            [{"id": "a", "force": "blue", "transitions": [{"to": "b", "hazard": 0.1},
                                                           {"to": "b", "hazard": 0.2}]},
             {"id": "b", "force": "blue"}],
            [],
            "stocks[0].transitions[1].to",
            "duplicate transition",
        ),
        (
            [{"id": "a", "force": "blue", "wastage": 0.6,
              "transitions": [{"to": "b", "hazard": 0.5}]},
             {"id": "b", "force": "blue"}],
            [],
            "stocks[0]",
            "add up to 1.1",
        ),
        (
            [{"id": "a", "force": "blue", "step": "year", "wastage": "60%/y",
              "transitions": [{"to": "b", "hazard": "50%/y"}]},
             {"id": "b", "force": "blue"}],
            [],
            "stocks[0]",
            "yearly probabilities",
        ),
        (
            [{"id": "a", "force": "blue", "step": "month"}],
            [],
            "stocks[0].step",
            "",
        ),
        (
            [{"id": "a", "force": "blue", "feeds_replacements": True},
             {"id": "b", "force": "blue", "feeds_replacements": True}],
            [],
            "stocks[1].feeds_replacements",
            "at most one stock",
        ),
        (
            [{"id": "a", "force": "blue", "takes_discharged": True},
             {"id": "b", "force": "blue", "takes_discharged": True}],
            [],
            "stocks[1].takes_discharged",
            "at most one stock",
        ),
        (
            [{"id": "a", "force": "blue"}],
            [{"id": "p", "force": "blue", "intake": [{"from": "0d", "rate": 1}], "into": "stock"}],
            "pipelines[0].stock",
            "missing 'stock'",
        ),
        (
            [{"id": "a", "force": "blue"}],
            [intake(stock="nowhere")],
            "pipelines[0].stock",
            "expected the id of one of the stocks",
        ),
        (
            [{"id": "a", "force": "blue"}],
            [{**intake(stock="a"), "into": "replacements"}],
            "pipelines[0].stock",
            "only to a pipeline 'into: stock'",
        ),
    ],
)  # fmt: skip
def test_bad_stocks_are_refused_where_they_are_written(stocks, pipelines, field, words):
    problems = problems_of(stocks=stocks, pipelines=pipelines)
    assert any(p.field == field and words in p.message for p in problems), problems
    assert all(p.line is not None for p in problems), problems


def test_a_transition_to_another_force_is_refused_on_its_line():
    sections = dict(
        forces=[{"id": "blue"}, {"id": "red"}],
        stocks=[
            {"id": "a", "force": "blue", "transitions": [{"to": "b", "hazard": 0.1}]},
            {"id": "b", "force": "red"},
        ],
    )
    (problem,) = problems_of(**sections)
    assert problem.field == "stocks[0].transitions[0].to"
    assert "stays within a force" in problem.message
    text = scenario_text(**sections)
    assert problem.line == line_of(text, "to: b")


def test_a_pipeline_feeds_a_stock_of_its_own_force():
    (problem,) = problems_of(
        forces=[{"id": "blue"}, {"id": "red"}],
        stocks=[{"id": "a", "force": "red"}],
        pipelines=[intake(stock="a")],
    )
    assert problem.field == "pipelines[0].stock" and "its own force" in problem.message


def test_a_results_folder_with_stocks_is_written_and_read_back(tmp_path):
    from forcegen.results_folder import read_folder, read_results, write_results

    sc = build(horizon="60d", stocks=CHAIN, pipelines=[intake()])
    res = forcegen.simulate(sc, runs=3, seed=4)
    path = tmp_path / "out"
    write_results(res.to_xarray(), res.summary(), path, res.per_run())
    ds = read_results(path)
    np.testing.assert_array_equal(ds.stock_level.values, res.to_xarray().stock_level.values)
    assert list(ds.transition_to.values) == [
        "trained",
        "out",
        "veterans",
        "recruits",
        "out",
        "out",
    ]
    assert read_folder(path) is not None


def test_the_memory_check_counts_the_records_of_stocks():
    from forcegen.compile import compile_plan, plan_sizes
    from forcegen.engine import Records
    from forcegen.sampling import sample_scenario

    sc = build(horizon="100d", stocks=CHAIN, pipelines=[intake()])
    sample = sample_scenario(sc, runs=1, seed=0, deterministic=True)
    sizes, plan = plan_sizes(sc, sample), compile_plan(sc, sample)
    assert (sizes.states, sizes.transitions) == (len(plan.states), len(plan.transitions)) == (3, 6)
    dims = (
        sizes.horizon,
        sizes.forces,
        sizes.locations,
        sizes.demands,
        sizes.positions,
        sizes.units,
        sizes.pipelines,
        sizes.reservoirs,
        sizes.unit_types,
        sizes.states,
        sizes.transitions,
    )
    without = Records.nbytes_of(10, *dims[:-2], keep_units=False)
    assert (
        Records.nbytes(plan, 10, keep_units=False)
        == Records.nbytes_of(10, *dims, keep_units=False)
        == without + 10 * 100 * (3 + 6 + 3 * 3) * 8
    )
