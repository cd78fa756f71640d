"""Checks that span sections of a scenario, and policy templates resolved into positions.

Each check yields ``(loc, message)`` pairs; the loader turns them into located problems, so
a scenario with ten broken references reports ten problems at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from forcegen.scenario.claims import Loc, choices_of, quantities
from forcegen.scenario.model import Attrition, Policy, Position, Scenario
from forcegen.scenario.quantities import Choice, Value, resolve

Finding = tuple[Loc, str]


def _one_of(kind: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"expected the id of one of the {kind} ({listed}); found {name!r}"


def _unique(items: Sequence[object], section: str, attr: str = "id") -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        key = getattr(item, attr)
        if key in seen:
            yield (
                (section, i, attr),
                f"duplicate {attr} {key!r}: already used by {section}[{seen[key]}]",
            )
        else:
            seen[key] = i


def resolve_policies(
    scenario: Scenario, only: set[str] | None = None
) -> dict[str, tuple[Position, ...]]:
    """Each policy's positions, templates expanded, overrides applied and ``next`` filled in.

    Assumes :func:`check_references` found nothing, or that ``only`` names policies whose
    templates are sound (see :func:`_resolvable`); then only those are resolved.
    """
    by_id = {p.id: p for p in scenario.policies}
    out: dict[str, tuple[Position, ...]] = {}

    def positions(policy: Policy) -> tuple[Position, ...]:
        if policy.id in out:
            return out[policy.id]
        if policy.positions is not None:
            base = list(policy.positions)
        else:
            base = list(positions(by_id[policy.template]))  # type: ignore[index]
        patched = []
        for pos in base:
            override = policy.overrides.get(pos.name)
            if override is not None:
                changes = override.model_dump(exclude_none=True, exclude_unset=True)
                changes.update({k: getattr(override, k) for k in changes})
                pos = pos.model_copy(update=changes)
            patched.append(pos)
        filled = tuple(
            pos
            if pos.next is not None
            else pos.model_copy(update={"next": patched[(i + 1) % len(patched)].name})
            for i, pos in enumerate(patched)
        )
        out[policy.id] = filled
        return filled

    for policy in scenario.policies:
        if only is None or policy.id in only:
            positions(policy)
    return out


def _resolvable(scenario: Scenario, template_problems: Sequence[Finding]) -> set[str]:
    """Ids of the policies whose template chain has no problem (all, if none has one)."""
    by_id = {p.id: p for p in scenario.policies}
    if len(by_id) != len(scenario.policies):
        # Duplicate ids: which policy a template names is ambiguous; check only what
        # stands alone.
        ids = [p.id for p in scenario.policies]
        return {
            p.id
            for p in scenario.policies
            if p.template is None and p.positions is not None and ids.count(p.id) == 1
        }
    bad = {scenario.policies[loc[1]].id for loc, _ in template_problems}  # type: ignore[index]
    good: set[str] = set()
    for policy in scenario.policies:
        chain, current = set(), policy
        while current.id not in bad and current.id not in chain and current.template is not None:
            chain.add(current.id)
            current = by_id[current.template]
        if current.id not in bad and current.id not in chain:
            good.add(policy.id)
    return good


def _template_problems(scenario: Scenario) -> Iterator[Finding]:
    by_id = {p.id: p for p in scenario.policies}
    for i, policy in enumerate(scenario.policies):
        loc = ("policies", i)
        if policy.template is None and policy.positions is None:
            yield loc, "expected either 'positions' or 'template'; found neither"
            continue
        if policy.template is not None and policy.positions is not None:
            yield (*loc, "template"), "expected either 'positions' or 'template', not both"
            continue
        if policy.template is not None:
            if policy.template not in by_id:
                yield (*loc, "template"), _one_of("policies", policy.template, by_id)
                continue
            seen = [policy.id]
            current = by_id[policy.template]
            while current.template is not None and current.template in by_id:
                if current.id in seen:
                    yield (
                        (*loc, "template"),
                        "templates form a cycle: " + " -> ".join([*seen, current.id]),
                    )
                    break
                seen.append(current.id)
                current = by_id[current.template]
        elif policy.overrides:
            yield (*loc, "overrides"), "overrides apply only to a policy built from a template"


def _position_problems(
    positions: Sequence[Position], locations: set[str]
) -> Iterator[tuple[int | None, str, str]]:
    """``(index of the position or None for the cycle, field, message)`` for each problem."""
    names = [p.name for p in positions]
    for j, pos in enumerate(positions):
        if pos.location not in locations:
            yield j, "location", _one_of("locations", pos.location, locations)
        for attr in ("next", "pull_to"):
            target = getattr(pos, attr)
            if target is not None and target not in names:
                yield j, attr, _one_of("positions of this policy", target, names)
        if pos.duration is None and not (pos.ready or pos.terminal):
            yield (
                j,
                "duration",
                (
                    "expected a duration: only a ready position (which waits "
                    "to be pulled) or a terminal one may have none"
                ),
            )
        if pos.ready and pos.pull_to is None:
            yield (
                j,
                "pull_to",
                "a ready position needs 'pull_to': the position a pulled unit enters",
            )
        if pos.duration is not None and resolve(pos.duration).value < 1 and not pos.terminal:
            yield j, "duration", "expected at least 1 day; a unit spends whole days in a position"
        if pos.overlap and not pos.deployed:
            yield j, "overlap", "an overlap position must also be deployed"
        if pos.per == "stay" and not (isinstance(pos.duration, Value) and pos.duration.dist):
            yield (
                j,
                "per",
                "per: stay draws the duration afresh at each entry: expected an uncertain "
                "duration (one distribution, such as {lognormal: {median: 30d, p90: 60d}})",
            )
    if not any(p.terminal for p in positions) and all(p.duration is not None for p in positions):
        total = sum(resolve(p.duration).value for p in positions if p.duration is not None)
        if total < 1:
            yield None, "positions", "the cycle must last at least one day"


def _policy_problems(
    scenario: Scenario,
    index: int,
    resolved: dict[str, tuple[Position, ...]],
    locations: set[str],
) -> Iterator[Finding]:
    policy = scenario.policies[index]
    positions = resolved[policy.id]
    loc: Loc = ("policies", index)
    if not positions:
        yield (*loc, "positions"), "expected at least one position; found none"
        return
    names = [p.name for p in positions]
    if policy.positions is not None:
        for rest, msg in _unique(policy.positions, "positions", "name"):
            yield (*loc, *rest), msg
    for key in policy.overrides:
        if key not in names:
            yield (*loc, "overrides", key), _one_of("template's positions", key, names)
    own = policy.positions is not None
    problems = list(_position_problems(positions, locations))
    if not own and policy.template in resolved:
        # The template reports its own problems; report those its overrides bring in.
        inherited = set(_position_problems(resolved[policy.template], locations))
        problems = [p for p in problems if p not in inherited]
    for j, attr, msg in problems:
        if j is None:
            yield (*loc, attr), msg
        elif own:
            yield (*loc, "positions", j, attr), msg
        else:
            yield (*loc, "overrides", positions[j].name, attr), msg


def check_references(scenario: Scenario) -> list[Finding]:
    """Every cross-section problem in a scenario that passed schema validation."""
    found: list[Finding] = []
    for section in (
        "claims",
        "forces",
        "unit_types",
        "locations",
        "policies",
        "units",
        "demands",
        "reservoirs",
        "pipelines",
    ):
        found.extend(_unique(getattr(scenario, section), section))
    forces = {f.id for f in scenario.forces}
    types = {t.id for t in scenario.unit_types}
    locations = {loc.id for loc in scenario.locations}
    policy_ids = {p.id for p in scenario.policies}
    groups = {u.id for u in scenario.units}
    claims = {c.id for c in scenario.claims}
    horizon = resolve(scenario.horizon).value
    if horizon < 1:
        found.append((("horizon",), "expected at least 1 day"))

    for i, force in enumerate(scenario.forces):
        for j, limit in enumerate(force.limits):
            if limit.location not in locations:
                found.append(
                    (
                        ("forces", i, "limits", j, "location"),
                        _one_of("locations", limit.location, locations),
                    )
                )

    template_problems = list(_template_problems(scenario))
    found.extend(template_problems)
    resolved = resolve_policies(scenario, _resolvable(scenario, template_problems))
    for i, policy in enumerate(scenario.policies):
        if policy.id in resolved:
            found.extend(_policy_problems(scenario, i, resolved, locations))

    for i, unit in enumerate(scenario.units):
        loc: Loc = ("units", i)
        if unit.force not in forces:
            found.append(((*loc, "force"), _one_of("forces", unit.force, forces)))
        if unit.type not in types:
            found.append(((*loc, "type"), _one_of("unit types", unit.type, types)))
        if unit.policy not in policy_ids:
            found.append(((*loc, "policy"), _one_of("policies", unit.policy, policy_ids)))
        elif unit.start is not None and unit.policy in resolved:
            names = [p.name for p in resolved[unit.policy]]
            if unit.start not in names:
                found.append(
                    (
                        (*loc, "start"),
                        _one_of(f"positions of policy {unit.policy!r}", unit.start, names),
                    )
                )

    for i, demand in enumerate(scenario.demands):
        loc = ("demands", i)
        if demand.location not in locations:
            found.append(((*loc, "location"), _one_of("locations", demand.location, locations)))
        if (demand.people is None) == (demand.units is None):
            what = "neither" if demand.people is None else "both"
            found.append((loc, f"expected exactly one of 'people' or 'units'; found {what}"))
        for j, force in enumerate(demand.fill.forces):
            if force not in forces:
                found.append(((*loc, "fill", "forces", j), _one_of("forces", force, forces)))
        for j, utype in enumerate(demand.fill.unit_types or []):
            if utype not in types:
                found.append(((*loc, "fill", "unit_types", j), _one_of("unit types", utype, types)))
        for utype in demand.fill.substitution_costs or {}:
            if utype not in types:
                found.append(
                    (
                        (*loc, "fill", "substitution_costs", utype),
                        _one_of("unit types", utype, types),
                    )
                )
        if demand.fill.unit_types is not None and demand.fill.substitution_costs is not None:
            found.append(
                (
                    (*loc, "fill"),
                    "give either 'unit_types' (a preference order) or "
                    "'substitution_costs', not both",
                )
            )
        for force in demand.fill.caps:
            if force not in demand.fill.forces:
                found.append(
                    (
                        (*loc, "fill", "caps", force),
                        _one_of("forces that may fill this demand", force, demand.fill.forces),
                    )
                )
        start = scenario.day_of(demand.start)
        if horizon >= 1 and not 0 <= start < horizon:
            found.append(
                (
                    (*loc, "start"),
                    f"expected a start within the horizon (day 0 to "
                    f"{int(horizon) - 1}); found day {start}",
                )
            )

    for i, change in enumerate(scenario.changes):
        loc = ("changes", i)
        for j, group in enumerate(change.units):
            if group not in groups:
                found.append(((*loc, "units", j), _one_of("unit groups", group, groups)))
        if change.policy not in policy_ids:
            found.append(((*loc, "policy"), _one_of("policies", change.policy, policy_ids)))
        at = scenario.day_of(change.at)
        if horizon >= 1 and not 0 <= at < horizon:
            found.append(
                (
                    (*loc, "at"),
                    f"expected a day within the horizon (0 to {int(horizon) - 1}); found day {at}",
                )
            )

    found.extend(_manpower_problems(scenario, resolved))
    found.extend(_stock_problems(scenario))  # states and their stocks (issue 18)

    offered = choices_of(scenario)
    options: dict[str, tuple[str, ...]] = {n: o for n, (_, o) in offered.items()}
    for loc, q in quantities(scenario):
        cited: list[tuple[Loc, tuple[str, ...]]] = []
        if isinstance(q, Choice):
            if q.default != offered[q.choose][0] and q.default in options[q.choose]:
                found.append(
                    (
                        (*loc, "default"),
                        f"choice {q.choose!r} has default {offered[q.choose][0]!r} "
                        f"elsewhere; found {q.default!r}",
                    )
                )
            if set(q.options) != set(options[q.choose]):
                found.append(
                    (
                        (*loc, "options"),
                        f"choice {q.choose!r} offers options "
                        f"{sorted(options[q.choose])} elsewhere; found {sorted(q.options)}",
                    )
                )
            cited = [((*loc, "options", k, "cites"), v.cites) for k, v in q.options.items()]
        else:
            cited = [((*loc, "cites"), q.cites)]
        for cloc, cites in cited:
            for k, claim in enumerate(cites):
                if claim not in claims:
                    found.append(((*cloc, k), _one_of("claims", claim, claims)))
    return found


def _attrition_problems(
    loc: Loc, attrition: Attrition, base: Attrition | None
) -> Iterator[Finding]:
    def get(name: str) -> float:
        q = getattr(attrition, name)
        if q is None and base is not None:
            q = getattr(base, name)
        return 0.0 if q is None else resolve(q).value

    total = sum(get(c) for c in Attrition.CAUSES)
    if total > 1:
        yield loc, f"the daily hazards add up to {total:.3g}; expected at most 1"
    if get("return_share") > 0 and get("recovery") < 1:
        yield (
            (*loc, "recovery"),
            ("expected a recovery time of at least 1 day where return_share is above 0"),
        )


def _manpower_problems(
    scenario: Scenario, resolved: dict[str, tuple[Position, ...]]
) -> Iterator[Finding]:
    forces = {f.id for f in scenario.forces}
    types = {t.id for t in scenario.unit_types}
    policies = {p.id for p in scenario.policies}
    reservoirs = {r.id for r in scenario.reservoirs}
    horizon = int(resolve(scenario.horizon).value)

    for i, location in enumerate(scenario.locations):
        loc: Loc = ("locations", i)
        yield from _attrition_problems((*loc, "attrition"), location.attrition, None)
        for utype, attrition in location.attrition_by_type.items():
            tloc = (*loc, "attrition_by_type", utype)
            if utype not in types:
                yield tloc, _one_of("unit types", utype, types)
            yield from _attrition_problems(tloc, attrition, location.attrition)

    for i, policy in enumerate(scenario.policies):
        rule = policy.reconstitute
        if rule is not None and policy.id in resolved:
            names = [p.name for p in resolved[policy.id]]
            if rule.position not in names:
                yield (
                    ("policies", i, "reconstitute", "position"),
                    _one_of("positions of this policy", rule.position, names),
                )

    for i, reservoir in enumerate(scenario.reservoirs):
        loc = ("reservoirs", i)
        by_rate = reservoir.per_100k is not None or reservoir.population is not None
        if reservoir.size is not None and by_rate:
            yield loc, "expected either 'size' or 'per_100k' with 'population', not both"
        elif reservoir.size is None and (
            reservoir.per_100k is None or reservoir.population is None
        ):
            yield loc, "expected 'size', or both 'per_100k' and 'population'"

    for i, pipe in enumerate(scenario.pipelines):
        loc = ("pipelines", i)
        if pipe.force not in forces:
            yield (*loc, "force"), _one_of("forces", pipe.force, forces)
        if pipe.reservoir is not None and pipe.reservoir not in reservoirs:
            yield (*loc, "reservoir"), _one_of("reservoirs", pipe.reservoir, reservoirs)
        if pipe.uptake == "proportional" and pipe.reservoir is None:
            yield (*loc, "uptake"), "proportional uptake needs a 'reservoir' to be a share of"
        if not pipe.intake and not pipe.waves:
            yield loc, "expected an 'intake' schedule or 'waves' (or both); found neither"
        days = []
        for j, step in enumerate(pipe.intake):
            day = scenario.day_of(step.from_)
            if not 0 <= day < horizon:
                yield (
                    (*loc, "intake", j, "from"),
                    f"expected a day within the horizon (0 to {horizon - 1}); found day {day}",
                )
            if days and day <= days[-1]:
                yield (
                    (*loc, "intake", j, "from"),
                    f"expected steps in increasing order of day; day {day} follows day {days[-1]}",
                )
            days.append(day)
        for j, wave in enumerate(pipe.waves):
            day = scenario.day_of(wave.from_)
            if not 0 <= day < horizon:
                yield (
                    (*loc, "waves", j, "from"),
                    f"expected a day within the horizon (0 to {horizon - 1}); found day {day}",
                )
            if resolve(wave.over).value < 1:
                yield (*loc, "waves", j, "over"), "expected at least 1 day"
        if pipe.into == "cohorts":
            if pipe.cohort is None:
                yield (
                    (*loc, "cohort"),
                    (
                        "missing 'cohort': pipelines into cohorts need the "
                        "type and policy of the units they form"
                    ),
                )
            else:
                if pipe.cohort.type not in types:
                    yield (*loc, "cohort", "type"), _one_of("unit types", pipe.cohort.type, types)
                if pipe.cohort.policy not in policies:
                    yield (
                        (*loc, "cohort", "policy"),
                        _one_of("policies", pipe.cohort.policy, policies),
                    )
                if resolve(pipe.cohort.every).value < 1:
                    yield (*loc, "cohort", "every"), "expected at least 1 day"
        elif pipe.cohort is not None:
            yield (*loc, "cohort"), "a cohort applies only to a pipeline 'into: cohorts'"


def _stock_problems(scenario: Scenario) -> Iterator[Finding]:
    """States and their stocks: ids, forces, transitions (to another known state of the same
    force, once each), hazards adding up to at most 1, at most one stock per force feeding
    replacements or taking the discharged, and pipelines ``into: stock``."""
    yield from _unique(scenario.stocks, "stocks")
    forces = {f.id for f in scenario.forces}
    force_of = {st.id: st.force for st in scenario.stocks}
    first: dict[tuple[str, str], int] = {}
    for i, stock in enumerate(scenario.stocks):
        loc: Loc = ("stocks", i)
        if stock.force not in forces:
            yield (*loc, "force"), _one_of("forces", stock.force, forces)
        seen: dict[str, int] = {}
        for j, move in enumerate(stock.transitions):
            at = (*loc, "transitions", j, "to")
            if move.to == stock.id:
                yield at, f"a transition leads to another state; {move.to!r} is this one"
            elif move.to not in force_of:
                yield at, _one_of("stocks", move.to, force_of)
            elif force_of[move.to] != stock.force:
                yield (
                    at,
                    f"a transition stays within a force: {move.to!r} is a state of force "
                    f"{force_of[move.to]!r}, this one of {stock.force!r}",
                )
            elif move.to in seen:
                earlier = seen[move.to]
                yield at, f"duplicate transition to {move.to!r}: see transitions[{earlier}]"
            seen.setdefault(move.to, j)
        daily = [resolve(m.hazard).value for m in stock.transitions]
        if stock.wastage is not None:
            daily.append(resolve(stock.wastage).value)
        per = [1.0 - (1.0 - h) ** 365 for h in daily] if stock.step == "year" else daily
        if sum(per) > 1 + 1e-9:
            yield (
                loc,
                f"the {'yearly' if stock.step == 'year' else 'daily'} probabilities of leaving "
                f"the state (transitions and wastage) add up to {sum(per):.3g}; expected at "
                "most 1",
            )
        for flag in ("feeds_replacements", "takes_discharged"):
            if getattr(stock, flag):
                other = first.setdefault((flag, stock.force), i)
                if other != i:
                    yield (
                        (*loc, flag),
                        f"at most one stock of a force has {flag}: stocks[{other}] of force "
                        f"{stock.force!r} has it already",
                    )
    for i, pipe in enumerate(scenario.pipelines):
        loc = ("pipelines", i)
        if pipe.into == "stock":
            if pipe.stock is None:
                yield (
                    (*loc, "stock"),
                    "missing 'stock': pipelines into a stock name the state graduates join",
                )
            elif pipe.stock not in force_of:
                yield (*loc, "stock"), _one_of("stocks", pipe.stock, force_of)
            elif force_of[pipe.stock] != pipe.force:
                yield (
                    (*loc, "stock"),
                    f"a pipeline feeds a stock of its own force: {pipe.stock!r} is a state "
                    f"of force {force_of[pipe.stock]!r}, the pipeline's force is {pipe.force!r}",
                )
        elif pipe.stock is not None:
            yield (*loc, "stock"), "a stock applies only to a pipeline 'into: stock'"
