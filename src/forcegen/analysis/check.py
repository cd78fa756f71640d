"""Consistency of claims: numbers that cannot all hold together, found before any run.

Each check works on the numbers a scenario states (each choice at its default, or as
chosen) and reports a :class:`Finding` with the field paths and the claims involved, so an
analyst sees which sources collide. The checks:

* ``cap-below-demand``: a demand that only capped forces may fill needs more than their caps
  allow together.
* ``force-overcommitted``: demands that only one force may fill need, at the same time, more
  people than the force has at the start (forces that recruit are left out).
* ``rotation-capacity``: a demand at a location needs more people than the forces allowed to
  fill it keep there on average under their fixed rotation cycles (N · strength · share of
  the cycle spent there), before losses (left out where a filling force forms new units).
* ``contract-longer-than-horizon``: a cohort's fixed-term contract cannot end within the
  horizon, so its discharges never show.
* ``sources-disagree``: the options of a choice differ by more than a factor of 3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from forcegen.analysis.drivers import Driver, input_claims, sampled, top_drivers
from forcegen.analysis.observations import (
    Assessment,
    assess,
    contradictions,
    needs_unit_traces,
    observed_figures,
)
from forcegen.results_folder import CheckFile, FindingRow
from forcegen.scenario.claims import choices_of, quantities
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import by_id
from forcegen.scenario.quantities import Choice, Quantity, resolve
from forcegen.scenario.references import resolve_policies

if TYPE_CHECKING:
    from forcegen.results import Results

DISAGREEMENT = 3.0
"""Ratio between the options of a choice above which they are reported as disagreeing."""


@dataclass(frozen=True)
class Finding:
    """Numbers that cannot all hold, with where they stand and the claims behind them."""

    kind: str
    message: str
    fields: tuple[str, ...] = ()
    claims: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        cited = f" [claims: {', '.join(self.claims)}]" if self.claims else " [no claim cited]"
        return f"{self.kind}: {self.message}{cited}"


@dataclass(frozen=True)
class Findings:
    """The findings of :func:`check` on one scenario under one selection of choices."""

    scenario: str
    choices: Mapping[str, str]
    findings: list[Finding]
    observed: ObservationCheck | None = None
    """The model-aware part, when the scenario has observations (:func:`check_observations`)."""

    def summary(self) -> dict[str, Any]:
        """The findings as plain data: what ``forcegen check --format json`` prints
        (:class:`~forcegen.results_folder.CheckFile`); with observations, also
        ``observations`` (each against the model, with its drivers) and ``matrix`` (the
        verdicts under each option of each choice)."""
        extra = {} if self.observed is None else self.observed.summary()
        return CheckFile(
            scenario=self.scenario,
            choices=dict(self.choices),
            findings=[
                FindingRow(
                    kind=f.kind, message=f.message, fields=list(f.fields), claims=list(f.claims)
                )
                for f in self.findings
            ],
            **extra,
        ).plain()


class _Numbers:
    """Values and cited claims of the scenario's numbers under one selection of choices."""

    def __init__(self, scenario: Scenario, choices: Mapping[str, str] | None) -> None:
        self.choices = dict(choices or {})
        self.paths = {id(q): by_id(scenario, loc) for loc, q in quantities(scenario)}

    def value(self, q: Quantity | None, default: float = 0.0) -> float:
        return default if q is None else resolve(q, self.choices).value

    def cites(self, *qs: Quantity | None) -> tuple[str, ...]:
        out: list[str] = []
        for q in qs:
            if q is not None:
                out += [c for c in resolve(q, self.choices).cites if c not in out]
        return tuple(out)

    def path(self, q: Quantity | None) -> str | None:
        return None if q is None else self.paths.get(id(q))


def check(scenario: Scenario, choices: Mapping[str, str] | None = None) -> list[Finding]:
    """Every inconsistency found between the scenario's numbers."""
    n = _Numbers(scenario, choices)
    findings: list[Finding] = []
    findings += _caps(scenario, n)
    findings += _overcommitted(scenario, n)
    findings += _capacity(scenario, n)
    findings += _contracts(scenario, n)
    findings += _disagreements(scenario)
    return findings


def _fields(n: _Numbers, *qs: Quantity | None) -> tuple[str, ...]:
    return tuple(p for q in qs if (p := n.path(q)) is not None)


