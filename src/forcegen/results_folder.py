"""The results folder: its file names, the layout of each JSON file, its writers and readers.

A folder may hold any of:

* ``results.nc``, ``summary.json``, ``runs.parquet``, ``runs.csv`` and ``scenario.yaml``
  (``forcegen run --out``);
* ``compare.json`` (``forcegen compare --out``);
* ``sensitivity.json`` (``forcegen sensitivity --out``);
* ``require.json`` (``forcegen require --out``);
* ``rules.json`` (``forcegen rules --out``).

Each JSON layout below is declared once, as a pydantic model: the analyses build what they
write through it (their ``summary()`` methods) and :func:`read_folder` checks what it reads
against it. A reader checks ``format`` and ``version`` first; fields may be added within a
version, never renamed or removed (``docs/summary.md``).

The formats themselves (NetCDF, Parquet, CSV, JSON, each written atomically) live in
:mod:`forcegen.export`. Each problem met while reading is reported as a
:class:`~forcegen.errors.UsageError` naming the file, the field and what was expected.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, ValidationError

from forcegen.errors import UsageError
from forcegen.export import write_json, write_netcdf, write_table, write_text
from forcegen.results import SUMMARY_FORMAT
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario

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

REQUIRED_VARIABLES = (
    "strength",
    "filled",
    "required",
    "losses",
    "pipeline_flows",
    "reservoir_level",
    "units_deployed",
)
"""Variables of ``results.nc`` that the report draws from."""

SENSITIVITY_INDICES = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu_star", "mu_star_conf", "sigma"),
}
"""The index columns of each sensitivity method, in the order they are shown."""


# --- layouts ------------------------------------------------------------------------------


class Layout(BaseModel):
    """A JSON layout: declared fields are checked, further fields are kept as they are."""

    model_config = ConfigDict(extra="allow")

    def plain(self) -> dict[str, Any]:
        """The layout as plain JSON-able data (what ``--format json`` prints)."""
        return self.model_dump(mode="json")


def finite(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``row`` with every NaN or infinite float as ``None`` (JSON ``null``)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table (its index as columns) as dicts, non-finite numbers as ``None``."""
    return [finite(r) for r in table.reset_index().to_dict(orient="records")]


class CompareRow(Layout):
    """One figure of one variant; ``difference_q<level>`` fields hold the bands."""

    variant: str
    figure: str
    baseline_mean: float | None
    variant_mean: float | None
    difference_mean: float | None
    share_of_runs_higher: float | None


class CompareFile(Layout):
    """``compare.json``: :meth:`forcegen.analysis.Comparison.summary`."""

    format: Literal["forcegen-comparison"] = "forcegen-comparison"
    version: Literal[1] = 1
    baseline: str
    variants: list[str]
    quantiles: list[float]
    runs: int
    rows: list[CompareRow]


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
    runs: int
    description: str
    inputs: list[SensitivityRow]


class Evaluation(Layout):
    value: float
    share_of_runs_meeting_target: float


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
    days: float = 1.0
    probability: float = 0.9
    low: float | None = None
    high: float | None = None
    runs: int = 0
    evaluations: list[Evaluation]


class RuleUnit(Layout):
    """One unit's figures, means over runs; ``most_deployed_in_<n>d`` fields beside."""

    unit: str
    force: str
    deployed_to_dwell: float | None
    longest_deployment: float


class Breach(Layout):
    unit: str
    rule: str
    limit: float
    worst: float
    share_of_runs: float


class RulesFile(Layout):
    """``rules.json``: :meth:`forcegen.analysis.RuleCheck.summary`."""

    format: Literal["forcegen-rules"] = "forcegen-rules"
    version: Literal[1] = 1
    scenario: str = ""
    runs: int = 0
    units: list[RuleUnit]
    breaches: list[Breach]


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


# --- writing ------------------------------------------------------------------------------


def prepare_dir(out: str | os.PathLike[str]) -> Path:
    """Create the output folder if needed; refuse a path that is a file."""
    path = Path(out)
    try:
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {path}: expected a folder, found a file")
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"--out {path}: the folder is not writable")
    return path


def write_results(
    ds: xr.Dataset,
    summary: dict[str, Any],
    out: str | os.PathLike[str],
    per_run: pd.DataFrame | None = None,
    scenario_text: str | None = None,
) -> list[Path]:
    """Write ``results.nc``, ``summary.json``, the per-run table (``runs.parquet``,
    ``runs.csv``) and a copy of the scenario (``scenario.yaml``) into a folder; returns the
    paths written."""
    folder = prepare_dir(out)
    written = []
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
    for name, writer in writers:
        writer(folder / name)
        written.append(folder / name)
    return written


FILE_OF_FORMAT = {
    "forcegen-comparison": COMPARE_NAME,
    "forcegen-sensitivity": SENSITIVITY_NAME,
    "forcegen-requirement": REQUIRE_NAME,
    "forcegen-rules": RULES_NAME,
}
"""The file of the results folder that holds each analysis summary, by its ``format``."""


def write_summary(summary: Mapping[str, Any], out: str | os.PathLike[str]) -> Path:
    """Write an analysis summary into its file of the folder ``out`` (``compare.json``,
    ``sensitivity.json``, ``require.json`` or ``rules.json``, by its ``format``); returns
    the path written."""
    name = FILE_OF_FORMAT.get(str(summary.get("format")))
    if name is None:
        raise UsageError(f"no file of the results folder holds a {summary.get('format')!r}")
    path = prepare_dir(out) / name
    write_json(summary, path)
    return path


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


def read_layout(path: str | os.PathLike[str], layout: type[L]) -> L:
    """Read a JSON file and check it against its layout."""
    path = Path(path)
    data = _json(path)
    try:
        return layout.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        found = first.get("input")
        shown = json.dumps(found)[:60] if not isinstance(found, dict) else "an object"
        raise UsageError(
            f"{path}: field {where}: {first['msg'].lower()}; found {shown} "
            f"({len(exc.errors())} problem(s) in all)"
        ) from None


def read_results(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open ``results.nc`` (a folder or the file itself) and check that forcegen wrote it."""
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
    missing = [v for v in REQUIRED_VARIABLES if v not in ds]
    if missing or "forcegen_meta" not in ds.attrs:
        what = ", ".join(missing) if missing else "the attribute forcegen_meta"
        raise UsageError(f"{path}: expected the results of forcegen run; missing {what}")
    try:
        json.loads(ds.attrs["forcegen_meta"])
    except (TypeError, json.JSONDecodeError):
        raise UsageError(f"{path}: attribute forcegen_meta: expected JSON") from None
    return ds


def read_folder(folder: str | os.PathLike[str]) -> Folder:
    """Read and check what a results folder holds."""
    path = Path(folder)
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
    summary = None
    if (path / SUMMARY_NAME).is_file():
        summary = _json(path / SUMMARY_NAME)
        if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
            raise UsageError(f"{path / SUMMARY_NAME}: field format: expected {SUMMARY_FORMAT!r}")

    def part(name: str, layout: type[L]) -> L | None:
        return read_layout(path / name, layout) if (path / name).is_file() else None

    return Folder(
        path=path,
        results=read_results(path) if (path / NETCDF_NAME).is_file() else None,
        summary=summary,
        scenario=load(path / SCENARIO_NAME) if (path / SCENARIO_NAME).is_file() else None,
        compare=part(COMPARE_NAME, CompareFile),
        sensitivity=part(SENSITIVITY_NAME, SensitivityFile),
        require=part(REQUIRE_NAME, RequireFile),
        rules=part(RULES_NAME, RulesFile),
    )
