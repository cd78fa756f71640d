"""The report's charts, drawn with matplotlib's object API (no pyplot state).

Each function takes what a results folder holds and returns :class:`Chart` objects: a
figure with a title, axes labelled with their units, and a legend on every panel, which
the tests check. Fan charts show the median across runs and the band between the lowest
and highest quantile the run asked for; a single (deterministic) run is drawn as a line.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import StrMethodFormatter

from forcegen.results import Results
from forcegen.results_folder import CompareFile, SensitivityFile

WIDTH = 10.0
"""Width of every figure, in inches (at :data:`DPI`, about 1,100 pixels)."""
DPI = 110
PERIOD = 30
"""Days per bin of the charts of flows (losses, recruits)."""
MAX_UNITS = 48
"""Units shown, at most, in the chart of each unit's rotation."""
TOP_INPUTS = 15
"""Inputs shown, at most, in the tornado chart."""

_FORCE_COLOURS = mpl.colormaps["tab10"].colors
_CAUSE_COLOURS = {
    "killed": "#b2182b",
    "wounded": "#ef8a62",
    "missing": "#7570b3",
    "deserted": "#1b9e77",
}


@dataclass(frozen=True)
class Chart:
    """One figure of the report."""

    name: str
    """File name stem of the PNG."""
    title: str
    caption: str
    figure: Figure

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=DPI)
        return buf.getvalue()


