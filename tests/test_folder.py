"""The results folder: written as a whole, read as strictly as the scenario loader.

Each tampered file must make ``forcegen report`` refuse with exit 2 and a message naming the
file and the field (issue 13); writes replace one analysis's files together and keep the
others; a second writer is refused; a full disk is a clean error that leaves the old folder.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from forcegen.analysis import compare
from forcegen.analysis.require import require
from forcegen.analysis.rules import rotation_rules
from forcegen.api import simulate
from forcegen.cli import app
from forcegen.errors import UsageError
from forcegen.report import write_report
from forcegen.results_folder import (
    COMPARE_NAME,
    NETCDF_NAME,
    REQUIRE_NAME,
    RULES_NAME,
    SCENARIO_NAME,
    SENSITIVITY_NAME,
    SUMMARY_NAME,
    read_folder,
    replacing,
    write_results,
    write_summary,
)
from forcegen.scenario.loader import load

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "textbook-fixed-rotation.yaml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole results folder: a run (3 runs), a comparison, a sensitivity analysis, a
    requirement and a rules check."""
    path = tmp_path_factory.mktemp("whole") / "out"
    scenario = load(SCENARIO)
    results = simulate(scenario, runs=3, seed=1, keep_units=True)
    write_results(
        results.to_xarray(),
        results.summary(),
        path,
        results.per_run(),
        scenario_text=SCENARIO.read_text(encoding="utf-8"),
    )
    variant = scenario.model_copy(update={"name": "variant"})
    write_summary(compare([scenario, variant], runs=2).summary(), path)
    demand = scenario.demands[0].id
    found = require(
        scenario,
        field_path="units[0].count",
        demand=demand,
        days=0.5,
        probability=0.5,
        low=1,
        high=40,
        runs=2,
    )
    write_summary(found.summary(), path)
    write_summary(rotation_rules(results, scenario.rules).summary(), path)
    return path


