"""Distributions of uncertain values: one class per shape, found by name in :data:`SHAPES`.

An uncertain value is written as a mapping with one shape key::

    killed: {pert: [1%/mo, 2%/mo, 4%/mo]}
    training: {triangular: [14d, 21d, 35d]}
    size: {uniform: [300000, 350000]}
    uptake: {lognormal: {median: 0.02, p90: 0.05}}

Each shape is a frozen model (in canonical units) that knows how it is written (``parse``
and ``json_form``), its mean (the value deterministic runs use), its quantile function
(how runs sample it), how it widens by a factor (for claims of weak grade) and how it reads
in a report. To add a shape, write one class here and decorate it with :func:`register`.

``integer`` (counts, durations) rounds samples and the mean to whole numbers; samples are
kept within [``lower``, ``upper``], the range the kind of number allows.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, Union

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from forcegen.scenario.units import format_number, quoted

if TYPE_CHECKING:
    from typing import Self

Z90 = 1.2815515655446004
"""The 90th percentile of the standard normal distribution."""


class Reader(Protocol):
    """What a shape needs of the kind of number it holds (see ``quantities.Kind``)."""

    expected: str

    def parse(self, raw: object) -> float: ...

    def check_lognormal(self, median: float, p90: float, raw: object) -> None: ...


def dist_error(kind: Reader, text: str, **ctx: object) -> PydanticCustomError:
    """An error about an uncertain value, its message saying what the kind expects."""
    return PydanticCustomError("quantity", text, {"expected": kind.expected, **ctx})


class Dist(BaseModel):
    """An uncertain value: the distribution each run samples it from (canonical units)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shape: str
    integer: bool = False
    lower: float = 0.0
    upper: float | None = None

    @classmethod
    def parse(cls, spec: object, kind: Reader, bounds: Mapping[str, Any]) -> Self:
        """The distribution written as ``spec`` (the value under the shape's key), each
        point read by ``kind``; ``bounds`` gives ``integer``, ``lower`` and ``upper``."""
        raise NotImplementedError

    @classmethod
    def json_form(cls, point: Mapping[str, Any]) -> dict[str, Any]:
        """JSON schema of ``spec``, given the schema of one point (a number of the kind)."""
        raise NotImplementedError

    def mean(self) -> float:
        """The mean, before rounding."""
        raise NotImplementedError

    def central(self) -> float:
        """The value deterministic runs use: the mean, whole if the kind is whole."""
        mean = self.mean()
        return float(round(mean)) if self.integer else mean

    def _ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def quantiles(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The ``u``-quantiles, rounded and bounded as the kind of number requires."""
        x = np.maximum(self._ppf(u), self.lower)
        if self.upper is not None:
            x = np.minimum(x, self.upper)
        return np.rint(x) if self.integer else np.asarray(x, dtype=np.float64)

    def _widened(self, factor: float) -> Self:
        raise NotImplementedError

    def widened(self, factor: float) -> Self:
        """The distribution with its spread multiplied by ``factor``, kept in its range."""
        return self if factor == 1.0 else self._widened(factor)

    def extremes(self, factor: float = 1.0) -> tuple[float, float]:
        """The smallest and largest values a run can take, once widened by ``factor``
        (infinite where the shape and the kind of number set no bound)."""
        low, high = self.widened(factor).quantiles(np.array([0.0, 1.0]))
        return float(low), float(high)

    def describe(self) -> str:
        """The spread for people: ``pert 1 / 2 / 4``, ``uniform 1 to 3``."""
        raise NotImplementedError


SHAPES: dict[str, type[Dist]] = {}
"""Every shape by the key it is written with, in the order error messages list them."""


def register(cls: type[Dist]) -> type[Dist]:
    """Make a shape known by the name its ``shape`` field defaults to."""
    SHAPES[cls.model_fields["shape"].default] = cls
    return cls


def shape_names(last: str = ", ") -> str:
    """The shapes' names as a list for messages: ``pert, triangular, uniform or lognormal``."""
    names = list(SHAPES)
    return ", ".join(names[:-1]) + last + names[-1] if len(names) > 1 else "".join(names)


class _Points(Dist):
    """A shape written as a list of points, such as ``[low, mode, high]``."""

    points: ClassVar[tuple[str, ...]]
    low: float
    high: float

    @classmethod
    def parse(cls, spec: object, kind: Reader, bounds: Mapping[str, Any]) -> Self:
        shape = cls.model_fields["shape"].default
        names = f"[{', '.join(cls.points)}]"
        if not isinstance(spec, list | tuple) or len(spec) != len(cls.points):
            raise dist_error(
                kind,
                f"expected {shape}: {names}, each {{expected}}; found {{found}}",
                found=quoted(spec),
            )
        values = dict(zip(cls.points, (kind.parse(x) for x in spec), strict=True))
        if not cls._in_order(**values):
            raise dist_error(
                kind,
                f"expected {names} in increasing order with low < high; found {{found}}",
                found=quoted(list(spec)),
            )
        return cls(shape=shape, **values, **bounds)

    @staticmethod
    def _in_order(**points: float) -> bool:
        raise NotImplementedError

    @classmethod
    def json_form(cls, point: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": point}

    def _centre(self) -> float:
        raise NotImplementedError

    def _widened(self, factor: float) -> Self:
        upper = np.inf if self.upper is None else self.upper
        centre = self._centre()
        low = max(self.lower, centre - factor * (centre - self.low))
        high = min(upper, centre + factor * (self.high - centre))
        return self.model_copy(update={"low": float(low), "high": float(high)})


class _ThreePoint(_Points):
    """Low, most likely and high values."""

    points = ("low", "mode", "high")
    mode: float

    @staticmethod
    def _in_order(low: float, mode: float, high: float) -> bool:  # type: ignore[override]
        return low <= mode <= high and low < high

    def _centre(self) -> float:
        return self.mode

    def describe(self) -> str:
        return (
            f"{self.shape} {format_number(self.low)} / {format_number(self.mode)} / "
            f"{format_number(self.high)}"
        )


@register
class Pert(_ThreePoint):
    """PERT: a beta on [low, high] with shape 4 about the mode (Malcolm et al. 1959)."""

    shape: Literal["pert"] = "pert"

    def mean(self) -> float:
        return (self.low + 4 * self.mode + self.high) / 6

    def _ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        from scipy import special  # loaded when a run samples, not when a file is read

        low, high = self.low, self.high
        span = high - low
        a = 1 + 4 * (self.mode - low) / span
        b = 1 + 4 * (high - self.mode) / span
        # The beta's quantile function: what scipy.stats.beta.ppf computes, bit for bit,
        # without importing scipy.stats (most of a second at every run's start).
        return low + span * special.betaincinv(a, b, u)


@register
class Triangular(_ThreePoint):
    """Triangular on [low, high] with its peak at the mode."""

    shape: Literal["triangular"] = "triangular"

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def _ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        low, high = self.low, self.high
        span = high - low
        c = (self.mode - low) / span  # the peak's place on [0, 1]
        standard = np.where(u < c, np.sqrt(c * u), 1 - np.sqrt((1 - c) * (1 - u)))
        return standard * span + low


@register
class Uniform(_Points):
    """Every value in [low, high] equally likely."""

    shape: Literal["uniform"] = "uniform"
    points = ("low", "high")

    @staticmethod
    def _in_order(low: float, high: float) -> bool:  # type: ignore[override]
        return low < high

    def _centre(self) -> float:
        return (self.low + self.high) / 2

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def _ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.low + (self.high - self.low) * u

    def describe(self) -> str:
        return f"uniform {format_number(self.low)} to {format_number(self.high)}"


@register
class Lognormal(Dist):
    """Lognormal given by its median and 90th percentile."""

    shape: Literal["lognormal"] = "lognormal"
    median: float
    p90: float

    @classmethod
    def parse(cls, spec: object, kind: Reader, bounds: Mapping[str, Any]) -> Self:
        if not isinstance(spec, Mapping) or set(spec) != {"median", "p90"}:
            raise dist_error(
                kind,
                "expected lognormal: {form}, each {expected}; found {found}",
                form="{median: ..., p90: ...}",
                found=quoted(spec),
            )
        median, p90 = kind.parse(spec["median"]), kind.parse(spec["p90"])
        if not 0 < median < p90:
            raise dist_error(
                kind,
                "expected 0 < median < p90 for a lognormal; found median {median} and p90 {p90}",
                median=f"{median:g}",
                p90=f"{p90:g}",
            )
        kind.check_lognormal(median, p90, spec)
        return cls(shape="lognormal", median=median, p90=p90, **bounds)

    @classmethod
    def json_form(cls, point: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["median", "p90"],
            "properties": {"median": point, "p90": point},
        }

    def mean(self) -> float:
        sigma = math.log(self.p90 / self.median) / Z90
        return self.median * math.exp(sigma**2 / 2)

    def _ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        from scipy import special  # loaded when a run samples, not when a file is read

        sigma = np.log(self.p90 / self.median) / Z90
        return self.median * np.exp(sigma * special.ndtri(u))  # ndtri: the normal quantile

    def _widened(self, factor: float) -> Self:
        # Wider, but never so wide that the mean, which deterministic runs take, passes the
        # kind's upper limit (or the largest float): sigma^2 / 2 <= log(limit / median).
        # log(p90 / median) is sigma * Z90.
        written = np.log(self.p90 / self.median)
        spread = written * factor
        limit = self.upper if self.upper is not None else sys.float_info.max / 2
        if limit > self.median:
            widest = Z90 * math.sqrt(2 * math.log(limit / self.median))
            spread = min(spread, max(widest, written))
        return self.model_copy(update={"p90": float(self.median * np.exp(spread))})

    def describe(self) -> str:
        return f"lognormal, median {format_number(self.median)}, p90 {format_number(self.p90)}"


@register
class Exponential(Dist):
    """Exponential given by its mean: the time to an event that is as likely on any day,
    such as a repair or a stay away in an availability model (``exponential: 30d``, or
    ``exponential: {mean: 30d}``).

    Its spread is set by its mean, so claims of weak grade do not widen it.
    """

    shape: Literal["exponential"] = "exponential"
    scale: float
    """The mean (the scale of the distribution)."""

    @classmethod
    def parse(cls, spec: object, kind: Reader, bounds: Mapping[str, Any]) -> Self:
        point = spec["mean"] if isinstance(spec, Mapping) and set(spec) == {"mean"} else spec
        if isinstance(point, Mapping | list | tuple):
            raise dist_error(
                kind,
                "expected exponential: a mean, or {form}, {expected}; found {found}",
                form="{mean: ...}",
                found=quoted(spec),
            )
        mean = kind.parse(point)
        if not mean > 0:
            raise dist_error(
                kind, "expected a mean > 0 for an exponential; found {mean}", mean=f"{mean:g}"
            )
        return cls(shape="exponential", scale=mean, **bounds)

    @classmethod
    def json_form(cls, point: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "anyOf": [
                point,
                {
                    "type": "object",
                    "required": ["mean"],
                    "additionalProperties": False,
                    "properties": {"mean": point},
                },
            ]
        }

    def mean(self) -> float:
        return self.scale

    def _ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore"):  # u = 1: an unbounded tail, cut by the kind's limit
            return -self.scale * np.log1p(-np.asarray(u, dtype=np.float64))

    def _widened(self, factor: float) -> Self:
        return self

    def describe(self) -> str:
        return f"exponential, mean {format_number(self.scale)}"


AnyDist = Annotated[Union[tuple(SHAPES.values())], Field(discriminator="shape")]  # type: ignore[valid-type]  # noqa: UP007
"""The type of ``Value.dist``: any registered shape, told apart by ``shape``."""


def parse_dist(kind: Reader, raw: Mapping[str, Any], bounds: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an uncertain :class:`~forcegen.scenario.quantities.Value` written as
    ``raw`` (a mapping with one shape key, and maybe ``cites``, ``note``, ``widen``)."""
    shapes: Sequence[str] = [k for k in SHAPES if k in raw]
    if len(shapes) != 1:
        raise dist_error(
            kind,
            f"expected exactly one distribution shape ({shape_names(' or ')}); found {{found}}",
            found=", ".join(shapes),
        )
    shape = shapes[0]
    dist = SHAPES[shape].parse(raw[shape], kind, bounds)
    out = {k: v for k, v in raw.items() if k != shape}
    out["value"] = dist.central()
    out["dist"] = dist
    return out
