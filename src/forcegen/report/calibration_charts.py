"""The report's charts of a calibration: prior against posterior for each calibrated input
and each inferred choice.

Described as :class:`~forcegen.report.charts.Chart` objects and drawn by both backends, like
every other chart:

* inputs: a panel per uncertain value (each in its own units) with two rows, prior and
  posterior: the 5–95% interval of each and its median as a point. The panel's title names
  the input by id, as the claims table does, with the claims it cites (or "assumption") and
  the observations that moved it;
* choices: a panel per choice with a row per option (named with the claims it cites): the
  prior weight as a wide grey bar, the posterior weight as a narrow blue bar in front of it.
"""

from __future__ import annotations

import numpy as np

from forcegen.report.charts import Bars, Chart, Intervals, Panel, Points
from forcegen.results_folder import CalibrationFile
from forcegen.scenario.paths import readable

PRIOR, POSTERIOR = "#999999", "#0072B2"
ROWS = ("prior", "posterior")
VALUES = "value (days, people or probability per day)"
"""The x axis of the inputs: the engine's canonical units, as ``calibration.json`` gives
the quantiles."""


def _moved(moved_by: list[str], moved: bool = True) -> str:
    if moved_by:
        return "moved by " + ", ".join(moved_by)
    return "not moved" if not moved else "moved (by no single observation)"


def prior_posterior(cf: CalibrationFile, scenario: object | None = None) -> list[Chart]:
    """Prior against posterior for every calibrated input and choice (see the module);
    ``scenario``, where the folder holds a copy, names inputs by id."""
    charts: list[Chart] = []
    levels = list(cf.levels)
    lo, mid, hi = (levels.index(q) for q in (min(levels), 0.5, max(levels)))
    band = f"{levels[lo] * 100:g}–{levels[hi] * 100:g}%"
    panels = []
    for r in cf.inputs:
        nan = np.nan
        claims = ", ".join(r.claims) or "assumption (uncited)"
        panels.append(
            Panel(
                f"{readable(r.input, scenario)} · {claims} · {_moved(r.moved_by, r.moved)}",
                VALUES,
                "distribution",
                (
                    Intervals(
                        f"prior, {band}", np.array([r.prior_q[lo], nan]),
                        np.array([r.prior_q[hi], nan]), PRIOR, alpha=0.9,
                    ),
                    Intervals(
                        f"posterior, {band}", np.array([nan, r.posterior_q[lo]]),
                        np.array([nan, r.posterior_q[hi]]), POSTERIOR, alpha=0.9,
                    ),
                    Points("prior median", np.array([r.prior_q[mid], nan]), "#444444"),
                    Points("posterior median", np.array([nan, r.posterior_q[mid]]), "#003F6B"),
                ),
                categories=ROWS,
                height=1.5,
                y_format=",.3g",
            )
        )  # fmt: skip
    if panels:
        charts.append(
            Chart(
                "calibration-inputs",
                "Calibrated inputs: prior against posterior",
                f"For each uncertain value, in its own units, the {band} interval and the "
                "median of the prior (grey: the scenario's distribution, widened by its claims' "
                "grades) and of the posterior given the observations (blue). Each title names "
                "the input as the claims table does, the claims it cites and the observations "
                "that moved it.",
                tuple(panels),
            )
        )
    panels = []
    for c in cf.choices:
        labels = tuple(f"{o.option} ({', '.join(o.claims) or 'assumption'})" for o in c.options)
        panels.append(
            Panel(
                f"choice {c.choice} · {_moved(c.moved_by, bool(c.moved_by))}",
                "probability of the option (%)",
                "option (claims it cites)",
                (
                    Bars("prior weight", np.array([o.prior for o in c.options]), PRIOR),
                    Bars(
                        "posterior weight",
                        np.array([o.posterior for o in c.options]),
                        POSTERIOR,
                        thickness=0.35,
                    ),
                ),
                categories=labels,
                height=max(1.5, 0.8 + 0.45 * len(labels)),
                y_format=".0%",
            )
        )
    if panels:
        charts.append(
            Chart(
                "calibration-choices",
                "Calibrated choices: prior against posterior weights",
                "Each choice's options with the claims they cite: the prior weight (wide grey "
                "bar) and the posterior weight given the observations (narrow blue bar).",
                tuple(panels),
            )
        )
    return charts
