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
    """(P,) position a unit moves to in the new policy, from each position of the old."""


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

    # attrition (R, L)
    hazard_killed: NDArray[np.float64]
    hazard_wounded_out: NDArray[np.float64]

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
    j = start
    while True:
        pos = positions[j]
        if pos.duration is None or pos.terminal:
            break
        out.append((j, int(value(pos.duration))))
        j = names[pos.next]  # type: ignore[index]
        if j == start or len(out) > len(positions):
            break
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
        share = value(group.current, 1.0)
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
                    "strength": np.floor(strength * share + 1e-9),
                }
            )

    def col(key: str, dtype: type) -> NDArray:
        return np.array([r[key] for r in unit_rows], dtype=dtype)

    # Attrition hazards per location.
    killed = np.array([value(loc.attrition.killed) for loc in scenario.locations])
    wounded = np.array([value(loc.attrition.wounded_out) for loc in scenario.locations])

    # Demands in fill order: priority, then order in the file.
    order = sorted(range(len(scenario.demands)), key=lambda i: (scenario.demands[i].priority, i))
    demands: list[Demand] = [scenario.demands[i] for i in order]
    horizon = int(value(scenario.horizon))
    n_d, n_f, n_y = len(demands), len(forces), len(unit_types)
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
        hazard_killed=per_run(killed),
        hazard_wounded_out=per_run(wounded),
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
        changes=tuple(changes),
    )
