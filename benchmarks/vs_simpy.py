"""forcegen against a SimPy process model and a plain-numpy batch of the same model.

What it measures
----------------
One model, three implementations, identical work:

* a fixed 30 d front / 30 d rear / 30 d home rotation of ``--units`` units of 500 people,
  staggered evenly the way forcegen staggers a group (unit ``i`` starts
  ``floor(i * 90 / N)`` days into its cycle);
* killed at the front only, a daily probability of ``1 - 0.98 ** (1 / 30)`` (2 % over a
  30-day month; written into the scenario as a plain daily probability so that all three
  use the same number), one binomial draw per unit-day at the front; no wounded, no
  replacements, so units only shrink;
* a daily census of the people at each location.

The implementations:

``forcegen``
    ``forcegen.simulate`` on the equivalent scenario (built from YAML text), ``--runs`` runs,
    after a small warm-up run so that numba compilation is not timed.
``SimPy``
    an idiomatic discrete-event model: one process per unit walking its cycle (it holds each
    position with ``env.timeout(duration)``), one attrition process per unit that wakes once
    a day and draws ``numpy.random.Generator.binomial(strength, p)`` when its unit is at the
    front, and one census process. ``--simpy-runs`` runs, one environment per run.
``SimPy every day``
    the same, but the attrition process draws every day wherever its unit is (``p = 0`` away
    from the front): one binomial draw per unit-day, the model of the issue's reference
    figure (about 0.3 M unit-days/s). As with numpy below, which of the two a quoted SimPy
    figure refers to matters (here by a factor of about 1.3).
``numpy batched``
    the same model vectorised over runs: ``(runs, units)`` arrays and a Python loop over
    days, one ``Generator.binomial`` call per day for the units at the front; ``--runs``
    runs.
``numpy all units``
    the same, but each day's draw covers the whole ``(runs, units)`` array, with ``p = 0``
    for the units not at the front (the naive vectorisation; which of the two a quoted
    "numpy batched" figure refers to matters by a factor of about 2 to 3).

Timing within a simulated day follows forcegen's engine (the docstring of its daily step,
``forcegen/engine/kernel.py``):
day ``d`` occupies simulated time ``[d, d + 1)``; attrition happens at ``d + 0.25`` at the
location the unit held at the previous census, moves at ``d + 0.5`` (a unit moves on once it
has been exposed ``duration`` days in its position), and the census of day ``d`` is taken at
``d + 0.75``. A unit placed ``o`` days into its cycle is therefore seen ``o + 1`` days into
it at the census of day 0, and holds each position exactly ``duration`` census days and
``duration`` days of exposure, as in forcegen.

How to read the output
----------------------
* ``rotation check``: units at each location on every day, SimPy against forcegen
  (deterministic mode). It must say ``identical``: this checks the stagger and the
  rotation, which the statistical check below would be too blunt to see.
* ``attrition timing check``: people at each location on every day, SimPy with expected
  losses (``strength * p`` instead of a draw) against forcegen's deterministic mode. It must
  say ``identical`` (to rounding): this checks that losses on day ``d`` are taken at the
  location held at the census of day ``d - 1``, as forcegen does.
* ``agreement``: two run-level statistics, the mean number of people at the front per day
  (averaged over the horizon) and the total killed, as mean ± standard error over runs for
  each implementation, and a z-score against forcegen, ``z = (m - m_fg) / sqrt(se^2 +
  se_fg^2)``. PASS when ``|z| < 4``. The random streams differ (forcegen uses its own
  counter-based draws), so the values agree only statistically.
* ``throughput``: unit-days simulated (runs × units × days) per second of wall time, and
  the ratio forcegen / other. forcegen's time is the whole ``forcegen.simulate`` call
  (compiling the plan, the engine, and labelling the results as an ``xarray.Dataset``,
  including every record forcegen keeps that the others do not); SimPy's and numpy's
  include their censuses. SimPy and numpy use one core; forcegen uses ``--jobs`` (its
  ``n_jobs``, default 1).

Run from the repository root::

    python benchmarks/vs_simpy.py            # 300 units x 1,095 days, 1,000 / 10 runs
    python benchmarks/vs_simpy.py --quick    # 300 units x 365 days, 200 / 3 runs

SimPy is a benchmark-only dependency (``pip install simpy``).
"""

from __future__ import annotations

import argparse
import math
import platform
import shlex
import sys
import time
from dataclasses import dataclass

