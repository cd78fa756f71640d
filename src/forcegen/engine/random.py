"""Binomial and Poisson counts drawn by inversion from the keyed uniforms of
:mod:`forcegen.engine.streams`: the same draw for the same (run, purpose, day, unit), always.

Binomial counts are drawn by exact inversion of the CDF with one uniform, so a larger
probability never gives a smaller count for the same uniform (which keeps paired comparisons
tight), and every draw is the exact binomial quantile of its uniform.
"""

from __future__ import annotations

import math

import numba


@numba.njit(cache=True)
def _stirlerr(n: float) -> float:
    """log(n!) - log(sqrt(2 pi n) (n / e)^n), accurately (Loader 2000)."""
    if n <= 15.0:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - 0.5 * math.log(2.0 * math.pi)
    nn = n * n
    s0, s1, s2, s3, s4 = 1.0 / 12, 1.0 / 360, 1.0 / 1260, 1.0 / 1680, 1.0 / 1188
    if n > 500.0:
        return (s0 - s1 / nn) / n
    if n > 80.0:
        return (s0 - (s1 - s2 / nn) / nn) / n
    if n > 35.0:
        return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


@numba.njit(cache=True)
def _bd0(x: float, mean: float) -> float:
    """x log(x / mean) + mean - x, without cancellation (Loader 2000)."""
    if abs(x - mean) < 0.1 * (x + mean):
        v = (x - mean) / (x + mean)
        total = (x - mean) * v
        term = 2.0 * x * v
        v = v * v
        j = 1.0
        while True:
            term *= v
            nxt = total + term / (2.0 * j + 1.0)
            if nxt == total:
                return nxt
            total = nxt
            j += 1.0
    return x * math.log(x / mean) + mean - x


@numba.njit(cache=True)
def _binomial_log_pmf(k: float, n: float, p: float) -> float:
    """log P(X = k) for X ~ Binomial(n, p), 0 < k < n, by Loader's saddle-point form."""
    q = 1.0 - p
    return (
        _stirlerr(n)
        - _stirlerr(k)
        - _stirlerr(n - k)
        - _bd0(k, n * p)
        - _bd0(n - k, n * q)
        + 0.5 * math.log(n / (2.0 * math.pi * k * (n - k)))
    )


@numba.njit(cache=True)
def binomial_inverse(n: float, p: float, u: float) -> float:
    """The ``u``-quantile of Binomial(n, p): the smallest k with CDF(k) >= u.

    Exact inversion (Devroye 1986, ch. X.4). Where Bernoulli's inequality already shows the
    quantile is 0 (u <= 1 - n p) it returns at once. For small means the search runs up from 0;
    otherwise it starts at the mode, whose probability comes from Loader's (2000)
    saddle-point formula, accurate to rounding however large n is, and
    the CDF at the mode is summed down over the left tail (about eight standard deviations),
    so the cost grows with the standard deviation, not with n.
    """
    if n <= 0.0 or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return n
    return binomial_inverse_q(n, p, math.log1p(-p), u)


SMALL_MEAN = 30.0
"""Below this mean, inversion searches up from 0."""


@numba.njit(cache=True)
def binomial_inverse_small(n: float, p: float, pmf0: float, u: float) -> float:
    """:func:`binomial_inverse` for 0 < p < 1 and a mean ``n p`` below SMALL_MEAN, with
    ``pmf0 = exp(n log(1 - p))``, the probability of 0, given (callers may keep it)."""
    return binomial_inverse_odds(n, p / (1.0 - p), pmf0, u)


