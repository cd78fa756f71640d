"""Charts for papers: a :class:`~forcegen.report.charts.Chart` drawn with matplotlib's object
API (no pyplot state) and saved as PNG.

Panels are laid out in a grid with constrained layout; every legend sits outside its axes,
to the right, so that it never covers data; every band's legend entry is the band's own
colour and opacity.
"""

from __future__ import annotations

import io

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import StrMethodFormatter

from forcegen.report.charts import (
    ABSENT_COLOUR,
    Band,
    Bars,
    Chart,
    Intervals,
    Line,
    Panel,
    Points,
    Stack,
    Timeline,
    timeline_legend,
)

WIDTH = 10.0
"""Width of every figure, in inches (at :data:`DPI`, about 1,100 pixels)."""
DPI = 110
_DASH = {"solid": "-", "dash": "--", "dot": ":"}


def to_png(figure: Figure) -> bytes:
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def draw(chart: Chart) -> Figure:
    """The chart as a matplotlib figure: its panels in a grid of ``chart.columns``."""
    n = len(chart.panels)
    ncols = max(1, min(chart.columns, n))
    nrows = -(-n // ncols)
    heights = [
        max(p.height for p in chart.panels[r * ncols : (r + 1) * ncols]) for r in range(nrows)
    ]
    fig = Figure(
        figsize=(WIDTH, (0.5 if chart.suptitle else 0.1) + sum(heights)), layout="constrained"
    )
    grid = fig.subplots(nrows, ncols, squeeze=False, height_ratios=heights)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax, panel in zip(axes, chart.panels, strict=False):
        _panel(ax, panel)
    if chart.suptitle:
        fig.suptitle(chart.suptitle, fontsize="medium")
    return fig


def _steps(steps: bool) -> dict[str, str]:
    return {"drawstyle": "steps-post"} if steps else {}


def _panel(ax: Axes, panel: Panel) -> None:
    y = np.arange(len(panel.categories))
    stack_base = None
    extra_handles: list[Patch] = []
    for s in panel.series:
        if isinstance(s, Band):
            ax.fill_between(
                s.x,
                s.low,
                s.high,
                color=s.colour,
                alpha=s.alpha,
                lw=0,
                step="post" if s.steps else None,
                label=s.label,
            )
        elif isinstance(s, Line):
            ax.plot(
                s.x, s.y, color=s.colour, lw=s.width, ls=_DASH[s.dash], label=s.label,
                marker="o" if s.markers else None, markersize=4, **_steps(s.steps),
            )  # fmt: skip
        elif isinstance(s, Stack):
            base = np.zeros(len(s.y)) if stack_base is None else stack_base
            top = base + np.asarray(s.y, dtype=float)
            ax.fill_between(s.x, base, top, color=s.colour, lw=0, label=s.label)
            stack_base = top
        elif isinstance(s, Bars):
            ax.barh(
                y,
                np.nan_to_num(s.values),
                xerr=None if s.errors is None else np.where(np.isnan(s.values), 0, s.errors),
                color=s.colour,
                height=s.thickness,
                ecolor="#444444",
                capsize=2,
                label=s.label,
            )
        elif isinstance(s, Intervals):
            ax.hlines(y, s.low, s.high, color=s.colour, lw=3, alpha=s.alpha, label=s.label)
        elif isinstance(s, Points):
            ax.plot(s.values, y, "o", color=s.colour, label=s.label)
        elif isinstance(s, Timeline):
            extra_handles += _timeline(ax, s)
    if panel.categories:
        ax.set_yticks(y, list(panel.categories), fontsize="x-small")
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:" + panel.y_format + "}"))
        if panel.zero_line:
            ax.axvline(0, color="#444444", lw=0.8)
    if panel.x_range is not None:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlim(panel.x_range[0], panel.x_range[1])
        if not any(isinstance(s, Timeline) for s in panel.series):
            ax.grid(alpha=0.3)
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:" + panel.y_format + "}"))
            low, high = panel.y_range or (0.0, max(ax.get_ylim()[1], 1e-9))
            ax.set_ylim(low, high)
    if panel.x_range is None and not panel.categories and not extra_handles:  # over numbers
        ax.grid(alpha=0.3)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(StrMethodFormatter("{x:" + panel.y_format + "}"))
        if panel.y_range is not None:
            ax.set_ylim(*panel.y_range)
    ax.set_title(panel.title, fontsize="medium")
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    handles, labels = ax.get_legend_handles_labels()
    if panel.legend_title and any(isinstance(s, Stack) for s in panel.series):
        handles, labels = handles[::-1], labels[::-1]  # top layer first, as drawn
    ax.legend(
        [*handles, *extra_handles],
        [*labels, *(str(h.get_label()) for h in extra_handles)],
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        title=panel.legend_title or None,
        title_fontsize="small",
    )


def _timeline(ax: Axes, t: Timeline) -> list[Patch]:
    """The first run of a timeline as an image, a row per unit; returns the legend's
    patches, one per position seen."""
    _, rows, codes = t.runs[0]
    palette = np.array([to_rgba(ABSENT_COLOUR), *(to_rgba(c) for c in t.colours)])
    image = palette[np.clip(codes + 1, 0, len(palette) - 1)]
    dates = mdates.date2num(t.x)
    ax.imshow(
        image,
        aspect="auto",
        interpolation="nearest",
        extent=(dates[0], dates[-1] + 1, len(rows), 0),
    )
    ax.xaxis_date()
    ax.set_yticks(np.arange(len(rows)) + 0.5, list(rows), fontsize=6)
    ax.grid(False)
    colour = {name: t.colours[i] for i, name in enumerate(t.names)}
    return [
        Patch(color=colour.get(label, ABSENT_COLOUR), label=label)
        for label in timeline_legend(Timeline(t.x, t.runs[:1], t.names, t.colours, t.absent))
    ]
