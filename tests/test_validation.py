"""Validation of scenarios: every kind of bad input is one located, readable problem.

Each test derives a bad variant from a small valid scenario by editing its text, and checks
the field path, the line and column, and the words of the message that say what was
expected and what was found. Positions are those of the value at fault (of the mapping that
lacks a field, for a missing field).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.loader import load, loads
from forcegen.scenario.quantities import Choice, resolve

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# Line numbers of the base scenario, for reading the positions asserted below:
#  1 forcegen    5 claims     11 forces    14 unit_types   17 locations   21 policies
# 26 units      33 demands   38 changes
BASE = """\
forcegen: 1
name: Base
start: 2023-01-01
horizon: 360d
claims:
  - id: C1
    source: {publication: Daily News, date: 2023-02-01}
    attribution: named
    paraphrase: Battalions are 500 strong.
    grade: B2
forces:
  - id: blue
  - id: red
unit_types:
  - id: inf
  - id: armor
locations:
  - id: front
    attrition: {killed: 0.5%/mo}
  - id: home
policies:
  - id: cycle
    positions:
      - {name: front, location: front, duration: 30d, deployed: true}
      - {name: home, location: home, duration: 60d}
units:
  - id: blue-bn
    force: blue
    type: inf
    policy: cycle
    count: 9
    strength: {value: 500, cites: [C1]}
demands:
  - id: hold
    location: front
    units: 3
    fill: {forces: [blue]}
changes:
  - at: 180d
    units: [blue-bn]
    policy: cycle
"""

POLICY = """\
  - id: cycle
    positions:
      - {name: front, location: front, duration: 30d, deployed: true}
      - {name: home, location: home, duration: 60d}
