"""Reading a scenario's YAML into plain data, with the line and column of every value.

Only a plain, safe subset of YAML is accepted: one document of at most :data:`MAX_BYTES`
bytes of UTF-8 text, whose top level is a mapping with string keys, without aliases or
custom tags, nested at most :data:`MAX_DEPTH` levels. Dates come back as the text written.

The data is built straight from ruamel's parser events, not through its composer and
constructor, so that an alias is refused where it is met (a YAML bomb costs no memory), depth
is checked before anything recurses, and every value's position is known. Every bad input,
and any error of the YAML library, becomes a :class:`~forcegen.errors.ScenarioError` naming
file, line, column and field; all the problems found are reported together.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.reader import ReaderError

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.paths import Loc, format_loc

Positions = dict[Loc, tuple[int, int]]
"""The 1-based ``(line, column)`` where each node's value starts, by path."""

MAX_BYTES = 2 * 1024 * 1024
"""The largest scenario file read, in bytes."""

MAX_DEPTH = 100
"""The deepest nesting of mappings and lists accepted."""

_MAX_PROBLEMS = 50
_CORE = "tag:yaml.org,2002:"
_STR = _CORE + "str"
_TEXT_TAGS = {_STR, _CORE + "timestamp"}  # dates are kept as the text written
_SCALAR_TAGS = {
    _STR: "text",
    _CORE + "timestamp": "a date",
    _CORE + "int": "an integer",
    _CORE + "float": "a number",
    _CORE + "bool": "a boolean",
    _CORE + "null": "null",
}
_BAD = object()  # a value already reported as a problem
_EMPTY = (
    "the file is empty: expected a scenario mapping of `field: value` entries, "
    "found no content (only blank lines or comments)"
)
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


def read_yaml(path: str | os.PathLike[str]) -> tuple[Any, Positions]:
    """Read a scenario YAML file into plain data and the position of every value.

    Parameters
    ----------
    path
        The file to read: UTF-8 text of at most :data:`MAX_BYTES` bytes.

    Returns
    -------
    data, positions
        ``data`` is a ``dict`` with ``str`` keys holding only ``dict``, ``list``, ``str``,
        ``int``, ``float``, ``bool`` and ``None`` (dates as the text written), in the order
        written; ``positions`` maps each value's path to its 1-based ``(line, column)``.

    Raises
    ------
    ScenarioError
        For a file that is missing, unreadable, too large, binary or not a valid scenario
        document, with every problem found.
    """
    name = os.fsdecode(path)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        _fail(name, "file not found: expected a scenario YAML file at this path")
    except (OSError, ValueError) as exc:
        _fail(name, f"cannot read the file: {_reason(exc)}")
    if stat.S_ISDIR(info.st_mode):
        _fail(name, "this is a directory: expected a scenario YAML file")
    if not stat.S_ISREG(info.st_mode):
        _fail(name, "this is not a regular file: expected a scenario YAML file")
    if info.st_size > MAX_BYTES:
        _fail(name, _too_large(info.st_size))
    try:
        with open(name, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        _fail(name, f"cannot read the file: {_reason(exc)}")
    return read_yaml_text(raw, name)


def read_yaml_text(text: str | bytes, filename: str = "<string>") -> tuple[Any, Positions]:
    """Like :func:`read_yaml`, from the text (or the UTF-8 bytes) of a scenario.

    Parameters
    ----------
    text
        The document, as text or as UTF-8 bytes.
    filename
        The name used in problems.

    Returns
    -------
    data, positions
        As for :func:`read_yaml`.

    Raises
    ------
    ScenarioError
        As for :func:`read_yaml`.
    """
    size = len(text)
    if isinstance(text, str) and size <= MAX_BYTES:
        size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        _fail(filename, _too_large(size))
    if isinstance(text, bytes):
        text = _decode(text, filename)
    elif "\0" in text:
        line, column = _text_position(text, text.index("\0"))
        _fail(filename, _binary("a NUL character"), line, column)
    text = text.removeprefix("\ufeff")
    return _Builder(filename).build(text)


def position_of(positions: Positions, loc: Loc) -> tuple[int | None, int | None]:
    """The position of ``loc``, or of its deepest prefix that has one.

    Parameters
    ----------
    positions
        As returned by :func:`read_yaml`.
    loc
        A path, possibly to a field that is not in the document (then the position of the
        mapping that lacks it is returned).

    Returns
    -------
    line, column
        1-based, or ``(None, None)`` if no prefix of ``loc`` has a position.
    """
    for end in range(len(loc), -1, -1):
        found = positions.get(tuple(loc[:end]))
        if found is not None:
            return found
    return None, None


@dataclass
class _Frame:
    """An open mapping or list while reading events."""

    loc: Loc
    value: dict[str, Any] | list[Any]
    count: int = 0  # nodes seen in it so far (keys and values alternate in a mapping)
    key: str = ""
    key_pos: tuple[int, int] = (1, 1)
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)


