"""The bottom line: the scenario's answers, decided in every run, in words.

Each answer (``answers:`` in the scenario, :class:`forcegen.scenario.model.Answer`) is a
statement whose truth is decided in every run from a continuous *figure* of that run:

- ``fully_covered``: the share of the demand's active days (within the window) on which it
  is fully covered; the statement holds when the share is at least ``days``;
- ``coverage``: the demand's coverage (filled over required) on its worst active day of the
  window: the lowest for ``at_least``, the highest for ``at_most``;
- ``people``: the people of the force at the location on the worst day of the window,
  likewise;
- ``observation``: the observation's own figure (:func:`forcegen.analysis.observations.
  figure_of`), on its day or over its window; the statement holds when the observation's
  claim holds (:meth:`~forcegen.analysis.observations.Target.holds`: the figure lies in the
  claimed interval after the tolerance its claims' grades give). The outcome also carries
  the observation's verdict over all the runs (consistent, in tension, inconsistent), as
  :func:`~forcegen.analysis.observations.assess` gives it, and cites the observation's
  claims.

A run in which the figure cannot be computed (the demand requires nothing in the window in
that run) does not hold. The probability of an answer is the share of runs in which it
holds, put in words on the ICD 203 scale (:mod:`forcegen.analysis.likelihood`).

What an answer *hangs on most*: the Spearman rank correlation across runs between the
answer's figure and each uncertain input the runs sampled (the ``inputs`` of the results),
largest magnitude first, at most :data:`~forcegen.analysis.drivers.TOP` inputs with
``|rho|`` at least :data:`~forcegen.analysis.drivers.RHO_FLOOR`, each named with the claims
its number cites and their grades (:mod:`forcegen.analysis.drivers`). Rank correlation
measures a monotone association, not a share of variance (for that, run ``forcegen
sensitivity``); it needs at least :data:`~forcegen.analysis.drivers.MIN_RUNS` runs.

Without ``answers:`` each demand gets one default answer: "X is fully covered on at least
95% of its days" (:data:`DEFAULT_DAYS`), marked ``default``. ``answers: []`` asks for none.

Every figure is computed over all runs at once with xarray reductions; nothing here loops
over runs or days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from forcegen.analysis.drivers import Driver, input_claims, sampled, top_drivers
from forcegen.analysis.likelihood import lead, share_text, verdict, word
from forcegen.analysis.observations import (
    Assessment,
    assess,
    describe_claim,
    observed_figures,
    target,
)
from forcegen.report import formats
from forcegen.results import Results
from forcegen.scenario.model import (
    Answer,
    MeasureRef,
    Observation,
    PeopleBound,
    Scenario,
    ShareBound,
    is_cumulative,
)

DEFAULT_DAYS = 0.95
"""Share of its days on which a demand must be fully covered in a default answer."""

TOLERANCE = 1e-6
"""Slack in comparing a coverage with its bound: records keep people in 32-bit floats, so
900 filled of 1,000 required is 0.8999999... ."""


@dataclass(frozen=True)
class Outcome:
    """One answer decided over the runs."""

    id: str
    statement: str
    """The statement: the analyst's ``text``, or words made from the answer's form."""
    form: str
    default: bool
    runs: int
    holds: int
    """Runs in which the statement holds."""
    deterministic: bool
    figure: str
    """What the per-run figure measures, with its unit."""
    figure_mean: float | None
    figure_q: list[float | None]
    cites: list[str]
    """The claims the answer cites, and for an ``observation`` answer the observation's."""
    drivers: list[Driver] = field(default_factory=list)
    drivers_note: str = ""
    """Why no driver is named, where none is."""
    grades: list[str] = field(default_factory=list)
    """The grade of each claim in ``cites``, in the same order."""
    observation: str | None = None
    """The observation an ``observation`` answer asks about."""
    verdict: str | None = None
    """That observation's verdict over all the runs: ``consistent``, ``in tension`` or
    ``inconsistent`` (:func:`forcegen.analysis.observations.assess`)."""

    @property
    def probability(self) -> float:
        return self.holds / self.runs

    @property
    def likelihood(self) -> str | None:
        """The ICD 203 word, or ``None`` for a deterministic run."""
        return None if self.deterministic else word(self.probability)

    def sentence(self) -> str:
        """The answer in words: ``It is very likely (87% of 200 runs) that ...``."""
        if self.deterministic:
            return f"It {verdict(self.holds == self.runs)} that {self.statement}."
        return (
            f"{lead(self.probability)} ({share_text(self.holds, self.runs)}) that {self.statement}."
        )

    def hangs_on(self) -> str:
        """The inputs the answer hangs on most, in words, or why none is named."""
        if not self.drivers:
            return self.drivers_note
        return "; ".join(d.label() for d in self.drivers)

    def plain(self) -> dict[str, Any]:
        """The outcome as JSON-able data: one entry of the summary's ``answers``."""
        return {
            "id": self.id,
            "statement": self.statement,
            "form": self.form,
            "default": self.default,
            "runs": self.runs,
            "holds": self.holds,
            "probability": round(self.probability, 6),
            "likelihood": self.likelihood,
            "deterministic": self.deterministic,
            "sentence": self.sentence(),
            "figure": self.figure,
            "figure_mean": self.figure_mean,
            "figure_q": self.figure_q,
            "cites": self.cites,
            "grades": self.grades,
            "observation": self.observation,
            "verdict": self.verdict,
            "hangs_on": [
                {
                    "input": d.input,
                    "name": d.name or d.input,
                    "rho": round(d.rho, 6),
                    "claims": list(d.claims),
                    "grades": list(d.grades),
                }
                for d in self.drivers
            ],
            "hangs_on_note": self.drivers_note,
        }


