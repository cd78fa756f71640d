"""The records of a batch of runs: what the engine fills and :mod:`forcegen.results` labels."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.plan import CAUSES, FLOWS, PIPELINE_MEASURES, STOCK_FLOWS, STOCKS, Plan

MAX_UNIT_SLOTS = int(np.iinfo(np.int16).max)
"""Most units (declared and cohort slots) a plan may have: counts of units are int16."""


@dataclass
class Records:
    """Daily records of a batch of runs; the engine fills them, results label them."""

    strength: NDArray[np.float64]  # (R, T, F, L) people present
    filled: NDArray[np.float64]  # (R, T, D) people (units) allocated to each demand
    positions: NDArray[np.int16]  # (R, T, P) units in each position
    deployed: NDArray[np.int16]  # (R, T, F) units in deployed positions
    active: NDArray[np.int16]  # (R, T, F) units in the force
    losses: NDArray[np.float64]  # (R, T, F, CAUSES) people lost from units
    flows: NDArray[np.float64]  # (R, T, F, FLOWS)
    stocks: NDArray[np.float64]  # (R, T, F, STOCKS)
    pipeline: NDArray[np.float64]  # (R, T, Q, PIPELINE_MEASURES)
    reservoir: NDArray[np.float64]  # (R, T, V) people left
    deployed_days: NDArray[np.int32]  # (R, U) census days deployed
    active_days: NDArray[np.int32]  # (R, U) census days in the force
    unit_position: NDArray[np.int16] | None = None  # (R, T, U) when units are kept
    unit_strength: NDArray[np.float32] | None = None  # (R, T, U) when units are kept
    deployed_type: NDArray[np.int16] | None = None  # (R, T, Y) units deployed by unit type
    stock: NDArray[np.float64] | None = None  # (R, T, N) people in each state
    transition: NDArray[np.float64] | None = None  # (R, T, E) people moved per day
    stock_flows: NDArray[np.float64] | None = None  # (R, T, N, STOCK_FLOWS) per day
    mobilised_days: NDArray[np.int32] | None = None  # (R, U) census days mobilised or deployed

    @classmethod
    def empty(cls, plan: Plan, runs: int, keep_units: bool, *, compact: bool = False) -> Records:
        """Zeroed records. ``compact`` stores people as float32, which holds whole numbers
        exactly up to 16,777,216 (so every count of a stochastic run), halving memory;
        deterministic runs, whose expected values have fractions, keep float64. Reservoir
        levels (populations of millions) stay float64 in both. Counts of units take int16,
        so units by position, an aggregate like strength by force and location, cost two
        bytes per position and run-day: a plan has at most :data:`MAX_UNIT_SLOTS` units
        (the scenario's limit on units, cohort slots included, keeps under it).

        Raises
        ------
        ValueError
            If the plan has more units than an int16 count holds.
        """
        if plan.n_units > MAX_UNIT_SLOTS:
            raise ValueError(
                f"the plan has {plan.n_units:,} units; records count at most "
                f"{MAX_UNIT_SLOTS:,} in 16-bit integers"
            )
        layout = cls.layout(runs, *_dims(plan), keep_units=keep_units, compact=compact)
        return cls(**{name: np.zeros(shape, dtype) for name, (shape, dtype) in layout.items()})

    @staticmethod
    def layout(
        runs: int,
        horizon: int,
        forces: int,
        locations: int,
        demands: int,
        positions: int,
        units: int,
        pipelines: int,
        reservoirs: int,
        unit_types: int = 1,
        states: int = 0,
        transitions: int = 0,
        *,
        keep_units: bool,
        compact: bool = False,
    ) -> dict[str, tuple[tuple[int, ...], type]]:
        """Shape and element type of each record, from the sizes of a plan's axes."""
        r, t, f, loc, d = runs, horizon, forces, locations, demands
        p, u = positions, units
        kept = (r, t, u) if keep_units else (r, 0, 0)
        people = np.float32 if compact else np.float64
        return {
            "strength": ((r, t, f, loc), people),
            "filled": ((r, t, d), people),
            "positions": ((r, t, p), np.int16),
            "deployed": ((r, t, f), np.int16),
            "active": ((r, t, f), np.int16),
            "losses": ((r, t, f, len(CAUSES)), people),
            "flows": ((r, t, f, len(FLOWS)), people),
            "stocks": ((r, t, f, len(STOCKS)), people),
            "pipeline": ((r, t, pipelines, len(PIPELINE_MEASURES)), people),
            "reservoir": ((r, t, reservoirs), np.float64),
            "deployed_days": ((r, u), np.int32),
            "active_days": ((r, u), np.int32),
            "unit_position": (kept, np.int16),
            "unit_strength": (kept, np.float32),
            "deployed_type": ((r, t, unit_types), np.int16),
            "stock": ((r, t, states), people),
            "transition": ((r, t, transitions), people),
            "stock_flows": ((r, t, states, len(STOCK_FLOWS)), people),
            "mobilised_days": ((r, u), np.int32),
        }

    @staticmethod
    def nbytes(plan: Plan, runs: int, keep_units: bool, *, compact: bool = False) -> int:
        """Bytes the records of ``runs`` runs will take, without allocating them."""
        return Records.nbytes_of(runs, *_dims(plan), keep_units=keep_units, compact=compact)

    @staticmethod
    def nbytes_of(*dims: int, keep_units: bool, compact: bool = False) -> int:
        """Bytes of the records of the sizes :meth:`layout` takes, without a plan."""
        layout = Records.layout(*dims, keep_units=keep_units, compact=compact)
        return sum(math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in layout.values())

    def rows(self, start: int, stop: int) -> Records:
        """A view of runs ``start`` to ``stop`` (for filling chunk by chunk)."""
        return Records(
            **{
                f.name: None if (a := getattr(self, f.name)) is None else a[start:stop]
                for f in fields(self)
            }
        )


def _dims(plan: Plan) -> tuple[int, ...]:
    """The sizes :meth:`Records.layout` takes after ``runs``, read from a plan."""
    return (
        plan.horizon,
        len(plan.forces),
        len(plan.locations),
        len(plan.demands),
        len(plan.position_labels),
        plan.n_units,
        len(plan.pipelines),
        len(plan.reservoirs),
        len(plan.unit_types),
        len(plan.states),
        len(plan.transitions),
    )
