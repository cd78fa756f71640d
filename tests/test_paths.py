"""Field paths: written and read back in one grammar."""

from __future__ import annotations

from pathlib import Path

import pytest

from forcegen.errors import UsageError
from forcegen.scenario.claims import quantities
from forcegen.scenario.loader import load
from forcegen.scenario.overrides import merge
from forcegen.scenario.paths import by_id, format_loc, locate, parse_path, readable, walk
from forcegen.scenario.quantities import (
    Choice,
    Count,
    Duration,
    Fraction,
    Hazard,
    Rate,
    kind_at,
    read_range,
    read_value,
)
from forcegen.scenario.yamlio import read_yaml


def test_format_loc() -> None:
    assert format_loc(("units", 2, "policy")) == "units[2].policy"
    assert format_loc(("a", "b", 0, 1)) == "a.b[0][1]"
    assert format_loc(()) == ""


@pytest.mark.parametrize(
    "loc",
    [("units", 0, "count"), ("pipelines", 1, "intake", 0, "rate"), ("horizon",), ("a", 0, 1)],
)
def test_a_written_path_reads_back(loc) -> None:
    assert parse_path(format_loc(loc)) == loc


@pytest.mark.parametrize("text", ["", "units[x].count", "units.[0]", "units[0]count", "0.units"])
def test_a_malformed_path_is_refused(text) -> None:
    with pytest.raises(UsageError, match="expected a field path such as units"):
        parse_path(text)


def test_walk_follows_keys_and_indices() -> None:
    data = {"units": [{"count": 1}, {"count": {"value": 4}}]}
    assert walk(data, ("units", 1, "count", "value")) == 4
    assert walk(data, ()) is data


# --- Paths by id ---------------------------------------------------------------------------

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXAMPLES = sorted(SCENARIOS.glob("*.yaml"))


@pytest.fixture(scope="module")
def belarus():
    return load(SCENARIOS / "belarus-2023.yaml")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_shipped_number_round_trips_by_id_and_by_index(path) -> None:
    scenario = load(path)
    raw = merge(*read_yaml(path), str(path)).data  # a variant's data merged over its base
    found = quantities(scenario)
    assert found
    for loc, q in found:
        text = by_id(scenario, loc)
        assert by_id(raw, loc) == text  # the raw data names it the same way
        assert locate(scenario, text) == loc
        assert locate(raw, text) == loc
        assert locate(scenario, format_loc(loc)) == loc  # the index form is an alias
        assert locate(raw, format_loc(loc)) == loc
        if isinstance(q, Choice):
            for option in q.options:
                inner = (*loc, "options", option)
                assert by_id(scenario, inner) == f"{text}.options.{option}"
                assert locate(scenario, by_id(scenario, inner)) == inner
                assert locate(raw, by_id(raw, inner)) == inner


def test_by_id_and_by_index_name_the_same_number(belarus) -> None:
    assert locate(belarus, "units[ru-bn].count") == locate(belarus, "units[0].count")
    assert locate(belarus, "units[ru-bn].count") == ("units", 0, "count")
    assert by_id(belarus, ("units", 0, "count")) == "units[ru-bn].count"
    assert locate(belarus, "pipelines[ru-mobilisation].waves[0].people") == locate(
        belarus, format_loc(locate(belarus, "pipelines[ru-mobilisation].waves[0].people"))
    )
    positions = locate(belarus, "policies[by-sof-cycle].positions[home].duration")
    assert by_id(belarus, positions) == "policies[by-sof-cycle].positions[home].duration"
    assert isinstance(positions[3], int)


def test_hyphenated_keys_by_bracket_and_dotted(belarus) -> None:
    loc = locate(belarus, "locations[front].attrition_by_type[wg-assault].killed")
    assert loc == ("locations", 0, "attrition_by_type", "wg-assault", "killed")
    assert locate(belarus, "locations[front].attrition_by_type.wg-assault.killed") == loc
    assert locate(belarus, "locations[0].attrition_by_type.wg-assault.killed") == loc
    assert by_id(belarus, loc) == "locations[front].attrition_by_type[wg-assault].killed"
    assert readable("locations[0].attrition_by_type.wg-assault.killed", belarus) == (
        "locations[front].attrition_by_type[wg-assault].killed"
    )


