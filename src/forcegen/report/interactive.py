"""Charts for the page: a :class:`~forcegen.report.charts.Chart` as Plotly figures, one per
panel, written as plain JSON-ready data (no Plotly import is needed to make them).

Hovering a chart over time shows every series' value at that date (a unified hover label);
dragging zooms, double-clicking resets. Legends sit to the right of the plot, outside it.
The page embeds plotly.js once, read from the installed ``plotly`` package
(:func:`plotly_js`), so that it works offline.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import numpy as np

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
)

PIXELS_PER_INCH = 110
"""Height of a panel on the page: its PNG height in inches times this."""
CONFIG = {"displaylogo": False, "responsive": True}
"""Options of every figure (``Plotly.newPlot``'s config)."""


def plotly_js() -> str:
    """The minified plotly.js bundled with the installed ``plotly`` package.

    Raises
    ------
    ModuleNotFoundError
        If plotly is not installed (``pip install forcegen[report]``).
    """
    import plotly

    return files(plotly).joinpath("package_data", "plotly.min.js").read_text(encoding="utf-8")


def to_json(figure: dict[str, Any]) -> str:
    """A figure as JSON that is safe inside a ``<script>`` element of the page: ``<``, ``>``
    and ``&`` are written as JSON escapes, so that no text from a scenario can close the
    element or open markup."""
    text = json.dumps(figure, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _rgba(colour: str, alpha: float = 1.0) -> str:
    """A ``#rrggbb`` colour with an opacity, as CSS writes it."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def _values(a: np.ndarray, digits: int = 4) -> list[float | None]:
    """Numbers for JSON: rounded, NaN as null."""
    a = np.round(np.asarray(a, dtype=float), digits)
    return [None if np.isnan(v) else float(v) for v in a]


def _dates(x: np.ndarray) -> list[str]:
    return [str(d) for d in np.datetime_as_string(np.asarray(x, "datetime64[D]"), unit="D")]


def _hover(name: str, fmt: str, unit: str) -> str:
    space = "" if unit in ("", "%") else " "
    return f"{name}: %{{y:{fmt}}}{space}{unit}<extra></extra>"


def figures(chart: Chart) -> list[dict[str, Any]]:
    """The chart's Plotly figures, one per panel, each with ``data``, ``layout`` and
    ``config``."""
    return [_figure(chart, panel) for panel in chart.panels]


def _figure(chart: Chart, panel: Panel) -> dict[str, Any]:
    traces: list[dict[str, Any]] = []
    menus: list[dict[str, Any]] = []
    stacked = False
    layout_rows: list[str] | None = None
    for s in panel.series:
        if isinstance(s, Band):
            x, shape = _dates(s.x), "hv" if s.steps else "linear"
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": _values(s.low),
                    "mode": "lines",
                    "line": {"width": 0, "shape": shape, "color": _rgba(s.colour, s.alpha)},
                    "legendgroup": s.label,
                    "showlegend": False,
                    "hoverinfo": "skip",
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "name": s.label,
                    "x": x,
                    "y": _values(s.high),
                    "customdata": _values(s.low),
                    "mode": "lines",
                    "fill": "tonexty",
                    "fillcolor": _rgba(s.colour, s.alpha),
                    "line": {"width": 0, "shape": shape, "color": _rgba(s.colour, s.alpha)},
                    "legendgroup": s.label,
                    "hovertemplate": f"{s.label}: %{{customdata:{s.hover}}} to "
                    f"%{{y:{s.hover}}}{'' if s.unit in ('', '%') else ' '}{s.unit}<extra></extra>",
                }
            )
        elif isinstance(s, Line):
            traces.append(
                {
                    "type": "scatter",
                    "name": s.label,
                    "x": _dates(s.x) if np.asarray(s.x).dtype.kind == "M" else _values(s.x),
                    "y": _values(s.y),
                    "mode": ("lines+markers" if s.width else "markers") if s.markers else "lines",
                    "line": {
                        "color": s.colour,
                        "width": s.width,
                        "dash": s.dash,
                        "shape": "hv" if s.steps else "linear",
                    },
                    "hovertemplate": _hover(s.label, s.hover, s.unit),
                }
            )
        elif isinstance(s, Stack):
            stacked = True
            traces.append(
                {
                    "type": "scatter",
                    "name": s.label,
                    "x": _dates(s.x),
                    "y": _values(s.y, 2),
                    "mode": "lines",
                    "stackgroup": "positions",
                    "fillcolor": s.colour,
                    "line": {"width": 0.5, "color": s.colour},
                    "hovertemplate": _hover(s.label, s.hover, s.unit),
                }
            )
        elif isinstance(s, Bars):
            bar: dict[str, Any] = {
                "type": "bar",
                "orientation": "h",
                "name": s.label,
                "x": _values(s.values),
                "y": list(panel.categories),
                "marker": {"color": s.colour},
                "width": s.thickness,
                "hovertemplate": f"{s.label}: %{{x:{s.hover}}}<extra></extra>",
            }
            if s.errors is not None:
                bar["error_x"] = {"type": "data", "array": _values(s.errors), "color": "#444444"}
            traces.append(bar)
        elif isinstance(s, Intervals):
            xs: list[float | None] = []
            ys: list[str | None] = []
            for lo, hi, cat in zip(s.low, s.high, panel.categories, strict=True):
                if np.isnan(lo) or np.isnan(hi):  # no interval in this row
                    continue
                xs += [float(lo), float(hi), None]
                ys += [cat, cat, None]
            traces.append(
                {
                    "type": "scatter",
                    "name": s.label,
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "line": {"color": _rgba(s.colour, s.alpha), "width": 6},
                    "hovertemplate": f"%{{x:{s.hover}}}<extra>{s.label}</extra>",
                }
            )
        elif isinstance(s, Points):
            traces.append(
                {
                    "type": "scatter",
                    "name": s.label,
                    "x": _values(s.values),
                    "y": list(panel.categories),
                    "mode": "markers",
                    "marker": {"color": s.colour, "size": 9},
                    "hovertemplate": f"{s.label}: %{{x:{s.hover}}}<extra></extra>",
                }
            )
        elif isinstance(s, Timeline):
            new, menus, rows = _timeline(s, panel)
            traces += new
            layout_rows = rows
    timed = panel.x_range is not None
    height = round(PIXELS_PER_INCH * panel.height) + 40
    layout: dict[str, Any] = {
        "title": {"text": panel.title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {"title": {"text": panel.xlabel}, "automargin": True},
        "yaxis": {"title": {"text": panel.ylabel}, "automargin": True},
        "legend": {"x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top", "font": {"size": 11}},
        "showlegend": True,
        "height": max(height, 260),
        "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
        "hovermode": "x unified" if timed and not menus else "closest",
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
    }
    if panel.legend_title:
        layout["legend"]["title"] = {"text": panel.legend_title}
    if stacked:
        layout["legend"]["traceorder"] = "reversed"  # top layer first, as drawn
    if timed:
        assert panel.x_range is not None
        first, last = _dates(np.array(panel.x_range))
        layout["xaxis"].update(
            type="date",
            range=[first, last],
            hoverformat="%Y-%m-%d",
            showgrid=True,
            gridcolor="#e5e5e5",
        )
        layout["yaxis"].update(showgrid=True, gridcolor="#e5e5e5", tickformat=panel.y_format)
        if panel.y_range is not None:
            layout["yaxis"]["range"] = list(panel.y_range)
        elif not menus:
            layout["yaxis"]["rangemode"] = "tozero"
    if not timed and not panel.categories and layout_rows is None:  # lines over numbers
        for axis in ("xaxis", "yaxis"):
            layout[axis].update(showgrid=True, gridcolor="#e5e5e5", tickformat=panel.y_format)
        if panel.y_range is not None:
            layout["yaxis"]["range"] = list(panel.y_range)
    if panel.categories:
        layout["yaxis"].update(
            type="category",
            categoryorder="array",
            categoryarray=list(panel.categories),
            autorange="reversed",
            tickfont={"size": 10},
        )
        layout["xaxis"].update(
            showgrid=True, gridcolor="#e5e5e5", zeroline=panel.zero_line, tickformat=panel.y_format
        )
        layout["barmode"] = "overlay"
        layout["yaxis"]["categoryarray"] = [c.replace("\n", "<br>") for c in panel.categories]
        for t in traces:
            t["y"] = [c.replace("\n", "<br>") if isinstance(c, str) else c for c in t["y"]]
    if layout_rows is not None:
        layout["yaxis"].update(
            type="category",
            categoryorder="array",
            categoryarray=layout_rows,
            autorange="reversed",
            tickfont={"size": 9},
            showgrid=False,
        )
        layout["barmode"] = "overlay"
    if menus:
        layout["updatemenus"] = menus
        layout["margin"]["t"] = 80
    return {"data": traces, "layout": layout, "config": CONFIG}


def _timeline(
    t: Timeline, panel: Panel
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """A timeline as horizontal bars, one trace per position (so the legend is its
    traces), each bar a stretch of days a unit spends in that position; a dropdown picks
    the run."""
    colours = [*t.colours, ABSENT_COLOUR]
    names = [*t.names, t.absent]
    dates = np.asarray(t.x, "datetime64[D]")
    end = dates[-1] + np.timedelta64(1, "D")

    def segments(rows: tuple[str, ...], codes: np.ndarray) -> dict[int, dict[str, list[Any]]]:
        out: dict[int, dict[str, list[Any]]] = {}
        for row, line in zip(rows, codes, strict=True):
            cuts = np.flatnonzero(np.diff(line)) + 1
            starts = np.concatenate([[0], cuts])
            stops = np.concatenate([cuts, [len(line)]])
            for a, b in zip(starts, stops, strict=True):
                code = int(line[a])
                k = code if code >= 0 else len(t.names)
                seg = out.setdefault(k, {"x": [], "y": [], "base": [], "customdata": []})
                first, stop = dates[a], dates[b] if b < len(dates) else end
                days = int((stop - first) / np.timedelta64(1, "D"))
                seg["x"].append(days * 86_400_000)  # a bar's length on a date axis is in ms
                seg["y"].append(row)
                seg["base"].append(str(first))
                seg["customdata"].append([str(first), str(stop - np.timedelta64(1, "D")), days])
        return out

    per_run = [(run, rows, segments(rows, codes)) for run, rows, codes in t.runs]
    shown = sorted({k for _, _, segs in per_run for k in segs})
    traces = []
    for k in shown:
        seg = per_run[0][2].get(k, {"x": [], "y": [], "base": [], "customdata": []})
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": names[k],
                "marker": {"color": colours[k], "line": {"width": 0}},
                "width": 0.9,
                **seg,
                "hovertemplate": f"%{{y}}: {names[k]}<br>%{{customdata[0]}} to "
                "%{customdata[1]} (%{customdata[2]} days)<extra></extra>",
            }
        )
    rows0 = per_run[0][1]
    menus = []
    if len(per_run) > 1:
        buttons = []
        for run, rows, segs in per_run:
            empty: dict[str, list[Any]] = {"x": [], "y": [], "base": [], "customdata": []}
            data = [segs.get(k, empty) for k in shown]
            buttons.append(
                {
                    "label": f"run {run}",
                    "method": "update",
                    "args": [
                        {key: [d[key] for d in data] for key in ("x", "y", "base", "customdata")},
                        {
                            "title.text": panel.title.replace("run 0", f"run {run}", 1).split(" (")[
                                0
                            ]
                            + f" ({len(rows)} units shown)",
                            "yaxis.categoryarray": list(rows),
                            # Restyling x clears the axis type: set it again.
                            "xaxis.type": "date",
                            "xaxis.range": [str(dates[0]), str(dates[-1])],
                        },
                    ],
                }
            )
        menus.append(
            {
                "type": "dropdown",
                "buttons": buttons,
                "x": 1.0,
                "xanchor": "right",
                "y": 1.12,
                "yanchor": "bottom",
                "showactive": True,
            }
        )
    return traces, menus, list(rows0)
