"""Claims as rows of a spreadsheet (CSV or Excel), and back.

Analysts keep source logs in spreadsheets, so a scenario's claims can be written out as one
row per claim and read back without loss. The columns come from the :class:`Claim` model
itself, so that a field added to the model becomes a column with no change here:

- a plain field (text, a date, a number, a choice of words) is one column named as in the
  scenario file (``id``, ``grade``);
- a field holding a nested object is flattened into one column per field of that object,
  joined by dots (``source.publication``, ``source.date``);
- a field holding a list or a mapping (``source.via``, say) is one column holding JSON text
  (``[{"publication": "Corriere della Sera"}]``), which a spreadsheet edits as text.

An empty cell leaves the field out (its default applies). The first row names the columns,
in any order; columns may be left out. Rows are numbered as a spreadsheet shows them, the
header being row 1, and every bad cell is reported as ``claims.xlsx: row 7, column grade:
expected ...`` with the message the scenario file would give.

Dates are written as ``YYYY-MM-DD`` text; a date typed into Excel as a date is read as
well. Excel files need openpyxl, the ``claims`` extra (``pip install 'forcegen[claims]'``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from forcegen.errors import Problem, ScenarioError, UsageError
from forcegen.scenario.loader import type_members, validate
from forcegen.scenario.model import Claim
from forcegen.scenario.paths import parse_path

FORMATS = ("csv", "xlsx")
"""The spreadsheet formats read and written."""

MAX_SHEET_BYTES = 50 * 1024 * 1024
"""The largest spreadsheet file read, in bytes."""

SHEET_NAME = "claims"
"""The name of the worksheet an Excel file is written with (and read from, if present)."""

_CLAIMS_EXTRA = "reading and writing Excel files needs openpyxl, from the 'claims' extra"


@dataclass(frozen=True)
class Column:
    """One column of a claims sheet: the dotted field path, and whether it holds JSON."""

    name: str
    json: bool = False

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))


def columns(model: type[BaseModel] = Claim) -> list[Column]:
    """The columns of a sheet of ``model`` objects, in the order of the model's fields.

    Parameters
    ----------
    model
        The model of one row (:class:`Claim`).

    Returns
    -------
    list of Column
        Nested objects flattened into dotted columns; lists and mappings as JSON columns.
    """
    out: list[Column] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        nested = _nested_model(info.annotation)
        if nested is not None:
            out += [Column(f"{key}.{c.name}", c.json) for c in columns(nested)]
        else:
            out.append(Column(key, _is_container(info.annotation)))
    return out


def _nested_model(tp: Any) -> type[BaseModel] | None:
    """The model a field holds, if it holds one (or nothing), and nothing else."""
    members = [m for m in type_members(tp) if m is not type(None)]
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _is_container(tp: Any) -> bool:
    """Whether a field may hold a list, a mapping or a model (then written as JSON)."""
    for m in type_members(tp):
        origin = typing.get_origin(m) or m
        if isinstance(origin, type) and issubclass(origin, list | tuple | set | dict | BaseModel):
            return True
    return False


# --- claims to rows ---------------------------------------------------------------------


def claim_row(claim: BaseModel, cols: Sequence[Column]) -> list[Any]:
    """One claim as the cells of a row: text, numbers, or ``None`` for an empty cell."""
    data = claim.model_dump(mode="json", by_alias=True)
    row: list[Any] = []
    for col in cols:
        value: Any = data
        for part in col.path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None or (col.json and value in ([], {})):
            row.append(None)
        elif col.json:
            row.append(json.dumps(value, ensure_ascii=False))
        elif isinstance(value, bool):
            row.append("true" if value else "false")
        else:
            row.append(value)
    return row


def rows_of(claims: Iterable[BaseModel]) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of a sheet of ``claims``."""
    cols = columns()
    return [c.name for c in cols], [claim_row(c, cols) for c in claims]


