"""Reading a run store: :func:`open` gives a read-only :class:`Store` of pandas tables."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from forcegen.errors import UsageError
from forcegen.store.schema import FACTOR_JSON, connect, quote, read_meta, tables

FULL = 0.9
"""Share of runs fully covered that makes an experiment count as covering a demand."""


class Store:
    """A run store opened read-only; close it (or use it as a context manager) when done.

    ``meta`` holds the store's meta table as a dict: ``schema_version``, ``design_n`` and
    ``design_seed`` as integers, ``settings`` decoded from JSON, every other value text.
    Tables come back as pandas DataFrames in a fixed order (by experiment, then run), so
    that two stores holding the same experiments give equal frames.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UsageError(f"{self.path}: no such run store (write one with forcegen explore)")
        self._con = connect(self.path, read_only=True)
        try:
            self.meta: dict[str, Any] = read_meta(self._con, self.path)
        except BaseException:
            self._con.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the file stays as it is)."""
        self._con.close()

    def sql(self, query: str, parameters: Iterable[Any] | None = None) -> pd.DataFrame:
        """The result of one SQL query on the store, as a DataFrame."""
        if parameters is None:
            return self._con.execute(query).df()
        return self._con.execute(query, list(parameters)).df()

    def _has(self, table: str) -> bool:
        return table in tables(self._con)

    def factors(self) -> pd.DataFrame:
        """One row per factor, in design order: name, kind, source, options, low, high,
        measure, cites, grades, position; options, cites and grades as tuples."""
        frame = self.sql("SELECT * FROM factors ORDER BY position")
        for column in FACTOR_JSON:
            frame[column] = [tuple(json.loads(text)) for text in frame[column]]
        return frame

    def experiments(self) -> pd.DataFrame:
        """One row per experiment in the store: experiment, key, then one column per factor."""
        return self.sql("SELECT * FROM experiments ORDER BY experiment")

    def runs(self, experiments: Iterable[int] | None = None) -> pd.DataFrame:
        """One row per run: experiment, run, then the per-run outcomes; only the runs of the
        given experiments if ``experiments`` is given."""
        if not self._has("runs"):
            return pd.DataFrame({"experiment": [], "run": []}, dtype="int64")
        if experiments is None:
            return self.sql("SELECT * FROM runs ORDER BY experiment, run")
        wanted = [int(e) for e in experiments]
        return self.sql(
            "SELECT * FROM runs WHERE experiment IN (SELECT unnest(?)) ORDER BY experiment, run",
            [wanted],
        )

    def summaries(self) -> pd.DataFrame:
        """One row per experiment: experiment, then each outcome's mean and quantiles
        (``X:mean``, ``X:q05``, ``X:q50``, ``X:q95``) and ``p_full:D`` per demand."""
        if not self._has("summaries"):
            return pd.DataFrame({"experiment": []}, dtype="int64")
        return self.sql("SELECT * FROM summaries ORDER BY experiment")

    def overview(self, full: float = FULL) -> dict[str, Any]:
        """What the store holds in a few numbers, as plain data for JSON.

        The number of experiments and runs, the factors, for each outcome the lowest and
        highest of its per-experiment means, and for each demand the share of experiments
        whose runs cover it fully in at least ``full`` of them (``p_full:D >= full``), with
        the share covering every demand so.
        """
        n = self.sql("SELECT count(*) AS n FROM experiments")["n"].iloc[0]
        runs = 0
        if self._has("runs"):
            runs = int(self.sql("SELECT count(*) AS n FROM runs")["n"].iloc[0])
        columns = self.sql("SELECT * FROM summaries LIMIT 0").columns if n else []
        means = [c for c in columns if c.endswith(":mean")]
        demands = [c for c in columns if c.startswith("p_full:")]
        outcomes: dict[str, dict[str, float | None]] = {}
        cover: dict[str, float | None] = {}
        every: float | None = None
        if n and (means or demands):
            parts = [f"min({quote(c)}), max({quote(c)})" for c in means]
            parts += [f"avg(CASE WHEN {quote(c)} >= ? THEN 1.0 ELSE 0.0 END)" for c in demands]
            if demands:
                all_full = " AND ".join(f"{quote(c)} >= ?" for c in demands)
                parts.append(f"avg(CASE WHEN {all_full} THEN 1.0 ELSE 0.0 END)")
            args = [full] * (2 * len(demands))
            row = self._con.execute(f"SELECT {', '.join(parts)} FROM summaries", args).fetchone()
            for i, column in enumerate(means):
                low, high = row[2 * i], row[2 * i + 1]
                outcomes[column.removesuffix(":mean")] = {"min": _number(low), "max": _number(high)}
            start = 2 * len(means)
            for i, column in enumerate(demands):
                cover[column.removeprefix("p_full:")] = _number(row[start + i])
            if demands:
                every = _number(row[-1])
        return {
            "store": str(self.path),
            "scenario": self.meta.get("scenario"),
            "fingerprint": self.meta.get("fingerprint"),
            "experiments": int(n),
            "runs": runs,
            "factors": list(self.factors()["name"]),
            "outcomes": outcomes,
            "full_cover": {"at_least": full, "demands": cover, "every_demand": every},
        }


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def open(path: str | Path) -> Store:  # noqa: A001 - the reader's one entry point
    """Open the run store at ``path`` read-only.

    Raises
    ------
    UsageError
        If there is no such file, the file is not a DuckDB run store, it was written by a
        newer forcegen (a newer schema version), or another forcegen is writing to it.
    """
    return Store(path)
