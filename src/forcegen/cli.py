"""The ``forcegen`` command: a thin face of the Python API.

Each command loads its inputs, calls one function of the API or of :mod:`forcegen.analysis`,
and hands the result's ``summary()`` to JSON on stdout (``--format json``), to a file of the
results folder (``--out``, :mod:`forcegen.results_folder`) or to the terminal tables
(:mod:`forcegen.report.terminal`). Options shared by several commands are declared once
below, with one limit and one help text each.

Data goes to stdout, messages and progress to stderr. Exit status: 0 success, 2 bad input
(a scenario with problems, a bad flag, an unusable path), 1 an unexpected internal error
(reported in one line; set ``FORCEGEN_DEBUG=1`` for the traceback). Errors are turned into
messages and exit codes in one place, :func:`handled`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.text import Text

from forcegen import __version__
from forcegen.errors import ScenarioError, UsageError
from forcegen.limits import MAX_RUNS
from forcegen.report import terminal
from forcegen.scenario.claims import sourcing
from forcegen.scenario.loader import load
from forcegen.scenario.model import Scenario
from forcegen.scenario.overrides import file_schema, flattened_text

# The engine (numba), the results (xarray, pandas), the analyses and the report's page
# (matplotlib) are imported inside the commands that use them, so that --version, --help,
# validate and schema start in a fraction of a second.

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2

EXTRAS = {"matplotlib": "report", "jinja2": "report", "plotly": "report", "SALib": "sensitivity"}
"""The optional dependencies, by the extra of ``pyproject.toml`` that installs each."""

app = typer.Typer(
    name="forcegen",
    help="Simulate force generation and unit rotation from sourced, uncertain claims.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = terminal.console()
err = terminal.console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


class Keep(StrEnum):
    units = "units"


# --- options shared by the commands, each declared once -----------------------------------

SCENARIO = Annotated[Path, typer.Argument(help="Scenario file.")]
RUNS = Annotated[
    int,
    typer.Option(
        "--runs",
        "-n",
        min=1,
        max=MAX_RUNS,
        help="Number of runs (of each scenario; at each value a search tries).",
    ),
]
SEED = Annotated[
    int,
    typer.Option(
        "--seed",
        min=0,
        help="Seed of all random streams; shared by every scenario and every value tried, "
        "so that their runs are paired.",
    ),
]
DETERMINISTIC = Annotated[
    bool,
    typer.Option("--deterministic", help="Expected values instead of random draws (one run)."),
]
CHOOSE = Annotated[
    list[str] | None,
    typer.Option(
        "--choose",
        "-c",
        help="Option for a choice between alternatives: NAME=OPTION. Repeatable; applied to "
        "every scenario that offers the choice.",
    ),
]
JOBS = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        max=256,
        help="Threads sharing the runs (results do not depend on it).",
    ),
]
FORMAT = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        help="The result on stdout as tables (or lines), or as JSON: the layout --out writes "
        "(docs/summary.md).",
    ),
]
OUT = Annotated[
    str | None,
    typer.Option(
        "--out",
        "-o",
        help="Results folder to write into (then: forcegen report DIR). run writes "
        "results.nc, summary.json, runs.parquet, runs.csv and a copy of the scenario; "
        "compare, sensitivity, require and rules write compare.json, sensitivity.json, "
        "require.json and rules.json. The folder is written as a whole: files of other "
        "analyses stay, the files of this one (and any report) are replaced together.",
    ),
]
SET = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one field of the scenario: PATH=VALUE, the value written as in the "
        "file (units\\[ru-bn].count=12, 'locations\\[front].attrition.killed=2%/mo'). "
        "Repeatable; validated with the rest; a value set cites no claim unless written "
        "with them ('{value: 12, cites: [C3]}').",
    ),
]
QUANTILES = Annotated[
    str,
    typer.Option(
        "--quantiles",
        "-q",
        help="Quantiles across runs for the bands, comma-separated numbers from 0 to 1.",
    ),
]


# --- errors, handled in one place ---------------------------------------------------------


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def _report(error: ScenarioError) -> None:
    for problem in error.problems:
        err.print(Text(str(problem)))
    n = len(error.problems)
    err.print(Text(f"{n} problem{'s' if n != 1 else ''} found", style="bold red"))


def _internal(exc: BaseException) -> None:
    err.print(
        Text.assemble(
            ("internal error:", "bold red"),
            f" {type(exc).__name__}: {exc}. "
            "Set FORCEGEN_DEBUG=1 for the traceback and please report it.",
        )
    )


@contextmanager
def handled() -> Iterator[None]:
    """Turn every error into a message on stderr and an exit status.

    Bad input (:class:`UsageError`, :class:`ScenarioError` with its located problems, a
    file that cannot be written) exits 2; anything else is an internal error, reported in
    one line with exit 1, unless ``FORCEGEN_DEBUG=1`` asks for the traceback.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
        raise
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in EXTRAS:
            _unexpected(exc)
        extra = EXTRAS[package]
        _fail(
            f"this command needs {package}, from the '{extra}' extra: "
            f"pip install 'forcegen[{extra}]' (in a checkout: pip install -e '.[{extra}]')",
            EXIT_INTERNAL,
        )
    except ScenarioError as exc:
        _report(exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except UsageError as exc:
        _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"could not write {where}{exc.strerror or exc}")
    except Exception as exc:
        _unexpected(exc)


