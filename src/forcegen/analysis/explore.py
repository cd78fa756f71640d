"""Exploring a scenario: many experiments, each a setting of its factors, at the engine's speed.

A *factor* is something an exploration varies from one experiment to the next:

- a choice between alternatives (every option it offers);
- an uncertain value: its whole support (``uncertain="support"``, widened by grade as
  sampling does) or its central range, 5% to 95% (``"central"``);
- any number given as a lever ``PATH=LOW..HIGH``, values in the units people write
  (``units[ru-bn].count=8..14``, ``locations[front].attrition.killed=1%/mo..4%/mo``);
- optionally every uncited plain number (an assumption), widened by ``±widen``.

A design (:func:`design`) crosses every combination of the choices' options with ``n``
points of a Latin hypercube or a scrambled Sobol sequence over the continuous factors, each
spread uniformly over its range. Each experiment is run ``R`` times; uncertain values that
are not factors are sampled per run as usual, and run ``r`` of every experiment takes the
same such values and the same daily random numbers (common random numbers), so that two
experiments differ only by their factors.

Experiments are not simulated one by one: :func:`run_experiments` hands a whole batch to
the engine as one simulation of experiments × runs, with the factors set per run through a
:class:`~forcegen.sampling.Sample` and the daily draws of row ``k`` keyed by run ``k % R``.
Run ``r`` of an experiment so gives what run ``r`` of a plain simulation of the scenario
with that experiment's values would, however the experiments are batched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from forcegen import __version__
from forcegen.errors import UsageError
from forcegen.sampling import Sample, sample_scenario, widening_factor
from forcegen.scenario.claims import NOT_CLAIMS, choices_of, quantities
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import Loc, by_id, locate
from forcegen.scenario.quantities import (
    Choice,
    Count,
    Duration,
    Kind,
    Value,
    kind_of,
    read_range,
)

OUTCOME_LAYOUT = 1
"""Version of the layout of the outcome frames :func:`run_experiments` returns; part of
every exploration's fingerprint, so that a store never mixes layouts."""

QUANTILES = {"q05": 0.05, "q50": 0.5, "q95": 0.95}
"""The quantiles across runs each experiment's summary gives of every outcome."""

OUTCOME_PREFIXES = ("coverage:", "days_fully_covered:", "lost:", "people_end:")
"""The columns of :meth:`forcegen.Results.per_run` that are outcomes (not inputs)."""


@dataclass(frozen=True)
class Factor:
    """One thing an exploration varies: a choice's options, or a number's range.

    A value's range is in canonical units (days, people, probability per day...).
    """

    name: str
    """``choice:NAME`` for a choice; the number's path by id for a value."""
    kind: Literal["choice", "value"]
    source: Literal["choice", "uncertain", "lever", "assumption"]
    options: tuple[str, ...] = ()
    """A choice's options, in the order the scenario gives them."""
    low: float | None = None
    high: float | None = None
    measure: str = ""
    """What the number measures (``people``, ``days``, ``share``...; see ``Kind.measure``)."""
    cites: tuple[str, ...] = ()
    """The claims the number cites (for a choice, those of all its options)."""
    grades: tuple[str, ...] = ()
    """The grades of those claims, in the same order."""
    whole: bool = False
    """Whether the number is whole (a count, a number of days): designs take whole values."""