@numba.njit(cache=True)
def binomial_inverse_odds(n: float, odds: float, pmf0: float, u: float) -> float:
    """:func:`binomial_inverse_small` with ``odds = p / (1 - p)`` given (callers that draw
    many counts with one probability compute it once).

    The CDF up to 3 is computed first without a branch: where the quantile is at most 3 (a
    small mean's common case) this avoids the mispredicted exit of the search loop, which
    costs more than the three steps. They are the loop's own steps, in its order, so every
    quantile is the same."""
    if n >= 4.0:
        pmf1 = pmf0 * (odds * n / 1.0)
        pmf2 = pmf1 * (odds * (n - 1.0) / 2.0)
        pmf3 = pmf2 * (odds * (n - 2.0) / 3.0)
        cdf1 = pmf0 + pmf1
        cdf2 = cdf1 + pmf2
        if cdf2 + pmf3 >= u and pmf3 > 0.0:
            return float((pmf0 < u) + (cdf1 < u) + (cdf2 < u))
    ratio = odds
    pmf = pmf0
    cdf = pmf
    k = 0.0
    while cdf < u and k < n:
        pmf *= ratio * (n - k) / (k + 1.0)
        k += 1.0
        cdf += pmf
        if pmf == 0.0:  # lost to rounding in the far right tail
            break
    return k


@numba.njit(cache=True)
def binomial_inverse_q(n: float, p: float, log_q: float, u: float) -> float:
    """:func:`binomial_inverse` for 0 < p < 1 with ``log_q = log(1 - p)`` given (callers that
    draw many counts with one probability compute it once)."""
    mean = n * p
    if u <= 1.0 - mean:  # CDF(0) = (1 - p)^n >= 1 - n p >= u: no transcendental needed
        return 0.0
    q = 1.0 - p
    ratio = p / q
    if mean < SMALL_MEAN:
        return binomial_inverse_small(n, p, math.exp(n * log_q), u)
    mode = min(math.floor((n + 1.0) * p), n)
    if mode <= 0.0:
        pmf_mode = math.exp(n * log_q)
    elif mode >= n:
        pmf_mode = math.exp(n * math.log(p))
    else:
        pmf_mode = math.exp(_binomial_log_pmf(mode, n, p))
    # CDF at the mode: the mode's mass plus the left tail, summed until negligible.
    cdf_mode = pmf_mode
    pmf = pmf_mode
    k = mode
    while k > 0.0:
        pmf *= k / ((n - k + 1.0) * ratio)
        k -= 1.0
        cdf_mode += pmf
        if pmf < 1e-17 * cdf_mode:
            break
    if u <= cdf_mode:  # walk down from the mode
        cdf = cdf_mode
        pmf = pmf_mode
        k = mode
        while k > 0.0:
            if cdf - pmf < u:
                break
            cdf -= pmf
            pmf *= k / ((n - k + 1.0) * ratio)
            k -= 1.0
        return k
    cdf = cdf_mode  # walk up from the mode
    pmf = pmf_mode
    k = mode
    while cdf < u and k < n:
        pmf *= ratio * (n - k) / (k + 1.0)
        k += 1.0
        cdf += pmf
        if pmf == 0.0:
            break
    return k


@numba.njit(cache=True)
def poisson_inverse(lam: float, u: float) -> float:
    """The ``u``-quantile of Poisson(lam), by exact inversion from 0 or from the mode."""
    if lam <= 0.0:
        return 0.0
    if lam < 30.0:
        pmf = math.exp(-lam)
        cdf = pmf
        k = 0.0
        while cdf < u:
            k += 1.0
            pmf *= lam / k
            cdf += pmf
            if pmf == 0.0:
                break
        return k
    mode = float(math.floor(lam))  # (a float, as everywhere _stirlerr and _bd0 are called)
    pmf_mode = math.exp(-_stirlerr(mode) - _bd0(mode, lam) - 0.5 * math.log(2.0 * math.pi * mode))
    cdf_mode = pmf_mode
    pmf = pmf_mode
    k = mode
    while k > 0.0:
        pmf *= k / lam
        k -= 1.0
        cdf_mode += pmf
        if pmf < 1e-17 * cdf_mode:
            break
    cdf = cdf_mode
    pmf = pmf_mode
    k = mode
    if u <= cdf_mode:
        while k > 0.0 and cdf - pmf >= u:
            cdf -= pmf
            pmf *= k / lam
            k -= 1.0
        return k
    while cdf < u:
        k += 1.0
        pmf *= lam / k
        cdf += pmf
        if pmf == 0.0:
            break
    return k
