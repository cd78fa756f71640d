"""The ``forcegen`` command: a thin mirror of the Python API.

Data goes to stdout, messages and progress to stderr. Exit status: 0 success, 2 bad input
(a scenario with problems, a bad flag, an unusable path), 1 an unexpected internal error
(reported in one line; set ``FORCEGEN_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from forcegen import __version__
from forcegen.analysis.check import check
from forcegen.analysis.compare import compare
from forcegen.analysis.require import require
from forcegen.analysis.rules import rotation_rules
from forcegen.analysis.sensitivity import describe, sensitivity
from forcegen.api import check_choices, simulate
from forcegen.errors import ScenarioError, UsageError
from forcegen.export import (
    COMPARE_NAME,
    SENSITIVITY_NAME,
    prepare_dir,
    write_json,
    write_results,
)
from forcegen.report import FIGURES_DIR, write_report
from forcegen.scenario.claims import sourcing
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import resolve

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2

app = typer.Typer(
    name="forcegen",
    help="Simulate force generation and unit rotation from sourced, uncertain claims.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
if not out.is_terminal:  # piped or captured: wide enough that tables are not truncated
    out = Console(width=160)
err = Console(stderr=True, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"


class Keep(StrEnum):
    units = "units"


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _report(error: ScenarioError) -> None:
    for problem in error.problems:
        err.print(str(problem), highlight=False, markup=False)
    n = len(error.problems)
    err.print(f"{n} problem{'s' if n != 1 else ''} found", style="bold red")


def _load(path: Path) -> Scenario:
    try:
        return load(path)
    except ScenarioError as exc:
        _report(exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _version(value: bool) -> None:
    if value:
        out.print(f"forcegen {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """forcegen: every number carries its source; runs say how sure and what hangs on which."""


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
) -> None:
    """Check scenario files and report every problem with file:line:column and field."""
    bad = 0
    for path in scenarios:
        try:
            scenario = load(path)
        except ScenarioError as exc:
            _report(exc)
            bad += 1
            continue
        src = sourcing(scenario)
        out.print(
            f"{path}: valid: {sum(1 for _ in scenario.units)} unit groups, "
            f"{len(scenario.demands)} demands, {len(scenario.claims)} claims, "
            f"{len(src.assumptions)} uncited numbers (assumptions)",
            highlight=False,
        )
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


def _parse_quantiles(text: str) -> list[float]:
    try:
        levels = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or not all(0 <= q <= 1 for q in levels):
        _fail(
            f"--quantiles {text!r}: expected numbers from 0 to 1 separated by commas, "
            "such as 0.05,0.5,0.95"
        )
    return sorted(levels)


def _parse_choices(values: list[str]) -> dict[str, str]:
    choices = {}
    for item in values:
        name, sep, option = item.partition("=")
        if not sep or not name or not option:
            _fail(f"--choose {item!r}: expected NAME=OPTION, such as ru-in-belarus=hur")
        choices[name] = option
    return choices


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=1, max=1_000_000, help="Number of runs.")
    ] = 100,
    seed: Annotated[int, typer.Option(min=0, help="Seed of all random streams.")] = 0,
    deterministic: Annotated[
        bool,
        typer.Option("--deterministic", help="Expected values instead of random draws (one run)."),
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write results.nc, summary.json, runs.parquet / runs.csv and a copy "
            "of the scenario into (then: forcegen report DIR).",
        ),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Summary on stdout as a table or as JSON.")
    ] = Format.table,
    choose: Annotated[
        list[str] | None,
        typer.Option(
            "--choose",
            "-c",
            help="Option for a choice between alternatives: NAME=OPTION. Repeatable.",
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=256,
            help="Threads sharing the runs (results do not depend on it).",
        ),
    ] = 1,
    keep: Annotated[
        list[Keep] | None,
        typer.Option(
            "--keep", help="Keep more detail in the results: 'units' keeps unit-level traces."
        ),
    ] = None,
    lhs: Annotated[
        bool, typer.Option("--lhs", help="Latin hypercube sampling of uncertain values.")
    ] = False,
    quantiles: Annotated[
        str,
        typer.Option(
            "--quantiles", "-q", help="Quantiles across runs for the bands, comma-separated."
        ),
    ] = "0.05,0.5,0.95",
) -> None:
    """Run a scenario and print the summary; write full results with --out."""
    loaded = _load(scenario)
    choices = _parse_choices(choose or [])
    levels = _parse_quantiles(quantiles)
    try:
        check_choices(loaded, choices)  # before --out creates a folder for nothing
    except UsageError as exc:
        _fail(str(exc))
    if out_dir is not None:
        try:
            prepare_dir(out_dir)
        except UsageError as exc:
            _fail(str(exc))
    n_runs = 1 if deterministic else runs
    total = n_runs * int(resolve(loaded.horizon).value)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task(f"simulating {n_runs} run(s)", total=total)
            results = simulate(
                loaded,
                runs=n_runs,
                seed=seed,
                deterministic=deterministic,
                choices=choices,
                keep_units=bool(keep),
                lhs=lhs,
                n_jobs=jobs,
                progress=lambda k: progress.advance(task, k),
            )
    except UsageError as exc:
        _fail(str(exc))
    summary = results.summary(levels)
    if out_dir is not None:
        try:
            written = write_results(
                results.to_xarray(),
                summary,
                out_dir,
                results.per_run(),
                scenario_text=scenario.read_text(encoding="utf-8"),
            )
        except (UsageError, OSError) as exc:
            _fail(f"could not write results: {exc}")
        err.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_tables(summary)


@app.command("check")
def check_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    choose: Annotated[
        list[str] | None, typer.Option("--choose", "-c", help="NAME=OPTION. Repeatable.")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Findings as a list or as JSON.")
    ] = Format.table,
) -> None:
    """Look for claims and numbers that cannot all hold together, before any run."""
    loaded = _load(scenario)
    choices = _parse_choices(choose or [])
    try:
        check_choices(loaded, choices)
    except UsageError as exc:
        _fail(str(exc))
    findings = check(loaded, choices)
    if fmt is Format.json:
        rows = [
            {
                "kind": f.kind,
                "message": f.message,
                "fields": list(f.fields),
                "claims": list(f.claims),
            }
            for f in findings
        ]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        for finding in findings:
            out.print(str(finding), highlight=False, markup=False)
    err.print(
        f"{scenario}: {len(findings)} finding{'s' if len(findings) != 1 else ''}", highlight=False
    )


@app.command("require")
def require_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    vary: Annotated[
        str,
        typer.Option("--vary", help="Field path of the number to search, such as units[0].count."),
    ],
    demand: Annotated[str, typer.Option("--demand", help="Demand whose target must hold.")],
    low: Annotated[float, typer.Option("--low", help="Lower end of the search.")],
    high: Annotated[float, typer.Option("--high", help="Upper end of the search.")],
    days: Annotated[
        float,
        typer.Option("--days", min=0, max=1, help="Share of the demand's days to cover fully."),
    ] = 1.0,
    probability: Annotated[
        float,
        typer.Option("--probability", min=0, max=1, help="Share of runs in which that must hold."),
    ] = 0.9,
    most: Annotated[
        bool,
        typer.Option(
            "--most",
            help="Find the largest value that still meets the target (a casualty "
            "rate, say) instead of the smallest.",
        ),
    ] = False,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, max=100_000)] = 50,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    deterministic: Annotated[bool, typer.Option("--deterministic")] = False,
    choose: Annotated[list[str] | None, typer.Option("--choose", "-c")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=256)] = 1,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Find the least (or most) of one number such that a demand's target holds."""
    loaded = _load(scenario)
    try:
        found = require(
            loaded,
            field_path=vary,
            demand=demand,
            days=days,
            probability=probability,
            low=low,
            high=high,
            direction="most" if most else "least",
            runs=runs,
            seed=seed,
            deterministic=deterministic,
            choices=_parse_choices(choose or []),
            n_jobs=jobs,
        )
    except UsageError as exc:
        _fail(str(exc))
    if fmt is Format.json:
        sys.stdout.write(json.dumps(found.summary(), indent=2) + "\n")
        return
    target = (
        f"{demand!r} fully covered on {days:.0%} of its days in {probability:.0%} of "
        f"{1 if deterministic else runs} run(s)"
    )
    if found.value is None:
        out.print(f"no value of {vary} in [{low:g}, {high:g}] gets {target}", highlight=False)
    else:
        word = "largest" if most else "smallest"
        out.print(
            f"{word} {vary} that gets {target}: {found.value:g} "
            f"({len(found.evaluations)} evaluations)",
            highlight=False,
        )