@dataclass(frozen=True)
class Exploration:
    """Everything that fixes the results of an exploration.

    ``choices`` pins an option for choices that are not factors (the others take their
    default, or are drawn per run if weighted).
    """

    scenario: Scenario
    factors: tuple[Factor, ...]
    runs: int
    seed: int
    choices: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def fingerprint(self) -> str:
        """A content hash (sha256, hex) of the scenario, factors, runs, seed, pinned choices,
        forcegen's version and the outcome layout: equal for equal explorations."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            content = {
                "scenario": self.scenario.model_dump(mode="json"),
                "factors": [dataclasses.asdict(f) for f in self.factors],
                "runs": self.runs,
                "seed": self.seed,
                "choices": dict(sorted(self.choices.items())),
                "forcegen": __version__,
                "layout": OUTCOME_LAYOUT,
            }
            cached = _hash(content)
            self.__dict__["_fingerprint"] = cached  # frozen: cached outside the fields
        return cached


def _hash(content: object) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: object) -> object:
    """A design cell as plain JSON data: option names as text, values as floats."""
    if isinstance(value, str | np.str_):
        return str(value)
    return float(value)  # type: ignore[arg-type]


def experiment_key(exploration: Exploration, row: Mapping[str, Any] | pd.Series) -> str:
    """A content hash of one experiment: the exploration's fingerprint and the experiment's
    factor values (not its number in the design)."""
    values = {f.name: _plain(row[f.name]) for f in exploration.factors}
    return _hash({"exploration": exploration.fingerprint(), "values": values})


# Factors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    """A number of the scenario a factor may name."""

    loc: Loc
    name: str  # path by id
    quantity: Value | Choice
    kind: Kind | None
    option: bool = False  # one option of a choice (levers only)


def _numbers(scenario: Scenario) -> list[_Number]:
    out = []
    for loc, q in quantities(scenario):
        kind = kind_of(scenario, loc)
        out.append(_Number(loc, by_id(scenario, loc), q, kind))
        if isinstance(q, Choice):
            for key, option in q.options.items():
                at = (*loc, "options", key)
                out.append(_Number(at, by_id(scenario, at), option, kind, option=True))
    return out


def _grades(scenario: Scenario, cites: Sequence[str]) -> tuple[str, ...]:
    grades = {c.id: c.grade for c in scenario.claims}
    return tuple(grades.get(c, "") for c in cites)


def _whole(kind: Kind | None) -> bool:
    return isinstance(kind, Count | Duration)


def _lever(scenario: Scenario, numbers: list[_Number], text: str) -> Factor:
    path, sep, span = text.partition("=")
    path, span = path.strip(), span.strip()
    if not sep or not path or not span:
        raise UsageError(
            f"lever {text!r}: expected PATH=LOW..HIGH, such as units[ru-bn].count=8..14"
        )
    try:
        loc = locate(scenario, path)
    except UsageError as e:
        raise UsageError(f"lever {text!r}: {e}") from None
    found = next((n for n in numbers if n.loc == loc), None)
    if found is None:
        raise UsageError(
            f"lever {text!r}: {path} is not a number scenario {scenario.name!r} states "
            "(a lever varies a number written in the file)"
        )
    if isinstance(found.quantity, Choice):
        raise UsageError(
            f"lever {text!r}: {found.name} is the choice {found.quantity.choose!r}; explore "
            f"its options as a choice factor, or vary one option ({found.name}.options.NAME)"
        )
    if found.loc in NOT_CLAIMS:
        raise UsageError(f"lever {text!r}: {found.name} is a setting of the analysis, not a lever")
    if found.kind is None:
        raise UsageError(f"lever {text!r}: {found.name} is not a number a lever can vary")
    try:
        low, high = read_range(found.kind, span)
    except UsageError as e:
        raise UsageError(f"lever {text!r}: {e}") from None
    if not low < high:
        raise UsageError(
            f"lever {text!r}: the range is empty ({low:g} to {high:g} "
            f"{found.kind.measure or 'in canonical units'}); give LOW < HIGH"
        )
    if _whole(found.kind) and math.ceil(low) > math.floor(high):
        raise UsageError(f"lever {text!r}: no whole number lies between {low:g} and {high:g}")
    return Factor(
        name=found.name,
        kind="value",
        source="lever",
        low=low,
        high=high,
        measure=found.kind.measure,
        cites=found.quantity.cites,
        grades=_grades(scenario, found.quantity.cites),
        whole=_whole(found.kind),
    )


def _uncertain(scenario: Scenario, n: _Number, how: str) -> Factor:
    value = n.quantity
    assert isinstance(value, Value) and value.dist is not None
    dist = value.dist.widened(widening_factor(scenario, value))
    if how == "central":
        low, high = dist.quantiles(np.array([0.05, 0.95]))
    else:  # the support; an unbounded shape (lognormal) gives its 0.5% to 99.5% range
        low, high = dist.quantiles(np.array([0.0, 1.0]))
        if not (hasattr(dist, "low") and hasattr(dist, "high")):
            low, high = dist.quantiles(np.array([0.005, 0.995]))
    return Factor(
        name=n.name,
        kind="value",
        source="uncertain",
        low=float(low),
        high=float(high),
        measure=n.kind.measure if n.kind is not None else "",
        cites=value.cites,
        grades=_grades(scenario, value.cites),
        whole=dist.integer,
    )


def _assumption(n: _Number, widen: float) -> Factor | None:
    value = n.quantity
    assert isinstance(value, Value)
    kind = n.kind
    if kind is None or value.value == 0:
        return None
    low, high = value.value * (1 - widen), value.value * (1 + widen)
    low = max(low, 0.0)
    if kind.limit is not None:
        high = min(high, kind.limit)
    if isinstance(kind, Duration | Count):
        low, high = float(math.ceil(low)), float(math.floor(high))
    if not low < high:
        return None
    return Factor(
        name=n.name,
        kind="value",
        source="assumption",
        low=low,
        high=high,
        measure=kind.measure,
        whole=_whole(kind),
    )


def factors(
    scenario: Scenario,
    *,
    choices: Sequence[str] | None = None,
    uncertain: Literal["support", "central", "none"] = "support",
    levers: Sequence[str] = (),
    widen: float | None = None,
) -> tuple[Factor, ...]:
    """The factors of an exploration of ``scenario``.

    Parameters
    ----------
    scenario
        The scenario explored.
    choices
        Names of the choices to explore (every option of each); ``None``: every choice the
        scenario offers; ``()``: none.
    uncertain
        How uncertain values (outside choices) become factors: over their support, widened
        by grade as sampling does (an unbounded lognormal: its 0.5% to 99.5% range), over
        their central 5% to 95% range, or not at all (``"none"``: each run samples them).
    levers
        Numbers to vary, each ``PATH=LOW..HIGH`` with the path by id (or by index) and the
        values in the units people write (``units[ru-bn].count=8..14``,
        ``policies[p].positions[front].duration=20d..45d``; one option of a choice:
        ``units[ru-bn].strength.options.report=3000..4500``). A lever on an uncertain value
        replaces it.
    widen
        If given, every uncited plain number (an assumption, not a setting such as the
        horizon) varies by ``±widen`` of its value (``0.2``: ±20%), within what its kind
        allows; whole numbers stay whole and numbers that are 0 stay fixed.

    Returns
    -------
    tuple[Factor, ...]
        Choices first, then uncertain values, levers and assumptions, each in document order.

    Raises
    ------
    UsageError
        If a choice is unknown, a lever unreadable or its range empty, or ``uncertain`` or
        ``widen`` invalid.
    """
    if uncertain not in ("support", "central", "none"):
        raise UsageError(f"uncertain must be 'support', 'central' or 'none'; got {uncertain!r}")
    if widen is not None and not (isinstance(widen, int | float) and 0 < widen < math.inf):
        raise UsageError(f"widen must be a share > 0, such as 0.2 for ±20%; got {widen!r}")
    offered = choices_of(scenario)
    names = list(offered) if choices is None else list(choices)
    for name in names:
        if name not in offered:
            known = ", ".join(sorted(offered)) or "none"
            raise UsageError(f"unknown choice {name!r}: this scenario offers {known}")
    if len(set(names)) != len(names):
        raise UsageError(f"each choice may be named once; got {', '.join(names)}")
    numbers = _numbers(scenario)
    out: list[Factor] = []
    for name in names:
        cites: list[str] = []
        for n in numbers:
            if isinstance(n.quantity, Choice) and n.quantity.choose == name:
                for option in n.quantity.options.values():
                    cites.extend(c for c in option.cites if c not in cites)
        out.append(
            Factor(
                name=f"choice:{name}",
                kind="choice",
                source="choice",
                options=offered[name][1],
                cites=tuple(cites),
                grades=_grades(scenario, cites),
            )
        )
    lever_factors = [_lever(scenario, numbers, text) for text in levers]
    taken = {f.name for f in lever_factors}
    if len(taken) != len(lever_factors):
        raise UsageError("each number may be given as a lever once")
    if uncertain != "none":
        out.extend(
            _uncertain(scenario, n, uncertain)
            for n in numbers
            if isinstance(n.quantity, Value)
            and not n.option
            and n.quantity.dist is not None
            and n.name not in taken
            and n.loc not in NOT_CLAIMS
        )
    out.extend(lever_factors)
    if widen is not None:
        for n in numbers:
            if (
                isinstance(n.quantity, Value)
                and not n.option
                and n.quantity.dist is None
                and not n.quantity.cites
                and n.name not in taken
                and n.loc not in NOT_CLAIMS
            ):
                f = _assumption(n, float(widen))
                if f is not None:
                    out.append(f)
    return tuple(out)


# Designs ----------------------------------------------------------------------------------


def design(
    factors: Sequence[Factor],
    *,
    n: int,
    method: Literal["lhs", "sobol"] = "lhs",
    seed: int = 0,
) -> pd.DataFrame:
    """The experiments: every combination of the choices' options × ``n`` points over the
    continuous factors.

    The points are a scrambled Latin hypercube or Sobol sequence (``scipy.stats.qmc``,
    seeded by ``seed``) in the unit cube, each coordinate spread uniformly over its
    factor's range (whole factors over the whole numbers in it); every combination of
    options takes the same points. Without continuous factors there is one experiment per
    combination (``n`` does not apply). Sobol sequences are balanced at powers of two.

    Returns
    -------
    pandas.DataFrame
        Column ``experiment`` (0 to E - 1), then one column per factor by its name: option
        names, or values in canonical units.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise UsageError(f"n must be a whole number >= 1; got {n!r}")
    if method not in ("lhs", "sobol"):
        raise UsageError(f"method must be 'lhs' or 'sobol'; got {method!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be a whole number >= 0; got {seed!r}")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise UsageError("each factor may appear once in a design")
    chosen = [f for f in factors if f.kind == "choice"]
    ranged = [f for f in factors if f.kind != "choice"]
    combos = list(itertools.product(*(f.options for f in chosen)))
    if ranged:
        from scipy.stats import qmc

        engine = (
            qmc.LatinHypercube(d=len(ranged), scramble=True, seed=seed)
            if method == "lhs"
            else qmc.Sobol(d=len(ranged), scramble=True, seed=seed)
        )
        with warnings.catch_warnings():  # Sobol warns of sizes that are not powers of two
            warnings.simplefilter("ignore", UserWarning)
            u = engine.random(int(n))
        points = np.empty_like(u)
        for j, f in enumerate(ranged):
            low, high = float(f.low), float(f.high)  # type: ignore[arg-type]
            if f.whole:
                low, high = math.ceil(low), math.floor(high)
                points[:, j] = np.minimum(low + np.floor(u[:, j] * (high - low + 1)), high)
            else:
                points[:, j] = low + u[:, j] * (high - low)
    else:
        points = np.empty((1, 0))
    k = len(points)
    cols: dict[str, Any] = {"experiment": np.arange(len(combos) * k, dtype=np.int64)}
    for i, f in enumerate(chosen):
        cols[f.name] = np.repeat(np.array([c[i] for c in combos], dtype=object), k)
    for j, f in enumerate(ranged):
        cols[f.name] = np.tile(points[:, j], len(combos)).astype(np.float64)
    frame = pd.DataFrame(cols)
    return frame[["experiment", *names]]


