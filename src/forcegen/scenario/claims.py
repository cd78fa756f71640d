"""Which numbers rest on which claims, which are assumptions, and which are choices.

Walks a scenario's quantities with their field paths, so that every face can say where a
claim is used and which numbers nobody sourced.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from forcegen.errors import UsageError
from forcegen.scenario.paths import Loc, format_loc
from forcegen.scenario.quantities import Choice, Quantity, Value, resolve

NOT_CLAIMS: frozenset[Loc] = frozenset({("horizon",)})
"""Numbers that are settings of the analysis, not statements about the world."""


def iter_quantities(node: object, loc: Loc = ()) -> Iterator[tuple[Loc, Quantity]]:
    """Every quantity in a scenario object, with its path, in document order."""
    if isinstance(node, Value | Choice):
        yield loc, node
    elif isinstance(node, BaseModel):
        # Only what the file states: defaults are not numbers anybody wrote down.
        for name, info in type(node).model_fields.items():
            if name in node.model_fields_set:
                yield from iter_quantities(getattr(node, name), (*loc, info.alias or name))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from iter_quantities(item, (*loc, i))
    elif isinstance(node, Mapping):
        for key, item in node.items():
            yield from iter_quantities(item, (*loc, key))


_WALKED: dict[int, tuple[weakref.ref[BaseModel], tuple[tuple[Loc, Quantity], ...]]] = {}


def quantities(scenario: BaseModel) -> tuple[tuple[Loc, Quantity], ...]:
    """:func:`iter_quantities` of a whole scenario, walked once per scenario object (models
    are frozen, so the walk cannot change): a simulation asks for it several times."""
    key = id(scenario)
    hit = _WALKED.get(key)
    if hit is not None and hit[0]() is scenario:
        return hit[1]
    walk = tuple(iter_quantities(scenario))
    _WALKED[key] = (weakref.ref(scenario, lambda _, key=key: _WALKED.pop(key, None)), walk)
    return walk


@dataclass(frozen=True)
class Sourcing:
    """How the numbers of a scenario, under one selection of choices, are sourced."""

    used: dict[str, list[str]]
    """Claim id → field paths of the numbers that cite it."""
    assumptions: list[str]
    """Field paths of numbers that cite no claim."""
    choices: dict[str, str]
    """Choice name → the option taken."""


def choices_of(scenario: BaseModel) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Choice name → (default option, the options offered), over the whole scenario."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for _, q in quantities(scenario):
        if isinstance(q, Choice) and q.choose not in out:
            out[q.choose] = (q.default, tuple(q.options))
    return out


def check_choices(scenario: BaseModel, choices: Mapping[str, str] | None) -> dict[str, str]:
    """The selection of choices as a dict, each named choice and option checked to exist.

    Raises
    ------
    UsageError
        If the scenario offers no choice of a given name, or the choice no such option.
    """
    offered = choices_of(scenario)
    for name, option in (choices or {}).items():
        if name not in offered:
            known = ", ".join(sorted(offered)) or "none"
            raise UsageError(f"unknown choice {name!r}: this scenario offers {known}")
        if option not in offered[name][1]:
            raise UsageError(
                f"choice {name!r} has no option {option!r}: expected one of "
                f"{', '.join(offered[name][1])}"
            )
    return dict(choices or {})


def sourcing(scenario: BaseModel, choices: Mapping[str, str] | None = None) -> Sourcing:
    """The claims used and the assumptions made under a selection of choices."""
    used: dict[str, list[str]] = {}
    assumptions: list[str] = []
    taken = {name: default for name, (default, _) in choices_of(scenario).items()}
    taken.update(choices or {})
    for loc, q in quantities(scenario):
        if loc in NOT_CLAIMS:
            continue
        r = resolve(q, taken)
        path = format_loc(loc)
        if r.is_assumption:
            assumptions.append(path)
        for claim in r.cites:
            used.setdefault(claim, []).append(path)
    return Sourcing(used=used, assumptions=assumptions, choices=taken)
