"""Observations: claimed outcomes held against the model's runs.

An observation (``observations:`` in a scenario, :class:`~forcegen.scenario.model.Observation`)
states a figure the model outputs, at a date or over a window, as a source states it. This
module turns each into

* its figure in every run (:func:`observed_figures`), read from the daily records through
  :meth:`forcegen.Results.measure`;
* its :class:`Target`: the claimed interval after the tolerance its claims' grades give;
* an :class:`Assessment`: the model's median and band, the share of runs in which the claim
  holds, and a verdict (:func:`verdict`).

The verdict compares the claimed interval with the runs' figures:

* ``consistent``: the interval meets the model's central 90% band (q5 to q95);
* ``in tension``: it misses that band but meets the range of the runs (only the runs in the
  tails, at most about one in ten, reach it);
* ``inconsistent``: no run reaches it; so is every observation that contradicts another
  (:func:`contradictions`: the two cannot both hold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from forcegen.results import Results
from forcegen.scenario.model import MeasureRef, Observation, Scenario, is_cumulative

Z90 = 1.6448536269514722
"""Half-width of a two-sided 90% normal interval, in standard deviations: a claim's ``sd``
gives the interval value ± Z90·sd; a finite interval's width gives the target's ``sd``."""

BAND = (0.05, 0.95)
"""Quantiles of the model's central band that the verdict compares the claim with."""

VERDICTS = ("consistent", "in tension", "inconsistent")


@dataclass(frozen=True)
class Target:
    """What an observation claims, after tolerance: its figure should lie in [low, high].

    ``low``/``high`` may be -inf/inf for one-sided claims (``at_least``, ``at_most``).
    ``centre`` is the claimed value (or the middle of a finite interval), ``sd`` the width of
    the interval read as a 90% normal interval ((high - low) / (2 · Z90); None when one side
    is open). ``scale`` is the width that :meth:`distance` divides gaps by: ``sd`` where it
    is positive, else the tolerance margin of the open-sided bound (at least 10% of it), so
    that distances of different observations are comparable.
    """

    id: str
    low: float
    high: float
    centre: float | None
    sd: float | None
    claims: tuple[str, ...]
    tolerance: float = 0.0
    scale: float = 1.0
    share: bool = False
    """Whether the figure is a share (of another measure, or a demand's coverage)."""

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Whether each value lies in [low, high] (NaN: no)."""
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return (v >= self.low) & (v <= self.high)

    def distance(self, values: np.ndarray) -> np.ndarray:
        """0 inside [low, high], else the gap to the nearer bound over ``scale`` (NaN: inf)."""
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            gap = np.where(v < self.low, self.low - v, np.where(v > self.high, v - self.high, 0.0))
        return np.where(np.isnan(v), np.inf, gap / self.scale)


def tolerance_of(scenario: Scenario, obs: Observation) -> float:
    """The tolerance of an observation, as a share of its bounds.

    Its own ``tolerance`` if given; else the largest share among the claims it cites, by the
    scenario's rule (:class:`~forcegen.scenario.model.Tolerance`); else the rule's ``uncited``.
    """
    if obs.tolerance is not None:
        return obs.tolerance
    rule = scenario.uncertainty.tolerance
    grades = {c.id: c.grade for c in scenario.claims}
    shares = [rule.share(grades[c]) for c in obs.cites if c in grades]
    return max(shares) if shares else rule.uncited


def claimed_interval(obs: Observation) -> tuple[float, float]:
    """The interval the source states, before tolerance."""
    if obs.value is not None:
        if obs.sd is not None:
            return obs.value - Z90 * obs.sd, obs.value + Z90 * obs.sd
        spread = obs.plus_minus or 0.0
        return obs.value - spread, obs.value + spread
    if obs.between is not None:
        return obs.between
    low = -math.inf if obs.at_least is None else obs.at_least
    high = math.inf if obs.at_most is None else obs.at_most
    return low, high


def target(scenario: Scenario, obs: Observation) -> Target:
    """The :class:`Target` of one observation."""
    t = tolerance_of(scenario, obs)
    low, high = claimed_interval(obs)
    low = low - t * abs(low) if math.isfinite(low) else low
    high = high + t * abs(high) if math.isfinite(high) else high
    finite = math.isfinite(low) and math.isfinite(high)
    sd = (high - low) / (2 * Z90) if finite else None
    centre = obs.value if obs.value is not None else ((low + high) / 2 if finite else None)
    if sd is not None and sd > 0:
        scale = sd
    else:
        bound = low if math.isfinite(low) else high
        scale = max(abs(bound) * max(t, 0.1), 1e-6 if obs.is_share else 1.0)
    return Target(
        id=obs.id,
        low=float(low),
        high=float(high),
        centre=None if centre is None else float(centre),
        sd=sd,
        claims=tuple(obs.cites),
        tolerance=t,
        scale=float(scale),
        share=obs.is_share,
    )


def targets(scenario: Scenario) -> list[Target]:
    """The :class:`Target` of every observation of a scenario, in file order."""
    return [target(scenario, obs) for obs in scenario.observations]


def _days(results: Results, obs: Observation) -> tuple[int, int]:
    first, last = obs.window
    return results.day_of(first), results.day_of(last)


def daily_series(results: Results, ref: MeasureRef) -> np.ndarray:
    """The measure ``ref`` names, per run and day (run x day), as the records hold it."""
    return results.measure(
        ref.measure,
        force=ref.force,
        location=ref.location,
        unit_type=ref.unit_type,
        pipeline=ref.pipeline,
        reservoir=ref.reservoir,
        demand=ref.demand,
    ).values


def _figure(results: Results, ref: MeasureRef, first: int, last: int, day: bool) -> np.ndarray:
    """One measure per run: on day ``last`` (``day``: a total from the start, plus
    ``before_start``, or the level that day), or over days first..last (a total over the
    window, or the mean level)."""
    series = daily_series(results, ref)
    if is_cumulative(ref.measure):
        total = series[:, last].copy()
        if day:
            total += ref.before_start or 0.0
        elif first > 0:
            total -= series[:, first - 1]
        return total
    window = series[:, first : last + 1]
    if ref.measure == "coverage":
        with np.errstate(invalid="ignore"), _quiet():
            return np.nanmean(window, axis=1)
    return window.mean(axis=1)


class _quiet:
    """Silence numpy's warning for the mean of an all-NaN window (a NaN is the answer)."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)


