"""Numbers in a scenario: what kinds there are, how they are written, and what they cite.

Every number that means something in the model (a strength, a duration, a hazard, a demand)
is a *quantity*. A quantity is written either as a bare value (``500``, ``30d``, ``1.5%/mo``)
or as a mapping that adds the claims it rests on::

    strength: {value: 4500, cites: [C8], note: "45,000 in Belarus / 10 units there"}

or as a *choice* between alternatives that different sources support::

    strength:
      choose: ru-in-belarus          # one name for one disagreement, shared by every field
      default: report
      options:
        report: {value: 4500, cites: [C8]}
        hur: {value: 580, cites: [P12]}

or as an uncertain value that each run samples (a three-point estimate, a range, or a
lognormal given by its median and 90th percentile)::

    killed: {pert: [1%/mo, 2%/mo, 4%/mo], note: "assumption; see public estimates"}
    training: {triangular: [14d, 21d, 35d]}
    size: {uniform: [300000, 350000], cites: [P9]}
    uptake: {lognormal: {median: 0.02, p90: 0.05}}

A choice may carry ``weights``: each stochastic run then draws one option.

A quantity that cites no claim is an *assumption*; results list every assumption by field.

Values are converted to canonical units as they are read (durations to whole days, hazards
to a daily probability; see :mod:`forcegen.scenario.units`). Distributions are defined in
:mod:`forcegen.scenario.distributions`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from forcegen.scenario import units
from forcegen.scenario.distributions import SHAPES, Z90, AnyDist, dist_error, parse_dist
from forcegen.scenario.units import quoted as _found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


MAX_DAYS = 36_500
"""Longest duration, horizon or day offset, in days (100 years of 365 days).

