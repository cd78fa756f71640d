"""The run store: the experiments of ``forcegen explore`` in one DuckDB file.

Read a store with :func:`open` (read-only, pandas tables) or with plain SQL
(``duckdb.connect(path, read_only=True)``); write one with :func:`writer`. The tables and
their columns are described in docs/store.md and :mod:`forcegen.store.schema`.

DuckDB is an optional dependency (the ``explore`` extra): it is imported only when a store
is opened, and a missing one is reported as a :class:`~forcegen.errors.UsageError` naming
the extra.
"""

from __future__ import annotations

from forcegen.store.reading import FULL, Store, open
from forcegen.store.schema import SCHEMA_VERSION, TABLES
from forcegen.store.writing import Writer, writer

__all__ = ["FULL", "SCHEMA_VERSION", "TABLES", "Store", "Writer", "open", "writer"]
