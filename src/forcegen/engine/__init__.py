"""The engine: a plan in, daily records out, over arrays of runs × units.

Runs are split into contiguous chunks that may go to worker processes; since every random
draw is keyed by run, day and unit (:mod:`forcegen.engine.random`), the records are the same
whatever the number of workers or the size of chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields

import numpy as np

from forcegen.compile import Plan
from forcegen.engine.core import CAUSES, FLOWS, PIPELINE_MEASURES, STOCKS, Engine, Records

__all__ = ["CAUSES", "FLOWS", "PIPELINE_MEASURES", "STOCKS", "Records", "simulate_plan"]


def _run_chunk(
    plan: Plan, runs: np.ndarray, seed: int, deterministic: bool, keep_units: bool
) -> Records:
    return Engine(plan, runs, seed=seed, deterministic=deterministic, keep_units=keep_units).run()


def _concat(parts: list[Records]) -> Records:
    out = {}
    for f in fields(Records):
        arrays = [getattr(p, f.name) for p in parts]
        out[f.name] = None if arrays[0] is None else np.concatenate(arrays, axis=0)
    return Records(**out)


def _scaled(progress: Callable[[int], None] | None, n: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda k: progress(k * n)


def simulate_plan(
    plan: Plan,
    *,
    runs: int,
    seed: int,
    deterministic: bool = False,
    keep_units: bool = False,
    n_jobs: int = 1,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Records:
    """Simulate ``runs`` runs of a plan; ``progress(k)`` is called as k more run-days finish."""
    run_ids = np.arange(runs, dtype=np.int64)
    if chunk_size is None:
        chunk_size = max(1, -(-runs // max(1, n_jobs)))
    chunks = [run_ids[i : i + chunk_size] for i in range(0, runs, chunk_size)]
    if n_jobs <= 1 or len(chunks) == 1:
        parts = []
        for chunk in chunks:
            engine = Engine(
                plan, chunk, seed=seed, deterministic=deterministic, keep_units=keep_units
            )
            parts.append(engine.run(_scaled(progress, len(chunk))))
        return _concat(parts)
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        futures = [
            pool.submit(_run_chunk, plan, chunk, seed, deterministic, keep_units)
            for chunk in chunks
        ]
        parts = []
        for chunk, future in zip(chunks, futures, strict=True):
            parts.append(future.result())
            if progress is not None:
                progress(len(chunk) * plan.horizon)
        return _concat(parts)