class _Builder:
    """Plain data and positions from the parser events of one document."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.yaml = YAML(typ="safe", pure=True)
        self.positions: Positions = {}
        self.problems: list[Problem] = []
        self.frames: list[_Frame] = []
        self.documents = 0
        self.root: Any = None
        self.empty = True

    def build(self, text: str) -> tuple[dict[str, Any], Positions]:
        """Read ``text``; raise :class:`ScenarioError` with every problem found."""
        try:
            for event in self.yaml.parse(text):
                if not self.event(event) or len(self.problems) >= _MAX_PROBLEMS:
                    break
        except Exception as exc:  # any failure of the YAML library is the input's problem
            self.problems.append(_library_problem(exc, text, self.name))
        if self.problems:
            raise ScenarioError(self.problems)
        if self.documents == 0 or self.empty:
            _fail(self.name, _EMPTY, 1, 1)
        if not isinstance(self.root, dict):
            line, column = self.positions.get((), (1, 1))
            found = _kind(self.root)
            message = f"expected a mapping of scenario fields at the top level, found {found}"
            _fail(self.name, message, line, column)
        return self.root, self.positions

    def add(self, pos: tuple[int, int], loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.name, pos[0], pos[1], format_loc(loc), message))

    def event(self, event: Any) -> bool:
        """Take one event; ``False`` when reading must stop."""
        if isinstance(event, DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.add(
                    _pos(event.start_mark),
                    (),
                    "found a second YAML document (after '---' or '...'): a scenario file "
                    "holds exactly one document; remove the separator or split the file",
                )
                return False
        elif isinstance(event, CollectionEndEvent):
            self.frames.pop()
        elif isinstance(event, NodeEvent):
            return self.node(event)
        return True

    def node(self, event: NodeEvent) -> bool:
        """Take a scalar, alias or start of a collection, wherever it stands."""
        pos = _pos(event.start_mark)
        parent = self.frames[-1] if self.frames else None
        in_map = parent is not None and isinstance(parent.value, dict)
        is_key = in_map and parent is not None and parent.count % 2 == 0
        loc: Loc
        if parent is None:
            loc = ()
            self.empty = _is_empty(event)
        elif isinstance(parent.value, dict):
            loc = parent.loc if is_key else (*parent.loc, parent.key)
        else:
            loc = (*parent.loc, parent.count)
        if parent is not None:
            parent.count += 1
        if in_map and parent is not None and _is_empty(event):
            pos = parent.key_pos  # a value left out is placed at its key
        value = self.value(event, loc, pos)
        if parent is None:
            self.root = value
            self.positions[loc] = pos
        elif is_key:
            self.key(event, value, parent, pos)
        else:
            self.positions[loc] = pos
            if isinstance(parent.value, dict):
                parent.value[parent.key] = value
            else:
                parent.value.append(value)
        if isinstance(event, CollectionStartEvent):
            inner = (*loc, "?") if is_key else loc
            self.frames.append(_Frame(inner, value))
            if len(self.frames) > MAX_DEPTH:
                self.add(
                    pos,
                    loc,
                    f"mappings and lists are nested more than {MAX_DEPTH} levels deep here: "
                    f"expected at most {MAX_DEPTH} levels",
                )
                return False
        return True

    def value(self, event: NodeEvent, loc: Loc, pos: tuple[int, int]) -> Any:
        """The plain value an event starts; ``_BAD`` after reporting a problem."""
        if isinstance(event, AliasEvent):
            self.add(
                pos,
                loc,
                f"aliases are not supported in scenarios (found '*{event.anchor}'): "
                "write the value out in full",
            )
            return _BAD
        tag = None if event.tag is None or str(event.tag) == "!" else str(event.tag)
        if isinstance(event, CollectionStartEvent):
            is_map = isinstance(event, MappingStartEvent)
            if tag not in (None, _CORE + ("map" if is_map else "seq")):
                self.bad_tag(str(tag), "a mapping" if is_map else "a list", loc, pos)
            return {} if is_map else []  # filled by the events that follow
        if tag is None:
            tag = str(self.yaml.resolver.resolve(ScalarNode, event.value, event.implicit))
        if tag == _CORE + "merge":
            message = "merge keys ('<<') are not supported in scenarios: write the fields out"
            self.add(pos, loc, message)
            return _BAD
        if tag not in _SCALAR_TAGS:
            self.bad_tag(tag, "a single value", loc, pos)
            return _BAD
        return self.scalar(event, tag, loc, pos)

    def bad_tag(self, tag: str, what: str, loc: Loc, pos: tuple[int, int]) -> None:
        """Report an explicit tag that is not allowed where it stands."""
        written = tag.replace(_CORE, "!!", 1)
        if tag in _SCALAR_TAGS or tag in (_CORE + "map", _CORE + "seq"):
            message = f"the YAML tag {written!r} cannot mark {what}: remove the tag"
        else:
            message = (
                f"the YAML tag {written!r} is not supported in scenarios: expected plain "
                "values (text, numbers, true/false, null, mappings and lists)"
            )
        self.add(pos, loc, message)

    def scalar(self, event: ScalarEvent, tag: str, loc: Loc, pos: tuple[int, int]) -> Any:
        """Convert a scalar of a supported tag; dates stay as written."""
        if tag in _TEXT_TAGS:
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        constructor = self.yaml.constructor
        try:
            return constructor.yaml_constructors[tag](constructor, node)
        except Exception as exc:  # a value the library cannot convert is the input's problem
            # drop Python's hints, such as on long integers
            reason = "not a spelling YAML accepts" if isinstance(exc, KeyError) else str(exc)
            reason = reason.split(";")[0]
            kind = _SCALAR_TAGS[tag]
            self.add(pos, loc, f"cannot read {_shorten(event.value)} as {kind}: {reason}")
            return _BAD

    def key(self, event: NodeEvent, key: Any, mapping: _Frame, pos: tuple[int, int]) -> None:
        """Record a mapping key, reporting keys that are not strings or are repeated."""
        mapping.key, mapping.key_pos = "?", pos
        if key is _BAD:
            return  # already reported
        if isinstance(event, CollectionStartEvent):
            what = "mapping" if isinstance(event, MappingStartEvent) else "list"
            self.add(pos, mapping.loc, f"keys must be strings, found a {what} used as a key")
        elif not isinstance(key, str):
            text = event.value if isinstance(event, ScalarEvent) else str(key)
            self.add(
                pos,
                mapping.loc,
                f"keys must be strings, found {_key_kind(key)} key {_shorten(text)}; "
                f'quote it ("{text}": ...) if it is a name',
            )
        else:
            mapping.key = key
            first = mapping.seen.get(key)
            if first is None:
                mapping.seen[key] = pos
            else:
                self.add(
                    pos,
                    (*mapping.loc, key),
                    f"duplicate key {_shorten(key)}: first at line {first[0]}, "
                    f"column {first[1]}; expected each key once per mapping",
                )


def _key_kind(key: Any) -> str:
    if key is None:
        return "an empty (null)"
    if isinstance(key, bool):
        return "a boolean"
    return "an integer" if isinstance(key, int) else "a number"


def _is_empty(event: NodeEvent) -> bool:
    """Whether an event is a value left out (nothing written, not even ``''``)."""
    return (
        isinstance(event, ScalarEvent)
        and event.value == ""
        and event.tag is None
        and event.style is None
    )


def _library_problem(exc: Exception, text: str, name: str) -> Problem:
    """Describe an exception raised by the YAML library as a located problem."""
    line: int | None = None
    column: int | None = None
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line, column = _pos(mark)
        tab = _tab_at(text, mark.line, mark.column) if mark is not None else None
        if tab is not None:
            message = tab
        else:
            message = f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}"
            context = exc.context_mark
            if exc.problem and exc.context:
                message += f" ({exc.context}"
                if context is not None and context is not mark:
                    message += f" at line {context.line + 1}, column {context.column + 1}"
                message += ")"
    elif isinstance(exc, ReaderError):
        if isinstance(exc.position, int):
            line, column = _text_position(text, exc.position)
        if isinstance(exc.character, int):
            message = (
                f"the text holds the control character U+{exc.character:04X}, which YAML "
                "does not allow: expected printable text"
            )
        else:
            message = f"cannot read the text: {exc}"
    elif isinstance(exc, RecursionError):
        message = "the document is nested too deeply to read"
    else:
        message = f"cannot read the YAML: {type(exc).__name__}: {exc}"
    return Problem(name, line, column, "", message)


def _tab_at(text: str, line: int, column: int) -> str | None:
    """What is wrong if a tab is in the indentation of a 0-based line, or at the column."""
    lines = _LINE_BREAK.split(text)
    if not 0 <= line < len(lines):
        return None
    current = lines[line]
    if "\t" in current[: len(current) - len(current.lstrip(" \t"))]:
        return "a tab is used for indentation: tabs are not allowed for indentation, use spaces"
    if current[column : column + 1] == "\t":
        return "a tab is not allowed here: separate with spaces instead"
    return None


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 bytes as text, refusing binary data."""
    nul = raw.find(b"\0")
    if nul >= 0:
        _fail(name, _binary("a NUL byte"), *_byte_position(raw, nul))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = f"the byte 0x{raw[exc.start]:02x}, which is not UTF-8"
        _fail(name, _binary(bad), *_byte_position(raw, exc.start))


def _binary(found: str) -> str:
    return (
        f"this looks like a binary file, not YAML text: found {found}; "
        "expected a scenario YAML file saved as UTF-8 text"
    )


def _too_large(size: int) -> str:
    return (
        f"the file is too large: {size:,} bytes ({size / 2**20:.1f} MiB), over the limit of "
        f"{MAX_BYTES:,} bytes ({MAX_BYTES / 2**20:.0f} MiB) for a scenario file"
    )


def _byte_position(raw: bytes, index: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of a byte offset."""
    start = raw.rfind(b"\n", 0, index) + 1
    column = len(raw[start:index].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, index) + 1, column


def _text_position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _kind(value: Any) -> str:
    """How a user would name the type of a plain value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({_shorten(value)})"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _shorten(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _fail(name: str, message: str, line: int | None = None, column: int | None = None) -> NoReturn:
    raise ScenarioError([Problem(name, line, column, "", message)])
