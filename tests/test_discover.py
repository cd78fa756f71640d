"""Scenario discovery: PRIM recovers boxes planted in synthetic outcomes, the feature scores
rank the planted factors first, ``--where`` parses each form and refuses the rest, every
factor is traced to its claims, and the command reads a store file and writes
``discover.json`` that the report shows."""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forcegen.analysis.discover import (
    Discovery,
    discover,
    option_claims,
    outcomes_of,
    parse_where,
)
from forcegen.errors import UsageError
from forcegen.report import discovery as words
from forcegen.results_folder import DISCOVER_NAME, DiscoverFile, read_folder, read_layout
from forcegen.scenario.loader import load

ROOT = Path(__file__).resolve().parents[1]
N = 2000
VALUES = [f"x{i}" for i in range(5)]


def factor_table(names: list[str], kinds: list[str], **columns: list[Any]) -> pd.DataFrame:
    """A factors table as the store gives it (lists as JSON text)."""
    n = len(names)
    table = {
        "name": names,
        "kind": kinds,
        "source": columns.get("source", ["uncertain" if k == "value" else "choice" for k in kinds]),
        "options": columns.get("options", ["[]"] * n),
        "low": columns.get("low", [0.0 if k == "value" else None for k in kinds]),
        "high": columns.get("high", [1.0 if k == "value" else None for k in kinds]),
        "measure": columns.get("measure", ["share" if k == "value" else "" for k in kinds]),
        "cites": columns.get("cites", ["[]"] * n),
        "grades": columns.get("grades", ["[]"] * n),
        "position": list(range(n)),
    }
    return pd.DataFrame(table)


