"""Variants without copies: --set, extends with set:, compare --options, the input diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import line_of
from typer.testing import CliRunner

from forcegen.analysis.compare import compare, compare_options
from forcegen.cli import app
from forcegen.errors import ScenarioError, UsageError
from forcegen.scenario.diff import input_diff
from forcegen.scenario.loader import load, loads
from forcegen.scenario.overrides import flattened_text

SCENARIOS = Path(__file__).parent.parent / "scenarios"

BASE = """\
forcegen: 1
name: Base
start: 2023-01-01
horizon: 90d
claims:
  - id: C1
    source: {publication: a report}
    attribution: named
    paraphrase: six battalions
    grade: B2
  - id: C2
    source: {publication: another report}
    attribution: named
    paraphrase: eight battalions
    grade: C3
forces:
  - {id: blue}
unit_types:
  - {id: bn}
locations:
  - id: front
    attrition:
      killed: {pert: [1%/mo, 2%/mo, 4%/mo]}
  - {id: home}
policies:
  - id: cycle
    positions:
      - {name: front, location: front, duration: 30d, deployed: true}
      - {name: home, location: home, duration: 30d}
units:
  - id: blue-bn
    force: blue
    type: bn
    count:
      choose: size
      default: six
      options:
        six: {value: 6, cites: [C1]}
        eight: {value: 8, cites: [C2]}
        ten: 10
    strength: {value: 500, cites: [C1]}
    policy: cycle
demands:
  - id: front-line
    location: front
    units: 4
    fill: {forces: [blue]}
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --- --set ----------------------------------------------------------------------------------


def test_set_replaces_a_number_by_id_in_the_units_people_write(base: Path) -> None:
    s = load(
        base, overrides=["units[blue-bn].strength=450", "locations[front].attrition.killed=3%/mo"]
    )
    assert s.units[0].strength.value == 450
    assert s.units[0].strength.cites == ()  # a set value is the user's assumption
    assert s.locations[0].attrition.killed.value == pytest.approx(
        loads(BASE.replace("{pert: [1%/mo, 2%/mo, 4%/mo]}", "3%/mo"))
        .locations[0]
        .attrition.killed.value
    )
    cited = load(base, overrides=["units[blue-bn].strength={value: 450, cites: [C2]}"])
    assert cited.units[0].strength.cites == ("C2",)


def test_set_errors_are_located_at_the_option(base: Path) -> None:
    with pytest.raises(ScenarioError) as bad_path:
        load(base, overrides=["units[blue-bx].count=3"])
    (message,) = problems(bad_path)
    assert message.startswith("--set units[blue-bx].count=3: ")
    assert "blue-bx" in message and "blue-bn" in message
    with pytest.raises(ScenarioError) as bad_value:
        load(base, overrides=["units[blue-bn].strength=-5"])
    (message,) = problems(bad_value)
    assert message.startswith("--set units[blue-bn].strength=-5: units[0].strength: ")
    with pytest.raises(ScenarioError) as bad_claim:
        load(base, overrides=["units[blue-bn].strength={value: 5, cites: [C9]}"])
    assert "C9" in problems(bad_claim)[0]
    with pytest.raises(UsageError, match="PATH=VALUE"):
        load(base, overrides=["units[blue-bn].strength"])


