"""The scenario format: typed, validated objects for every section of a scenario file.

The classes here declare each field's type, unit and range once; pydantic turns those
declarations into the error messages and into the JSON Schema printed by
``forcegen schema``. Checks that span sections (a unit naming a policy that does not exist)
live in :mod:`forcegen.scenario.references`.

Names follow DESIGN.md: claims, forces, unit types, locations (with attrition), policies (a
cycle of positions), units (declared as groups of identical units), demands and scheduled
changes.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from forcegen.scenario import units
from forcegen.scenario.quantities import (
    MAX_DAYS,
    MAX_PEOPLE,
    Count,
    CountQ,
    Duration,
    DurationQ,
    Fraction,
    FractionQ,
    GroupCountQ,
    HazardQ,
    Per100kQ,
    PopulationQ,
    Quantity,
    RateQ,
    StrengthQ,
    UnitsQ,
    Value,
    normaliser,
    quantity_schema,
    resolve,
)
from forcegen.scenario.units import duration_days

FORMAT_VERSION = 1

FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2200, 12, 31)
"""Dates a scenario may use, its start and every day simulated included.

Results store one calendar date per day as nanoseconds since 1970 in 64 bits, which
readers can represent only from 1678 to 2262; these years stay well within that.
"""

MAX_ITEMS = 1_000
"""Most items in a list of a scenario (forces, policies, positions of a policy, unit groups,
demands, pipelines, ...), claims excepted."""

MAX_CLAIMS = 10_000
"""Most claims in a scenario."""

MAX_PRIORITY = 1_000_000
"""Largest demand priority."""

MAX_WIDENING = 10.0
"""Largest widening factor of one grade letter or digit."""

MAX_SETTING = 1e9
"""Largest magnitude of a plain numeric setting (a substitution cost)."""

Finite = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_SETTING, le=MAX_SETTING)]
Factor = Annotated[float, Field(allow_inf_nan=False, ge=1.0, le=MAX_WIDENING)]

Id = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$",
        max_length=64,
        description="an identifier: a letter, then letters, digits, '_', '-' or '.'",
    ),
]

_GRADE_RE = re.compile(r"^[A-F][1-6]$")


class Strict(BaseModel):
    """Base of every scenario object: unknown fields are errors, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


_MONTH_RE = re.compile(r"^\s*([0-9]{4})-([0-9]{1,2})\s*$")
_YEAR_RE = re.compile(r"^\s*([0-9]{4})\s*$")
DATE_FORMS = "YYYY-MM-DD, YYYY-MM (a month) or YYYY (a year)"
"""How a date may be written, for messages."""
DATE_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "pattern": _MONTH_RE.pattern},
        {"type": "string", "pattern": _YEAR_RE.pattern},
        {"type": "integer", "minimum": FIRST_DATE.year, "maximum": LAST_DATE.year},
    ]
}
"""The JSON Schema of a date known to the day, the month or the year."""


def _date_error(value: object) -> PydanticCustomError:
    return PydanticCustomError(
        "date",
        "expected a date written {forms}, found {found}",
        {"forms": DATE_FORMS, "found": repr(value)},
    )