def figure_of(results: Results, obs: Observation) -> np.ndarray:
    """One observation's model figure in each run, in its own units (people, share...)."""
    first, last = _days(results, obs)
    day = obs.at is not None or obs.by is not None
    value = _figure(results, obs, first, last, day)
    if obs.share_of is None:
        return value
    base = _figure(results, obs.share_of, first, last, day)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, value / np.where(base > 0, base, 1.0), np.nan)


def observed_figures(results: Results, scenario: Scenario) -> xr.DataArray:
    """Each observation's model figure in each run: dims (run, observation).

    Read from the daily records (:meth:`forcegen.Results.measure`): a total over the days
    the observation covers (from the start, plus ``before_start``, for ``at``/``by``), or
    the mean level over them; with ``share_of``, the ratio of the two figures (NaN in a run
    whose denominator is 0).
    """
    ds = results.to_xarray()
    ids = [obs.id for obs in scenario.observations]
    values = np.empty((ds.sizes["run"], len(ids)))
    for j, obs in enumerate(scenario.observations):
        values[:, j] = figure_of(results, obs)
    return xr.DataArray(
        values,
        dims=("run", "observation"),
        coords={"run": ds.run.values, "observation": ids},
        name="observed_figure",
    )


def verdict(tgt: Target, values: np.ndarray) -> str:
    """``consistent``, ``in tension`` or ``inconsistent`` (see the module's docstring)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return "inconsistent"
    q_low, q_high = np.quantile(v, BAND)
    if tgt.high >= q_low and tgt.low <= q_high:
        return "consistent"
    if tgt.high >= v.min() and tgt.low <= v.max():
        return "in tension"
    return "inconsistent"


def _same_figure(a: Observation, b: Observation) -> bool:
    """Whether two observations claim the same figure (same measure, counts, days)."""
    keys = (
        "measure",
        "force",
        "location",
        "unit_type",
        "pipeline",
        "reservoir",
        "demand",
        "before_start",
        "share_of",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys) and a.window == b.window


def excluding(held: np.ndarray) -> str | None:
    """Why two observations exclude each other within the model, or None: ``held`` is
    (runs, 2), whether each holds in each run; they exclude each other when each holds in
    some run but never both in the same run."""
    ha, hb = held[:, 0], held[:, 1]
    if ha.any() and hb.any() and not (ha & hb).any():
        return (
            f"each holds in some runs ({ha.mean():.0%} and {hb.mean():.0%}) "
            "but never both in the same run"
        )
    return None


def contradictions(
    scenario: Scenario, figures: xr.DataArray | None = None
) -> list[tuple[str, str, str]]:
    """Pairs of observations that cannot both hold, each with the reason.

    Two observations of the same figure (measure, what it counts, day or window) whose
    intervals after tolerance do not meet contradict each other by themselves. With
    ``figures`` (:func:`observed_figures`), so do two that each hold in some run but never
    in the same run: within the model, they exclude each other.
    """
    obs = scenario.observations
    tgts = targets(scenario)
    out: list[tuple[str, str, str]] = []
    for i in range(len(obs)):
        for j in range(i + 1, len(obs)):
            a, b = tgts[i], tgts[j]
            if _same_figure(obs[i], obs[j]) and (a.high < b.low or b.high < a.low):
                out.append(
                    (
                        a.id,
                        b.id,
                        f"they claim the same figure in intervals that do not meet "
                        f"({_interval(a)} and {_interval(b)}, tolerance included)",
                    )
                )
            elif figures is not None and figures.sizes["run"] > 1:
                ha = a.holds(figures.sel(observation=a.id).values)
                hb = b.holds(figures.sel(observation=b.id).values)
                reason = excluding(np.column_stack([ha, hb]))
                if reason is not None:
                    out.append((a.id, b.id, reason))
    return out


def _interval(t: Target) -> str:
    def num(x: float) -> str:
        if not math.isfinite(x):
            return "-inf" if x < 0 else "inf"
        return f"{x:.1%}" if t.share else f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

    return f"[{num(t.low)}, {num(t.high)}]"


def describe_claim(obs: Observation) -> str:
    """The claimed figure in words, as the source put it (before tolerance)."""

    def num(x: float) -> str:
        return f"{x:.0%}" if obs.is_share else f"{x:,.6g}"

    if obs.value is not None:
        text = num(obs.value)
        if obs.sd is not None:
            text += f" (sd {num(obs.sd)})"
        elif obs.plus_minus is not None:
            text += f" ± {num(obs.plus_minus)}"
    elif obs.between is not None:
        text = f"between {num(obs.between[0])} and {num(obs.between[1])}"
    elif obs.at_least is not None and obs.at_most is not None:
        text = f"from {num(obs.at_least)} to {num(obs.at_most)}"
    elif obs.at_least is not None:
        text = f"at least {num(obs.at_least)}"
    else:
        text = f"at most {num(obs.at_most)}"  # type: ignore[arg-type]
    return text


def describe_measure(obs: Observation) -> str:
    """What is measured and when, in a few words: ``killed (WG) by 2023-02-17``."""

    def ref(r: MeasureRef) -> str:
        qualifiers = [
            v
            for v in (r.force, r.location, r.unit_type, r.pipeline, r.reservoir, r.demand)
            if v is not None
        ]
        return r.measure + (f" ({', '.join(qualifiers)})" if qualifiers else "")

    text = ref(obs)
    if obs.share_of is not None:
        text += " as a share of " + ref(obs.share_of)
    first, last = obs.window
    if obs.at is not None:
        text += f" at {first.isoformat()}"
    elif obs.by is not None:
        text += f" by {first.isoformat()}"
    else:
        text += f" from {first.isoformat()} to {last.isoformat()}"
    return text


@dataclass(frozen=True)
class Assessment:
    """One observation against the model's runs."""

    id: str
    measure: str
    claimed: str
    low: float
    high: float
    median: float | None
    q5: float | None
    q95: float | None
    p_holds: float
    verdict: str
    claims: tuple[str, ...]
    grades: tuple[str, ...]
    tolerance: float
    share: bool = False
    contradicts: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        """Plain data, as ``summary.json``'s ``observations`` list holds it."""

        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 6)

        return {
            "id": self.id,
            "measure": self.measure,
            "claimed": self.claimed,
            "low": num(self.low),
            "high": num(self.high),
            "share": self.share,
            "median": num(self.median),
            "q5": num(self.q5),
            "q95": num(self.q95),
            "p_holds": round(self.p_holds, 6),
            "verdict": self.verdict,
            "claims": list(self.claims),
            "grades": list(self.grades),
            "tolerance": round(self.tolerance, 6),
            "contradicts": list(self.contradicts),
        }


