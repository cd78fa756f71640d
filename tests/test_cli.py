"""The ``forcegen`` command: data on stdout, messages on stderr, exit 0 / 2 / 1, no tracebacks.

Most tests call the Typer app in-process (``CliRunner`` keeps stdout and stderr apart); a few
run the real command in a subprocess to check the streams and exit codes a shell sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from conftest import merge, needs_two_threads
from typer.testing import CliRunner, Result

from forcegen import __version__
from forcegen.cli import app

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TEXTBOOK = SCENARIOS / "textbook-fixed-rotation.yaml"
READY_POOL = SCENARIOS / "demand-driven-ready-pool.yaml"

# The textbook rotation with attrition at the front, so that runs differ; and with the
# strength of its units a choice between two sources.
STOCHASTIC = dict(
    name="Stochastic rotation",
    horizon="120d",
    unit_types=[{"id": "inf"}],
    locations=merge([{"attrition": {"killed": "2%/mo", "wounded": "5%/mo"}}]),
    policies=[
        {"id": "cycle", "positions": [
            {"name": "front", "location": "front", "duration": "30d", "deployed": True},
            {"name": "home", "location": "home", "duration": "60d"},
        ]},
    ],
    units=[
        {"id": "blue-bn", "force": "blue", "type": "inf", "policy": "cycle", "count": 6,
         "strength": {"choose": "size", "default": "full", "options": {"full": 500, "weak": 300}}},
    ],
    demands=merge([{"id": "hold"}]),
)  # fmt: skip

BAD = """\
forcegen: 1
name: Bad
start: 2023-02-30
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def stochastic(write_scenario) -> Path:
    return write_scenario("stochastic.yaml", **STOCHASTIC)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: object) -> Result:
    result = runner.invoke(app, [str(a) for a in args])
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text
    if result.exit_code in (0, 2):
        # Failures are reported, not raised (SystemExit is how an exit code is returned).
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
    return result


def summary_of(result: Result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def only_files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# --- help and version ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["validate"], ["schema"], ["run"], ["report"]])
def test_help(runner: CliRunner, command: list[str]) -> None:
    result = invoke(runner, *command, "--help")
    assert result.exit_code == 0
    assert "Usage: forcegen" in result.stdout
    assert result.stderr == ""


def test_app_help_lists_the_commands(runner: CliRunner) -> None:
    result = invoke(runner, "--help")
    for command in ("validate", "schema", "run", "report"):
        assert command in result.stdout


def test_run_help_lists_the_options(runner: CliRunner) -> None:
    result = invoke(runner, "run", "--help")
    for option in ("--runs", "--seed", "--deterministic", "--out", "--format", "--choose"):
        assert option in result.stdout
    assert "--jobs" in result.stdout and "--keep" in result.stdout


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = invoke(runner)
    assert "Usage: forcegen" in result.stdout + result.stderr


def test_version(runner: CliRunner) -> None:
    result = invoke(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout == f"forcegen {__version__}\n"
    assert result.stderr == ""


# --- validate -----------------------------------------------------------------------------


def test_validate_good_files(runner: CliRunner) -> None:
    result = invoke(runner, "validate", TEXTBOOK, READY_POOL)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{TEXTBOOK}: valid: 1 unit groups, 1 demands, 0 claims")
    assert lines[1].startswith(f"{READY_POOL}: valid:")
    assert result.stderr == ""


def test_validate_bad_file_reports_located_problem_on_stderr(runner: CliRunner, bad: Path) -> None:
    result = invoke(runner, "validate", bad)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        f"{bad}:3:8: start: expected a date written YYYY-MM-DD, YYYY-MM (a month) or YYYY "
        "(a year), found '2023-02-30'" in (result.stderr)
    )
    assert f"{bad}:1:1: horizon: missing required field 'horizon'" in result.stderr
    assert result.stderr.rstrip().endswith("problems found")


def test_validate_good_and_bad_files(runner: CliRunner, bad: Path) -> None:
    result = invoke(runner, "validate", TEXTBOOK, bad)
    assert result.exit_code == 2
    assert f"{TEXTBOOK}: valid" in result.stdout
    assert str(bad) not in result.stdout
    assert f"{bad}:3:8: start:" in result.stderr
    assert str(TEXTBOOK) not in result.stderr


def test_validate_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = invoke(runner, "validate", missing)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{missing}: file not found" in result.stderr


def test_validate_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "validate", tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{tmp_path}: this is a directory" in result.stderr


def test_validate_binary_junk(runner: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(range(256)) * 4)
    result = invoke(runner, "validate", junk)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{junk}:" in result.stderr
    assert "binary" in result.stderr


def test_validate_without_files_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "validate")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Missing argument" in result.stderr


