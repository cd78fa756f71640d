"""Counter-based random draws: the same draw for the same (run, purpose, day, unit), always.

Every uniform number is a hash of four things: the run's key for one purpose (derived with
:class:`numpy.random.SeedSequence` from the seed, the run number and the purpose), the day,
and the unit's stable key. Nothing depends on how runs are split among workers or chunks,
and two scenarios run with the same seed draw the same numbers for the same unit on the same
day wherever they agree (common random numbers).

Binomial counts are drawn by inversion of the CDF with one uniform, so a larger
probability never gives a smaller count for the same uniform (which keeps paired comparisons
tight). For large variances (n p (1 - p) > 100) the inversion uses the normal approximation
with continuity correction, accurate there to well under a person.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numba
import numpy as np
from numpy.typing import NDArray


class Purpose(IntEnum):
    """What a stream of draws is for; each purpose has its own stream per run."""

    KILLED = 1
    WOUNDED = 2
    MISSING = 3
    DESERTED = 4
    RETURNS = 5
    RECRUITS = 6


def run_keys(seed: int, runs: NDArray[np.int64], purpose: Purpose) -> NDArray[np.uint64]:
    """One 64-bit key per run for one purpose, from the scenario seed."""
    return np.array(
        [
            np.random.SeedSequence(seed, spawn_key=(int(r), int(purpose))).generate_state(
                1, np.uint64
            )[0]
            for r in runs
        ],
        dtype=np.uint64,
    )


@numba.njit(cache=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    # splitmix64 finaliser (Steele, Lea and Flood 2014): a bijection with good avalanche.
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _uniform(run_key: np.uint64, day: np.int64, unit_key: np.uint64) -> float:
    h = _mix(run_key ^ _mix(unit_key + np.uint64(day) * np.uint64(0x9E3779B97F4A7C15)))
    # 53 high bits → (0, 1), never exactly 0 or 1.
    return ((h >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _norm_ppf(u: float) -> float:
    # Acklam's rational approximation of the standard normal quantile (rel. error < 1.2e-9).
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    if u < 0.02425:
        q = math.sqrt(-2.0 * math.log(u))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    if u > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log(1.0 - u))
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    q = u - 0.5
    r = q * q
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    )


@numba.njit(cache=True)
def binomial_inverse(n: float, p: float, u: float) -> float:
    """The ``u``-quantile of Binomial(n, p): the smallest k with CDF(k) >= u."""
    if n <= 0.0 or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return n
    var = n * p * (1.0 - p)
    if var > 100.0:
        k = math.floor(n * p + math.sqrt(var) * _norm_ppf(u) + 0.5)
        return min(max(k, 0.0), n)
    # Sequential search from 0 (Devroye 1986, ch. X.4): expected n p + 1 steps.
    q = 1.0 - p
    ratio = p / q
    pmf = math.exp(n * math.log1p(-p))
    cdf = pmf
    k = 0.0
    while cdf < u and k < n:
        pmf *= ratio * (n - k) / (k + 1.0)
        k += 1.0
        cdf += pmf
        if pmf == 0.0 and cdf < u:  # lost to rounding in the far tail
            break
    return k


@numba.njit(cache=True)
def binomial(
    n: NDArray[np.float64],
    p: NDArray[np.float64],
    keys: NDArray[np.uint64],
    unit_keys: NDArray[np.uint64],
    day: int,
) -> NDArray[np.float64]:
    """Binomial(n[r, u], p[r, u]) for every run r and unit u, keyed by run, day and unit."""
    runs, units = n.shape
    out = np.zeros((runs, units))
    for r in range(runs):
        key = keys[r]
        for j in range(units):
            if n[r, j] > 0.0 and p[r, j] > 0.0:
                out[r, j] = binomial_inverse(n[r, j], p[r, j], _uniform(key, day, unit_keys[j]))
    return out
