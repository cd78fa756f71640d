"""Units of measure: how durations, hazards and rates are written, and how numbers are shown.

Values are converted to canonical units as they are read: durations to days (``d``,
``w`` = 7 d, ``mo`` = 30 d, ``y`` = 365 d), hazards to a probability per day, rates to
people per day. A hazard given per period is converted so that the probability of the
event over the whole period is the one stated: ``p_day = 1 - (1 - p_period) ** (1 / days)``.
A rate given per period is spread evenly over its days.

Every reader here returns ``None`` for text it cannot read; the kinds of number in
:mod:`forcegen.scenario.quantities` turn that into a located error.
"""

from __future__ import annotations

import re

DAYS_PER = {"d": 1, "w": 7, "mo": 30, "y": 365}
"""Days in each duration unit. A month is 30 days and a year 365, by convention."""

_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
_UNIT = "|".join(DAYS_PER)
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*({_UNIT})?\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*({_UNIT}))?\s*$")
_HAZARD_RE = re.compile(rf"^\s*({_NUMBER})\s*(%)?\s*(?:/\s*({_UNIT}))?\s*$")

_DIGITS = r"[0-9](?:_?[0-9])*"
_FLOAT = rf"[-+]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][-+]?{_DIGITS})?"
_PERCENT_RE = re.compile(rf"^\s*{_FLOAT}\s*%\s*$")

PATTERNS = {
    "duration": _DURATION_RE.pattern,
    "rate": _RATE_RE.pattern,
    "hazard": _HAZARD_RE.pattern,
    "percent": _PERCENT_RE.pattern,
}
"""The text forms of each kind of number, as regular expressions: the readers here match
them and ``forcegen schema`` gives them as JSON Schema patterns, so that both accept the
same text. ``percent`` is what Python's ``float`` reads, then ``%``."""


def duration_days(text: str) -> float | None:
    """Days in a duration written with an optional unit (``30d``, ``4w``, ``3mo``, ``1y``;
    a bare number is days). Not rounded: the caller checks that it is whole."""
    match = _DURATION_RE.match(text)
    if not match:
        return None
    return float(match.group(1)) * DAYS_PER[match.group(2) or "d"]


def daily_probability(p: float, days: int) -> float:
    """The probability per day that gives probability ``p`` over ``days`` days."""
    return 1.0 - (1.0 - p) ** (1.0 / days)


def hazard_per_day(text: str) -> float | None:
    """A probability per day from ``0.0005``, ``0.05%/d``, ``1.5%/mo`` or ``10%/y``.

    ``None`` if the text is not a probability (per period) between 0 and 1.
    """
    match = _HAZARD_RE.match(text)
    if not match:
        return None
    p = float(match.group(1)) / (100 if match.group(2) else 1)
    if not 0 <= p <= 1:
        return None
    return daily_probability(p, DAYS_PER[match.group(3) or "d"])


def rate_per_day(text: str) -> float | None:
    """People per day from ``200``, ``200/d``, ``1500/w`` or ``6000/mo``."""
    match = _RATE_RE.match(text)
    if not match:
        return None
    return float(match.group(1)) / DAYS_PER[match.group(2) or "d"]


def format_number(x: float) -> str:
    """A scenario's number for reading: whole numbers with separators, others to 4 digits."""
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) >= 1e-3 else f"{x:.3g}"


def quoted(value: object) -> str:
    """A value as an error message quotes what it found: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