def assess(
    results: Results,
    scenario: Scenario,
    figures: xr.DataArray | None = None,
    *,
    contradicting: bool = True,
) -> list[Assessment]:
    """Every observation of a scenario against the runs of ``results``.

    With ``contradicting`` (the default), an observation that contradicts another
    (:func:`contradictions`) is ``inconsistent`` whatever its band says; without, each
    verdict compares the observation with the runs alone.
    """
    if not scenario.observations:
        return []
    if figures is None:
        figures = observed_figures(results, scenario)
    grades = {c.id: c.grade for c in scenario.claims}
    against: dict[str, list[str]] = {}
    for a, b, _ in contradictions(scenario, figures) if contradicting else []:
        against.setdefault(a, []).append(b)
        against.setdefault(b, []).append(a)
    out = []
    for obs, tgt in zip(scenario.observations, targets(scenario), strict=True):
        values = figures.sel(observation=obs.id).values
        known = values[~np.isnan(values)]
        band = np.quantile(known, [BAND[0], 0.5, BAND[1]]) if known.size else [None] * 3
        word = "inconsistent" if obs.id in against else verdict(tgt, values)
        out.append(
            Assessment(
                id=obs.id,
                measure=describe_measure(obs),
                claimed=describe_claim(obs),
                low=tgt.low,
                high=tgt.high,
                median=None if band[1] is None else float(band[1]),
                q5=None if band[0] is None else float(band[0]),
                q95=None if band[2] is None else float(band[2]),
                p_holds=float(tgt.holds(values).mean()),
                verdict=word,
                claims=tgt.claims,
                grades=tuple(grades.get(c, "?") for c in tgt.claims),
                tolerance=tgt.tolerance,
                share=tgt.share,
                contradicts=tuple(against.get(obs.id, ())),
            )
        )
    return out


def needs_unit_traces(scenario: Scenario) -> bool:
    """Whether some observation counts people by unit type (unit-level traces needed)."""
    return any(
        o.unit_type is not None or (o.share_of is not None and o.share_of.unit_type is not None)
        for o in scenario.observations
    )
