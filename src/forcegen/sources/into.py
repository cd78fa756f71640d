"""Writing claims into a scenario file, leaving the rest of the file as it was.

Only the text of the ``claims:`` block changes: everything before and after it (comments,
blank lines, the order and spelling of every other field) is kept byte for byte. Inside the
block, a claim that the import leaves as it was keeps its own text too, with the comments
above it; new and changed claims are written in the layout of the shipped scenarios.

The block is found from the positions the scenario reader gives
(:func:`forcegen.scenario.yamlio.read_yaml_text`): it runs from the line of the ``claims``
key to the last line before the next top-level field, less the blank lines and the comments
at the left margin just above that field (they belong to it). The new text is read back and
validated as a whole scenario before anything is written, and it is written atomically: to
a temporary file beside the scenario, then renamed over it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from forcegen.errors import Problem, ScenarioError, UsageError
from forcegen.scenario.loader import loads, validate
from forcegen.scenario.model import Claim, Scenario
from forcegen.scenario.overrides import EXTENDS
from forcegen.scenario.yamlio import MAX_BYTES, Positions, read_yaml_text
from forcegen.sources.sheets import Sheet, claims_of, read_sheet

Mode = Literal["new", "merge", "replace"]
"""How imported claims meet the scenario's own: ``new`` only into a scenario without claims;
``merge`` updates claims with the same id and adds the others; ``replace`` makes the sheet
the whole ``claims:`` block."""

_LINE = re.compile(r".*?(?:\r\n|[\n\r\x85\u2028\u2029]|$)", re.S)
_WIDTH = 88
_LONG = 72  # text longer than this is written folded (>-) over several lines


@dataclass
class Imported:
    """What an import did to a scenario's claims."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    written: bool = False

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts)


def import_claims(
    sheet_path: str | os.PathLike[str], scenario_path: str | os.PathLike[str], mode: Mode = "new"
) -> Imported:
    """Write the claims of a sheet into a scenario file's ``claims:`` block.

    Parameters
    ----------
    sheet_path
        A ``.csv`` or ``.xlsx`` file, as :func:`forcegen.sources.sheets.write_sheet` writes.
    scenario_path
        The scenario to write into; it must be valid before the import.
    mode
        See :data:`Mode`. ``new`` refuses a scenario that already has claims, so that
        nothing is overwritten without saying how.

    Returns
    -------
    Imported
        The ids added, updated, left unchanged and removed; ``written`` is false when the
        file's text would not change.

    Raises
    ------
    ScenarioError
        For bad rows (``claims.csv: row 7, column grade: ...``), or a scenario that is not
        valid before or would not be valid after the import; nothing is written then.
    UsageError
        For a scenario that already has claims in mode ``new``.
    """
    name = os.fspath(scenario_path)
    raw = _read(name)
    text = raw.decode("utf-8")
    data, positions = read_yaml_text(raw, name)
    inherited = _inherited_claims(data, positions, name)
    old = _old_claims(data, positions, name) if inherited is None else inherited
    sheet = read_sheet(sheet_path)
    if mode == "new" and old:
        ids = ", ".join(c.id for c in old[:5])
        more = ", ..." if len(old) > 5 else ""
        raise UsageError(
            f"{name} already has {len(old)} claims ({ids}{more}): pass --merge to "
            "update the claims with the ids of the sheet and add the others, or --replace to "
            "make the sheet the whole claims: section"
        )
    sheet_ids = {str(row.get("id", "")).strip() for _, row in sheet.rows}
    old_plain = (
        list(data.get("claims") or [])
        if inherited is None
        else [c.model_dump(mode="json", exclude_unset=True) for c in inherited]
    )
    kept = (
        [p for c, p in zip(old, old_plain, strict=True) if c.id not in sheet_ids]
        if mode == "merge"
        else []
    )
    base = {k: v for k, v in data.items() if k != "claims"}
    new = claims_of(sheet, base, keep=kept)
    result, final = _outcome(old, new, mode)
    if inherited is not None and final == old:  # the base's claims, unchanged: nothing to write
        return result
    new_text, block = replace_claims(text, data, positions, final, old)
    _check(new_text, name, final, block, sheet, new)
    if new_text == text:
        return result
    if _read(name) != raw:
        raise UsageError(f"{name} changed while the claims were imported; nothing was written")
    write_atomically(Path(name), new_text.encode("utf-8"))
    result.written = True
    return result


