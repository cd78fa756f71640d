"""Sensitivity: indices on outputs with known structure, and the trace to claims."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from forcegen.analysis import sensitivity
from forcegen.analysis.sensitivity import describe
from forcegen.cli import app
from forcegen.errors import UsageError
from forcegen.scenario.loader import loads

TEXT = """\
forcegen: 1
name: sens
start: 2023-01-01
horizon: 90d
claims:
  - {id: Z, source: {publication: Q}, attribution: anonymous, paraphrase: z, grade: F3}
forces: [{id: blue}]
unit_types: [{id: bn}]
locations:
  - {id: front, attrition: {killed: {uniform: [0.0005, 0.002], cites: [Z]}}}
  - {id: nowhere, attrition: {killed: {uniform: [0.001, 0.01]}}}
  - {id: home}
policies:
  - id: p
    positions:
      - {name: front, location: front, duration: 30d, deployed: true}
      - {name: home, location: home, duration: 30d}
units:
  - {id: b, force: blue, type: bn, count: 4, strength: 500, policy: p}
demands:
  - {id: d, location: front, people: 900, fill: {forces: [blue]}}
"""


def test_an_output_that_depends_on_one_input_only():
    # Losses depend on the front hazard alone: nobody is ever at 'nowhere'.
    found = sensitivity(loads(TEXT), output="lost:blue:killed", n=256, seed=1)
    table = found.table
    assert table.index[0] == "locations[0].attrition.killed"
    assert table.loc["locations[0].attrition.killed", "S1"] == pytest.approx(1.0, abs=0.1)
    assert table.loc["locations[0].attrition.killed", "ST"] == pytest.approx(1.0, abs=0.1)
    assert abs(table.loc["locations[1].attrition.killed", "S1"]) < 0.02
    assert abs(table.loc["locations[1].attrition.killed", "ST"]) < 0.02
    # Traced to claims: the driver cites Z (F3), the other is an assumption.
    assert table.loc["locations[0].attrition.killed", "claims"] == "Z"
    assert table.loc["locations[0].attrition.killed", "grades"] == "F3"
    assert table.loc["locations[1].attrition.killed", "claims"] == "assumption (uncited)"
    assert "depends most on locations[0].attrition.killed" in describe(found)
    assert "grade F3" in describe(found)


def test_morris_ranks_the_driver_first():
    found = sensitivity(loads(TEXT), output="lost:blue:killed", method="morris", n=16)
    assert found.table.index[0] == "locations[0].attrition.killed"
    assert found.table.loc["locations[1].attrition.killed", "mu_star"] == 0


def test_bad_requests():
    sc = loads(TEXT)
    with pytest.raises(UsageError, match="unknown output"):
        sensitivity(sc, output="nope", n=8)
    with pytest.raises(UsageError, match="sobol' or 'morris"):
        sensitivity(sc, output="lost:blue:killed", method="fast", n=8)
    plain = loads(
        TEXT.replace("{uniform: [0.0005, 0.002], cites: [Z]}", "0.001").replace(
            "{uniform: [0.001, 0.01]}", "0.001"
        )
    )
    with pytest.raises(UsageError, match="needs uncertain values"):
        sensitivity(plain, output="lost:blue:killed", n=8)


def test_cli_sensitivity(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(TEXT)
    runner = CliRunner()
    result = runner.invoke(
        app, ["sensitivity", str(path), "--output", "lost:blue:killed", "--n", "32", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"][0]["input"] == "locations[0].attrition.killed"
    bad = runner.invoke(app, ["sensitivity", str(path), "--output", "x", "--n", "8"])
    assert bad.exit_code == 2 and "unknown output" in bad.stderr
