"""Scenario discovery (``discover.json``) for people: the finding in words, its terminal
tables and its two charts.

The words (:func:`finding`, :func:`limit`) are shared by the terminal and the page. The
charts are :class:`~forcegen.report.charts.Chart` descriptions drawn by both backends:

* the trade-off chart: coverage against density along PRIM's peeling trajectory, each step
  a point, the chosen box marked and the density threshold drawn across;
* the box chart: each restricted value factor's limits in the box against its full range
  (as a share of that range, the limits written in the label in the units people write),
  and for each restricted choice, each option's share of experiments where the condition
  holds, kept options in blue, excluded ones in grey.

Imports nothing heavier than numpy (and rich, for the terminal), so ``forcegen discover``
stays quick to print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from forcegen.report import formats as fmt
from forcegen.report.charts import Bars, Chart, Intervals, Line, Panel, Series

if TYPE_CHECKING:
    from rich.console import Console

    from forcegen.results_folder import DiscoverFile

KEPT, EXCLUDED, RANGE, TRAJECTORY, CHOSEN, THRESHOLD = (
    "#0072B2",
    "#BBBBBB",
    "#BBBBBB",
    "#0072B2",
    "#D55E00",
    "#444444",
)

_OPS = {
    "<": "falls below",
    "<=": "is at most",
    ">": "exceeds",
    ">=": "is at least",
    "==": "equals",
    "!=": "differs from",
}
_STATS = {
    "mean": "mean across runs",
    "q05": "5% quantile across runs",
    "q50": "median across runs",
    "q95": "95% quantile across runs",
}


# --- words --------------------------------------------------------------------------------


def outcome_words(column: str) -> str:
    """A summary column in words: ``coverage:front-line:mean`` → ``Coverage of front-line
    (mean across runs)``; ``p_full:front-line`` → ``The probability that front-line is
    fully covered``."""
    parts = column.split(":")
    stat = ""
    if parts[-1] in _STATS and len(parts) > 2:
        stat = f" ({_STATS[parts[-1]]})"
        parts = parts[:-1]
    kind, rest = parts[0], parts[1:]
    if kind == "coverage" and rest:
        text = f"Coverage of {rest[0]}"
    elif kind == "p_full" and rest:
        text = f"The probability that {rest[0]} is fully covered"
    elif kind == "days_fully_covered" and rest:
        text = f"Days on which {rest[0]} is fully covered"
    elif kind == "lost" and len(rest) == 2:
        text = f"{rest[0]} {rest[1]}"
    elif kind == "people_end" and rest:
        text = f"{rest[0]}'s people at the end"
    else:
        text = column
    return text + stat


def _unit(column: str) -> str:
    if column.startswith("p_full:"):
        return "share"
    return fmt.figure_unit(column)


def _value(column: str, x: float) -> str:
    unit = _unit(column)
    if unit == "share":
        return fmt.percent(x, 1).replace(".0%", "%")
    return fmt.quantity(x, unit)


def _cites(f: Mapping[str, Any]) -> str:
    if f.get("uncited"):
        return "uncited assumption"
    pairs = [
        f"{c} ({g})" if g else c
        for c, g in zip(f["cites"], [*f["grades"], *[""] * len(f["cites"])], strict=False)
    ]
    return "cites " + ", ".join(pairs)


def limit(f: Mapping[str, Any]) -> str:
    """A restricted factor's limits in the box, as people write them: ``units[ru-bn].count
    ≤ 14 units``, ``... between 20 days and 45 days``, ``choice ru-in-belarus in {hur,
    ua-gur}``."""
    name = f["factor"]
    if f["kind"] == "choice":
        kept = [o["option"] for o in f.get("options", []) if o["kept"]]
        shown = name.removeprefix("choice:")
        return f"choice {shown} in {{{', '.join(kept)}}}"
    unit = f.get("measure") or ""
    lo, hi = f.get("box_low"), f.get("box_high")
    if lo is not None and hi is not None:
        return f"{name} between {fmt.quantity(lo, unit)} and {fmt.quantity(hi, unit)}"
    if hi is not None:
        return f"{name} ≤ {fmt.quantity(hi, unit)}"
    if lo is not None:
        return f"{name} ≥ {fmt.quantity(lo, unit)}"
    return f"{name} (restricted)"


def restricted(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The factors the chosen box restricts, most important first."""
    return [f for f in data["factors"] if f["restricted"]]


