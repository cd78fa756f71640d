"""Drivers: which uncertain inputs, and so which claims, a per-run figure follows most.

Every run samples each uncertain input once (the ``inputs`` of the results: run x input).
A figure computed per run (an answer's share of days covered, an observation's losses by
a date) follows an input when the runs that drew a larger value of the input also tend to
give a larger (or a smaller) figure. The measure here is Spearman's rank correlation
(Spearman 1904): the Pearson correlation of the ranks, ties given their mean rank. It is
a quick screen for a monotone association, not a share of variance (for that, run
``forcegen sensitivity``: Sobol or Morris indices).

Each input is a field path and each cites claims, so a driver names the claims a figure
hangs on. The bottom-line answers (``hangs_on``), the observations checked against the
model (``forcegen check``) and calibration (which observations moved an input) all rank
their inputs here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from forcegen.scenario.claims import quantities
from forcegen.scenario.paths import format_loc, readable
from forcegen.scenario.quantities import Choice, resolve

if TYPE_CHECKING:
    import xarray as xr

    from forcegen.scenario.model import Scenario

RHO_FLOOR = 0.2
"""Least ``|rho|`` for an input to be named as one a figure follows.

About the magnitude a rank correlation must reach to be told from none at the 5% level with
100 runs (1.96 / sqrt(99) = 0.197); weaker associations are not named."""

TOP = 3
"""Most inputs named per figure."""

MIN_RUNS = 10
"""Fewest runs with a figure for which inputs are ranked."""


@dataclass(frozen=True)
class Driver:
    """An uncertain input a figure follows: its rank correlation and its claims."""

    input: str
    """Field path of the uncertain number, as the results' ``input`` names it."""
    rho: float
    """Spearman rank correlation across runs between the input and the figure (-1 to 1)."""
    claims: tuple[str, ...] = ()
    """Ids of the claims the number cites (empty: an assumption)."""
    grades: tuple[str, ...] = ()
    """Their Admiralty grades, in the same order."""
    name: str = ""
    """The field path with list items named by their ids (``locations[front].attrition``)."""

    def label(self) -> str:
        """How the input is named in a sentence: its claims with grades, or the path."""
        if self.claims:
            return ", ".join(f"{c} ({g})" for c, g in zip(self.claims, self.grades, strict=True))
        return f"{self.name or self.input} (assumption)"


def sampled(ds: xr.Dataset) -> tuple[list[str], NDArray[np.float64]]:
    """The uncertain inputs of a results dataset: their field paths, and (run, input) the
    value each run sampled (no columns where nothing was uncertain)."""
    if "inputs" not in ds:
        return [], np.empty((int(ds.sizes["run"]), 0))
    names = [str(n) for n in ds.input.values]
    return names, ds.inputs.transpose("run", "input").values.astype(np.float64)