def _unexpected(exc: Exception) -> NoReturn:
    if os.environ.get("FORCEGEN_DEBUG"):
        raise exc
    _internal(exc)
    raise typer.Exit(EXIT_INTERNAL) from None


F = TypeVar("F", bound=Callable[..., None])


def command(name: str | None = None, group: typer.Typer | None = None) -> Callable[[F], F]:
    """Register a command of the app (or of a ``group`` of commands such as ``forcegen
    claims``), its errors handled by :func:`handled`."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            with handled():
                fn(*args, **kwargs)

        (group or app).command(name)(wrapper)
        return fn

    return register


# --- parsing and output -------------------------------------------------------------------


def _quantiles(text: str) -> list[float]:
    try:
        levels = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or not all(0 <= q <= 1 for q in levels):
        raise UsageError(
            f"--quantiles {text!r}: expected numbers from 0 to 1 separated by commas, "
            "such as 0.05,0.5,0.95"
        )
    return sorted(levels)


def _choices(values: list[str] | None) -> dict[str, str]:
    choices = {}
    for item in values or []:
        name, sep, option = item.partition("=")
        if not sep or not name or not option:
            raise UsageError(f"--choose {item!r}: expected NAME=OPTION, such as ru-in-belarus=hur")
        choices[name] = option
    return choices


def _load(path: Path, sets: list[str] | None) -> Scenario:
    """Load a scenario (and the bases it extends) with the ``--set`` overrides applied; the
    overrides are listed on stderr, as assumptions of the user."""
    scenario = load(path, overrides=sets)
    for item in sets or []:
        err.print(Text(f"{path}: --set {item}"))
    return scenario


def _emit(
    data: Mapping[str, Any],
    fmt: Format,
    out_dir: str | None,
    table: Callable[[Mapping[str, Any]], None],
) -> None:
    """Write a summary into the results folder (with --out), then show it on stdout."""
    if out_dir is not None:
        from forcegen.results_folder import write_summary

        err.print(Text(f"wrote {write_summary(data, out_dir)}"))
    if fmt is Format.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        table(data)


def _version(value: bool) -> None:
    if value:
        out.print(Text(f"forcegen {__version__}"))
        raise typer.Exit()


# --- progress ------------------------------------------------------------------------------

COMPILING = (
    "forcegen: compiling the simulation engine (first run after install, or of a scenario "
    "with steps not run before; about half a minute) ..."
)
"""Said once on stderr when numba compiles the engine (never when its cache is warm)."""

Report = Callable[[int, int | None], None]


@contextmanager
def _working(label: str, unit: str) -> Iterator[Report]:
    """Progress of a command's long work on stderr (:mod:`forcegen.progress`), and one line
    if the engine has to be compiled first."""
    from forcegen.engine import compiling
    from forcegen.progress import reporting

    said = compiling(lambda: err.print(Text(COMPILING)))
    with reporting(label, unit, err) as progress, said:
        yield progress


def _in_runs(progress: Report, runs: int) -> Callable[[int, int], None]:
    """:func:`forcegen.simulate`'s progress (run-days) as runs done of ``runs``."""
    return lambda done, total: progress(done * runs // max(total, 1), runs)


# --- the commands -------------------------------------------------------------------------


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


@command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
    sets: SET = None,
) -> None:
    """Check scenario files and report every problem with file:line:column and field."""
    bad = 0
    for path in scenarios:
        try:
            scenario = load(path, overrides=sets)
        except ScenarioError as exc:
            _report(exc)
            bad += 1
            continue
        src = sourcing(scenario)
        out.print(
            Text(
                f"{path}: valid: {sum(1 for _ in scenario.units)} unit groups, "
                f"{len(scenario.demands)} demands, {len(scenario.claims)} claims, "
                f"{len(src.assumptions)} uncited numbers (assumptions)"
            )
        )
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@command()
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    sys.stdout.write(json.dumps(file_schema(Scenario.model_json_schema()), indent=2) + "\n")


