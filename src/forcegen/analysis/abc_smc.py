"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC), population-batched.

The algorithm is ABC population Monte Carlo (Beaumont, Cornuet, Marin and Robert 2009;
Toni et al. 2009; Del Moral, Doucet and Jasra 2012 for the adaptive tolerance):

1. Generation 0 draws ``particles`` parameter vectors from the prior and simulates them.
   Every one is kept (tolerance infinite), each with weight ``1 / particles``.
2. Each later generation sets its tolerance to the ``quantile`` (default: the median) of
   the previous population's distances, never below the ``tolerance`` asked for. It draws
   parents by weight, perturbs them with the kernel below, simulates the candidates a whole
   batch per call, and keeps, in the order proposed, the first ``particles`` whose distance
   is within the tolerance.
3. Importance weights: ``w_i ∝ prior(θ_i) / Σ_j w_j K(θ_i | θ_j)``.

Parameters are of two kinds. A continuous parameter lives on the standard normal scale:
its prior there is N(0, 1), and the caller maps ``z`` to a value by ``Φ(z)`` and the value's
quantile function, so every ``z`` is a value inside the distribution's support and the
kernel need not be truncated. The kernel is a multivariate normal with twice the weighted
covariance of the previous population (Beaumont et al. 2009). A discrete parameter (a
choice between options) has a prior probability per option; its kernel keeps the parent's
option with probability :data:`STAY` and otherwise takes one of the others uniformly.

Stopping rules, checked after each generation (the first that holds is reported):

* ``tolerance``: the tolerance reached the one asked for (by default 0: every
  observation met);
* ``acceptance``: the generation's acceptance rate fell below ``min_acceptance``;
* ``budget``: the next generation could exceed ``max_runs`` simulated runs (a
  generation left unfinished by the budget is dropped: the last whole one is the result);
* ``generations``: ``max_generations`` were made.

All randomness comes from one :class:`numpy.random.Generator` seeded from ``seed``, and
the simulator is handed a seed per call derived from it, so that the result depends on
the seed only (not on how a simulator shares its work between threads).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp

STAY = 0.7
"""Probability that the discrete kernel keeps the parent's option."""

Simulator = Callable[[NDArray[np.float64], NDArray[np.int64], int], NDArray[np.float64]]
"""``simulate(z, k, seed)``: for ``n`` parameter vectors (``z``: (n, D) continuous on the
normal scale, ``k``: (n, C) option indices) the distance of each run to each observation,
shape (n, M), 0 where the observation holds."""


@dataclass(frozen=True)
class Generation:
    """One population's record: its tolerance and how many candidates it took."""

    tolerance: float
    proposed: int
    accepted: int

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0


@dataclass
class Population:
    """Particles with their importance weights and their distances to the observations."""

    z: NDArray[np.float64]
    """(n, D) continuous parameters on the standard normal scale."""
    k: NDArray[np.int64]
    """(n, C) option index of each discrete parameter."""
    weights: NDArray[np.float64]
    """(n,) normalised importance weights."""
    distances: NDArray[np.float64]
    """(n, M) distance of each particle's run to each observation."""

    @property
    def distance(self) -> NDArray[np.float64]:
        """(n,) the combined distance: the Euclidean norm over observations."""
        return combined(self.distances)


def combined(distances: NDArray[np.float64]) -> NDArray[np.float64]:
    """The distance over all observations: the Euclidean norm of the scaled distances."""
    return np.sqrt(np.sum(np.square(distances), axis=1))


@dataclass
class SMCResult:
    """The final population, every generation's record, and why the algorithm stopped."""

    population: Population
    generations: list[Generation]
    stop: str
    runs: int
    """Runs simulated in all."""
    prior: Population
    """Generation 0: a sample of the prior with its runs (the prior predictive)."""
    best: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    """(M,) the smallest distance to each observation in any run simulated."""
    met_all: int = 0
    """Runs simulated that met every observation at once."""


