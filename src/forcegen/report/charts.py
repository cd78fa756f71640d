"""The report's charts, described once and drawn by two backends.

Each function here takes what a results folder holds and returns :class:`Chart` objects:
plain descriptions of panels and the series in them (lines, bands, stacks, bars,
intervals, timelines of positions) with their titles, axis labels with units and legend
labels. :mod:`forcegen.report.png` draws a description as a matplotlib figure (the PNG for
papers) and :mod:`forcegen.report.interactive` as Plotly figures (the page's charts, with a
value on hover and zoom), so that the two never tell different stories. This module imports
neither library.

Conventions every chart follows:

- Fans show the median across runs and the band between the lowest and highest quantile the
  run asked for, each with its own legend entry in the band's colour and opacity; a single
  (deterministic) run is drawn as a line.
- Every panel over time spans the scenario's dates, from the first to the last day, so the
  panels of a figure line up.
- Each panel has its own y axis: each force is drawn in a panel of its own, so a small
  force is never flattened against a large one.
- Colours come from colour-blind-safe palettes (Okabe and Ito for forces, Paul Tol's for
  positions: warm for deployed ones, cool for the others).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from forcegen.results import Results
from forcegen.results_folder import CapacityFile, CompareFile, SensitivityFile
from forcegen.scenario.paths import readable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PERIOD = 30
"""Days per bin of the charts of flows (losses, recruits), and the window of the rolling
probability of full cover."""
MAX_UNITS = 48
"""Units shown, at most, in the chart of each unit's rotation."""
MAX_RUNS = 20
"""Runs offered, at most, in the interactive chart of each unit's rotation."""
TOP_INPUTS = 15
"""Inputs shown, at most, in the tornado chart."""
SAWTOOTH = 0.1
"""Mean absolute change of the probability of full cover from one active day to the next
above which the daily line is a sawtooth (a rotating demand flips between covered in almost
every run and in almost none): the chart then shows its mean over the past :data:`PERIOD`
days instead."""
WIDE_SOBOL = 0.1
"""Half-width of a Sobol index's confidence interval (a share of the output's variance)
above which the report warns that the sample is too small."""
WIDE_MORRIS = 0.5
"""Half-width of a Morris μ*'s confidence interval, as a share of μ*, above which the
report warns that the sample is too small."""
BAND_ALPHA = 0.25
"""Opacity of every band, in the chart and in its legend entry alike."""

FORCE_COLOURS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
"""Okabe and Ito's colour-blind-safe palette, darkest first."""
DEPLOYED_COLOURS = ("#CC3311", "#EE7733", "#882255", "#CC6677", "#AA4499", "#DDCC77")
"""Warm colours (Paul Tol's) for deployed positions."""
REST_COLOURS = ("#0077BB", "#33BBEE", "#009988", "#117733", "#332288", "#88CCEE", "#44AA99")
"""Cool colours (Paul Tol's) for positions that are not deployed."""
ABSENT_COLOUR = "#EEEEEE"
"""Days on which a unit is not in the force (before it forms or after discharge)."""
CAUSE_COLOURS = {
    "killed": "#CC3311",
    "wounded": "#EE7733",
    "missing": "#332288",
    "deserted": "#009988",
    "discharged": "#0077BB",
}


# --- the description ----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A line over time (or over numbers); ``steps`` draws it as steps after each point."""

    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str
    dash: str = "solid"
    """``solid``, ``dash`` or ``dot``."""
    width: float = 1.6
    steps: bool = False
    hover: str = ",.0f"
    """How hover labels write a value (a d3 and Python format spec)."""
    unit: str = ""
    """Written after a value in hover labels."""
    markers: bool = False
    """Mark each point (a line of ``width`` 0 shows the markers alone)."""


@dataclass(frozen=True)
class Band:
    """The band between two lines, in one colour at :data:`BAND_ALPHA`."""

    label: str
    x: np.ndarray
    low: np.ndarray
    high: np.ndarray
    colour: str
    steps: bool = False
    hover: str = ",.0f"
    unit: str = ""
    alpha: float = BAND_ALPHA


