"""Global sensitivity of an output to the uncertain values, traced back to the claims.

Every uncertain value of the scenario (a distribution) is an input. Inputs are sampled in
probability space with SALib (Saltelli's scheme for Sobol indices, Saltelli 2002 and
Saltelli et al. 2010; or Morris' elementary effects for a cheap first look, Morris 1991)
and mapped to values through each distribution's quantiles, so the indices describe the
inputs as the scenario states them (grade widening included). Each row of the design is
one run in deterministic mode, so that the indices measure the inputs, not the noise of
daily draws.

The output is a column of :meth:`forcegen.Results.per_run`, such as ``coverage:front-line``
or ``lost:RU:killed``. Each input is reported with the claims its number cites, or as an
assumption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from forcegen.api import simulate
from forcegen.errors import UsageError
from forcegen.results_folder import SensitivityFile, SensitivityRow, records
from forcegen.sampling import sample_at
from forcegen.scenario.claims import quantities
from forcegen.scenario.distributions import shape_names
from forcegen.scenario.model import Attrition, Scenario
from forcegen.scenario.paths import by_id
from forcegen.scenario.quantities import Value


@dataclass(frozen=True)
class Sensitivity:
    """Indices per input, largest first, with the claims each input cites."""

    output: str
    method: str
    table: pd.DataFrame
    runs: int
    scenario: str = ""
    """Name of the scenario analysed."""

    def summary(self) -> dict[str, Any]:
        """The indices as plain data: what ``--format json`` prints and ``sensitivity.json``
        holds (:class:`~forcegen.results_folder.SensitivityFile`)."""
        return SensitivityFile(
            scenario=self.scenario,
            output=self.output,
            method=self.method,  # type: ignore[arg-type]
            runs=self.runs,
            description=describe(self),
            inputs=[SensitivityRow.model_validate(r) for r in records(self.table)],
        ).plain()


OUTPUT_KINDS = {
    "coverage:<demand>": "mean coverage of the demand over its active days (a share, 0 to 1)",
    "days_fully_covered:<demand>": "days on which the demand is fully covered (days)",
    "lost:<force>:<cause>": "people of the force lost from units by the cause over the run "
    "(people; causes: killed, wounded, missing, deserted, discharged)",
    "people_end:<force>": "people of the force in units at the last census (people)",
}
"""The kinds of per-run figure (:meth:`forcegen.Results.per_run`) an analysis may take as
its output, with what each measures; ``docs/analyses.md`` lists them all."""

LOSS_CAUSES = (*Attrition.CAUSES, "discharged")
"""The causes of loss the results record (daily hazards, then discharge at a contract's end)."""


def outputs(scenario: Scenario) -> dict[str, str]:
    """Every per-run figure the scenario offers as an output, with a short description: the
    columns of :meth:`forcegen.Results.per_run` other than its inputs and choices."""
    found: dict[str, str] = {}
    for d in scenario.demands:
        found[f"coverage:{d.id}"] = f"mean coverage of {d.id} over its active days (share)"
        found[f"days_fully_covered:{d.id}"] = f"days on which {d.id} is fully covered (days)"
    for f in scenario.forces:
        for cause in LOSS_CAUSES:
            found[f"lost:{f.id}:{cause}"] = f"people of {f.id} {cause} over the run (people)"
        found[f"people_end:{f.id}"] = f"people of {f.id} in units at the end (people)"
    return found


def check_output(scenario: Scenario, output: str) -> None:
    """Refuse an output the scenario does not offer, naming the valid ones.

    Raises
    ------
    UsageError
        If ``output`` is not one of :func:`outputs` of the scenario.
    """
    known = outputs(scenario)
    if output not in known:
        raise UsageError(
            f"--output {output!r}: unknown output for scenario {scenario.name!r}; "
            f"outputs are: {', '.join(known)} "
            "(forcegen sensitivity --list-outputs SCENARIO describes each)"
        )


def _inputs(scenario: Scenario) -> list[tuple[str, Value]]:
    return [
        (by_id(scenario, loc), q)
        for loc, q in quantities(scenario)
        if isinstance(q, Value) and q.dist is not None
    ]


def sensitivity(
    scenario: Scenario,
    *,
    output: str,
    method: str = "sobol",
    n: int = 64,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Sensitivity:
    """Sobol (first and total order) or Morris indices of ``output`` for every uncertain value.

    ``n`` is the base sample size: Sobol runs ``n * (D + 2)`` rows, Morris ``n * (D + 1)``,
    for D inputs. ``progress``, if given, is called as they are simulated with the rows done
    so far and the rows in all.
    """
    inputs = _inputs(scenario)
    if not inputs:
        raise UsageError(
            f"sensitivity needs uncertain values ({shape_names()}); this scenario has none"
        )
    if method not in ("sobol", "morris"):
        raise UsageError(f"method must be 'sobol' or 'morris'; got {method!r}")
    check_output(scenario, output)
    names = [path for path, _ in inputs]
    problem = {"num_vars": len(names), "names": names, "bounds": [[1e-6, 1 - 1e-6]] * len(names)}
    if method == "sobol":
        design = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        design = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    claims = {c.id: c for c in scenario.claims}
    sample = sample_at(scenario, [value for _, value in inputs], design)
    rows = len(design)
    results = simulate(
        scenario,
        seed=seed,
        deterministic=True,
        sample=sample,
        progress=None
        if progress is None
        else lambda done, days: progress(done * rows // max(days, 1), rows),
    )
    table = results.per_run()
    if output not in table.columns:
        known = ", ".join(c for c in table.columns if not c.startswith(("input:", "choice:")))
        raise UsageError(f"unknown output {output!r}; outputs are: {known}")
    y = table[output].to_numpy(dtype=float)
    if method == "sobol":
        got = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        frame = pd.DataFrame(
            {
                "S1": got["S1"],
                "S1_conf": got["S1_conf"],
                "ST": got["ST"],
                "ST_conf": got["ST_conf"],
            },
            index=names,
        )
        order = "ST"
    else:
        got = morris_analyze.analyze(problem, design, y, num_levels=4, seed=seed)
        frame = pd.DataFrame(
            {"mu_star": got["mu_star"], "mu_star_conf": got["mu_star_conf"], "sigma": got["sigma"]},
            index=names,
        )
        order = "mu_star"
    frame.index.name = "input"
    frame["claims"] = [", ".join(v.cites) if v.cites else "assumption (uncited)" for _, v in inputs]
    frame["grades"] = [", ".join(claims[c].grade for c in v.cites) for _, v in inputs]
    frame = frame.sort_values(order, ascending=False)
    return Sensitivity(output, method, frame, len(design), scenario.name)


def describe(result: Sensitivity, top: int = 3) -> str:
    """One sentence saying what the output depends on most, and on which claims."""
    order = "ST" if result.method == "sobol" else "mu_star"
    parts = []
    for name, row in result.table.head(top).iterrows():
        share = f"{row[order]:.2f}"
        parts.append(
            f"{name} ({order} {share}; {row['claims']}"
            + (f", grade {row['grades']}" if row["grades"] else "")
            + ")"
        )
    return f"{result.output} depends most on " + "; then ".join(parts)
