"""Variants without copies: ``extends:`` a base scenario, ``set:`` values by path, ``--set``.

A scenario may name a base file with ``extends: base.yaml`` (a path relative to the
extending file). The base is read (itself extending another, if it says so; a cycle is
refused), then every top-level key of the extending file other than ``extends`` and ``set``
replaces the base's key of the same name, whole (``name``, ``question``, ``policies``...).
Then the entries of its ``set:`` mapping, ``PATH: VALUE``, replace the node each path names
(:func:`forcegen.scenario.paths.locate`: ``units[ru-bn].count``, ``units[0].count``), in the
order written. Last, the overrides of the command line (``--set PATH=VALUE``) are applied the
same way. Values are written as in the scenario file and validated with the rest, so every
unit and check applies to them.

A value set replaces the whole node, its ``cites`` and ``note`` with it: a number set on the
command line is the user's assumption, unless written with its claims
(``--set 'units[ru-bn].count={value: 12, cites: [C3]}'``).

Every node of the merged data keeps the file, line and column it came from, so that a
problem is reported where it was written: in the base's file for a base's value, at the
``set:`` entry of the extending file for a bad path or value set there, and against the
``--set`` option itself for a command-line override.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from forcegen.errors import Problem, ScenarioError, UsageError
from forcegen.scenario.paths import Loc, locate
from forcegen.scenario.yamlio import Positions, read_yaml, read_yaml_text

EXTENDS = "extends"
SET = "set"
MAX_CHAIN = 32
"""The longest chain of ``extends`` followed."""

Where = tuple[str, int | None, int | None]
"""A file (or ``--set ...`` option) with a 1-based line and column, where known."""


@dataclass(frozen=True)
class Override:
    """One ``PATH=VALUE`` override given on the command line (or through the API)."""

    path: str
    value: Any
    """The value as plain data, read as YAML."""
    text: str
    """What the user wrote, ``PATH=VALUE``, to name the override in problems."""

    @property
    def origin(self) -> str:
        return f"--set {self.text}"


def file_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a scenario *file*, from the schema of a whole scenario: a file may
    also name a base (``extends``) and values to set (``set``), and a file that extends
    another needs none of the fields a whole scenario requires (its base gives them)."""
    out = dict(schema)
    out["properties"] = {
        **schema.get("properties", {}),
        EXTENDS: {
            "type": "string",
            "minLength": 1,
            "description": "a base scenario file, relative to this one, whose keys this "
            "file replaces",
        },
        SET: {
            "type": "object",
            "description": "values to set by path (units[ru-bn].count: 12), after the base",
        },
    }
    required = out.pop("required", None)
    if required:
        out["if"] = {"required": [EXTENDS]}
        out["else"] = {"required": required}
    return out


def parse_override(text: str) -> Override:
    """Read ``PATH=VALUE``: the value is YAML (``12``, ``2%/mo``, ``{value: 500, cites: [C3]}``).

    Raises
    ------
    UsageError
        If ``text`` has no ``=``, an empty path or value, or a value that is not YAML.
    """
    path, sep, raw = text.partition("=")
    path, raw = path.strip(), raw.strip()
    if not sep or not path or not raw:
        raise UsageError(
            f"--set {text!r}: expected PATH=VALUE, such as units[ru-bn].count=12 or "
            "'locations[front].attrition.killed=2%/mo'"
        )
    try:
        data, _ = read_yaml_text(f"value: {raw}\n", f"--set {text}")
    except ScenarioError as exc:
        reason = exc.problems[0].message if exc.problems else "not valid YAML"
        raise UsageError(f"--set {text}: expected a value written as in YAML; {reason}") from None
    return Override(path, data["value"], text)


def overrides_of(values: Iterable[str | Override] | None) -> list[Override]:
    """Overrides from ``PATH=VALUE`` texts (or overrides already read)."""
    return [v if isinstance(v, Override) else parse_override(v) for v in values or ()]


