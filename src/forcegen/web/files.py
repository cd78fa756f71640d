"""The one place that maps the names a page gives to files: everything under one folder.

The workbench serves and writes only files under the folder it was started on. Every name
the page sends goes through :meth:`Folder.path`, which refuses, with a
:class:`~forcegen.errors.UsageError` saying why:

- an empty name, a NUL byte or another control character;
- an absolute name (``/etc/passwd``), and a backslash anywhere (``..\\x`` is a parent on
  Windows, and no scenario name needs one);
- a ``..`` part, even one that would come back inside (``a/../b.yaml``);
- a name whose real path (:func:`os.path.realpath`, every symlink followed) is not under the
  folder's real path: a symlink inside the folder that points outside is refused;
- where the caller expects a kind of file, a name without its suffix (``.yaml``/``.yml``
  for scenarios, ``.duckdb`` for stores, ``.html`` for reports).

Files are written by :meth:`Folder.write_new` only, which never replaces a file: it writes
a temporary file beside the target and links it to the name, which fails if the name is
taken.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from forcegen.errors import UsageError

__all__ = ["DUCKDB", "HTML", "SCENARIOS", "Folder"]

SCENARIOS = (".yaml", ".yml")
"""Suffixes of scenario files."""
DUCKDB = (".duckdb",)
"""Suffix of explore stores."""
HTML = (".html",)
"""Suffix of report pages."""

MAX_NAME = 1024
"""The longest name accepted, in characters."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBERED = re.compile(r"^(.*)-(\d+)$")


