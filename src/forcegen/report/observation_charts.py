"""Observation charts of the report: for each observation, the model's fan over time of the
figure it claims, with the claim drawn over its window, labelled with its grade.

Each chart is a :class:`~forcegen.report.charts.Chart` description (drawn by
:mod:`forcegen.report.png` and :mod:`forcegen.report.interactive`, like every other chart):
one panel over the scenario's dates holding

* the model's fan of the figure (median and band across runs, as
  :func:`forcegen.report.charts.fan` draws it);
* the claim: a band between its bounds after tolerance, over its window (or over
  :data:`SPAN` days either side of its date), in the colour of its verdict; an open side
  (``at_least``, ``at_most``) reaches the edge of the panel;
* the claimed value (or the middle of a finite interval) as a dashed line over the same
  days.

:func:`observation_charts_of` is called by :func:`forcegen.report.page.charts_of`; each chart
becomes a section of the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from forcegen.analysis.observations import (
    Target,
    daily_series,
    describe_claim,
    describe_measure,
    targets,
)
from forcegen.errors import UsageError
from forcegen.report.charts import Band, Chart, Line, Panel, Series, fan
from forcegen.results import Results
from forcegen.results_folder import Folder
from forcegen.scenario.model import MeasureRef, Observation, Scenario, is_cumulative

VERDICT_COLOURS = {"consistent": "#009E73", "in tension": "#E69F00", "inconsistent": "#D55E00"}
"""The claim's colour by its verdict (Okabe and Ito's green, orange and vermilion)."""
UNJUDGED = "#444444"
"""The claim's colour where the folder holds no verdict."""
MODEL = "#0072B2"
"""The model's fan."""
SPAN = 3
"""Days either side of an observation's date that its claim is drawn over, so that a claim
at one date shows as a narrow band rather than a line of no width."""
HEADROOM = 1.08
"""The top of the panel, as a multiple of the highest value drawn."""


def _daily(results: Results, ref: MeasureRef, first: int) -> np.ndarray:
    """A measure per run and day as the observation reads it: totals from the start (plus
    ``before_start``), or from the window's first day; levels as they are."""
    series = daily_series(results, ref).astype(np.float64)
    if is_cumulative(ref.measure):
        if first == 0:
            series = series + (ref.before_start or 0.0)
        else:
            series = series - series[:, first - 1 : first]
            series[:, :first] = np.nan
    return series


def daily_figure(results: Results, obs: Observation) -> np.ndarray:
    """The figure an observation claims, on every day of every run (run x day)."""
    first_date, _ = obs.window
    window = obs.at is None and obs.by is None
    first = results.day_of(first_date) if window else 0
    value = _daily(results, obs, first)
    if obs.share_of is None:
        return value
    base = _daily(results, obs.share_of, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, value / np.where(base > 0, base, 1.0), np.nan)


def _ylabel(obs: Observation) -> str:
    if obs.is_share:
        return "share (%)"
    return "units" if obs.measure == "units_deployed" else "people"


def _claim_days(obs: Observation, dates: np.ndarray) -> np.ndarray:
    """The first and last dates the claim is drawn over, within the scenario's dates."""
    first, last = (np.datetime64(d, "D") for d in obs.window)
    if first == last:
        first, last = first - SPAN, last + SPAN
    lo, hi = dates[0], dates[-1]
    return np.array([max(first, lo), min(last, hi)], dtype="datetime64[D]")


