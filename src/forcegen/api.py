"""The Python API: load a scenario, simulate it, get results. The CLI mirrors these."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from forcegen import __version__
from forcegen.compile import PlanSizes, compile_plan, plan_sizes
from forcegen.engine import Records, simulate_plan
from forcegen.engine.kernel import run_state_nbytes
from forcegen.errors import UsageError
from forcegen.limits import MAX_RUNS
from forcegen.results import Results, build_dataset
from forcegen.sampling import Sample, sample_scenario
from forcegen.scenario.claims import check_choices, sourcing
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import readable

__all__ = ["check_choices", "load", "simulate"]


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def _check_memory(
    sizes: PlanSizes, runs: int, keep_units: bool, deterministic: bool, n_jobs: int
) -> None:
    """Refuse, before compiling, a run whose arrays would not fit in memory.

    Counted: the plan, twice (compiling holds its parts and the joined arrays at once), the
    records, one run's working arrays per thread, and the requirement the labelled dataset
    adds (as large as the records of demands filled).
    """
    compact = not deterministic
    dims = (
        sizes.horizon,
        sizes.forces,
        sizes.locations,
        sizes.demands,
        sizes.positions,
        sizes.units,
        sizes.pipelines,
        sizes.reservoirs,
        sizes.unit_types,
        sizes.states,
        sizes.transitions,
    )
    records = Records.nbytes_of(runs, *dims, keep_units=keep_units, compact=compact)
    required = runs * sizes.horizon * sizes.demands * (4 if compact else 8)
    working = min(n_jobs, runs) * run_state_nbytes(
        units=sizes.units,
        forces=sizes.forces,
        locations=sizes.locations,
        unit_types=sizes.unit_types,
        pipelines=sizes.pipelines,
        demands=sizes.demands,
        recovery_days=sizes.recovery_days,
        training_days=sizes.training_days,
        q0_rows=0 if deterministic else sizes.hazard_rows,
        q0_width=sizes.largest_unit + 1,
    )
    need = 2 * sizes.nbytes + records + required + working
    free = _available_memory()
    if free is not None and need > 0.8 * free:
        advice = "fewer runs, a shorter horizon" + (
            "" if not keep_units else ", or no unit-level traces (drop --keep units)"
        )
        raise UsageError(
            f"{runs:,} runs of this scenario need about {need / 2**30:.1f} GiB for their "
            f"records and working arrays, more than the {free / 2**30:.1f} GiB of memory "
            f"free: use {advice}"
        )


def _counting(report: Callable[[int, int], None], total: int) -> Callable[[int], None]:
    """The engine's reports of run-days just finished, as (done so far, in all)."""
    done = 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        report(done, total)

    report(0, total)
    return advance