@command()
def run(
    scenario: SCENARIO,
    runs: RUNS = 100,
    seed: SEED = 0,
    deterministic: DETERMINISTIC = False,
    out_dir: OUT = None,
    fmt: FORMAT = Format.table,
    choose: CHOOSE = None,
    jobs: JOBS = 1,
    keep: Annotated[
        list[Keep] | None,
        typer.Option(
            "--keep", help="Keep more detail in the results: 'units' keeps unit-level traces."
        ),
    ] = None,
    lhs: Annotated[
        bool, typer.Option("--lhs", help="Latin hypercube sampling of uncertain values.")
    ] = False,
    quantiles: QUANTILES = "0.05,0.5,0.95",
    sets: SET = None,
) -> None:
    """Run a scenario and print the summary; write full results with --out."""
    from forcegen.analysis.answers import with_answers
    from forcegen.analysis.observations import assess, needs_unit_traces
    from forcegen.api import check_choices, simulate
    from forcegen.results_folder import check_out, write_results

    loaded = _load(scenario, sets)
    choices = _choices(choose)
    levels = _quantiles(quantiles)
    check_choices(loaded, choices)  # before --out creates a folder for nothing
    if out_dir is not None:
        check_out(out_dir)
    n_runs = 1 if deterministic else runs
    with _working("simulating", "runs") as progress:
        results = simulate(
            loaded,
            runs=n_runs,
            seed=seed,
            deterministic=deterministic,
            choices=choices,
            keep_units=bool(keep) or needs_unit_traces(loaded),
            lhs=lhs,
            n_jobs=jobs,
            progress=_in_runs(progress, n_runs),
        )
    summary = with_answers(results.summary(levels), results, loaded)
    if loaded.observations:
        summary["observations"] = [a.summary() for a in assess(results, loaded)]
    if out_dir is not None:
        written = write_results(
            results.to_xarray(),
            summary,
            out_dir,
            results.per_run(),
            scenario_text=flattened_text(scenario, sets),
        )
        err.print(Text("wrote " + ", ".join(str(p) for p in written)))
    _emit(summary, fmt, None, lambda data: terminal.summary(out, data))


@command("check")
def check_cmd(
    scenario: SCENARIO,
    choose: CHOOSE = None,
    fmt: FORMAT = Format.table,
    runs: RUNS = 60,
    seed: SEED = 0,
    sets: SET = None,
) -> None:
    """Look for claims and numbers that cannot all hold together; with observations, run
    the scenario (--runs runs of each choice's options) and hold them against the model."""
    from forcegen.analysis.check import (
        Findings,
        check,
        check_observations,
        observation_findings,
    )
    from forcegen.api import check_choices

    loaded = _load(scenario, sets)
    choices = check_choices(loaded, _choices(choose))
    found = Findings(loaded.name, choices, check(loaded, choices))
    if loaded.observations:
        with _working(f"holding observations against {runs} runs", "simulations") as progress:
            observed = check_observations(
                loaded, choices=choices, runs=runs, seed=seed, progress=progress
            )
        found = Findings(
            loaded.name, choices, found.findings + observation_findings(observed), observed
        )
    _emit(found.summary(), fmt, None, lambda data: terminal.findings(out, data))
    n = len(found.findings)
    err.print(Text(f"{scenario}: {n} finding{'s' if n != 1 else ''}"))


@command("require")
def require_cmd(
    scenario: SCENARIO,
    vary: Annotated[
        str,
        typer.Option(
            "--vary",
            help="Path of the number to search, by id or by index, such as "
            "units[ru-bn].count or locations[front].attrition.killed.",
        ),
    ],
    demand: Annotated[str, typer.Option("--demand", help="Demand whose target must hold.")],
    low: Annotated[
        str | None,
        typer.Option(
            "--low",
            help="Lower end of the search, as the number is written (20d, 1%/mo, 9,000); "
            "a plain number is in canonical units.",
        ),
    ] = None,
    high: Annotated[
        str | None,
        typer.Option("--high", help="Upper end of the search, written as --low is."),
    ] = None,
    span: Annotated[
        str | None,
        typer.Option("--range", help="Both ends at once, LOW..HIGH (20d..45d, 1%/mo..4%/mo)."),
    ] = None,
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
    runs: RUNS = 50,
    seed: SEED = 0,
    deterministic: DETERMINISTIC = False,
    choose: CHOOSE = None,
    jobs: JOBS = 1,
    fmt: FORMAT = Format.table,
    out_dir: OUT = None,
    sets: SET = None,
) -> None:
    """Find the least (or most) of one number such that a demand's target holds."""
    from forcegen.analysis.require import require
    from forcegen.api import check_choices
    from forcegen.results_folder import check_out

    loaded = _load(scenario, sets)
    choices = check_choices(loaded, _choices(choose))
    if out_dir is not None:
        check_out(out_dir)
    with _working("searching", "values tried") as progress:
        found = require(
            loaded,
            field_path=vary,
            demand=demand,
            days=days,
            probability=probability,
            low=low,
            high=high,
            span=span,
            direction="most" if most else "least",
            runs=runs,
            seed=seed,
            deterministic=deterministic,
            choices=choices,
            n_jobs=jobs,
            progress=progress,
        )
    _emit(found.summary(), fmt, out_dir, lambda data: terminal.requirement(out, data))


