"""The results folder: its file names, the layout of each file, its writers and readers.

A folder may hold any of:

* ``results.nc``, ``summary.json``, ``runs.parquet``, ``runs.csv`` and ``scenario.yaml``
  (``forcegen run --out``);
* ``compare.json`` (``forcegen compare --out``);
* ``sensitivity.json`` (``forcegen sensitivity --out``);
* ``require.json`` (``forcegen require --out``);
* ``rules.json`` (``forcegen rules --out``);
* ``report.html`` and ``figures/`` (``forcegen report``).

Each JSON layout below is declared once, as a pydantic model, and so is each variable of
``results.nc`` (:data:`VARIABLES`, :data:`COORDINATES`): the analyses build what they write
through the layouts (their ``summary()`` methods) and :func:`read_folder` checks everything
it reads against them, and the files against each other (one run, one scenario). A reader
checks ``format`` and ``version`` first; fields may be added within a version, never renamed
or removed (``docs/summary.md``). Each problem met while reading is reported as a
:class:`~forcegen.errors.UsageError` naming the file, the field and what was expected.

A folder is written as a whole (:func:`replacing`). The writer takes a lock (``flock`` on
the sibling file ``.DIR.forcegen-lock``, released by the kernel if the writer dies), so a
second writer is refused; it writes the new files into a sibling temporary folder, links
in the files of the folder that it does not replace (the other analyses), and swaps the two
folders in one step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, whose
gap a reader waits out). A reader thus sees the old folder or the new one, never a mix; a
reader that the swap overtakes reads again. Whatever a killed writer left (temporary
folders) is removed by the next writer. Each analysis written into a folder drops the
folder's report (``report.html``, ``figures/``), which would no longer describe it.

The formats themselves (NetCDF, Parquet, CSV, JSON) live in :mod:`forcegen.export`.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from forcegen.errors import ScenarioError, UsageError
from forcegen.export import write_json, write_netcdf, write_table, write_text
from forcegen.results import SUMMARY_FORMAT, SUMMARY_VERSION
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import Value

NETCDF_NAME = "results.nc"
SUMMARY_NAME = "summary.json"
RUNS_PARQUET = "runs.parquet"
RUNS_CSV = "runs.csv"
SCENARIO_NAME = "scenario.yaml"
"""A copy of the scenario file a run was made from, so a results folder explains itself."""
COMPARE_NAME = "compare.json"
SENSITIVITY_NAME = "sensitivity.json"
REQUIRE_NAME = "require.json"
RULES_NAME = "rules.json"
REPORT_NAME = "report.html"
FIGURES_DIR = "figures"

REPORT_FILES = (REPORT_NAME, FIGURES_DIR)
"""The report of a folder; every analysis written into the folder drops it."""
RUN_FILES = (NETCDF_NAME, SUMMARY_NAME, RUNS_PARQUET, RUNS_CSV, SCENARIO_NAME)
"""What ``forcegen run --out`` writes, replaced together (a run without a scenario copy
drops the old copy)."""

SENSITIVITY_INDICES = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu_star", "mu_star_conf", "sigma"),
}
"""The index columns of each sensitivity method, in the order they are shown."""


# --- the variables of results.nc ----------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """What a variable of ``results.nc`` must be: its dimensions and the kind of its values
    (``"float"``: finite numbers; ``"int"``: whole numbers; ``"bool"``; ``"text"``;
    ``"date"``)."""

    dims: tuple[str, ...]
    kind: Literal["float", "int", "bool", "text", "date"]
    required: bool = True


_RDF = ("run", "day", "force")
VARIABLES: dict[str, Variable] = {
    "strength": Variable((*_RDF, "location"), "float"),
    "filled": Variable(("run", "day", "demand"), "float"),
    "required": Variable(("run", "day", "demand"), "float"),
    "units_in_position": Variable(("run", "day", "position"), "int"),
    "units_deployed": Variable(_RDF, "int"),
    "units_active": Variable(_RDF, "int"),
    "losses": Variable((*_RDF, "cause"), "float"),
    "flows": Variable((*_RDF, "flow"), "float"),
    "stocks": Variable((*_RDF, "stock"), "float"),
    "pipeline_flows": Variable(("run", "day", "pipeline", "measure"), "float"),
    "reservoir_level": Variable(("run", "day", "reservoir"), "float"),
    "deployed_days": Variable(("run", "unit"), "int"),
    "active_days": Variable(("run", "unit"), "int"),
    "initial_strength": Variable(("run", "force"), "float"),
    "unit_position": Variable(("run", "day", "unit"), "int", required=False),
    "unit_strength": Variable(("run", "day", "unit"), "float", required=False),
    "inputs": Variable(("run", "input"), "float", required=False),
}
"""The data variables of ``results.nc`` (:func:`forcegen.results.build_dataset`); besides
these, ``choice_<name>`` variables hold text per run."""

COORDINATES: dict[str, Variable] = {
    "run": Variable(("run",), "int"),
    "day": Variable(("day",), "int"),
    "date": Variable(("day",), "date"),
    **{
        name: Variable((name,), "text")
        for name in (
            "force",
            "location",
            "demand",
            "position",
            "cause",
            "flow",
            "stock",
            "pipeline",
            "measure",
            "reservoir",
            "unit",
        )
    },
    "demand_location": Variable(("demand",), "text"),
    "demand_measure": Variable(("demand",), "text"),
    "position_location": Variable(("position",), "text"),
    "position_deployed": Variable(("position",), "bool"),
    "pipeline_force": Variable(("pipeline",), "text"),
    "unit_group": Variable(("unit",), "text"),
    "unit_force": Variable(("unit",), "text"),
    "unit_type": Variable(("unit",), "text"),
}
"""The coordinates of ``results.nc``: labels of each dimension and what they relate to."""

_KINDS = {"float": "fiu", "int": "iu", "bool": "biu", "text": "OUS", "date": "M"}
_KIND_WORDS = {
    "float": "numbers",
    "int": "whole numbers",
    "bool": "true/false values",
    "text": "text labels",
    "date": "dates",
}


# --- layouts ------------------------------------------------------------------------------


class Layout(BaseModel):
    """A JSON layout: declared fields are checked, further fields are kept as they are.

    Numbers must be finite (JSON's ``NaN`` and ``Infinity`` are refused); a figure that
    cannot be computed is ``null``.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    def plain(self) -> dict[str, Any]:
        """The layout as plain JSON-able data (what ``--format json`` prints)."""
        return self.model_dump(mode="json")


Share = Annotated[float, Field(ge=0, le=1)]
"""A share (of runs, of days, a quantile level): a number from 0 to 1."""
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0)]
Band = list[float | None]