def simulate(
    scenario: Scenario | str | os.PathLike[str],
    *,
    runs: int | None = None,
    seed: int = 0,
    deterministic: bool = False,
    choices: Mapping[str, str] | None = None,
    keep_units: bool = False,
    lhs: bool = False,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    sample: Sample | None = None,
    run_ids: Sequence[int] | np.ndarray | None = None,
) -> Results:
    """Simulate a scenario.

    Parameters
    ----------
    scenario
        A loaded :class:`Scenario`, or the path of a scenario file.
    runs
        Number of runs (realisations), 100 if not given. Deterministic mode makes one,
        unless ``sample`` gives more.
    seed
        Seed of every random stream; the same seed gives the same results.
    deterministic
        Replace every random draw by its expected value (textbook arithmetic, exactly).
    choices
        Option to take for each named choice between alternatives (default: each choice's
        ``default``).
    keep_units
        Keep unit-level daily traces (position and strength of every unit).
    lhs
        Sample uncertain values by Latin hypercube instead of independently per run.
    n_jobs
        Threads to share the runs. Results do not depend on it.
    progress
        Called as runs finish with the run-days done so far and the run-days in all.
    sample
        Values prepared by the caller for the uncertain numbers, instead of sampling them
        from ``seed``: a :class:`forcegen.sampling.Sample` with one row per run (built, for
        example, by :func:`forcegen.sampling.sample_at` from a design of probabilities).
        Its size is the number of runs, in deterministic mode too, so that a design can be
        run without the noise of daily draws; ``runs``, if given, must equal it, and
        ``lhs`` does not apply. A choice the sample picks no option for takes the one in
        ``choices``, or its default.
    run_ids
        The id each run's random streams are keyed by (default: its position, ``0 .. runs
        - 1``). Runs with the same id draw the same daily numbers: a batch of experiments
        of ``R`` runs each, given ids ``k % R``, has common random numbers across its
        experiments. The sample's values are as given; only the daily draws follow the id.
    """
    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    if sample is not None:
        if runs is not None and runs != sample.size:
            raise UsageError(
                f"runs ({runs!r}) must equal the size of the sample given ({sample.size:,})"
            )
        if lhs:
            raise UsageError("lhs applies to sampling; a prepared sample was given")
        runs = sample.size
    elif runs is None:
        runs = 100
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise UsageError(f"runs must be a whole number from 1 to {MAX_RUNS:,}; got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a whole number >= 0; got {seed!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise UsageError(f"n_jobs must be a whole number >= 1; got {n_jobs!r}")
    if run_ids is not None and (np.shape(run_ids) != (runs,) or (runs and np.min(run_ids) < 0)):
        raise UsageError(f"run_ids must give one whole number >= 0 for each of the {runs:,} runs")
    picked = check_choices(scenario, choices)
    if sample is None:
        if deterministic:
            runs = 1
        sample = sample_scenario(
            scenario, runs=runs, seed=seed, deterministic=deterministic, lhs=lhs, choices=picked
        )
    else:
        pinned = {k: np.full(sample.size, v) for k, v in picked.items() if k not in sample.picks}
        sample = dataclasses.replace(sample, picks={**sample.picks, **pinned})
    sizes = plan_sizes(scenario, sample)
    _check_memory(sizes, runs, keep_units, deterministic, n_jobs)
    plan = compile_plan(scenario, sample, sizes)
    records = simulate_plan(
        plan,
        runs=runs,
        seed=seed,
        deterministic=deterministic,
        keep_units=keep_units,
        n_jobs=n_jobs,
        progress=None if progress is None else _counting(progress, runs * plan.horizon),
        run_ids=None if run_ids is None else np.asarray(run_ids, dtype=np.int64),
    )
    src = sourcing(scenario, picked)
    claims = {c.id: c for c in scenario.claims}
    meta = {
        "forcegen_version": __version__,
        "scenario": {
            "name": scenario.name,
            "question": scenario.question,
            "start": scenario.start.isoformat(),
            "horizon_days": plan.horizon,
        },
        "run": {
            "runs": runs,
            "seed": seed,
            "deterministic": deterministic,
            "lhs": lhs,
            "choices": src.choices,
        },
        "claims": [
            {
                "id": cid,
                "grade": claims[cid].grade,
                "attribution": claims[cid].attribution,
                "attributed_to": claims[cid].attributed_to,
                "source": claims[cid].source.publication,
                "reliability": claims[cid].reliability,
                "credibility": claims[cid].credibility,
                "chain": claims[cid].source.chain,
                "date": None
                if claims[cid].source.date is None
                else claims[cid].source.date.isoformat(),
                "paraphrase": claims[cid].paraphrase,
                "used_by": [readable(path, scenario) for path in used],
            }
            for cid, used in src.used.items()
        ],
        "assumptions": [readable(path, scenario) for path in src.assumptions],
        "pipeline_reservoirs": {
            r.id: [p.id for p in scenario.pipelines if p.reservoir == r.id]
            for r in scenario.reservoirs
        },
    }
    attrs = {"title": f"forcegen results: {scenario.name}", "forcegen_meta": json.dumps(meta)}
    return Results(build_dataset(plan, records, sample.table(scenario), attrs=attrs))
