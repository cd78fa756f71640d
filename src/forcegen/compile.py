"""The one bridge from scenario objects to numbers: :func:`compile_plan` builds a :class:`Plan`.

A plan is flat index tables and arrays the engine reads; it knows nothing of YAML or claims.
Arrays whose values may differ between runs carry a leading *sample* axis ``S``: one row
per run when the scenario has uncertain values, a single row shared by every run otherwise
(see :mod:`forcegen.sampling`).

Conventions fixed here, documented once:

* **Positions** of all policies are numbered in one table, policy by policy in file order.
* **Units** are numbered group by group in file order, members in order, then the slots of
  the units that cohort pipelines will form, pipeline by pipeline, batch by batch. Each unit
  also gets a stable 64-bit key from its group id and member number, so that its random
  draws do not change when other groups are added or removed (common random numbers). A
  group whose ``count`` is uncertain gets slots for its largest count; the members beyond a
  run's count are absent from that run.
* **Stagger**: a group of N units with ``phase: even`` starts unit i ``floor(i * S / N)`` days
  into its cycle, where S is the length of the cycle's fixed-duration part, followed from the
  start position until it loops back or reaches a position that waits (ready) or ends
  (terminal).
* **Demand order**: by priority, then by order in the file. Within a demand, unit types in
  preference order (or by substitution cost, ties by order in the file), then forces in the
  order the demand lists them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.plan import CAUSE_HAZARDS, OPEN, RESTED, YEAR_STEP, Plan
from forcegen.engine.streams import stable_key
from forcegen.errors import UsageError
from forcegen.sampling import Sample
from forcegen.scenario.model import Demand, Position, Scenario
from forcegen.scenario.quantities import MAX_UNITS, Choice, Quantity, Value
from forcegen.scenario.references import resolve_policies

Part = dict[str, Any]
"""Some of a plan's fields by name: what each step of :func:`compile_plan` returns."""


def compile_plan(scenario: Scenario, sample: Sample, sizes: PlanSizes | None = None) -> Plan:
    """Turn a validated scenario and the values its runs take into a plan.

    Each step returns its part of the plan; a field given twice or not at all is an error.
    ``sizes``, the plan's sizes from :func:`plan_sizes` where the caller has them already,
    spares that walk (and its check) a second time.

    Raises
    ------
    UsageError
        If the declared units and those cohort pipelines would form come to more than
        :data:`~forcegen.scenario.quantities.MAX_UNITS` (see :func:`plan_sizes`), before
        anything is allocated.
    """
    if sizes is None:  # checks the units in all; a caller that sized the plan did
        plan_sizes(scenario, sample)
    tb = _tables(scenario, sample)
    positions = _positions(tb)
    pos_duration = positions["pos_duration"]
    _central_stays(tb, pos_duration)
    members = _members(tb, pos_duration)
    cohorts, slots = _cohorts(tb, first=len(members.ids))
    units = _units(tb, members.then(slots))
    demands = _demands(tb)
    return Plan(
        **_labels(tb),
        **positions,
        **_cycles(tb, pos_duration),
        **_policies(tb),
        **units,
        **_attrition(tb),
        **demands,
        **_forces(tb),
        **_changes(tb, units["unit_group"]),
        **_manpower(tb),
        **cohorts,
        **_stocks(tb),
        **_reach(tb, positions, demands, units["unit_t0"]),
    )


@dataclass(frozen=True)
class PlanSizes:
    """The lengths of a plan's axes, and what sizes the engine's working arrays, known from
    a scenario and its sample without compiling (see :func:`plan_sizes`); the engine's
    :func:`~forcegen.engine.kernel.run_state_nbytes` turns them into bytes per run."""

    samples: int
    horizon: int
    positions: int
    policies: int
    cycle_width: int
    """Longest fixed-length cycle of a policy (at least 1): the plan's axis M."""
    declared_units: int
    """Units of the unit groups, each group at its largest count."""
    cohort_units: tuple[int, ...]
    """Slots of the units each pipeline can form over the horizon (0 for replacements)."""
    batches: int
    """Most batches a cohort pipeline closes: the plan's axis B."""
    batch_units: int
    """Most units a batch forms: the plan's axis N."""
    forces: int
    locations: int
    unit_types: int
    demands: int
    changes: int
    reservoirs: int
    pipelines: int
    recovery_days: int
    """Longest recovery of the wounded in any sample."""
    training_days: int
    """Longest training of a pipeline in any sample."""
    hazard_rows: int
    """Pairs of location and unit type that may have losses."""
    largest_unit: int
    """Largest authorised strength of a declared unit, in people."""
    states: int = 0
    """States with a stock of people (the plan's axis N)."""
    transitions: int = 0
    """Transitions between states and out of the force (the plan's axis E)."""

    @property
    def units(self) -> int:
        """Units of the plan: declared ones, then cohort slots (the axis U)."""
        return self.declared_units + sum(self.cohort_units)

    @property
    def nbytes(self) -> int:
        """Bytes of the plan's arrays (labels and index tuples aside)."""
        s, t, p, k, m = self.samples, self.horizon, self.positions, self.policies, self.cycle_width
        u, f, loc, y = self.units, self.forces, self.locations, self.unit_types
        d, h, v, q = self.demands, self.changes, self.reservoirs, self.pipelines
        i4, i8, f8, b1 = 4, 8, 8, 1
        return (
            p * (5 * i4 + 4 * b1) + 2 * s * p * i4  # positions
            + k * m * i4 + k * i4 + s * k * (m + 1) * i8  # cycles
            + s * k * (i4 + f8) + k * i4  # policies' rules
            + u * (4 * i4 + i8) + s * u * (3 * i4 + b1 + 2 * f8)  # units
            + s * loc * y * (len(CAUSE_HAZARDS) * f8 + f8 + i4)  # attrition
            + d * (2 * i4 + b1) + s * d * (2 * i4 + f8) + d * (y + f) * i4  # demands
            + s * d * f * f8 + 2 * d * max(f * y, 1) * i4  # caps and pools
            + f * i4 + s * f * loc * f8  # forces
            + s * h * i4 + h * u * b1 + h * i4 + h * p * i4  # changes
            + 2 * s * v * f8 + q * (2 * i4 + i8 + 2 * b1) + s * q * i4  # manpower
            + s * t * q * (f8 + b1) + q * self.batches * self.batch_units * i4  # by day
        )  # fmt: skip


