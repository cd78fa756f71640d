"""Writing a results folder as a whole (see the package's docstring)."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from forcegen.errors import UsageError
from forcegen.export import write_json, write_netcdf, write_table, write_text
from forcegen.results_folder.layouts import (
    CALIBRATED_NAME,
    CALIBRATION_FILES,
    CALIBRATION_NAME,
    FILE_OF_FORMAT,
    NETCDF_NAME,
    POSTERIOR_PARQUET,
    REPORT_FILES,
    RUN_FILES,
    RUNS_CSV,
    RUNS_PARQUET,
    SCENARIO_NAME,
    SUMMARY_NAME,
)

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


def siblings(path: Path, kind: str) -> list[Path]:
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
        old = sorted(siblings(path, "old"))
        if old:
            os.rename(old[0], path)
    for leftover in siblings(path, "new") + siblings(path, "old"):
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


def write_calibration(
    summary: Mapping[str, Any],
    posterior: pd.DataFrame,
    calibrated_text: str,
    out: str | os.PathLike[str],
) -> list[Path]:
    """Write ``calibration.json``, the posterior sample (``posterior.parquet``) and the
    calibrated scenario (``calibrated.yaml``) into a folder as one set that replaces the
    previous calibration's (and drops the folder's report); returns the paths written."""
    writers: list[tuple[str, Callable[[Path], None]]] = [
        (CALIBRATION_NAME, lambda p: write_json(summary, p)),
        (POSTERIOR_PARQUET, lambda p: write_table(posterior, p)),
        (CALIBRATED_NAME, lambda p: write_text(calibrated_text, p)),
    ]
    with replacing(out, (*CALIBRATION_FILES, *REPORT_FILES)) as new:
        for name, writer in writers:
            with named(out, name):
                writer(new / name)
    return [Path(out) / name for name, _ in writers]
