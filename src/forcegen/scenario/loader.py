"""Loading a scenario file: YAML with positions → validated :class:`Scenario`.

All problems are collected and raised together as one :class:`~forcegen.errors.ScenarioError`,
each with file, line, column, field path and what was expected against what was found.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.claims import Loc, quantities
from forcegen.scenario.model import (
    LAST_DATE,
    MAX_WIDENING,
    Answer,
    Hedges,
    MeasureRef,
    Observation,
    Scenario,
    is_cumulative,
)
from forcegen.scenario.overrides import Override, merge, needs_resolving
from forcegen.scenario.paths import format_loc
from forcegen.scenario.quantities import (
    MAX_PEOPLE,
    MAX_POSITIONS,
    MAX_UNITS,
    Choice,
    Quantity,
    Value,
    _kind_in,
    resolve,
)
from forcegen.scenario.references import check_references
from forcegen.scenario.yamlio import Positions, position_of, read_yaml, read_yaml_text

_CUSTOM = {"count", "duration", "hazard", "fraction", "quantity", "date", "grade", "choice_default"}


def load(
    path: str | os.PathLike[str], overrides: Sequence[str | Override] | None = None
) -> Scenario:
    """Read, validate and cross-check a scenario file.

    Parameters
    ----------
    path
        The scenario file; if it ``extends`` a base, the base is read too
        (:mod:`forcegen.scenario.overrides`).
    overrides
        ``PATH=VALUE`` overrides (``units[ru-bn].count=12``), applied after the file's own
        ``set:`` entries and validated with the rest.

    Raises
    ------
    ScenarioError
        With every problem found, each located in the file (or the ``--set`` option) where
        it was written.
    """
    data, positions = read_yaml(path)
    return _validated(data, positions, os.fspath(path), overrides)


def loads(
    text: str,
    filename: str = "<string>",
    overrides: Sequence[str | Override] | None = None,
) -> Scenario:
    """Like :func:`load`, from the text of a scenario."""
    data, positions = read_yaml_text(text, filename)
    return _validated(data, positions, filename, overrides)


def _validated(
    data: Any,
    positions: Positions,
    filename: str,
    overrides: Sequence[str | Override] | None,
) -> Scenario:
    if not needs_resolving(data, overrides):
        return validate(data, positions, filename)
    source = merge(data, positions, filename, overrides)
    return validate(source.data, positions, filename, where=source.locate)


def validate(
    data: Any,
    positions: Positions,
    filename: str,
    where: Callable[[Loc], tuple[str, int | None, int | None]] | None = None,
) -> Scenario:
    """Validate plain data read from ``filename`` into a :class:`Scenario`.

    ``where``, if given, locates a path in the file it came from (data merged from several
    files and overrides); otherwise paths are located with ``positions`` in ``filename``.
    """
    try:
        scenario = Scenario.model_validate(data, context={"hedges": _hedges(data)})
    except ValidationError as exc:
        raise ScenarioError(
            _problems(_schema_findings(exc, data), positions, filename, where)
        ) from None
    findings = (
        check_references(scenario)
        + _limit_findings(scenario)
        + _observation_findings(scenario)
        + _answer_findings(scenario)
    )
    if findings:
        raise ScenarioError(_problems(findings, positions, filename, where))
    return scenario


def _hedges(data: Any) -> Hedges:
    """The scenario's settings for hedged values (``uncertainty: hedges:``), read before the
    values they apply to; the defaults if they are missing or wrong (reported elsewhere)."""
    raw = _at(data, ("uncertainty", "hedges"))
    try:
        return Hedges.model_validate(raw) if isinstance(raw, Mapping) else Hedges()
    except ValidationError:
        return Hedges()


def _extremes(q: Quantity, factor: float) -> tuple[float, float]:
    """The smallest and largest values a quantity can take in any run, widening by
    ``factor`` included."""
    if isinstance(q, Choice):
        options = [_extremes(v, factor) for v in q.options.values()]
        return min(lo for lo, _ in options), max(hi for _, hi in options)
    if q.dist is None:
        return q.value, q.value
    return q.dist.extremes(factor)


def _largest(q: Quantity, factor: float) -> float:
    return _extremes(q, factor)[1]


def _position_count(scenario: Scenario) -> int:
    """Positions in all policies together, a template's counted in each policy built on it."""
    by_id = {p.id: p for p in scenario.policies}

    def count(policy_id: str | None, seen: frozenset[str]) -> int:
        policy = by_id.get(policy_id or "")
        if policy is None or policy.id in seen:  # a broken template: reported elsewhere
            return 0
        if policy.positions is not None:
            return len(policy.positions)
        return count(policy.template, seen | {policy.id})

    return sum(count(p.id, frozenset()) for p in scenario.policies)


