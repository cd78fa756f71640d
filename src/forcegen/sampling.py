"""Sampling the uncertain values of a scenario: one value per run for every uncertain number.

Each run samples every uncertain value once, before its daily events. The uniform number
behind a value's sample in run ``r`` is keyed by the seed, the run and the value's place in
the file (its field path), so adding or changing one uncertain value does not reshuffle the
others (common random numbers), and results do not depend on how runs are split.

With Latin hypercube sampling (``lhs=True``, McKay, Beckman and Conover 1979) the runs are
split into as many equal strata of probability as there are runs, and each value takes one
sample from each stratum, in an order permuted independently per value. LHS spreads few
runs evenly over each input; its strata depend on the number of runs.

A choice with weights is sampled the same way, one option per run, shared by every number
that carries that choice's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.streams import Purpose, run_keys, stable_key, uniforms
from forcegen.scenario.claims import quantities
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import format_loc
from forcegen.scenario.quantities import Choice, Quantity, Value


@dataclass(frozen=True)
class Sample:
    """The values every run of a simulation takes.

    ``size`` is 1 when every run takes the same values (deterministic mode, or nothing
    uncertain); otherwise one row per run.
    """

    size: int
    values: dict[int, NDArray[np.float64]] = field(default_factory=dict)
    """``id`` of an uncertain :class:`Value` → its value in each run."""
    picks: dict[str, NDArray[np.str_]] = field(default_factory=dict)
    """Choice name → option taken in each run."""
    widening: dict[int, float] = field(default_factory=dict)
    """``id`` of an uncertain value → the factor its claims' grades widened it by."""

    def of(self, q: Quantity | None, default: float = 0.0) -> NDArray[np.float64]:
        """The value of a quantity in each run, shape (size,)."""
        if q is None:
            return np.full(self.size, default)
        if isinstance(q, Choice):
            picked = self.picks.get(q.choose)
            if picked is None:
                return self._value(q.options[q.default])
            out = np.zeros(self.size)
            for name, option in q.options.items():
                out = np.where(picked == name, self._value(option), out)
            return out
        return self._value(q)

    def _value(self, v: Value) -> NDArray[np.float64]:
        got = self.values.get(id(v))
        return np.full(self.size, v.value) if got is None else got

    def table(self, scenario: Scenario) -> dict[str, NDArray]:
        """Field path → value per run, for every uncertain number and weighted choice."""
        out: dict[str, NDArray] = {f"choice:{k}": v for k, v in self.picks.items()}
        for loc, q in quantities(scenario):
            values = [q] if isinstance(q, Value) else list(q.options.values())
            if any(id(v) in self.values for v in values):
                out[format_loc(loc)] = self.of(q)
        return out


def widening_factor(scenario: Scenario, value: Value) -> float:
    """The factor the grades of a value's claims widen its spread by (1: not widened).

    The largest factor among the claims it cites, if the scenario widens by grade and the
    value allows it (see :class:`forcegen.scenario.model.Uncertainty`).
    """
    if not (scenario.uncertainty.widen_by_grade and value.widen and value.cites):
        return 1.0
    grades = {c.id: c.grade for c in scenario.claims}
    return max(scenario.uncertainty.factor(grades[c]) for c in value.cites if c in grades)


def sample_at(scenario: Scenario, values: Sequence[Value], u: NDArray[np.float64]) -> Sample:
    """A sample that puts each value at given probabilities, one row of ``u`` per run.

    Column ``j`` of ``u`` holds the probabilities (in (0, 1)) of ``values[j]``; each is
    mapped through the quantiles of the value's distribution, widened by grade as in
    :func:`sample_scenario`. Used by designs that choose their own points, such as
    sensitivity analysis.
    """
    sample = Sample(size=len(u))
    for j, value in enumerate(values):
        factor = widening_factor(scenario, value)
        sample.widening[id(value)] = factor
        sample.values[id(value)] = value.dist.widened(factor).quantiles(u[:, j])  # type: ignore[union-attr]
    return sample


def _uniforms(
    seed: int, keys: NDArray[np.uint64], key: np.uint64, lhs: bool
) -> NDArray[np.float64]:
    """One uniform per run (``keys``: the runs' sampling keys) for one uncertain value."""
    runs = len(keys)
    u = uniforms(keys, key)
    if lhs:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(key),)))
        u = (rng.permutation(runs) + u) / runs
    return u


def sample_scenario(
    scenario: Scenario,
    *,
    runs: int,
    seed: int,
    deterministic: bool,
    lhs: bool = False,
    choices: Mapping[str, str] | None = None,
) -> Sample:
    """Sample every uncertain value of a scenario for ``runs`` runs."""
    pinned = dict(choices or {})
    uncertain: list[tuple[str, Value]] = []
    weighted: dict[str, Choice] = {}
    for loc, q in quantities(scenario):
        path = format_loc(loc)
        if isinstance(q, Choice):
            if q.weights is not None and q.choose not in pinned:
                weighted.setdefault(q.choose, q)
            if q.choose in pinned:
                options = [(f"{path}.options.{pinned[q.choose]}", q.options[pinned[q.choose]])]
            else:
                options = [(f"{path}.options.{k}", v) for k, v in q.options.items()]
            uncertain.extend((p, v) for p, v in options if v.dist is not None)
        elif q.dist is not None:
            uncertain.append((path, q))
    size = 1 if deterministic or not (uncertain or weighted) else runs
    sample = Sample(size=size)
    keys = run_keys(seed, np.arange(runs, dtype=np.int64), Purpose.SAMPLING) if size > 1 else None
    for path, value in uncertain:
        factor = widening_factor(scenario, value)
        dist = value.dist.widened(factor)  # type: ignore[union-attr]
        sample.widening[id(value)] = factor
        if size == 1:
            sample.values[id(value)] = np.array([dist.central()])
        else:
            sample.values[id(value)] = dist.quantiles(_uniforms(seed, keys, stable_key(path), lhs))
    for name, choice in weighted.items():
        if size == 1:
            continue
        names = list(choice.options)
        w = np.array([choice.weights[n] for n in names])  # type: ignore[index]
        edges = np.cumsum(w) / w.sum()
        u = _uniforms(seed, keys, stable_key(f"choice:{name}"), lhs)
        picked = np.minimum(np.searchsorted(edges, u, side="right"), len(names) - 1)
        sample.picks[name] = np.array(names)[picked]
    for name, option in pinned.items():
        sample.picks[name] = np.full(size, option)
    return sample
