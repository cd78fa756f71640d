"""The example scenarios: each validates, runs, and shows the figures its header states.

Every file in scenarios/ starts with a comment that says what it answers and what result to
expect. These tests hold the engine to the key figures of those comments (deterministic
runs, plus one short stochastic run), so a change that moves them fails here and the
comment gets updated with it. The README's format example is checked to load as well.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import forcegen
from forcegen.results import Results
from forcegen.scenario.claims import NOT_CLAIMS, choices_of, iter_quantities, quantities
from forcegen.scenario.loader import load, loads
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import Choice, Value, resolve

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
EXAMPLES = sorted(SCENARIOS.glob("*.yaml"))
BELARUS = "belarus-2023.yaml"
BASELINE = "belarus-2023-baseline.yaml"


@cache
def scenario(name: str) -> Scenario:
    return load(SCENARIOS / name)


@cache
def _run(name: str, choices: tuple[tuple[str, str], ...]) -> Results:
    return forcegen.simulate(scenario(name), deterministic=True, choices=dict(choices))


def run(name: str, **choices: str) -> Results:
    """Deterministic results of an example under a selection of choices (cached)."""
    return _run(name, tuple(sorted((k.replace("_", "-"), v) for k, v in choices.items())))


def coverage(res: Results, demand: str) -> float:
    """Mean coverage of a demand over its active days, in percent."""
    return float(res.coverage().isel(run=0).sel(demand=demand).mean()) * 100


def full_days(res: Results, demand: str) -> int:
    return int(res.fully_covered().isel(run=0).sel(demand=demand).sum())


def strength(res: Results, force: str, location: str) -> np.ndarray:
    return res.to_xarray().strength.isel(run=0).sel(force=force, location=location).values


def deployed(res: Results, force: str) -> np.ndarray:
    return res.to_xarray().units_deployed.isel(run=0).sel(force=force).values


def header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines[: lines.index("forcegen: 1")] if line.startswith("#"))


# -- every example ---------------------------------------------------------------------------


def test_there_are_examples():
    names = {p.name for p in EXAMPLES}
    assert {
        "textbook-fixed-rotation.yaml",
        "demand-driven-ready-pool.yaml",
        "surge-policy-change.yaml",
        BELARUS,
        BASELINE,
        "wagner-prisoner-contracts.yaml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_and_runs_deterministically(path: Path):
    sc = load(path)
    res = run(path.name)
    ds = res.to_xarray()
    assert ds.sizes["day"] == int(resolve(sc.horizon).value)
    assert np.isfinite(ds.strength.values).all()
    assert (ds.strength.values >= -1e-9).all()
    summary = res.summary()
    assert {d["id"] for d in summary["demands"]} == {d.id for d in sc.demands}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_starts_with_a_comment_saying_what_it_answers_and_expects(path: Path):
    text = header(path)
    assert "Question" in text
    assert re.search(r"Observed|Expected", text)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_choice_option_runs(path: Path):
    for name, (_, options) in choices_of(scenario(path.name)).items():
        for option in options:
            ds = run(path.name, **{name: option}).to_xarray()
            assert np.isfinite(ds.filled.values).all()


def test_a_scenarios_quantities_are_walked_once_per_object():
    text = (SCENARIOS / BELARUS).read_text(encoding="utf-8")
    first = loads(text, "a.yaml")
    walk = quantities(first)
    assert walk == tuple(iter_quantities(first))
    assert quantities(first) is walk  # kept, not walked again
    changed = loads(text.replace("horizon: 365d", "horizon: 360d"), "b.yaml")
    other = quantities(changed)
    assert other is not walk and other == tuple(iter_quantities(changed))
    assert dict(other)[("horizon",)] != dict(walk)[("horizon",)]


def test_readme_example_loads():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    example = [b for b in blocks if b.startswith("forcegen: 1")]
    assert len(example) == 1
    sc = loads(example[0], "README.md")
    assert sc.name == "Textbook 30/30/30 rotation"
    assert [u.id for u in sc.units] == ["blue-bn"]


# -- textbook, ready pool, surge ------------------------------------------------------------


def test_textbook_keeps_exactly_three_battalions_at_the_front():
    res = run("textbook-fixed-rotation.yaml")
    assert (deployed(res, "blue") == 3).all()
    assert (strength(res, "blue", "front") == 1500).all()
    assert full_days(res, "front-line") == 360
    assert float(res.deployed_to_dwell().sel(force="blue")) == pytest.approx(0.5)


def test_ready_pool_covers_every_day_with_ten_day_overlaps():
    res = run("demand-driven-ready-pool.yaml")
    assert full_days(res, "front-line") == 365
    dep = deployed(res, "blue")
    overlaps = np.flatnonzero(dep == 4)
    assert overlaps.tolist() == [*range(110, 120), *range(220, 230), *range(330, 340)]
    assert set(dep.tolist()) == {2, 4}


def test_surge_holds_exactly_eight_at_the_front_after_the_switch():
    res = run("surge-policy-change.yaml")
    dep = deployed(res, "blue")
    assert (dep[:120] == 4).all()
    assert (dep[120:337] == 8).all()  # the whole surge, and until the surge tours end
    assert (dep[337:344] == 7).all() and (dep[344:352] == 6).all()
    assert (dep[352:359] == 5).all() and dep[359] == 4
    assert (strength(res, "blue", "front") == dep * 500).all()
    assert full_days(res, "front-line") == 360
    assert full_days(res, "front-surge") == 180
    assert coverage(res, "front-surge") == pytest.approx(100)
    assert dep.mean() == pytest.approx(6.53, abs=0.005)
    assert float(res.deployed_to_dwell().sel(force="blue")) == pytest.approx(1 / 0.84, abs=0.01)


# -- Belarus 2023 and its baseline ----------------------------------------------------------


def test_belarus_files_share_demands_choices_claims_and_manpower():
    main, base = scenario(BELARUS), scenario(BASELINE)
    assert [d.id for d in main.demands] == [d.id for d in base.demands]
    assert main.demands == base.demands
    assert choices_of(main) == choices_of(base)
    assert choices_of(main)["ru-in-belarus"] == ("report", ("report", "hur", "dpsu"))
    assert choices_of(main)["ru-prison-rate"] == ("report", ("report", "icps-2018", "mediazona"))
    assert main.claims == base.claims
    assert [loc.id for loc in main.locations] == [loc.id for loc in base.locations]
    for a, b in zip(main.locations, base.locations, strict=True):
        assert (a.attrition, a.attrition_by_type) == (b.attrition, b.attrition_by_type)
    pipes = {p.id: p for p in main.pipelines}
    assert [p.id for p in base.pipelines] == ["ru-mobilisation", "wg-ru-prisons"]
    for p in base.pipelines:
        assert p == pipes[p.id]
    assert set(pipes) == {"ru-mobilisation", "wg-ru-prisons", "wg-by-prisons", "rd-belarus"}


def test_belarus_front_demand_keeps_the_report_hur_dpsu_choice():
    front = {d.id: d for d in scenario(BELARUS).demands}["front-line"]
    assert isinstance(front.people, Choice) and front.people.choose == "ru-in-belarus"
    values = {k: v.value for k, v in front.people.options.items()}
    assert values == {"report": 45000, "hur": 5800, "dpsu": 9000}


@pytest.mark.parametrize("name", [BELARUS, BASELINE])
def test_belarus_assumptions_are_flagged_with_a_note(name: str):
    # Every uncited number states why it is what it is, except settings of the model.
    settings = ("from", "every")
    for loc, q in iter_quantities(scenario(name)):
        if loc in NOT_CLAIMS:
            continue
        values = q.options.values() if isinstance(q, Choice) else [q]
        for v in values:
            assert isinstance(v, Value)
            if not v.cites and loc[-1] not in settings:
                assert v.note, f"{name}: uncited number without a note at {loc}"


def test_belarus_2023_report_option():
    res = run(BELARUS)
    assert round(coverage(res, "front-line"), 3) == 99.980
    assert full_days(res, "front-line") == 351
    full = res.fully_covered().isel(run=0).sel(demand="front-line").values
    assert np.flatnonzero(~full).tolist() == list(range(72, 86))
    assert coverage(res, "second-line-tasks") == pytest.approx(100)
    assert coverage(res, "belarus-home-security") == pytest.approx(100)
    assert round(coverage(res, "wagner-sector"), 3) == 85.499
    assert full_days(res, "wagner-sector") == 0
    assert strength(res, "RU", "front").mean() == pytest.approx(44458, abs=1)
    assert strength(res, "BY", "front").mean() == pytest.approx(2370, abs=1)
    end = res.end_strength().isel(run=0)
    assert float(end.sel(force="RU")) == pytest.approx(130567, abs=1)
    assert float(end.sel(force="WG")) == pytest.approx(35519, abs=1)
    ds = res.to_xarray()
    pool = ds.stocks.isel(run=0).sel(force="RU", stock="replacement_pool").values
    assert int(pool.argmax()) == 179 and pool.max() == pytest.approx(14114, abs=1)
    assert pool[59] == 0 and pool[313] > 0 and pool[314] == 0
    wg = strength(res, "WG", "front")
    assert int(wg.argmin()) == 118 and wg.min() == pytest.approx(27702, abs=1)
    recruits = ds.pipeline_flows.isel(run=0).sel(measure="recruits").sum("day")
    assert float(recruits.sel(pipeline="ru-mobilisation")) == pytest.approx(36000)
    assert float(recruits.sel(pipeline="wg-ru-prisons")) == pytest.approx(92223, abs=1)
    assert float(recruits.sel(pipeline="wg-by-prisons")) == pytest.approx(1774, abs=1)
    assert float(res.deployed_to_dwell().sel(force="RU")) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("option", "home", "ru_front"), [("hur", 82.379, 5737), ("dpsu", 88.811, 8897)]
)
def test_belarus_2023_ukrainian_estimates(option: str, home: float, ru_front: float):
    res = run(BELARUS, ru_in_belarus=option)
    assert full_days(res, "front-line") == 365
    assert round(coverage(res, "belarus-home-security"), 3) == home
    assert full_days(res, "belarus-home-security") == 0
    assert strength(res, "RU", "front").mean() == pytest.approx(ru_front, abs=1)
    assert round(coverage(res, "wagner-sector"), 3) == 85.499  # Wagner does not depend on it


@pytest.mark.parametrize(
    ("option", "main", "base"), [("icps-2018", 84.247, 83.071), ("mediazona", 81.506, 80.330)]
)
def test_belarus_prison_rate_moves_only_wagner(option: str, main: float, base: float):
    res = run(BELARUS, ru_prison_rate=option)
    assert round(coverage(res, "wagner-sector"), 3) == main
    assert round(coverage(res, "front-line"), 3) == 99.980
    assert round(coverage(run(BASELINE, ru_prison_rate=option), "wagner-sector"), 3) == base


def test_belarus_baseline():
    res = run(BASELINE)
    assert round(coverage(res, "front-line"), 3) == 98.658
    full = res.fully_covered().isel(run=0).sel(demand="front-line").values
    assert np.flatnonzero(full).tolist() == list(range(103, 315))
    assert coverage(res, "belarus-home-security") == pytest.approx(96)
    assert round(coverage(res, "wagner-sector"), 3) == 84.323
    assert round(coverage(run(BASELINE, ru_in_belarus="hur"), "second-line-tasks"), 3) == 57.015
    assert round(coverage(run(BASELINE, ru_in_belarus="dpsu"), "second-line-tasks"), 3) == 88.495
    assert (strength(res, "BY", "belarus") == 48000).all()


@pytest.mark.parametrize("option", ["report", "hur", "dpsu"])
def test_belarus_russian_group_is_the_same_in_both_files(option: str):
    main, base = run(BELARUS, ru_in_belarus=option), run(BASELINE, ru_in_belarus=option)
    for loc in ("front", "second-line"):
        assert np.allclose(strength(main, "RU", loc), strength(base, "RU", loc))
    assert np.allclose(strength(main, "RU", "belarus"), strength(base, "RU", "russia"))
    # What Belarus adds: the special forces at the front, recruits for Wagner and Redut.
    assert coverage(main, "front-line") > coverage(base, "front-line")
    gain = strength(main, "WG", "front").mean() - strength(base, "WG", "front").mean()
    assert gain == pytest.approx(471, abs=1)
    assert strength(main, "RD", "front").mean() == pytest.approx(310, abs=1)


def test_belarus_short_stochastic_run_agrees_with_the_deterministic_one():
    # The attrition assumptions are PERT distributions whose means are the deterministic
    # values; coverage responds to them non-linearly, so a stochastic mean may sit a little
    # off the deterministic figure (85.50%), but not by more than a point and a half.
    res = forcegen.simulate(scenario(BELARUS), runs=40, seed=0)
    cov = res.coverage().mean("day")
    assert float(cov.sel(demand="wagner-sector").mean()) * 100 == pytest.approx(85.50, abs=1.5)
    assert float(cov.sel(demand="front-line").min()) * 100 > 99
    # Russian killed vary by about 3,000 from run to run with the killed hazard (1-4%/mo):
    # the mean of 40 runs is within three standard errors (1,440) of the deterministic 12,610.
    killed = res.to_xarray().losses.sel(force="RU", cause="killed").sum("day")
    assert float(killed.std()) == pytest.approx(3000, rel=0.35)
    assert float(killed.mean()) == pytest.approx(12610, abs=1440)


# -- Wagner prisoner contracts ----------------------------------------------------------------

WAGNER = "wagner-prisoner-contracts.yaml"
S = 1 - (1 - 0.97 ** (1 / 30)) - (1 - 0.93 ** (1 / 30))
"""Share of a detachment left after one day at the front (killed 3%/mo, wounded 7%/mo)."""


def test_wagner_hand_arithmetic():
    stay = (1 - S**180) / (1 - S)
    assert stay == pytest.approx(134.46, abs=0.01)
    assert 20000 / (stay / 30) == pytest.approx(4462, abs=1)
    assert 150 * stay == pytest.approx(20169, abs=1)


def test_wagner_stock_and_drain():
    res = run(WAGNER)
    front = strength(res, "WG", "front")
    assert front[13] == 0 and front[14] == pytest.approx(150)
    assert int(front.argmax()) == 193 and front.max() == pytest.approx(19276, abs=1)
    assert front[364] == pytest.approx(17813, abs=1)
    assert front[729] == pytest.approx(15050, abs=1)
    assert round(coverage(res, "wagner-front"), 1) == 76.1
    assert full_days(res, "wagner-front") == 0
    level = res.to_xarray().reservoir_level.isel(run=0).sel(reservoir="ru-colony-men").values
    days = np.arange(len(level))
    assert np.allclose(level, 325000 * (1 - 150 / 325000) ** (days + 1), rtol=1e-9)
    assert level[364] == pytest.approx(274602, abs=1)
    assert level[729] == pytest.approx(232020, abs=1)


def test_wagner_littles_law_at_a_constant_intake():
    # The header's steady state if the intake did not shrink: 150 a day x 134.5 days.
    text = (SCENARIOS / WAGNER).read_text(encoding="utf-8")
    assert text.count("uptake: proportional") == 1
    sc = loads(text.replace("uptake: proportional", "uptake: capped"), WAGNER)
    res = forcegen.simulate(sc, deterministic=True)
    front = strength(res, "WG", "front")
    steady = 150 * (1 - S**180) / (1 - S)
    assert np.allclose(front[194:], steady, rtol=1e-9)
    assert steady == pytest.approx(20169, abs=1)


WHOLE_ONLY = {
    "demands": {"share_of_days_fully_covered", "days_fully_covered_q"},
    "forces": {
        "mobilised_to_dwell",
        "units_deployed_mean",
        "losses_q",
        "wounded_out_mean",
        "gains_mean",
        "end_stocks_mean",
    },
}


@pytest.mark.parametrize("name", ["belarus-2023.yaml", "demand-driven-ready-pool.yaml"])
def test_the_headline_is_the_summarys_demands_and_forces_less_their_bands_and_sums(name: str):
    res = forcegen.simulate(scenario(name), runs=12, seed=3)
    whole, brief = res.summary((0.1, 0.5, 0.9)), res.headline((0.1, 0.5, 0.9))
    assert set(brief) == {"demands", "forces"}
    for part, left_out in WHOLE_ONLY.items():
        assert len(brief[part]) == len(whole[part])
        for mine, theirs in zip(brief[part], whole[part], strict=True):
            # the same figures to the bit, in the same order, without the whole summary's own
            assert mine == {k: v for k, v in theirs.items() if k not in left_out}
            assert list(mine) == [k for k in theirs if k not in left_out]
