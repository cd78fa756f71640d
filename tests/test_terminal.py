"""The terminal never reads user text as markup or emoji, and every result has one summary.

Scenario names, claim publications, choice names, flags and paths are printed as written:
``[/]`` does not crash rich, ``[link=...]`` prints literally, and ``file.yaml:100:8:``
keeps its location rather than turning into an emoji.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import changed, flow, line_of, merge, scenario_data, scenario_text, yaml_text
from typer.testing import CliRunner, Result

from forcegen.cli import app

LINK = "[link=http://x]y[/link]"


def sections(name: str = "[/]", choice: str = "[/]", pub: str = LINK) -> dict:
    """A scenario whose name, strength choice and claim publication are user text."""
    return dict(
        name=name,
        unit_types=[{"id": "inf"}],
        policies=merge([{"id": "cycle"}]),
        units=[{"id": "blue-bn", "force": "blue", "type": "inf", "policy": "cycle", "count": 2,
                "strength": {"choose": choice, "default": "full",
                             "options": {"full": {"value": 500, "cites": ["c1"]}, "weak": 300}}}],
        demands=[{"id": "hold", "location": "front", "people": 500,
                  "fill": {"forces": ["blue"]}}],
        claims=[{"id": "c1", "source": {"publication": pub, "date": flow("2023-01-19")},
                 "attribution": "named", "paraphrase": "A battalion has 500 people.",
                 "grade": "B2"}],
    )  # fmt: skip


def write(
    tmp_path: Path, name: str = "[/]", choice: str = "[/]", pub: str = LINK, **changes
) -> Path:
    path = tmp_path / "s.yaml"
    data = changed(scenario_data(**sections(name, choice, pub)), **changes)
    path.write_text(yaml_text(data), encoding="utf-8")
    return path


def invoke(*args: object) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write(tmp_path)


def test_user_text_in_the_run_tables_prints_as_written(scenario: Path) -> None:
    result = invoke("run", scenario, "--deterministic", "--choose", "[/]=weak")
    assert result.exit_code == 0, result.stderr
    # The bottom line opens the summary; the title line follows it.
    assert any(line.startswith("[/] (deterministic") for line in result.stdout.splitlines())
    assert "choices: [/]=weak" in result.stdout
    result = invoke("run", scenario, "--deterministic")
    assert LINK in result.stdout  # the claim's publication, not a hyperlink
    assert "\x1b]8;" not in result.stdout


def test_a_link_as_scenario_name_prints_literally(tmp_path: Path) -> None:
    result = invoke("run", write(tmp_path, name=LINK, choice="size"), "--deterministic")
    assert result.exit_code == 0, result.stderr
    assert any(line.startswith(LINK) for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--quantiles", "[/]"], "--quantiles '[/]'"),
        (["--choose", "[/]"], "--choose '[/]'"),
        (["--choose", "[/]=[/]"], "choice '[/]' has no option '[/]'"),
        (["--choose", "[b]x[/b]=y"], "unknown choice '[b]x[/b]'"),
    ],
)
def test_markup_in_flags_is_refused_plainly(scenario: Path, flags: list[str], words: str) -> None:
    result = invoke("run", scenario, "--deterministic", *flags)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert words in result.stderr
    assert result.stderr.startswith("error: ")


def test_markup_in_an_out_path_is_refused_plainly(scenario: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for command in (["run", scenario, "--deterministic"], ["rules", scenario, "-n", "2"]):
        result = invoke(*command, "--out", blocker / "[/]")
        assert result.exit_code == 2
        assert f"{blocker / '[/]'}" in result.stderr


def test_markup_in_a_check_finding_prints_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, demands=merge([{"people": 5000}]))
    result = invoke("check", path)
    assert result.exit_code == 0, result.stderr
    assert "[claims: c1]" in result.stdout or "[no claim cited]" in result.stdout


def test_line_100_of_a_file_is_not_an_emoji(tmp_path: Path) -> None:
    # The text itself is the point here: an impossible date, written as a YAML date (a
    # builder cannot hold it), put on line 100, column 8, by padding.
    text = scenario_text(**sections(choice="size"))
    text = text.replace("start: '2023-01-01'", "start: 2023-02-30")
    text = "#\n" * (100 - line_of(text, "start: 2023-02-30")) + text
    path = tmp_path / "long.yaml"
    path.write_text(text)
    for command in ("validate", "run"):
        result = invoke(command, path)
        assert result.exit_code == 2
        assert f"{path}:100:8: start:" in result.stderr
        assert "\N{HUNDRED POINTS SYMBOL}" not in result.stderr


def test_every_result_summary_has_a_format_and_version(scenario: Path, tmp_path: Path) -> None:
    """--format json prints the layout that --out writes, for every command that has one."""
    variant = write(tmp_path / "v", name="variant") if (tmp_path / "v").mkdir() is None else None
    cases = {
        "forcegen-summary": ["run", scenario, "--deterministic"],
        "forcegen-check": ["check", scenario],
        "forcegen-comparison": ["compare", scenario, variant, "-n", "2"],
        "forcegen-requirement": [
            *("require", scenario, "--vary", "units[0].count", "--demand", "hold"),
            *("--low", "1", "--high", "4", "--deterministic"),
        ],
        "forcegen-rules": ["rules", scenario, "-n", "2"],
    }
    out = tmp_path / "out"
    for kind, command in cases.items():
        result = invoke(*command, "-f", "json")
        assert result.exit_code == 0, result.stderr
        printed = json.loads(result.stdout)
        assert printed["format"] == kind and printed["version"] == 1
        if kind == "forcegen-check":
            continue
        written = invoke(*command, "-f", "json", "--out", out)
        assert written.exit_code == 0, written.stderr
        name = {
            "forcegen-summary": "summary.json",
            "forcegen-comparison": "compare.json",
            "forcegen-requirement": "require.json",
            "forcegen-rules": "rules.json",
        }[kind]
        assert json.loads((out / name).read_text()) == json.loads(written.stdout)
    require = json.loads((out / "require.json").read_text())
    assert require["value"] == 2 and require["met"] and require["scenario"] == "[/]"
    rules = json.loads((out / "rules.json").read_text())
    assert rules["runs"] == 2 and [u["unit"] for u in rules["units"]] == ["blue-bn#0", "blue-bn#1"]


def test_sensitivity_prints_the_summary_it_writes(scenario: Path, tmp_path: Path) -> None:
    pert = flow("{pert: [1%/mo, 2%/mo, 4%/mo]}")
    assert write(tmp_path, locations=merge([{"attrition": {"killed": pert}}])) == scenario
    command = ["sensitivity", scenario, "--output", "lost:blue:killed", "--n", "8", "-f", "json"]
    result = invoke(*command, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["format"] == "forcegen-sensitivity" and printed["scenario"] == "[/]"
    assert json.loads((tmp_path / "out" / "sensitivity.json").read_text()) == printed
    table = invoke(*command[:-2])
    assert table.exit_code == 0 and "locations[front].attrition.killed" in table.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "[/]:100:8:"], "[/]:100:8:: file not found"),
        (["report", "/x/[/]"], "/x/[/]: expected a results folder"),
        (["run", "s.yaml", "--format", LINK], LINK),
    ],
)
def test_paths_and_values_in_messages_print_as_written(args: list[str], words: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert words in result.stderr


def test_a_title_wider_than_its_table_stays_on_one_line() -> None:
    from io import StringIO

    from rich.console import Console

    from forcegen.report.terminal import row, table

    made = table(
        "Mean strength (people), and q5-q95 across runs", ("force", "mean"), left=("force",)
    )
    row(made, "blue", "1,500")
    buffer = StringIO()
    Console(file=buffer, width=160, markup=False, emoji=False, highlight=False).print(made)
    assert buffer.getvalue().splitlines()[0] == "Mean strength (people), and q5-q95 across runs"