# Running ----------------------------------------------------------------------------------


def _targets(exploration: Exploration) -> dict[str, Value]:
    """Factor name → the value it sets, for every value factor."""
    numbers = {n.name: n for n in _numbers(exploration.scenario)}
    out: dict[str, Value] = {}
    for f in exploration.factors:
        if f.kind == "choice":
            continue
        n = numbers.get(f.name)
        if n is None or not isinstance(n.quantity, Value):
            raise UsageError(
                f"factor {f.name!r} names no plain or uncertain number of scenario "
                f"{exploration.scenario.name!r}"
            )
        out[f.name] = n.quantity
    return out


def _check(exploration: Exploration, rows: pd.DataFrame) -> None:
    from forcegen.api import check_choices

    runs, seed = exploration.runs, exploration.seed
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise UsageError(f"runs must be a whole number >= 1; got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a whole number >= 0; got {seed!r}")
    check_choices(exploration.scenario, exploration.choices)
    offered = choices_of(exploration.scenario)
    for f in exploration.factors:
        if f.kind == "choice":
            name = f.name.removeprefix("choice:")
            if name not in offered:
                raise UsageError(f"factor {f.name!r}: no such choice in the scenario")
            if name in exploration.choices:
                raise UsageError(f"choice {name!r} is a factor; it cannot also be pinned")
    missing = [c for c in ("experiment", *(f.name for f in exploration.factors)) if c not in rows]
    if missing:
        raise UsageError(f"the design lacks the column(s) {', '.join(missing)}")


