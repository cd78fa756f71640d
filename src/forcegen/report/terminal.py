"""The terminal rendering of results: tables drawn from the same plain summaries that
``--format json`` prints and ``--out`` writes (beside :mod:`forcegen.report.page`, the HTML
rendering of a results folder).

User text (scenario names, demand and choice names, claim sources, file paths) is never
read as rich markup or emoji: every cell is a :class:`rich.text.Text`, and
:func:`console` builds consoles with markup, emoji and highlighting off, so ``[/]``,
``[link=...]`` or ``file.yaml:100:8:`` print as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forcegen.report import formats as fmt
from forcegen.scenario.paths import readable


def console(*, stderr: bool = False) -> Console:
    """A console that prints text as written: no markup, no emoji, no highlighting."""
    plain = {"markup": False, "emoji": False, "highlight": False}
    if stderr:
        return Console(stderr=True, soft_wrap=True, **plain)
    made = Console(**plain)
    if not made.is_terminal:  # piped or captured: wide enough that tables are not truncated
        made = Console(width=160, **plain)
    return made


def number(x: float | None, digits: int = 0, pct: bool = False) -> str:
    """A number with thousands separators (or a percentage): :mod:`forcegen.report.formats`."""
    return fmt.percent(x, digits) if pct else fmt.number(x, digits)


def table(title: str, columns: Sequence[str], left: Iterable[str] = ()) -> Table:
    """A table with a plain title; the columns named in ``left`` are left-aligned, the
    others (numbers) right-aligned. The title is one line, even above a narrow table."""
    left = set(left)
    made = Table(title=Text(title, no_wrap=True, overflow="ignore"), title_justify="left")
    for col in columns:
        made.add_column(Text(col), justify="left" if col in left else "right")
    return made


def row(made: Table, *cells: object) -> None:
    """Add a row whose cells are shown as written."""
    made.add_row(*(Text(str(c)) for c in cells))


def bottom_line(out: Console, data: Mapping[str, Any]) -> None:
    """The answers of a run's summary in words (``answers``, added by ``forcegen run``),
    each with the claims it hangs on most (and an observation's verdict, for an answer that
    asks about one); the scenario's question first, if it has one."""
    answers = data.get("answers") or []
    if not answers:
        return
    question = (data.get("scenario") or {}).get("question")
    if question:
        out.print(Text("Question: " + " ".join(str(question).split())))
    default = all(a.get("default") for a in answers)
    title = "Bottom line" + (" (default answers: no 'answers:' in the scenario)" if default else "")
    out.print(Text(title + ":", style="bold"))
    for a in answers:
        out.print(Text("  " + a["sentence"]))
        if a.get("verdict"):
            out.print(Text("    " + fmt.answer_verdict(a)))
        if a.get("hangs_on"):
            names = "; ".join(
                ", ".join(f"{c} ({g})" for c, g in zip(d["claims"], d["grades"], strict=False))
                if d["claims"]
                else f"{d.get('name') or d['input']} (assumption)"
                for d in a["hangs_on"]
            )
            out.print(Text(f"    Hangs most on: {names}"))
        elif a.get("hangs_on_note") and not a.get("deterministic"):
            out.print(Text(f"    Hangs most on: nothing named ({a['hangs_on_note']})"))
    out.print()


