"""Tests for reading scenario YAML with positions, and for every kind of bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario import yamlio
from forcegen.scenario.yamlio import (
    MAX_BYTES,
    position_of,
    read_yaml,
    read_yaml_text,
)

SCENARIO = """\
# a small scenario
name: demo
start: 2023-01-19
units:
  - id: alpha
    policy: rotate
  - id: bravo
    policy:
      kind: surge
      weeks: [4, 8]
notes:
"""


def problems_of(text: str | bytes) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        read_yaml_text(text, "s.yaml")
    assert info.value.problems, "a ScenarioError must carry problems"
    return info.value.problems


def only_problem(text: str | bytes) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def file_problem(path: Path) -> Problem:
    with pytest.raises(ScenarioError) as info:
        read_yaml(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    return problem


# --- reading good input -------------------------------------------------------------------


def test_plain_data_in_written_order(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    data, _ = read_yaml(path)
    assert list(data) == ["name", "start", "units", "notes"]
    assert type(data) is dict
    assert type(data["units"]) is list
    assert data["units"][1]["policy"] == {"kind": "surge", "weeks": [4, 8]}
    assert data["notes"] is None


def test_insertion_order_is_kept() -> None:
    data, _ = read_yaml_text("zulu: 1\nalpha: 2\nmike: {y: 1, b: 2}\n")
    assert list(data) == ["zulu", "alpha", "mike"]
    assert list(data["mike"]) == ["y", "b"]


def test_dates_come_back_as_written() -> None:
    data, _ = read_yaml_text("day: 2023-01-19\nwhen: 2023-01-19T10:00:00Z\nlist: [2024-02-29]\n")
    assert data == {"day": "2023-01-19", "when": "2023-01-19T10:00:00Z", "list": ["2024-02-29"]}


def test_scalars_are_plain_python_types() -> None:
    text = "i: 0x10\nu: 1_000\nf: -1.5e3\ninf: .inf\nb: true\nno: no\nn: ~\ne: ''\ns: !!str 12\n"
    data, _ = read_yaml_text(text)
    assert data == {
        "i": 16,
        "u": 1000,
        "f": -1500.0,
        "inf": float("inf"),
        "b": True,
        "no": "no",  # YAML 1.2: only true/false are booleans
        "n": None,
        "e": "",
        "s": "12",
    }
    kinds = [int, int, float, float, bool, str, type(None), str, str]
    assert [type(v) for v in data.values()] == kinds


def test_positions_of_nested_mappings_and_lists() -> None:
    _, positions = read_yaml_text(SCENARIO)
    assert positions[()] == (2, 1)
    assert positions[("name",)] == (2, 7)
    assert positions[("units",)] == (5, 3)  # a block list starts at its first dash
    assert positions[("units", 0)] == (5, 5)
    assert positions[("units", 0, "policy")] == (6, 13)
    assert positions[("units", 1, "id")] == (7, 9)
    assert positions[("units", 1, "policy")] == (9, 7)
    assert positions[("units", 1, "policy", "weeks", 1)] == (10, 18)
    assert positions[("notes",)] == (11, 1)  # a value left out is placed at its key


def test_position_of_falls_back_to_the_parent() -> None:
    _, positions = read_yaml_text(SCENARIO)
    assert position_of(positions, ("units", 1, "policy")) == (9, 7)
    assert position_of(positions, ("units", 1, "missing")) == (7, 5)
    assert position_of(positions, ("units", 9, "policy")) == (5, 3)
    assert position_of(positions, ("nowhere",)) == (2, 1)
    assert position_of({}, ("units", 0)) == (None, None)


def test_byte_order_mark_and_bytes_input() -> None:
    data, positions = read_yaml_text("\ufeffa: 1\nb: x\n".encode())
    assert data == {"a": 1, "b": "x"}
    assert positions[("b",)] == (2, 4)


# --- the file itself ----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    problem = file_problem(tmp_path / "nope.yaml")
    assert "file not found" in problem.message
    assert (problem.line, problem.column) == (None, None)
    assert str(tmp_path / "nope.yaml") in str(problem)


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in file_problem(tmp_path).message


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\n")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(yamlio, "open", refuse, raising=False)
    problem = file_problem(path)
    assert "cannot read the file: Permission denied" in problem.message


def test_huge_sparse_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as stream:
        stream.truncate(100 * 1024 * 1024)
    problem = file_problem(path)
    assert "too large" in problem.message
    assert "104,857,600 bytes" in problem.message
    assert f"{MAX_BYTES:,} bytes" in problem.message


def test_huge_text_is_refused() -> None:
    assert "too large" in only_problem("a: " + "x" * MAX_BYTES).message


def test_nul_bytes_mean_binary(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"a: 1\nb: \x00\x01\x02\n")
    problem = file_problem(path)
    assert "binary file" in problem.message
    assert "NUL" in problem.message
    assert (problem.line, problem.column) == (2, 4)


def test_random_junk_means_binary(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(random.Random(20240119).randbytes(4096))
    assert "binary file" in file_problem(path).message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nname: café\n".encode("latin-1"))
    problem = file_problem(path)
    assert "binary file" in problem.message
    assert "0xe9" in problem.message and "not UTF-8" in problem.message
    assert (problem.line, problem.column) == (2, 10)


@pytest.mark.parametrize("text", ["", "\n\n", "# only\n  # comments\n", "---\n", "--- # c\n...\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    problem = file_problem(path)
    assert problem.message.startswith("the file is empty: expected a scenario mapping")


# --- YAML that cannot be read -------------------------------------------------------------


def test_syntax_error_is_located() -> None:
    problem = only_problem("a: 1\nb: [1, 2\nc: 3\n")
    assert problem.message.startswith("invalid YAML: expected ',' or ']'")
    assert "line 2, column 4" in problem.message  # where the flow list began
    assert (problem.line, problem.column) == (3, 2)


def test_mapping_value_in_the_wrong_place() -> None:
    problem = only_problem("a: b: c\n")
    assert "mapping values are not allowed here" in problem.message
    assert (problem.line, problem.column) == (1, 5)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("units:\n\t- a\n", 2, 1),
        ("a:\n  b: 1\n\tc: 2\n", 3, 1),
        ("a:\n \tb: 1\n", 2, 2),
    ],
)
def test_tabs_for_indentation(text: str, line: int, column: int) -> None:
    problem = only_problem(text)
    assert "tabs are not allowed for indentation, use spaces" in problem.message
    assert (problem.line, problem.column) == (line, column)


def test_control_character() -> None:
    problem = only_problem("a: 1\nb: x\x07y\n")
    assert "control character U+0007" in problem.message
    assert (problem.line, problem.column) == (2, 5)


def test_duplicate_keys_name_both_lines() -> None:
    problems = problems_of("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert [(p.field, p.line, p.column) for p in problems] == [("b.c", 4, 3), ("a", 5, 1)]
    assert "duplicate key 'c': first at line 3, column 3" in problems[0].message
    assert "duplicate key 'a': first at line 1, column 1" in problems[1].message


def test_alias_is_refused() -> None:
    problem = only_problem("base: &b 1\nother: *b\n")
    assert "aliases are not supported in scenarios (found '*b')" in problem.message
    assert (problem.field, problem.line, problem.column) == ("other", 2, 8)


def test_merge_key_is_refused() -> None:
    problem = only_problem("<<: {a: 1}\nb: 2\n")
    assert "merge keys ('<<') are not supported" in problem.message
    assert (problem.line, problem.column) == (1, 1)


def test_billion_laughs_costs_nothing() -> None:
    lines = ['a0: &a0 "lol"']
    for i in range(1, 10):
        refs = ", ".join(f"*a{i - 1}" for _ in range(10))
        lines.append(f"a{i}: &a{i} [{refs}]")
    problems = problems_of("\n".join(lines) + "\n")
    assert all("aliases are not supported" in p.message for p in problems)
    assert (problems[0].line, problems[0].column) == (2, 10)
    assert len(problems) <= 50


def test_top_level_list() -> None:
    problem = only_problem("- a\n- b\n")
    expected = "expected a mapping of scenario fields at the top level, found a list"
    assert problem.message == expected
    assert (problem.line, problem.column) == (1, 1)


def test_top_level_scalar() -> None:
    message = only_problem("# c\nhello\n").message
    assert message.endswith("at the top level, found a string ('hello')")
    assert only_problem("42\n").message.endswith("found an integer (42)")


def test_several_documents() -> None:
    problem = only_problem("a: 1\n---\nb: 2\n")
    assert "second YAML document" in problem.message
    assert (problem.line, problem.column) == (2, 1)


@pytest.mark.parametrize(
    ("text", "found", "field", "line", "column"),
    [
        ("1: x\n", "an integer key '1'", "", 1, 1),
        ("a: 1\ntrue: x\n", "a boolean key 'true'", "", 2, 1),
        ("~: x\n", "an empty (null) key '~'", "", 1, 1),
        ("units:\n  - 2.5: x\n", "a number key '2.5'", "units[0]", 2, 5),
        ("? [a]\n: x\n", "a list used as a key", "", 1, 3),
        ("{a: 1}: x\n", "a mapping used as a key", "", 1, 1),
    ],
)
def test_keys_must_be_strings(text: str, found: str, field: str, line: int, column: int) -> None:
    problem = only_problem(text)
    assert problem.message.startswith(f"keys must be strings, found {found}")
    assert (problem.field, problem.line, problem.column) == (field, line, column)


def test_quoted_number_key_is_fine() -> None:
    assert read_yaml_text('"1": x\n')[0] == {"1": "x"}


def test_deep_nesting_is_refused() -> None:
    problem = only_problem("a: " + "[" * 150 + "]" * 150 + "\n")
    assert "nested more than 100 levels deep" in problem.message
    assert (problem.line, problem.column) == (1, 103)


def test_very_deep_nesting_is_no_recursion_error() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(300)) + "[" * 100_000
    assert "nested more than 100 levels deep" in only_problem(text).message


def test_depth_limit_is_inclusive() -> None:
    data, _ = read_yaml_text("a: " + "[" * 99 + "]" * 99 + "\n")
    depth, node = 0, data["a"]
    while isinstance(node, list):
        depth, node = depth + 1, node[0] if node else None
    assert depth == 99


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!python/object:os.system x\n", "the YAML tag '!!python/object:os.system' is not"),
        ("a: !custom 1\n", "the YAML tag '!custom' is not supported in scenarios"),
        ("a: !!str [1]\n", "the YAML tag '!!str' cannot mark a list"),
        ("a: !!set {x}\n", "the YAML tag '!!set' is not supported"),
    ],
)
def test_tags_are_refused(text: str, expected: str) -> None:
    problem = only_problem(text)
    assert problem.message.startswith(expected)
    assert (problem.field, problem.line, problem.column) == ("a", 1, 4)


def test_unconvertible_value_is_located() -> None:
    problem = only_problem("a: 1\nb: " + "9" * 5000 + "\n")
    assert problem.message.startswith("cannot read '999")
    assert "as an integer" in problem.message
    assert (problem.field, problem.line, problem.column) == ("b", 2, 4)
    assert "cannot read 'maybe' as a boolean" in only_problem("a: !!bool maybe\n").message


def test_unexpected_library_failure_becomes_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object, stream: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(yamlio.YAML, "parse", explode)
    problem = only_problem("a: 1\n")
    assert problem.message == "cannot read the YAML: RuntimeError: boom"


def test_several_problems_are_reported_together() -> None:
    problems = problems_of("a: *x\nb: !foo 1\nc: 1\nc: 2\n")
    assert [p.line for p in problems] == [1, 2, 4]
