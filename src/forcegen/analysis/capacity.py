"""Static capacity: how many units of each type a set of policies can keep deployed, per
period, against the peak demand, before any simulation.

MARATHON's post-processor computes this table from its policy records; here it comes from
the scenario itself, with the policies resolved (templates expanded, overrides applied):

* a policy's **deployed share** is the share of its steady cycle spent in positions that
  are deployed and not overlap (units in overlap have handed over to their relief and fill
  nothing). The cycle is found by following ``next`` from the group's first position (its
  ``start`` if it names one) through positions of fixed duration until a position repeats:
  the share is the deployed days over the days of that loop. A **ready** position with a
  ``pull_to`` counts as if each unit were pulled as soon as its policy's ``min_dwell``
  allows (at once without one): the wait there lasts ``min_dwell`` less the days since the
  unit last left a deployed position, or nothing, and the unit then moves to the pull
  target. So a policy that waits for demands counts at the most it could keep deployed,
  as MARATHON counts its MaxUtilization policies. A chain that ends in a position of open
  duration that is not ready holds its units there for good (share 1 if that position is
  deployed and not overlap, else 0); one that ends in a terminal position discharges
  them (share 0);
* a unit type's **capacity** in a period is the sum over the unit groups of that type of
  count times the deployed share of the policy in force, averaged over the days of the
  period: a scheduled change on day ``c`` counts from day ``c`` on (the transition after a
  change, which the engine simulates, is not counted). Units that pipelines form are not
  counted: the table is of the units the scenario declares;
* the **peak demand** of a type in a period is the most units required on any one day of
  the period by the demands attributed to the type: a demand is attributed to its first
  preference (the first of ``unit_types``, the cheapest of ``substitution_costs``), or to
  the only unit type when the scenario has one. A demand in people needs
  ``ceil(people / strength)`` units, ``strength`` being the authorised strength of the
  type's units (the mean over its groups, weighted by count). The rows of every type
  together (``unit_type: "*"``) come where the scenario has several unit types; demands
  open to any of them (no preference) are counted only there, and listed as unattributed;
* the **fill ratio** is the capacity over the peak demand (``null`` where nothing is
  required).

Capacity is a real number (6 decimals in JSON); the whole units shown beside it round
half to even (2.5 shows as 2, 3.5 as 4), so that rounding many rows adds no bias. Numbers
take their central value (the one deterministic runs use) under the choices given.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forcegen.errors import UsageError
from forcegen.scenario.claims import check_choices
from forcegen.scenario.model import Demand, Position, Scenario
from forcegen.scenario.quantities import Choice, Quantity, Value, resolve
from forcegen.scenario.references import resolve_policies

ALL_TYPES = "*"
"""The ``unit_type`` of the rows of every unit type together."""

PERIODS = ("month", "quarter", "year")
"""Calendar periods ``--period`` takes besides a number of days (``30d``)."""


@dataclass(frozen=True)
class Share:
    """A policy's steady cycle: deployed days over cycle days, and how it was found."""

    deployed_days: float
    cycle_days: float
    kind: str
    """``cycle`` (a loop of fixed durations), ``ready`` (a loop through a ready position,
    pulled as soon as it may be), ``held`` (ends in a position of open duration) or ``ends``
    (ends in a terminal position)."""
    share: float


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``stop - 1`` of the simulation, with their calendar dates."""

    label: str
    first: int
    stop: int
    start: dt.date
    end: dt.date


@dataclass
class Capacity:
    """The static capacity table of a scenario (see the module's docstring)."""

    scenario: str
    period: str
    periods: list[Period]
    rows: list[dict[str, Any]]
    policies: list[dict[str, Any]]
    unattributed: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The table as plain data: what ``--format json`` prints and ``capacity.json`` holds
        (:class:`~forcegen.results_folder.CapacityFile`)."""
        # The layouts import the results (xarray); the table itself needs neither.
        from forcegen.results_folder.layouts import (
            CapacityFile,
            CapacityPeriod,
            CapacityPolicy,
            CapacityRow,
        )

        return CapacityFile(
            scenario=self.scenario,
            period=self.period,
            choices=self.choices,
            periods=[
                CapacityPeriod(
                    id=p.label, first_day=p.first, days=p.stop - p.first, start=p.start, end=p.end
                )
                for p in self.periods
            ],
            rows=[CapacityRow.model_validate(r) for r in self.rows],
            policies=[CapacityPolicy.model_validate(p) for p in self.policies],
            unattributed=self.unattributed,
        ).plain()


def whole_units(capacity: float) -> int:
    """Capacity in whole units, rounded half to even (``2.5`` → 2, ``3.5`` → 4); a figure
    within 1e-9 of a half counts as the half (a sum of shares may miss it by a rounding)."""
    nearest_half = round(capacity * 2) / 2
    if abs(capacity - nearest_half) < 1e-9:
        capacity = nearest_half
    return int(round(capacity))


# --- deployed share of a policy ------------------------------------------------------------


def _days(q: Quantity | None, choices: Mapping[str, str]) -> int | None:
    """A duration in whole days as the plan takes it (at least 1); None when open."""
    if q is None:
        return None
    return max(int(np.rint(resolve(q, choices).value)), 1)


def deployed_share(
    positions: tuple[Position, ...],
    min_dwell: int = 0,
    start: int = 0,
    choices: Mapping[str, str] | None = None,
) -> Share:
    """The steady deployed share of a policy's positions, followed from ``start``.

    A position without ``next`` leads to the following one (the first after the last), as
    in a resolved policy. The walk's state is the position and the days since the unit last
    left a deployed position, counted up to ``min_dwell`` (beyond it they change nothing),
    so the walk repeats a state after finitely many steps and the loop between is the
    steady cycle.
    """
    choices = choices or {}
    names = {p.name: i for i, p in enumerate(positions)}
    seen: dict[tuple[int, int], int] = {}
    steps: list[tuple[int, int, int]] = []  # (position, days, days deployed and filling)
    j, since = start, min_dwell  # every unit counts as rested at the start
    while (j, since) not in seen:
        seen[(j, since)] = len(steps)
        pos = positions[j]
        filling = pos.deployed and not pos.overlap
        if pos.terminal:
            return Share(0.0, 0.0, "ends", 0.0)
        duration = _days(pos.duration, choices)
        if pos.ready and pos.pull_to is not None:
            wait = max(0, min_dwell - since)
            if duration is None or wait < duration:
                steps.append((j, wait, wait if filling else 0))
                since = 0 if pos.deployed else min(min_dwell, since + wait)
                j = names[pos.pull_to]
                continue
        if duration is None:
            held = 1.0 if filling else 0.0
            return Share(held, 1.0, "held", held)
        steps.append((j, duration, duration if filling else 0))
        since = 0 if pos.deployed else min(min_dwell, since + duration)
        j = (j + 1) % len(positions) if pos.next is None else names[pos.next]
    loop = steps[seen[(j, since)] :]
    days = sum(d for _, d, _ in loop)
    deployed = sum(b for _, _, b in loop)
    kind = "ready" if any(positions[k].ready for k, _, _ in loop) else "cycle"
    return Share(float(deployed), float(days), kind, deployed / days if days else 0.0)


# --- periods --------------------------------------------------------------------------------


def periods_of(period: str, start: dt.date, horizon: int) -> list[Period]:
    """The periods of ``horizon`` days from ``start``: blocks of ``<n>d`` days, or calendar
    months, quarters or years (the first and last may be partial).

    Raises
    ------
    UsageError
        If ``period`` is neither ``<n>d`` nor one of :data:`PERIODS`.
    """
    cuts: list[int] = [0]
    blocks = re.fullmatch(r"\s*(\d+)\s*d\s*", period)
    if blocks:
        n = int(blocks.group(1))
        if n < 1:
            raise UsageError(f"--period {period!r}: expected at least 1 day")
        cuts += list(range(n, horizon, n))
    elif period in PERIODS:
        months = {"month": 1, "quarter": 3, "year": 12}[period]
        day = start
        while True:
            index = (day.year * 12 + day.month - 1) // months * months + months
            day = dt.date(index // 12, index % 12 + 1, 1)
            offset = (day - start).days
            if offset >= horizon:
                break
            cuts.append(offset)
    else:
        raise UsageError(
            f"--period {period!r}: expected a number of days (30d) or one of {', '.join(PERIODS)}"
        )
    cuts.append(horizon)
    out = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        first, last = start + dt.timedelta(days=a), start + dt.timedelta(days=b - 1)
        out.append(Period(_label(period, first, last), a, b, first, last))
    return out


def _label(period: str, first: dt.date, last: dt.date) -> str:
    if period == "month":
        return f"{first:%Y-%m}"
    if period == "quarter":
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if period == "year":
        return f"{first.year}"
    return f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"


# --- the table ------------------------------------------------------------------------------


def _value(q: Quantity, choices: Mapping[str, str]) -> float:
    return float(resolve(q, choices).value)


def _day(when: Quantity | dt.date, scenario: Scenario, choices: Mapping[str, str]) -> int:
    if isinstance(when, Value | Choice):
        return int(np.rint(resolve(when, choices).value))
    return (when - scenario.start).days


def _first_type(demand: Demand, unit_types: list[str]) -> str | None:
    """The unit type a demand is attributed to: its first preference, else the only type."""
    rule = demand.fill
    if rule.substitution_costs:
        costs = rule.substitution_costs
        return min(costs, key=lambda t: (costs[t], unit_types.index(t)))
    if rule.unit_types:
        return rule.unit_types[0]
    return unit_types[0] if len(unit_types) == 1 else None


def capacity(
    scenario: Scenario, period: str = "quarter", choices: Mapping[str, str] | None = None
) -> Capacity:
    """The static capacity table of ``scenario`` per unit type and period.

    Raises
    ------
    UsageError
        If ``period`` is not a period :func:`periods_of` knows.
    """
    choices = check_choices(scenario, choices)
    horizon = max(int(np.rint(_value(scenario.horizon, choices))), 1)
    spans = periods_of(period, scenario.start, horizon)
    resolved = resolve_policies(scenario)
    by_id = {p.id: p for p in scenario.policies}
    unit_types = [t.id for t in scenario.unit_types]

    shares: dict[tuple[str, str | None], Share] = {}

    def share_of(policy: str, start: str | None = None) -> Share:
        if (policy, start) not in shares:
            positions = resolved[policy]
            j = 0 if start is None else [p.name for p in positions].index(start)
            dwell = by_id[policy].min_dwell
            min_dwell = 0 if dwell is None else max(int(np.rint(_value(dwell, choices))), 0)
            shares[(policy, start)] = deployed_share(positions, min_dwell, j, choices)
        return shares[(policy, start)]

    # Units deployed per day by group: count x share of the policy in force that day.
    days = np.arange(horizon)
    changes = sorted(scenario.changes, key=lambda c: _day(c.at, scenario, choices))
    supply = {y: np.zeros(horizon) for y in unit_types}
    units = dict.fromkeys(unit_types, 0)
    strength = dict.fromkeys(unit_types, 0.0)
    for group in scenario.units:
        count = int(np.rint(_value(group.count, choices)))
        units[group.type] += count
        strength[group.type] += count * _value(group.strength, choices)
        in_force = np.full(horizon, share_of(group.policy, group.start).share)
        for change in changes:
            if group.id in change.units:
                c = max(_day(change.at, scenario, choices), 0)
                in_force[c:] = share_of(change.policy).share
        supply[group.type] = supply[group.type] + count * in_force
    mean_strength = {y: strength[y] / units[y] if units[y] else None for y in unit_types}
    all_units = sum(units.values())
    all_strength = sum(strength.values()) / all_units if all_units else None

    # Units required per day, by the type each demand is attributed to.
    required = {y: np.zeros(horizon) for y in [*unit_types, ALL_TYPES]}
    unattributed: list[str] = []
    for demand in scenario.demands:
        y = _first_type(demand, unit_types)
        if y is None:
            unattributed.append(demand.id)
        first = _day(demand.start, scenario, choices)
        length = horizon if demand.duration is None else _days(demand.duration, choices) or 0
        on = (days >= first) & (days < min(horizon, first + length))
        # A demand of people converts with the strength of the units of its type (of every
        # unit, for a demand open to any of several types).
        need = _units_needed(demand, all_strength if y is None else mean_strength[y], choices)
        add = np.where(on, np.nan if need is None else need, 0.0)
        for key in (ALL_TYPES,) if y is None else (y, ALL_TYPES):
            required[key] = required[key] + add
    supply[ALL_TYPES] = sum((supply[y] for y in unit_types), np.zeros(horizon))
    units[ALL_TYPES] = all_units

    # The rows of every type together, where they say more than the one type's rows.
    together = [ALL_TYPES] if len(unit_types) > 1 or unattributed else []
    rows = []
    for y in [*unit_types, *together]:
        for p in spans:
            cap = float(supply[y][p.first : p.stop].mean())
            window = required[y][p.first : p.stop]
            peak = None if np.isnan(window).any() else float(window.max())
            rows.append(
                {
                    "unit_type": y,
                    "period": p.label,
                    "units": units[y],
                    "capacity": round(cap, 6),
                    "capacity_units": whole_units(cap),
                    "peak_demand": peak,
                    "fill": None if not peak else round(cap / peak, 6),
                }
            )
    policies = [
        {
            "policy": policy,
            "start": start,
            "deployed_days": s.deployed_days,
            "cycle_days": s.cycle_days,
            "share": round(s.share, 6),
            "kind": s.kind,
        }
        for (policy, start), s in shares.items()
    ]
    return Capacity(
        scenario=scenario.name,
        period=period,
        periods=spans,
        rows=rows,
        policies=policies,
        unattributed=unattributed,
        choices=choices,
    )


def _units_needed(
    demand: Demand, strength: float | None, choices: Mapping[str, str]
) -> float | None:
    """Units a demand requires: its ``units``, or its people over the units' authorised
    strength, rounded up (None when no unit of the type has a strength to divide by)."""
    if demand.units is not None:
        return _value(demand.units, choices)
    people = _value(demand.people, choices)  # type: ignore[arg-type]
    if people <= 0:
        return 0.0
    if not strength:
        return None
    return float(math.ceil(people / strength - 1e-9))
