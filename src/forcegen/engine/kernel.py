"""The compiled daily step: each run simulated day by day, unit by unit, in machine code.

No I/O, no YAML, no printing: a plan's arrays in, daily records out. Runs are independent
and are spread over threads (:func:`forcegen.engine.simulate_plan` hands each thread a
slice of runs; :func:`simulate_runs` releases the GIL); each run writes only its own rows of the
records, and every random draw is keyed by (run, purpose, day, unit), so results do not
depend on the number of threads, workers or chunks.

Order of a simulated day ``d`` (DESIGN.md; tests hold the engine to it):

1. **changes**: scheduled policy changes due on day ``d`` take effect. A unit that is not
   deployed switches at once; a deployed unit switches when it next enters a position that
   is not deployed. A switching unit keeps its proportional place in its cycle (MARATHON's
   rule): ``c`` days into an old cycle of length ``L`` becomes ``floor(c * L' / L)`` days into
   the new one, so an evenly staggered group stays evenly staggered; a unit outside the
   fixed-length cycle of either policy (waiting ready, say) moves to the position of the
   same name, keeping its days there. Then **stocks** (only where the scenario has
   ``stocks``): the people of each state leave by its transitions (to other states of the
   force) and its wastage (out of the force), competing hazards applied to the stock at
   the start of the day; a state with ``step: year`` applies them, as yearly
   probabilities, on the last day of each 365-day year only. Stochastic runs split each
   stock multinomially (conditional binomials from the pipelines' stream, each transition
   keyed by its name); deterministic runs move the expected people.
2. **pipelines**: reservoirs are refilled; pipelines, in file order, draw recruits from
   their reservoirs (a shared reservoir serves them in that order) and put them in
   training; those whose training ends today graduate. Graduates of a cohort pipeline join
   its open batch; on the days a batch closes it forms new units, which enter the first
   position of their policy. Graduates of a replacement pipeline join their force's pool;
   those of a pipeline ``into: stock`` join the state's stock (after the day's transitions).
3. **returns and replacements**: wounded whose recovery ends today return to their unit (to
   their force's pool if the unit is gone); then each force's pool goes to its units below
   authorised strength, in the order of the force's replacement rule, ties by unit number.
   A state's stock that ``feeds_replacements`` is lent to the pool for this step and gets
   back what is left, up to what it lent: the pool's own people are used first.
4. **attrition**: each unit loses people by the hazards of the location it spent the day at
   (its position at the previous census), for its unit type: killed, then wounded, missing
   and deserted among those left, as competing causes. A share of the wounded will return
   after the recovery time. Stochastic runs draw binomial counts; deterministic runs take
   expected values. Units formed today are not exposed until tomorrow.
5. **rotation**: each unit counts one more day in its position and moves on to ``next`` once
   it has spent the position's duration there; a unit entering a terminal position is
   discharged; a unit below its policy's reconstitution threshold is withdrawn to the
   reconstitution position. Units whose demand has ended are released from deployment.
   Then demands are taken in fill order (priority, then file order); each one short of its
   requirement pulls ready units bound for its location, in the order: unit type
   preference, force order, longest time since last deployment, unit number. Pulls stop at
   a demand's cap for a force and at a force's limit at the location (the first unit that
   would pass the limit ends that force's pulls).
6. **census**: people present at each location (overlap positions excepted) are allocated to
   the location's demands in fill order; within a demand by unit type preference, then force
   order, up to the caps. Coverage and every other record are taken. People discharged
   from units today join the state that ``takes_discharged``, if any, and the states'
   stocks are recorded.

Stays, lead times and mobilisation (issue 18), in step 5: a position with a stay table
(``pos_stay_row``) holds a unit for a stay drawn from the keyed uniform of the day it entered
(``day - t``), so the stay needs no state; a demand pulls from ``demand_pull_from`` (its start
less its lead time) and releases its units only outside that window and its own; a pull may
enter a mobilised position bound for the demand's location elsewhere (``pos_bound``), and
units pulled for a demand and still on their way count toward it (``demand_ahead``); a unit
released into a dwell from a prorated position (``pos_prorated``) is credited the days of
that dwell its unserved deployment did not earn. Each census counts days in mobilised or
deployed positions per unit (``mobilised_days``).

The state before day 0 is the census of the eve of day 0: a unit placed ``o`` days into its
cycle is seen ``o + 1`` days into it at the census of day 0, and each position is held for
exactly its duration in census days and in days of exposure to attrition. A unit formed on
day ``d`` is first counted at the census of day ``d``.

What the kernel reads is declared in :mod:`forcegen.engine.plan`: the plan's arrays it takes
(``KERNEL_FIELDS``, from which :data:`KPlan` is made) and the name tuples whose order the
records follow; the index constants below (``C_*``, ``F_*``, ``S_*``, ``M_*``, ``K_*``) are
derived from those tuples, and ``tests/test_engine_contract.py`` holds each to its name.
numba's cache sees changes to this file only: after changing a tuple in ``plan.py``, clear
the ``__pycache__`` folders (or touch this file) so the kernel compiles again.

Adding a cause of loss (a daily hazard, ``captured`` say):

1. ``engine/plan.py``: add its name to ``CAUSE_HAZARDS`` at its place in the order of the
   draws (``CAUSES``, the records' axis, follows); the plan's ``hazard`` gains a row on its
   axis C, which :func:`forcegen.compile.compile_plan` fills from the scenario's attrition
   field of the same name.
2. ``scenario/model.py``: that field on ``Attrition`` and its name in ``Attrition.CAUSES``
   (``tests/test_engine_contract.py`` holds it equal to ``CAUSE_HAZARDS``; the check that a
   location's hazards add up to at most 1 follows); ``docs/format.md`` documents the field,
   which ``tests/test_docs.py`` checks.
3. This file: the guard on ``CAUSE_HAZARDS`` below, a ``C_*`` constant (the contract test
   fails until it exists), and in :func:`_run`'s step 4: the expected losses of
   deterministic runs (``x0``..``x3``), the split person by person (``c = (w > h0) + ...``
   and its counts), :func:`_split_by_binomials` (one more conditional binomial), and the
   force's sums kept in registers (``a_killed``..) with :func:`_store_sums`.
4. Results label losses by ``CAUSES`` with no change; ``report/charts.py`` gives each
   cause its colour.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from forcegen.engine.plan import (
    CAUSE_HAZARDS,
    CAUSES,
    FLOWS,
    KERNEL_FIELDS,
    OPEN,
    PIPELINE_MEASURES,
    RESTED,
    STOCK_FLOWS,
    STOCKS,
    Plan,
)
from forcegen.engine.random import (
    SMALL_MEAN,
    binomial_inverse,
    binomial_inverse_odds,
    binomial_inverse_q,
    poisson_inverse,
)
from forcegen.engine.streams import Purpose, uniform

EPS = 1e-9

# Typed starting values of the counters and "none yet" markers that the daily passes carry
# from unit to unit. A literal ``0`` or ``-1`` would be typed ``Literal[int]`` where numba
# first meets a call that takes the variable, so each function called with it would compile
# twice (once for the literal, once for ``int64``): about a second of compiling each, and
# twice the machine code for the largest.
ZERO = np.int64(0)
NONE = np.int64(-1)

# Index constants, derived from the name tuples of the plan and the records; numba reads
# module globals as compile-time constants, so each is as cheap as a literal.
STREAMS = (
    Purpose.KILLED,
    Purpose.WOUNDED,
    Purpose.MISSING,
    Purpose.DESERTED,
    Purpose.RETURNS,
    Purpose.RECRUITS,
    Purpose.STAYS,
)
"""Random streams the kernel reads, in the order of its (runs, streams) key table."""
K_KILLED = STREAMS.index(Purpose.KILLED)
K_WOUNDED = STREAMS.index(Purpose.WOUNDED)
K_MISSING = STREAMS.index(Purpose.MISSING)
K_DESERTED = STREAMS.index(Purpose.DESERTED)
K_RETURNS = STREAMS.index(Purpose.RETURNS)
K_RECRUITS = STREAMS.index(Purpose.RECRUITS)
K_STAYS = STREAMS.index(Purpose.STAYS)

# Causes of loss: the plan's hazard axis (CAUSE_HAZARDS) and the records' (CAUSES).
C_KILLED = CAUSES.index("killed")
C_WOUNDED = CAUSES.index("wounded")
C_MISSING = CAUSES.index("missing")
C_DESERTED = CAUSES.index("deserted")
C_DISCHARGED = CAUSES.index("discharged")
if CAUSE_HAZARDS != ("killed", "wounded", "missing", "deserted"):  # pragma: no cover
    # A guard for whoever changes the causes: see "Adding a cause of loss" above.
    raise ImportError(
        "the kernel's split among causes of loss is written for killed, wounded, missing and "
        "deserted, in this order; see 'Adding a cause of loss' in forcegen.engine.kernel"
    )

# Flows, stocks and pipeline measures, as recorded.
F_FORMED = FLOWS.index("formed")
F_REPLACED = FLOWS.index("replaced")
F_RETURNED = FLOWS.index("returned")
F_WOUNDED_RETURNING = FLOWS.index("wounded_returning")
S_IN_RECOVERY = STOCKS.index("in_recovery")
S_REPLACEMENT_POOL = STOCKS.index("replacement_pool")
S_UNMET_NEED = STOCKS.index("unmet_need")
M_RECRUITS = PIPELINE_MEASURES.index("recruits")
M_GRADUATES = PIPELINE_MEASURES.index("graduates")
M_IN_TRAINING = PIPELINE_MEASURES.index("in_training")
SF_INTAKE = STOCK_FLOWS.index("intake")
SF_TO_UNITS = STOCK_FLOWS.index("to_units")
SF_FROM_UNITS = STOCK_FLOWS.index("from_units")


KPlan = namedtuple("KPlan", KERNEL_FIELDS)  # type: ignore[misc]
KPlan.__doc__ = """The plan's arrays, as the kernel reads them: the fields
:data:`forcegen.engine.plan.KERNEL_FIELDS` of :class:`forcegen.engine.plan.Plan`, C-contiguous,
with the indices of :data:`UNSIGNED` as unsigned integers (:func:`kernel_plan` builds one)."""


UNSIGNED = ("pos_location", "pos_next", "unit_force", "unit_type", "unit_policy0", "unit_pos0")
"""The plan's indices that the kernel takes as unsigned integers: they are never negative,
and numba indexes with an unsigned integer without first checking for a negative index
(Python's count from the end). A unit's force, type, position and policy, and a position's
location and next, index arrays at every step of every unit-day; unsigned, the unit-day
costs about a tenth less."""


def kernel_plan(plan: Plan) -> KPlan:
    """The plan's arrays in the form the compiled kernel takes."""
    if plan.hazard.shape[1] != len(CAUSE_HAZARDS):
        raise ValueError(
            f"the kernel draws {len(CAUSE_HAZARDS)} causes of loss, not {plan.hazard.shape[1]}"
        )
    arrays = {name: np.ascontiguousarray(getattr(plan, name)) for name in KERNEL_FIELDS}
    for name in UNSIGNED:
        if arrays[name].size and arrays[name].min() < 0:
            raise ValueError(f"the plan's {name} has a negative index")
        arrays[name] = arrays[name].astype(np.uint32)
    return KPlan(**arrays)


def kernel_features(kp: KPlan) -> tuple[NDArray | None, NDArray | None, NDArray | None]:
    """The kernel's arguments that say which optional steps a plan has: ``(pulls, changes,
    stocks)``, each one of the plan's arrays where the plan has the step (units pulled to
    demands, scheduled policy changes, states with stocks) and ``None`` where it has not.

    numba compiles a function once for each combination of ``None`` and array it is called
    with, and leaves out the code of a step whose argument is ``None`` (branches on ``x is
    None`` of an argument are pruned before typing): a plan without pulls, the largest of
    these steps, so compiles in about two thirds of the time.
    """
    pulls = kp.pos_ready if kp.pos_ready.any() else None
    changes = kp.change_policy if kp.change_policy.shape[0] else None
    stocks = kp.stock_period if kp.stock_size0.shape[1] else None
    return pulls, changes, stocks


class KOut(NamedTuple):
    """The records the kernel fills, one row per run (see :class:`forcegen.engine.Records`)."""

    strength: NDArray  # (R, T, F, L)
    filled: NDArray  # (R, T, D)
    positions: NDArray  # (R, T, P) integers
    deployed: NDArray  # (R, T, F) integers
    active: NDArray  # (R, T, F) integers
    losses: NDArray  # (R, T, F, C + 1)
    flows: NDArray  # (R, T, F, 4)
    stocks: NDArray  # (R, T, F, 3)
    pipeline: NDArray  # (R, T, Q, 3)
    reservoir: NDArray[np.float64]  # (R, T, V)
    deployed_days: NDArray[np.int32]  # (R, U)
    active_days: NDArray[np.int32]  # (R, U)
    unit_position: NDArray[np.int16]  # (R, T, U), or (R, 0, 0) when units are not kept
    unit_strength: NDArray[np.float32]  # (R, T, U), or (R, 0, 0)
    deployed_type: NDArray  # (R, T, Y) integers: units in deployed positions by unit type
    stock: NDArray  # (R, T, N) people in each state
    transition: NDArray  # (R, T, E) people moved by each transition
    stock_flows: NDArray  # (R, T, N, 3)
    mobilised_days: NDArray[np.int32]  # (R, U)


class _State(NamedTuple):
    pos: NDArray[np.uint32]
    t: NDArray[np.int32]
    policy: NDArray[np.uint32]
    pending: NDArray[np.int32]
    strength: NDArray[np.float64]
    authorised: NDArray[np.float64]
    since: NDArray[np.int32]  # days since last deployed: kept only where units are pulled
    assigned: NDArray[np.int32]
    active: NDArray[np.bool_]
    recovering: NDArray[np.float64]  # (slots, U): a day's returns are one contiguous row
    reservoir: NDArray[np.float64]  # (V,)
    training: NDArray[np.float64]  # (Q, slots)
    batch: NDArray[np.float64]  # (Q,)
    batch_no: NDArray[np.int64]  # (Q,)
    pool: NDArray[np.float64]  # (F,)
    in_recovery: NDArray[np.float64]  # (F,)
    # Per run, computed once: array expressions and allocations inside the day loop cost
    # microseconds each in compiled code, more than the loop's own work.
    total_hazard: NDArray[np.float64]  # (L, Y) daily probability of any loss
    log_survive: NDArray[np.float64]  # (L, Y) log(1 - total_hazard)
    odds: NDArray[np.float64]  # (L, Y) total_hazard / (1 - total_hazard)
    cum_hazard: NDArray[np.float64]  # (L, Y, C) running sums of the hazards, in cause order
    # (1 - total_hazard)^n for whole n below the table's width, filled as needed (-1: not
    # yet), one row per (location, type) with a hazard (q0_row; -1: none).
    q0_row: NDArray[np.int64]  # (L, Y)
    q0_table: NDArray[np.float64]  # (rows, width)
    # Scratch space, reused every day.
    cand: NDArray[np.int64]  # (U,)
    replacement_key: NDArray[np.int64]  # (U,)
    sort_key_int: NDArray[np.int64]  # (U,)
    cap_left: NDArray[np.float64]  # (F,)
    demand_on: NDArray[np.bool_]  # (D,)
    need: NDArray[np.float64]  # (F,)
    count: NDArray[np.int64]  # (F,)
    delivered: NDArray[np.float64]  # (F,)
    order: NDArray[np.int64]  # (U,)
    limit_left: NDArray[np.float64]  # (F,) pulls: room under each force's limit
    taken_w: NDArray[np.float64]  # (F,) pulls: people or units taken for a demand
    taken_s: NDArray[np.float64]  # (F,) pulls: people taken for a demand
    stopped: NDArray[np.bool_]  # (F,) pulls: the force has reached its cap or limit


# The functions compiled apart from :func:`_run` take the arrays they read, not the plan's
# or the state's tuples: a tuple of some eighty arrays as an argument costs each function
# seconds of compiling (its lowering unpacks every array), and a call its reference counts.


@numba.njit(cache=True)
def _switch(
    change_policy: NDArray,
    cycle_n: NDArray,
    cycle_start: NDArray,
    cycle_starts: NDArray,
    cycle_pos: NDArray,
    position_map: NDArray,
    pos: NDArray,
    t: NDArray,
    policy: NDArray,
    u: int,
    k: int,
) -> None:
    """Switch unit ``u`` to the policy of change ``k``. The plan's arrays: ``change_policy``,
    ``policy_cycle_n`` (``cycle_n``), the sample's rows of ``pos_cycle_start`` and
    ``policy_cycle_starts`` (``cycle_start``, ``cycle_starts``), ``policy_cycle_pos``
    (``cycle_pos``) and ``change_position_map`` (``position_map``); the state's ``pos``,
    ``t`` and ``policy``."""
    new_policy = change_policy[k]
    n_new = cycle_n[new_policy]
    offset = cycle_start[pos[u]]
    if offset >= 0 and n_new > 0:
        old_policy = policy[u]
        old_len = cycle_starts[old_policy, cycle_n[old_policy]]
        new_len = cycle_starts[new_policy, n_new]
        c = (offset + max(t[u], 0)) * new_len // max(old_len, 1)
        i = 0
        while i + 1 < n_new and cycle_starts[new_policy, i + 1] <= c:
            i += 1
        pos[u] = cycle_pos[new_policy, i]
        t[u] = c - cycle_starts[new_policy, i]
    else:
        pos[u] = position_map[k, pos[u]]
    policy[u] = new_policy


@numba.njit(cache=True, inline="always")
def _switch_unit(p: KPlan, s: int, st: _State, u: int, k: int) -> None:
    """:func:`_switch`, handed the plan's and the state's arrays it reads."""
    _switch(
        p.change_policy, p.policy_cycle_n, p.pos_cycle_start[s], p.policy_cycle_starts[s],
        p.policy_cycle_pos, p.change_position_map, st.pos, st.t, st.policy, u, k,
    )  # fmt: skip


@numba.njit(cache=True, inline="always")
def _move(
    deployed: NDArray[np.bool_],
    pos: NDArray[np.int32],
    t: NDArray[np.int32],
    assigned: NDArray[np.int32],
    u: int,
    new_pos: int,
) -> bool:
    """Put unit ``u`` in ``new_pos``; True if it leaves deployment (a deferred change is due).

    It takes only the arrays it needs: a call with the whole plan costs far more than the
    move itself on this hot path.
    """
    leaving = not deployed[new_pos]
    if leaving:
        assigned[u] = -1
    pos[u] = new_pos
    t[u] = 0
    return leaving


@numba.njit(cache=True, inline="always")
def _demand_on(p: KPlan, s: int, d: int, day: int) -> bool:
    return p.demand_start[s, d] <= day < p.demand_end[s, d]


@numba.njit(cache=True, inline="always")
def _presence(p: KPlan, st: _State, people: NDArray, units: NDArray) -> None:
    """People and units available to fill, (F, Y, L): active units not overlapping."""
    _count_present(
        st.active,
        st.pos,
        st.strength,
        p.pos_overlap,
        p.pos_location,
        p.unit_force,
        p.unit_type,
        people,
        units,
    )


@numba.njit(cache=True, inline="always")
def _copy(into: NDArray, values: NDArray) -> None:
    """``into[:] = values`` for arrays of one length, element by element: numba's slice
    assignment checks the shapes with a formatted error message, whose string code costs
    about 3 s of the first run's compile."""
    for i in range(len(into)):
        into[i] = values[i]


@numba.njit(cache=True, inline="always")
def _largest(values: NDArray) -> float:
    """The largest of a non-empty 1-d array by a plain loop (``values.max()`` compiles
    numpy's general reduction, about a second of the first run's compile)."""
    most = values[0]
    for i in range(1, len(values)):
        if values[i] > most:
            most = values[i]
    return most


@numba.njit(cache=True)
def _count_present(active, pos, strength, overlap, location, force, utype, people, units) -> None:
    people[:] = 0.0
    units[:] = 0.0
    for u in range(len(pos)):
        if active[u] and not overlap[pos[u]]:
            f, y, loc = force[u], utype[u], location[pos[u]]
            people[f, y, loc] += strength[u]
            units[f, y, loc] += 1.0


@numba.njit(cache=True, inline="always")
def _fill_one(
    p: KPlan, d: int, people: NDArray, units: NDArray, need: float, cap_left: NDArray
) -> float:
    """Allocate to demand ``d`` from the pools, consuming them; returns the amount filled."""
    return _fill(
        p.demand_pool_force[d],
        p.demand_pool_type[d],
        p.demand_location[d],
        p.demand_units[d],
        people,
        units,
        need,
        cap_left,
    )


@numba.njit(cache=True, inline="always")
def _fill(
    pool_force, pool_type, loc: int, by_units: bool, people, units, need: float, cap_left
) -> float:
    filled = 0.0
    for j in range(len(pool_force)):
        f = pool_force[j]
        if f < 0:
            break
        y = pool_type[j]
        pool = units[f, y, loc] if by_units else people[f, y, loc]
        take = max(min(need - filled, pool, cap_left[f]), 0.0)
        if take > 0.0:
            share = take / pool
            people[f, y, loc] -= share * people[f, y, loc]
            units[f, y, loc] -= share * units[f, y, loc]
            cap_left[f] -= take
            filled += take
    return filled


@numba.njit(cache=True, inline="always")
def _pull(p: KPlan, s: int, st: _State, day: int, people: NDArray, units: NDArray) -> None:
    """Pull ready units to the demands they would fill that are short. ``people`` and
    ``units`` hold what is present (:func:`_presence`) when a demand is on."""
    n_d = p.demand_location.shape[0]
    n_u = len(st.pos)
    n_f = p.demand_force_rank.shape[1]
    for d in range(n_d):
        if not p.demand_pull_from[s, d] <= day < p.demand_end[s, d]:  # (its lead time too)
            continue
        loc = p.demand_location[d]
        need = p.demand_required[s, d]
        cap_left = st.cap_left
        _copy(cap_left, p.demand_cap[s, d])
        short = need - _fill_one(p, d, people, units, need, cap_left)
        if p.demand_ahead[d]:  # units pulled for it and still on their way count toward it
            short -= _en_route(
                st.pos, st.active, st.assigned, st.strength, p.pos_location,
                p.demand_units[d], d, loc,
            )  # fmt: skip
        if short <= EPS:
            continue
        # Candidates, then their order: type rank, force rank, longest dwell, unit number.
        cand = st.cand
        keys = st.sort_key_int
        n_c = 0
        for u in range(n_u):
            if not st.active[u] or not p.pos_ready[st.pos[u]]:
                continue
            target = p.pos_pull_to[st.pos[u]]
            tr = p.demand_type_rank[d, p.unit_type[u]]
            fr = p.demand_force_rank[d, p.unit_force[u]]
            if (
                target < 0
                or p.pos_bound[target] != loc
                or tr < 0
                or fr < 0
                or st.since[u] < p.policy_min_dwell[s, st.policy[u]]
            ):
                continue
            cand[n_c] = u
            keys[n_c] = (tr * (n_f + 1) + fr) * 4294967296 + (
                2147483647 - min(st.since[u], 2147483647)
            )
            n_c += 1
        if n_c == 0:
            continue
        order = np.argsort(keys[:n_c], kind="mergesort")
        limit_left, stopped, taken_w, taken_s = st.limit_left, st.stopped, st.taken_w, st.taken_s
        for f in range(n_f):
            limit_left[f] = p.force_limit[s, f, loc]
            stopped[f] = False
            taken_w[f] = taken_s[f] = 0.0
        for u in range(n_u):
            if st.active[u] and p.pos_location[st.pos[u]] == loc:
                limit_left[p.unit_force[u]] -= st.strength[u]
        total = 0.0
        took = False
        for j in range(n_c):
            if total >= short - EPS:
                break
            u = cand[order[j]]
            f = p.unit_force[u]
            if stopped[f]:
                continue
            w = 1.0 if p.demand_units[d] else st.strength[u]
            if taken_w[f] >= cap_left[f] - EPS or taken_s[f] + st.strength[u] > limit_left[f] + EPS:
                stopped[f] = True
                continue
            if (
                _move(p.pos_deployed, st.pos, st.t, st.assigned, u, p.pos_pull_to[st.pos[u]])
                and st.pending[u] >= 0
            ):
                _switch_unit(p, s, st, u, np.int64(st.pending[u]))
                st.pending[u] = -1
            st.assigned[u] = d
            taken_w[f] += w
            taken_s[f] += st.strength[u]
            total += w
            took = True
        if took:
            # Re-run the allocation of the demands already served, so pools stay consistent.
            _presence(p, st, people, units)
            for e in range(d + 1):
                if _demand_on(p, s, e, day):
                    _copy(cap_left, p.demand_cap[s, e])
                    _fill_one(p, e, people, units, p.demand_required[s, e], cap_left)


@numba.njit(cache=True)
def _en_route(
    pos: NDArray,
    active: NDArray,
    assigned: NDArray,
    strength: NDArray,
    pos_location: NDArray,
    by_units: bool,
    d: int,
    loc: int,
) -> float:
    """People (units if ``by_units``) pulled for demand ``d`` not yet at its location."""
    total = 0.0
    for u in range(len(pos)):
        if active[u] and assigned[u] == d and pos_location[pos[u]] != loc:
            total += 1.0 if by_units else strength[u]
    return total


@numba.njit(cache=True)
def _stay(cdf: NDArray[np.float64], v: float) -> np.int64:
    """Days of a stay drawn with the uniform ``v``: the first n whose entry ``cdf[n - 1]``
    reaches ``v`` (a binary search; the table's last entry is 1)."""
    lo = 0
    hi = len(cdf) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] >= v:
            hi = mid
        else:
            lo = mid + 1
    return np.int64(lo + 1)


