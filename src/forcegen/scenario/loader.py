"""Loading a scenario file: YAML with positions → validated :class:`Scenario`.

All problems are collected and raised together as one :class:`~forcegen.errors.ScenarioError`,
each with file, line, column, field path and what was expected against what was found.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.claims import Loc
from forcegen.scenario.model import Scenario
from forcegen.scenario.references import check_references
from forcegen.scenario.yamlio import Positions, format_loc, position_of, read_yaml, read_yaml_text

_CUSTOM = {"count", "duration", "hazard", "fraction", "quantity", "date", "grade", "choice_default"}


def load(path: str | os.PathLike[str]) -> Scenario:
    """Read, validate and cross-check a scenario file.

    Raises
    ------
    ScenarioError
        With every problem found, each located in the file.
    """
    data, positions = read_yaml(path)
    return validate(data, positions, os.fspath(path))


def loads(text: str, filename: str = "<string>") -> Scenario:
    """Like :func:`load`, from the text of a scenario."""
    data, positions = read_yaml_text(text, filename)
    return validate(data, positions, filename)


def validate(data: Any, positions: Positions, filename: str) -> Scenario:
    """Validate plain data read from ``filename`` into a :class:`Scenario`."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(_schema_findings(exc), positions, filename)) from None
    findings = check_references(scenario)
    if findings:
        raise ScenarioError(_problems(findings, positions, filename))
    return scenario


def _problems(
    findings: Iterable[tuple[Loc, str]], positions: Positions, filename: str
) -> list[Problem]:
    out = []
    for loc, message in findings:
        line, column = position_of(positions, loc)
        out.append(Problem(filename, line, column, format_loc(loc), message))
    return sorted(set(out), key=lambda p: (p.line or 0, p.column or 0, p.field, p.message))


def _field_type(model: Any, loc: Loc) -> Any:
    """The model class found by following ``loc`` through the type annotations, if any."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    return _unwrap(current, None)


def _unwrap(tp: Any, part: str | int | None) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], part)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = _unwrap(arg, part)
            if found is not None:
                return found
        return None
    if part is None:
        return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
    if origin in (list, tuple) and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict and isinstance(part, str):
        return typing.get_args(tp)[1]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        field = tp.model_fields.get(part)
        return None if field is None else _annotation(tp, part)
    return None


def _annotation(model: type[BaseModel], name: str) -> Any:
    hints = typing.get_type_hints(model, include_extras=True)
    return hints[name]


def _members(tp: Any) -> list[Any]:
    """The alternatives a type annotation allows, with Annotated and unions flattened."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    """Drop pydantic's union-member tags (``Value``, ``function-before[...]``) from a loc.

    A part is kept when it indexes a list, keys a mapping, or names a field (known or not)
    of a model the type at that point allows; anything else is a tag.
    """
    out: list[str | int] = []
    current: Any = Scenario
    for part in loc:
        if current is None:
            out.append(part)
            continue
        members = _members(current)
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        lists = [m for m in members if typing.get_origin(m) in (list, tuple)]
        dicts = [m for m in members if typing.get_origin(m) is dict]
        if isinstance(part, int) and lists:
            out.append(part)
            current = typing.get_args(lists[0])[0]
        elif isinstance(part, str) and any(part in m.model_fields for m in models):
            model = next(m for m in models if part in m.model_fields)
            out.append(part)
            current = _annotation(model, part)
        elif isinstance(part, str) and dicts:
            out.append(part)
            current = typing.get_args(dicts[0])[1]
        elif isinstance(part, str) and models and not _is_tag(part):
            out.append(part)  # an unknown field: extra_forbidden
            current = None
    return tuple(out)


def _is_tag(part: str) -> bool:
    return part in {"Value", "Choice", "date", "int", "str", "float", "bool"} or "[" in part


def _found(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: dict[str, Any], loc: Loc) -> str:
    kind = error["type"]
    if kind in _CUSTOM:
        return error["msg"]
    if kind == "missing":
        return f"missing required field {loc[-1]!r}" if loc else "missing required field"
    if kind == "extra_forbidden":
        parent = _field_type(Scenario, loc[:-1])
        name = str(loc[-1])
        if parent is not None:
            known = list(parent.model_fields)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"unknown field {name!r}{hint}; expected one of: {', '.join(known)}"
        return f"unknown field {name!r}"
    text = error["msg"]
    if text.startswith("Input should be "):
        text = "expected " + text[len("Input should be ") :]
    elif text.startswith("Value error, "):
        text = text[len("Value error, ") :]
    elif text.startswith("String should match pattern"):
        text = "expected an identifier: a letter, then letters, digits, '_', '-' or '.'"
    else:
        text = text[0].lower() + text[1:]
    return f"{text}; found {_found(error.get('input'))}"


def _schema_findings(exc: ValidationError) -> list[tuple[Loc, str]]:
    by_loc: dict[Loc, tuple[int, str]] = {}
    for error in exc.errors(include_url=False):
        loc = _clean_loc(error["loc"])
        message = _message(error, loc)
        rank = 0 if error["type"] in _CUSTOM else (2 if error["type"] == "missing" else 1)
        if loc not in by_loc or rank < by_loc[loc][0]:
            by_loc[loc] = (rank, message)
    # A union error reported at a loc also reports its members' errors below that loc; keep
    # the deepest, most specific ones.
    return [(loc, msg) for loc, (_, msg) in by_loc.items()]
