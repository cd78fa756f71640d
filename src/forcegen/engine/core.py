"""The daily step over arrays of runs × units.

No I/O, no YAML, no printing: a :class:`~forcegen.compile.Plan` in, arrays of daily records
out. Every array here has runs on its first axis and units on its second.

Order of a simulated day ``d`` (DESIGN.md; tests hold the engine to it):

1. **changes**: scheduled policy changes due on day ``d`` take effect. A unit that is not
   deployed switches at once to the position of the same name in the new policy (the new
   policy's first position if there is none), keeping its days there; a deployed unit
   switches when it next enters a position that is not deployed.
2. *(pipelines: recruitment and training, in the manpower capability)*
3. *(replacements, in the manpower capability)*
4. **attrition**: each unit loses people by the hazards of the location it spent the day at
   (its position at the previous census): killed first, then wounded who leave, among the
   survivors. Stochastic runs draw binomial counts; deterministic runs take expected values.
5. **rotation**: each unit counts one more day in its position and moves on to ``next`` once
   it has spent the position's duration there; a unit entering a terminal position is
   discharged. Units whose demand has ended are released from deployment. Then demands are
   taken in fill order (priority, then file order); each one short of its requirement pulls
   ready units bound for its location, in the order: unit type preference, force order,
   longest time since last deployment, unit number. Pulls stop at a demand's cap for a
   force and at a force's limit at the location (the first unit that would pass the limit
   ends that force's pulls).
6. **census**: people present at each location (overlap positions excepted) are allocated to
   the location's demands in fill order; within a demand by unit type preference, then force
   order, up to the caps. Coverage and every other record are taken.

The state before day 0 is the census of the eve of day 0: a unit placed ``o`` days into its
cycle is seen ``o + 1`` days into it at the census of day 0, and each position is held for
exactly its duration in census days and in days of exposure to attrition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forcegen.compile import OPEN, Plan
from forcegen.engine.random import Purpose, binomial, run_keys

CAUSES = ("killed", "wounded_out", "discharged")
"""Causes of loss recorded per force and day."""


@dataclass
class State:
    """Where every unit of every run stands. Arrays are (runs, units)."""

    pos: NDArray[np.int32]
    t: NDArray[np.int32]
    """Census days already spent in the current position."""
    policy: NDArray[np.int32]
    pending: NDArray[np.int32]
    """Index of a deferred policy change, -1 if none."""
    strength: NDArray[np.float64]
    since: NDArray[np.int32]
    """Days since the unit was last deployed."""
    assigned: NDArray[np.int32]
    """Demand that pulled the unit, -1 if none."""
    active: NDArray[np.bool_]
    """False once a unit is discharged."""

    @classmethod
    def initial(cls, plan: Plan, runs: int) -> State:
        shape = (runs, plan.n_units)

        def tile(a: NDArray) -> NDArray:
            return np.array(np.broadcast_to(a, shape))

        return cls(
            pos=tile(plan.unit_pos0),
            t=tile(plan.unit_t0),
            policy=tile(plan.unit_policy0),
            pending=np.full(shape, -1, np.int32),
            strength=np.array(plan.unit_strength0[:runs], dtype=np.float64),
            since=tile(plan.unit_since0),
            assigned=np.full(shape, -1, np.int32),
            active=np.ones(shape, bool),
        )


@dataclass
class Records:
    """Daily records of one batch of runs; the engine fills them, results label them."""

    strength: NDArray[np.float64]  # (R, T, F, L) people present
    filled: NDArray[np.float64]  # (R, T, D) people (units) allocated to each demand
    positions: NDArray[np.int32]  # (R, T, P) units in each position
    deployed: NDArray[np.int32]  # (R, T, F) units in deployed positions
    active: NDArray[np.int32]  # (R, T, F) units not discharged
    losses: NDArray[np.float64]  # (R, T, F, C) people lost, by cause
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
            deployed_days=np.zeros((r, u), np.int32),
            active_days=np.zeros((r, u), np.int32),
            unit_position=np.zeros((r, t, u), np.int16) if keep_units else None,
            unit_strength=np.zeros((r, t, u), np.float32) if keep_units else None,
        )


def _sum_by(index: NDArray[np.intp], weights: NDArray, size: int, runs: int) -> NDArray:
    """Per-run sums of ``weights`` grouped by ``index`` (runs × units) into ``size`` bins."""
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
        sel = self.run_ids % plan.runs if plan.runs else self.run_ids
        self.required = plan.demand_required[sel]
        self.cap = plan.demand_cap[sel]
        self.limit = plan.force_limit[sel]
        self.killed = plan.hazard_killed[sel]
        self.wounded = plan.hazard_wounded_out[sel]
        self.strength0 = plan.unit_strength0[sel]
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
        state = State.initial(plan, self.n)
        state.strength = np.array(self.strength0, dtype=np.float64)
        rec = Records.empty(plan, self.n, self.keep_units)
        for day in range(plan.horizon):
            self.apply_changes(state, day)
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
            s.pos = np.where(now, change.position_map[s.pos], s.pos)
            s.policy = np.where(now, change.policy, s.policy)
            s.pending = np.where(members & deployed, k, np.where(now, -1, s.pending))

    def attrition(self, s: State, day: int, rec: Records) -> None:
        """Step 4: losses by the hazards of each unit's location."""
        loc = self.plan.pos_location[s.pos]
        pk = self.killed[self.rows, loc]
        pw = self.wounded[self.rows, loc]
        n = np.where(s.active, s.strength, 0.0)
        if self.deterministic:
            killed = n * pk
            wounded = n * pw
        else:
            killed = binomial(n, pk, self.keys[Purpose.KILLED], self.plan.unit_key, day)
            cond = np.where(pk < 1.0, pw / np.maximum(1.0 - pk, 1e-300), 0.0)
            wounded = binomial(
                n - killed,
                np.minimum(cond, 1.0),
                self.keys[Purpose.WOUNDED_OUT],
                self.plan.unit_key,
                day,
            )
        s.strength = s.strength - killed - wounded
        force = self.plan.unit_force
        n_f = len(self.plan.forces)
        rec.losses[:, day, :, 0] = _sum_by(np.broadcast_to(force, n.shape), killed, n_f, self.n)
        rec.losses[:, day, :, 1] = _sum_by(np.broadcast_to(force, n.shape), wounded, n_f, self.n)

    def rotate(self, s: State, day: int, rec: Records) -> None:
        """Step 5: advance in the cycle, discharge, release, and pull ready units."""
        plan = self.plan
        s.t = s.t + 1
        duration = plan.pos_duration[s.pos]
        move = s.active & (duration != OPEN) & (s.t >= duration)
        # Release units whose demand has ended.
        ended = (s.assigned >= 0) & ~self._active_demands(day)[self.rows, np.maximum(s.assigned, 0)]
        release = s.active & ended & plan.pos_deployed[s.pos]
        new_pos = np.where(move, plan.pos_next[s.pos], s.pos)
        new_pos = np.where(release, plan.pos_release[s.pos], new_pos)
        changed = move | release
        self._enter(s, changed, new_pos)
        self._discharge(s, day, rec)
        self._pull(s, day)

    def census(self, s: State, day: int, rec: Records) -> None:
        """Step 6: allocate people present to demands and record the day."""
        plan = self.plan
        n_f, n_l, n_p = len(plan.forces), len(plan.locations), len(plan.position_labels)
        loc = plan.pos_location[s.pos]
        force = np.broadcast_to(plan.unit_force, s.pos.shape)
        present = np.where(s.active, s.strength, 0.0)
        rec.strength[:, day] = _sum_by(force * n_l + loc, present, n_f * n_l, self.n).reshape(
            self.n, n_f, n_l
        )
        rec.filled[:, day] = self._allocate(s, day)
        rec.positions[:, day] = _sum_by(s.pos, s.active.astype(np.int32), n_p, self.n)
        deployed = s.active & plan.pos_deployed[s.pos]
        rec.deployed[:, day] = _sum_by(force, deployed.astype(np.int32), n_f, self.n)
        rec.active[:, day] = _sum_by(force, s.active.astype(np.int32), n_f, self.n)
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
        due = leaving_deployment & (s.pending >= 0)
        if due.any():
            for k, change in enumerate(plan.changes):
                hit = due & (s.pending == k)
                new_pos = np.where(hit, change.position_map[new_pos], new_pos)
                s.policy = np.where(hit, change.policy, s.policy)
            s.pending = np.where(due, -1, s.pending)
        s.pos = np.where(mask, new_pos, s.pos)
        s.t = np.where(mask, 0, s.t)

    def _discharge(self, s: State, day: int, rec: Records) -> None:
        out = s.active & self.plan.pos_terminal[s.pos]
        if out.any():
            force = np.broadcast_to(self.plan.unit_force, s.pos.shape)
            rec.losses[:, day, :, 2] += _sum_by(
                force, np.where(out, s.strength, 0.0), len(self.plan.forces), self.n
            )
            s.active = s.active & ~out

    def _presence(self, s: State) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """People and units available to fill, (R, F, Y, L): active, not overlapping."""
        plan = self.plan
        n_f, n_y, n_l = len(plan.forces), len(plan.unit_types), len(plan.locations)
        counts = s.active & ~plan.pos_overlap[s.pos]
        index = (plan.unit_force * n_y + plan.unit_type)[None, :] * n_l + plan.pos_location[s.pos]
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
            force_rank = plan.demand_force_rank[d][plan.unit_force]
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
            # Sort candidates: type rank, force rank, longest dwell, unit number.
            u = plan.n_units
            key = (
                (type_rank.astype(np.int64) * (n_f + 1) + force_rank)[None, :] * (1 << 40)
                + (np.int64(1 << 30) - np.minimum(s.since, (1 << 30) - 1)) * (u + 1)
                + np.arange(u)[None, :]
            )
            key = np.where(ok, key, np.iinfo(np.int64).max)
            order = np.argsort(key, axis=1, kind="stable")
            cand = np.take_along_axis(ok, order, axis=1)
            force = plan.unit_force[order]
            strength = np.take_along_axis(s.strength, order, axis=1)
            weight = np.ones_like(strength) if plan.demand_units[d] else strength
            allowed = cand.copy()
            for f in range(n_f):
                mine = cand & (force == f)
                if not mine.any():
                    continue
                w_before = np.cumsum(np.where(mine, weight, 0.0), axis=1) - np.where(
                    mine, weight, 0.0
                )
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
                new_pos = np.where(take, target, s.pos)
                self._enter(s, take, new_pos)
                s.assigned = np.where(take, d, s.assigned)
                people, units = self._presence(s)
                # Re-run the allocation of demands already served, so pools stay consistent.
                for e in range(d + 1):
                    if active[0, e]:
                        self._fill_one(e, people, units, self.required[:, e], self.cap[:, e].copy())

    def _force_at(self, s: State, f: int, l: int) -> NDArray[np.float64]:  # noqa: E741
        """People of force ``f`` at location ``l`` in each run (all positions)."""
        plan = self.plan
        here = s.active & (plan.pos_location[s.pos] == l) & (plan.unit_force == f)[None, :]
        return np.where(here, s.strength, 0.0).sum(axis=1)