def batch_sample(exploration: Exploration, rows: pd.DataFrame) -> tuple[Sample, np.ndarray]:
    """The sample and run ids of one engine call for the experiments ``rows``: one row per
    experiment and run, experiment-major.

    Uncertain values that are not factors are sampled once for ``R`` runs and repeated for
    every experiment; each factor takes its experiment's value (or option) in all its runs.
    Row ``k`` is keyed by run ``k % R``.
    """
    runs, e = exploration.runs, len(rows)
    base = sample_scenario(
        exploration.scenario,
        runs=runs,
        seed=exploration.seed,
        deterministic=False,
        choices=exploration.choices,
    )

    def tiled(a: np.ndarray) -> np.ndarray:
        return np.tile(np.broadcast_to(a, (runs,)), e)

    values = {k: tiled(v) for k, v in base.values.items()}
    picks = {k: tiled(v) for k, v in base.picks.items()}
    for f in exploration.factors:
        column = rows[f.name].to_numpy()
        if f.kind == "choice":
            picks[f.name.removeprefix("choice:")] = np.repeat(column.astype(str), runs)
    for name, value in _targets(exploration).items():
        values[id(value)] = np.repeat(rows[name].to_numpy(dtype=np.float64), runs)
    sample = Sample(size=e * runs, values=values, picks=picks, widening=dict(base.widening))
    return sample, np.tile(np.arange(runs, dtype=np.int64), e)


