"""Requirements: the least (or most) of one input such that a demand's target holds.

MARATHON's requirements analysis asks how much supply a demand needs; here the input may be
any number of the scenario, named by its field path (``units[0].count``,
``pipelines[1].intake[0].rate``, ``locations[0].attrition.killed``). The target: demand
``d`` is fully covered on at least ``days`` (a share) of its active days in at least
``probability`` of the runs.

The search brackets the answer between ``low`` and ``high`` and bisects, every evaluation
with the same seed, so that runs are paired across evaluations (common random numbers) and
the target, as a function of the input, is as monotone as the model allows. When the
number and both bounds are whole, the search runs over whole numbers; otherwise to
``tolerance``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from forcegen.api import simulate
from forcegen.errors import ScenarioError, UsageError
from forcegen.results_folder import Evaluation, RequireFile
from forcegen.scenario.claims import quantities
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import format_loc, parse_path, walk
from forcegen.scenario.quantities import Choice, Value, kind_of


@dataclass(frozen=True)
class Requirement:
    """The answer of a requirements search, with the evaluations it took."""

    field: str
    demand: str
    direction: str
    """``least``: the smallest value that meets the target; ``most``: the largest."""
    value: float | None
    """None when no value within the bracket meets the target."""
    met: bool
    evaluations: list[dict[str, float]] = field(default_factory=list)
    """Each value tried, with the share of runs that met the target at it."""
    scenario: str = ""
    """Name of the scenario searched."""
    days: float = 1.0
    """Share of the demand's active days that must be fully covered."""
    probability: float = 0.9
    """Share of runs in which that must hold."""
    low: float | None = None
    high: float | None = None
    """The bracket searched."""
    runs: int = 0
    """Runs at each value tried (1 when deterministic)."""
    measure: str = ""
    """The canonical unit of the number searched, from its kind (``people``, ``units``,
    ``days``, ``share``, ``probability per day``, ``people per day``...): ``value``,
    ``low`` and ``high`` are in it."""

    def summary(self) -> dict[str, Any]:
        """The answer as plain data: what ``--format json`` prints and ``require.json``
        holds (:class:`~forcegen.results_folder.RequireFile`)."""
        return RequireFile(
            scenario=self.scenario,
            field=self.field,
            demand=self.demand,
            direction=self.direction,  # type: ignore[arg-type]
            value=self.value,
            met=self.met,
            days=self.days,
            probability=self.probability,
            low=self.low,
            high=self.high,
            runs=self.runs,
            evaluations=[Evaluation.model_validate(e) for e in self.evaluations],
            measure=self.measure,
        ).plain()


def with_value(scenario: Scenario, path: str, value: float) -> Scenario:
    """A copy of the scenario with the number at ``path`` set to ``value`` (canonical units)."""
    found = {format_loc(loc): q for loc, q in quantities(scenario)}
    if path not in found:
        raise UsageError(
            f"{path!r} is not a number written in this scenario; numbers are, "
            f"for example: {', '.join(list(found)[:6])}"
        )
    if isinstance(found[path], Choice):
        raise UsageError(
            f"{path!r} is a choice between sources; pick an option with "
            "--choose instead of searching over it"
        )
    data = scenario.model_dump(by_alias=True, exclude_unset=True)
    loc = parse_path(path)
    node = walk(data, loc[:-1])
    old = node[loc[-1]]
    node[loc[-1]] = {
        "value": value,
        "cites": list(old.get("cites", ())),
        "note": f"set by a requirements search (was {old['value']:g})",
    }
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:  # a value the field does not accept
        reasons = "; ".join(dict.fromkeys(e["msg"] for e in exc.errors()))
        raise UsageError(f"{path} = {value:g} is not accepted: {reasons}") from None


def require(
    scenario: Scenario,
    *,
    field_path: str,
    demand: str,
    days: float = 1.0,
    probability: float = 0.9,
    low: float,
    high: float,
    direction: str = "least",
    runs: int = 50,
    seed: int = 0,
    deterministic: bool = False,
    choices: Mapping[str, str] | None = None,
    tolerance: float = 1e-3,
    n_jobs: int = 1,
    progress: Callable[[int, int | None], None] | None = None,
) -> Requirement:
    """Search ``field_path`` in [low, high] for the least (or most) value meeting the target.

    ``progress``, if given, is called after each value tried with the number tried so far
    (and ``None``: how many the search will take is not known in advance).
    """
    if direction not in ("least", "most"):
        raise UsageError(f"direction must be 'least' or 'most'; got {direction!r}")
    if not 0 <= days <= 1 or not 0 <= probability <= 1:
        raise UsageError("days and probability are shares from 0 to 1")
    if not low < high:
        raise UsageError(f"expected low < high; got {low:g} and {high:g}")
    if demand not in {d.id for d in scenario.demands}:
        raise UsageError(
            f"unknown demand {demand!r}: this scenario has "
            f"{', '.join(d.id for d in scenario.demands) or 'none'}"
        )
    q = {format_loc(loc): q for loc, q in quantities(scenario)}.get(field_path)
    kind = kind_of(scenario, parse_path(field_path)) if q is not None else None
    whole = isinstance(q, Value) and float(q.value).is_integer()
    integer = whole and float(low).is_integer() and float(high).is_integer()
    trail: list[dict[str, float]] = []

    def meets(x: float) -> bool:
        try:
            variant = with_value(scenario, field_path, x)
        except ScenarioError as exc:
            raise UsageError(str(exc)) from None
        res = simulate(
            variant,
            runs=runs,
            seed=seed,
            deterministic=deterministic,
            choices=choices,
            n_jobs=n_jobs,
        )
        covered = res.fully_covered().sel(demand=demand)
        active = (res.to_xarray().required.sel(demand=demand) > 0).sum("day")
        share = (covered.sum("day") / np.maximum(active, 1)).values
        p = float((share >= days - 1e-12).mean())
        trail.append({"value": x, "share_of_runs_meeting_target": p})
        if progress is not None:
            progress(len(trail), None)
        return p >= probability - 1e-12

    def answer(value: float | None) -> Requirement:
        return Requirement(
            field_path,
            demand,
            direction,
            value,
            value is not None,
            trail,
            scenario=scenario.name,
            days=days,
            probability=probability,
            low=low,
            high=high,
            runs=1 if deterministic else runs,
            measure=kind.measure if kind is not None else "",
        )

    good, bad = (high, low) if direction == "least" else (low, high)
    if not meets(good):
        return answer(None)
    if meets(bad):
        return answer(bad)
    step = 1.0 if integer else tolerance
    while abs(good - bad) > step:
        mid = (good + bad) / 2
        if integer:
            mid = float(np.floor(mid)) if direction == "least" else float(np.ceil(mid))
            if mid in (good, bad):
                mid = bad + (1 if good > bad else -1)
        if meets(mid):
            good = mid
        else:
            bad = mid
    return answer(good)