@app.command("rules")
def rules_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (its 'rules' are checked).")],
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, max=10_000)] = 20,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    deterministic: Annotated[bool, typer.Option("--deterministic")] = False,
    choose: Annotated[list[str] | None, typer.Option("--choose", "-c")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Check each unit's rotation (deployed-to-dwell, longest deployment, rolling windows)."""
    loaded = _load(scenario)
    try:
        results = simulate(
            loaded,
            runs=runs,
            seed=seed,
            deterministic=deterministic,
            choices=_parse_choices(choose or []),
            keep_units=True,
        )
        found = rotation_rules(results, loaded.rules)
    except UsageError as exc:
        _fail(str(exc))
    if fmt is Format.json:
        sys.stdout.write(
            json.dumps(
                {
                    "units": found.units.reset_index()
                    .replace(np.inf, None)
                    .to_dict(orient="records"),
                    "breaches": found.breaches.to_dict(orient="records"),
                },
                indent=2,
            )
            + "\n"
        )
        return
    table = Table(title="Units that break the rotation rules", title_justify="left")
    for col in ("unit", "rule", "limit", "worst", "share of runs"):
        table.add_column(col, justify="left" if col in ("unit", "rule") else "right")
    for row in found.breaches.itertuples():
        table.add_row(
            row.unit,
            row.rule,
            _fmt(row.limit, 2),
            _fmt(row.worst, 2),
            _fmt(row.share_of_runs, 0, pct=True),
        )
    out.print(table)
    err.print(
        f"{scenario}: {len(found.breaches)} breach(es) over {len(found.units)} units",
        highlight=False,
    )


@app.command("sensitivity")
def sensitivity_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with uncertain values.")],
    output: Annotated[
        str,
        typer.Option(
            "--output", help="Per-run figure, such as coverage:front-line or lost:RU:killed."
        ),
    ],
    method: Annotated[
        str, typer.Option("--method", help="sobol (first and total order) or morris (screening).")
    ] = "sobol",
    n: Annotated[int, typer.Option("--n", min=4, max=100_000, help="Base sample size.")] = 64,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder to write sensitivity.json into (for the report)."),
    ] = None,
) -> None:
    """Which uncertain values, and so which claims, an output depends on (SALib)."""
    loaded = _load(scenario)
    try:
        if out_dir is not None:
            prepare_dir(out_dir)
        found = sensitivity(loaded, output=output, method=method, n=n, seed=seed)
        if out_dir is not None:
            _write(found.summary(), out_dir / SENSITIVITY_NAME)
    except UsageError as exc:
        _fail(str(exc))
    if fmt is Format.json:
        rows = found.table.reset_index().to_dict(orient="records")
        sys.stdout.write(
            json.dumps(
                {"output": output, "method": method, "runs": found.runs, "inputs": rows}, indent=2
            )
            + "\n"
        )
        return
    table = Table(
        title=f"Sensitivity of {output} ({method}, {found.runs} runs)", title_justify="left"
    )
    columns = [c for c in found.table.columns if c not in ("claims", "grades")]
    for col in ("input", *columns, "claims", "grades"):
        table.add_column(col, justify="right" if col in columns else "left")
    for name, row in found.table.iterrows():
        table.add_row(str(name), *[_fmt(row[c], 3) for c in columns], row["claims"], row["grades"])
    out.print(table)
    out.print(describe(found), highlight=False)


