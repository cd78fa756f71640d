"""The engine: a plan in, daily records out, over arrays of runs × units.

The daily step itself is :mod:`forcegen.engine.kernel` (its docstring gives the order of a
simulated day). Runs go to threads in chunks; since every random draw is keyed by run, day
and unit (:mod:`forcegen.engine.random`), the records are the same whatever the number of
threads or the size of chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numba
import numpy as np
from numpy.typing import NDArray

from forcegen.compile import CAUSE_HAZARDS, Plan
from forcegen.engine.kernel import UNSIGNED, KOut, KPlan, simulate_runs
from forcegen.streams import Purpose, run_keys

CAUSES = (*CAUSE_HAZARDS, "discharged")
"""Causes of loss from units, recorded per force and day."""
FLOWS = ("formed", "replaced", "returned", "wounded_returning")
"""Flows recorded per force and day: people into units (formed with new units, replacements
delivered, wounded back from recovery) and wounded who will return (into recovery)."""
STOCKS = ("in_recovery", "replacement_pool", "unmet_need")
"""Stocks recorded per force at each census: wounded who will return, the replacement pool,
and people missing from units below authorised strength after replacements."""
PIPELINE_MEASURES = ("recruits", "graduates", "in_training")

_STREAMS = (
    Purpose.KILLED,
    Purpose.WOUNDED,
    Purpose.MISSING,
    Purpose.DESERTED,
    Purpose.RETURNS,
    Purpose.RECRUITS,
)
"""Random streams the kernel reads, in the order of its key table."""

__all__ = ["CAUSES", "FLOWS", "PIPELINE_MEASURES", "STOCKS", "Records", "simulate_plan"]


@dataclass
class Records:
    """Daily records of a batch of runs; the engine fills them, results label them."""

    strength: NDArray[np.float64]  # (R, T, F, L) people present
    filled: NDArray[np.float64]  # (R, T, D) people (units) allocated to each demand
    positions: NDArray[np.integer]  # (R, T, P) units in each position
    deployed: NDArray[np.integer]  # (R, T, F) units in deployed positions
    active: NDArray[np.integer]  # (R, T, F) units in the force
    losses: NDArray[np.float64]  # (R, T, F, CAUSES) people lost from units
    flows: NDArray[np.float64]  # (R, T, F, FLOWS)
    stocks: NDArray[np.float64]  # (R, T, F, STOCKS)
    pipeline: NDArray[np.float64]  # (R, T, Q, PIPELINE_MEASURES)
    reservoir: NDArray[np.float64]  # (R, T, V) people left
    deployed_days: NDArray[np.int32]  # (R, U) census days deployed
    active_days: NDArray[np.int32]  # (R, U) census days in the force
    unit_position: NDArray[np.int16] | None = None  # (R, T, U) when units are kept
    unit_strength: NDArray[np.float32] | None = None  # (R, T, U) when units are kept

    @classmethod
    def empty(cls, plan: Plan, runs: int, keep_units: bool, *, compact: bool = False) -> Records:
        """Zeroed records. ``compact`` stores people as float32, which holds whole numbers
        exactly up to 16,777,216 (so every count of a stochastic run), halving memory;
        deterministic runs, whose expected values have fractions, keep float64. Reservoir
        levels (populations of millions) stay float64 in both. Counts of units take int16
        when the plan has fewer than 32,768 units, so units by position, an aggregate like
        strength by force and location, cost two bytes per position and run-day."""
        r, t = runs, plan.horizon
        f, loc, d = len(plan.forces), len(plan.locations), len(plan.demands)
        p, u = len(plan.position_labels), plan.n_units
        kept = (r, t, u) if keep_units else (r, 0, 0)
        people = np.float32 if compact else np.float64
        count = np.int16 if u < 32768 else np.int32
        return cls(
            strength=np.zeros((r, t, f, loc), people),
            filled=np.zeros((r, t, d), people),
            positions=np.zeros((r, t, p), count),
            deployed=np.zeros((r, t, f), count),
            active=np.zeros((r, t, f), count),
            losses=np.zeros((r, t, f, len(CAUSES)), people),
            flows=np.zeros((r, t, f, len(FLOWS)), people),
            stocks=np.zeros((r, t, f, len(STOCKS)), people),
            pipeline=np.zeros((r, t, len(plan.pipelines), len(PIPELINE_MEASURES)), people),
            reservoir=np.zeros((r, t, len(plan.reservoirs))),
            deployed_days=np.zeros((r, u), np.int32),
            active_days=np.zeros((r, u), np.int32),
            unit_position=np.zeros(kept, np.int16),
            unit_strength=np.zeros(kept, np.float32),
        )

    @staticmethod
    def nbytes(plan: Plan, runs: int, keep_units: bool, *, compact: bool = False) -> int:
        """Bytes the records of ``runs`` runs will take, without allocating them."""
        one = Records.empty(plan, 1, keep_units, compact=compact)
        return runs * sum(a.nbytes for f in fields(one) if (a := getattr(one, f.name)) is not None)

    def rows(self, start: int, stop: int) -> Records:
        """A view of runs ``start`` to ``stop`` (for filling chunk by chunk)."""
        return Records(
            **{
                f.name: None if (a := getattr(self, f.name)) is None else a[start:stop]
                for f in fields(self)
            }
        )


def kernel_plan(plan: Plan) -> KPlan:
    """The plan's arrays in the form the compiled kernel takes."""
    if plan.hazard.shape[1] != 4:  # the kernel's split among causes is written for four
        raise ValueError(f"the kernel draws 4 causes of loss, not {plan.hazard.shape[1]}")
    arrays = {name: np.ascontiguousarray(getattr(plan, name)) for name in KPlan._fields}
    for name in UNSIGNED:
        if arrays[name].size and arrays[name].min() < 0:
            raise ValueError(f"the plan's {name} has a negative index")
        arrays[name] = arrays[name].astype(np.uint32)
    return KPlan(**arrays)


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
    """Simulate ``runs`` runs of a plan; ``progress(k)`` is called as k more run-days finish.

    Run ``r`` takes the plan's sample ``r`` (or its only sample). ``n_jobs`` threads share the
    runs; ``chunk_size`` runs go to the kernel at a time (for progress reports). Neither
    changes the results.
    """
    run_ids = np.arange(runs, dtype=np.int64)
    samples = run_ids % plan.samples
    keys = np.stack([run_keys(seed, run_ids, purpose) for purpose in _STREAMS], axis=1)
    rec = Records.empty(plan, runs, keep_units, compact=not deterministic)
    kplan = kernel_plan(plan)
    if chunk_size is None:
        chunk_size = max(16 * n_jobs, 64)
    threads = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_jobs, numba.config.NUMBA_NUM_THREADS)))
    try:
        for start in range(0, runs, chunk_size):
            stop = min(runs, start + chunk_size)
            part = rec.rows(start, stop)
            out = KOut(**{name: getattr(part, name) for name in KOut._fields})
            simulate_runs(
                kplan, samples[start:stop], keys[start:stop], deterministic, keep_units, out
            )
            if progress is not None:
                progress((stop - start) * plan.horizon)
    finally:
        numba.set_num_threads(threads)
    if not keep_units:
        rec.unit_position = None
        rec.unit_strength = None
    return rec