def tampered(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    return copy


def refused(path: Path) -> str:
    """Run ``forcegen report`` on a folder; it must exit 2 without a traceback."""
    result = CliRunner().invoke(app, ["report", str(path)])
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert not (path / "report.html").exists()
    return " ".join(result.stderr.split())


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def edit_results(path: Path, change: Callable[[xr.Dataset], xr.Dataset]) -> None:
    ds = xr.load_dataset(path / NETCDF_NAME, engine="h5netcdf")
    (path / NETCDF_NAME).unlink()
    change(ds).to_netcdf(path / NETCDF_NAME, engine="h5netcdf")


def test_the_whole_folder_reads_and_reports(folder: Path) -> None:
    read = read_folder(folder)
    assert read.results is not None and read.meta is not None and read.scenario is not None
    assert read.compare and read.require and read.rules
    assert read.summary is not None and read.summary["run"]["runs"] == 3


# --- tampered files: each refused with exit 2, naming the file and the field -------------


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = key.split(".")
        target: Any = data
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()

JSON_CASES = [
    (SUMMARY_NAME, "demands", 5, "summary.json: field demands"),
    (SUMMARY_NAME, "demands.0.location", _DELETE, "summary.json: field demands.0.location"),
    (SUMMARY_NAME, "forces", ["a", "b"], "summary.json: field forces.0"),
    (SUMMARY_NAME, "version", 2, "summary.json: field version"),
    (SUMMARY_NAME, "run.runs", 7, "summary.json: field run.runs: says 7 run(s)"),
    (SUMMARY_NAME, "demands.0.days_fully_covered_mean", -3, "field demands.0.days_fully_covered"),
    (SUMMARY_NAME, "demands.0.days_fully_covered_mean", 1e9, "more than days_active"),
    (SUMMARY_NAME, "demands.0.coverage_mean", float("nan"), "field demands.0.coverage_mean"),
    (SUMMARY_NAME, "scenario.name", "another", "summary.json: field scenario.name"),
    (SUMMARY_NAME, "demands.0.id", "elsewhere", "summary.json: field demands.0.id"),
    (COMPARE_NAME, "quantiles", [], "compare.json: field quantiles"),
    (COMPARE_NAME, "rows.0.variant", "unlisted", "compare.json: field rows.0.variant"),
    (COMPARE_NAME, "rows.0.difference_q5", "much", "compare.json: field rows.0.difference_q5"),
    (COMPARE_NAME, "rows.0.share_of_runs_higher", 3, "compare.json: field rows.0.share_of"),
    (REQUIRE_NAME, "evaluations.0.share_of_runs_meeting_target", "x", "require.json: field"),
    (REQUIRE_NAME, "days", -1, "require.json: field days"),
    (RULES_NAME, "units.0.most_deployed_in_365d", "many", "rules.json: field units.0.most_dep"),
    (RULES_NAME, "breaches", {}, "rules.json: field breaches"),
]


@pytest.mark.parametrize(("name", "key", "value", "expected"), JSON_CASES)
def test_a_tampered_json_file_is_refused(
    folder: Path, tmp_path: Path, name: str, key: str, value: Any, expected: str
) -> None:
    path = tampered(folder, tmp_path)
    edit_json(path / name, _set(key, value))
    assert expected in refused(path)


def test_sensitivity_indices_must_be_numbers(tmp_path: Path) -> None:
    row = {"input": "units[0].count", "claims": "C1", "grades": "B2"}
    data = {
        "format": "forcegen-sensitivity",
        "version": 1,
        "scenario": "s",
        "output": "lost:blue:killed",
        "method": "sobol",
        "runs": 24,
        "description": "d",
        "inputs": [{**row, "S1": 0.5, "S1_conf": 0.1, "ST": 0.6, "ST_conf": None}],
    }
    write_summary(data, tmp_path)
    read_folder(tmp_path)  # as written, it is fine
    data["inputs"][0]["S1"] = "high"
    (tmp_path / SENSITIVITY_NAME).write_text(json.dumps(data))
    assert "sensitivity.json: field inputs.0.S1: expected a number or null" in refused(tmp_path)
    del data["inputs"][0]["S1"]
    (tmp_path / SENSITIVITY_NAME).write_text(json.dumps(data))
    assert "field inputs.0.S1: expected a number; it is missing" in refused(tmp_path)


def _meta(change: Callable[[dict[str, Any]], Any]) -> Callable[[xr.Dataset], xr.Dataset]:
    def edit(ds: xr.Dataset) -> xr.Dataset:
        meta = json.loads(ds.attrs["forcegen_meta"])
        ds.attrs["forcegen_meta"] = json.dumps(change(meta))
        return ds

    return edit


def _nan_strength(ds: xr.Dataset) -> xr.Dataset:
    ds["strength"][0, 0, 0, 0] = np.nan
    return ds


NETCDF_CASES = [
    (_meta(lambda m: [m]), "results.nc: attribute forcegen_meta: expected a JSON object"),
    (_meta(lambda m: {**m, "run": 5}), "attribute forcegen_meta: field run"),
    (lambda ds: ds.drop_vars("demand_location"), "results.nc: expected the results of forcegen"),
    (
        lambda ds: ds.assign(strength=ds.strength.transpose("run", "force", "day", "location")),
        "variable strength: expected dimensions",
    ),
    (lambda ds: ds.isel(day=slice(0, 0)), "results.nc: dimension day: expected at least one"),
    (lambda ds: ds.isel(run=slice(0, 2)), "field run.runs: says 3 run(s)"),
    (_nan_strength, "variable strength: expected finite numbers; found NaN"),
    (lambda ds: ds.assign(filled=ds.filled.astype(str)), "variable filled: expected numbers"),
    (lambda ds: ds.assign_coords(demand_location=("run", ds.run.values)), "demand_location"),
]


@pytest.mark.parametrize(("change", "expected"), NETCDF_CASES)
def test_a_tampered_netcdf_file_is_refused(
    folder: Path, tmp_path: Path, change: Callable[[xr.Dataset], xr.Dataset], expected: str
) -> None:
    path = tampered(folder, tmp_path)
    edit_results(path, change)
    message = refused(path)
    assert expected in message and "results.nc" in message


def test_a_scenario_copy_of_another_scenario_is_refused(folder: Path, tmp_path: Path) -> None:
    path = tampered(folder, tmp_path)
    other = ROOT / "scenarios" / "surge-policy-change.yaml"
    shutil.copy(other, path / SCENARIO_NAME)
    message = refused(path)
    assert "scenario.yaml: field name" in message and "another scenario" in message


# --- writing: one analysis replaced, the others kept, the stale report dropped -----------


def test_a_run_replaces_its_files_keeps_the_others_and_drops_the_report(
    folder: Path, tmp_path: Path
) -> None:
    path = tampered(folder, tmp_path)
    write_report(path)
    (path / ".summary.json.x.tmp").write_text("left by a killed writer")
    kept = {n: (path / n).read_bytes() for n in (COMPARE_NAME, REQUIRE_NAME, RULES_NAME)}
    result = CliRunner().invoke(app, ["run", str(SCENARIO), "-n", "2", "--out", str(path)])
    assert result.exit_code == 0, result.stderr
    read = read_folder(path)
    assert read.results is not None and read.results.sizes["run"] == 2
    assert {n: (path / n).read_bytes() for n in kept} == kept
    assert not (path / "report.html").exists() and not (path / "figures").exists()
    assert not (path / ".summary.json.x.tmp").exists()
    # An analysis written into the folder keeps the run and also drops the report.
    write_report(path)
    write_summary(json.loads((path / COMPARE_NAME).read_text()), path)
    assert (path / NETCDF_NAME).is_file() and not (path / "report.html").exists()


def test_an_empty_out_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["run", str(SCENARIO), "-n", "1"], ["rules", str(SCENARIO), "-n", "1"]):
        result = CliRunner().invoke(app, [*args, "--out", ""])
        assert result.exit_code == 2, result.stderr
        assert "--out: expected a folder name; found an empty one" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_too_long_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", str(SCENARIO), "-n", "1", "--out", str(tmp_path / ("x" * 300))]
    )
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "--out" in result.stderr