def summary(out: Console, data: Mapping[str, Any]) -> None:
    """The summary of a run (:meth:`forcegen.Results.summary`) as tables."""
    bottom_line(out, data)
    run_info = data["run"]
    mode = (
        "deterministic"
        if run_info["deterministic"]
        else f"{run_info['runs']} runs, seed {run_info['seed']}"
    )
    scenario = data["scenario"]
    out.print(
        Text.assemble(
            (str(scenario["name"]), "bold"),
            f" ({mode}, {scenario['horizon_days']} days from {scenario['start']})",
        )
    )
    if run_info["choices"]:
        out.print(Text("choices: " + ", ".join(f"{k}={v}" for k, v in run_info["choices"].items())))
    q = run_info["quantiles"]
    banded = run_info["runs"] > 1
    band_name = f"q{q[0] * 100:g}-q{q[-1] * 100:g}"
    made = table(
        "Demands" + (f" (mean, and {band_name} across runs)" if banded else ""),
        (
            "demand",
            "location",
            "required",
            "mean coverage",
            "days fully covered",
            "P(fully covered), worst day",
        ),
        left=("demand", "location"),
    )
    for d in data["demands"]:
        cov = number(d["coverage_mean"], 1, pct=True)
        days = f"{number(d['days_fully_covered_mean'], 1)} of {d['days_active']}"
        if banded and d["coverage_q"]:
            low, high = d["coverage_q"][0], d["coverage_q"][-1]
            cov += " " + fmt.band(fmt.percent(low), fmt.percent(high))
            fully = d["days_fully_covered_q"]
            days += " " + fmt.band(number(fully[0]), number(fully[-1]))
        row(
            made,
            d["id"],
            d["location"],
            f"{number(d['required'])} {d['measure']}",
            cov,
            days,
            number(d["p_fully_covered_min"], 0, pct=True),
        )
    out.print(made)
    made = table(
        "Mean strength (people)" + (f", and {band_name} across runs" if banded else ""),
        ("force", "location", "mean") + ((band_name,) if banded else ()),
        left=("force", "location"),
    )
    for s in data["strength"]:
        cells = [s["force"], s["location"], number(s["mean"])]
        if banded:
            cells.append(fmt.band(number(s["q"][0]), number(s["q"][-1])))
        row(made, *cells)
    out.print(made)
    mobilising = fmt.mobilising(data["forces"])
    made = table(
        "Forces (D:D: days deployed to days at rest, 1:x; "
        + ("M:D: days mobilised to days at rest; " if mobilising else "")
        + "units deployed; people at start and end; people lost)",
        ("force", "D:D", *(("M:D",) if mobilising else ()), "deployed", "start", "end")
        + ("killed", "wounded", "discharged"),
        left=("force",),
    )
    for f in data["forces"]:
        row(
            made,
            f["force"],
            fmt.dwell(f["deployed_to_dwell"]),
            *((fmt.dwell(f.get("mobilised_to_dwell")),) if mobilising else ()),
            number(f["units_deployed_mean"], 1),
            number(f["people_start"]),
            number(f["people_end_mean"]),
            number(f["losses_mean"]["killed"]),
            number(f["losses_mean"]["wounded"]),
            number(f["losses_mean"]["discharged"]),
        )
    out.print(made)
    if any(
        f["gains_mean"]["formed"]
        or f["gains_mean"]["replaced"]
        or f["gains_mean"]["returned"]
        or f["losses_mean"]["missing"]
        or f["losses_mean"]["deserted"]
        for f in data["forces"]
    ):
        made = table(
            "Manpower (people, mean over runs: flows over the whole run, stocks at the end)",
            (
                "force",
                "formed",
                "replaced",
                "returned",
                "missing",
                "deserted",
                "wounded out",
                "in recovery",
                "pool",
                "unmet need",
            ),
            left=("force",),
        )
        for f in data["forces"]:
            gains, stocks, lost = f["gains_mean"], f["end_stocks_mean"], f["losses_mean"]
            row(
                made,
                f["force"],
                number(gains["formed"]),
                number(gains["replaced"]),
                number(gains["returned"]),
                number(lost["missing"]),
                number(lost["deserted"]),
                number(f["wounded_out_mean"]),
                number(stocks["in_recovery"]),
                number(stocks["replacement_pool"]),
                number(stocks["unmet_need"]),
            )
        out.print(made)
    if data["pipelines"]:
        made = table(
            "Pipelines (people, mean over runs)",
            ("pipeline", "force", "recruits", "graduates", "in training at end"),
            left=("pipeline", "force"),
        )
        for p in data["pipelines"]:
            row(
                made,
                p["id"],
                p["force"],
                number(p["recruits_mean"]),
                number(p["graduates_mean"]),
                number(p["in_training_end_mean"]),
            )
        out.print(made)
    if data["reservoirs"]:
        made = table(
            "Reservoirs (people)",
            ("reservoir", "drawn (mean)", "left at end (mean)", "left at end (min)"),
            left=("reservoir",),
        )
        for v in data["reservoirs"]:
            row(made, v["id"], number(v["drawn_mean"]), number(v["end_mean"]), number(v["end_min"]))
        out.print(made)
    if data["claims"]:
        columns = ("claim", "grade", "reliability", "credibility", "source", "numbers")
        made = table("Claims used", columns, left=columns)
        for c in data["claims"]:
            grade = c["grade"]
            chain = c.get("chain") or c["source"]
            row(
                made,
                c["id"],
                grade,
                c.get("reliability") or grade[:1],
                str(c.get("credibility") or grade[1:2]),
                f"{chain} ({c['attribution']})",
                len(c["used_by"]),
            )
        out.print(made)
    if data["assumptions"]:
        out.print(
            Text.assemble(
                (f"{len(data['assumptions'])} uncited numbers (assumptions):", "yellow"),
                " " + ", ".join(data["assumptions"]),
            )
        )
    if data.get("observations"):
        observations(out, data["observations"])


