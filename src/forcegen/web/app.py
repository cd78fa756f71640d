"""The workbench page: a Panel app over :class:`forcegen.web.session.Session`.

:func:`build` makes one page on a folder of scenarios, with a fresh session of its own, so
that served as a function (``forcegen serve``) every browser tab gets its own page and
nothing one tab does reaches another. :func:`forcegen.workbench` shows the same page in a
notebook. Panel is imported when a page is built, never when forcegen is imported.

The page does what a user can do in a session, and nothing else: it turns widgets into
:class:`~forcegen.web.session.Settings`, calls the session and draws what comes back. Every
error from the page's input (a bad value, a name that would overwrite a file, a scenario
with problems) is a message in the page's alert, never a traceback; long work sets the
busy indicator and a line of progress text.

Element hooks
-------------
Browser tests and the benchmark find the page's parts by these CSS classes (each element
also has a readable ``name``). ``<name>`` and ``<path>`` are written by :func:`hook`: every
character other than a letter, digit, ``_`` or ``-`` becomes ``_`` (``units[0].size`` is
``fg-value-units_0__size``), so that each hook is a plain class selector
(``.fg-value-units_0__size``).

==========================  ================================================================
``fg-scenario``             select: the scenario (relative path under the folder)
``fg-errors``               alert: every error message of the page (hidden when none)
``fg-status``               text: what the page is doing; after each finished run
                            ``done: run N (R runs)``, N counting the runs of this page
``fg-busy``                 spinner: on while the page works
``fg-question``             text: the scenario's question
``fg-claims``               table: the claims (id, grade, reliability, credibility, chain,
                            used by)
``fg-assumptions``          table: the uncited assumptions
``fg-choice-<name>``        select: the option of choice ``<name>``
``fg-value-<path>``         text box: the value at ``<path>`` as people write it (``2%/mo``);
                            this text is what a run applies
``fg-slider-<path>``        slider: the same value in display units (moving it rewrites the
                            text box)
``fg-dist-<path>``          text: the value's distribution and its claims, or "assumption"
``fg-runs``                 number: runs
``fg-seed``                 number: seed
``fg-deterministic``        checkbox: one run with every uncertain value at its centre
``fg-run``                  button: run
``fg-headline``             table: the headline figures with bands, one row per demand then
                            one per force (column ``row``), headed by the keys of
                            :func:`forcegen.web.session.headline`
``fg-answers``              text: the bottom line (one sentence per answer)
``fg-observations``         table: observations against the model (hidden when none)
``fg-charts``               column of the fan charts; each Plotly pane ``fg-chart-<name>``
``fg-pin``                  button: pin the last run as the baseline
``fg-difference``           column: the paired difference of the last run and the baseline
``fg-output``               select: the output of the sensitivity screen
``fg-sensitivity``          button: run the screen
``fg-tornado``              column: the tornado, traced to claims
``fg-export-name``          text box: the name to export under
``fg-export-report``        button: write the HTML report
``fg-export-results``       button: write the results folder
``fg-export-variant``       button: write the edits as a variant scenario file
``fg-export-message``       text: the path written, or why nothing was
``fg-store``                select: a ``*.duckdb`` store under the folder
``fg-factor``               select: the factor on the scatter's x axis
``fg-outcome``              select: the outcome on the scatter's y axis
``fg-where``                text box: the condition of the box to discover (``--where``)
``fg-store-show``           button: show the store (and discover the box)
``fg-scatter``              Plotly pane: the outcome against the factor, one dot per
                            experiment
``fg-parcoords``            Plotly pane: parallel coordinates of factors and the outcome
``fg-box``                  text: the discovered box, each limit with its claims
``fg-box-charts``           column: the peeling trade-off and the box's charts
==========================  ================================================================
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forcegen.errors import ScenarioError, UsageError

if TYPE_CHECKING:
    import pandas as pd
    import panel as pn

    from forcegen.web.files import Folder
    from forcegen.web.session import Input, Outcome, Session

EXPORT_DEFAULT = "workbench"
"""Stem of the names offered in the export box before the user types one."""

CLAIM_COLUMNS = ("id", "grade", "reliability", "credibility", "chain", "used_by", "paraphrase")
"""Columns of the claims table, in order (those the brief gives)."""

_HOOK_RE = re.compile(r"[^A-Za-z0-9_-]")
_NUMBER_RE = re.compile(r"^\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]*)?((?:[eE][-+]?[0-9]+)?)")


def hook(prefix: str, name: str = "") -> str:
    """The CSS class of an element: ``prefix`` and, if given, ``-`` and ``name`` with every
    character other than a letter, digit, ``_`` or ``-`` written as ``_``."""
    return f"{prefix}-{_HOOK_RE.sub('_', name)}" if name else prefix


def _panel() -> Any:
    """Panel, with the Plotly extension loaded (raises a UsageError naming the extra when
    Panel is not installed)."""
    try:
        import panel as pn
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise UsageError("the workbench needs Panel: pip install 'forcegen[web]'") from exc
    if "plotly" not in getattr(pn.extension, "_loaded_extensions", []):
        pn.extension("plotly")
    return pn


# --- small helpers -------------------------------------------------------------------------


def _primary(pn: Any) -> dict[str, str]:
    """The keyword that makes a button the primary one (``color`` from Panel 1.8)."""
    return {"color" if "color" in pn.widgets.Button.param else "button_type": "primary"}


def _widget(cls: Any, *, label: str, **kwargs: Any) -> Any:
    """A Panel widget with its label: ``label`` where the installed Panel has it (1.8 and
    later deprecate ``name`` for it), else ``name``."""
    key = "label" if "label" in cls.param else "name"
    return cls(**{key: label}, **kwargs)


def number_in(text: str) -> float | None:
    """The number a value's text begins with (``2%/mo`` is 2, ``4,500`` is 4500), or
    ``None`` when it does not begin with one."""
    m = _NUMBER_RE.match(text)
    if m is None:
        return None
    return float(m.group(1).replace(",", "") + (m.group(2) or "") + m.group(3))


def with_number(text: str, value: float, unit: str = "") -> str:
    """``text`` with the number it begins with replaced by ``value``, so that what follows
    it (its unit, as the user wrote it) is kept: ``with_number("2%/mo", 2.5)`` is
    ``2.5%/mo``. Text that does not begin with a number becomes the value and ``unit``."""
    shown = f"{value:.6g}"
    m = _NUMBER_RE.match(text)
    if m is None:
        return f"{shown} {unit}".strip() if unit not in ("people", "") else shown
    return shown + text[m.end() :]


def _after_number(text: str) -> str:
    """What follows the number a value's text begins with (its unit, as written)."""
    m = _NUMBER_RE.match(text)
    return text[m.end() :].strip() if m else text.strip()


