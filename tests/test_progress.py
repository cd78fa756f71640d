"""Progress and notices on stderr: plain lines in logs, callbacks from the analyses, one line
when the engine compiles, and a clear message when an optional extra is missing."""

from __future__ import annotations

import importlib
import io
import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import build, merge
from rich.console import Console
from typer.testing import CliRunner

import forcegen
from forcegen import progress as progress_module
from forcegen.analysis import compare, require, sensitivity
from forcegen.cli import COMPILING, app
from forcegen.engine import compiling
from forcegen.progress import reporting

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TEXTBOOK = SCENARIOS / "textbook-fixed-rotation.yaml"
READY = SCENARIOS / "demand-driven-ready-pool.yaml"


def _plain_console(stream: io.StringIO) -> Console:
    return Console(file=stream, force_terminal=False, markup=False, emoji=False)


def test_plain_lines_at_most_every_interval_then_a_last_line():
    stream = io.StringIO()
    with reporting("simulating", "runs", _plain_console(stream), interval=0.0) as progress:
        for done in range(0, 101, 25):
            progress(done, 100)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "simulating: 0 of 100 runs (0%)"
    assert lines[-1] == "simulating: 100 of 100 runs (100%)"
    assert "simulating: 50 of 100 runs (50%)" in lines
    assert len(lines) == len(set(lines))  # the last line is not written twice


def test_quick_work_prints_nothing_and_unknown_totals_are_counted():
    quiet = io.StringIO()
    with reporting("simulating", "runs", _plain_console(quiet), interval=60.0) as progress:
        progress(1, 2)
        progress(2, 2)
    assert quiet.getvalue() == ""
    counted = io.StringIO()
    with reporting("searching", "values tried", _plain_console(counted), interval=0.0) as p:
        p(3, None)
    assert counted.getvalue().splitlines()[-1] == "searching: 3 values tried"


def test_run_shows_plain_progress_on_stderr_and_keeps_json_clean(monkeypatch):
    monkeypatch.setattr(progress_module, "INTERVAL", 0.0)
    result = CliRunner().invoke(app, ["run", str(TEXTBOOK), "-n", "150", "-f", "json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # nothing but the summary on stdout
    assert "simulating: 150 of 150 runs (100%)" in result.stderr.splitlines()


def test_a_warm_engine_prints_no_compile_line(monkeypatch):
    forcegen.simulate(TEXTBOOK, runs=2)  # compiled (or loaded) in this process already
    monkeypatch.setattr(progress_module, "INTERVAL", 0.0)
    result = CliRunner().invoke(app, ["run", str(TEXTBOOK), "-n", "5"])
    assert result.exit_code == 0, result.output
    assert "compiling" not in result.stderr and COMPILING not in result.output


def test_compiling_is_said_once_when_numba_compiles_and_not_when_it_loads(tmp_path):
    # A tiny jitted function with a cache of its own: the first import compiles it, a fresh
    # import of the same file loads it from that cache.
    (tmp_path / "tiny_jitted.py").write_text(
        textwrap.dedent(
            """
            import numba

            @numba.njit(cache=True)
            def twice(x):
                return 2 * x

            @numba.njit(cache=True)
            def four_times(x):
                return twice(twice(x))
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        said: list[str] = []
        first = importlib.import_module("tiny_jitted")
        with compiling(lambda: said.append("compiling")):
            assert first.four_times(3) == 12
        assert said == ["compiling"]  # once, though two functions compiled
        del sys.modules["tiny_jitted"]
        again = importlib.import_module("tiny_jitted")
        with compiling(lambda: said.append("again")):
            assert again.four_times(3) == 12
        assert said == ["compiling"]  # loaded from the cache: nothing said
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("tiny_jitted", None)


def test_compare_reports_runs_of_every_scenario():
    seen: list[tuple[int, int]] = []
    compare([TEXTBOOK, TEXTBOOK], runs=70, progress=lambda d, t: seen.append((d, t)))
    assert {t for _, t in seen} == {140}
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (140, 140)


def test_require_reports_each_value_tried():
    seen: list[tuple[int, int | None]] = []
    found = require(
        forcegen.load(READY),
        field_path="units[0].count",
        demand="front-line",
        probability=1.0,
        low=1,
        high=12,
        deterministic=True,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(i + 1, None) for i in range(len(found.evaluations))]


def test_sensitivity_reports_rows_of_the_sample():
    seen: list[tuple[int, int]] = []
    scenario = build(
        "<string>",
        name="sens",
        horizon="30d",
        locations=[{"id": "front", "attrition": {"killed": {"uniform": [0.001, 0.002]}}},
                   {"id": "home"}],
        demands=merge([{"people": 900}]),
    )  # fmt: skip
    found = sensitivity(
        scenario, output="lost:blue:killed", n=8, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (found.runs, found.runs)
    assert all(t == found.runs for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


SENSITIVITY = ["sensitivity", str(TEXTBOOK), "--output", "x"]


@pytest.mark.parametrize(
    ("package", "modules", "args", "extra"),
    [
        ("SALib", ["forcegen.analysis.sensitivity"], SENSITIVITY, "sensitivity"),
        ("matplotlib", ["forcegen.report.page", "forcegen.report.png"], ["report", "{folder}"],
         "report"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_named_with_its_pip_command(
    monkeypatch, tmp_path, package, modules, args, extra
):
    if "{folder}" in args:  # a results folder to draw, written before the extra goes missing
        done = CliRunner().invoke(app, ["run", str(TEXTBOOK), "-n", "2", "--out", str(tmp_path)])
        assert done.exit_code == 0, done.output
        args = [str(tmp_path) if a == "{folder}" else a for a in args]
    monkeypatch.setitem(sys.modules, package, None)  # importing it now fails
    for name in modules + [m for m in sys.modules if m.startswith(f"{package}.")]:
        monkeypatch.delitem(sys.modules, name, raising=False)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert f"pip install 'forcegen[{extra}]'" in lines[0] and package in lines[0]