def run_experiments(
    exploration: Exploration, rows: pd.DataFrame, *, n_jobs: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the experiments ``rows`` (rows of a :func:`design`) in one engine call.

    Returns
    -------
    runs : pandas.DataFrame
        One row per experiment and run: ``experiment``, ``run``, then every outcome of
        :meth:`forcegen.Results.per_run` (``coverage:*``, ``days_fully_covered:*``,
        ``lost:*``, ``people_end:*``).
    summaries : pandas.DataFrame
        One row per experiment: ``experiment``, then for each outcome ``X`` its mean and
        quantiles across runs (``X:mean``, ``X:q05``, ``X:q50``, ``X:q95``), and for each
        demand ``D`` the share of runs in which it is fully covered on every day it is
        active (``p_full:D``; 0 where it is never active).
    """
    from forcegen.api import simulate

    _check(exploration, rows)
    runs_per = exploration.runs
    if len(rows) == 0:
        return pd.DataFrame(columns=["experiment", "run"]), pd.DataFrame(columns=["experiment"])
    sample, run_ids = batch_sample(exploration, rows)
    results = simulate(
        exploration.scenario,
        seed=exploration.seed,
        sample=sample,
        choices=exploration.choices,
        run_ids=run_ids,
        n_jobs=n_jobs,
    )
    table = results.per_run()
    outcomes = [c for c in table.columns if c.startswith(OUTCOME_PREFIXES)]
    experiment = np.repeat(rows["experiment"].to_numpy(dtype=np.int64), runs_per)
    per_run = pd.DataFrame(
        {
            "experiment": experiment,
            "run": run_ids,
            **{c: table[c].to_numpy() for c in outcomes},
        }
    )
    ds = results.to_xarray()
    active = ds.required > 0
    full = ((results.fully_covered() | ~active).all("day") & active.any("day")).transpose(
        "run", "demand"
    )
    groups = per_run.groupby("experiment", sort=False)
    parts: dict[str, Any] = {"experiment": rows["experiment"].to_numpy(dtype=np.int64)}
    order = pd.Index(parts["experiment"])
    for c in outcomes:
        g = groups[c]
        parts[f"{c}:mean"] = g.mean().reindex(order).to_numpy()
        for label, q in QUANTILES.items():
            parts[f"{c}:{label}"] = g.quantile(q).reindex(order).to_numpy()
    for j, d in enumerate(ds.demand.values):
        shares = full.values[:, j].reshape(len(rows), runs_per).mean(axis=1)
        parts[f"p_full:{d}"] = shares
    return per_run, pd.DataFrame(parts)