def _cell(value: Any) -> Any:
    """A table cell: lists and tuples joined by commas, ``None`` as empty text."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _same_frame(a: Any, b: Any) -> bool:
    """Whether two tables (or ``None``) show the same thing, so that a pane keeps its own."""
    if a is None or b is None:
        return a is b
    return bool(a.shape == b.shape and list(a.columns) == list(b.columns) and a.equals(b))


def _frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([{k: _cell(v) for k, v in row.items()} for row in rows]).fillna("")


def _message(exc: BaseException) -> str:
    """What the page says about an error: the problems of a ScenarioError one per line,
    a UsageError's message, and for anything else its kind and message (never a
    traceback)."""
    if isinstance(exc, ScenarioError):
        return "\n".join(f"- `{p}`" for p in exc.problems) or str(exc)
    if isinstance(exc, UsageError):
        return str(exc)
    return f"internal error ({type(exc).__name__}): {exc}"


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """A page action whose errors go to the page's alert instead of escaping; the busy
    indicator is on while it works."""

    @wraps(method)
    def run(self: Workbench, *args: Any, **kwargs: Any) -> None:
        self.busy.value = True
        try:
            method(self, *args, **kwargs)
        except Exception as exc:  # every error is shown, never raised into the server
            self.fail(_message(exc))
        finally:
            self.busy.value = False

    return run


def _quietly_guarded(method: Callable[..., None]) -> Callable[..., None]:
    """A page action whose errors go to the page's alert instead of escaping, that sets the
    busy indicator itself, in the messages that carry its other changes to the browser
    (each message costs the browser some work, while the server wants the machine's cores
    for the engine)."""

    @wraps(method)
    def run(self: Workbench, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception as exc:  # every error is shown, never raised into the server
            with self.pn.io.hold():
                self.fail(_message(exc))
                self.busy.value = False

    return run


# --- charts in the page ----------------------------------------------------------------------

DAILY_POINTS = 366
"""Up to this many dates a chart over time is drawn day by day; beyond it, week by week
(and beyond 366 weeks, on as many dates as it takes to stay under this many). Only the
page thins its charts: the report and the results keep every day."""
ANSWERING = ("coverage", "strength")
"""The charts the results tab shows at once (by :attr:`Chart.name`); the others are drawn in
tabs of their own when the user opens them."""
PROGRESS_EVERY = 1.0
"""Seconds between two lines of progress in the status (the first comes this long after the
work began): each line is a message, for which the browser lays out the page again."""
MORE = "More charts"
"""The first tab of the other charts: a line saying what the tabs hold, so that none of
them is drawn before it is asked for."""


def _thinned_step(n: int) -> int:
    if n <= DAILY_POINTS:
        return 1
    if n <= 7 * DAILY_POINTS:
        return 7
    return math.ceil(n / DAILY_POINTS)


def _numbers(values: list[Any]) -> bool:
    return all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    )


def _lean(trace: Mapping[str, Any]) -> dict[str, Any]:
    """A trace for the page: its numbers as float32 arrays (sent in binary, and only when
    they change), its dates as arrays too, and a long time series thinned to one point a
    week, always keeping the first and the last."""
    import numpy as np

    out = dict(trace)
    x = out.get("x")
    columns = [k for k in ("x", "y", "customdata") if isinstance(out.get(k), list)]
    n = len(x) if isinstance(x, list) else 0
    step = _thinned_step(n)
    keep = None
    if step > 1 and all(len(out[k]) == n for k in columns):
        keep = list(range(0, n, step))
        if keep[-1] != n - 1:
            keep.append(n - 1)
    for k in columns:
        values = out[k]
        if keep is not None:
            values = [values[i] for i in keep]
        if values and _numbers(values):
            out[k] = np.array([np.nan if v is None else v for v in values], dtype=np.float32)
        elif values and all(isinstance(v, str) for v in values):
            out[k] = np.array(values, dtype=object)
        else:
            out[k] = values
    return out


def page_figures(chart: Any) -> list[dict[str, Any]]:
    """The chart's Plotly figures as the page draws them: :func:`_lean` traces, and a layout
    that sizes the plot to its pane (``autosize``). Without it Plotly draws a new figure at
    its default width, and the page then draws every plot twice more to fit its pane."""
    from forcegen.report.interactive import figures

    return [
        {
            "data": [_lean(t) for t in figure["data"]],
            "layout": {**figure["layout"], "autosize": True},
            "config": figure.get("config", {}),
        }
        for figure in figures(chart)
    ]


class _Drawn:
    """A figure as Panel's Plotly pane reads one (its ``_data`` and ``_layout``): the traces
    as :func:`page_figures` makes them, the layout with Plotly's default template, as
    :class:`plotly.graph_objects.Figure` would give them. Building that Figure validates
    every trace, which takes most of the time an update spends in the pane (a tenth of a
    second for the results' twelve plots); the page's traces come from the report's chart
    descriptions, whose figures the tests check, and only the layout is validated here."""

    def __init__(self, data: Iterable[Mapping[str, Any]], layout: Mapping[str, Any]) -> None:
        import plotly.graph_objects as go

        self._data = [dict(t) for t in data]
        self._layout = go.Figure(layout=layout)._layout


_PANE: list[Any] = []


def _pane_class(pn: Any) -> Any:
    """Panel's Plotly pane, with figures given as ``{"data", "layout"}`` read as
    :class:`_Drawn` (where the installed Panel reads figures as the pane expects)."""
    if not _PANE:
        if not hasattr(pn.pane.Plotly, "_plotly_json_wrapper"):  # another Panel: its own way
            _PANE.append(pn.pane.Plotly)
            return _PANE[0]

        class PagePlotly(pn.pane.Plotly):  # type: ignore[misc, name-defined]
            """A Plotly pane that does not validate the page's traces again."""

            priority = 0  # never chosen by pn.panel for other objects

            def _to_figure(self, obj: Any) -> Any:
                if isinstance(obj, dict) and isinstance(obj.get("data"), list):
                    return _Drawn(obj["data"], obj.get("layout") or {})
                return super()._to_figure(obj)

        _PANE.append(PagePlotly)
    return _PANE[0]


def _plotly(figure: Mapping[str, Any], name: str, chart: str, pn: Any) -> Any:
    return _pane_class(pn)(
        {"data": figure["data"], "layout": figure["layout"]},
        config=figure.get("config", {}),
        name=name,
        css_classes=[hook("fg-chart", chart)],
        sizing_mode="stretch_width",
    )


def _panes_of(chart: Any, drawn: list[dict[str, Any]], pn: Any) -> list[Any]:
    """A chart's panes: its title, one Plotly pane per figure, an alert per warning."""
    panes: list[Any] = [pn.pane.Markdown(f"#### {chart.title}")]
    panes += [_plotly(f, f"{chart.name}-{n}", chart.name, pn) for n, f in enumerate(drawn)]
    panes += [pn.pane.Alert(w, alert_type="warning") for w in chart.warnings]
    return panes


class _Drawing:
    """Charts drawn in panes: their shape (names, titles, figures and warnings), the panes
    that show them and, among those, the Plotly panes, figure by figure."""

    def __init__(self) -> None:
        self.shape: tuple[Any, ...] | None = None
        self.panes: list[Any] = []
        self.plots: list[Any] = []

    def update(self, charts: list[Any]) -> list[list[dict[str, Any]]] | None:
        """Set each Plotly pane's figure to the new charts' if their shape is the one drawn
        (returns ``None``); else the new charts' figures, to draw in new panes."""
        drawn = [page_figures(c) for c in charts]
        shape = tuple(
            (c.name, c.title, len(d), tuple(c.warnings)) for c, d in zip(charts, drawn, strict=True)
        )
        if shape == self.shape:
            figures = [f for d in drawn for f in d]
            for pane, figure in zip(self.plots, figures, strict=True):
                pane.object = {"data": figure["data"], "layout": figure["layout"]}
            return None
        self.shape = shape
        return drawn


class ChartPanes:
    """A column of charts that a new run updates in place.

    The first :meth:`show` builds a pane per figure; a later one whose charts have the same
    shape (names, titles, panels and warnings) sets each Plotly pane's figure, so that the
    browser redraws the plots it has (``Plotly.react``) instead of building new ones. With
    ``lazy``, only the :data:`ANSWERING` charts are in the column itself; the others sit in
    tabs (``pn.Tabs(dynamic=True)``) that the browser draws when one is opened. The two
    parts can be drawn one after the other (:meth:`show_first`, then :meth:`show_later`),
    so that the charts in sight are sent before the others are computed.

    Parameters
    ----------
    column
        The column the charts go in (the page's hook is on it).
    lazy
        Whether the charts other than coverage and strength go into tabs drawn on demand.
    """

    def __init__(self, column: Any, pn: Any, *, lazy: bool = False) -> None:
        self.column = column
        self.pn = pn
        self.lazy = lazy
        self.first = _Drawing()
        self.later = _Drawing()
        self.more: Any = None

    @property
    def plots(self) -> list[Any]:
        """Every Plotly pane, in the order of the charts."""
        return [*self.first.plots, *self.later.plots]

    def clear(self) -> None:
        """Take every chart out."""
        self.column.objects = []
        self.first, self.later, self.more = _Drawing(), _Drawing(), None

    def show(self, charts: Iterable[Any]) -> None:
        """Draw ``charts``: in the panes there are if their shape is the same, in new ones
        otherwise."""
        charts = list(charts)
        if not self.lazy:
            self.show_first(charts)
            return
        self.show_first([c for c in charts if c.name in ANSWERING])
        self.show_later([c for c in charts if c.name not in ANSWERING])

    def show_first(self, charts: Iterable[Any]) -> None:
        """Draw the charts of the column itself (with ``lazy``, the :data:`ANSWERING` ones)."""
        charts = list(charts)
        drawn = self.first.update(charts)
        if drawn is None:
            return
        pn = self.pn
        panes: list[Any] = []
        for chart, figures in zip(charts, drawn, strict=True):
            panes += _panes_of(chart, figures, pn)
        self.first.panes = panes
        self.first.plots = [p for p in panes if isinstance(p, pn.pane.Plotly)]
        self._place()

    def show_later(self, charts: Iterable[Any]) -> None:
        """Draw the charts of the tabs (with ``lazy``, the charts other than
        :data:`ANSWERING`), each in a tab of its own."""
        charts = list(charts)
        drawn = self.later.update(charts)
        if drawn is None:
            return
        pn = self.pn
        tabs = [
            pn.Column(*_panes_of(c, d, pn)[1:], name=c.title, sizing_mode="stretch_width")
            for c, d in zip(charts, drawn, strict=True)
        ]
        self.later.panes = tabs
        self.later.plots = [p for tab in tabs for p in tab.objects if isinstance(p, pn.pane.Plotly)]
        self.more = None
        if tabs:
            hint = pn.pane.Markdown(
                "The tabs beside this one hold the other charts ("
                + ", ".join(t.name.lower() for t in tabs)
                + "); each is drawn when opened."
            )
            self.more = pn.Tabs(
                pn.Column(hint, name=MORE),
                *tabs,
                dynamic=True,
                sizing_mode="stretch_width",
                css_classes=[hook("fg-more-charts")],
            )
        self._place()

    def _place(self) -> None:
        self.column.objects = [*self.first.panes, *([self.more] if self.more else [])]


SPINNER = """
.fg-spin { width: 14px; height: 14px; margin: 3px; border: 3px solid #d0d0d0;
           border-top-color: #0072B2; border-radius: 50%; animation: fg-spin 0.8s linear infinite; }
@keyframes fg-spin { to { transform: rotate(360deg); } }
"""


class Busy:
    """The busy indicator: a spinner drawn in an HTML pane of fixed size while ``value`` is
    true. Panel's LoadingSpinner changes its CSS classes to turn, and a change of classes
    makes the browser lay out the whole page again (and Panel then redraws every plot in
    it, a fifth of a second for the results' charts); a change of an HTML pane's text does
    not."""

    def __init__(self, pn: Any) -> None:
        self.pane = pn.pane.HTML(
            "",
            width=26,
            height=26,
            margin=(12, 4),
            stylesheets=[SPINNER],
            css_classes=[hook("fg-busy")],
            name="busy",
        )

    @property
    def value(self) -> bool:
        """Whether the spinner turns."""
        return bool(self.pane.object)

    @value.setter
    def value(self, on: bool) -> None:
        text = '<div class="fg-spin" title="working"></div>' if on else ""
        if self.pane.object != text:
            self.pane.object = text


# --- the page ------------------------------------------------------------------------------


class Workbench:
    """One page of the workbench and the session behind it.

    Parameters
    ----------
    folder
        The folder of scenarios: every file the page reads or writes is under it.
    scenario
        The scenario to open first (a name under the folder); the first of the folder's
        scenarios when not given.
    """

    def __init__(self, folder: Folder | str | Path, *, scenario: str | None = None) -> None:
        from forcegen.web.files import Folder
        from forcegen.web.session import Session

        pn = self.pn = _panel()
        self.folder = folder if isinstance(folder, Folder) else Folder(folder)
        self.session: Session = Session(self.folder)
        self.finished = 0  # runs finished on this page
        self._progressed = 0.0  # when progress was last shown (time.perf_counter)
        self.outcome: Outcome | None = None
        self.controls: dict[str, Any] = {}  # Input.path -> its widget (select or text box)
        self.sliders: dict[str, Any] = {}

        # header
        names = self.folder.scenarios()
        self.picker = _widget(
            pn.widgets.Select,
            label="Scenario",
            options=names,
            css_classes=[hook("fg-scenario")],
            width=320,
        )
        self.errors = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=[hook("fg-errors")]
        )
        # of fixed size: a status that grew or shrank with its text would make the browser
        # lay out the page again, and redraw every plot, each time it changes
        self.status = pn.pane.Markdown(
            "", css_classes=[hook("fg-status")], name="status", width=460, height=40
        )
        self.busy = Busy(pn)

        # the scenario
        self.question = pn.pane.Markdown("", css_classes=[hook("fg-question")])
        self.claims = pn.pane.DataFrame(None, index=False, css_classes=[hook("fg-claims")])
        self.assumptions = pn.pane.DataFrame(
            None, index=False, css_classes=[hook("fg-assumptions")]
        )

        # inputs
        self.inputs_box = pn.Column(
            name="inputs", sizing_mode="stretch_width", height=620, scroll=True
        )
        self.runs = _widget(
            pn.widgets.IntInput,
            label="Runs",
            value=200,
            start=1,
            step=50,
            width=110,
            css_classes=[hook("fg-runs")],
        )
        self.seed = _widget(
            pn.widgets.IntInput,
            label="Seed",
            value=0,
            start=0,
            width=110,
            css_classes=[hook("fg-seed")],
        )
        self.deterministic = _widget(
            pn.widgets.Checkbox,
            label="Deterministic (one run at the centre)",
            value=False,
            css_classes=[hook("fg-deterministic")],
        )
        self.run_button = _widget(
            pn.widgets.Button, label="Run", **_primary(pn), css_classes=[hook("fg-run")]
        )

        # results
        self.headline = pn.pane.DataFrame(None, index=False, css_classes=[hook("fg-headline")])
        self.answers = pn.pane.Markdown("", css_classes=[hook("fg-answers")])
        self.observations = pn.pane.DataFrame(
            None, index=False, visible=False, css_classes=[hook("fg-observations")]
        )
        self.charts = pn.Column(css_classes=[hook("fg-charts")], sizing_mode="stretch_width")
        self.results_charts = ChartPanes(self.charts, pn, lazy=True)

        # baseline
        self.pin_button = _widget(
            pn.widgets.Button, label="Pin as baseline", css_classes=[hook("fg-pin")], disabled=True
        )
        self.difference = pn.Column(
            css_classes=[hook("fg-difference")], sizing_mode="stretch_width"
        )
        self.difference_charts = ChartPanes(pn.Column(sizing_mode="stretch_width"), pn)

        # sensitivity
        self.output = _widget(
            pn.widgets.Select, label="Output", options=[], css_classes=[hook("fg-output")]
        )
        self.sensitivity_button = _widget(
            pn.widgets.Button, label="Sensitivity", css_classes=[hook("fg-sensitivity")]
        )
        self.tornado = pn.Column(css_classes=[hook("fg-tornado")], sizing_mode="stretch_width")

        # export
        self.export_name = _widget(
            pn.widgets.TextInput,
            label="Name",
            value=EXPORT_DEFAULT,
            css_classes=[hook("fg-export-name")],
        )
        self.export_buttons = {
            kind: _widget(
                pn.widgets.Button,
                label=label,
                css_classes=[hook(f"fg-export-{kind}")],
                disabled=True,
            )
            for kind, label in (
                ("report", "HTML report"),
                ("results", "Results folder"),
                ("variant", "Variant file"),
            )
        }
        self.export_message = pn.pane.Markdown("", css_classes=[hook("fg-export-message")])

        # store
        self.store = _widget(
            pn.widgets.Select, label="Store", options=[], css_classes=[hook("fg-store")]
        )
        self.factor = _widget(
            pn.widgets.Select, label="Factor", options=[], css_classes=[hook("fg-factor")]
        )
        self.store_outcome = _widget(
            pn.widgets.Select, label="Outcome", options=[], css_classes=[hook("fg-outcome")]
        )
        self.where = _widget(
            pn.widgets.TextInput,
            label="Where (a box to discover)",
            placeholder="coverage:front:mean < 0.9",
            css_classes=[hook("fg-where")],
        )
        self.store_button = _widget(
            pn.widgets.Button, label="Show", css_classes=[hook("fg-store-show")]
        )
        self.scatter = pn.pane.Plotly(None, css_classes=[hook("fg-scatter")], visible=False)
        self.parcoords = pn.pane.Plotly(None, css_classes=[hook("fg-parcoords")], visible=False)
        self.box = pn.pane.Markdown("", css_classes=[hook("fg-box")])
        self.box_charts = pn.Column(
            css_classes=[hook("fg-box-charts")], sizing_mode="stretch_width"
        )
        self._store_view: dict[str, Any] | None = None

        self.picker.param.watch(lambda e: self.open(e.new), "value")
        self.run_button.on_click(lambda _e: self.run())
        self.pin_button.on_click(lambda _e: self.pin())
        self.sensitivity_button.on_click(lambda _e: self.screen())
        for kind, button in self.export_buttons.items():
            button.on_click(lambda _e, kind=kind: self.export(kind))
        self.store_button.on_click(lambda _e: self.show_store())
        self.store.param.watch(lambda _e: self.load_store(), "value")

        self.view = self._layout()
        self.refresh_stores()
        first = scenario if scenario is not None else (names[0] if names else None)
        if first is not None:
            if first in names:
                self.picker.value = first  # opens it through the watcher
                if self.session.name != first:
                    self.open(first)
            else:
                self.open(first)
        else:
            self.fail(f"no scenario (*.yaml) in {self.folder.root}")

    # --- layout ---------------------------------------------------------------------------

    def _layout(self) -> Any:
        pn = self.pn
        side = pn.Column(
            pn.pane.Markdown("### Inputs"),
            self.inputs_box,
            pn.Row(self.runs, self.seed),
            self.deterministic,
            pn.Row(self.run_button, self.pin_button),
            width=420,
            name="controls",
        )
        scenario_tab = pn.Column(
            self.question,
            pn.pane.Markdown("#### Claims"),
            self.claims,
            pn.pane.Markdown("#### Uncited assumptions"),
            self.assumptions,
            name="Scenario",
        )
        results_tab = pn.Column(
            self.answers,
            self.headline,
            self.observations,
            self.charts,
            name="Results",
        )
        baseline_tab = self.baseline_tab = pn.Column(
            pn.pane.Markdown(
                "Pin a run as the baseline; each later run is compared with it run for run "
                "(same seed: common random numbers)."
            ),
            self.difference,
            name="Baseline",
        )
        sensitivity_tab = pn.Column(
            pn.Row(self.output, self.sensitivity_button), self.tornado, name="Sensitivity"
        )
        export_tab = pn.Column(
            pn.pane.Markdown(
                "Files are written under the folder and never overwrite one that exists."
            ),
            self.export_name,
            pn.Row(*self.export_buttons.values()),
            self.export_message,
            name="Export",
        )
        store_tab = pn.Column(
            pn.Row(self.store, self.factor, self.store_outcome),
            pn.Row(self.where, self.store_button),
            self.box,
            self.box_charts,
            self.scatter,
            self.parcoords,
            name="Store",
        )
        tabs = pn.Tabs(
            scenario_tab,
            results_tab,
            baseline_tab,
            sensitivity_tab,
            export_tab,
            store_tab,
            dynamic=False,
            sizing_mode="stretch_width",
        )
        self.tabs = tabs
        header = pn.Row(
            pn.pane.Markdown("## forcegen workbench"), self.picker, self.busy.pane, self.status
        )
        return pn.Column(
            header,
            self.errors,
            pn.Row(side, tabs, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            name="forcegen workbench",
        )

    # --- messages -------------------------------------------------------------------------

    def fail(self, text: str) -> None:
        """Show an error message in the page's alert."""
        self.errors.object = text
        self.errors.visible = True
        self.status.object = "error"

    def clear(self) -> None:
        """Hide the alert."""
        self.errors.object = ""
        self.errors.visible = False

    def progress(self, done: int, total: int | None = None) -> None:
        """The progress text of long work (a ``progress(done, total)`` callback), shown at
        most every :data:`PROGRESS_EVERY` seconds: each line shown is a message to the
        page, and a run of under a second needs none."""
        now = time.perf_counter()
        if now - self._progressed < PROGRESS_EVERY:
            return
        self._progressed = now
        share = f" ({done / total:.0%})" if total else ""
        self.status.object = f"working: {done:,}{f' of {total:,}' if total else ''}{share}"

    # --- the scenario ---------------------------------------------------------------------

    @_guarded
    def open(self, name: str) -> None:
        """Open a scenario: its brief and its inputs, or its located problems."""
        self.clear()
        self.outcome = None
        self._clear_results()
        self.status.object = f"opening {name}"
        problems = self.session.open(name)
        if problems:
            self.inputs_box.objects = []
            self.question.object = ""
            self.claims.object = None
            self.assumptions.object = None
            self.run_button.disabled = True
            self.fail(f"**{name}** cannot be run:\n\n" + "\n".join(f"- `{p}`" for p in problems))
            return
        self.run_button.disabled = False
        self._show_brief()
        self._show_inputs(self.session.inputs())
        self._show_outputs()
        self.status.object = f"opened {name}"

    def _clear_results(self) -> None:
        self.headline.object = None
        self.answers.object = ""
        self.observations.object = None
        self.observations.visible = False
        self.results_charts.clear()
        self.difference.objects = []
        self.difference_charts.clear()
        self.tornado.objects = []
        self.pin_button.disabled = True
        for button in self.export_buttons.values():
            button.disabled = True

    def _show_brief(self) -> None:
        brief = self.session.brief()
        question = brief.get("question") or ""
        self.question.object = f"**Question.** {question}" if question else ""
        claims = [
            {k: c.get(k, "") for k in CLAIM_COLUMNS if k in c} for c in brief.get("claims") or []
        ]
        self.claims.object = _frame(claims) if claims else None
        assumptions = brief.get("assumptions") or []
        rows = [a if isinstance(a, Mapping) else {"assumption": a} for a in assumptions]
        self.assumptions.object = _frame(rows) if rows else None

    def _show_inputs(self, inputs: list[Input]) -> None:
        pn = self.pn
        self.controls, self.sliders = {}, {}
        rows = []
        for i in inputs:
            if i.kind == "choice":
                name = i.path.removeprefix("choice:")
                widget = _widget(
                    pn.widgets.Select,
                    label=i.label,
                    options=list(i.options),
                    value=i.current or (i.options[0] if i.options else None),
                    css_classes=[hook("fg-choice", name)],
                    sizing_mode="stretch_width",
                )
                self.controls[i.path] = widget
                rows.append(widget)
                continue
            text = _widget(
                pn.widgets.TextInput,
                label=f"{i.label}" + (f" ({i.unit})" if i.unit else ""),
                value=i.current,
                css_classes=[hook("fg-value", i.path)],
                width=150,
            )
            self.controls[i.path] = text
            parts: list[Any] = []
            if i.low is not None and i.high is not None and i.high > i.low:
                start = number_in(i.current)
                value = start if start is not None and i.low <= start <= i.high else i.low
                slider = _widget(
                    pn.widgets.FloatSlider,
                    label="",
                    start=i.low,
                    end=i.high,
                    step=i.step or (i.high - i.low) / 100,
                    value=value,
                    css_classes=[hook("fg-slider", i.path)],
                    width=220,
                )
                self._link(slider, text, i.unit)
                self.sliders[i.path] = slider
                parts.append(slider)
            parts.append(text)
            source = (
                f"cites {', '.join(f'{c} ({g})' for c, g in zip(i.cites, i.grades, strict=False))}"
                if i.cites
                else "assumption"
            )
            about = f"{i.distribution}; {source}" if i.distribution else source
            rows.append(
                pn.Column(
                    pn.Row(*parts),
                    pn.pane.Markdown(about, css_classes=[hook("fg-dist", i.path)], margin=(0, 10)),
                )
            )
        self.inputs_box.objects = rows

    def _link(self, slider: Any, text: Any, unit: str) -> None:
        """Keep a value's slider and its text box together: moving the slider rewrites the
        number in the text (keeping the unit as written); typing a number in the text
        moves the slider when it is in the slider's range."""
        busy = [False]

        def from_slider(event: Any) -> None:
            if not busy[0]:
                busy[0] = True
                try:
                    text.value = with_number(text.value, event.new, unit)
                finally:
                    busy[0] = False

        def from_text(event: Any) -> None:
            value = number_in(event.new or "")
            if busy[0] or value is None or not slider.start <= value <= slider.end:
                return
            if _after_number(event.new) != _after_number(event.old or ""):
                return  # another unit than the slider's: the slider stays
            busy[0] = True
            try:
                slider.value = value
            finally:
                busy[0] = False

        slider.param.watch(from_slider, "value")
        text.param.watch(from_text, "value")

    def _show_outputs(self) -> None:
        options = list(self.session.outputs())
        self.output.options = options
        if options:
            self.output.value = options[0]

    # --- runs -----------------------------------------------------------------------------

    def settings(self) -> Any:
        """The page's settings: every choice and every value's text as they stand."""
        from forcegen.web.session import Settings

        choices = {
            path.removeprefix("choice:"): str(w.value)
            for path, w in self.controls.items()
            if path.startswith("choice:")
        }
        values = {
            path: str(w.value).strip()
            for path, w in self.controls.items()
            if not path.startswith("choice:")
        }
        if self.runs.value is None or self.seed.value is None:
            raise UsageError("runs and seed must be whole numbers")
        return Settings(
            choices=choices,
            values=values,
            runs=int(self.runs.value),
            seed=int(self.seed.value),
            deterministic=bool(self.deterministic.value),
        )

    @_quietly_guarded
    def run(self) -> None:
        """Run the scenario with the page's settings and draw what comes back.

        The page hears of a run in three messages: its start (the busy indicator and the
        status); the charts in sight, which the browser draws while the server computes
        the rest; and all else in sight (the headline, answers and observations, the
        status saying done). What is out of sight (the charts in closed tabs, the
        difference from the baseline when its tab is closed) follows on the server's next
        turn, before any other event of the page."""
        with self.pn.io.hold():
            self.busy.value = True
            self.clear()
            if self.session.scenario is None:
                raise UsageError("open a scenario that loads before running it")
            settings = self.settings()
            self.status.object = f"running {settings.runs} runs"
        self._progressed = time.perf_counter()
        outcome = self.session.run(settings, progress=self.progress)
        self.outcome = outcome
        self.finished += 1
        baseline = self.tabs.active == self.tabs.objects.index(self.baseline_tab)
        more = self.results_charts.more
        tabs = more is not None and more.active != 0
        with self.pn.io.hold():  # the charts in sight: the browser draws them meanwhile
            self.results_charts.show_first(outcome.answering)
        with self.pn.io.hold():  # and all else in sight, with the status saying done
            self._show_outcome(outcome)
            if tabs:
                self._show_other_charts(outcome)
            if baseline:
                self._show_difference()
            self.pin_button.disabled = False
            for button in self.export_buttons.values():
                button.disabled = False
            runs = outcome.settings.runs if not outcome.settings.deterministic else 1
            s = "s" if runs != 1 else ""
            self.status.object = f"done: run {self.finished} ({runs} run{s})"
            self.busy.value = False
        self._next(self._out_of_sight, outcome, not tabs, not baseline)

    def _next(self, work: Callable[..., None], *args: Any) -> None:
        """Do ``work`` once what the page changed so far has gone to the browser: on the
        server's next turn (the browser draws meanwhile), or at once without a server."""
        doc = self.pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_next_tick_callback(lambda: work(*args))
        else:
            work(*args)

    @_quietly_guarded
    def _out_of_sight(self, outcome: Outcome, charts: bool, difference: bool) -> None:
        """Draw the parts of a run that were out of sight when it was done."""
        if self.outcome is not outcome:
            return  # another scenario was opened meanwhile
        with self.pn.io.hold():
            if charts:
                self._show_other_charts(outcome)
            if difference:
                self._show_difference()

    def _show_other_charts(self, outcome: Outcome) -> None:
        self.results_charts.show_later([c for c in outcome.charts if c.name not in ANSWERING])

    def _show_outcome(self, outcome: Outcome) -> None:
        headline = _frame(outcome.headline) if outcome.headline else None
        if not _same_frame(self.headline.object, headline):
            self.headline.object = headline
        lines = [f"- {a.get('sentence') or a.get('statement', '')}" for a in outcome.answers]
        answers = "#### Bottom line\n\n" + "\n".join(lines) if lines else ""
        if self.answers.object != answers:
            self.answers.object = answers
        if outcome.observations:
            observed = _frame(outcome.observations)
            if not _same_frame(self.observations.object, observed):
                self.observations.object = observed
            self.observations.visible = True
        else:
            self.observations.object = None
            self.observations.visible = False

    def _chart_panes(self, charts: Iterable[Any], pn: Any) -> list[Any]:
        """New panes for ``charts``: each chart's title, its figures and its warnings."""
        panes: list[Any] = []
        for chart in charts:
            panes += _panes_of(chart, page_figures(chart), pn)
        return panes

    # --- baseline -------------------------------------------------------------------------

    @_guarded
    def pin(self) -> None:
        """Make the last run the baseline."""
        self.session.pin()
        self.status.object = f"pinned run {self.finished} as the baseline"
        self._show_difference()

    def _show_difference(self) -> None:
        pn = self.pn
        diff = self.session.difference()
        if diff is None:
            unpinned = "No baseline pinned."
            shown = self.difference.objects
            if not (len(shown) == 1 and getattr(shown[0], "object", None) == unpinned):
                self.difference.objects = [pn.pane.Markdown(unpinned)]
            return
        parts: list[Any] = []
        rows = diff.get("rows") or []
        if rows:
            parts.append(pn.pane.Markdown("#### Current minus baseline, run by run"))
            parts.append(pn.pane.DataFrame(_frame(rows), index=False))
        inputs = diff.get("inputs") or []
        if inputs:
            parts.append(pn.pane.Markdown("#### What the current configuration states differently"))
            parts.append(
                pn.pane.DataFrame(
                    _frame([{k: v for k, v in r.items() if k != "variant"} for r in inputs]),
                    index=False,
                )
            )
        elif not rows:
            parts.append(pn.pane.Markdown("The current configuration is the baseline's."))
        self.difference_charts.show(diff.get("charts", []))
        # the chart panes go in as they are (the same objects run after run)
        self.difference.objects = [*parts, *self.difference_charts.column.objects]

    # --- sensitivity ----------------------------------------------------------------------

    @_guarded
    def screen(self) -> None:
        """A sensitivity screen of the chosen output: the tornado, traced to claims."""
        if self.session.scenario is None:
            raise UsageError("open a scenario that loads first")
        output = self.output.value
        if not output:
            raise UsageError("pick an output for the sensitivity screen")
        self.clear()
        self.status.object = f"screening {output}"
        summary, charts = self.session.sensitivity(output, progress=self.progress)
        pn = self.pn
        parts: list[Any] = []
        sentence = summary.get("sentence") or summary.get("headline")
        if sentence:
            parts.append(pn.pane.Markdown(str(sentence)))
        parts += self._chart_panes(charts, pn)
        self.tornado.objects = parts
        self.status.object = f"done: sensitivity of {output}"

    # --- export ---------------------------------------------------------------------------

    @_guarded
    def export(self, kind: str) -> None:
        """Write the report, the results folder or the variant file under the name in the
        export box; never over a file that exists (the page then proposes a free name)."""
        name = self.export_name.value.strip()
        if not name:
            raise UsageError("type a name to export under")
        if kind == "variant" and not name.endswith((".yaml", ".yml")):
            name += ".yaml"
        elif kind == "report" and not name.endswith((".html", ".htm")):
            name += ".html"
        write = {
            "report": self.session.export_report,
            "results": self.session.export_results,
            "variant": self.session.export_variant,
        }[kind]
        try:
            path = write(name)
        except UsageError as exc:
            try:
                free = self.folder.free_name(name)
            except Exception:  # a name refused outright has no free variant
                free = ""
            hint = f" (free: `{free}`)" if free and free != name else ""
            self.export_message.object = f"Not written: {exc}{hint}"
            raise
        try:
            shown = Path(path).resolve().relative_to(self.folder.root).as_posix()
        except ValueError:
            shown = str(path)
        self.export_message.object = f"Written: `{shown}`"
        self.status.object = f"exported {shown}"
        if kind == "variant":
            self.picker.options = self.folder.scenarios()

    # --- store ----------------------------------------------------------------------------

    def refresh_stores(self) -> None:
        """List the stores under the folder."""
        try:
            self.store.options = self.session.stores()
        except Exception as exc:  # the listing fails quietly into the alert
            self.fail(_message(exc))

    @_guarded
    def load_store(self) -> None:
        """Read the chosen store and offer its factors and outcomes."""
        name = self.store.value
        if not name:
            return
        view = self.session.store_view(name)
        self._store_view = view
        factors = view.get("factors")
        names = list(factors["name"]) if factors is not None and len(factors) else []
        summaries = view.get("summaries")
        outcomes = (
            [c for c in summaries.columns if c != "experiment"] if summaries is not None else []
        )
        self.factor.options = names
        self.store_outcome.options = outcomes
        if names:
            self.factor.value = names[0]
        if outcomes:
            self.store_outcome.value = next(
                (c for c in outcomes if c.endswith(":mean")), outcomes[0]
            )

    @_guarded
    def show_store(self) -> None:
        """Draw the scatter and the parallel coordinates, and discover the box of the
        ``where`` condition if one is given."""
        name = self.store.value
        if not name:
            raise UsageError(f"no run store (*.duckdb) under {self.folder.root}")
        where = self.where.value.strip() or None
        self.clear()
        self.status.object = f"reading {name}" + (" and discovering the box" if where else "")
        view = self.session.store_view(name, where)
        self._store_view = view
        if self.factor.value is None or self.store_outcome.value is None:
            self.load_store()
        self._draw_store(view)
        found = view.get("discovery") if where else None
        self.box.object = _box_text(found) if where else ""
        self.box_charts.objects = self._chart_panes(_box_charts(found), self.pn) if found else []
        self.status.object = f"done: store {name}"

    def _draw_store(self, view: Mapping[str, Any]) -> None:
        import pandas as pd

        experiments: pd.DataFrame = view["experiments"]
        summaries: pd.DataFrame = view["summaries"]
        factors: pd.DataFrame = view["factors"]
        table = experiments.merge(summaries, on="experiment", how="inner")
        x, y = self.factor.value, self.store_outcome.value
        if x not in table.columns or y not in table.columns:
            raise UsageError("pick a factor and an outcome of the store")
        self.scatter.object = {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": table[x].tolist(),
                    "y": pd.to_numeric(table[y], errors="coerce").tolist(),
                    "text": [f"experiment {e}" for e in table["experiment"]],
                    "marker": {"size": 7, "color": "#0072B2", "opacity": 0.7},
                    "hovertemplate": f"%{{text}}<br>{x}: %{{x}}<br>{y}: %{{y}}<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": f"{y} against {x}"},
                "xaxis": {"title": {"text": x}},
                "yaxis": {"title": {"text": y}},
                "height": 420,
                "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
            },
        }
        self.scatter.visible = True
        dimensions = []
        for row in factors.itertuples():
            column = table[row.name]
            if getattr(row, "kind", "value") == "choice":
                labels = sorted({str(v) for v in column})
                codes = {v: i for i, v in enumerate(labels)}
                dimensions.append(
                    {
                        "label": row.name,
                        "values": [codes[str(v)] for v in column],
                        "tickvals": list(range(len(labels))),
                        "ticktext": labels,
                    }
                )
            else:
                dimensions.append(
                    {"label": row.name, "values": pd.to_numeric(column, errors="coerce").tolist()}
                )
        outcome = pd.to_numeric(table[y], errors="coerce")
        dimensions.append({"label": y, "values": outcome.tolist()})
        self.parcoords.object = {
            "data": [
                {
                    "type": "parcoords",
                    "line": {"color": outcome.tolist(), "colorscale": "Viridis", "showscale": True},
                    "dimensions": dimensions,
                }
            ],
            "layout": {"height": 420, "margin": {"l": 80, "r": 80, "t": 60, "b": 30}},
        }
        self.parcoords.visible = True