@app.command("compare")
def compare_cmd(
    scenarios: Annotated[
        list[Path], typer.Argument(help="The baseline scenario, then one or more variants.")
    ],
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=1, max=1_000_000, help="Runs of each scenario.")
    ] = 100,
    seed: Annotated[int, typer.Option(min=0, help="Seed shared by every scenario.")] = 0,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Expected values instead of draws.")
    ] = False,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Table or JSON on stdout.")
    ] = Format.table,
    choose: Annotated[
        list[str] | None,
        typer.Option("--choose", "-c", help="NAME=OPTION, applied to every scenario offering it."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=256, help="Threads.")] = 1,
    quantiles: Annotated[
        str, typer.Option("--quantiles", "-q", help="Band of each difference, comma-separated.")
    ] = "0.05,0.95",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder to write compare.json into (for the report)."),
    ] = None,
) -> None:
    """Compare a baseline with variants, run for run with common random numbers."""
    if len(scenarios) < 2:
        _fail("compare needs a baseline and at least one variant")
    loaded = [_load(path) for path in scenarios]
    levels = _parse_quantiles(quantiles)
    try:
        if out_dir is not None:
            prepare_dir(out_dir)
        result = compare(
            loaded,
            runs=runs,
            seed=seed,
            deterministic=deterministic,
            choices=_parse_choices(choose or []),
            n_jobs=jobs,
            quantiles=levels,
        )
    except UsageError as exc:
        _fail(str(exc))
    if out_dir is not None:
        _write(result.summary(), out_dir / COMPARE_NAME)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n")
        return
    mode = "deterministic" if deterministic else f"{runs} paired runs, seed {seed}"
    for variant in result.names[1:]:
        table = Table(title=f"{variant} minus {result.names[0]} ({mode})", title_justify="left")
        for col in (
            "figure",
            "baseline",
            "variant",
            "difference",
            f"q{levels[0] * 100:g} to q{levels[-1] * 100:g}",
            "runs higher",
        ):
            table.add_column(col, justify="left" if col == "figure" else "right")
        rows = result.table.loc[variant]
        for figure, row in rows.iterrows():
            if row["baseline_mean"] == 0 and row["variant_mean"] == 0:
                continue
            digits = 3 if figure.startswith("coverage:") else 0
            low = row[f"difference_q{levels[0] * 100:g}"]
            high = row[f"difference_q{levels[-1] * 100:g}"]
            table.add_row(
                figure,
                _fmt(row["baseline_mean"], digits),
                _fmt(row["variant_mean"], digits),
                _fmt(row["difference_mean"], digits),
                f"{_fmt(low, digits)} to {_fmt(high, digits)}",
                _fmt(row["share_of_runs_higher"], 0, pct=True),
            )
        out.print(table)