def test_ids_with_dots_by_bracket_and_dotted() -> None:
    data = {
        "locations": [{"id": "front.north", "attrition_by_type": {"a.b": {"killed": 0.1}}}],
    }
    loc = ("locations", 0, "attrition_by_type", "a.b", "killed")
    assert by_id(data, loc) == "locations[front.north].attrition_by_type[a.b].killed"
    assert locate(data, "locations[front.north].attrition_by_type[a.b].killed") == loc
    assert locate(data, "locations[front.north].attrition_by_type.a.b.killed") == loc


def test_fields_the_data_does_not_state_may_be_named() -> None:
    data = {"units": [{"id": "a", "count": 3}]}
    assert locate(data, "units[a].current") == ("units", 0, "current")
    assert kind_at(data, ("units", 0, "current")).name == "fraction"
    assert kind_at(data, ("units", 0, "strength", "options", "x")).name == "count"
    assert kind_at(data, ("units", 0, "id")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("units[ru-bx].count", r"units has no item 'ru-bx'; ids are: ru-bn, by-sof"),
        ("units[99].count", r"units has no item 99; it has 5 items"),
        ("units[ru-bn].cnt", r"units\[ru-bn\] has no field 'cnt'; fields are: id, force"),
        (
            "locations[front].attrition_by_type[nope]",
            r"attrition_by_type has no key 'nope'; keys are: by-sof, wg-assault",
        ),
        ("units.count", r"units is a list: select an item with \[id\] or \[index\]"),
        ("units[ru-bn]count", r"where '.' or '\[' should be"),
        ("units[", r"unclosed or empty"),
        ("", r"empty path"),
        ("nothing", r"the scenario has no field 'nothing'"),
    ],
)
def test_a_path_that_names_nothing_says_what_exists(belarus, text, message) -> None:
    with pytest.raises(UsageError, match=message):
        locate(belarus, text)


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (Duration(), "20d", 20.0),
        (Duration(), "3mo", 90.0),
        (Duration(), "20", 20.0),
        (Hazard(), "0.0005", 0.0005),
        (Hazard(), "1%/mo", 1 - 0.99 ** (1 / 30)),
        (Fraction(), "20%", 0.2),
        (Fraction(), "0.2", 0.2),
        (Count(), "9,000", 9000.0),
        (Rate(), "6000/mo", 200.0),
        (None, "2.5", 2.5),
    ],
)
def test_values_as_people_write_them(kind, text, value) -> None:
    assert read_value(kind, text) == pytest.approx(value, rel=1e-12)


def test_a_range_reads_both_ends() -> None:
    assert read_range(Duration(), "20d..45d") == (20.0, 45.0)
    low, high = read_range(Hazard(), "1%/mo..4%/mo")
    assert low == pytest.approx(read_value(Hazard(), "1%/mo"))
    assert high == pytest.approx(read_value(Hazard(), "4%/mo"))


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (Duration(), "45d..20d", "runs backwards: its low end \\(45\\) is above its high end"),
        (Count(), "-5..10", "expected a whole number >= 0, found -5"),
        (Hazard(), "1%/mo..", "expected a range LOW..HIGH"),
        (Hazard(), "..1%/mo", "expected a range LOW..HIGH"),
        (Fraction(), "0..150%", "expected a share between 0 and 1"),
        (Duration(), "20d..200y", "at most 36,500 days"),
        (Count(), "a..3", "expected a whole number >= 0"),
        (Duration(), "1..2..3", "expected a range LOW..HIGH"),
    ],
)
def test_nonsense_ranges_are_refused(kind, text, message) -> None:
    with pytest.raises(UsageError, match=message):
        read_range(kind, text)
