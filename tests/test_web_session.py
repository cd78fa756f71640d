"""The workbench's session model (forcegen.web): names confined to the folder, what a page
lists and runs, paired differences, exports that never overwrite. No browser, no Panel."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import forcegen
from forcegen.cli import app
from forcegen.errors import ScenarioError, UsageError
from forcegen.scenario.claims import quantities
from forcegen.scenario.paths import locate
from forcegen.scenario.quantities import kind_of, read_value
from forcegen.web.files import Folder
from forcegen.web.session import ROUND_TRIP, Input, Session, Settings, written

SCENARIO = """\
forcegen: 1
name: Workbench test
question: Does a 30/30/30 rotation keep three battalions at the front?
start: 2023-01-01
horizon: 120d
claims:
  - id: c-count
    source: {publication: Test Gazette}
    attribution: official
    paraphrase: nine battalions
    reliability: B
    credibility: 2
    grade: B2
  - id: c-few
    source: {publication: Other Gazette}
    attribution: anonymous
    paraphrase: six battalions
    reliability: D
    credibility: 4
    grade: D4
forces:
  - {id: blue}
unit_types:
  - {id: bn}
locations:
  - id: front
    attrition:
      killed: {pert: [1%/mo, 2%/mo, 4%/mo]}
      wounded: 3%/mo
      return_share: 40%
      recovery: 60d
  - {id: rear}
  - {id: home}
policies:
  - id: p
    positions:
      - {name: front, location: front, duration: 30d, deployed: true}
      - {name: rear, location: rear, duration: 30d}
      - {name: home, location: home, duration: 30d}
units:
  - id: blue-bn
    force: blue
    type: bn
    count:
      choose: size
      default: many
      options:
        many: {value: 9, cites: [c-count]}
        few: {value: 6, cites: [c-few]}
    strength: {value: 500, cites: [c-count]}
    policy: p
demands:
  - id: front-line
    location: front
    people: 1500
    fill: {forces: [blue]}
pipelines:
  - id: draft
    force: blue
    intake: [{from: 0d, rate: 600/mo}]
    training: 14d
    into: replacements
