"""Time ``forcegen calibrate`` on the Belarus example with its observations.

The bar (issue 14): a posterior in at most 2 minutes on the 2-core machine. The command runs
once through the real CLI (numba's cache warmed first by a one-run ``forcegen run``), with
``--format json``; the wall time, the number of runs simulated, the acceptance rate, the
generations and why the algorithm stopped are printed, and PASS or FAIL against the bar.

Run from the repository root::

    python benchmarks/calibrate.py                    # 200 particles, 2 jobs
    python benchmarks/calibrate.py --particles 400 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "belarus-2023.yaml"
LIMIT_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--particles", type=int, default=200)
    parser.add_argument("--max-runs", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    exe = shutil.which("forcegen") or str(Path(sys.executable).with_name("forcegen"))
    subprocess.run(
        [exe, "run", str(args.scenario), "-n", "1"], check=True, capture_output=True
    )  # warm numba's cache, so the timing is of the calibration
    command = [
        exe,
        "calibrate",
        str(args.scenario),
        "--particles",
        str(args.particles),
        "--max-runs",
        str(args.max_runs),
        "--jobs",
        str(args.jobs),
        "--seed",
        str(args.seed),
        "--format",
        "json",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        sys.exit(done.returncode)
    s = json.loads(done.stdout)
    print(f"scenario:         {args.scenario.name}")
    print(f"observations:     {len(s['observations'])}")
    print(f"inputs, choices:  {len(s['inputs'])}, {len(s['choices'])}")
    print(f"particles:        {s['particles']}")
    print(f"runs simulated:   {s['runs']:,}")
    print(f"acceptance rate:  {s['acceptance_rate']:.1%}")
    print(f"generations:      {len(s['generations'])} (stop: {s['stop']})")
    tol = [g["tolerance"] for g in s["generations"]]
    print("tolerances:       " + ", ".join("inf" if t is None else f"{t:.3g}" for t in tol))
    print(
        f"wall time:        {wall:.1f} s  (bar: {LIMIT_S:.0f} s)  "
        + ("PASS" if wall <= LIMIT_S else "FAIL")
    )
    print(f"message:          {s['message']}")


if __name__ == "__main__":
    main()