def _number(value: Any) -> bool:
    """Whether a JSON value is a finite number or ``null``."""
    if value is None:
        return True
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_extra_numbers(
    rows: list[Layout], where: str, names: Callable[[Layout], Collection[str]]
) -> None:
    for i, row in enumerate(rows):
        extra = row.model_extra or {}
        for name in names(row):
            if name not in extra:
                raise ValueError(f"field {where}.{i}.{name}: expected a number; it is missing")
            if not _number(extra[name]):
                raise ValueError(
                    f"field {where}.{i}.{name}: expected a number or null; "
                    f"found {json.dumps(extra[name])[:60]}"
                )


def finite(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``row`` with every NaN or infinite float as ``None`` (JSON ``null``)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table (its index as columns) as dicts, non-finite numbers as ``None``."""
    return [finite(r) for r in table.reset_index().to_dict(orient="records")]


class ScenarioMeta(Layout):
    """The scenario a run was made from, as ``summary.json`` and ``results.nc`` record it."""

    name: str
    question: str | None = None
    start: dt.date
    horizon_days: int = Field(ge=1)


class RunMeta(Layout):
    """The settings of a run."""

    runs: int = Field(ge=1)
    seed: int = Field(default=0, ge=0)
    deterministic: bool = False
    lhs: bool = False
    choices: dict[str, str] = {}


class ClaimMeta(Layout):
    """A claim cited by the numbers a run used, with the field paths that cite it."""

    id: str
    grade: str
    attribution: str
    attributed_to: str | None = None
    source: str | None = None
    date: str | None = None
    paraphrase: str
    used_by: list[str]


class Meta(Layout):
    """The attribute ``forcegen_meta`` of ``results.nc`` (a JSON string)."""

    forcegen_version: str = ""
    scenario: ScenarioMeta
    run: RunMeta
    claims: list[ClaimMeta]
    assumptions: list[str]
    pipeline_reservoirs: dict[str, list[str]] = {}


class SummaryRun(RunMeta):
    quantiles: list[Share]


class SummaryDemand(Layout):
    id: str
    location: str
    measure: Literal["people", "units"]
    required: Amount | None
    days_active: Count
    coverage_mean: Amount | None
    days_fully_covered_mean: Amount | None
    share_of_days_fully_covered: Share | None = None
    coverage_q: Band | None = None
    days_fully_covered_q: Band | None = None
    p_fully_covered_min: Share | None = None

    @model_validator(mode="after")
    def _within_days(self) -> SummaryDemand:
        days = self.days_fully_covered_mean
        if days is not None and days > self.days_active + 1e-6:
            raise ValueError(
                f"days_fully_covered_mean {days:g} is more than days_active {self.days_active}"
            )
        return self


class SummaryStrength(Layout):
    force: str
    location: str
    mean: Amount | None
    q: Band = []


class SummaryForce(Layout):
    force: str
    deployed_to_dwell: Amount | None
    units_deployed_mean: Amount | None = None
    people_start: Amount | None
    people_end_mean: Amount | None
    losses_mean: dict[str, Amount | None]
    losses_q: dict[str, Band] = {}
    people_end_q: Band | None = None
    wounded_out_mean: float | None = None
    gains_mean: dict[str, float | None] = {}
    end_stocks_mean: dict[str, float | None] = {}


class SummaryPipeline(Layout):
    id: str
    force: str
    recruits_mean: Amount | None = None
    graduates_mean: Amount | None = None
    in_training_end_mean: Amount | None = None


class SummaryReservoir(Layout):
    id: str
    end_mean: float | None = None
    end_min: float | None = None
    drawn_mean: float | None = None


class SummaryFile(Layout):
    """``summary.json``: :meth:`forcegen.results.Results.summary` (``docs/summary.md``)."""

    format: Literal["forcegen-summary"] = SUMMARY_FORMAT
    version: Literal[1] = SUMMARY_VERSION
    scenario: ScenarioMeta
    run: SummaryRun
    demands: list[SummaryDemand]
    strength: list[SummaryStrength]
    forces: list[SummaryForce]
    pipelines: list[SummaryPipeline] = []
    reservoirs: list[SummaryReservoir] = []
    claims: list[ClaimMeta]
    assumptions: list[str]


class CompareRow(Layout):
    """One figure of one variant; ``difference_q<level>`` fields hold the bands."""

    variant: str
    figure: str
    baseline_mean: float | None
    variant_mean: float | None
    difference_mean: float | None
    share_of_runs_higher: Share | None


class CompareFile(Layout):
    """``compare.json``: :meth:`forcegen.analysis.Comparison.summary`."""

    format: Literal["forcegen-comparison"] = "forcegen-comparison"
    version: Literal[1] = 1
    baseline: str
    variants: list[str] = Field(min_length=1)
    quantiles: list[Share] = Field(min_length=1)
    runs: int = Field(ge=1)
    rows: list[CompareRow]

    @model_validator(mode="after")
    def _rows_of_listed_variants(self) -> CompareFile:
        for i, row in enumerate(self.rows):
            if row.variant not in self.variants:
                raise ValueError(
                    f"field rows.{i}.variant: expected one of the variants listed "
                    f"({', '.join(self.variants)}); found {json.dumps(row.variant)[:60]}"
                )
        bands = [f"difference_q{q * 100:g}" for q in (min(self.quantiles), max(self.quantiles))]
        _check_extra_numbers(list(self.rows), "rows", lambda _: bands)
        return self


class SensitivityRow(Layout):
    """One input; the index fields of the method (:data:`SENSITIVITY_INDICES`) beside."""

    input: str
    claims: str
    grades: str


class SensitivityFile(Layout):
    """``sensitivity.json``: :meth:`forcegen.analysis.Sensitivity.summary`."""

    format: Literal["forcegen-sensitivity"] = "forcegen-sensitivity"
    version: Literal[1] = 1
    scenario: str
    output: str
    method: Literal["sobol", "morris"]
    runs: int = Field(ge=1)
    description: str
    inputs: list[SensitivityRow]

    @model_validator(mode="after")
    def _indices_are_numbers(self) -> SensitivityFile:
        columns = SENSITIVITY_INDICES[self.method]
        _check_extra_numbers(list(self.inputs), "inputs", lambda _: columns)
        return self


class Evaluation(Layout):
    value: float
    share_of_runs_meeting_target: Share


class RequireFile(Layout):
    """``require.json``: :meth:`forcegen.analysis.Requirement.summary`."""

    format: Literal["forcegen-requirement"] = "forcegen-requirement"
    version: Literal[1] = 1
    scenario: str = ""
    field: str
    demand: str
    direction: Literal["least", "most"]
    value: float | None
    met: bool
    days: Share = 1.0
    probability: Share = 0.9
    low: float | None = None
    high: float | None = None
    runs: Count = 0
    evaluations: list[Evaluation]


class RuleUnit(Layout):
    """One unit's figures, means over runs; ``most_deployed_in_<n>d`` fields beside."""

    unit: str
    force: str
    deployed_to_dwell: Amount | None
    longest_deployment: Amount


class Breach(Layout):
    unit: str
    rule: str
    limit: float
    worst: float
    share_of_runs: Share


class RulesFile(Layout):
    """``rules.json``: :meth:`forcegen.analysis.RuleCheck.summary`."""

    format: Literal["forcegen-rules"] = "forcegen-rules"
    version: Literal[1] = 1
    scenario: str = ""
    runs: Count = 0
    units: list[RuleUnit]
    breaches: list[Breach]

    @model_validator(mode="after")
    def _windows_are_numbers(self) -> RulesFile:
        def windows(row: Layout) -> list[str]:
            return [k for k in row.model_extra or {} if k.startswith("most_deployed_in_")]

        _check_extra_numbers(list(self.units), "units", windows)
        return self


class FindingRow(Layout):
    kind: str
    message: str
    fields: list[str]
    claims: list[str]


class CheckFile(Layout):
    """What ``forcegen check --format json`` prints: :meth:`forcegen.analysis.Findings.summary`."""

    format: Literal["forcegen-check"] = "forcegen-check"
    version: Literal[1] = 1
    scenario: str
    choices: dict[str, str]
    findings: list[FindingRow]


L = TypeVar("L", bound=Layout)

FILE_OF_FORMAT = {
    "forcegen-comparison": COMPARE_NAME,
    "forcegen-sensitivity": SENSITIVITY_NAME,
    "forcegen-requirement": REQUIRE_NAME,
    "forcegen-rules": RULES_NAME,
}
"""The file of the results folder that holds each analysis summary, by its ``format``."""


# --- writing a folder as a whole ----------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@cache
def _renameat2() -> Any:
    """The C library's ``renameat2``, or ``None`` where there is none (not Linux, old libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step; ``False`` where the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _key(name: str) -> str:
    """The stem of the hidden sibling names of a folder (short enough for any file name)."""
    if len(name.encode()) <= 180:
        return f".{name}.forcegen"
    return f".{hashlib.sha256(name.encode()).hexdigest()[:24]}.forcegen"


def _siblings(path: Path, kind: str) -> list[Path]:
    prefix = f"{_key(path.name)}-{kind}-"
    try:
        return [p for p in path.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return []


def _usable(out: str | os.PathLike[str]) -> Path:
    """Check that ``out`` names a folder that can be written; returns it, links followed."""
    shown = os.fspath(out)
    if shown == "":
        raise UsageError("--out: expected a folder name; found an empty one")
    try:
        path = Path(os.path.realpath(shown))
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {shown}: expected a folder, found a file")
        if path.name == "":
            raise UsageError(f"--out {shown}: expected a folder below the root")
        ancestor = path.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise UsageError(f"--out {shown}: {ancestor} is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise UsageError(f"--out {shown}: the folder {ancestor} is not writable")
    except OSError as exc:
        raise UsageError(f"--out {shown}: cannot use this path ({exc.strerror or exc})") from None
    return path


def check_out(out: str | os.PathLike[str]) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written (empty, a file, a path
    too long, a folder without write permission)."""
    _usable(out)


@contextmanager
def _locked(path: Path, shown: str) -> Iterator[None]:
    lock = path.parent / f"{_key(path.name)}-lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise UsageError(f"--out {shown}: cannot create {lock} ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"--out {shown}: another forcegen command is writing this folder; "
                "try again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _clean(path: Path) -> None:
    """Remove what killed writers left beside ``path``: restore the old folder if a writer
    died between the two renames of the fallback swap, then delete the temporary folders."""
    if not os.path.lexists(path):
        old = sorted(_siblings(path, "old"))
        if old:
            os.rename(old[0], path)
    for leftover in _siblings(path, "new") + _siblings(path, "old"):
        shutil.rmtree(leftover, ignore_errors=True)


def _leftover(name: str) -> bool:
    """Whether a name inside a folder is a temporary file of a killed per-file write."""
    return name.startswith(".") and name.endswith(".tmp")


def _link(src: str, dst: Path) -> None:
    """Carry a file or folder over into the new folder: hard links where possible."""
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    elif os.path.isdir(src):
        os.mkdir(dst)
        shutil.copymode(src, dst)
        for entry in os.scandir(src):
            _link(entry.path, dst / entry.name)
    else:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst)


