"""The report's charts of a calibration: prior against posterior for each calibrated input.

Each uncertain value gets a panel with two bands, prior (grey) and posterior (blue): the
thick bar spans the 25% to 75% quantiles, the thin one 5% to 95%, the tick is the median;
behind them the posterior sample as a weighted histogram. The panel's title is the input's
field path with the claims it cites (or "assumption") and the observations that moved it.
Each choice gets its options' prior and posterior weights side by side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from forcegen.report.figures import WIDTH, Chart
from forcegen.results_folder import CalibrationFile

PRIOR, POSTERIOR = "#9e9e9e", "#2166ac"


def _band(ax: Any, q: list[float], y: float, colour: str) -> None:
    """Quantiles at (5, 25, 50, 75, 95)% as a thin bar, a thick bar and a tick."""
    ax.plot([q[0], q[4]], [y, y], color=colour, linewidth=2, solid_capstyle="butt")
    ax.plot([q[1], q[3]], [y, y], color=colour, linewidth=8, solid_capstyle="butt")
    ax.plot([q[2]], [y], marker="|", color="white", markersize=10, markeredgewidth=2)


def prior_posterior(cf: CalibrationFile, posterior: Any = None) -> list[Chart]:
    """Prior against posterior for every calibrated input and choice (see the module)."""
    charts: list[Chart] = []
    rows = cf.inputs
    if rows:
        fig = Figure(figsize=(WIDTH, 0.8 + 1.9 * len(rows)), layout="constrained")
        axes = np.atleast_1d(fig.subplots(len(rows), 1, squeeze=False).ravel())
        for ax, r in zip(axes, rows, strict=True):
            if posterior is not None and r.input in posterior:
                x = posterior[r.input].to_numpy(float)
                w = posterior["weight"].to_numpy(float)
                if np.ptp(x) > 0:
                    hist, edges = np.histogram(x, bins=30, weights=w, density=True)
                    hist = hist / hist.max() * 0.8
                    ax.fill_between(edges[:-1], 0, hist, step="post", color=POSTERIOR, alpha=0.15)
            _band(ax, r.prior_q, 1.3, PRIOR)
            _band(ax, r.posterior_q, 1.0, POSTERIOR)
            ax.set_yticks([1.3, 1.0], ["prior", "posterior"], fontsize="small")
            ax.set_ylim(-0.05, 1.55)
            claims = ", ".join(r.claims) or "assumption (uncited)"
            moved = ", ".join(r.moved_by) or ("no observation" if not r.moved else "(moved)")
            ax.set_title(
                f"{r.input}  ·  {claims}  ·  moved by {moved}", fontsize="small", loc="left"
            )
            ax.grid(axis="x", alpha=0.3)
        axes[-1].set_xlabel("value (canonical units: days, people, probability per day)")
        charts.append(
            Chart(
                "calibration-inputs",
                "Calibrated inputs: prior against posterior",
                "For each uncertain value, the prior (grey) and the posterior (blue): thick bar "
                "25–75%, thin bar 5–95%, white tick the median; shaded, the posterior sample. "
                "Each title gives the claims the value cites and the observations that moved it.",
                fig,
            )
        )
    if cf.choices:
        fig = Figure(figsize=(WIDTH, 0.8 + 1.6 * len(cf.choices)), layout="constrained")
        axes = np.atleast_1d(fig.subplots(len(cf.choices), 1, squeeze=False).ravel())
        for ax, c in zip(axes, cf.choices, strict=True):
            names = [o.option for o in c.options]
            y = np.arange(len(names))
            ax.barh(y + 0.2, [o.prior for o in c.options], height=0.4, color=PRIOR, label="prior")
            ax.barh(
                y - 0.2,
                [o.posterior for o in c.options],
                height=0.4,
                color=POSTERIOR,
                label="posterior",
            )
            labels = [f"{o.option} ({', '.join(o.claims) or 'assumption'})" for o in c.options]
            ax.set_yticks(y, labels, fontsize="small")
            ax.set_xlim(0, 1)
            moved = ", ".join(c.moved_by) or "no observation"
            ax.set_title(f"choice {c.choice}  ·  moved by {moved}", fontsize="small", loc="left")
            ax.legend(fontsize="x-small", loc="lower right")
        axes[-1].set_xlabel("probability of the option")
        charts.append(
            Chart(
                "calibration-choices",
                "Calibrated choices: prior against posterior weights",
                "Each choice's options with the claims they cite: the prior weight (grey) and "
                "the posterior weight (blue) given the observations.",
                fig,
            )
        )
    return charts
