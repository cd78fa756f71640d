"""Compare: paired runs with common random numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import build
from typer.testing import CliRunner

from forcegen.analysis import compare
from forcegen.cli import app
from forcegen.errors import UsageError


def sections(name: str = "base", count: int = 4) -> dict:
    """Blue and red rotate at a front with attrition; blue has ``count`` battalions."""
    return dict(
        name=name,
        horizon="90d",
        forces=[{"id": "blue"}, {"id": "red"}],
        locations=[
            {"id": "front", "attrition": {"killed": "1%/mo", "wounded": "3%/mo"}},
            {"id": "home"},
        ],
        units=[
            {
                "id": "b",
                "force": "blue",
                "type": "bn",
                "count": count,
                "strength": 500,
                "policy": "p",
            },
            {"id": "r", "force": "red", "type": "bn", "count": 2, "strength": 400, "policy": "p"},
        ],
        demands=[{"id": "d", "location": "front", "units": 3, "fill": {"forces": ["blue", "red"]}}],
    )


def scenario(name: str = "base", count: int = 4):
    return build(f"{name}.yaml", **sections(name, count))


def test_a_scenario_compared_with_itself_differs_by_exactly_zero():
    result = compare([scenario(), scenario("same")], runs=20, seed=3)
    assert (result.table["difference_mean"] == 0).all()
    assert (result.table.filter(like="difference_q") == 0).all().all()
    assert (result.table["share_of_runs_higher"] == 0).all()


def test_a_known_change_gives_the_known_difference_in_deterministic_mode():
    # Evenly staggered on a 30/30 cycle, 2 blue battalions keep 1 at the front and 4 keep 2;
    # red's 2 keep 1. A demand of 3 units is thus 2/3 covered every day, then fully.
    result = compare([scenario(count=2), scenario("more", count=4)], deterministic=True)
    rows = result.table.loc["more"]
    assert rows.loc["coverage:d", "baseline_mean"] == pytest.approx(2 / 3)
    assert rows.loc["coverage:d", "variant_mean"] == pytest.approx(1.0)
    assert rows.loc["coverage:d", "difference_mean"] == pytest.approx(1 / 3)
    assert rows.loc["days_fully_covered:d", "difference_mean"] == 90
    assert rows.loc["lost:red:killed", "difference_mean"] == 0.0


def test_common_random_numbers_leave_unchanged_units_identical():
    result = compare([scenario(), scenario("more", count=6)], runs=30, seed=1)
    rows = result.table.loc["more"]
    # Red's units are the same in both: their draws are shared, so their losses are equal
    # in every run, not merely on average.
    for cause in ("killed", "wounded"):
        assert rows.loc[f"lost:red:{cause}", "difference_q5"] == 0
        assert rows.loc[f"lost:red:{cause}", "difference_q95"] == 0
    a, b = (r.to_xarray() for r in result.results)
    assert np.array_equal(a.losses.sel(force="red").values, b.losses.sel(force="red").values)
    # Blue's first four battalions keep their draws too: losses grow by exactly the extra two.
    assert float(rows.loc["lost:blue:killed", "difference_q5"]) >= 0


def test_compare_needs_two_scenarios():
    with pytest.raises(UsageError, match="baseline and at least one variant"):
        compare([scenario()])


def test_cli_compare(write_scenario):
    a = write_scenario("a.yaml", **sections("a", 4))
    b = write_scenario("b.yaml", **sections("b", 6))
    runner = CliRunner()
    result = runner.invoke(app, ["compare", str(a), str(b), "--runs", "10", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "forcegen-comparison" and data["variants"] == ["b"]
    assert {row["figure"] for row in data["rows"]} >= {"coverage:d", "lost:blue:killed"}
    table = runner.invoke(app, ["compare", str(a), str(b), "--runs", "5"])
    assert table.exit_code == 0 and "b minus a" in table.stdout
    one = runner.invoke(app, ["compare", str(a)])
    assert one.exit_code == 2 and "at least one variant" in one.stderr
