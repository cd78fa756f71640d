"""Compare scenarios run for run, with common random numbers.

Every scenario is run with the same seed and the same number of runs. Random draws are
keyed by (seed, run, purpose, day, unit id) and uncertain values by their field path, so
run ``r`` of two scenarios shares every draw on which they agree: the paired difference of a
figure isolates what the scenarios change, rather than the noise of two independent samples
(common random numbers; Law, *Simulation Modeling and Analysis*, ch. 11).

The figures compared are the columns of :meth:`forcegen.Results.per_run` that the scenarios
share (mean coverage and days fully covered of each demand, people lost by force and cause,
people at the end by force).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forcegen.api import simulate
from forcegen.errors import UsageError
from forcegen.results import QUANTILES, Results
from forcegen.results_folder import CompareFile, CompareRow, records
from forcegen.scenario.claims import choices_of
from forcegen.scenario.diff import input_diff
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario

OUTCOMES = ("coverage:", "days_fully_covered:", "lost:", "people_end:")
"""Prefixes of the per-run columns that are outcomes (not inputs)."""


@dataclass(frozen=True)
class Comparison:
    """Paired differences of each variant from the baseline, figure by figure."""

    names: tuple[str, ...]
    """Scenario names, the baseline first."""
    results: tuple[Results, ...]
    table: pd.DataFrame
    """One row per (variant, figure): baseline mean, variant mean, mean difference and its
    quantiles across runs, and the share of runs in which the difference is positive."""
    quantiles: tuple[float, ...]
    inputs: tuple[list[dict[str, Any]], ...] = ()
    """For each variant, what it states differently from the baseline
    (:func:`forcegen.scenario.diff.input_diff`)."""

    def summary(self) -> dict[str, Any]:
        """The comparison as plain data: what ``--format json`` prints and ``compare.json``
        holds (:class:`~forcegen.results_folder.CompareFile`); ``inputs`` lists each
        variant's input diff, the variant's name beside each change."""
        return CompareFile(
            baseline=self.names[0],
            variants=list(self.names[1:]),
            quantiles=list(self.quantiles),
            runs=int(self.results[0].to_xarray().sizes["run"]),
            rows=[CompareRow.model_validate(r) for r in records(self.table)],
            inputs=[
                {"variant": name, **change}
                for name, changes in zip(self.names[1:], self.inputs, strict=True)
                for change in changes
            ],
        ).plain()


def _runs_of(
    progress: Callable[[int, int], None], before: int, runs: int, total: int
) -> Callable[[int, int], None]:
    """One scenario's progress in run-days as runs done of all the scenarios' ``total``."""
    return lambda done, days: progress(before + done * runs // max(days, 1), total)


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike[str]],
    *,
    runs: int = 100,
    seed: int = 0,
    deterministic: bool = False,
    choices: Mapping[str, str] | None = None,
    n_jobs: int = 1,
    quantiles: Sequence[float] = QUANTILES,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Run a baseline and its variants with common random numbers and compare them.

    Parameters
    ----------
    scenarios
        The baseline first, then one or more variants (loaded scenarios or paths).
    runs, seed, deterministic, choices, n_jobs
        As for :func:`forcegen.simulate`; the same for every scenario. A choice is applied
        to every scenario that offers it.
    quantiles
        Levels of the bands of each paired difference.
    progress
        Called as runs finish with the runs done so far, of every scenario, and the runs in
        all (runs times the number of scenarios).
    """
    if len(scenarios) < 2:
        raise UsageError("compare needs a baseline and at least one variant")
    loaded = [s if isinstance(s, Scenario) else load(s) for s in scenarios]
    cases = []
    for scenario in loaded:
        offered = {k: v for k, v in (choices or {}).items() if k in choices_of(scenario)}
        cases.append((scenario.name, scenario, offered))
    return _compare(cases, runs, seed, deterministic, n_jobs, quantiles, progress)


def compare_options(
    scenario: Scenario | str | os.PathLike[str],
    choice: str,
    *,
    runs: int = 100,
    seed: int = 0,
    deterministic: bool = False,
    choices: Mapping[str, str] | None = None,
    n_jobs: int = 1,
    quantiles: Sequence[float] = QUANTILES,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Compare every option of one choice of a scenario, with common random numbers.

    The baseline is the option ``choices`` selects for ``choice``, or else its default;
    every other option, in the order written, is a variant. Each is named
    ``"<choice>=<option>"``. The other choices are as ``choices`` selects
    (their defaults otherwise), the same for every option. Each option is run exactly as
    ``compare`` runs a scenario whose choice defaults to it: the figures are the same.

    Parameters
    ----------
    scenario
        The scenario (loaded, or a path).
    choice
        The name of the choice whose options are compared.
    runs, seed, deterministic, choices, n_jobs, quantiles, progress
        As for :func:`compare`.

    Raises
    ------
    UsageError
        If the scenario offers no such choice, or an unknown option is chosen for it.
    """
    loaded = scenario if isinstance(scenario, Scenario) else load(scenario)
    offered = choices_of(loaded)
    if choice not in offered:
        listed = ", ".join(sorted(offered)) or "none"
        raise UsageError(
            f"--options {choice}: the scenario offers no such choice (choices: {listed})"
        )
    default, options = offered[choice]
    taken = {k: v for k, v in (choices or {}).items() if k in offered}
    first = taken.get(choice, default)
    if first not in options:
        raise UsageError(
            f"--choose {choice}={first}: expected one of its options ({', '.join(options)})"
        )
    order = [first, *(o for o in options if o != first)]
    cases = [(f"{choice}={option}", loaded, {**taken, choice: option}) for option in order]
    return _compare(cases, runs, seed, deterministic, n_jobs, quantiles, progress)


def _compare(
    cases: Sequence[tuple[str, Scenario, Mapping[str, str]]],
    runs: int,
    seed: int,
    deterministic: bool,
    n_jobs: int,
    quantiles: Sequence[float],
    progress: Callable[[int, int], None] | None,
) -> Comparison:
    """Run each (name, scenario, choices) case with the same seed and compare each with the
    first."""
    results = []
    each = 1 if deterministic else runs
    total = each * len(cases)
    for i, (_, scenario, taken) in enumerate(cases):
        results.append(
            simulate(
                scenario,
                runs=runs,
                seed=seed,
                deterministic=deterministic,
                choices=dict(taken),
                n_jobs=n_jobs,
                progress=None if progress is None else _runs_of(progress, i * each, each, total),
            )
        )
    tables = [r.per_run() for r in results]
    base = tables[0]
    q = tuple(sorted(quantiles))
    rows = []
    names = [name for name, _, _ in cases]
    for name, table in zip(names[1:], tables[1:], strict=True):
        shared = [c for c in base.columns if c in table.columns and c.startswith(OUTCOMES)]
        for column in shared:
            diff = (table[column] - base[column]).to_numpy(dtype=float)
            row = {
                "variant": name,
                "figure": column,
                "baseline_mean": float(base[column].mean()),
                "variant_mean": float(table[column].mean()),
                "difference_mean": float(diff.mean()),
                "share_of_runs_higher": float((diff > 0).mean()),
            }
            for level, value in zip(q, np.quantile(diff, q), strict=True):
                row[f"difference_q{level * 100:g}"] = float(value)
            rows.append(row)
    frame = pd.DataFrame(rows).set_index(["variant", "figure"])
    _, base_scenario, base_choices = cases[0]
    inputs = tuple(
        input_diff(base_scenario, scenario, base_choices, taken) for _, scenario, taken in cases[1:]
    )
    return Comparison(tuple(names), tuple(results), frame, q, inputs)