@command("rules")
def rules_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (its 'rules' are checked).")],
    runs: RUNS = 20,
    seed: SEED = 0,
    deterministic: DETERMINISTIC = False,
    choose: CHOOSE = None,
    jobs: JOBS = 1,
    fmt: FORMAT = Format.table,
    out_dir: OUT = None,
    sets: SET = None,
) -> None:
    """Check each unit's rotation (deployed-to-dwell, longest deployment, rolling windows)."""
    from forcegen.analysis.rules import rotation_rules
    from forcegen.api import check_choices, simulate
    from forcegen.results_folder import check_out

    loaded = _load(scenario, sets)
    choices = check_choices(loaded, _choices(choose))
    if out_dir is not None:
        check_out(out_dir)
    n_runs = 1 if deterministic else runs
    with _working("simulating", "runs") as progress:
        results = simulate(
            loaded,
            runs=n_runs,
            seed=seed,
            deterministic=deterministic,
            choices=choices,
            keep_units=True,
            n_jobs=jobs,
            progress=_in_runs(progress, n_runs),
        )
    found = rotation_rules(results, loaded.rules)
    _emit(found.summary(), fmt, out_dir, lambda data: terminal.rules(out, data))
    err.print(Text(f"{scenario}: {len(found.breaches)} breach(es) over {len(found.units)} units"))


@command("sensitivity")
def sensitivity_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with uncertain values.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            help="Per-run figure, such as coverage:front-line or lost:RU:killed "
            "(--list-outputs lists them).",
        ),
    ] = None,
    list_outputs: Annotated[
        bool,
        typer.Option(
            "--list-outputs",
            help="Print every per-run figure the scenario offers as --output, one a line "
            "with a short description, and exit.",
        ),
    ] = False,
    method: Annotated[
        str, typer.Option("--method", help="sobol (first and total order) or morris (screening).")
    ] = "sobol",
    n: Annotated[int, typer.Option("--n", min=4, max=100_000, help="Base sample size.")] = 64,
    seed: SEED = 0,
    fmt: FORMAT = Format.table,
    out_dir: OUT = None,
    sets: SET = None,
) -> None:
    """Which uncertain values, and so which claims, an output depends on (SALib)."""
    from forcegen.analysis.sensitivity import outputs, sensitivity
    from forcegen.results_folder import check_out

    loaded = _load(scenario, sets)
    if list_outputs:
        width = max((len(name) for name in outputs(loaded)), default=0)
        for name, description in outputs(loaded).items():
            sys.stdout.write(f"{name:<{width}}  {description}\n")
        return
    if output is None:
        raise UsageError(
            "--output is required: name the per-run figure to analyse (--list-outputs lists them)"
        )
    if out_dir is not None:
        check_out(out_dir)
    with _working("simulating the sample", "runs") as progress:
        found = sensitivity(loaded, output=output, method=method, n=n, seed=seed, progress=progress)
    _emit(found.summary(), fmt, out_dir, lambda data: terminal.sensitivity(out, data))


@command("calibrate")
def calibrate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with observations.")],
    particles: Annotated[
        int,
        typer.Option(
            "--particles",
            min=10,
            max=100_000,
            help="Particles per generation (and runs of the posterior predictive).",
        ),
    ] = 200,
    max_runs: Annotated[
        int,
        typer.Option("--max-runs", min=20, max=10_000_000, help="Budget: most runs to simulate."),
    ] = 20_000,
    min_acceptance: Annotated[
        float,
        typer.Option(
            "--min-acceptance",
            min=0.0001,
            max=0.9999,
            help="Stop when a generation accepts fewer than this share of its candidates.",
        ),
    ] = 0.02,
    seed: SEED = 0,
    deterministic: DETERMINISTIC = False,
    choose: CHOOSE = None,
    jobs: JOBS = 1,
    fmt: FORMAT = Format.table,
    out_dir: OUT = None,
    sets: SET = None,
) -> None:
    """Infer the uncertain values and choices from the observations (ABC-SMC); with --out,
    write the posterior sample, a calibrated scenario and calibration.json."""
    from forcegen.analysis.calibrate import calibrate, calibrated_scenario
    from forcegen.results_folder import check_out, write_calibration

    loaded = _load(scenario, sets)
    choices = _choices(choose)
    if out_dir is not None:
        check_out(out_dir)
    with _working("calibrating", "runs (at most)") as progress:
        found = calibrate(
            loaded,
            particles=particles,
            seed=seed,
            n_jobs=jobs,
            choices=choices,
            deterministic=deterministic,
            max_runs=max_runs,
            min_acceptance=min_acceptance,
            progress=progress,
        )
    summary = found.summary()
    if out_dir is not None:
        text = calibrated_scenario(found, flattened_text(scenario, sets), summary)
        written = write_calibration(summary, found.posterior(), text, out_dir)
        err.print(Text("wrote " + ", ".join(str(p) for p in written)))
    _emit(summary, fmt, None, lambda data: terminal.calibration(out, data, loaded))