VERDICT_STYLES = {"consistent": "green", "in tension": "yellow", "inconsistent": "bold red"}


def _figure(x: float | None, share: bool) -> str:
    if x is None:
        return "-"
    return number(x, 1, pct=True) if share else number(x)


def observations(out: Console, rows: Sequence[Mapping[str, Any]]) -> None:
    """Observations against the model (``summary.json``'s ``observations``): per
    observation the claim, the model's median and 5-95% band, the share of runs in which
    the claim holds, the verdict and the claims behind it."""
    made = table(
        "Observations (claimed outcomes against the model's runs)",
        (
            "observation",
            "measure",
            "claimed",
            "model median",
            "model q5-q95",
            "P(holds)",
            "verdict",
            "claims",
        ),
        left=("observation", "measure", "claimed", "verdict", "claims"),
    )
    for o in rows:
        share = bool(o.get("share"))
        cited = (
            ", ".join(
                f"{c} ({g})" for c, g in zip(o["claims"], o.get("grades") or [], strict=False)
            )
            or "uncited"
        )
        made.add_row(
            Text(o["id"]),
            Text(o["measure"]),
            Text(o["claimed"]),
            Text(_figure(o["median"], share)),
            Text(f"{_figure(o['q5'], share)}-{_figure(o['q95'], share)}"),
            Text(number(o["p_holds"], 0, pct=True)),
            Text(o["verdict"], style=VERDICT_STYLES.get(o["verdict"], "")),
            Text(cited),
        )
    out.print(made)
    for o in rows:
        for other in o.get("contradicts") or []:
            if o["id"] < other:
                out.print(Text(f"observations {o['id']!r} and {other!r} cannot both hold"))


MATRIX_MARKS = {"consistent": "C", "in tension": "T", "inconsistent": "I"}


def observation_matrix(out: Console, rows: Sequence[Mapping[str, Any]]) -> None:
    """The claims x observations matrix: for each option of each choice (and the claims
    its numbers cite), whether each observation is consistent with it (C), in tension (T)
    or inconsistent (I), and the share of runs in which it holds."""
    ids = list(dict.fromkeys(k for r in rows for k in r["verdicts"]))
    made = table(
        "Choices against observations (C consistent, T in tension, I inconsistent; share "
        "of runs in which the observation holds)",
        ("choice", "option", "claims", *ids),
        left=("choice", "option", "claims"),
    )
    for r in rows:
        cells = []
        for k in ids:
            word = r["verdicts"].get(k)
            mark = MATRIX_MARKS.get(word or "", "-")
            cells.append(
                Text(
                    f"{mark} {number(r['p_holds'].get(k), 0, pct=True)}",
                    style=VERDICT_STYLES.get(word or "", ""),
                )
            )
        made.add_row(
            Text(r["choice"]), Text(r["option"]), Text(", ".join(r["claims"]) or "-"), *cells
        )
    out.print(made)


def input_value(value: Any, unit: str, span: Sequence[float] | None = None) -> str:
    """One side of an input diff: a number as people write it (with the range of an
    uncertain one), a plain field as written, ``-`` when absent."""
    if value is None:
        return fmt.MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = fmt.quantity(value, unit)
    if span:
        text += f" ({fmt.quantity(span[0], unit)} to {fmt.quantity(span[1], unit)})"
    return text


def input_diff(out: Console, data: Mapping[str, Any], variant: str) -> None:
    """What a variant states differently from the baseline (``inputs`` of a comparison's
    summary), one line per number or field, with the claims each side cites."""
    changes = [c for c in data.get("inputs") or [] if c["variant"] == variant]
    made = table(
        f"{variant}: inputs that differ from {data['baseline']}",
        ("path", "baseline", "variant", "claims"),
        left=("path", "baseline", "variant", "claims"),
    )
    for c in changes:
        before, after = c.get("baseline_cites") or [], c.get("variant_cites") or []
        claims = (
            ", ".join(before)
            if before == after
            else (f"{', '.join(before) or 'none'} → {', '.join(after) or 'none'}")
        )
        row(
            made,
            c["path"],
            input_value(c["baseline_value"], c["unit"], c.get("baseline_range")),
            input_value(c["variant_value"], c["unit"], c.get("variant_range")),
            claims,
        )
    if changes:
        out.print(made)
    elif "inputs" in data:
        out.print(Text(f"{variant}: the same inputs as {data['baseline']}"))