def planted(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """2,000 points, 5 factors uniform on [0, 1]; y holds inside x0 < 0.3 and x2 > 0.6,
    and 5% of the labels are flipped at random."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(N, 5)), columns=VALUES)
    inside = ((x.x0 < 0.3) & (x.x2 > 0.6)).to_numpy()
    return x, np.where(rng.uniform(size=N) < 0.05, ~inside, inside)


@pytest.fixture(scope="module")
def found() -> Discovery:
    x, y = planted()
    cites = ['["C1"]', "[]", '["C3", "B2"]', "[]", "[]"]
    grades = ['["B"]', "[]", '["A", "C"]', "[]", "[]"]
    sources = ["uncertain", "lever", "uncertain", "assumption", "uncertain"]
    table = factor_table(VALUES, ["value"] * 5, cites=cites, grades=grades, source=sources)
    return discover(x, y, table, threshold=0.8, seed=0)


def by_name(d: Discovery) -> dict[str, dict[str, Any]]:
    return {r["factor"]: r for r in d.factor_rows()}


# --- PRIM ---------------------------------------------------------------------------------


def test_prim_recovers_a_planted_box(found: Discovery) -> None:
    box = found.box
    assert found.meets_threshold and box["density"] >= 0.8
    assert set(box["restricted"]) == {"x0", "x2"}
    rows = by_name(found)
    assert rows["x0"]["box_low"] is None and abs(rows["x0"]["box_high"] - 0.3) <= 0.05
    assert rows["x2"]["box_high"] is None and abs(rows["x2"]["box_low"] - 0.6) <= 0.05
    assert not rows["x1"]["restricted"] and rows["x1"]["box_high"] is None


@pytest.mark.parametrize("seed", [1, 2])
def test_prim_recovers_the_box_whatever_the_draw(seed: int) -> None:
    x, y = planted(seed)
    d = discover(x, y, factor_table(VALUES, ["value"] * 5))
    rows = by_name(d)
    assert d.box["density"] >= 0.8
    assert abs(rows["x0"]["box_high"] - 0.3) <= 0.05
    assert abs(rows["x2"]["box_low"] - 0.6) <= 0.05


def test_the_trajectory_peels_from_the_whole_set(found: Discovery) -> None:
    t = found.trajectory
    assert t["mass"].iloc[0] == 1.0 and t["coverage"].iloc[0] == 1.0
    assert t["restricted"].iloc[0] == []
    mass = t["mass"].to_numpy()
    smallest = int(np.argmin(mass))  # peeling shrinks the box; pasting may then grow it
    assert (np.diff(mass[: smallest + 1]) < 0).all() and mass[smallest] >= 0.05
    assert t["density"].iloc[0] == pytest.approx(found.cases / found.experiments)


def test_a_categorical_factor_is_recovered() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.uniform(size=(N, 3)), columns=["x0", "x1", "x2"])
    x["choice:front"] = rng.choice(["hold", "push", "retreat", "swap"], N)
    inside = (x["choice:front"].isin(["hold", "swap"]) & (x.x1 > 0.5)).to_numpy()
    y = np.where(rng.uniform(size=N) < 0.05, ~inside, inside)
    options = json.dumps(["hold", "push", "retreat", "swap"])
    table = factor_table(
        ["x0", "x1", "x2", "choice:front"],
        ["value", "value", "value", "choice"],
        options=["[]", "[]", "[]", options],
        cites=["[]", "[]", "[]", '["C7"]'],
        grades=["[]", "[]", "[]", '["D"]'],
    )
    d = discover(x, y, table)
    rows = by_name(d)
    assert set(d.box["restricted"]) == {"x1", "choice:front"}
    kept = {o["option"]: o["kept"] for o in rows["choice:front"]["options"]}
    assert kept == {"hold": True, "push": False, "retreat": False, "swap": True}
    assert abs(rows["x1"]["box_low"] - 0.5) <= 0.05
    assert "choice front in {hold, swap}" in words.limit(rows["choice:front"])


def test_a_box_on_a_choice_names_only_the_claims_of_the_options_it_keeps() -> None:
    rng = np.random.default_rng(4)
    x = pd.DataFrame(rng.uniform(size=(N, 1)), columns=["x0"])
    x["choice:front"] = rng.choice(["hold", "push", "swap"], N)
    inside = x["choice:front"].isin(["hold", "swap"]).to_numpy()
    table = factor_table(
        ["x0", "choice:front"],
        ["value", "choice"],
        options=["[]", json.dumps(["hold", "push", "swap"])],
        cites=["[]", '["C1", "C2", "C3"]'],
        grades=["[]", '["B2", "F5", "C3"]'],
    )
    claims = {"choice:front": {"hold": ["C1"], "push": ["C2"], "swap": ["C3", "C1"]}}
    rows = by_name(discover(x, inside, table, option_cites=claims))
    assert rows["choice:front"]["cites"] == ["C1", "C3"]
    assert rows["choice:front"]["grades"] == ["B2", "C3"]
    everything = by_name(discover(x, inside, table))  # without the options' claims: all
    assert everything["choice:front"]["cites"] == ["C1", "C2", "C3"]


def test_option_claims_gathers_each_option_over_every_number_of_the_choice() -> None:
    scenario = load(ROOT / "scenarios" / "belarus-2023.yaml")
    claims = option_claims(scenario)["choice:ru-in-belarus"]
    assert "hur-5800" in claims["hur"] and "hur-5800" not in claims["report"]
    assert "cds-ru-45000" in claims["report"]


def test_feature_scoring_ranks_the_planted_factors_first(found: Discovery) -> None:
    assert set(found.factors["factor"].iloc[:2]) == {"x0", "x2"}
    assert found.factors["importance"].sum() == pytest.approx(1.0)
    x, y = planted()
    again = discover(x, y, factor_table(VALUES, ["value"] * 5), seed=0)
    assert list(again.factors["importance"]) == list(found.factors["importance"])


def test_box_k_chooses_a_step_and_no_dense_box_is_flagged(found: Discovery) -> None:
    x, y = planted()
    table = factor_table(VALUES, ["value"] * 5)
    first = discover(x, y, table, box=0)
    assert first.chosen == 0 and first.chosen_by == "user" and first.restricted.empty
    with pytest.raises(UsageError, match="--box 999"):
        discover(x, y, table, box=999)
    noise = np.random.default_rng(5).uniform(size=N) < 0.3
    flat = discover(x, noise, table, threshold=0.99)
    assert flat.chosen_by == "densest" and not flat.meets_threshold
    assert "No box reaches 99% density" in words.finding(flat.summary())


def test_a_condition_that_never_or_always_holds_is_refused() -> None:
    x, _ = planted()
    table = factor_table(VALUES, ["value"] * 5)
    with pytest.raises(UsageError, match="holds in none of the 2,000 experiments"):
        discover(x, np.zeros(N, bool), table)
    with pytest.raises(UsageError, match="holds in every one"):
        discover(x, np.ones(N, bool), table)


# --- claims ---------------------------------------------------------------------------------


def test_factors_are_labelled_with_their_claims_or_as_assumptions(found: Discovery) -> None:
    rows = by_name(found)
    assert rows["x2"]["cites"] == ["C3", "B2"] and rows["x2"]["grades"] == ["A", "C"]
    assert not rows["x2"]["uncited"]
    assert rows["x3"]["uncited"] and rows["x3"]["source"] == "assumption"
    assert rows["x1"]["uncited"] and rows["x1"]["source"] == "lever"
    text = words.finding(found.summary())
    assert "(cites C3 (A), B2 (C))" in text and "(cites C1 (B))" in text
    assert words._cites(rows["x3"]) == "uncited assumption"


def test_factors_as_the_store_reader_gives_them_lists() -> None:
    x, y = planted()
    table = factor_table(VALUES, ["value"] * 5)
    table["cites"] = [("C1",), (), (), (), ()]
    table["grades"] = [("B",), (), (), (), ()]
    rows = by_name(discover(x, y, table))
    assert rows["x0"]["cites"] == ["C1"] and rows["x1"]["uncited"]


# --- the condition ------------------------------------------------------------------------

COLUMNS = [
    "experiment",
    *(
        f"{o}:{s}"
        for o in ("coverage:front-line", "lost:RU:killed", "people_end:RU")
        for s in ("mean", "q05", "q50", "q95")
    ),
    "p_full:front-line",
]


@pytest.mark.parametrize(
    ("text", "column", "op", "value", "mean"),
    [
        ("coverage:front-line < 95%", "coverage:front-line:mean", "<", 0.95, True),
        ("coverage:front-line:q05<=0.5", "coverage:front-line:q05", "<=", 0.5, False),
        ("p_full:front-line < 0.9", "p_full:front-line", "<", 0.9, False),
        ("p_full:front-line >= 12.5%", "p_full:front-line", ">=", 0.125, False),
        ("lost:RU:killed > 20,000", "lost:RU:killed:mean", ">", 20_000.0, True),
        ("people_end:RU:q95 = 1e5", "people_end:RU:q95", "==", 1e5, False),
        ("  lost:RU:killed != 0 ", "lost:RU:killed:mean", "!=", 0.0, True),
    ],
)
def test_where_parses_each_form(text: str, column: str, op: str, value: float, mean: bool) -> None:
    c = parse_where(text, COLUMNS)
    assert (c.column, c.op, c.value, c.per_run_mean) == (column, op, value, mean)


def test_where_selects_the_experiments() -> None:
    summaries = pd.DataFrame(
        {"experiment": [0, 1, 2], "coverage:front-line:mean": [0.9, 0.96, None]}
    )
    c = parse_where("coverage:front-line < 95%", summaries.columns)
    assert c.holds(summaries).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("coverage:front-line", "expected OUTCOME OP VALUE"),
        ("coverage:front-line < ", "expected a number"),
        ("coverage:front-line << 3", "expected a number"),
        ("coverage:front-line < lots", "expected a number"),
        ("coverage:rear < 95%", "no outcome 'coverage:rear'; it has: coverage:front-line, "),
        ("lost:RU:killed > 5%", "a value in % compares a share"),
        ("experiment > 3", "no outcome 'experiment'"),
    ],
)
def test_where_refuses_bad_conditions(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_where(text, COLUMNS)


def test_outcomes_listed_are_bare_names_then_columns() -> None:
    listed = outcomes_of(COLUMNS)
    assert listed[:3] == ["coverage:front-line", "lost:RU:killed", "people_end:RU"]
    assert "p_full:front-line" in listed and "experiment" not in listed


# --- the command, on a store file -------------------------------------------------------------

FACTOR_NAMES = [
    "units[ru-bn].count",
    "locations[front].attrition[wg].killed",
    "choice:ru-in-belarus",
]


def write_store(path: Path, n: int = 400, seed: int = 0) -> None:
    """A small run store with the documented tables, written directly with DuckDB."""
    import duckdb

    rng = np.random.default_rng(seed)
    count = rng.uniform(5, 30, n)
    rate = rng.uniform(0.0003, 0.0013, n)
    option = rng.choice(["hur", "ua-gur", "none"], n)
    bad = (count < 14) & (option != "none")
    coverage = np.where(bad, 0.8, 0.99) + rng.normal(0, 0.01, n)
    experiments = pd.DataFrame(
        {
            "experiment": np.arange(n),
            "key": [f"k{i}" for i in range(n)],
            FACTOR_NAMES[0]: count,
            FACTOR_NAMES[1]: rate,
            FACTOR_NAMES[2]: option,
        }
    )
    summaries = pd.DataFrame({"experiment": np.arange(n)})
    for s, shift in (("mean", 0.0), ("q05", -0.05), ("q50", 0.0), ("q95", 0.02)):
        summaries[f"coverage:front-line:{s}"] = coverage + shift
        summaries[f"lost:RU:killed:{s}"] = 1000 * count + shift
    summaries["p_full:front-line"] = np.where(bad, 0.2, 0.95)
    runs = pd.DataFrame({"experiment": np.arange(n), "run": 0, "coverage:front-line": coverage})
    factors = pd.DataFrame(
        {
            "name": FACTOR_NAMES,
            "kind": ["value", "value", "choice"],
            "source": ["uncertain", "assumption", "choice"],
            "options": ["[]", "[]", json.dumps(["hur", "ua-gur", "none"])],
            "low": [5.0, 0.0003, None],
            "high": [30.0, 0.0013, None],
            "measure": ["units", "probability per day", ""],
            "cites": ['["C3", "B2"]', "[]", '["C9"]'],
            "grades": ['["B", "C"]', "[]", '["D"]'],
            "position": [0, 1, 2],
        }
    )
    meta = pd.DataFrame(
        {
            "key": ["schema_version", "scenario", "fingerprint"],
            "value": ["1", "belarus-test", "abc"],
        }
    )
    con = duckdb.connect(str(path))
    for name, frame in (
        ("meta", meta),
        ("factors", factors),
        ("experiments", experiments),
        ("runs", runs),
        ("summaries", summaries),
    ):
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()


class _FakeStore:
    """The store's documented reader, for a branch where ``forcegen.store`` is absent."""

    def __init__(self, path: str | Path) -> None:
        import duckdb

        if not Path(path).is_file():
            raise UsageError(f"{path}: there is no such store")
        self._con = duckdb.connect(str(path), read_only=True)
        rows = self._con.execute("SELECT key, value FROM meta").fetchall()
        self.meta = dict(rows)

    def __enter__(self) -> _FakeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()

    def _table(self, name: str) -> pd.DataFrame:
        return self._con.execute(f"SELECT * FROM {name}").df()

    def factors(self) -> pd.DataFrame:
        return self._table("factors")

    def experiments(self) -> pd.DataFrame:
        return self._table("experiments")

    def runs(self) -> pd.DataFrame:
        return self._table("runs")

    def summaries(self) -> pd.DataFrame:
        return self._table("summaries")


@pytest.fixture
def store_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real store reader where it exists, else a stand-in with its documented API."""
    try:
        importlib.import_module("forcegen.store")
    except ModuleNotFoundError:
        fake = types.ModuleType("forcegen.store")
        fake.open = _FakeStore  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "forcegen.store", fake)
        import forcegen

        monkeypatch.setattr(forcegen, "store", fake, raising=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "explore.duckdb"
    write_store(path)
    return path


def invoke(*args: object) -> Any:
    from forcegen.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_writes_json_with_the_documented_keys(
    store: Path, tmp_path: Path, store_reader: None
) -> None:
    out = tmp_path / "results"
    result = invoke(
        "discover", store, "--where", "coverage:front-line < 95%", "--format", "json", "--out", out
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "format",
        "version",
        "scenario",
        "condition",
        "outcome",
        "experiments",
        "cases",
        "threshold",
        "chosen",
        "coverage",
        "density",
        "mass",
        "trajectory",
        "factors",
    ):
        assert key in data, key
    assert data["format"] == "forcegen-discovery" and data["scenario"] == "belarus-test"
    assert data["outcome"] == "coverage:front-line:mean"
    rows = {f["factor"]: f for f in data["factors"]}
    assert rows[FACTOR_NAMES[0]]["restricted"] and rows[FACTOR_NAMES[2]]["restricted"]
    assert abs(rows[FACTOR_NAMES[0]]["box_high"] - 14) <= 1.5
    kept = {o["option"] for o in rows[FACTOR_NAMES[2]]["options"] if o["kept"]}
    assert kept == {"hur", "ua-gur"}
    assert rows[FACTOR_NAMES[1]]["uncited"] and not rows[FACTOR_NAMES[1]]["restricted"]
    written = read_layout(out / DISCOVER_NAME, DiscoverFile)
    assert written.plain() == data


def test_cli_tells_the_finding_in_words(store: Path, store_reader: None) -> None:
    result = invoke("discover", store, "--where", "coverage:front-line < 95%")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Coverage of front-line (mean across runs) falls below 95% in" in text
    assert "units[ru-bn].count ≤ 1" in text and "(cites C3 (B), B2 (C))" in text
    assert "choice ru-in-belarus in {hur, ua-gur} (cites C9 (D))" in text
    assert "uncited assumption" in text


def test_cli_refuses_an_unknown_outcome(store: Path, store_reader: None) -> None:
    result = invoke("discover", store, "--where", "coverage:rear < 95%")
    assert result.exit_code == 2
    assert "no outcome 'coverage:rear'" in result.stderr
    assert "coverage:front-line" in result.stderr and "Traceback" not in result.output


def test_report_shows_the_discovery(store: Path, tmp_path: Path, store_reader: None) -> None:
    pytest.importorskip("matplotlib")
    from forcegen.report import write_report

    out = tmp_path / "results"
    result = invoke("discover", store, "--where", "p_full:front-line < 0.9", "--out", out)
    assert result.exit_code == 0, result.output
    folder = read_folder(out)
    assert folder.discover is not None
    page = write_report(out).read_text(encoding="utf-8")
    assert 'id="discover"' in page and "Scenario discovery" in page
    assert "The probability that front-line is fully covered falls below 90%" in page
    assert (out / "figures" / "discover-tradeoff.png").is_file()
    assert (out / "figures" / "discover-box.png").is_file()
    charts = words.charts(folder.discover)
    assert [c.name for c in charts] == ["discover-tradeoff", "discover-box"]
    for chart in charts:
        assert chart.plotly()  # the interactive backend draws them too


def test_docs_describe_the_command() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "analyses.md").read_text("utf-8")
    assert "(`forcegen discover`)" in text
    for field in DiscoverFile.model_fields:
        assert f"`{field}`" in text, field