def plan_sizes(scenario: Scenario, sample: Sample) -> PlanSizes:
    """The sizes of the plan :func:`compile_plan` would build, without building it.

    Costs a walk over the scenario's lists and one value per uncertain number and run, so
    that memory can be checked, and a plan with too many units refused, before compiling.

    Raises
    ------
    UsageError
        If the declared units and the units cohort pipelines can form over the horizon
        come to more than :data:`~forcegen.scenario.quantities.MAX_UNITS`.
    """

    def largest(q: Quantity | None) -> int:
        return int(_days(sample.of(q)).max(initial=0))

    horizon = int(_days(sample.of(scenario.horizon))[0])
    resolved = resolve_policies(scenario)
    declared = sum(largest(g.count) for g in scenario.units)
    formed: list[tuple[int, int, int]] = []  # per pipeline: batches, units each, least every
    for pipe in scenario.pipelines:
        if pipe.into != "cohorts" or pipe.cohort is None:
            formed.append((0, 0, 0))
            continue
        every = np.maximum(_days(sample.of(pipe.cohort.every)), 1)
        least = int(every.min())
        formed.append((horizon // least, pipe.cohort.units, least))
    cohort_units = tuple(b * n for b, n, _ in formed)
    if declared + sum(cohort_units) > MAX_UNITS:
        _refuse_unit_slots(scenario, horizon, declared, formed)
    # The kernel's table of no-loss probabilities has a row per location where a position
    # is and unit type of a unit, where losses may happen: at most this many.
    at = {pos.location for p in scenario.policies for pos in resolved[p.id]}
    of = {g.type for g in scenario.units} | {
        p.cohort.type for p, n in zip(scenario.pipelines, cohort_units, strict=True) if n
    }
    hazard_rows = 0
    for loc in scenario.locations:
        attritions = [loc.attrition, *loc.attrition_by_type.values()]
        if loc.id in at and any(
            sample.of(getattr(a, c)).max() > 0 for a in attritions for c in CAUSE_HAZARDS
        ):
            hazard_rows += len(of)
    return PlanSizes(
        samples=sample.size,
        horizon=horizon,
        positions=sum(len(resolved[p.id]) for p in scenario.policies),
        policies=len(scenario.policies),
        cycle_width=max([len(_cycle_from(resolved[p.id], 0)) for p in scenario.policies] + [1]),
        declared_units=declared,
        cohort_units=cohort_units,
        batches=max([b for b, _, _ in formed] + [0]),
        batch_units=max([n for b, n, _ in formed if b] + [0]),
        forces=len(scenario.forces),
        locations=len(scenario.locations),
        unit_types=len(scenario.unit_types),
        demands=len(scenario.demands),
        changes=len(scenario.changes),
        reservoirs=len(scenario.reservoirs),
        pipelines=len(scenario.pipelines),
        recovery_days=max(
            [
                largest(a.recovery)
                for loc in scenario.locations
                for a in (loc.attrition, *loc.attrition_by_type.values())
            ]
            + [0]
        ),
        training_days=max([largest(p.training) for p in scenario.pipelines] + [0]),
        hazard_rows=hazard_rows,
        largest_unit=max(
            [int(np.ceil(sample.of(g.strength).max(initial=0))) for g in scenario.units] + [0]
        ),
        states=len(scenario.stocks),
        transitions=sum(len(st.transitions) + (st.wastage is not None) for st in scenario.stocks),
    )


def plan_nbytes(scenario: Scenario, sample: Sample) -> int:
    """Bytes of the arrays of the plan :func:`compile_plan` would build, without building it."""
    return plan_sizes(scenario, sample).nbytes


def _refuse_unit_slots(
    scenario: Scenario, horizon: int, declared: int, formed: list[tuple[int, int, int]]
) -> None:
    parts = []
    for q, (pipe, (batches, per, every)) in enumerate(zip(scenario.pipelines, formed, strict=True)):
        if batches:
            parts.append(
                f"pipelines[{q}] ({pipe.id}) would form {batches * per:,} units over the "
                f"{horizon:,}-day horizon ({batches:,} batch{'es' if batches != 1 else ''} "
                f"of {per:,} unit{'s' if per != 1 else ''}, one every {every:,} "
                f"day{'s' if every != 1 else ''})"
            )
    total = declared + sum(b * n for b, n, _ in formed)
    raise UsageError(
        "; ".join(parts)
        + f"; with the {declared:,} declared units that is {total:,} units in all, more "
        f"than the {MAX_UNITS:,} a scenario may have: form fewer, larger units or close "
        "batches less often (a longer cohort.every)"
    )


@dataclass(frozen=True)
class _Tables:
    """What every step shares: the scenario, the values its runs take, its horizon and the
    index tables of its names."""

    scenario: Scenario
    sample: Sample
    horizon: int
    forces: tuple[str, ...]
    locations: tuple[str, ...]
    unit_types: tuple[str, ...]
    policies: tuple[str, ...]
    groups: tuple[str, ...]
    """Unit groups, then pipelines (the groups of cohort units)."""
    force_ix: dict[str, int]
    loc_ix: dict[str, int]
    type_ix: dict[str, int]
    resolved: dict[str, tuple[Position, ...]]
    """Each policy's positions, templates expanded."""
    rows: list[tuple[int, Position]]
    """(policy index, position) of each position of the one table of positions."""
    first_pos: dict[str, int]
    """Policy → index of its first position."""
    pos_index: dict[tuple[str, str], int]
    """(policy, position name) → position index."""

    @property
    def n_s(self) -> int:
        return self.sample.size

    def value(self, q: Quantity | None, default: float = 0.0) -> NDArray[np.float64]:
        return self.sample.of(q, default)

    def day(self, when: Quantity | dt.date) -> NDArray[np.int64]:
        if isinstance(when, Value | Choice):
            return _days(self.value(when))
        return np.full(self.n_s, self.scenario.day_of(when), np.int64)


def _tables(scenario: Scenario, sample: Sample) -> _Tables:
    forces = tuple(f.id for f in scenario.forces)
    locations = tuple(loc.id for loc in scenario.locations)
    unit_types = tuple(t.id for t in scenario.unit_types)
    # Positions, all policies in one table.
    resolved = resolve_policies(scenario)
    policies = tuple(p.id for p in scenario.policies)
    first_pos: dict[str, int] = {}
    pos_index: dict[tuple[str, str], int] = {}
    rows: list[tuple[int, Position]] = []
    for k, pid in enumerate(policies):
        first_pos[pid] = len(rows)
        for pos in resolved[pid]:
            pos_index[(pid, pos.name)] = len(rows)
            rows.append((k, pos))
    return _Tables(
        scenario=scenario,
        sample=sample,
        horizon=int(_days(sample.of(scenario.horizon))[0]),
        forces=forces,
        locations=locations,
        unit_types=unit_types,
        policies=policies,
        groups=tuple(u.id for u in scenario.units) + tuple(p.id for p in scenario.pipelines),
        force_ix={f: i for i, f in enumerate(forces)},
        loc_ix={loc: i for i, loc in enumerate(locations)},
        type_ix={t: i for i, t in enumerate(unit_types)},
        resolved=resolved,
        rows=rows,
        first_pos=first_pos,
        pos_index=pos_index,
    )


def _cycle_from(positions: tuple[Position, ...], start: int) -> list[int]:
    """Positions along ``next`` from ``start`` while durations are fixed (no repeats)."""
    names = {p.name: i for i, p in enumerate(positions)}
    out: list[int] = []
    j = start
    while j not in out:
        pos = positions[j]
        if pos.duration is None or pos.terminal:
            break
        out.append(j)
        j = names[pos.next]  # type: ignore[index]
    return out


def _days(a: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.rint(a).astype(np.int64)


def _labels(tb: _Tables) -> Part:
    """The horizon, the start and the names along the plan's axes (but for demands and units,
    whose order their steps set)."""
    scenario = tb.scenario
    return {
        "horizon": tb.horizon,
        "start": np.datetime64(scenario.start, "D"),
        "forces": tb.forces,
        "locations": tb.locations,
        "unit_types": tb.unit_types,
        "policies": tb.policies,
        "position_labels": tuple(f"{tb.policies[k]}/{p.name}" for k, p in tb.rows),
        "groups": tb.groups,
        "reservoirs": tuple(r.id for r in scenario.reservoirs),
        "pipelines": tuple(p.id for p in scenario.pipelines),
    }


def _positions(tb: _Tables) -> Part:
    """The table of positions: where each is, how long it holds a unit, where it leads."""
    rows, policies, pos_index = tb.rows, tb.policies, tb.pos_index
    n_s, n_pos = tb.n_s, len(rows)
    pos_duration = (
        np.stack(
            [
                np.full(n_s, OPEN)
                if p.duration is None
                else np.maximum(_days(tb.value(p.duration)), 1)
                for _, p in rows
            ],
            axis=1,
        )
        .astype(np.int32)
        .reshape(n_s, n_pos)
    )
    pos_next = np.array([pos_index[(policies[k], p.next)] for k, p in rows], np.int32)
    pos_deployed = np.array([p.deployed for _, p in rows], bool)
    pos_pull_to = np.array(
        [pos_index[(policies[k], p.pull_to)] if p.pull_to else -1 for k, p in rows], np.int32
    )
    pos_release = np.arange(n_pos, dtype=np.int32)
    for j in range(n_pos):
        target, steps = j, 0
        while pos_deployed[target] and steps <= n_pos:
            target, steps = pos_next[target], steps + 1
        pos_release[j] = target
    return {
        "pos_policy": np.array([k for k, _ in rows], np.int32),
        "pos_location": np.array([tb.loc_ix[p.location] for _, p in rows], np.int32),
        "pos_duration": pos_duration,
        "pos_next": pos_next,
        "pos_deployed": pos_deployed,
        "pos_ready": np.array([p.ready for _, p in rows], bool),
        "pos_overlap": np.array([p.overlap for _, p in rows], bool),
        "pos_terminal": np.array([p.terminal for _, p in rows], bool),
        "pos_pull_to": pos_pull_to,
        "pos_release": pos_release,
    }


def _cycles(tb: _Tables, pos_duration: NDArray[np.int32]) -> Part:
    """Each policy's fixed-length cycle from its first position: where each position starts."""
    n_s, n_pos, policies = tb.n_s, len(tb.rows), tb.policies
    cycles = [[tb.first_pos[pid] + j for j in _cycle_from(tb.resolved[pid], 0)] for pid in policies]
    width = max([len(c) for c in cycles] + [1])
    policy_cycle_pos = np.full((len(policies), width), -1, np.int32)
    policy_cycle_starts = np.full((n_s, len(policies), width + 1), np.iinfo(np.int64).max)
    pos_cycle_start = np.full((n_s, n_pos), -1, np.int32)
    for k, cycle in enumerate(cycles):
        policy_cycle_pos[k, : len(cycle)] = cycle
        starts = np.concatenate(
            [np.zeros((n_s, 1), np.int64), np.cumsum(pos_duration[:, cycle], axis=1)], axis=1
        )
        policy_cycle_starts[:, k, : len(cycle) + 1] = starts
        pos_cycle_start[:, cycle] = starts[:, :-1]
    return {
        "pos_cycle_start": pos_cycle_start,
        "policy_cycle_pos": policy_cycle_pos,
        "policy_cycle_n": np.array([len(c) for c in cycles], np.int32),
        "policy_cycle_starts": policy_cycle_starts,
    }


def _policies(tb: _Tables) -> Part:
    """Each policy's rules: least dwell before a pull, and reconstitution."""
    n_s, scenario = tb.n_s, tb.scenario
    return {
        "policy_min_dwell": np.stack(
            [_days(tb.value(p.min_dwell)) for p in scenario.policies], axis=1
        ).astype(np.int32),
        "policy_reconstitute_below": np.stack(
            [
                np.full(n_s, -1.0) if p.reconstitute is None else tb.value(p.reconstitute.below)
                for p in scenario.policies
            ],
            axis=1,
        ),
        "policy_reconstitute_pos": np.array(
            [
                -1 if p.reconstitute is None else tb.pos_index[(p.id, p.reconstitute.position)]
                for p in scenario.policies
            ],
            np.int32,
        ),
    }


@dataclass
class _Numbered:
    """Units numbered so far: one entry per unit in the columns, and one (S, n) array per
    block of n units in each of the per-sample lists."""

    ids: list[str] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    force: list[int] = field(default_factory=list)
    type: list[int] = field(default_factory=list)
    policy: list[int] = field(default_factory=list)
    pos: list[NDArray] = field(default_factory=list)
    t: list[NDArray] = field(default_factory=list)
    since: list[NDArray] = field(default_factory=list)
    present: list[NDArray] = field(default_factory=list)
    authorised: list[NDArray] = field(default_factory=list)
    strength: list[NDArray] = field(default_factory=list)

    def add(self, uid: str, group: int, force: int, utype: int, policy: int) -> None:
        self.ids.append(uid)
        self.group.append(group)
        self.force.append(force)
        self.type.append(utype)
        self.policy.append(policy)

    def block(
        self,
        pos: NDArray,
        t: NDArray,
        since: NDArray,
        present: NDArray,
        authorised: NDArray,
        strength: NDArray,
    ) -> None:
        self.pos.append(pos)
        self.t.append(t)
        self.since.append(since)
        self.present.append(present)
        self.authorised.append(authorised)
        self.strength.append(strength)

    def then(self, other: _Numbered) -> _Numbered:
        """These units, followed by ``other``'s."""
        return _Numbered(
            **{name: getattr(self, name) + getattr(other, name) for name in _NUMBERED_FIELDS}
        )


_NUMBERED_FIELDS = tuple(_Numbered.__dataclass_fields__)


def _members(tb: _Tables, pos_duration: NDArray[np.int32]) -> _Numbered:
    """The members of each unit group, group by group, staggered along their cycles."""
    n_s, scenario = tb.n_s, tb.scenario
    out = _Numbered()
    for g, group in enumerate(scenario.units):
        count = _days(tb.value(group.count))
        positions = tb.resolved[group.policy]
        first = tb.first_pos[group.policy]
        start = 0 if group.start is None else [p.name for p in positions].index(group.start)
        cycle = [first + j for j in _cycle_from(positions, start)]
        durs = pos_duration[:, cycle].astype(np.int64)
        starts = np.concatenate([np.zeros((n_s, 1), np.int64), np.cumsum(durs, axis=1)], axis=1)
        span = starts[:, -1]
        members = np.arange(int(count.max(initial=0)))
        if group.phase == "even":
            offset = (members[None, :] * span[:, None]) // np.maximum(count, 1)[:, None]
        else:
            offset = np.broadcast_to(_days(tb.value(group.phase))[:, None], (n_s, len(members)))
        offset = offset % np.maximum(span, 1)[:, None]
        if cycle:
            idx = (starts[:, None, 1:] <= offset[:, :, None]).sum(axis=2)
            pos = np.array(cycle)[idx]
            t = offset - np.take_along_axis(starts, idx, axis=1)
        else:
            pos = np.full(offset.shape, first + start)
            t = np.zeros(offset.shape, np.int64)
        strength = tb.value(group.strength)
        share = tb.value(group.current, 1.0)
        for i in members:
            out.add(
                f"{group.id}#{i}",
                g,
                tb.force_ix[group.force],
                tb.type_ix[group.type],
                tb.policies.index(group.policy),
            )
        out.block(
            pos=pos,
            t=t,
            since=RESTED + offset,
            present=members[None, :] < count[:, None],
            authorised=np.repeat(strength[:, None], len(members), axis=1),
            strength=np.repeat(np.floor(strength * share + 1e-9)[:, None], len(members), axis=1),
        )
    return out


def _cohorts(tb: _Tables, first: int) -> tuple[Part, _Numbered]:
    """The days each cohort pipeline's batches close, and the slots of the units they will
    form, numbered from ``first``, pipeline by pipeline, batch by batch."""
    n_s, scenario, horizon = tb.n_s, tb.scenario, tb.horizon
    n_groups, n_q = len(scenario.units), len(scenario.pipelines)
    cohort_close = np.zeros((n_s, horizon, n_q), bool)
    batches = []
    for q, pipe in enumerate(scenario.pipelines):
        if pipe.into != "cohorts" or pipe.cohort is None:
            batches.append((0, 0))
            continue
        every = np.maximum(_days(tb.value(pipe.cohort.every)), 1)
        days = np.arange(horizon)
        cohort_close[:, :, q] = (days[None, :] + 1) % every[:, None] == 0
        n_batches = int(cohort_close[:, :, q].sum(axis=1).max(initial=0))
        batches.append((n_batches, pipe.cohort.units))
    max_b = max([b for b, _ in batches] + [0])
    max_n = max([n for _, n in batches] + [0])
    cohort_slots = np.full((n_q, max_b, max_n), -1, np.int32)
    out = _Numbered()
    for q, (pipe, (n_batches, n_per)) in enumerate(zip(scenario.pipelines, batches, strict=True)):
        if not n_batches:
            continue
        policy = pipe.cohort.policy  # type: ignore[union-attr]
        start = first + len(out.ids)
        for b in range(n_batches):
            for j in range(n_per):
                out.add(
                    f"{pipe.id}#{b}.{j}",
                    n_groups + q,
                    tb.force_ix[pipe.force],
                    tb.type_ix[pipe.cohort.type],  # type: ignore[union-attr]
                    tb.policies.index(policy),
                )
        n_new = n_batches * n_per
        cohort_slots[q, :n_batches, :n_per] = np.arange(start, start + n_new).reshape(
            n_batches, n_per
        )
        out.block(
            pos=np.full((n_s, n_new), tb.first_pos[policy]),
            t=np.full((n_s, n_new), -1),
            since=np.full((n_s, n_new), RESTED),
            present=np.zeros((n_s, n_new), bool),
            authorised=np.zeros((n_s, n_new)),
            strength=np.zeros((n_s, n_new)),
        )
    return {"cohort_close": cohort_close, "cohort_slots": cohort_slots}, out


def _units(tb: _Tables, units: _Numbered) -> Part:
    """The unit columns and their starting state in each sample."""
    n_s = tb.n_s

    def stacked(parts: list[NDArray], dtype: type) -> NDArray:
        if not parts:
            return np.zeros((n_s, 0), dtype)
        return np.concatenate([np.asarray(p).reshape(n_s, -1) for p in parts], axis=1).astype(dtype)

    return {
        "unit_ids": tuple(units.ids),
        "unit_group": np.array(units.group, np.int32),
        "unit_force": np.array(units.force, np.int32),
        "unit_type": np.array(units.type, np.int32),
        "unit_key": np.array([stable_key(u) for u in units.ids], np.uint64),
        "unit_policy0": np.array(units.policy, np.int32),
        "unit_pos0": stacked(units.pos, np.int32),
        "unit_t0": stacked(units.t, np.int32),
        "unit_since0": stacked(units.since, np.int32),
        "unit_present0": stacked(units.present, bool),
        "unit_authorised": stacked(units.authorised, np.float64),
        "unit_strength0": stacked(units.strength, np.float64),
    }


def _attrition(tb: _Tables) -> Part:
    """Daily hazards by cause, location and unit type; returns of the wounded."""
    n_s, n_l, n_y = tb.n_s, len(tb.locations), len(tb.unit_types)
    hazard = np.zeros((n_s, len(CAUSE_HAZARDS), n_l, n_y))
    share = np.zeros((n_s, n_l, n_y))
    recovery = np.zeros((n_s, n_l, n_y), np.int32)
    for i, loc in enumerate(tb.scenario.locations):
        # The location's values for every unit type, then each type's overrides: work in
        # the number of values written, not in locations times unit types.
        for c, cause in enumerate(CAUSE_HAZARDS):
            hazard[:, c, i, :] = tb.value(getattr(loc.attrition, cause))[:, None]
        share[:, i, :] = tb.value(loc.attrition.return_share)[:, None]
        recovery[:, i, :] = _days(tb.value(loc.attrition.recovery))[:, None]
        for utype, override in loc.attrition_by_type.items():
            y = tb.type_ix[utype]
            for c, cause in enumerate(CAUSE_HAZARDS):
                if (q := getattr(override, cause)) is not None:
                    hazard[:, c, i, y] = tb.value(q)
            if override.return_share is not None:
                share[:, i, y] = tb.value(override.return_share)
            if override.recovery is not None:
                recovery[:, i, y] = _days(tb.value(override.recovery))
    return {"hazard": hazard, "return_share": share, "recovery": recovery}


def _demands(tb: _Tables) -> Part:
    """Demands in fill order (priority, then order in the file) and how each is filled."""
    scenario, horizon, unit_types = tb.scenario, tb.horizon, tb.unit_types
    type_ix, force_ix = tb.type_ix, tb.force_ix
    n_s, n_f, n_y = tb.n_s, len(tb.forces), len(unit_types)
    order = sorted(range(len(scenario.demands)), key=lambda i: (scenario.demands[i].priority, i))
    demands: list[Demand] = [scenario.demands[i] for i in order]
    n_d = len(demands)
    type_rank = np.full((n_d, n_y), -1, np.int32)
    force_rank = np.full((n_d, n_f), -1, np.int32)
    cap = np.full((n_s, n_d, n_f), np.inf)
    required = np.zeros((n_s, n_d))
    start_day = np.zeros((n_s, n_d), np.int64)
    end_day = np.zeros((n_s, n_d), np.int64)
    pool_f = np.full((n_d, max(n_f * n_y, 1)), -1, np.int32)
    pool_y = np.full((n_d, max(n_f * n_y, 1)), -1, np.int32)
    for d, dem in enumerate(demands):
        rule = dem.fill
        if rule.substitution_costs is not None:
            costs = rule.substitution_costs
            ranked = sorted(costs, key=lambda t: (costs[t], unit_types.index(t)))
            for r, t in enumerate(ranked):
                type_rank[d, type_ix[t]] = r
        elif rule.unit_types is not None:
            for r, t in enumerate(rule.unit_types):
                if type_rank[d, type_ix[t]] < 0:
                    type_rank[d, type_ix[t]] = r
        else:
            type_rank[d, :] = 0
        for r, f in enumerate(rule.forces):
            if force_rank[d, force_ix[f]] < 0:
                force_rank[d, force_ix[f]] = r
        for f, q in rule.caps.items():
            cap[:, d, force_ix[f]] = tb.value(q)
        required[:, d] = tb.value(dem.people if dem.people is not None else dem.units)
        start_day[:, d] = tb.day(dem.start)
        length = _days(tb.value(dem.duration, horizon)) if dem.duration is not None else horizon
        end_day[:, d] = np.minimum(horizon, start_day[:, d] + length)
        pairs = sorted(
            (type_rank[d, y], force_rank[d, f], f, y)
            for f in np.flatnonzero(force_rank[d] >= 0).tolist()
            for y in np.flatnonzero(type_rank[d] >= 0).tolist()
        )
        pool_f[d, : len(pairs)] = [f for _, _, f, _ in pairs]
        pool_y[d, : len(pairs)] = [y for _, _, _, y in pairs]
    return {
        "demands": tuple(d.id for d in demands),
        "demand_location": np.array([tb.loc_ix[d.location] for d in demands], np.int32),
        "demand_units": np.array([d.units is not None for d in demands], bool),
        "demand_priority": np.array([d.priority for d in demands], np.int32),
        "demand_start": start_day.astype(np.int32),
        "demand_end": end_day.astype(np.int32),
        "demand_required": required,
        "demand_type_rank": type_rank,
        "demand_force_rank": force_rank,
        "demand_cap": cap,
        "demand_pool_force": pool_f,
        "demand_pool_type": pool_y,
    }


def _forces(tb: _Tables) -> Part:
    """Each force's replacement rule and its limits of people at locations."""
    scenario = tb.scenario
    limit = np.full((tb.n_s, len(tb.forces), len(tb.locations)), np.inf)
    for f, force in enumerate(scenario.forces):
        for lim in force.limits:
            i = tb.loc_ix[lim.location]
            limit[:, f, i] = np.minimum(limit[:, f, i], tb.value(lim.people))
    return {
        "force_replacement_rule": np.array(
            [0 if f.replacement_rule == "most_depleted" else 1 for f in scenario.forces], np.int32
        ),
        "force_limit": limit,
    }


def _changes(tb: _Tables, unit_group: NDArray[np.int32]) -> Part:
    """Scheduled policy changes in order of their days: which units, which policy, and where
    each position leads in the new policy."""
    changes = sorted(tb.scenario.changes, key=lambda c: int(tb.day(c.at)[0]))
    change_units = np.zeros((len(changes), len(unit_group)), bool)
    change_map = np.zeros((len(changes), len(tb.rows)), np.int32)
    for h, ch in enumerate(changes):
        first = tb.first_pos[ch.policy]
        names = {p.name: first + j for j, p in enumerate(tb.resolved[ch.policy])}
        change_map[h] = [names.get(p.name, first) for _, p in tb.rows]
        change_units[h] = np.isin(unit_group, [tb.groups.index(g) for g in ch.units])
    return {
        "change_day": np.stack([tb.day(c.at) for c in changes], axis=1).astype(np.int32)
        if changes
        else np.zeros((tb.n_s, 0), np.int32),
        "change_units": change_units,
        "change_policy": np.array([tb.policies.index(c.policy) for c in changes], np.int32),
        "change_position_map": change_map,
    }


def _manpower(tb: _Tables) -> Part:
    """Reservoirs and pipelines: sizes, refills, intake rates by day and training times."""
    n_s, scenario, horizon = tb.n_s, tb.scenario, tb.horizon
    value, n_q = tb.value, len(scenario.pipelines)
    res_ix = {r.id: i for i, r in enumerate(scenario.reservoirs)}
    size0 = np.zeros((n_s, len(scenario.reservoirs)))
    refill = np.zeros((n_s, len(scenario.reservoirs)))
    for v, r in enumerate(scenario.reservoirs):
        size0[:, v] = (
            value(r.size)
            if r.size is not None
            else np.floor(value(r.per_100k) * value(r.population) / 100_000)
        )
        refill[:, v] = value(r.refill)
    rate = np.zeros((n_s, horizon, n_q))
    days = np.arange(horizon)[None, :]
    for q, pipe in enumerate(scenario.pipelines):
        begins = [tb.day(step.from_) for step in pipe.intake]
        for j, step in enumerate(pipe.intake):
            end = begins[j + 1] if j + 1 < len(begins) else np.full(n_s, horizon)
            on = (days >= begins[j][:, None]) & (days < end[:, None])
            rate[:, :, q] += on * value(step.rate)[:, None]
        for wave in pipe.waves:
            begin = tb.day(wave.from_)
            over = np.maximum(_days(value(wave.over)), 1)
            on = (days >= begin[:, None]) & (days < (begin + over)[:, None])
            rate[:, :, q] += on * (value(wave.people) / over)[:, None]
    pipes = scenario.pipelines
    return {
        "reservoir_size0": size0,
        "reservoir_refill": refill,
        "pipe_force": np.array([tb.force_ix[p.force] for p in pipes], np.int32),
        "pipe_key": np.array([stable_key("pipeline:" + p.id) for p in pipes], np.uint64),
        "pipe_reservoir": np.array(
            [-1 if p.reservoir is None else res_ix[p.reservoir] for p in pipes], np.int32
        ),
        "pipe_proportional": np.array([p.uptake == "proportional" for p in pipes], bool),
        "pipe_rate": rate,
        "pipe_training": np.stack([_days(value(p.training)) for p in pipes], axis=1).astype(
            np.int32
        )
        if n_q
        else np.zeros((n_s, 0), np.int32),
        "pipe_cohort": np.array([p.into == "cohorts" for p in pipes], bool),
    }


def _stocks(tb: _Tables) -> Part:
    """States and their stocks: people at the start (whole people), each state's transitions
    and wastage (grouped by state, in file order, wastage last) with their probability per
    application, and the links to pipelines and to the forces' units.

    A state with ``step: year`` applies each hazard once a year: its probability over a
    year, ``1 - (1 - h) ** 365`` for the daily hazard ``h`` the scenario's ``10%/y`` reads
    as, which gives back the 10% written.
    """
    scenario, n_s = tb.scenario, tb.n_s
    stocks = scenario.stocks
    state_ix = {st.id: i for i, st in enumerate(stocks)}
    labels: list[str] = []
    first = [0]
    frm: list[int] = []
    to: list[int] = []
    probs: list[NDArray[np.float64]] = []
    for i, st in enumerate(stocks):
        yearly = st.step == "year"
        edges = [(m.to, m.hazard) for m in st.transitions]
        if st.wastage is not None:
            edges.append((None, st.wastage))
        for target, hazard in edges:
            daily = np.clip(tb.value(hazard), 0.0, 1.0)
            probs.append(1.0 - (1.0 - daily) ** YEAR_STEP if yearly else daily)
            frm.append(i)
            to.append(-1 if target is None else state_ix[target])
            labels.append(f"{st.id}>{'out' if target is None else target}")
        first.append(len(frm))
    n_f = len(tb.forces)
    replace = np.full(n_f, -1, np.int32)
    discharge = np.full(n_f, -1, np.int32)
    for i, st in enumerate(stocks):
        f = tb.force_ix[st.force]
        if st.feeds_replacements and replace[f] < 0:
            replace[f] = i
        if st.takes_discharged and discharge[f] < 0:
            discharge[f] = i
    return {
        "states": tuple(st.id for st in stocks),
        "transitions": tuple(labels),
        "stock_force": np.array([tb.force_ix[st.force] for st in stocks], np.int32),
        "stock_size0": (
            np.stack([np.floor(tb.value(st.initial) + 1e-9) for st in stocks], axis=1)
            if stocks
            else np.zeros((n_s, 0))
        ),
        "stock_period": np.array(
            [YEAR_STEP if st.step == "year" else 1 for st in stocks], np.int32
        ),
        "stock_edge_first": np.array(first, np.int32),
        "trans_from": np.array(frm, np.int32),
        "trans_to": np.array(to, np.int32),
        "trans_prob": np.stack(probs, axis=1) if probs else np.zeros((n_s, 0)),
        "trans_key": np.array([stable_key("transition:" + k) for k in labels], np.uint64),
        "pipe_stock": np.array(
            [
                state_ix[p.stock] if p.into == "stock" and p.stock else -1
                for p in scenario.pipelines
            ],
            np.int32,
        ),
        "force_replace_stock": replace,
        "force_discharge_stock": discharge,
    }


# --- Stays, lead times and mobilisation (issue 18) -----------------------------------------


def _per_stay(pos: Position) -> bool:
    """Whether a position draws each stay's length afresh (``per: stay``, a distribution)."""
    return pos.per == "stay" and isinstance(pos.duration, Value) and pos.duration.dist is not None


def _central_stays(tb: _Tables, pos_duration: NDArray[np.int32]) -> None:
    """Give positions with ``per: stay`` their central duration in every sample (in place):
    cycles, phases and policy changes count with it, and deterministic runs hold it."""
    for j, (_, pos) in enumerate(tb.rows):
        if _per_stay(pos):
            pos_duration[:, j] = max(int(np.rint(pos.duration.value)), 1)  # type: ignore[union-attr]


def stay_cdf(dist: Any, width: int) -> NDArray[np.float64]:
    """The probability that a stay drawn from ``dist`` lasts at most ``n + 1`` whole days,
    for n = 0 .. ``width`` - 1 (the last entry 1: longer stays are cut to ``width`` days).

    A stay is the distribution's quantile rounded to the nearest whole day (halves to even,
    as every whole-number sample), and at least 1 day. The table holds the exact breakpoints
    of that rounded quantile function, found by bisection on the uniform number, so the
    engine's draw (the first entry at or above its uniform) is the rounded quantile itself.
    """

    def days(u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.maximum(np.rint(dist.quantiles(u)), 1.0)

    n = np.arange(1, width + 1, dtype=np.float64)
    lo, hi = np.zeros(width), np.ones(width)
    with np.errstate(all="ignore"):
        for _ in range(60):
            mid = (lo + hi) / 2
            at_most = days(mid) <= n
            lo = np.where(at_most, mid, lo)
            hi = np.where(at_most, hi, mid)
    lo[-1] = 1.0
    return np.maximum.accumulate(lo)


def _reach(tb: _Tables, positions: Part, demands: Part, unit_t0: NDArray[np.int32]) -> Part:
    """Per-stay durations, where pulled units are bound for, mobilised positions, prorated
    dwell and demands' lead times."""
    rows, n_pos = tb.rows, len(tb.rows)
    by_id = {p.id: p for p in tb.scenario.policies}
    location = positions["pos_location"]
    nxt = positions["pos_next"]
    deployed = positions["pos_deployed"]
    mobilised = np.array([p.mobilised for _, p in rows], bool)
    waits = np.array([p.duration is None for _, p in rows], bool)
    # Stays: one table row per per-stay position, long enough that no stay is cut in a run.
    width = tb.horizon + int(unit_t0.max(initial=0)) + 2
    stay_rows = [j for j, (_, p) in enumerate(rows) if _per_stay(p)]
    pos_stay_row = np.full(n_pos, -1, np.int32)
    table = np.ones((len(stay_rows), width))
    for z, j in enumerate(stay_rows):
        pos_stay_row[j] = z
        table[z] = stay_cdf(rows[j][1].duration.dist, width)  # type: ignore[union-attr]
    # Where a unit entering a position is bound for.
    bound = location.copy()
    for j in range(n_pos):
        target, steps = j, 0
        while mobilised[target] and not deployed[target] and not waits[target] and steps < n_pos:
            target, steps = nxt[target], steps + 1
        bound[j] = location[target]
    # Demands, in fill order (as _demands takes them).
    scenario = tb.scenario
    order = sorted(range(len(scenario.demands)), key=lambda i: (scenario.demands[i].priority, i))
    n_d = len(order)
    lead = np.zeros((tb.n_s, n_d), np.int64)
    for d, i in enumerate(order):
        if scenario.demands[i].lead_time is not None:
            lead[:, d] = _days(tb.value(scenario.demands[i].lead_time))
    pull_to = positions["pos_pull_to"]
    away = {int(bound[t]) for t in pull_to[pull_to >= 0].tolist() if bound[t] != location[t]}
    ahead = (lead > 0).any(axis=0) | np.isin(demands["demand_location"], list(away))
    prorated = deployed & np.array(
        [by_id[tb.policies[k]].release == "prorated" for k, _ in rows], bool
    )
    return {
        "pos_stay_row": pos_stay_row,
        "stay_cdf": table,
        "pos_bound": bound.astype(np.int32),
        "pos_mobilised": mobilised | deployed,
        "pos_prorated": prorated,
        "demand_pull_from": (demands["demand_start"] - lead).astype(np.int32),
        "demand_ahead": ahead,
    }
