"""Writing a run store: append-only, whole experiments at a time, resumable.

:func:`writer` creates a store, or opens an existing one for the same exploration (same
fingerprint, settings, design and forcegen version) and refuses any other, saying what
differs. :meth:`Writer.write` adds a chunk of experiments (their rows, runs and summaries)
in one transaction, so a process killed at any moment leaves the store with whole
experiments only; :meth:`Writer.done` lists the keys already stored, which a rerun skips.

DuckDB lets one process at a time open a file for writing; a second one is refused with a
message (not corrupted, not queued). Within a process, the writes of all writers to one
file are serialised by a lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from forcegen import __version__
from forcegen.errors import UsageError
from forcegen.store.schema import (
    IDENTITY,
    RESERVED,
    SAME,
    SCHEMA_VERSION,
    connect,
    meta_text,
    quote,
    read_meta,
    tables,
)

_locks: dict[Path, threading.Lock] = {}
_locks_lock = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(path.resolve(), threading.Lock())


def _sql_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    return "VARCHAR"


def _factor_row(factor: Any, position: int) -> tuple[Any, ...]:
    return (
        factor.name,
        factor.kind,
        factor.source,
        json.dumps(list(factor.options), ensure_ascii=False),
        None if factor.low is None else float(factor.low),
        None if factor.high is None else float(factor.high),
        factor.measure,
        json.dumps(list(factor.cites), ensure_ascii=False),
        json.dumps(list(factor.grades), ensure_ascii=False),
        bool(getattr(factor, "whole", False)),
        position,
    )


def identity(meta: Mapping[str, Any]) -> dict[str, str]:
    """The meta entries that identify an exploration, as stored (text), with the forcegen
    version and schema version this writer adds."""
    full = {"schema_version": SCHEMA_VERSION, "forcegen_version": __version__, **meta}
    return {key: meta_text(value) for key, value in full.items()}


def differences(stored: Mapping[str, Any], wanted: Mapping[str, str]) -> list[str]:
    """What differs between a store's meta and the meta of a new run, in words."""
    said = []
    for key in IDENTITY:
        if key == "fingerprint" or key not in wanted:
            continue
        old = stored.get(key)
        old_text = None if old is None else meta_text(old)
        if old_text == wanted[key]:
            continue
        if key == "settings" and isinstance(old, dict):
            new = json.loads(wanted[key])
            for name in sorted(set(old) | set(new)):
                if old.get(name) != new.get(name):
                    said.append(
                        f"{name} ({_short(old.get(name))} then, {_short(new.get(name))} now)"
                    )
        elif key == "scenario_text":
            said.append("the scenario's text")
        else:
            said.append(f"{key} ({_short(old_text)} then, {_short(wanted[key])} now)")
    return said


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


