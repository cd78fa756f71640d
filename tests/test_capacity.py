"""Units deployed per unit type (a daily record of every run) and ``forcegen capacity``.

The daily record is held to the textbook rotation: ``N`` units staggered evenly over a
cycle of ``B`` days deployed and ``D`` days of dwell keep ``N * B / (B + D)`` deployed,
exactly on every day when ``N`` divides the cycle and the quotient is whole.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import build
from typer.testing import CliRunner

import forcegen
from forcegen.analysis.capacity import Share, capacity, deployed_share, periods_of, whole_units
from forcegen.cli import app
from forcegen.errors import UsageError
from forcegen.results_folder import read_folder
from forcegen.scenario.model import Position


def two_types(horizon: str = "360d") -> dict:
    """Battalions (6 on 30 days deployed, 60 at home) and companies (4 on 10 and 30), of two
    forces, so that counts by type and by force differ."""
    return dict(
        horizon=horizon,
        forces=[{"id": "blue"}, {"id": "red"}],
        unit_types=[{"id": "bn"}, {"id": "co"}],
        policies=[
            {"id": "long", "positions": [
                {"name": "front", "location": "front", "duration": "30d", "deployed": True},
                {"name": "home", "location": "home", "duration": "60d"},
            ]},
            {"id": "short", "positions": [
                {"name": "front", "location": "front", "duration": "10d", "deployed": True},
                {"name": "home", "location": "home", "duration": "30d"},
            ]},
        ],
        units=[
            {"id": "b1", "force": "blue", "type": "bn", "count": 3, "strength": 500,
             "policy": "long"},
            {"id": "b2", "force": "red", "type": "bn", "count": 3, "strength": 500,
             "policy": "long"},
            {"id": "c", "force": "blue", "type": "co", "count": 4, "strength": 100,
             "policy": "short"},
        ],
    )  # fmt: skip


def test_units_deployed_by_type_is_the_textbook_rotation_each_day():
    # bn: b1's three units start 0, 30 and 60 days into the 90-day cycle, and so do b2's:
    # 3 * 30 / 90 = 1 of each group deployed every day, 2 of the type.
    # co: four units 10 days apart on a 40-day cycle: 4 * 10 / 40 = 1 every day.
    ds = forcegen.simulate(build(**two_types()), deterministic=True).to_xarray()
    by_type = ds.units_deployed_by_type
    assert by_type.dims == ("run", "day", "type")
    assert list(ds.type.values) == ["bn", "co"]
    assert (by_type.sel(type="bn").values == 2).all()
    assert (by_type.sel(type="co").values == 1).all()
    # The same units as the count by force.
    assert np.array_equal(by_type.sum("type").values, ds.units_deployed.sum("force").values)


def test_units_deployed_by_type_sums_to_the_count_by_force_in_stochastic_runs():
    sections = two_types("120d")
    sections["demands"] = [
        {"id": "d", "location": "front", "units": 2, "fill": {"forces": ["blue", "red"]}}
    ]
    results = forcegen.simulate(build(**sections), runs=5, seed=4)
    ds = results.to_xarray()
    assert np.array_equal(ds.units_deployed_by_type.sum("type").values,
                          ds.units_deployed.sum("force").values)  # fmt: skip
    summary = results.summary()
    rows = {row["id"]: row for row in summary["unit_types"]}
    assert set(rows) == {"bn", "co"}
    bn = ds.units_deployed_by_type.sel(type="bn")
    assert rows["bn"]["units_deployed_mean"] == round(float(bn.mean()), 6)
    assert rows["bn"]["units_deployed_max"] == int(bn.max())
    assert len(rows["bn"]["units_deployed_q"]) == len(summary["run"]["quantiles"])


# -- forcegen capacity: the static table ------------------------------------------------------


def cycle(name: str, deployed: int, home: int, **extra) -> dict:
    return {"id": name, "positions": [
        {"name": "front", "location": "front", "duration": f"{deployed}d", "deployed": True},
        {"name": "home", "location": "home", "duration": f"{home}d"},
    ], **extra}  # fmt: skip


def table(period: str = "90d", **sections):
    return capacity(build(**sections), period)


def rows_of(found, unit_type: str) -> list[dict]:
    return [r for r in found.summary()["rows"] if r["unit_type"] == unit_type]


def test_whole_units_round_half_to_even():
    assert [whole_units(x) for x in (0.5, 1.5, 2.5, 3.5, 2.4, 2.6)] == [0, 2, 2, 4, 2, 3]
    # A sum of shares that misses a half by a rounding counts as the half.
    assert whole_units(2.5 - 1e-12) == 2
    assert whole_units(3.5 - 1e-12) == 4


def test_capacity_is_the_hand_computation_with_ties_at_a_half():
    # bn: 5 units, 30 days of 60 deployed: 2.5 units (shown 2); against 2 units required.
    # co: 7 units on the same cycle: 3.5 (shown 4); against 1000 people of 300-strong
    # companies, ceil(1000 / 300) = 4 units: fill 3.5 / 4.
    found = table(
        horizon="360d",
        unit_types=[{"id": "bn"}, {"id": "co"}],
        policies=[cycle("p", 30, 30)],
        units=[
            {"id": "b", "force": "blue", "type": "bn", "count": 5, "strength": 500, "policy": "p"},
            {"id": "c", "force": "blue", "type": "co", "count": 7, "strength": 300, "policy": "p"},
        ],
        demands=[
            {"id": "d1", "location": "front", "units": 2,
             "fill": {"forces": ["blue"], "unit_types": ["bn"]}},
            {"id": "d2", "location": "front", "people": 1000,
             "fill": {"forces": ["blue"], "unit_types": ["co", "bn"]}},
        ],
    )  # fmt: skip
    bn, co, every = rows_of(found, "bn"), rows_of(found, "co"), rows_of(found, "*")
    assert [r["period"] for r in bn] == [
        "2023-01-01..2023-03-31", "2023-04-01..2023-06-29",
        "2023-06-30..2023-09-27", "2023-09-28..2023-12-26",
    ]  # fmt: skip
    for r in bn:
        assert (r["units"], r["capacity"], r["capacity_units"]) == (5, 2.5, 2)
        assert (r["peak_demand"], r["fill"]) == (2.0, 1.25)
    for r in co:
        assert (r["units"], r["capacity"], r["capacity_units"]) == (7, 3.5, 4)
        assert (r["peak_demand"], r["fill"]) == (4.0, 0.875)
    for r in every:  # 6 units, against 2 + 4
        assert (r["units"], r["capacity"], r["capacity_units"], r["peak_demand"]) == (12, 6, 6, 6)
    assert found.unattributed == []
    (share,) = found.summary()["policies"]
    assert share == {"policy": "p", "start": None, "deployed_days": 30.0, "cycle_days": 60.0,
                     "share": 0.5, "kind": "cycle"}  # fmt: skip


def test_peak_demand_is_the_most_required_on_one_day_of_the_period():
    # 3 units on days 100-129 and 2 on days 120-179: 5 on days 120-129, in the second
    # period only; the first period requires nothing (no fill ratio).
    found = table(
        horizon="180d",
        units=[{"id": "b", "force": "blue", "type": "bn", "count": 9, "strength": 500,
                "policy": "p"}],
        demands=[
            {"id": "a", "location": "front", "units": 3, "start": "100d", "duration": "30d",
             "fill": {"forces": ["blue"]}},
            {"id": "b", "location": "front", "units": 2, "start": "120d",
             "fill": {"forces": ["blue"]}},
        ],
    )  # fmt: skip
    first, second = rows_of(found, "bn")
    assert (first["peak_demand"], first["fill"]) == (0.0, None)
    assert (second["capacity"], second["peak_demand"], second["fill"]) == (4.5, 5.0, 0.9)
    assert rows_of(found, "*") == []  # one unit type: no rows of every type


def test_a_ready_position_counts_as_pulled_as_soon_as_min_dwell_allows():
    # Ready at home, pulled to 60 days at the front, then 30 days of recovery. Without a
    # least dwell the cycle is 60 + 30 days; with min_dwell 90 days the unit waits 60 more
    # days ready (90 less the 30 since it left the front): 60 of 150 days deployed.
    def ready_policy(**extra) -> dict:
        return {"id": "p", "positions": [
            {"name": "ready", "location": "home", "ready": True, "pull_to": "front"},
            {"name": "front", "location": "front", "duration": "60d", "deployed": True,
             "next": "recover"},
            {"name": "recover", "location": "home", "duration": "30d", "next": "ready"},
        ], **extra}  # fmt: skip

    at_once = table(policies=[ready_policy()], horizon="90d")
    (share,) = at_once.summary()["policies"]
    assert (share["deployed_days"], share["cycle_days"], share["kind"]) == (60, 90, "ready")
    assert rows_of(at_once, "bn")[0]["capacity"] == round(4 * 60 / 90, 6)
    waiting = table(policies=[ready_policy(min_dwell="90d")], horizon="90d")
    (share,) = waiting.summary()["policies"]
    assert (share["deployed_days"], share["cycle_days"], share["share"]) == (60, 150, 0.4)
    assert rows_of(waiting, "bn")[0]["capacity"] == 1.6


def test_overlap_terminal_and_held_positions():
    def share(*positions: dict) -> Share:
        return deployed_share(tuple(Position.model_validate(p) for p in positions))

    # Overlap days are deployed but fill nothing: 30 of 100 days.
    found = share(
        {"name": "front", "location": "front", "duration": "30d", "deployed": True},
        {"name": "handover", "location": "front", "duration": "10d", "deployed": True,
         "overlap": True},
        {"name": "home", "location": "home", "duration": "60d", "next": "front"},
    )  # fmt: skip
    assert (found.deployed_days, found.cycle_days, found.kind) == (30, 100, "cycle")
    # A term that ends in discharge keeps nobody deployed; a unit held deployed for good
    # keeps one.
    ends = share(
        {"name": "front", "location": "front", "duration": "30d", "deployed": True},
        {"name": "out", "location": "home", "terminal": True},
    )
    assert (ends.kind, ends.share) == ("ends", 0.0)
    held = share(
        {"name": "train", "location": "home", "duration": "30d"},
        {"name": "front", "location": "front", "deployed": True},
    )
    assert (held.kind, held.share) == ("held", 1.0)


def test_a_change_mid_period_counts_from_its_day():
    # 6 units, a third deployed (2 units) until day 45, then two thirds (4 units): the
    # first 90 days keep 2 * 45/90 + 4 * 45/90 = 3 on average, the next 90 keep 4.
    found = table(
        horizon="180d",
        policies=[cycle("steady", 30, 60), cycle("surge", 60, 30)],
        units=[{"id": "b", "force": "blue", "type": "bn", "count": 6, "strength": 500,
                "policy": "steady"}],
        changes=[{"at": "45d", "units": ["b"], "policy": "surge"}],
        demands=[{"id": "d", "location": "front", "units": 4, "fill": {"forces": ["blue"]}}],
    )  # fmt: skip
    first, second = rows_of(found, "bn")
    assert (first["capacity"], first["capacity_units"], first["fill"]) == (3.0, 3, 0.75)
    assert (second["capacity"], second["capacity_units"], second["fill"]) == (4.0, 4, 1.0)
    shares = {p["policy"]: p["share"] for p in found.summary()["policies"]}
    assert shares == {"steady": round(1 / 3, 6), "surge": round(2 / 3, 6)}


def test_calendar_periods():
    # From 15 February: 14 days of February and 31 of March, then April to June (91 days).
    spans = periods_of("quarter", dt.date(2023, 2, 15), 200)
    assert [(p.label, p.first, p.stop) for p in spans] == [
        ("2023-Q1", 0, 45), ("2023-Q2", 45, 136), ("2023-Q3", 136, 200)
    ]  # fmt: skip
    assert [p.label for p in periods_of("month", dt.date(2023, 1, 1), 60)] == [
        "2023-01", "2023-02", "2023-03"
    ]  # fmt: skip
    assert [(p.first, p.stop) for p in periods_of("30d", dt.date(2023, 1, 1), 70)] == [
        (0, 30), (30, 60), (60, 70)
    ]  # fmt: skip
    with pytest.raises(UsageError, match="--period 'week'"):
        periods_of("week", dt.date(2023, 1, 1), 70)


def test_a_demand_open_to_every_type_counts_only_under_every_type():
    found = table(
        unit_types=[{"id": "bn"}, {"id": "co"}],
        units=[
            {"id": "b", "force": "blue", "type": "bn", "count": 4, "strength": 500, "policy": "p"},
            {"id": "c", "force": "blue", "type": "co", "count": 4, "strength": 500, "policy": "p"},
        ],
        demands=[{"id": "d", "location": "front", "people": 1200, "fill": {"forces": ["blue"]}}],
    )  # fmt: skip
    assert found.unattributed == ["d"]
    assert rows_of(found, "bn")[0]["peak_demand"] == 0.0
    assert rows_of(found, "*")[0]["peak_demand"] == 3.0  # ceil(1200 / 500)
    assert rows_of(found, "*")[0]["capacity"] == 4.0


def test_capacity_command_writes_capacity_json(write_scenario, tmp_path):
    path = write_scenario()
    out = tmp_path / "folder"
    result = CliRunner().invoke(
        app, ["capacity", str(path), "--period", "30d", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "forcegen-capacity"
    assert json.loads((out / "capacity.json").read_text()) == data
    assert read_folder(out).capacity is not None
    assert data["rows"][0]["capacity"] == 2.0  # 4 units, 30 of 60 days deployed
    bad = CliRunner().invoke(app, ["capacity", str(path), "--period", "fortnight"])
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output


def test_report_shows_the_capacity_table_and_chart(write_scenario, tmp_path):
    from forcegen.report.charts import capacity_chart
    from forcegen.report.page import charts_of, render

    out = tmp_path / "folder"
    path = write_scenario()
    result = CliRunner().invoke(app, ["capacity", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    folder = read_folder(out)
    (chart,) = capacity_chart(folder.capacity)
    (panel,) = chart.panels
    assert panel.categories == ("2023-Q1",)
    assert [s.label for s in panel.series] == ["capacity (units kept deployed)",
                                               "peak demand (units)"]  # fmt: skip
    assert len(chart.plotly()) == 1  # the page's backend; the PNG's below
    charts, _ = charts_of(folder)
    assert [c.name for c in charts] == ["capacity"]
    html = render(folder, [(c, c.png()) for c in charts], [])
    assert 'id="capacity-table"' in html and "2023-Q1" in html
