"""Textbook rotation arithmetic, checked exactly against the engine in deterministic mode.

Every expected number here is worked out by hand from the model in DESIGN.md and the day
order in ``forcegen.engine.kernel`` (its docstring is the engine's contract):

* a unit placed ``o`` days into its cycle on the eve of day 0 is seen ``o + 1`` days into it
  at the census of day 0, so at census day ``x`` it is ``(o + 1 + x) mod S`` days into a
  cycle of ``S`` days (day 0 of the cycle being the first day of the first position);
* each position is held exactly its duration in census days and in days of exposure to
  attrition (attrition on day ``x`` uses the location of the census of day ``x - 1``);
* a group with ``phase: even`` starts unit ``i`` ``floor(i * S / N)`` days into its cycle;
* rotation (with pulls) happens before the census; pulls and fills go by priority, then
  file order; within a demand by unit type preference, then force order, up to the caps.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import build, changed, merge

import forcegen

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def simulate(sections: dict, **kwargs):
    """Deterministic run of the scenario built with these sections; returns the dataset."""
    kwargs.setdefault("deterministic", True)
    return forcegen.simulate(build(**sections), **kwargs).to_xarray()


def pos_index(ds, label: str) -> int:
    return list(ds.position.values).index(label)


def unit_trace(ds, unit: str) -> list[str]:
    """Position label of one unit at each census day (run 0); '-' once discharged."""
    labels = list(ds.position.values)
    return [labels[i] if i >= 0 else "-" for i in ds.unit_position.sel(unit=unit).values[0]]


def runs_of(trace: list[str]) -> list[tuple[str, int, int]]:
    """(label, first day, length) of each maximal stretch of equal labels."""
    out: list[tuple[str, int, int]] = []
    for day, label in enumerate(trace):
        if out and out[-1][0] == label:
            out[-1] = (label, out[-1][1], out[-1][2] + 1)
        else:
            out.append((label, day, 1))
    return out


# -- fixed rotation ----------------------------------------------------------------------


def fixed_rotation(
    n: int, d: int, t: int, h: int, *, horizon: int, strength: int = 500, phase: str = "even"
) -> dict:
    return dict(
        name="fixed",
        horizon=f"{horizon}d",
        locations=[{"id": "front"}, {"id": "rear"}, {"id": "home"}],
        policies=[{"id": "cycle", "positions": [
            {"name": "deployed", "location": "front", "duration": f"{d}d", "deployed": True},
            {"name": "transition", "location": "rear", "duration": f"{t}d"},
            {"name": "home", "location": "home", "duration": f"{h}d"},
        ]}],
        units=[{"id": "bn", "force": "blue", "type": "bn", "count": n, "strength": strength,
                "policy": "cycle", "phase": phase}],
        demands=[{"id": "front-line", "location": "front", "units": 1,
                  "fill": {"forces": ["blue"]}}],
    )  # fmt: skip


EVEN_CASES = [
    (9, 30, 30, 30),
    (6, 20, 10, 30),
    (12, 90, 45, 45),
    (3, 30, 30, 30),
    (10, 30, 15, 15),
    (9, 60, 20, 100),
]


@pytest.mark.parametrize(("n", "d", "t", "h"), EVEN_CASES)
def test_even_stagger_keeps_exact_share_deployed_every_day(n, d, t, h):
    cycle = d + t + h
    assert cycle % n == 0 and d % (cycle // n) == 0  # evenly spaced offsets, whole share
    expected = n * d // cycle
    ds = simulate(fixed_rotation(n, d, t, h, horizon=2 * cycle + 17, strength=500))

    deployed = ds.units_deployed.sel(force="blue").values[0]
    assert (deployed == expected).all(), np.unique(deployed)
    front = ds.strength.sel(force="blue", location="front").values[0]
    assert (front == expected * 500).all()
    # Transition and home hold the rest: exact shares where they too are whole numbers.
    rear = ds.strength.sel(force="blue", location="rear").values[0]
    home = ds.strength.sel(force="blue", location="home").values[0]
    assert (front + rear + home == n * 500).all()
    if t % (cycle // n) == 0:
        assert (rear == n * t // cycle * 500).all()
        assert (home == n * h // cycle * 500).all()
    assert (ds.units_active.values == n).all()


@pytest.mark.parametrize(("n", "d", "t", "h"), EVEN_CASES)
def test_deployed_to_dwell_ratio_is_d_over_t_plus_h(n, d, t, h):
    cycle = d + t + h
    ds_results = forcegen.simulate(
        build(**fixed_rotation(n, d, t, h, horizon=3 * cycle)), deterministic=True
    )
    ds = ds_results.to_xarray()
    # Per unit, over whole cycles: deployed days / dwell days == d / (t + h), exactly.
    deployed = ds.deployed_days.values[0]
    dwell = ds.active_days.values[0] - deployed
    assert (deployed == 3 * d).all()
    assert (deployed * (t + h) == dwell * d).all()
    ratio = float(ds_results.deployed_to_dwell().sel(force="blue"))
    assert ratio == pytest.approx(d / (t + h), rel=1e-12)


@pytest.mark.parametrize(
    ("n", "d", "t", "h"), [(7, 30, 30, 30), (5, 20, 10, 30), (11, 90, 45, 45), (4, 30, 30, 30)]
)
def test_uneven_group_keeps_share_on_average(n, d, t, h):
    cycle = d + t + h
    k = 4
    ds = simulate(fixed_rotation(n, d, t, h, horizon=k * cycle))
    deployed = ds.units_deployed.sel(force="blue").values[0]
    share = n * d / cycle
    # Over whole cycles the mean is exactly N d / S unit-days per day ...
    assert deployed.sum() == n * d * k
    assert deployed.mean() == pytest.approx(share, rel=1e-12)
    # ... and each day holds the floor or the ceiling of it (even stagger).
    assert set(np.unique(deployed)) <= {math.floor(share), math.ceil(share)}
    assert deployed.min() < deployed.max()  # not a multiple: it really does vary
    front = ds.strength.sel(force="blue", location="front").values[0]
    assert (front == deployed * 500).all()


def test_textbook_example_scenario():
    results = forcegen.simulate(SCENARIOS / "textbook-fixed-rotation.yaml", deterministic=True)
    ds = results.to_xarray()
    assert (ds.units_deployed.values == 3).all()
    assert (ds.strength.sel(location="front").values == 1500).all()
    assert bool(results.fully_covered().all())
    assert float(results.deployed_to_dwell().sel(force="blue")) == 0.5


def test_even_stagger_offsets_follow_floor_rule():
    # 7 units on a 90-day cycle: unit i starts floor(90 i / 7) days in, seen one day later.
    n, cycle = 7, 90
    ds = simulate(fixed_rotation(n, 30, 30, 30, horizon=cycle), keep_units=True)
    labels = ["cycle/deployed"] * 30 + ["cycle/transition"] * 30 + ["cycle/home"] * 30
    for i in range(n):
        offset = (i * cycle) // n
        expected = [labels[(offset + 1 + x) % cycle] for x in range(cycle)]
        assert unit_trace(ds, f"bn#{i}") == expected, i


# -- a single unit with a fixed phase ------------------------------------------------------


@pytest.mark.parametrize("phase", [0, 1, 29, 30, 35, 49, 50, 89, 125])
def test_fixed_phase_single_unit_exact_days(phase):
    d, t, h = 30, 20, 40
    cycle = d + t + h
    horizon = 3 * cycle
    ds = simulate(fixed_rotation(1, d, t, h, horizon=horizon, phase=f"{phase}d"), keep_units=True)
    labels = ["cycle/deployed"] * d + ["cycle/transition"] * t + ["cycle/home"] * h
    # Census day x sees the unit (phase + 1 + x) days into its cycle.
    expected = [labels[(phase + 1 + x) % cycle] for x in range(horizon)]
    trace = unit_trace(ds, "bn#0")
    assert trace == expected
    # Every complete stay lasts exactly its duration in census days.
    duration = {"cycle/deployed": d, "cycle/transition": t, "cycle/home": h}
    stretches = runs_of(trace)
    for label, _, length in stretches[1:-1]:
        assert length == duration[label]
    # The first stay is what remains of the position the unit was placed in.
    into = (phase + 1) % cycle
    start = 0 if into < d else d if into < d + t else d + t
    assert stretches[0][2] == duration[stretches[0][0]] - (into - start)


def test_fixed_phase_on_worked_example():
    # 30 front / 20 rear / 40 home, phase 35: placed 5 days into rear, so at census day 0 it
    # has 6 days of rear behind it: rear days 0..13, home 14..53, front 54..83, rear 84...
    ds = simulate(fixed_rotation(1, 30, 20, 40, horizon=120, phase="35d"), keep_units=True)
    assert runs_of(unit_trace(ds, "bn#0")) == [
        ("cycle/transition", 0, 14),
        ("cycle/home", 14, 40),
        ("cycle/deployed", 54, 30),
        ("cycle/transition", 84, 20),
        ("cycle/home", 104, 16),
    ]


def test_fixed_phase_counts_from_start_position():
    # `start: home` counts the phase from the home position: phase 5 -> 6 days into home.
    sections = fixed_rotation(1, 30, 20, 40, horizon=100, phase="5d")
    ds = simulate(changed(sections, units=merge([{"start": "home"}])), keep_units=True)
    assert runs_of(unit_trace(ds, "bn#0")) == [
        ("cycle/home", 0, 34),
        ("cycle/deployed", 34, 30),
        ("cycle/transition", 64, 20),
        ("cycle/home", 84, 16),
    ]


def test_exposure_to_attrition_follows_previous_census_position():
    # Killing only at the front: losses on day x iff the unit was at the front at census
    # x - 1 (the eve for day 0); the unit is exposed exactly 30 days per 90-day cycle.
    sections = fixed_rotation(1, 30, 30, 30, horizon=180, phase="20d", strength=1000)
    front = merge([{"attrition": {"killed": 0.01}}])
    ds = simulate(changed(sections, locations=front), keep_units=True)
    killed = ds.losses.sel(force="blue", cause="killed").values[0]
    trace = unit_trace(ds, "bn#0")
    eve = ["cycle/deployed"] + trace[:-1]  # phase 20: front on the eve of day 0
    exposed = np.array([p == "cycle/deployed" for p in eve])
    assert ((killed > 0) == exposed).all()
    assert exposed.sum() == 60
    # The same exposure in census terms: 10 front days left, then 30 in the next cycle.
    assert runs_of(trace)[0] == ("cycle/deployed", 0, 9)


# -- demand-driven pools -------------------------------------------------------------------


def ready_pool(
    count: int,
    *,
    deployed: int,
    horizon: int = 365,
    units: int = 1,
    min_dwell: int | None = None,
    demand_duration: int | None = None,
    overlap: int | None = None,
) -> dict:
    dwell = {"min_dwell": f"{min_dwell}d"} if min_dwell is not None else {}
    window = {"duration": f"{demand_duration}d"} if demand_duration is not None else {}
    if overlap:
        deployed_positions = [
            {"name": "deployed", "location": "front", "duration": f"{deployed}d",
             "deployed": True},
            {"name": "overlap", "location": "front", "duration": f"{overlap}d", "deployed": True,
             "overlap": True, "next": "reset"},
        ]  # fmt: skip
    else:
        deployed_positions = [
            {"name": "deployed", "location": "front", "duration": f"{deployed}d",
             "deployed": True, "next": "reset"},
        ]  # fmt: skip
    return dict(
        name="pool",
        horizon=f"{horizon}d",
        policies=[{"id": "pool", **dwell, "positions": [
            {"name": "reset", "location": "home", "duration": "60d"},
            {"name": "train", "location": "home", "duration": "30d"},
            {"name": "ready", "location": "home", "ready": True, "pull_to": "deployed"},
            *deployed_positions,
        ]}],
        units=[{"id": "bn", "force": "blue", "type": "bn", "count": count, "strength": 600,
                "policy": "pool", "start": "ready"}],
        demands=[{"id": "front-line", "location": "front", "units": units, **window,
                  "fill": {"forces": ["blue"]}}],
    )  # fmt: skip


def test_too_small_pool_exact_coverage():
    # Two battalions, 60 reset + 30 train, then ready; deployments of 60 days; one needed.
    # bn#0 front 0..59, bn#1 front 60..119; bn#0 is ready again only on day 150 (reset
    # 60..119, train 120..149): gap 120..149. Then bn#0 150..209, bn#1 210..269 (ready on
    # 210), gap 270..299 (bn#0 back on 300), bn#0 300..359, bn#1 360..364.
    ds = simulate(ready_pool(2, deployed=60), keep_units=True)
    filled = ds.filled.sel(demand="front-line").values[0]
    covered = filled == 1
    assert set(np.unique(filled)) == {0.0, 1.0}
    expected = np.zeros(365, bool)
    for a, b in [(0, 119), (150, 269), (300, 364)]:
        expected[a : b + 1] = True
    assert (covered == expected).all()
    assert covered.sum() == 305
    assert int(np.argmin(covered)) == 120  # first day short
    assert runs_of(unit_trace(ds, "bn#0"))[:5] == [
        ("pool/deployed", 0, 60),
        ("pool/reset", 60, 60),
        ("pool/train", 120, 30),
        ("pool/deployed", 150, 60),
        ("pool/reset", 210, 60),
    ]


def test_exactly_balanced_pool_covers_every_day():
    # Two battalions deployed 90 days, 90 days of reset and training: each comes back to
    # ready on the very day the other leaves and is pulled at once; no gap, never two.
    ds = simulate(ready_pool(2, deployed=90), keep_units=True)
    assert (ds.filled.sel(demand="front-line").values == 1).all()
    assert (ds.units_deployed.values == 1).all()
    assert runs_of(unit_trace(ds, "bn#0"))[:4] == [
        ("pool/deployed", 0, 90),
        ("pool/reset", 90, 60),
        ("pool/train", 150, 30),
        ("pool/deployed", 180, 90),
    ]
    assert runs_of(unit_trace(ds, "bn#1"))[:3] == [
        ("pool/ready", 0, 90),
        ("pool/deployed", 90, 90),
        ("pool/reset", 180, 60),
    ]


def test_ready_pool_example_covers_year_with_overlaps():
    ds = forcegen.simulate(
        SCENARIOS / "demand-driven-ready-pool.yaml", deterministic=True, keep_units=True
    ).to_xarray()
    filled = ds.filled.sel(demand="front-line").values[0]
    assert ds.sizes["day"] == 365
    assert (filled == 2).all()  # covered every day, never counted as 4
    overlap = ds.units_in_position.sel(position="ready-cycle/overlap").values[0]
    expected = np.zeros(365, int)
    for start in (110, 220, 330):  # 110 days in, each pair overlaps its relief for 10 days
        expected[start : start + 10] = 2
    assert (overlap == expected).all()
    assert (ds.units_deployed.values[0, :, 0] == 2 + expected).all()
    assert (ds.units_in_position.sel(position="ready-cycle/deployed").values == 2).all()
    # People at the front include the overlapping battalions.
    front = ds.strength.sel(force="blue", location="front").values[0]
    assert (front == 600 * (2 + expected)).all()
    # The longest-rested battalions are pulled first: 0,1 then 2,3 then 4,5 then 0,1 again.
    first_front = [
        int(
            np.argmax(
                [p.startswith("ready-cycle/deployed") for p in unit_trace(ds, f"blue-bn#{i}")]
            )
        )
        for i in range(6)
    ]
    assert first_front == [0, 0, 110, 110, 220, 220]
    assert unit_trace(ds, "blue-bn#0")[330] == "ready-cycle/deployed"
    assert unit_trace(ds, "blue-bn#2")[330] == "ready-cycle/ready"


def test_min_dwell_blocks_early_pull():
    # One battalion, deployed 30 days then straight back to ready (no reset), min_dwell 20d:
    # home (ready) on census days 30..49, pulled again on day 50.
    sections = dict(
        name="dwell",
        horizon="120d",
        policies=[{"id": "p", "min_dwell": "20d", "positions": [
            {"name": "ready", "location": "home", "ready": True, "pull_to": "deployed"},
            {"name": "deployed", "location": "front", "duration": "30d", "deployed": True,
             "next": "ready"},
        ]}],
        units=[{"id": "bn", "force": "blue", "type": "bn", "count": 1, "strength": 100,
                "policy": "p", "start": "ready"}],
        demands=[{"id": "need", "location": "front", "units": 1, "fill": {"forces": ["blue"]}}],
    )  # fmt: skip
    ds = simulate(sections, keep_units=True)
    assert runs_of(unit_trace(ds, "bn#0")) == [
        ("p/deployed", 0, 30),
        ("p/ready", 30, 20),
        ("p/deployed", 50, 30),
        ("p/ready", 80, 20),
        ("p/deployed", 100, 20),
    ]
    filled = ds.filled.sel(demand="need").values[0]
    assert filled.sum() == 80
    # Without min_dwell the battalion is pulled back the day it returns: always deployed.
    ds = simulate(changed(sections, policies=merge([{"min_dwell": None}])), keep_units=True)
    assert (ds.filled.sel(demand="need").values == 1).all()
    assert set(unit_trace(ds, "bn#0")) == {"p/deployed"}


def test_min_dwell_leaves_gap_in_ready_pool():
    # The six-battalion pool (110 + 10 overlap) with min_dwell 215: pairs go on days 0, 110
    # and 220 as without it. On day 330 bn#0,1 (last deployed census day 119) have dwelt
    # only 210 days and bn#2,3 only 100: nobody may be pulled. bn#0,1 reach 215 days at
    # home on census day 334 and are pulled on day 335: filled 0 on days 330..334.
    ds = simulate(ready_pool(6, deployed=110, units=2, overlap=10, min_dwell=215), keep_units=True)
    filled = ds.filled.sel(demand="front-line").values[0]
    assert (filled[:330] == 2).all()
    assert (filled[330:335] == 0).all()
    assert (filled[335:] == 2).all()
    trace = unit_trace(ds, "bn#0")
    assert runs_of(trace)[-2:] == [("pool/ready", 210, 125), ("pool/deployed", 335, 30)]
    assert sum(p != "pool/deployed" and p != "pool/overlap" for p in trace[120:335]) == 215
    assert unit_trace(ds, "bn#2")[340] == "pool/ready"
    # With min_dwell 210 (exactly what bn#0,1 have on day 330) there is no gap.
    ds = simulate(ready_pool(6, deployed=110, units=2, overlap=10, min_dwell=210))
    assert (ds.filled.values == 2).all()


def test_release_when_demand_window_ends():
    # Demand for days 0..44 only; deployments of 90 days are cut short on day 45, when the
    # battalion goes to the position after its deployment (reset), then train, then ready.
    ds = simulate(ready_pool(2, deployed=90, demand_duration=45, horizon=200), keep_units=True)
    assert runs_of(unit_trace(ds, "bn#0")) == [
        ("pool/deployed", 0, 45),
        ("pool/reset", 45, 60),
        ("pool/train", 105, 30),
        ("pool/ready", 135, 65),
    ]
    assert set(unit_trace(ds, "bn#1")) == {"pool/ready"}
    filled = ds.filled.sel(demand="front-line").values[0]
    required = ds.required.sel(demand="front-line").values[0]
    assert (filled[:45] == 1).all() and (filled[45:] == 0).all()
    assert (required[:45] == 1).all() and (required[45:] == 0).all()


def test_release_skips_overlap_position():
    # With deployed + overlap positions, a released unit goes to reset, not to overlap.
    ds = simulate(
        ready_pool(6, deployed=110, overlap=10, units=2, demand_duration=50, horizon=120),
        keep_units=True,
    )
    for i in (0, 1):
        assert runs_of(unit_trace(ds, f"bn#{i}"))[:2] == [
            ("pool/deployed", 0, 50),
            ("pool/reset", 50, 60),
        ]
    assert (ds.units_in_position.sel(position="pool/overlap").values == 0).all()


# -- demand caps, fill order and priority --------------------------------------------------


def garrison(units: dict[tuple[str, str], int], demands: list[dict], *, horizon: int = 5) -> dict:
    """Forces BY and RU, unit types A and B, units always at the front (1000 each)."""
    groups = [
        {"id": f"{force}-{utype}", "force": force, "type": utype, "count": n, "strength": 1000,
         "policy": "hold"}
        for (force, utype), n in units.items()
    ]  # fmt: skip
    return dict(
        name="garrison",
        horizon=f"{horizon}d",
        forces=[{"id": "BY"}, {"id": "RU"}],
        unit_types=[{"id": "A"}, {"id": "B"}],
        policies=[{"id": "hold", "positions": [
            {"name": "front", "location": "front", "duration": "30d", "deployed": True,
             "next": "front"},
        ]}],
        units=groups,
        demands=demands,
    )  # fmt: skip


def demand(id: str, people: int, forces: list[str], priority: int | None = None, **fill) -> dict:
    """A demand for people at the front, filled by these forces (and ``fill``'s other keys)."""
    ranked = {"priority": priority} if priority is not None else {}
    return {"id": id, "location": "front", "people": people, **ranked,
            "fill": {"forces": forces, **fill}}  # fmt: skip


def filled(ds, demand: str) -> np.ndarray:
    values = ds.filled.sel(demand=demand).values[0]
    assert (values == values[0]).all()
    return values[0]


def test_people_cap_limits_a_force():
    units = {("BY", "A"): 10, ("RU", "A"): 2}
    capped = garrison(units, [demand("d", 8000, ["BY", "RU"], caps={"BY": 5000})])
    assert filled(simulate(capped), "d") == 7000  # 5000 BY (cap) + 2000 RU (all there is)
    uncapped = changed(capped, demands=merge([{"fill": {"caps": None}}]))
    assert filled(simulate(uncapped), "d") == 8000


def test_cap_leaves_capped_people_to_later_demand():
    # The 5000 BY people beyond the cap remain for a second demand.
    units = {("BY", "A"): 10, ("RU", "A"): 2}
    ds = simulate(
        garrison(
            units,
            [
                demand("first", 8000, ["BY", "RU"], caps={"BY": 5000}),
                demand("second", 9000, ["BY"], priority=2),
            ],
        )
    )
    assert filled(ds, "first") == 7000
    assert filled(ds, "second") == 5000


@pytest.mark.parametrize(
    ("order", "first", "second"), [(["BY", "RU"], 3000, 2000), (["RU", "BY"], 3000, 0)]
)
def test_fill_order_by_forces(order, first, second):
    # BY 5000, RU 2000 at the front. `main` takes 3000 in its force order; `ru-only` (lower
    # priority) can only use what RU has left.
    units = {("BY", "A"): 5, ("RU", "A"): 2}
    ds = simulate(
        garrison(
            units,
            [demand("main", 3000, order), demand("ru-only", 2000, ["RU"], priority=2)],
        )
    )
    assert filled(ds, "main") == first
    assert filled(ds, "ru-only") == second


@pytest.mark.parametrize(("order", "a_left"), [(["A", "B"], 1000), (["B", "A"], 3000)])
def test_fill_order_by_unit_type_preference(order, a_left):
    # Type A 4000, type B 2000 (both BY). `main` takes 3000 by its type preference;
    # `a-only` gets what is left of type A.
    units = {("BY", "A"): 4, ("BY", "B"): 2}
    ds = simulate(
        garrison(
            units,
            [
                demand("main", 3000, ["BY"], unit_types=order),
                demand("a-only", 4000, ["BY"], priority=2, unit_types=["A"]),
            ],
        )
    )
    assert filled(ds, "main") == 3000
    # [A, B]: main takes 3000 A, 1000 A left.  [B, A]: 2000 B + 1000 A, 3000 A left.
    assert filled(ds, "a-only") == a_left


@pytest.mark.parametrize(
    ("costs", "a_left"),
    [({"A": 1, "B": 2}, 1000), ({"A": 2, "B": 1}, 3000), ({"B": 1, "A": 1}, 1000)],
)
def test_fill_order_by_substitution_cost(costs, a_left):
    # Cheaper types fill first; equal costs go by the order of unit_types in the file (A).
    units = {("BY", "A"): 4, ("BY", "B"): 2}
    ds = simulate(
        garrison(
            units,
            [
                demand("main", 3000, ["BY"], substitution_costs=costs),
                demand("a-only", 4000, ["BY"], priority=2, unit_types=["A"]),
            ],
        )
    )
    assert filled(ds, "main") == 3000
    assert filled(ds, "a-only") == a_left


def test_unit_type_preference_beats_force_order():
    # Within a demand: unit type preference first, then force order. BY has type B, RU type
    # A; the demand prefers A, lists BY first: RU's A fills first.
    units = {("BY", "B"): 3, ("RU", "A"): 2}
    ds = simulate(
        garrison(
            units,
            [
                demand("main", 2000, ["BY", "RU"], unit_types=["A", "B"]),
                demand("by-only", 5000, ["BY"], priority=2),
            ],
        )
    )
    assert filled(ds, "main") == 2000
    assert filled(ds, "by-only") == 3000  # BY untouched by `main`


def test_higher_priority_filled_first_from_shared_people():
    # 3000 people; two demands of 2000. The priority-1 demand is listed second in the file.
    units = {("BY", "A"): 3}
    ds = simulate(
        garrison(
            units,
            [
                demand("low", 2000, ["BY"], priority=2),
                demand("high", 2000, ["BY"], priority=1),
            ],
        )
    )
    assert filled(ds, "high") == 2000
    assert filled(ds, "low") == 1000


@pytest.mark.parametrize("swap", [False, True])
def test_same_priority_ties_broken_by_file_order(swap):
    units = {("BY", "A"): 3}
    one = demand("alpha", 2000, ["BY"], priority=3)
    two = demand("bravo", 2000, ["BY"], priority=3)
    ds = simulate(garrison(units, [two, one] if swap else [one, two]))
    first, second = ("bravo", "alpha") if swap else ("alpha", "bravo")
    assert filled(ds, first) == 2000
    assert filled(ds, second) == 1000
    assert list(ds.demand.values) == [first, second]  # the documented total order


def test_priority_order_governs_pulls_too():
    # Two unit demands at one location, one ready unit: the priority-1 demand (listed
    # second) pulls it.
    sections = dict(
        name="pulls",
        horizon="10d",
        policies=[{"id": "p", "positions": [
            {"name": "ready", "location": "home", "ready": True, "pull_to": "deployed"},
            {"name": "deployed", "location": "front", "duration": "100d", "deployed": True,
             "next": "ready"},
        ]}],
        units=[{"id": "bn", "force": "blue", "type": "bn", "count": 1, "strength": 100,
                "policy": "p", "start": "ready"}],
        demands=[
            {"id": "low", "location": "front", "units": 1, "priority": 2,
             "fill": {"forces": ["blue"]}},
            {"id": "high", "location": "front", "units": 1, "priority": 1,
             "fill": {"forces": ["blue"]}},
        ],
    )  # fmt: skip
    ds = simulate(sections)
    assert filled(ds, "high") == 1
    assert filled(ds, "low") == 0


# -- pulls stopped by caps and force limits ------------------------------------------------


def pull_scenario(groups: list[dict], *, limits: list[dict] | None = None, demand: dict) -> dict:
    """Forces BY (with these ``limits``) and RU; policy ``p`` is a ready pool for the front,
    ``hold`` keeps units at the front; one demand."""
    by = {"id": "BY", "limits": limits} if limits is not None else {"id": "BY"}
    return dict(
        name="limits",
        horizon="10d",
        forces=[by, {"id": "RU"}],
        policies=[
            {"id": "p", "positions": [
                {"name": "ready", "location": "home", "ready": True, "pull_to": "deployed"},
                {"name": "deployed", "location": "front", "duration": "100d", "deployed": True,
                 "next": "ready"},
            ]},
            {"id": "hold", "positions": [
                {"name": "front", "location": "front", "duration": "30d", "deployed": True,
                 "next": "front"},
            ]},
        ],
        units=groups,
        demands=[demand],
    )  # fmt: skip


def group(id: str, force: str, count: int, strength: int, policy: str = "p") -> dict:
    """A group of battalions; those on the ready pool ``p`` start ready."""
    ready = {"start": "ready"} if policy == "p" else {}
    return {"id": id, "force": force, "type": "bn", "count": count, "strength": strength,
            "policy": policy, **ready}  # fmt: skip


def need(units: int, forces: list[str], **fill) -> dict:
    """The demand ``need`` for units at the front."""
    return {"id": "need", "location": "front", "units": units, "fill": {"forces": forces, **fill}}


def test_force_limit_stops_pulls():
    groups = [group("by", "BY", 5, 500)]
    demand = need(5, ["BY"])
    ds = simulate(
        pull_scenario(groups, demand=demand, limits=[{"location": "front", "people": 1200}])
    )
    assert filled(ds, "need") == 2  # 500 + 500 <= 1200 < 1500
    assert int(ds.units_deployed.sel(force="BY").values[0, -1]) == 2
    assert float(ds.strength.sel(force="BY", location="front").values[0, -1]) == 1000
    ds = simulate(pull_scenario(groups, demand=demand))
    assert filled(ds, "need") == 5


def test_force_limit_counts_people_already_there():
    groups = [group("by-front", "BY", 1, 500, policy="hold"), group("by", "BY", 5, 500)]
    demand = need(5, ["BY"])
    ds = simulate(
        pull_scenario(groups, demand=demand, limits=[{"location": "front", "people": 1200}])
    )
    # 500 already at the front: only one more battalion fits under 1200.
    assert filled(ds, "need") == 2
    assert float(ds.strength.sel(force="BY", location="front").values[0, -1]) == 1000


def test_first_unit_past_force_limit_ends_that_force_pulls():
    # Pull order is unit number: big#0 (600) fits, big#1 (1200) passes the 1000 limit and
    # ends BY's pulls, so small#0 (100) is not pulled although 700 would fit. RU still fills.
    groups = [group("big", "BY", 2, 600), group("small", "BY", 1, 100), group("ru", "RU", 1, 100)]
    demand = need(4, ["BY", "RU"])
    ds = simulate(
        pull_scenario(groups, demand=demand, limits=[{"location": "front", "people": 1000}]),
        keep_units=True,
    )
    assert filled(ds, "need") == 2
    assert unit_trace(ds, "big#0")[0] == "p/deployed"
    assert unit_trace(ds, "big#1")[0] == "p/ready"
    assert unit_trace(ds, "small#0")[0] == "p/ready"
    assert unit_trace(ds, "ru#0")[0] == "p/deployed"


def test_demand_cap_stops_pulls():
    # A units demand capped at 1 BY unit: one BY pulled, then RU; the other BY units wait.
    groups = [group("by", "BY", 3, 500), group("ru", "RU", 1, 500)]
    demand = need(3, ["BY", "RU"], caps={"BY": 1})
    ds = simulate(pull_scenario(groups, demand=demand))
    assert filled(ds, "need") == 2
    assert int(ds.units_deployed.sel(force="BY").values[0, -1]) == 1
    assert int(ds.units_deployed.sel(force="RU").values[0, -1]) == 1


# -- scheduled policy changes --------------------------------------------------------------


def change_scenario(at: int) -> dict:
    return dict(
        name="change",
        horizon="120d",
        policies=[
            {"id": "old", "positions": [
                {"name": "front", "location": "front", "duration": "30d", "deployed": True},
                {"name": "home", "location": "home", "duration": "30d"},
            ]},
            {"id": "new", "positions": [
                {"name": "front", "location": "front", "duration": "10d", "deployed": True},
                {"name": "home", "location": "home", "duration": "50d"},
            ]},
        ],
        units=[
            {"id": "away", "force": "blue", "type": "bn", "count": 1, "strength": 100,
             "policy": "old", "phase": "0d"},
            {"id": "back", "force": "blue", "type": "bn", "count": 1, "strength": 100,
             "policy": "old", "phase": "30d"},
        ],
        demands=[{"id": "d", "location": "front", "units": 1, "fill": {"forces": ["blue"]}}],
        changes=[{"at": f"{at}d", "units": ["away", "back"], "policy": "new"}],
    )  # fmt: skip


def test_scheduled_change_non_deployed_unit_switches_at_once():
    ds = simulate(change_scenario(10), keep_units=True)
    trace = unit_trace(ds, "back#0")
    # Census day x is 31 + x days into the old 60-day cycle (home from day 30 of it). On
    # day 10 the unit is 40 days into it; it keeps that proportional place, 40 of the new
    # 60-day cycle: 30 days into new/home (which starts on day 10 of the new cycle), so it
    # has 19 census days of home left, then 10 at the front.
    assert trace[9] == "old/home"
    assert trace[10] == "new/home"
    assert runs_of(trace)[:4] == [
        ("old/home", 0, 10),
        ("new/home", 10, 19),
        ("new/front", 29, 10),
        ("new/home", 39, 50),
    ]


def test_scheduled_change_deployed_unit_switches_at_next_reset():
    ds = simulate(change_scenario(10), keep_units=True)
    trace = unit_trace(ds, "away#0")
    # Front census days 0..28 under `old` (the change on day 10 is deferred); on day 29 it
    # enters home, and that is where it switches: new/home for 50 days, then new/front.
    assert trace[10] == "old/front"
    assert trace[28] == "old/front"
    assert trace[29] == "new/home"
    assert runs_of(trace)[:4] == [
        ("old/front", 0, 29),
        ("new/home", 29, 30),
        ("new/front", 59, 10),
        ("new/home", 69, 50),
    ]


def test_without_change_units_keep_old_policy():
    # Control: a change after the horizon's interesting part leaves both on `old` until it.
    ds = simulate(change_scenario(119), keep_units=True)
    assert set(unit_trace(ds, "away#0")[:119]) == {"old/front", "old/home"}
    assert runs_of(unit_trace(ds, "back#0"))[:3] == [
        ("old/home", 0, 29),
        ("old/front", 29, 30),
        ("old/home", 59, 30),
    ]


# -- deterministic attrition ---------------------------------------------------------------


def attrition_scenario(
    killed: float | str,
    wounded: float | str | None = None,
    *,
    horizon: int = 60,
    strength: int = 1000,
) -> dict:
    hazards = {"killed": killed} | ({"wounded": wounded} if wounded else {})
    return dict(
        name="attrition",
        horizon=f"{horizon}d",
        locations=[{"id": "front", "attrition": hazards}, {"id": "home"}],
        policies=[{"id": "hold", "positions": [
            {"name": "front", "location": "front", "duration": "30d", "deployed": True,
             "next": "front"},
        ]}],
        units=[{"id": "bn", "force": "blue", "type": "bn", "count": 3, "strength": strength,
                "policy": "hold"}],
        demands=[{"id": "d", "location": "front", "people": 1, "fill": {"forces": ["blue"]}}],
    )  # fmt: skip


def test_deterministic_attrition_is_strength_times_hazard():
    ds = simulate(attrition_scenario(0.001, 0.002))
    strength = ds.strength.sel(force="blue", location="front").values[0]
    killed = ds.losses.sel(force="blue", cause="killed").values[0]
    wounded = ds.losses.sel(force="blue", cause="wounded").values[0]
    before = np.concatenate([[3000.0], strength[:-1]])
    np.testing.assert_allclose(killed, before * 0.001, rtol=1e-12)
    np.testing.assert_allclose(wounded, before * 0.002, rtol=1e-12)
    assert killed[0] == pytest.approx(3.0, rel=1e-12)
    assert wounded[0] == pytest.approx(6.0, rel=1e-12)
    np.testing.assert_allclose(strength, 3000 * 0.997 ** np.arange(1, 61), rtol=1e-12)
    # Conservation, exactly as recorded.
    lost = np.cumsum(ds.losses.sel(force="blue").sum("cause").values[0])
    np.testing.assert_allclose(3000 - lost, strength, rtol=1e-12)


@pytest.mark.parametrize(
    ("text", "p", "days"),
    [("3%/mo", 0.03, 30), ("1.5%/w", 0.015, 7), ("10%/y", 0.10, 365), ("0.2%/d", 0.002, 1)],
)
def test_per_period_hazard_conversion(text, p, days):
    ds = simulate(attrition_scenario(text, horizon=max(days, 2)))
    daily = 1 - (1 - p) ** (1 / days)
    killed = ds.losses.sel(force="blue", cause="killed").values[0]
    assert killed[0] == pytest.approx(3000 * daily, rel=1e-12)
    # Exposed the whole period, exactly the stated share is killed.
    strength = ds.strength.sel(force="blue", location="front").values[0]
    assert strength[days - 1] == pytest.approx(3000 * (1 - p), rel=1e-9)


def test_no_hazard_at_home_no_losses():
    # Units that never leave home lose nobody though the front is deadly.
    at_home = merge([{"positions": [{"location": "home"}]}])
    ds = simulate(changed(attrition_scenario(0.01), policies=at_home))
    assert (ds.losses.values == 0).all()
    assert (ds.strength.sel(location="home").values == 3000).all()


def test_scenario_without_demands_runs():
    # `demands` is optional in the scenario format; a pure rotation needs none.
    sections = {**fixed_rotation(9, 30, 30, 30, horizon=90), "demands": None}
    assert "demands" not in build(**sections).model_fields_set
    ds = simulate(sections)
    assert (ds.units_deployed.values == 3).all()