def _caps(scenario: Scenario, n: _Numbers) -> list[Finding]:
    out = []
    for demand in scenario.demands:
        if demand.units is not None or not all(f in demand.fill.caps for f in demand.fill.forces):
            continue
        need = n.value(demand.people)
        caps = [demand.fill.caps[f] for f in demand.fill.forces]
        allowed = sum(n.value(c) for c in caps)
        if allowed < need:
            out.append(
                Finding(
                    "cap-below-demand",
                    f"demand {demand.id!r} needs {need:,.0f} people, but the forces that may "
                    f"fill it ({', '.join(demand.fill.forces)}) are capped at {allowed:,.0f} "
                    "together",
                    _fields(n, demand.people, *caps),
                    n.cites(demand.people, *caps),
                )
            )
    return out


def _starting_people(scenario: Scenario, n: _Numbers) -> dict[str, tuple[float, list]]:
    out: dict[str, tuple[float, list]] = {f.id: (0.0, []) for f in scenario.forces}
    for group in scenario.units:
        people = n.value(group.count, 1.0) * n.value(group.strength) * n.value(group.current, 1.0)
        total, qs = out[group.force]
        out[group.force] = (total + people, [*qs, group.count, group.strength])
    return out


def _overlap(a, b, scenario: Scenario, horizon: int) -> bool:
    def window(d) -> tuple[int, int]:
        start = scenario.day_of(d.start)
        length = horizon if d.duration is None else int(resolve(d.duration).value)
        return start, min(horizon, start + length)

    (s1, e1), (s2, e2) = window(a), window(b)
    return s1 < e2 and s2 < e1


def _overcommitted(scenario: Scenario, n: _Numbers) -> list[Finding]:
    horizon = int(resolve(scenario.horizon).value)
    people = _starting_people(scenario, n)
    recruiting = {p.force for p in scenario.pipelines}
    out = []
    for force in scenario.forces:
        if force.id in recruiting:
            continue  # recruitment may fill the gap: the numbers do not collide by themselves
        only = [d for d in scenario.demands if d.people is not None and d.fill.forces == [force.id]]
        if not only:
            continue
        # The largest set of these demands open at one time: check each demand with the
        # others whose windows overlap it.
        for d in only:
            together = [e for e in only if e is d or _overlap(d, e, scenario, horizon)]
            need = sum(n.value(e.people) for e in together)
            have, qs = people[force.id]
            if need > have + 1e-9:
                ids = ", ".join(repr(e.id) for e in together)
                out.append(
                    Finding(
                        "force-overcommitted",
                        f"force {force.id!r} has {have:,.0f} people at the start, but demands "
                        f"{ids}, which only it may fill, need {need:,.0f} at the same time",
                        _fields(n, *[e.people for e in together], *qs),
                        n.cites(*[e.people for e in together], *qs),
                    )
                )
                break
    return out


def _capacity(scenario: Scenario, n: _Numbers) -> list[Finding]:
    policies = resolve_policies(scenario)
    forming = {p.force for p in scenario.pipelines if p.into == "cohorts"}
    out = []
    for demand in scenario.demands:
        if demand.people is None or forming & set(demand.fill.forces):
            continue  # new units will come: no fixed capacity to compare with
        average = 0.0
        qs: list[Quantity | None] = []
        fixed = True
        for group in scenario.units:
            if group.force not in demand.fill.forces:
                continue
            if demand.fill.unit_types is not None and group.type not in demand.fill.unit_types:
                continue
            positions = policies[group.policy]
            if any(p.duration is None or p.terminal for p in positions):
                fixed = False  # a demand-driven cycle: no fixed share to compute
                break
            days = [n.value(p.duration) for p in positions]
            there = sum(
                d
                for p, d in zip(positions, days, strict=True)
                if p.location == demand.location and not p.overlap
            )
            share = there / sum(days)
            average += n.value(group.count, 1.0) * n.value(group.strength) * share
            if share > 0:
                qs += [group.count, group.strength, *[p.duration for p in positions]]
        need = n.value(demand.people)
        if fixed and need > average + 1e-9:
            out.append(
                Finding(
                    "rotation-capacity",
                    f"demand {demand.id!r} needs {need:,.0f} people at {demand.location!r}, but "
                    f"the rotations of the forces that may fill it keep about {average:,.0f} "
                    "there on average, before any losses",
                    _fields(n, demand.people, *qs),
                    n.cites(demand.people, *qs),
                )
            )
    return out


