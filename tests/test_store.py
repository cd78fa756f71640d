"""The run store: schema and reader, append and resume, refusals, and the kill test.

The first tests write synthetic chunks of the documented shapes straight through
:func:`forcegen.store.writer`; the last ones run ``forcegen explore`` itself, and kill it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

import forcegen.store as store
from forcegen.cli import app
from forcegen.errors import UsageError

duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from forcegen.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


@dataclass(frozen=True)
class Factor:  # the attributes the writer reads of forcegen.analysis.explore.Factor
    name: str
    kind: str
    source: str
    options: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    measure: str = ""
    cites: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()


FACTORS = (
    Factor("choice:ru-in-belarus", "choice", "choice", ("hur", "isw"), cites=("c1", "c2"),
           grades=("B2", "C3")),
    Factor("units[ru-bn].count", "value", "uncertain", low=10.0, high=20.0, measure="units",
           cites=("c1",), grades=("B2",)),
    Factor('odd "name"', "value", "assumption", low=0.5, high=1.5, measure="fraction"),
)  # fmt: skip
META = {
    "fingerprint": "f" * 64,
    "scenario": "synthetic",
    "scenario_text": "name: synthetic\n",
    "settings": {"runs": 4, "seed": 0, "choices": "all", "uncertain": "support"},
    "design_method": "lhs",
    "design_n": 3,
    "design_seed": 0,
}
RUNS = 4
OUTCOMES = ("coverage:front", "days_fully_covered:front", "lost:RU:killed")


def design(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "experiment": np.arange(n, dtype="int64"),
            "key": [f"key-{e}" for e in range(n)],
            "choice:ru-in-belarus": ["hur", "isw"] * (n // 2),
            "units[ru-bn].count": rng.uniform(10, 20, n),
            'odd "name"': rng.uniform(0.5, 1.5, n),
        }
    )


def results(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and summaries of the documented shapes, a pure function of the experiments."""
    runs, summaries = [], []
    for e in rows["experiment"]:
        rng = np.random.default_rng(int(e))
        frame = pd.DataFrame(
            {
                "experiment": np.full(RUNS, e, dtype="int64"),
                "run": np.arange(RUNS, dtype="int64"),
                "coverage:front": rng.random(RUNS),
                "days_fully_covered:front": rng.integers(0, 100, RUNS),
                "lost:RU:killed": rng.random(RUNS) * 1e3,
            }
        )
        runs.append(frame)
        summary = {"experiment": int(e)}
        for x in OUTCOMES:
            summary |= {
                f"{x}:mean": float(frame[x].mean()),
                f"{x}:q05": float(frame[x].quantile(0.05)),
                f"{x}:q50": float(frame[x].quantile(0.5)),
                f"{x}:q95": float(frame[x].quantile(0.95)),
            }
        summary["p_full:front"] = float((frame["coverage:front"] > 0.5).mean())
        summaries.append(summary)
    return pd.concat(runs, ignore_index=True), pd.DataFrame(summaries)


def fill(path: Path, rows: pd.DataFrame, chunk: int = 2, meta: dict | None = None) -> int:
    """Write the experiments of ``rows`` not yet in the store, ``chunk`` at a time."""
    with store.writer(path, meta=meta or META, factors=FACTORS) as w:
        done = w.done()
        pairs = zip(rows["experiment"], rows["key"], strict=True)
        todo = rows[[(e, k) not in done for e, k in pairs]]
        for start in range(0, len(todo), chunk):
            part = todo.iloc[start : start + chunk]
            w.write(part, *results(part))
    return len(todo)