The engine counts days in 32-bit integers and marks a unit never deployed with a sentinel
far beyond this; results carry one calendar date per day.
"""

MAX_PEOPLE = 1_000_000_000
"""Largest count of people (a demand, a cap, a reservoir, a wave) and largest daily rate."""

MAX_POPULATION = 10_000_000_000
"""Largest population a reservoir is a share of (more than the world's)."""

MAX_PER_100K = 100_000
"""Largest rate per 100,000 people: all of them."""

MAX_UNIT_STRENGTH = 1_000_000
"""Largest authorised strength of one unit, in people.

Records keep people in 32-bit floats, which hold every whole number up to 16,777,216
exactly; a unit of at most a million people is always counted to the person.
"""

MAX_GROUP_UNITS = 10_000
"""Most units in one unit group."""

MAX_UNITS = 30_000
"""Most units declared in a scenario (all groups together), and most units a demand asks for.

Records count units in 16-bit integers (at most 32,767 in one position).
"""

MAX_POSITIONS = 30_000
"""Most positions in all policies together: unit-level traces (``--keep units``) hold each
unit's position as a 16-bit integer."""


def _limit_text(limit: float) -> str:
    return f"{limit:,.0f}" if limit == int(limit) else f"{limit:g}"


class Kind:
    """How one kind of quantity is written, checked and converted to canonical units.

    ``limit`` is the largest value the kind allows (``None``: no limit); a field may set a
    tighter one by passing ``limit``. Every point of an uncertain value must lie within it,
    and samples are kept within it.
    """

    name: str = "number"
    expected: str = "a number"
    json_schema: dict[str, Any] = {"type": "number"}
    limit: float | None = None
    unit: str = ""
    measure: str = ""
    """The canonical unit of the value as results name it (``people``, ``units``, ``days``,
    ``share``, ``probability per day``, ``people per day``, ``per 100,000 people``; ``""``
    for a plain number); :mod:`forcegen.report.formats` shows each as people write it."""

    def __init__(self, limit: float | None = None, measure: str | None = None) -> None:
        if measure is not None:
            self.measure = measure
        if limit is not None:
            self.limit = float(limit)
            if "anyOf" not in self.json_schema:
                self.json_schema = {**self.json_schema, "maximum": limit}

    @property
    def upper(self) -> float | None:
        """The largest value samples may take (the limit)."""
        return self.limit

    def parse(self, raw: object) -> float:
        if not _is_number(raw):
            raise self.error(raw)
        try:
            value = float(raw)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond the largest float
            raise self.too_large(raw) from None
        if math.isnan(value):
            raise self.error(raw)
        if math.isinf(value):
            raise self.too_large(raw)
        return self.check(value, raw)

    def check(self, value: float, raw: object) -> float:
        self.within(value, raw)
        return value

    def within(self, value: float, raw: object) -> None:
        """Refuse a value above the limit (or not finite) with a message that gives it."""
        if not math.isfinite(value) or (self.limit is not None and value > self.limit):
            raise self.too_large(raw)

    def error(self, raw: object) -> PydanticCustomError:
        return PydanticCustomError(
            self.name,
            "expected {expected}, found {found}",
            {"expected": self.expected, "found": _found(raw)},
        )

    def too_large(self, raw: object) -> PydanticCustomError:
        if self.limit is None:
            return PydanticCustomError(
                self.name,
                "expected {expected} and finite, found {found}",
                {"expected": self.expected, "found": _found(raw)},
            )
        return PydanticCustomError(
            self.name,
            "expected {expected}, at most {limit}; found {found}",
            {
                "expected": self.expected,
                "limit": _limit_text(self.limit) + self.unit,
                "found": _found(raw),
            },
        )

    def check_lognormal(self, median: float, p90: float, raw: object) -> None:
        """Refuse a lognormal whose mean is not finite or is above the limit.

        The mean, ``median * exp(sigma**2 / 2)``, is the value deterministic runs take; a
        wide spread can make it overflow even when both points are small.
        """
        sigma = math.log(p90 / median) / Z90
        try:
            mean = median * math.exp(sigma**2 / 2)
        except OverflowError:
            mean = math.inf
        limit = math.inf if self.limit is None else self.limit
        if not mean <= limit:
            raise PydanticCustomError(
                "quantity",
                "expected a lognormal whose mean (median x exp(sigma^2 / 2)) is at most "
                "{limit}; found median {median} and p90 {p90}, a mean of {mean}",
                {
                    "limit": _limit_text(limit) + self.unit if math.isfinite(limit) else "finite",
                    "median": f"{median:g}",
                    "p90": f"{p90:g}",
                    "mean": f"{mean:.3g}",
                },
            )


class Count(Kind):
    """A non-negative whole number of people or units."""

    name = "count"
    expected = "a whole number >= 0"
    json_schema = {"type": "integer", "minimum": 0}
    limit = float(MAX_PEOPLE)
    measure = "people"

    def check(self, value: float, raw: object) -> float:
        self.within(value, raw)
        if value < 0 or value != int(value):
            raise self.error(raw)
        return value


class Fraction(Kind):
    """A share between 0 and 1, written as a number (0.25) or a percentage ("25%")."""

    name = "fraction"
    expected = "a share between 0 and 1, such as 0.25 or '25%'"
    json_schema = {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": 1},
            {"type": "string", "pattern": units.PATTERNS["percent"]},
        ]
    }
    limit = 1.0
    measure = "share"

    def parse(self, raw: object) -> float:
        if isinstance(raw, str) and raw.strip().endswith("%"):
            try:
                value = float(raw.strip()[:-1]) / 100
            except ValueError:
                raise self.error(raw) from None
            return self.check(value, raw)
        return super().parse(raw)

    def check(self, value: float, raw: object) -> float:
        if not 0 <= value <= 1:
            raise self.error(raw)
        return value


class Duration(Kind):
    """A whole number of days, written with a unit: ``30d``, ``4w``, ``3mo``, ``1y``.

    A bare number is read as days. At most :data:`MAX_DAYS`.
    """

    name = "duration"
    expected = "a duration in whole days such as 30d, 4w, 3mo or 1y"
    json_schema = {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": MAX_DAYS},
            {"type": "string", "pattern": units.PATTERNS["duration"]},
        ]
    }
    limit = float(MAX_DAYS)
    unit = " days (100 years)"
    measure = "days"

    def parse(self, raw: object) -> float:
        if isinstance(raw, str):
            value = units.duration_days(raw)
            if value is None:
                raise self.error(raw)
            return self.check(value, raw)
        return super().parse(raw)

    def check(self, value: float, raw: object) -> float:
        self.within(value, raw)
        if value < 0 or abs(value - round(value)) > 1e-9:
            raise self.error(raw)
        return float(round(value))