def default_answers(scenario: Scenario) -> list[Answer]:
    """One answer per demand: fully covered on at least :data:`DEFAULT_DAYS` of its days."""
    return [
        Answer(id=d.id, demand=d.id, fully_covered={"days": DEFAULT_DAYS})  # type: ignore[arg-type]
        for d in scenario.demands
    ]


def answers_of(scenario: Scenario) -> tuple[list[Answer], bool]:
    """The scenario's answers, and whether they are the defaults (no ``answers:`` given)."""
    if scenario.answers is None:
        return default_answers(scenario), True
    return list(scenario.answers), False


def evaluate(
    results: Results,
    scenario: Scenario,
    *,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    choices: Mapping[str, str] | None = None,
) -> list[Outcome]:
    """Decide every answer of ``scenario`` in every run of ``results``.

    Parameters
    ----------
    results
        The results of simulating ``scenario``.
    scenario
        The scenario simulated; its ``answers`` (or the defaults) are decided.
    quantiles
        Levels of the figure's quantiles across runs (``figure_q``).
    choices
        The options taken (default: those recorded in the results), to name the claims of
        an input that is a choice's option.
    """
    ds = results.to_xarray()
    meta = results.meta
    deterministic = bool(meta["run"]["deterministic"])
    taken = dict(meta["run"].get("choices") or {}) if choices is None else dict(choices)
    chosen, is_default = answers_of(scenario)
    names, inputs = sampled(ds)
    cites = input_claims(scenario, taken)
    grades = {c.id: c.grade for c in scenario.claims}
    runs = int(ds.sizes["run"])
    observed = _Observed(results, scenario)
    out = []
    for i, answer in enumerate(chosen):
        if answer.observation is not None:
            figure, holds, what = observed.figure(answer.observation)
            judged: Assessment | None = observed.assessment(answer.observation)
        else:
            figure, holds, what = _figure(results, scenario, answer)
            judged = None
        cited = list(dict.fromkeys([*answer.cites, *(judged.claims if judged else ())]))
        values = figure.values.astype(np.float64)
        drivers, note = (
            ([], "one expected-value run: no input varies")
            if deterministic
            else top_drivers(values, names, inputs, claims=cites, grades=grades, scenario=scenario)
        )
        finite = values[np.isfinite(values)]
        q = (
            [_num(v) for v in np.quantile(finite, list(quantiles))]
            if finite.size
            else [None] * len(quantiles)
        )
        out.append(
            Outcome(
                id=answer.id or f"answer-{i + 1}",
                statement=answer.text or statement(answer, scenario),
                form=answer.form or "",
                default=is_default,
                runs=runs,
                holds=int(holds.values.sum()),
                deterministic=deterministic,
                figure=what,
                figure_mean=_num(finite.mean()) if finite.size else None,
                figure_q=q,
                cites=cited,
                drivers=drivers,
                drivers_note=note,
                grades=[grades.get(c, "?") for c in cited],
                observation=answer.observation,
                verdict=None if judged is None else judged.verdict,
            )
        )
    return out