def _inherited_claims(data: Any, positions: Positions, name: str) -> list[Claim] | None:
    """The claims a variant (``extends:``) without a ``claims:`` block of its own takes from
    its base; ``None`` for any other file. Importing into such a variant gives it a block of
    its own only when the claims change."""
    if not isinstance(data, dict) or EXTENDS not in data or "claims" in data:
        return None
    return list(loads(_read(name).decode("utf-8"), name).claims)


def _old_claims(data: Mapping[str, Any], positions: Positions, name: str) -> list[Claim]:
    """The claims a scenario file holds now.

    The rest of the scenario need not be valid yet (its numbers may cite claims the import
    brings; the result is validated as a whole), but its claims must be.
    """
    try:
        return list(validate(data, positions, name).claims)
    except ScenarioError as exc:
        plain = data.get("claims") or []
        try:
            return [Claim.model_validate(p) for p in plain]
        except Exception:
            raise exc from None


def _outcome(
    old: Sequence[Claim], new: Sequence[Claim], mode: Mode
) -> tuple[Imported, list[Claim]]:
    """The claims after the import, in order, and what changed."""
    result = Imported()
    by_id = {c.id: c for c in new}
    final: list[Claim] = []
    seen: set[str] = set()
    for claim in old:
        if claim.id in by_id:
            incoming = by_id[claim.id]
            (result.unchanged if incoming == claim else result.updated).append(claim.id)
            final.append(incoming)
            seen.add(claim.id)
        elif mode == "merge":
            final.append(claim)
        else:
            result.removed.append(claim.id)
    for claim in new:
        if claim.id not in seen:
            result.added.append(claim.id)
            final.append(claim)
    if mode == "replace":  # the sheet's order
        final = list(new)
    return result, final


def _check(
    new_text: str,
    name: str,
    final: Sequence[Claim],
    block: tuple[int, int, int],
    sheet: Sheet,
    new: Sequence[Claim],
) -> None:
    """Read the new text back as a scenario: it must be valid and hold exactly ``final``."""
    try:
        scenario = loads(new_text, name)
    except ScenarioError as exc:
        start, old_end, new_end = block
        rows = {c.id: number for c, (number, _) in zip(new, sheet.rows, strict=True)}
        problems = [
            Problem(
                name,
                None,
                None,
                "",
                "the scenario would not be valid with these claims, so it was not written:",
            )
        ]
        for p in exc.problems:
            line = p.line
            if line is not None and line > new_end:
                line -= new_end - old_end
            elif line is not None and line >= start:
                line = None  # inside the new claims block: no such line in the file
            where = p.field
            if where.startswith("claims[") and line is None:
                index = int(where[7 : where.index("]")])
                if index < len(final) and final[index].id in rows:
                    where = f"{sheet.name} row {rows[final[index].id]}: {where}"
            problems.append(Problem(p.file, line, p.column if line else None, where, p.message))
        raise ScenarioError(problems) from None
    if list(scenario.claims) != list(final):
        raise RuntimeError("the claims written would not read back as the claims imported")


def replace_claims(
    text: str,
    data: Mapping[str, Any],
    positions: Positions,
    claims: Sequence[BaseModel],
    old: Sequence[BaseModel] = (),
) -> tuple[str, tuple[int, int, int]]:
    """The text of a scenario with its ``claims:`` block holding ``claims``.

    Parameters
    ----------
    text
        The scenario file's text.
    data, positions
        What :func:`~forcegen.scenario.yamlio.read_yaml_text` read from ``text``.
    claims
        The claims the block must hold, in order.
    old
        The claims the block holds now (validated, in order): those in ``claims`` unchanged
        keep their text.

    Returns
    -------
    text, (start, old_end, new_end)
        The new text, and the 1-based line where the block starts, the last line of the old
        block and the last line of the new one.
    """
    if not claims and "claims" not in data:
        return text, (0, 0, 0)
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    eol = "\r\n" if "\r\n" in text else "\n"
    keys = list(data)
    if "claims" in data:
        start = _key_line(lines, "claims", positions[("claims",)][0] - 1)
        later = keys[keys.index("claims") + 1 :]
        end = _key_line(lines, later[0], positions[(later[0],)][0] - 1) if later else len(lines)
        end = _trim(lines, start + 1, end)
    else:
        order = list(Scenario.model_fields)
        after = [k for k in keys if k in order and order.index(k) > order.index("claims")]
        start = _key_line(lines, after[0], positions[(after[0],)][0] - 1) if after else len(lines)
        start = _trim(lines, 0, start)
        end = start
    chunks = _chunks(lines, start, end, data, positions, old)
    indent = chunks.indent if chunks else 2
    body: list[str] = []
    for claim in claims:
        same = chunks.by_id.get(getattr(claim, "id", "")) if chunks else None
        if same is not None and same[0] == claim:
            body.append(same[1] + same[2])
        else:  # a changed claim keeps the comments above it
            body.append((same[1] if same else "") + emit_claim(claim, indent, eol))
    head = chunks.head if chunks else f"claims:{eol}"
    if not claims:
        head = f"claims: []{eol}"
    block = head + "".join(body)
    before = "".join(lines[:start])
    if before and not before.endswith(("\n", "\r")):
        before += eol
    if start == end and "claims" not in data:
        block += eol  # a blank line before the field that follows
    new_text = before + block + "".join(lines[end:])
    new_end = start + len(_LINE.findall(block)) - 1
    return new_text, (start + 1, end, new_end)