def _carry_over(old: Path, new: Path, replaced: Collection[str]) -> None:
    if not old.is_dir():
        return
    for entry in os.scandir(old):
        if entry.name in replaced or _leftover(entry.name) or os.path.lexists(new / entry.name):
            continue
        _link(entry.path, new / entry.name)


def _swap(new: Path, path: Path) -> None:
    """Put the folder ``new`` in the place of ``path``; remove the old one."""
    if not os.path.lexists(path):
        os.rename(new, path)
        return
    if _exchange(new, path):
        shutil.rmtree(new, ignore_errors=True)  # now the old folder
        return
    old = Path(tempfile.mkdtemp(prefix=f"{_key(path.name)}-old-", dir=path.parent))
    os.rename(path, old)  # replaces the empty folder just made
    os.rename(new, path)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def replacing(out: str | os.PathLike[str], replaced: Collection[str]) -> Iterator[Path]:
    """Write a results folder as a whole: yields an empty temporary folder to write into.

    When the block ends without error, the entries of the old folder that the block did not
    write and that are not named in ``replaced`` are linked into the new one, and the new
    folder takes the old one's place in one step. On error (or a kill) the old folder stays
    as it was. A second writer of the same folder meanwhile is refused (:class:`UsageError`).

    Parameters
    ----------
    out
        The results folder (created if needed, with its parents).
    replaced
        Names of the old folder's entries that the new folder drops if the block did not
        write them (the files of the analysis being written, and the stale report).
    """
    shown = os.fspath(out)
    path = _usable(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {shown}: cannot create the folder ({exc.strerror})") from None
    with _locked(path, shown):
        _clean(path)
        new = Path(tempfile.mkdtemp(prefix=f"{_key(path.name)}-new-", dir=path.parent))
        try:
            if path.is_dir():
                shutil.copymode(path, new)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(new, 0o777 & ~umask)
            yield new
            _carry_over(path, new, replaced)
            _swap(new, path)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise


@contextmanager
def named(out: str | os.PathLike[str], name: str) -> Iterator[None]:
    """Report a write error in the temporary folder under the file's final name."""
    try:
        yield
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(Path(out) / name)) from None


