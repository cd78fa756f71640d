"""Calibration: the uncertain inputs of a scenario, inferred from its observations.

Likelihood-free Bayesian inference by ABC-SMC (:mod:`forcegen.analysis.abc_smc`). The
prior is the scenario itself: every uncertain value's distribution (widened by its claims'
grades, as runs sample it) and, for every choice not fixed with ``choices``, its options
with their stated ``weights`` or equal ones. A particle is one vector of input values;
each generation's candidates are simulated in one engine call (``simulate(sample=...)``,
one run per particle), each run with its own daily draws. The distance of a run to an
observation is :meth:`Target.distance` (0 where the claim holds, else the gap in the
observation's own scale), and the distance to all observations is the Euclidean norm of
those. The posterior is the last population, with its importance weights.

Why our own ABC-SMC and not pyabc (the field's standard), checked on pyabc 0.13.0:

* weight: pyabc is about 29,000 lines and brings 48 packages forcegen does not already
  need (30 MiB of wheels: dask and distributed, redis, SQLAlchemy, GitPython, ipykernel
  and IPython, scikit-learn, ...); it stores every population in an SQLite database.
* batching: its model is called with one parameter set at a time (``Model.sample(pars)``)
  and its samplers evaluate one particle per call; forcegen's engine is fast because one
  call simulates many runs, each with its own inputs. A population per call is what makes
  calibration fit in minutes here.
* reproducibility: pyabc draws from numpy's global random state (``np.random.choice`` in
  its transitions and weighted statistics; no ``Generator`` anywhere), seeding is an open
  question in its own tracker (ICB-DCM/pyABC issue 400), and its documentation names only
  the single-core sampler as deterministic: the default multicore sampler (dynamic
  scheduling) accepts whichever particles finish first, so results depend on the number
  of workers.

The algorithm here is the standard one (Beaumont et al. 2009, adaptive tolerance as in
Del Moral et al. 2012) in about 250 lines, all randomness on one seeded ``Generator``,
tested by simulation-based calibration (Talts et al. 2018) in ``tests/test_calibrate.py``.

Outputs: the posterior sample (one row per particle, its weight and every input), a
calibrated scenario (each uncertain value replaced by a PERT fitted to its posterior's
quantiles, each choice given its posterior weights, each with a note naming the
observations that moved it) and the posterior predictive of every observation and demand.

Each observation's verdict against the posterior predictive is the one ``forcegen run``
gives (:func:`forcegen.analysis.observations.verdict`: consistent, in tension or
inconsistent by the model's band). Observations that cannot both hold are found as
:func:`forcegen.analysis.observations.contradictions` finds them, over every run
simulated (the generations' and the posterior predictive's): both are ``inconsistent`` and
the summary's ``message`` names the pair. One that no simulated run met at all, or a set of
observations that no run met together, is said so in the ``message`` as well.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from forcegen.analysis import observations as obs
from forcegen.analysis.abc_smc import SMCResult, abc_smc, weighted_quantile
from forcegen.analysis.drivers import RHO_FLOOR, rank_correlations
from forcegen.errors import UsageError
from forcegen.results_folder import CalibrationFile
from forcegen.sampling import sample_at, widening_factor
from forcegen.scenario.claims import choices_of, quantities
from forcegen.scenario.distributions import shape_names
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import by_id
from forcegen.scenario.quantities import Choice, Value

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantile levels of the priors, posteriors and predictives reported."""
MOVED = 0.1
"""Kolmogorov distance between prior and posterior (on the probability scale) from which
an input counts as moved by the observations."""


class TargetLike(Protocol):
    """What calibration needs of an observation (:class:`forcegen.analysis.observations.Target`)."""

    id: str
    low: float
    high: float
    claims: tuple[str, ...]

    def distance(self, values: NDArray[np.float64]) -> NDArray[np.float64]: ...


Figures = Callable[[Any], NDArray[np.float64]]
"""Results → (run, observation) each observation's figure in each run."""