def comparison(out: Console, data: Mapping[str, Any], deterministic: bool, seed: int) -> None:
    """A comparison (:meth:`forcegen.analysis.Comparison.summary`): for each variant, the
    inputs it changes, then one table of the figures."""
    levels = data["quantiles"]
    low_key = f"difference_q{levels[0] * 100:g}"
    high_key = f"difference_q{levels[-1] * 100:g}"
    mode = "deterministic" if deterministic else f"{data['runs']} paired runs, seed {seed}"
    for variant in data["variants"]:
        input_diff(out, data, variant)
        made = table(
            f"{variant} minus {data['baseline']} ({mode})",
            (
                "figure",
                "baseline",
                "variant",
                "difference",
                f"q{levels[0] * 100:g} to q{levels[-1] * 100:g}",
                "runs higher",
            ),
            left=("figure",),
        )
        for r in data["rows"]:
            if r["variant"] != variant or (not r["baseline_mean"] and not r["variant_mean"]):
                continue
            name = r["figure"]
            row(
                made,
                name,
                fmt.figure(name, r["baseline_mean"]),
                fmt.figure(name, r["variant_mean"]),
                fmt.difference(name, r["difference_mean"]),
                fmt.band(
                    fmt.difference(name, r.get(low_key)), fmt.difference(name, r.get(high_key))
                ),
                fmt.percent(r["share_of_runs_higher"], 0),
            )
        out.print(made)


def sensitivity(out: Console, data: Mapping[str, Any]) -> None:
    """A sensitivity analysis (:meth:`forcegen.analysis.Sensitivity.summary`) as a table and
    the sentence saying what the output depends on most."""
    from forcegen.results_folder import SENSITIVITY_INDICES  # pandas, xarray: only here

    columns = SENSITIVITY_INDICES[data["method"]]
    made = table(
        f"Sensitivity of {data['output']} ({data['method']}, {data['runs']} runs)",
        ("input", *columns, "claims", "grades"),
        left=("input", "claims", "grades"),
    )
    for r in data["inputs"]:
        row(made, r["input"], *[number(r.get(c), 3) for c in columns], r["claims"], r["grades"])
    out.print(made)
    out.print(Text(data["description"]))


def requirement(out: Console, data: Mapping[str, Any]) -> None:
    """The answer of a requirements search (:meth:`forcegen.analysis.Requirement.summary`)
    in one sentence."""
    out.print(Text(fmt.requirement(data)))


def rules(out: Console, data: Mapping[str, Any]) -> None:
    """The breaches of the rotation rules (:meth:`forcegen.analysis.RuleCheck.summary`)."""
    made = table(
        "Units that break the rotation rules",
        ("unit", "rule", "limit", "worst", "share of runs"),
        left=("unit", "rule"),
    )
    for b in data["breaches"]:
        row(
            made,
            b["unit"],
            b["rule"],
            fmt.rule_value(b["rule"], b["limit"], b.get("measure")),
            fmt.rule_value(b["rule"], b["worst"], b.get("measure")),
            fmt.percent(b["share_of_runs"], 0),
        )
    out.print(made)


def findings(out: Console, data: Mapping[str, Any]) -> None:
    """The findings of a consistency check (:meth:`forcegen.analysis.Findings.summary`), one
    a line."""
    for f in data["findings"]:
        cited = f" [claims: {', '.join(f['claims'])}]" if f["claims"] else " [no claim cited]"
        out.print(Text(f"{f['kind']}: {f['message']}{cited}"))
    if data.get("observations"):
        observations(out, data["observations"])
    if data.get("matrix"):
        observation_matrix(out, data["matrix"])