@dataclass(frozen=True)
class Stack:
    """One layer of a stacked area; layers stack in the order of the panel's series."""

    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str
    hover: str = ",.1f"
    unit: str = ""


@dataclass(frozen=True)
class Bars:
    """Horizontal bars, one per category of the panel (NaN: no bar), with optional error
    bars (half-widths)."""

    label: str
    values: np.ndarray
    colour: str
    errors: np.ndarray | None = None
    thickness: float = 0.7
    hover: str = ",.3f"


@dataclass(frozen=True)
class Intervals:
    """A horizontal interval per category of the panel."""

    label: str
    low: np.ndarray
    high: np.ndarray
    colour: str
    alpha: float = 0.5
    hover: str = ",.3g"


@dataclass(frozen=True)
class Points:
    """A marker per category of the panel."""

    label: str
    values: np.ndarray
    colour: str
    hover: str = ",.3g"


@dataclass(frozen=True)
class Timeline:
    """Each unit's position on each day, for one or more runs.

    ``runs[k]`` is ``(run, rows, codes)``: the run's index, the units shown (those formed in
    that run) and their positions, a ``rows × days`` array of indices into ``names`` (-1: not
    in the force). The PNG draws the first run; the page offers every one.
    """

    x: np.ndarray
    runs: tuple[tuple[int, tuple[str, ...], np.ndarray], ...]
    names: tuple[str, ...]
    colours: tuple[str, ...]
    absent: str = "not in the force"


Series = Line | Band | Stack | Bars | Intervals | Points | Timeline


@dataclass(frozen=True)
class Panel:
    """One set of axes: a title, axis labels with units, and the series drawn on them.

    A panel over time has ``x_range`` (the scenario's first and last dates); a panel of
    categories (bars, intervals) has ``categories``, drawn top to bottom; a panel with
    neither draws lines over numbers, both axes written with ``y_format``.
    """

    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    x_range: tuple[np.datetime64, np.datetime64] | None = None
    y_range: tuple[float, float] | None = None
    categories: tuple[str, ...] = ()
    legend_title: str = ""
    height: float = 2.6
    """Height in inches of the PNG panel (the page scales it)."""
    y_format: str = ",.0f"
    zero_line: bool = False

    def legend_labels(self) -> list[str]:
        """The legend's entries, one per series (a timeline's are its positions)."""
        out: list[str] = []
        for s in self.series:
            if isinstance(s, Timeline):
                out += timeline_legend(s)
            else:
                out.append(s.label)
        return out


@dataclass(frozen=True)
class Chart:
    """One figure of the report: its description and, drawn on demand, its PNG figure and
    its interactive figures (one Plotly figure per panel)."""

    name: str
    """File name stem of the PNG, and the anchor of its section in the page."""
    title: str
    caption: str
    panels: tuple[Panel, ...]
    suptitle: str = ""
    columns: int = 1
    warnings: tuple[str, ...] = field(default=())
    """What the reader must know before trusting the chart (shown in the page)."""

    @cached_property
    def figure(self) -> Figure:
        """The matplotlib figure (drawn once)."""
        from forcegen.report import png

        return png.draw(self)

    def png(self) -> bytes:
        from forcegen.report import png

        return png.to_png(self.figure)

    def plotly(self) -> list[dict[str, Any]]:
        """The Plotly figures, one per panel, as plain JSON-ready data."""
        from forcegen.report import interactive

        return interactive.figures(self)


def timeline_legend(t: Timeline) -> list[str]:
    """The positions a timeline shows in any of its runs, and "not in the force" if a unit
    is out of it on some day."""
    seen = sorted({int(c) for _, _, codes in t.runs for c in np.unique(codes)})
    return [t.names[i] for i in seen if i >= 0] + ([t.absent] if seen and seen[0] < 0 else [])


# --- helpers ------------------------------------------------------------------------------