# --- schema -------------------------------------------------------------------------------


def test_schema_is_json(runner: CliRunner) -> None:
    result = invoke(runner, "schema")
    assert result.exit_code == 0
    assert result.stderr == ""
    schema = json.loads(result.stdout)
    assert {"units", "policies", "demands"} <= set(schema["properties"])
    assert {"units", "policies", "demands", "extends", "set"} <= set(schema["properties"])
    # a whole scenario needs these; a file that extends another takes them from its base
    assert schema["if"] == {"required": ["extends"]}
    required = set(schema["else"]["required"])
    assert {"forcegen", "name", "start", "horizon", "forces", "policies"} <= required


# --- run: summary -------------------------------------------------------------------------


def test_run_deterministic_json_summary(runner: CliRunner) -> None:
    result = invoke(runner, "run", TEXTBOOK, "--deterministic", "--format", "json")
    summary = summary_of(result)
    assert summary["format"] == "forcegen-summary"
    assert summary["version"] == 1
    assert summary["run"]["deterministic"] is True
    assert summary["run"]["runs"] == 1
    (demand,) = summary["demands"]
    assert demand["id"] == "front-line"
    assert demand["coverage_mean"] == 1.0
    assert demand["days_fully_covered_mean"] == 360
    (force,) = summary["forces"]
    assert force["deployed_to_dwell"] == pytest.approx(0.5)
    assert "{" not in result.stderr  # the JSON went to stdout only


def test_run_table_summary(runner: CliRunner) -> None:
    result = invoke(runner, "run", READY_POOL, "--deterministic")
    assert result.exit_code == 0, result.stderr
    assert "Demand-driven ready pool with overlap" in result.stdout
    assert "front-line" in result.stdout
    assert "100.0%" in result.stdout


def test_run_with_a_choice(runner: CliRunner, stochastic: Path) -> None:
    default = summary_of(invoke(runner, "run", stochastic, "--deterministic", "-f", "json"))
    weak = summary_of(
        invoke(runner, "run", stochastic, "--deterministic", "-f", "json", "--choose", "size=weak")
    )
    assert default["run"]["choices"] == {"size": "full"}
    assert weak["run"]["choices"] == {"size": "weak"}
    assert weak["forces"][0]["people_start"] == 6 * 300
    assert default["forces"][0]["people_start"] == 6 * 500


def test_run_bad_scenario(runner: CliRunner, bad: Path) -> None:
    result = invoke(runner, "run", bad, "--deterministic")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{bad}:3:8: start:" in result.stderr


@needs_two_threads
def test_jobs_do_not_change_results(runner: CliRunner, stochastic: Path) -> None:
    args = ("run", stochastic, "--runs", "20", "--seed", "5", "--format", "json")
    one = summary_of(invoke(runner, *args, "--jobs", "1"))
    two = summary_of(invoke(runner, *args, "--jobs", "2"))
    assert one == two
    assert one["run"]["runs"] == 20
    losses = one["forces"][0]["losses_mean"]
    assert losses["killed"] > 0  # the runs really are random