def _period(value: object) -> tuple[dt.date, dt.date] | None:
    """The first and last days of a date known to the month (``2022-11``) or the year
    (``2023``, as text or a number); ``None`` for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    month, year = _MONTH_RE.match(value), _YEAR_RE.match(value)
    try:
        if month:
            y, m = int(month.group(1)), int(month.group(2))
            first = dt.date(y, m, 1)
            return first, first.replace(day=calendar.monthrange(y, m)[1])
        if year:
            y = int(year.group(1))
            return dt.date(y, 1, 1), dt.date(y, 12, 31)
    except ValueError:
        raise _date_error(value) from None
    return None


def _in_range(value: object) -> object:
    if isinstance(value, dt.date) and not FIRST_DATE <= value <= LAST_DATE:
        raise PydanticCustomError(
            "date",
            "expected a date from {first} to {last}; found {found}",
            {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat(), "found": str(value)},
        )
    return value


def _date(value: object, end: bool) -> object:
    period = _period(value)
    if period is not None:
        return _in_range(period[1] if end else period[0])
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _date_error(value) from None
    if isinstance(value, dt.date | dt.datetime) or value is None:
        return _in_range(value)
    raise _date_error(value)


def _parse_date(value: object) -> object:
    """A date written YYYY-MM-DD, or known to the month or year: its first day."""
    return _date(value, end=False)


def _parse_end(value: object) -> object:
    """A date written YYYY-MM-DD, or known to the month or year: its last day."""
    return _date(value, end=True)


Date = Annotated[dt.date, BeforeValidator(_parse_date), WithJsonSchema(DATE_SCHEMA)]
"""A date; one known to the month or the year is its first day (a start, a beginning)."""

EndDate = Annotated[dt.date, BeforeValidator(_parse_end), WithJsonSchema(DATE_SCHEMA)]
"""A date; one known to the month or the year is its last day (a figure as of then)."""


def _when(value: object) -> object:
    if isinstance(value, str) and (_MONTH_RE.match(value) or "-" in value):
        return _parse_date(value)
    return value


When = Annotated[
    DurationQ | dt.date,
    BeforeValidator(_when),
    WithJsonSchema(
        {
            "anyOf": [
                *quantity_schema(Duration())["anyOf"],
                {"type": "string", "format": "date"},
                {"type": "string", "pattern": _MONTH_RE.pattern},
            ],
            "description": "a date (YYYY-MM-DD, or YYYY-MM for its first day) or a "
            "duration after the scenario start",
        }
    ),
]
"""A day: a date (one known to the month is its first day), or a duration after the
scenario start. A bare year here would read as days: write ``2023-01``."""


LINK_KINDS = ("origin", "agency", "outlet", "aggregator", "translation")
"""What one link of a claim's chain is: where the words first came from (``origin``: a
person, an office, an anonymous insider), a news agency relaying them (``agency``), a
newspaper or site publishing them (``outlet``), a site collecting others' reports
(``aggregator``), or a translation (``translation``, by a person or a machine)."""


class Link(Strict):
    """One step of the way a claim travelled from its origin to the analyst."""

    kind: Literal["origin", "agency", "outlet", "aggregator", "translation"]
    name: str = Field(
        min_length=1,
        description="who or what: 'anonymous Belarusian source', 'Corriere della Sera', "
        "'machine translation'",
    )
    url: str | None = None
    language: str | None = Field(None, description="language of this step's words, e.g. 'it'")
    date: Date | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        """The link as the claims table shows it: ``Corriere della Sera (it)``."""
        return f"{self.name} ({self.language})" if self.language else self.name


def _publication_from_via(data: object) -> object:
    """A source that gives a chain but no ``publication`` is filed under the last outlet,
    agency or aggregator of its chain."""
    if (
        isinstance(data, Mapping)
        and "publication" not in data
        and isinstance(data.get("via"), list)
    ):
        relays = [
            link.get("name")
            for link in data["via"]
            if isinstance(link, Mapping) and link.get("kind") in ("outlet", "agency", "aggregator")
        ]
        if relays and isinstance(relays[-1], str):
            return {**data, "publication": relays[-1]}
    return data


def _source_schema(schema: dict[str, Any]) -> None:
    schema["required"] = [r for r in schema.get("required", []) if r != "publication"]
    schema["anyOf"] = [{"required": ["publication"]}, {"required": ["via"]}]


def _claim_schema(schema: dict[str, Any]) -> None:
    parts = ("grade", "reliability", "credibility")
    schema["required"] = [r for r in schema.get("required", []) if r not in parts]
    schema["anyOf"] = [{"required": ["grade"]}, {"required": ["reliability", "credibility"]}]
    props = schema["properties"]
    props["grade"] = {**props["grade"], "type": "string", "pattern": "^\\s*[A-Fa-f][1-6]\\s*$"}
    props["reliability"] = {
        "description": props["reliability"].get("description", ""),
        "type": "string",
        "pattern": "^\\s*[A-Fa-f]\\s*$",
    }
    props["credibility"] = {
        "description": props["credibility"].get("description", ""),
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 6},
            {"type": "string", "pattern": "^\\s*[1-6]\\s*$"},
        ],
    }


class Source(Strict):
    """Where a claim was published, and the way it reached the analyst.

    ``via`` lists the steps in order, from the origin to what the analyst read (the origin,
    the outlets relaying it, a translation). ``publication`` may then be left out: it is the
    last outlet, agency or aggregator of the chain. ``quote`` keeps the original words, in
    the source's ``language``.
    """

    model_config = ConfigDict(json_schema_extra=_source_schema)

    publication: str = Field(
        min_length=1, description="outlet or document, e.g. 'Corriere della Sera'"
    )
    author: str | None = None
    date: Date | None = None
    url: str | None = None
    title: str | None = None
    language: str | None = Field(None, description="language of the publication, e.g. 'it'")
    quote: str | None = Field(None, description="the original words, in the source's language")
    via: list[Link] = Field(default_factory=list, max_length=MAX_ITEMS)

    _publication = model_validator(mode="before")(_publication_from_via)

    @property
    def chain(self) -> str:
        """The way the claim travelled, for people: ``anonymous source → Corriere della Sera
        (it) → machine translation``; the publication (and its language) without a chain."""
        if self.via:
            return " → ".join(link.label for link in self.via)
        return f"{self.publication} ({self.language})" if self.language else self.publication


RELIABILITY = ("A", "B", "C", "D", "E", "F")
"""Admiralty source reliability, from completely reliable (A) to cannot be judged (F)."""


def _grade_parts(data: object) -> object:
    """A claim's grade in upper case, and ``grade`` and ``reliability``/``credibility``
    filled from each other where only one form is given."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    for name, form in (("grade", _GRADE_RE), ("reliability", re.compile("^[A-F]$"))):
        written = out.get(name)
        if isinstance(written, str) and form.match(written.strip().upper()):
            out[name] = written.strip().upper()  # a refusal quotes what was written
    grade = out.get("grade")
    if isinstance(grade, str) and _GRADE_RE.match(grade):
        out.setdefault("reliability", grade[0])
        out.setdefault("credibility", int(grade[1]))
    elif isinstance(grade, str):  # refused as a grade: say so once, not also "missing"
        out.setdefault("reliability", "F")
        out.setdefault("credibility", 6)
    elif grade is None and "reliability" in out and "credibility" in out:
        combined = f"{out['reliability']}{out['credibility']}".replace(" ", "")
        # Parts that make no grade are reported themselves, not also as a bad grade.
        out["grade"] = combined if _GRADE_RE.match(combined) else "F6"
    elif grade is None and "reliability" not in out and "credibility" not in out:
        out["reliability"], out["credibility"] = "F", 6  # reported once, as a missing grade
    return out


