"""How figures are written for people: the one place that turns the numbers of a summary
into text, for the terminal (:mod:`forcegen.report.terminal`) and the HTML page
(:mod:`forcegen.report.page`) alike.

The summaries (``summary.json``, ``compare.json``, ``require.json``, ``rules.json``, ...)
keep numbers in canonical units: shares as fractions from 0 to 1, durations in days,
hazards as a probability per day, rates as people per day. Text shows them as people read
them:

- whole counts with thousands separators: ``9,163 people``;
- shares (coverage, shares of runs) as percentages: ``84.7%``; a difference of two shares
  in percentage points: ``+1.2 pp``;
- the deployed-to-dwell ratio as ``1:x``, days at rest per day deployed: ``1:2.00``;
- a hazard per month as a percentage (``2.1%/month``) and a rate of people per month
  (``6,000 people/month``), the way scenarios are usually written;
- a band across runs in brackets: ``[81.2%-88.0%]``.

Nothing here imports more than the standard library, so the terminal starts fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

MISSING = "–"
"""What a figure that cannot be computed (``null`` in JSON) is shown as."""

MONTH_DAYS = 30
"""Days in the month that hazards and rates are shown per (as in scenario files)."""

UNITS = {
    "people": "people",
    "units": "units",
    "days": "days",
    "share": "share from 0 to 1",
    "probability per day": "probability per day",
    "people per day": "people per day",
    "per 100,000 people": "per 100,000 people",
    "ratio": "deployed-to-dwell ratio (days deployed per day not deployed)",
    "": "a number",
}
"""The canonical units a summary may name (its ``measure`` fields), with what each means."""


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def number(x: float | None, digits: int = 0) -> str:
    """A number with thousands separators and ``digits`` decimals: ``9,163``."""
    return f"{x:,.{digits}f}" if _finite(x) else MISSING


def significant(x: float | None) -> str:
    """A number as a scenario writes it: whole numbers exactly, with separators; others to
    four significant digits."""
    if not _finite(x):
        return MISSING
    assert x is not None
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) >= 1e-3 else f"{x:.3g}"


def percent(share: float | None, digits: int = 1) -> str:
    """A share from 0 to 1 as a percentage: ``0.847`` → ``84.7%``."""
    return f"{100 * share:,.{digits}f}%" if _finite(share) else MISSING


def points(difference: float | None, digits: int = 1) -> str:
    """A difference of two shares in percentage points: ``0.012`` → ``+1.2 pp``."""
    return f"{100 * difference:+,.{digits}f} pp" if _finite(difference) else MISSING


def signed(x: float | None, digits: int = 0) -> str:
    """A difference with its sign and thousands separators: ``+1,234``."""
    return f"{x:+,.{digits}f}" if _finite(x) else MISSING


def dwell(ratio: float | None) -> str:
    """A deployed-to-dwell ratio (days deployed per day not deployed) as ``1:x``, days not
    deployed per day deployed: ``0.5`` → ``1:2.00``. A ratio of 0 is ``never deployed``;
    ``None`` (nothing to divide by: never at rest) is :data:`MISSING`."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return MISSING
    if ratio == 0:
        return "never deployed"
    if math.isinf(ratio):
        return "1:0"
    return f"1:{1 / ratio:,.2f}"


def band(low: str, high: str) -> str:
    """A band across runs from two formatted ends: ``[81.2%-88.0%]``; ends that carry a
    sign are joined by ``to``: ``[-1.0 pp to +2.5 pp]``."""
    if low == MISSING and high == MISSING:
        return ""
    signs = ("+", "-")
    joint = " to " if low.startswith(signs) or high.startswith(signs) else "-"
    return f"[{low}{joint}{high}]"


def days(x: float | None, digits: int = 0) -> str:
    """A number of days: ``30 days``, ``1 day``."""
    if not _finite(x):
        return MISSING
    text = number(x, digits)
    return f"{text} day" if text == "1" else f"{text} days"


def quantity(x: float | None, unit: str) -> str:
    """A number in the canonical unit ``unit`` (one of :data:`UNITS`) as people write it.

    Shares become percentages, hazards per day a percentage per month, rates per day people
    per month, the deployed-to-dwell ratio ``1:x``; counts and days get their unit.
    """
    if not _finite(x):
        return MISSING
    assert x is not None
    if unit == "share":
        return f"{significant(100 * x)}%"
    if unit == "probability per day":
        monthly = 1.0 - (1.0 - min(max(x, 0.0), 1.0)) ** MONTH_DAYS
        return f"{significant(round(100 * monthly, 6))}%/month"
    if unit == "people per day":
        return f"{significant(round(x * MONTH_DAYS, 6))} people/month"
    if unit == "ratio":
        return dwell(x)
    if unit == "days":
        return days(x, 0 if x == int(x) else 1)
    text = significant(x)
    return f"{text} {unit}" if unit else text