COMMANDS = [
    ["validate"],
    ["run", "-n", "1"],
    ["check"],
    [
        "require",
        "--vary",
        "units[blue-bn].strength",
        "--demand",
        "front-line",
        "--low",
        "1",
        "--high",
        "2",
    ],
    ["rules"],
    ["sensitivity", "--output", "coverage:front-line"],
    ["calibrate"],
    ["compare", "BASE"],
    ["explore", "--store", "STORE"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_command_that_reads_a_scenario_takes_set(base: Path, command: list[str]) -> None:
    named = {"BASE": str(base), "STORE": str(base.parent / "runs.duckdb")}
    args = [command[0], str(base), *[named.get(a, a) for a in command[1:]]]
    result = CliRunner().invoke(app, [*args, "--set", "units[nobody].count=3"])
    assert result.exit_code == 2, result.output
    assert "--set units[nobody].count=3: units has no item 'nobody'" in result.stderr
    assert not (base.parent / "runs.duckdb").exists()  # nothing written on bad input


def test_run_with_set_changes_the_result(base: Path) -> None:
    def front(*sets: str) -> float:
        args = ["run", str(base), "--deterministic", "-f", "json"]
        for s in sets:
            args += ["--set", s]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        (demand,) = json.loads(result.stdout)["demands"]
        return demand["coverage_mean"]

    assert front() < 1.0
    assert front("units[blue-bn].count=12") == 1.0


# --- extends --------------------------------------------------------------------------------


def test_extends_a_chain_with_relative_paths(base: Path, tmp_path: Path) -> None:
    (tmp_path / "variants").mkdir()
    middle = tmp_path / "variants" / "middle.yaml"
    middle.write_text("extends: ../base.yaml\nname: Middle\nset:\n  units[blue-bn].strength: 400\n")
    child = tmp_path / "variants" / "child.yaml"
    child.write_text(
        "extends: middle.yaml\nquestion: What if?\nset:\n"
        "  units[0].count: 9\n  demands[front-line].units: 3\n"
    )
    s = load(child)
    assert (s.name, s.question) == ("Middle", "What if?")
    assert s.units[0].strength.value == 400
    assert s.units[0].count.value == 9
    assert s.demands[0].units.value == 3


def test_extends_refuses_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: B\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load(tmp_path / "a.yaml")
    (tmp_path / "self.yaml").write_text("extends: self.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load(tmp_path / "self.yaml")


def test_extends_errors_are_located_where_they_were_written(base: Path, tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    text = "extends: base.yaml\nset:\n  units[blue-bn].strength: 300\n  units[red-bn].count: 2\n"
    child.write_text(text)
    with pytest.raises(ScenarioError) as bad_path:
        load(child)
    (p,) = bad_path.value.problems
    assert (p.file, p.line) == (str(child), line_of(text, "red-bn"))
    assert "red-bn" in p.message

    text = "extends: base.yaml\nset:\n  units[blue-bn].strength: lots\n"
    child.write_text(text)
    with pytest.raises(ScenarioError) as bad_value:
        load(child)
    (p,) = bad_value.value.problems
    assert (p.file, p.line, p.field) == (str(child), 3, "units[0].strength")

    broken = tmp_path / "broken.yaml"
    broken.write_text(BASE.replace("units: 4", "units: -4"))
    child.write_text("extends: broken.yaml\nname: Child\n")
    with pytest.raises(ScenarioError) as in_base:
        load(child)
    (p,) = in_base.value.problems
    assert (p.file, p.line) == (str(broken), line_of(BASE, "units: 4"))

    child.write_text("name: Child\nextends: missing.yaml\n")
    with pytest.raises(ScenarioError) as missing:
        load(child)
    (p,) = missing.value.problems
    assert (p.file, p.line) == (str(child), 2) and "not found" in p.message


def test_the_results_folder_keeps_a_self_contained_copy(base: Path, tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nset:\n  units[blue-bn].strength: 300\n")
    text = flattened_text(child, ["units[blue-bn].count=7"])
    assert "extends" not in text.split("\n", 3)[-1]
    again = loads(text, "copy.yaml")
    assert again == load(child, ["units[blue-bn].count=7"])
    assert flattened_text(base) == BASE


def test_the_shipped_baseline_extends_belarus_2023() -> None:
    text = (SCENARIOS / "belarus-2023-baseline.yaml").read_text(encoding="utf-8")
    assert "\nforcegen: 1\nextends: belarus-2023.yaml\n" in text
    baseline = load(SCENARIOS / "belarus-2023-baseline.yaml")
    full = load(SCENARIOS / "belarus-2023.yaml")
    assert baseline.claims == full.claims and baseline.demands == full.demands
    assert not baseline.observations
    # Its own answers are the base's, less those that ask about an (absent) observation.
    assert baseline.answers == [a for a in full.answers or [] if a.observation is None]
    assert {p.id for p in baseline.policies} == {"ru-front-rear-home", "by-garrison", "wg-contract"}


# --- the input diff and compare --options ---------------------------------------------------


def test_the_diff_lists_exactly_the_changed_numbers(base: Path) -> None:
    a = load(base)
    b = load(
        base, ["units[blue-bn].strength={value: 450, cites: [C2]}", "demands[front-line].units=5"]
    )
    changes = input_diff(a, b)
    assert [c["path"] for c in changes] == ["units[blue-bn].strength", "demands[front-line].units"]
    strength = changes[0]
    assert (strength["baseline_value"], strength["variant_value"]) == (500, 450)
    assert (strength["baseline_cites"], strength["variant_cites"]) == (["C1"], ["C2"])
    assert strength["unit"] == "people"
    assert input_diff(a, a) == []
    (count,) = input_diff(a, a, {}, {"size": "eight"})
    assert count["path"] == "units[blue-bn].count"
    assert (count["baseline_value"], count["variant_value"]) == (6, 8)
    (killed,) = input_diff(a, load(base, ["locations[front].attrition.killed=2%/mo"]))
    assert killed["baseline_range"] is not None and killed["variant_range"] is None


def test_compare_options_equals_compare_over_hand_written_variants(base: Path) -> None:
    by_options = compare_options(load(base), "size", runs=12, seed=4)
    written = [
        loads(BASE.replace("default: six", f"default: {o}"), f"{o}.yaml")
        for o in ("six", "eight", "ten")
    ]
    by_files = compare(written, runs=12, seed=4)
    assert by_options.names == ("size=six", "size=eight", "size=ten")
    assert (by_options.table.to_numpy() == by_files.table.to_numpy()).all()
    assert list(by_options.table.index.get_level_values("figure")) == list(
        by_files.table.index.get_level_values("figure")
    )
    inputs = by_options.summary()["inputs"]
    assert [(c["variant"], c["path"]) for c in inputs] == [
        ("size=eight", "units[blue-bn].count"),
        ("size=ten", "units[blue-bn].count"),
    ]
    chosen = compare_options(load(base), "size", runs=2, choices={"size": "ten"})
    assert chosen.names[0] == "size=ten"
    with pytest.raises(UsageError, match="no such choice"):
        compare_options(load(base), "colour")


def test_compare_cli_options_and_its_input_diff(base: Path) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(base), "--options", "size", "-n", "3", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["baseline"] == "size=six" and data["variants"] == ["size=eight", "size=ten"]
    assert {c["path"] for c in data["inputs"]} == {"units[blue-bn].count"}
    table = CliRunner().invoke(app, ["compare", str(base), "--options", "size", "-n", "3"])
    assert "size=eight: inputs that differ from size=six" in table.stdout
    assert "C1 → C2" in table.stdout
    two = CliRunner().invoke(app, ["compare", str(base), str(base), "--options", "size"])
    assert two.exit_code == 2
    unknown = CliRunner().invoke(app, ["compare", str(base), "--options", "colour"])
    assert unknown.exit_code == 2 and "colour" in unknown.stderr


def test_the_variant_in_the_format_reference_loads() -> None:
    docs = (SCENARIOS.parent / "docs" / "format.md").read_text(encoding="utf-8")
    (block,) = [b for b in docs.split("```yaml\n")[1:] if b.startswith("extends:")]
    text = "forcegen: 1\n" + block.split("```")[0]
    variant = loads(text, str(SCENARIOS / "variant.yaml"))
    assert variant.locations[0].attrition.killed.value > 0
    assert variant.pipelines[0].waves[0].people.value == 0
