"""Throughput and memory of the forcegen engine on synthetic scenarios and the Belarus example.

What it measures
----------------
For each size (runs × units × horizon) a synthetic scenario is built from YAML text: one
force, a group on a fixed 30 d front / 30 d rear / 30 d home rotation (four fifths of the
units) with attrition at the front (killed, and wounded of whom a share returns after a
recovery time) and lighter attrition in the rear, a demand-driven group (the other fifth:
reset, train, wait ready, pulled to the front for 90 days) and one demand for people at the
front, capped for the force, larger than the fixed rotation supplies so that ready units are
pulled. Then ``scenarios/belarus-2023.yaml`` is timed with ``--belarus-runs`` stochastic runs
(the file is loaded when the case runs; if it does not load, the error is printed and the
benchmark goes on).

Every case (size × mode) runs in a fresh Python subprocess, so that peak memory figures do
not mix. In it:

1. a warm-up: ``forcegen.simulate`` on the same scenario with a 30-day horizon and 2 runs
   (the Belarus file: 2 runs of the file itself). This loads or compiles the numba
   functions; its time is reported in ``warm-up s`` and excluded from the rest;
2. the timed call: ``forcegen.simulate(scenario, runs=, seed=0, deterministic=, n_jobs=)``,
   the public API, end to end: compiling the plan, the engine, and labelling the records as
   an ``xarray.Dataset``. Deterministic mode always makes one run, so it is repeated (up to
   20 times or about 2 s) and ``wall s`` is the mean of one call.

How to read the output
----------------------
* ``unit-days``: runs × units × days simulated by one call (units counted at the start).
* ``unit-days/s``: unit-days divided by ``wall s``; the headline throughput.
* ``engine s`` and ``engine ud/s``: the same work timed in the engine alone
  (``forcegen.engine.simulate_plan`` on the compiled plan: no sampling of uncertain values,
  no compiling of the plan, no labelling of results), mean of repeated calls in
  deterministic mode. In deterministic mode a call is one run, so the difference from
  ``wall s`` is the fixed cost of a call.
* ``people/day`` (people present, summed over locations, mean over runs and days) and
  ``lost/run`` (people lost by every cause, mean per run) are sanity figures: a row whose
  engine recorded nothing is flagged, since its timing would mean nothing. Stochastic and
  deterministic rows of one size should show similar values.
* ``base MiB``: resident memory of the subprocess after the warm-up (Python, numpy, numba,
  xarray loaded); ``peak MiB``: its peak resident memory (``ru_maxrss``) over the whole
  subprocess; their difference is roughly what the timed call needed at its peak. If
  forcegen uses worker processes (``--jobs N > 1`` with a process-based engine), a
  ``workers MiB`` column gives the largest worker's peak (``-``: no child processes);
  threads count in ``peak``.

Run from the repository root::

    python benchmarks/engine.py             # every size (a few minutes on 2 cores)
    python benchmarks/engine.py --quick     # a small subset
    python benchmarks/engine.py --jobs 2    # n_jobs=2 for forcegen.simulate
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BELARUS = ROOT / "scenarios" / "belarus-2023.yaml"

FULL_SIZES = list(itertools.product((100, 1000), (30, 300), (365, 1095)))
QUICK_SIZES = [(100, 30, 365), (100, 300, 365), (1000, 30, 365)]
STRENGTH = 500


def scenario_text(units: int, horizon: int) -> str:
    """A synthetic scenario of ``units`` units over ``horizon`` days."""
    ready = max(1, units // 5)
    fixed = units - ready
    people = units * STRENGTH
    required = int(0.4 * people)  # the fixed rotation keeps about 0.27 of all people in front
    cap = int(0.45 * people)
    return f"""\
forcegen: 1
name: engine benchmark, {units} units, {horizon} days
start: 2023-01-01
horizon: {horizon}d
forces: [{{id: blue}}]
unit_types: [{{id: infantry-bn}}]
locations:
  - id: front
    attrition: {{killed: 1%/mo, wounded: 3%/mo, return_share: 0.5, recovery: 45d}}
  - id: rear
    attrition: {{killed: 0.1%/mo, wounded: 0.3%/mo, return_share: 0.8, recovery: 20d}}
  - {{id: home}}
policies:
  - id: fixed
    positions:
      - {{name: front, location: front, duration: 30d, deployed: true}}
      - {{name: rear, location: rear, duration: 30d}}
      - {{name: home, location: home, duration: 30d}}
  - id: ready-cycle
    min_dwell: 60d
    positions:
      - {{name: reset, location: home, duration: 40d}}
      - {{name: train, location: home, duration: 20d}}
      - {{name: ready, location: home, ready: true, pull_to: deployed}}
      - {{name: deployed, location: front, duration: 90d, deployed: true, next: reset}}
units:
  - {{id: rot, force: blue, type: infantry-bn, count: {fixed}, strength: {STRENGTH},
     policy: fixed}}
  - {{id: rdy, force: blue, type: infantry-bn, count: {ready}, strength: {STRENGTH},
     policy: ready-cycle, start: ready}}
demands:
  - id: front-line
    location: front
    people: {required}
    fill: {{forces: [blue], caps: {{blue: {cap}}}}}
