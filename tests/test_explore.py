"""Explorations: factors of each source, designs, and experiments batched into one engine call
that give what plain simulations with the same values give (common random numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build, merge

from forcegen.analysis.explore import (
    Exploration,
    design,
    experiment_key,
    factors,
    run_experiments,
)
from forcegen.api import load, simulate
from forcegen.errors import UsageError
from forcegen.scenario.units import hazard_per_day

SCENARIOS = Path(__file__).parents[1] / "scenarios"

KILLED = {"pert": ["1%/mo", "2%/mo", "4%/mo"]}
SIZE = {"choose": "size", "default": "small", "options": {"small": 4, "large": 6}}


def explored(killed: object = None, strength: object = 500, count: object = SIZE):
    """A small scenario with a choice (the unit count), an uncertain killed hazard and an
    uncertain wounded hazard at the front, and a plain strength."""
    return build(
        horizon="90d",
        locations=[
            {
                "id": "front",
                "attrition": {
                    "killed": KILLED if killed is None else killed,
                    "wounded": {"triangular": ["2%/mo", "3%/mo", "6%/mo"]},
                    "return_share": 0.5,
                    "recovery": "30d",
                },
            },
            {"id": "home"},
        ],
        units=merge([{"count": count, "strength": strength}]),
    )


def test_factors_of_each_source_with_ranges_in_canonical_units() -> None:
    scenario = explored()
    got = factors(scenario, levers=["units[b].strength=400..600"], widen=0.2)
    by_name = {f.name: f for f in got}
    size = by_name["choice:size"]
    assert (size.kind, size.source, size.options) == ("choice", "choice", ("small", "large"))
    killed = by_name["locations[front].attrition.killed"]
    assert killed.source == "uncertain" and killed.measure == "probability per day"
    assert killed.low == pytest.approx(hazard_per_day("1%/mo"))
    assert killed.high == pytest.approx(hazard_per_day("4%/mo"))
    strength = by_name["units[b].strength"]
    assert (strength.source, strength.low, strength.high, strength.whole) == (
        "lever",
        400,
        600,
        True,
    )
    share = by_name["locations[front].attrition.return_share"]
    assert share.source == "assumption" and (share.low, share.high) == pytest.approx((0.4, 0.6))
    durations = by_name["policies[p].positions[front].duration"]
    assert (durations.low, durations.high, durations.whole) == (24, 36, True)
    assert "horizon" not in by_name  # a setting of the analysis, not an assumption
    # the central range lies within the support; "none" leaves uncertain values to sampling
    central = {f.name: f for f in factors(scenario, uncertain="central")}
    c = central["locations[front].attrition.killed"]
    assert killed.low < c.low < c.high < killed.high
    plain = factors(scenario, choices=(), uncertain="none")
    assert plain == ()


def test_factors_carry_claims_and_grades() -> None:
    scenario = load(SCENARIOS / "belarus-2023.yaml")
    got = {f.name: f for f in factors(scenario, uncertain="none")}
    choice = got["choice:ru-in-belarus"]
    assert choice.cites and len(choice.grades) == len(choice.cites) and all(choice.grades)


@pytest.mark.parametrize(
    ("lever", "says"),
    [
        ("units[b].strength", "PATH=LOW..HIGH"),
        ("units[x].strength=1..2", "'x'"),
        ("units[b].strength=600..400", "backwards"),
        ("units[b].strength=500..500", "empty"),
        ("units[b].count=2..3", "choice 'size'"),
        ("horizon=10d..20d", "setting of the analysis"),
        ("units[b].strength=lots..600", "lots"),
        ("units[b].current=20%..50%", "not a number scenario"),
    ],
)
def test_bad_levers_are_refused_with_clear_messages(lever: str, says: str) -> None:
    with pytest.raises(UsageError, match="lever") as e:
        factors(explored(), levers=[lever])
    assert says in str(e.value)


def test_other_bad_arguments_are_refused() -> None:
    with pytest.raises(UsageError, match="unknown choice 'nope'"):
        factors(explored(), choices=["nope"])
    with pytest.raises(UsageError, match="widen"):
        factors(explored(), widen=-0.1)
    with pytest.raises(UsageError, match="n must"):
        design(factors(explored()), n=0)


def test_design_crosses_the_choices_with_points_in_range_reproducibly() -> None:
    fs = factors(explored(), levers=["units[b].strength=400..600"])
    for method in ("lhs", "sobol"):
        d = design(fs, n=8, method=method, seed=3)
        assert list(d.columns) == ["experiment", *(f.name for f in fs)]
        assert len(d) == 2 * 8 and d["experiment"].tolist() == list(range(16))
        assert d["experiment"].dtype == np.int64
        assert d["choice:size"].tolist() == ["small"] * 8 + ["large"] * 8
        # the same points for every option of the choice
        rest = [f.name for f in fs if f.kind == "value"]
        assert d.iloc[:8][rest].to_numpy().tolist() == d.iloc[8:][rest].to_numpy().tolist()
        for f in fs[1:]:
            assert d[f.name].between(f.low, f.high).all()
        assert (d["units[b].strength"] % 1 == 0).all()
        pd.testing.assert_frame_equal(d, design(fs, n=8, method=method, seed=3))
        assert not d.equals(design(fs, n=8, method=method, seed=4))
    # LHS: one point in each of n strata of every factor
    d = design(fs[1:], n=10, seed=1)
    f = fs[1]
    strata = np.floor((d[f.name] - f.low) / (f.high - f.low) * 10)
    assert sorted(strata) == list(range(10))
    # choices only: one experiment per combination
    assert len(design(fs[:1], n=50)) == 2


def exploration(**kw):
    scenario = explored()
    fs = factors(
        scenario,
        uncertain="none",
        levers=["locations[front].attrition.killed=1%/mo..4%/mo", "units[b].strength=400..600"],
    )
    return Exploration(scenario, fs, runs=kw.get("runs", 6), seed=kw.get("seed", 5), choices={})


OUT = ["coverage:d", "days_fully_covered:d", "lost:blue:killed", "lost:blue:wounded"]


def test_an_experiment_equals_a_plain_simulation_with_its_values() -> None:
    ex = exploration()
    rows = design(ex.factors, n=3, seed=2)
    runs, summaries = run_experiments(ex, rows)
    assert len(runs) == len(rows) * ex.runs and len(summaries) == len(rows)
    assert list(runs.columns[:2]) == ["experiment", "run"]
    assert not any(c.startswith(("input:", "choice:")) for c in runs.columns)
    for _, row in rows.iloc[[0, 4]].iterrows():
        scenario = explored(
            killed=float(row["locations[front].attrition.killed"]),
            strength=int(row["units[b].strength"]),
        )
        plain = simulate(
            scenario, runs=ex.runs, seed=ex.seed, choices={"size": row["choice:size"]}
        ).per_run()
        mine = runs[runs["experiment"] == row["experiment"]]
        assert mine["run"].tolist() == list(range(ex.runs))
        for c in OUT:
            np.testing.assert_array_equal(mine[c].to_numpy(), plain[c].to_numpy(), err_msg=c)
        # the summary of the experiment is that of its runs
        s = summaries.set_index("experiment").loc[row["experiment"]]
        assert s["coverage:d:mean"] == pytest.approx(plain["coverage:d"].mean())
        assert s["lost:blue:killed:q50"] == pytest.approx(plain["lost:blue:killed"].median())
        days = plain["days_fully_covered:d"].to_numpy()
        assert s["p_full:d"] == pytest.approx(np.mean(days == 90))


def test_chunking_does_not_change_results_and_equal_experiments_run_alike() -> None:
    ex = exploration()
    rows = design(ex.factors, n=3, seed=2)
    whole, summaries = run_experiments(ex, rows)
    parts = [run_experiments(ex, rows.iloc[a : a + 2]) for a in range(0, len(rows), 2)]
    pd.testing.assert_frame_equal(
        pd.concat([p[0] for p in parts], ignore_index=True), whole, check_dtype=False
    )
    pd.testing.assert_frame_equal(
        pd.concat([p[1] for p in parts], ignore_index=True), summaries, check_dtype=False
    )
    # common random numbers: experiment 0 again, under another number, at another place
    again = pd.concat([rows.iloc[[3]], rows.iloc[[0]].assign(experiment=99)], ignore_index=True)
    runs, _ = run_experiments(ex, again)
    first = whole[whole["experiment"] == 0].drop(columns="experiment").reset_index(drop=True)
    twin = runs[runs["experiment"] == 99].drop(columns="experiment").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, twin)


def test_levers_that_change_plan_sizes_work() -> None:
    scenario = explored(count=4)
    fs = factors(scenario, uncertain="none", levers=["units[b].count=1..9"])
    ex = Exploration(scenario, fs, runs=3, seed=0, choices={})
    rows = pd.DataFrame({"experiment": [0, 1], "units[b].count": [1.0, 9.0]})
    runs, _ = run_experiments(ex, rows)
    for count, e in ((1, 0), (9, 1)):
        plain = simulate(explored(count=count), runs=3, seed=0).per_run()
        np.testing.assert_array_equal(
            runs.loc[runs["experiment"] == e, "people_end:blue"].to_numpy(),
            plain["people_end:blue"].to_numpy(),
        )


def test_fingerprint_and_keys_follow_the_content() -> None:
    a, b = exploration(), exploration()
    assert a.fingerprint() == b.fingerprint() and len(a.fingerprint()) == 64
    assert exploration(seed=6).fingerprint() != a.fingerprint()
    assert exploration(runs=7).fingerprint() != a.fingerprint()
    rows = design(a.factors, n=2)
    keys = [experiment_key(a, r) for _, r in rows.iterrows()]
    assert len(set(keys)) == len(keys)
    assert experiment_key(b, rows.iloc[0].copy()) == keys[0]
    assert experiment_key(a, rows.iloc[0].drop("experiment")) == keys[0]


def test_a_pinned_choice_that_is_also_a_factor_is_refused() -> None:
    ex = exploration()
    pinned = Exploration(ex.scenario, ex.factors, runs=2, seed=0, choices={"size": "large"})
    with pytest.raises(UsageError, match="cannot also be pinned"):
        run_experiments(pinned, design(ex.factors, n=1))


def test_runs_with_the_same_id_draw_the_same_numbers() -> None:
    scenario = explored()
    plain = simulate(scenario, runs=2, seed=3).per_run()
    same = simulate(scenario, runs=2, seed=3, run_ids=[0, 1]).per_run()
    pd.testing.assert_frame_equal(plain, same)
    from forcegen.sampling import sample_scenario

    base = sample_scenario(scenario, runs=2, seed=3, deterministic=False)
    twice = type(base)(size=4, values={k: np.tile(v, 2) for k, v in base.values.items()}, picks={})
    got = simulate(scenario, seed=3, sample=twice, run_ids=[0, 1, 0, 1]).per_run()
    for c in OUT:
        np.testing.assert_array_equal(got[c].to_numpy(), np.tile(plain[c].to_numpy(), 2))
    with pytest.raises(UsageError, match="run_ids"):
        simulate(scenario, runs=2, run_ids=[0])