@dataclass
class Sourced:
    """Plain scenario data merged from its files and overrides, with where each node came
    from."""

    data: dict[str, Any]
    where: dict[Loc, Where] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    """Every file read, the scenario first, then its bases."""
    overrides: tuple[str, ...] = ()
    """Every path set, by ``set:`` in a file or by ``--set``, in the order applied."""

    def locate(self, loc: Loc) -> Where:
        """The file, line and column of ``loc``, or of its deepest prefix that has them."""
        for end in range(len(loc), -1, -1):
            found = self.where.get(tuple(loc[:end]))
            if found is not None:
                return found
        return (self.files[0] if self.files else "<string>", None, None)

    def replace(self, loc: Loc, value: Any, where: dict[Loc, Where]) -> None:
        """Put ``value`` at ``loc`` (keys below it: ``where`` relative to ``loc``)."""
        parent = self.data
        for part in loc[:-1]:
            if isinstance(parent, dict) and part not in parent:  # a field the file omits
                parent[part] = {}
            parent = parent[part]  # type: ignore[index]
        parent[loc[-1]] = value  # type: ignore[index]
        n = len(loc)
        self.where = {k: v for k, v in self.where.items() if k[:n] != loc}
        self.where.update({(*loc, *k): v for k, v in where.items()})


def _where(positions: Positions, filename: str, under: Loc = ()) -> dict[Loc, Where]:
    """Positions below ``under`` (relative to it), each with ``filename``."""
    n = len(under)
    return {k[n:]: (filename, *v) for k, v in positions.items() if k[:n] == under}


def _problem(where: Where, path: str, message: str) -> Problem:
    return Problem(where[0], where[1], where[2], path, message)


def _locate(data: Any, path: str) -> Loc:
    """The location of ``path`` in the data, by the scenario's one path grammar; a path whose
    last key is missing from an existing mapping names that new key."""
    try:
        return tuple(locate(data, path))
    except UsageError:
        head, dot, last = path.rpartition(".")
        if dot and head and last.isidentifier():
            try:
                parent = tuple(locate(data, head))
            except UsageError:
                pass
            else:
                node = data
                for part in parent:
                    node = node[part]
                if isinstance(node, dict) and last not in node:
                    return (*parent, last)
        raise


def _set(
    source: Sourced, path: str, value: Any, where: dict[Loc, Where], at: Where
) -> Problem | None:
    """Apply one override; a problem (located at ``at``) if its path names nothing."""
    try:
        loc = _locate(source.data, path)
    except UsageError as exc:
        return _problem(at, "", f"{path}: {exc}")
    if not loc:
        return _problem(at, "", f"{path}: expected the path of a field, not the whole scenario")
    if loc[0] in (EXTENDS, SET):
        return _problem(at, "", f"{path}: {loc[0]!r} cannot be set")
    source.replace(loc, copy.deepcopy(value), where)
    source.overrides = (*source.overrides, path)
    return None


def merge(
    data: Any,
    positions: Positions,
    filename: str,
    overrides: Sequence[str | Override] | None = None,
) -> Sourced:
    """Merge the data read from ``filename`` over its bases, apply its ``set:`` entries,
    then ``overrides``.

    Parameters
    ----------
    data, positions
        What :func:`~forcegen.scenario.yamlio.read_yaml` read from ``filename``.
    filename
        The file read; a base it extends is found relative to its folder.
    overrides
        ``PATH=VALUE`` texts (or :class:`Override` objects), applied in order.

    Raises
    ------
    ScenarioError
        For an unreadable base (its problems in its own file), a cycle or a chain too long,
        a path that names nothing (located at the ``set:`` entry or the ``--set`` option),
        with every problem found.
    """
    if not isinstance(data, dict):  # reported by validation
        return Sourced(data, _where(positions, filename), (filename,))
    source = _merge_file(data, positions, filename, ())
    return _apply_overrides(source, overrides_of(overrides))


def needs_resolving(data: Any, overrides: Sequence[object] | None) -> bool:
    """Whether data read from a file extends a base, sets values or gets overrides."""
    return bool(overrides) or (isinstance(data, dict) and (EXTENDS in data or SET in data))


def _apply_overrides(source: Sourced, overrides: Sequence[Override]) -> Sourced:
    problems = []
    for o in overrides:
        at: Where = (o.origin, None, None)
        found = _set(source, o.path, o.value, {(): at}, at)
        if found is None:
            source.overrides = (*source.overrides[:-1], o.origin)
        else:
            problems.append(
                Problem(o.origin, None, None, "", found.message.removeprefix(f"{o.path}: "))
            )
    if problems:
        raise ScenarioError(problems)
    return source