@command("compare")
def compare_cmd(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="The baseline scenario, then one or more variants (or one scenario, with "
            "--options)."
        ),
    ],
    options: Annotated[
        str | None,
        typer.Option(
            "--options",
            help="Compare every option of this choice of the one scenario given; the "
            "baseline is its default, or the option given with --choose.",
        ),
    ] = None,
    runs: RUNS = 100,
    seed: SEED = 0,
    deterministic: DETERMINISTIC = False,
    fmt: FORMAT = Format.table,
    choose: CHOOSE = None,
    jobs: JOBS = 1,
    quantiles: QUANTILES = "0.05,0.95",
    out_dir: OUT = None,
    sets: SET = None,
) -> None:
    """Compare a baseline with variants (or every option of a choice), run for run with
    common random numbers; the input diff of each variant comes first."""
    from forcegen.analysis.compare import compare, compare_options
    from forcegen.results_folder import check_out

    if options is not None and len(scenarios) != 1:
        raise UsageError("compare --options takes one scenario, whose options are compared")
    if options is None and len(scenarios) < 2:
        raise UsageError(
            "compare needs a baseline and at least one variant, or one scenario and "
            "--options CHOICE"
        )
    loaded = [_load(path, sets) for path in scenarios]
    levels = _quantiles(quantiles)
    chosen = _choices(choose)
    if options is not None:
        from forcegen.api import check_choices
        from forcegen.scenario.claims import choices_of

        check_choices(loaded[0], chosen)
        if options not in choices_of(loaded[0]):
            offered = ", ".join(sorted(choices_of(loaded[0]))) or "none"
            raise UsageError(f"--options {options}: unknown choice; this scenario offers {offered}")
    if out_dir is not None:
        check_out(out_dir)
    settings: dict[str, Any] = {
        "runs": runs,
        "seed": seed,
        "deterministic": deterministic,
        "choices": chosen,
        "n_jobs": jobs,
        "quantiles": levels,
    }
    with _working("simulating", "runs") as progress:
        if options is not None:
            result = compare_options(loaded[0], options, progress=progress, **settings)
        else:
            result = compare(loaded, progress=progress, **settings)
    _emit(
        result.summary(),
        fmt,
        out_dir,
        lambda data: terminal.comparison(out, data, deterministic, seed),
    )


@command("report")
def report_cmd(
    results_dir: Annotated[
        Path,
        typer.Argument(help="Folder written by run, compare, sensitivity, require or rules --out."),
    ],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="HTML file to write (default: report.html in RESULTS_DIR)."
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report, with its figures as PNG files beside it."""
    from forcegen.progress import reporting
    from forcegen.report import FIGURES_DIR, write_report

    drawn = 0

    def drawing(title: str) -> None:
        nonlocal drawn
        drawn += 1
        progress(drawn, None)

    with reporting("drawing", "figures", err) as progress:
        path = write_report(results_dir, out_file, progress=drawing)
    err.print(Text(f"wrote {path} and its figures in {path.parent / FIGURES_DIR}"))
    sys.stdout.write(f"{path}\n")


# --- claims: spreadsheets of claims and corroboration across sources ----------------------

claims_app = typer.Typer(
    name="claims",
    help="Claims in spreadsheets (export, import), across sources (corroborate), "
    "drafted from articles (extract).",
    no_args_is_help=True,
)
app.add_typer(claims_app, name="claims")


def claims_command(name: str) -> Callable[[F], F]:
    """Register a command of ``forcegen claims``, its errors handled by :func:`handled`."""
    return command(name, claims_app)


class SheetFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


@claims_command("export")
def claims_export_cmd(
    scenario: SCENARIO,
    fmt: Annotated[
        SheetFormat, typer.Option("--format", "-f", help="csv (UTF-8) or xlsx (Excel).")
    ] = SheetFormat.csv,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="File to write (csv without --out: stdout)."),
    ] = None,
) -> None:
    """Write a scenario's claims as a spreadsheet, one row per claim (docs/format.md)."""
    from forcegen.sources.sheets import to_csv, write_sheet

    claims = load(scenario).claims
    if out_file is None:
        if fmt is SheetFormat.xlsx:
            raise UsageError("--format xlsx needs --out FILE.xlsx")
        sys.stdout.write(to_csv(claims))
        return
    write_sheet(claims, out_file, fmt.value)
    err.print(Text(f"wrote {len(claims)} claims to {out_file}"))


@claims_command("import")
def claims_import_cmd(
    sheet: Annotated[Path, typer.Argument(help="A .csv or .xlsx file of claims.")],
    into: Annotated[Path, typer.Option("--into", help="Scenario file whose claims: to write.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="The sheet becomes the whole claims: section.")
    ] = False,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Update the claims with the sheet's ids and add the others."),
    ] = False,
) -> None:
    """Write the claims of a spreadsheet into a scenario, keeping the rest of the file."""
    from forcegen.sources.into import import_claims

    if replace and merge:
        raise UsageError("--replace and --merge: expected at most one of them")
    mode = "replace" if replace else "merge" if merge else "new"
    done = import_claims(sheet, into, mode)
    verb = "wrote" if done.written else "nothing to change in"
    err.print(Text(f"{verb} {into}: {done.summary()}"))


@claims_command("corroborate")
def claims_corroborate_cmd(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to compare.")],
    fmt: FORMAT = Format.table,
    all_groups: Annotated[
        bool,
        typer.Option("--all", help="Also list quantities whose sources agree."),
    ] = False,
) -> None:
    """Group the numbers different claims give for the same quantity, show where they
    disagree and by how much, and propose a choose: block with one option per source."""
    from forcegen.sources.corroborate import corroborate, render

    found = corroborate([load(p) for p in scenarios], [str(p) for p in scenarios])
    if not all_groups:
        found = [g for g in found if g.disagree]
    if fmt is Format.json:
        data = {"groups": [g.as_dict() for g in found]}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(found))