def to_csv(claims: Iterable[BaseModel]) -> str:
    """The claims as CSV text (UTF-8, comma-separated, quoted where needed)."""
    header, rows = rows_of(claims)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def write_sheet(claims: Iterable[BaseModel], path: str | os.PathLike[str], fmt: str) -> Path:
    """Write the claims to a CSV or Excel file, replacing it as a whole.

    Raises
    ------
    UsageError
        For a format other than ``csv`` or ``xlsx``, or ``xlsx`` without openpyxl.
    """
    target = Path(path)
    if fmt == "csv":
        data = to_csv(claims).encode("utf-8")
    elif fmt == "xlsx":
        data = _xlsx_bytes(claims)
    else:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    from forcegen.sources.into import write_atomically

    write_atomically(target, data)
    return target


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ModuleNotFoundError:
        raise UsageError(
            f"{_CLAIMS_EXTRA}: pip install 'forcegen[claims]' "
            "(in a checkout: pip install -e '.[claims]')"
        ) from None
    return openpyxl


def _xlsx_bytes(claims: Iterable[BaseModel]) -> bytes:
    openpyxl = _openpyxl()
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    header, rows = rows_of(claims)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET_NAME
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, even when it looks like a number
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    for i, name in enumerate(header, start=1):
        longest = max([len(name)] + [len(str(r[i - 1] or "")) for r in rows])
        sheet.column_dimensions[get_column_letter(i)].width = min(max(longest, 8) + 2, 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- rows to claims ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """The rows of a claims sheet as read: the file name, and each row's number and cells."""

    name: str
    rows: list[tuple[int, dict[str, Any]]]
    """(row number as the spreadsheet shows it, nested field data) for each non-empty row."""


def sheet_format(path: str | os.PathLike[str]) -> str:
    """``csv`` or ``xlsx``, from a file name's extension."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(
            f"{os.fspath(path)}: expected a .csv or .xlsx file of claims "
            "(forcegen claims export writes one)"
        )
    return suffix


def read_sheet(path: str | os.PathLike[str]) -> Sheet:
    """Read a claims sheet (``.csv`` or ``.xlsx``) into nested field data, row by row.

    Raises
    ------
    ScenarioError
        For an unreadable file, an unknown column, or a cell that is not valid JSON where a
        JSON column needs it, each located by row and column.
    UsageError
        For a file that is not ``.csv`` or ``.xlsx``.
    """
    name = os.fspath(path)
    fmt = sheet_format(path)
    try:
        size = os.stat(name).st_size
        if size > MAX_SHEET_BYTES:
            _fail(name, f"the file is too large: {size:,} bytes, over {MAX_SHEET_BYTES:,}")
        table = _csv_table(name) if fmt == "csv" else _xlsx_table(name)
    except FileNotFoundError:
        _fail(name, "file not found: expected a sheet of claims at this path")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        _fail(name, f"cannot read the file: {exc}")
    return parse_table(table, name)


def _csv_table(name: str) -> list[list[Any]]:
    with open(name, encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def _xlsx_table(name: str) -> list[list[Any]]:
    openpyxl = _openpyxl()
    try:
        book = openpyxl.load_workbook(name, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign file is the input's problem
        _fail(name, f"cannot read the file as an Excel workbook: {exc}")
    try:
        sheet = book[SHEET_NAME] if SHEET_NAME in book.sheetnames else book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def parse_table(table: Sequence[Sequence[Any]], name: str) -> Sheet:
    """Nested field data from a table whose first row names the columns."""
    if not table or not any(_cell_text(v) for v in table[0]):
        _fail(name, "the sheet is empty: expected a first row naming the columns (id, ...)")
    known = {c.name: c for c in columns()}
    header = [_cell_text(v) for v in table[0]]
    problems = []
    seen: dict[str, int] = {}
    for i, title in enumerate(header):
        if not title:
            continue
        if title not in known:
            problems.append(
                _at(name, 1, title, f"unknown column; expected some of: {', '.join(known)}")
            )
        elif title in seen:
            problems.append(
                _at(name, 1, title, f"the column appears twice (also column {seen[title] + 1})")
            )
        seen.setdefault(title, i)
    if problems:
        raise ScenarioError(problems)
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        data: dict[str, Any] = {}
        for index, (title, cell) in enumerate(zip(header, cells, strict=False)):
            if not title:
                if _cell_text(cell):
                    message = "a value in a column with no name in row 1"
                    problems.append(_at(name, number, _letter(index), message))
                continue
            value = _cell_value(cell)
            if value is None:
                continue
            if known[title].json:
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    problems.append(
                        _at(name, number, title, f"expected JSON text (such as [...]): {exc}")
                    )
                    continue
            _put(data, known[title].path, value)
        if data:
            rows.append((number, data))
    if problems:
        raise ScenarioError(problems)
    return Sheet(name, rows)


def _letter(index: int) -> str:
    """The spreadsheet name of a 0-based column: ``A``, ..., ``Z``, ``AA``, ..."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(ord("A") + rest) + text
    return text


def _cell_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _cell_value(value: Any) -> str | None:
    """A cell as the text a scenario file would hold, or ``None`` when empty."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    return text if text.strip() else None


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def claims_of(
    sheet: Sheet, base: Mapping[str, Any] | None = None, keep: Sequence[Any] = ()
) -> list[Claim]:
    """Validate the rows of a sheet as claims, each bad cell located by row and column.

    Parameters
    ----------
    sheet
        As :func:`read_sheet` returns it.
    base
        The plain data of the scenario the claims go into, if any: validation then runs on
        the whole scenario, so that messages are those of the scenario file.
    keep
        Plain claim data placed before the sheet's rows (claims already in the scenario).

    Returns
    -------
    list of Claim
        One per row, in the order of the rows.

    Raises
    ------
    ScenarioError
        With every bad cell (``row 7, column grade: ...``) and every repeated id.
    """
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for number, data in sheet.rows:
        key = data.get("id")
        if isinstance(key, str) and key.strip() in first:
            message = f"the id {key.strip()!r} is already used on row {first[key.strip()]}"
            problems.append(_at(sheet.name, number, "id", message + "; expected each id once"))
        elif isinstance(key, str):
            first[key.strip()] = number
    data = dict(base or {})
    data["claims"] = [*keep, *(row for _, row in sheet.rows)]
    try:
        validate(data, {}, sheet.name)
    except ScenarioError as exc:
        problems += _row_problems(exc.problems, sheet, len(keep))
    if problems:
        raise ScenarioError(sorted(set(problems), key=_row_order))
    return [Claim.model_validate(row) for _, row in sheet.rows]


def _row_order(p: Problem) -> tuple[int, str, str]:
    row = p.field.partition(",")[0].removeprefix("row ")
    return (int(row) if row.isdigit() else 0, p.field, p.message)


def _row_problems(problems: Iterable[Problem], sheet: Sheet, offset: int) -> list[Problem]:
    """The problems of a whole-scenario validation that fall in the sheet's rows."""
    names = [c.path for c in columns()]
    out = []
    for p in problems:
        if not p.field.startswith("claims["):
            continue
        try:
            loc = parse_path(p.field)
        except UsageError:
            loc = ("claims",)
        if (
            len(loc) < 2
            or not isinstance(loc[1], int)
            or not offset <= loc[1] < offset + len(sheet.rows)
        ):
            continue
        number = sheet.rows[loc[1] - offset][0]
        rest = tuple(str(x) for x in loc[2:])
        column = next((".".join(n) for n in names if rest[: len(n)] == n), ".".join(rest))
        out.append(_at(sheet.name, number, column, p.message))
    return out


def _at(name: str, row: int, column: str, message: str) -> Problem:
    where = f"row {row}, column {column}" if column else f"row {row}"
    return Problem(name, None, None, where, message)


def _fail(name: str, message: str) -> typing.NoReturn:
    raise ScenarioError([Problem(name, None, None, "", message)])
