"""A longer fuzz campaign through the real command line; prints counts by outcome.

Each input (a mutated example or a generated scenario, as in tests/test_fuzz.py) is written
to a file and given to ``forcegen validate``, then, if valid, to ``forcegen run --runs 2``
and ``forcegen run --deterministic``, then ``forcegen report``, each in its own process with
a timeout. Every run writes into one results folder shared by the whole campaign, which
always holds the results of an earlier input, so that a failed write that spoils them shows.
Outcomes:

- ok: every command exited 0 and the results are finite, whole and readable;
- refused: exit 2 with a located message (``file:line:column``) and no traceback;
- internal error: exit 1, another status, or a traceback;
- hang: a command ran past the timeout;
- nonsense accepted: exit 0 but NaN or infinity in the results, or no readable results;
- data loss: a command that failed changed the results folder, or one that succeeded left
  it mixed (summary.json and results.nc of different runs) or without its files.

Usage: ``python benchmarks/fuzz.py [--inputs 300] [--seed 0] [--timeout 60] [--keep DIR]``.
Failing inputs are kept in DIR (default: a temporary folder, printed at the end).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_inputs import generated_scenarios, mutated_examples, to_yaml  # noqa: E402

LOCATED = re.compile(r"\.yaml:\d+:\d+:")
CHECK_RESULTS = """
import sys, numpy as np, xarray as xr
ds = xr.load_dataset(sys.argv[1])
bad = [n for n, v in ds.data_vars.items()
       if np.issubdtype(v.dtype, np.floating) and not np.isfinite(v.values).all()]
sys.exit(3 if bad or ds.sizes.get("day", 0) == 0 else 0)
"""


def draw(strategy, rnd: random.Random):
    """One example of a Hypothesis strategy, reproducible from ``rnd``.

    Hypothesis begins with the simplest examples; one is taken at random from a batch.
    """
    from hypothesis import HealthCheck, Phase, given, seed, settings

    found = []

    @seed(rnd.getrandbits(32))
    @settings(
        max_examples=30,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def take(x):
        found.append(x)

    take()
    return rnd.choice(found[len(found) // 3 :])


def forcegen(args: list[str], timeout: float) -> tuple[int | None, str]:
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("forcegen")), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "COLUMNS": "200"},
        )
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stdout + done.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a results folder and its bytes (small folders: a short campaign run)."""
    if not folder.is_dir():
        return {}
    return {
        str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()
    }


def whole(folder: Path) -> bool:
    """Whether the folder holds one run's files, all of them, and nothing mixed."""
    import json

    import xarray as xr

    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        with xr.open_dataset(folder / "results.nc", engine="h5netcdf") as ds:
            runs = ds.sizes["run"]
        table = (folder / "runs.csv").read_text(encoding="utf-8").strip().splitlines()
        return (
            summary["run"]["runs"] == runs == len(table) - 1
            and (folder / "scenario.yaml").is_file()
        )
    except (OSError, ValueError, KeyError):
        return False


def classify(path: Path, shared: Path, timeout: float) -> str:
    rc, text = forcegen(["validate", str(path)], timeout)
    steps = [(rc, text, None)]
    if rc == 0:
        for flags in (["--runs", "2", "--seed", "1"], ["--deterministic"]):
            before = snapshot(shared)
            rc, text = forcegen(["run", str(path), *flags, "--out", str(shared)], timeout)
            if rc not in (0, None) and snapshot(shared) != before:
                return "data loss"
            if rc == 0 and not whole(shared):
                return "data loss"
            steps.append((rc, text, shared))
            if rc != 0:
                break
        if rc == 0:
            rc, text = forcegen(["report", str(shared)], timeout)
            steps.append((rc, text, None))
    for rc, text, folder in steps:
        if rc is None:
            return "hang"
        if "Traceback" in text or rc not in (0, 2):
            return "internal error"
        if rc == 2:
            return "refused" if LOCATED.search(text) else "internal error"
        if folder is not None:
            results = folder / "results.nc"
            if not results.exists():
                return "nonsense accepted"
            check = subprocess.run(
                [sys.executable, "-c", CHECK_RESULTS, str(results)], capture_output=True
            )
            if check.returncode != 0:
                return "nonsense accepted"
    return "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="forcegen-fuzz-"))
    keep.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(args.seed)
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.inputs):
            if rnd.random() < 0.7:
                text = draw(mutated_examples(), rnd)
            else:
                text = to_yaml(draw(generated_scenarios(), rnd))
            path = Path(tmp) / f"input-{i}.yaml"
            path.write_text(text, encoding="utf-8")
            outcome = classify(path, Path(tmp) / "results", args.timeout)
            counts[outcome] += 1
            if outcome not in ("ok", "refused"):
                (keep / f"{outcome.replace(' ', '-')}-{i}.yaml").write_text(text, encoding="utf-8")
            print(f"{i + 1}/{args.inputs} {outcome}", file=sys.stderr, flush=True)
    print(f"inputs tried: {args.inputs}")
    for outcome in ("ok", "refused", "internal error", "hang", "nonsense accepted", "data loss"):
        print(f"{outcome}: {counts[outcome]}")
    print(f"failing inputs kept in {keep}")


if __name__ == "__main__":
    main()
