"""Requirements: the least (or most) of one input such that a demand's target holds.

MARATHON's requirements analysis asks how much supply a demand needs; here the input may be
any number of the scenario, named by its path by id (``units[ru-bn].count``,
``pipelines[prison-recruiting].waves[0].people``,
``locations[front].attrition_by_type[wg-assault].killed``) or by index (``units[0].count``),
and the bracket may be written in the units people use for that kind of number (``20d``,
``1%/mo``, ``9,000``; a plain number is in canonical units). The target: demand
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
from forcegen.scenario.paths import Loc, by_id, locate, walk
from forcegen.scenario.quantities import Choice, Kind, Value, kind_at, read_range, read_value


@dataclass(frozen=True)
class Requirement:
    """The answer of a requirements search, with the evaluations it took."""

    field: str
    """The number searched, by id (``units[ru-bn].count``)."""
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


def number_at(scenario: Scenario, path: str) -> tuple[Loc, Value]:
    """The place and the quantity of the number at ``path`` (by id or by index).

    Raises
    ------
    UsageError
        If the path names nothing, or something that is not a number written in the
        scenario, or a choice between sources (which cannot be set to one value).
    """
    try:
        loc = locate(scenario, path)
    except UsageError as exc:
        raise UsageError(f"{path!r} is not a number written in this scenario: {exc}") from None
    found = dict(quantities(scenario))
    if loc not in found:
        examples = ", ".join(by_id(scenario, at) for at, _ in list(found.items())[:6])
        raise UsageError(
            f"{by_id(scenario, loc)!r} is not a number written in this scenario; numbers "
            f"are, for example: {examples}"
        )
    q = found[loc]
    if isinstance(q, Choice):
        raise UsageError(
            f"{by_id(scenario, loc)!r} is a choice between sources; pick an option with "
            "--choose instead of searching over it"
        )
    return loc, q


def with_value(scenario: Scenario, path: str, value: float) -> Scenario:
    """A copy of the scenario with the number at ``path`` (by id or by index) set to
    ``value`` (canonical units)."""
    loc, _ = number_at(scenario, path)
    data = scenario.model_dump(by_alias=True, exclude_unset=True)
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
        raise UsageError(f"{by_id(scenario, loc)} = {value:g} is not accepted: {reasons}") from None


def _end(kind: Kind | None, value: float | str) -> float:
    """One end of the bracket in canonical units: a number as it is, text as people write
    it for the kind (``20d``, ``1%/mo``; plain numbers are canonical)."""
    return read_value(kind, value) if isinstance(value, str) else float(value)


def require(
    scenario: Scenario,
    *,
    field_path: str,
    demand: str,
    days: float = 1.0,
    probability: float = 0.9,
    low: float | str | None = None,
    high: float | str | None = None,
    span: str | None = None,
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

    ``field_path`` is a path by id or by index; the answer names it by id. ``low`` and
    ``high`` are numbers in canonical units, or text as people write the number's kind
    (``20d``, ``1%/mo``, ``9,000``); ``span`` (``"20d..45d"``) gives both instead.

    ``progress``, if given, is called after each value tried with the number tried so far
    (and ``None``: how many the search will take is not known in advance).
    """
    if direction not in ("least", "most"):
        raise UsageError(f"direction must be 'least' or 'most'; got {direction!r}")
    if not 0 <= days <= 1 or not 0 <= probability <= 1:
        raise UsageError("days and probability are shares from 0 to 1")
    loc, q = number_at(scenario, field_path)
    field_path = by_id(scenario, loc)
    kind = kind_at(scenario, loc)
    if span is not None:
        if low is not None or high is not None:
            raise UsageError("give the bracket either as --range LOW..HIGH or as --low and --high")
        low, high = read_range(kind, span)
    if low is None or high is None:
        raise UsageError("give the bracket to search: --low and --high, or --range LOW..HIGH")
    low, high = _end(kind, low), _end(kind, high)
    if not low < high:
        raise UsageError(f"expected low < high; got {low:g} and {high:g}")
    if demand not in {d.id for d in scenario.demands}:
        raise UsageError(
            f"unknown demand {demand!r}: this scenario has "
            f"{', '.join(d.id for d in scenario.demands) or 'none'}"
        )
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