def finding(data: Mapping[str, Any]) -> str:
    """The discovery in an analyst's words: how often the condition holds, and the box
    that holds most of those experiments, each limit with the claims it cites."""
    n, k = data["experiments"], data["cases"]
    column = data["outcome"]
    head = (
        f"{outcome_words(column)} {_OPS[data['op']]} {_value(column, data['value'])} in "
        f"{k:,} of {n:,} experiments ({fmt.percent(k / n, 0)})."
    )
    box = restricted(data)
    share = fmt.percent(data["coverage"], 0)
    density = fmt.percent(data["density"], 0)
    if not box:
        return (
            f"{head} No box narrows it down: every box of the peeling trajectory that "
            f"reaches {fmt.percent(data['threshold'], 0)} density is the whole set of "
            "experiments."
        )
    limits = " and ".join(f"{limit(f)} ({_cites(f)})" for f in box)
    if data["chosen_by"] == "densest":
        lead = (
            f"No box reaches {fmt.percent(data['threshold'], 0)} density; the densest holds "
            f"{share} of them at {density} density"
        )
    else:
        picked = " (chosen with --box)" if data["chosen_by"] == "user" else ""
        lead = f"One box{picked} holds {share} of them at {density} density"
    mass = fmt.percent(data["mass"], 0)
    return f"{head} {lead} ({mass} of all experiments): {limits}."


def terminal(out: Console, data: Mapping[str, Any]) -> None:
    """The discovery on the terminal: the finding, the factors scored, and the peeling
    trajectory."""
    from rich.text import Text

    from forcegen.report.terminal import row, table

    out.print(Text(finding(data)))
    made = table(
        "Factors, by importance (extra trees)",
        ("factor", "importance", "in the box", "claims"),
        left=("factor", "in the box", "claims"),
    )
    for f in data["factors"]:
        row(
            made,
            f["factor"],
            fmt.number(f["importance"], 3),
            limit(f).removeprefix(f["factor"]).strip() if f["restricted"] else "",
            _cites(f).removeprefix("cites "),
        )
    out.print(made)
    steps = table(
        f"Peeling trajectory (chosen: step {data['chosen']})",
        ("step", "coverage", "density", "mass", "restricted"),
        left=("restricted",),
    )
    for s in data["trajectory"]:
        mark = " *" if s["step"] == data["chosen"] else ""
        row(
            steps,
            f"{s['step']}{mark}",
            fmt.percent(s["coverage"], 0),
            fmt.percent(s["density"], 0),
            fmt.percent(s["mass"], 0),
            ", ".join(s["restricted"]),
        )
    out.print(steps)


# --- charts -------------------------------------------------------------------------------


def _tradeoff(df: DiscoverFile) -> Chart:
    coverage = np.array([s.coverage for s in df.trajectory])
    density = np.array([s.density for s in df.trajectory])
    chosen = df.trajectory[df.chosen]
    series: list[Series] = [
        Line("peeling trajectory", coverage, density, TRAJECTORY, markers=True, hover=".0%"),
        Line(
            f"density threshold ({fmt.percent(df.threshold, 0)})",
            np.array([0.0, 1.0]),
            np.array([df.threshold, df.threshold]),
            THRESHOLD,
            dash="dash",
            width=1.0,
            hover=".0%",
        ),
        Line(
            f"chosen box (step {df.chosen})",
            np.array([chosen.coverage]),
            np.array([chosen.density]),
            CHOSEN,
            markers=True,
            width=0.0,
            hover=".0%",
        ),
    ]
    return Chart(
        "discover-tradeoff",
        "Scenario discovery: coverage against density",
        "Each point is a box of PRIM's peeling trajectory: coverage is the share of the "
        "experiments where the condition holds that the box contains, density the share of "
        "the box's experiments where it holds. Peeling moves from the whole set (right) "
        "towards smaller, denser boxes (left); the chosen box is marked.",
        (
            Panel(
                f"{df.condition}: {df.cases:,} of {df.experiments:,} experiments",
                "coverage",
                "density",
                tuple(series),
                y_range=(0.0, 1.0),
                height=3.2,
                y_format=".0%",
            ),
        ),
    )


