"""Claims in spreadsheets: export, import, and the scenario file left as it was."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forcegen.cli import app
from forcegen.errors import ScenarioError, UsageError
from forcegen.scenario.loader import load
from forcegen.scenario.yamlio import read_yaml
from forcegen.sources import into, sheets

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BELARUS = SCENARIOS / "belarus-2023.yaml"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_round_trip_is_lossless(path: Path, fmt: str, tmp_path: Path) -> None:
    if fmt == "xlsx":
        pytest.importorskip("openpyxl")
    claims = load(path).claims
    sheet = sheets.write_sheet(claims, tmp_path / f"claims.{fmt}", fmt)
    assert sheets.claims_of(sheets.read_sheet(sheet)) == list(claims)
    # importing the same claims back changes nothing in the file
    copy = tmp_path / "scenarios" / path.name  # beside the bases a variant extends
    shutil.copytree(SCENARIOS, copy.parent)
    done = into.import_claims(sheet, copy, "replace")
    assert copy.read_bytes() == path.read_bytes()
    assert not done.written and done.unchanged == [c.id for c in claims]


def test_columns_follow_the_model() -> None:
    names = [c.name for c in sheets.columns()]
    assert names[:3] == ["id", "source.publication", "source.author"]
    assert {"grade", "paraphrase", "source.date", "attribution"} <= set(names)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_bad_rows_are_located_by_row_and_column(tmp_path: Path) -> None:
    exported = sheets.write_sheet(load(BELARUS).claims, tmp_path / "claims.csv", "csv")
    rows = _rows(exported)
    rows[5]["grade"] = "Z9"  # row 7 of the sheet: the header is row 1
    rows[1]["source.date"] = "19 January"
    rows[2]["id"] = rows[0]["id"]
    bad = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(ScenarioError) as info:
        sheets.claims_of(sheets.read_sheet(bad))
    text = [str(p) for p in info.value.problems]
    assert any("bad.csv: row 7, column grade: expected an Admiralty grade" in t for t in text)
    assert any("bad.csv: row 3, column source.date: expected a date" in t for t in text)
    assert any(
        "row 4, column id: the id 'cds-ru-rotation' is already used on row 2" in t for t in text
    )


def test_unknown_column_and_bad_json_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sorce.publication\nx,y\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        sheets.read_sheet(bad)
    assert "row 1, column sorce.publication: unknown column" in str(info.value)
    table = [["id", "source.publication"], ["x", "y"]]
    json_col = next((c.name for c in sheets.columns() if c.json), None)
    if json_col is not None:  # a list field such as source.via
        table = [["id", json_col], ["x", "[not json"]]
        with pytest.raises(ScenarioError) as info:
            sheets.parse_table(table, "t.csv")
        assert f"row 2, column {json_col}: expected JSON text" in str(info.value)


def test_merge_changes_only_the_claim_edited(tmp_path: Path) -> None:
    copy = tmp_path / "s.yaml"
    shutil.copy(BELARUS, copy)
    rows = _rows(sheets.write_sheet(load(BELARUS).claims, tmp_path / "c.csv", "csv"))
    target = next(r for r in rows if r["id"] == "hur-5800")
    target["paraphrase"] = "HUR counted about 5,800 Russian servicemen in Belarus."
    new = dict(rows[0], id="new-claim", paraphrase="A claim added in the sheet.", grade="C3")
    for part in ("reliability", "credibility"):  # where the model has them apart
        new.pop(part, None)
    sheet = _write(tmp_path / "edited.csv", [target, new])
    done = into.import_claims(sheet, copy, "merge")
    assert done.written and done.updated == ["hur-5800"] and done.added == ["new-claim"]
    old, text = BELARUS.read_text(encoding="utf-8"), copy.read_text(encoding="utf-8")
    # everything before the claims and after them is the same, byte for byte
    assert text.split("\nclaims:")[0] == old.split("\nclaims:")[0]
    assert text.split("\nforces:")[1] == old.split("\nforces:")[1]
    # inside the block, only the edited claim and the new one differ
    kept = old.split("  - id: hur-5800")[0]
    assert text.startswith(kept)
    after = old.split("  - id: dpsu-9000")[1].split("\nforces:")[0]
    assert after.rstrip() in text
    scenario = load(copy)
    assert scenario.claims[-1].id == "new-claim" and scenario.claims[-1].grade == "C3"
    hur = next(c for c in scenario.claims if c.id == "hur-5800")
    assert hur.paraphrase == target["paraphrase"]
    before = load(BELARUS).model_dump(exclude={"claims"})
    assert scenario.model_dump(exclude={"claims"}) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_import_refuses_without_saying_how_and_leaves_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "s.yaml"
    shutil.copy(BELARUS, copy)
    sheet = sheets.write_sheet(load(BELARUS).claims[:2], tmp_path / "c.csv", "csv")
    with pytest.raises(UsageError, match="--merge .* or --replace"):
        into.import_claims(sheet, copy, "new")
    # replacing with two claims leaves numbers citing claims that are gone: refused, located
    with pytest.raises(ScenarioError) as info:
        into.import_claims(sheet, copy, "replace")
    assert "would not be valid" in str(info.value)
    assert any(p.field.startswith("units[") and p.line for p in info.value.problems)
    assert copy.read_bytes() == BELARUS.read_bytes()


def test_import_into_a_scenario_without_claims(tmp_path: Path) -> None:
    data, positions = read_yaml(BELARUS)
    claims = load(BELARUS).claims
    bare, _ = into.replace_claims(BELARUS.read_text(encoding="utf-8"), data, positions, [], claims)
    assert "claims: []\n" in bare
    copy = tmp_path / "s.yaml"
    copy.write_text(bare, encoding="utf-8")
    sheet = sheets.write_sheet(claims, tmp_path / "c.csv", "csv")
    done = into.import_claims(sheet, copy, "new")
    assert done.added == [c.id for c in claims]
    assert load(copy).claims == claims
    text = copy.read_text(encoding="utf-8")
    assert text.split("\nclaims:")[0] == bare.split("\nclaims:")[0]
    assert text.split("\nforces:")[1] == bare.split("\nforces:")[1]


def test_cli_export_and_import(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["claims", "export", str(BELARUS)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("id,source.publication")
    sheet = tmp_path / "c.csv"
    sheet.write_text(result.stdout, encoding="utf-8")
    rows = _rows(sheet)
    rows[6]["grade"] = "B9"
    _write(sheet, rows)
    copy = tmp_path / "s.yaml"
    shutil.copy(BELARUS, copy)
    result = runner.invoke(app, ["claims", "import", str(sheet), "--into", str(copy), "--merge"])
    assert result.exit_code == 2
    assert "c.csv: row 8, column grade: expected an Admiralty grade" in result.stderr
    assert copy.read_bytes() == BELARUS.read_bytes()
    result = runner.invoke(app, ["claims", "export", str(BELARUS), "--format", "xlsx"])
    assert result.exit_code == 2 and "--out" in result.stderr


def test_excel_dates_and_numbers_typed_by_hand(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    claims = load(BELARUS).claims[:1]
    path = sheets.write_sheet(claims, tmp_path / "c.xlsx", "xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("source.date") + 1).value = dt.datetime(2023, 1, 19)
    book.save(path)
    assert sheets.claims_of(sheets.read_sheet(path)) == list(claims)
    assert os.path.getsize(path) > 0


def test_a_variant_gets_claims_of_its_own_only_when_they_change(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    variant, base = folder / "belarus-2023-baseline.yaml", folder / "belarus-2023.yaml"
    base_text = base.read_bytes()
    rows = _rows(sheets.write_sheet(load(variant).claims, tmp_path / "claims.csv", "csv"))
    rows[0]["paraphrase"] = "Reworded by the analyst."
    done = into.import_claims(_write(tmp_path / "edited.csv", rows), variant, "merge")
    assert done.written and done.updated == [rows[0]["id"]]
    assert "\nclaims:" in variant.read_text(encoding="utf-8")
    assert load(variant).claims[0].paraphrase == "Reworded by the analyst."
    assert base.read_bytes() == base_text  # the base is never written