class Folder:
    """A folder whose files a workbench may read and write, and nothing outside it.

    Parameters
    ----------
    root
        The folder; resolved once to its real path (symlinks followed).

    Raises
    ------
    UsageError
        If ``root`` is not an existing folder.
    """

    root: Path

    def __init__(self, root: str | os.PathLike[str]) -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise UsageError(f"{os.fspath(root)}: expected a folder of scenarios; found none")
        self.root = Path(real)

    def __repr__(self) -> str:
        return f"Folder({str(self.root)!r})"

    # --- names -----------------------------------------------------------------------------

    def _inside(self, real: str) -> bool:
        root = str(self.root)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def path(self, name: str, suffixes: Iterable[str] | None = None) -> Path:
        """The file ``name`` (a POSIX path relative to the folder) names, confined to it.

        Parameters
        ----------
        name
            Such as ``belarus-2023.yaml`` or ``variants/surge.yaml``.
        suffixes
            If given, the suffixes the name must end with (any case), such as
            :data:`SCENARIOS`.

        Returns
        -------
        Path
            The absolute path under :attr:`root` (it may not exist yet).

        Raises
        ------
        UsageError
            If the name is empty, too long, holds a NUL or control character or a backslash,
            is absolute, has a ``..`` part, lacks an expected suffix, or resolves (through
            symlinks) outside the folder. The message says "... is outside the folder" for
            every escape.
        """
        if not isinstance(name, str) or not name.strip():
            raise UsageError("expected the name of a file in the folder; found an empty name")
        shown = repr(name[:80])
        if len(name) > MAX_NAME:
            raise UsageError(f"{shown}...: expected a name of at most {MAX_NAME} characters")
        if _CONTROL.search(name):
            raise UsageError(f"{shown}: a file name may not hold NUL or control characters")
        if "\\" in name:
            raise UsageError(
                f"{shown}: a file name may not hold a backslash; write folders with '/'"
            )
        pure = PurePosixPath(name)
        if pure.is_absolute() or re.match(r"^[A-Za-z]:", name):
            raise UsageError(
                f"{shown} is outside the folder {self.root}: expected a name relative to it"
            )
        if ".." in pure.parts:
            raise UsageError(f"{shown} is outside the folder {self.root}: '..' is not allowed")
        if suffixes is not None:
            wanted = tuple(s.lower() for s in suffixes)
            if not name.lower().endswith(wanted):
                raise UsageError(f"{shown}: expected a name ending in {' or '.join(wanted)}")
        real = os.path.realpath(os.path.join(self.root, *pure.parts))
        if not self._inside(real) or real == str(self.root):
            raise UsageError(
                f"{shown} is outside the folder {self.root}: it resolves to a path beyond it"
            )
        return Path(real)

    def name_of(self, path: str | os.PathLike[str]) -> str | None:
        """The name (relative POSIX path) of a file under the folder, or ``None`` if it is
        not under it."""
        real = os.path.realpath(os.fspath(path))
        if not self._inside(real) or real == str(self.root):
            return None
        return Path(os.path.relpath(real, self.root)).as_posix()

    def exists(self, name: str) -> bool:
        """Whether ``name`` (confined) is taken, by a file, a folder or a dangling link."""
        target = self.path(name)
        return os.path.lexists(target)

    # --- listing ---------------------------------------------------------------------------

    def files(self, suffixes: Iterable[str]) -> list[str]:
        """Relative POSIX names of the files under the folder with one of ``suffixes``,
        sorted. Hidden folders and files (``.git``, ``.venv``) are skipped; a symlinked
        folder is not entered, and a symlinked file is listed only if it resolves inside."""
        wanted = tuple(s.lower() for s in suffixes)
        found: list[str] = []
        for here, dirs, names in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            for n in names:
                if n.startswith(".") or not n.lower().endswith(wanted):
                    continue
                full = os.path.join(here, n)
                real = os.path.realpath(full)
                if self._inside(real) and os.path.isfile(real):
                    found.append(Path(os.path.relpath(full, self.root)).as_posix())
        return sorted(found)

    def scenarios(self) -> list[str]:
        """Relative POSIX names of the scenario files (``*.yaml``, ``*.yml``), sorted."""
        return self.files(SCENARIOS)

    # --- writing ---------------------------------------------------------------------------

    def free_name(self, name: str) -> str:
        """``name`` if no file has it, else the first free ``stem-2.ext``, ``stem-3.ext``...
        (a name already numbered, ``stem-2.ext``, counts on from its number)."""
        if not self.exists(name):
            return name
        pure = PurePosixPath(name)
        suffix = "".join(pure.suffixes[-1:])
        stem = pure.name[: len(pure.name) - len(suffix)] if suffix else pure.name
        numbered = _NUMBERED.match(stem)
        base, n = (numbered.group(1), int(numbered.group(2))) if numbered else (stem, 1)
        while True:
            n += 1
            candidate = str(pure.with_name(f"{base}-{n}{suffix}"))
            if not self.exists(candidate):
                return candidate

    def taken(self, name: str) -> UsageError:
        """The refusal to write over ``name``, proposing a free name instead."""
        return UsageError(
            f"{name!r} exists already and is never overwritten; "
            f"write it as {self.free_name(name)!r} instead"
        )

    def write_new(self, name: str, data: bytes, suffixes: Iterable[str] | None = None) -> Path:
        """Write ``data`` as a new file ``name`` under the folder, atomically; never replace.

        The bytes go to a temporary file in the target's folder, which is then hard-linked
        to the name: the link fails if the name exists, even if another writer took it
        meanwhile. Folders on the way are created (confined too).

        Raises
        ------
        UsageError
            If the name is refused by :meth:`path`, or a file (or folder) already has it:
            the message proposes :meth:`free_name`.
        """
        target = self.path(name, suffixes)
        if os.path.lexists(target):
            raise self.taken(name)
        parent = target.parent
        parent.mkdir(parents=True, exist_ok=True)
        if not self._inside(os.path.realpath(parent)):  # a folder swapped for a link meanwhile
            raise UsageError(f"{name!r} is outside the folder {self.root}")
        fd, temp = tempfile.mkstemp(prefix=".forcegen-", suffix=".part", dir=parent)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            try:
                try:
                    os.link(temp, target)
                except FileExistsError:
                    raise
                except OSError:  # a file system without hard links: create it exclusively
                    with open(target, "xb") as stream:
                        stream.write(data)
            except FileExistsError:
                raise self.taken(name) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        return target
