"""Random streams: one keyed uniform number for every (run, purpose, day, unit).

Every uniform number is a hash of four things: the run's key for one purpose (derived with
:class:`numpy.random.SeedSequence` from the seed, the run number and the purpose), the day,
and a stable key of the unit (or pipeline, or uncertain value) it is for. Nothing depends on
how runs are split among workers or chunks, and two scenarios run with the same seed draw
the same numbers for the same unit on the same day wherever they agree (common random
numbers, as Starsim does it).
"""

from __future__ import annotations

import hashlib
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
    SAMPLING = 7
    STAYS = 8
    """Lengths of stays drawn at each entry into a position with ``per: stay``."""


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


def stable_key(text: str) -> np.uint64:
    """A stable 64-bit key of a name: the first 8 bytes of its BLAKE2b digest, little-endian.

    Units, pipelines and uncertain values are keyed by their names (``group#member``,
    ``pipeline:id``, a field path), so that their draws do not change when other things are
    added or removed.
    """
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@numba.njit(cache=True, inline="always")
def uniform(run_key: np.uint64, day: np.int64, unit_key: np.uint64) -> float:
    """The keyed uniform number in (0, 1) of one run's stream, one day and one stable key."""
    h = _mix(run_key ^ _mix(unit_key + np.uint64(day) * np.uint64(0x9E3779B97F4A7C15)))
    # 53 high bits → (0, 1), never exactly 0 or 1.
    return ((h >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def uniforms(keys: NDArray[np.uint64], key: np.uint64) -> NDArray[np.float64]:
    """One uniform per run key for one stable key (of an uncertain value, say)."""
    out = np.empty(len(keys))
    for r in range(len(keys)):
        out[r] = uniform(keys[r], 0, key)
    return out