def _limit_findings(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Limits that span fields: the last day simulated, the units in all (declared and formed
    by cohort pipelines), the positions in all, choice weights."""
    found: list[tuple[Loc, str]] = []
    widening = scenario.uncertainty
    factor = (
        max(widening.factor(f"{r}{c}") for r in "ABCDEF" for c in "123456")
        if widening.widen_by_grade
        else 1.0
    )
    factor = min(factor, MAX_WIDENING**2)
    horizon = _largest(scenario.horizon, factor)
    last = LAST_DATE - scenario.start
    if horizon > last.days:
        found.append(
            (
                ("horizon",),
                f"expected the simulated days to end by {LAST_DATE.isoformat()} (at most "
                f"{last.days:,} days after start {scenario.start.isoformat()}); found up to "
                f"{horizon:,.0f} days",
            )
        )
    total = sum(_largest(unit.count, factor) for unit in scenario.units)
    if total > MAX_UNITS:
        found.append(
            (
                ("units",),
                f"expected at most {MAX_UNITS:,} units in all unit groups together; found up "
                f"to {total:,.0f}",
            )
        )
    formed = []
    for i, pipe in enumerate(scenario.pipelines):
        if pipe.into == "cohorts" and pipe.cohort is not None:
            every = max(1.0, _extremes(pipe.cohort.every, factor)[0])
            formed.append((i, pipe.cohort.units * (horizon // every)))
    if total + sum(n for _, n in formed) > MAX_UNITS:
        for i, n in formed:
            found.append(
                (
                    ("pipelines", i, "cohort", "every"),
                    f"expected at most {MAX_UNITS:,} units in all, declared and formed; this "
                    f"pipeline may form up to {n:,.0f} units over a horizon of up to "
                    f"{horizon:,.0f} days, and all units together come to "
                    f"{total + sum(m for _, m in formed):,.0f}: form fewer, larger units or "
                    "close batches less often (a longer every)",
                )
            )
    positions = _position_count(scenario)
    if positions > MAX_POSITIONS:
        found.append(
            (
                ("policies",),
                f"expected at most {MAX_POSITIONS:,} positions in all policies together; "
                f"found {positions:,}",
            )
        )
    for loc, q in quantities(scenario):
        if isinstance(q, Choice) and q.weights is not None:
            for name, weight in q.weights.items():
                if not (math.isfinite(weight) and weight <= MAX_PEOPLE):
                    found.append(
                        (
                            (*loc, "weights", name),
                            f"expected a finite weight >= 0, at most {MAX_PEOPLE:,}; "
                            f"found {weight!r}",
                        )
                    )
    return found


_QUALIFIERS: dict[str, tuple[set[str], set[str]]] = {
    # measure: (qualifiers required, qualifiers allowed besides)
    "people": (set(), {"force", "location", "unit_type"}),
    "reservoir": ({"reservoir"}, set()),
    "recruits": ({"pipeline"}, set()),
    "graduates": ({"pipeline"}, set()),
    "units_deployed": (set(), {"force"}),
    "coverage": ({"demand"}, set()),
}
_LOSS_QUALIFIERS: tuple[set[str], set[str]] = (set(), {"force"})
_SECTIONS = {
    "force": ("forces", "forces"),
    "location": ("locations", "locations"),
    "unit_type": ("unit_types", "unit types"),
    "pipeline": ("pipelines", "pipelines"),
    "reservoir": ("reservoirs", "reservoirs"),
    "demand": ("demands", "demands"),
}


def _measure_findings(scenario: Scenario, ref: MeasureRef, loc: Loc) -> list[tuple[Loc, str]]:
    """Qualifiers a measure needs or does not take, and ids that name nothing."""
    found: list[tuple[Loc, str]] = []
    required, allowed = _QUALIFIERS.get(ref.measure, _LOSS_QUALIFIERS)
    for name, (section, kind) in _SECTIONS.items():
        given = getattr(ref, name)
        if given is None:
            if name in required:
                found.append(
                    (
                        (*loc, name),
                        f"missing required field {name!r}: a {ref.measure!r} "
                        f"observation names the {name.replace('_', ' ')} it counts",
                    )
                )
            continue
        if name not in required | allowed:
            takes = ", ".join(sorted(required | allowed)) or "none"
            found.append(
                (
                    (*loc, name),
                    f"a {ref.measure!r} measure takes no {name!r} (it takes: {takes})",
                )
            )
            continue
        known = {item.id for item in getattr(scenario, section)}
        if given not in known:
            listed = ", ".join(sorted(known)[:12]) or "none"
            found.append(
                ((*loc, name), f"expected the id of one of the {kind} ({listed}); found {given!r}")
            )
    if ref.before_start is not None:
        if not is_cumulative(ref.measure):
            found.append(
                (
                    (*loc, "before_start"),
                    f"before_start applies to cumulative measures; {ref.measure!r} is a level",
                )
            )
        elif ref.before_start < 0:
            found.append(
                ((*loc, "before_start"), f"expected a count >= 0; found {ref.before_start:g}")
            )
    return found


def _observation_findings(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Every mistake in the observations: measures, ids, dates, bounds, claims."""
    found: list[tuple[Loc, str]] = []
    claims = {c.id for c in scenario.claims}
    horizon = int(_extremes(scenario.horizon, 1.0)[0])
    last = scenario.start + dt.timedelta(days=max(horizon - 1, 0))
    seen: dict[str, int] = {}
    for i, obs in enumerate(scenario.observations):
        loc: Loc = ("observations", i)
        if obs.id in seen:
            found.append(
                (
                    (*loc, "id"),
                    f"duplicate id {obs.id!r}: already used by observations[{seen[obs.id]}]",
                )
            )
        seen.setdefault(obs.id, i)
        found += _measure_findings(scenario, obs, loc)
        if obs.share_of is not None:
            found += _measure_findings(scenario, obs.share_of, (*loc, "share_of"))
        found += _when_findings(scenario, obs, loc, last)
        found += _value_findings(obs, loc)
        for k, claim in enumerate(obs.cites):
            if claim not in claims:
                listed = ", ".join(sorted(claims)[:12]) or "none"
                found.append(
                    (
                        (*loc, "cites", k),
                        f"expected the id of one of the claims ({listed}); found {claim!r}",
                    )
                )
    return found


def _when_findings(
    scenario: Scenario, obs: Observation, loc: Loc, last: dt.date
) -> list[tuple[Loc, str]]:
    given = [name for name in ("at", "by") if getattr(obs, name) is not None]
    window = [name for name in ("from_", "to") if getattr(obs, name) is not None]
    if len(given) + (1 if window else 0) != 1 or len(given) > 1:
        return [
            (
                loc,
                "expected one day ('at' or 'by') or one window ('from' and 'to'); found "
                + (", ".join(n.rstrip("_") for n in given + window) or "none"),
            )
        ]
    if window and len(window) != 2:
        return [(loc, "expected both 'from' and 'to' for a window")]
    found: list[tuple[Loc, str]] = []
    for name in given + window:
        day = getattr(obs, name)
        if not scenario.start <= day <= last:
            found.append(
                (
                    (*loc, name.rstrip("_")),
                    f"expected a date within the horizon ({scenario.start.isoformat()} to "
                    f"{last.isoformat()}); found {day.isoformat()}",
                )
            )
    if window and obs.from_ > obs.to:  # type: ignore[operator]
        found.append(
            (
                (*loc, "to"),
                f"expected 'to' on or after 'from' ({obs.from_.isoformat()}); "  # type: ignore[union-attr]
                f"found {obs.to.isoformat()}",  # type: ignore[union-attr]
            )
        )
    return found


def _value_findings(obs: Observation, loc: Loc) -> list[tuple[Loc, str]]:
    point = obs.value is not None
    bounded = obs.at_least is not None or obs.at_most is not None
    ranged = obs.between is not None
    if point + bounded + ranged != 1:
        names = ("value", "at_least", "at_most", "between")
        what = [n for n in names if getattr(obs, n) is not None]
        return [
            (
                loc,
                "expected the claimed figure as one of: 'value' (with 'sd' or 'plus_minus'), "
                "'at_least' and/or 'at_most', or 'between'; found " + (", ".join(what) or "none"),
            )
        ]
    found: list[tuple[Loc, str]] = []
    if (obs.sd is not None or obs.plus_minus is not None) and not point:
        name = "sd" if obs.sd is not None else "plus_minus"
        found.append(((*loc, name), f"{name!r} goes with 'value'"))
    if obs.sd is not None and obs.plus_minus is not None:
        found.append(((*loc, "plus_minus"), "expected either 'sd' or 'plus_minus', not both"))
    for name in ("sd", "plus_minus"):
        spread = getattr(obs, name)
        if spread is not None and spread < 0:
            found.append(((*loc, name), f"expected a number >= 0; found {spread:g}"))
    if obs.at_least is not None and obs.at_most is not None and obs.at_least > obs.at_most:
        found.append(
            (
                (*loc, "at_most"),
                f"impossible bounds: at_least {obs.at_least:g} is above at_most {obs.at_most:g}",
            )
        )
    if obs.between is not None and obs.between[0] > obs.between[1]:
        found.append(
            (
                (*loc, "between"),
                f"expected [low, high] with low <= high; found [{obs.between[0]:g}, "
                f"{obs.between[1]:g}]",
            )
        )
    figures = {
        n: getattr(obs, n) for n in ("value", "at_least", "at_most") if getattr(obs, n) is not None
    }
    if obs.between is not None:
        figures["between"] = obs.between[0]
        figures["between "] = obs.between[1]
    for name, figure in figures.items():
        where = (*loc, name.strip())
        if figure < 0:
            what = "share" if obs.is_share else "count"
            found.append((where, f"expected a {what} >= 0; found {figure:g}"))
        elif obs.is_share and figure > 1:
            found.append(
                (where, f"expected a share of at most 100% (1.0); found {figure:g} ({figure:.0%})")
            )
    return found


def _one_of(kind: str, name: str, known: Iterable[str]) -> str:
    listed = sorted(known)
    shown = ", ".join(listed[:12]) + (", ..." if len(listed) > 12 else "")
    return f"expected the id of one of the {kind} ({shown or 'none'}); found {name!r}"


def _answer_findings(scenario: Scenario) -> list[tuple[Loc, str]]:
    """What the schema cannot say about ``answers``: one form with the ids it needs, ids
    that exist (an observation's among the scenario's), one bound, days within the horizon
    and within the demand's window (none for an observation, which has its own), claims
    that exist, ids used once."""
    found: list[tuple[Loc, str]] = []
    demands = {d.id: d for d in scenario.demands}
    forces = {f.id for f in scenario.forces}
    locations = {loc.id for loc in scenario.locations}
    claims = {c.id for c in scenario.claims}
    observations = {o.id for o in scenario.observations}
    horizon = int(resolve(scenario.horizon).value)
    seen: dict[str, int] = {}
    for i, answer in enumerate(scenario.answers or []):
        loc: Loc = ("answers", i)
        if answer.id is not None:
            if answer.id in seen:
                found.append(
                    (
                        (*loc, "id"),
                        f"duplicate id {answer.id!r}: already used by answers[{seen[answer.id]}]",
                    )
                )
            else:
                seen[answer.id] = i
        forms = [name for name in Answer.FORMS if getattr(answer, name) is not None]
        if len(forms) != 1:
            what = "none" if not forms else " and ".join(repr(f) for f in forms)
            found.append(
                (
                    loc,
                    "expected exactly one of 'fully_covered' (with 'demand'), 'coverage' "
                    f"(with 'demand'), 'people' (with 'force' and 'location') or 'observation'; "
                    f"found {what}",
                )
            )
        form = answer.form
        need = {"people": ("force", "location"), "observation": ()}.get(form or "", ("demand",))
        if form is not None:
            for name in ("demand", "force", "location"):
                given = getattr(answer, name) is not None
                if name in need and not given:
                    found.append((loc, f"a {form!r} answer needs {name!r}"))
                elif name not in need and given:
                    takes = " and ".join(need) or "the observation's id alone"
                    found.append(((*loc, name), f"a {form!r} answer takes {takes}, not {name!r}"))
        if form == "observation":
            for name in ("at", "from", "to"):
                if getattr(answer, "from_" if name == "from" else name) is not None:
                    found.append(
                        (
                            (*loc, name),
                            f"an 'observation' answer is about the observation's own day or "
                            f"window: leave out {name!r}",
                        )
                    )
        if answer.observation is not None and answer.observation not in observations:
            found.append(
                ((*loc, "observation"), _one_of("observations", answer.observation, observations))
            )
        if answer.demand is not None and answer.demand not in demands:
            found.append(((*loc, "demand"), _one_of("demands", answer.demand, demands)))
        if answer.force is not None and answer.force not in forces:
            found.append(((*loc, "force"), _one_of("forces", answer.force, forces)))
        if answer.location is not None and answer.location not in locations:
            found.append(((*loc, "location"), _one_of("locations", answer.location, locations)))
        for name in ("coverage", "people"):
            bound = getattr(answer, name)
            if bound is not None and (bound.at_least is None) == (bound.at_most is None):
                what = "neither" if bound.at_least is None else "both"
                found.append(
                    ((*loc, name), f"expected exactly one of 'at_least' or 'at_most'; found {what}")
                )
        if answer.at is not None and (answer.from_ is not None or answer.to is not None):
            found.append(((*loc, "at"), "give either 'at' (one day) or 'from'/'to', not both"))
        if answer.at is not None and answer.fully_covered is not None:
            found.append(
                (
                    (*loc, "at"),
                    "a 'fully_covered' answer counts days over a window: give 'from'/'to', or "
                    "ask for 'coverage: {at_least: 100%}' at one day",
                )
            )
        days: dict[str, int] = {}
        for name in ("at", "from", "to"):
            when = getattr(answer, "from_" if name == "from" else name)
            if when is None:
                continue
            day = scenario.day_of(when) if isinstance(when, dt.date) else int(when)
            days[name] = day
            if horizon >= 1 and not 0 <= day < horizon:
                found.append(
                    (
                        (*loc, name),
                        f"expected a day within the horizon ({scenario.start.isoformat()}, day 0, "
                        f"to day {horizon - 1}); found day {day}",
                    )
                )
        if "from" in days and "to" in days and days["from"] > days["to"]:
            found.append(
                (
                    (*loc, "to"),
                    f"expected 'to' on or after 'from' (day {days['from']}); found day "
                    f"{days['to']}",
                )
            )
        demand = demands.get(answer.demand or "")
        if demand is not None and form in ("fully_covered", "coverage") and horizon >= 1:
            start = scenario.day_of(demand.start)
            end = (
                horizon if demand.duration is None else start + int(resolve(demand.duration).value)
            )
            first = days.get("at", days.get("from", 0))
            last = days.get("at", days.get("to", horizon - 1))
            if first <= last and (last < start or first >= end):
                found.append(
                    (
                        (*loc, "at" if "at" in days else "from" if "from" in days else "to"),
                        f"demand {demand.id!r} is active from day {start} to day {end - 1}; this "
                        f"answer asks about days {first} to {last}, when it requires nothing",
                    )
                )
        for k, claim in enumerate(answer.cites):
            if claim not in claims:
                found.append(((*loc, "cites", k), _one_of("claims", claim, claims)))
    return found


def _problems(
    findings: Iterable[tuple[Loc, str]],
    positions: Positions,
    filename: str,
    where: Callable[[Loc], tuple[str, int | None, int | None]] | None = None,
) -> list[Problem]:
    out = []
    for loc, message in findings:
        if where is not None:
            file, line, column = where(loc)
        else:
            file, (line, column) = filename, position_of(positions, loc)
        out.append(Problem(file, line, column, format_loc(loc), message))
    return sorted(
        set(out),
        key=lambda p: (p.file != filename, p.file, p.line or 0, p.column or 0, p.field, p.message),
    )


def _field_type(model: Any, loc: Loc) -> Any:
    """The model class found by following ``loc`` through the type annotations, if any."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    return _unwrap(current, None)


def _unwrap(tp: Any, part: str | int | None) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], part)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = _unwrap(arg, part)
            if found is not None:
                return found
        return None
    if part is None:
        return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
    if origin in (list, tuple) and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict and isinstance(part, str):
        return typing.get_args(tp)[1]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        field = tp.model_fields.get(part)
        return None if field is None else _annotation(tp, part)
    return None


def _annotation(model: type[BaseModel], name: str) -> Any:
    hints = typing.get_type_hints(model, include_extras=True)
    return hints[name]


def type_members(tp: Any) -> list[Any]:
    """The alternatives a type annotation allows, with Annotated and unions flattened."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return type_members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in type_members(arg)]
    return [tp]


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    """Drop pydantic's union-member tags (``Value``, ``function-before[...]``) from a loc.

    A part is kept when it indexes a list, keys a mapping, or names a field (known or not)
    of a model the type at that point allows; anything else is a tag.
    """
    return _walk(loc)[0]


def _walk(loc: tuple[Any, ...]) -> tuple[Loc, type[BaseModel] | None, str | None]:
    """``loc`` without tags; the model whose field the last part names; the quantity branch.

    A tag naming one member of a union (``Value``, ``function-after[..., Choice]``) narrows
    the type to that member, so that an unknown field is reported against the model it was
    checked against. The branch is ``"Value"`` or ``"Choice"`` when ``loc`` passes through a
    quantity's union, else ``None``.
    """
    out: list[str | int] = []
    current: Any = Scenario
    owner: type[BaseModel] | None = None
    branch: str | None = None
    for part in loc:
        owner = None
        if current is None:
            out.append(part)
            continue
        members = type_members(current)
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        lists = [m for m in members if typing.get_origin(m) in (list, tuple)]
        dicts = [m for m in members if typing.get_origin(m) is dict]
        tagged = [m for m in models if isinstance(part, str) and _tag_names(part, m)]
        if isinstance(part, int) and lists:
            out.append(part)
            current = typing.get_args(lists[0])[0]
        elif isinstance(part, str) and any(part in m.model_fields for m in models):
            model = next(m for m in models if part in m.model_fields)
            out.append(part)
            owner = model
            current = _annotation(model, part)
        elif isinstance(part, str) and dicts:
            out.append(part)
            current = typing.get_args(dicts[0])[1]
        elif tagged:
            current = tagged[0]
            if branch is None and tagged[0] in (Value, Choice):
                branch = tagged[0].__name__
        elif isinstance(part, str) and models and not _is_tag(part):
            out.append(part)  # an unknown field: extra_forbidden
            owner = models[0] if len(models) == 1 else None
            current = None
    return tuple(out), owner, branch


def _tag_names(part: str, model: type[BaseModel]) -> bool:
    """Whether a union-member tag such as ``function-after[f(), Choice]`` names ``model``."""
    name = model.__name__
    return part == name or part.endswith((f", {name}]", f"[{name}]"))


def _at(data: Any, loc: Loc) -> Any:
    """The plain value found at ``loc`` in the data read, or None."""
    for part in loc:
        if isinstance(data, list) and isinstance(part, int):
            data = data[part] if 0 <= part < len(data) else None
        elif isinstance(data, Mapping):
            data = data.get(part)
        else:
            return None
    return data


def _is_tag(part: str) -> bool:
    return part in {"Value", "Choice", "date", "int", "str", "float", "bool"} or "[" in part


def _found(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _numbers_of(model: type[BaseModel]) -> list[str]:
    """The fields of a model that hold a quantity (a number that may cite claims)."""
    return [
        info.alias or name
        for name, info in model.model_fields.items()
        if _kind_in(info.annotation) is not None
        or any(_kind_in(m) is not None for m in info.metadata)
    ]


def _a(name: str) -> str:
    return f"an {name}" if name[0] in "AEIOU" else f"a {name}"


def _put_on_the_number(name: str, parent: type[BaseModel], data: Any, loc: Loc) -> str:
    """Where ``cites`` or ``note`` goes when written on a mapping that cannot carry it: on
    one of the numbers the mapping holds, or on a number of another section."""
    here = _at(data, loc[:-1])
    numbers = _numbers_of(parent)
    given = [n for n in numbers if isinstance(here, Mapping) and n in here]
    what = "cites: [...]" if name == "cites" else 'note: "..."'
    if given or numbers:
        field = (given or numbers)[0]
        value = here.get(field) if isinstance(here, Mapping) else None
        shown = (
            value if isinstance(value, int | float | str) and not isinstance(value, bool) else 20000
        )
        listed = ", ".join(numbers)
        return (
            f"unknown field {name!r}: {_a(parent.__name__)} cannot carry it; put it on the "
            f"number: {field}: {{value: {shown}, {what}}} (numbers here: {listed})"
        )
    return (
        f"unknown field {name!r}: {_a(parent.__name__)} holds no number to carry it; put it on "
        f"a number, such as people: {{value: 20000, {what}}}"
    )


def _message(
    error: dict[str, Any], loc: Loc, owner: type[BaseModel] | None = None, data: Any = None
) -> str:
    kind = error["type"]
    if kind in _CUSTOM:
        return error["msg"]
    if kind == "missing":
        return f"missing required field {loc[-1]!r}" if loc else "missing required field"
    if kind == "extra_forbidden":
        parent = owner or _field_type(Scenario, loc[:-1])
        name = str(loc[-1])
        if parent is not None and name in ("cites", "note"):
            return _put_on_the_number(name, parent, data, loc)
        if parent is not None:
            known = [f.alias or n for n, f in parent.model_fields.items()]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"unknown field {name!r}{hint}; expected one of: {', '.join(known)}"
        return f"unknown field {name!r}"
    found = _found(error.get("input"))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of `field: value` entries; found {found}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list; found {found}"
    if kind == "too_long" and "max_length" in error.get("ctx", {}):
        most, actual = error["ctx"]["max_length"], error["ctx"].get("actual_length")
        return f"expected at most {most:,} items; found {actual or 'more'}"
    bounds = {"less_than_equal": ("le", "at most"), "greater_than_equal": ("ge", "at least")}
    if kind in bounds and bounds[kind][0] in error.get("ctx", {}):
        key, word = bounds[kind]
        limit = error["ctx"][key]
        shown = f"{limit:,}" if isinstance(limit, int) else f"{limit:g}"
        return f"expected a number {word} {shown}; found {found}"
    if kind == "finite_number":
        return f"expected a finite number; found {_found(error.get('input'))}"
    if kind == "too_short" and "min_length" in error.get("ctx", {}):
        least, actual = error["ctx"]["min_length"], error["ctx"].get("actual_length")
        items = "item" if least == 1 else "items"
        return f"expected at least {least} {items}; found {actual or 'none'}"
    text = error["msg"]
    if text.startswith("Input should be "):
        text = "expected " + text[len("Input should be ") :]
    elif text.startswith("Value error, "):
        text = text[len("Value error, ") :]
    elif text.startswith("String should match pattern"):
        text = "expected an identifier: a letter, then letters, digits, '_', '-' or '.'"
    else:
        text = text[0].lower() + text[1:]
    return f"{text}; found {found}"


def _union_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The raw loc of the quantity whose union ``loc`` passes through."""
    for i, part in enumerate(loc):
        if isinstance(part, str) and (part == "Value" or _tag_names(part, Choice)):
            return tuple(loc[:i])
    return tuple(loc)


def _schema_findings(exc: ValidationError, data: Any = None) -> list[tuple[Loc, str]]:
    errors = []
    for error in exc.errors(include_url=False):
        loc, owner, branch = _walk(error["loc"])
        errors.append((error, loc, owner, branch))
    # A quantity is a union of a plain value and a choice: pydantic reports why the input
    # fails as each. Keep the errors of the form the input was written in (a mapping with
    # 'choose' is a choice), as the normaliser reads it, unless that form reported none.
    reported: dict[tuple[Any, ...], set[str]] = {}
    for error, _, _, branch in errors:
        if branch is not None:
            reported.setdefault(_union_loc(error["loc"]), set()).add(branch)
    by_loc: dict[Loc, tuple[int, str]] = {}
    for error, loc, owner, branch in errors:
        if branch is not None:
            at = _union_loc(error["loc"])
            value = _at(data, _clean_loc(at))
            form = "Choice" if isinstance(value, Mapping) and "choose" in value else "Value"
            if form in reported[at] and branch != form:
                continue
        message = _message(error, loc, owner, data)
        rank = 0 if error["type"] in _CUSTOM else (2 if error["type"] == "missing" else 1)
        if loc not in by_loc or rank < by_loc[loc][0]:
            by_loc[loc] = (rank, message)
    # A union error reported at a loc also reports its members' errors below that loc; keep
    # the deepest, most specific ones (and every message of our own).
    return [
        (loc, msg)
        for loc, (rank, msg) in by_loc.items()
        if rank == 0 or not any(len(o) > len(loc) and o[: len(loc)] == loc for o in by_loc)
    ]
