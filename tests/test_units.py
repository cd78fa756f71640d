"""One set of units in every text output: coverage in %, differences of shares in
percentage points, deployed-to-dwell as ``1:x``, thousands separators, and each figure with
its unit, in the terminal and in the report alike; the JSON summaries keep fractions.

Every command that answers a question (run, compare, require, rules) is run on one small
deterministic scenario, its terminal output and its JSON checked, and all of them written
into one results folder whose report is checked the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import changed, merge, scenario_data, yaml_text
from typer.testing import CliRunner, Result

from forcegen.cli import app
from forcegen.report import formats as fmt
from forcegen.report import write_report
from forcegen.scenario.quantities import kind_of
from forcegen.scenario.yamlio import read_yaml_text

# Four battalions of 500 on a 30-day front, 30-day home cycle: two at the front keep the
# 1,000 people the demand asks for, and the rules (at most 20 days deployed at a stretch, at
# most one day deployed per two at rest) are broken by every unit.
BASE = scenario_data(
    name="Units test",
    horizon="120d",
    rules={"max_deployment": "20d", "max_deployed_to_dwell": 0.5},
)
VARIANT = changed(BASE, name="Units test variant", units=merge([{"count": 3}]))


def invoke(*args: object) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    path = tmp_path_factory.mktemp("units")
    base, variant = path / "base.yaml", path / "variant.yaml"
    base.write_text(yaml_text(BASE), encoding="utf-8")
    variant.write_text(yaml_text(VARIANT), encoding="utf-8")
    return base, variant, path / "out"


@pytest.fixture(scope="module")
def outputs(files: tuple[Path, Path, Path]) -> dict[str, str]:
    """The terminal output of each command, every one also writing into one folder."""
    base, variant, out = files
    det = "--deterministic"
    return {
        "run": invoke("run", base, det, "--out", out).stdout,
        "compare": invoke("compare", base, variant, det, "--out", out).stdout,
        "require": invoke(
            "require",
            base,
            "--vary",
            "units[0].count",
            "--demand",
            "d",
            "--low",
            1,
            "--high",
            10,
            det,
            "--out",
            out,
        ).stdout,  # fmt: skip
        "rules": invoke("rules", base, det, "--out", out).stdout,
    }


@pytest.fixture(scope="module")
def page(files: tuple[Path, Path, Path], outputs: dict[str, str]) -> str:
    html = write_report(files[2]).read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", " ", html)  # the text a reader sees


def test_run_shows_coverage_in_percent_and_dwell_as_one_to_x(outputs: dict[str, str]) -> None:
    text = outputs["run"]
    assert "100.0%" in text and "1:1.00" in text
    assert "2,000" in text and "2000" not in text  # people at the front, with a separator


def test_compare_shows_coverage_in_percent_and_differences_in_points(
    outputs: dict[str, str],
) -> None:
    text = outputs["compare"]
    line = next(r for r in text.splitlines() if "coverage:d" in r)
    assert "100.0%" in line and "75.0%" in line and "-25.0 pp" in line
    assert "0.75" not in line and "-0.25" not in line
    line = next(r for r in text.splitlines() if "days_fully_covered:d" in r)
    assert "days" in line
    assert "people" in next(r for r in text.splitlines() if "people_end:blue" in r)


def test_require_gives_its_answer_with_its_unit(outputs: dict[str, str]) -> None:
    assert (
        "smallest units[b].count that gets 'd' fully covered on 100% of its days"
        in (outputs["require"])
    )
    assert ": 4 units (" in outputs["require"]


def test_rules_give_limits_with_their_units(outputs: dict[str, str]) -> None:
    text = outputs["rules"]
    dwell = next(r for r in text.splitlines() if "deployed_to_dwell" in r)
    assert "1:2.00" in dwell and "1:1.00" in dwell  # limit 0.5, worst 1
    longest = next(r for r in text.splitlines() if "longest_deployment" in r)
    assert "20 days" in longest and "30 days" in longest


def test_the_json_summaries_keep_fractions(files: tuple[Path, Path, Path], outputs) -> None:
    out = files[2]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["demands"][0]["coverage_mean"] == 1.0
    assert summary["forces"][0]["deployed_to_dwell"] == 1.0
    rows = json.loads((out / "compare.json").read_text())["rows"]
    row = next(r for r in rows if r["figure"] == "coverage:d")
    assert row["variant_mean"] == pytest.approx(0.75) and row["difference_mean"] < 0
    required = json.loads((out / "require.json").read_text())
    assert required["value"] == 4 and required["measure"] == "units"
    breaches = json.loads((out / "rules.json").read_text())["breaches"]
    assert {b["rule"]: b["measure"] for b in breaches} == {
        "longest_deployment": "days",
        "deployed_to_dwell": "ratio",
    }
    assert {b["rule"]: b["limit"] for b in breaches} == {
        "longest_deployment": 20,
        "deployed_to_dwell": 0.5,
    }


def test_the_report_uses_the_same_units(page: str) -> None:
    assert "100.0%" in page and "1:1.00" in page  # run summary
    assert "-25.0 pp" in page and "75.0%" in page  # comparison
    assert "smallest value: 4 units" in page and "[1 units, 10 units]" in page  # requirement
    assert "1:2.00" in page and "30 days" in page and "20 days" in page  # rules
    assert "2,000" in page


# --- the formatting module ------------------------------------------------------------------


def test_numbers_shares_and_differences() -> None:
    assert fmt.number(9163) == "9,163" and fmt.number(None) == fmt.MISSING
    assert fmt.percent(0.847) == "84.7%" and fmt.percent(1.0, 0) == "100%"
    assert fmt.points(0.012) == "+1.2 pp" and fmt.points(-0.25) == "-25.0 pp"
    assert fmt.signed(1234) == "+1,234"
    assert fmt.band("81.2%", "88.0%") == "[81.2%-88.0%]"
    assert fmt.band("-1.0 pp", "+2.5 pp") == "[-1.0 pp to +2.5 pp]"


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(0.5, "1:2.00"), (1.0, "1:1.00"), (4.37, "1:0.23"), (0.0, "never deployed"), (None, "–")],
)
def test_deployed_to_dwell_is_one_to_x(ratio: float | None, text: str) -> None:
    assert fmt.dwell(ratio) == text


@pytest.mark.parametrize(
    ("value", "measure", "text"),
    [
        (9163, "people", "9,163 people"),
        (9, "units", "9 units"),
        (30, "days", "30 days"),
        (1, "days", "1 day"),
        (0.25, "share", "25%"),
        (200, "people per day", "6,000 people/month"),
        (1 - (1 - 0.021) ** (1 / 30), "probability per day", "2.1%/month"),
        (12.5, "per 100,000 people", "12.5 per 100,000 people"),
        (0.5, "ratio", "1:2.00"),
        (3.25, "", "3.25"),
    ],
)
def test_each_measure_is_shown_as_people_write_it(value: float, measure: str, text: str) -> None:
    assert fmt.quantity(value, measure) == text
    assert measure in fmt.UNITS


@pytest.mark.parametrize(
    ("name", "value", "difference"),
    [
        ("coverage:front", "84.7%", "+1.2 pp"),
        ("days_fully_covered:front", "12.0 days", "+12.0 days"),
        ("lost:RU:killed", "12 people", "+12 people"),
        ("people_end:RU", "12 people", "+12 people"),
    ],
)
def test_per_run_figures_carry_their_units(name: str, value: str, difference: str) -> None:
    x = 0.847 if name.startswith("coverage:") else 12
    d = 0.012 if name.startswith("coverage:") else 12
    assert fmt.figure(name, x) == value
    assert fmt.difference(name, d) == difference


def test_every_number_of_a_scenario_has_a_measure_formats_knows() -> None:
    from forcegen.scenario.claims import quantities
    from forcegen.scenario.loader import load

    for path in sorted(Path(__file__).resolve().parents[1].glob("scenarios/*.yaml")):
        scenario = load(path)
        for loc, _ in quantities(scenario):
            kind = kind_of(scenario, loc)
            assert kind is not None, (path.name, loc)
            assert kind.measure in fmt.UNITS, (path.name, loc, kind.measure)


def test_require_on_a_hazard_shows_a_percentage_per_month() -> None:
    data = {
        "field": "locations[0].attrition.killed",
        "demand": "d",
        "direction": "most",
        "value": 1 - (1 - 0.03) ** (1 / 30),
        "measure": "probability per day",
        "days": 0.95,
        "probability": 0.9,
        "runs": 50,
        "low": 0.0,
        "high": 0.01,
        "evaluations": [{}] * 7,
    }
    sentence = fmt.requirement(data)
    assert sentence.startswith("largest locations[0].attrition.killed that gets 'd'")
    assert "95% of its days in 90% of 50 run(s): 3%/month (7 evaluations)" in sentence


def test_a_hazard_reads_back_to_its_kind() -> None:
    data, _ = read_yaml_text(
        yaml_text(changed(BASE, locations=merge([{"attrition": {"killed": "2%/mo"}}])))
    )
    from forcegen.scenario.model import Scenario

    scenario = Scenario.model_validate(data)
    kind = kind_of(scenario, ("locations", 0, "attrition", "killed"))
    assert kind is not None and kind.measure == "probability per day"
    assert kind_of(scenario, ("locations", 0, "attrition")) is None
    assert kind_of(scenario, ("units", 7, "count")) is None
