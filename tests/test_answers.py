"""The bottom line: answers in the scenario, the likelihood scale, and answers decided per run.

The scale's words follow ICD 203 with forcegen's boundary rule (a share on a boundary takes
the word nearer to even chance); each answer's count of runs equals the count made directly
from the daily records; mistakes in ``answers:`` are located like every other problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import build, line_of, merge, scenario_text
from typer.testing import CliRunner

from forcegen.analysis.answers import evaluate, with_answers
from forcegen.analysis.drivers import MIN_RUNS, RHO_FLOOR
from forcegen.analysis.likelihood import BOUNDARIES, WORDS, lead, share_text, word
from forcegen.api import simulate
from forcegen.cli import app
from forcegen.errors import ScenarioError
from forcegen.results import FULL
from forcegen.scenario.loader import loads
from forcegen.scenario.model import Scenario

# --- the likelihood scale -------------------------------------------------------------------

EPS = 1e-9


@pytest.mark.parametrize(
    ("boundary", "below", "at", "above"),
    [
        (0.05, "almost no chance", "very unlikely", "very unlikely"),
        (0.20, "very unlikely", "unlikely", "unlikely"),
        (0.45, "unlikely", "roughly even chance", "roughly even chance"),
        (0.55, "roughly even chance", "roughly even chance", "likely"),
        (0.80, "likely", "likely", "very likely"),
        (0.95, "very likely", "very likely", "almost certain"),
    ],
)
def test_each_boundary_takes_the_word_nearer_to_even_chance(
    boundary: float, below: str, at: str, above: str
) -> None:
    assert word(boundary - EPS) == below
    assert word(boundary) == at
    assert word(boundary + EPS) == above


def test_the_scale_ends_never_claim_certainty() -> None:
    assert word(0.0) == "almost no chance"
    assert word(1.0) == "almost certain"
    assert word(0.5) == "roughly even chance"
    assert BOUNDARIES == (0.05, 0.20, 0.45, 0.55, 0.80, 0.95)
    assert len(WORDS) == 7


def test_a_statement_and_its_negation_get_mirror_words() -> None:
    # k of n runs against n - k of n (1 - k / n in floating point need not be (n - k) / n).
    for n in (20, 100, 200):
        for k in range(n + 1):
            assert WORDS.index(word(k / n)) == 6 - WORDS.index(word((n - k) / n)), (k, n)


def test_shares_on_boundaries_as_counts_of_runs() -> None:
    # k of n exactly on a boundary, as shares of runs are.
    assert word(11 / 20) == "roughly even chance"
    assert word(19 / 20) == "very likely"
    assert word(1 / 20) == "very unlikely"
    assert word(4 / 5) == "likely"


def test_a_probability_outside_0_to_1_is_refused() -> None:
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError):
            word(bad)


def test_share_text_shows_counts_at_the_ends_and_never_contradicts_its_word() -> None:
    assert share_text(0, 200) == "0 of 200 runs"
    assert share_text(100, 100) == "100 of 100 runs"
    assert share_text(174, 200) == "87% of 200 runs"
    assert share_text(1, 1000) == "under 1% of 1,000 runs"
    assert share_text(999, 1000) == "over 99% of 1,000 runs"
    assert share_text(546, 1000) == "54.6% of 1,000 runs"  # not "55%", which is even chance
    assert share_text(1, 1) == "1 of 1 run"


def test_the_two_noun_words_read_as_sentences() -> None:
    assert lead(0.0) == "There is almost no chance"
    assert lead(0.5) == "There is a roughly even chance"
    assert lead(0.87) == "It is very likely"


# --- answers in the scenario ------------------------------------------------------------------


def _problems(**sections: object) -> tuple[str, list[str]]:
    text = scenario_text(**sections)
    with pytest.raises(ScenarioError) as info:
        loads(text, "test.yaml")
    return text, [str(p) for p in info.value.problems]


def _one(problems: list[str], fragment: str) -> str:
    (found,) = [p for p in problems if fragment in p]
    return found


def test_answers_load_in_every_form() -> None:
    scenario = build(
        answers=[
            {"id": "a", "demand": "d", "fully_covered": {"days": "95%"}},
            {"demand": "d", "coverage": {"at_least": 0.9}, "at": "2023-01-20"},
            {"demand": "d", "coverage": {"at_most": "50%"}, "from": 5, "to": "30d"},
            {"force": "blue", "location": "front", "people": {"at_least": 1000}},
        ]
    )
    a, b, c, d = scenario.answers or []
    assert a.fully_covered is not None and a.fully_covered.days == pytest.approx(0.95)
    assert b.form == "coverage" and str(b.at) == "2023-01-20"
    assert (c.from_, c.to) == (5, 30)
    assert d.form == "people" and d.people is not None and d.people.at_least == 1000


def test_mistakes_in_answers_are_located() -> None:
    text, problems = _problems(
        answers=[
            {"demand": "nope", "fully_covered": {"days": "95%"}},
            {"force": "red", "location": "front", "people": {"at_least": 5}, "at": "2024-05-01"},
            {"demand": "d", "coverage": {"at_least": 0.9, "at_most": 1}, "from": 40, "to": 10},
            {"demand": "d", "cites": ["no-such-claim"]},
        ]
    )
    found = _one(problems, "answers[0].demand")
    assert "demands (d)" in found and "'nope'" in found
    assert f"test.yaml:{line_of(text, 'demand: nope')}:" in found
    assert "forces (blue)" in _one(problems, "answers[1].force")
    assert "within the horizon" in _one(problems, "answers[1].at")
    assert "exactly one of 'at_least' or 'at_most'" in _one(problems, "answers[2].coverage")
    assert "on or after 'from'" in _one(problems, "answers[2].to")
    assert "found none" in _one(problems, "answers[3]: expected exactly one of")
    assert "claims" in _one(problems, "answers[3].cites[0]")


def test_a_share_outside_0_to_100_percent_is_located() -> None:
    text, problems = _problems(answers=[{"demand": "d", "fully_covered": {"days": "120%"}}])
    found = _one(problems, "answers[0].fully_covered.days")
    assert "share between 0 and 1" in found
    assert f"test.yaml:{line_of(text, '120%')}:" in found


def test_forms_take_their_own_ids_and_days() -> None:
    _, problems = _problems(
        answers=[
            {"demand": "d", "force": "blue", "fully_covered": {"days": 1}, "at": 3},
            {"demand": "d", "coverage": {"at_least": 1}, "at": 3, "from": 2},
            {"force": "blue", "people": {"at_least": 1}},
            {"id": "x", "demand": "d", "fully_covered": {"days": 1}},
            {"id": "x", "demand": "d", "fully_covered": {"days": 1}},
        ]
    )
    assert "takes demand, not 'force'" in _one(problems, "answers[0].force")
    assert "counts days over a window" in _one(problems, "answers[0].at")
    assert "not both" in _one(problems, "answers[1].at")
    assert "needs 'location'" in _one(problems, "answers[2]: ")
    assert "duplicate id 'x'" in _one(problems, "answers[4].id")


def test_a_demand_answer_must_ask_about_days_the_demand_is_required() -> None:
    _, problems = _problems(
        demands=merge([{"start": 20, "duration": "10d"}]),
        answers=[{"demand": "d", "coverage": {"at_least": 1}, "at": 3}],
    )
    assert "active from day 20 to day 29" in _one(problems, "answers[0].at")


def test_without_answers_each_demand_gets_a_default_and_an_empty_list_asks_for_none() -> None:
    two = merge([{}, {"id": "e", "location": "front", "people": 10, "fill": {"forces": ["blue"]}}])
    scenario = build(demands=two)
    results = simulate(scenario, deterministic=True)
    outcomes = evaluate(results, scenario)
    assert [o.id for o in outcomes] == ["d", "e"]
    assert all(o.default for o in outcomes)
    assert outcomes[0].statement == "d is fully covered on at least 95% of its days"
    none = build(demands=two, answers=[])
    assert evaluate(simulate(none, deterministic=True), none) == []


# --- answers decided per run -------------------------------------------------------------------

ANSWERS = [
    {"id": "full", "demand": "d", "fully_covered": {"days": "90%"}},
    {"id": "full-window", "demand": "d", "fully_covered": {"days": "50%"}, "from": 10, "to": 40},
    {"id": "cov-at", "demand": "d", "coverage": {"at_least": "95%"}, "at": "2023-02-05"},
    {"id": "cov-most", "demand": "d", "coverage": {"at_most": "80%"}, "from": 30},
    {"id": "people", "force": "blue", "location": "front", "people": {"at_least": 900}, "to": 50},
    {"id": "people-most", "force": "blue", "location": "home", "people": {"at_most": 1200}},
]


def _direct_counts(ds: object) -> dict[str, int]:
    """Each answer's runs that hold, counted from the daily records one run and day at a
    time: the plain reading of docs/format.md, independent of the vectorised code."""
    filled = ds.filled.sel(demand="d").values  # type: ignore[attr-defined]
    required = ds.required.sel(demand="d").values  # type: ignore[attr-defined]
    front = ds.strength.sel(force="blue", location="front").values  # type: ignore[attr-defined]
    home = ds.strength.sel(force="blue", location="home").values  # type: ignore[attr-defined]
    runs, days = filled.shape
    at = 35  # 2023-02-05 is day 35 of a scenario starting 2023-01-01
    counts = dict.fromkeys([a["id"] for a in ANSWERS], 0)
    for r in range(runs):
        active = [t for t in range(days) if required[r, t] > 0]
        full = [t for t in active if filled[r, t] >= required[r, t] - FULL]
        counts["full"] += len(full) >= 0.9 * len(active)
        window = [t for t in active if 10 <= t <= 40]
        counts["full-window"] += len([t for t in full if 10 <= t <= 40]) >= 0.5 * len(window)
        counts["cov-at"] += bool(
            required[r, at] > 0 and filled[r, at] / required[r, at] >= 0.95 - 1e-6
        )
        late = [filled[r, t] / required[r, t] for t in active if t >= 30]
        counts["cov-most"] += bool(late) and max(late) <= 0.8 + 1e-6
        counts["people"] += all(front[r, t] >= 900 for t in range(0, 51))
        counts["people-most"] += all(home[r, t] <= 1200 for t in range(days))
    return counts


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "stochastic"])
def test_each_answer_holds_in_as_many_runs_as_the_daily_records_say(deterministic: bool) -> None:
    scenario = build(
        horizon="90d",
        units=merge([{"count": {"triangular": [2, 3, 5]}, "strength": {"pert": [300, 400, 600]}}]),
        locations=merge([{"attrition": {"killed": "2%/mo", "wounded": "5%/mo"}}]),
        answers=ANSWERS,
    )
    results = simulate(scenario, runs=40, seed=3, deterministic=deterministic)
    outcomes = {o.id: o for o in evaluate(results, scenario)}
    counts = _direct_counts(results.to_xarray())
    assert {k: o.holds for k, o in outcomes.items()} == counts
    runs = 1 if deterministic else 40
    assert all(o.runs == runs for o in outcomes.values())
    if not deterministic:
        # The scenario is built so that the answers do not all hold or fail everywhere.
        assert any(0 < o.holds < runs for o in outcomes.values())
        assert all(o.likelihood == word(o.holds / runs) for o in outcomes.values())
    else:
        assert all(o.likelihood is None for o in outcomes.values())
        assert all("expected-value run" in o.sentence() for o in outcomes.values())


def test_an_answer_hangs_on_the_input_that_drives_it_named_by_its_claims() -> None:
    claim = {
        "id": "C1",
        "source": {"publication": "A paper"},
        "attribution": "anonymous",
        "paraphrase": "about four battalions",
        "grade": "F3",
    }
    scenario = build(
        claims=[claim],
        units=merge([{"count": {"triangular": [2, 4, 6], "cites": ["C1"]}}]),
        answers=[{"demand": "d", "fully_covered": {"days": "95%"}}],
    )
    (outcome,) = evaluate(simulate(scenario, runs=60, seed=1), scenario)
    (driver,) = outcome.drivers
    assert driver.input == "units[0].count" and driver.name == "units[b].count"
    assert driver.claims == ("C1",) and driver.grades == ("F3",)
    assert driver.rho >= RHO_FLOOR
    assert "C1 (F3)" in outcome.hangs_on()
    assert outcome.sentence().startswith(("It is", "There is"))
    assert "of 60 runs) that d is fully covered on at least 95% of its days." in outcome.sentence()


def test_no_driver_is_named_without_variation_or_without_enough_runs() -> None:
    fixed = build(answers=[{"demand": "d", "fully_covered": {"days": "95%"}}])
    (o,) = evaluate(simulate(fixed, runs=20, seed=0), fixed)
    assert o.drivers == [] and "no uncertain input varies" in o.drivers_note
    varied = build(units=merge([{"count": {"triangular": [2, 4, 6]}}]))
    (o,) = evaluate(simulate(varied, runs=MIN_RUNS - 1, seed=0), varied)
    assert o.drivers == [] and "too few runs" in o.drivers_note
    (o,) = evaluate(simulate(varied, deterministic=True), varied)
    assert o.drivers == [] and "expected-value run" in o.drivers_note


# --- where the answers show ---------------------------------------------------------------------


def test_the_summary_of_results_stays_without_answers_and_run_adds_them() -> None:
    scenario = build()
    results = simulate(scenario, runs=5, seed=0)
    plain = results.summary()
    assert "answers" not in plain
    added = with_answers(plain, results, scenario)
    (entry,) = added["answers"]
    assert entry["probability"] == entry["holds"] / entry["runs"]
    assert entry["default"] is True
    json.dumps(added, allow_nan=False)


def test_run_opens_with_the_bottom_line_and_json_keeps_fractions(
    write_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_scenario(
        question="Does blue hold the front?",
        answers=[{"demand": "d", "fully_covered": {"days": "95%"}, "text": "blue holds"}],
    )
    runner = CliRunner()
    shown = runner.invoke(app, ["run", str(path), "--runs", "12"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "Question: Does blue hold the front?"
    assert lines[1].startswith("Bottom line")
    assert "of 12 runs) that blue holds." in lines[2]
    printed = runner.invoke(app, ["run", str(path), "--runs", "12", "--format", "json"])
    (entry,) = json.loads(printed.stdout)["answers"]
    assert 0 <= entry["probability"] <= 1 and entry["statement"] == "blue holds"
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(path), "--runs", "12", "--out", str(out)]).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["answers"][0]["statement"] == "blue holds"
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page.index('id="bottom-line"')
    assert section < page.index('id="headline"') and section < page.index("<nav>")
    assert page.index("Does blue hold the front?") > section
    assert "that blue holds." in page[section:]


# --- an observation's verdict as an answer --------------------------------------------------

OBS_CLAIMS = [
    {
        "id": f"c{grade}",
        "source": {"publication": "A paper"},
        "attribution": "anonymous",
        "paraphrase": "a figure",
        "grade": grade,
    }
    for grade in ("B2", "F3")
]

OBSERVATIONS = [
    {"id": "k", "measure": "killed", "force": "blue", "by": "2023-02-15", "between": [5, 25]},
    {"id": "p", "measure": "people", "force": "blue", "location": "front", "at": "2023-02-05"},
    {
        "id": "cov",
        "measure": "coverage",
        "demand": "d",
        "from": "2023-01-10",
        "to": "2023-02-20",
        "at_least": "90%",
    },
]
OBSERVATIONS[0]["cites"] = ["cB2"]
OBSERVATIONS[1]["value"] = 1000


def _observing(**sections: object) -> Scenario:
    """A scenario whose answers ask about its observations, with numbers that vary."""
    base: dict[str, object] = {
        "horizon": "90d",
        "claims": OBS_CLAIMS,
        "units": merge(
            [{"count": {"triangular": [2, 3, 5]}, "strength": {"pert": [300, 400, 600]}}]
        ),
        "locations": merge([{"attrition": {"killed": "2%/mo", "wounded": "5%/mo"}}]),
        "observations": OBSERVATIONS,
        "answers": [{"observation": o["id"]} for o in OBSERVATIONS],
    }
    return build(**{**base, **sections})


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "stochastic"])
def test_an_observation_answer_holds_where_the_observations_claim_holds(
    deterministic: bool,
) -> None:
    from forcegen.analysis.observations import assess, observed_figures, targets

    scenario = _observing()
    results = simulate(scenario, runs=40, seed=3, deterministic=deterministic)
    outcomes = evaluate(results, scenario)
    figures = observed_figures(results, scenario)
    verdicts = {a.id: a.verdict for a in assess(results, scenario)}
    runs = 1 if deterministic else 40
    for outcome, tgt in zip(outcomes, targets(scenario), strict=True):
        values = figures.sel(observation=tgt.id).values
        assert outcome.form == "observation" and outcome.observation == tgt.id
        assert outcome.runs == runs
        assert outcome.holds == int(tgt.holds(values).sum())
        assert outcome.figure_mean == pytest.approx(float(np.nanmean(values)), rel=1e-6)
        assert outcome.verdict == verdicts[tgt.id]
        assert outcome.plain()["verdict"] == verdicts[tgt.id]
        assert outcome.plain()["observation"] == tgt.id
    assert outcomes[0].cites == ["cB2"] and outcomes[0].grades == ["B2"]
    assert outcomes[1].cites == [] and outcomes[2].cites == []
    if not deterministic:
        # Built so that some claim holds in some runs and not in others.
        assert any(0 < o.holds < runs for o in outcomes)


def test_an_observation_answer_hangs_on_what_drives_the_observations_figure() -> None:
    scenario = build(
        claims=OBS_CLAIMS,
        units=merge([{"count": {"triangular": [2, 4, 6], "cites": ["cF3"]}}]),
        observations=[
            {
                "id": "home",
                "measure": "people",
                "force": "blue",
                "location": "home",
                "at": "2023-01-05",
                "at_least": 1500,
                "cites": ["cB2"],
            }
        ],
        answers=[{"observation": "home", "cites": ["cF3"]}],
    )
    (outcome,) = evaluate(simulate(scenario, runs=60, seed=1), scenario)
    (driver,) = outcome.drivers
    assert driver.input == "units[0].count" and driver.rho >= RHO_FLOOR
    # Its own cites first, then the observation's, each once, with their grades.
    assert outcome.cites == ["cF3", "cB2"] and outcome.grades == ["F3", "B2"]


def test_an_observation_answer_is_stated_from_the_observation() -> None:
    from forcegen.analysis.answers import statement

    scenario = _observing()
    k, p, cov = scenario.answers or []
    assert statement(k, scenario) == (
        "the claim k holds: between 5 and 25 people of blue killed by 2023-02-15 "
        "(with the tolerance of its grades: 4.5 to 27.5)"
    )
    assert statement(p, scenario) == (
        "the claim p holds: 1,000 people of blue at front on 2023-02-05 "
        "(with the tolerance of an uncited claim: 750 to 1,250)"
    )
    assert statement(cov, scenario) == (
        "the claim cov holds: the coverage of d is at least 90% on average from 2023-01-10 "
        "to 2023-02-20 (with the tolerance of an uncited claim: at least 67.5%)"
    )
    exact = _observing(
        observations=[OBSERVATIONS[0], {**OBSERVATIONS[1], "tolerance": 0}, OBSERVATIONS[2]],
        answers=[{"observation": "p"}, {"observation": "k", "text": "few are killed"}],
    )
    first, second = evaluate(simulate(exact, deterministic=True), exact)
    assert first.statement == "the claim p holds: 1,000 people of blue at front on 2023-02-05"
    assert second.statement == "few are killed"


def test_mistakes_in_an_observation_answer_are_located() -> None:
    text, problems = _problems(
        claims=OBS_CLAIMS,
        observations=OBSERVATIONS,
        answers=[
            {"observation": "nope"},
            {"observation": "k", "at": "2023-01-20"},
            {"observation": "k", "force": "blue", "location": "front", "people": {"at_least": 1}},
            {"observation": "p", "demand": "d", "from": 3},
        ],
    )
    found = _one(problems, "answers[0].observation")
    assert "observations (cov, k, p)" in found and "'nope'" in found
    assert f"test.yaml:{line_of(text, 'observation: nope')}:" in found
    assert "observation's own day or window" in _one(problems, "answers[1].at")
    assert "found 'people' and 'observation'" in _one(problems, "answers[2]: expected exactly")
    assert "takes the observation's id alone, not 'demand'" in _one(problems, "answers[3].demand")
    assert "leave out 'from'" in _one(problems, "answers[3].from")


def test_the_schema_takes_an_observation_answer() -> None:
    import jsonschema

    printed = CliRunner().invoke(app, ["schema"])
    assert printed.exit_code == 0
    schema = json.loads(printed.stdout)
    answer = {"$defs": schema["$defs"], "$ref": "#/$defs/Answer"}
    validator = jsonschema.Draft202012Validator(answer)
    assert validator.is_valid({"id": "a", "observation": "ru-in-belarus-hur"})
    assert not validator.is_valid({"observation": 5})
    assert not validator.is_valid({"observation": "x", "verdict": "consistent"})


def test_run_and_report_show_an_observations_verdict_after_its_sentence(
    write_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_scenario(
        claims=OBS_CLAIMS,
        observations=OBSERVATIONS[:1],
        answers=[{"observation": "k"}],
    )
    runner = CliRunner()
    out = tmp_path / "out"
    shown = runner.invoke(app, ["run", str(path), "--runs", "12", "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    flat = " ".join(shown.stdout.split())  # the terminal wraps long sentences
    (entry,) = json.loads((out / "summary.json").read_text())["answers"]
    (observed,) = json.loads((out / "summary.json").read_text())["observations"]
    assert entry["verdict"] == observed["verdict"]
    assert entry["cites"] == ["cB2"] and entry["grades"] == ["B2"]
    verdict_line = f"Verdict: {entry['verdict']} (observation k, citing cB2 (B2))"
    assert "of 12 runs) that the claim k holds: " in flat
    assert f"(with the tolerance of its grades: 4.5 to 27.5). {verdict_line}" in flat
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="bottom-line"') :]
    assert f"Verdict: {entry['verdict']} (observation <code>k</code>" in section
    assert section.index("that the claim k holds") < section.index("Verdict: ")