def write_results(
    ds: xr.Dataset,
    summary: dict[str, Any],
    out: str | os.PathLike[str],
    per_run: pd.DataFrame | None = None,
    scenario_text: str | None = None,
) -> list[Path]:
    """Write ``results.nc``, ``summary.json``, the per-run table (``runs.parquet``,
    ``runs.csv``) and a copy of the scenario (``scenario.yaml``) into a folder, as one set
    that replaces the previous run's (and drops the folder's report); the files of other
    analyses stay. Returns the paths written."""
    writers: list[tuple[str, Callable[[Path], None]]] = [
        (NETCDF_NAME, lambda p: write_netcdf(ds, p)),
        (SUMMARY_NAME, lambda p: write_json(summary, p)),
    ]
    if per_run is not None:
        writers += [
            (RUNS_PARQUET, lambda p: write_table(per_run, p)),
            (RUNS_CSV, lambda p: write_table(per_run, p)),
        ]
    if scenario_text is not None:
        writers.append((SCENARIO_NAME, lambda p: write_text(scenario_text, p)))
    with replacing(out, (*RUN_FILES, *REPORT_FILES)) as new:
        for name, writer in writers:
            with named(out, name):
                writer(new / name)
    folder = Path(out)
    return [folder / name for name, _ in writers]