def observation_chart(
    obs: Observation,
    tgt: Target,
    values: np.ndarray,
    dates: np.ndarray,
    *,
    levels: Sequence[float],
    verdict: str = "",
    p_holds: float | None = None,
    grades: dict[str, str] | None = None,
) -> Chart:
    """The chart of one observation (see the module): ``values`` is its figure per run and
    day (:func:`daily_figure`)."""
    grades = grades or {}
    share = obs.is_share
    hover, unit = (".1%", "") if share else (",.0f", _ylabel(obs))
    with np.errstate(invalid="ignore"):
        series: list[Series] = fan(
            dates, values, levels=levels, colour=MODEL, label="model", hover=hover, unit=unit
        )
        if len(series) == 1:  # one run: its line, named as the model
            series = [Line("model (one run)", dates, values[0], MODEL, hover=hover, unit=unit)]
        drawn = [v for s in series for v in (getattr(s, "high", None), getattr(s, "y", None))]
        tops = [float(np.nanmax(v)) for v in drawn if v is not None and np.isfinite(v).any()]
        bottoms = [float(np.nanmin(v)) for v in drawn if v is not None and np.isfinite(v).any()]
    finite = [b for b in (tgt.low, tgt.high, tgt.centre) if b is not None and math.isfinite(b)]
    top = max([*tops, *finite, 1e-9]) * HEADROOM
    bottom = min([*bottoms, *finite, 0.0])
    bottom = bottom * HEADROOM if bottom < 0 else 0.0
    low = tgt.low if math.isfinite(tgt.low) else bottom
    high = tgt.high if math.isfinite(tgt.high) else top
    x = _claim_days(obs, dates)
    colour = VERDICT_COLOURS.get(verdict, UNJUDGED)
    cited = ", ".join(f"{c} ({grades.get(c, '?')})" for c in obs.cites) or "uncited"
    judged = f": {verdict}" if verdict else ""
    series.append(
        Band(
            f"claim, {describe_claim(obs)} [{cited}]{judged}",
            x,
            np.array([low, low]),
            np.array([high, high]),
            colour,
            hover=hover,
            unit=unit,
        )
    )
    if tgt.centre is not None:
        series.append(
            Line(
                "claimed value" if obs.value is not None else "middle of the claim",
                x,
                np.array([tgt.centre, tgt.centre]),
                colour,
                "dash",
                2.0,
                hover=hover,
                unit=unit,
            )
        )
    held = "" if p_holds is None else f" The claim holds in {p_holds:.0%} of runs: {verdict}."
    return Chart(
        f"observation-{obs.id}",
        f"Observation {obs.id}",
        f"{describe_measure(obs)}: the model's median and band over time, and the claim "
        f"({describe_claim(obs)}, {cited}) drawn between its bounds after the tolerance of its "
        f"grade ({tgt.tolerance:.0%}), over its window"
        + ("" if obs.window[0] != obs.window[1] else f" (±{SPAN} days around its date)")
        + f", coloured by its verdict; an open side reaches the edge of the panel.{held}",
        (
            Panel(
                describe_measure(obs),
                "date",
                _ylabel(obs),
                tuple(series),
                x_range=(dates[0], dates[-1]),
                y_range=(bottom, top),
                y_format=".0%" if share else ",.0f",
                height=3.0,
            ),
        ),
    )


def observation_charts(
    results: Results, scenario: Scenario, rows: Sequence[dict], levels: Sequence[float]
) -> list[Chart]:
    """One chart per observation (:func:`observation_chart`), coloured by the verdicts of
    ``rows`` (``summary.json``'s ``observations``)."""
    ds = results.to_xarray()
    dates = ds.date.values.astype("datetime64[D]")
    by_id = {r["id"]: r for r in rows}
    grades = {c.id: c.grade for c in scenario.claims}
    charts = []
    for obs, tgt in zip(scenario.observations, targets(scenario), strict=True):
        try:
            values = daily_figure(results, obs)
        except UsageError:  # people by unit type without unit-level traces
            continue
        row = by_id.get(obs.id, {})
        charts.append(
            observation_chart(
                obs,
                tgt,
                values,
                dates,
                levels=levels,
                verdict=row.get("verdict", ""),
                p_holds=row.get("p_holds"),
                grades=grades,
            )
        )
    return charts


def observation_charts_of(folder: Folder, levels: Sequence[float]) -> list[Chart]:
    """The observation charts of a results folder (none without results, a scenario copy or
    observations)."""
    scenario = folder.scenario
    if folder.results is None or scenario is None or not scenario.observations:
        return []
    rows = (folder.summary or {}).get("observations") or []
    return observation_charts(Results(folder.results), scenario, rows, levels)