import numpy as np

try:
    import simpy
except ImportError:  # pragma: no cover - a benchmark-only dependency
    sys.exit("vs_simpy.py needs SimPy: pip install simpy")

import forcegen
from forcegen.scenario.loader import loads

STRENGTH = 500
CYCLE = (("front", 30), ("rear", 30), ("home", 30))
LOCATIONS = ("front", "rear", "home")
KILLED = 1.0 - 0.98 ** (1.0 / 30.0)  # 2 % over a 30-day month, as a daily probability


def scenario_text(units: int, days: int) -> str:
    """The model as a forcegen scenario."""
    positions = "\n".join(
        f"      - {{name: {name}, location: {name}, duration: {dur}d"
        + (", deployed: true}" if name == "front" else "}")
        for name, dur in CYCLE
    )
    return f"""\
forcegen: 1
name: vs-simpy benchmark
start: 2023-01-01
horizon: {days}d
forces: [{{id: blue}}]
unit_types: [{{id: bn}}]
locations:
  - {{id: front, attrition: {{killed: {KILLED!r}}}}}
  - {{id: rear}}
  - {{id: home}}
policies:
  - id: rotation
    positions:
{positions}
units:
  - {{id: bn, force: blue, type: bn, count: {units}, strength: {STRENGTH}, policy: rotation}}
"""


@dataclass
class Model:
    """What every implementation needs: the cycle, the stagger and the daily hazards."""

    units: int
    days: int
    loc: list[int]  # location index of each position of the cycle
    dur: list[int]  # duration of each position
    hazard: list[float]  # daily killed probability at each location
    offsets: list[int]  # days into the cycle of each unit at the eve of day 0

    @classmethod
    def build(cls, units: int, days: int, hazard: list[float]) -> Model:
        span = sum(d for _, d in CYCLE)
        return cls(
            units=units,
            days=days,
            loc=[LOCATIONS.index(name) for name, _ in CYCLE],
            dur=[d for _, d in CYCLE],
            hazard=hazard,
            offsets=[(i * span) // units for i in range(units)],
        )

    def place(self, offset: int) -> tuple[int, int]:
        """Position and days already spent in it, ``offset`` days into the cycle."""
        for j, d in enumerate(self.dur):
            if offset < d:
                return j, offset
            offset -= d
        raise ValueError("offset beyond the cycle")


# -- SimPy -----------------------------------------------------------------------------------


class SimpyRotation:
    """One run as a SimPy model: a process per unit, an attrition process per unit, a census."""

    ATTRITION, MOVE, CENSUS = 0.25, 0.5, 0.75  # phases within a day, as in forcegen

    def __init__(
        self, model: Model, rng: np.random.Generator | None, every_day: bool = False
    ) -> None:
        self.m = model
        self.rng = rng  # None: expected losses instead of draws (for the exact check)
        self.every_day = every_day  # draw on every unit-day, also where p = 0
        self.env = simpy.Environment()
        self.location = [0] * model.units
        self.strength = [STRENGTH] * model.units
        self.killed = 0
        self.people = np.zeros((model.days, len(LOCATIONS)))
        self.units_at = np.zeros((model.days, len(LOCATIONS)), np.int64)
        for i in range(model.units):
            self.env.process(self.unit(i))
            self.env.process(self.attrition(i))
        self.env.process(self.census())

    def unit(self, i: int):
        """Walk the cycle: hold each position for its duration, then move on."""
        m = self.m
        j, spent = m.place(m.offsets[i])
        self.location[i] = m.loc[j]
        # The first move is at the MOVE phase of the day the unit completes its duration.
        yield self.env.timeout(m.dur[j] - spent - 1 + self.MOVE)
        while True:
            j = (j + 1) % len(m.dur)
            self.location[i] = m.loc[j]
            yield self.env.timeout(m.dur[j])

    def attrition(self, i: int):
        """Every day, losses at the location the unit held since the last census (drawn only
        where there is a hazard, unless ``every_day``)."""
        hazard = self.m.hazard
        yield self.env.timeout(self.ATTRITION)
        while True:
            p = hazard[self.location[i]]
            n = self.strength[i]
            if self.every_day or (p > 0.0 and n > 0):
                lost = n * p if self.rng is None else int(self.rng.binomial(n, p))
                self.strength[i] = n - lost
                self.killed += lost
            yield self.env.timeout(1)

    def census(self):
        yield self.env.timeout(self.CENSUS)
        n_loc = len(LOCATIONS)
        for day in range(self.m.days):
            people = [0] * n_loc
            units = [0] * n_loc
            for where, n in zip(self.location, self.strength, strict=True):
                people[where] += n
                units[where] += 1
            self.people[day] = people
            self.units_at[day] = units
            yield self.env.timeout(1)

    def run(self) -> SimpyRotation:
        self.env.run(until=self.m.days)  # the last census is at days - 1 + CENSUS
        return self


def run_simpy(
    model: Model, runs: int, seed: int, every_day: bool = False
) -> tuple[dict[str, np.ndarray], float, list]:
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(runs)]
    start = time.perf_counter()
    sims = [SimpyRotation(model, rng, every_day).run() for rng in rngs]
    wall = time.perf_counter() - start
    stats = {
        "front": np.array([s.people[:, 0].mean() for s in sims]),
        "killed": np.array([float(s.killed) for s in sims]),
    }
    return stats, wall, sims