def _read_file(name: str, chain: tuple[str, ...]) -> Sourced:
    data, positions = read_yaml(name)
    if not isinstance(data, dict):
        return Sourced(data, _where(positions, name), (name,))
    return _merge_file(data, positions, name, chain)


def _merge_file(
    data: dict[str, Any], positions: Positions, name: str, chain: tuple[str, ...]
) -> Sourced:
    """The data of one file over its base (if it extends one), its ``set:`` applied."""
    me = os.path.realpath(name)
    here = _where(positions, name)
    problems: list[Problem] = []
    base_name = data.get(EXTENDS)
    sets = data.get(SET)
    if base_name is None:
        source = Sourced({}, {}, (name,))
    elif not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError(
            [
                _problem(
                    here.get((EXTENDS,), (name, None, None)),
                    EXTENDS,
                    f"expected the path of a base scenario file; found {base_name!r}",
                )
            ]
        )
    else:
        folder = os.path.dirname(name) or "."
        base = os.path.join(folder, base_name)
        at = here.get((EXTENDS,), (name, None, None))
        if os.path.realpath(base) in (*chain, me):
            cycle = " → ".join([*chain, me, os.path.realpath(base)])
            raise ScenarioError([_problem(at, EXTENDS, f"extends itself, in a cycle: {cycle}")])
        if len(chain) >= MAX_CHAIN:
            raise ScenarioError(
                [_problem(at, EXTENDS, f"expected at most {MAX_CHAIN} files extending each other")]
            )
        if not os.path.isfile(base):
            raise ScenarioError(
                [
                    _problem(
                        at,
                        EXTENDS,
                        f"base scenario not found: {base} (a path relative to this file)",
                    )
                ]
            )
        parent = _read_file(base, (*chain, me))
        source = Sourced(parent.data, parent.where, (name, *parent.files), parent.overrides)
    source.data = dict(source.data)
    if base_name is not None:
        source.where = {k: v for k, v in source.where.items() if k}
    source.where[()] = (name, 1, 1)
    for key, value in data.items():
        if key in (EXTENDS, SET):
            continue
        if key in source.data:
            source.replace((key,), value, _where(positions, name, (key,)))
        else:
            source.data[key] = value
            source.where.update({(key, *k): v for k, v in _where(positions, name, (key,)).items()})
    if sets is not None:
        at_set = here.get((SET,), (name, None, None))
        if not isinstance(sets, dict):
            raise ScenarioError(
                [_problem(at_set, SET, "expected a mapping of `PATH: VALUE` entries")]
            )
        for path, value in sets.items():
            at = here.get((SET, path), at_set)
            found = _set(source, path, value, _where(positions, name, (SET, path)), at)
            if found is not None:
                problems.append(
                    Problem(
                        found.file,
                        found.line,
                        found.column,
                        f"set.{path}",
                        found.message.removeprefix(f"{path}: "),
                    )
                )
    if problems:
        raise ScenarioError(problems)
    return source


def flattened_text(
    path: str | os.PathLike[str], overrides: Sequence[str | Override] | None = None
) -> str:
    """The text of a scenario file as it is run: the file itself if it extends nothing,
    sets nothing and gets no overrides; else one self-contained YAML document of the merged
    data (bases, ``set:`` entries and overrides applied), headed by a comment saying what it
    was made from. This is what a results folder keeps as its copy of the scenario.
    """
    name = os.fspath(path)
    data, positions = read_yaml(name)
    if not needs_resolving(data, overrides):
        with open(name, encoding="utf-8") as stream:
            return stream.read()
    source = merge(data, positions, name, overrides)
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
    stream = StringIO()
    yaml.dump(source.data, stream)
    made = ", ".join(source.files)
    lines = [f"# {name} as run, made self-contained from: {made}."]
    if source.overrides:
        lines.append("# Values set (by the set: entries of the files, then by --set):")
        lines += [f"#   {p}" for p in source.overrides]
    return "\n".join(lines) + "\n" + stream.getvalue()
