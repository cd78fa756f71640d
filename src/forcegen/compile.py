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

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.plan import CAUSE_HAZARDS, OPEN, RESTED, Plan
from forcegen.engine.streams import stable_key
from forcegen.sampling import Sample
from forcegen.scenario.model import Demand, Position, Scenario
from forcegen.scenario.quantities import Choice, Quantity, Value
from forcegen.scenario.references import resolve_policies


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


def compile_plan(scenario: Scenario, sample: Sample) -> Plan:
    """Turn a validated scenario and the values its runs take into a plan."""
    n_s = sample.size

    def value(q: Quantity | None, default: float = 0.0) -> NDArray[np.float64]:
        return sample.of(q, default)

    def day(when) -> NDArray[np.int64]:
        if isinstance(when, Value | Choice):
            return _days(value(when))
        return np.full(n_s, scenario.day_of(when), np.int64)

    forces = tuple(f.id for f in scenario.forces)
    locations = tuple(loc.id for loc in scenario.locations)
    unit_types = tuple(t.id for t in scenario.unit_types)
    force_ix = {f: i for i, f in enumerate(forces)}
    loc_ix = {loc: i for i, loc in enumerate(locations)}
    type_ix = {t: i for i, t in enumerate(unit_types)}
    horizon = int(_days(value(scenario.horizon))[0])
    n_f, n_l, n_y = len(forces), len(locations), len(unit_types)

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
    pos_duration = (
        np.stack(
            [
                np.full(n_s, OPEN)
                if p.duration is None
                else np.maximum(_days(value(p.duration)), 1)
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

    # Each policy's fixed-length cycle from its first position: where each position starts.
    cycles = [[first_pos[pid] + j for j in _cycle_from(resolved[pid], 0)] for pid in policies]
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

    # Units, group by group, then the cohort slots.
    unit_ids: list[str] = []
    cols: dict[str, list] = {k: [] for k in ("group", "force", "type", "policy")}
    per_sample: dict[str, list[NDArray]] = {
        k: [] for k in ("pos", "t", "since", "present", "auth", "strength")
    }
    for g, group in enumerate(scenario.units):
        count = _days(value(group.count))
        positions = resolved[group.policy]
        start = 0 if group.start is None else [p.name for p in positions].index(group.start)
        cycle = [first_pos[group.policy] + j for j in _cycle_from(positions, start)]
        durs = pos_duration[:, cycle].astype(np.int64)
        starts = np.concatenate([np.zeros((n_s, 1), np.int64), np.cumsum(durs, axis=1)], axis=1)
        span = starts[:, -1]
        members = np.arange(int(count.max(initial=0)))
        if group.phase == "even":
            offset = (members[None, :] * span[:, None]) // np.maximum(count, 1)[:, None]
        else:
            offset = np.broadcast_to(_days(value(group.phase))[:, None], (n_s, len(members)))
        offset = offset % np.maximum(span, 1)[:, None]
        if cycle:
            idx = (starts[:, None, 1:] <= offset[:, :, None]).sum(axis=2)
            pos = np.array(cycle)[idx]
            t = offset - np.take_along_axis(starts, idx, axis=1)
        else:
            pos = np.full(offset.shape, first_pos[group.policy] + start)
            t = np.zeros(offset.shape, np.int64)
        strength = value(group.strength)
        share = value(group.current, 1.0)
        for i in members:
            unit_ids.append(f"{group.id}#{i}")
            cols["group"].append(g)
            cols["force"].append(force_ix[group.force])
            cols["type"].append(type_ix[group.type])
            cols["policy"].append(policies.index(group.policy))
        per_sample["pos"].append(pos)
        per_sample["t"].append(t)
        per_sample["since"].append(RESTED + offset)
        per_sample["present"].append(members[None, :] < count[:, None])
        per_sample["auth"].append(np.repeat(strength[:, None], len(members), axis=1))
        per_sample["strength"].append(
            np.repeat(np.floor(strength * share + 1e-9)[:, None], len(members), axis=1)
        )

    n_groups = len(scenario.units)
    n_q = len(scenario.pipelines)
    cohort_close = np.zeros((n_s, horizon, n_q), bool)
    batches = []
    for q, pipe in enumerate(scenario.pipelines):
        if pipe.into != "cohorts" or pipe.cohort is None:
            batches.append((0, 0))
            continue
        every = np.maximum(_days(value(pipe.cohort.every)), 1)
        days = np.arange(horizon)
        cohort_close[:, :, q] = (days[None, :] + 1) % every[:, None] == 0
        n_batches = int(cohort_close[:, :, q].sum(axis=1).max(initial=0))
        batches.append((n_batches, pipe.cohort.units))
    max_b = max([b for b, _ in batches] + [0])
    max_n = max([n for _, n in batches] + [0])
    cohort_slots = np.full((n_q, max_b, max_n), -1, np.int32)
    for q, (pipe, (n_batches, n_per)) in enumerate(zip(scenario.pipelines, batches, strict=True)):
        if not n_batches:
            continue
        policy = pipe.cohort.policy  # type: ignore[union-attr]
        first = len(unit_ids)
        for b in range(n_batches):
            for j in range(n_per):
                unit_ids.append(f"{pipe.id}#{b}.{j}")
                cols["group"].append(n_groups + q)
                cols["force"].append(force_ix[pipe.force])
                cols["type"].append(type_ix[pipe.cohort.type])  # type: ignore[union-attr]
                cols["policy"].append(policies.index(policy))
        n_new = n_batches * n_per
        cohort_slots[q, :n_batches, :n_per] = np.arange(first, first + n_new).reshape(
            n_batches, n_per
        )
        per_sample["pos"].append(np.full((n_s, n_new), first_pos[policy]))
        per_sample["t"].append(np.full((n_s, n_new), -1))
        per_sample["since"].append(np.full((n_s, n_new), RESTED))
        per_sample["present"].append(np.zeros((n_s, n_new), bool))
        per_sample["auth"].append(np.zeros((n_s, n_new)))
        per_sample["strength"].append(np.zeros((n_s, n_new)))

    def stacked(key: str, dtype: type) -> NDArray:
        parts = per_sample[key]
        if not parts:
            return np.zeros((n_s, 0), dtype)
        return np.concatenate([np.asarray(p).reshape(n_s, -1) for p in parts], axis=1).astype(dtype)

    # Attrition by cause, location and unit type.
    hazard = np.zeros((n_s, len(CAUSE_HAZARDS), n_l, n_y))
    share = np.zeros((n_s, n_l, n_y))
    recovery = np.zeros((n_s, n_l, n_y), np.int32)
    for i, loc in enumerate(scenario.locations):
        for y, utype in enumerate(unit_types):
            override = loc.attrition_by_type.get(utype)

            def get(name: str, loc=loc, override=override) -> NDArray[np.float64]:
                q = getattr(override, name) if override is not None else None
                return value(q if q is not None else getattr(loc.attrition, name))

            for c, cause in enumerate(CAUSE_HAZARDS):
                hazard[:, c, i, y] = get(cause)
            share[:, i, y] = get("return_share")
            recovery[:, i, y] = _days(get("recovery"))

    # Demands in fill order: priority, then order in the file.
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
            cap[:, d, force_ix[f]] = value(q)
        required[:, d] = value(dem.people if dem.people is not None else dem.units)
        start_day[:, d] = day(dem.start)
        length = _days(value(dem.duration, horizon)) if dem.duration is not None else horizon
        end_day[:, d] = np.minimum(horizon, start_day[:, d] + length)
        pairs = sorted(
            (type_rank[d, y], force_rank[d, f], f, y)
            for f in range(n_f)
            for y in range(n_y)
            if type_rank[d, y] >= 0 and force_rank[d, f] >= 0
        )
        pool_f[d, : len(pairs)] = [f for _, _, f, _ in pairs]
        pool_y[d, : len(pairs)] = [y for _, _, _, y in pairs]

    limit = np.full((n_s, n_f, n_l), np.inf)
    for f, force in enumerate(scenario.forces):
        for lim in force.limits:
            i = loc_ix[lim.location]
            limit[:, f, i] = np.minimum(limit[:, f, i], value(lim.people))

    groups = tuple(u.id for u in scenario.units) + tuple(p.id for p in scenario.pipelines)
    unit_group = np.array(cols["group"], np.int32)
    changes = sorted(scenario.changes, key=lambda c: int(day(c.at)[0]))
    change_units = np.zeros((len(changes), len(unit_ids)), bool)
    change_map = np.zeros((len(changes), n_pos), np.int32)
    for h, ch in enumerate(changes):
        names = {p.name: first_pos[ch.policy] + j for j, p in enumerate(resolved[ch.policy])}
        change_map[h] = [names.get(p.name, first_pos[ch.policy]) for _, p in rows]
        change_units[h] = np.isin(unit_group, [groups.index(g) for g in ch.units])

    # Reservoirs and pipelines.
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
        begins = [day(step.from_) for step in pipe.intake]
        for j, step in enumerate(pipe.intake):
            end = begins[j + 1] if j + 1 < len(begins) else np.full(n_s, horizon)
            on = (days >= begins[j][:, None]) & (days < end[:, None])
            rate[:, :, q] += on * value(step.rate)[:, None]
        for wave in pipe.waves:
            begin = day(wave.from_)
            over = np.maximum(_days(value(wave.over)), 1)
            on = (days >= begin[:, None]) & (days < (begin + over)[:, None])
            rate[:, :, q] += on * (value(wave.people) / over)[:, None]

    return Plan(
        horizon=horizon,
        start=np.datetime64(scenario.start, "D"),
        forces=forces,
        locations=locations,
        unit_types=unit_types,
        policies=policies,
        position_labels=tuple(f"{policies[k]}/{p.name}" for k, p in rows),
        demands=tuple(d.id for d in demands),
        unit_ids=tuple(unit_ids),
        groups=groups,
        reservoirs=tuple(r.id for r in scenario.reservoirs),
        pipelines=tuple(p.id for p in scenario.pipelines),
        pos_policy=np.array([k for k, _ in rows], np.int32),
        pos_location=np.array([loc_ix[p.location] for _, p in rows], np.int32),
        pos_duration=pos_duration,
        pos_next=pos_next,
        pos_deployed=pos_deployed,
        pos_ready=np.array([p.ready for _, p in rows], bool),
        pos_overlap=np.array([p.overlap for _, p in rows], bool),
        pos_terminal=np.array([p.terminal for _, p in rows], bool),
        pos_pull_to=pos_pull_to,
        pos_release=pos_release,
        pos_cycle_start=pos_cycle_start,
        policy_cycle_pos=policy_cycle_pos,
        policy_cycle_n=np.array([len(c) for c in cycles], np.int32),
        policy_cycle_starts=policy_cycle_starts,
        policy_min_dwell=np.stack(
            [_days(value(p.min_dwell)) for p in scenario.policies], axis=1
        ).astype(np.int32),
        policy_reconstitute_below=np.stack(
            [
                np.full(n_s, -1.0) if p.reconstitute is None else value(p.reconstitute.below)
                for p in scenario.policies
            ],
            axis=1,
        ),
        policy_reconstitute_pos=np.array(
            [
                -1 if p.reconstitute is None else pos_index[(p.id, p.reconstitute.position)]
                for p in scenario.policies
            ],
            np.int32,
        ),
        unit_group=unit_group,
        unit_force=np.array(cols["force"], np.int32),
        unit_type=np.array(cols["type"], np.int32),
        unit_key=np.array([stable_key(u) for u in unit_ids], np.uint64),
        unit_policy0=np.array(cols["policy"], np.int32),
        unit_pos0=stacked("pos", np.int32),
        unit_t0=stacked("t", np.int32),
        unit_since0=stacked("since", np.int32),
        unit_present0=stacked("present", bool),
        unit_authorised=stacked("auth", np.float64),
        unit_strength0=stacked("strength", np.float64),
        force_replacement_rule=np.array(
            [0 if f.replacement_rule == "most_depleted" else 1 for f in scenario.forces], np.int32
        ),
        hazard=hazard,
        return_share=share,
        recovery=recovery,
        demand_location=np.array([loc_ix[d.location] for d in demands], np.int32),
        demand_units=np.array([d.units is not None for d in demands], bool),
        demand_priority=np.array([d.priority for d in demands], np.int32),
        demand_start=start_day.astype(np.int32),
        demand_end=end_day.astype(np.int32),
        demand_required=required,
        demand_type_rank=type_rank,
        demand_force_rank=force_rank,
        demand_cap=cap,
        demand_pool_force=pool_f,
        demand_pool_type=pool_y,
        force_limit=limit,
        change_day=np.stack([day(c.at) for c in changes], axis=1).astype(np.int32)
        if changes
        else np.zeros((n_s, 0), np.int32),
        change_units=change_units,
        change_policy=np.array([policies.index(c.policy) for c in changes], np.int32),
        change_position_map=change_map,
        reservoir_size0=size0,
        reservoir_refill=refill,
        pipe_force=np.array([force_ix[p.force] for p in scenario.pipelines], np.int32),
        pipe_key=np.array([stable_key("pipeline:" + p.id) for p in scenario.pipelines], np.uint64),
        pipe_reservoir=np.array(
            [-1 if p.reservoir is None else res_ix[p.reservoir] for p in scenario.pipelines],
            np.int32,
        ),
        pipe_proportional=np.array([p.uptake == "proportional" for p in scenario.pipelines], bool),
        pipe_rate=rate,
        pipe_training=np.stack(
            [_days(value(p.training)) for p in scenario.pipelines], axis=1
        ).astype(np.int32)
        if n_q
        else np.zeros((n_s, 0), np.int32),
        pipe_cohort=np.array([p.into == "cohorts" for p in scenario.pipelines], bool),
        cohort_close=cohort_close,
        cohort_slots=cohort_slots,
    )