class Claim(Strict):
    """A sourced statement that numbers in the scenario may cite.

    Graded on the Admiralty (NATO) scale: ``reliability`` of the source, A–F, and
    ``credibility`` of the information, 1–6, given apart or together as ``grade: B2`` (in
    any case); both forms together must agree. Grade the originating source, not the outlet
    repeating it. ``grade`` is always the combined text.
    """

    model_config = ConfigDict(json_schema_extra=_claim_schema)

    id: Id
    source: Source
    attribution: Literal["named", "anonymous", "official", "outlet"] = Field(
        description="who the claim comes from: a named person, an anonymous source, an "
        "official body, or the outlet itself (its own reporting, no speaker named)"
    )
    attributed_to: str | None = Field(None, description="who said it, as the source words it")
    paraphrase: str = Field(min_length=1, description="the claim in the analyst's own words")
    reliability: Literal["A", "B", "C", "D", "E", "F"] = Field(
        description="source reliability, A (completely reliable) to F (cannot be judged)"
    )
    credibility: int = Field(
        ge=1, le=6, description="information credibility, 1 (confirmed) to 6 (cannot be judged)"
    )
    grade: str = Field(description="Admiralty grade such as B2 (A-F then 1-6)")
    note: str | None = None

    _parts = model_validator(mode="before")(_grade_parts)

    @field_validator("grade")
    @classmethod
    def _grade(cls, value: str, info: ValidationInfo) -> str:
        if not _GRADE_RE.match(value):
            raise PydanticCustomError(
                "grade",
                "expected an Admiralty grade: a letter A-F (source reliability) then a digit "
                "1-6 (information credibility), such as B2; found {found}",
                {"found": repr(value)},
            )
        letter, digit = info.data.get("reliability"), info.data.get("credibility")
        if None not in (letter, digit) and (letter, digit) != (value[0], int(value[1])):
            raise PydanticCustomError(
                "grade",
                "grade {grade} disagrees with reliability {letter} and credibility {digit}: "
                "give one form, or make them agree",
                {"grade": value, "letter": letter or "?", "digit": digit or "?"},
            )
        return value


class ForceLimit(Strict):
    """At most ``people`` of a force at a location: ready units are not pulled beyond it."""

    location: Id
    people: CountQ


class Force(Strict):
    """A party that owns units: a state's army, a private military company, an ally.

    Its replacement pool (fed by pipelines ``into: replacements`` and by wounded whose unit
    is gone) goes each day to its units below authorised strength, in the order
    ``replacement_rule`` names: ``most_depleted`` (lowest share of authorised strength
    first) or ``deployed_first`` (deployed units first, then most depleted); ties by unit
    number.
    """

    id: Id
    name: str | None = None
    limits: list[ForceLimit] = Field(default_factory=list, max_length=MAX_ITEMS)
    replacement_rule: Literal["most_depleted", "deployed_first"] = "most_depleted"


class UnitType(Strict):
    """A capability tag that demands may ask for."""

    id: Id
    name: str | None = None


class Attrition(Strict):
    """Daily hazards for the people at a location, by cause.

    ``wounded`` counts everyone evacuated from a unit wounded or sick; ``return_share`` of
    them come back to duty after ``recovery`` (to their unit, or to their force's
    replacement pool if the unit is gone); the rest leave the force. Causes compete: each
    day a person is killed, wounded, missing (or captured), deserted (or defected), or none.
    """

    CAUSES: ClassVar[tuple[str, ...]] = ("killed", "wounded", "missing", "deserted")
    """The fields that are daily hazards of a cause of loss (the engine draws them in this
    order: ``forcegen.engine.plan.CAUSE_HAZARDS``, which a test holds equal)."""

    killed: HazardQ | None = None
    wounded: HazardQ | None = None
    return_share: FractionQ | None = Field(None, description="share of the wounded who return")
    recovery: DurationQ | None = Field(None, description="days before the wounded return")
    missing: HazardQ | None = Field(None, description="missing or captured")
    deserted: HazardQ | None = Field(None, description="deserted or defected")


class Location(Strict):
    """Where people are counted and where demand arises."""

    id: Id
    name: str | None = None
    attrition: Attrition = Field(default_factory=Attrition)
    attrition_by_type: dict[Id, Attrition] = Field(
        default_factory=dict,
        description="per unit type: fields given here replace the location's for that type",
    )


def _per_from_duration(raw: object) -> object:
    """Take ``per`` out of a duration written as a mapping (``{lognormal: ..., per: stay}``)
    into the position's own ``per``."""
    if not isinstance(raw, Mapping):
        return raw
    duration = raw.get("duration")
    if not isinstance(duration, Mapping) or "per" not in duration:
        return raw
    if "per" in raw:
        raise PydanticCustomError(
            "per", "'per' is given twice: inside the duration and beside it; keep one"
        )
    out = dict(raw)
    out["duration"] = {k: v for k, v in duration.items() if k != "per"}
    out["per"] = duration["per"]
    return out


def _per_schema(schema: dict[str, Any]) -> None:
    """Let the schema's mapping forms of a position's duration hold ``per`` too."""

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["properties"]["per"] = {"enum": ["run", "stay"]}
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    properties = schema.get("properties", {})
    if "duration" in properties:  # a copy: the schemas of quantities are shared
        properties["duration"] = copy.deepcopy(properties["duration"])
        walk(properties["duration"])