"""


def edit(*pairs: str, text: str = BASE) -> str:
    """``text`` with each ``old`` (which must occur exactly once) replaced by ``new``."""
    assert len(pairs) % 2 == 0
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def with_policies(extra: str, policy: str = POLICY) -> str:
    """The base scenario with its policy replaced by ``policy`` and ``extra`` appended.

    The base policy starts on line 22; ``extra`` starts on line 22 + lines of ``policy``.
    """
    return edit(POLICY, policy + extra)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml")
    problems = info.value.problems
    assert problems, "a ScenarioError must carry problems"
    assert all(p.file == "s.yaml" for p in problems)
    return problems


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def check(problem: Problem, field: str, line: int, column: int, *words: str) -> None:
    """The problem is at ``field``, ``line``:``column`` and its message has all ``words``."""
    assert (problem.field, problem.line, problem.column) == (field, line, column), str(problem)
    for word in words:
        assert word in problem.message, f"{word!r} not in {problem.message!r}"


# --- valid input --------------------------------------------------------------------------


def test_base_scenario_is_valid() -> None:
    scenario = loads(BASE, "s.yaml")
    assert scenario.name == "Base"
    assert resolve(scenario.horizon).value == 360
    assert resolve(scenario.units[0].count).value == 9
    assert resolve(scenario.units[0].strength).cites == ("C1",)
    # 0.5% a month is the probability over 30 days of exposure.
    killed = resolve(scenario.locations[0].attrition.killed).value
    assert 1 - (1 - killed) ** 30 == pytest.approx(0.005)


@pytest.mark.parametrize("name", ["textbook-fixed-rotation.yaml", "demand-driven-ready-pool.yaml"])
def test_example_scenarios_are_valid(name: str) -> None:
    scenario = load(SCENARIOS / name)
    assert scenario.units and scenario.demands


def test_valid_choice_with_options_citing_claims() -> None:
    text = edit(
        "strength: {value: 500, cites: [C1]}",
        "strength:\n"
        "      choose: size\n"
        "      default: report\n"
        "      options:\n"
        "        report: {value: 500, cites: [C1]}\n"
        "        guess: 300",
        "    units: 3\n",
        "    units: {choose: size, default: report, options: {report: 3, guess: 2}}\n",
    )
    scenario = loads(text, "s.yaml")
    strength = scenario.units[0].strength
    assert isinstance(strength, Choice)
    assert resolve(strength).value == 500
    assert resolve(strength, {"size": "guess"}).value == 300


# --- how problems are written -------------------------------------------------------------


def test_problem_str_is_file_line_column_field_message() -> None:
    problem = only_problem(edit("start: 2023-01-01", "start: tomorrow"))
    assert str(problem) == (
        "s.yaml:3:8: start: expected a date written YYYY-MM-DD, YYYY-MM (a month) or YYYY "
        "(a year), found 'tomorrow'"
    )


def test_problem_str_without_position_or_field() -> None:
    assert str(Problem("s.yaml", None, None, "", "file not found")) == "s.yaml: file not found"
    assert str(Problem("s.yaml", 4, None, "horizon", "bad")) == "s.yaml:4: horizon: bad"


def test_scenario_error_lists_every_problem() -> None:
    with pytest.raises(ScenarioError) as info:
        loads(edit("name: Base\n", "", "count: 9", "count: -5"), "s.yaml")
    text = str(info.value)
    assert text.startswith("2 problems found:\n")
    assert "  s.yaml:1:1: name: missing required field 'name'" in text
    assert "  s.yaml:30:12: units[0].count: expected a whole number >= 0, found -5" in text


# --- schema: fields and types -------------------------------------------------------------


def test_unknown_field_suggests_the_closest() -> None:
    problem = only_problem(edit("    count: 9", "    cuont: 9"))
    check(problem, "units[0].cuont", 31, 12, "unknown field 'cuont'", "did you mean 'count'?")
    assert "expected one of: id, force, type, policy, count, strength" in problem.message


def test_unknown_field_without_a_close_match() -> None:
    problem = only_problem(edit("  - id: home\n", "  - id: home\n    colour: green\n"))
    check(problem, "locations[1].colour", 21, 13, "unknown field 'colour'", "expected one of")
    assert "did you mean" not in problem.message


def test_unknown_top_level_field() -> None:
    problem = only_problem(edit("horizon: 360d\n", "horizon: 360d\nhorizn: 1y\n"))
    check(problem, "horizn", 5, 9, "unknown field 'horizn'", "did you mean 'horizon'?")


def test_missing_required_field_points_at_the_mapping_that_lacks_it() -> None:
    problem = only_problem(edit("    strength: {value: 500, cites: [C1]}\n", ""))
    check(problem, "units[0].strength", 27, 5, "missing required field 'strength'")


def test_missing_top_level_field() -> None:
    problem = only_problem(edit("name: Base\n", ""))
    check(problem, "name", 1, 1, "missing required field 'name'")


def test_number_where_a_list_belongs() -> None:
    problem = only_problem(edit("fill: {forces: [blue]}", "fill: {forces: 3}"))
    check(problem, "demands[0].fill.forces", 37, 20, "expected a list", "found 3")


def test_list_where_a_number_belongs() -> None:
    problem = only_problem(edit("count: 9", "count: [9]"))
    check(problem, "units[0].count", 31, 12, "expected a whole number >= 0", "found [9]")


def test_string_where_a_mapping_belongs() -> None:
    problem = only_problem(edit("  - id: home\n", "  - id: home\n    attrition: lots\n"))
    check(problem, "locations[1].attrition", 21, 16, "expected a mapping", "found 'lots'")
    assert "instance of" not in problem.message  # no pydantic jargon


def test_list_where_a_mapping_belongs() -> None:
    problem = only_problem(edit("fill: {forces: [blue]}", "fill: [blue]"))
    check(problem, "demands[0].fill", 37, 11, "expected a mapping", "found a list")


def test_number_where_text_belongs() -> None:
    problem = only_problem(edit("name: Base", "name: 5"))
    check(problem, "name", 2, 7, "expected a valid string", "found 5")


def test_bad_boolean() -> None:
    problem = only_problem(edit("deployed: true", "deployed: maybe"))
    check(
        problem, "policies[0].positions[0].deployed", 24, 65, "expected a valid boolean", "'maybe'"
    )


def test_value_not_among_the_allowed_words() -> None:
    problem = only_problem(edit("attribution: named", "attribution: rumour"))
    check(
        problem,
        "claims[0].attribution",
        8,
        18,
        "expected 'named', 'anonymous', 'official' or 'outlet'",
        "found 'rumour'",
    )


def test_empty_list_where_one_item_is_required() -> None:
    problem = only_problem(edit("forces:\n  - id: blue\n  - id: red\n", "forces: []\n"))
    check(problem, "forces", 11, 9, "expected at least 1 item", "found none")


def test_wrong_format_version() -> None:
    problem = only_problem(edit("forcegen: 1", "forcegen: 2"))
    check(problem, "forcegen", 1, 11, "expected 1", "found 2")


def test_priority_below_one() -> None:
    problem = only_problem(edit("    units: 3\n", "    units: 3\n    priority: 0\n"))
    check(problem, "demands[0].priority", 37, 15, "expected a number at least 1", "found 0")


# --- quantities ---------------------------------------------------------------------------

DURATION = "expected a duration in whole days such as 30d, 4w, 3mo, 1y, '6 months' or 'a year'"


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("30 dayz", "'30 dayz'"),
        ("a fortnight", "'a fortnight'"),
        ("'1,5d'", "'1,5d'"),
        ("2.5d", "'2.5d'"),
        ("-5d", "'-5d'"),
        ("-3", "-3"),
        ("30h", "'30h'"),
        ("1.5", "1.5"),
    ],
)
def test_bad_duration(written: str, found: str) -> None:
    problem = only_problem(edit("duration: 30d", f"duration: {written}"))
    check(problem, "policies[0].positions[0].duration", 24, 50, DURATION, f"found {found}")


def test_duration_of_zero_days_in_a_cycle() -> None:
    problem = only_problem(edit("duration: 60d", "duration: 0d"))
    check(problem, "policies[0].positions[1].duration", 25, 48, "expected at least 1 day")


def test_horizon_of_zero_days() -> None:
    # Only the horizon is reported, not every day found "outside" an empty horizon.
    problem = only_problem(edit("horizon: 360d", "horizon: 0d"))
    check(problem, "horizon", 4, 10, "expected at least 1 day")


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("150%/mo", "'150%/mo'"),
        ("1.5", "1.5"),
        ("-0.1", "-0.1"),
        ("often", "'often'"),
        ("5%/fortnight", "'5%/fortnight'"),
    ],
)
def test_bad_hazard(written: str, found: str) -> None:
    problem = only_problem(edit("killed: 0.5%/mo", f"killed: {written}"))
    check(
        problem,
        "locations[0].attrition.killed",
        19,
        25,
        "expected a probability per day or per period",
        "'1.5%/mo'",  # an example of what is expected
        f"found {found}",
    )


@pytest.mark.parametrize(("written", "found"), [("-5", "-5"), ("2.5", "2.5"), ("many", "'many'")])
def test_bad_count(written: str, found: str) -> None:
    problem = only_problem(edit("count: 9", f"count: {written}"))
    check(problem, "units[0].count", 31, 12, "expected a whole number >= 0", f"found {found}")


def test_bad_count_in_a_value_mapping() -> None:
    problem = only_problem(edit("{value: 500, cites: [C1]}", "{value: -500, cites: [C1]}"))
    check(problem, "units[0].strength", 32, 15, "expected a whole number >= 0", "found -500")


@pytest.mark.parametrize(("written", "found"), [("1.5", "1.5"), ("150%", "'150%'"), ("x%", "'x%'")])
def test_bad_fraction(written: str, found: str) -> None:
    problem = only_problem(edit("    count: 9\n", f"    count: 9\n    current: {written}\n"))
    check(problem, "units[0].current", 32, 14, "expected a share between 0 and 1", found)


def test_fraction_as_a_percentage_is_valid() -> None:
    scenario = loads(edit("    count: 9\n", "    count: 9\n    current: 80%\n"), "s.yaml")
    assert scenario.units[0].current is not None
    assert resolve(scenario.units[0].current).value == pytest.approx(0.8)


def test_value_mapping_without_value() -> None:
    problem = only_problem(edit("{value: 500, cites: [C1]}", "{cites: [C1]}"))
    check(
        problem,
        "units[0].strength",
        32,
        15,
        "or a mapping with 'value' and 'cites'",
        "found a mapping without 'value'",
    )


def test_unknown_field_in_a_value_mapping_names_the_value_fields() -> None:
    problem = only_problem(edit("{value: 500, cites: [C1]}", "{value: 500, cites: [C1], src: x}"))
    check(problem, "units[0].strength.src", 32, 46, "unknown field 'src'", "value, cites, note")
    # Not the fields of a choice, nor "did you mean 'value'" about 'value' itself.
    assert "choose" not in problem.message


def test_cites_not_a_list() -> None:
    problem = only_problem(edit("cites: [C1]", "cites: C1"))
    check(problem, "units[0].strength.cites", 32, 35, "expected a list", "found 'C1'")


# --- dates, grades, identifiers -----------------------------------------------------------


@pytest.mark.parametrize("written", ["2023-13-01", "2023-02-30", "tomorrow", "01/02/2023"])
def test_bad_date(written: str) -> None:
    problem = only_problem(edit("start: 2023-01-01", f"start: {written}"))
    check(problem, "start", 3, 8, "expected a date written YYYY-MM-DD", f"found '{written}'")


def test_bad_date_of_a_source() -> None:
    problem = only_problem(edit("date: 2023-02-01", "date: 2023-02-30"))
    check(problem, "claims[0].source.date", 7, 45, "YYYY-MM-DD", "found '2023-02-30'")


def test_bad_date_as_demand_start() -> None:
    problem = only_problem(edit("    units: 3\n", "    units: 3\n    start: 2023-13-01\n"))
    check(problem, "demands[0].start", 37, 12, "YYYY-MM-DD", "found '2023-13-01'")


@pytest.mark.parametrize("grade", ["A7", "G1", "B", "b7", "B22", "g2"])
def test_bad_grade(grade: str) -> None:
    problem = only_problem(edit("grade: B2", f"grade: {grade}"))
    check(
        problem,
        "claims[0].grade",
        10,
        12,
        "expected an Admiralty grade",
        "A-F",
        "1-6",
        f"found '{grade}'",
    )


@pytest.mark.parametrize("ident", ["9th", "red army", "_red", "red/blue"])
def test_bad_identifier(ident: str) -> None:
    problem = only_problem(edit("  - id: red\n", f"  - id: '{ident}'\n"))
    check(problem, "forces[1].id", 13, 9, "expected an identifier", f"found '{ident}'")


# --- choices ------------------------------------------------------------------------------

CHOICE = (
    "strength:\n"
    "      choose: size\n"
    "      default: {default}\n"
    "      options:\n"
    "        report: {{value: 500, cites: [{cite}]}}\n"
    "        guess: 300"
)


def with_choice(default: str = "report", cite: str = "C1") -> str:
    """The base scenario with the strength (line 32) a choice; options on lines 36 and 37."""
    return edit("strength: {value: 500, cites: [C1]}", CHOICE.format(default=default, cite=cite))


def test_choice_default_not_among_options() -> None:
    problem = only_problem(with_choice(default="big"))
    check(
        problem, "units[0].strength", 33, 7, "default 'big'", "not one of the options guess, report"
    )


def test_choice_without_default() -> None:
    text = edit("      default: report\n", "", text=with_choice())
    problem = only_problem(text)
    check(problem, "units[0].strength.default", 33, 7, "missing required field 'default'")


def test_choice_with_an_unknown_field_names_the_choice_fields() -> None:
    text = edit(
        "      choose: size\n", "      choose: size\n      why: unsure\n", text=with_choice()
    )
    problem = only_problem(text)
    check(
        problem, "units[0].strength.why", 34, 12, "unknown field 'why'", "choose, default, options"
    )


def test_choice_options_must_match_between_fields() -> None:
    text = edit(
        "    units: 3\n",
        "    units: {choose: size, default: report, options: {report: 3, huge: 4}}\n",
        text=with_choice(),
    )
    problem = only_problem(text)
    check(
        problem,
        "demands[0].units.options",
        41,
        53,
        "choice 'size' offers options ['guess', 'report'] elsewhere",
        "found ['huge', 'report']",
    )


def test_choice_default_must_match_between_fields() -> None:
    text = edit(
        "    units: 3\n",
        "    units: {choose: size, default: guess, options: {report: 3, guess: 2}}\n",
        text=with_choice(),
    )
    problem = only_problem(text)
    check(
        problem,
        "demands[0].units.default",
        41,
        36,
        "choice 'size' has default 'report' elsewhere",
        "found 'guess'",
    )


def test_unknown_claim_cited_by_a_value() -> None:
    problem = only_problem(edit("cites: [C1]", "cites: [C1, C9]"))
    check(
        problem,
        "units[0].strength.cites[1]",
        32,
        40,
        "expected the id of one of the claims (C1)",
        "found 'C9'",
    )


def test_unknown_claim_cited_inside_a_choice_option() -> None:
    problem = only_problem(with_choice(cite="C7"))
    check(
        problem,
        "units[0].strength.options.report.cites[0]",
        36,
        38,
        "expected the id of one of the claims (C1)",
        "found 'C7'",
    )


# --- references between sections ---------------------------------------------------------


def test_unknown_location_of_a_position() -> None:
    problem = only_problem(edit("location: home,", "location: hom,"))
    check(
        problem,
        "policies[0].positions[1].location",
        25,
        32,
        "expected the id of one of the locations (front, home)",
        "found 'hom'",
    )


def test_unknown_next_position() -> None:
    problem = only_problem(edit("duration: 60d}", "duration: 60d, next: fromt}"))
    check(
        problem,
        "policies[0].positions[1].next",
        25,
        59,
        "positions of this policy (front, home)",
        "found 'fromt'",
    )


def test_unknown_pull_to_position() -> None:
    problem = only_problem(edit("duration: 60d}", "ready: true, pull_to: nowhere}"))
    check(
        problem,
        "policies[0].positions[1].pull_to",
        25,
        60,
        "positions of this policy (front, home)",
        "found 'nowhere'",
    )


def test_ready_position_without_pull_to() -> None:
    problem = only_problem(edit("duration: 60d}", "ready: true}"))
    check(problem, "policies[0].positions[1].pull_to", 25, 9, "ready position needs 'pull_to'")


def test_ready_position_with_pull_to_needs_no_duration() -> None:
    scenario = loads(edit("duration: 60d}", "ready: true, pull_to: front}"), "s.yaml")
    assert scenario.policies[0].positions is not None
    assert scenario.policies[0].positions[1].duration is None


def test_duration_missing_on_a_position_that_is_not_ready() -> None:
    problem = only_problem(edit(", duration: 60d}", "}"))
    check(
        problem,
        "policies[0].positions[1].duration",
        25,
        9,
        "expected a duration",
        "only a ready position",
    )


def test_overlap_position_not_deployed() -> None:
    problem = only_problem(edit("deployed: true}", "overlap: true}"))
    check(
        problem,
        "policies[0].positions[0].overlap",
        24,
        64,
        "overlap position must also be deployed",
    )


def test_duplicate_position_names() -> None:
    text = edit("60d}\n", "60d}\n      - {name: home, location: home, duration: 6d}\n")
    problem = only_problem(text)
    check(
        problem,
        "policies[0].positions[2].name",
        26,
        16,
        "duplicate name 'home'",
        "already used by positions[1]",
    )


def test_policy_with_no_positions() -> None:
    problem = only_problem(with_policies("  - id: empty\n    positions: []\n"))
    check(problem, "policies[1].positions", 27, 16, "expected at least one position", "none")


def test_policy_with_neither_positions_nor_template() -> None:
    problem = only_problem(with_policies("  - id: bare\n    description: nothing\n"))
    check(problem, "policies[1]", 26, 5, "either 'positions' or 'template'", "found neither")


def test_policy_with_both_positions_and_template() -> None:
    extra = (
        "  - id: both\n"
        "    template: cycle\n"
        "    positions: [{name: a, location: home, duration: 5d}]\n"
    )
    problem = only_problem(with_policies(extra))
    check(problem, "policies[1].template", 27, 15, "either 'positions' or 'template', not both")


def test_template_missing() -> None:
    problem = only_problem(with_policies("  - id: child\n    template: nope\n"))
    check(
        problem,
        "policies[1].template",
        27,
        15,
        "expected the id of one of the policies (child, cycle)",
        "found 'nope'",
    )


def test_template_cycle() -> None:
    extra = "  - id: a\n    template: b\n  - id: b\n    template: a\n"
    problems = problems_of(with_policies(extra))
    assert len(problems) == 2, problems
    check(problems[0], "policies[1].template", 27, 15, "templates form a cycle: a -> b -> a")
    check(problems[1], "policies[2].template", 29, 15, "templates form a cycle: b -> a -> b")


def test_template_naming_itself() -> None:
    problem = only_problem(with_policies("  - id: a\n    template: a\n"))
    check(problem, "policies[1].template", 27, 15, "templates form a cycle: a -> a")


def test_template_problem_does_not_hide_other_policies_problems() -> None:
    extra = "  - id: child\n    template: nope\n"
    problems = problems_of(with_policies(extra, POLICY.replace("location: home,", "location: x,")))
    assert [p.field for p in problems] == [
        "policies[0].positions[1].location",
        "policies[1].template",
    ]


def test_overrides_on_a_policy_that_is_not_a_template() -> None:
    extra = (
        "  - id: own\n"
        "    positions: [{name: a, location: home, duration: 5d}]\n"
        "    overrides: {a: {duration: 3d}}\n"
    )
    problem = only_problem(with_policies(extra))
    check(problem, "policies[1].overrides", 28, 16, "overrides apply only to a policy built from")


def test_override_naming_an_unknown_position() -> None:
    extra = "  - id: child\n    template: cycle\n    overrides: {fromt: {duration: 3d}}\n"
    problem = only_problem(with_policies(extra))
    check(
        problem,
        "policies[1].overrides.fromt",
        28,
        24,
        "expected the id of one of the template's positions (front, home)",
        "found 'fromt'",
    )


def test_problems_brought_in_by_an_override() -> None:
    extra = (
        "  - id: child\n"
        "    template: cycle\n"
        "    overrides:\n"
        "      home: {ready: true, location: mars}\n"
    )
    problems = problems_of(with_policies(extra))
    assert len(problems) == 2, problems
    check(problems[0], "policies[1].overrides.home.pull_to", 29, 13, "needs 'pull_to'")
    check(
        problems[1],
        "policies[1].overrides.home.location",
        29,
        37,
        "locations (front, home)",
        "found 'mars'",
    )


def test_template_problems_are_reported_once_at_the_template() -> None:
    policy = POLICY.replace("location: home,", "location: hom,")
    problem = only_problem(with_policies("  - id: child\n    template: cycle\n", policy))
    check(problem, "policies[0].positions[1].location", 25, 32, "found 'hom'")


def test_valid_template_with_overrides() -> None:
    extra = "  - id: long\n    template: cycle\n    overrides: {front: {duration: 60d}}\n"
    scenario = loads(with_policies(extra), "s.yaml")
    assert scenario.policies[1].overrides["front"].duration is not None


def test_valid_template_of_a_template() -> None:
    extra = (
        "  - id: long\n"
        "    template: cycle\n"
        "    overrides: {front: {duration: 60d}}\n"
        "  - id: longer\n"
        "    template: long\n"
        "    overrides: {home: {duration: 90d}}\n"
    )
    scenario = loads(with_policies(extra), "s.yaml")
    assert [p.id for p in scenario.policies] == ["cycle", "long", "longer"]


def test_duplicate_policy_ids() -> None:
    extra = "  - id: cycle\n    positions: [{name: a, location: home, duration: 5d}]\n"
    problem = only_problem(with_policies(extra))
    check(problem, "policies[1].id", 26, 9, "duplicate id 'cycle'", "already used by policies[0]")


def test_unknown_force_type_and_policy_of_a_unit() -> None:
    text = edit(
        "    force: blue\n    type: inf\n    policy: cycle\n",
        "    force: green\n    type: cav\n    policy: cyc\n",
    )
    problems = problems_of(text)
    assert len(problems) == 3, problems
    check(problems[0], "units[0].force", 28, 12, "forces (blue, red)", "found 'green'")
    check(problems[1], "units[0].type", 29, 11, "unit types (armor, inf)", "found 'cav'")
    check(problems[2], "units[0].policy", 30, 13, "policies (cycle)", "found 'cyc'")


def test_unknown_start_position_of_a_unit() -> None:
    problem = only_problem(edit("    count: 9\n", "    count: 9\n    start: middle\n"))
    check(
        problem,
        "units[0].start",
        32,
        12,
        "positions of policy 'cycle' (front, home)",
        "found 'middle'",
    )


@pytest.mark.parametrize(
    ("section", "old", "new", "field", "line", "column"),
    [
        ("forces", "  - id: red\n", "  - id: blue\n", "forces[1].id", 13, 9),
        ("unit_types", "  - id: armor\n", "  - id: inf\n", "unit_types[1].id", 16, 9),
        ("locations", "  - id: home\n", "  - id: front\n", "locations[1].id", 20, 9),
    ],
)
def test_duplicate_ids(
    section: str, old: str, new: str, field: str, line: int, column: int
) -> None:
    problems = problems_of(edit(old, new))
    duplicate = [p for p in problems if p.field == field]
    assert len(duplicate) == 1, problems
    check(duplicate[0], field, line, column, "duplicate id", f"already used by {section}[0]")


def test_duplicate_claim_id() -> None:
    claim = BASE[BASE.index("  - id: C1\n") : BASE.index("forces:\n")]
    problem = only_problem(edit(claim, claim + claim))
    check(problem, "claims[1].id", 11, 9, "duplicate id 'C1'", "already used by claims[0]")


def test_duplicate_unit_group_and_demand_ids() -> None:
    unit = BASE[BASE.index("  - id: blue-bn\n") : BASE.index("demands:\n")]
    demand = BASE[BASE.index("  - id: hold\n") : BASE.index("changes:\n")]
    problems = problems_of(edit(unit, unit + unit, demand, demand + demand))
    assert [(p.field, p.line, p.column) for p in problems] == [
        ("units[1].id", 33, 9),
        ("demands[1].id", 44, 9),
    ]
    assert "duplicate id 'blue-bn': already used by units[0]" in problems[0].message
    assert "duplicate id 'hold': already used by demands[0]" in problems[1].message


def test_demand_with_both_people_and_units() -> None:
    problem = only_problem(edit("    units: 3\n", "    units: 3\n    people: 1500\n"))
    check(problem, "demands[0]", 34, 5, "exactly one of 'people' or 'units'", "found both")


def test_demand_with_neither_people_nor_units() -> None:
    problem = only_problem(edit("    units: 3\n", ""))
    check(problem, "demands[0]", 34, 5, "exactly one of 'people' or 'units'", "found neither")


def test_unknown_demand_location() -> None:
    problem = only_problem(edit("    location: front\n", "    location: rear\n"))
    check(problem, "demands[0].location", 35, 15, "locations (front, home)", "found 'rear'")


def test_unknown_force_in_fill_forces() -> None:
    problem = only_problem(edit("{forces: [blue]}", "{forces: [blue, green]}"))
    check(problem, "demands[0].fill.forces[1]", 37, 27, "forces (blue, red)", "found 'green'")


def test_unknown_force_in_fill_caps() -> None:
    problem = only_problem(edit("{forces: [blue]}", "{forces: [blue], caps: {green: 100}}"))
    check(
        problem,
        "demands[0].fill.caps.green",
        37,
        42,
        "forces that may fill this demand (blue)",
        "found 'green'",
    )


def test_caps_naming_a_force_not_in_fill_forces() -> None:
    problem = only_problem(edit("{forces: [blue]}", "{forces: [blue], caps: {red: 100}}"))
    check(
        problem,
        "demands[0].fill.caps.red",
        37,
        40,
        "forces that may fill this demand (blue)",
        "found 'red'",
    )


def test_unknown_unit_types_in_fill() -> None:
    problem = only_problem(edit("{forces: [blue]}", "{forces: [blue], unit_types: [cav]}"))
    check(problem, "demands[0].fill.unit_types[0]", 37, 41, "unit types (armor, inf)", "'cav'")


def test_unknown_unit_type_in_substitution_costs() -> None:
    text = edit("{forces: [blue]}", "{forces: [blue], substitution_costs: {cav: 1}}")
    problem = only_problem(text)
    check(
        problem,
        "demands[0].fill.substitution_costs.cav",
        37,
        54,
        "unit types (armor, inf)",
        "'cav'",
    )


def test_unit_types_and_substitution_costs_both_given() -> None:
    text = edit(
        "{forces: [blue]}",
        "{forces: [blue], unit_types: [inf], substitution_costs: {inf: 1}}",
    )
    problem = only_problem(text)
    check(
        problem, "demands[0].fill", 37, 11, "either 'unit_types'", "'substitution_costs', not both"
    )


@pytest.mark.parametrize(
    ("start", "day"), [("360d", 360), ("2y", 730), ("2022-12-31", -1), ("2024-01-01", 365)]
)
def test_demand_start_outside_horizon(start: str, day: int) -> None:
    problem = only_problem(edit("    units: 3\n", f"    units: 3\n    start: {start}\n"))
    check(
        problem,
        "demands[0].start",
        37,
        12,
        "expected a start within the horizon (day 0 to 359)",
        f"found day {day}",
    )


def test_demand_start_as_a_date_within_horizon_is_valid() -> None:
    scenario = loads(edit("    units: 3\n", "    units: 3\n    start: 2023-02-01\n"), "s.yaml")
    assert scenario.day_of(scenario.demands[0].start) == 31


@pytest.mark.parametrize(("at", "day"), [("360d", 360), ("2022-12-01", -31)])
def test_change_day_outside_horizon(at: str, day: int) -> None:
    problem = only_problem(edit("  - at: 180d", f"  - at: {at}"))
    check(
        problem,
        "changes[0].at",
        39,
        9,
        "expected a day within the horizon (0 to 359)",
        f"found day {day}",
    )


def test_change_naming_an_unknown_group() -> None:
    problem = only_problem(edit("units: [blue-bn]", "units: [blue-bn, green-bn]"))
    check(problem, "changes[0].units[1]", 40, 22, "unit groups (blue-bn)", "found 'green-bn'")


def test_change_naming_an_unknown_policy() -> None:
    text = edit(
        "    units: [blue-bn]\n    policy: cycle\n", "    units: [blue-bn]\n    policy: surge\n"
    )
    problem = only_problem(text)
    check(problem, "changes[0].policy", 41, 13, "policies (cycle)", "found 'surge'")


def test_unknown_force_limit_location() -> None:
    problem = only_problem(
        edit("  - id: red\n", "  - id: red\n    limits: [{location: moon, people: 10}]\n")
    )
    check(
        problem,
        "forces[1].limits[0].location",
        14,
        25,
        "locations (front, home)",
        "found 'moon'",
    )


# --- many problems at once ----------------------------------------------------------------


def test_every_problem_is_reported_sorted_by_position() -> None:
    text = edit(
        "start: 2023-01-01",
        "start: 2023-02-30",
        "grade: B2",
        "grade: Z9",
        "killed: 0.5%/mo",
        "killed: 150%/mo",
        "    count: 9",
        "    cuont: 9",
        "fill: {forces: [blue]}",
        "fill: {forces: 3}",
    )
    problems = problems_of(text)
    assert [(p.line, p.column, p.field) for p in problems] == [
        (3, 8, "start"),
        (10, 12, "claims[0].grade"),
        (19, 25, "locations[0].attrition.killed"),
        (31, 12, "units[0].cuont"),
        (37, 20, "demands[0].fill.forces"),
    ]


def test_every_reference_problem_is_reported_sorted_by_position() -> None:
    text = edit(
        "location: home,",
        "location: hom,",
        "    type: inf\n",
        "    type: cav\n",
        "{forces: [blue]}",
        "{forces: [green]}",
        "units: [blue-bn]",
        "units: [nobody]",
    )
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (25, "policies[0].positions[1].location"),
        (29, "units[0].type"),
        (37, "demands[0].fill.forces[0]"),
        (40, "changes[0].units[0]"),
    ]
    lines = [(p.line, p.column) for p in problems]
    assert lines == sorted(lines)


def test_schema_problems_come_before_reference_checks() -> None:
    # Reference checks need a scenario that passed the schema: only schema problems show.
    text = edit("count: 9", "count: -1", "    type: inf\n", "    type: cav\n")
    problem = only_problem(text)
    check(problem, "units[0].count", 31, 12, "whole number")


# --- limits: every number within its documented range -------------------------------------

TEXTBOOK = SCENARIOS / "textbook-fixed-rotation.yaml"
WAGNER = SCENARIOS / "wagner-prisoner-contracts.yaml"
HUGE_INTEGER = "1" + "0" * 320  # above the largest float: float(int) overflows

# (file, old text, new text, field at fault, words of the message)
LIMIT_CASES = [
    (TEXTBOOK, "horizon: 360d", "horizon: 1e308y", "horizon", "at most 36,500 days"),
    (TEXTBOOK, "horizon: 360d", "horizon: 1e400d", "horizon", "at most 36,500 days"),
    (TEXTBOOK, "horizon: 360d", f"horizon: {HUGE_INTEGER}", "horizon", "at most 36,500 days"),
    (TEXTBOOK, "horizon: 360d", "horizon: 1000000000000d", "horizon", "at most 36,500"),
    (TEXTBOOK, "horizon: 360d", "horizon: 10000y", "horizon", "at most 36,500 days"),
    (TEXTBOOK, "horizon: 360d", "horizon: {uniform: [0, 1e12]}", "horizon", "at most 36,500"),
    (TEXTBOOK, "horizon: 360d", "horizon: {uniform: [1, 3000000000]}", "horizon", "36,500"),
    (TEXTBOOK, "horizon: 360d", "horizon: .inf", "horizon", "at most 36,500 days"),
    (TEXTBOOK, "count: 9", "count: 1000000000000", "units[0].count", "at most 10,000"),
    (TEXTBOOK, "count: 9", f"count: {HUGE_INTEGER}", "units[0].count", "at most 10,000"),
    (TEXTBOOK, "strength: 500", "strength: 1000000000000", "units[0].strength", "1,000,000"),
    (TEXTBOOK, "strength: 500", "strength: 1000001", "units[0].strength", "at most 1,000,000"),
    (
        TEXTBOOK,
        "duration: 1mo}",
        "duration: 3000000000d}",
        "policies[0].positions[2].duration",
        "at most 36,500 days",
    ),
    (TEXTBOOK, "units: 3\n", "people: 1e308\n", "demands[0].people", "at most 1,000,000,000"),
    (TEXTBOOK, "units: 3\n", "units: 30001\n", "demands[0].units", "at most 30,000"),
    (
        TEXTBOOK,
        "units: 3\n",
        "people: {lognormal: {median: 1, p90: 1e300}}\n",
        "demands[0].people",
        "found 1e+300",
    ),
    (
        TEXTBOOK,
        "units: 3\n",
        "people: {lognormal: {median: 1, p90: 1e8}}\n",
        "demands[0].people",
        "lognormal whose mean",
    ),
    (
        TEXTBOOK,
        "units: 3\n",
        "units: 3\n    priority: 1099511627776\n",
        "demands[0].priority",
        "expected a number at most 1,000,000",
    ),
    (TEXTBOOK, "start: 2023-01-01", "start: 0001-01-01", "start", "from 1900-01-01 to 2200-12-31"),
    (TEXTBOOK, "start: 2023-01-01", "start: 9999-12-31", "start", "from 1900-01-01 to 2200-12-31"),
    (TEXTBOOK, "start: 2023-01-01", "start: 2200-06-01", "horizon", "end by 2200-12-31"),
    (
        TEXTBOOK,
        "horizon: 360d",
        "horizon: 360d\nuncertainty: {reliability: {F: .nan}}",
        "uncertainty.reliability.F",
        "finite",
    ),
    (
        TEXTBOOK,
        "horizon: 360d",
        "horizon: 360d\nuncertainty: {credibility: {'3': .inf}}",
        "uncertainty.credibility.3",
        "finite",
    ),
    (
        TEXTBOOK,
        "horizon: 360d",
        "horizon: 360d\nuncertainty: {credibility: {'3': 0.5}}",
        "uncertainty.credibility.3",
        "expected a number at least 1",
    ),
    (
        TEXTBOOK,
        "count: 9",
        "count: {choose: c, default: a, weights: {a: 1e308, b: 1}, options: {a: 9, b: 8}}",
        "units[0].count.weights.a",
        "finite weight",
    ),
    (
        TEXTBOOK,
        "count: 9",
        "count: {choose: c, default: a, weights: {a: .nan, b: 1}, options: {a: 9, b: 8}}",
        "units[0].count.weights.a",
        "finite weight",
    ),
    (WAGNER, "value: 325000", "value: 1e308", "reservoirs[0].size", "at most 1,000,000,000"),
    (WAGNER, "value: 325000", "value: 1e400", "reservoirs[0].size", "at most 1,000,000,000"),
]


@pytest.mark.parametrize(
    ("path", "old", "new", "field", "words"),
    LIMIT_CASES,
    ids=[f"{c[3]}={c[2][:30]}" for c in LIMIT_CASES],
)
def test_values_beyond_their_limits_are_located_refusals(
    path: Path, old: str, new: str, field: str, words: str
) -> None:
    text = path.read_text()
    assert old in text
    problems = problems_of(text.replace(old, new, 1))
    at = [p for p in problems if p.field == field]
    assert at, "\n".join(map(str, problems))
    assert at[0].line is not None and at[0].column is not None
    assert words in at[0].message, str(at[0])


def test_values_at_their_limits_are_accepted() -> None:
    text = TEXTBOOK.read_text()
    text = edit(
        "start: 2023-01-01",
        "start: 1900-01-01",
        "horizon: 360d",
        "horizon: 36500d",
        "strength: 500",
        "strength: 1000000",
        "count: 9",
        "count: 10000",
        "units: 3\n",
        "units: 3\n    priority: 1000000\n",
        text=text,
    )
    scenario = loads(text, "s.yaml")
    assert resolve(scenario.horizon).value == 36500
    assert resolve(scenario.units[0].count).value == 10000


def test_units_in_all_groups_are_bounded() -> None:
    text = TEXTBOOK.read_text()
    unit = text[text.index("  - id: ") : text.index("demands:")]
    unit = unit[unit.rindex("  - id: ") :].replace("count: 9", "count: 10000")
    groups = "".join(unit.replace("id: ", f"id: g{i}-", 1) for i in range(11))
    problems = problems_of(text.replace(unit.replace("count: 10000", "count: 9"), groups))
    check(problems[0], "units", problems[0].line or 0, problems[0].column or 0, "30,000 units")


@pytest.mark.parametrize(("section", "after"), [("demands", "changes"), ("units", "demands")])
def test_lists_are_bounded(section: str, after: str) -> None:
    if section == "demands":
        item = "  - {{id: d{i}, location: front, units: 1, fill: {{forces: [blue]}}}}\n"
    else:
        item = "  - {{id: u{i}, force: blue, type: inf, policy: cycle, strength: 1}}\n"
    items = "".join(item.format(i=i) for i in range(1001))
    head, rest = BASE.split(f"{section}:\n")
    tail = rest.split(f"{after}:\n")[1]
    text = f"{head}{section}:\n{items}{after}:\n{tail}"
    if section == "units":
        text = text.replace("units: [blue-bn]", "units: [u0]")
    problem = only_problem(text)
    check(problem, section, 27 if section == "units" else 34, 3, "expected at most 1,000 items")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("horizon: 360d", "horizon: 1e308y", "horizon"),
        ("strength: 500", "strength: 1000000000000", "units[0].strength"),
        ("start: 2023-01-01", "start: 9999-12-31", "start"),
    ],
)
def test_validate_refuses_values_beyond_limits_with_exit_2(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    from typer.testing import CliRunner

    from forcegen.cli import app

    path = tmp_path / "s.yaml"
    path.write_text(TEXTBOOK.read_text().replace(old, new, 1))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "s.yaml:" in text and field in text, result.output
    assert "Traceback" not in result.output


WAGNER = Path(__file__).resolve().parents[1] / "scenarios" / "wagner-prisoner-contracts.yaml"


def test_cohorts_that_would_form_too_many_units_are_refused_where_they_are_written() -> None:
    # One 50-unit batch a day for two years: 36,500 units, past the 30,000 a scenario may
    # have (unit counts in the records are 16-bit). Refused before any run, at `every`.
    text = WAGNER.read_text().replace(
        "      every: 1d\n      units: 1\n", "      every: 1d\n      units: 50\n"
    )
    problem = only_problem(text)
    assert problem.field == "pipelines[0].cohort.every"
    assert problem.line is not None and text.splitlines()[problem.line - 1].strip() == "every: 1d"
    assert "36,500 units" in problem.message and "at most 30,000 units" in problem.message
    # The shipped file, one unit a day, is within the limit.
    load(WAGNER)


def test_an_uncertain_batch_interval_counts_at_its_shortest() -> None:
    text = WAGNER.read_text().replace(
        "      every: 1d\n      units: 1\n",
        "      every: {uniform: [1d, 30d]}\n      units: 50\n",
    )
    assert "pipelines[0].cohort.every" in [p.field for p in problems_of(text)]


def test_too_many_positions_in_all_policies_are_refused() -> None:
    # Unit-level traces keep a unit's position as a 16-bit integer. A template's positions
    # count in every policy built on it: 31 policies of 1,000 positions.
    steps = "\n".join(f"      - {{name: s{j}, location: front, duration: 1d}}" for j in range(1000))
    copies = "\n".join(f"  - {{id: p{k}, template: p0}}" for k in range(1, 31))
    text = edit("policies:\n", f"policies:\n  - id: p0\n    positions:\n{steps}\n{copies}\n")
    assert any("at most 30,000 positions" in p.message for p in problems_of(text))


# --- observations ---------------------------------------------------------------------------

OBSERVED = (
    BASE
    + """\
