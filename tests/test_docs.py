"""docs/format.md stays true to the schema: its examples load, and it names every field.

Every fenced ```yaml block of the format reference is read. A block that is a whole scenario
(its first line of content is ``forcegen: 1``) must load and validate like a scenario file;
any other block is a fragment and must at least be YAML that a scenario could contain (a
mapping at the top level). Every field of every object of the scenario format
(:mod:`forcegen.scenario.model`), under the name written in files (``from``, not
``from_``), must have a row in one of the reference's field tables, and every top-level key
its own section, so that a field added to the schema fails here until it is documented.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from forcegen.errors import ScenarioError
from forcegen.scenario import model
from forcegen.scenario.loader import loads
from forcegen.scenario.yamlio import read_yaml_text

FORMAT = Path(__file__).resolve().parents[1] / "docs" / "format.md"
TEXT = FORMAT.read_text(encoding="utf-8")

_FENCE = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[int, str]]:
    """(line number of the opening fence, body) of every ```yaml block, in order."""
    return [(TEXT.count("\n", 0, m.start()) + 1, m.group(1)) for m in _FENCE.finditer(TEXT)]


def _is_scenario(body: str) -> bool:
    for line in body.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return re.fullmatch(r"forcegen:\s*1(\s+#.*)?", stripped) is not None
    return False


BLOCKS = _blocks()
SCENARIOS = [(line, body) for line, body in BLOCKS if _is_scenario(body)]
FRAGMENTS = [(line, body) for line, body in BLOCKS if not _is_scenario(body)]


def _models() -> list[type[BaseModel]]:
    """Every pydantic model that the scenario format module defines."""
    return [
        cls
        for _, cls in inspect.getmembers(model, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == model.__name__
    ]


def _field_names(cls: type[BaseModel]) -> list[str]:
    """The names a scenario file uses for a model's fields: the alias where there is one."""
    return [info.alias or name for name, info in cls.model_fields.items()]


def test_the_reference_has_examples_of_both_kinds() -> None:
    # Guards the extraction itself: a changed fence style must not silently test nothing.
    assert len(SCENARIOS) >= 3
    assert len(FRAGMENTS) >= 10


@pytest.mark.parametrize(("line", "body"), SCENARIOS, ids=[f"line{n}" for n, _ in SCENARIOS])
def test_complete_scenarios_load(line: int, body: str) -> None:
    try:
        scenario = loads(body, filename=f"docs/format.md (block at line {line})")
    except ScenarioError as exc:  # pragma: no cover - the message is the diagnosis
        pytest.fail(f"the example at docs/format.md:{line} does not load:\n{exc}")
    assert scenario.forcegen == 1


@pytest.mark.parametrize(("line", "body"), FRAGMENTS, ids=[f"line{n}" for n, _ in FRAGMENTS])
def test_fragments_are_yaml(line: int, body: str) -> None:
    try:
        data, _ = read_yaml_text(body, filename=f"docs/format.md (block at line {line})")
    except ScenarioError as exc:  # pragma: no cover - the message is the diagnosis
        pytest.fail(f"the fragment at docs/format.md:{line} is not valid YAML:\n{exc}")
    assert isinstance(data, dict) and data


def test_the_schema_module_has_models() -> None:
    names = {cls.__name__ for cls in _models()}
    assert {"Scenario", "Claim", "Position", "Pipeline", "IntakeStep"} <= names


@pytest.mark.parametrize("cls", _models(), ids=lambda cls: cls.__name__)
def test_every_field_has_a_row_in_a_table(cls: type[BaseModel]) -> None:
    missing = [
        name
        for name in _field_names(cls)
        if not re.search(rf"^\| `{re.escape(name)}` \|", TEXT, re.M)
    ]
    assert not missing, (
        f"docs/format.md has no table row for {cls.__name__} field(s) {missing}: "
        "document them (a row starting `| `name` |`)"
    )


def test_aliases_are_documented_by_the_name_written_in_files() -> None:
    # IntakeStep.from_ and Wave.from_ are written `from` in a scenario.
    assert model.IntakeStep.model_fields["from_"].alias == "from"
    assert re.search(r"^\| `from` \|", TEXT, re.M)
    assert "`from_`" not in TEXT


def test_every_top_level_key_has_its_own_section() -> None:
    headings = set(re.findall(r"^## `([A-Za-z_]+)`\s*$", TEXT, re.M))
    keys = set(_field_names(model.Scenario))
    assert keys - headings == set(), f"top-level keys without a section: {keys - headings}"
    assert headings - keys == set(), f"sections for keys the schema lacks: {headings - keys}"


def test_the_units_and_tie_breaking_rules_are_stated() -> None:
    # The conventions analysts rely on most; each is a fixed rule of the engine.
    for phrase in (
        "`1mo` is 30 days",
        "`1y` is 365 days",
        "p_day = 1 − (1 − p_period) ^ (1 / days in the period)",
        "⌊*i* × *S* / *N*⌋",
        "⌊*c* × *L′* / *L*⌋",
        "`horizon` is never an assumption",
        "Defaults are not assumptions",
        "--choose",
    ):
        assert phrase in TEXT, phrase
    for heading in (
        "## The simulated day",
        "## Tie-breaking orders",
        "## Policy changes: where a switched unit lands",
        "## Common validation messages",
        "## Claims and Admiralty grades",
        "## Assumptions",
        "## Numbers",
    ):
        assert re.search(rf"^{re.escape(heading)}\s*$", TEXT, re.M), heading
