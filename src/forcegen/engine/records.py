"""The records of a batch of runs: what the engine fills and :mod:`forcegen.results` labels."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.plan import CAUSES, FLOWS, PIPELINE_MEASURES, STOCKS, Plan


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