@dataclass(frozen=True)
class Input:
    """A continuous parameter: an uncertain value at a field path."""

    path: str
    value: Value
    factor: float
    loc: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class ChoiceParameter:
    """A discrete parameter: a choice and the prior probability of each option."""

    name: str
    options: tuple[str, ...]
    prior: NDArray[np.float64]
    claims: dict[str, tuple[str, ...]]


def parameters(
    scenario: Scenario, choices: Mapping[str, str] | None = None
) -> tuple[list[Input], list[ChoiceParameter]]:
    """The uncertain values and the choices calibration infers (choices fixed in
    ``choices`` are not inferred, and neither are the values of their other options)."""
    pinned = dict(choices or {})
    inputs: list[Input] = []
    seen: set[int] = set()
    for loc, q in quantities(scenario):
        path = by_id(scenario, loc)
        if isinstance(q, Choice):
            opts = q.options.items()
            if q.choose in pinned:
                opts = [(pinned[q.choose], q.options[pinned[q.choose]])]
            pairs = [(f"{path}.options.{k}", (*loc, "options", k), v) for k, v in opts]
        else:
            pairs = [(path, loc, q)]
        for p, at, v in pairs:
            if v.dist is not None and id(v) not in seen:
                seen.add(id(v))
                inputs.append(Input(p, v, widening_factor(scenario, v), tuple(at)))
    params = []
    claims: dict[str, dict[str, set[str]]] = {}
    for _, q in quantities(scenario):
        if isinstance(q, Choice):
            for k, v in q.options.items():
                claims.setdefault(q.choose, {}).setdefault(k, set()).update(v.cites)
    weights = {
        q.choose: q.weights for _, q in quantities(scenario) if isinstance(q, Choice) and q.weights
    }
    for name, (_, options) in choices_of(scenario).items():
        if name in pinned or len(options) < 2:
            continue
        w = weights.get(name)
        prior = np.array([w[o] for o in options] if w else [1.0] * len(options), dtype=float)
        params.append(
            ChoiceParameter(
                name,
                options,
                prior / prior.sum(),
                {o: tuple(sorted(claims[name][o])) for o in options},
            )
        )
    return inputs, params


