"""Corroboration across sources: the values claims give for one quantity, side by side."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from ruamel.yaml import YAML
from typer.testing import CliRunner

from forcegen.cli import app
from forcegen.scenario.loader import load, validate
from forcegen.scenario.paths import parse_path
from forcegen.scenario.yamlio import read_yaml
from forcegen.sources.corroborate import corroborate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BELARUS = SCENARIOS / "belarus-2023.yaml"
BASELINE = SCENARIOS / "belarus-2023-baseline.yaml"


def _set(data: dict, path: str, value: object) -> None:
    loc = parse_path(path)
    node = data
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value


def test_finds_the_belarus_disagreement() -> None:
    groups = corroborate([load(BELARUS), load(BASELINE)], [BELARUS.name, BASELINE.name])
    front = next(g for g in groups if g.quantity == "demands[front-line].people")
    assert front.disagree
    assert sorted(e.value for e in front.entries) == [5800, 9000, 45000]
    assert round(front.ratio, 2) == 7.76 and front.spread == 39200
    # the same option in both files is one entry, seen in both
    assert all(e.files == [BELARUS.name, BASELINE.name] for e in front.entries)
    block = front.proposal()
    assert block["choose"] == "ru-in-belarus"
    assert block["default"] == "hur"  # B2 before the insider's F5; HUR before the Border Guard
    assert block["options"]["report"] == {
        "value": 45000,
        "cites": ["cds-ru-45000", "cds-ru-rotation"],
    }
    # the two Ukrainian observations disagree too
    observed = next(g for g in groups if g.quantity == "observed people of RU at belarus")
    assert {e.value for e in observed.entries} == {5800, 9000} and observed.disagree
    assert groups[0].disagree and not groups[-1].disagree


def test_proposed_blocks_validate_when_pasted() -> None:
    data, positions = read_yaml(BELARUS)
    groups = corroborate([load(BELARUS)])
    pasted = [
        g for g in groups if g.disagree and g.path and g.proposal()["choose"] == "ru-in-belarus"
    ]
    assert len(pasted) >= 3
    yaml = YAML(typ="safe", pure=True)
    new = copy.deepcopy(data)
    for g in pasted:  # one choice: its default moves at every use together
        _set(new, g.path, yaml.load(g.proposal_yaml()))
    scenario = validate(new, positions, str(BELARUS))
    assert scenario.demands[0].people.default == "hur"


def test_plain_values_from_two_files_become_a_new_choice(tmp_path: Path) -> None:
    data, positions = read_yaml(BELARUS)
    other = copy.deepcopy(data)
    demand = next(i for i, d in enumerate(other["demands"]) if d["id"] == "wagner-sector")
    other["demands"][demand]["people"] = {"value": 10000, "cites": ["prigozhin-20pct-killed"]}
    a, b = load(BELARUS), validate(other, positions, "other.yaml")
    groups = corroborate([a, b], ["a.yaml", "other.yaml"])
    group = next(g for g in groups if g.quantity == "demands[wagner-sector].people")
    assert group.disagree and group.ratio == 4
    block = group.proposal()
    assert block["choose"] == "demands-wagner-sector-people"
    assert set(block["options"]) == {"kirby-wagner-50000", "prigozhin-20pct-killed"}
    assert block["default"] == "kirby-wagner-50000"  # B2 before D3
    pasted = copy.deepcopy(data)
    _set(pasted, group.path, YAML(typ="safe", pure=True).load(group.proposal_yaml()))
    scenario = validate(pasted, positions, "pasted.yaml")
    assert scenario.demands[demand].people.options["prigozhin-20pct-killed"].value == 10000


def test_cli_text_and_json() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["claims", "corroborate", str(BELARUS), str(BASELINE)])
    assert result.exit_code == 0, result.output
    assert "demands[front-line].people (people): sources disagree, max/min 7.76" in result.stdout
    assert "choose: ru-in-belarus" in result.stdout
    result = runner.invoke(app, ["claims", "corroborate", str(BELARUS), "--format", "json"])
    assert result.exit_code == 0
    groups = json.loads(result.stdout)["groups"]
    front = next(g for g in groups if g["quantity"] == "demands[front-line].people")
    assert [e["value_text"] for e in front["entries"]] == [
        "45,000 people",
        "5,800 people",
        "9,000 people",
    ]
    assert all(g["disagree"] for g in groups)