class Position(Strict):
    """One step of a rotation cycle.

    ``duration`` is how long a unit stays before moving on to ``next`` (the following
    position in the list by default, wrapping to the first). A ready position without a
    duration holds units until a demand pulls them into ``pull_to``. An uncertain duration
    is drawn once per run (``per: run``, the default) or afresh at each entry of a unit
    (``per: stay``). Time in a ``mobilised`` position (or a deployed one) counts as
    mobilised.
    """

    name: Id
    location: Id
    duration: DurationQ | None = None
    deployed: bool = Field(False, description="counts as boots on ground (BOG)")
    ready: bool = Field(False, description="units here may be pulled by a demand")
    overlap: bool = Field(
        False,
        description="outgoing unit during relief in place: present, deployed, but no "
        "longer filling demand",
    )
    terminal: bool = Field(False, description="discharge: the unit leaves the force here")
    next: Id | None = None
    pull_to: Id | None = Field(None, description="position a pulled ready unit moves to")
    per: Literal["run", "stay"] = Field(
        "run",
        description="an uncertain duration drawn once per run (run) or at each entry (stay); "
        "may be written inside the duration",
    )
    mobilised: bool = Field(
        False, description="time here counts as mobilised (the mobilisation-to-dwell ratio)"
    )

    _per = model_validator(mode="before")(_per_from_duration)
    model_config = ConfigDict(json_schema_extra=_per_schema)


class PositionOverride(Strict):
    """Changes to one position of a template policy."""

    model_config = ConfigDict(json_schema_extra=_per_schema)

    location: Id | None = None
    duration: DurationQ | None = None
    deployed: bool | None = None
    ready: bool | None = None
    overlap: bool | None = None
    terminal: bool | None = None
    next: Id | None = None
    pull_to: Id | None = None
    per: Literal["run", "stay"] | None = None
    mobilised: bool | None = None

    _per = model_validator(mode="before")(_per_from_duration)


class Reconstitute(Strict):
    """Withdraw a unit that falls below a share of its authorised strength."""

    below: FractionQ
    position: Id = Field(description="position the unit is withdrawn to")


class Policy(Strict):
    """A unit's rotation cycle: positions, or a template policy with overrides.

    ``min_dwell`` is the least number of days since a unit's last deployment before a demand
    may pull it again.
    """

    id: Id
    template: Id | None = None
    positions: list[Position] | None = Field(None, max_length=MAX_ITEMS)
    overrides: dict[Id, PositionOverride] = Field(default_factory=dict)
    min_dwell: DurationQ | None = None
    reconstitute: Reconstitute | None = None
    description: str | None = None
    release: Literal["full_dwell", "prorated"] = Field(
        "full_dwell",
        description="a unit released early when its demand ends serves its full dwell, or a "
        "dwell prorated by the share of its deployment served",
    )


def _phase(raw: object, info: ValidationInfo) -> object:
    if raw == "even":
        return raw
    try:
        return normaliser(Duration())(raw, info)
    except PydanticCustomError:
        raise PydanticCustomError(
            "duration",
            "expected 'even' (spread over the cycle) or a duration into the cycle "
            "such as 10d; found {found}",
            {"found": repr(raw)},
        ) from None


Phase = Annotated[
    Literal["even"] | Quantity,
    BeforeValidator(_phase),
    WithJsonSchema(
        {
            "anyOf": [{"const": "even"}, *quantity_schema(Duration())["anyOf"]],
            "description": "'even' (spread over the cycle) or a duration into the cycle",
        }
    ),
]


class UnitGroup(Strict):
    """``count`` identical units; staggered evenly across their cycle unless ``phase`` says.

    ``phase: even`` spreads the units over the cycle's fixed-length positions; a duration
    starts every unit of the group that many days into its cycle. ``start`` names the
    position the cycle (and the phase) is counted from.
    """

    id: Id
    force: Id
    type: Id
    policy: Id
    count: GroupCountQ = Value(value=1.0)
    strength: StrengthQ = Field(description="authorised strength of each unit, in people")
    current: FractionQ | None = Field(
        None, description="share of authorised strength present at the start (default 1)"
    )
    phase: Phase = "even"
    start: Id | None = None


class FillRule(Strict):
    """Who may fill a demand, in which order, and how much of each force counts."""

    forces: list[Id] = Field(min_length=1, description="forces that may fill, in preference order")
    unit_types: list[Id] | None = Field(
        None, description="unit types that may fill, in preference order (default: any)"
    )
    substitution_costs: dict[Id, Finite] | None = Field(
        None, description="cost of filling with each unit type; cheaper fills first"
    )
    caps: dict[Id, CountQ] = Field(
        default_factory=dict, description="most people (or units) of a force that count"
    )


class Demand(Strict):
    """People (or units) required at a location over a window of days."""

    id: Id
    location: Id
    people: CountQ | None = None
    units: UnitsQ | None = None
    start: When = Field(
        Value(value=0.0),
        description="first day, as a date or as days after the scenario start",
    )
    duration: DurationQ | None = Field(
        None, description="length of the window (default: to the end)"
    )
    priority: int = Field(1, ge=1, le=MAX_PRIORITY, description="lower numbers are filled first")
    fill: FillRule
    description: str | None = None
    lead_time: DurationQ | None = Field(
        None,
        description="days before its start that the demand pulls ready units, so that they "
        "arrive by its first day",
    )


class Change(Strict):
    """From a day on, units of the named groups switch policy (deployed units at next reset)."""

    at: When
    units: list[Id] = Field(min_length=1, max_length=MAX_ITEMS)
    policy: Id
    note: str | None = None