def input_claims(
    scenario: Scenario, choices: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Field path of each number of the scenario → the claims it cites.

    A choice is named twice: each option at ``PATH.options.NAME`` (as calibration names its
    inputs) with the option's claims, and the choice itself at ``PATH`` (as the results name
    the value in effect in each run) with the claims of the option taken under ``choices``
    (its default where ``choices`` does not name it).
    """
    out: dict[str, tuple[str, ...]] = {}
    for loc, q in quantities(scenario):
        path = format_loc(loc)
        if isinstance(q, Choice):
            for name, option in q.options.items():
                out[f"{path}.options.{name}"] = tuple(option.cites)
            out[path] = tuple(resolve(q, choices).cites)
        else:
            out[path] = tuple(q.cites)
    return out


def rank_correlations(inputs: ArrayLike, figure: ArrayLike) -> NDArray[np.float64]:
    """Spearman's rank correlation of each input with a figure, across runs.

    Parameters
    ----------
    inputs
        (runs, k) each input's value in each run (or (runs,) for one input).
    figure
        (runs,) the figure in each run.

    Returns
    -------
    numpy.ndarray
        (k,) ``rho`` of each input, from -1 to 1. Ties share their mean rank; a run where the
        figure or the input is NaN (or infinite) is left out of that input's correlation; an
        input or a figure that is constant over the runs left, or fewer than 3 runs left,
        gives 0.
    """
    y = np.asarray(figure, dtype=np.float64)
    x = np.asarray(inputs, dtype=np.float64).reshape(len(y), -1)
    both = np.isfinite(x) & np.isfinite(y)[:, None]
    # Rank the figure separately for each input, over the runs that input keeps: pandas
    # ranks every column at once and leaves NaN out of the ranking.
    rx = pd.DataFrame(np.where(both, x, np.nan)).rank(method="average").to_numpy()
    ry = pd.DataFrame(np.where(both, y[:, None], np.nan)).rank(method="average").to_numpy()
    n = both.sum(axis=0)
    safe = np.maximum(n, 1)
    cx = np.where(both, rx - np.nansum(rx, axis=0) / safe, 0.0)
    cy = np.where(both, ry - np.nansum(ry, axis=0) / safe, 0.0)
    sxx, syy = (cx**2).sum(axis=0), (cy**2).sum(axis=0)
    # A constant column has every rank equal to the mean: its sum of squares is 0 (up to
    # rounding, hence the relative bound).
    ok = (n >= 3) & (sxx > 1e-12 * n**3) & (syy > 1e-12 * n**3)
    rho = np.zeros(x.shape[1])
    rho[ok] = (cx * cy).sum(axis=0)[ok] / np.sqrt(sxx[ok] * syy[ok])
    return np.clip(rho, -1.0, 1.0)


def top_drivers(
    figure: ArrayLike,
    names: Sequence[str],
    inputs: ArrayLike,
    *,
    claims: Mapping[str, Sequence[str]],
    grades: Mapping[str, str],
    scenario: Scenario | None = None,
    top: int = TOP,
    floor: float = RHO_FLOOR,
    min_runs: int = MIN_RUNS,
) -> tuple[list[Driver], str]:
    """The inputs a figure follows most across runs, or why none is named.

    Parameters
    ----------
    figure
        (runs,) the figure in each run; runs where it is NaN are left out.
    names
        The field path of each input (column of ``inputs``).
    inputs
        (runs, k) each input's value in each run (:func:`sampled`).
    claims
        Field path → the claims the number cites (:func:`input_claims`).
    grades
        Claim id → its Admiralty grade.
    scenario
        Names each driver's list items by their ids (``Driver.name``), where given.
    top
        Most inputs named.
    floor
        Least ``|rho|`` for an input to be named.
    min_runs
        Fewest runs with a figure for which inputs are ranked.

    Returns
    -------
    tuple
        The drivers, largest ``|rho|`` first (ties in the order of ``names``), and a note
        saying why none is named (empty where some are).
    """
    y = np.asarray(figure, dtype=np.float64)
    x = np.asarray(inputs, dtype=np.float64).reshape(len(y), -1)
    keep = np.isfinite(y)
    if keep.sum() < min_runs:
        return [], f"too few runs to rank the inputs (fewer than {min_runs})"
    kept = x[keep]
    varies = np.nanmax(kept, axis=0, initial=-np.inf) > np.nanmin(kept, axis=0, initial=np.inf)
    if not varies.any():
        return [], "no uncertain input varies between runs"
    if np.ptp(y[keep]) == 0:
        return [], "the figure is the same in every run"
    rho = rank_correlations(kept, y[keep])
    order = np.argsort(-np.abs(rho), kind="stable")
    found = []
    for j in order[:top]:
        if abs(rho[j]) < floor:
            break
        cited = tuple(claims.get(names[j], ()))
        found.append(
            Driver(
                input=names[j],
                rho=float(rho[j]),
                claims=cited,
                grades=tuple(grades.get(c, "") for c in cited),
                name=readable(names[j], scenario) if scenario is not None else names[j],
            )
        )
    if not found:
        return [], f"no uncertain input has a rank correlation of {floor} or more with it"
    return found, ""
