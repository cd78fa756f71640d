"""Writing files in their formats: NetCDF for labelled arrays, Parquet and CSV for tables,
JSON and text.

Every file is written to a temporary name beside its destination and renamed into place, so
a crash or a full disk never leaves a half-written file where a good one was; a file that
cannot be written is closed once and reported as an :class:`OSError` naming it. Which files a
results folder holds, and the layout of each, is :mod:`forcegen.results_folder`'s business.
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


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        try:
            write(Path(tmp))
        except OSError as exc:  # name the destination, not the temporary file
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike[str]) -> None:
    """Write a dataset to NetCDF-4, atomically.

    The file is encoded in memory first and then written as plain bytes: when HDF5 itself
    writes to a file that cannot grow (a full disk), it fails half-way and closes the file a
    second time when it is collected, which crashes the process. Written this way, a full
    disk is an ordinary :class:`OSError` and the file is closed exactly once. The cost is a
    second copy of the encoded results in memory while they are written.
    """
    data = ds.to_netcdf(engine="h5netcdf")
    assert data is not None
    write_bytes(data, path)


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON, atomically."""
    write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", path)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write text as UTF-8, atomically."""
    _atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes | memoryview, path: str | os.PathLike[str]) -> None:
    """Write bytes, atomically."""
    _atomic(Path(path), lambda tmp: tmp.write_bytes(data))


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as Parquet or CSV (by the file's suffix), atomically."""
    path = Path(path)
    if path.suffix == ".parquet":
        _atomic(path, lambda tmp: table.to_parquet(tmp))
    else:
        _atomic(path, lambda tmp: table.to_csv(tmp))