@dataclass
class Calibration:
    """The posterior of a scenario's inputs given its observations (see the module)."""

    scenario: Scenario
    inputs: list[Input]
    choice_params: list[ChoiceParameter]
    targets: list[TargetLike]
    smc: SMCResult
    seed: int
    deterministic: bool
    prior_figures: NDArray[np.float64]
    """(particles, M) the observations' figures in the prior's runs."""
    prior_coverage: pd.DataFrame
    predictive_figures: NDArray[np.float64]
    """(particles, M) the observations' figures in the posterior predictive runs."""
    predictive_coverage: pd.DataFrame
    runs: int
    simulated: NDArray[np.float64]
    """(runs, M) the observations' figures in every run of the generations."""
    own: bool = True
    """Whether the targets are the scenario's own observations (not passed in)."""

    def contradictions(self) -> list[tuple[str, str, str]]:
        """Pairs of observations that cannot both hold, with the reason: by
        :func:`forcegen.analysis.observations.contradictions` over every run simulated
        (targets passed in: the pairs that each held in some run, never both in one)."""
        figs = np.vstack([self.simulated, self.predictive_figures])
        ids = [t.id for t in self.targets]
        if self.own:
            da = xr.DataArray(figs, dims=("run", "observation"), coords={"observation": ids})
            return obs.contradictions(self.scenario, da)
        held = np.column_stack([t.distance(figs[:, m]) == 0 for m, t in enumerate(self.targets)])
        out = []
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                reason = obs.excluding(held[:, [i, j]])
                if reason is not None:
                    out.append((ids[i], ids[j], reason))
        return out

    def posterior(self) -> pd.DataFrame:
        """One row per particle: its weight, its combined distance, every input's value
        (column: field path) and every choice's option (column: ``choice:NAME``)."""
        pop = self.smc.population
        table: dict[str, Any] = {"weight": pop.weights, "distance": pop.distance}
        vals = _values(self.scenario, self.inputs, pop.z)
        for j, inp in enumerate(self.inputs):
            table[inp.path] = vals[:, j]
        for c, param in enumerate(self.choice_params):
            table[f"choice:{param.name}"] = np.array(param.options)[pop.k[:, c]]
        return pd.DataFrame(table, index=pd.RangeIndex(len(pop.weights), name="particle"))

    # --- the summary ------------------------------------------------------------------

    def _informing(self) -> NDArray[np.bool_]:
        """(inputs, observations) whether the observation informs the input: the rank
        correlation, over the prior's runs, between the input's value and the observation's
        figure reaches :data:`~forcegen.analysis.drivers.RHO_FLOOR` in magnitude (runs
        without a figure left out). Ranks of ``z`` are ranks of the value, which is a
        monotone function of it."""
        z = self.smc.prior.z
        rho = np.zeros((z.shape[1], len(self.targets)))
        for m in range(len(self.targets)):
            rho[:, m] = rank_correlations(z, self.prior_figures[:, m])
        return np.abs(rho) >= RHO_FLOOR

    def input_rows(self) -> list[dict[str, Any]]:
        from scipy.stats import norm

        pop = self.smc.population
        rows = []
        post_vals = _values(self.scenario, self.inputs, pop.z)
        informing = self._informing()
        for j, inp in enumerate(self.inputs):
            dist = inp.value.dist.widened(inp.factor)  # type: ignore[union-attr]
            u_post = norm.cdf(pop.z[:, j])
            grid = np.linspace(0, 1, 201)
            cdf = np.array([pop.weights[u_post <= g].sum() for g in grid])
            moved = bool(np.max(np.abs(cdf - grid)) >= MOVED)
            post_q = weighted_quantile(post_vals[:, j], pop.weights, np.array(LEVELS))
            fitted = fit_pert(post_vals[:, j], pop.weights, dist.integer, dist.extremes())
            rows.append(
                {
                    "input": inp.path,
                    "claims": list(inp.value.cites),
                    "prior": dist.describe(),
                    "prior_q": [float(x) for x in dist.quantiles(np.array(LEVELS))],
                    "posterior_q": [float(x) for x in post_q],
                    "prior_mean": float(dist.mean()),
                    "posterior_mean": float(np.sum(pop.weights * post_vals[:, j])),
                    "moved": moved,
                    "moved_by": [t.id for t, i in zip(self.targets, informing[j], strict=True) if i]
                    if moved
                    else [],
                    "fitted": "pert {} / {} / {}".format(*(f"{x:.6g}" for x in fitted)),
                    "fitted_points": list(fitted),
                }
            )
        return rows

    def choice_rows(self) -> list[dict[str, Any]]:
        pop, prior = self.smc.population, self.smc.prior
        rows = []
        for c, param in enumerate(self.choice_params):
            post = np.array(
                [pop.weights[pop.k[:, c] == i].sum() for i in range(len(param.options))]
            )
            post = np.clip(post, 0.0, 1.0)  # sums of weights can pass 1 by a rounding error
            moved_by = []
            for m, t in enumerate(self.targets):
                met = t.distance(self.prior_figures[:, m]) == 0
                shares = [
                    met[prior.k[:, c] == i].mean()
                    for i in range(len(param.options))
                    if np.any(prior.k[:, c] == i)
                ]
                if len(shares) > 1 and np.ptp(shares) >= MOVED:
                    moved_by.append(t.id)
            rows.append(
                {
                    "choice": param.name,
                    "options": [
                        {
                            "option": o,
                            "claims": list(param.claims[o]),
                            "prior": float(param.prior[i]),
                            "posterior": float(post[i]),
                        }
                        for i, o in enumerate(param.options)
                    ],
                    "moved_by": moved_by if np.max(np.abs(post - param.prior)) >= MOVED else [],
                }
            )
        return rows

    def observation_rows(self) -> list[dict[str, Any]]:
        against: dict[str, list[str]] = {}
        for a, b, _ in self.contradictions():
            against.setdefault(a, []).append(b)
            against.setdefault(b, []).append(a)
        rows = []
        for m, t in enumerate(self.targets):
            p_prior = float(np.mean(t.distance(self.prior_figures[:, m]) == 0))
            figs = self.predictive_figures[:, m]
            p_post = float(np.mean(t.distance(figs) == 0))
            best = float(self.smc.best[m])
            verdict = obs.verdict(t, figs)  # type: ignore[arg-type]
            if t.id in against:
                verdict = "inconsistent"
                note = (
                    f"it cannot hold together with {', '.join(against[t.id])}: no run "
                    "simulated met both"
                )
            elif best > 0:
                note = (
                    f"no run of the {self.runs:,} simulated met it (closest: {best:.3g} "
                    "of its scale away): no setting of the inputs tried can meet it"
                )
            elif verdict == "inconsistent":
                note = (
                    "some runs simulated met it, but none of the posterior's reaches it: it "
                    "cannot hold together with the other observations"
                )
            else:
                note = f"met in {p_post:.0%} of the posterior's runs (prior: {p_prior:.0%})"
            rows.append(
                {
                    "id": t.id,
                    "claims": list(t.claims),
                    "low": _finite(t.low),
                    "high": _finite(t.high),
                    "prior_probability": p_prior,
                    "posterior_probability": p_post,
                    "posterior_q": [_finite(x) for x in np.quantile(figs, LEVELS)],
                    "best_distance": best,
                    "verdict": verdict,
                    "note": note,
                }
            )
        return rows

    def demand_rows(self) -> list[dict[str, Any]]:
        rows = []
        for col in self.predictive_coverage.columns:
            rows.append(
                {
                    "demand": col.split(":", 1)[1],
                    "prior_coverage_q": [
                        _finite(x) for x in np.quantile(self.prior_coverage[col], LEVELS)
                    ],
                    "posterior_coverage_q": [
                        _finite(x) for x in np.quantile(self.predictive_coverage[col], LEVELS)
                    ],
                }
            )
        return rows

    def message(self, observations: list[dict[str, Any]]) -> str:
        smc = self.smc
        final = smc.generations[-1].tolerance
        parts = []
        if smc.met_all == 0:
            parts.append(
                f"No run of the {self.runs:,} simulated met every observation at once: the "
                "observations cannot all hold together under this scenario"
            )
        pairs = self.contradictions()
        if pairs:
            parts.append(
                "these cannot both hold: "
                + "; ".join(f"{a} and {b} ({why})" for a, b, why in pairs)
            )
        bad = [o["id"] for o in observations if o["verdict"] == "inconsistent"]
        if bad:
            parts.append("inconsistent with the posterior: " + ", ".join(bad))
        if np.isfinite(final) and final > 0:
            parts.append(f"the tolerance stopped at {final:.3g}, not 0 ({_STOPS[smc.stop]})")
        if not parts:
            parts.append(f"every observation can be met; stopped: {_STOPS[smc.stop]}")
        return "; ".join(parts) + "."

    def summary(self) -> dict[str, Any]:
        """The calibration as plain data: what ``--format json`` prints and
        ``calibration.json`` holds (:class:`~forcegen.results_folder.CalibrationFile`)."""
        smc = self.smc
        later = smc.generations[1:]
        proposed = sum(g.proposed for g in later)
        observations = self.observation_rows()
        final = smc.generations[-1].tolerance
        return CalibrationFile(
            scenario=self.scenario.name,
            seed=self.seed,
            deterministic=self.deterministic,
            particles=len(smc.population.weights),
            levels=list(LEVELS),
            runs=self.runs,
            acceptance_rate=(sum(g.accepted for g in later) / proposed) if proposed else 1.0,
            stop=smc.stop,  # type: ignore[arg-type]
            final_tolerance=float(final) if np.isfinite(final) else None,
            all_met=smc.met_all > 0,
            message=self.message(observations),
            generations=[
                {
                    "tolerance": float(g.tolerance) if np.isfinite(g.tolerance) else None,
                    "proposed": g.proposed,
                    "accepted": g.accepted,
                    "acceptance_rate": g.acceptance_rate,
                }
                for g in smc.generations
            ],
            inputs=self.input_rows(),
            choices=self.choice_rows(),
            observations=observations,
            demands=self.demand_rows(),
        ).plain()


