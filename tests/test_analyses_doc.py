"""docs/analyses.md stays true to the code: every kind of output an analysis may take, every
check rule and every rotation rule appears in it, and ``sensitivity --list-outputs`` names
exactly the outputs a run offers.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from conftest import build, scenario_text
from typer.testing import CliRunner

from forcegen.analysis.rules import RULE_FIGURES
from forcegen.analysis.sensitivity import OUTPUT_KINDS, check_output, outputs
from forcegen.api import simulate
from forcegen.cli import app
from forcegen.errors import UsageError
from forcegen.scenario.model import RotationRules

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docs" / "analyses.md").read_text(encoding="utf-8")


def test_every_output_kind_is_documented() -> None:
    for name in OUTPUT_KINDS:
        assert f"`{name}`" in TEXT, name


def test_every_check_rule_is_documented() -> None:
    module = importlib.import_module("forcegen.analysis.check")  # the package shadows it
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    rules = set(re.findall(r'Finding\(\s*"([a-z-]+)"', source))
    assert len(rules) >= 5
    for rule in rules:
        assert f"`{rule}`" in TEXT, rule


def test_every_rotation_rule_and_figure_is_documented() -> None:
    for figure, rule in RULE_FIGURES.items():
        assert f"`{figure}`" in TEXT and f"`{rule}`" in TEXT, figure
    for field in RotationRules.model_fields:
        if field != "forces":
            assert f"`{field}`" in TEXT, field


def test_every_command_of_an_analysis_has_its_section() -> None:
    for command in (
        "run",
        "check",
        "compare",
        "require",
        "sensitivity",
        "rules",
        "calibrate",
        "report",
    ):
        assert f"(`forcegen {command}`)" in TEXT, command


def test_the_readme_links_the_analyses() -> None:
    assert "(docs/analyses.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_outputs_listed_are_the_columns_a_run_offers() -> None:
    scenario = build(
        forces=[{"id": "blue"}, {"id": "red"}],
        units=[{"id": "b", "force": "blue", "type": "bn", "count": 4, "strength": 500,
                "policy": "p"},
               {"id": "r", "force": "red", "type": "bn", "count": 2, "strength": 100,
                "policy": "p"}],
    )  # fmt: skip
    columns = simulate(scenario, deterministic=True).per_run().columns
    offered = [c for c in columns if not c.startswith(("input:", "choice:"))]
    assert sorted(outputs(scenario)) == sorted(offered)
    for name in outputs(scenario):
        assert any(name.startswith(kind.split("<")[0]) for kind in OUTPUT_KINDS)


def test_list_outputs_prints_one_a_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text(), encoding="utf-8")
    result = CliRunner().invoke(app, ["sensitivity", str(path), "--list-outputs"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(outputs(build()))
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # each with a description


def test_an_unknown_output_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        scenario_text(locations=[{"id": "front", "attrition": {"killed": {"uniform": [0, 0.001]}}},
                                 {"id": "home"}]),
        encoding="utf-8",
    )  # fmt: skip
    result = CliRunner().invoke(app, ["sensitivity", str(path), "--output", "coverage:nope"])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "--output 'coverage:nope'" in result.stderr
    assert "coverage:d" in result.stderr and "lost:blue:killed" in result.stderr
    try:
        check_output(build(), "people_end:blue")
    except UsageError:  # pragma: no cover - the message is the diagnosis
        raise AssertionError("a valid output was refused") from None


def test_sensitivity_without_an_output_says_how_to_list_them(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text(), encoding="utf-8")
    result = CliRunner().invoke(app, ["sensitivity", str(path)])
    assert result.exit_code == 2 and "--list-outputs" in result.stderr
