"""The schema is the loader's: every form the loader accepts, ``forcegen schema`` accepts.

Checked with a JSON Schema validator (``jsonschema``) against the JSON that
``forcegen schema`` prints:

- every shipped scenario and every YAML example of ``docs/format.md`` (whole scenarios
  against the whole schema; fragments key by key against the schema of that key);
- each written form of each kind of number (bare, with a unit, ``{value, cites, note,
  widen}``, each distribution, a choice), put into a scenario at a field of that kind: the
  loader must accept the scenario, and so must the schema;
- for random text, whatever a kind's reader accepts, that kind's schema accepts, and text
  no reader accepts is refused by the schema too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import changed, merge, scenario_data, yaml_text
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError
from typer.testing import CliRunner

from forcegen.cli import app
from forcegen.scenario.loader import loads
from forcegen.scenario.overrides import merge as variant_of
from forcegen.scenario.quantities import Duration, Fraction, Hazard, Kind, Rate
from forcegen.scenario.yamlio import read_yaml_text

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
FORMAT_TEXT = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
_FENCE = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BLOCKS = [
    (FORMAT_TEXT.count("\n", 0, m.start()) + 1, m.group(1)) for m in _FENCE.finditer(FORMAT_TEXT)
]


def _schema() -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


SCHEMA = _schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _at(*path: str) -> jsonschema.protocols.Validator:
    """A validator for the schema of one field, such as ``("UnitGroup", "strength")``."""
    node = SCHEMA["$defs"][path[0]]["properties"][path[1]]
    return jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], **node})


def _errors(validator: jsonschema.protocols.Validator, data: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(data)]


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_every_shipped_scenario_is_valid_against_the_schema(path: Path) -> None:
    data, positions = read_yaml_text(path.read_text(encoding="utf-8"), str(path))
    assert _errors(VALIDATOR, data) == []  # as written: a variant's extends and set too
    merged = variant_of(data, positions, str(path)).data
    assert _errors(VALIDATOR, merged) == []


def test_a_variant_file_needs_no_field_of_a_whole_scenario() -> None:
    assert _errors(VALIDATOR, {"extends": "base.yaml", "set": {"units[a].count": 3}}) == []
    assert _errors(VALIDATOR, {"set": {"units[a].count": 3}}) != []  # no base: a whole one


# A fragment of docs/format.md whose top-level key is not a section of a scenario shows a
# number of one kind; this names a field of that kind.
FRAGMENT_FIELDS = {
    "strength": ("UnitGroup", "strength"),
    "killed": ("Attrition", "killed"),
    "training": ("Pipeline", "training"),
    "size": ("Reservoir", "size"),
    "recruits": ("IntakeStep", "rate"),
    "people": ("Demand", "people"),
    "duration": ("Position", "duration"),
}


@pytest.mark.parametrize(("line", "body"), BLOCKS, ids=[f"line{n}" for n, _ in BLOCKS])
def test_every_example_of_the_format_is_valid_against_the_schema(line: int, body: str) -> None:
    data, _ = read_yaml_text(body, f"docs/format.md:{line}")
    if "forcegen" in data:  # a whole scenario
        assert _errors(VALIDATOR, data) == []
        return
    for key, value in data.items():
        if key in SCHEMA["properties"]:
            node = SCHEMA["properties"][key]
            validator = jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], **node})
        else:
            assert key in FRAGMENT_FIELDS, f"docs/format.md:{line}: which field is {key!r}?"
            validator = _at(*FRAGMENT_FIELDS[key])
        assert _errors(validator, value) == [], f"docs/format.md:{line}, {key}"


# --- each form of each kind of number -------------------------------------------------------

PIPELINE = {
    "reservoirs": [{"id": "r", "per_100k": 50, "population": 1_000_000}],
    "pipelines": [
        {"id": "p", "force": "blue", "reservoir": "r", "into": "replacements",
         "intake": [{"from": "0d", "rate": 10}]},
    ],
}  # fmt: skip


def _set_duration(x: Any) -> dict[str, Any]:
    return scenario_data(
        policies=merge([{"positions": [{"duration": x}, {"duration": "30d"}]}]), horizon="400d"
    )


def _set_hazard(x: Any) -> dict[str, Any]:
    return scenario_data(locations=merge([{"attrition": {"killed": x}}]))


def _set_fraction(x: Any) -> dict[str, Any]:
    return scenario_data(
        locations=merge([{"attrition": {"wounded": 0.001, "return_share": x, "recovery": "10d"}}])
    )


def _set_rate(x: Any) -> dict[str, Any]:
    return scenario_data(**changed(PIPELINE, pipelines=merge([{"intake": [{"rate": x}]}])))


def _set_per_100k(x: Any) -> dict[str, Any]:
    return scenario_data(**changed(PIPELINE, reservoirs=[{"id": "r", "per_100k": x,
                                                          "population": 1_000_000}]))  # fmt: skip


def _set_count(x: Any) -> dict[str, Any]:
    return scenario_data(demands=merge([{"people": x}]))


def _set_phase(x: Any) -> dict[str, Any]:
    return scenario_data(units=merge([{"phase": x}]))


def _set_start(x: Any) -> dict[str, Any]:
    return scenario_data(demands=merge([{"start": x}]))


def _uncertain(points: list[Any]) -> list[Any]:
    """Every uncertain and sourced form of a number, from three of its points in order."""
    low, mid, high = points
    return [
        {"value": mid},
        {"value": mid, "cites": [], "note": "a note", "widen": False},
        {"pert": [low, mid, high], "note": "three points"},
        {"triangular": [low, mid, high], "widen": False},
        {"uniform": [low, high], "cites": []},
        {"lognormal": {"median": mid, "p90": high}},
        {"choose": "pick", "default": "a",
         "options": {"a": mid, "b": {"value": low, "cites": []}, "c": {"uniform": [low, high]}}},
        {"choose": "pick", "default": "a", "weights": {"a": 1, "b": 2},
         "options": {"a": mid, "b": high}},
        {"about": mid, "cites": [], "note": "about"},
        {"between": [low, high], "widen": False},
        {"at_least": low},
        {"at_most": high, "note": "no more than"},
        {"at_least": low, "at_most": high},
        {"choose": "pick", "default": "a", "options": {"a": {"about": mid}, "b": high}},
    ]  # fmt: skip


FORMS: dict[str, tuple[Any, list[Any]]] = {
    "duration": (
        _set_duration,
        [30, 30.0, "30", "30d", " 30d ", "30 d", "4w", "1mo", "1.0mo", "3e1d", "1y", "0.5mo",
         "6 months", "a month", "2 weeks", "10 days", "1 year", "1,000 days",
         *_uncertain(["20d", "30d", "6w"])],
    ),
    "hazard": (
        _set_hazard,
        [0, 0.001, 1e-4, "0.001", "0.1%", "0.1%/d", "2%/mo", " 2 % / mo ", "10%/y", "1e-3",
         "5e-2/w", "0.5 %/w", "50%/6mo", "1.5% per month", "1.5%/month", "20%/2 years",
         *_uncertain(["1%/mo", "2%/mo", "4%/mo"])],
    ),
    "fraction": (
        _set_fraction,
        [0, 0.5, 1, 1.0, "50%", " 50 %", "5e1%", "+50%", "50.%", ".5%", "1_0%", "100%",
         *_uncertain(["20%", 0.3, "40%"])],
    ),
    "rate": (
        _set_rate,
        [200, 200.5, "200", "200/d", "1500/w", "6000/mo", " 6000 / mo ", "1e3/y", "12.5/d",
         "6,000/mo", "6000 per month", "900/3mo", "1,500 per 2 weeks",
         *_uncertain(["100/d", "3000/mo", "300/d"])],
    ),
    "per_100k": (_set_per_100k, [50, 12.5, "1,500", "12.5", *_uncertain([10, 50, 90])]),
    "count": (_set_count, [1000, 1000.0, "1,000", " 1000 ",
                           *_uncertain([900, 1000, "1,100"])]),
    "phase": (
        _set_phase,
        ["even", 0, 10, 10.0, "10", "10d", " 10 d", "1w", "0.5mo",
         *_uncertain(["0d", "10d", "20d"])],
    ),
    "start (a day)": (
        _set_start, ["10d", 10, "2023-01-10", "2023-02", "2 weeks", {"value": "10d", "cites": []}]
    ),
}  # fmt: skip

CASES = [(kind, i, form) for kind, (_, forms) in FORMS.items() for i, form in enumerate(forms)]


@pytest.mark.parametrize(("kind", "i", "form"), CASES, ids=[f"{k}-{i}" for k, i, _ in CASES])
def test_each_form_the_loader_accepts_the_schema_accepts(kind: str, i: int, form: Any) -> None:
    text = yaml_text(FORMS[kind][0](form))
    loads(text, f"{kind} form {form!r}")  # the loader accepts it ...
    data, _ = read_yaml_text(text)
    assert _errors(VALIDATOR, data) == [], f"{kind} form {form!r}"  # ... and so does the schema


# --- the text forms, property-based ---------------------------------------------------------

READERS: list[tuple[str, Kind]] = [
    ("duration", Duration()),
    ("hazard", Hazard()),
    ("fraction", Fraction()),
    ("rate", Rate()),
]
TEXT = st.text(alphabet="0123456789.eE+-_%/ dwmoy", max_size=10)


def _reads(kind: Kind, text: str) -> bool:
    try:
        kind.parse(text)
    except (PydanticCustomError, ValueError, OverflowError):
        return False
    return True


@pytest.mark.parametrize(("name", "kind"), READERS, ids=[n for n, _ in READERS])
@settings(max_examples=400, deadline=None)
@given(text=TEXT)
def test_text_a_reader_accepts_the_schema_accepts(name: str, kind: Kind, text: str) -> None:
    if _reads(kind, text):
        validator = jsonschema.Draft202012Validator(kind.json_schema)
        assert validator.is_valid(text), f"{name}: {text!r} is read but refused by the schema"


@pytest.mark.parametrize(
    ("name", "kind", "text"),
    [
        ("duration", Duration(), "30 dayz"),
        ("duration", Duration(), "d30"),
        ("duration", Duration(), "2%/mo"),
        ("hazard", Hazard(), "2%/fortnight"),
        ("hazard", Hazard(), "%2"),
        ("rate", Rate(), "6000 a month"),
        ("rate", Rate(), "6000/mo/d"),
        ("fraction", Fraction(), "half"),
        ("fraction", Fraction(), "50"),
    ],
)
def test_text_no_reader_accepts_the_schema_refuses(name: str, kind: Kind, text: str) -> None:
    assert not _reads(kind, text)
    assert not jsonschema.Draft202012Validator(kind.json_schema).is_valid(text)


def test_phase_offers_every_duration_form_and_even() -> None:
    phase = SCHEMA["$defs"]["UnitGroup"]["properties"]["phase"]
    duration = SCHEMA["$defs"]["Pipeline"]["properties"]["training"]
    forms = [json.dumps(f, sort_keys=True) for f in phase["anyOf"]]
    assert '{"const": "even"}' in forms
    for form in duration["anyOf"]:
        assert json.dumps(form, sort_keys=True) in forms