def summaries(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """The summary's ``answers``: each outcome as plain data."""
    return [o.plain() for o in outcomes]


def with_answers(
    summary: Mapping[str, Any], results: Results, scenario: Scenario
) -> dict[str, Any]:
    """A run's summary (:meth:`forcegen.Results.summary`) with its ``answers`` added, as
    ``forcegen run`` prints and writes it (``docs/summary.md``)."""
    levels = summary.get("run", {}).get("quantiles") or (0.05, 0.5, 0.95)
    outcomes = evaluate(results, scenario, quantiles=levels)
    return {**summary, "answers": summaries(outcomes)}


# --- per-run figures ----------------------------------------------------------------------


class _Observed:
    """The observations' figures and assessments of one set of results, computed once and
    only if an answer asks about an observation."""

    def __init__(self, results: Results, scenario: Scenario) -> None:
        self.results = results
        self.scenario = scenario
        self._figures: xr.DataArray | None = None
        self._assessed: dict[str, Assessment] | None = None

    @property
    def figures(self) -> xr.DataArray:
        if self._figures is None:
            self._figures = observed_figures(self.results, self.scenario)
        return self._figures

    def figure(self, obs_id: str) -> tuple[xr.DataArray, xr.DataArray, str]:
        """The observation's figure per run, whether its claim holds per run, and what
        the figure is."""
        obs = _observation(self.scenario, obs_id)
        values = self.figures.sel(observation=obs_id).drop_vars("observation")
        holds = values.copy(data=target(self.scenario, obs).holds(values.values))
        return values, holds, _observed_figure(obs)

    def assessment(self, obs_id: str) -> Assessment:
        """The observation against all the runs, contradictions included, as ``forcegen
        run`` reports it among the observations."""
        if self._assessed is None:
            found = assess(self.results, self.scenario, self.figures)
            self._assessed = {a.id: a for a in found}
        return self._assessed[obs_id]


def _observation(scenario: Scenario, obs_id: str) -> Observation:
    (obs,) = [o for o in scenario.observations if o.id == obs_id]
    return obs


def _observed_figure(obs: Observation) -> str:
    """What an observation's figure measures, with its unit."""
    what = _counted(obs)
    if obs.share_of is not None:
        return f"{what} as a share of {_counted(obs.share_of)} {_when(obs)}"
    return f"{what} {_when(obs)}" + (" (a share)" if obs.is_share else "")


def _window(answer: Answer, scenario: Scenario, days: int) -> tuple[int, int]:
    """First and last day (inclusive) an answer is about, within the days simulated."""

    def day(when: dt.date | int | None, default: int) -> int:
        if when is None:
            return default
        return scenario.day_of(when) if isinstance(when, dt.date) else int(when)

    if answer.at is not None:
        first = last = day(answer.at, 0)
    else:
        first, last = day(answer.from_, 0), day(answer.to, days - 1)
    return max(first, 0), min(last, days - 1)


def _figure(
    results: Results, scenario: Scenario, answer: Answer
) -> tuple[xr.DataArray, xr.DataArray, str]:
    """The answer's figure per run, whether it holds per run, and what the figure is."""
    ds = results.to_xarray()
    first, last = _window(answer, scenario, int(ds.sizes["day"]))
    days = slice(first, last + 1)
    if answer.fully_covered is not None:
        active = (ds.required.sel(demand=answer.demand) > 0).isel(day=days)
        full = results.fully_covered().sel(demand=answer.demand).isel(day=days)
        share = full.sum("day") / active.sum("day").where(active.sum("day") > 0)
        return share, share >= answer.fully_covered.days - 1e-9, "share of days fully covered"
    if answer.coverage is not None:
        coverage = results.coverage().sel(demand=answer.demand).isel(day=days)
        bound = answer.coverage
        if bound.at_least is not None:
            worst = coverage.min("day", skipna=True)
            return worst, worst >= bound.at_least - TOLERANCE, "lowest coverage over the days asked"
        worst = coverage.max("day", skipna=True)
        return worst, worst <= bound.at_most + TOLERANCE, "highest coverage over the days asked"  # type: ignore[operator]
    assert answer.people is not None
    people = ds.strength.sel(force=answer.force, location=answer.location).isel(day=days)
    bound = answer.people
    if bound.at_least is not None:
        worst = people.min("day")
        return worst, worst >= bound.at_least, "fewest people over the days asked"
    worst = people.max("day")
    return worst, worst <= bound.at_most, "most people over the days asked"  # type: ignore[operator]


# --- statements in words ------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:g}%"


def _date(scenario: Scenario, when: dt.date | int) -> str:
    if isinstance(when, dt.date):
        return when.isoformat()
    return (scenario.start + dt.timedelta(days=int(when))).isoformat()


def _limit(bound: ShareBound | PeopleBound, written: Callable[[float], str]) -> str:
    """A bound in words: ``at least 90%`` or ``at most 5,000``."""
    if bound.at_least is not None:
        return f"at least {written(bound.at_least)}"
    return f"at most {written(bound.at_most)}"  # type: ignore[arg-type]


def _span(answer: Answer, scenario: Scenario, whole: str) -> str:
    """The days an answer is about, in words: ``on 2023-06-01``, ``on every day from ...``."""
    if answer.at is not None:
        return f"on {_date(scenario, answer.at)}"
    if answer.from_ is None and answer.to is None:
        return whole
    parts = []
    if answer.from_ is not None:
        parts.append(f"from {_date(scenario, answer.from_)}")
    if answer.to is not None:
        parts.append(f"to {_date(scenario, answer.to)}")
    return "on every day " + " ".join(parts)


def statement(answer: Answer, scenario: Scenario) -> str:
    """Words made from an answer's form, such as ``front-line is fully covered on at least
    95% of its days``."""
    if answer.observation is not None:
        return observation_statement(_observation(scenario, answer.observation), scenario)
    if answer.fully_covered is not None:
        window = _span(answer, scenario, "").replace("on every day ", "")
        return (
            f"{answer.demand} is fully covered on at least {_pct(answer.fully_covered.days)} "
            f"of its days" + (f" {window}" if window else "")
        )
    if answer.coverage is not None:
        limit = _limit(answer.coverage, _pct)
        return (
            f"the coverage of {answer.demand} is {limit} "
            f"{_span(answer, scenario, 'on every day it is required')}"
        )
    assert answer.people is not None
    limit = _limit(answer.people, lambda n: f"{n:,.0f}")
    return (
        f"{limit} people of {answer.force} are at {answer.location} "
        f"{_span(answer, scenario, 'on every day')}"
    )


def _counted(ref: MeasureRef) -> str:
    """What a measure counts, in words: ``people of RU at belarus``, ``people of WG killed``,
    ``recruits of pipeline wg-prisons``."""
    of = f" of {ref.force}" if ref.force is not None else ""
    if ref.measure == "people":
        kind = f" in units of type {ref.unit_type}" if ref.unit_type is not None else ""
        at = f" at {ref.location}" if ref.location is not None else ""
        return f"people{of}{kind}{at}"
    if ref.measure in ("recruits", "graduates"):
        return f"{ref.measure} of pipeline {ref.pipeline}"
    if ref.measure == "reservoir":
        return f"people in reservoir {ref.reservoir}"
    if ref.measure == "units_deployed":
        return f"units{of} deployed"
    if ref.measure == "coverage":
        return f"the coverage of {ref.demand}"
    return f"people{of} {ref.measure}"


def _when(obs: Observation) -> str:
    """The day or window of an observation, in words: ``on 2023-01-25`` (a level that day),
    ``by 2023-02-17`` (a total through that day), ``from ... to ...`` (a total over the
    window), ``on average from ... to ...`` (the mean level over it)."""
    first, last = obs.window
    cumulative = is_cumulative(obs.measure)
    if obs.at is not None or obs.by is not None:
        return f"{'by' if cumulative else 'on'} {first.isoformat()}"
    span = f"from {first.isoformat()} to {last.isoformat()}"
    return span if cumulative else f"on average {span}"


def _bound(x: float, share: bool) -> str:
    """One end of an observation's interval as people read it: ``5,220``, ``16%``."""
    if share:
        return formats.quantity(x, "share")
    return formats.number(x) if abs(x) >= 100 else formats.significant(x)


def _tolerated(obs: Observation, scenario: Scenario) -> str:
    """The interval after tolerance, in words, or nothing where there is no tolerance."""
    tgt = target(scenario, obs)
    if tgt.tolerance == 0:
        return ""
    if tgt.low > -np.inf and tgt.high < np.inf:
        interval = f"{_bound(tgt.low, tgt.share)} to {_bound(tgt.high, tgt.share)}"
    elif tgt.low > -np.inf:
        interval = f"at least {_bound(tgt.low, tgt.share)}"
    else:
        interval = f"at most {_bound(tgt.high, tgt.share)}"
    whose = (
        "its own tolerance"
        if obs.tolerance is not None
        else "the tolerance of its grades"
        if obs.cites
        else "the tolerance of an uncited claim"
    )
    return f" (with {whose}: {interval})"


def observation_statement(obs: Observation, scenario: Scenario) -> str:
    """The statement of an ``observation`` answer, made from the observation: ``the claim
    hur holds: 5,800 people of RU at belarus on 2023-01-25 (with the tolerance of its
    grades: 5,220 to 6,380)``."""
    claimed = describe_claim(obs)
    counted = _counted(obs)
    if obs.share_of is not None:
        figure = f"{counted} are {claimed} of {_counted(obs.share_of)}"
    elif obs.measure == "coverage":
        figure = f"{counted} is {claimed}"
    else:
        figure = f"{claimed} {counted}"
    return f"the claim {obs.id} holds: {figure} {_when(obs)}{_tolerated(obs, scenario)}"


def _num(value: Any) -> float | None:
    x = float(value)
    return None if not np.isfinite(x) else round(x, 6)
