"""Start-up time of the light commands: ``--version``, ``--help``, ``validate``, ``schema``.

Each command runs ``--repeat`` times in a fresh process (the way a shell starts it), with
its output thrown away; the best and the mean wall time are printed. These commands load
neither the engine (numba) nor the results (xarray, pandas) nor the charts (matplotlib).

Run from the repository root::

    python benchmarks/startup.py            # 10 repeats each
    python benchmarks/startup.py --repeat 30
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (
    ["--version"],
    ["--help"],
    ["validate", str(ROOT / "scenarios" / "belarus-2023.yaml")],
    ["schema"],
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("forcegen") or str(Path(sys.executable).with_name("forcegen"))
    print(f"{'command':<28} {'best s':>8} {'mean s':>8}")
    for command in COMMANDS:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([exe, *command], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        shown = " ".join(c if "/" not in c else Path(c).name for c in command)
        print(f"{shown:<28} {min(times):>8.3f} {sum(times) / len(times):>8.3f}")


if __name__ == "__main__":
    main()