# -- plain numpy, batched over runs ------------------------------------------------------


def run_numpy(
    model: Model, runs: int, seed: int, every_unit: bool = False
) -> tuple[dict[str, np.ndarray], float]:
    """``every_unit``: one draw over the whole (runs, units) array with p = 0 off the front."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    cycle_loc = np.repeat(model.loc, model.dur)  # location on each day of the cycle
    offsets = np.asarray(model.offsets)
    hazard = np.asarray(model.hazard)
    strength = np.full((runs, model.units), STRENGTH, np.int64)
    killed = np.zeros(runs, np.int64)
    people = np.zeros((runs, model.days, len(LOCATIONS)))
    for day in range(model.days):
        # Attrition at the location held since the last census: cycle day offset + day.
        p = hazard[cycle_loc[(offsets + day) % len(cycle_loc)]]
        exposed = slice(None) if every_unit else np.flatnonzero(p > 0.0)
        lost = rng.binomial(strength[:, exposed], p[exposed])
        strength[:, exposed] -= lost
        killed += lost.sum(axis=1)
        # Rotation, then the census: cycle day offset + day + 1.
        where = cycle_loc[(offsets + day + 1) % len(cycle_loc)]
        for loc in range(len(LOCATIONS)):
            people[:, day, loc] = strength[:, where == loc].sum(axis=1)
    wall = time.perf_counter() - start
    return {"front": people[:, :, 0].mean(axis=1), "killed": killed.astype(float)}, wall


# -- forcegen --------------------------------------------------------------------------------


def run_forcegen(text: str, runs: int, seed: int, jobs: int) -> tuple[dict, float, float]:
    scenario = loads(text)
    start = time.perf_counter()
    ds = forcegen.simulate(scenario, runs=runs, seed=seed, n_jobs=jobs).to_xarray()
    wall = time.perf_counter() - start
    front = ds.strength.sel(location="front").sum("force").mean("day").values
    killed = ds.losses.sel(cause="killed").sum(("day", "force")).values
    return {"front": front, "killed": killed}, wall, float(ds.sizes["run"])


def warm_up(text_small: str) -> float:
    start = time.perf_counter()
    forcegen.simulate(loads(text_small), runs=2, seed=0)
    forcegen.simulate(loads(text_small), deterministic=True)
    return time.perf_counter() - start


# -- reporting -------------------------------------------------------------------------------


def mean_se(x: np.ndarray) -> tuple[float, float]:
    se = float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return float(np.mean(x)), se


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="forcegen and numpy runs (default 1000)")
    parser.add_argument("--simpy-runs", type=int, help="SimPy runs (default 10)")
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--days", type=int, help="horizon in days (default 1095)")
    parser.add_argument("--quick", action="store_true", help="365 days, 200 / 3 runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="forcegen n_jobs (default 1)")
    args = parser.parse_args(argv)
    runs = args.runs or (200 if args.quick else 1000)
    simpy_runs = args.simpy_runs or (3 if args.quick else 10)
    days = args.days or (365 if args.quick else 1095)
    units = args.units

    print("forcegen vs SimPy vs numpy: fixed 30/30/30 rotation with killed at the front")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, simpy {simpy.__version__},"
        f" forcegen {forcegen.__version__}; {platform.machine()}, {_cpus()} CPUs"
    )
    print(
        f"model: {units} units x {days} days, {STRENGTH} people each, killed {KILLED:.6g}/day at"
        f" the front; forcegen and numpy {runs:,} runs, SimPy {simpy_runs} runs, seed {args.seed}, "
        f"forcegen jobs {args.jobs}"
    )

    text = scenario_text(units, days)
    hazard = [KILLED if name == "front" else 0.0 for name in LOCATIONS]
    model = Model.build(units, days, hazard)

    warm = warm_up(scenario_text(units, 30))
    print(f"forcegen warm-up (numba compile or cache load, not timed below): {warm:.2f} s")
    print()

    # Exact checks: SimPy with expected losses against forcegen's deterministic mode.
    sim0 = SimpyRotation(model, None).run()
    det = forcegen.simulate(loads(text), deterministic=True).to_xarray()
    fg_units = np.stack(
        [det.units_in_position.isel(run=0).sel(position=f"rotation/{n}").values for n, _ in CYCLE],
        axis=1,
    )
    fg_people = det.strength.isel(run=0).sum("force").sel(location=list(LOCATIONS)).values
    same_units = np.array_equal(fg_units, sim0.units_at)
    diff = np.abs(fg_people - sim0.people).max() / STRENGTH
    same_people = bool(diff < 1e-9)
    print(
        "rotation check (units at each location each day, SimPy vs forcegen deterministic): "
        + ("identical" if same_units else "DIFFERENT")
    )
    if not same_units:
        bad = np.flatnonzero((fg_units != sim0.units_at).any(axis=1))
        print(f"  first differing days: {bad[:10].tolist()}")
    print(
        "attrition timing check (people at each location each day with expected losses, SimPy"
        f" vs forcegen deterministic): max difference {diff * STRENGTH:.2g} people "
        + ("(identical)" if same_people else "(DIFFERENT)")
    )
    same = same_units and same_people

    fg, fg_wall, _ = run_forcegen(text, runs, args.seed, args.jobs)
    sp, sp_wall, _ = run_simpy(model, simpy_runs, args.seed + 1)
    spe, spe_wall, _ = run_simpy(model, simpy_runs, args.seed + 4, every_day=True)
    npb, np_wall = run_numpy(model, runs, args.seed + 2)
    npa, npa_wall = run_numpy(model, runs, args.seed + 3, every_unit=True)

    print()
    print("agreement (mean over runs ± standard error; z against forcegen; PASS if |z| < 4)")
    header = f"{'statistic':<28}{'implementation':<16}{'runs':>6}{'mean':>14}{'s.e.':>10}{'z':>8}"
    print(header)
    print("-" * len(header))
    ok = same
    for key, label in (("front", "people at front, mean/day"), ("killed", "total killed")):
        m0, s0 = mean_se(fg[key])
        print(f"{label:<28}{'forcegen':<16}{len(fg[key]):>6}{m0:>14,.1f}{s0:>10.2f}{'':>8}")
        others = (
            ("SimPy", sp),
            ("SimPy every day", spe),
            ("numpy batched", npb),
            ("numpy all units", npa),
        )
        for name, stats in others:
            m, s = mean_se(stats[key])
            z = (m - m0) / math.sqrt(s * s + s0 * s0) if s > 0 or s0 > 0 else math.nan
            verdict = "PASS" if abs(z) < 4 else "FAIL"
            ok &= verdict == "PASS"
            print(f"{'':<28}{name:<16}{len(stats[key]):>6}{m:>14,.1f}{s:>10.2f}{z:>8.2f} {verdict}")
    print()

    print("throughput (unit-days = runs x units x days)")
    header = (
        f"{'implementation':<16}{'runs':>6}{'unit-days':>15}{'wall s':>10}"
        f"{'unit-days/s':>15}{'forcegen/this':>15}"
    )
    print(header)
    print("-" * len(header))
    fg_rate = runs * units * days / fg_wall
    for name, n, wall in (
        ("forcegen", runs, fg_wall),
        ("SimPy", simpy_runs, sp_wall),
        ("SimPy every day", simpy_runs, spe_wall),
        ("numpy batched", runs, np_wall),
        ("numpy all units", runs, npa_wall),
    ):
        work = n * units * days
        rate = work / wall
        print(f"{name:<16}{n:>6}{work:>15,}{wall:>10.2f}{rate:>15,.0f}{fg_rate / rate:>14.2f}x")
    print()
    print("overall: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
