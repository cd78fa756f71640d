"""The one bridge from scenario objects to numbers: :func:`compile_plan` builds a :class:`Plan`.

A plan is flat index tables and arrays the engine reads; it knows nothing of YAML or claims.
Values that may differ between runs carry a leading ``run`` axis (today they are the same in
every run, broadcast without copying).

Conventions fixed here, documented once:

* **Positions** of all policies are numbered in one table, policy by policy in file order.
* **Units** are numbered group by group in file order, members in order. Each unit also gets
  a stable 64-bit key from its group id and member number, so that its random draws do not
  change when other groups are added or removed (common random numbers).
* **Stagger**: a group of N units with ``phase: even`` starts unit i ``floor(i * S / N)`` days
  into its cycle, where S is the length of the cycle's fixed-duration part, followed from the
  start position until it loops back or reaches a position that waits (ready) or ends
  (terminal).
* **Demand order**: by priority, then by order in the file. Within a demand, unit types in
  preference order (or by substitution cost, ties by order in the file), then forces in the
  order the demand lists them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from forcegen.scenario.model import Demand, Position, Scenario
from forcegen.scenario.quantities import Quantity, resolve
from forcegen.scenario.references import resolve_policies

CAUSE_HAZARDS = ("killed", "wounded", "missing", "deserted")
"""Causes of loss that are daily hazards, in the order they are drawn."""

OPEN = -1
"""Duration of a position that holds units until something moves them (ready, terminal)."""

RESTED = 100_000
"""Days since last deployment credited to every unit at the start: all count as rested."""


@dataclass(frozen=True)
class Change:
    """A scheduled policy switch, compiled."""

    day: int
    units: NDArray[np.bool_]
    """(U,) which units switch."""
    policy: int
    position_map: NDArray[np.int32]
    """(P,) position of the same name in the new policy (its first position if none): where
    a unit goes when its position lies outside the fixed-length cycle of either policy."""


@dataclass(frozen=True)
class Plan:
    """Everything the engine needs, as arrays. Index tables name every axis."""

    horizon: int
    runs: int
    start: np.datetime64
    forces: tuple[str, ...]
    locations: tuple[str, ...]
    unit_types: tuple[str, ...]
    policies: tuple[str, ...]
    position_labels: tuple[str, ...]
    """``policy/position`` for each position index."""
    demands: tuple[str, ...]
    unit_ids: tuple[str, ...]
    """``group#member`` for each unit index."""

    # positions (P,)
    pos_policy: NDArray[np.int32]
    pos_location: NDArray[np.int32]
    pos_duration: NDArray[np.int32]
    pos_next: NDArray[np.int32]
    pos_deployed: NDArray[np.bool_]
    pos_ready: NDArray[np.bool_]
    pos_overlap: NDArray[np.bool_]
    pos_terminal: NDArray[np.bool_]
    pos_pull_to: NDArray[np.int32]
    pos_release: NDArray[np.int32]
    """For a deployed position: where a unit goes when its demand ends early."""
    policy_min_dwell: NDArray[np.int32]

    # units (U,) and (R, U)
    unit_group: NDArray[np.int32]
    unit_force: NDArray[np.int32]
    unit_type: NDArray[np.int32]
    unit_key: NDArray[np.uint64]
    unit_policy0: NDArray[np.int32]
    unit_pos0: NDArray[np.int32]
    unit_t0: NDArray[np.int32]
    unit_since0: NDArray[np.int32]
    unit_authorised: NDArray[np.float64]
    unit_strength0: NDArray[np.float64]
    groups: tuple[str, ...]

    # attrition: (R, C, L, Y) daily hazard by cause, location and unit type; (R, L, Y) share
    # of wounded who return; (L, Y) recovery days
    hazard: NDArray[np.float64]
    return_share: NDArray[np.float64]
    recovery: NDArray[np.int32]

    # units not present at the start (cohort slots), (U,)
    unit_present0: NDArray[np.bool_]
    force_replacement_rule: NDArray[np.int32]
    """(F,) 0: most depleted first, 1: deployed first."""
    policy_reconstitute_below: NDArray[np.float64]
    """(K,) share of authorised strength under which a unit is withdrawn; -1: never."""
    policy_reconstitute_pos: NDArray[np.int32]

    # manpower: reservoirs (V) and pipelines (Q)
    reservoirs: tuple[str, ...]
    reservoir_size0: NDArray[np.float64]
    """(R, V) people at the start (inf: unlimited)."""
    reservoir_refill: NDArray[np.float64]
    """(R, V) people added per day."""
    pipelines: tuple[str, ...]
    pipe_force: NDArray[np.int32]
    pipe_key: NDArray[np.uint64]
    """(Q,) stable random key of each pipeline, from its id."""
    pipe_reservoir: NDArray[np.int32]
    """(Q,) reservoir index, -1 for an unlimited supply."""
    pipe_proportional: NDArray[np.bool_]
    pipe_rate: NDArray[np.float64]
    """(R, T, Q) intake rate, people per day, before any shrinking by the reservoir."""
    pipe_training: NDArray[np.int32]
    pipe_cohort: NDArray[np.bool_]
    cohort_close: NDArray[np.bool_]
    """(T, Q) days on which a pipeline's batch closes and forms units."""
    cohort_slots: tuple[NDArray[np.int32], ...]
    """Per pipeline: (batches, units per batch) unit indices of the units its batches form."""

    # demands: (D,) in fill order, and (R, D), (R, D, F), (D, Y)
    demand_location: NDArray[np.int32]
    demand_units: NDArray[np.bool_]
    """True where the demand counts units rather than people."""
    demand_start: NDArray[np.int32]
    demand_end: NDArray[np.int32]
    demand_priority: NDArray[np.int32]
    demand_required: NDArray[np.float64]
    demand_type_rank: NDArray[np.int32]
    """(D, Y) preference rank of each unit type, -1 where the type may not fill."""
    demand_force_rank: NDArray[np.int32]
    """(D, F) order in which forces fill, -1 where the force may not fill."""
    demand_cap: NDArray[np.float64]
    """(R, D, F) most people (units) of a force that count toward the demand; inf: no cap."""

    force_limit: NDArray[np.float64]
    """(R, F, L) most people of a force that pulls may bring to a location; inf: none."""

    pos_cycle_start: NDArray[np.int32]
    """(P,) day of its policy's cycle on which a position starts; -1 if outside the cycle."""
    policy_cycle_pos: NDArray[np.int32]
    """(K, M) positions of each policy's fixed-length cycle in order, -1 padded."""
    policy_cycle_starts: NDArray[np.int32]
    """(K, M + 1) day each of those positions starts; entry len(cycle) is the cycle length."""
    policy_cycle_len: NDArray[np.int64]
    """(K,) length of each policy's fixed-length cycle in days (0 if it has none)."""

    changes: tuple[Change, ...] = field(default=())

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)