def _panels(n: int, ncols: int = 2, height: float = 3.0) -> tuple[Figure, list[Axes]]:
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = Figure(figsize=(WIDTH, 0.6 + height * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _dates(ax: Axes, label: str = "date") -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(label)
    ax.grid(alpha=0.3)


def band_label(levels: Sequence[float]) -> str:
    return f"{min(levels) * 100:g}–{max(levels) * 100:g}% of runs"


def fan(
    ax: Axes,
    x: np.ndarray,
    values: np.ndarray,
    *,
    levels: Sequence[float],
    colour: str | tuple[float, ...],
    label: str,
    steps: bool = False,
) -> None:
    """Median across runs (rows of ``values``), labelled, and the band between the extreme
    levels, unlabelled (:func:`_legend` adds one entry for every band)."""
    values = np.asarray(values, dtype=float)
    style = {"drawstyle": "steps-post"} if steps else {}
    if values.shape[0] > 1:
        lo, mid, hi = np.quantile(values, [min(levels), 0.5, max(levels)], axis=0)
        ax.fill_between(x, lo, hi, color=colour, alpha=0.22, lw=0, step="post" if steps else None)
        label = f"{label}, median"
    else:
        mid = values[0]
    ax.plot(x, mid, color=colour, lw=1.6, label=label, **style)


def _legend(ax: Axes, runs: int, levels: Sequence[float], **kwargs: object) -> None:
    """The axes' legend, with one grey entry that explains the bands of the fans."""
    handles, labels = ax.get_legend_handles_labels()
    if runs > 1:
        handles.append(Patch(color="#999999", alpha=0.4))
        labels.append(f"band: {band_label(levels)}")
    ax.legend(handles, labels, fontsize="small", **kwargs)


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


def _headroom(ax: Axes, share: float = 1.5) -> None:
    """Room above the data for a legend at the top."""
    low, high = ax.get_ylim()
    ax.set_ylim(0, max(high, 1e-9) * share)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def strength_fans(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """People present at each location, one fan per force."""
    x = ds.date.values
    present = ds.strength.max(["run", "day"])
    locations = [loc for loc in ds.location.values if float(present.sel(location=loc).max()) > 0]
    if not locations:
        return []
    fig, axes = _panels(len(locations))
    for ax, loc in zip(axes, locations, strict=True):
        for i, force in enumerate(ds.force.values):
            if float(present.sel(force=force, location=loc)) <= 0:
                continue
            values = ds.strength.sel(force=force, location=loc).values
            fan(ax, x, values, levels=levels, colour=_FORCE_COLOURS[i % 10], label=str(force))
        ax.set_title(f"At {loc}")
        ax.set_ylabel("people present")
        _headroom(ax, 1.45)
        _dates(ax)
        _legend(ax, ds.sizes["run"], levels, loc="upper left", ncols=2)
    fig.suptitle("Strength at each location, by force")
    return [
        Chart(
            "strength",
            "Strength at each location",
            "People present at each location on each day, per force: the median across runs "
            "and the band between the lowest and highest quantile.",
            fig,
        )
    ]


def coverage_fans(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """Share of each demand filled, and the probability that it is fully covered."""
    demands = list(ds.demand.values)
    if not demands:
        return []
    x = ds.date.values
    fig, axes = _panels(len(demands))
    results = Results(ds)  # coverage and full cover as the summary defines them
    coverage, p_full = results.coverage(), results.p_fully_covered()
    for ax, d in zip(axes, demands, strict=True):
        req = ds.required.sel(demand=d).values
        fan(
            ax,
            x,
            100 * coverage.sel(demand=d).values,
            levels=levels,
            colour="#2166ac",
            label="share filled",
        )
        if ds.sizes["run"] > 1:
            active = (req > 0).any(axis=0)
            ax.plot(
                x,
                np.where(active, 100 * p_full.sel(demand=d).values, np.nan),
                color="#d6604d",
                lw=1.0,
                ls="--",
                label="probability fully covered",
            )
        measure = str(ds.demand_measure.sel(demand=d).item())
        ax.set_title(
            f"{d} at {ds.demand_location.sel(demand=d).item()} "
            f"({float(np.nanmax(req)):,.0f} {measure})"
        )
        ax.set_ylabel("share of requirement (%)")
        ax.set_ylim(0, 105)
        _dates(ax)
        _legend(ax, ds.sizes["run"], levels, loc="lower left")
    fig.suptitle("Coverage of each demand")
    return [
        Chart(
            "coverage",
            "Coverage of each demand",
            "Share of each demand's requirement filled on each day (median and band across "
            "runs) and, dashed, the share of runs in which it is fully covered.",
            fig,
        )
    ]


def _position_colours(ds: xr.Dataset) -> list[tuple[float, ...]]:
    deployed = ds.position_deployed.values.astype(bool)
    warm = mpl.colormaps["YlOrRd"](np.linspace(0.45, 0.95, max(1, int(deployed.sum()))))
    cool = mpl.colormaps["PuBuGn"](np.linspace(0.3, 0.95, max(1, int((~deployed).sum()))))
    out, w, c = [], 0, 0
    for dep in deployed:
        if dep:
            out.append(tuple(warm[w]))
            w += 1
        else:
            out.append(tuple(cool[c]))
            c += 1
    return out


def _position_label(ds: xr.Dataset, i: int) -> str:
    label = str(ds.position.values[i])
    return label + (" (deployed)" if bool(ds.position_deployed.values[i]) else "")


def rotation_positions(ds: xr.Dataset) -> list[Chart]:
    """Units in each position over time, stacked: the rotation at a glance."""
    if "units_in_position" in ds:
        counts = ds.units_in_position.mean("run").values  # day × position
    elif "unit_position" in ds:
        pos = ds.unit_position.values
        counts = np.stack(
            [(pos == i).sum(axis=2).mean(axis=0) for i in range(ds.sizes["position"])], axis=1
        )
    else:
        return []
    used = [i for i in range(counts.shape[1]) if counts[:, i].max() > 0]
    if not used:
        return []
    colours = _position_colours(ds)
    fig = Figure(figsize=(WIDTH, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.stackplot(
        ds.date.values,
        counts[:, used].T,
        colors=[colours[i] for i in used],
        labels=[_position_label(ds, i) for i in used],
        lw=0,
    )
    ax.set_title("Units in each position (mean across runs)")
    ax.set_ylabel("units")
    _dates(ax)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5), title="position")
    return [
        Chart(
            "rotation",
            "Units in each position",
            "How many units stand in each position of their cycle on each day; deployed "
            "positions are drawn in warm colours.",
            fig,
        )
    ]


def _shown_units(ds: xr.Dataset) -> np.ndarray:
    """At most :data:`MAX_UNITS` units, spread over the groups in proportion to their size."""
    groups = ds.unit_group.values
    n = len(groups)
    if n <= MAX_UNITS:
        return np.arange(n)
    chosen: list[int] = []
    names = list(dict.fromkeys(groups))
    for g in names:
        members = np.flatnonzero(groups == g)
        k = max(1, round(MAX_UNITS * len(members) / n))
        chosen += list(
            members[np.linspace(0, len(members) - 1, min(k, len(members))).round().astype(int)]
        )
    return np.array(sorted(set(chosen)))


def rotation_units(ds: xr.Dataset) -> list[Chart]:
    """Each unit's position over time in the first run (needs unit-level traces)."""
    if "unit_position" not in ds:
        return []
    shown = _shown_units(ds)
    pos = ds.unit_position.isel(run=0).values[:, shown].T.astype(int)  # unit × day
    colours = np.array([(0.93, 0.93, 0.93, 1.0), *_position_colours(ds)])
    image = colours[np.clip(pos + 1, 0, len(colours) - 1)]
    dates = mdates.date2num(ds.date.values)
    fig = Figure(figsize=(WIDTH, 1.6 + 0.16 * len(shown)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(
        image,
        aspect="auto",
        interpolation="nearest",
        extent=(dates[0], dates[-1] + 1, len(shown), 0),
    )
    ax.xaxis_date()
    names = ds.unit.values[shown]
    ax.set_yticks(np.arange(len(shown)) + 0.5, [str(u) for u in names], fontsize=6)
    ax.set_ylabel("unit")
    _dates(ax)
    ax.grid(False)
    seen = sorted(set(np.unique(pos)) - {-1})
    handles = [Patch(color=colours[i + 1], label=_position_label(ds, i)) for i in seen]
    if (pos < 0).any():
        handles.append(Patch(color=colours[0], label="not in the force"))
    ax.legend(
        handles=handles,
        fontsize="small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        title="position",
    )
    total = ds.sizes["unit"]
    part = f"{len(shown)} of {total} units" if len(shown) < total else f"all {total} units"
    ax.set_title(f"Rotation of each unit, run 0 ({part})")
    return [
        Chart(
            "rotation-units",
            "Rotation of each unit",
            "Each row is a unit, coloured by the position of its cycle on each day of the first "
            "run; deployed positions are warm colours.",
            fig,
        )
    ]


def losses(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """People lost per period by cause, and the band of their total, per force; people
    discharged at the end of their contracts apart."""
    causes = [str(c) for c in ds.cause.values if c != "discharged"]
    total = ds.losses.sum(["run", "day", "cause"])
    forces = [f for f in ds.force.values if float(total.sel(force=f)) > 0]
    if not forces:
        return []
    fig, axes = _panels(len(forces))
    for ax, force in zip(axes, forces, strict=True):
        per = ds.losses.sel(force=force)
        x, binned = _periods(ds, per.sel(cause=causes).sum("cause").values)
        fan(ax, x, binned, levels=levels, colour="#444444", label="all losses", steps=True)
        for cause in ds.cause.values:
            _, mean = _periods(ds, per.sel(cause=cause).mean("run").values)
            if mean.max() > 0:
                name = "discharged (contract ended)" if cause == "discharged" else str(cause)
                ax.plot(
                    x,
                    mean,
                    color=_CAUSE_COLOURS.get(str(cause), "#2166ac"),
                    lw=1.1,
                    ls=":" if cause == "discharged" else "-",
                    label=f"{name}, mean",
                    drawstyle="steps-post",
                )
        ax.set_title(f"Losses of {force}")
        ax.set_ylabel(f"people per {PERIOD} days")
        _headroom(ax, 1.7)
        _dates(ax)
        _legend(ax, ds.sizes["run"], levels, loc="upper left", ncols=2)
    fig.suptitle(f"Losses per {PERIOD} days, by cause")
    return [
        Chart(
            "losses",
            "Losses",
            f"People lost from units per {PERIOD} days by cause (means across runs) and the "
            "median and band of all losses together (killed, wounded, missing, deserted); "
            "people discharged when their contracts end are drawn apart, dotted.",
            fig,
        )
    ]


def recruitment(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """Recruits and graduates per period, per pipeline."""
    pipes = list(ds.pipeline.values)
    if not pipes:
        return []
    fig, axes = _panels(len(pipes))
    for ax, pipe in zip(axes, pipes, strict=True):
        flows = ds.pipeline_flows.sel(pipeline=pipe)
        x, recruits = _periods(ds, flows.sel(measure="recruits").values)
        fan(ax, x, recruits, levels=levels, colour="#1b7837", label="recruits", steps=True)
        _, graduates = _periods(ds, flows.sel(measure="graduates").mean("run").values)
        ax.plot(
            x,
            graduates,
            color="#762a83",
            lw=1.1,
            ls="--",
            label="graduates, mean",
            drawstyle="steps-post",
        )
        ax.set_title(f"{pipe} ({ds.pipeline_force.sel(pipeline=pipe).item()})")
        ax.set_ylabel(f"people per {PERIOD} days")
        _headroom(ax, 1.5)
        _dates(ax)
        _legend(ax, ds.sizes["run"], levels, loc="upper left", ncols=2)
    fig.suptitle(f"Recruitment per {PERIOD} days, by pipeline")
    return [
        Chart(
            "recruitment",
            "Recruitment",
            f"People recruited into each pipeline per {PERIOD} days (median and band across "
            "runs) and those who finished training (mean).",
            fig,
        )
    ]


def reservoirs(ds: xr.Dataset, levels: Sequence[float]) -> list[Chart]:
    """People left in each reservoir."""
    names = list(ds.reservoir.values)
    if not names:
        return []
    fig, axes = _panels(len(names))
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        values = ds.reservoir_level.sel(reservoir=name).values
        fan(ax, ds.date.values, values, levels=levels, colour=_FORCE_COLOURS[i % 10], label=name)
        ax.set_title(f"Reservoir {name}")
        ax.set_ylabel("people left")
        _headroom(ax, 1.3)
        _dates(ax)
        _legend(ax, ds.sizes["run"], levels, loc="best")
    fig.suptitle("Reservoir levels")
    return [
        Chart(
            "reservoirs",
            "Reservoir levels",
            "People left in each reservoir that pipelines draw from.",
            fig,
        )
    ]


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
        groups = [(g, [r for r in rows if r.figure.startswith(g[0])]) for g in _COMPARE_GROUPS]
        groups = [(g, members) for g, members in groups if members]
        if not groups:
            continue
        fig = Figure(
            figsize=(WIDTH, 1.0 + sum(0.9 + 0.3 * len(m) for _, m in groups)),
            layout="constrained",
        )
        axes = fig.subplots(
            len(groups), 1, squeeze=False, height_ratios=[1 + len(m) for _, m in groups]
        )[:, 0]
        for ax, ((prefix, title, unit, scale, what), members) in zip(axes, groups, strict=True):
            y = np.arange(len(members))
            mean = np.array([(r.difference_mean or 0.0) * scale for r in members])
            lo = np.array([(getattr(r, low_key, None) or 0.0) * scale for r in members])
            hi = np.array([(getattr(r, high_key, None) or 0.0) * scale for r in members])
            ax.hlines(y, lo, hi, color="#2166ac", lw=3, alpha=0.5)
            ax.plot(mean, y, "o", color="#2166ac")
            ax.axvline(0, color="#444444", lw=0.8)
            ax.set_yticks(y, [r.figure[len(prefix) :] for r in members], fontsize="small")
            ax.invert_yaxis()
            ax.set_title(f"{title}: variant minus baseline")
            ax.set_xlabel(f"difference ({unit})")
            ax.set_ylabel(what)
            ax.grid(axis="x", alpha=0.3)
            ax.legend(
                handles=[
                    Line2D([], [], marker="o", ls="", color="#2166ac", label="mean difference"),
                    Line2D(
                        [],
                        [],
                        color="#2166ac",
                        lw=3,
                        alpha=0.5,
                        label=f"q{low * 100:g} to q{high * 100:g} of paired runs",
                    ),
                ],
                fontsize="small",
                loc="best",
            )
        fig.suptitle(
            textwrap.fill(
                f"Variant: {variant}. Baseline: {cf.baseline}. {cf.runs} paired run(s).", 110
            ),
            fontsize="medium",
        )
        charts.append(
            Chart(
                f"compare-{k + 1}",
                "Comparison with the baseline"
                if len(cf.variants) == 1
                else f"Comparison {k + 1}: {textwrap.shorten(variant, 60)}",
                f"What the variant {variant} changes from the baseline {cf.baseline}: each "
                "figure's difference, run by run with common random numbers, its mean and "
                "its band across paired runs.",
                fig,
            )
        )
    return charts


def tornado(sf: SensitivityFile) -> list[Chart]:
    """Indices of the inputs that matter most, coloured by whether they cite a claim."""
    rows = sf.inputs[:TOP_INPUTS]
    if not rows:
        return []
    sobol = sf.method == "sobol"
    key, inner = ("ST", "S1") if sobol else ("mu_star", None)
    conf = f"{key}_conf"
    fig = Figure(figsize=(WIDTH, 1.4 + 0.42 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    cited = np.array([not r.claims.startswith("assumption") for r in rows])
    colours = np.where(cited, "#2166ac", "#bdbdbd")
    values = np.array([getattr(r, key, 0.0) or 0.0 for r in rows], dtype=float)
    errors = np.array([getattr(r, conf, 0.0) or 0.0 for r in rows], dtype=float)
    ax.barh(y, values, xerr=errors, color=colours, height=0.7, ecolor="#444444", capsize=2)
    handles = [
        Patch(color="#2166ac", label=f"{key}, input cites claims"),
        Patch(color="#bdbdbd", label=f"{key}, uncited assumption"),
    ]
    if inner:
        ax.barh(y, [getattr(r, inner, 0.0) or 0.0 for r in rows], color="#053061", height=0.3)
        handles.append(Patch(color="#053061", label=f"{inner} (first order)"))
    labels = [f"{r.input}\n{r.claims}" + (f" ({r.grades})" if r.grades else "") for r in rows]
    ax.set_yticks(y, labels, fontsize="x-small")
    ax.invert_yaxis()
    ax.set_ylabel("uncertain input, with the claims it cites")
    ax.set_xlabel(
        "Sobol index (share of the output's variance)"
        if sobol
        else "Morris μ* (mean absolute elementary effect, in the output's units)"
    )
    ax.set_title(f"What {sf.output} depends on ({sf.method}, {sf.runs} runs)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=handles, fontsize="small", loc="lower right")
    return [
        Chart(
            "sensitivity",
            f"Sensitivity of {sf.output}",
            "Inputs ranked by their index; the bar's colour says whether the input's number "
            "cites a claim (grades in brackets) or is an uncited assumption.",
            fig,
        )
    ]
