"""Requirements: bracketing and bisection against closed forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import forcegen
from forcegen.analysis import require
from forcegen.analysis.require import with_value
from forcegen.cli import app
from forcegen.errors import UsageError

TEXTBOOK = "scenarios/textbook-fixed-rotation.yaml"
READY = "scenarios/demand-driven-ready-pool.yaml"


@pytest.mark.parametrize("demand_units", [1, 3, 5])
def test_units_needed_equal_the_closed_form(demand_units, tmp_path):
    # A 30/30/30 cycle keeps a third of its units at the front: a demand of k units needs
    # k * 90 / 30 = 3k units, evenly staggered.
    text = Path(TEXTBOOK).read_text().replace("units: 3", f"units: {demand_units}")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    found = require(
        forcegen.load(path),
        field_path="units[0].count",
        demand="front-line",
        probability=1.0,
        low=1,
        high=60,
        deterministic=True,
    )
    assert found.met and found.value == 3 * demand_units
    tried = {e["value"]: e["share_of_runs_meeting_target"] for e in found.evaluations}
    assert tried[found.value] == 1.0
    assert tried.get(found.value - 1, 0.0) < 1.0  # one fewer is not enough, when tried


def test_ready_pool_needs_the_closed_form_rounded_up():
    # Each battalion serves 110 of every 210 days: two slots need 2 * 210 / 110 = 3.8 -> 4.
    found = require(
        forcegen.load(READY),
        field_path="units[0].count",
        demand="front-line",
        probability=1.0,
        low=1,
        high=12,
        deterministic=True,
    )
    assert found.value == 4


def test_largest_hazard_that_still_meets_a_target(tmp_path):
    text = (
        Path(TEXTBOOK)
        .read_text()
        .replace("  - {id: front}", "  - {id: front, attrition: {killed: 0.001}}")
        .replace("units: 3", "people: 1400")
    )
    path = tmp_path / "t.yaml"
    path.write_text(text)
    sc = forcegen.load(path)
    found = require(
        sc,
        field_path="locations[0].attrition.killed",
        demand="front-line",
        days=0.5,
        probability=1.0,
        low=0.0,
        high=0.01,
        direction="most",
        deterministic=True,
        tolerance=1e-5,
    )
    assert found.met
    at = forcegen.simulate(
        with_value(sc, "locations[0].attrition.killed", found.value), deterministic=True
    )
    above = forcegen.simulate(
        with_value(sc, "locations[0].attrition.killed", found.value + 2e-5), deterministic=True
    )
    share = lambda r: float(r.fully_covered().sel(demand="front-line").mean())  # noqa: E731
    assert share(at) >= 0.5 > share(above)


def test_unreachable_target_says_so():
    found = require(
        forcegen.load(TEXTBOOK),
        field_path="units[0].count",
        demand="front-line",
        probability=1.0,
        low=1,
        high=5,
        deterministic=True,
    )
    assert found.value is None and not found.met


def test_bad_requests_are_refused():
    sc = forcegen.load(TEXTBOOK)
    with pytest.raises(UsageError, match="not a number written"):
        require(sc, field_path="units[3].count", demand="front-line", low=1, high=2)
    with pytest.raises(UsageError, match="unknown demand"):
        require(sc, field_path="units[0].count", demand="nope", low=1, high=2)
    with pytest.raises(UsageError, match="low < high"):
        require(sc, field_path="units[0].count", demand="front-line", low=5, high=2)


def test_cli_require():
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "require",
            TEXTBOOK,
            "--vary",
            "units[0].count",
            "--demand",
            "front-line",
            "--low",
            "1",
            "--high",
            "40",
            "--deterministic",
        ],
    )
    assert result.exit_code == 0 and ": 9 units (" in result.stdout
    bad = runner.invoke(
        app,
        [
            "require",
            TEXTBOOK,
            "--vary",
            "units[0]",
            "--demand",
            "front-line",
            "--low",
            "1",
            "--high",
            "4",
        ],
    )
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr


def test_a_value_beyond_the_fields_limit_is_refused_in_words():
    # The field's own message, not pydantic's dump of the whole input.
    with pytest.raises(UsageError) as info:
        with_value(forcegen.load(TEXTBOOK), "horizon", 1e12)
    message = str(info.value)
    assert message.startswith("horizon = 1e+12 is not accepted: expected a duration")
    assert "at most 36,500 days" in message
    assert "input_value" not in message and "validation error" not in message


def test_by_id_with_units_is_by_index_with_canonical_values(tmp_path):
    from forcegen.scenario.quantities import Hazard, read_value

    text = (
        Path(TEXTBOOK)
        .read_text()
        .replace("  - {id: front}", "  - {id: front, attrition: {killed: 0.001}}")
        .replace("units: 3", "people: 1400")
    )
    path = tmp_path / "t.yaml"
    path.write_text(text)
    sc = forcegen.load(path)
    common = dict(
        demand="front-line", days=0.5, probability=1.0, direction="most", deterministic=True
    )
    by_index = require(
        sc,
        field_path="locations[0].attrition.killed",
        low=0.0,
        high=read_value(Hazard(), "26%/mo"),
        **common,
    )
    by_id = require(
        sc, field_path="locations[front].attrition.killed", low="0", high="26%/mo", **common
    )
    by_range = require(
        sc, field_path="locations[front].attrition.killed", span="0%/mo..26%/mo", **common
    )
    assert by_index.met and by_index.value is not None
    assert by_id.value == by_index.value == by_range.value
    assert by_id.evaluations == by_index.evaluations == by_range.evaluations
    assert by_id.field == by_index.field == "locations[front].attrition.killed"
    assert by_id.summary()["field"] == "locations[front].attrition.killed"
    assert by_id.measure == "probability per day"


def test_require_by_id_on_the_command_line():
    runner = CliRunner()
    args = ["require", TEXTBOOK, "--vary", "units[blue-bn].count", "--demand", "front-line"]
    ok = runner.invoke(app, [*args, "--range", "1..40", "--deterministic"])
    assert ok.exit_code == 0, ok.output
    assert "units[blue-bn].count" in ok.stdout and ": 9 units (" in ok.stdout
    same = runner.invoke(app, [*args, "--low", "1", "--high", "40", "--deterministic"])
    assert same.stdout == ok.stdout
    for extra, message in [
        (["--range", "40..1"], "runs backwards"),
        (["--low", "-1", "--high", "4"], "expected a whole number >= 0"),
        (["--low", "1", "--high", "4", "--range", "1..4"], "either as --range"),
        (["--low", "1"], "give the bracket"),
    ]:
        bad = runner.invoke(app, [*args, *extra])
        assert bad.exit_code == 2 and message in bad.stderr, (extra, bad.stderr)
    nothing = runner.invoke(
        app, ["require", TEXTBOOK, "--vary", "units[red-bn].count", "--demand", "front-line"]
    )
    assert nothing.exit_code == 2 and "ids are: blue-bn" in nothing.stderr