observations:
  - id: killed
    measure: killed
    force: blue
    by: 2023-06-01
    value: 900
    cites: [C1]
"""
)


def test_base_with_an_observation_is_valid() -> None:
    scenario = loads(OBSERVED, "s.yaml")
    (obs,) = scenario.observations
    assert obs.value == 900 and obs.cites == ["C1"]


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("measure: killed", "measure: slain", "observations[0].measure", "'people'"),
        ("force: blue", "force: green", "observations[0].force", "'green'"),
        (
            "    force: blue\n    by",
            "    pipeline: blue\n    by",
            "observations[0].pipeline",
            "takes no",
        ),
        ("by: 2023-06-01", "by: 2025-06-01", "observations[0].by", "within the horizon"),
        ("by: 2023-06-01", "by: 2022-12-31", "observations[0].by", "within the horizon"),
        ("value: 900", "value: -5", "observations[0].value", "count >= 0"),
        ("value: 900", "value: lots", "observations[0].value", "percentage"),
        ("value: 900", "at_least: 900\n    at_most: 10", "observations[0].at_most", "impossible"),
        ("value: 900", "between: [900, 10]", "observations[0].between", "low <= high"),
        ("cites: [C1]", "cites: [C9]", "observations[0].cites[0]", "'C9'"),
        ("value: 900", "value: 900\n    at_most: 1000", "observations[0]", "one of"),
        ("value: 900", "sd: 5\n    at_most: 10", "observations[0].sd", "goes with 'value'"),
        ("by: 2023-06-01", "at: 2023-06-01\n    by: 2023-06-01", "observations[0]", "one day"),
        ("by: 2023-06-01", "from: 2023-06-01", "observations[0]", "both 'from' and 'to'"),
        (
            "by: 2023-06-01",
            "from: 2023-06-01\n    to: 2023-05-01",
            "observations[0].to",
            "on or after",
        ),
        (
            "value: 900",
            "value: 120%\n    share_of: {measure: recruits, pipeline: nope}",
            "observations[0].value",
            "100%",
        ),
        (
            "value: 900",
            "value: 20%\n    share_of: {measure: recruits, pipeline: nope}",
            "observations[0].share_of.pipeline",
            "'nope'",
        ),
        ("measure: killed", "measure: reservoir", "observations[0].reservoir", "missing"),
        ("value: 900", "value: 900\n    before_start: -3", "observations[0].before_start", ">= 0"),
    ],
)
def test_bad_observations_are_located(old: str, new: str, field: str, words: str) -> None:
    assert old in OBSERVED
    text = OBSERVED.replace(old, new)
    problems = problems_of(text)
    found = [p for p in problems if p.field == field]
    assert found, "\n".join(map(str, problems))
    assert any(words in p.message for p in found), "\n".join(map(str, found))
    assert all(p.line is not None for p in found)


def test_a_duplicate_observation_id_is_located() -> None:
    text = OBSERVED + OBSERVED[OBSERVED.index("  - id: killed") :]
    problem = only_problem(text)
    assert problem.field == "observations[1].id" and "duplicate" in problem.message


def test_a_plus_minus_may_be_written_as_the_sign() -> None:
    scenario = loads(OBSERVED.replace("value: 900", "value: 9,000\n    ±: 500"), "s.yaml")
    assert scenario.observations[0].value == 9000 and scenario.observations[0].plus_minus == 500
