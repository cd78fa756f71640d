"""Reading a results folder, every file checked against its layout and the files against
each other (see the package's docstring)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import ValidationError

from forcegen.errors import ScenarioError, UsageError
from forcegen.results import SUMMARY_FORMAT
from forcegen.results_folder.layouts import (
    CALIBRATION_NAME,
    COMPARE_NAME,
    COORDINATES,
    DISCOVER_NAME,
    DTYPE_KINDS,
    FILE_OF_FORMAT,
    KIND_WORDS,
    NETCDF_NAME,
    REQUIRE_NAME,
    RULES_NAME,
    SCENARIO_NAME,
    SENSITIVITY_NAME,
    SUMMARY_NAME,
    VARIABLES,
    CalibrationFile,
    CompareFile,
    DiscoverFile,
    L,
    Meta,
    RequireFile,
    RulesFile,
    SensitivityFile,
    SummaryFile,
    Variable,
)
from forcegen.results_folder.writing import (
    siblings,
)
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import Value

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
    calibration: CalibrationFile | None = None
    posterior: Any = None
    """``posterior.parquet`` as a pandas table (one row per particle, with ``weight``)."""
    discover: DiscoverFile | None = None


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
    if var.size and var.dtype.kind not in DTYPE_KINDS[spec.kind]:
        raise UsageError(
            f"{path}: {what} {name}: expected {KIND_WORDS[spec.kind]}; found {var.dtype}"
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
    missing += [c for c, spec in COORDINATES.items() if spec.required and c not in ds.coords]
    if missing or "forcegen_meta" not in ds.attrs:
        what = ", ".join(missing) if missing else "the attribute forcegen_meta"
        raise UsageError(f"{path}: expected the results of forcegen run; missing {what}")
    for name, spec in COORDINATES.items():
        if name in ds.coords:
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
        if before is None and (siblings(path, "old") or siblings(path, "new")):
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
        calibration=part(CALIBRATION_NAME, CalibrationFile),
        posterior=_posterior(path),
        discover=part(DISCOVER_NAME, DiscoverFile),
    )


def _posterior(path: Path) -> Any:
    """The posterior sample (``posterior.parquet``) as a table, checked to have a weight
    per particle; ``None`` if the folder holds none."""
    from forcegen.results_folder.layouts import POSTERIOR_PARQUET

    file = path / POSTERIOR_PARQUET
    if not file.is_file():
        return None
    import pandas as pd

    try:
        table = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise UsageError(f"{file}: cannot be read as Parquet ({exc})") from None
    weights = table.get("weight")
    if weights is None or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise UsageError(f"{file}: field weight: expected a finite weight >= 0 per particle")
    return table