def mobilising(forces: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any force of a summary has mobilised positions besides its deployed ones, so
    that its mobilisation-to-dwell ratio says more than its deployed-to-dwell (the tables
    show the ratio only then)."""
    return any(
        f.get("mobilised_to_dwell") is not None
        and f.get("mobilised_to_dwell") != f.get("deployed_to_dwell")
        for f in forces
    )


# --- per-run figures (compare rows, sensitivity outputs) and rotation rules ----------------

FIGURE_UNITS = {
    "coverage:": "share",
    "days_fully_covered:": "days",
    "lost:": "people",
    "people_end:": "people",
}
"""The canonical unit of each kind of per-run figure, by the prefix of its name."""


def figure_unit(name: str) -> str:
    """The canonical unit of a per-run figure such as ``coverage:front-line``."""
    for prefix, unit in FIGURE_UNITS.items():
        if name.startswith(prefix):
            return unit
    return ""


def figure(name: str, x: float | None) -> str:
    """A per-run figure's value: coverage as a percentage, days and people with their unit."""
    unit = figure_unit(name)
    if unit == "share":
        return percent(x)
    if unit == "days":
        return days(x, 1)
    return f"{number(x)} {unit}".rstrip() if _finite(x) else MISSING


def difference(name: str, x: float | None) -> str:
    """A difference of a per-run figure between two scenarios: coverage in percentage
    points, days and people signed."""
    unit = figure_unit(name)
    if unit == "share":
        return points(x)
    if not _finite(x):
        return MISSING
    return f"{signed(x, 1 if unit == 'days' else 0)} {unit}".rstrip()


def rule_unit(rule: str) -> str:
    """The canonical unit of a rotation rule's figure: ``ratio`` for the deployed-to-dwell
    and mobilisation-to-dwell ratios, ``days`` for the longest deployment and the days
    deployed in a window."""
    return "ratio" if rule.endswith("_to_dwell") else "days"


def rule_value(rule: str, x: float | None, unit: str | None = None) -> str:
    """A rule's limit or worst value with its unit: ``1:2.00``, ``45 days``."""
    unit = unit or rule_unit(rule)
    if unit == "ratio":
        return dwell(x)
    return days(x, 0 if _finite(x) and x == int(x) else 1)  # type: ignore[arg-type]


# --- the answer of a requirements search ---------------------------------------------------


def requirement_target(data: Mapping[str, Any]) -> str:
    """The target of ``require.json``: ``fully covered on 95% of its days in 90% of 50
    run(s)``."""
    return (
        f"fully covered on {significant(100 * data['days'])}% of its days in "
        f"{significant(100 * data['probability'])}% of {number(data['runs'])} run(s)"
    )


def requirement_bracket(data: Mapping[str, Any]) -> str:
    """The bracket searched, with its unit: `` in [1,000 people, 20,000 people]``."""
    low, high, unit = data.get("low"), data.get("high"), data.get("measure") or ""
    if low is None or high is None:
        return ""
    return f" in [{quantity(low, unit)}, {quantity(high, unit)}]"


def requirement_answer(data: Mapping[str, Any]) -> str:
    """The value found, with its unit (``9,163 people``), or ``none``."""
    if data.get("value") is None:
        return "none"
    return quantity(data["value"], data.get("measure") or "")


def requirement(data: Mapping[str, Any]) -> str:
    """The answer of a requirements search in one sentence: ``smallest units[0].count that
    gets 'hold' fully covered on 100% of its days in 90% of 50 run(s): 9,163 people``."""
    target = f"{data['demand']!r} {requirement_target(data)}"
    if data.get("value") is None:
        return f"no value of {data['field']}{requirement_bracket(data)} gets {target}"
    word = "largest" if data["direction"] == "most" else "smallest"
    return (
        f"{word} {data['field']} that gets {target}: {requirement_answer(data)} "
        f"({len(data['evaluations'])} evaluations)"
    )


# --- an answer that asks about an observation -----------------------------------------------


def answer_verdict(data: Mapping[str, Any]) -> str:
    """The verdict of the observation an answer asks about (an entry of the summary's
    ``answers``), with the claims it cites: ``Verdict: in tension (observation hur, citing
    hur-5800 (B2))``; empty for an answer of another form."""
    if not data.get("verdict"):
        return ""
    grades = [*data.get("grades", []), *[""] * len(data.get("cites", []))]
    cited = ", ".join(
        f"{c} ({g})" if g else c for c, g in zip(data.get("cites", []), grades, strict=False)
    )
    about = f"observation {data['observation']}" + (f", citing {cited}" if cited else "")
    return f"Verdict: {data['verdict']} ({about})"