class Reservoir(Strict):
    """A finite population recruits are drawn from (prisoners, reservists, volunteers).

    Give ``size``, or ``per_100k`` and ``population`` (size = per_100k x population /
    100,000). ``refill`` adds people over time (new convictions, say). A reservoir never
    goes negative; several pipelines may share one, drawing in file order.
    """

    id: Id
    name: str | None = None
    size: CountQ | None = None
    per_100k: Per100kQ | None = Field(None, description="people per 100,000 of population")
    population: PopulationQ | None = None
    refill: RateQ | None = None


class IntakeStep(Strict):
    """From a day on, a pipeline takes recruits at this rate (until the next step)."""

    from_: When = Field(alias="from")
    rate: RateQ


class Wave(Strict):
    """A call-up: ``people`` recruits spread evenly over ``over`` days from ``from``."""

    from_: When = Field(alias="from")
    people: CountQ
    over: DurationQ


class Cohort(Strict):
    """Each batch of graduates forms ``units`` new units of a type with a policy.

    Batches close every ``every`` days (on days every-1, 2*every-1, ... of the scenario).
    A fixed-term contract is a policy whose last position is terminal.
    """

    type: Id
    policy: Id
    every: DurationQ = Value(value=30.0)
    units: int = Field(1, ge=1, le=100, description="units formed from each batch")


class Pipeline(Strict):
    """A recruitment flow: from a reservoir, through training, into cohorts, replacements or
    the stock of a state (``into: stock`` with ``stock: STATE``).

    The intake rate is the sum of the current ``intake`` step and any ``waves``. With
    ``uptake: proportional`` it shrinks in proportion to what remains of the reservoir
    (rate x remaining / initial size); with ``capped`` it is taken in full while the
    reservoir lasts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Id
    force: Id
    reservoir: Id | None = Field(None, description="default: an unlimited supply")
    intake: list[IntakeStep] = Field(default_factory=list, max_length=MAX_ITEMS)
    waves: list[Wave] = Field(default_factory=list, max_length=MAX_ITEMS)
    uptake: Literal["capped", "proportional"] = "capped"
    training: DurationQ = Value(value=0.0)
    into: Literal["cohorts", "replacements", "stock"]
    cohort: Cohort | None = None
    stock: Id | None = Field(
        None, description="the state whose stock graduates join (with 'into: stock')"
    )


class Transition(Strict):
    """People leaving a state for another state of the same force, at a hazard."""

    to: Id = Field(description="the state people move to")
    hazard: HazardQ = Field(description="probability per day (or per period) of moving")
    note: str | None = None


class Stock(Strict):
    """A state people of a force are in (a grade, a status) and the stock of people in it.

    The stock starts at ``initial`` people; pipelines ``into: stock`` feed it; each day its
    people leave by ``transitions`` to other states of the force and by ``wastage`` out of
    the force, as competing hazards (the classic Markov manpower-planning model). With
    ``step: year`` those hazards apply once a year, as the probability of each move over a
    year (``10%/y`` moves 10% of the stock), on the last day of each 365-day year of the
    scenario, as textbook discrete-time models do. ``feeds_replacements``: the force's units
    below authorised strength draw replacements from this stock once the force's
    replacement pool is spent. ``takes_discharged``: people discharged from the force's
    units (at a terminal position, the end of a contract) join this stock.
    """

    id: Id
    force: Id
    name: str | None = None
    initial: CountQ = Field(Value(value=0.0), description="people in the state at the start")
    wastage: HazardQ | None = Field(None, description="hazard of leaving the force")
    transitions: list[Transition] = Field(default_factory=list, max_length=MAX_ITEMS)
    step: Literal["day", "year"] = Field(
        "day", description="apply the hazards every day, or once a year (textbook models)"
    )
    feeds_replacements: bool = Field(
        False, description="the force's units draw replacements from this stock"
    )
    takes_discharged: bool = Field(
        False, description="people discharged from the force's units join this stock"
    )
    note: str | None = None


def _keys_as_text(value: object) -> object:
    """Grade tables' keys as text: YAML reads the credibility digits ``1: 1.5`` as numbers."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


def _by_grade(
    grade: str,
    reliability: Mapping[str, float],
    credibility: Mapping[str, float],
    defaults: tuple[Mapping[str, float], Mapping[str, float]],
) -> tuple[float, float]:
    """The entries of a grade such as ``D3`` in a scenario's tables (over the defaults):
    its letter's under reliability, its digit's under credibility."""
    return (
        {**defaults[0], **reliability}[grade[0]],
        {**defaults[1], **credibility}[grade[1]],
    )


DEFAULT_RELIABILITY_TOLERANCE = {"A": 0.05, "B": 0.05, "C": 0.1, "D": 0.15, "E": 0.25, "F": 0.15}
DEFAULT_CREDIBILITY_TOLERANCE = {"1": 0.0, "2": 0.05, "3": 0.1, "4": 0.15, "5": 0.25, "6": 0.15}

Share = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=10.0)]


class Tolerance(Strict):
    """How far a model figure may stray from an observation before the claim fails.

    forcegen's own convention, not doctrine (Admiralty grades carry no probabilities): an
    observation's interval is widened on each side by a share of its bound, the share of a
    claim being ``reliability[letter] + credibility[digit]`` (B2: 5% + 5% = 10%; D3: 15% +
    10% = 25%), and that of an observation the largest among the claims it cites (as the
    widening of inputs takes the largest factor). An observation's own ``tolerance``
    replaces the rule; one that cites no claim gets ``uncited``.
    """

    by_grade: bool = True
    reliability: dict[Literal["A", "B", "C", "D", "E", "F"], Share] = Field(
        default_factory=lambda: dict(DEFAULT_RELIABILITY_TOLERANCE)
    )
    credibility: dict[Literal["1", "2", "3", "4", "5", "6"], Share] = Field(
        default_factory=lambda: dict(DEFAULT_CREDIBILITY_TOLERANCE)
    )
    uncited: Share = Field(0.25, description="share for an observation that cites no claim")

    _keys = field_validator("reliability", "credibility", mode="before")(_keys_as_text)

    def share(self, grade: str) -> float:
        """Tolerance of one claim grade such as ``D3``, as a share of the bound."""
        if not self.by_grade:
            return 0.0
        defaults = (DEFAULT_RELIABILITY_TOLERANCE, DEFAULT_CREDIBILITY_TOLERANCE)
        source, information = _by_grade(grade, self.reliability, self.credibility, defaults)
        return source + information


