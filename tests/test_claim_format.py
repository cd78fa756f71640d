"""Numbers as sources state them, and claims with their provenance (docs/format.md).

- every new written form of a number reads to the same value as its canonical form;
- dates known to the month or the year resolve, field by field, as documented;
- hedged values become the documented uncertain values, with settings under ``uncertainty``;
- grades in any case, reliability and credibility apart or together (and agreeing);
- source chains (``via``) load, show as one line and survive a round trip;
- every refusal is located (file, line, column, field) and lists the forms expected.
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Any

import jsonschema
import pytest
from conftest import build, changed, line_of, merge, scenario_data, scenario_text, yaml_text
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from forcegen.errors import ScenarioError
from forcegen.scenario.loader import loads
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import Count, Duration, Hazard, Kind, Positive, Rate

# --- every new form reads to the same value as its canonical form ----------------------------

SAME: list[tuple[Kind, Any, Any]] = [
    (Duration(), "6 months", "6mo"),
    (Duration(), "6months", "6mo"),
    (Duration(), "1 month", "1mo"),
    (Duration(), "a month", "1mo"),
    (Duration(), "a year", "1y"),
    (Duration(), "an year", "1y"),
    (Duration(), "2 weeks", "2w"),
    (Duration(), "1 week", "1w"),
    (Duration(), "3 wk", "3w"),
    (Duration(), "10 days", "10d"),
    (Duration(), "1 day", "1d"),
    (Duration(), "2 years", "2y"),
    (Duration(), "1 yr", "1y"),
    (Duration(), "1,000 days", "1000d"),
    (Duration(), " 0.5 months ", "15d"),
    (Hazard(), "1.5%/month", "1.5%/mo"),
    (Hazard(), "1.5% per month", "1.5%/mo"),
    (Hazard(), "1.5 % per month", "1.5%/mo"),
    (Hazard(), "1.5%/1mo", "1.5%/mo"),
    (Hazard(), "20%/year", "20%/y"),
    (Hazard(), "20%/ years", "20%/y"),
    (Hazard(), "2%/week", "2%/w"),
    (Hazard(), "0.1%/day", "0.1%/d"),
    (Hazard(), "50%/6mo", "50%/180d"),
    (Hazard(), "50%/6 months", "50%/180d"),
    (Hazard(), "50% per 6 months", "50%/180d"),
    (Hazard(), "10%/2w", "10%/14d"),
    (Hazard(), "10% per 2 weeks", "10%/14d"),
    (Rate(), "6,000/mo", "6000/mo"),
    (Rate(), "6000 per month", "6000/mo"),
    (Rate(), "6,000 per month", "6000/mo"),
    (Rate(), "900/3mo", "300/mo"),
    (Rate(), "900 per 3 months", "300/mo"),
    (Rate(), "1,500/week", "1500/w"),
    (Rate(), "1500/2w", "750/w"),
    (Rate(), "36,500/y", "100/d"),
    (Count(), "20,000", 20000),
    (Count(), " 1,000,000 ", 1000000),
    (Count(), "500", 500),
    (Positive(), "1,500", 1500),
    (Positive(), "12.5", 12.5),
]


@pytest.mark.parametrize(
    ("kind", "written", "canonical"), SAME, ids=[f"{k.name}:{w}" for k, w, _ in SAME]
)
def test_each_new_form_reads_as_its_canonical_form(
    kind: Kind, written: Any, canonical: Any
) -> None:
    assert kind.parse(written) == pytest.approx(kind.parse(canonical), rel=1e-12)
    # and whatever the reader takes, the schema takes
    assert jsonschema.Draft202012Validator(kind.json_schema).is_valid(written)


def test_a_hazard_over_six_months_is_the_daily_probability_that_compounds_to_it() -> None:
    per_day = Hazard().parse("50%/6mo")
    assert 1 - (1 - per_day) ** 180 == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kind", "written"),
    [
        (Duration(), "1.5 years"),  # 547.5 days: not whole
        (Duration(), "30 dayz"),
        (Duration(), "a"),
        (Duration(), "1,5d"),
        (Duration(), "6 Months"),  # units are lower case
        (Hazard(), "50%/0mo"),
        (Hazard(), "2% a month"),
        (Hazard(), "150%/mo"),
        (Rate(), "6000 a month"),
        (Rate(), "6000/mo/d"),
        (Rate(), "6,00/mo"),
        (Count(), "20.000"),
        (Count(), "20,00"),
        (Count(), "twenty"),
        (Positive(), "1,5"),
    ],
)
def test_malformed_new_forms_are_refused(kind: Kind, written: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        kind.parse(written)
    assert "expected" in str(info.value) and repr(written) in str(info.value)


READERS = [("duration", Duration()), ("hazard", Hazard()), ("rate", Rate()), ("count", Count())]
WORDS = st.lists(
    st.sampled_from(
        ["1", "6", "0", "20", ",", ",000", ".", "5", "%", "/", " ", "per ", "a ", "an ",
         "d", "day", "days", "w", "week", "weeks", "mo", "month", "months", "y", "year",
         "years", "wk", "yr", "e", "-"]
    ),
    max_size=7,
).map("".join)  # fmt: skip


def _reads(kind: Kind, text: str) -> bool:
    try:
        kind.parse(text)
    except (PydanticCustomError, ValueError, OverflowError):
        return False
    return True


@pytest.mark.parametrize(("name", "kind"), READERS, ids=[n for n, _ in READERS])
@settings(max_examples=400, deadline=None)
@given(text=WORDS)
def test_text_with_words_a_reader_accepts_the_schema_accepts(
    name: str, kind: Kind, text: str
) -> None:
    validator = jsonschema.Draft202012Validator(kind.json_schema)
    if _reads(kind, text):
        assert validator.is_valid(text), f"{name}: {text!r} is read but refused by the schema"


# --- dates known to the month or the year ---------------------------------------------------

OBSERVED = {"id": "o", "measure": "people", "value": 1000}


@pytest.mark.parametrize(
    ("sections", "get", "day"),
    [
        ({"start": "2023-01"}, lambda s: s.start, dt.date(2023, 1, 1)),
        ({"start": "2023"}, lambda s: s.start, dt.date(2023, 1, 1)),
        ({"start": 2023}, lambda s: s.start, dt.date(2023, 1, 1)),
        (
            {"demands": merge([{"start": "2023-02"}])},
            lambda s: s.demands[0].start,
            dt.date(2023, 2, 1),
        ),
        (
            {"changes": [{"at": "2023-02", "units": ["b"], "policy": "p"}]},
            lambda s: s.changes[0].at,
            dt.date(2023, 2, 1),
        ),
        (
            {"observations": [{**OBSERVED, "at": "2023-02"}]},
            lambda s: s.observations[0].at,
            dt.date(2023, 2, 28),
        ),
        (
            {"observations": [{**OBSERVED, "by": "2023-01"}]},
            lambda s: s.observations[0].by,
            dt.date(2023, 1, 31),
        ),
        (
            {"observations": [{**OBSERVED, "from": "2023-01", "to": "2023-02"}]},
            lambda s: s.observations[0].window,
            (dt.date(2023, 1, 1), dt.date(2023, 2, 28)),
        ),
        (
            {"answers": [{"demand": "d", "coverage": {"at_least": 0.5}, "at": "2023-01"}]},
            lambda s: s.answers[0].at,
            dt.date(2023, 1, 31),
        ),
        (
            {
                "answers": [
                    {
                        "demand": "d",
                        "fully_covered": {"days": 0.5},
                        "from": "2023-01",
                        "to": "2023-02",
                    }
                ]
            },  # fmt: skip
            lambda s: (s.answers[0].from_, s.answers[0].to),
            (dt.date(2023, 1, 1), dt.date(2023, 2, 28)),
        ),
    ],
    ids=[
        "start-month",
        "start-year-text",
        "start-year",
        "demand-start",
        "change-at",
        "obs-at",
        "obs-by",
        "obs-window",
        "answer-at",
        "answer-window",
    ],  # fmt: skip
)
def test_a_date_known_to_the_month_or_year_resolves_as_documented(
    sections: dict[str, Any], get: Any, day: Any
) -> None:
    assert get(build(**sections)) == day


def test_a_month_in_february_of_a_leap_year_ends_on_the_29th() -> None:
    scenario = build(
        start="2024-01-01", observations=[{**OBSERVED, "at": "2024-02"}], horizon="90d"
    )
    assert scenario.observations[0].at == dt.date(2024, 2, 29)


@pytest.mark.parametrize("written", ["2023-13", "2023-00", "23-01", "January 2023", "2023/01"])
def test_a_bad_month_is_refused_where_it_is_written(written: str) -> None:
    text = scenario_text(start=written)
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml")
    (problem,) = info.value.problems
    assert (problem.field, problem.line) == ("start", line_of(text, "start:"))
    assert "YYYY-MM (a month) or YYYY (a year)" in problem.message


# --- hedged values --------------------------------------------------------------------------


def _people(value: Any, **sections: Any) -> Any:
    return build(demands=merge([{"people": value}]), **sections).demands[0].people


def test_between_is_uniform_and_runs_take_its_middle() -> None:
    q = _people({"between": [5000, 9000], "cites": [], "note": "5,000 to 9,000"})
    assert (q.dist.shape, q.dist.low, q.dist.high, q.value) == ("uniform", 5000, 9000, 7000)
    assert q.note == "5,000 to 9,000"
    assert _people({"at_least": 5000, "at_most": 9000}) == q.model_copy(update={"note": None})


def test_about_is_triangular_ten_percent_either_side() -> None:
    q = _people({"about": "45,000"})
    assert q.dist.shape == "triangular"
    assert (q.dist.low, q.dist.mode, q.dist.high) == pytest.approx((40500, 45000, 49500))
    assert q.value == 45000


def test_at_least_and_at_most_peak_at_their_bound() -> None:
    low = _people({"at_least": 20000})
    assert (low.dist.low, low.dist.mode, low.dist.high) == (20000, 20000, 30000)
    assert low.value == round((20000 + 20000 + 30000) / 3)
    high = _people({"at_most": 6000})
    assert (high.dist.low, high.dist.mode, high.dist.high) == (4000, 6000, 6000)


def test_the_reach_of_hedges_is_a_setting_of_the_scenario() -> None:
    hedges = {"hedges": {"about": "20%", "at_least": 2, "at_most": 4}}
    about = _people({"about": 1000}, uncertainty=hedges)
    assert (about.dist.low, about.dist.high) == pytest.approx((800, 1200))
    assert _people({"at_least": 1000}, uncertainty=hedges).dist.high == 2000
    assert _people({"at_most": 1000}, uncertainty=hedges).dist.low == 250


def test_a_hedge_stays_within_the_range_of_its_kind() -> None:
    share = (
        build(
            locations=merge(
                [
                    {
                        "attrition": {
                            "wounded": 0.001,
                            "return_share": {"at_least": "90%"},
                            "recovery": "10d",
                        }
                    }
                ]
            )  # fmt: skip
        )
        .locations[0]
        .attrition.return_share
    )
    assert share.dist.high == 1.0
    full = (
        build(
            locations=merge(
                [
                    {
                        "attrition": {
                            "wounded": 0.001,
                            "return_share": {"at_least": 1},
                            "recovery": "10d",
                        }
                    }
                ]
            )  # fmt: skip
        )
        .locations[0]
        .attrition.return_share
    )
    assert (full.value, full.dist) == (1.0, None)


def test_hedged_hazards_and_durations_read_their_bounds_in_units() -> None:
    attrition = (
        build(locations=merge([{"attrition": {"killed": {"about": "1.5% per month"}}}]))
        .locations[0]
        .attrition
    )
    assert attrition.killed.dist.mode == Hazard().parse("1.5%/mo")
    policy = build(
        policies=merge([{"positions": [{"duration": {"between": ["2 weeks", "a month"]}}]}])
    ).policies[0]
    assert (policy.positions[0].duration.dist.low, policy.positions[0].duration.dist.high) == (
        14,
        30,
    )


def test_a_hedged_value_runs_deterministically_at_its_central_value() -> None:
    import forcegen

    scenario = build(demands=merge([{"people": {"between": [900, 1100]}}]))
    result = forcegen.simulate(scenario, runs=1, seed=1, deterministic=True)
    assert result is not None
    assert scenario.demands[0].people.value == 1000


@pytest.mark.parametrize(
    ("people", "words"),
    [
        ({"about": 1, "between": [1, 2]}, "expected one hedge"),
        ({"at_least": 1, "value": 2}, "not both"),
        ({"at_most": 1, "pert": [1, 2, 3]}, "not both"),
        ({"between": [9000, 5000]}, "low bound at or below the high one"),
        ({"between": [5000]}, "between: [low, high]"),
        ({"at_least": "lots"}, "whole number >= 0"),
    ],
)
def test_a_bad_hedge_is_refused_where_it_is_written(people: dict[str, Any], words: str) -> None:
    text = scenario_text(demands=merge([{"people": people}]))
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml")
    (problem,) = info.value.problems
    assert problem.field == "demands[0].people"
    assert line_of(text, "people:") <= problem.line <= line_of(text, "people:") + 1
    assert words in problem.message


def test_an_observation_takes_about_as_its_value() -> None:
    obs = build(observations=[{"id": "o", "measure": "people", "at": "2023-01-20",
                               "about": "1,000"}]).observations[0]  # fmt: skip
    assert obs.value == 1000
    with pytest.raises(ScenarioError, match="either 'value' or 'about'"):
        build(observations=[{**OBSERVED, "at": "2023-01-20", "about": 3}])


# --- grades, reliability and credibility ----------------------------------------------------

CLAIM = {"id": "C1", "source": {"publication": "Daily"}, "attribution": "anonymous",
         "paraphrase": "something"}  # fmt: skip


def _claim(**fields: Any) -> Any:
    return build(claims=[{**CLAIM, **fields}]).claims[0]


@pytest.mark.parametrize(
    "fields",
    [
        {"grade": "B2"},
        {"grade": "b2"},
        {"grade": " b2 "},
        {"reliability": "B", "credibility": 2},
        {"reliability": "b", "credibility": "2"},
        {"grade": "B2", "reliability": "B", "credibility": 2},
        {"grade": "b2", "reliability": "B"},
    ],
)
def test_a_grade_in_any_case_or_in_parts_is_one_grade(fields: dict[str, Any]) -> None:
    claim = _claim(**fields)
    assert (claim.grade, claim.reliability, claim.credibility) == ("B2", "B", 2)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"grade": "B2", "reliability": "C"}, "grade B2 disagrees with reliability C"),
        ({"grade": "B2", "credibility": 5}, "credibility 5"),
        ({"grade": "B2", "reliability": "B", "credibility": 3}, "disagrees"),
    ],
)
def test_grade_and_parts_that_disagree_are_refused_at_the_grade(
    fields: dict[str, Any], words: str
) -> None:
    text = scenario_text(claims=[{**CLAIM, **fields}])
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml")
    (problem,) = info.value.problems
    assert problem.field == "claims[0].grade"
    assert problem.line == line_of(text, "grade:")
    assert words in problem.message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reliability": "G", "credibility": 2}, "claims[0].reliability"),
        ({"reliability": "B", "credibility": 7}, "claims[0].credibility"),
        ({}, "claims[0].grade"),
    ],
)
def test_a_bad_or_missing_grade_is_one_located_problem(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads(scenario_text(claims=[{**CLAIM, **fields}]), "s.yaml")
    (problem,) = info.value.problems
    assert problem.field == field


# --- sources and their chains ----------------------------------------------------------------

CHAINED = {
    **CLAIM,
    "source": {
        "language": "it",
        "date": "2023-01",
        "title": "Lukashenko's breakthrough",
        "quote": "Un mese al fronte, uno nelle retrovie, uno in Bielorussia.",
        "via": [
            {"kind": "origin", "name": "anonymous Belarusian source"},
            {
                "kind": "outlet",
                "name": "Corriere della Sera",
                "language": "it",
                "date": "2023-01-19",
                "url": "https://www.corriere.it/",
            },
            {
                "kind": "translation",
                "name": "machine translation",
                "language": "en",
                "note": "says 'in Ukraine' where the sense is Belarus",
            },
        ],  # fmt: skip
    },
    "reliability": "F",
    "credibility": 3,
}


def test_a_chain_is_one_honest_record() -> None:
    claim = build(claims=[CHAINED]).claims[0]
    assert claim.source.publication == "Corriere della Sera"  # the last outlet of the chain
    assert claim.source.date == dt.date(2023, 1, 1)
    assert [link.kind for link in claim.source.via] == ["origin", "outlet", "translation"]
    assert claim.source.chain == (
        "anonymous Belarusian source → Corriere della Sera (it) → machine translation (en)"
    )
    assert claim.grade == "F3"


def test_a_chain_survives_a_round_trip() -> None:
    scenario = build(claims=[CHAINED])
    data = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    again = Scenario.model_validate(data)
    assert again.claims == scenario.claims
    assert loads(yaml_text(data)).claims == scenario.claims


def test_a_source_without_publication_needs_an_outlet_in_its_chain() -> None:
    origin_only = changed(
        {"claims": [CHAINED]},
        claims=[{**CHAINED, "source": {"via": [{"kind": "origin", "name": "a minister"}]}}],
    )
    with pytest.raises(ScenarioError) as info:
        loads(scenario_text(**origin_only), "s.yaml")
    (problem,) = info.value.problems
    assert problem.field == "claims[0].source.publication"


def test_a_link_of_unknown_kind_is_refused_with_the_kinds() -> None:
    bad = {**CHAINED, "source": {"publication": "P", "via": [{"kind": "rumour", "name": "x"}]}}
    with pytest.raises(ScenarioError) as info:
        loads(scenario_text(claims=[bad]), "s.yaml")
    (problem,) = info.value.problems
    assert problem.field == "claims[0].source.via[0].kind"
    assert "'origin'" in problem.message and "'translation'" in problem.message


def test_the_claims_table_shows_the_chain_reliability_and_credibility() -> None:
    from forcegen.report.page import _claims

    scenario = build(claims=[CHAINED, {**CLAIM, "id": "C2", "grade": "b2"}])
    rows = {r["id"]: r for r in _claims(types.SimpleNamespace(scenario=scenario), {})}
    assert rows["C1"]["chain"].startswith("anonymous Belarusian source → Corriere della Sera")
    assert (rows["C1"]["reliability"], rows["C1"]["credibility"]) == ("F", 3)
    assert rows["C1"]["reliability_words"] == "reliability cannot be judged"
    assert rows["C1"]["quote"].startswith("Un mese")
    assert (rows["C2"]["chain"], rows["C2"]["grade"]) == ("Daily", "B2")


def test_the_shipped_seed_claim_records_how_it_reached_us() -> None:
    from pathlib import Path

    import forcegen

    root = Path(__file__).resolve().parents[1]
    seed = forcegen.load(root / "scenarios" / "belarus-2023.yaml").claims[0]
    assert seed.id == "cds-ru-rotation"
    assert seed.source.chain == (
        "anonymous Belarusian source → Corriere della Sera (it) → machine translation (en)"
    )
    assert seed.grade == "F3" and seed.source.quote


# --- cites and notes where they cannot go ---------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "field", "words"),
    [
        (
            {"demands": merge([{"people": 20000, "cites": ["C1"]}])},
            "demands[0].cites",
            "put it on the number: people: {value: 20000, cites: [...]}",
        ),
        (
            {"locations": merge([{"attrition": {"killed": 0.001, "note": "x"}}])},
            "locations[0].attrition.note",
            'put it on the number: killed: {value: 0.001, note: "..."}',
        ),
        (
            {"units": merge([{"cites": ["C1"]}])},
            "units[0].cites",
            "put it on the number: count: {value: 4, cites: [...]}",
        ),
        (
            {"forces": [{"id": "blue", "cites": ["C1"]}]},
            "forces[0].cites",
            "holds no number to carry it",
        ),
    ],
)
def test_cites_or_note_beside_a_number_say_where_they_go(
    sections: dict[str, Any], field: str, words: str
) -> None:
    text = scenario_text(**sections)
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml")
    (problem,) = info.value.problems
    assert problem.field == field
    assert problem.line is not None and problem.column is not None
    assert words in problem.message, problem.message


def test_the_schema_takes_the_new_forms_of_a_whole_scenario() -> None:
    import json

    from typer.testing import CliRunner

    from forcegen.cli import app

    schema = json.loads(CliRunner().invoke(app, ["schema"]).stdout)
    data = scenario_data(
        start="2023-01",
        horizon="a year",
        claims=[CHAINED, {**CLAIM, "id": "C2", "grade": "b2"}],
        demands=merge([{"people": {"at_least": "20,000", "cites": ["C1"]}, "start": "2023-02"}]),
        locations=merge(
            [{"attrition": {"killed": "50%/6mo", "wounded": {"about": "1.5% per month"}}}]
        ),
        observations=[{**OBSERVED, "at": "2023-05", "value": None, "about": "1,000"}],
        uncertainty={"hedges": {"about": "20%"}},
    )
    data["observations"][0].pop("value")
    loads(yaml_text(data))
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert errors == []