_STOPS = {
    "tolerance": "the tolerance asked for was reached",
    "acceptance": "the acceptance rate fell below its floor",
    "budget": "the budget of simulated runs was spent",
    "generations": "the most generations allowed were made",
}


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _values(
    scenario: Scenario, inputs: Sequence[Input], z: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(n, D) values of the inputs at normal-scale coordinates ``z``, as runs take them."""
    from scipy.stats import norm

    u = np.clip(norm.cdf(z), 1e-12, 1 - 1e-12)
    out = np.empty_like(u)
    for j, inp in enumerate(inputs):
        out[:, j] = inp.value.dist.widened(inp.factor).quantiles(u[:, j])  # type: ignore[union-attr]
    return out


def _sample(scenario: Scenario, inputs: Sequence[Input], z: NDArray[np.float64]) -> Any:
    """The engine's sample for particles at normal-scale coordinates ``z``."""
    from scipy.stats import norm

    return sample_at(scenario, [i.value for i in inputs], np.clip(norm.cdf(z), 1e-12, 1 - 1e-12))


def fit_pert(
    x: NDArray[np.float64],
    weights: NDArray[np.float64],
    integer: bool = False,
    bounds: tuple[float, float] = (-np.inf, np.inf),
) -> tuple[float, float, float]:
    """A PERT (low, mode, high) whose 5%, 25%, 50%, 75% and 95% quantiles are closest (least
    squares, in units of the posterior's 90% range) to the weighted sample's, kept within
    ``bounds`` (the values the prior can take)."""
    low, mode, high = _fit_pert(x, weights, integer)
    low, high = max(low, bounds[0]), min(high, bounds[1])
    if high <= low:
        high = low + (1.0 if integer else max(1e-12, 1e-6 * abs(low)))
        if high > bounds[1]:
            low, high = bounds[1] - (high - low), bounds[1]
    return float(low), float(min(max(mode, low), high)), float(high)


def _fit_pert(
    x: NDArray[np.float64], weights: NDArray[np.float64], integer: bool
) -> tuple[float, float, float]:
    from scipy import optimize, stats

    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    target = weighted_quantile(x, weights, levels)
    lo0, hi0 = float(np.min(x)), float(np.max(x))
    scale = max(float(target[-1] - target[0]), abs(hi0 - lo0), 1e-12)
    if hi0 - lo0 <= 1e-12 * max(1.0, abs(lo0)):
        hi0 = lo0 + (1.0 if integer else max(1e-9, 1e-6 * abs(lo0)))
        return lo0, lo0, hi0

    def pert_q(p: NDArray[np.float64]) -> tuple[float, float, float]:
        low = p[0]
        high = low + np.exp(p[1])
        mode = low + (high - low) / (1 + np.exp(-p[2]))
        return low, mode, high

    def resid(p: NDArray[np.float64]) -> NDArray[np.float64]:
        low, mode, high = pert_q(p)
        a = 1 + 4 * (mode - low) / (high - low)
        b = 1 + 4 * (high - mode) / (high - low)
        return (low + (high - low) * stats.beta.ppf(levels, a, b) - target) / scale

    med = float(target[2])
    frac = np.clip((med - lo0) / (hi0 - lo0), 0.05, 0.95)
    start = np.array([lo0, np.log(hi0 - lo0), np.log(frac / (1 - frac))])
    got = optimize.least_squares(resid, start, method="lm", max_nfev=400)
    low, mode, high = pert_q(got.x)
    if integer:
        low, mode, high = np.floor(low), np.rint(mode), np.ceil(high)
        high = max(high, low + 1)
        mode = min(max(mode, low), high)
    return float(low), float(mode), float(high)


def calibrate(
    scenario: Scenario,
    *,
    particles: int = 200,
    seed: int = 0,
    n_jobs: int = 1,
    choices: Mapping[str, str] | None = None,
    deterministic: bool = False,
    max_runs: int = 20_000,
    min_acceptance: float = 0.02,
    max_generations: int = 12,
    tolerance: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    targets: Sequence[TargetLike] | None = None,
    figures: Figures | None = None,
) -> Calibration:
    """Infer a scenario's uncertain values and choices from its observations by ABC-SMC.

    Parameters
    ----------
    scenario
        The scenario: its uncertain values and choices are the prior, its observations
        the data.
    particles
        Particles per generation (and runs of the posterior predictive).
    seed
        Seed of every draw; the same seed gives the same posterior for any ``n_jobs``.
    n_jobs
        Threads the engine shares each population's runs between.
    choices
        Choices fixed to an option (not inferred).
    deterministic
        Runs without daily draws: the inputs alone explain the observations.
    max_runs, min_acceptance, max_generations, tolerance
        Stopping rules (:func:`forcegen.analysis.abc_smc.abc_smc`): at most ``max_runs``
        runs simulated for the generations; stop when a generation accepts fewer than
        ``min_acceptance`` of its candidates, or when the tolerance reaches ``tolerance``.
    progress
        Called with (runs simulated, ``max_runs``).
    targets, figures
        The observations and the function giving their figures in each run; by default
        the scenario's (:func:`forcegen.analysis.observations.targets` and
        :func:`~forcegen.analysis.observations.observed_figures`).
    """
    from forcegen.api import check_choices, simulate

    if (
        isinstance(particles, bool)
        or not isinstance(particles, int)
        or not 10 <= particles <= 100_000
    ):
        raise UsageError(f"particles must be a whole number from 10 to 100,000; got {particles!r}")
    if not isinstance(max_runs, int) or max_runs < 2 * particles:
        raise UsageError(
            f"max_runs must be at least twice the particles ({2 * particles:,}); got {max_runs!r}"
        )
    if not 0 < min_acceptance < 1:
        raise UsageError(f"min_acceptance must be between 0 and 1; got {min_acceptance!r}")
    if not isinstance(max_generations, int) or max_generations < 1:
        raise UsageError(f"max_generations must be a whole number >= 1; got {max_generations!r}")
    if not tolerance >= 0:
        raise UsageError(f"tolerance must be >= 0; got {tolerance!r}")
    pinned = check_choices(scenario, choices)
    own = targets is None or figures is None
    if own:
        targets = obs.targets(scenario)

        def figures(results: Any) -> NDArray[np.float64]:
            return np.asarray(obs.observed_figures(results, scenario).values, dtype=float)

    targets = list(targets)
    if not targets:
        raise UsageError(
            "calibrate needs observations (an 'observations:' list of claimed outcomes); "
            "this scenario has none"
        )
    inputs, params = parameters(scenario, pinned)
    if not inputs and not params:
        raise UsageError(
            f"calibrate needs uncertain values ({shape_names()}) or choices with more than "
            "one option to infer; this scenario has none"
            + (" left once --choose fixed its choices" if pinned else "")
        )
    kept: dict[str, Any] = {}

    def run(z: NDArray[np.float64], k: NDArray[np.int64], call_seed: int):
        sample = _sample(scenario, inputs, z)
        picks = {p.name: np.array(p.options)[k[:, c]] for c, p in enumerate(params)}
        sample = dataclasses.replace(sample, picks={**sample.picks, **picks})
        results = simulate(
            scenario,
            seed=call_seed,
            deterministic=deterministic,
            sample=sample,
            n_jobs=n_jobs,
            choices=pinned,
        )
        figs = figures(results)
        if "prior" not in kept:
            kept["prior"] = figs
            kept["coverage"] = _coverage(results)
        kept.setdefault("all", []).append(figs)
        return np.column_stack([t.distance(figs[:, m]) for m, t in enumerate(targets)])

    smc = abc_smc(
        run,
        dims=len(inputs),
        priors=[p.prior for p in params],
        particles=particles,
        seed=seed,
        tolerance=tolerance,
        min_acceptance=min_acceptance,
        max_runs=max_runs,
        max_generations=max_generations,
        progress=progress,
    )
    # The posterior predictive: particles drawn by weight, each run once more with fresh
    # daily draws (a seed of its own, derived from the calibration's).
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    pop = smc.population
    idx = rng.choice(len(pop.weights), size=len(pop.weights), p=pop.weights)
    prior_figures = kept.pop("prior")
    prior_coverage = kept.pop("coverage")
    sample = _sample(scenario, inputs, pop.z[idx])
    picks = {p.name: np.array(p.options)[pop.k[idx, c]] for c, p in enumerate(params)}
    sample = dataclasses.replace(sample, picks={**sample.picks, **picks})
    results = simulate(
        scenario,
        seed=int(rng.integers(0, 2**31 - 1)),
        deterministic=deterministic,
        sample=sample,
        n_jobs=n_jobs,
        choices=pinned,
    )
    return Calibration(
        scenario=scenario,
        inputs=inputs,
        choice_params=params,
        targets=targets,
        smc=smc,
        seed=seed,
        deterministic=deterministic,
        prior_figures=prior_figures,
        prior_coverage=prior_coverage,
        predictive_figures=figures(results),
        predictive_coverage=_coverage(results),
        runs=smc.runs + len(idx),
        simulated=np.vstack(kept.pop("all")),
        own=own,
    )


def _coverage(results: Any) -> pd.DataFrame:
    table = results.per_run()
    return table[[c for c in table.columns if c.startswith("coverage:")]].reset_index(drop=True)


def calibrated_scenario(cal: Calibration, text: str, summary: Mapping[str, Any]) -> str:
    """The scenario's text with each uncertain value replaced by the PERT fitted to its
    posterior and each inferred choice given its posterior weights, each with a note
    naming the observations that moved it; comments and layout are kept elsewhere."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(text)
    rows = {r["input"]: r for r in summary["inputs"]}
    skipped = []
    for inp in cal.inputs:
        row = rows[inp.path]
        node = _node(data, inp.loc)
        if not isinstance(node, dict):
            skipped.append(inp.path)
            continue
        low, mode, high = row["fitted_points"]
        integer = inp.value.dist.integer  # type: ignore[union-attr]
        points = [int(low), int(mode), int(high)] if integer else [low, mode, high]
        for shape in ("pert", "triangular", "uniform", "lognormal"):
            node.pop(shape, None)
        seq = CommentedSeq(points)
        seq.fa.set_flow_style()
        node.insert(0, "pert", seq)
        moved = ", ".join(row["moved_by"]) or (
            "no single one of them" if row["moved"] else "none of them (not moved)"
        )
        node["note"] = (
            f"Calibrated (forcegen calibrate, seed {cal.seed}): PERT fitted to the posterior "
            f"of {row['prior']}; observations that moved it: {moved}."
        )
    for row in summary["choices"]:
        weights = CommentedMap((o["option"], round(o["posterior"], 4)) for o in row["options"])
        weights.fa.set_flow_style()
        for loc, q in quantities(cal.scenario):
            if isinstance(q, Choice) and q.choose == row["choice"]:
                node = _node(data, loc)
                if isinstance(node, dict):
                    node["weights"] = weights
    head = (
        f"Calibrated by forcegen calibrate (seed {cal.seed}, {summary['runs']:,} runs "
        f"simulated) to the observations "
        + ", ".join(o["id"] for o in summary["observations"])
        + ". "
        + summary["message"]
    )
    if skipped:
        head += " Not rewritten (not written in this file): " + ", ".join(skipped) + "."
    buf = io.StringIO()
    yaml.dump(data, buf)
    lines = ["# " + line for line in _wrap(head)]
    return "\n".join(lines) + "\n" + buf.getvalue()


def _wrap(text: str, width: int = 88) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


def _node(data: Any, loc: Sequence[str | int]) -> Any:
    """The YAML node at a field path, or ``None`` if the file does not write it there."""
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node