def test_a_second_writer_is_refused_while_the_first_writes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with replacing(out, ()) as new:
        (new / "marker").write_text("first")
        result = CliRunner().invoke(app, ["run", str(SCENARIO), "-n", "1", "--out", str(out)])
        assert result.exit_code == 2
        assert "another forcegen command is writing this folder" in result.stderr
        with pytest.raises(UsageError, match="another forcegen command"):
            write_summary({"format": "forcegen-rules"}, out)
    assert (out / "marker").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir() if "forcegen-new" in p.name] == []


def test_a_failed_write_leaves_the_old_folder(folder: Path, tmp_path: Path) -> None:
    path = tampered(folder, tmp_path)
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    with pytest.raises(RuntimeError), replacing(path, ()) as new:
        (new / SUMMARY_NAME).write_text("{}")
        raise RuntimeError("stop")
    assert {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if "forcegen-new" in p.name] == []


def _small_files() -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_full_disk_is_a_clean_error_and_leaves_the_old_folder(
    folder: Path, tmp_path: Path
) -> None:
    path = tampered(folder, tmp_path)
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from forcegen.cli import main; main()",
            "run",
            str(SCENARIO),
            "-n",
            "3",
            "--out",
            str(path),
        ],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_small_files,
        timeout=120,
    )
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "could not write" in run.stderr and "results.nc" in run.stderr
    assert "Traceback" not in run.stderr
    assert {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if "forcegen-new" in p.name] == []