# --- explore: experiments across assumptions, into a run store ------------------------------


class Uncertain(StrEnum):
    support = "support"
    central = "central"
    none = "none"


class DesignMethod(StrEnum):
    lhs = "lhs"
    sobol = "sobol"


def _explored_choices(text: str, offered: Mapping[str, Any], pinned: Mapping[str, str]) -> list:
    """The choices ``--choices`` names as factors: all (less those pinned), none, or a list."""
    if text == "all":
        return [name for name in offered if name not in pinned]
    if text == "none":
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in offered]
    if not names or unknown:
        known = ", ".join(sorted(offered)) or "none"
        raise UsageError(
            f"--choices {text!r}: expected all, none or choice names separated by commas "
            f"(this scenario offers {known})"
        )
    both = [name for name in names if name in pinned]
    if both:
        raise UsageError(f"choice {both[0]!r} is both explored (--choices) and pinned (--choose)")
    return names


def _widening(text: str | None) -> float | None:
    """``--widen-assumptions 20%`` (or 0.2) as a fraction."""
    if text is None:
        return None
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise UsageError(
            f"--widen-assumptions {text!r}: expected a share above 0% and below 100%, such as 20%"
        )
    return value


def _explore_table(data: Mapping[str, Any]) -> None:
    from rich.table import Table

    out.print(
        Text(
            f"{data['scenario']}: {data['run']} experiments run, {data['skipped']} already "
            f"in the store; {data['experiments']} experiments ({data['runs']:,} runs) in "
            f"{data['store']}"
        )
    )
    if data["outcomes"]:
        table = Table(title="Outcomes: the range of their means across experiments")
        for column in ("outcome", "lowest mean", "highest mean"):
            table.add_column(column, justify="left" if column == "outcome" else "right")
        for name, span in data["outcomes"].items():
            share = name.startswith("coverage:")
            cells = [
                "-" if v is None else f"{v:.1%}" if share else f"{v:,.1f}"
                for v in (span["min"], span["max"])
            ]
            table.add_row(name, *cells)
        out.print(table)
    cover = data["full_cover"]
    if cover["demands"]:
        table = Table(
            title=f"Experiments covering each demand fully in at least {cover['at_least']:.0%} "
            "of their runs"
        )
        table.add_column("demand")
        table.add_column("share of experiments", justify="right")
        for name, share in cover["demands"].items():
            table.add_row(name, "-" if share is None else f"{share:.0%}")
        every = cover["every_demand"]
        table.add_row("every demand", "-" if every is None else f"{every:.0%}")
        out.print(table)


