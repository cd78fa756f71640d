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
    """A number with thousands separators (or a percentage); ``-`` for ``None``."""
    if x is None:
        return "-"
    return f"{x:.{digits}%}" if pct else f"{x:,.{digits}f}"


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
    each with the claims it hangs on most; the scenario's question first, if it has one."""
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
            cov += f" [{number(low, 1, pct=True)}-{number(high, 1, pct=True)}]"
            fully = d["days_fully_covered_q"]
            days += f" [{number(fully[0])}-{number(fully[-1])}]"
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
            cells.append(f"{number(s['q'][0])}-{number(s['q'][-1])}")
        row(made, *cells)
    out.print(made)
    made = table(
        "Forces (D:D deployed-to-dwell; units deployed; people at start and end; people lost)",
        ("force", "D:D", "deployed", "start", "end", "killed", "wounded", "discharged"),
        left=("force",),
    )
    for f in data["forces"]:
        ratio = f["deployed_to_dwell"]
        row(
            made,
            f["force"],
            "-" if ratio is None else f"1:{1 / ratio:.2f}" if ratio else "0",
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
        columns = ("claim", "grade", "source", "numbers")
        made = table("Claims used", columns, left=columns)
        for c in data["claims"]:
            row(made, c["id"], c["grade"], f"{c['source']} ({c['attribution']})", len(c["used_by"]))
        out.print(made)
    if data["assumptions"]:
        out.print(
            Text.assemble(
                (f"{len(data['assumptions'])} uncited numbers (assumptions):", "yellow"),
                " " + ", ".join(data["assumptions"]),
            )
        )


def comparison(out: Console, data: Mapping[str, Any], deterministic: bool, seed: int) -> None:
    """A comparison (:meth:`forcegen.analysis.Comparison.summary`): one table per variant."""
    levels = data["quantiles"]
    low_key = f"difference_q{levels[0] * 100:g}"
    high_key = f"difference_q{levels[-1] * 100:g}"
    mode = "deterministic" if deterministic else f"{data['runs']} paired runs, seed {seed}"
    for variant in data["variants"]:
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
            digits = 3 if r["figure"].startswith("coverage:") else 0
            row(
                made,
                r["figure"],
                number(r["baseline_mean"], digits),
                number(r["variant_mean"], digits),
                number(r["difference_mean"], digits),
                f"{number(r.get(low_key), digits)} to {number(r.get(high_key), digits)}",
                number(r["share_of_runs_higher"], 0, pct=True),
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
    target = (
        f"{data['demand']!r} fully covered on {data['days']:.0%} of its days in "
        f"{data['probability']:.0%} of {data['runs']} run(s)"
    )
    if data["value"] is None:
        low, high = data["low"], data["high"]
        bracket = "" if low is None or high is None else f" in [{low:g}, {high:g}]"
        out.print(Text(f"no value of {data['field']}{bracket} gets {target}"))
    else:
        word = "largest" if data["direction"] == "most" else "smallest"
        out.print(
            Text(
                f"{word} {data['field']} that gets {target}: {data['value']:g} "
                f"({len(data['evaluations'])} evaluations)"
            )
        )


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
            number(b["limit"], 2),
            number(b["worst"], 2),
            number(b["share_of_runs"], 0, pct=True),
        )
    out.print(made)


def findings(out: Console, data: Mapping[str, Any]) -> None:
    """The findings of a consistency check (:meth:`forcegen.analysis.Findings.summary`), one
    a line."""
    for f in data["findings"]:
        cited = f" [claims: {', '.join(f['claims'])}]" if f["claims"] else " [no claim cited]"
        out.print(Text(f"{f['kind']}: {f['message']}{cited}"))
