"""Speed and memory of explorations of ``scenarios/belarus-2023.yaml``.

What it measures
----------------
Each case runs in a fresh Python subprocess, so that peak memory figures do not mix, after
a warm-up (2 runs of the file: loads or compiles the numba functions, not timed):

* ``big run``: one ``forcegen.simulate`` of ``--big-runs`` runs (default: E × R, at most
  20,000, since its records grow with the runs), the reference throughput;
* ``explore E``: the factors of the file (every choice, every uncertain value over its
  support), a Latin hypercube design of about ``--experiments`` experiments (the choices'
  combinations × n points), ``--runs`` runs each, run by
  :func:`forcegen.analysis.executors.map_experiments` over threads in chunks of
  ``--chunk`` experiments; the frames are counted and dropped, as a store would after
  writing them. Run at E and at E / 4, for peak memory;
* ``dask 1`` and ``dask 2``: the same exploration of ``--dask-experiments`` experiments on
  a local Dask cluster of one and of two single-thread worker processes (cluster start
  included).

How to read the output
----------------------
``unit-days/s``: runs × units × days (units declared at the start) per second of wall time;
``vs big``: that of an exploration over that of the big run (issue 15 asks for at least
80%); ``peak MiB``: the subprocess's peak resident memory (``ru_maxrss``), which should
not grow with E; ``dask 2 / dask 1``: the speed-up of a second worker (asked: 1.6x).

Usage::

    python benchmarks/explore.py                  # 1,000 experiments x 100 runs (long)
    python benchmarks/explore.py --experiments 8 --runs 4 --dask-experiments 8  # a try
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "belarus-2023.yaml"


def _unit_days_per_run(scenario) -> int:
    from forcegen.compile import plan_sizes
    from forcegen.sampling import sample_scenario

    sample = sample_scenario(scenario, runs=1, seed=0, deterministic=True)
    sizes = plan_sizes(scenario, sample)
    return sizes.declared_units * sizes.horizon


def _exploration(experiments: int, runs: int):
    from forcegen.analysis.explore import Exploration, design, factors
    from forcegen.api import load

    scenario = load(SCENARIO)
    fs = factors(scenario)
    combos = 1
    for f in fs:
        combos *= max(1, len(f.options))
    rows = design(fs, n=max(1, experiments // combos), seed=0)
    return Exploration(scenario, fs, runs=runs, seed=0, choices={}), rows


def case(args: argparse.Namespace) -> dict:
    """One case, in this process; returns its figures."""
    import forcegen
    from forcegen.analysis.executors import map_experiments

    scenario = forcegen.load(SCENARIO)
    forcegen.simulate(scenario, runs=2, seed=0)  # warm-up
    per_run = _unit_days_per_run(scenario)
    t0 = time.perf_counter()
    if args.case == "big":
        forcegen.simulate(scenario, runs=args.big_runs, seed=0, n_jobs=args.jobs)
        total = args.big_runs
        label = f"big run ({args.big_runs:,} runs)"
    else:
        e = args.dask_experiments if args.case.startswith("dask") else args.size
        exploration, rows = _exploration(e, args.runs)
        t0 = time.perf_counter()
        if args.case.startswith("dask"):
            workers = int(args.case.split("-")[1])
            parts = map_experiments(
                exploration, rows, chunk=args.chunk, executor="dask", workers=workers
            )
            label = f"dask {workers} ({len(rows):,} x {args.runs})"
        else:
            parts = map_experiments(exploration, rows, chunk=args.chunk, n_jobs=args.jobs)
            label = f"explore {len(rows):,} x {args.runs}"
        total = 0
        for runs, _ in parts:
            total += len(runs)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": label, "wall": wall, "ud_s": total * per_run / wall, "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2, help="engine threads (threads cases)")
    parser.add_argument("--big-runs", type=int, default=None)
    parser.add_argument("--dask-experiments", type=int, default=200)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_runs is None:
        args.big_runs = min(args.experiments * args.runs, 20_000)
    if args.case is not None:
        print(json.dumps(case(args)))
        return
    common = [
        f"--runs={args.runs}",
        f"--chunk={args.chunk}",
        f"--jobs={args.jobs}",
        f"--big-runs={args.big_runs}",
        f"--dask-experiments={args.dask_experiments}",
    ]
    cases = [
        ("big", args.experiments),
        ("explore", args.experiments),
        ("explore", max(1, args.experiments // 4)),
        ("dask-1", 0),
        ("dask-2", 0),
    ]
    got = {}
    print(f"{'case':<34} {'wall s':>8} {'unit-days/s':>14} {'vs big':>7} {'peak MiB':>9}")
    for name, size in cases:
        out = subprocess.run(
            [sys.executable, __file__, f"--case={name}", f"--size={size}", *common],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        got[(name, size)] = row
        big = got.get(("big", args.experiments))
        ratio = f"{row['ud_s'] / big['ud_s']:.0%}" if big and name != "big" else ""
        print(
            f"{row['case']:<34} {row['wall']:>8.2f} {row['ud_s']:>14,.0f} {ratio:>7} "
            f"{row['peak_mib']:>9,.0f}"
        )
    one, two = got.get(("dask-1", 0)), got.get(("dask-2", 0))
    if one and two:
        print(f"dask 2 / dask 1: {two['ud_s'] / one['ud_s']:.2f}x")


if __name__ == "__main__":
    main()