def weighted_quantile(
    x: NDArray[np.float64], weights: NDArray[np.float64], q: float | NDArray[np.float64]
) -> NDArray[np.float64]:
    """Quantiles of weighted values (inverse of the weighted empirical distribution, the
    midpoint rule between steps)."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], weights[order]
    cum = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
    return np.interp(q, cum, xs)


def _draw_prior(
    rng: np.random.Generator, n: int, dims: int, priors: Sequence[NDArray[np.float64]]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    z = rng.standard_normal((n, dims))
    k = np.zeros((n, len(priors)), dtype=np.int64)
    for c, p in enumerate(priors):
        k[:, c] = rng.choice(len(p), size=n, p=p)
    return z, k


def _log_prior(z: NDArray[np.float64], k: NDArray[np.int64], priors) -> NDArray[np.float64]:
    out = -0.5 * np.sum(z**2, axis=1)
    for c, p in enumerate(priors):
        with np.errstate(divide="ignore"):
            out = out + np.log(p[k[:, c]])
    return out


class _Kernel:
    """The perturbation kernel fitted to a weighted population."""

    def __init__(self, pop: Population, sizes: Sequence[int]) -> None:
        self.parents = pop
        self.sizes = list(sizes)
        dims = pop.z.shape[1]
        if dims:
            cov = 2.0 * np.atleast_2d(np.cov(pop.z, rowvar=False, aweights=pop.weights))
            # A population collapsed onto one value in some direction would make the
            # covariance singular; a floor keeps the kernel able to move there.
            cov = cov + np.eye(dims) * 1e-6
            self.chol = np.linalg.cholesky(cov)
            self.log_norm = -0.5 * dims * np.log(2 * np.pi) - np.sum(np.log(np.diag(self.chol)))
        else:
            self.chol = np.zeros((0, 0))
            self.log_norm = 0.0

    def propose(
        self, rng: np.random.Generator, n: int
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        pop = self.parents
        idx = rng.choice(len(pop.weights), size=n, p=pop.weights)
        z = pop.z[idx] + rng.standard_normal((n, pop.z.shape[1])) @ self.chol.T
        k = pop.k[idx].copy()
        for c, size in enumerate(self.sizes):
            if size < 2:
                continue
            move = rng.random(n) >= STAY
            shift = rng.integers(1, size, size=n)
            k[:, c] = np.where(move, (k[:, c] + shift) % size, k[:, c])
        return z, k

    def log_density(self, z: NDArray[np.float64], k: NDArray[np.int64]) -> NDArray[np.float64]:
        """(n, parents) log K(θ_i | θ_j)."""
        pop = self.parents
        if pop.z.shape[1]:
            # Mahalanobis distances by whitening both sides with the Cholesky factor.
            a = np.linalg.solve(self.chol, z.T).T
            b = np.linalg.solve(self.chol, pop.z.T).T
            sq = np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2 * a @ b.T
            out = self.log_norm - 0.5 * np.maximum(sq, 0.0)
        else:
            out = np.zeros((len(z), len(pop.z)))
        for c, size in enumerate(self.sizes):
            if size < 2:
                continue
            same = k[:, None, c] == pop.k[None, :, c]
            out = out + np.where(same, np.log(STAY), np.log((1 - STAY) / (size - 1)))
        return out


def abc_smc(
    simulate: Simulator,
    *,
    dims: int,
    priors: Sequence[NDArray[np.float64]] = (),
    particles: int = 200,
    seed: int = 0,
    quantile: float = 0.5,
    tolerance: float = 0.0,
    min_acceptance: float = 0.02,
    max_runs: int = 20_000,
    max_generations: int = 12,
    progress: Callable[[int, int], None] | None = None,
) -> SMCResult:
    """Sample the ABC posterior of parameters given a simulator of distances.

    Parameters
    ----------
    simulate
        The simulator (:data:`Simulator`): called with whole batches of candidates.
    dims
        Number of continuous parameters (prior N(0, 1) each, on the normal scale).
    priors
        For each discrete parameter, the prior probability of each of its options.
    particles
        Population size: particles kept in each generation.
    seed
        Seed of every random draw (and of the seed handed to each simulator call).
    quantile
        Each tolerance is this quantile of the previous population's distances.
    tolerance, min_acceptance, max_runs, max_generations
        The stopping rules (see the module's docstring).
    progress
        Called with (runs simulated so far, ``max_runs``).
    """
    priors = [np.asarray(p, dtype=float) / np.sum(p) for p in priors]
    sizes = [len(p) for p in priors]
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    runs = 0
    best: NDArray[np.float64] | None = None
    met_all = 0

    def call(z: NDArray[np.float64], k: NDArray[np.int64]) -> NDArray[np.float64]:
        nonlocal runs, best, met_all
        d = np.asarray(simulate(z, k, int(rng.integers(0, 2**31 - 1))), dtype=float)
        runs += len(z)
        low = d.min(axis=0)
        best = low if best is None else np.minimum(best, low)
        met_all += int(np.sum(np.all(d == 0, axis=1)))
        if progress is not None:
            progress(min(runs, max_runs), max_runs)
        return d

    if progress is not None:
        progress(0, max_runs)
    z, k = _draw_prior(rng, particles, dims, priors)
    pop = Population(z, k, np.full(particles, 1.0 / particles), call(z, k))
    prior = pop
    generations = [Generation(np.inf, particles, particles)]
    stop = "generations"
    while len(generations) < max_generations:
        eps = max(tolerance, float(weighted_quantile(pop.distance, pop.weights, quantile)))
        if generations[-1].tolerance <= tolerance:
            stop = "tolerance"
            break
        kernel = _Kernel(pop, sizes)
        kept_z, kept_k, kept_d = [], [], []
        accepted = proposed = 0
        rate = max(generations[-1].acceptance_rate, min_acceptance)
        while accepted < particles and runs < max_runs:
            batch = int(np.clip((particles - accepted) / rate * 1.1, particles // 4, particles * 4))
            batch = max(1, min(batch, max_runs - runs))
            cz, ck = kernel.propose(rng, batch)
            d = call(cz, ck)
            ok = combined(d) <= eps
            proposed += batch
            kept_z.append(cz[ok])
            kept_k.append(ck[ok])
            kept_d.append(d[ok])
            accepted += int(ok.sum())
        if accepted < particles:
            stop = "budget"
            break
        # The first ``particles`` accepted, in the order proposed; the candidates proposed
        # after the last of them count as proposed all the same (they were simulated).
        nz = np.concatenate(kept_z)[:particles]
        nk = np.concatenate(kept_k)[:particles]
        nd = np.concatenate(kept_d)[:particles]
        log_w = _log_prior(nz, nk, priors) - logsumexp(
            kernel.log_density(nz, nk) + np.log(pop.weights)[None, :], axis=1
        )
        w = np.exp(log_w - log_w.max())
        pop = Population(nz, nk, w / w.sum(), nd)
        generations.append(Generation(eps, proposed, particles))
        if generations[-1].acceptance_rate < min_acceptance:
            stop = "acceptance"
            break
        if runs >= max_runs:
            stop = "budget"
            break
    else:
        stop = "generations"
    if stop == "generations" and generations[-1].tolerance <= tolerance:
        stop = "tolerance"
    return SMCResult(
        population=pop,
        generations=generations,
        stop=stop,
        runs=runs,
        prior=prior,
        best=best if best is not None else np.zeros(0),
        met_all=met_all,
    )