DEFAULT_RELIABILITY_WIDENING = {"A": 1.0, "B": 1.0, "C": 1.1, "D": 1.25, "E": 1.5, "F": 1.25}
DEFAULT_CREDIBILITY_WIDENING = {"1": 1.0, "2": 1.0, "3": 1.1, "4": 1.25, "5": 1.5, "6": 1.25}


class Hedges(Strict):
    """How a hedged value (``{at_least: 20000}``, ``{about: 4500}``) becomes uncertain.

    forcegen's own convention: ``about: x`` is triangular from ``x`` less ``about`` (a
    share) to ``x`` plus it, peaking at ``x``; ``at_least: a`` is triangular from ``a`` to
    ``a`` times ``at_least``, peaking at ``a``; ``at_most: b`` triangular from ``b``
    divided by ``at_most`` to ``b``, peaking at ``b``; ``between: [a, b]`` (or
    ``at_least`` with ``at_most``) uniform on [a, b]. Deterministic runs take the mean.
    """

    about: Annotated[
        float,
        BeforeValidator(Fraction().parse),
        Field(gt=0.0, lt=1.0),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                    {"type": "string", "pattern": units.PATTERNS["percent"]},
                ]
            }
        ),
    ] = Field(0.1, description="share either side of an 'about' figure (default 10%)")
    at_least: Factor = Field(1.5, description="highest value of 'at_least: a' is a times this")
    at_most: Factor = Field(1.5, description="lowest value of 'at_most: b' is b over this")


class Uncertainty(Strict):
    """How a claim's grade widens the spread of the uncertain values that cite it.

    forcegen's own convention, not doctrine (Admiralty grades carry no probabilities): the
    spread of an uncertain value is multiplied by the largest factor among the claims it
    cites, the factor of a claim being ``reliability[letter] * credibility[digit]``.
    Three-point estimates widen about their mode, ranges about their middle, lognormals
    by their log-spread; the result stays within the range the number allows. Values
    marked ``widen: false`` and values that are not uncertain are left alone.
    """

    widen_by_grade: bool = True
    reliability: dict[Literal["A", "B", "C", "D", "E", "F"], Factor] = Field(
        default_factory=lambda: dict(DEFAULT_RELIABILITY_WIDENING)
    )
    credibility: dict[Literal["1", "2", "3", "4", "5", "6"], Factor] = Field(
        default_factory=lambda: dict(DEFAULT_CREDIBILITY_WIDENING)
    )
    tolerance: Tolerance = Field(
        default_factory=lambda: Tolerance(),
        description="how claim grades set the tolerance of observations",
    )
    hedges: Hedges = Field(
        default_factory=lambda: Hedges(),
        description="how hedged values (at_least, at_most, about, between) become uncertain",
    )

    _keys = field_validator("reliability", "credibility", mode="before")(_keys_as_text)

    def factor(self, grade: str) -> float:
        """Widening factor of one claim grade such as ``F3``."""
        defaults = (DEFAULT_RELIABILITY_WIDENING, DEFAULT_CREDIBILITY_WIDENING)
        source, information = _by_grade(grade, self.reliability, self.credibility, defaults)
        return source * information


class Window(Strict):
    """At most ``max_deployed`` days deployed in any ``days`` consecutive days."""

    days: DurationQ
    max_deployed: DurationQ


class RotationRules(Strict):
    """Limits on how units rotate, checked per unit after a run (``forcegen rules``).

    Each limit left out is not checked. ``forces`` restricts the rules to some forces.
    """

    forces: list[Id] | None = None
    max_deployment: DurationQ | None = Field(
        None, description="longest unbroken stay in deployed positions"
    )
    windows: list[Window] = Field(default_factory=list, max_length=MAX_ITEMS)
    max_deployed_to_dwell: FractionQ | None = Field(
        None, description="days deployed over days not deployed, over the whole run (<= 1)"
    )
    max_mobilised_to_dwell: FractionQ | None = Field(
        None,
        description="days mobilised (or deployed) over days neither, over the whole run (<= 1)",
    )


def _number(value: object) -> object:
    """A figure as sources write it: a number, ``"9,000"``, or a percentage ``"20%"``."""
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1].strip(), 0.01
        try:
            return float(text) * scale
        except ValueError:
            raise PydanticCustomError(
                "quantity",
                "expected a number such as 9000 or 9,000, or a percentage such as 20%; "
                "found {found}",
                {"found": repr(value)},
            ) from None
    return value


Figure = Annotated[
    float,
    BeforeValidator(_number),
    Field(allow_inf_nan=False, ge=-1e12, le=1e12),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}]}),
]
"""A claimed figure: a number, or text such as ``9,000`` or ``20%``."""