def _stable_key(text: str) -> np.uint64:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _cycle_from(positions: tuple[Position, ...], start: int, value) -> list[tuple[int, int]]:
    """(position, duration) along ``next`` from ``start`` while durations are fixed."""
    names = {p.name: i for i, p in enumerate(positions)}
    out: list[tuple[int, int]] = []
    seen: set[int] = set()
    j = start
    while j not in seen:
        pos = positions[j]
        if pos.duration is None or pos.terminal:
            break
        seen.add(j)
        out.append((j, int(value(pos.duration))))
        j = names[pos.next]  # type: ignore[index]
    return out


def _place(cycle: list[tuple[int, int]], start: int, offset: int) -> tuple[int, int, int]:
    """Position, days in it, and days since the last deployed position, ``offset`` days in."""
    if not cycle:
        return start, 0, 0
    total = sum(d for _, d in cycle)
    offset %= max(total, 1)
    for j, d in cycle:
        if offset < d:
            return j, offset, offset
        offset -= d
    return cycle[-1][0], cycle[-1][1] - 1, total  # pragma: no cover - offset < total


def compile_plan(
    scenario: Scenario, *, runs: int = 1, choices: Mapping[str, str] | None = None
) -> Plan:
    """Turn a validated scenario into a plan for ``runs`` runs under a choice of alternatives."""

    def value(q: Quantity | None, default: float = 0.0) -> float:
        return default if q is None else resolve(q, choices).value

    def per_run(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(a, (runs, *a.shape))

    forces = tuple(f.id for f in scenario.forces)
    locations = tuple(loc.id for loc in scenario.locations)
    unit_types = tuple(t.id for t in scenario.unit_types)
    force_ix = {f: i for i, f in enumerate(forces)}
    loc_ix = {loc: i for i, loc in enumerate(locations)}
    type_ix = {t: i for i, t in enumerate(unit_types)}

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
    n_pos = len(rows)
    # Each policy's fixed-length cycle from its first position: where each position starts.
    pos_cycle_start = np.full(n_pos, -1, np.int32)
    cycles = [_cycle_from(resolved[pid], 0, value) for pid in policies]
    width = max((len(c) for c in cycles), default=0)
    policy_cycle_pos = np.full((len(policies), max(width, 1)), -1, np.int32)
    policy_cycle_starts = np.full(
        (len(policies), max(width, 1) + 1), np.iinfo(np.int32).max, np.int32
    )
    for k, (pid, cycle) in enumerate(zip(policies, cycles, strict=True)):
        start = 0
        for i, (j, d) in enumerate(cycle):
            pos_cycle_start[first_pos[pid] + j] = start
            policy_cycle_pos[k, i] = first_pos[pid] + j
            policy_cycle_starts[k, i] = start
            start += d
        policy_cycle_starts[k, len(cycle)] = start
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

    # Units, group by group.
    groups = tuple(u.id for u in scenario.units)
    unit_rows: list[dict[str, object]] = []
    for g, group in enumerate(scenario.units):
        count = int(value(group.count))
        positions = resolved[group.policy]
        start = 0 if group.start is None else [p.name for p in positions].index(group.start)
        cycle = _cycle_from(positions, start, value)
        span = sum(d for _, d in cycle)
        strength = value(group.strength)
        present = value(group.current, 1.0)
        for i in range(count):
            offset = (i * span) // count if group.phase == "even" else int(value(group.phase))
            j, t, since = _place(cycle, start, offset)
            unit_rows.append(
                {
                    "id": f"{group.id}#{i}",
                    "group": g,
                    "force": force_ix[group.force],
                    "type": type_ix[group.type],
                    "policy": policies.index(group.policy),
                    "pos": first_pos[group.policy] + j,
                    "t": t,
                    "since": RESTED + since,
                    "auth": strength,
                    "strength": np.floor(strength * present + 1e-9),
                    "present": True,
                }
            )

    def col(key: str, dtype: type) -> NDArray:
        return np.array([r[key] for r in unit_rows], dtype=dtype)

    horizon = int(value(scenario.horizon))

    # Cohort slots: the units each pipeline's batches will form, inactive until then.
    cohort_close = np.zeros((horizon, len(scenario.pipelines)), bool)
    slots: list[NDArray[np.int32]] = []
    for k, pipe in enumerate(scenario.pipelines):
        if pipe.into != "cohorts" or pipe.cohort is None:
            slots.append(np.zeros((0, 0), np.int32))
            continue
        every = int(value(pipe.cohort.every))
        close = np.arange(every - 1, horizon, every)
        cohort_close[close, k] = True
        first = len(unit_rows)
        n_per = pipe.cohort.units
        policy = pipe.cohort.policy
        for b in range(len(close)):
            for j in range(n_per):
                unit_rows.append(
                    {
                        "id": f"{pipe.id}#{b}.{j}",
                        "group": len(groups) + k,
                        "force": force_ix[pipe.force],
                        "type": type_ix[pipe.cohort.type],
                        "policy": policies.index(policy),
                        "pos": first_pos[policy],
                        "t": -1,
                        "since": RESTED,
                        "auth": 0.0,
                        "strength": 0.0,
                        "present": False,
                    }
                )
        slots.append(np.arange(first, len(unit_rows), dtype=np.int32).reshape(len(close), n_per))
    groups = groups + tuple(p.id for p in scenario.pipelines)

    # Attrition hazards by cause, location and unit type.
    n_l, n_y = len(locations), len(unit_types)
    hazard = np.zeros((len(CAUSE_HAZARDS), n_l, n_y))
    share = np.zeros((n_l, n_y))
    recovery = np.zeros((n_l, n_y), np.int32)
    for i, loc in enumerate(scenario.locations):
        for y, utype in enumerate(unit_types):
            override = loc.attrition_by_type.get(utype)

            def get(name: str, loc=loc, override=override) -> float:
                q = getattr(override, name) if override is not None else None
                return value(q if q is not None else getattr(loc.attrition, name))

            hazard[:, i, y] = [get(c) for c in CAUSE_HAZARDS]
            share[i, y] = get("return_share")
            recovery[i, y] = int(get("recovery"))

    # Reservoirs and pipelines.
    res_ix = {r.id: i for i, r in enumerate(scenario.reservoirs)}
    size0 = np.array(
        [
            value(r.size)
            if r.size is not None
            else np.floor(value(r.per_100k) * value(r.population) / 100_000)
            for r in scenario.reservoirs
        ]
    )
    refill = np.array([value(r.refill) for r in scenario.reservoirs])
    rate = np.zeros((horizon, len(scenario.pipelines)))
    for k, pipe in enumerate(scenario.pipelines):
        for j, step in enumerate(pipe.intake):
            begin = scenario.day_of(step.from_)
            end = scenario.day_of(pipe.intake[j + 1].from_) if j + 1 < len(pipe.intake) else horizon
            rate[begin:end, k] += value(step.rate)
        for wave in pipe.waves:
            begin = scenario.day_of(wave.from_)
            over = int(value(wave.over))
            rate[begin : begin + over, k] += value(wave.people) / over

    # Demands in fill order: priority, then order in the file.
    order = sorted(range(len(scenario.demands)), key=lambda i: (scenario.demands[i].priority, i))
    demands: list[Demand] = [scenario.demands[i] for i in order]
    n_d, n_f = len(demands), len(forces)
    type_rank = np.full((n_d, n_y), -1, np.int32)
    force_rank = np.full((n_d, n_f), -1, np.int32)
    cap = np.full((n_d, n_f), np.inf)
    required = np.zeros(n_d)
    start_day = np.zeros(n_d, np.int32)
    end_day = np.zeros(n_d, np.int32)
    for d, dem in enumerate(demands):
        rule = dem.fill
        if rule.substitution_costs is not None:
            ranked = sorted(
                rule.substitution_costs,
                key=lambda t: (rule.substitution_costs[t], unit_types.index(t)),
            )
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
            cap[d, force_ix[f]] = value(q)
        required[d] = value(dem.people if dem.people is not None else dem.units)
        start_day[d] = scenario.day_of(dem.start)
        end_day[d] = min(horizon, start_day[d] + int(value(dem.duration, horizon)))

    limit = np.full((n_f, len(locations)), np.inf)
    for f, force in enumerate(scenario.forces):
        for lim in force.limits:
            limit[f, loc_ix[lim.location]] = min(limit[f, loc_ix[lim.location]], value(lim.people))

    unit_group = col("group", np.int32)
    changes = []
    for ch in sorted(scenario.changes, key=lambda c: scenario.day_of(c.at)):
        k = policies.index(ch.policy)
        names = {p.name: first_pos[ch.policy] + j for j, p in enumerate(resolved[ch.policy])}
        mapping = np.array([names.get(p.name, first_pos[ch.policy]) for _, p in rows], np.int32)
        members = np.isin(unit_group, [groups.index(g) for g in ch.units])
        changes.append(Change(scenario.day_of(ch.at), members, k, mapping))

    return Plan(
        horizon=horizon,
        runs=runs,
        start=np.datetime64(scenario.start, "D"),
        forces=forces,
        locations=locations,
        unit_types=unit_types,
        policies=policies,
        position_labels=tuple(f"{policies[k]}/{p.name}" for k, p in rows),
        demands=tuple(d.id for d in demands),
        unit_ids=tuple(str(r["id"]) for r in unit_rows),
        pos_policy=np.array([k for k, _ in rows], np.int32),
        pos_location=np.array([loc_ix[p.location] for _, p in rows], np.int32),
        pos_duration=np.array(
            [OPEN if p.duration is None else int(value(p.duration)) for _, p in rows], np.int32
        ),
        pos_next=pos_next,
        pos_deployed=pos_deployed,
        pos_ready=np.array([p.ready for _, p in rows], bool),
        pos_overlap=np.array([p.overlap for _, p in rows], bool),
        pos_terminal=np.array([p.terminal for _, p in rows], bool),
        pos_pull_to=pos_pull_to,
        pos_release=pos_release,
        policy_min_dwell=np.array([int(value(p.min_dwell)) for p in scenario.policies], np.int32),
        unit_group=unit_group,
        unit_force=col("force", np.int32),
        unit_type=col("type", np.int32),
        unit_key=np.array([_stable_key(str(r["id"])) for r in unit_rows], np.uint64),
        unit_policy0=col("policy", np.int32),
        unit_pos0=col("pos", np.int32),
        unit_t0=col("t", np.int32),
        unit_since0=col("since", np.int32),
        unit_authorised=per_run(col("auth", np.float64)),
        unit_strength0=per_run(col("strength", np.float64)),
        groups=groups,
        hazard=per_run(hazard),
        return_share=per_run(share),
        recovery=recovery,
        unit_present0=col("present", bool),
        force_replacement_rule=np.array(
            [0 if f.replacement_rule == "most_depleted" else 1 for f in scenario.forces], np.int32
        ),
        policy_reconstitute_below=np.array(
            [
                -1.0 if p.reconstitute is None else value(p.reconstitute.below)
                for p in scenario.policies
            ]
        ),
        policy_reconstitute_pos=np.array(
            [
                -1 if p.reconstitute is None else pos_index[(p.id, p.reconstitute.position)]
                for p in scenario.policies
            ],
            np.int32,
        ),
        reservoirs=tuple(r.id for r in scenario.reservoirs),
        reservoir_size0=per_run(size0),
        reservoir_refill=per_run(refill),
        pipelines=tuple(p.id for p in scenario.pipelines),
        pipe_force=np.array([force_ix[p.force] for p in scenario.pipelines], np.int32),
        pipe_key=np.array([_stable_key("pipeline:" + p.id) for p in scenario.pipelines], np.uint64),
        pipe_reservoir=np.array(
            [-1 if p.reservoir is None else res_ix[p.reservoir] for p in scenario.pipelines],
            np.int32,
        ),
        pipe_proportional=np.array([p.uptake == "proportional" for p in scenario.pipelines], bool),
        pipe_rate=per_run(rate),
        pipe_training=np.array([int(value(p.training)) for p in scenario.pipelines], np.int32),
        pipe_cohort=np.array([p.into == "cohorts" for p in scenario.pipelines], bool),
        cohort_close=cohort_close,
        cohort_slots=tuple(slots),
        demand_location=np.array([loc_ix[d.location] for d in demands], np.int32),
        demand_units=np.array([d.units is not None for d in demands], bool),
        demand_start=start_day,
        demand_end=end_day,
        demand_priority=np.array([d.priority for d in demands], np.int32),
        demand_required=per_run(required),
        demand_type_rank=type_rank,
        demand_force_rank=force_rank,
        demand_cap=per_run(cap),
        force_limit=per_run(limit),
        pos_cycle_start=pos_cycle_start,
        policy_cycle_pos=policy_cycle_pos,
        policy_cycle_starts=policy_cycle_starts,
        policy_cycle_len=np.array([sum(d for _, d in c) for c in cycles], np.int64),
        changes=tuple(changes),
    )