def _key_line(lines: Sequence[str], key: str, value_line: int) -> int:
    """The 0-based line of a top-level key whose value starts on ``value_line``."""
    pattern = re.compile(rf"""^(["']?){re.escape(key)}\1\s*:""")
    for i in range(min(value_line, len(lines) - 1), -1, -1):
        if pattern.match(lines[i]):
            return i
    return value_line


def _trim(lines: Sequence[str], low: int, end: int) -> int:
    """``end`` moved up over blank lines and comments at the left margin."""
    while end > low and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return end


@dataclass
class _Chunks:
    head: str
    indent: int
    by_id: dict[str, tuple[BaseModel, str, str]]
    """Claim id → (the claim, the comment lines above it, its own text)."""


def _chunks(
    lines: Sequence[str],
    start: int,
    end: int,
    data: Mapping[str, Any],
    positions: Positions,
    old: Sequence[BaseModel],
) -> _Chunks | None:
    """The text of each claim of a block-style ``claims:`` list, by id; ``None`` when the
    block is not a list written one item per ``-`` line (a flow list, say)."""
    items = data.get("claims")
    if start == end or not isinstance(items, list) or not items or len(items) != len(old):
        return None
    starts = []
    for i in range(len(items)):
        line, column = positions[("claims", i)]
        text = lines[line - 1]
        if not text[: column - 1].rstrip().endswith("-") or text[: column - 1].count("-") != 1:
            return None
        starts.append(line - 1)
    if starts[0] <= start or starts != sorted(set(starts)):
        return None
    tops = []
    for s in starts:
        top = s
        while top - 1 > start and (
            not lines[top - 1].strip() or lines[top - 1].lstrip().startswith("#")
        ):
            top -= 1
        tops.append(max(top, start + 1))
    head = "".join(lines[start : tops[0]])
    bounds = [*tops[1:], end]
    first = lines[starts[0]]
    indent = len(first) - len(first.lstrip(" "))
    by_id = {}
    for claim, top, first_line, stop in zip(old, tops, starts, bounds, strict=True):
        chunk = "".join(lines[first_line:stop])
        if not chunk.endswith(("\n", "\r")):
            chunk += "\n"
        by_id[getattr(claim, "id", "")] = (claim, "".join(lines[top:first_line]), chunk)
    return _Chunks(head, indent, by_id)


def emit_claim(claim: BaseModel, indent: int = 2, eol: str = "\n") -> str:
    """One claim as an item of a YAML block list, its ``-`` ``indent`` spaces in."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = _WIDTH
    yaml.allow_unicode = True
    plain = _plain(claim.model_dump(mode="python", by_alias=True, exclude_defaults=True))
    buffer = io.StringIO()
    yaml.dump([plain], buffer)
    out = []
    for line in buffer.getvalue().splitlines():
        out.append(" " * indent + line[2:] if indent >= 0 else line)
    return eol.join(out) + eol


def _plain(value: Any) -> Any:
    """A model dump as ruamel writes it in the scenario style: long text folded."""
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            return LiteralScalarString(value)
        if len(value) > _LONG and "  " not in value and "\t" not in value:
            return FoldedScalarString(value)
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _read(name: str) -> bytes:
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise ScenarioError([Problem(name, None, None, "", "file not found")]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError([Problem(name, None, None, "", "expected a scenario YAML file")])
    with open(name, "rb") as stream:
        raw = stream.read(MAX_BYTES + 1)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        read_yaml_text(raw, name)  # reports the bad byte, located
    return raw


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` as a whole: a temporary file beside it, then a rename.

    A reader sees the old file or the new one, never a part; the file keeps its permissions
    (a new one gets the usual ones). A link is followed: the file it points to is replaced.
    """
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise UsageError(f"{path} is a directory: expected a file to write")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