MEASURES: dict[str, str] = {
    "people": "people present (force, location, unit_type optional)",
    "killed": "people killed, cumulative (force optional)",
    "wounded": "people wounded, cumulative (force optional)",
    "missing": "people missing or captured, cumulative (force optional)",
    "deserted": "people deserted or defected, cumulative (force optional)",
    "discharged": "people discharged at the end of a contract, cumulative (force optional)",
    "lost": "people lost to every cause but discharge, cumulative (force optional)",
    "recruits": "people drawn into a pipeline, cumulative (pipeline)",
    "graduates": "people graduating from a pipeline, cumulative (pipeline)",
    "reservoir": "people left in a reservoir (reservoir)",
    "units_deployed": "units in deployed positions (force optional)",
    "coverage": "share of a demand filled (demand)",
}
"""What an observation may measure, with its qualifiers (``docs/format.md``)."""

Measure = Literal[tuple(MEASURES)]  # type: ignore[valid-type]
"""One of :data:`MEASURES`."""


class MeasureRef(Strict):
    """A figure the model outputs, per run and day: a measure and what it is counted over.

    Cumulative measures (losses, discharged, recruits, graduates) count from the scenario
    start; ``before_start`` adds people already counted before it (a total a source gives
    since an earlier date).
    """

    measure: Measure
    force: Id | None = None
    location: Id | None = None
    unit_type: Id | None = None
    pipeline: Id | None = None
    reservoir: Id | None = None
    demand: Id | None = None
    before_start: Figure | None = Field(
        None, description="people counted before the scenario start (cumulative measures)"
    )


def _about_is_value(data: object) -> object:
    """An observation's ``about: x`` is its ``value: x`` (the grades' tolerance makes any
    claimed figure approximate), as inputs write a figure a source hedges."""
    if isinstance(data, Mapping) and "about" in data:
        if "value" in data:
            raise PydanticCustomError(
                "quantity", "expected either 'value' or 'about' (the same thing), not both", {}
            )
        data = {("value" if k == "about" else k): v for k, v in data.items()}
    return data


class Observation(MeasureRef):
    """A claimed outcome: a figure the model outputs, at a date or over a window, citing
    claims.

    The day: ``at`` or ``by`` (the same: the level that day, or the total from the start
    through that day), or ``from`` and ``to`` (a window, both days included: the total over
    it, or the mean level). The claim: ``value`` (with ``sd`` or ``plus_minus``, written
    ``±`` if you like; ``about`` is the same as ``value``), ``at_least`` and/or ``at_most``,
    or ``between``. With ``share_of``
    the figure is this measure divided by that one, per run, and the claim a share.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Id
    at: EndDate | None = None
    by: EndDate | None = None
    from_: Date | None = Field(None, alias="from")
    to: EndDate | None = None
    value: Figure | None = None
    about: Figure | None = Field(None, description="the same as value: 'about 45,000'")
    sd: Figure | None = None
    plus_minus: Figure | None = Field(
        None, validation_alias=AliasChoices("plus_minus", "±"), description="also written ±"
    )
    at_least: Figure | None = None
    at_most: Figure | None = None
    between: tuple[Figure, Figure] | None = None
    share_of: MeasureRef | None = None
    tolerance: Share | None = Field(None, description="replaces the tolerance the grades give")
    cites: list[Id] = Field(default_factory=list, max_length=MAX_ITEMS)
    paraphrase: str | None = None
    note: str | None = None

    _about = model_validator(mode="before")(_about_is_value)

    @property
    def cumulative(self) -> bool:
        """Whether the measure is a total over days (losses, flows) rather than a level."""
        return is_cumulative(self.measure)

    @property
    def is_share(self) -> bool:
        """Whether the figure is a share (of another measure, or a demand's coverage)."""
        return self.share_of is not None or self.measure == "coverage"

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """First and last dates the figure covers (equal for a date)."""
        day = self.at or self.by
        if day is not None:
            return day, day
        return self.from_ or self.to, self.to or self.from_  # type: ignore[return-value]


CUMULATIVE = frozenset(
    {"killed", "wounded", "missing", "deserted", "discharged", "lost", "recruits", "graduates"}
)
"""Measures that are totals over days; the others are levels on a day."""


def is_cumulative(measure: str) -> bool:
    """Whether a measure is a total over days (see :data:`CUMULATIVE`)."""
    return measure in CUMULATIVE


def _answer_day(raw: object, end: bool = False) -> object:
    """A day of an answer as a date, or as whole days after the scenario start (an integer
    or a duration such as ``90d``): a plain setting, never a quantity that could be
    sampled or cited. A date known to the month is its first day, or its last with
    ``end``."""
    if isinstance(raw, str) and "-" in raw:
        return _date(raw, end)
    if isinstance(raw, dt.date):
        return _date(raw, end)
    days = duration_days(raw) if isinstance(raw, str) else None
    if isinstance(raw, int) and not isinstance(raw, bool):
        days = float(raw)
    if days is None or days < 0 or days > MAX_DAYS or days != int(days):
        raise PydanticCustomError(
            "date",
            "expected a date written YYYY-MM-DD or YYYY-MM (a month), or whole days after "
            "the scenario start (such as 90, 90d or '3 months'); found {found}",
            {"found": repr(raw)},
        )
    return int(days)


_ANSWER_DAY_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "pattern": _MONTH_RE.pattern},
        {"type": "string", "pattern": units.PATTERNS["duration"]},
        {"type": "integer", "minimum": 0, "maximum": MAX_DAYS},
    ]
}

AnswerDay = Annotated[
    dt.date | int, BeforeValidator(_answer_day), WithJsonSchema(_ANSWER_DAY_SCHEMA)
]
"""A day an answer is about: a date (a month: its first day), or whole days after the
scenario start."""

