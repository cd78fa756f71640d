"""The daily step over arrays of runs × units.

No I/O, no YAML, no printing: a :class:`~forcegen.compile.Plan` in, arrays of daily records
out. Every array here has runs on its first axis and units on its second.

Order of a simulated day ``d`` (DESIGN.md; tests hold the engine to it):

1. **changes**: scheduled policy changes due on day ``d`` take effect. A unit that is not
   deployed switches at once to the position of the same name in the new policy (the new
   policy's first position if there is none), keeping its days there; a deployed unit
   switches when it next enters a position that is not deployed.
2. **pipelines**: reservoirs are refilled; pipelines, in file order, draw recruits from
   their reservoirs (a shared reservoir serves them in that order) and put them in
   training; those whose training ends today graduate. Graduates of a cohort pipeline join
   its open batch; on the days a batch closes it forms new units, which enter the first
   position of their policy. Graduates of a replacement pipeline join their force's pool.
3. **returns and replacements**: wounded whose recovery ends today return to their unit (to
   their force's pool if the unit is gone); then each force's pool goes to its units below
   authorised strength, in the order of the force's replacement rule, ties by unit number.
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
   order, up to the caps. Coverage and every other record are taken.

The state before day 0 is the census of the eve of day 0: a unit placed ``o`` days into its
cycle is seen ``o + 1`` days into it at the census of day 0, and each position is held for
exactly its duration in census days and in days of exposure to attrition. A unit formed on
day ``d`` is first counted at the census of day ``d``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forcegen.compile import CAUSE_HAZARDS, OPEN, RESTED, Plan
from forcegen.engine.random import Purpose, binomial, poisson, run_keys

CAUSES = (*CAUSE_HAZARDS, "discharged")
"""Causes of loss from units, recorded per force and day."""
FLOWS = ("formed", "replaced", "returned", "wounded_returning")
"""Flows recorded per force and day: people into units (formed with new units, replacements
delivered, wounded back from recovery) and wounded who will return (into recovery)."""
STOCKS = ("in_recovery", "replacement_pool", "unmet_need")
"""Stocks recorded per force at each census: wounded who will return, the replacement pool,
and people missing from units below authorised strength after replacements."""
PIPELINE_MEASURES = ("recruits", "graduates", "in_training")


@dataclass
class State:
    """Where every unit of every run stands. Arrays are (runs, units) unless noted."""

    pos: NDArray[np.int32]
    t: NDArray[np.int32]
    """Census days already spent in the current position (-1: formed today)."""
    policy: NDArray[np.int32]
    pending: NDArray[np.int32]
    """Index of a deferred policy change, -1 if none."""
    strength: NDArray[np.float64]
    authorised: NDArray[np.float64]
    since: NDArray[np.int32]
    """Days since the unit was last deployed."""
    assigned: NDArray[np.int32]
    """Demand that pulled the unit, -1 if none."""
    active: NDArray[np.bool_]
    """True while the unit exists: formed and not yet discharged."""
    recovering: NDArray[np.float64]
    """(R, U, S) wounded of each unit who return on a day ``d`` with ``d % S`` = slot."""
    reservoir: NDArray[np.float64]
    """(R, V) people left in each reservoir."""
    training: NDArray[np.float64]
    """(R, Q, S) recruits in training who graduate on a day ``d`` with ``d % S`` = slot."""
    batch: NDArray[np.float64]
    """(R, Q) graduates waiting for their cohort batch to close."""
    pool: NDArray[np.float64]
    """(R, F) trained people waiting to replace losses."""

    @classmethod
    def initial(cls, plan: Plan, sel: NDArray[np.int64]) -> State:
        runs = len(sel)
        shape = (runs, plan.n_units)

        def tile(a: NDArray) -> NDArray:
            return np.array(np.broadcast_to(a, shape))

        n_q = len(plan.pipelines)
        return cls(
            pos=tile(plan.unit_pos0),
            t=tile(plan.unit_t0),
            policy=tile(plan.unit_policy0),
            pending=np.full(shape, -1, np.int32),
            strength=np.array(plan.unit_strength0[sel], dtype=np.float64),
            authorised=np.array(plan.unit_authorised[sel], dtype=np.float64),
            since=tile(plan.unit_since0),
            assigned=np.full(shape, -1, np.int32),
            active=tile(plan.unit_present0),
            recovering=np.zeros((*shape, int(plan.recovery.max(initial=0)) + 1)),
            reservoir=np.array(plan.reservoir_size0[sel], dtype=np.float64),
            training=np.zeros((runs, n_q, int(plan.pipe_training.max(initial=0)) + 1)),
            batch=np.zeros((runs, n_q)),
            pool=np.zeros((runs, len(plan.forces))),
        )


@dataclass
class Records:
    """Daily records of one batch of runs; the engine fills them, results label them."""

    strength: NDArray[np.float64]  # (R, T, F, L) people present
    filled: NDArray[np.float64]  # (R, T, D) people (units) allocated to each demand
    positions: NDArray[np.int32]  # (R, T, P) units in each position
    deployed: NDArray[np.int32]  # (R, T, F) units in deployed positions
    active: NDArray[np.int32]  # (R, T, F) units in the force
    losses: NDArray[np.float64]  # (R, T, F, C) people lost from units, by cause
    flows: NDArray[np.float64]  # (R, T, F, FLOWS)
    stocks: NDArray[np.float64]  # (R, T, F, STOCKS)
    pipeline: NDArray[np.float64]  # (R, T, Q, PIPELINE_MEASURES)
    reservoir: NDArray[np.float64]  # (R, T, V) people left
    deployed_days: NDArray[np.int32]  # (R, U) census days deployed
    active_days: NDArray[np.int32]  # (R, U) census days in the force
    unit_position: NDArray[np.int16] | None = None  # (R, T, U) when units are kept
    unit_strength: NDArray[np.float32] | None = None  # (R, T, U) when units are kept

    @classmethod
    def empty(cls, plan: Plan, runs: int, keep_units: bool) -> Records:
        r, t = runs, plan.horizon
        f, loc, d = len(plan.forces), len(plan.locations), len(plan.demands)
        p, u = len(plan.position_labels), plan.n_units
        return cls(
            strength=np.zeros((r, t, f, loc)),
            filled=np.zeros((r, t, d)),
            positions=np.zeros((r, t, p), np.int32),
            deployed=np.zeros((r, t, f), np.int32),
            active=np.zeros((r, t, f), np.int32),
            losses=np.zeros((r, t, f, len(CAUSES))),
            flows=np.zeros((r, t, f, len(FLOWS))),
            stocks=np.zeros((r, t, f, len(STOCKS))),
            pipeline=np.zeros((r, t, len(plan.pipelines), len(PIPELINE_MEASURES))),
            reservoir=np.zeros((r, t, len(plan.reservoirs))),
            deployed_days=np.zeros((r, u), np.int32),
            active_days=np.zeros((r, u), np.int32),
            unit_position=np.zeros((r, t, u), np.int16) if keep_units else None,
            unit_strength=np.zeros((r, t, u), np.float32) if keep_units else None,
        )


def _sum_by(index: NDArray[np.intp], weights: NDArray, size: int, runs: int) -> NDArray:
    """Per-run sums of ``weights`` grouped by ``index`` (runs × units) into ``size`` bins."""
    index = np.broadcast_to(index, weights.shape)
    flat = (np.arange(runs)[:, None] * size + index).ravel()
    return np.bincount(flat, weights=weights.ravel(), minlength=runs * size).reshape(runs, size)


class Engine:
    """Simulates a batch of runs of one plan, day by day."""

    def __init__(
        self,
        plan: Plan,
        runs: NDArray[np.int64],
        *,
        seed: int,
        deterministic: bool,
        keep_units: bool = False,
    ) -> None:
        self.plan = plan
        self.run_ids = np.asarray(runs, np.int64)
        self.n = len(self.run_ids)
        self.deterministic = deterministic
        self.keep_units = keep_units
        self.rows = np.arange(self.n)[:, None]
        self.keys = {p: run_keys(seed, self.run_ids, p) for p in Purpose}
        # Values that may differ between runs: the plan holds ``plan.runs`` samples.
        self.sel = self.run_ids % plan.runs
        sel = self.sel
        self.required = plan.demand_required[sel]
        self.cap = plan.demand_cap[sel]
        self.limit = plan.force_limit[sel]
        self.hazard = plan.hazard[sel]
        self.return_share = plan.return_share[sel]
        self.rate = plan.pipe_rate[sel]
        self.refill = plan.reservoir_refill[sel]
        self.size0 = plan.reservoir_size0[sel]
        self.force_of = plan.unit_force
        # Fill order within each demand: (force, type) pools by type rank, then force rank.
        self.pools: list[list[tuple[int, int]]] = []
        for d in range(len(plan.demands)):
            pairs = [
                (int(plan.demand_type_rank[d, y]), int(plan.demand_force_rank[d, f]), f, y)
                for f in range(len(plan.forces))
                for y in range(len(plan.unit_types))
                if plan.demand_type_rank[d, y] >= 0 and plan.demand_force_rank[d, f] >= 0
            ]
            self.pools.append([(f, y) for _, _, f, y in sorted(pairs)])

    # -- the day, step by step -------------------------------------------------------------

    def run(self, progress=None) -> Records:
        plan = self.plan
        state = State.initial(plan, self.sel)
        rec = Records.empty(plan, self.n, self.keep_units)
        for day in range(plan.horizon):
            self.apply_changes(state, day)
            self.pipelines(state, day, rec)
            self.replace(state, day, rec)
            self.attrition(state, day, rec)
            self.rotate(state, day, rec)
            self.census(state, day, rec)
            if progress is not None:
                progress(1)
        return rec

    def apply_changes(self, s: State, day: int) -> None:
        """Step 1: scheduled policy changes due today."""
        for k, change in enumerate(self.plan.changes):
            if change.day != day:
                continue
            members = change.units[None, :] & s.active
            deployed = self.plan.pos_deployed[s.pos]
            now = members & ~deployed
            self._switch(s, now, k)
            s.pending = np.where(members & deployed, k, np.where(now, -1, s.pending))

    def pipelines(self, s: State, day: int, rec: Records) -> None:
        """Step 2: recruitment from reservoirs, training, cohorts and the replacement pool."""
        plan = self.plan
        if not plan.pipelines and not plan.reservoirs:
            return
        refill = self.refill
        if not self.deterministic:  # whole people: add what the running total has reached
            refill = np.floor(refill * (day + 1) + 1e-9) - np.floor(refill * day + 1e-9)
        s.reservoir = s.reservoir + refill
        slot_out = day % s.training.shape[2]
        for q in range(len(plan.pipelines)):
            rate = self.rate[:, day, q]
            v = plan.pipe_reservoir[q]
            left = s.reservoir[:, v] if v >= 0 else np.full(self.n, np.inf)
            if plan.pipe_proportional[q]:
                p = np.minimum(rate / np.maximum(self.size0[:, v], 1e-300), 1.0)
            else:
                p = np.minimum(rate / np.maximum(left, 1e-300), 1.0)
            key = plan.pipe_key[q : q + 1]
            if self.deterministic:
                recruits = np.minimum(rate, left) if v < 0 else left * p
            elif v < 0:  # an unlimited supply: Poisson arrivals at the rate
                recruits = poisson(rate[:, None], self.keys[Purpose.RECRUITS], key, day)[:, 0]
            else:
                recruits = binomial(
                    left[:, None], p[:, None], self.keys[Purpose.RECRUITS], key, day
                )[:, 0]
            if v >= 0:
                s.reservoir[:, v] = left - recruits
            s.training[:, q, (day + plan.pipe_training[q]) % s.training.shape[2]] += recruits
            graduates = s.training[:, q, slot_out].copy()
            s.training[:, q, slot_out] = 0.0
            rec.pipeline[:, day, q, 0] = recruits
            rec.pipeline[:, day, q, 1] = graduates
            f = plan.pipe_force[q]
            if plan.pipe_cohort[q]:
                s.batch[:, q] += graduates
                if plan.cohort_close[day, q]:
                    self._form(s, day, q, rec)
            else:
                s.pool[:, f] += graduates
        rec.pipeline[:, day, :, 2] = s.training.sum(axis=2)
        rec.reservoir[:, day] = s.reservoir

    def _form(self, s: State, day: int, q: int, rec: Records) -> None:
        """A cohort batch closes: its graduates form the batch's units."""
        plan = self.plan
        batch_no = int(plan.cohort_close[: day + 1, q].sum()) - 1
        slots = plan.cohort_slots[q][batch_no]
        people = s.batch[:, q]
        n = len(slots)
        if self.deterministic:
            each = np.repeat((people / n)[:, None], n, axis=1)
        else:  # whole people: the first units of the batch take the remainder
            base = np.floor(people / n)
            extra = people - base * n
            each = base[:, None] + (np.arange(n)[None, :] < extra[:, None])
        formed = people > 0
        s.strength[:, slots] = np.where(formed[:, None], each, 0.0)
        s.authorised[:, slots] = s.strength[:, slots]
        s.active[:, slots] = formed[:, None]
        s.t[:, slots] = -1
        s.since[:, slots] = RESTED
        rec.flows[:, day, plan.pipe_force[q], 0] += np.where(formed, people, 0.0)
        s.batch[:, q] = np.where(formed, 0.0, s.batch[:, q])

    def replace(self, s: State, day: int, rec: Records) -> None:
        """Step 3: wounded return from recovery; replacement pools fill depleted units."""
        plan = self.plan
        n_f = len(plan.forces)
        slot = day % s.recovering.shape[2]
        back = s.recovering[:, :, slot].copy()
        if back.any():
            s.recovering[:, :, slot] = 0.0
            to_unit = np.where(s.active, back, 0.0)
            s.strength = s.strength + to_unit
            rec.flows[:, day, :, 2] = _sum_by(self.force_of, to_unit, n_f, self.n)
            s.pool = s.pool + _sum_by(self.force_of, back - to_unit, n_f, self.n)
        need = np.where(s.active, np.maximum(s.authorised - s.strength, 0.0), 0.0)
        if (s.pool > 0).any() and (need > 0).any():
            share = np.divide(
                s.strength, s.authorised, out=np.ones_like(s.strength), where=s.authorised > 0
            )
            first = np.where(
                plan.force_replacement_rule[self.force_of][None, :] == 1,
                ~plan.pos_deployed[s.pos],
                False,
            )
            order = np.lexsort(
                (
                    np.broadcast_to(np.arange(plan.n_units), s.pos.shape),
                    share,
                    first,
                    np.broadcast_to(self.force_of, s.pos.shape),
                ),
                axis=-1,
            )
            need_sorted = np.take_along_axis(need, order, axis=1)
            force_sorted = self.force_of[order]
            given_sorted = np.zeros_like(need_sorted)
            for f in range(n_f):
                mine = force_sorted == f
                w = np.where(mine, need_sorted, 0.0)
                before = np.cumsum(w, axis=1) - w
                give = np.clip(s.pool[:, f : f + 1] - before, 0.0, None)
                given_sorted += np.where(mine, np.minimum(w, give), 0.0)
            given = np.zeros_like(given_sorted)
            np.put_along_axis(given, order, given_sorted, axis=1)
            s.strength = s.strength + given
            delivered = _sum_by(self.force_of, given, n_f, self.n)
            s.pool = s.pool - delivered
            rec.flows[:, day, :, 1] = delivered
            need = need - given
        rec.stocks[:, day, :, 2] = _sum_by(self.force_of, need, n_f, self.n)

    def attrition(self, s: State, day: int, rec: Records) -> None:
        """Step 4: losses by the hazards of each unit's location and type."""
        plan = self.plan
        loc = plan.pos_location[s.pos]
        utype = plan.unit_type[None, :]
        exposed = s.active & (s.t >= 0)
        left = np.where(exposed, s.strength, 0.0)
        remaining_p = np.ones_like(left)
        n_f = len(plan.forces)
        for c, purpose in enumerate(
            (Purpose.KILLED, Purpose.WOUNDED, Purpose.MISSING, Purpose.DESERTED)
        ):
            p = self.hazard[self.rows, c, loc, utype]
            if not p.any():
                continue
            if self.deterministic:
                lost = np.where(exposed, s.strength, 0.0) * p
            else:
                cond = np.minimum(p / np.maximum(remaining_p, 1e-300), 1.0)
                lost = binomial(left, cond, self.keys[purpose], plan.unit_key, day)
            remaining_p = remaining_p - p
            left = left - lost
            rec.losses[:, day, :, c] = _sum_by(self.force_of, lost, n_f, self.n)
            if c == 1:  # wounded: some will return after their recovery
                share = self.return_share[self.rows, loc, utype]
                if share.any():
                    if self.deterministic:
                        back = lost * share
                    else:
                        back = binomial(lost, share, self.keys[Purpose.RETURNS], plan.unit_key, day)
                    due = (day + plan.recovery[loc, utype]) % s.recovering.shape[2]
                    s.recovering[self.rows, np.arange(plan.n_units)[None, :], due] += back
                    rec.flows[:, day, :, 3] = _sum_by(self.force_of, back, n_f, self.n)
        s.strength = np.where(exposed, left, s.strength)

    def rotate(self, s: State, day: int, rec: Records) -> None:
        """Step 5: advance in the cycle, discharge, reconstitute, release, pull."""
        plan = self.plan
        s.t = s.t + 1
        duration = plan.pos_duration[s.pos]
        move = s.active & (duration != OPEN) & (s.t >= duration)
        new_pos = np.where(move, plan.pos_next[s.pos], s.pos)
        # Withdraw units below their policy's threshold to reconstitution.
        below = plan.policy_reconstitute_below[s.policy]
        recon_pos = plan.policy_reconstitute_pos[s.policy]
        weak = (
            s.active
            & (below >= 0)
            & (s.strength < below * s.authorised)
            & (new_pos != recon_pos)
            & (s.pos != recon_pos)
        )
        new_pos = np.where(weak, recon_pos, new_pos)
        # Release units whose demand has ended.
        ended = np.zeros_like(s.active)
        if self.plan.demands:
            on = self._active_demands(day)[self.rows, np.maximum(s.assigned, 0)]
            ended = (s.assigned >= 0) & ~on
        release = s.active & ended & plan.pos_deployed[new_pos] & ~move & ~weak
        new_pos = np.where(release, plan.pos_release[s.pos], new_pos)
        self._enter(s, move | weak | release, new_pos)
        self._discharge(s, day, rec)
        self._pull(s, day)

    def census(self, s: State, day: int, rec: Records) -> None:
        """Step 6: allocate people present to demands and record the day."""
        plan = self.plan
        n_f, n_l, n_p = len(plan.forces), len(plan.locations), len(plan.position_labels)
        loc = plan.pos_location[s.pos]
        force = self.force_of[None, :]
        present = np.where(s.active, s.strength, 0.0)
        rec.strength[:, day] = _sum_by(force * n_l + loc, present, n_f * n_l, self.n).reshape(
            self.n, n_f, n_l
        )
        rec.filled[:, day] = self._allocate(s, day)
        rec.positions[:, day] = _sum_by(s.pos, s.active.astype(np.int32), n_p, self.n)
        deployed = s.active & plan.pos_deployed[s.pos]
        rec.deployed[:, day] = _sum_by(force, deployed.astype(np.int32), n_f, self.n)
        rec.active[:, day] = _sum_by(force, s.active.astype(np.int32), n_f, self.n)
        rec.stocks[:, day, :, 0] = _sum_by(force, s.recovering.sum(axis=2), n_f, self.n)
        rec.stocks[:, day, :, 1] = s.pool
        rec.deployed_days += deployed
        rec.active_days += s.active
        s.since = np.where(deployed, 0, s.since + 1)
        if rec.unit_position is not None and rec.unit_strength is not None:
            rec.unit_position[:, day] = np.where(s.active, s.pos, -1)
            rec.unit_strength[:, day] = present

    # -- helpers ---------------------------------------------------------------------------

    def _active_demands(self, day: int) -> NDArray[np.bool_]:
        plan = self.plan
        on = (plan.demand_start <= day) & (day < plan.demand_end)
        return np.broadcast_to(on, (self.n, len(on)))

    def _enter(self, s: State, mask: NDArray[np.bool_], new_pos: NDArray[np.int32]) -> None:
        """Move the masked units to ``new_pos``, applying deferred policy changes on return."""
        plan = self.plan
        leaving_deployment = mask & ~plan.pos_deployed[new_pos]
        s.assigned = np.where(leaving_deployment, -1, s.assigned)
        s.pos = np.where(mask, new_pos, s.pos)
        s.t = np.where(mask, 0, s.t)
        due = leaving_deployment & (s.pending >= 0)
        if due.any():
            for k in range(len(plan.changes)):
                self._switch(s, due & (s.pending == k), k)
            s.pending = np.where(due, -1, s.pending)

    def _switch(self, s: State, mask: NDArray[np.bool_], k: int) -> None:
        """Masked units take the policy of change ``k``.

        A unit keeps its proportional place in the cycle (MARATHON's rule): ``c`` days into
        an old cycle of length ``L`` becomes ``floor(c * L' / L)`` days into the new one of
        length ``L'``, so an evenly staggered group stays evenly staggered. A unit outside
        the fixed-length cycle of either policy (waiting ready, say) moves to the position of
        the same name instead, keeping its days there.
        """
        if not mask.any():
            return
        plan = self.plan
        change = plan.changes[k]
        n_new = int((plan.policy_cycle_pos[change.policy] >= 0).sum())
        starts = plan.policy_cycle_starts[change.policy][: n_new + 1]
        offset = plan.pos_cycle_start[s.pos]
        old_len = plan.policy_cycle_len[s.policy]
        in_cycle = (offset >= 0) & (n_new > 0)
        c = (offset + np.maximum(s.t, 0)).astype(np.int64) * int(starts[-1])
        c //= np.maximum(old_len, 1)
        i = np.clip(np.searchsorted(starts[:-1], c, side="right") - 1, 0, max(n_new - 1, 0))
        by_cycle = mask & in_cycle
        by_name = mask & ~in_cycle
        if n_new:
            s.pos = np.where(by_cycle, plan.policy_cycle_pos[change.policy][i], s.pos)
            s.t = np.where(by_cycle, c - starts[i], s.t).astype(np.int32)
        s.pos = np.where(by_name, change.position_map[s.pos], s.pos)
        s.policy = np.where(mask, change.policy, s.policy)

    def _discharge(self, s: State, day: int, rec: Records) -> None:
        out = s.active & self.plan.pos_terminal[s.pos]
        if out.any():
            rec.losses[:, day, :, len(CAUSE_HAZARDS)] += _sum_by(
                self.force_of, np.where(out, s.strength, 0.0), len(self.plan.forces), self.n
            )
            s.active = s.active & ~out

    def _presence(self, s: State) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """People and units available to fill, (R, F, Y, L): active, not overlapping."""
        plan = self.plan
        n_f, n_y, n_l = len(plan.forces), len(plan.unit_types), len(plan.locations)
        counts = s.active & ~plan.pos_overlap[s.pos]
        index = (self.force_of * n_y + plan.unit_type)[None, :] * n_l + plan.pos_location[s.pos]
        size = n_f * n_y * n_l
        people = _sum_by(index, np.where(counts, s.strength, 0.0), size, self.n)
        units = _sum_by(index, counts.astype(np.float64), size, self.n)
        shape = (self.n, n_f, n_y, n_l)
        return people.reshape(shape), units.reshape(shape)

    def _fill_one(
        self, d: int, people: NDArray, units: NDArray, need: NDArray, cap_left: NDArray
    ) -> NDArray:
        """Allocate to demand ``d`` from the pools, consuming them; returns the amount filled."""
        plan = self.plan
        l = plan.demand_location[d]  # noqa: E741
        by_units = plan.demand_units[d]
        filled = np.zeros(self.n)
        for f, y in self.pools[d]:
            pool = units[:, f, y, l] if by_units else people[:, f, y, l]
            take = np.minimum(np.minimum(need - filled, pool), cap_left[:, f])
            take = np.maximum(take, 0.0)
            share = np.divide(take, pool, out=np.zeros_like(take), where=pool > 0)
            people[:, f, y, l] -= share * people[:, f, y, l]
            units[:, f, y, l] -= share * units[:, f, y, l]
            cap_left[:, f] -= take
            filled += take
        return filled

    def _allocate(self, s: State, day: int) -> NDArray[np.float64]:
        people, units = self._presence(s)
        active = self._active_demands(day)
        out = np.zeros((self.n, len(self.plan.demands)))
        for d in range(len(self.plan.demands)):
            need = np.where(active[:, d], self.required[:, d], 0.0)
            out[:, d] = self._fill_one(d, people, units, need, self.cap[:, d].copy())
        return out

    def _pull(self, s: State, day: int) -> None:
        """Demands short of their requirement pull ready units, in fill order."""
        plan = self.plan
        if not plan.pos_ready.any():
            return
        active = self._active_demands(day)
        people, units = self._presence(s)
        n_f = len(plan.forces)
        unit_no = np.broadcast_to(np.arange(plan.n_units), s.pos.shape)
        for d in range(len(plan.demands)):
            if not active[0, d]:
                continue
            l = plan.demand_location[d]  # noqa: E741
            need = self.required[:, d]
            cap_left = self.cap[:, d].copy()
            filled = self._fill_one(d, people, units, need, cap_left)
            short = need - filled
            if not (short > 1e-9).any():
                continue
            target = plan.pos_pull_to[s.pos]
            type_rank = plan.demand_type_rank[d][plan.unit_type]
            force_rank = plan.demand_force_rank[d][self.force_of]
            ok = (
                s.active
                & plan.pos_ready[s.pos]
                & (target >= 0)
                & (plan.pos_location[np.maximum(target, 0)] == l)
                & (type_rank >= 0)[None, :]
                & (force_rank >= 0)[None, :]
                & (s.since >= plan.policy_min_dwell[s.policy])
            )
            if not ok.any():
                continue
            # Candidates first, then type rank, force rank, longest dwell, unit number.
            order = np.lexsort(
                (
                    unit_no,
                    -s.since,
                    np.broadcast_to(force_rank, s.pos.shape),
                    np.broadcast_to(type_rank, s.pos.shape),
                    ~ok,
                ),
                axis=-1,
            )
            cand = np.take_along_axis(ok, order, axis=1)
            force = self.force_of[order]
            strength = np.take_along_axis(s.strength, order, axis=1)
            weight = np.ones_like(strength) if plan.demand_units[d] else strength
            allowed = cand.copy()
            for f in range(n_f):
                mine = cand & (force == f)
                if not mine.any():
                    continue
                w_mine = np.where(mine, weight, 0.0)
                w_before = np.cumsum(w_mine, axis=1) - w_mine
                s_incl = np.cumsum(np.where(mine, strength, 0.0), axis=1)
                limit_left = self.limit[:, f, l] - self._force_at(s, f, l)
                allowed &= ~mine | (
                    (w_before < cap_left[:, f : f + 1] - 1e-9)
                    & (s_incl <= limit_left[:, None] + 1e-9)
                )
            w_allowed = np.where(allowed, weight, 0.0)
            before = np.cumsum(w_allowed, axis=1) - w_allowed
            take_sorted = allowed & (before < short[:, None] - 1e-9)
            take = np.zeros_like(take_sorted)
            np.put_along_axis(take, order, take_sorted, axis=1)
            if take.any():
                self._enter(s, take, np.where(take, target, s.pos))
                s.assigned = np.where(take, d, s.assigned)
                people, units = self._presence(s)
                # Re-run the allocation of demands already served, so pools stay consistent.
                for e in range(d + 1):
                    if active[0, e]:
                        self._fill_one(e, people, units, self.required[:, e], self.cap[:, e].copy())

    def _force_at(self, s: State, f: int, l: int) -> NDArray[np.float64]:  # noqa: E741
        """People of force ``f`` at location ``l`` in each run (all positions)."""
        plan = self.plan
        here = s.active & (plan.pos_location[s.pos] == l) & (self.force_of == f)[None, :]
        return np.where(here, s.strength, 0.0).sum(axis=1)