def _contracts(scenario: Scenario, n: _Numbers) -> list[Finding]:
    horizon = n.value(scenario.horizon)
    policies = resolve_policies(scenario)
    out = []
    for pipe in scenario.pipelines:
        if pipe.cohort is None:
            continue
        positions = policies[pipe.cohort.policy]
        if not positions[-1].terminal:
            continue
        length = sum(n.value(p.duration) for p in positions if p.duration is not None)
        first = n.value(pipe.training) + n.value(pipe.cohort.every) - 1
        if first + length >= horizon:
            out.append(
                Finding(
                    "contract-longer-than-horizon",
                    f"pipeline {pipe.id!r} forms its first units on day {first:,.0f} on contracts "
                    f"of {length:,.0f} days: none ends within the {horizon:,.0f}-day horizon",
                    _fields(n, *[p.duration for p in positions], scenario.horizon),
                    n.cites(*[p.duration for p in positions]),
                )
            )
    return out


def _disagreements(scenario: Scenario) -> list[Finding]:
    out = []
    seen: set[str] = set()
    for loc, q in quantities(scenario):
        if not isinstance(q, Choice) or q.choose in seen:
            continue
        values = {k: v.value for k, v in q.options.items()}
        low, high = min(values.values()), max(values.values())
        if low > 0 and high / low > DISAGREEMENT:
            seen.add(q.choose)
            listed = ", ".join(f"{k} {v:,.6g}" for k, v in values.items())
            claims = tuple(dict.fromkeys(c for v in q.options.values() for c in v.cites))
            out.append(
                Finding(
                    "sources-disagree",
                    f"the options of choice {q.choose!r} differ by a factor of {high / low:.1f} "
                    f"({listed} at {by_id(scenario, loc)}): conclusions may hang on which is right",
                    (by_id(scenario, loc),),
                    claims,
                )
            )
    return out


# --- the model-aware part: observations against the runs ------------------------------------

CHECK_RUNS = 60
"""Runs of each simulation ``forcegen check`` makes when the scenario has observations."""


@dataclass(frozen=True)
class ObservationCheck:
    """Observations against one simulation, and the verdicts under each choice's options."""

    assessments: list[Assessment]
    drivers: dict[str, list[Driver]]
    matrix: list[dict[str, Any]]
    """Per choice and option: ``{"choice", "option", "verdicts": {id: verdict},
    "p_holds": {id: share}}``, runs paired with the others (common random numbers)."""
    runs: int
    simulations: int
    contradictions: list[tuple[str, str, str]] = field(default_factory=list)
    """Pairs of observations that never hold together, in any run of any option."""

    def summary(self) -> dict[str, Any]:
        rows = []
        for a in self.assessments:
            row = a.summary()
            row["drivers"] = [
                {"input": d.input, "rho": round(d.rho, 4), "claims": list(d.claims)}
                for d in self.drivers.get(a.id, [])
            ]
            rows.append(row)
        return {
            "observations": rows,
            "matrix": self.matrix,
            "contradictions": [
                {"observations": [a, b], "reason": why} for a, b, why in self.contradictions
            ],
            "runs": self.runs,
        }


def drivers(results: Results, figures: xr.DataArray, scenario: Scenario) -> dict[str, list[Driver]]:
    """For each observation, the sampled inputs its figure follows most across the runs.

    A quick screen, not a variance decomposition: the rank correlation (Spearman) between
    each input's sampled value and the figure, strongest first, mapped to the claims the
    input cites (:func:`forcegen.analysis.drivers.top_drivers`: at most three, ``|rho|``
    at least 0.2). :mod:`forcegen.analysis.sensitivity` gives Sobol indices.
    """
    names, inputs = sampled(results.to_xarray())
    if not names:
        return {}
    cited = input_claims(scenario, results.meta["run"].get("choices"))
    grades = {c.id: c.grade for c in scenario.claims}
    return {
        str(obs): top_drivers(
            figures.sel(observation=obs).values,
            names,
            inputs,
            claims=cited,
            grades=grades,
            scenario=scenario,
        )[0]
        for obs in figures.observation.values
    }