AnswerEnd = Annotated[
    dt.date | int,
    BeforeValidator(lambda raw: _answer_day(raw, end=True)),
    WithJsonSchema(_ANSWER_DAY_SCHEMA),
]
"""Like :data:`AnswerDay`, a month being its last day (``at`` and ``to``)."""

_SHARE = Fraction()
_PEOPLE = Count()

Share = Annotated[
    float,
    BeforeValidator(_SHARE.parse),
    WithJsonSchema(_SHARE.json_schema),
]
"""A share from 0 to 1, written 0.95 or '95%' (a plain setting, not a quantity)."""

People = Annotated[
    float,
    BeforeValidator(_PEOPLE.parse),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_PEOPLE}),
]
"""A whole number of people >= 0 (a plain setting, not a quantity)."""


class DaysShare(Strict):
    """``days``: the least share of the demand's days on which it must be fully covered."""

    days: Share


class ShareBound(Strict):
    """A bound on a share: give exactly one of ``at_least`` and ``at_most``."""

    at_least: Share | None = None
    at_most: Share | None = None


class PeopleBound(Strict):
    """A bound on a number of people: give exactly one of ``at_least`` and ``at_most``."""

    at_least: People | None = None
    at_most: People | None = None


class Answer(Strict):
    """A statement that would answer the scenario's question, decided in every run.

    Its probability is the share of runs in which it holds. Exactly one form:

    - ``fully_covered: {days: S}`` with ``demand``: the demand is fully covered on at
      least a share S of its days (of its days within ``from``/``to``, if given);
    - ``coverage: {at_least: S}`` (or ``at_most``) with ``demand``: the demand's coverage
      (filled over required) meets the bound on day ``at``, or on every day of its window
      within ``from``/``to`` (its whole window if neither is given);
    - ``people: {at_least: N}`` (or ``at_most``) with ``force`` and ``location``: the
      people of the force present at the location meet the bound on day ``at``, or on
      every day from ``from`` to ``to`` (the whole horizon if neither is given);
    - ``observation: ID``: the claim of one of the scenario's ``observations`` holds: its
      figure lies in the claimed interval after the tolerance its claims' grades give. The
      observation has its own day or window, so ``at``/``from``/``to`` are not given.

    ``from`` and ``to`` are inclusive; either may be left out (the first or the last day).
    The thresholds are settings of the question, not statements about the world: they
    are never sampled, and ``cites`` names the claims a threshold is taken from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    FORMS: ClassVar[tuple[str, ...]] = ("fully_covered", "coverage", "people", "observation")
    """The fields that name an answer's form; exactly one is given."""

    id: Id | None = None
    text: str | None = Field(None, min_length=1, description="the statement in the analyst's words")
    demand: Id | None = None
    force: Id | None = None
    location: Id | None = None
    fully_covered: DaysShare | None = None
    coverage: ShareBound | None = None
    people: PeopleBound | None = None
    observation: Id | None = Field(
        None, description="the id of an observation whose claim the answer asks about"
    )
    at: AnswerEnd | None = None
    from_: AnswerDay | None = Field(None, alias="from")
    to: AnswerEnd | None = None
    cites: list[Id] = Field(default_factory=list, max_length=MAX_ITEMS)
    note: str | None = None

    @property
    def form(self) -> str | None:
        """The form given (``fully_covered``, ``coverage``, ``people`` or ``observation``), if
        exactly one."""
        given = [name for name in self.FORMS if getattr(self, name) is not None]
        return given[0] if len(given) == 1 else None


class Scenario(Strict):
    """A whole scenario: the one input of a simulation."""

    forcegen: Literal[1] = Field(description="format version of this file")
    name: str = Field(min_length=1)
    question: str | None = Field(None, description="the question this scenario answers")
    description: str | None = None
    start: Date = Field(description="calendar date of day 0 (a month or year: its first day)")
    horizon: DurationQ = Field(description="how long to simulate")
    claims: list[Claim] = Field(default_factory=list, max_length=MAX_CLAIMS)
    forces: list[Force] = Field(min_length=1, max_length=MAX_ITEMS)
    unit_types: list[UnitType] = Field(min_length=1, max_length=MAX_ITEMS)
    locations: list[Location] = Field(min_length=1, max_length=MAX_ITEMS)
    policies: list[Policy] = Field(min_length=1, max_length=MAX_ITEMS)
    units: list[UnitGroup] = Field(default_factory=list, max_length=MAX_ITEMS)
    demands: list[Demand] = Field(default_factory=list, max_length=MAX_ITEMS)
    changes: list[Change] = Field(default_factory=list, max_length=MAX_ITEMS)
    reservoirs: list[Reservoir] = Field(default_factory=list, max_length=MAX_ITEMS)
    pipelines: list[Pipeline] = Field(default_factory=list, max_length=MAX_ITEMS)
    stocks: list[Stock] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="states of people (grades, statuses) and their stocks",
    )
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    rules: RotationRules | None = None
    observations: list[Observation] = Field(default_factory=list, max_length=MAX_ITEMS)
    answers: list[Answer] | None = Field(
        None,
        max_length=MAX_ITEMS,
        description="statements that would answer the question (default: one per demand)",
    )

    def day_of(self, when: Quantity | dt.date) -> int:
        """Day index of a date or of a day offset (the default choice, if a choice)."""
        if isinstance(when, dt.date):
            return (when - self.start).days
        return int(resolve(when).value)