class Hazard(Kind):
    """A probability per day, or per period converted to per day.

    Written ``0.0005`` (per day), ``0.05%/d``, ``1.5%/mo``, ``10%/y``. The per-period form
    states the probability of the event over the whole period for someone exposed all of it.
    """

    name = "hazard"
    expected = "a probability per day or per period, such as 0.0005, '0.05%/d' or '1.5%/mo'"
    json_schema = {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": 1},
            {"type": "string", "pattern": units.PATTERNS["hazard"]},
        ]
    }
    limit = 1.0
    measure = "probability per day"

    def parse(self, raw: object) -> float:
        if isinstance(raw, str):
            value = units.hazard_per_day(raw)
            if value is None:
                raise self.error(raw)
            return value
        return super().parse(raw)

    def check(self, value: float, raw: object) -> float:
        if not 0 <= value <= 1:
            raise self.error(raw)
        return value


class Rate(Kind):
    """People per day, or per period converted to per day: ``200``, ``200/d``, ``6000/mo``."""

    name = "rate"
    expected = "a number of people per day or per period, such as 200, '1500/w' or '6000/mo'"
    json_schema = {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": MAX_PEOPLE},
            {"type": "string", "pattern": units.PATTERNS["rate"]},
        ]
    }
    limit = float(MAX_PEOPLE)
    unit = " a day"
    measure = "people per day"

    def parse(self, raw: object) -> float:
        if isinstance(raw, str):
            value = units.rate_per_day(raw)
            if value is None:
                raise self.error(raw)
            return self.check(value, raw)
        return super().parse(raw)

    def check(self, value: float, raw: object) -> float:
        self.within(value, raw)
        if value < 0:
            raise self.error(raw)
        return value


class Positive(Kind):
    """A number >= 0 (a rate per 100,000 people, say)."""

    name = "number"
    expected = "a number >= 0"
    json_schema = {"type": "number", "minimum": 0}
    limit = float(MAX_PEOPLE)

    def check(self, value: float, raw: object) -> float:
        self.within(value, raw)
        if value < 0:
            raise self.error(raw)
        return value


class Value(BaseModel):
    """A value (in canonical units) with the claims it cites; uncertain if ``dist`` is set.

    For an uncertain value, ``value`` is the distribution's central value (its mean), which
    deterministic runs use. ``widen: false`` exempts it from widening by claim grade.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float
    cites: tuple[str, ...] = ()
    note: str | None = None
    dist: AnyDist | None = None
    widen: bool = True


class Choice(BaseModel):
    """Alternatives that different sources support, selected by name for the whole scenario.

    Without ``weights`` every run takes the ``default`` (or the option picked with
    ``--choose``). With ``weights`` each stochastic run draws an option with those relative
    weights, the same option for every number that shares the choice's name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    choose: str = Field(min_length=1)
    default: str
    options: dict[str, Value] = Field(min_length=1)
    weights: dict[str, float] | None = None

    @model_validator(mode="after")
    def _default_is_an_option(self) -> Choice:
        if self.default not in self.options:
            raise PydanticCustomError(
                "choice_default",
                "default {default} is not one of the options {options}",
                {"default": repr(self.default), "options": ", ".join(sorted(self.options))},
            )
        if self.weights is not None:
            if set(self.weights) != set(self.options):
                raise PydanticCustomError(
                    "choice_default",
                    "expected one weight for each option ({options}); found weights for {got}",
                    {
                        "options": ", ".join(sorted(self.options)),
                        "got": ", ".join(sorted(self.weights)) or "none",
                    },
                )
            if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
                raise PydanticCustomError(
                    "choice_default",
                    "expected weights >= 0 that add up to more than 0; found {got}",
                    {"got": ", ".join(f"{k}: {v:g}" for k, v in self.weights.items())},
                )
        return self


Quantity = Value | Choice


def _bounds(kind: Kind) -> dict[str, Any]:
    """The range samples of a kind of number are kept in, and whether they are whole."""
    return {
        "integer": isinstance(kind, Count | Duration),
        "lower": 0.0,
        "upper": kind.upper,
    }


def normaliser(kind: Kind):
    def value(raw: object) -> dict[str, Any]:
        if isinstance(raw, Mapping):
            if any(k in raw for k in SHAPES):
                if "value" in raw:
                    raise dist_error(kind, "expected either 'value' or a distribution, not both")
                return parse_dist(kind, raw, _bounds(kind))
            if "value" not in raw:
                raise PydanticCustomError(
                    "quantity",
                    "expected {expected}, or a mapping with 'value' and 'cites' (or a "
                    f"distribution: {', '.join(SHAPES)}); found a mapping "
                    "without 'value'",
                    {"expected": kind.expected},
                )
            out = dict(raw)
            out["value"] = kind.parse(raw["value"])
            return out
        return {"value": kind.parse(raw)}

    def normalise(raw: object) -> object:
        if isinstance(raw, Mapping) and "choose" in raw:
            out = dict(raw)
            options = raw.get("options")
            if isinstance(options, Mapping):
                out["options"] = {k: value(v) for k, v in options.items()}
            return out
        return value(raw)

    return normalise