def test_seed_changes_stochastic_results(runner: CliRunner, stochastic: Path) -> None:
    args = ("run", stochastic, "--runs", "5", "--format", "json")
    first = summary_of(invoke(runner, *args, "--seed", "1"))
    again = summary_of(invoke(runner, *args, "--seed", "1"))
    other = summary_of(invoke(runner, *args, "--seed", "2"))
    assert first == again
    assert first["forces"] != other["forces"]


# --- run: files ---------------------------------------------------------------------------


def test_run_out_writes_results_and_summary(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(runner, "run", TEXTBOOK, "--deterministic", "--out", out, "-f", "json")
    summary = summary_of(result)
    assert only_files(out) == [
        "results.nc",
        "runs.csv",
        "runs.parquet",
        "scenario.yaml",
        "summary.json",
    ]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    assert "wrote" in result.stderr
    ds = xr.load_dataset(out / "results.nc", engine="h5netcdf")
    assert {"run", "day", "force", "location", "demand"} <= set(ds.dims)
    assert ds.sizes["run"] == 1 and ds.sizes["day"] == 360
    assert {"strength", "filled", "required", "units_deployed"} <= set(ds.data_vars)
    assert "unit_position" not in ds.data_vars
    assert (ds["filled"] == ds["required"]).all()
    assert float(ds["strength"].sel(location="front").min()) == 1500
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.index) == [0] and runs["coverage:front-line"].tolist() == [1.0]
    assert pd.read_csv(out / "runs.csv", index_col="run").equals(runs)


def test_second_run_replaces_the_files(runner: CliRunner, tmp_path: Path, stochastic: Path) -> None:
    out = tmp_path / "out"
    first = invoke(runner, "run", TEXTBOOK, "--deterministic", "--out", out, "-f", "json")
    assert first.exit_code == 0, first.stderr
    second = invoke(runner, "run", stochastic, "--runs", "3", "--out", out, "-f", "json")
    summary = summary_of(second)
    assert only_files(out) == [
        "results.nc",
        "runs.csv",
        "runs.parquet",
        "scenario.yaml",
        "summary.json",
    ]  # no leftover *.tmp
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    assert summary["scenario"]["name"] == "Stochastic rotation"
    assert (out / "scenario.yaml").read_text(encoding="utf-8") == stochastic.read_text(
        encoding="utf-8"
    )
    ds = xr.load_dataset(out / "results.nc", engine="h5netcdf")
    assert ds.sizes["run"] == 3 and ds.sizes["day"] == 120