"""


# -- the child: one case in a fresh process ------------------------------------------------


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def child(case: dict) -> dict:
    import forcegen
    from forcegen.scenario.loader import loads

    deterministic = case["mode"] == "deterministic"
    jobs = case["jobs"]
    if case["scenario"] == "synthetic":
        scenario = loads(scenario_text(case["units"], case["days"]))
        small = loads(scenario_text(case["units"], 30))
    else:
        try:
            scenario = forcegen.load(case["scenario"])
        except Exception as exc:  # a file being edited: report and go on
            return {"error": f"{type(exc).__name__}: {exc}"}
        small = scenario

    start = time.perf_counter()
    forcegen.simulate(small, runs=2, seed=0, deterministic=deterministic)
    warm = time.perf_counter() - start
    base = _rss_mib()

    repeats, total = 0, 0.0
    while True:
        start = time.perf_counter()
        results = forcegen.simulate(
            scenario, runs=case["runs"], seed=0, deterministic=deterministic, n_jobs=jobs
        )
        total += time.perf_counter() - start
        repeats += 1
        if not deterministic or total > 2.0 or repeats >= 20:
            break
    ds = results.to_xarray()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The engine alone on the same plan (no sampling, compiling or labelling): what a
    # deterministic call costs beyond its fixed costs, and the kernel's share of a
    # stochastic one.
    from forcegen.compile import compile_plan
    from forcegen.engine import simulate_plan
    from forcegen.sampling import sample_scenario

    runs = 1 if deterministic else case["runs"]
    sample = sample_scenario(scenario, runs=runs, seed=0, deterministic=deterministic)
    plan = compile_plan(scenario, sample)
    engine_repeats, engine_total = 0, 0.0
    while True:
        start = time.perf_counter()
        simulate_plan(plan, runs=runs, seed=0, deterministic=deterministic, n_jobs=jobs)
        engine_total += time.perf_counter() - start
        engine_repeats += 1
        if not deterministic or engine_total > 2.0 or engine_repeats >= 200:
            break
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "runs": int(ds.sizes["run"]),
        "units": int(ds.sizes["unit"]),
        "days": int(ds.sizes["day"]),
        "warm": warm,
        "wall": total / repeats,
        "repeats": repeats,
        "engine": engine_total / engine_repeats,
        "base": base,
        "peak": peak,
        "workers": workers if workers > 0 else None,
        # Sanity figures: a timing means nothing if the engine did not do the work.
        "people": float(ds.strength.sum(("force", "location")).mean()),
        "lost": float(ds.losses.sum(("day", "force", "cause")).mean()),
    }


def run_case(case: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(case)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"subprocess exited {proc.returncode}: {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the parent: cases, table --------------------------------------------------------------

COLUMNS = (
    ("scenario", "<", 18),
    ("mode", "<", 14),
    ("runs", ">", 6),
    ("units", ">", 6),
    ("days", ">", 6),
    ("unit-days", ">", 14),
    ("warm-up s", ">", 10),
    ("wall s", ">", 10),
    ("unit-days/s", ">", 15),
    ("engine s", ">", 10),
    ("engine ud/s", ">", 15),
    ("base MiB", ">", 9),
    ("peak MiB", ">", 9),
    ("workers MiB", ">", 12),
    ("people/day", ">", 12),
    ("lost/run", ">", 10),
)


def _row(values: list[str]) -> str:
    return "".join(f"{v:{a}{w}}" for v, (_, a, w) in zip(values, COLUMNS, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small subset of sizes")
    parser.add_argument("--jobs", type=int, default=1, help="forcegen n_jobs (default 1)")
    parser.add_argument("--belarus-runs", type=int, default=1000)
    parser.add_argument("--scenario", default=str(BELARUS), help="example scenario to time")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    import numba
    import numpy as np

    import forcegen

    print("forcegen engine benchmark")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__},"
        f" forcegen {forcegen.__version__}; {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs; jobs {args.jobs}"
    )
    print("each row: a fresh subprocess; seed 0; deterministic mode always makes one run")
    print()
    cases = []
    for runs, units, days in QUICK_SIZES if args.quick else FULL_SIZES:
        for mode in ("stochastic", "deterministic"):
            cases.append(
                {"scenario": "synthetic", "runs": runs, "units": units, "days": days, "mode": mode}
            )
    cases.append({"scenario": args.scenario, "runs": args.belarus_runs, "mode": "stochastic"})

    headers = [c[0] for c in COLUMNS]
    print(_row(headers))
    width = sum(w for _, _, w in COLUMNS)
    print("-" * width)
    errors = []
    for case in cases:
        case["jobs"] = args.jobs
        name = "synthetic" if case["scenario"] == "synthetic" else Path(case["scenario"]).name
        out = run_case(case)
        if "error" in out:
            print(f"{name:<18}{case['mode']:<14}  ERROR: {out['error']}", flush=True)
            errors.append(name)
            continue
        work = out["runs"] * out["units"] * out["days"]
        wall = f"{out['wall']:.3f}" + ("*" if out["repeats"] > 1 else "")
        line = _row(
            [
                name,
                case["mode"],
                f"{out['runs']:,}",
                f"{out['units']:,}",
                f"{out['days']:,}",
                f"{work:,}",
                f"{out['warm']:.2f}",
                wall,
                f"{work / out['wall']:,.0f}",
                f"{out['engine']:.4f}",
                f"{work / out['engine']:,.0f}",
                f"{out['base']:.0f}",
                f"{out['peak']:.0f}",
                "-" if out["workers"] is None else f"{out['workers']:.0f}",
                f"{out['people']:,.0f}",
                f"{out['lost']:,.0f}",
            ]
        )
        if out["people"] <= 0:
            line += "  <- no people recorded: the engine did not run as expected"
            errors.append(name)
        print(line, flush=True)
    print()
    print("* deterministic: mean of repeated calls (one run each)")
    if errors:
        print(f"{len(errors)} case(s) failed or look wrong; see above")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