def write_summary(summary: Mapping[str, Any], out: str | os.PathLike[str]) -> Path:
    """Write an analysis summary into its file of the folder ``out`` (``compare.json``,
    ``sensitivity.json``, ``require.json`` or ``rules.json``, by its ``format``), dropping
    the folder's report; returns the path written."""
    name = FILE_OF_FORMAT.get(str(summary.get("format")))
    if name is None:
        raise UsageError(f"no file of the results folder holds a {summary.get('format')!r}")
    with replacing(out, (name, *REPORT_FILES)) as new, named(out, name):
        write_json(summary, new / name)
    return Path(out) / name


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folder:
    """What a results folder holds; ``None`` where a part is absent."""

    path: Path
    results: xr.Dataset | None
    summary: dict[str, Any] | None
    scenario: Scenario | None
    compare: CompareFile | None
    sensitivity: SensitivityFile | None
    require: RequireFile | None = None
    rules: RulesFile | None = None
    meta: Meta | None = None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: expected JSON text; found bytes that are not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}:{exc.lineno}:{exc.colno}: expected JSON; {exc.msg.lower()}"
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None


def _validate(data: Any, layout: type[L], where: str) -> L:
    try:
        return layout.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        n = len(exc.errors())
        more = f" ({n} problem(s) in all)"
        if not first["loc"] and first["type"] == "value_error":
            raise UsageError(f"{where}: {first['ctx']['error']}{more}") from None
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        if first["type"] == "value_error":
            raise UsageError(f"{where}: field {field}: {first['ctx']['error']}{more}") from None
        found = first.get("input")
        shown = "an object" if isinstance(found, dict) else json.dumps(found, default=str)[:60]
        raise UsageError(
            f"{where}: field {field}: {first['msg'].lower()}; found {shown}{more}"
        ) from None


