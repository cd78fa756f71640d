"""Field paths: how a place in a scenario (a number, most often) is named.

A path is kept as a :data:`Loc`, a tuple of keys and list indices such as
``("units", 2, "count")``, and written for people as ``units[2].count``. Every face that
names a number (errors, sampling tables, checks, sensitivity inputs, requirements
searches, the report) writes and reads paths here, so that the grammar has one home.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from forcegen.errors import UsageError

Loc = tuple[str | int, ...]
"""A path into the document, such as ``("units", 2, "policy")``; ``()`` is the root."""

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


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
    """A field path written by :func:`by_id`: ``units[0].count`` becomes
    ``units[ru-bn].count``. A path the scenario does not have comes back as it is."""
    if scenario is None:
        return path
    try:
        return by_id(scenario, locate(scenario, path))
    except UsageError:
        return path


# --- Paths by id ---------------------------------------------------------------------------

_MISSING = object()  # a field the data does not state (raw data) but its type declares
_SHOWN = 12  # how many ids, keys or fields an error lists


def _members(tp: Any) -> list[Any]:
    """The types a declared type allows, out of ``Annotated`` and unions."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, UnionType):
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [tp]


def _shape(tp: Any, node: Any) -> tuple[str, Any]:
    """What a node is, from its value where it is a model and from its declared type
    otherwise: ``("model", cls)``, ``("list", item type)``, ``("mapping", value type)``, or
    ``("other", None)`` for numbers, text and shapes the type does not say."""
    if isinstance(node, BaseModel):
        return "model", type(node)
    members = _members(tp)
    tp = members[0]
    origin = get_origin(tp)
    if len(members) > 1:
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if isinstance(node, list | tuple):
            members = [m for m in members if get_origin(m) in (list, tuple)]
        elif isinstance(node, Mapping):
            dicts = [m for m in members if get_origin(m) is dict]
            # A choice is told by its ``choose`` key; other mappings by the fields they use.
            fitting = [m for m in models if set(node) <= _fields(m).keys()]
            if "choose" in node:
                fitting = [m for m in models if "choose" in _fields(m)] or fitting
            members = fitting[:1] or dicts[:1] or models[:1]
        elif node is _MISSING or node is None:
            members = models[:1] or [m for m in members if m is not type(None)][:1]
        if len(members) != 1:
            return "other", None
        tp = members[0]
        origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "model", tp
    if origin in (list, tuple):
        args = get_args(tp)
        return "list", args[0] if args else None
    if origin is dict:
        args = get_args(tp)
        return "mapping", args[1] if len(args) == 2 else None
    if isinstance(node, list | tuple):
        return "list", None
    if isinstance(node, Mapping):
        return "mapping", None
    return "other", None


def _fields(model: type[BaseModel]) -> dict[str, str]:
    """A model's fields as written (alias or name) → attribute name."""
    return {(info.alias or name): name for name, info in model.model_fields.items()}


def _label(item: Any) -> str | None:
    """The id of a list item, or its name (positions), if it has one."""
    for key in ("id", "name"):
        value = item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)
        if isinstance(value, str):
            return value
    return None