def _box(df: DiscoverFile) -> Chart | None:
    panels = []
    values = [f for f in df.factors if f.restricted and f.kind == "value"]
    if values:
        labels, lows, highs = [], [], []
        for f in values:
            data = f.plain()
            low, high = f.low, f.high
            span = (high - low) if low is not None and high is not None and high > low else None
            if span is None:
                continue
            lo = f.box_low if f.box_low is not None else low
            hi = f.box_high if f.box_high is not None else high
            lows.append((lo - low) / span)
            highs.append((hi - low) / span)
            labels.append(
                f"{limit(data)}\nof {fmt.quantity(low, f.measure)} to "
                f"{fmt.quantity(high, f.measure)} · {_cites(data)}"
            )
        if labels:
            k = len(labels)
            panels.append(
                Panel(
                    "Value factors: the box within each factor's range",
                    "share of the factor's range",
                    "factor (claims it cites)",
                    (
                        Intervals("full range", np.zeros(k), np.ones(k), RANGE, alpha=0.9),
                        Intervals("the box", np.array(lows), np.array(highs), KEPT, alpha=0.9),
                    ),
                    categories=tuple(labels),
                    height=max(1.5, 0.8 + 0.5 * k),
                    y_format=".0%",
                )
            )
    for f in df.factors:
        if not (f.restricted and f.kind == "choice"):
            continue
        shares = np.array([o.share if o.share is not None else np.nan for o in f.options])
        kept = np.array([o.kept for o in f.options])
        name = f.factor.removeprefix("choice:")
        panels.append(
            Panel(
                f"Choice {name} · {_cites(f.plain())}",
                "share of the option's experiments where the condition holds",
                "option",
                (
                    Bars("kept in the box", np.where(kept, shares, np.nan), KEPT),
                    Bars("excluded", np.where(kept, np.nan, shares), EXCLUDED),
                ),
                categories=tuple(o.option for o in f.options),
                height=max(1.5, 0.8 + 0.4 * len(f.options)),
                y_format=".0%",
            )
        )
    if not panels:
        return None
    return Chart(
        "discover-box",
        "Scenario discovery: the chosen box",
        "The factors the chosen box restricts. Value factors: the box's limits (blue) within "
        "the factor's full range in the store (grey), as a share of that range, the limits "
        "written in the label. Choices: for each option, the share of its experiments where "
        "the condition holds; the box keeps the blue ones.",
        tuple(panels),
        suptitle=(
            f"Step {df.chosen}: {fmt.percent(df.coverage, 0)} coverage, "
            f"{fmt.percent(df.density, 0)} density, {fmt.percent(df.mass, 0)} of experiments"
        ),
    )


def charts(df: DiscoverFile) -> list[Chart]:
    """The trade-off chart and, if the chosen box restricts any factor, the box chart."""
    out = [_tradeoff(df)]
    box = _box(df)
    if box is not None:
        out.append(box)
    return out


def page(df: DiscoverFile) -> dict[str, Any]:
    """The page's section: the finding, and the factors as its table shows them."""
    data = df.plain()
    return {
        "finding": finding(data),
        "factors": [
            {
                "factor": f["factor"],
                "importance": fmt.number(f["importance"], 3),
                "box": limit(f) if f["restricted"] else "",
                "claims": _cites(f),
                "uncited": f["uncited"],
            }
            for f in data["factors"]
        ],
    }


__all__: Sequence[str] = ["charts", "finding", "limit", "outcome_words", "page", "terminal"]
