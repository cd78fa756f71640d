"""What two scenarios state differently: the input diff shown before a comparison.

Walks two validated scenarios side by side, each under its own selection of choices, and
lists every number and field on which they differ, named by path with ids
(``units[ru-bn].count``). A number is compared as the value each scenario takes under its
choices, with its distribution and the claims it cites; items of a list that have ids are
matched by id, so that an item added or removed is one change rather than a shifted list.
Free text (names, descriptions, notes) is not compared.

Numbers stay in canonical units, with the measure they are in
(:attr:`forcegen.scenario.quantities.Kind.measure`); the faces write them as people do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from forcegen.scenario.claims import choices_of
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import Loc, by_id
from forcegen.scenario.quantities import Choice, Value, kind_of

TEXT_FIELDS = frozenset({"name", "question", "description", "note", "text"})
"""Fields of free text, not compared (a position's or claim's ``name`` included)."""

_ABSENT = object()


def input_diff(
    baseline: Scenario,
    variant: Scenario,
    baseline_choices: Mapping[str, str] | None = None,
    variant_choices: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every number and field on which ``variant`` differs from ``baseline``.

    Parameters
    ----------
    baseline, variant
        The scenarios compared.
    baseline_choices, variant_choices
        The option each takes of its choices (the defaults otherwise).

    Returns
    -------
    list of dict
        In the baseline's document order, then what only the variant has. Each with
        ``path`` (by id); ``unit`` (the canonical measure of a number, ``""`` otherwise);
        ``baseline_value`` and ``variant_value`` (a number, a plain field's value, ``"(present)"``,
        ``"(added)"`` or ``"(removed)"`` for an item or section, ``null`` when absent);
        ``baseline_range`` and ``variant_range`` (the lowest and highest value of an
        uncertain number, else ``null``); ``baseline_cites`` and ``variant_cites`` (claim
        ids).
    """
    taken = (_taken(baseline, baseline_choices), _taken(variant, variant_choices))
    changes = []
    for loc, a, b in _walk(baseline, variant, ()):
        where = (baseline, loc) if a is not _ABSENT else (variant, loc)
        kind = (
            kind_of(*where)
            if isinstance(a, Value | Choice) or isinstance(b, Value | Choice)
            else None
        )
        left, right = _side(a, taken[0]), _side(b, taken[1])
        if left == right:
            continue
        changes.append(
            {
                "path": by_id(where[0], loc),
                "unit": kind.measure if kind is not None else "",
                "baseline_value": left[0],
                "variant_value": right[0],
                "baseline_range": left[1],
                "variant_range": right[1],
                "baseline_cites": list(left[2]),
                "variant_cites": list(right[2]),
            }
        )
    return changes


def _taken(scenario: Scenario, choices: Mapping[str, str] | None) -> dict[str, str]:
    taken = {name: default for name, (default, _) in choices_of(scenario).items()}
    taken.update(choices or {})
    return taken


def _side(node: Any, taken: Mapping[str, str]) -> tuple[Any, list[float] | None, tuple[str, ...]]:
    """One side of a change: (what it states, the range of an uncertain number, cites)."""
    if node is _ABSENT:
        return None, None, ()
    if isinstance(node, Choice):
        node = node.options[taken.get(node.choose, node.default)]
    if isinstance(node, Value):
        span = None if node.dist is None else [float(x) for x in node.dist.extremes(1.0)]
        return float(node.value), span, tuple(node.cites)
    if isinstance(node, BaseModel):
        return "(present)", None, ()
    return (
        node if node is None or isinstance(node, str | int | float | bool) else str(node),
        None,
        (),
    )


def _key(item: Any) -> str | None:
    key = getattr(item, "id", None)
    return key if isinstance(key, str) else None


def _fields(node: BaseModel) -> dict[str, Any]:
    return {
        info.alias or name: getattr(node, name)
        for name, info in type(node).model_fields.items()
        if name in node.model_fields_set and (info.alias or name) not in TEXT_FIELDS
    }


def _walk(a: Any, b: Any, loc: Loc) -> Iterator[tuple[Loc, Any, Any]]:
    """Pairs of leaves (numbers, plain fields) of two nodes, side by side; a side that lacks
    a node gives ``_ABSENT``."""
    if isinstance(a, Value | Choice) or isinstance(b, Value | Choice):
        yield loc, a, b
    elif isinstance(a, BaseModel) and isinstance(b, BaseModel) and type(a) is type(b):
        left, right = _fields(a), _fields(b)
        for name in [*left, *(n for n in right if n not in left)]:
            yield from _walk(left.get(name, _ABSENT), right.get(name, _ABSENT), (*loc, name))
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        keys_a, keys_b = [_key(x) for x in a], [_key(x) for x in b]
        if all(keys_a) and all(keys_b) and (keys_a or keys_b):
            by_id = {k: i for i, k in enumerate(keys_b)}
            for i, (k, item) in enumerate(zip(keys_a, a, strict=True)):
                if k in by_id:
                    yield from _walk(item, b[by_id[k]], (*loc, i))
                else:
                    yield (*loc, i), "(present)", "(removed)"
            known = set(keys_a)
            for j, k in enumerate(keys_b):
                if k not in known:
                    yield (*loc, j), _ABSENT, "(added)"
        else:
            for i in range(max(len(a), len(b))):
                yield from _walk(
                    a[i] if i < len(a) else _ABSENT, b[i] if i < len(b) else _ABSENT, (*loc, i)
                )
    elif isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in [*a, *(k for k in b if k not in a)]:
            yield from _walk(a.get(key, _ABSENT), b.get(key, _ABSENT), (*loc, key))
    else:
        yield loc, _plain(a), _plain(b)


def _plain(node: Any) -> Any:
    if node is _ABSENT or isinstance(node, Value | Choice):
        return node
    if isinstance(node, BaseModel | list | tuple | Mapping):
        return "(present)"
    return node
