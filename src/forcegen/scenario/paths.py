"""Field paths: how a place in a scenario (a number, most often) is named.

A path is kept as a :data:`Loc`, a tuple of keys and list indices such as
``("units", 2, "count")``, and written for people as ``units[2].count``. Every face that
names a number (errors, sampling tables, checks, sensitivity inputs, requirements
searches, the report) writes and reads paths here, so that the grammar has one home.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from forcegen.errors import UsageError

Loc = tuple[str | int, ...]
"""A path into the document, such as ``("units", 2, "policy")``; ``()`` is the root."""

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_INDEXED = re.compile(r"([A-Za-z_]+)\[(\d+)\]")


def format_loc(loc: Loc) -> str:
    """Write a path as users read it: ``("units", 2, "policy")`` → ``"units[2].policy"``.

    Parameters
    ----------
    loc
        A path into the document; ``()`` gives ``""``.

    Returns
    -------
    str
        Keys joined by ``.``, list indices in brackets.
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_path(text: str) -> Loc:
    """Read a path written as :func:`format_loc` writes it: ``units[0].count``.

    Raises
    ------
    UsageError
        If ``text`` is not a path in that form.
    """
    parts: list[str | int] = []
    for name, index in _PART.findall(text):
        parts.append(int(index) if index else name)
    if not parts or format_loc(tuple(parts)) != text:
        raise UsageError(f"expected a field path such as units[0].count; found {text!r}")
    return tuple(parts)


def walk(data: Any, loc: Loc) -> Any:
    """The node at ``loc`` in plain nested data (mappings and lists, as a model dumps)."""
    node = data
    for part in loc:
        node = node[part]
    return node


def readable(path: str, scenario: object | None) -> str:
    """A field path with list indices replaced by the ids (or names) of the items, where the
    scenario gives them: ``units[0].count`` becomes ``units[ru-bn].count``."""
    if scenario is None:
        return path
    node: object = scenario
    parts = []
    for part in path.split("."):
        m = _INDEXED.fullmatch(part)
        field, index = (m.group(1), int(m.group(2))) if m else (part, None)
        node = (
            getattr(node, field, None) if not isinstance(node, Mapping) else node.get(field)  # type: ignore[union-attr]
        )
        if index is not None and isinstance(node, list) and index < len(node):
            node = node[index]
            label = getattr(node, "id", None) or getattr(node, "name", None)
            parts.append(f"{field}[{label}]" if isinstance(label, str) else part)
        else:
            parts.append(part)
            if index is not None:
                node = None
    return ".".join(parts)
