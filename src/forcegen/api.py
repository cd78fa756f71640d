"""The Python API: load a scenario, simulate it, get results. The CLI mirrors these."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping

from forcegen import __version__
from forcegen.compile import compile_plan
from forcegen.engine import Records, simulate_plan
from forcegen.errors import UsageError
from forcegen.results import Results, build_dataset
from forcegen.sampling import sample_scenario
from forcegen.scenario.claims import choices_of, sourcing
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario

__all__ = ["load", "simulate"]

MAX_RUNS = 1_000_000


def _check_choices(scenario: Scenario, choices: Mapping[str, str] | None) -> dict[str, str]:
    offered = choices_of(scenario)
    for name, option in (choices or {}).items():
        if name not in offered:
            known = ", ".join(sorted(offered)) or "none"
            raise UsageError(f"unknown choice {name!r}: this scenario offers {known}")
        if option not in offered[name][1]:
            raise UsageError(
                f"choice {name!r} has no option {option!r}: expected one of "
                f"{', '.join(offered[name][1])}"
            )
    return dict(choices or {})


check_choices = _check_choices  # bridge: the public name the faces use


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def _check_memory(plan, runs: int, keep_units: bool, deterministic: bool) -> None:
    """Refuse, before allocating, a run whose records would not fit in memory."""
    need = Records.nbytes(plan, runs, keep_units, compact=not deterministic)
    free = _available_memory()
    if free is not None and need > 0.8 * free:
        advice = "fewer runs, a shorter horizon" + (
            "" if not keep_units else ", or no unit-level traces (drop --keep units)"
        )
        raise UsageError(
            f"{runs:,} runs of this scenario need about {need / 2**30:.1f} GiB for their "
            f"records, more than the {free / 2**30:.1f} GiB of memory free: use {advice}"
        )


def simulate(
    scenario: Scenario | str | os.PathLike[str],
    *,
    runs: int = 100,
    seed: int = 0,
    deterministic: bool = False,
    choices: Mapping[str, str] | None = None,
    keep_units: bool = False,
    lhs: bool = False,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Results:
    """Simulate a scenario.

    Parameters
    ----------
    scenario
        A loaded :class:`Scenario`, or the path of a scenario file.
    runs
        Number of runs (realisations). Deterministic mode always makes one.
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
        Called with the number of run-days just completed.
    """
    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise UsageError(f"runs must be a whole number from 1 to {MAX_RUNS:,}; got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a whole number >= 0; got {seed!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise UsageError(f"n_jobs must be a whole number >= 1; got {n_jobs!r}")
    picked = _check_choices(scenario, choices)
    if deterministic:
        runs = 1
    sample = sample_scenario(
        scenario, runs=runs, seed=seed, deterministic=deterministic, lhs=lhs, choices=picked
    )
    plan = compile_plan(scenario, sample)
    _check_memory(plan, runs, keep_units, deterministic)
    records = simulate_plan(
        plan,
        runs=runs,
        seed=seed,
        deterministic=deterministic,
        keep_units=keep_units,
        n_jobs=n_jobs,
        progress=progress,
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
                "date": None
                if claims[cid].source.date is None
                else claims[cid].source.date.isoformat(),
                "paraphrase": claims[cid].paraphrase,
                "used_by": used,
            }
            for cid, used in src.used.items()
        ],
        "assumptions": src.assumptions,
        "pipeline_reservoirs": {
            r.id: [p.id for p in scenario.pipelines if p.reservoir == r.id]
            for r in scenario.reservoirs
        },
    }
    attrs = {"title": f"forcegen results: {scenario.name}", "forcegen_meta": json.dumps(meta)}
    return Results(build_dataset(plan, records, sample.table(scenario), attrs=attrs))