@command("explore")
def explore_cmd(
    scenario: SCENARIO,
    store_path: Annotated[
        Path,
        typer.Option(
            "--store",
            help="DuckDB file to write the experiments into (created, or resumed: "
            "experiments already in it are skipped). Read it with forcegen.store.open or SQL.",
        ),
    ],
    choices: Annotated[
        str,
        typer.Option(
            "--choices",
            help="Choices explored, each with all its options: all, none, or NAME,NAME.",
        ),
    ] = "all",
    uncertain: Annotated[
        Uncertain,
        typer.Option(
            "--uncertain",
            help="Uncertain values as factors over their whole support, their central "
            "range, or none (then sampled within each experiment's runs as usual).",
        ),
    ] = Uncertain.support,
    lever: Annotated[
        list[str] | None,
        typer.Option(
            "--lever",
            help="A number explored over a range: PATH=LOW..HIGH in the units people write, "
            "such as 'units[ru-bn].count=10..30'. Repeatable.",
        ),
    ] = None,
    widen: Annotated[
        str | None,
        typer.Option(
            "--widen-assumptions",
            help="Explore every uncited number (assumption) too, within ± this share, such as 20%.",
        ),
    ] = None,
    method: Annotated[
        DesignMethod,
        typer.Option(
            "--design",
            help="Design over the continuous factors: Latin hypercube or Sobol sequence "
            "(crossed with every combination of the choices' options).",
        ),
    ] = DesignMethod.lhs,
    points: Annotated[
        int,
        typer.Option(
            "--points", "-n", min=1, max=1_000_000, help="Points of the continuous design."
        ),
    ] = 16,
    runs: Annotated[  # RUNS without its -n, which is --points here
        int, typer.Option("--runs", min=1, max=MAX_RUNS, help=RUNS.__metadata__[0].help)
    ] = 50,
    seed: SEED = 0,
    choose: CHOOSE = None,
    chunk: Annotated[
        int,
        typer.Option(
            "--chunk",
            min=1,
            max=10_000,
            help="Experiments simulated together and written in one transaction.",
        ),
    ] = 8,
    jobs: JOBS = 1,
    dask: Annotated[
        bool, typer.Option("--dask", help="Run the experiments on a local Dask cluster.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=1024,
            help="Chunks run at once: threads in this process, or worker processes of the "
            "local Dask cluster with --dask (default 1).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Address of an existing Dask scheduler, tcp://HOST:PORT, to send the "
            "experiments to.",
        ),
    ] = None,
    sets: SET = None,
    fmt: FORMAT = Format.table,
) -> None:
    """Run experiments across choices, uncertain values and levers into a run store."""
    import importlib.util

    from forcegen.analysis.explore import Exploration, design, factors
    from forcegen.api import check_choices
    from forcegen.scenario.claims import choices_of
    from forcegen.store import open as open_store
    from forcegen.store.filling import fill, meta_of
    from forcegen.store.schema import EXTRA, duckdb

    # everything is checked before the store file is created
    duckdb()
    executor = "dask" if dask or scheduler else "threads"
    if executor == "dask" and importlib.util.find_spec("distributed") is None:
        raise UsageError(f"--dask and --scheduler need dask.distributed: {EXTRA}")
    if scheduler is not None and "://" not in scheduler:
        raise UsageError(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:PORT")
    loaded = _load(scenario, sets)
    pinned = check_choices(loaded, _choices(choose))
    explored = _explored_choices(choices, choices_of(loaded), pinned)
    levers = list(lever or [])
    widening = _widening(widen)
    found = factors(
        loaded, choices=explored, uncertain=uncertain.value, levers=levers, widen=widening
    )
    rows = design(found, n=points, method=method.value, seed=seed)
    exploration = Exploration(scenario=loaded, factors=found, runs=runs, seed=seed, choices=pinned)
    settings = {
        "choices": explored,
        "pinned": pinned,
        "uncertain": uncertain.value,
        "levers": levers,
        "widen": widening,
        "runs": runs,
        "seed": seed,
    }
    meta = meta_of(
        exploration,
        scenario_text=flattened_text(scenario, sets),
        settings=settings,
        design={"method": method.value, "n": points, "seed": seed},
    )
    with _working("exploring", "experiments") as progress:
        filled = fill(
            store_path,
            exploration,
            rows,
            meta=meta,
            chunk=chunk,
            executor=executor,
            scheduler=scheduler,
            workers=workers,
            n_jobs=jobs,
            progress=progress,
        )
    with open_store(store_path) as written:
        summary = {"run": filled.run, "skipped": filled.skipped, **written.overview()}
    _emit(summary, fmt, None, _explore_table)


@command("discover")
def discover_cmd(
    store: Annotated[Path, typer.Argument(help="Run store written by forcegen explore.")],
    where: Annotated[
        str,
        typer.Option(
            "--where",
            "-w",
            help="Condition on each experiment's outcomes: OUTCOME OP VALUE, such as "
            "'coverage:front-line < 95%' (a bare per-run outcome is its mean across the "
            "experiment's runs), 'p_full:front-line < 0.9' or 'lost:RU:killed > 20,000'.",
        ),
    ],
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            min=0.01,
            max=1.0,
            help="Density (share of a box's experiments where the condition holds) the "
            "chosen box must reach.",
        ),
    ] = 0.8,
    box: Annotated[
        int | None,
        typer.Option("--box", min=0, help="Choose this step of the peeling trajectory as the box."),
    ] = None,
    seed: SEED = 0,
    fmt: FORMAT = Format.table,
    out_dir: OUT = None,
) -> None:
    """Under which factors a condition on the outcomes holds: PRIM boxes and feature
    scores over a run store, each factor traced to the claims it cites."""
    import forcegen.store
    from forcegen.analysis.discover import discover, option_claims, parse_where
    from forcegen.report import discovery
    from forcegen.results_folder import check_out

    if out_dir is not None:
        check_out(out_dir)
    with forcegen.store.open(store) as st:
        meta = dict(st.meta)
        factors = st.factors()
        experiments = st.experiments()
        summaries = st.summaries()
    condition = parse_where(where, list(summaries.columns))
    table = experiments.merge(summaries, on="experiment", how="inner", suffixes=("", " "))
    table = table.sort_values("experiment", kind="stable").reset_index(drop=True)
    if table.empty:
        raise UsageError(f"{store}: the store holds no finished experiments")
    found = discover(
        table,
        condition.holds(table),
        factors,
        threshold=threshold,
        box=box,
        seed=seed,
        condition=condition,
        scenario=str(meta.get("scenario") or ""),
        store=str(store),
        option_cites=_option_claims(meta, store, option_claims),
    )
    _emit(found.summary(), fmt, out_dir, lambda data: discovery.terminal(out, data))


