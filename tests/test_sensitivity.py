"""Sensitivity: indices on outputs with known structure, and the trace to claims."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import build, merge
from typer.testing import CliRunner

from forcegen.analysis import sensitivity
from forcegen.analysis.sensitivity import describe
from forcegen.cli import app
from forcegen.errors import UsageError

CLAIM_Z = {"id": "Z", "source": {"publication": "Q"}, "attribution": "anonymous",
           "paraphrase": "z", "grade": "F3"}  # fmt: skip


FRONT = {"uniform": [0.0005, 0.002], "cites": ["Z"]}
NOWHERE = {"uniform": [0.001, 0.01]}


def sections(
    front=FRONT,
    nowhere=NOWHERE,
    **changes,
) -> dict:
    """Blue rotates to a front whose hazard cites Z; nobody ever goes 'nowhere'."""
    return {
        **dict(
            name="sens",
            horizon="90d",
            claims=[CLAIM_Z],
            locations=[
                {"id": "front", "attrition": {"killed": front}},
                {"id": "nowhere", "attrition": {"killed": nowhere}},
                {"id": "home"},
            ],
            demands=merge([{"people": 900}]),
        ),
        **changes,
    }


def scenario(**changes):
    return build("<string>", **sections(**changes))


def test_an_output_that_depends_on_one_input_only():
    # Losses depend on the front hazard alone: nobody is ever at 'nowhere'.
    found = sensitivity(scenario(), output="lost:blue:killed", n=256, seed=1)
    table = found.table
    assert table.index[0] == "locations[front].attrition.killed"
    assert table.loc["locations[front].attrition.killed", "S1"] == pytest.approx(1.0, abs=0.1)
    assert table.loc["locations[front].attrition.killed", "ST"] == pytest.approx(1.0, abs=0.1)
    assert abs(table.loc["locations[nowhere].attrition.killed", "S1"]) < 0.02
    assert abs(table.loc["locations[nowhere].attrition.killed", "ST"]) < 0.02
    # Traced to claims: the driver cites Z (F3), the other is an assumption.
    assert table.loc["locations[front].attrition.killed", "claims"] == "Z"
    assert table.loc["locations[front].attrition.killed", "grades"] == "F3"
    assert table.loc["locations[nowhere].attrition.killed", "claims"] == "assumption (uncited)"
    assert "depends most on locations[front].attrition.killed" in describe(found)
    assert "grade F3" in describe(found)


def test_morris_ranks_the_driver_first():
    found = sensitivity(scenario(), output="lost:blue:killed", method="morris", n=16)
    assert found.table.index[0] == "locations[front].attrition.killed"
    assert found.table.loc["locations[nowhere].attrition.killed", "mu_star"] == 0


def test_bad_requests():
    sc = scenario()
    with pytest.raises(UsageError, match="unknown output"):
        sensitivity(sc, output="nope", n=8)
    with pytest.raises(UsageError, match="sobol' or 'morris"):
        sensitivity(sc, output="lost:blue:killed", method="fast", n=8)
    plain = scenario(front=0.001, nowhere=0.001)
    with pytest.raises(UsageError, match="needs uncertain values"):
        sensitivity(plain, output="lost:blue:killed", n=8)


def test_cli_sensitivity(write_scenario):
    path = write_scenario("s.yaml", **sections())
    runner = CliRunner()
    result = runner.invoke(
        app, ["sensitivity", str(path), "--output", "lost:blue:killed", "--n", "32", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"][0]["input"] == "locations[front].attrition.killed"
    bad = runner.invoke(app, ["sensitivity", str(path), "--output", "x", "--n", "8"])
    assert bad.exit_code == 2 and "unknown output" in bad.stderr


def test_indices_are_those_computed_before_sensitivity_used_the_api():
    # Pinned from the version that compiled and ran the plan itself (before issue 12):
    # going through forcegen.simulate(sample=...) must not change a single bit.
    sc = scenario(horizon="60d", uncertainty={"widen_by_grade": True})
    sobol = sensitivity(sc, output="lost:blue:killed", n=8, seed=3)
    assert sobol.runs == 32
    assert list(
        sobol.table.loc["locations[front].attrition.killed", ["S1", "S1_conf", "ST", "ST_conf"]]
    ) == [0.7225801337474276, 0.842280874022158, 0.554636964460717, 0.5924477954133164]
    assert list(sobol.table.loc["locations[nowhere].attrition.killed", ["S1", "ST"]]) == [0.0, 0.0]
    morris = sensitivity(sc, output="lost:blue:killed", method="morris", n=4, seed=3)
    assert morris.runs == 12
    assert list(
        morris.table.loc["locations[front].attrition.killed", ["mu_star", "mu_star_conf", "sigma"]]
    ) == [120.54610532999044, 0.0, 0.0]


def test_simulate_takes_a_prepared_sample():
    from forcegen import simulate
    from forcegen.sampling import sample_at

    sc = scenario()
    front = sc.locations[0].attrition.killed
    sample = sample_at(sc, [front], np.array([[0.1], [0.5], [0.9]]))
    res = simulate(sc, deterministic=True, sample=sample)
    table = res.per_run()
    assert len(table) == 3
    killed = table["lost:blue:killed"].to_numpy()
    assert killed[0] < killed[1] < killed[2]
    with pytest.raises(UsageError, match="must equal the size of the sample"):
        simulate(sc, runs=5, sample=sample)
    with pytest.raises(UsageError, match="lhs applies to sampling"):
        simulate(sc, lhs=True, sample=sample)