def band_label(levels: Sequence[float]) -> str:
    return f"{min(levels) * 100:g}–{max(levels) * 100:g}% of runs"


def _span(ds: xr.Dataset) -> tuple[np.datetime64, np.datetime64]:
    dates = ds.date.values
    return dates[0], dates[-1]


def fan(
    x: np.ndarray,
    values: np.ndarray,
    *,
    levels: Sequence[float],
    colour: str,
    label: str,
    steps: bool = False,
    hover: str = ",.0f",
    unit: str = "",
) -> list[Series]:
    """The band between the extreme levels across runs (rows of ``values``) and the median;
    one run gives its line alone."""
    values = np.asarray(values, dtype=float)
    if values.shape[0] <= 1:
        return [Line(label, x, values[0], colour, steps=steps, hover=hover, unit=unit)]
    lo, mid, hi = np.quantile(values, [min(levels), 0.5, max(levels)], axis=0)
    prefix = f"{label}, " if label else ""
    return [
        Band(f"{prefix}{band_label(levels)}", x, lo, hi, colour, steps, hover, unit),
        Line(f"{prefix}median", x, mid, colour, steps=steps, hover=hover, unit=unit),
    ]


def _periods(ds: xr.Dataset, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums over whole periods of :data:`PERIOD` days along the last axis (a last, partial
    period is left out), ready for a step plot: the dates of the periods' edges, and the
    sums with the last one repeated to close the last step."""
    days = ds.sizes["day"]
    values = np.asarray(values, dtype=float)
    period = min(PERIOD, days)
    starts = np.arange(0, days - period + 1, period)
    sums = np.add.reduceat(values[..., : starts[-1] + period], starts, axis=-1)
    edges = ds.date.values[0] + np.append(starts, starts[-1] + period).astype("timedelta64[D]")
    return edges, np.concatenate([sums, sums[..., -1:]], axis=-1)


def _time_panel(ds: xr.Dataset, title: str, ylabel: str, series: list[Series], **kw: Any) -> Panel:
    return Panel(title, "date", ylabel, tuple(series), x_range=_span(ds), **kw)


# --- charts over time ---------------------------------------------------------------------


def strength_fans(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """People present at each location, one panel per force and location, each with its
    own y axis."""
    x = ds.date.values
    present = ds.strength.max(["run", "day"])
    panels = []
    for i, force in enumerate(ds.force.values):
        for loc in ds.location.values:
            if float(present.sel(force=force, location=loc)) <= 0:
                continue
            values = ds.strength.sel(force=force, location=loc).values
            series = fan(
                x, values, levels=levels, colour=FORCE_COLOURS[i % 8], label="", unit="people"
            )
            if len(series) == 1:
                series = [Line("people present", x, values[0], FORCE_COLOURS[i % 8], unit="people")]
            panels.append(_time_panel(ds, f"{force} at {loc}", "people present", series))
    if not panels:
        return []
    return [
        Chart(
            "strength",
            "Strength at each location",
            "People of each force present at each location on each day: the median across "
            "runs and the band between the lowest and highest quantile. Each panel has its own "
            "scale.",
            tuple(panels),
            suptitle="Strength at each location, by force",
            columns=2,
        )
    ]


def full_cover_line(p: np.ndarray, active: np.ndarray) -> tuple[np.ndarray | None, str]:
    """What the coverage chart shows of the daily probability of full cover, and why.

    Returns the values to draw (NaN on inactive days), or None, and one of:

    - ``"daily"``: the probability itself, day by day;
    - ``"rolling"``: it moves by more than :data:`SAWTOOTH` a day on average over the
      demand's active days (a sawtooth between ~0 and ~1, as a rotating demand gives), so
      the mean over the past :data:`PERIOD` days is shown instead: the expected share of
      recent days fully covered;
    - ``"always"`` or ``"never"``: fully covered in every run on every active day, or in
      none: the line would only repeat the share filled, and is left out;
    - ``"inactive"``: the demand is never active.
    """
    p = np.asarray(p, dtype=float)
    active = np.asarray(active, dtype=bool)
    q = p[active]
    if q.size == 0:
        return None, "inactive"
    if np.all(q >= 1.0):
        return None, "always"
    if np.all(q <= 0.0):
        return None, "never"
    jumps = float(np.abs(np.diff(q)).mean()) if q.size > 1 else 0.0
    if jumps <= SAWTOOTH:
        return np.where(active, p, np.nan), "daily"
    sums = np.cumsum(np.where(active, p, 0.0))
    counts = np.cumsum(active)
    lag = lambda a: np.concatenate([np.zeros(PERIOD), a[:-PERIOD]])[: len(a)]  # noqa: E731
    window = counts - lag(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        rolling = (sums - lag(sums)) / window
    return np.where(active & (window > 0), rolling, np.nan), "rolling"


_FULL_NOTES = {
    "daily": "dashed, the share of runs in which it is fully covered on each day",
    "rolling": f"dashed, the share of runs in which it is fully covered, averaged over the "
    f"past {PERIOD} days (day by day it flips between near 0% and near 100% as units rotate)",
    "always": "it is fully covered on every active day in every run",
    "never": "it is fully covered on no day in any run",
    "inactive": "it is never required",
}


def coverage_fans(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """Share of each demand filled, and the probability that it is fully covered where that
    tells more than the share filled (:func:`full_cover_line`)."""
    demands = list(ds.demand.values)
    if not demands:
        return []
    x = ds.date.values
    results = Results(ds)  # coverage and full cover as the summary defines them
    coverage, p_full = results.coverage(), results.p_fully_covered()
    panels, notes = [], []
    for d in demands:
        req = ds.required.sel(demand=d).values
        series = fan(
            x,
            100 * coverage.sel(demand=d).values,
            levels=levels,
            colour="#0072B2",
            label="share filled",
            hover=".1f",
            unit="%",
        )
        if ds.sizes["run"] > 1:
            values, how = full_cover_line(p_full.sel(demand=d).values, (req > 0).any(axis=0))
            if values is not None:
                label = "probability fully covered" + (
                    f", mean of past {PERIOD} days" if how == "rolling" else ""
                )
                series.append(
                    Line(label, x, 100 * values, "#D55E00", "dash", 1.2, hover=".0f", unit="%")
                )
            notes.append(f"{d}: {_FULL_NOTES[how]}")
        measure = str(ds.demand_measure.sel(demand=d).item())
        panels.append(
            _time_panel(
                ds,
                f"{d} at {ds.demand_location.sel(demand=d).item()} "
                f"({float(np.nanmax(req)):,.0f} {measure})",
                "share of requirement (%)",
                series,
                y_range=(0.0, 105.0),
            )
        )
    caption = (
        "Share of each demand's requirement filled on each day (median and band across runs)"
        + ("; " + "; ".join(notes) if notes else "")
        + "."
    )
    return [
        Chart(
            "coverage",
            "Coverage of each demand",
            caption,
            tuple(panels),
            suptitle="Coverage of each demand",
        )
    ]


def position_colours(ds: xr.Dataset) -> list[str]:
    """A colour per position: warm for deployed ones, cool for the others."""
    out, w, c = [], 0, 0
    for dep in ds.position_deployed.values.astype(bool):
        if dep:
            out.append(DEPLOYED_COLOURS[w % len(DEPLOYED_COLOURS)])
            w += 1
        else:
            out.append(REST_COLOURS[c % len(REST_COLOURS)])
            c += 1
    return out


def position_label(ds: xr.Dataset, i: int) -> str:
    label = str(ds.position.values[i])
    return label + (" (deployed)" if bool(ds.position_deployed.values[i]) else "")


def rotation_positions(ds: xr.Dataset) -> list[Chart]:
    """Units in each position over time, stacked, and (with unit traces) the people in
    them: the rotation at a glance."""
    people = None
    if "unit_position" in ds:
        pos = ds.unit_position.values  # run × day × unit
        strength = ds.unit_strength.values
        positions = range(ds.sizes["position"])
        counts = np.stack([(pos == i).sum(axis=2).mean(axis=0) for i in positions], axis=1)
        people = np.stack(
            [np.where(pos == i, strength, 0.0).sum(axis=2).mean(axis=0) for i in positions],
            axis=1,
        )
    elif "units_in_position" in ds:
        counts = ds.units_in_position.mean("run").values  # day × position
    else:
        return []
    used = [i for i in range(counts.shape[1]) if counts[:, i].max() > 0]
    if not used:
        return []
    colours = position_colours(ds)
    x = ds.date.values

    def stacks(values: np.ndarray, unit: str) -> tuple[Series, ...]:
        return tuple(
            Stack(position_label(ds, i), x, values[:, i], colours[i], unit=unit) for i in used
        )

    panels = [
        _time_panel(
            ds,
            "Units in each position (mean across runs)",
            "units",
            list(stacks(counts, "units")),
            legend_title="position",
            height=3.4,
        )
    ]
    if people is not None:
        panels.append(
            _time_panel(
                ds,
                "People in each position (mean across runs)",
                "people",
                list(stacks(people, "people")),
                legend_title="position",
                height=3.4,
            )
        )
    return [
        Chart(
            "rotation",
            "Units in each position",
            "How many units stand in each position of their cycle on each day"
            + (", and how many people they hold" if people is not None else "")
            + "; deployed positions are drawn in warm colours.",
            tuple(panels),
        )
    ]


def _shown_units(groups: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """At most :data:`MAX_UNITS` of the candidate units, spread over the groups in
    proportion to their size."""
    n = len(candidates)
    if n <= MAX_UNITS:
        return candidates
    chosen: list[int] = []
    for g in dict.fromkeys(groups[candidates]):
        members = candidates[groups[candidates] == g]
        k = max(1, round(MAX_UNITS * len(members) / n))
        picks = np.linspace(0, len(members) - 1, min(k, len(members))).round().astype(int)
        chosen += list(members[picks])
    return np.array(sorted(set(chosen)))


def formed_units(ds: xr.Dataset, run: int) -> np.ndarray:
    """Indices of the units in the force on at least one day of a run (a cohort that never
    formed is left out)."""
    pos = ds.unit_position.isel(run=run).values  # day × unit
    return np.flatnonzero((pos >= 0).any(axis=0))


def rotation_units(ds: xr.Dataset) -> list[Chart]:
    """Each unit's position over time, run by run (needs unit-level traces): the PNG shows
    the first run, the page a choice of the first :data:`MAX_RUNS`."""
    if "unit_position" not in ds:
        return []
    groups, names = ds.unit_group.values, ds.unit.values
    runs = []
    for r in range(min(MAX_RUNS, ds.sizes["run"])):
        shown = _shown_units(groups, formed_units(ds, r))
        codes = ds.unit_position.isel(run=r).values[:, shown].T.astype(int)  # unit × day
        runs.append((r, tuple(str(u) for u in names[shown]), codes))
    timeline = Timeline(
        ds.date.values,
        tuple(runs),
        tuple(position_label(ds, i) for i in range(ds.sizes["position"])),
        tuple(position_colours(ds)),
    )
    first = runs[0]
    total = len(formed_units(ds, 0))
    part = f"{len(first[1])} of {total} units" if len(first[1]) < total else f"all {total} units"
    height = 1.0 + 0.16 * max(len(r[1]) for r in runs)
    offered = len(runs)
    more = (
        f" The page offers a choice of the first {offered} of {ds.sizes['run']} runs."
        if offered > 1
        else ""
    )
    return [
        Chart(
            "rotation-units",
            "Rotation of each unit",
            "Each row is a unit, coloured by the position of its cycle on each day; deployed "
            "positions are warm colours. Units that never formed in the run (cohorts not yet "
            "recruited) are left out. The PNG shows the first run (run 0)." + more,
            (
                Panel(
                    f"Rotation of each unit, run 0 ({part})",
                    "date",
                    "unit",
                    (timeline,),
                    x_range=_span(ds),
                    legend_title="position",
                    height=height,
                ),
            ),
        )
    ]


def losses(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """People lost per period by cause, and the band of their total, per force; people
    discharged at the end of their contracts apart."""
    causes = [str(c) for c in ds.cause.values if c != "discharged"]
    total = ds.losses.sum(["run", "day", "cause"])
    forces = [f for f in ds.force.values if float(total.sel(force=f)) > 0]
    panels = []
    for force in forces:
        per = ds.losses.sel(force=force)
        x, binned = _periods(ds, per.sel(cause=causes).sum("cause").values)
        series = fan(
            x,
            binned,
            levels=levels,
            colour="#444444",
            label="all losses",
            steps=True,
            unit="people",
        )
        for cause in ds.cause.values:
            _, mean = _periods(ds, per.sel(cause=cause).mean("run").values)
            if mean.max() > 0:
                name = "discharged (contract ended)" if cause == "discharged" else str(cause)
                series.append(
                    Line(
                        f"{name}, mean",
                        x,
                        mean,
                        CAUSE_COLOURS.get(str(cause), "#0077BB"),
                        "dot" if cause == "discharged" else "solid",
                        1.1,
                        steps=True,
                        unit="people",
                    )
                )
        panels.append(_time_panel(ds, f"Losses of {force}", f"people per {PERIOD} days", series))
    if not panels:
        return []
    return [
        Chart(
            "losses",
            "Losses",
            f"People lost from units per {PERIOD} days by cause (means across runs) and the "
            "median and band of all losses together (killed, wounded, missing, deserted); "
            "people discharged when their contracts end are drawn apart, dotted.",
            tuple(panels),
            suptitle=f"Losses per {PERIOD} days, by cause",
        )
    ]


def recruitment(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """Recruits and graduates per period, per pipeline."""
    panels = []
    for pipe in ds.pipeline.values:
        flows = ds.pipeline_flows.sel(pipeline=pipe)
        x, recruits = _periods(ds, flows.sel(measure="recruits").values)
        series = fan(
            x,
            recruits,
            levels=levels,
            colour="#009E73",
            label="recruits",
            steps=True,
            unit="people",
        )
        _, graduates = _periods(ds, flows.sel(measure="graduates").mean("run").values)
        series.append(
            Line("graduates, mean", x, graduates, "#CC79A7", "dash", 1.1, True, unit="people")
        )
        panels.append(
            _time_panel(
                ds,
                f"{pipe} ({ds.pipeline_force.sel(pipeline=pipe).item()})",
                f"people per {PERIOD} days",
                series,
            )
        )
    if not panels:
        return []
    return [
        Chart(
            "recruitment",
            "Recruitment",
            f"People recruited into each pipeline per {PERIOD} days (median and band across "
            "runs) and those who finished training (mean).",
            tuple(panels),
            suptitle=f"Recruitment per {PERIOD} days, by pipeline",
            columns=2,
        )
    ]


def reservoirs(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """People left in each reservoir."""
    panels = []
    for i, name in enumerate(ds.reservoir.values):
        values = ds.reservoir_level.sel(reservoir=name).values
        series = fan(
            ds.date.values,
            values,
            levels=levels,
            colour=FORCE_COLOURS[i % 8],
            label=str(name),
            unit="people",
        )
        panels.append(_time_panel(ds, f"Reservoir {name}", "people left", series))
    if not panels:
        return []
    return [
        Chart(
            "reservoirs",
            "Reservoir levels",
            "People left in each reservoir that pipelines draw from.",
            tuple(panels),
            suptitle="Reservoir levels",
            columns=2,
        )
    ]


# --- charts of analyses -------------------------------------------------------------------

_COMPARE_GROUPS = (
    ("coverage:", "Mean coverage", "percentage points", 100.0, "demand"),
    ("days_fully_covered:", "Days fully covered", "days", 1.0, "demand"),
    ("lost:", "People lost", "people", 1.0, "force: cause"),
    ("people_end:", "People at the end", "people", 1.0, "force"),
)


def compare_charts(cf: CompareFile) -> list[Chart]:
    """Paired differences of each variant from the baseline, with their bands."""
    charts = []
    low, high = min(cf.quantiles), max(cf.quantiles)
    low_key, high_key = f"difference_q{low * 100:g}", f"difference_q{high * 100:g}"
    for k, variant in enumerate(cf.variants):
        rows = [
            r
            for r in cf.rows
            if r.variant == variant and ((r.baseline_mean or 0) != 0 or (r.variant_mean or 0) != 0)
        ]
        panels = []
        for prefix, title, unit, scale, what in _COMPARE_GROUPS:
            members = [r for r in rows if r.figure.startswith(prefix)]
            if not members:
                continue
            mean = np.array([(r.difference_mean or 0.0) * scale for r in members])
            lo = np.array([(getattr(r, low_key, None) or 0.0) * scale for r in members])
            hi = np.array([(getattr(r, high_key, None) or 0.0) * scale for r in members])
            panels.append(
                Panel(
                    f"{title}: variant minus baseline",
                    f"difference ({unit})",
                    what,
                    (
                        Intervals(
                            f"q{low * 100:g} to q{high * 100:g} of paired runs", lo, hi, "#0072B2"
                        ),
                        Points("mean difference", mean, "#0072B2"),
                    ),
                    categories=tuple(r.figure[len(prefix) :] for r in members),
                    height=0.9 + 0.3 * len(members),
                    zero_line=True,
                    y_format=",.3g",
                )
            )
        if not panels:
            continue
        charts.append(
            Chart(
                f"compare-{k + 1}",
                "Comparison with the baseline"
                if len(cf.variants) == 1
                else f"Comparison {k + 1}: {textwrap.shorten(variant, 60)}",
                f"What the variant {variant} changes from the baseline {cf.baseline}: each "
                "figure's difference, run by run with common random numbers, its mean and "
                "its band across paired runs.",
                tuple(panels),
                suptitle=textwrap.fill(
                    f"Variant: {variant}. Baseline: {cf.baseline}. {cf.runs} paired run(s).", 110
                ),
            )
        )
    return charts


def capacity_chart(cf: CapacityFile) -> list[Chart]:
    """The static capacity table (``capacity.json``): per unit type, a bar per period of the
    units its policies keep deployed, and a mark at the peak demand."""
    panels = []
    types = list(dict.fromkeys(r.unit_type for r in cf.rows))
    for y in types:
        rows = [r for r in cf.rows if r.unit_type == y]
        peak = np.array([np.nan if r.peak_demand is None else r.peak_demand for r in rows])
        if not any(r.capacity or r.peak_demand for r in rows):
            continue  # a type without declared units or demands says nothing here
        panels.append(
            Panel(
                "every unit type" if y == "*" else f"unit type {y}",
                "units",
                cf.period,
                (
                    Bars(
                        "capacity (units kept deployed)",
                        np.array([r.capacity for r in rows]),
                        "#0072B2",
                        hover=",.2f",
                    ),
                    Points("peak demand (units)", peak, "#D55E00", hover=",.2f"),
                ),  # fmt: skip
                categories=tuple(r.period for r in rows),
                height=0.9 + 0.3 * len(rows),
                y_format=",.3g",
            )
        )
    if not panels:
        return []
    return [
        Chart(
            "capacity",
            "Static capacity against the peak demand",
            "Units each unit type's policies can keep deployed in each period (count times the "
            "deployed share of each group's cycle, before any simulation), and the most units "
            "the demands require on one day of the period. A bar short of its mark is a period "
            "the policies cannot fill even in steady rotation.",
            tuple(panels),
        )
    ]


def sensitivity_warnings(sf: SensitivityFile) -> list[str]:
    """Why the indices may not be trusted at this sample size: a first-order index above
    the total one (impossible but for sampling error), or confidence intervals wider than
    :data:`WIDE_SOBOL` (Sobol) or :data:`WIDE_MORRIS` of μ* (Morris)."""
    out = []
    rows = sf.inputs[:TOP_INPUTS]
    if sf.method == "sobol":
        above = [r.input for r in rows if (_index(r, "S1") or 0.0) > (_index(r, "ST") or 0.0)]
        if above:
            out.append(
                f"The first-order index S1 exceeds the total index ST for {len(above)} input(s) "
                f"({', '.join(above[:3])}{', …' if len(above) > 3 else ''}): the sample is too "
                "small for these estimates; rerun sensitivity with a larger --n."
            )
        wide = [r.input for r in rows if (_index(r, "ST_conf") or 0.0) > WIDE_SOBOL]
        limit = f"±{WIDE_SOBOL:g}"
    else:
        wide = [
            r.input
            for r in rows
            if (_index(r, "mu_star_conf") or 0.0) > WIDE_MORRIS * (_index(r, "mu_star") or 0.0)
        ]
        limit = f"±{WIDE_MORRIS:.0%} of μ*"
    if wide:
        out.append(
            f"The confidence intervals are wide (beyond {limit}) for {len(wide)} of the "
            f"{len(rows)} inputs shown at {sf.runs:,} runs: read the ranking as rough; rerun "
            "sensitivity with a larger --n."
        )
    return out


def _index(row: Any, key: str) -> float | None:
    value = getattr(row, key, None)
    return None if value is None else float(value)


def _wrap(text: str, width: int = 48) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=True) or [""]


def tornado(sf: SensitivityFile, scenario: object | None = None) -> list[Chart]:
    """Indices of the inputs that matter most, labelled by id as in the claims table and
    coloured by whether they cite a claim."""
    rows = sf.inputs[:TOP_INPUTS]
    if not rows:
        return []
    sobol = sf.method == "sobol"
    key, inner = ("ST", "S1") if sobol else ("mu_star", None)
    cited = np.array([not r.claims.startswith("assumption") for r in rows])
    values = np.array([_index(r, key) or 0.0 for r in rows])
    errors = np.array([_index(r, f"{key}_conf") or 0.0 for r in rows])
    series: list[Series] = [
        Bars(f"{key}, input cites claims", np.where(cited, values, np.nan), "#0072B2", errors),
        Bars(f"{key}, uncited assumption", np.where(cited, np.nan, values), "#BBBBBB", errors),
    ]
    if inner:
        first = np.array([_index(r, inner) or 0.0 for r in rows])
        series.append(Bars(f"{inner} (first order)", first, "#332288", thickness=0.3))
    series = [s for s in series if not np.all(np.isnan(s.values))]
    labels = tuple(
        "\n".join(
            _wrap(readable(r.input, scenario))
            + _wrap(r.claims + (f" ({r.grades})" if r.grades else ""))
        )
        for r in rows
    )
    return [
        Chart(
            "sensitivity",
            f"Sensitivity of {sf.output}",
            "Inputs ranked by their index, named as in the claims table; the bar's colour says "
            "whether the input's number cites a claim (grades in brackets) or is an uncited "
            "assumption; whiskers are the confidence intervals.",
            (
                Panel(
                    f"What {sf.output} depends on ({sf.method}, {sf.runs:,} runs)",
                    "Sobol index (share of the output's variance)"
                    if sobol
                    else "Morris μ* (mean absolute elementary effect, in the output's units)",
                    "input (claims it cites)",
                    tuple(series),
                    categories=labels,
                    height=max(2.6, 1.0 + 0.5 * len(rows)),
                    y_format=",.2f",
                ),
            ),
            warnings=tuple(sensitivity_warnings(sf)),
        )
    ]
