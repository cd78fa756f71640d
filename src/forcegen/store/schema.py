"""The tables of a run store, their version, and what reader and writer share.

A store is one DuckDB file with five tables (docs/store.md describes each column):

- ``meta(key, value)``: what the store holds, as text: its schema version, the forcegen
  version that wrote it, the exploration's fingerprint, the scenario's name and text, the
  explore settings (JSON) and the design (method, points, seed);
- ``factors``: one row per factor, in the order of the design's columns;
- ``experiments``: one row per experiment: its number, its key (a content hash) and one
  column per factor, named by the factor;
- ``runs``: one row per run of an experiment, with the per-run outcomes;
- ``summaries``: one row per experiment, with the outcomes' means, quantiles and the
  probabilities of full cover.

``runs`` and ``summaries`` take their outcome columns from the first results written, so
they are created with the first experiments, in the same transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forcegen.errors import UsageError

SCHEMA_VERSION = 1
"""Version of the tables' layout; a reader refuses a store of a newer one."""

TABLES = ("meta", "factors", "experiments", "runs", "summaries")

META_INTS = ("schema_version", "design_n", "design_seed")
"""Meta keys whose values are integers (stored as text, read back as ``int``)."""

META_JSON = ("settings",)
"""Meta keys whose values are JSON (stored as text, read back decoded)."""

IDENTITY = (
    "fingerprint",
    "forcegen_version",
    "scenario",
    "scenario_text",
    "settings",
    "design_method",
    "design_n",
    "design_seed",
)
"""The meta keys compared when a run would add to an existing store, to say what differs."""

SAME = ("fingerprint", "design_method", "design_n", "design_seed")
"""The meta keys that must be equal for a run to add to (resume) an existing store: the
fingerprint covers the scenario's content (not its comments or layout), the factors, the
runs, the seed, the pinned choices and forcegen's version; the design is given apart."""

FACTOR_COLUMNS = (
    "name",
    "kind",
    "source",
    "options",
    "low",
    "high",
    "measure",
    "cites",
    "grades",
    "whole",
    "position",
)
FACTOR_JSON = ("options", "cites", "grades")
"""Columns of ``factors`` holding lists, as JSON text."""

RESERVED = ("experiment", "key")
"""Columns of ``experiments`` that no factor may be named."""

EXTRA = "pip install 'forcegen[explore]' (in a checkout: pip install -e '.[explore]')"


def duckdb() -> Any:
    """The duckdb module, or a :class:`UsageError` naming the extra that installs it."""
    try:
        import duckdb as module
    except ModuleNotFoundError:
        raise UsageError(f"the run store needs duckdb, from the 'explore' extra: {EXTRA}") from None
    return module


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (factor and outcome names hold ``:``, ``[``, ``-``)."""
    return '"' + name.replace('"', '""') + '"'


def meta_text(value: Any) -> str:
    """A meta value as the text stored: JSON for mappings and lists, else ``str``."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def meta_value(key: str, text: str) -> Any:
    """A meta value as read back: integers and JSON decoded, anything else text."""
    if key in META_INTS:
        return int(text)
    if key in META_JSON:
        return json.loads(text)
    return text


def is_lock_error(exc: BaseException) -> bool:
    """Whether a DuckDB error says that another process holds the file."""
    return "lock" in str(exc).lower()


def connect(path: Path, *, read_only: bool) -> Any:
    """A DuckDB connection to ``path``, its errors worded for the user.

    Raises
    ------
    UsageError
        If another process writes to the file, or the file is not a DuckDB database.
    """
    db = duckdb()
    try:
        return db.connect(str(path), read_only=read_only)
    except db.Error as exc:
        if is_lock_error(exc):
            raise UsageError(
                f"another forcegen is writing to {path}; "
                + (
                    "read it when that one ends"
                    if read_only
                    else "wait for it or use another --store"
                )
            ) from None
        raise UsageError(f"{path} is not a forcegen run store (not a DuckDB database)") from None


def tables(con: Any) -> set[str]:
    """The names of the tables in the main schema of a connection."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {row[0] for row in rows}


def read_meta(con: Any, path: Path) -> dict[str, Any]:
    """The ``meta`` table as a dict, decoded; refuses a file that is no store, or a newer one.

    Raises
    ------
    UsageError
        If the file has no ``meta`` table with a schema version, or a newer version than
        this forcegen reads.
    """
    if "meta" not in tables(con):
        raise UsageError(f"{path} is not a forcegen run store (it has no 'meta' table)")
    raw = dict(con.execute("SELECT key, value FROM meta").fetchall())
    try:
        meta = {key: meta_value(key, value) for key, value in raw.items()}
        version = meta["schema_version"]
    except (KeyError, ValueError):
        raise UsageError(f"{path} is not a forcegen run store (no schema version)") from None
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"{path} has store schema version {version}, newer than this forcegen reads "
            f"({SCHEMA_VERSION}): upgrade forcegen to read it"
        )
    return meta
