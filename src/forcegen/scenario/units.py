"""Units of measure: how durations, hazards and rates are written, and how numbers are shown.

Values are converted to canonical units as they are read: durations to days (``d``,
``w`` = 7 d, ``mo`` = 30 d, ``y`` = 365 d, or spelled out: ``days``, ``weeks``,
``months``, ``years``), hazards to a probability per day, rates to
people per day. A hazard given per period is converted so that the probability of the
event over the whole period is the one stated: ``p_day = 1 - (1 - p_period) ** (1 / days)``.
A rate given per period is spread evenly over its days. A period may have a count
(``50%/6mo``: half over six months) and be written ``per`` (``1.5% per month``).

Every reader here returns ``None`` for text it cannot read; the kinds of number in
:mod:`forcegen.scenario.quantities` turn that into a located error.
"""

from __future__ import annotations

import re

DAYS_PER = {"d": 1, "w": 7, "mo": 30, "y": 365}
"""Days in each duration unit. A month is 30 days and a year 365, by convention."""

UNIT_WORDS = {
    "days": "d",
    "day": "d",
    "weeks": "w",
    "week": "w",
    "wk": "w",
    "months": "mo",
    "month": "mo",
    "years": "y",
    "year": "y",
    "yr": "y",
}
"""Spelled-out units and the symbol each stands for (``6 months`` is ``6mo``). Units are
written in lower case."""

_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
"""A number >= 0, its whole part maybe in groups of three digits (``20,000``)."""
_UNIT = "|".join([*UNIT_WORDS, *sorted(DAYS_PER, key=len, reverse=True)])
_SPAN = rf"(?:({_NUMBER})\s*({_UNIT})?|(an?)\s+({_UNIT}))"
_PERIOD = rf"(?:/|per\s)\s*(?:({_NUMBER})\s*)?({_UNIT})"
_DURATION_RE = re.compile(rf"^\s*{_SPAN}\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:{_PERIOD})?\s*$")
_HAZARD_RE = re.compile(rf"^\s*({_NUMBER})\s*(%)?\s*(?:{_PERIOD})?\s*$")
_PLAIN_RE = re.compile(rf"^\s*({_NUMBER})\s*$")
_WHOLE_RE = re.compile(r"^\s*((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+))\s*$")

_DIGITS = r"[0-9](?:_?[0-9])*"
_FLOAT = rf"[-+]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][-+]?{_DIGITS})?"
_PERCENT_RE = re.compile(rf"^\s*{_FLOAT}\s*%\s*$")

PATTERNS = {
    "duration": _DURATION_RE.pattern,
    "rate": _RATE_RE.pattern,
    "hazard": _HAZARD_RE.pattern,
    "percent": _PERCENT_RE.pattern,
    "number": _PLAIN_RE.pattern,
    "whole": _WHOLE_RE.pattern,
}
"""The text forms of each kind of number, as regular expressions: the readers here match
them and ``forcegen schema`` gives them as JSON Schema patterns, so that both accept the
same text. ``percent`` is what Python's ``float`` reads, then ``%``; ``number`` is a
plain number as sources print it (``20,000``), and ``whole`` one without a decimal point
(so that ``20.000``, an Italian twenty thousand, is never read as twenty)."""


def _float(text: str) -> float:
    return float(text.replace(",", ""))


def _days(unit: str | None) -> int:
    return DAYS_PER[UNIT_WORDS.get(unit or "d", unit or "d")]


def _period_days(count: str | None, unit: str | None) -> float | None:
    """Days in a period such as ``6mo`` or ``2 weeks`` (a day when no unit is given);
    ``None`` for a period of no days."""
    if count is None:
        return _days(unit)
    days = _float(count) * _days(unit)
    return days if days > 0 else None


def plain_number(text: str, whole: bool = False) -> float | None:
    """A number written as text, maybe with thousands separators (``20,000``); with
    ``whole``, only digits and separators (no decimal point, no exponent)."""
    match = (_WHOLE_RE if whole else _PLAIN_RE).match(text)
    return None if not match else _float(match.group(1))


def duration_days(text: str) -> float | None:
    """Days in a duration written with an optional unit (``30d``, ``4w``, ``3mo``, ``1y``,
    ``6 months``, ``2 weeks``, ``a year``; a bare number is days). Not rounded: the caller
    checks that it is whole."""
    match = _DURATION_RE.match(text)
    if not match:
        return None
    number, unit, article, spelled = match.groups()
    if article is not None:
        return float(_days(spelled))
    return _float(number) * _days(unit)


def daily_probability(p: float, days: float) -> float:
    """The probability per day that gives probability ``p`` over ``days`` days."""
    return 1.0 - (1.0 - p) ** (1.0 / days)


def hazard_per_day(text: str) -> float | None:
    """A probability per day from ``0.0005``, ``0.05%/d``, ``1.5%/mo``, ``10%/y``,
    ``50%/6mo`` or ``1.5% per month``.

    ``None`` if the text is not a probability (per period) between 0 and 1.
    """
    match = _HAZARD_RE.match(text)
    if not match:
        return None
    number, percent, count, unit = match.groups()
    p = _float(number) / (100 if percent else 1)
    days = _period_days(count, unit)
    if not 0 <= p <= 1 or days is None:
        return None
    return daily_probability(p, days)


def rate_per_day(text: str) -> float | None:
    """People per day from ``200``, ``200/d``, ``1500/w``, ``6,000/mo``, ``900/3mo`` or
    ``6000 per month``: the people of a period spread evenly over its days."""
    match = _RATE_RE.match(text)
    if not match:
        return None
    number, count, unit = match.groups()
    days = _period_days(count, unit)
    return None if days is None else _float(number) / days


def format_number(x: float) -> str:
    """A scenario's number for reading: whole numbers with separators, others to 4 digits."""
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) >= 1e-3 else f"{x:.3g}"


def quoted(value: object) -> str:
    """A value as an error message quotes what it found: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