def _box_text(data: Mapping[str, Any] | None) -> str:
    """The discovered box (``discover.json``) in words, with each limit and its claims."""
    from forcegen.report import discovery

    if data is None:
        return "No box was discovered."
    lines = [discovery.finding(data), ""]
    for f in discovery.restricted(data):
        lines.append(f"- {discovery.limit(f)}")
    return "\n".join(lines)


def _box_charts(data: Mapping[str, Any]) -> list[Any]:
    """The discovery's charts: the peeling trade-off and the chosen box."""
    from forcegen.report import discovery
    from forcegen.results_folder import DiscoverFile

    return discovery.charts(DiscoverFile.model_validate(data))


def build(folder: Folder | str | Path, *, scenario: str | None = None) -> pn.viewable.Viewable:
    """The workbench page on a folder of scenarios, with a fresh session of its own.

    Parameters
    ----------
    folder
        The folder whose scenarios the page offers; it reads and writes only under it.
    scenario
        The scenario to open first, by its name under the folder.

    Returns
    -------
    panel.viewable.Viewable
        The page. Its :class:`Workbench` is its ``workbench`` attribute.
    """
    bench = Workbench(folder, scenario=scenario)
    view = bench.view
    view.workbench = bench  # tests and notebooks reach the page's parts through it
    return view


def workbench(scenario: str | Path) -> pn.viewable.Viewable:
    """The workbench on one scenario file, for a notebook: the folder is the scenario's
    folder and the page opens the scenario first."""
    path = Path(scenario)
    if not path.is_file():
        raise UsageError(f"{scenario}: no such scenario file")
    return build(path.parent, scenario=path.name)
