"""Rotation rules: per unit, how long and how often it is deployed, against stated limits.

From the unit-level traces of a run (``keep_units``): each unit's ratio of days deployed to
days not deployed, its longest unbroken deployment, and the most days deployed in any
window of consecutive days; each is checked against the scenario's ``rules`` and the units
that break them are listed, with the share of runs in which they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forcegen.errors import UsageError
from forcegen.results import Results
from forcegen.results_folder import Breach, RulesFile, RuleUnit, records
from forcegen.scenario.model import RotationRules
from forcegen.scenario.quantities import resolve

RULE_FIGURES = {
    "deployed_to_dwell": "max_deployed_to_dwell",
    "mobilised_to_dwell": "max_mobilised_to_dwell",
    "longest_deployment": "max_deployment",
    "most_deployed_in_<n>d": "windows",
}
"""Each per-unit figure (``<n>``: a window's days) and the rule of ``rules`` it is checked
against; ``docs/analyses.md`` describes them all."""


@dataclass(frozen=True)
class RuleCheck:
    """Per-unit rotation figures (means over runs) and the breaches of the rules."""

    units: pd.DataFrame
    """One row per unit: its force and its figures, means over runs."""
    breaches: pd.DataFrame
    """One row per (unit, rule) broken in some run: the limit, the worst value over runs and
    the share of runs in which the unit breaks it."""
    runs: int = 0
    scenario: str = ""
    """Name of the scenario checked."""

    def summary(self) -> dict[str, Any]:
        """The figures and breaches as plain data: what ``--format json`` prints and
        ``rules.json`` holds (:class:`~forcegen.results_folder.RulesFile`)."""
        return RulesFile(
            scenario=self.scenario,
            runs=self.runs,
            units=[RuleUnit.model_validate(r) for r in records(self.units)],
            breaches=[Breach.model_validate(r) for r in records(self.breaches)],
        ).plain()


def _longest_run(flags: np.ndarray) -> np.ndarray:
    """Longest stretch of True along the last-but-one axis (days) of (runs, days, units)."""
    runs, days, units = flags.shape
    current = np.zeros((runs, units), np.int64)
    best = np.zeros((runs, units), np.int64)
    for t in range(days):  # one pass over days, vectorised over runs and units
        current = np.where(flags[:, t], current + 1, 0)
        best = np.maximum(best, current)
    return best


def _most_in_window(flags: np.ndarray, window: int) -> np.ndarray:
    """Most days flagged in any ``window`` consecutive days, per run and unit."""
    padded = np.concatenate(
        [np.zeros_like(flags[:, :1], np.int64), np.cumsum(flags, axis=1, dtype=np.int64)], axis=1
    )
    width = min(window, flags.shape[1])
    return (padded[:, width:] - padded[:, :-width]).max(axis=1)


def _ratio(numerator: np.ndarray, dwell: np.ndarray) -> np.ndarray:
    """Days over days of dwell per run and unit: 0 with no days to count, inf with no dwell."""
    out = np.divide(numerator, dwell, out=np.full(numerator.shape, np.inf), where=dwell > 0)
    return np.where(numerator == 0, 0.0, out)


def rotation_rules(results: Results, rules: RotationRules | None = None) -> RuleCheck:
    """Rotation figures of every unit, and the units that break ``rules``."""
    ds = results.to_xarray()
    if "unit_position" not in ds:
        raise UsageError(
            "rotation rules need unit-level traces: run with keep_units=True (--keep units)"
        )
    position = ds.unit_position.values
    deployed_table = ds.position_deployed.values.astype(bool)
    flags = (position >= 0) & deployed_table[np.maximum(position, 0)]
    active = position >= 0
    deployed_days = flags.sum(axis=1)
    dwell_days = active.sum(axis=1) - deployed_days
    ratio = np.divide(
        deployed_days, dwell_days, out=np.full(deployed_days.shape, np.inf), where=dwell_days > 0
    )
    ratio = np.where(deployed_days == 0, 0.0, ratio)
    longest = _longest_run(flags)
    figures = {"deployed_to_dwell": ratio, "longest_deployment": longest}
    # Mobilised days: the engine's count (mobilised or deployed positions), or, in results
    # saved before it kept one, the days deployed.
    mobilised_days = ds.mobilised_days.values if "mobilised_days" in ds else deployed_days
    figures["mobilised_to_dwell"] = _ratio(mobilised_days, active.sum(axis=1) - mobilised_days)
    windows = [] if rules is None else rules.windows
    for w in windows:
        days = int(resolve(w.days).value)
        figures[f"most_deployed_in_{days}d"] = _most_in_window(flags, days)
    units = pd.DataFrame(
        {name: values.mean(axis=0) for name, values in figures.items()},
        index=pd.Index(ds.unit.values, name="unit"),
    )
    units.insert(0, "force", ds.unit_force.values)
    breaches = []
    if rules is not None:
        limits: list[tuple[str, float]] = []
        if rules.max_deployment is not None:
            limits.append(("longest_deployment", resolve(rules.max_deployment).value))
        if rules.max_deployed_to_dwell is not None:
            limits.append(("deployed_to_dwell", resolve(rules.max_deployed_to_dwell).value))
        if rules.max_mobilised_to_dwell is not None:
            limits.append(("mobilised_to_dwell", resolve(rules.max_mobilised_to_dwell).value))
        for w in windows:
            days = int(resolve(w.days).value)
            limits.append((f"most_deployed_in_{days}d", resolve(w.max_deployed).value))
        in_scope = (
            np.ones(len(units), bool)
            if rules.forces is None
            else np.isin(ds.unit_force.values, rules.forces)
        )
        for name, limit in limits:
            broken = figures[name] > limit + 1e-9
            share = broken.mean(axis=0)
            for u in np.flatnonzero((share > 0) & in_scope):
                breaches.append(
                    {
                        "unit": str(ds.unit.values[u]),
                        "rule": name,
                        "limit": limit,
                        "worst": float(figures[name][:, u].max()),
                        "share_of_runs": float(share[u]),
                        "measure": "ratio" if name.endswith("_to_dwell") else "days",
                    }
                )
    return RuleCheck(
        units,
        pd.DataFrame(
            breaches, columns=["unit", "rule", "limit", "worst", "share_of_runs", "measure"]
        ),
        runs=int(ds.sizes["run"]),
        scenario=str(results.meta.get("scenario", {}).get("name", "")),
    )
