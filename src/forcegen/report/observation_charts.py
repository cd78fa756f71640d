"""Observation charts of the report: for each observation, the model's fan over time of the
figure it claims, with the claim drawn as a point or an interval, labelled with its grade.

Drawn with matplotlib like :mod:`forcegen.report.figures`, whose :class:`Chart` and
:func:`fan` it uses; :func:`observation_charts` is called by
:func:`forcegen.report.page.charts_of`, and each chart becomes a section of the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from forcegen.analysis.observations import Target, describe_claim, describe_measure, targets
from forcegen.errors import UsageError
from forcegen.report.figures import WIDTH, Chart, fan
from forcegen.results import Results
from forcegen.results_folder import Folder
from forcegen.scenario.model import MeasureRef, Observation, Scenario, is_cumulative

VERDICT_COLOURS = {"consistent": "#2a7f3f", "in tension": "#c98a00", "inconsistent": "#b2182b"}


def _daily(results: Results, ref: MeasureRef, first: int) -> np.ndarray:
    """A measure per run and day as the observation reads it: totals from the start (plus
    ``before_start``), or from the window's first day; levels as they are."""
    series = results.measure(
        ref.measure,
        force=ref.force,
        location=ref.location,
        unit_type=ref.unit_type,
        pipeline=ref.pipeline,
        reservoir=ref.reservoir,
        demand=ref.demand,
    ).values.astype(np.float64)
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


def _draw_claim(ax, obs: Observation, tgt: Target, dates: np.ndarray, colour: str, label: str):
    first, last = (np.datetime64(d, "D") for d in obs.window)
    x = first + (last - first) / 2
    ylow, yhigh = ax.get_ylim()
    low = tgt.low if math.isfinite(tgt.low) else ylow
    high = tgt.high if math.isfinite(tgt.high) else yhigh
    if first != last:
        ax.axvspan(first, last, color=colour, alpha=0.08, lw=0)
    ax.vlines(x, low, high, color=colour, lw=3, alpha=0.75, label=label)
    for bound, open_side in ((tgt.low, "v"), (tgt.high, "^")):
        if not math.isfinite(bound):
            edge = yhigh if open_side == "^" else ylow
            ax.plot([x], [edge], marker=open_side, color=colour, ms=8)
    if tgt.centre is not None:
        ax.plot([x], [tgt.centre], marker="o", color=colour, ms=7, mec="white")
    ax.set_ylim(min(ylow, low), max(yhigh, high))


def observation_charts(
    results: Results, scenario: Scenario, rows: Sequence[dict], levels: Sequence[float]
) -> list[Chart]:
    """One chart per observation: the fan of its figure over time and the claim drawn at its
    date with the tolerance its grade gives, coloured by verdict."""
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
        word = row.get("verdict", "")
        colour = VERDICT_COLOURS.get(word, "#444444")
        fig = Figure(figsize=(WIDTH, 3.4), layout="constrained")
        ax = fig.subplots()
        with np.errstate(invalid="ignore"):
            fan(ax, dates, values, levels=levels, colour="#3b6ea8", label="model")
        cited = ", ".join(f"{c} ({grades.get(c, '?')})" for c in obs.cites) or "uncited"
        _draw_claim(ax, obs, tgt, dates, colour, f"claim: {describe_claim(obs)} [{cited}]")
        if obs.is_share:
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        else:
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_title(describe_measure(obs), fontsize="medium")
        ax.legend(fontsize="small", loc="best")
        ax.grid(alpha=0.3)
        p = row.get("p_holds")
        held = "" if p is None else f" The claim holds in {p:.0%} of runs: {word}."
        charts.append(
            Chart(
                name=f"observation-{obs.id}",
                title=f"Observation {obs.id}",
                caption=(
                    f"{describe_measure(obs)}: the model's median and band over time, and the "
                    f"claim ({describe_claim(obs)}, {cited}) drawn as its interval with the "
                    f"tolerance of its grade ({tgt.tolerance:.0%}).{held}"
                ),
                figure=fig,
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