def test_out_creates_missing_parent_folders(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    result = invoke(runner, "run", TEXTBOOK, "--deterministic", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert only_files(out) == [
        "results.nc",
        "runs.csv",
        "runs.parquet",
        "scenario.yaml",
        "summary.json",
    ]


def test_out_pointing_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "results"
    target.write_text("keep me\n", encoding="utf-8")
    result = invoke(runner, "run", TEXTBOOK, "--deterministic", "--out", target)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "expected a folder, found a file" in result.stderr
    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert only_files(tmp_path) == ["results"]


def test_bad_choice_creates_no_out_folder(
    runner: CliRunner, tmp_path: Path, stochastic: Path
) -> None:
    out = tmp_path / "out"
    result = invoke(runner, "run", stochastic, "--out", out, "--choose", "size=huge")
    assert result.exit_code == 2
    assert "choice 'size' has no option 'huge'" in result.stderr
    assert not out.exists()


def test_keep_units_adds_unit_traces(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(runner, "run", TEXTBOOK, "--deterministic", "--out", out, "--keep", "units")
    assert result.exit_code == 0, result.stderr
    ds = xr.load_dataset(out / "results.nc", engine="h5netcdf")
    assert "unit_position" in ds.data_vars
    assert ds["unit_position"].dims == ("run", "day", "unit")
    assert ds.sizes["unit"] == 9


# --- run: bad flags -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--runs", "0"], "--runs"),
        (["--runs", "abc"], "--runs"),
        (["--format", "xml"], "--format"),
        (["--choose", "noequals"], "expected NAME=OPTION"),
        (["--choose", "unknown=x"], "unknown choice 'unknown'"),
        (["--choose", "size=huge"], "choice 'size' has no option 'huge'"),
        (["--seed", "-1"], "--seed"),
        (["--jobs", "0"], "--jobs"),
        (["--keep", "everything"], "--keep"),
        (["--no-such-flag"], "--no-such-flag"),
    ],
)
def test_bad_flags(runner: CliRunner, stochastic: Path, flags: list[str], words: str) -> None:
    result = invoke(runner, "run", stochastic, "--deterministic", *flags)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert words in result.stderr


def test_run_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "run", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "file not found" in result.stderr


def test_internal_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import forcegen.api
    import forcegen.cli as cli

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(forcegen.api, "simulate", boom)  # the run command imports it late
    monkeypatch.setattr(sys, "argv", ["forcegen", "run", str(TEXTBOOK), "--deterministic"])
    monkeypatch.delenv("FORCEGEN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "internal error: RuntimeError: boom" in captured.err
    assert "FORCEGEN_DEBUG=1" in captured.err
    assert "Traceback" not in captured.err


# --- the real command ---------------------------------------------------------------------


def forcegen(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("FORCEGEN_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "forcegen.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_subprocess_validate_streams_and_exit_codes(tmp_path: Path, bad: Path) -> None:
    good = forcegen("validate", TEXTBOOK)
    assert good.returncode == 0
    assert good.stdout.startswith(f"{TEXTBOOK}: valid:")
    assert good.stderr == ""

    failed = forcegen("validate", bad, tmp_path / "missing.yaml", tmp_path)
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert f"{bad}:3:8: start:" in failed.stderr
    assert f"{tmp_path / 'missing.yaml'}: file not found" in failed.stderr
    assert f"{tmp_path}: this is a directory" in failed.stderr


def test_subprocess_run_json_on_stdout_only(tmp_path: Path) -> None:
    result = forcegen(
        "run", TEXTBOOK, "--deterministic", "--format", "json", "--out", tmp_path / "out"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["format"] == "forcegen-summary"
    assert summary["demands"][0]["coverage_mean"] == 1.0
    assert "wrote" in result.stderr
    assert "{" not in result.stderr


def test_installed_script_bad_flag() -> None:
    script = Path(sys.executable).with_name("forcegen")
    if not script.exists():
        pytest.skip("the forcegen script is not installed beside this Python")
    result = subprocess.run(
        [str(script), "run", str(TEXTBOOK), "--runs", "abc"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--runs" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_bands_lhs_and_quantiles(runner: CliRunner) -> None:
    result = invoke(runner, "run", TEXTBOOK, "--runs", "12", "--lhs", "-q", "0.1,0.9", "-f", "json")
    summary = summary_of(result)
    assert summary["run"]["lhs"] is True and summary["run"]["quantiles"] == [0.1, 0.9]
    assert len(summary["demands"][0]["coverage_q"]) == 2
    table = invoke(runner, "run", TEXTBOOK, "--runs", "12")
    assert table.exit_code == 0 and "q5-q95" in table.stdout


@pytest.mark.parametrize("bad", ["", "x", "1.5", "0.1,-0.2"])
def test_bad_quantiles_are_refused(runner: CliRunner, bad: str) -> None:
    result = invoke(runner, "run", TEXTBOOK, "--runs", "2", "--quantiles", bad)
    assert result.exit_code == 2
    assert "--quantiles" in result.stderr and "Traceback" not in result.stderr


def test_a_run_too_big_for_memory_is_refused_before_it_starts(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import forcegen.api

    monkeypatch.setattr(forcegen.api, "_available_memory", lambda: 1_000_000)
    result = invoke(runner, "run", TEXTBOOK, "--runs", "1000")
    assert result.exit_code == 2
    assert "GiB for their records" in result.stderr and "fewer runs" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_shared_options_have_one_limit_and_one_help_everywhere() -> None:
    import typer

    from forcegen.api import MAX_RUNS

    group = typer.main.get_command(app)
    seen: dict[str, tuple[object, object, str | None]] = {}
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        for param in cmd.params:
            if param.name == "help" or not param.opts[0].startswith("--"):
                continue
            assert param.help, f"{name} {param.opts[0]} has no help text"
            if param.opts[0] in ("--runs", "--seed", "--choose", "--jobs", "--format"):
                limits = (getattr(param, "min", None), getattr(param, "max", None))
                got = (*limits, param.help)
                assert seen.setdefault(param.opts[0], got) == got, (name, param.opts[0])
    assert seen["--runs"][1] == MAX_RUNS


def test_the_light_commands_load_no_engine_results_or_charts() -> None:
    # --version, --help, validate and schema start fast: the engine (numba), the results
    # (xarray, pandas), sampling (scipy.stats) and the report (matplotlib) load only in the
    # commands that use them.
    code = (
        "import sys, forcegen.cli, forcegen.scenario.loader;"
        "forcegen.scenario.loader.load(sys.argv[1]);"
        "print(' '.join(m for m in ('numba', 'xarray', 'pandas', 'scipy.stats', 'matplotlib')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(TEXTBOOK)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("scenario", [TEXTBOOK, SCENARIOS / "belarus-2023.yaml"], ids=str)
def test_run_loads_no_other_analysis(scenario: Path) -> None:
    # `forcegen run` decides the answers only: sensitivity (SALib, scipy.stats), the other
    # analyses and the charts stay unloaded; sampling PERT and other distributions (the
    # Belarus file) takes its quantiles from scipy.special, so scipy.stats is not needed.
    code = (
        "import contextlib, io, sys\n"
        "from forcegen.cli import main\n"
        "sys.argv = ['forcegen', 'run', sys.argv[1], '--runs', '2']\n"
        "try:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main()\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "names = ('SALib', 'scipy.stats', 'matplotlib', 'forcegen.analysis.sensitivity',\n"
        "         'forcegen.analysis.check', 'forcegen.analysis.compare')\n"
        "print('loaded:', 'forcegen.analysis.answers' in sys.modules)\n"
        "print(' '.join(m for m in names if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(scenario)], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["loaded: True", ""]


def test_the_analyses_package_names_its_functions_whichever_loaded_first() -> None:
    # The package loads its analyses lazily; a function named like its module (check,
    # compare, require, sensitivity) is still the function after the module is loaded.
    import forcegen.analysis.compare  # noqa: F401
    from forcegen.analysis import Findings, check, compare, sensitivity
    from forcegen.analysis.check import check as check_fn
    from forcegen.analysis.compare import compare as compare_fn

    assert compare is compare_fn and check is check_fn and callable(sensitivity)
    assert Findings.__name__ == "Findings"


# --- observations ---------------------------------------------------------------------------

OBSERVED = dict(
    locations=[
        {"id": "front", "attrition": {"killed": {"pert": ["1%/mo", "2%/mo", "4%/mo"]}}},
        {"id": "home"},
    ],
    claims=[
        {
            "id": "k1",
            "source": {"publication": "x"},
            "attribution": "named",
            "paraphrase": "few killed",
            "grade": "B2",
        },
        {
            "id": "k2",
            "source": {"publication": "y"},
            "attribution": "named",
            "paraphrase": "many killed",
            "grade": "D3",
        },
    ],
    observations=[
        {"id": "few", "measure": "killed", "by": "2023-02-20", "at_most": 5, "cites": ["k1"]},
        {"id": "many", "measure": "killed", "by": "2023-02-20", "at_least": 500, "cites": ["k2"]},
        {
            "id": "front",
            "measure": "people",
            "location": "front",
            "at": "2023-01-15",
            "value": 1000,
        },
    ],
)


def test_run_reports_each_observation(runner: CliRunner, write_scenario) -> None:
    path = write_scenario("observed.yaml", **OBSERVED)
    data = summary_of(invoke(runner, "run", path, "--runs", 20, "--format", "json"))
    rows = {o["id"]: o for o in data["observations"]}
    assert rows["front"]["verdict"] == "consistent" and rows["front"]["p_holds"] == 1.0
    assert rows["many"]["verdict"] == "inconsistent" and rows["many"]["contradicts"] == ["few"]
    assert rows["many"]["claims"] == ["k2"] and rows["many"]["grades"] == ["D3"]
    assert rows["front"]["q5"] <= rows["front"]["median"] <= rows["front"]["q95"]
    table = invoke(runner, "run", path, "--runs", 20)
    assert table.exit_code == 0
    assert "Observations" in table.stdout and "inconsistent" in table.stdout
    assert "k2 (D3)" in table.stdout


def test_check_runs_the_scenario_and_names_both_sides(runner: CliRunner, write_scenario) -> None:
    path = write_scenario("observed.yaml", **OBSERVED)
    result = invoke(runner, "check", path, "--runs", 20, "--format", "json")
    data = summary_of(result)
    kinds = [f["kind"] for f in data["findings"]]
    assert "observations-contradict" in kinds
    many = next(f for f in data["findings"] if f["message"].startswith("observation 'many'"))
    assert "k2" in many["claims"]
    assert "locations[0].attrition.killed" in many["message"]  # the input that drives it
    (row,) = [o for o in data["observations"] if o["id"] == "many"]
    assert row["drivers"][0]["input"] == "locations[0].attrition.killed"
    assert row["drivers"][0]["rho"] > 0.5
    assert data["runs"] == 20
    table = invoke(runner, "check", path, "--runs", 20)
    assert table.exit_code == 0 and "observations-contradict" in table.stdout


def test_check_prints_the_matrix_of_choices_against_observations(
    runner: CliRunner, write_scenario
) -> None:
    claims = [
        {
            "id": c,
            "source": {"publication": c},
            "attribution": "named",
            "paraphrase": c,
            "grade": "B2",
        }
        for c in ("small", "large")
    ]
    path = write_scenario(
        "choice.yaml",
        claims=claims,
        units=merge(
            [
                {
                    "count": {
                        "choose": "size",
                        "default": "small",
                        "options": {
                            "small": {"value": 2, "cites": ["small"]},
                            "large": {"value": 8, "cites": ["large"]},
                        },
                    }
                }
            ]
        ),
        observations=[
            {
                "id": "obs-small",
                "measure": "people",
                "at": "2023-01-10",
                "value": 1000,
                "cites": ["small"],
            },
            {
                "id": "obs-large",
                "measure": "people",
                "at": "2023-01-10",
                "value": 4000,
                "cites": ["large"],
            },
        ],
    )
    data = summary_of(invoke(runner, "check", path, "--runs", 5, "--format", "json"))
    matrix = {(r["choice"], r["option"]): r["verdicts"] for r in data["matrix"]}
    assert matrix[("size", "small")] == {"obs-small": "consistent", "obs-large": "inconsistent"}
    assert matrix[("size", "large")] == {"obs-small": "inconsistent", "obs-large": "consistent"}
    assert [r["claims"] for r in data["matrix"]] == [["small"], ["large"]]
    table = invoke(runner, "check", path, "--runs", 5)
    assert "Choices against observations" in table.stdout


def test_a_bad_observation_exits_2(runner: CliRunner, write_scenario) -> None:
    path = write_scenario(
        "bad-obs.yaml",
        observations=[{"id": "o", "measure": "killed", "by": "2030-01-01", "value": 5}],
    )
    for command in ("run", "check", "validate"):
        result = invoke(runner, command, path)
        assert result.exit_code == 2
        assert "observations[0].by" in result.stderr and "within the horizon" in result.stderr
