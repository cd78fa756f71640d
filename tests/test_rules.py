"""Rotation rules: per-unit deployed-to-dwell, longest deployment and rolling windows."""

from __future__ import annotations

import json

import pytest
from conftest import build, merge
from typer.testing import CliRunner

import forcegen
from forcegen.analysis import rotation_rules
from forcegen.cli import app
from forcegen.errors import UsageError


def sections(front="30d", home="60d") -> dict:
    """Two battalions on a cycle of ``front`` days deployed and ``home`` days at home."""
    return dict(
        name="rules",
        horizon="360d",
        policies=[
            {"id": "p", "positions": [
                {"name": "front", "location": "front", "duration": front, "deployed": True},
                {"name": "home", "location": "home", "duration": home},
            ]},
        ],
        units=merge([{"count": 2, "strength": 100}]),
        demands=None,
        rules={
            "max_deployment": "60d",
            "windows": [{"days": "90d", "max_deployed": "50d"}],
            "max_deployed_to_dwell": 1.0,
        },
    )  # fmt: skip


def run(front="30d", home="60d"):
    sc = build("r.yaml", **sections(front, home))
    return sc, forcegen.simulate(sc, deterministic=True, keep_units=True)


def test_figures_are_exact_on_a_fixed_cycle():
    sc, res = run(front="30d", home="60d")
    found = rotation_rules(res, sc.rules)
    # 30 days out of every 90 deployed: D:D 30/60 over whole cycles (360 days = 4 cycles).
    assert found.units["deployed_to_dwell"].tolist() == [0.5, 0.5]
    assert found.units["longest_deployment"].tolist() == [30, 30]
    assert found.units["most_deployed_in_90d"].tolist() == [30, 30]
    assert found.breaches.empty


def test_units_breaking_the_rules_are_listed():
    sc, res = run(front="80d", home="40d")
    found = rotation_rules(res, sc.rules)
    broken = {(row.unit, row.rule) for row in found.breaches.itertuples()}
    assert broken == {
        (u, rule)
        for u in ("b#0", "b#1")
        for rule in ("longest_deployment", "most_deployed_in_90d", "deployed_to_dwell")
    }
    worst = found.breaches.set_index(["unit", "rule"]).loc[("b#0", "longest_deployment"), "worst"]
    assert worst == 80
    assert (found.breaches["share_of_runs"] == 1.0).all()


def test_rules_need_unit_traces():
    sc = build("r.yaml", **sections(front="30d", home="60d"))
    with pytest.raises(UsageError, match="keep_units"):
        rotation_rules(forcegen.simulate(sc, deterministic=True), sc.rules)


def test_cli_rules(write_scenario):
    path = write_scenario("r.yaml", **sections(front="80d", home="40d"))
    runner = CliRunner()
    result = runner.invoke(app, ["rules", str(path), "--deterministic"])
    assert result.exit_code == 0 and "longest_deployment" in result.stdout
    assert "6 breach(es) over 2 units" in result.stderr
    data = json.loads(runner.invoke(app, ["rules", str(path), "--runs", "3", "-f", "json"]).stdout)
    assert len(data["units"]) == 2 and len(data["breaches"]) == 6