def check_observations(
    scenario: Scenario,
    *,
    choices: Mapping[str, str] | None = None,
    runs: int = CHECK_RUNS,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ObservationCheck:
    """Run the scenario and hold its observations against the runs.

    One simulation under ``choices`` gives each observation's band, verdict and drivers;
    then each option of each choice is run with the same seed (common random numbers, so
    the options differ only where they really differ) for the claims x observations
    matrix. ``progress`` is called with (simulations done, simulations in all).
    """
    from forcegen.api import simulate

    picked = dict(choices or {})
    offered = choices_of(scenario)
    plan = [(None, None)] + [
        (name, option) for name, (_, options) in offered.items() for option in options
    ]
    keep = needs_unit_traces(scenario)
    taken = {name: picked.get(name, default) for name, (default, _) in offered.items()}
    cache: dict[tuple[tuple[str, str], ...], tuple[Results, xr.DataArray]] = {}
    matrix = []
    base: tuple[Results, xr.DataArray] | None = None
    if progress is not None:
        progress(0, len(plan))
    for done, (name, option) in enumerate(plan, 1):
        selection = dict(taken)
        if name is not None:
            selection[name] = option  # type: ignore[assignment]
        key = tuple(sorted(selection.items()))
        if key not in cache:
            results = simulate(scenario, runs=runs, seed=seed, choices=selection, keep_units=keep)
            cache[key] = (results, observed_figures(results, scenario))
        results, figures = cache[key]
        if name is None:
            base = (results, figures)
        else:
            verdicts = assess(results, scenario, figures, contradicting=False)
            matrix.append(
                {
                    "choice": name,
                    "option": option,
                    "claims": list(_option_claims(scenario, name, option)),
                    "verdicts": {a.id: a.verdict for a in verdicts},
                    "p_holds": {a.id: round(a.p_holds, 4) for a in verdicts},
                }
            )
        if progress is not None:
            progress(done, len(plan))
    assert base is not None
    every = xr.concat([f for _, f in cache.values()], dim="run")
    every = every.assign_coords(run=np.arange(every.sizes["run"]))
    results, figures = base
    return ObservationCheck(
        assessments=assess(results, scenario, figures),
        drivers=drivers(results, figures, scenario),
        matrix=matrix,
        runs=runs,
        simulations=len(cache),
        contradictions=contradictions(scenario, every),
    )


def _option_claims(scenario: Scenario, name: str, option: str) -> tuple[str, ...]:
    """The claims the numbers of one option of a choice cite."""
    out: list[str] = []
    for _, q in quantities(scenario):
        if isinstance(q, Choice) and q.choose == name and option in q.options:
            out += [c for c in q.options[option].cites if c not in out]
    return tuple(out)


def observation_findings(observed: ObservationCheck) -> list[Finding]:
    """A finding for every observation outside the model's band, naming its claims and the
    input claims that drive its figure most; and one for each pair that contradict."""
    out = [
        Finding(
            "observations-contradict",
            f"observations {a!r} and {b!r} cannot both hold: {why} (over every option of "
            "every choice): inconsistent",
            (),
            tuple(dict.fromkeys([*by_id[a].claims, *by_id[b].claims])),
        )
        for by_id in [{x.id: x for x in observed.assessments}]
        for a, b, why in observed.contradictions
    ]
    for a in observed.assessments:
        if a.verdict == "consistent":
            continue
        if a.contradicts and a.verdict == "inconsistent":
            kind = "observations-contradict"
        else:
            kind = "observation-" + a.verdict.replace(" ", "-")
        band = (
            "no figure"
            if a.median is None
            else (
                f"median {_fig(a.median, a.share)}, 5-95% {_fig(a.q5, a.share)} to "
                f"{_fig(a.q95, a.share)}"
            )
        )
        message = (
            f"observation {a.id!r} ({a.measure}: {a.claimed}) holds in {a.p_holds:.0%} of "
            f"{observed.runs} runs ({band}): {a.verdict}"
        )
        if a.contradicts:
            message += "; it cannot hold together with " + ", ".join(repr(o) for o in a.contradicts)
        driving = observed.drivers.get(a.id, [])
        if driving:
            message += "; its figure follows most " + "; ".join(
                f"{d.input} (rank correlation {d.rho:+.2f}, "
                + (f"claims {', '.join(d.claims)}" if d.claims else "an assumption")
                + ")"
                for d in driving
            )
        claims = tuple(dict.fromkeys([*a.claims, *(c for d in driving for c in d.claims)]))
        out.append(Finding(kind, message, tuple(d.input for d in driving), claims))
    return out


def _fig(x: float | None, share: bool) -> str:
    if x is None:
        return "-"
    return f"{x:.1%}" if share else f"{x:,.0f}"