def _labels(items: Sequence[Any]) -> list[str | None]:
    """Each item's label, or ``None`` where it has none or shares it with another item."""
    labels = [_label(item) for item in items]
    counts: dict[str | None, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return [label if counts[label] == 1 else None for label in labels]


def _listing(names: Sequence[object]) -> str:
    shown = ", ".join(str(n) for n in names[:_SHOWN])
    return shown + (", ..." if len(names) > _SHOWN else "") if shown else "none"


def _root_type(root: object) -> Any:
    if isinstance(root, BaseModel):
        return type(root)
    from forcegen.scenario.model import Scenario  # the data is a scenario's, as YAML gives it

    return Scenario


def _tokens(text: str) -> list[tuple[str, str]]:
    """Split a path into dotted names (``("name", ...)``) and brackets (``("item", ...)``)."""
    out: list[tuple[str, str]] = []
    pos = 0
    example = "such as units[ru-bn].count or units[0].count"
    while pos < len(text):
        if text[pos] == "[":
            end = text.find("]", pos)
            inside = text[pos + 1 : end] if end > 0 else ""
            if end < 0 or not inside.strip() or "[" in inside:
                raise UsageError(
                    f"expected a field path {example}; {text!r} has an unclosed or empty "
                    f"[...] at character {pos + 1}"
                )
            out.append(("item", inside.strip()))
            pos = end + 1
            continue
        if out:
            if text[pos] != ".":
                raise UsageError(
                    f"expected a field path {example}; {text!r} has {text[pos]!r} at "
                    f"character {pos + 1} where '.' or '[' should be"
                )
            pos += 1
        end = min(
            (i for i in (text.find(".", pos), text.find("[", pos)) if i >= 0), default=len(text)
        )
        name = text[pos:end]
        if not name.strip() or "]" in name:
            raise UsageError(
                f"expected a field path {example}; {text!r} has an empty or broken name at "
                f"character {pos + 1}"
            )
        out.append(("name", name.strip()))
        pos = end
    if not out:
        raise UsageError(f"expected a field path {example}; found an empty path")
    return out


def locate(root: object, text: str) -> Loc:
    """Read a path written by id (or by index) into the :data:`Loc` it names.

    The grammar: names separated by dots; ``[...]`` after a list selects the item whose
    ``id`` (``name`` for positions) is the text, or the item at a whole-number index;
    ``[...]`` after a mapping selects a key, and so does a dotted name
    (``attrition_by_type[wg-assault].killed`` and ``attrition_by_type.wg-assault.killed``
    name the same number); an option of a choice is ``....strength.options.report``.

    Parameters
    ----------
    root
        A :class:`~forcegen.scenario.model.Scenario`, or a scenario's plain data as YAML
        gives it (nested mappings and lists; fields it does not state but the format
        declares may still be named).
    text
        The path, such as ``units[ru-bn].count`` or ``units[0].count``.

    Returns
    -------
    Loc
        List items by index (``int``), fields and mapping keys as text.

    Raises
    ------
    UsageError
        If ``text`` is not a path, or names a field, item or key the data does not have:
        the message names the part that failed and what exists there.
    """
    tokens = _tokens(text.strip())
    node: Any = root
    tp: Any = _root_type(root)
    loc: list[str | int] = []
    i = 0
    while i < len(tokens):
        how, part = tokens[i]
        shape, inner = _shape(tp, node)
        where = by_id(root, tuple(loc)) or "the scenario"
        if shape == "list":
            if how == "name":
                raise UsageError(
                    f"{where} is a list: select an item with [id] or [index], such as "
                    f"{where}[{_first_label(node)}]; found .{part}"
                )
            items = node if isinstance(node, list | tuple) else []
            labels = _labels(items)
            if part.isdigit():
                index = int(part)
                if index >= len(items):
                    raise UsageError(
                        f"{where} has no item {index}; it has {len(items)} item"
                        f"{'s' if len(items) != 1 else ''}"
                    )
            elif part in labels:
                index = labels.index(part)
            else:
                named = [lb for lb in labels if lb is not None]
                what = "ids" if any(_label_key(it) == "id" for it in items) else "names"
                raise UsageError(
                    f"{where} has no item {part!r}; "
                    + (
                        f"{what} are: {_listing(named)}"
                        if named
                        else f"it has {len(items)} items, by index"
                    )
                )
            loc.append(index)
            node, tp = items[index], inner
            i += 1
        elif shape == "mapping":
            keys = [str(k) for k in node] if isinstance(node, Mapping) else []
            key = part
            if how == "name" and key not in keys:
                # A key with dots (ids may have them) is written dotted over several names.
                for j in range(len(tokens), i + 1, -1):
                    run = tokens[i:j]
                    if all(h == "name" for h, _ in run) and ".".join(p for _, p in run) in keys:
                        key, i = ".".join(p for _, p in run), j - 1
                        break
            if key not in keys:
                raise UsageError(f"{where} has no key {key!r}; keys are: {_listing(keys)}")
            loc.append(key)
            node, tp = node[next(k for k in node if str(k) == key)], inner
            i += 1
        elif shape == "model":
            fields = _fields(inner)
            if how == "item" or part not in fields:
                what = f"[{part}]" if how == "item" else repr(part)
                raise UsageError(
                    f"{where} has no {'item' if how == 'item' else 'field'} {what}; "
                    f"fields are: {_listing(list(fields))}"
                )
            loc.append(part)
            if isinstance(node, BaseModel):
                node = getattr(node, fields[part])
            elif isinstance(node, Mapping):
                node = node.get(part, _MISSING)
            else:
                node = _MISSING
            tp = inner.model_fields[fields[part]].annotation
            i += 1
        else:
            raise UsageError(
                f"{where} is a single value: it has no "
                f"{'item' if how == 'item' else 'field'} {part!r}"
            )
    return tuple(loc)


def _label_key(item: Any) -> str | None:
    for key in ("id", "name"):
        value = item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)
        if isinstance(value, str):
            return key
    return None


def _first_label(items: Any) -> str:
    if isinstance(items, list | tuple) and items:
        return _labels(items)[0] or "0"
    return "0"


def by_id(root: object, loc: Loc) -> str:
    """A path written with ids where list items have them: ``units[ru-bn].count``.

    Items without an id (or name), or whose id is not unique, are written by index; keys
    of a mapping in brackets (``attrition_by_type[wg-assault]``), except the options of a
    choice, which are dotted (``strength.options.report``). :func:`locate` reads the text
    back into ``loc``.

    Parameters
    ----------
    root
        A scenario, or its plain data as YAML gives it.
    loc
        A path into it; parts it does not have are written as :func:`format_loc` would.
    """
    node: Any = root
    tp: Any = _root_type(root)
    out = ""
    dotted_keys = False
    for part in loc:
        shape, inner = _shape(tp, node)
        if shape == "list" and isinstance(part, int):
            items = node if isinstance(node, list | tuple) else []
            label = _labels(items)[part] if 0 <= part < len(items) else None
            out += f"[{label if label is not None else part}]"
            node = items[part] if 0 <= part < len(items) else _MISSING
            tp = inner
            dotted_keys = False
        elif shape == "mapping" and not isinstance(part, int):
            out += f".{part}" if dotted_keys else f"[{part}]"
            node = node.get(part, _MISSING) if isinstance(node, Mapping) else _MISSING
            tp = inner
            dotted_keys = False
        elif shape == "model" and isinstance(part, str):
            out += f".{part}" if out else part
            fields = _fields(inner)
            if part in fields:
                if isinstance(node, BaseModel):
                    node = getattr(node, fields[part])
                else:
                    node = node.get(part, _MISSING) if isinstance(node, Mapping) else _MISSING
                tp = inner.model_fields[fields[part]].annotation
            else:
                node, tp = _MISSING, None
            dotted_keys = part == "options" and "choose" in fields
        else:  # the data does not go this way: write the rest as it is
            rest = format_loc((part,))
            out += rest if isinstance(part, int) or not out else f".{rest}"
            node, tp = _MISSING, None
    return out