def quantity_schema(kind: Kind) -> dict[str, Any]:
    """The JSON Schema of a quantity of ``kind``: every form :func:`normaliser` accepts (a
    bare value, ``{value, cites, note, widen}``, each distribution, a choice between them)."""
    value_form = {
        "type": "object",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "value": kind.json_schema,
            "cites": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
            "widen": {"type": "boolean"},
        },
    }
    choice_form = {
        "type": "object",
        "required": ["choose", "default", "options"],
        "additionalProperties": False,
        "properties": {
            "choose": {"type": "string"},
            "default": {"type": "string"},
            "options": {
                "type": "object",
                "additionalProperties": {"anyOf": [kind.json_schema, value_form]},
            },
        },
    }
    common = {
        "cites": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
        "widen": {"type": "boolean"},
    }
    dist_forms = [
        {
            "type": "object",
            "required": [name],
            "additionalProperties": False,
            "properties": {name: shape.json_form(kind.json_schema), **common},
        }
        for name, shape in SHAPES.items()
    ]
    choice_form["properties"]["weights"] = {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    choice_form["properties"]["options"]["additionalProperties"]["anyOf"].extend(dist_forms)
    return {
        "anyOf": [kind.json_schema, value_form, *dist_forms, choice_form],
        "description": f"{kind.expected}; may cite claims, be uncertain, or offer alternatives",
    }


def _quantity_type(kind: Kind) -> Any:
    schema = quantity_schema(kind)
    return Annotated[Quantity, BeforeValidator(normaliser(kind)), WithJsonSchema(schema), kind]


CountQ = _quantity_type(Count())
FractionQ = _quantity_type(Fraction())
DurationQ = _quantity_type(Duration())
HazardQ = _quantity_type(Hazard())
RateQ = _quantity_type(Rate())
PositiveQ = _quantity_type(Positive())
StrengthQ = _quantity_type(Count(limit=MAX_UNIT_STRENGTH))
GroupCountQ = _quantity_type(Count(limit=MAX_GROUP_UNITS, measure="units"))
UnitsQ = _quantity_type(Count(limit=MAX_UNITS, measure="units"))
PopulationQ = _quantity_type(Count(limit=MAX_POPULATION))
Per100kQ = _quantity_type(Positive(limit=MAX_PER_100K, measure="per 100,000 people"))


def _kind_in(annotation: object) -> Kind | None:
    """The kind of number a field's type annotation declares, searching inside unions,
    ``Annotated`` metadata, lists and mappings (not inside nested models)."""
    if isinstance(annotation, Kind):
        return annotation
    for arg in (*get_args(annotation), *getattr(annotation, "__metadata__", ())):
        found = _kind_in(arg)
        if found is not None:
            return found
    return None


def kind_of(model: BaseModel, loc: tuple[str | int, ...]) -> Kind | None:
    """The kind of the number at the field path ``loc`` of a scenario object (for example
    ``("units", 0, "count")``), or ``None`` when ``loc`` names no number there."""
    node: object = model
    kind: Kind | None = None
    for part in loc:
        if isinstance(node, BaseModel) and isinstance(part, str):
            name = next(
                (n for n, info in type(node).model_fields.items() if (info.alias or n) == part),
                None,
            )
            if name is None:
                return None
            info = type(node).model_fields[name]
            kind = _kind_in(info.annotation) or next(
                (k for k in map(_kind_in, info.metadata) if k is not None), None
            )
            node = getattr(node, name)
        elif (isinstance(node, list | tuple) and isinstance(part, int) and part < len(node)) or (
            isinstance(node, Mapping) and part in node
        ):
            node = node[part]
        else:
            return None
    return kind if isinstance(node, Value | Choice) else None


@dataclass(frozen=True)
class Resolved:
    """A quantity with its choice made: the number and the claims behind it."""

    value: float
    cites: tuple[str, ...]

    @property
    def is_assumption(self) -> bool:
        return not self.cites


def resolve(quantity: Quantity, choices: Mapping[str, str] | None = None) -> Resolved:
    """The value a quantity takes under the given selection of choices (default otherwise)."""
    if isinstance(quantity, Choice):
        option = (choices or {}).get(quantity.choose, quantity.default)
        picked = quantity.options[option]
        return Resolved(picked.value, picked.cites)
    return Resolved(quantity.value, quantity.cites)


# --- Numbers as people write them on the command line --------------------------------------
# (Imports are local to these functions: the top of this module is edited elsewhere.)

_PLAIN_NUMBER = r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?(?:[eE][-+]?\d+)?$"


def read_value(kind: Kind | None, text: str) -> float:
    """A number as people write it for its kind, in canonical units.

    ``20d`` and ``3mo`` for a duration, ``1%/mo`` or ``0.0005`` for a hazard, ``20%`` or
    ``0.2`` for a share, ``6000/mo`` for a rate, ``9,000`` or ``9000`` for a count. A plain
    number is taken in canonical units (days, probability per day, people per day), as the
    scenario format reads it. ``kind`` ``None`` takes a plain number only.

    Raises
    ------
    UsageError
        If the text is not a number of that kind (or lies outside its limits); the message
        gives the forms the kind takes.
    """
    import re

    from forcegen.errors import UsageError

    s = text.strip()
    raw: object = s
    if s and any(c.isdigit() for c in s) and re.match(_PLAIN_NUMBER, s):
        number = float(s.replace(",", ""))
        whole = number.is_integer() and not any(c in s for c in ".eE")
        raw = int(number) if whole else number
    if kind is None:
        if isinstance(raw, int | float) and math.isfinite(raw):
            return float(raw)
        raise UsageError(f"expected a number; found {text!r}")
    try:
        return kind.parse(raw)
    except PydanticCustomError as exc:
        raise UsageError(f"{text!r} is not accepted here: {exc.message()}") from None


def read_range(kind: Kind | None, text: str) -> tuple[float, float]:
    """A range written ``LOW..HIGH`` (``20d..45d``, ``1%/mo..4%/mo``), in canonical units.

    Raises
    ------
    UsageError
        If a side is missing, either side is not a number of the kind (negative counts,
        values beyond the kind's limits), or the low end is above the high end.
    """
    from forcegen.errors import UsageError

    low_text, sep, high_text = text.partition("..")
    if not sep or not low_text.strip() or not high_text.strip() or ".." in high_text:
        raise UsageError(
            f"expected a range LOW..HIGH such as 20d..45d or 1%/mo..4%/mo; found {text!r}"
        )
    low, high = read_value(kind, low_text), read_value(kind, high_text)
    if low > high:
        raise UsageError(
            f"the range {text!r} runs backwards: its low end ({low:g}) is above its high "
            f"end ({high:g})"
        )
    return low, high


def kind_at(root: object, loc: tuple[str | int, ...]) -> Kind | None:
    """The kind of number the scenario format declares at ``loc``, whether or not the data
    states a number there: ``units[0].current`` is a share even where no unit gives one,
    and ``units[0].strength.options.report`` is a strength.

    ``root`` is a scenario or its plain data as YAML gives it (only the declared types are
    followed, so either gives the same answer). ``None`` where ``loc`` names no number.
    """
    from typing import get_origin

    from forcegen.scenario.model import Scenario

    tp: Any = type(root) if isinstance(root, BaseModel) else Scenario
    kind: Kind | None = None
    for part in loc:
        members = _declared(tp)
        if isinstance(part, int):
            items = [get_args(m)[0] for m in members if get_origin(m) in (list, tuple)]
            if not items:
                return None
            tp = items[0]
            continue
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        owner = next((m for m in models if part in _written(m)), None)
        if owner is not None:
            info = owner.model_fields[_written(owner)[part]]
            found = _kind_in(info.annotation) or next(
                (k for k in map(_kind_in, info.metadata) if k is not None), None
            )
            if owner not in (Value, Choice):
                kind = found
            tp = info.annotation
            continue
        values = [get_args(m)[1] for m in members if get_origin(m) is dict]
        if not values:
            return None
        tp = values[0]
    return kind if any(m in (Value, Choice) for m in _declared(tp)) else None


def _declared(tp: Any) -> list[Any]:
    """The types a declared type allows, out of ``Annotated`` and unions."""
    from types import UnionType
    from typing import Union, get_origin

    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, UnionType):
        return [m for arg in get_args(tp) for m in _declared(arg)]
    return [tp]


def _written(model: type[BaseModel]) -> dict[str, str]:
    return {(info.alias or name): name for name, info in model.model_fields.items()}