class Writer:
    """An open run store taking whole experiments; close it (or use ``with``) when done."""

    def __init__(self, path: Path, con: Any, factors: Sequence[str]) -> None:
        self.path = path
        self._con = con
        self._factors = tuple(factors)
        self._lock = _lock(path)

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (DuckDB checkpoints its log into it)."""
        with self._lock:
            self._con.close()

    def done(self) -> set[tuple[int, str]]:
        """The experiments already in the store, as (number, key) pairs.

        A rerun skips a design row whose number and key are both stored. The number is
        needed as well as the key because two points of a design may take the same values
        (whole-valued factors), and so have the same key.
        """
        with self._lock:
            rows = self._con.execute("SELECT experiment, key FROM experiments").fetchall()
        return {(int(number), key) for number, key in rows}

    def write(self, experiments: pd.DataFrame, runs: pd.DataFrame, summaries: pd.DataFrame) -> None:
        """Add whole experiments: their rows, every run and their summaries, in one
        transaction (all of it is stored, or none).

        ``experiments`` has the columns ``experiment``, ``key`` and one per factor; ``runs``
        ``experiment``, ``run`` and the outcomes; ``summaries`` ``experiment`` and the
        summary columns. The first write fixes the outcome and summary columns; later
        writes must have the same ones.

        Raises
        ------
        ValueError
            If the frames do not describe the same experiments, or an experiment is
            already in the store (a caller's bug: resumed runs skip stored keys).
        """
        wanted = {"experiment", "key", *self._factors}
        if set(experiments.columns) != wanted:
            raise ValueError(
                f"experiment rows have columns {sorted(experiments.columns)}, "
                f"expected {sorted(wanted)}"
            )
        numbers = set(experiments["experiment"].tolist())
        for name, frame in (("runs", runs), ("summaries", summaries)):
            if set(frame["experiment"].tolist()) != numbers:
                raise ValueError(f"{name} are not of the experiments written with them")
        if not numbers:
            return
        with self._lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                stored = con.execute(
                    "SELECT count(*) FROM experiments WHERE experiment IN (SELECT unnest(?))",
                    [sorted(int(n) for n in numbers)],
                ).fetchone()[0]
                if stored:
                    raise ValueError(f"{stored} of these experiments are already in the store")
                present = tables(con)
                self._insert(con, "experiments", experiments, present)
                self._insert(con, "runs", runs, present, key=("experiment", "run"))
                self._insert(con, "summaries", summaries, present, key=("experiment",))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @staticmethod
    def _insert(
        con: Any,
        table: str,
        frame: pd.DataFrame,
        present: set[str],
        key: tuple[str, ...] = (),
    ) -> None:
        if table not in present:
            columns = [f"{quote(str(c))} {_sql_type(frame[c].dtype)}" for c in frame.columns]
            columns.append(f"PRIMARY KEY ({', '.join(quote(c) for c in key)})")
            con.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        else:
            have = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
            if set(have) != {str(c) for c in frame.columns}:
                raise ValueError(
                    f"{table} to write have columns {list(frame.columns)}; "
                    f"the store's {table} has {have}"
                )
        view = f"_forcegen_{table}"
        con.register(view, frame)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        finally:
            con.unregister(view)


def writer(path: str | Path, *, meta: Mapping[str, Any], factors: Sequence[Any]) -> Writer:
    """Create the run store at ``path``, or open it to add to it.

    ``meta`` holds the exploration's identity (``fingerprint``, ``scenario``,
    ``scenario_text``, ``settings`` as a dict, ``design_method``, ``design_n``,
    ``design_seed``); the schema and forcegen versions are added here. ``factors`` are the
    exploration's factors (objects with the attributes of
    :class:`forcegen.analysis.explore.Factor`), in design order.

    A new store gets its meta, factors and (empty) experiments tables in one transaction.
    An existing one is opened only if it holds the same exploration.

    Raises
    ------
    UsageError
        If ``path`` is a folder or its folder does not exist, the file is not a run store,
        another process writes to it, it holds another exploration (the message says what
        differs) or it was written with another schema version.
    """
    path = Path(path)
    names = [f.name for f in factors]
    clash = [n for n in names if n in RESERVED]
    if clash or len(set(names)) != len(names):
        raise UsageError(f"factor names must be unique and not {', '.join(RESERVED)}: {names}")
    if path.is_dir():
        raise UsageError(f"--store {path} is a folder; name a file such as {path / 'runs.duckdb'}")
    if not path.parent.is_dir():
        raise UsageError(f"--store {path}: the folder {path.parent} does not exist")
    if path.exists() and path.stat().st_size == 0:
        path.unlink()  # a file created, then killed before DuckDB wrote its header
    new_file = not path.exists()
    wanted = identity(meta)
    con = connect(path, read_only=False)
    try:
        if tables(con):
            _check_same(con, path, wanted)
        else:
            _create(con, wanted, factors)
    except BaseException:
        con.close()
        if new_file:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    return Writer(path, con, names)


def _check_same(con: Any, path: Path, wanted: Mapping[str, str]) -> None:
    stored = read_meta(con, path)
    if stored["schema_version"] != SCHEMA_VERSION:
        raise UsageError(
            f"{path} has store schema version {stored['schema_version']}; this forcegen "
            f"writes version {SCHEMA_VERSION}: use a new --store"
        )
    if all(meta_text(stored.get(key)) == wanted.get(key) for key in SAME):
        return
    what = differences(stored, wanted) or ["the scenario's content, factors, runs or seed"]
    raise UsageError(
        f"{path} holds another exploration (fingerprint {str(stored.get('fingerprint'))[:12]}, "
        f"this one {wanted['fingerprint'][:12]}): " + "; ".join(what) + " differ. "
        "Rerun with the same settings to resume it, or use another --store"
    )


def _create(con: Any, meta: Mapping[str, str], factors: Sequence[Any]) -> None:
    columns = ", ".join(
        f"{quote(f.name)} {'VARCHAR' if f.kind == 'choice' else 'DOUBLE'}" for f in factors
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        con.execute(
            "CREATE TABLE factors (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, "
            "source VARCHAR NOT NULL, options VARCHAR NOT NULL, low DOUBLE, high DOUBLE, "
            "measure VARCHAR NOT NULL, cites VARCHAR NOT NULL, grades VARCHAR NOT NULL, "
            "whole BOOLEAN NOT NULL, position INTEGER NOT NULL)"
        )
        rows = [_factor_row(f, i) for i, f in enumerate(factors)]
        if rows:
            con.executemany("INSERT INTO factors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            "CREATE TABLE experiments (experiment BIGINT PRIMARY KEY, key VARCHAR NOT NULL"
            f"{', ' + columns if columns else ''})"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


__all__ = ["Writer", "differences", "identity", "writer"]