@app.command("report")
def report_cmd(
    results_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder written by run --out (and/or compare --out, sensitivity --out)."
        ),
    ],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="HTML file to write (default: report.html in RESULTS_DIR)."
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report, with its figures as PNG files beside it."""
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task("reading results")
            path = write_report(
                results_dir,
                out_file,
                progress=lambda title: progress.update(task, description=f"drawing {title}"),
            )
    except ScenarioError as exc:
        _report(exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except UsageError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"could not write the report: {exc}")
    err.print(f"wrote {path} and its figures in {path.parent / FIGURES_DIR}", highlight=False)
    sys.stdout.write(f"{path}\n")


def _write(summary: dict[str, Any], path: Path) -> None:
    try:
        write_json(summary, path)
    except OSError as exc:
        _fail(f"could not write {path}: {exc}")
    err.print(f"wrote {path}", highlight=False)


def _fmt(x: float | None, digits: int = 0, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}%}" if pct else f"{x:,.{digits}f}"


def _print_tables(summary: dict[str, Any]) -> None:
    run_info = summary["run"]
    mode = (
        "deterministic"
        if run_info["deterministic"]
        else f"{run_info['runs']} runs, seed {run_info['seed']}"
    )
    out.print(
        f"[bold]{summary['scenario']['name']}[/] ({mode}, "
        f"{summary['scenario']['horizon_days']} days from {summary['scenario']['start']})"
    )
    if run_info["choices"]:
        out.print(
            "choices: " + ", ".join(f"{k}={v}" for k, v in run_info["choices"].items()),
            highlight=False,
        )
    q = run_info["quantiles"]
    banded = run_info["runs"] > 1
    band_name = f"q{q[0] * 100:g}-q{q[-1] * 100:g}"
    table = Table(
        title="Demands" + (f" (mean, and {band_name} across runs)" if banded else ""),
        title_justify="left",
    )
    for col in (
        "demand",
        "location",
        "required",
        "mean coverage",
        "days fully covered",
        "P(fully covered), worst day",
    ):
        table.add_column(col, justify="left" if col in ("demand", "location") else "right")
    for d in summary["demands"]:
        cov = _fmt(d["coverage_mean"], 1, pct=True)
        days = f"{_fmt(d['days_fully_covered_mean'], 1)} of {d['days_active']}"
        if banded and d["coverage_q"]:
            low, high = d["coverage_q"][0], d["coverage_q"][-1]
            cov += f" [{_fmt(low, 1, pct=True)}-{_fmt(high, 1, pct=True)}]"
            days += f" [{_fmt(d['days_fully_covered_q'][0])}-{_fmt(d['days_fully_covered_q'][-1])}]"
        table.add_row(
            d["id"],
            d["location"],
            f"{_fmt(d['required'])} {d['measure']}",
            cov,
            days,
            _fmt(d["p_fully_covered_min"], 0, pct=True),
        )
    out.print(table)
    table = Table(
        title="Mean strength (people)" + (f", and {band_name} across runs" if banded else ""),
        title_justify="left",
    )
    for col in ("force", "location", "mean") + ((band_name,) if banded else ()):
        table.add_column(col, justify="left" if col in ("force", "location") else "right")
    for row in summary["strength"]:
        cells = [row["force"], row["location"], _fmt(row["mean"])]
        if banded:
            cells.append(f"{_fmt(row['q'][0])}-{_fmt(row['q'][-1])}")
        table.add_row(*cells)
    out.print(table)
    table = Table(
        title="Forces (D:D deployed-to-dwell; units deployed; people at start and "
        "end; people lost)",
        title_justify="left",
    )
    for col in ("force", "D:D", "deployed", "start", "end", "killed", "wounded", "discharged"):
        table.add_column(col, justify="left" if col == "force" else "right")
    for f in summary["forces"]:
        ratio = f["deployed_to_dwell"]
        table.add_row(
            f["force"],
            "-" if ratio is None else f"1:{1 / ratio:.2f}" if ratio else "0",
            _fmt(f["units_deployed_mean"], 1),
            _fmt(f["people_start"]),
            _fmt(f["people_end_mean"]),
            _fmt(f["losses_mean"]["killed"]),
            _fmt(f["losses_mean"]["wounded"]),
            _fmt(f["losses_mean"]["discharged"]),
        )
    out.print(table)
    if any(
        f["gains_mean"]["formed"]
        or f["gains_mean"]["replaced"]
        or f["gains_mean"]["returned"]
        or f["losses_mean"]["missing"]
        or f["losses_mean"]["deserted"]
        for f in summary["forces"]
    ):
        table = Table(
            title="Manpower (people, mean over runs: flows over the whole run, stocks at the end)",
            title_justify="left",
        )
        for col in (
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
        ):
            table.add_column(col, justify="left" if col == "force" else "right")
        for f in summary["forces"]:
            gains, stocks, lost = f["gains_mean"], f["end_stocks_mean"], f["losses_mean"]
            table.add_row(
                f["force"],
                _fmt(gains["formed"]),
                _fmt(gains["replaced"]),
                _fmt(gains["returned"]),
                _fmt(lost["missing"]),
                _fmt(lost["deserted"]),
                _fmt(f["wounded_out_mean"]),
                _fmt(stocks["in_recovery"]),
                _fmt(stocks["replacement_pool"]),
                _fmt(stocks["unmet_need"]),
            )
        out.print(table)
    if summary["pipelines"]:
        table = Table(title="Pipelines (people, mean over runs)", title_justify="left")
        for col in ("pipeline", "force", "recruits", "graduates", "in training at end"):
            table.add_column(col, justify="left" if col in ("pipeline", "force") else "right")
        for q in summary["pipelines"]:
            table.add_row(
                q["id"],
                q["force"],
                _fmt(q["recruits_mean"]),
                _fmt(q["graduates_mean"]),
                _fmt(q["in_training_end_mean"]),
            )
        out.print(table)
    if summary["reservoirs"]:
        table = Table(title="Reservoirs (people)", title_justify="left")
        for col in ("reservoir", "drawn (mean)", "left at end (mean)", "left at end (min)"):
            table.add_column(col, justify="left" if col == "reservoir" else "right")
        for v in summary["reservoirs"]:
            table.add_row(v["id"], _fmt(v["drawn_mean"]), _fmt(v["end_mean"]), _fmt(v["end_min"]))
        out.print(table)
    claims = summary["claims"]
    if claims:
        table = Table(title="Claims used", title_justify="left")
        for col in ("claim", "grade", "source", "numbers"):
            table.add_column(col)
        for c in claims:
            table.add_row(
                c["id"], c["grade"], f"{c['source']} ({c['attribution']})", str(len(c["used_by"]))
            )
        out.print(table)
    if summary["assumptions"]:
        out.print(
            f"[yellow]{len(summary['assumptions'])} uncited numbers (assumptions):[/] "
            + ", ".join(summary["assumptions"]),
            highlight=False,
        )


def main() -> None:
    """Entry point: never lets a traceback reach the user unless FORCEGEN_DEBUG is set."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # pragma: no cover - last line of defence
        if os.environ.get("FORCEGEN_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. "
            "Set FORCEGEN_DEBUG=1 for the traceback and please report it.",
            highlight=False,
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