def test_schema_and_reader(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    rows = design()
    assert fill(path, rows) == len(rows)
    with store.open(path) as s:
        assert s.meta["schema_version"] == store.SCHEMA_VERSION
        assert s.meta["fingerprint"] == META["fingerprint"]
        assert s.meta["settings"] == META["settings"]
        assert s.meta["design_n"] == 3 and s.meta["scenario_text"] == META["scenario_text"]
        factors = s.factors()
        assert list(factors["name"]) == [f.name for f in FACTORS]
        assert factors["options"][0] == ("hur", "isw") and factors["grades"][0] == ("B2", "C3")
        assert factors["low"][1] == 10.0 and pd.isna(factors["low"][0])
        assert not factors["whole"].any() and list(factors["position"]) == [0, 1, 2]
        experiments = s.experiments()
        pd.testing.assert_frame_equal(experiments, rows)
        runs, summaries = results(rows)
        pd.testing.assert_frame_equal(s.runs(), runs)
        pd.testing.assert_frame_equal(s.summaries(), summaries)
        pd.testing.assert_frame_equal(
            s.runs([1, 4]), runs[runs["experiment"].isin([1, 4])].reset_index(drop=True)
        )
        assert s.sql("SELECT count(*) AS n FROM runs")["n"][0] == len(rows) * RUNS
        seen = s.overview()
    assert seen["experiments"] == len(rows) and seen["runs"] == len(rows) * RUNS
    mean = summaries["coverage:front:mean"]
    assert seen["outcomes"]["coverage:front"] == {"min": mean.min(), "max": mean.max()}
    share = (summaries["p_full:front"] >= 0.9).mean()
    assert seen["full_cover"]["demands"] == {"front": share}
    assert seen["full_cover"]["every_demand"] == share
    # plain SQL reads it too, with every table of the documented layout
    with duckdb.connect(str(path), read_only=True) as con:
        names = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert names == set(store.TABLES)


def test_append_and_resume_skip_done_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    rows = design(8)
    rows.loc[3, "key"] = rows.loc[2, "key"]  # two points of equal values have equal keys
    assert fill(path, rows.iloc[:3]) == 3
    assert fill(path, rows) == 5  # the first three are skipped, not the fourth
    assert fill(path, rows) == 0
    with store.open(path) as s:
        assert list(s.experiments()["experiment"]) == list(range(8))
        assert len(s.runs()) == 8 * RUNS and not s.runs().duplicated(["experiment", "run"]).any()
    # writing an experiment twice is a bug, refused whole
    with store.writer(path, meta=META, factors=FACTORS) as w, pytest.raises(ValueError):
        part = rows.iloc[6:8]
        w.write(part, *results(part))


def test_a_failed_chunk_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    rows = design(4)
    fill(path, rows.iloc[:2])
    part = rows.iloc[2:4]
    runs, summaries = results(part)
    bad = summaries.drop(columns="p_full:front")
    with (
        store.writer(path, meta=META, factors=FACTORS) as w,
        pytest.raises(ValueError, match="columns"),
    ):
        w.write(part, runs, bad)
    with store.open(path) as s:
        assert len(s.experiments()) == 2 and len(s.runs()) == 2 * RUNS


def test_another_exploration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    fill(path, design(2))
    other = {
        **META,
        "fingerprint": "e" * 64,
        "settings": {**META["settings"], "runs": 8},
        "design_n": 5,
    }
    with pytest.raises(UsageError, match="another exploration") as caught:
        store.writer(path, meta=other, factors=FACTORS)
    assert "runs (4 then, 8 now)" in str(caught.value)
    assert "design_n (3 then, 5 now)" in str(caught.value)
    text = {**META, "fingerprint": "d" * 64, "scenario_text": "name: other\n"}
    with pytest.raises(UsageError, match="the scenario's text"):
        store.writer(path, meta=text, factors=FACTORS)
    with store.open(path) as s:  # untouched
        assert s.meta["fingerprint"] == META["fingerprint"] and len(s.experiments()) == 2
    # the same exploration written otherwise (a comment, a lever by index) adds to it
    same = {**META, "scenario_text": "# a comment\n" + META["scenario_text"]}
    same["settings"] = {**META["settings"], "levers": ["units[0].count=10..20"]}
    assert fill(path, design(4), meta=same) == 2
    with store.open(path) as s:  # the meta of the first run stays
        assert s.meta["scenario_text"] == META["scenario_text"] and len(s.experiments()) == 4


def test_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such run store"):
        store.open(tmp_path / "missing.duckdb")
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database\n" * 100)
    for attempt in (lambda: store.open(junk), lambda: store.writer(junk, meta=META, factors=())):
        with pytest.raises(UsageError, match="not a forcegen run store"):
            attempt()
    assert junk.read_text().startswith("not a database")
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(UsageError, match="no 'meta' table"):
        store.open(foreign)
    with pytest.raises(UsageError, match="not a forcegen run store"):
        store.writer(foreign, meta=META, factors=FACTORS)
    with pytest.raises(UsageError, match="is a folder"):
        store.writer(tmp_path, meta=META, factors=FACTORS)
    with pytest.raises(UsageError, match="does not exist"):
        store.writer(tmp_path / "no" / "s.duckdb", meta=META, factors=FACTORS)
    newer = tmp_path / "newer.duckdb"
    fill(newer, design(2))
    with duckdb.connect(str(newer)) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(UsageError, match="version 99, newer"):
        store.open(newer)
    with pytest.raises(UsageError, match="version 99"):
        store.writer(newer, meta=META, factors=FACTORS)


def test_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    fill(path, design(2))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(path)!r})\nprint('held', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match=f"another forcegen is writing to {path}"):
            store.writer(path, meta=META, factors=FACTORS)
        with pytest.raises(UsageError, match="another forcegen is writing"):
            store.open(path)
    finally:
        holder.kill()
        holder.wait()
    assert fill(path, design(4)) == 2  # and the store is whole afterwards


