"""The plan: the engine's input contract, and the names of what the engine records.

A plan is flat index tables and arrays; it knows nothing of YAML or claims.
:func:`forcegen.compile.compile_plan` builds one from a scenario. Arrays whose values may
differ between runs carry a leading *sample* axis ``S``: one row per run when the scenario
has uncertain values, a single row shared by every run otherwise.

The kernel reads the arrays named in :data:`KERNEL_FIELDS` (see
:mod:`forcegen.engine.kernel`); the name tuples :data:`CAUSES`, :data:`FLOWS`,
:data:`STOCKS`, :data:`PIPELINE_MEASURES` and :data:`STOCK_FLOWS` give the order of the last
axis of the records (:class:`forcegen.engine.Records`), and the kernel's index constants are
derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CAUSE_HAZARDS = ("killed", "wounded", "missing", "deserted")
"""Causes of loss that are daily hazards, in the order they are drawn (the plan's axis C)."""

CAUSES = (*CAUSE_HAZARDS, "discharged")
"""Causes of loss from units, recorded per force and day."""

FLOWS = ("formed", "replaced", "returned", "wounded_returning")
"""Flows recorded per force and day: people into units (formed with new units, replacements
delivered, wounded back from recovery) and wounded who will return (into recovery)."""

STOCKS = ("in_recovery", "replacement_pool", "unmet_need")
"""Stocks recorded per force at each census: wounded who will return, the replacement pool,
and people missing from units below authorised strength after replacements."""

PIPELINE_MEASURES = ("recruits", "graduates", "in_training")
"""Measures recorded per pipeline and day: people drawn into training, people graduating,
and people in training."""

STOCK_FLOWS = ("intake", "to_units", "from_units")
"""Flows recorded per state and day besides transitions: people into the state's stock from
pipelines, people drawn from it as replacements for units, and people discharged from units
into it."""

YEAR_STEP = 365
"""Days between the applications of the hazards of a state with ``step: year``."""

OPEN = -1
"""Duration of a position that holds units until something moves them (ready, terminal)."""

RESTED = 100_000
"""Days since last deployment credited to every unit at the start: all count as rested."""


@dataclass(frozen=True)
class Plan:
    """Everything the engine needs, as arrays. Index tables name every axis.

    Shapes: S samples, P positions, K policies, U units, F forces, L locations, Y unit types,
    C hazard causes, D demands, V reservoirs, Q pipelines, T days, H scheduled changes,
    N states (stocks of people), E transitions between states (and out of the force).
    """

    horizon: int
    start: np.datetime64
    forces: tuple[str, ...]
    locations: tuple[str, ...]
    unit_types: tuple[str, ...]
    policies: tuple[str, ...]
    position_labels: tuple[str, ...]
    """``policy/position`` for each position index."""
    demands: tuple[str, ...]
    unit_ids: tuple[str, ...]
    """``group#member`` for each unit index (``pipeline#batch.unit`` for cohort units)."""
    groups: tuple[str, ...]
    """Unit groups, then pipelines (the groups of cohort units)."""
    reservoirs: tuple[str, ...]
    pipelines: tuple[str, ...]

    # positions
    pos_policy: NDArray[np.int32]  # (P,)
    pos_location: NDArray[np.int32]  # (P,)
    pos_duration: NDArray[np.int32]  # (S, P); OPEN where the position waits
    pos_next: NDArray[np.int32]  # (P,)
    pos_deployed: NDArray[np.bool_]  # (P,)
    pos_ready: NDArray[np.bool_]  # (P,)
    pos_overlap: NDArray[np.bool_]  # (P,)
    pos_terminal: NDArray[np.bool_]  # (P,)
    pos_pull_to: NDArray[np.int32]  # (P,) -1 where not ready
    pos_release: NDArray[np.int32]
    """(P,) for a deployed position: where a unit goes when its demand ends early."""
    pos_cycle_start: NDArray[np.int32]
    """(S, P) day of its policy's cycle on which a position starts; -1 outside the cycle."""
    policy_cycle_pos: NDArray[np.int32]
    """(K, M) positions of each policy's fixed-length cycle in order, -1 padded."""
    policy_cycle_n: NDArray[np.int32]
    """(K,) number of positions in each policy's fixed-length cycle."""
    policy_cycle_starts: NDArray[np.int64]
    """(S, K, M + 1) day each of those positions starts; entry n is the cycle length."""
    policy_min_dwell: NDArray[np.int32]  # (S, K)
    policy_reconstitute_below: NDArray[np.float64]
    """(S, K) share of authorised strength under which a unit is withdrawn; -1: never."""
    policy_reconstitute_pos: NDArray[np.int32]  # (K,) -1 where none

    # units
    unit_group: NDArray[np.int32]  # (U,)
    unit_force: NDArray[np.int32]  # (U,)
    unit_type: NDArray[np.int32]  # (U,)
    unit_key: NDArray[np.uint64]  # (U,)
    unit_policy0: NDArray[np.int32]  # (U,)
    unit_pos0: NDArray[np.int32]  # (S, U)
    unit_t0: NDArray[np.int32]  # (S, U)
    unit_since0: NDArray[np.int32]  # (S, U)
    unit_present0: NDArray[np.bool_]  # (S, U) False for cohort slots and absent members
    unit_authorised: NDArray[np.float64]  # (S, U)
    unit_strength0: NDArray[np.float64]  # (S, U)
    force_replacement_rule: NDArray[np.int32]
    """(F,) 0: most depleted first, 1: deployed first."""

    # attrition
    hazard: NDArray[np.float64]  # (S, C, L, Y) daily probability
    return_share: NDArray[np.float64]  # (S, L, Y)
    recovery: NDArray[np.int32]  # (S, L, Y) days

    # demands, in fill order
    demand_location: NDArray[np.int32]  # (D,)
    demand_units: NDArray[np.bool_]
    """(D,) True where the demand counts units rather than people."""
    demand_priority: NDArray[np.int32]  # (D,)
    demand_start: NDArray[np.int32]  # (S, D)
    demand_end: NDArray[np.int32]  # (S, D) first day after the window
    demand_required: NDArray[np.float64]  # (S, D)
    demand_type_rank: NDArray[np.int32]
    """(D, Y) preference rank of each unit type, -1 where the type may not fill."""
    demand_force_rank: NDArray[np.int32]
    """(D, F) order in which forces fill, -1 where the force may not fill."""
    demand_cap: NDArray[np.float64]
    """(S, D, F) most people (units) of a force that count toward the demand; inf: no cap."""
    demand_pool_force: NDArray[np.int32]
    """(D, F*Y) the (force, type) pools a demand fills from, in fill order; -1 padded."""
    demand_pool_type: NDArray[np.int32]  # (D, F*Y)
    force_limit: NDArray[np.float64]
    """(S, F, L) most people of a force that pulls may bring to a location; inf: none."""

    # scheduled policy changes
    change_day: NDArray[np.int32]  # (S, H)
    change_units: NDArray[np.bool_]  # (H, U)
    change_policy: NDArray[np.int32]  # (H,)
    change_position_map: NDArray[np.int32]
    """(H, P) position of the same name in the new policy (its first if none): where a unit
    goes when its position lies outside the fixed-length cycle of either policy."""

    # manpower
    reservoir_size0: NDArray[np.float64]  # (S, V)
    reservoir_refill: NDArray[np.float64]  # (S, V) people per day
    pipe_force: NDArray[np.int32]  # (Q,)
    pipe_key: NDArray[np.uint64]  # (Q,) stable random key of each pipeline
    pipe_reservoir: NDArray[np.int32]  # (Q,) -1 for an unlimited supply
    pipe_proportional: NDArray[np.bool_]  # (Q,)
    pipe_rate: NDArray[np.float64]
    """(S, T, Q) intake rate, people per day, before any shrinking by the reservoir."""
    pipe_training: NDArray[np.int32]  # (S, Q)
    pipe_cohort: NDArray[np.bool_]  # (Q,)
    cohort_close: NDArray[np.bool_]
    """(S, T, Q) days on which a pipeline's batch closes and forms units."""
    cohort_slots: NDArray[np.int32]
    """(Q, B, N) unit indices of the units batch b of a pipeline forms; -1 padded."""

    # states and their stocks (N states, E transitions, wastage included): empty when the
    # scenario has no stocks
    states: tuple[str, ...]
    """Each state's id (the scenario's ``stocks``, in file order)."""
    transitions: tuple[str, ...]
    """``from>to`` of each transition, ``from>out`` for wastage, grouped by state."""
    stock_force: NDArray[np.int32]
    """(N,) force of each state."""
    stock_size0: NDArray[np.float64]
    """(S, N) people in each state at the start."""
    stock_period: NDArray[np.int32]
    """(N,) days between applications of a state's hazards: 1, or YEAR_STEP."""
    stock_edge_first: NDArray[np.int32]
    """(N + 1,) a state's transitions are ``stock_edge_first[i]`` to ``[i + 1] - 1``."""
    trans_from: NDArray[np.int32]
    """(E,) state each transition leaves."""
    trans_to: NDArray[np.int32]
    """(E,) state each transition leads to; -1: out of the force (wastage)."""
    trans_prob: NDArray[np.float64]
    """(S, E) probability of each transition at each application (a day, or a year)."""
    trans_key: NDArray[np.uint64]
    """(E,) stable random key of each transition."""
    pipe_stock: NDArray[np.int32]
    """(Q,) state whose stock a pipeline feeds; -1 for cohorts and replacements."""
    force_replace_stock: NDArray[np.int32]
    """(F,) state whose stock a force's units draw replacements from; -1: none."""
    force_discharge_stock: NDArray[np.int32]
    """(F,) state the people discharged from a force's units join; -1: none."""
    # stays, lead times and mobilisation (issue 18); every default leaves the engine as before
    pos_stay_row: NDArray[np.int32]
    """(P,) row of ``stay_cdf`` a position draws each stay's length from; -1: the run's
    duration (``per: run``, or no uncertain duration)."""
    stay_cdf: NDArray[np.float64]
    """(Z, W) probability that a stay lasts at most ``n + 1`` days, for n = 0 .. W - 1; the
    last entry is 1 (longer stays are cut to W days, more than any run can see)."""
    pos_bound: NDArray[np.int32]
    """(P,) location a unit entering the position is bound for: its own, or for a mobilised
    position that is not deployed, that of the first deployed position along ``next``."""
    pos_mobilised: NDArray[np.bool_]
    """(P,) time here counts as mobilised: ``mobilised`` or deployed positions."""
    pos_prorated: NDArray[np.bool_]
    """(P,) a unit released early from this deployed position serves a prorated dwell."""
    demand_pull_from: NDArray[np.int32]
    """(S, D) first day a demand pulls ready units: its start less its lead time."""
    demand_ahead: NDArray[np.bool_]
    """(D,) units pulled for the demand may be on their way (a lead time, or a pull into a
    mobilised position elsewhere): its pulls count them toward it."""

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def samples(self) -> int:
        return int(self.pos_duration.shape[0])


KERNEL_FIELDS = (
    "pos_location",
    "pos_duration",
    "pos_next",
    "pos_deployed",
    "pos_ready",
    "pos_overlap",
    "pos_terminal",
    "pos_pull_to",
    "pos_release",
    "pos_cycle_start",
    "policy_cycle_pos",
    "policy_cycle_n",
    "policy_cycle_starts",
    "policy_min_dwell",
    "policy_reconstitute_below",
    "policy_reconstitute_pos",
    "unit_force",
    "unit_type",
    "unit_key",
    "unit_policy0",
    "unit_pos0",
    "unit_t0",
    "unit_since0",
    "unit_present0",
    "unit_authorised",
    "unit_strength0",
    "force_replacement_rule",
    "hazard",
    "return_share",
    "recovery",
    "demand_location",
    "demand_units",
    "demand_start",
    "demand_end",
    "demand_required",
    "demand_type_rank",
    "demand_force_rank",
    "demand_cap",
    "demand_pool_force",
    "demand_pool_type",
    "force_limit",
    "change_day",
    "change_units",
    "change_policy",
    "change_position_map",
    "reservoir_size0",
    "reservoir_refill",
    "pipe_force",
    "pipe_key",
    "pipe_reservoir",
    "pipe_proportional",
    "pipe_rate",
    "pipe_training",
    "pipe_cohort",
    "cohort_close",
    "cohort_slots",
    "stock_size0",
    "stock_period",
    "stock_edge_first",
    "trans_from",
    "trans_to",
    "trans_prob",
    "trans_key",
    "pipe_stock",
    "force_replace_stock",
    "force_discharge_stock",
    "pos_stay_row",
    "stay_cdf",
    "pos_bound",
    "pos_mobilised",
    "pos_prorated",
    "demand_pull_from",
    "demand_ahead",
)
"""The arrays of :class:`Plan` the kernel reads, in the order of its
:class:`forcegen.engine.kernel.KPlan`. The others (labels, ``pos_policy``, ``unit_group``,
``demand_priority``) serve the results only; every array listed here is handed to each call
of the kernel, so an array the kernel does not read stays off this list."""
