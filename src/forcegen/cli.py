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
from forcegen.scenario.overrides import flattened_text

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


def command(name: str | None = None) -> Callable[[F], F]:
    """Register a command of the app, its errors handled by :func:`handled`."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            with handled():
                fn(*args, **kwargs)

        app.command(name)(wrapper)
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

COMPILING = "forcegen: compiling the simulation engine (first run after install; about 30 s) ..."
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
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


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