# --- forcegen explore itself ----------------------------------------------------------------

SCENARIO = ROOT / "scenarios" / "textbook-fixed-rotation.yaml"
EXPLORE = ["explore", str(SCENARIO), "--lever", "units[blue-bn].count=6..12", "--runs", "3"]


def explore_here(store_path: Path, *args: str) -> Result:
    """``forcegen explore`` in this process (no start-up cost)."""
    return CliRunner().invoke(app, [*EXPLORE, "--store", str(store_path), *args])


def explore(store_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``forcegen explore`` in a process of its own."""
    return subprocess.run(
        [*CLI, *EXPLORE, "--store", str(store_path), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )


def tables_of(path: Path) -> dict[str, pd.DataFrame]:
    with store.open(path) as s:
        meta = pd.DataFrame(sorted(s.sql("SELECT * FROM meta").itertuples(index=False)))
        return {
            "meta": meta,
            "factors": s.sql("SELECT * FROM factors ORDER BY position"),
            "experiments": s.experiments(),
            "runs": s.runs(),
            "summaries": s.summaries(),
        }


def assert_whole(path: Path) -> int:
    """The experiments of a store, checked whole: each has all its runs and its summary."""
    with store.open(path) as s:
        experiments = s.experiments()["experiment"]
        runs = s.runs()
        summaries = s.summaries()["experiment"]
    assert not runs.duplicated(["experiment", "run"]).any()
    assert list(summaries) == list(experiments)
    per = runs.groupby("experiment")["run"].apply(list)
    assert list(per.index) == list(experiments)
    assert all(r == [0, 1, 2] for r in per)
    return len(experiments)


def test_explore_command_bad_input_leaves_no_store(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    for bad in (
        ["--lever", "units[nope].count=1..2"],
        ["--choices", "nope"],
        ["--widen-assumptions", "150%"],
        ["--scheduler", "nowhere"],
        ["--choose", "a=b"],
    ):
        done = explore_here(path, *bad)
        assert done.exit_code == 2, (bad, done.output)
        assert "error:" in done.stderr and "Traceback" not in done.output
        assert not path.exists() and not list(tmp_path.iterdir()), bad


def test_explore_kill_and_resume_is_bit_for_bit(tmp_path: Path) -> None:
    """SIGKILL ``forcegen explore`` at random moments after it has written some chunks,
    several times, then finish it: the store equals an uninterrupted run's, bit for bit.

    The uninterrupted run and the last one run in this process (the first also warms
    numba's cache for the others); the killed ones each in a process of their own.
    """
    points = ["--points", "60"]
    reference = tmp_path / "reference.duckdb"
    done = explore_here(reference, *points, "--chunk", "4", "--format", "json")
    assert done.exit_code == 0, done.output
    assert '"run": 60' in done.stdout
    total = assert_whole(reference)
    assert total == 60

    path = tmp_path / "killed.duckdb"
    wal = path.with_name(path.name + ".wal")
    rng = random.Random(15)
    seen = [0]
    for _ in range(3):
        process = subprocess.Popen(
            [*CLI, *EXPLORE, "--store", str(path), *points, "--chunk", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        # wait for a chunk to be committed: DuckDB's log grows past what creating or
        # opening the store wrote
        deadline = time.monotonic() + 120
        first = None
        while time.monotonic() < deadline and process.poll() is None:
            size = wal.stat().st_size if wal.exists() else None
            if first is None:
                first = size
            elif size is not None and size > first:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 1.0))
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL  # killed, not finished
        seen.append(assert_whole(path))
    assert seen == sorted(seen) and 0 < seen[-1] < total, seen  # some stored, none lost

    done = explore_here(path, *points, "--chunk", "2", "--format", "json")
    assert done.exit_code == 0, done.output
    assert f'"skipped": {seen[-1]}' in done.stdout
    assert assert_whole(path) == total
    got, want = tables_of(path), tables_of(reference)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)


def test_explore_refuses_a_second_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    assert explore_here(path, "--points", "2").exit_code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, time\n"
         f"con = duckdb.connect({str(path)!r})\nprint('held', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = explore_here(path, "--points", "2")
        assert done.exit_code == 2
        assert f"another forcegen is writing to {path}" in " ".join(done.stderr.split())
    finally:
        holder.kill()
        holder.wait()
    done = explore_here(path, "--points", "3")
    assert done.exit_code == 2 and "design_n (2 then, 3 now)" in " ".join(done.stderr.split())
