"""Writing results to files: NetCDF for the labelled arrays, JSON for the summary.

Every file is written to a temporary name beside its destination and renamed into place, so
a crash or a full disk never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from forcegen.errors import UsageError

NETCDF_NAME = "results.nc"
SUMMARY_NAME = "summary.json"
RUNS_PARQUET = "runs.parquet"
RUNS_CSV = "runs.csv"
SCENARIO_NAME = "scenario.yaml"
"""A copy of the scenario file a run was made from, so a results folder explains itself."""
COMPARE_NAME = "compare.json"
SENSITIVITY_NAME = "sensitivity.json"


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_dir(out: str | os.PathLike[str]) -> Path:
    """Create the output folder if needed; refuse a path that is a file."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path}: expected a folder, found a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"--out {path}: the folder is not writable")
    return path


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike[str]) -> None:
    """Write a dataset to NetCDF-4, atomically."""
    _atomic(Path(path), lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON, atomically."""
    write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", path)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write text as UTF-8, atomically."""
    _atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: str | os.PathLike[str]) -> None:
    """Write bytes, atomically."""
    _atomic(Path(path), lambda tmp: tmp.write_bytes(data))


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as Parquet or CSV (by the file's suffix), atomically."""
    path = Path(path)
    if path.suffix == ".parquet":
        _atomic(path, lambda tmp: table.to_parquet(tmp))
    else:
        _atomic(path, lambda tmp: table.to_csv(tmp))


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


def read_results(folder: str | os.PathLike[str]) -> xr.Dataset:
    """Open the NetCDF results written by :func:`write_results`."""
    path = Path(folder) / NETCDF_NAME
    if not path.is_file():
        raise UsageError(f"{folder}: expected a results folder containing {NETCDF_NAME}")
    return xr.load_dataset(path, engine="h5netcdf")