"""

BROKEN = SCENARIO.replace("duration: 30d, deployed: true", "duration: thirty, deployed: true")


@pytest.fixture()
def folder(tmp_path: Path) -> Folder:
    root = tmp_path / "work"
    root.mkdir()
    (root / "test.yaml").write_text(SCENARIO, encoding="utf-8")
    (root / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "other.yml").write_text(SCENARIO, encoding="utf-8")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.yaml").write_text(SCENARIO, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(SCENARIO, encoding="utf-8")
    (root / "escape.yaml").symlink_to(outside / "secret.yaml")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "inside-link.yaml").symlink_to(root / "test.yaml")
    return Folder(root)


@pytest.fixture()
def session(folder: Folder) -> Session:
    s = Session(folder, n_jobs=1)
    assert s.open("test.yaml") == []
    return s


# --- the folder -----------------------------------------------------------------------------


def test_scenarios_lists_yaml_under_the_folder_and_no_link_out(folder: Folder) -> None:
    assert folder.scenarios() == ["broken.yaml", "inside-link.yaml", "sub/other.yml", "test.yaml"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("/etc/passwd", "outside the folder"),
        ("../outside/secret.yaml", "outside the folder"),
        ("sub/../test.yaml", "outside the folder"),
        ("sub/../../x.yaml", "outside the folder"),
        ("escape.yaml", "outside the folder"),
        ("linked/secret.yaml", "outside the folder"),
        ("test\x00.yaml", "NUL"),
        ("te\nst.yaml", "NUL"),
        ("sub\\other.yml", "backslash"),
        ("..\\x.yaml", "backslash"),
        ("C:/x.yaml", "outside the folder"),
        ("x" * 2000 + ".yaml", "at most"),
    ],
)
def test_path_refuses_every_escape(folder: Folder, name: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        folder.path(name)


def test_path_gives_names_inside_and_checks_suffixes(folder: Folder) -> None:
    assert folder.path("sub/other.yml") == folder.root / "sub" / "other.yml"
    assert folder.path("inside-link.yaml") == folder.root / "test.yaml"
    assert folder.path("new/file.yaml").parent == folder.root / "new"
    with pytest.raises(UsageError, match=r"ending in \.yaml or \.yml"):
        folder.path("test.json", (".yaml", ".yml"))
    with pytest.raises(UsageError, match="ending in .duckdb"):
        folder.path("test.yaml", (".duckdb",))


def test_the_folder_itself_is_resolved_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    assert Folder(tmp_path / "alias").root == real.resolve()
    with pytest.raises(UsageError, match="expected a folder"):
        Folder(tmp_path / "missing")


def test_write_new_never_overwrites(folder: Folder) -> None:
    before = (folder.root / "test.yaml").read_bytes()
    with pytest.raises(UsageError, match="never overwritten.*test-2.yaml"):
        folder.write_new("test.yaml", b"nothing")
    assert (folder.root / "test.yaml").read_bytes() == before
    with pytest.raises(UsageError, match="outside the folder"):
        folder.write_new("escape.yaml", b"nothing")  # a link pointing out
    with pytest.raises(UsageError, match="outside the folder"):
        folder.write_new("linked/new.yaml", b"nothing")
    assert not (folder.root.parent / "outside" / "new.yaml").exists()
    path = folder.write_new("deep/new.yaml", b"data")
    assert path.read_bytes() == b"data"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".forcegen-")]


def test_free_name_counts_on(folder: Folder) -> None:
    assert folder.free_name("fresh.yaml") == "fresh.yaml"
    assert folder.free_name("test.yaml") == "test-2.yaml"
    folder.write_new("test-2.yaml", b"x")
    assert folder.free_name("test.yaml") == "test-3.yaml"
    assert folder.free_name("test-2.yaml") == "test-3.yaml"
    assert folder.free_name("sub/other.yml") == "sub/other-2.yml"


# --- opening, brief, inputs -----------------------------------------------------------------


def test_open_refuses_names_outside_and_reports_located_problems(folder: Folder) -> None:
    s = Session(folder)
    with pytest.raises(UsageError, match="outside the folder"):
        s.open("escape.yaml")
    with pytest.raises(UsageError, match="no such scenario"):
        s.open("missing.yaml")
    problems = s.open("broken.yaml")
    assert problems and s.scenario is None
    assert problems[0].file == "broken.yaml" and problems[0].line is not None
    assert "duration" in problems[0].field
    with pytest.raises(UsageError, match="open a scenario"):
        s.inputs()


def test_open_refuses_a_base_outside_the_folder(folder: Folder) -> None:
    outside = folder.root.parent / "outside" / "secret.yaml"
    (folder.root / "sub" / "out.yaml").write_text(
        f"extends: ../{os.path.relpath(outside, folder.root)}\n"
    )
    (folder.root / "sub" / "in.yaml").write_text("extends: other.yml\nname: inside\n")
    s = Session(folder)
    problems = s.open("sub/out.yaml")
    assert problems and "outside the folder" in problems[0].message
    assert problems[0].file == "sub/out.yaml" and problems[0].line == 1
    assert s.open("sub/in.yaml") == [] and s.scenario is not None
    assert s.scenario.name == "inside"


def test_brief_has_the_question_claims_and_assumptions(session: Session) -> None:
    brief = session.brief()
    assert brief["question"].startswith("Does a 30/30/30")
    claims = {c["id"]: c for c in brief["claims"]}
    assert claims["c-count"]["grade"] == "B2"
    assert claims["c-count"]["reliability"] == "B" and claims["c-count"]["credibility"] == 2
    assert set(claims["c-count"]["used_by"]) == {"units[blue-bn].count", "units[blue-bn].strength"}
    assert "locations[front].attrition.killed" in brief["assumptions"]
    assert brief["choices"] == {"size": {"default": "many", "options": ["many", "few"]}}


def test_inputs_list_choices_and_numbers_as_people_write_them(session: Session) -> None:
    inputs = {i.path: i for i in session.inputs()}
    size = inputs["choice:size"]
    assert size.kind == "choice" and size.options == ("many", "few") and size.current == "many"
    assert size.grades == ("B2", "D4")
    killed = inputs["locations[front].attrition.killed"]
    assert killed.unit == "%/mo" and killed.distribution == "PERT 1%/mo, 2%/mo, 4%/mo"
    assert math.isclose(killed.low, 1.0) and math.isclose(killed.high, 4.0)
    assert inputs["locations[front].attrition.wounded"].current == "3%/mo"
    assert inputs["locations[front].attrition.return_share"].current == "40%"
    assert inputs["locations[front].attrition.recovery"].current == "60d"
    duration = inputs["policies[p].positions[front].duration"]
    assert (duration.current, duration.low, duration.high, duration.unit) == ("30d", 0, 90, "days")
    assert inputs["units[blue-bn].strength"].cites == ("c-count",)
    assert inputs["demands[front-line].people"].current == "1,500"
    assert inputs["pipelines[draft].intake[0].rate"].current == "600/mo"
    assert "horizon" not in inputs
    scenario = session.scenario
    assert scenario is not None
    for i in inputs.values():
        if i.kind != "value":
            continue
        loc = locate(scenario, i.path)
        stated = dict(quantities(scenario))[loc].value
        back = read_value(kind_of(scenario, loc), i.current)
        assert math.isclose(back, stated, rel_tol=ROUND_TRIP), i
        assert i.low is not None and i.high is not None and i.low <= i.high


@pytest.mark.parametrize(
    ("kind", "value"),
    [("Hazard", 0.0007425914261802354), ("Rate", 8000 / 30), ("Fraction", 0.123456789)],
)
def test_written_reads_back(kind: str, value: float) -> None:
    from forcegen.scenario import quantities

    k = getattr(quantities, kind)()
    assert math.isclose(read_value(k, written(k, value)), value, rel_tol=ROUND_TRIP)


# --- running ----------------------------------------------------------------------------------


def _same(a: forcegen.Results, b: forcegen.Results) -> None:
    x, y = a.to_xarray(), b.to_xarray()
    shared = set(x.data_vars) & set(y.data_vars)
    assert shared
    for v in shared:
        p, q = x[v].values, y[v].values
        assert np.array_equal(p, q, equal_nan=p.dtype.kind == "f"), v


def test_run_equals_simulate_with_the_same_settings(session: Session, folder: Folder) -> None:
    settings = Settings(
        choices={"size": "few"},
        values={"locations[front].attrition.wounded": "5%/mo", "units[blue-bn].strength": "450"},
        runs=8,
        seed=3,
    )
    outcome = session.run(settings)
    loaded = forcegen.load(
        folder.root / "test.yaml",
        overrides=["locations[front].attrition.wounded=5%/mo", "units[blue-bn].strength=450"],
    )
    expected = forcegen.simulate(loaded, runs=8, seed=3, choices={"size": "few"})
    _same(outcome.results, expected)
    assert outcome.summary["answers"] is not None
    assert [c.name for c in outcome.charts][:2] == ["coverage", "strength"]
    rows = {r["id"]: r for r in outcome.headline}
    assert rows["front-line"]["row"] == "demand" and rows["blue"]["row"] == "force"
    assert rows["front-line"]["required"] == "1,500 people"
    assert outcome.observations == []


def test_values_sent_back_unchanged_keep_the_distribution(session: Session) -> None:
    sent = {i.path: i.current for i in session.inputs() if i.kind == "value"}
    a = session.run(Settings(values=sent, runs=6, seed=1))
    b = session.run(Settings(runs=6, seed=1))
    _same(a.results, b.results)
    table = a.results.per_run()
    drawn = [c for c in table.columns if c.startswith("input:")]
    assert drawn and table[drawn[0]].nunique() > 1  # still uncertain


def test_bad_values_and_choices_are_messages(session: Session) -> None:
    with pytest.raises(ScenarioError, match="--set locations"):
        session.run(Settings(values={"locations[front].attrition.wounded": "lots"}, runs=2))
    with pytest.raises((ScenarioError, UsageError), match="nowhere"):
        session.run(Settings(values={"units[nowhere].count": "3"}, runs=2))
    with pytest.raises(UsageError, match="no option"):
        session.run(Settings(choices={"size": "huge"}, runs=2))
    with pytest.raises(UsageError, match="runs"):
        session.run(Settings(runs=0))


def test_difference_is_paired_with_common_random_numbers(session: Session) -> None:
    assert session.difference() is None
    session.run(Settings(runs=6, seed=2))
    session.pin()
    session.run(Settings(runs=6, seed=2))
    same = session.difference()
    assert same is not None
    assert all(r["difference_mean"] == 0 for r in same["summary"]["rows"])
    session.run(Settings(runs=6, seed=2, choices={"size": "few"}))
    found = session.difference()
    assert found is not None
    rows = {r["figure"]: r for r in found["summary"]["rows"]}
    assert rows["coverage:front-line"]["difference_mean"] < 0
    assert [c["path"] for c in found["inputs"]] == ["units[blue-bn].count"]
    assert found["charts"] and found["rows"][0]["difference"].endswith("pp")
    # another seed: the baseline is run again with it, so the pairs stay paired
    session.run(Settings(runs=6, seed=5))
    again = session.difference()
    assert again is not None
    assert all(r["difference_mean"] == 0 for r in again["summary"]["rows"])


def test_two_sessions_in_threads_keep_their_own_settings(folder: Folder) -> None:
    settings = {
        "a": Settings(runs=5, seed=1, choices={"size": "few"}),
        "b": Settings(runs=7, seed=2, values={"units[blue-bn].strength": "300"}),
    }
    got: dict[str, forcegen.Results] = {}
    errors: list[BaseException] = []

    def work(key: str) -> None:
        try:
            s = Session(folder, n_jobs=1)
            s.open("test.yaml")
            for _ in range(2):
                got[key] = s.run(settings[key]).results
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in settings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    path = folder.root / "test.yaml"
    _same(got["a"], forcegen.simulate(path, runs=5, seed=1, choices={"size": "few"}))
    loaded = forcegen.load(path, overrides=["units[blue-bn].strength=300"])
    _same(got["b"], forcegen.simulate(loaded, runs=7, seed=2))


# --- exports ----------------------------------------------------------------------------------


def test_export_variant_validates_and_runs_to_the_same_results(
    session: Session, folder: Folder
) -> None:
    with pytest.raises(UsageError, match="run a configuration"):
        session.export_variant("v.yaml")
    settings = Settings(
        choices={"size": "few"},
        values={"locations[front].attrition.wounded": "5%/mo"},
        runs=6,
        seed=4,
    )
    outcome = session.run(settings)
    path = session.export_variant("variants/mine.yaml")
    text = path.read_text(encoding="utf-8")
    assert "extends: ../test.yaml" in text and "units[blue-bn].count.default: few" in text
    done = CliRunner().invoke(app, ["validate", str(path)])
    assert done.exit_code == 0, done.output
    assert "valid" in done.output
    _same(outcome.results, forcegen.simulate(path, runs=6, seed=4))
    before = path.read_bytes()
    with pytest.raises(UsageError, match="never overwritten.*mine-2.yaml"):
        session.export_variant("variants/mine.yaml")
    assert path.read_bytes() == before
    with pytest.raises(UsageError, match="outside the folder"):
        session.export_variant("../out.yaml")


def test_export_results_and_report_write_new_files_only(session: Session, folder: Folder) -> None:
    session.run(Settings(runs=4))
    out = session.export_results("results")
    assert {p.name for p in out.iterdir()} >= {"results.nc", "summary.json", "scenario.yaml"}
    (folder.root / "taken").mkdir()
    (folder.root / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="never overwritten"):
        session.export_results("taken")
    assert [p.name for p in (folder.root / "taken").iterdir()] == ["keep.txt"]
    (folder.root / "page.html").write_text("mine")
    with pytest.raises(UsageError, match="never overwritten.*page-2.html"):
        session.export_report("page.html")
    assert (folder.root / "page.html").read_text() == "mine"
    with pytest.raises(UsageError, match="ending in .html"):
        session.export_report("page.yaml")


def test_export_report_writes_a_page(session: Session) -> None:
    session.run(Settings(runs=4))
    page = session.export_report("report.html")
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_sensitivity_traces_inputs_to_claims(session: Session) -> None:
    session.run(Settings(runs=4))
    summary, charts = session.sensitivity("coverage:front-line", n=4)
    assert [r["input"] for r in summary["inputs"]] == ["locations[front].attrition.killed"]
    assert summary["inputs"][0]["claims"].startswith("assumption")
    assert charts


def test_stores_lists_duckdb_files_and_refuses_others(folder: Folder) -> None:
    (folder.root / "runs.duckdb").write_bytes(b"")
    s = Session(folder)
    assert s.stores() == ["runs.duckdb"]
    with pytest.raises(UsageError, match="outside the folder"):
        s.store_view("../x.duckdb")
    with pytest.raises(UsageError, match="ending in .duckdb"):
        s.store_view("test.yaml")


def test_input_is_frozen() -> None:
    i = Input(path="a", kind="value", label="a")
    with pytest.raises(AttributeError):
        i.current = "x"  # type: ignore[misc]


def test_store_view_shows_experiments_and_the_box_found(folder: Folder) -> None:
    pytest.importorskip("duckdb")
    store = folder.root / "stores" / "runs.duckdb"
    store.parent.mkdir()
    done = CliRunner().invoke(
        app,
        ["explore", str(folder.root / "test.yaml"), "--store", str(store), "-n", "8"]
        + ["--runs", "2"],
    )
    assert done.exit_code == 0, done.output
    s = Session(folder)
    assert s.stores() == ["stores/runs.duckdb"]
    view = s.store_view("stores/runs.duckdb")
    assert view["overview"]["store"] == "stores/runs.duckdb"
    assert view["overview"]["factors"] == ["choice:size", "locations[front].attrition.killed"]
    assert len(view["experiments"]) == len(view["summaries"]) == view["overview"]["experiments"]
    assert "discovery" not in view
    pytest.importorskip("ema_workbench")
    found = s.store_view("stores/runs.duckdb", where="coverage:front-line < 99%")["discovery"]
    assert found["condition"] and found["store"] == "stores/runs.duckdb"
    with pytest.raises(UsageError):
        s.store_view("stores/runs.duckdb", where="nonsense < 1")


def test_the_headline_is_computed_as_the_summary_computes_it(session: Session) -> None:
    from forcegen.analysis.answers import with_answers
    from forcegen.web.session import QUANTILES, headline

    outcome = session.run(Settings(choices={"size": "few"}, runs=12, seed=2))
    assert "summary" not in outcome.__dict__  # the whole summary waits until asked for
    whole = outcome.summary
    lean = outcome.results.headline(QUANTILES)
    for part in ("demands", "forces"):
        assert lean[part] and len(lean[part]) == len(whole[part])
        for mine, theirs in zip(lean[part], whole[part], strict=True):
            assert mine == {k: theirs[k] for k in mine}  # the same figures, to the bit
    assert outcome.headline == headline(whole)
    assert whole["answers"] == outcome.answers
    assert whole == with_answers(
        outcome.results.summary(QUANTILES), outcome.results, session.scenario
    )
