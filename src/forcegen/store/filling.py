"""Filling a run store with the experiments of an exploration, resumably.

:func:`fill` is what ``forcegen explore`` does once its inputs are checked: it keys every
experiment of the design, opens (or creates) the store, skips the experiments whose keys
are stored already, runs the others through an executor
(:func:`forcegen.analysis.executors.map_experiments`) and writes each chunk of whole
experiments as it comes back, in one transaction. Memory stays that of a few chunks,
whatever the number of experiments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forcegen.store.writing import writer


@dataclass(frozen=True)
class Filled:
    """What one :func:`fill` did: experiments run now, and skipped as already stored."""

    path: Path
    run: int
    skipped: int


def meta_of(
    exploration: Any,
    *,
    scenario_text: str,
    settings: Mapping[str, Any],
    design: Mapping[str, Any],
) -> dict[str, Any]:
    """The meta entries of a store for ``exploration`` (see :func:`forcegen.store.writer`).

    ``scenario_text`` is the scenario file as written, ``settings`` the explore settings
    that fix the experiments (choices, uncertain, levers, widening, runs, seed) and
    ``design`` the design's ``method``, ``n`` and ``seed``.
    """
    return {
        "fingerprint": exploration.fingerprint(),
        "scenario": exploration.scenario.name,
        "scenario_text": scenario_text,
        "settings": dict(settings),
        "design_method": design["method"],
        "design_n": int(design["n"]),
        "design_seed": int(design["seed"]),
    }


def keyed(exploration: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """The design ``rows`` with each experiment's key after its number."""
    from forcegen.analysis.explore import experiment_key

    keys = [experiment_key(exploration, row) for _, row in rows.iterrows()]
    out = rows.copy()
    out.insert(1, "key", keys)
    return out


def fill(
    path: str | Path,
    exploration: Any,
    rows: pd.DataFrame,
    *,
    meta: Mapping[str, Any],
    chunk: int = 8,
    executor: str = "threads",
    scheduler: str | None = None,
    workers: int | None = None,
    n_jobs: int = 1,
    progress: Callable[[int, int | None], None] | None = None,
) -> Filled:
    """Run the experiments of ``rows`` not yet in the store at ``path``, and store them.

    ``rows`` is the design (:func:`forcegen.analysis.explore.design`): ``experiment`` and
    one column per factor. ``progress(done, total)`` counts experiments, the skipped ones
    included. Results do not depend on ``chunk``, ``executor``, ``workers`` or ``n_jobs``.

    Raises
    ------
    UsageError
        As :func:`forcegen.store.writer` (another exploration in the file, another writer).
    """
    from forcegen.analysis.executors import map_experiments

    table = keyed(exploration, rows)
    total = len(table)
    with writer(path, meta=meta, factors=exploration.factors) as w:
        stored = w.done()
        pairs = zip(table["experiment"], table["key"], strict=True)
        todo = table[[(int(e), k) not in stored for e, k in pairs]]
        skipped = total - len(todo)
        done = skipped
        if progress is not None:
            progress(done, total)
        if len(todo):
            by_number = todo.set_index("experiment", drop=False)
            results = map_experiments(
                exploration,
                todo.drop(columns="key").reset_index(drop=True),
                chunk=chunk,
                executor=executor,  # type: ignore[arg-type]
                scheduler=scheduler,
                workers=workers,
                n_jobs=n_jobs,
            )
            try:
                for runs, summaries in results:
                    numbers = summaries["experiment"].tolist()
                    part = by_number.loc[numbers].reset_index(drop=True)
                    w.write(part, runs, summaries)
                    done += len(numbers)
                    if progress is not None:
                        progress(done, total)
            finally:
                close = getattr(results, "close", None)
                if close is not None:
                    close()
    return Filled(Path(path), len(todo), skipped)