def calibration(out: Console, data: Mapping[str, Any], scenario: object | None = None) -> None:
    """A calibration (:meth:`forcegen.analysis.calibrate.Calibration.summary`): the inputs'
    priors and posteriors, the choices' weights, the posterior predictive of every
    observation and demand, and the sentence saying what could not be fitted.

    Inputs are named with list items by their ids where ``scenario`` is given; an input's
    "moved by" names the observations that moved it, or is ``-`` where none alone did."""
    levels = data["levels"]
    lo, mid, hi = levels.index(0.05), levels.index(0.5), levels.index(0.95)

    def fmt(x: float | None, digits: int | None, pct: bool) -> str:
        if digits is None:  # inputs of any scale: four significant digits
            return "-" if x is None else f"{x:,.4g}"
        return number(x, digits, pct)

    def band(q: Sequence[float | None], digits: int | None = None, pct: bool = False) -> str:
        return f"{fmt(q[mid], digits, pct)} [{fmt(q[lo], digits, pct)}–{fmt(q[hi], digits, pct)}]"

    made = table(
        f"Calibrated inputs ({data['particles']} particles, {data['runs']:,} runs simulated, "
        f"acceptance {data['acceptance_rate']:.1%}, stop: {data['stop']})",
        ("input", "prior median [q5–q95]", "posterior median [q5–q95]", "moved by", "claims"),
        left=("input", "moved by", "claims"),
    )
    for r in data["inputs"]:
        row(
            made,
            readable(r["input"], scenario),
            band(r["prior_q"]),
            band(r["posterior_q"]),
            ", ".join(r["moved_by"]) or "-",
            ", ".join(r["claims"]) or "assumption",
        )
    out.print(made)
    if data["choices"]:
        made = table(
            "Choices",
            ("choice", "option", "prior", "posterior", "claims"),
            left=("choice", "option", "claims"),
        )
        for c in data["choices"]:
            for o in c["options"]:
                row(
                    made,
                    c["choice"],
                    o["option"],
                    number(o["prior"], 1, pct=True),
                    number(o["posterior"], 1, pct=True),
                    ", ".join(o["claims"]) or "assumption",
                )
        out.print(made)
    made = table(
        "Observations: posterior predictive",
        ("observation", "claimed", "model median [q5–q95]", "P prior", "P posterior", "verdict"),
        left=("observation", "verdict"),
    )
    for o in data["observations"]:
        claimed = f"{fmt(o['low'], None, False)} to {fmt(o['high'], None, False)}"
        row(
            made,
            o["id"],
            claimed,
            band(o["posterior_q"]),
            number(o["prior_probability"], 0, pct=True),
            number(o["posterior_probability"], 0, pct=True),
            o["verdict"],
        )
    out.print(made)
    if data["demands"]:
        made = table("Demands: coverage", ("demand", "prior", "posterior"), left=("demand",))
        for d in data["demands"]:
            row(
                made,
                d["demand"],
                band(d["prior_coverage_q"], 1, pct=True),
                band(d["posterior_coverage_q"], 1, pct=True),
            )
        out.print(made)
    out.print(Text(data["message"]))


def capacity(out: Console, data: Mapping[str, Any]) -> None:
    """The static capacity table (:meth:`forcegen.analysis.capacity.Capacity.summary`): per
    unit type and period, the units kept deployed, the peak demand and the fill ratio; then
    each policy's deployed share."""
    made = table(
        f"Units the policies can keep deployed, per {data['period']} (before any simulation)",
        ("unit type", "period", "units", "capacity", "whole", "peak demand", "fill"),
        left=("unit type", "period"),
    )
    for r in data["rows"]:
        row(
            made,
            "every type" if r["unit_type"] == "*" else r["unit_type"],
            r["period"],
            number(r["units"]),
            number(r["capacity"], 2),
            number(r["capacity_units"]),
            "-" if r["peak_demand"] is None else number(r["peak_demand"], 2),
            "-" if r["fill"] is None else fmt.percent(r["fill"], 0),
        )
    out.print(made)
    shares = table(
        "Deployed share of each policy's steady cycle",
        ("policy", "from", "deployed days", "cycle days", "share", "cycle"),
        left=("policy", "from", "cycle"),
    )
    for p in data["policies"]:
        row(
            shares,
            p["policy"],
            p["start"] or "first",
            number(p["deployed_days"]),
            number(p["cycle_days"]),
            fmt.percent(p["share"], 1),
            p["kind"],
        )
    out.print(shares)
    if data.get("unattributed"):
        out.print(
            Text(
                "open to several unit types, counted only under every type: "
                + ", ".join(data["unattributed"])
            )
        )