@numba.njit(cache=True)
def _prorated_days(served: int, deployment: int, dwell: int) -> np.int64:
    """Days already counted in a dwell of ``dwell`` days for a unit released after
    ``served`` of ``deployment`` days: it then serves ``ceil(dwell * served / deployment)``
    days (at least 1), the share of the dwell its service earned, rounded up."""
    if deployment <= 0 or dwell <= 0 or served >= deployment:
        return ZERO
    owed = max((dwell * served + deployment - 1) // deployment, 1)
    return np.int64(dwell - owed)


@numba.njit(cache=True, inline="always")
def _form(
    p: KPlan, s: int, st: _State, q: int, deterministic: bool, out: KOut, r: int, day: int
) -> None:
    """A cohort batch closes: its graduates form the batch's units."""
    b = st.batch_no[q]
    st.batch_no[q] += 1
    people = st.batch[q]
    if people <= 0.0 or b >= p.cohort_slots.shape[1]:
        return
    n = 0
    while n < p.cohort_slots.shape[2] and p.cohort_slots[q, b, n] >= 0:
        n += 1
    base = people / n if deterministic else math.floor(people / n)
    extra = people - base * n
    for j in range(n):
        u = p.cohort_slots[q, b, j]
        each = base + (1.0 if (not deterministic and j < extra) else 0.0)
        st.strength[u] = each
        st.authorised[u] = each
        st.active[u] = True
        st.t[u] = -1
        st.since[u] = RESTED
        out.active_days[r, u] = -day  # first counted at the census of today
    out.flows[r, day, p.pipe_force[q], F_FORMED] += people
    st.batch[q] = 0.0


SHARE_STEPS = 1_000_000_000
"""Replacements compare units' shares of authorised strength in steps of 1/SHARE_STEPS, so
that rounding noise in expected values cannot reorder identical units (ties go by unit
number)."""
SERVED_LATER = 1 << 30
"""Added to the share steps of units a force's rule serves after the others (above any
share: candidates are below authorised strength)."""
SLOT_BITS = 31
SLOT_MASK = (1 << SLOT_BITS) - 1


@numba.njit(cache=True, inline="always")
def _replacement_key(rank: int, slot: int) -> np.int64:
    """One integer orders candidates by ``rank``, ties by ``slot`` (their order in the list)."""
    return np.int64((rank << SLOT_BITS) | slot)


@numba.njit(cache=True, inline="always")
def _sift_down(heap: NDArray[np.int64], i: int, n: int) -> None:
    x = heap[i]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap[c + 1] < heap[c]:
            c += 1
        if heap[c] >= x:
            break
        heap[i] = heap[c]
        i = c
    heap[i] = x


@numba.njit(cache=True)
def _serve(heap, order, m, strength, authorised, pool, f) -> float:
    """Give force ``f``'s pool to the units ``order[:m]`` until it runs out, in increasing
    order of their keys ``heap[:m]`` (:func:`_replacement_key` of each unit's rank and place
    in the list); returns the people given. A min-heap: building it takes one pass, and each
    unit served a few steps, so a pool that fills a few units of many costs little and one
    that fills many needs no sort."""
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(heap, i, m)
    given = 0.0
    n = m
    while n > 0 and pool[f] > 0.0:
        u = order[heap[0] & SLOT_MASK]
        n -= 1
        heap[0] = heap[n]
        _sift_down(heap, 0, n)
        give = min(authorised[u] - strength[u], pool[f])
        if give <= 0.0:
            break
        strength[u] += give
        pool[f] -= give
        given += give
    return given


Q0_WIDTH = 4096
"""Largest unit strength (plus one) whose probability of no loss a run keeps in a table."""

SPLIT_ONE_BY_ONE = 16
"""Up to this many people, a count is split among causes (or between return and loss) by
one keyed uniform per person; above it, by conditional binomials."""


@numba.njit(cache=True)
def _split_by_binomials(
    k: float,
    total_p: float,
    h0: float,
    h1: float,
    h2: float,
    kmiss: np.uint64,
    kdes: np.uint64,
    day: int,
    key: np.uint64,
) -> tuple[float, float, float, float]:
    """Share ``k`` losses among the four causes by conditional binomials (``k`` above
    SPLIT_ONE_BY_ONE): cause ``c`` takes Binomial(left, h_c / remaining hazard). Scalars in
    and out: array arguments would cost reference counting on every call."""
    left = k
    remaining = total_p
    l0 = l1 = l2 = 0.0
    if h0 > 0.0 and left > 0.0:
        l0 = binomial_inverse(left, min(h0 / remaining, 1.0), uniform(kmiss, day, key))
        left -= l0
    remaining -= h0
    if h1 > 0.0 and left > 0.0:
        l1 = binomial_inverse(
            left, min(h1 / remaining, 1.0), uniform(kdes, day, key + np.uint64(1))
        )
        left -= l1
    remaining -= h1
    if h2 > 0.0 and left > 0.0:
        l2 = binomial_inverse(
            left, min(h2 / remaining, 1.0), uniform(kmiss, day, key + np.uint64(2))
        )
        left -= l2
    return l0, l1, l2, left


@numba.njit(cache=True)
def _returning(wounded: float, share: float, k_returns: np.uint64, day: int, key: np.uint64):
    """How many of a unit's wounded today will return: Binomial(wounded, share), one
    uniform per person up to SPLIT_ONE_BY_ONE."""
    if wounded <= SPLIT_ONE_BY_ONE:
        back = 0.0
        for j in range(int(wounded)):
            if uniform(k_returns, day, key + np.uint64(j + 1)) < share:
                back += 1.0
        return back
    return binomial_inverse(wounded, share, uniform(k_returns, day, key))


@numba.njit(cache=True)
def _store_sums(
    losses,
    in_recovery,
    into_recovery,
    active,
    deployed,
    f: int,
    killed: float,
    wounded: float,
    missing: float,
    deserted: float,
    discharged: float,
    recovering: float,
    into: float,
    n_active: int,
    n_deployed: int,
) -> None:
    """Write back force ``f``'s sums of the day (called once per run of its units)."""
    losses[f, C_KILLED] = killed
    losses[f, C_WOUNDED] = wounded
    losses[f, C_MISSING] = missing
    losses[f, C_DESERTED] = deserted
    losses[f, C_DISCHARGED] = discharged
    in_recovery[f] = recovering
    into_recovery[f] = into
    active[f] = n_active
    deployed[f] = n_deployed


@numba.njit(cache=True)
def _store_census(
    people_at, units_at, people_free, units_free, by_type, location, deployed,
    f: int, y: int, pos: int, a_people_at, a_units_at, a_people_free, a_units_free, a_run,
) -> None:  # fmt: skip
    """Write back the census's sums of a run of units of force ``f`` and type ``y`` in
    position ``pos``; the run's ``a_run`` units counted by type if the position is
    deployed (``by_type``, the census's row of :attr:`KOut.deployed_type`)."""
    loc = location[pos]
    people_at[f, loc] = a_people_at
    units_at[pos] = a_units_at
    people_free[f, y, loc] = a_people_free
    units_free[f, y, loc] = a_units_free
    if deployed[pos]:
        by_type[y] += a_run


@numba.njit(cache=True, inline="always")
def _load_census(
    people_at, units_at, people_free, units_free, location, f: int, y: int, pos: int
) -> tuple[float, int, float, float]:
    """The census's sums so far for units of force ``f`` and type ``y`` in position ``pos``
    (what :func:`_store_census` writes back)."""
    loc = location[pos]
    return people_at[f, loc], units_at[pos], people_free[f, y, loc], units_free[f, y, loc]


@numba.njit(cache=True)
def _store_scan_sums(
    need, count, in_recovery, returned, pool, f: int, a_need, a_count, a_in, a_returned, a_pool
) -> None:
    """Write back force ``f``'s sums of the pass over returns and candidates."""
    need[f] = a_need
    count[f] = a_count
    in_recovery[f] = a_in
    returned[f] = a_returned
    pool[f] = a_pool


@numba.njit(cache=True, inline="always")
def _census_units(
    p: KPlan,
    st: _State,
    day: int,
    out: KOut,
    r: int,
    keep_units: bool,
    any_on: bool,
    people: NDArray,
    units: NDArray,
) -> None:
    """The units' part of the census, on its own (after units were pulled)."""
    o_strength = out.strength[r, day]
    o_positions = out.positions[r, day]
    o_active = out.active[r, day]
    o_deployed = out.deployed[r, day]
    o_deployed_days = out.deployed_days[r]
    o_mobilised_days, mobilised = out.mobilised_days[r], p.pos_mobilised
    o_type = out.deployed_type[r, day]
    active, posa, strength, since = st.active, st.pos, st.strength, st.since
    force, location, deployed, overlap = p.unit_force, p.pos_location, p.pos_deployed, p.pos_overlap
    utype = p.unit_type
    if any_on:
        people[:] = 0.0
        units[:] = 0.0
    # The sums of each run of units of one force, type and position in registers, as in the
    # main pass (the counts of active and deployed units too: a new force starts a new run).
    c_pos = c_f = c_y = NONE
    a_people_at = a_people_free = a_units_free = 0.0
    a_units_at = a_active = a_deployed = a_run = ZERO
    for u in range(len(posa)):
        if not active[u]:
            if keep_units:
                out.unit_position[r, day, u] = -1
                out.unit_strength[r, day, u] = 0.0
            continue
        pos = posa[u]
        f = force[u]
        y = utype[u]
        if pos != c_pos or f != c_f or y != c_y:
            if c_pos >= 0:
                _store_census(
                    o_strength, o_positions, people, units, o_type, location, deployed,
                    c_f, c_y, c_pos, a_people_at, a_units_at, a_people_free, a_units_free, a_run,
                )  # fmt: skip
                o_active[c_f] = a_active
                o_deployed[c_f] = a_deployed
            c_pos, c_f, c_y = pos, f, y
            a_people_at, a_units_at, a_people_free, a_units_free = _load_census(
                o_strength, o_positions, people, units, location, f, y, pos
            )
            a_active, a_deployed = o_active[f], o_deployed[f]
            a_run = ZERO
        a_people_at += strength[u]
        a_units_at += 1
        a_run += 1
        a_active += 1
        on = deployed[pos]  # without branches: units alternate unpredictably
        a_deployed += on
        o_deployed_days[u] += on
        o_mobilised_days[u] += mobilised[pos]
        since[u] = 0 if on else since[u] + 1  # read by tomorrow's pulls
        if keep_units:
            out.unit_position[r, day, u] = pos
            out.unit_strength[r, day, u] = strength[u]
        if any_on and not overlap[pos]:
            a_people_free += strength[u]
            a_units_free += 1.0
    if c_pos >= 0:
        _store_census(
            o_strength, o_positions, people, units, o_type, location, deployed,
            c_f, c_y, c_pos, a_people_at, a_units_at, a_people_free, a_units_free, a_run,
        )  # fmt: skip
        o_active[c_f] = a_active
        o_deployed[c_f] = a_deployed


@numba.njit(cache=True)
def _stocks_move(
    period: NDArray,
    edge_first: NDArray,
    prob: NDArray[np.float64],
    trans_key: NDArray,
    trans_from: NDArray,
    trans_to: NDArray,
    stock: NDArray[np.float64],
    key: np.uint64,
    deterministic: bool,
    day: int,
    moved: NDArray[np.float64],
    record: NDArray,
) -> None:
    """1b. stocks: each state's people leave by its transitions and wastage, competing
    hazards applied to the stock at the start of the day (every day, or on the last day of
    each year of YEAR_STEP days for a state with ``step: year``).

    Deterministic runs move the expected people, ``n * p`` by each transition; stochastic
    runs split the stock multinomially, by binomials conditional on the people not yet
    moved, each drawn from the pipelines' stream (``key``) with the transition's own stable
    key. Everyone moves from the day's stock: the draws of all states come first, then the
    moves. ``moved`` is scratch space (E,); ``record`` the day's row of the records. The
    plan's arrays: ``stock_period``, ``stock_edge_first``, the sample's row of ``trans_prob``,
    ``trans_key``, ``trans_from`` and ``trans_to``.
    """
    for e in range(len(moved)):
        moved[e] = 0.0
    for i in range(len(stock)):
        if (day + 1) % period[i] != 0:
            continue
        n0 = stock[i]
        left = n0
        mass = 1.0
        for e in range(edge_first[i], edge_first[i + 1]):
            h = prob[e]
            if deterministic:
                k = n0 * h
            else:
                cond = 1.0 if mass <= h else h / mass
                k = binomial_inverse(left, cond, uniform(key, day, trans_key[e]))
                left -= k
                mass -= h
            moved[e] = k
    for e in range(len(moved)):
        k = moved[e]
        if k != 0.0:
            stock[trans_from[e]] -= k
            to = trans_to[e]
            if to >= 0:
                stock[to] += k
            record[e] = k


@numba.njit(cache=True)
def _stocks_lend(
    replace_stock: NDArray,
    stock: NDArray[np.float64],
    pool: NDArray[np.float64],
    lent: NDArray[np.float64],
) -> None:
    """Before 3.: the stock that feeds a force's replacements (``replace_stock``, the plan's
    ``force_replace_stock``) joins its pool for the day."""
    for f in range(len(pool)):
        i = replace_stock[f]
        lent[f] = 0.0
        if i >= 0:
            lent[f] = stock[i]
            pool[f] += stock[i]
            stock[i] = 0.0


@numba.njit(cache=True)
def _stocks_settle(
    replace_stock: NDArray,
    stock: NDArray[np.float64],
    pool: NDArray[np.float64],
    lent: NDArray[np.float64],
    drawn: NDArray,
) -> None:
    """After 3.: what is left of the lent stock goes back to it. The pool's own people
    (graduates, wounded whose unit is gone) are used first: the stock gets back up to what
    it lent. ``drawn`` (N,) records the people drawn from each state."""
    for f in range(len(pool)):
        i = replace_stock[f]
        if i >= 0:
            back = min(pool[f], lent[f])
            stock[i] = back
            pool[f] -= back
            drawn[i] = lent[f] - back


@numba.njit(cache=True)
def _stocks_census(
    discharge_stock: NDArray,
    stock: NDArray[np.float64],
    discharged: NDArray,
    taken: NDArray,
    level: NDArray,
) -> None:
    """End of 6.: people discharged from a force's units today (``discharged``, (F,)) join
    the stock that takes them (``discharge_stock``, the plan's ``force_discharge_stock``;
    ``taken``, (N,)); then each state's stock is recorded."""
    for f in range(len(discharged)):
        i = discharge_stock[f]
        if i >= 0:
            stock[i] += discharged[f]
            taken[i] = discharged[f]
    for i in range(len(stock)):
        level[i] = stock[i]


def run_state_nbytes(
    *,
    units: int,
    forces: int,
    locations: int,
    unit_types: int,
    pipelines: int,
    demands: int,
    recovery_days: int,
    training_days: int,
    q0_rows: int,
    q0_width: int,
) -> int:
    """Bytes one run's working arrays take in :func:`_run` (each thread holds one run's).

    ``recovery_days`` and ``training_days`` are the longest recovery and training of the
    run's sample; ``q0_rows`` (at most locations times unit types) and ``q0_width`` bound
    the table of no-loss probabilities of stochastic runs (0 rows in deterministic ones).
    """
    n_u, n_f, n_l, n_y, n_q = units, forces, locations, unit_types, pipelines
    by_hazard = n_l * n_y * (8 * 4 + 8 * len(CAUSE_HAZARDS))  # total..odds, q0_row, cum
    q0 = q0_rows * min(q0_width, Q0_WIDTH) * 8 if n_u else 0
    recovering = (recovery_days + 1 if n_u else 1) * n_u * 8
    training = n_q * (training_days + 1) * 8 + n_q * 16
    per_unit = n_u * (5 * 4 + 2 * 8 + 1 + 4 * 8)  # int32, float64, bool and int64 columns
    per_force = n_f * 8 * 10
    census = 2 * n_f * n_y * n_l * 8  # people and units by force, type and location
    return by_hazard + q0 + recovering + training + per_unit + per_force + census + demands


@numba.njit(cache=True)
def _run(
    p: KPlan,
    s: int,
    keys: NDArray[np.uint64],
    deterministic: bool,
    keep_units: bool,
    out: KOut,
    r: int,
    pulls: NDArray | None,
    changes: NDArray | None,
    stocks: NDArray | None,
) -> None:
    """Simulate run ``r`` of sample ``s`` into ``out``'s row ``r``.

    ``pulls``, ``changes`` and ``stocks`` (:func:`kernel_features`) are ``None`` where the
    plan has no such step: numba then compiles this function without the step's code.
    """
    n_u = p.unit_force.shape[0]
    n_f = p.force_replacement_rule.shape[0]
    n_q = p.pipe_force.shape[0]
    n_y = p.hazard.shape[3]
    n_l = p.hazard.shape[2]
    n_c = p.hazard.shape[1]
    n_d = p.demand_location.shape[0]
    total = np.zeros((n_l, n_y))
    log_survive = np.zeros((n_l, n_y))
    odds = np.zeros((n_l, n_y))
    cum = np.zeros((n_l, n_y, n_c))  # running sums of the hazards, in cause order
    for i in range(n_l):
        for y in range(n_y):
            for c in range(n_c):
                h = p.hazard[s, c, i, y]
                total[i, y] += h
                cum[i, y, c] = h if c == 0 else cum[i, y, c - 1] + h
            log_survive[i, y] = math.log1p(-min(total[i, y], 1.0 - 1e-16))
            odds[i, y] = total[i, y] / (1.0 - total[i, y]) if total[i, y] < 1.0 else np.inf
    q0_row = np.full((n_l, n_y), -1, np.int64)
    rows = 0
    if not deterministic and n_u:
        # Rows only where units can be: the locations of positions, the types of units.
        at = np.zeros(n_l, np.bool_)
        of = np.zeros(n_y, np.bool_)
        for j in range(p.pos_location.shape[0]):
            at[p.pos_location[j]] = True
        for u in range(n_u):
            of[p.unit_type[u]] = True
        for i in range(n_l):
            for y in range(n_y):
                if total[i, y] > 0.0 and at[i] and of[y]:
                    q0_row[i, y] = rows
                    rows += 1
    width = 0
    if rows:  # (no units, no rows: no draws from the table, and no largest strength)
        width = int(min(Q0_WIDTH, max(_largest(p.unit_authorised[s]), 0.0) + 1.0))
    q0_table = np.full((rows, width), -1.0)
    rec_slots = 1  # (recovery and training times are >= 0 days)
    if n_u:
        for i in range(p.recovery.shape[1]):
            rec_slots = max(rec_slots, _largest(p.recovery[s, i]) + 1)
    train_slots = (_largest(p.pipe_training[s]) if n_q else 0) + 1
    st = _State(
        pos=p.unit_pos0[s].copy(),
        t=p.unit_t0[s].copy(),
        policy=p.unit_policy0.copy(),
        pending=np.full(n_u, -1, np.int32),
        strength=p.unit_strength0[s].copy(),
        authorised=p.unit_authorised[s].copy(),
        since=p.unit_since0[s].copy(),
        assigned=np.full(n_u, -1, np.int32),
        active=p.unit_present0[s].copy(),
        recovering=np.zeros((rec_slots, n_u)),
        reservoir=p.reservoir_size0[s].copy(),
        training=np.zeros((n_q, train_slots)),
        batch=np.zeros(n_q),
        batch_no=np.zeros(n_q, np.int64),
        pool=np.zeros(n_f),
        in_recovery=np.zeros(n_f),
        total_hazard=total,
        log_survive=log_survive,
        odds=odds,
        cum_hazard=cum,
        q0_row=q0_row,
        q0_table=q0_table,
        cand=np.zeros(n_u, np.int64),
        replacement_key=np.zeros(n_u, np.int64),
        sort_key_int=np.zeros(n_u, np.int64),
        cap_left=np.zeros(n_f),
        demand_on=np.zeros(p.demand_location.shape[0], np.bool_),
        need=np.zeros(n_f),
        count=np.zeros(n_f, np.int64),
        delivered=np.zeros(n_f),
        order=np.zeros(n_u, np.int64),
        limit_left=np.zeros(n_f),
        taken_w=np.zeros(n_f),
        taken_s=np.zeros(n_f),
        stopped=np.zeros(n_f, np.bool_),
    )
    people = np.zeros((n_f, n_y, n_l))
    units = np.zeros((n_f, n_y, n_l))
    n_h = p.change_policy.shape[0]
    # States and their stocks (issue 18): none unless the scenario has stocks.
    stock = p.stock_size0[s].copy()
    stock_moved = np.zeros(p.trans_from.shape[0])
    stock_lent = np.zeros(n_f)
    for day in range(p.pipe_rate.shape[1]):
        if changes is not None:
            for k in range(n_h):  # 1. changes
                if p.change_day[s, k] == day:
                    for u in range(n_u):
                        if p.change_units[k, u] and st.active[u]:
                            if p.pos_deployed[st.pos[u]]:
                                st.pending[u] = k
                            else:
                                _switch_unit(p, s, st, u, k)
                                st.pending[u] = -1
        if stocks is not None:  # 1b. stocks: transitions among states and wastage
            _stocks_move(
                p.stock_period, p.stock_edge_first, p.trans_prob[s], p.trans_key, p.trans_from,
                p.trans_to, stock, keys[K_RECRUITS], deterministic, day, stock_moved,
                out.transition[r, day],
            )  # fmt: skip
        # (Steps written out here, not called: handing the plan's and the state's tuples to an
        # inlined function costs the reference counting of every array in them, every day.)
        if n_q or st.reservoir.shape[0]:  # 2. pipelines
            n_q = p.pipe_force.shape[0]
            for v in range(len(st.reservoir)):
                refill = p.reservoir_refill[s, v]
                if not deterministic:  # whole people: add what the running total has reached
                    refill = math.floor(refill * (day + 1) + 1e-9) - math.floor(refill * day + 1e-9)
                st.reservoir[v] += refill
            slots = st.training.shape[1]
            for q in range(n_q):
                rate = p.pipe_rate[s, day, q]
                v = p.pipe_reservoir[q]
                if v >= 0:
                    left = st.reservoir[v]
                    if p.pipe_proportional[q]:
                        prob = min(rate / max(p.reservoir_size0[s, v], 1e-300), 1.0)
                    else:
                        prob = min(rate / max(left, 1e-300), 1.0)
                    if deterministic:
                        recruits = left * prob
                    else:
                        recruits = binomial_inverse(
                            left, prob, uniform(keys[K_RECRUITS], day, p.pipe_key[q])
                        )
                    st.reservoir[v] = left - recruits
                elif deterministic:
                    recruits = rate
                else:  # an unlimited supply: Poisson arrivals at the rate
                    recruits = poisson_inverse(rate, uniform(keys[K_RECRUITS], day, p.pipe_key[q]))
                st.training[q, (day + p.pipe_training[s, q]) % slots] += recruits
                graduates = st.training[q, day % slots]
                st.training[q, day % slots] = 0.0
                out.pipeline[r, day, q, M_RECRUITS] = recruits
                out.pipeline[r, day, q, M_GRADUATES] = graduates
                out.pipeline[r, day, q, M_IN_TRAINING] = st.training[q].sum()
                f = p.pipe_force[q]
                if p.pipe_cohort[q]:
                    st.batch[q] += graduates
                    if p.cohort_close[s, day, q]:
                        _form(p, s, st, q, deterministic, out, r, day)
                elif p.pipe_stock[q] >= 0:  # into a state's stock
                    stock[p.pipe_stock[q]] += graduates
                    out.stock_flows[r, day, p.pipe_stock[q], SF_INTAKE] += graduates
                else:
                    st.pool[f] += graduates
            for v in range(len(st.reservoir)):
                out.reservoir[r, day, v] = st.reservoir[v]
        if stocks is not None:  # a stock feeding replacements lends its people to the pool for 3.
            _stocks_lend(p.force_replace_stock, stock, st.pool, stock_lent)
        # 3. returns and replacements
        force, active, strength, authorised = (
            p.unit_force,
            st.active,
            st.strength,
            st.authorised,
        )
        n_u = len(st.pos)
        n_f = len(st.pool)
        pool, cand = st.pool, st.cand
        recovering = st.recovering
        slots = recovering.shape[0]
        some_return = slots > 1  # some wounded return
        returned = out.flows[r, day, :, F_RETURNED]
        due = recovering[day % slots]
        # One pass takes back the wounded due today, then finds the units below authorised
        # strength (in unit order) and each force's need; each force's pool then goes to its
        # own candidates. The pass has no branches (which units have wounded due or are below
        # strength follows no pattern a branch predictor could learn, and adding zero changes
        # no sum) and keeps each force's sums in registers, as the pass of steps 4 to 6 does.
        need, count, in_recovery = st.need, st.count, st.in_recovery
        for f in range(n_f):
            need[f] = 0.0
            count[f] = 0
        n_cand = 0
        cur = NONE
        a_need = a_in_recovery = a_returned = a_pool = 0.0
        a_count = ZERO
        for u in range(n_u):
            f = force[u]
            if f != cur:
                if cur >= 0:
                    _store_scan_sums(
                        need, count, in_recovery, returned, pool, cur,
                        a_need, a_count, a_in_recovery, a_returned, a_pool,
                    )  # fmt: skip
                cur = f
                a_need, a_count, a_in_recovery = need[f], count[f], in_recovery[f]
                a_returned, a_pool = returned[f], pool[f]
            on = active[u]
            if some_return:
                back = due[u]
                due[u] = 0.0
                a_in_recovery -= back
                strength[u] += back if on else 0.0
                a_returned += back if on else 0.0
                a_pool += 0.0 if on else back
            below = on and strength[u] < authorised[u]
            cand[n_cand] = u
            n_cand += below
            a_need += authorised[u] - strength[u] if below else 0.0
            a_count += below
        if cur >= 0:
            _store_scan_sums(
                need, count, in_recovery, returned, pool, cur,
                a_need, a_count, a_in_recovery, a_returned, a_pool,
            )  # fmt: skip
        if n_cand > 0:  # some units are below authorised strength
            any_enough = False
            for f in range(n_f):
                if pool[f] <= 0.0 or count[f] == 0:
                    count[f] = 0  # nothing to deliver to this force's units
                elif need[f] <= pool[f]:  # enough for every unit: the order does not matter
                    count[f] = -1
                    any_enough = True
            delivered = st.delivered
            if any_enough:
                for f in range(n_f):
                    delivered[f] = 0.0
                for j in range(n_cand):
                    u = cand[j]
                    f = force[u]
                    if count[f] < 0:
                        delivered[f] += authorised[u] - strength[u]
                        strength[u] = authorised[u]
                for f in range(n_f):
                    if count[f] < 0:
                        pool[f] -= delivered[f]
                        out.flows[r, day, f, F_REPLACED] = delivered[f]
            for f in range(n_f):
                if count[f] <= 0:
                    continue
                # Too few: units in the order of the force's rule, ties by unit number.
                first = p.force_replacement_rule[f] == 1
                order, key = st.order, st.replacement_key
                m = ZERO
                for j in range(n_cand):
                    u = cand[j]
                    if force[u] == f:
                        rank = int(round(strength[u] / authorised[u] * SHARE_STEPS))
                        if first and not p.pos_deployed[st.pos[u]]:
                            rank += SERVED_LATER
                        key[m] = _replacement_key(rank, m)
                        order[m] = u
                        m += 1
                out.flows[r, day, f, F_REPLACED] = _serve(
                    key, order, m, strength, authorised, pool, f
                )
            # Unmet need, summed in unit order: every other active unit is at or above
            # authorised strength, and those of a force that had enough now are too.
            unmet = out.stocks[r, day, :, S_UNMET_NEED]
            for f in range(n_f):
                if count[f] == 0:
                    unmet[f] = need[f]  # nothing delivered: the same sum, in the same order
                elif count[f] > 0:
                    for j in range(n_cand):
                        u = cand[j]
                        if force[u] == f:
                            gap = authorised[u] - strength[u]
                            if gap > 0.0:
                                unmet[f] += gap
        if stocks is not None:  # and takes back what 3. did not use
            _stocks_settle(
                p.force_replace_stock, stock, st.pool, stock_lent,
                out.stock_flows[r, day, :, SF_TO_UNITS],
            )  # fmt: skip
        any_on = False
        for d in range(n_d):
            st.demand_on[d] = p.demand_start[s, d] <= day < p.demand_end[s, d]
            any_on = any_on or st.demand_on[d]
            # (a demand pulling ahead of its start needs what is present counted too)
            any_on = any_on or p.demand_pull_from[s, d] <= day < p.demand_end[s, d]
        # 4. attrition and 5. rotation, unit by unit (a unit's attrition and rotation touch
        # no other unit), and the units' part of 6. in the same pass when no unit is pulled
        # (else what is present for the pulls).
        census = pulls is None
        # Local views of this sample's and this run-day's arrays: indexing through the tuples
        # inside the loop costs several times the work itself.
        hazard = p.hazard[s]
        n_c = hazard.shape[0]
        total, log_survive, odds, cum = st.total_hazard, st.log_survive, st.odds, st.cum_hazard
        q0_row, q0_table = st.q0_row, st.q0_table
        q0_width = q0_table.shape[1]
        return_share = p.return_share[s]
        recovery = p.recovery[s]
        losses = out.losses[r, day]
        into_recovery = out.flows[r, day, :, F_WOUNDED_RETURNING]
        location, utype, force, ukey = p.pos_location, p.unit_type, p.unit_force, p.unit_key
        active, t, posa, strength = st.active, st.t, st.pos, st.strength
        recovering, in_recovery = st.recovering, st.in_recovery
        slots = recovering.shape[0]
        day_slot = day % slots
        k_killed, k_wounded = keys[K_KILLED], keys[K_WOUNDED]
        k_missing, k_deserted, k_returns = keys[K_MISSING], keys[K_DESERTED], keys[K_RETURNS]
        k_stays, stay_row, pull_from = keys[K_STAYS], p.pos_stay_row, p.demand_pull_from[s]
        o_mobilised_days, mobilised = out.mobilised_days[r], p.pos_mobilised
        # Rotation.
        policy, authorised, assigned, pending = st.policy, st.authorised, st.assigned, st.pending
        duration, nxt, deployed = p.pos_duration[s], p.pos_next, p.pos_deployed
        below_of, recon_of = p.policy_reconstitute_below[s], p.policy_reconstitute_pos
        release_to, terminal = p.pos_release, p.pos_terminal
        end = p.demand_end[s]  # (a release waits for the window and its lead time)
        # Census.
        o_strength = out.strength[r, day]
        # Units by position are kept only where asked (one scratch row per run otherwise).
        o_positions = out.positions[r, day]
        o_active = out.active[r, day]
        o_deployed = out.deployed[r, day]
        o_active_days = out.active_days[r]
        o_deployed_days = out.deployed_days[r]
        o_type = out.deployed_type[r, day]
        overlap = p.pos_overlap
        if any_on:
            people[:] = 0.0
            units[:] = 0.0
        # A force's sums of the day, kept in registers while its units pass (units come in
        # runs of one force) and written back when the force changes: through memory, each
        # sum would be a chain of loads and stores from unit to unit. Each starts from the
        # stored value, so the additions, and their rounding, are those of the records.
        cur = NONE
        a_killed = a_wounded = a_missing = a_deserted = a_discharged = 0.0
        a_in_recovery = a_into_recovery = 0.0
        a_active = a_deployed = ZERO
        # Likewise the census's sums for the current run of units of one force, type and
        # position (a group's units pass through its positions in runs): people and units
        # there, people and units available to demands, and the run's units (counted by
        # type where the position is deployed).
        c_pos = c_f = c_y = NONE
        a_people_at = a_people_free = a_units_free = 0.0
        a_units_at = a_run = ZERO
        for u in range(len(posa)):
            if not active[u]:
                if census and keep_units:
                    out.unit_position[r, day, u] = -1
                    out.unit_strength[r, day, u] = 0.0
                continue
            # 4. attrition, at the location of the previous census (units formed today wait).
            f = force[u]
            if f != cur:
                if cur >= 0:
                    _store_sums(
                        losses, in_recovery, into_recovery, o_active, o_deployed, cur,
                        a_killed, a_wounded, a_missing, a_deserted, a_discharged,
                        a_in_recovery, a_into_recovery, a_active, a_deployed,
                    )  # fmt: skip
                cur = f
                a_killed, a_wounded = losses[f, C_KILLED], losses[f, C_WOUNDED]
                a_missing, a_deserted = losses[f, C_MISSING], losses[f, C_DESERTED]
                a_discharged = losses[f, C_DISCHARGED]
                a_in_recovery, a_into_recovery = in_recovery[f], into_recovery[f]
                a_active, a_deployed = o_active[f], o_deployed[f]
            if t[u] >= 0:
                loc = location[posa[u]]
                y = utype[u]
                total_p = total[loc, y]
                if total_p > 0.0:
                    n = strength[u]
                    if deterministic:
                        x0 = n * hazard[C_KILLED, loc, y]
                        x1 = n * hazard[C_WOUNDED, loc, y]
                        x2 = n * hazard[C_MISSING, loc, y]
                        x3 = n * hazard[C_DESERTED, loc, y]
                        a_killed += x0
                        a_wounded += x1
                        a_missing += x2
                        a_deserted += x3
                        strength[u] = n - x0 - x1 - x2 - x3
                    else:
                        v_u = uniform(k_killed, day, ukey[u])
                        # Bernoulli's inequality: (1 - p)^n >= 1 - n p, so nobody is lost when
                        # v_u <= 1 - n p (the common case), with no transcendental work.
                        if v_u > 1.0 - n * total_p:
                            row = q0_row[loc, y]
                            if total_p >= 1.0:
                                k_lost = n
                            elif (
                                row >= 0
                                and n < q0_width
                                and n * total_p < SMALL_MEAN
                                and (n == math.floor(n))
                            ):  # (1 - p)^n from this run's table, computed once
                                q0 = q0_table[row, int(n)]
                                if q0 < 0.0:
                                    q0 = math.exp(n * log_survive[loc, y])
                                    q0_table[row, int(n)] = q0
                                k_lost = binomial_inverse_odds(n, odds[loc, y], q0, v_u)
                            else:
                                k_lost = binomial_inverse_q(n, total_p, log_survive[loc, y], v_u)
                            if k_lost > 0.0:
                                # Competing causes: the k_lost lost are shared among the causes in
                                # proportion to their hazards (a multinomial split); a share of
                                # the wounded will return.
                                share = return_share[loc, y]
                                back = 0.0
                                h0 = cum[loc, y, 0]
                                if h0 >= total_p:
                                    # Killed is the only cause: each person's draw of the
                                    # cause (below) would find w <= total_p = h0, so killed.
                                    a_killed += k_lost
                                elif k_lost <= SPLIT_ONE_BY_ONE:
                                    # One uniform per person for the cause, and the returns
                                    # stream's next uniform for each wounded person's return.
                                    # Counts in registers, without branches: c = 0 killed,
                                    # 1 wounded, 2 missing, 3 deserted (CAUSE_HAZARDS).
                                    c1 = c2 = c3 = 0
                                    h1, h2 = cum[loc, y, 1], cum[loc, y, 2]
                                    for j in range(int(k_lost)):
                                        w = uniform(k_wounded, day, ukey[u] + np.uint64(j + 1))
                                        w *= total_p
                                        # The first cause whose running hazard reaches w (the
                                        # sums never decrease).
                                        c = (w > h0) + (w > h1) + (w > h2)
                                        x = uniform(k_returns, day, ukey[u] + np.uint64(c1 + 1))
                                        back += 1.0 if c == 1 and x < share else 0.0
                                        c1 += c == 1
                                        c2 += c == 2
                                        c3 += c == 3
                                    a_killed += k_lost - (c1 + c2 + c3)
                                    a_wounded += c1
                                    a_missing += c2
                                    a_deserted += c3
                                else:
                                    l0, l1, l2, l3 = _split_by_binomials(
                                        k_lost,
                                        total_p,
                                        hazard[C_KILLED, loc, y],
                                        hazard[C_WOUNDED, loc, y],
                                        hazard[C_MISSING, loc, y],
                                        k_missing,
                                        k_deserted,
                                        day,
                                        ukey[u],
                                    )
                                    a_killed += l0
                                    a_wounded += l1
                                    a_missing += l2
                                    a_deserted += l3
                                    if share > 0.0:
                                        back = _returning(l1, share, k_returns, day, ukey[u])
                                strength[u] = n - k_lost
                                if back > 0.0:
                                    i = day_slot + recovery[loc, y]
                                    recovering[i - slots if i >= slots else i, u] += back
                                    a_in_recovery += back
                                    a_into_recovery += back
                    if deterministic:
                        wounded = n * hazard[C_WOUNDED, loc, y]
                        share = return_share[loc, y]
                        if wounded > 0.0 and share > 0.0:
                            back = wounded * share
                            i = day_slot + recovery[loc, y]
                            recovering[i - slots if i >= slots else i, u] += back
                            a_in_recovery += back
                            a_into_recovery += back
            # 5. rotation.
            t[u] += 1
            pos = posa[u]
            dur = duration[pos]
            if stay_row[pos] >= 0 and not deterministic:
                # A stay drawn afresh at each entry: keyed by the day the unit entered.
                v = uniform(k_stays, day - t[u], ukey[u])
                dur = _stay(p.stay_cdf[stay_row[pos]], v)
            move = dur != OPEN and t[u] >= dur
            new_pos = nxt[pos] if move else pos
            below = below_of[policy[u]]
            weak = False
            if below >= 0.0:
                recon = recon_of[policy[u]]
                weak = strength[u] < below * authorised[u] and new_pos != recon and pos != recon
                if weak:
                    new_pos = recon
            d = assigned[u]
            release = (
                d >= 0
                and not move
                and not weak
                and deployed[new_pos]
                and not (pull_from[d] <= day < end[d])
            )
            served = t[u]
            if release:
                new_pos = release_to[pos]
            if (
                (move or weak or release)
                and _move(deployed, posa, t, assigned, u, new_pos)
                and changes is not None
                and pending[u] >= 0
            ):  # a deferred policy change falls due as the unit leaves deployment
                _switch_unit(p, s, st, u, np.int64(pending[u]))
                pending[u] = -1
            if release and p.pos_prorated[pos] and duration[posa[u]] != OPEN:
                # A prorated dwell: the days the unit did not serve are counted as spent.
                t[u] = _prorated_days(served, duration[pos], duration[posa[u]])
            pos = posa[u]
            if terminal[pos]:
                a_discharged += strength[u]
                active[u] = False
                o_active_days[u] += day  # census days from its first to day - 1
                if census and keep_units:
                    out.unit_position[r, day, u] = -1
                    out.unit_strength[r, day, u] = 0.0
                continue
            # 6. census (its units' part). Where units are pulled, the census follows the
            # pulls, and this pass counts only the people and units present that pulls
            # allocate (the sums of the records are then written back unchanged).
            if census or any_on:
                y = utype[u]
                if pos != c_pos or f != c_f or y != c_y:
                    if c_pos >= 0:
                        _store_census(
                            o_strength, o_positions, people, units, o_type, location, deployed,
                            c_f, c_y, c_pos, a_people_at, a_units_at, a_people_free,
                            a_units_free, a_run,
                        )  # fmt: skip
                    c_pos, c_f, c_y = pos, f, y
                    a_people_at, a_units_at, a_people_free, a_units_free = _load_census(
                        o_strength, o_positions, people, units, location, f, y, pos
                    )
                    a_run = ZERO
                if census:
                    a_people_at += strength[u]
                    a_units_at += 1
                    a_run += 1
                    a_active += 1
                    dep_on = deployed[pos]  # without branches: units alternate unpredictably
                    a_deployed += dep_on
                    o_deployed_days[u] += dep_on
                    o_mobilised_days[u] += mobilised[pos]
                    if keep_units:
                        out.unit_position[r, day, u] = pos
                        out.unit_strength[r, day, u] = strength[u]
                if any_on and not overlap[pos]:
                    a_people_free += strength[u]
                    a_units_free += 1.0
        if c_pos >= 0:
            _store_census(
                o_strength, o_positions, people, units, o_type, location, deployed,
                c_f, c_y, c_pos, a_people_at, a_units_at, a_people_free, a_units_free, a_run,
            )  # fmt: skip
        if cur >= 0:
            _store_sums(
                losses, in_recovery, into_recovery, o_active, o_deployed, cur,
                a_killed, a_wounded, a_missing, a_deserted, a_discharged,
                a_in_recovery, a_into_recovery, a_active, a_deployed,
            )  # fmt: skip
        if pulls is not None:  # pulls, then the units' part of 6.
            _pull(p, s, st, day, people, units)
            _census_units(p, st, day, out, r, keep_units, any_on, people, units)
        if any_on:
            # The rest of the census: people present allocated to demands.
            on = st.demand_on
            for d in range(p.demand_location.shape[0]):
                if on[d]:
                    _copy(st.cap_left, p.demand_cap[s, d])
                    out.filled[r, day, d] = _fill(
                        p.demand_pool_force[d],
                        p.demand_pool_type[d],
                        p.demand_location[d],
                        p.demand_units[d],
                        people,
                        units,
                        p.demand_required[s, d],
                        st.cap_left,
                    )
        for f in range(n_f):  # and the stocks
            out.stocks[r, day, f, S_IN_RECOVERY] = st.in_recovery[f]
            out.stocks[r, day, f, S_REPLACEMENT_POOL] = st.pool[f]
        if stocks is not None:  # and the states' stocks, the discharged joining theirs
            _stocks_census(
                p.force_discharge_stock, stock, out.losses[r, day, :, C_DISCHARGED],
                out.stock_flows[r, day, :, SF_FROM_UNITS], out.stock[r, day],
            )  # fmt: skip
    # Days active are counted by events, not every day: minus the day a unit is formed (0 for
    # units present from the start), plus the day it is discharged or the horizon.
    n_days = p.pipe_rate.shape[1]
    for u in range(len(st.active)):
        if st.active[u]:
            out.active_days[r, u] += n_days


@numba.njit(cache=True, nogil=True)
def simulate_runs(
    p: KPlan,
    samples: NDArray[np.int64],
    keys: NDArray[np.uint64],
    deterministic: bool,
    keep_units: bool,
    out: KOut,
    pulls: NDArray | None,
    changes: NDArray | None,
    stocks: NDArray | None,
) -> None:
    """Simulate every run; run ``r`` takes sample ``samples[r]`` and keys ``keys[r]``;
    ``pulls``, ``changes`` and ``stocks`` as :func:`kernel_features` gives them.

    One thread, without the GIL: threads share runs by calling this on slices of them. (A
    ``numba.prange`` loop here cost about 17 s of the first run's compiling, for no speed.)
    """
    for r in range(len(samples)):
        _run(p, samples[r], keys[r], deterministic, keep_units, out, r, pulls, changes, stocks)
