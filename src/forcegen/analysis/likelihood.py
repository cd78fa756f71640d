"""The likelihood scale: a share of runs in words, on the ICD 203 scale.

US Intelligence Community Directive 203 (Analytic Standards, 2015, section D.6.b.(2)(a))
fixes seven words of estimative probability and their ranges:

==========================  ==========
almost no chance            1-5%
very unlikely               5-20%
unlikely                    20-45%
roughly even chance         45-55%
likely                      55-80%
very likely                 80-95%
almost certain              95-99%
==========================  ==========

The directive's ranges share their ends, so forcegen fixes what happens there: **a
probability exactly on a boundary takes the word nearer to even chance** (5% is "very
unlikely", 20% "unlikely", 45% and 55% "roughly even chance", 80% "likely", 95% "very
likely"). The rule is symmetric: a statement that holds in k of n runs and its negation
(n - k of n) always get mirror words.

Beyond the scale's ends a finite number of runs can say no more: 0 of n runs is "almost no
chance" and n of n runs "almost certain", never "impossible" or "certain", and the count of
runs is shown beside the word (:func:`share_text`) so the reader sees how many runs stand
behind it. A deterministic run (expected values) has no likelihood: it says whether the
statement holds in that run (:func:`verdict`): "It holds in the expected-value run that
...".
"""

from __future__ import annotations

WORDS = (
    "almost no chance",
    "very unlikely",
    "unlikely",
    "roughly even chance",
    "likely",
    "very likely",
    "almost certain",
)
"""The ICD 203 words, from least to most likely."""

BOUNDARIES = (0.05, 0.20, 0.45, 0.55, 0.80, 0.95)
"""Where one word gives way to the next (the ends of the ICD 203 ranges, as shares)."""


def word(probability: float) -> str:
    """The ICD 203 word for a probability (a share of runs, from 0 to 1).

    A probability on a boundary takes the word nearer to even chance; 0 is "almost no
    chance" and 1 "almost certain".

    Raises
    ------
    ValueError
        If ``probability`` is not a number from 0 to 1.
    """
    p = float(probability)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"expected a probability from 0 to 1; got {probability!r}")
    if p < 0.5:
        # Below even chance a boundary belongs to the word above it.
        return WORDS[sum(p >= b for b in BOUNDARIES)]
    # At or above even chance a boundary belongs to the word below it.
    return WORDS[sum(p > b for b in BOUNDARIES)]


def lead(probability: float) -> str:
    """The words that open a sentence stating a probability: ``It is very likely``, or
    ``There is almost no chance`` and ``There is a roughly even chance`` for the two words
    that are nouns."""
    said = word(probability)
    if said == "almost no chance":
        return f"There is {said}"
    if said == "roughly even chance":
        return f"There is a {said}"
    return f"It is {said}"


def share_text(holds: int, runs: int) -> str:
    """The share of runs behind a word, for reading: ``87% of 200 runs``.

    0 and all runs are given as counts (``0 of 200 runs``, ``200 of 200 runs``), so a
    finite number of runs is never read as impossibility or certainty; a share that
    rounds to 0% or 100% without being so reads ``under 1%`` or ``over 99%``; a share that
    would round onto a boundary of the scale keeps one decimal (``54.6%``), so the number
    shown never contradicts its word.
    """
    if runs < 1 or not 0 <= holds <= runs:
        raise ValueError(f"expected 0 <= holds <= runs and runs >= 1; got {holds} of {runs}")
    of = f"of {runs:,} run{'s' if runs != 1 else ''}"
    if holds in (0, runs):
        return f"{holds:,} {of}"
    pct = 100 * holds / runs
    shown = round(pct)
    if shown == 0:
        return f"under 1% {of}"
    if shown == 100:
        return f"over 99% {of}"
    if shown != pct and shown in {round(100 * b) for b in BOUNDARIES}:
        return f"{pct:.1f}% {of}"
    return f"{shown}% {of}"


def verdict(holds: bool) -> str:
    """What a deterministic run says of a statement: no likelihood, only whether it holds."""
    return "holds in the expected-value run" if holds else "does not hold in the expected-value run"