def _option_claims(
    meta: Mapping[str, Any], store: Path, claims_of: Callable[[Scenario], Any]
) -> dict[str, Any]:
    """The claims of each option of each choice, from the scenario the store keeps; none
    if it keeps none that loads (a box then names the claims of all of a choice's options)."""
    from forcegen.scenario.loader import loads

    text = meta.get("scenario_text")
    if not isinstance(text, str):
        return {}
    try:
        return claims_of(loads(text, f"{store} (its scenario)"))
    except (ScenarioError, UsageError):
        return {}


# --- claims extract: claims drafted from an article ---------------------------------------


class ExtractFormat(StrEnum):
    yaml = "yaml"
    json = "json"


class ArticleFormat(StrEnum):
    text = "text"
    html = "html"
    markdown = "markdown"


@claims_command("extract")
def claims_extract_cmd(
    article: Annotated[Path, typer.Argument(help="An article: plain text, HTML or Markdown.")],
    publication: Annotated[
        str | None, typer.Option("--publication", help="The outlet, for source.publication.")
    ] = None,
    date: Annotated[
        str | None, typer.Option("--date", help="Publication date, YYYY-MM-DD.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Where the article is.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="The article's title.")] = None,
    fmt: Annotated[
        ExtractFormat,
        typer.Option("--format", "-f", help="yaml (claims to paste) or json (everything)."),
    ] = ExtractFormat.yaml,
    read_as: Annotated[
        ArticleFormat | None,
        typer.Option("--as", help="How to read the file (default: by its name and content)."),
    ] = None,
) -> None:
    """Draft claims from an article: every number bearing on force generation, with who
    said it, a suggested grade and its exact place in the text (docs/claims.md)."""
    import datetime as dt

    from forcegen.sources.extract import extract, read_article, slug, to_data, to_yaml

    if date is not None:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise UsageError(f"--date {date!r}: expected a date written YYYY-MM-DD") from None
    try:
        source = article.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{article}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{article}: cannot be read as UTF-8 text ({exc})") from None
    doc = read_article(
        source,
        article.name,
        read_as.value if read_as else None,
        publication=publication,
        date=date,
        url=url,
        title=title,
    )
    found = extract(doc)
    prefix = slug(article.stem)
    if fmt is ExtractFormat.json:
        sys.stdout.write(json.dumps(to_data(found, doc, prefix), indent=2, ensure_ascii=False))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_yaml(found, doc, prefix))
    err.print(Text(f"drafted {len(found)} claims from {article}"))


@command("capacity")
def capacity_cmd(
    scenario: SCENARIO,
    period: Annotated[
        str,
        typer.Option(
            "--period",
            "-p",
            help="Periods of the table: a number of days (30d) or calendar month, quarter "
            "or year, from the scenario's start.",
        ),
    ] = "quarter",
    choose: CHOOSE = None,
    fmt: FORMAT = Format.table,
    out_dir: OUT = None,
    sets: SET = None,
) -> None:
    """Units each unit type's policies can keep deployed per period, against the peak
    demand, before any simulation (count x deployed share of the cycle, summed over groups)."""
    from forcegen.analysis.capacity import capacity

    loaded = _load(scenario, sets)
    if out_dir is not None:
        from forcegen.results_folder import check_out

        check_out(out_dir)
    table = capacity(loaded, period, _choices(choose))
    _emit(table.summary(), fmt, out_dir, lambda data: terminal.capacity(out, data))
    short = [r for r in table.rows if r["fill"] is not None and r["fill"] < 1 - 1e-9]
    err.print(
        Text(
            f"{scenario}: {len(table.rows)} row(s); {len(short)} with capacity below the "
            "peak demand"
        )
    )


# --- serve: the workbench in the browser ---------------------------------------------------


@command("serve")
def serve_cmd(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder of scenarios to work on (the page reads and writes nothing outside it)."
        ),
    ] = Path("."),
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Any address but 127.0.0.1, localhost or ::1 needs a "
            "token: one is generated unless --token gives it, and the URL printed carries it.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 5006,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="FORCEGEN_TOKEN",
            help="Token every request must carry (16 or more of A-Z a-z 0-9 . _ ~ -); "
            "optional on localhost.",
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """Serve the workbench: pick a scenario, set its choices and values, run, compare.

    Prints the page's URL on stdout and serves until Ctrl-C (docs/analyses.md).
    """
    from contextlib import suppress

    from forcegen.web.server import serve

    def ready(running: Any) -> None:
        sys.stdout.write(running.url + "\n")
        sys.stdout.flush()
        err.print(Text(f"serving the scenarios of {folder.resolve()}; Ctrl-C stops"))

    with suppress(KeyboardInterrupt):  # Ctrl-C before the server is up; after, it stops it
        serve(
            folder,
            host=host,
            port=port,
            token=token,
            show=open_page,
            ready=ready,
            say=lambda message: err.print(Text(message)),
        )
    err.print(Text("stopped"))


def main() -> None:
    """Entry point: never lets a traceback reach the user unless FORCEGEN_DEBUG is set."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print(Text("interrupted"))
        sys.exit(130)
    except Exception as exc:  # pragma: no cover - last line of defence
        if os.environ.get("FORCEGEN_DEBUG"):
            raise
        _internal(exc)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
