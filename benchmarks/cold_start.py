"""Cold start: the first ``forcegen run`` after a fresh install (the engine compiled), and the next.

What it measures
----------------
numba compiles the engine the first time it is used and keeps the machine code in its
cache (``__pycache__`` beside the sources, or ``NUMBA_CACHE_DIR``). Each measurement here
points ``NUMBA_CACHE_DIR`` at a fresh temporary folder, so nothing compiled before is found,
and times, in fresh processes the way a shell starts them:

1. ``first s``: ``forcegen run SCENARIO -n RUNS`` on the empty cache: loading the scenario,
   compiling every jitted function the run needs, simulating and printing the summary;
2. ``warm s``: the same command again, on the cache the first one filled: loading the
   compiled code, simulating and printing.

``compile s`` is their difference, about the time spent compiling. ``first cpu s`` and
``warm cpu s`` are the processor seconds (user and system) of each: on a shared machine they
vary less than wall times, which other work stretches. ``cache MiB`` is the size of the
cache folder after the first run. The folders are removed afterwards.

Run from the repository root (the ``forcegen`` on the path, or beside this Python, is
timed; with ``PYTHONPATH=src`` it runs these sources)::

    python benchmarks/cold_start.py                 # belarus-2023.yaml, 100 runs, once
    python benchmarks/cold_start.py --repeat 3
    python benchmarks/cold_start.py --scenario scenarios/other.yaml --runs 10

The machine matters more than anything here: compiling is single-threaded work that other
processes slow down; compare figures taken on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, cpu


def _size_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "belarus-2023.yaml"))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="measurements (fresh caches)")
    args = parser.parse_args()
    exe = shutil.which("forcegen") or str(Path(sys.executable).with_name("forcegen"))
    command = [exe, "run", args.scenario, "-n", str(args.runs)]
    print(f"{Path(args.scenario).name}, {args.runs} runs")
    print(
        f"{'measurement':<12} {'first s':>8} {'warm s':>8} {'compile s':>10} "
        f"{'first cpu s':>12} {'warm cpu s':>11} {'cache MiB':>10}"
    )
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="forcegen-cold-") as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            (first, first_cpu), (warm, warm_cpu) = _timed(command, env), _timed(command, env)
            size = _size_mib(Path(cache))
        print(
            f"{i + 1:<12} {first:>8.1f} {warm:>8.1f} {first - warm:>10.1f} "
            f"{first_cpu:>12.1f} {warm_cpu:>11.1f} {size:>10.1f}"
        )


if __name__ == "__main__":
    main()
