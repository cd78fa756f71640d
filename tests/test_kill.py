"""Kill tests: a results folder killed mid-write is the whole old folder or the whole new one.

Writers are killed with SIGKILL at seeded random moments: forked children for many cheap
kills during the write itself, and the real ``forcegen`` command in a subprocess for a few.
After each kill the folder must read back whole (``summary.json``, ``results.nc`` and
``runs.parquet`` of one run), and the next write must succeed and clean what was left.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from forcegen.api import simulate
from forcegen.report import write_report
from forcegen.results import Results
from forcegen.results_folder import RUNS_PARQUET, read_folder, write_results
from forcegen.scenario.loader import load

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "textbook-fixed-rotation.yaml"
OLD, NEW = 2, 5
CLI = [sys.executable, "-c", "from forcegen.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")


@pytest.fixture(scope="module")
def runs() -> dict[int, Results]:
    scenario = load(SCENARIO)
    return {n: simulate(scenario, runs=n, seed=0) for n in (OLD, NEW)}


def write(results: Results, out: Path) -> None:
    write_results(
        results.to_xarray(),
        results.summary(),
        out,
        results.per_run(),
        scenario_text=SCENARIO.read_text(encoding="utf-8"),
    )


def whole(out: Path) -> int:
    """The runs of a folder that reads back whole; fails on a mixed folder."""
    read = read_folder(out)  # checks summary.json against results.nc
    assert read.results is not None and read.summary is not None
    n = read.results.sizes["run"]
    assert read.summary["run"]["runs"] == n
    assert len(pd.read_parquet(out / RUNS_PARQUET)) == n
    return n


def leftovers(out: Path) -> list[str]:
    return [p.name for p in out.parent.iterdir() if re.search(r"forcegen-(new|old)-", p.name)]


def kill_at(work: Callable[[], None], delay: float) -> int:
    """Run ``work`` in a forked child, SIGKILL it after ``delay`` seconds; its exit status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            work()
        finally:
            os._exit(0)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_a_run_killed_while_writing_leaves_the_old_or_the_new_folder(
    runs: dict[int, Results], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write(runs[OLD], out)
    began = time.perf_counter()
    write(runs[NEW], out)
    span = time.perf_counter() - began
    rng = random.Random(13)
    seen = set()
    for _ in range(12):
        write(runs[OLD], out)
        kill_at(lambda: write(runs[NEW], out), rng.uniform(0, 1.5 * span))
        seen.add(whole(out))
    assert seen <= {OLD, NEW}
    write(runs[NEW], out)  # the next write succeeds and cleans what the kills left
    assert whole(out) == NEW and leftovers(out) == []


def _run(out: Path, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "run", str(SCENARIO), "-n", str(n), "--out", str(out)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_the_run_command_killed_at_random_moments(runs: dict[int, Results], tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(runs[OLD], out)
    began = time.perf_counter()
    done = _run(out, NEW)
    assert done.wait(timeout=120) == 0, done.stderr.read() if done.stderr else ""
    span = time.perf_counter() - began
    assert whole(out) == NEW
    rng = random.Random(7)
    for _ in range(3):
        write(runs[OLD], out)
        proc = _run(out, NEW)
        time.sleep(rng.uniform(0.6 * span, 1.1 * span))
        proc.kill()
        proc.wait(timeout=60)
        assert whole(out) in (OLD, NEW)
    write(runs[NEW], out)
    assert whole(out) == NEW and leftovers(out) == []


def test_two_writers_into_one_folder_never_mix(runs: dict[int, Results], tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(runs[OLD], out)
    procs = [_run(out, OLD + 1), _run(out, NEW)]
    for proc in procs:
        code = proc.wait(timeout=120)
        message = proc.stderr.read().decode() if proc.stderr else ""
        assert code == 0 or (code == 2 and "another forcegen command is writing" in message), (
            code,
            message,
        )
    assert whole(out) in (OLD + 1, NEW)
    assert leftovers(out) == []


def _report_is_whole(out: Path) -> str:
    """``old`` for the planted old report, ``new`` for a new one whose figures are exactly
    those its page shows."""
    html = (out / "report.html").read_text(encoding="utf-8")
    figures = sorted(p.name for p in (out / "figures").iterdir())
    if html == "OLD REPORT":
        assert figures == ["old.png"]
        return "old"
    shown = sorted(set(re.findall(r"figures/([\w.-]+\.png)", html)))
    assert shown and figures == shown
    return "new"


def test_a_report_killed_while_writing_leaves_the_old_or_the_new_report(
    runs: dict[int, Results], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write(runs[OLD], out)
    began = time.perf_counter()
    write_report(out)
    span = time.perf_counter() - began
    rng = random.Random(29)
    seen = set()
    for _ in range(6):
        (out / "report.html").write_text("OLD REPORT", encoding="utf-8")
        for png in (out / "figures").iterdir():
            png.unlink()
        (out / "figures" / "old.png").write_bytes(b"old")
        kill_at(lambda: write_report(out), rng.uniform(0.5 * span, 1.8 * span))
        seen.add(_report_is_whole(out))
        assert whole(out) == OLD
    write_report(out)
    assert _report_is_whole(out) == "new" and leftovers(out) == []