def read_layout(path: str | os.PathLike[str], layout: type[L]) -> L:
    """Read a JSON file and check it against its layout."""
    path = Path(path)
    return _validate(_json(path), layout, str(path))


def _check_variable(path: Path, ds: xr.Dataset, name: str, spec: Variable, what: str) -> None:
    var = ds[name]
    if var.dims != spec.dims:
        raise UsageError(
            f"{path}: {what} {name}: expected dimensions ({', '.join(spec.dims)}); "
            f"found ({', '.join(map(str, var.dims))})"
        )
    if var.size and var.dtype.kind not in _KINDS[spec.kind]:
        raise UsageError(
            f"{path}: {what} {name}: expected {_KIND_WORDS[spec.kind]}; found {var.dtype}"
        )
    if spec.kind == "float" and var.size and not np.isfinite(var.values).all():
        raise UsageError(f"{path}: {what} {name}: expected finite numbers; found NaN or infinity")


def read_results(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open ``results.nc`` (a folder or the file itself) and check it against
    :data:`VARIABLES`, :data:`COORDINATES` and its attribute ``forcegen_meta`` (:class:`Meta`)."""
    return _read_results(path)[0]


def _read_results(path: str | os.PathLike[str]) -> tuple[xr.Dataset, Meta]:
    path = Path(path)
    if path.is_dir():
        path = path / NETCDF_NAME
    if not path.is_file():
        raise UsageError(f"{path.parent}: expected a results folder containing {NETCDF_NAME}")
    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except Exception as exc:  # h5py and xarray raise many kinds for a damaged file
        raise UsageError(
            f"{path}: expected a NetCDF file written by forcegen run --out; cannot read it "
            f"({type(exc).__name__}: {exc})"
        ) from None
    missing = [v for v, spec in VARIABLES.items() if spec.required and v not in ds.data_vars]
    missing += [c for c in COORDINATES if c not in ds.coords]
    if missing or "forcegen_meta" not in ds.attrs:
        what = ", ".join(missing) if missing else "the attribute forcegen_meta"
        raise UsageError(f"{path}: expected the results of forcegen run; missing {what}")
    for name, spec in COORDINATES.items():
        _check_variable(path, ds, name, spec, "coordinate")
    for name, spec in VARIABLES.items():
        if name in ds.data_vars:
            _check_variable(path, ds, name, spec, "variable")
    for name in ds.data_vars:
        if str(name).startswith("choice_"):
            _check_variable(path, ds, str(name), Variable(("run",), "text"), "variable")
    for dim in ("run", "day"):
        if ds.sizes[dim] < 1:
            raise UsageError(f"{path}: dimension {dim}: expected at least one; found none")
    raw = ds.attrs["forcegen_meta"]
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: attribute forcegen_meta: expected a JSON object")
    meta = _validate(data, Meta, f"{path}: attribute forcegen_meta")
    if meta.run.runs != ds.sizes["run"]:
        raise UsageError(
            f"{path}: attribute forcegen_meta: field run.runs: says {meta.run.runs} run(s); "
            f"the dimension run holds {ds.sizes['run']}"
        )
    if meta.scenario.horizon_days != ds.sizes["day"]:
        raise UsageError(
            f"{path}: attribute forcegen_meta: field scenario.horizon_days: says "
            f"{meta.scenario.horizon_days}; the dimension day holds {ds.sizes['day']}"
        )
    return ds, meta


def _check_summary(
    path: Path, summary: SummaryFile, ds: xr.Dataset | None, meta: Meta | None
) -> None:
    """Refuse a ``summary.json`` of another run than ``results.nc``."""
    if ds is None or meta is None:
        return
    runs = ds.sizes["run"]
    if summary.run.runs != runs:
        raise UsageError(
            f"{path}: field run.runs: says {summary.run.runs} run(s); {NETCDF_NAME} holds "
            f"{runs}: the files come from different runs"
        )
    for field in ("name", "start", "horizon_days"):
        if getattr(summary.scenario, field) != getattr(meta.scenario, field):
            raise UsageError(
                f"{path}: field scenario.{field}: says {getattr(summary.scenario, field)}; "
                f"{NETCDF_NAME} says {getattr(meta.scenario, field)}: the files come from "
                "different runs"
            )
    demands = {str(d) for d in ds.demand.values}
    for i, d in enumerate(summary.demands):
        if d.id not in demands:
            raise UsageError(
                f"{path}: field demands.{i}.id: {d.id!r} is not a demand of {NETCDF_NAME}"
            )


def _check_scenario(path: Path, scenario: Scenario, meta: Meta | None) -> None:
    """Refuse a ``scenario.yaml`` of another scenario than the results."""
    if meta is None:
        return
    theirs = meta.scenario
    found = {"name": scenario.name, "start": scenario.start}
    horizon = scenario.horizon
    if isinstance(horizon, Value) and horizon.dist is None:
        found["horizon"] = round(horizon.value)
    expected = {"name": theirs.name, "start": theirs.start, "horizon": theirs.horizon_days}
    for field, value in found.items():
        if value != expected[field]:
            raise UsageError(
                f"{path}: field {field}: {value} here, but the results in {NETCDF_NAME} are "
                f"of {expected[field]}: the copy is of another scenario"
            )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def read_folder(folder: str | os.PathLike[str]) -> Folder:
    """Read and check what a results folder holds, and that its files agree.

    A folder swapped while it was read (a writer finished meanwhile) is read again, so the
    answer is all old or all new.
    """
    path = Path(folder)
    for _ in range(50):
        before = _identity(path)
        if before is None and (_siblings(path, "old") or _siblings(path, "new")):
            time.sleep(0.02)  # a writer between the two renames of the fallback swap
            continue
        try:
            read = _read_once(path)
        except (UsageError, ScenarioError):
            if _identity(path) == before:
                raise
            continue
        if _identity(path) == before:
            return read
    raise UsageError(f"{path}: the folder kept changing while it was read; try again")


def _read_once(path: Path) -> Folder:
    if not path.is_dir():
        raise UsageError(
            f"{path}: expected a results folder; "
            + ("found a file" if path.exists() else "there is no such folder")
        )
    parts = (NETCDF_NAME, *FILE_OF_FORMAT.values())
    if not any((path / name).is_file() for name in parts):
        raise UsageError(
            f"{path}: expected {NETCDF_NAME} (forcegen run --out), {COMPARE_NAME}, "
            f"{SENSITIVITY_NAME}, {REQUIRE_NAME} or {RULES_NAME} (forcegen compare, "
            "sensitivity, require or rules with --out); found none of them"
        )
    ds, meta = _read_results(path) if (path / NETCDF_NAME).is_file() else (None, None)
    summary = None
    if (path / SUMMARY_NAME).is_file():
        data = _json(path / SUMMARY_NAME)
        if not isinstance(data, dict) or data.get("format") != SUMMARY_FORMAT:
            raise UsageError(f"{path / SUMMARY_NAME}: field format: expected {SUMMARY_FORMAT!r}")
        checked = _validate(data, SummaryFile, str(path / SUMMARY_NAME))
        _check_summary(path / SUMMARY_NAME, checked, ds, meta)
        summary = checked.plain()
    scenario = None
    if (path / SCENARIO_NAME).is_file():
        scenario = load(path / SCENARIO_NAME)
        _check_scenario(path / SCENARIO_NAME, scenario, meta)

    def part(name: str, layout: type[L]) -> L | None:
        return read_layout(path / name, layout) if (path / name).is_file() else None

    return Folder(
        path=path,
        results=ds,
        summary=summary,
        scenario=scenario,
        compare=part(COMPARE_NAME, CompareFile),
        sensitivity=part(SENSITIVITY_NAME, SensitivityFile),
        require=part(REQUIRE_NAME, RequireFile),
        rules=part(RULES_NAME, RulesFile),
        meta=meta,
    )
