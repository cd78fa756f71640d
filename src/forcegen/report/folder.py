"""Reading a results folder for the report: what a run, a comparison and a sensitivity
analysis left there, each checked before anything is drawn.

A folder may hold any of:

* ``results.nc``, ``summary.json`` and ``scenario.yaml`` (``forcegen run --out``);
* ``compare.json`` (``forcegen compare --out``);
* ``sensitivity.json`` (``forcegen sensitivity --out``).

Each problem is reported as a :class:`~forcegen.errors.UsageError` naming the file, the
field and what was expected, never as a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import xarray as xr
from pydantic import BaseModel, ConfigDict, ValidationError

from forcegen.errors import UsageError
from forcegen.export import (
    COMPARE_NAME,
    NETCDF_NAME,
    SCENARIO_NAME,
    SENSITIVITY_NAME,
    SUMMARY_NAME,
)
from forcegen.results import SUMMARY_FORMAT
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario

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


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class CompareRow(_Loose):
    variant: str
    figure: str
    baseline_mean: float | None
    variant_mean: float | None
    difference_mean: float | None
    share_of_runs_higher: float | None


class CompareFile(_Loose):
    """The layout of ``compare.json`` (:meth:`forcegen.analysis.Comparison.summary`)."""

    format: Literal["forcegen-comparison"]
    version: Literal[1]
    baseline: str
    variants: list[str]
    quantiles: list[float]
    runs: int
    rows: list[CompareRow]


class SensitivityRow(_Loose):
    input: str
    claims: str
    grades: str


class SensitivityFile(_Loose):
    """The layout of ``sensitivity.json`` (written by ``forcegen sensitivity --out``)."""

    format: Literal["forcegen-sensitivity"]
    version: Literal[1]
    scenario: str
    output: str
    method: Literal["sobol", "morris"]
    runs: int
    description: str
    inputs: list[SensitivityRow]


@dataclass(frozen=True)
class Folder:
    """What a results folder holds; ``None`` where a part is absent."""

    path: Path
    results: xr.Dataset | None
    summary: dict[str, Any] | None
    scenario: Scenario | None
    compare: CompareFile | None
    sensitivity: SensitivityFile | None


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


def _model(path: Path, model: type[BaseModel]) -> Any:
    data = _json(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        found = first.get("input")
        shown = json.dumps(found)[:60] if not isinstance(found, dict) else "an object"
        raise UsageError(
            f"{path}: field {where}: {first['msg'].lower()}; found {shown} "
            f"({len(exc.errors())} problem(s) in all)"
        ) from None


def _results(path: Path) -> xr.Dataset:
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


def read_folder(folder: str | Path) -> Folder:
    """Read and check what a results folder holds for the report."""
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(
            f"{path}: expected a results folder; "
            + ("found a file" if path.exists() else "there is no such folder")
        )
    nc, compare, sens = path / NETCDF_NAME, path / COMPARE_NAME, path / SENSITIVITY_NAME
    if not (nc.is_file() or compare.is_file() or sens.is_file()):
        raise UsageError(
            f"{path}: expected {NETCDF_NAME} (forcegen run --out), {COMPARE_NAME} "
            f"(forcegen compare --out) or {SENSITIVITY_NAME} (forcegen sensitivity --out); "
            "found none of them"
        )
    results = _results(nc) if nc.is_file() else None
    summary = None
    if (path / SUMMARY_NAME).is_file():
        summary = _json(path / SUMMARY_NAME)
        if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
            raise UsageError(f"{path / SUMMARY_NAME}: field format: expected {SUMMARY_FORMAT!r}")
    scenario = load(path / SCENARIO_NAME) if (path / SCENARIO_NAME).is_file() else None
    return Folder(
        path=path,
        results=results,
        summary=summary,
        scenario=scenario,
        compare=_model(compare, CompareFile) if compare.is_file() else None,
        sensitivity=_model(sens, SensitivityFile) if sens.is_file() else None,
    )
