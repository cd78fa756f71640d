"""Time scenarios at the limits the format allows: each should take time in proportion to
its size, none should hang.

Each case is an example file changed toward a limit (1,000 demands, 1,000 unit groups,
three groups of 10,000 units, a reservoir of 10^9 people, a 36,500-day horizon, 1,000
locations by 1,000 unit types). For each, the script times loading, compiling the plan
(``compile``) and a whole ``forcegen.simulate`` call (``simulate``: compile, engine and
labelling) for 2 stochastic runs and for a deterministic run. The first case pays for
loading or compiling the numba kernel; run the script twice to see warm figures.

Usage: ``python benchmarks/large_scenarios.py [CASE ...] [--profile]``; ``--profile``
prints the ten functions of most own time for each call (cProfile).
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

import forcegen
from forcegen.compile import compile_plan
from forcegen.sampling import sample_scenario
from forcegen.scenario.loader import loads

EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios"


def _example(name: str) -> dict[str, Any]:
    return YAML(typ="safe").load((EXAMPLES / name).read_text())


def demands_1000() -> dict[str, Any]:
    data = _example("textbook-fixed-rotation.yaml")
    data["demands"] = [dict(data["demands"][0], id=f"d{i}", units=1) for i in range(1000)]
    return data


def groups_1000() -> dict[str, Any]:
    data = _example("textbook-fixed-rotation.yaml")
    data["units"] = [dict(data["units"][0], id=f"g{i}", count=3) for i in range(1000)]
    return data


def reservoir_1e9() -> dict[str, Any]:
    data = _example("wagner-prisoner-contracts.yaml")
    size = data["reservoirs"][0]["size"]
    data["reservoirs"][0]["size"] = dict(size, value=1e9) if isinstance(size, dict) else 1e9
    return data


def units_30000() -> dict[str, Any]:
    data = _example("surge-policy-change.yaml")
    data["units"] = [dict(data["units"][0], id=f"g{i}", count=10_000) for i in range(3)]
    for change in data.get("changes", []):
        change["units"] = [group["id"] for group in data["units"]]
    return data


def horizon_36500() -> dict[str, Any]:
    data = _example("textbook-fixed-rotation.yaml")
    data["horizon"] = "36500d"
    return data


def locations_by_types() -> dict[str, Any]:
    data = _example("textbook-fixed-rotation.yaml")
    data["unit_types"] = [{"id": "infantry-bn"}] + [{"id": f"t{i}"} for i in range(999)]
    data["locations"][0]["attrition"] = {"killed": "2%/mo", "wounded": "3%/mo"}
    data["locations"] += [{"id": f"l{i}", "attrition": {"killed": "1%/mo"}} for i in range(997)]
    return data


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "demands-1000": demands_1000,
    "groups-1000": groups_1000,
    "reservoir-1e9": reservoir_1e9,
    "units-30000": units_30000,
    "horizon-36500": horizon_36500,
    "locations-x-types": locations_by_types,
}


def main(argv: list[str]) -> None:
    profile = "--profile" in argv
    chosen = [a for a in argv if not a.startswith("--")] or list(CASES)
    for name in chosen:
        t0 = time.perf_counter()
        scenario = loads(json.dumps(CASES[name](), default=str), f"{name}.yaml")
        loaded = time.perf_counter() - t0
        for kwargs in ({"runs": 2, "seed": 1}, {"deterministic": True}):
            deterministic = bool(kwargs.get("deterministic"))
            t1 = time.perf_counter()
            sample = sample_scenario(
                scenario, runs=kwargs.get("runs", 1), seed=1, deterministic=deterministic
            )
            plan = compile_plan(scenario, sample)
            t2 = time.perf_counter()
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            forcegen.simulate(scenario, **kwargs)
            if profiler:
                profiler.disable()
            t3 = time.perf_counter()
            print(
                f"{name:18} {'det' if deterministic else 'sto'}  load {loaded:6.2f} s  "
                f"compile {t2 - t1:6.2f} s  simulate {t3 - t2:6.2f} s  "
                f"({plan.n_units:,} units, {plan.horizon:,} days)",
                flush=True,
            )
            if profiler:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(10)


if __name__ == "__main__":
    main(sys.argv[1:])
