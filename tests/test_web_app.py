"""The workbench page (forcegen.web.app), driven as Panel objects without a browser.

The browser tests (a real Chromium against ``forcegen serve``) are the server's; here the
page's widgets are set and its buttons clicked in Python, and what the page shows is read
back from its panes.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("panel")

from forcegen.web import app  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The shipped scenarios and one with a problem, in a folder of their own."""
    root = tmp_path / "work"
    shutil.copytree(SCENARIOS, root)
    text = (root / "textbook-fixed-rotation.yaml").read_text(encoding="utf-8")
    assert "    count: 9\n" in text
    (root / "broken.yaml").write_text(text.replace("    count: 9\n", "    count: nine\n"))
    return root


def find(view: Any, hook: str) -> list[Any]:
    """The page's objects that carry the CSS class ``hook``."""
    return [o for o in view.select() if hook in (getattr(o, "css_classes", None) or [])]


def one(view: Any, hook: str) -> Any:
    found = find(view, hook)
    assert found, f"no element {hook}"
    return found[0]


def click(button: Any) -> None:
    button.clicks += 1


@pytest.fixture
def textbook(folder: Path) -> Any:
    return app.build(folder, scenario="textbook-fixed-rotation.yaml")


def test_hooks_are_plain_class_names() -> None:
    assert app.hook("fg-run") == "fg-run"
    assert app.hook("fg-value", "units[0].size") == "fg-value-units_0__size"
    assert app.hook("fg-choice", "ru-in-belarus") == "fg-choice-ru-in-belarus"


@pytest.mark.parametrize(
    ("text", "value", "written"),
    [("2%/mo", 2.5, "2.5%/mo"), ("30d", 45, "45d"), ("4,500", 5000, "5000"), ("", 3, "3")],
)
def test_a_slider_rewrites_the_number_and_keeps_the_unit(
    text: str, value: float, written: str
) -> None:
    assert app.with_number(text, value) == written
    assert app.number_in(written) == value


def test_the_page_has_every_element_the_browser_tests_use(textbook: Any) -> None:
    for hook in (
        "fg-scenario",
        "fg-errors",
        "fg-status",
        "fg-busy",
        "fg-question",
        "fg-claims",
        "fg-runs",
        "fg-seed",
        "fg-run",
        "fg-headline",
        "fg-answers",
        "fg-charts",
        "fg-pin",
        "fg-difference",
        "fg-output",
        "fg-sensitivity",
        "fg-tornado",
        "fg-export-name",
        "fg-export-report",
        "fg-export-results",
        "fg-export-variant",
        "fg-export-message",
        "fg-store",
        "fg-where",
        "fg-scatter",
        "fg-parcoords",
        "fg-box",
    ):
        assert find(textbook, hook), hook
    bench = textbook.workbench
    assert "broken.yaml" in one(textbook, "fg-scenario").options
    assert bench.session.name == "textbook-fixed-rotation.yaml"
    assert not one(textbook, "fg-errors").visible
    for i in bench.session.inputs():
        name = i.path.removeprefix("choice:")
        hook = app.hook("fg-choice" if i.kind == "choice" else "fg-value", name)
        assert find(textbook, hook), hook


def test_a_run_with_a_choice_and_a_value_updates_the_headline_and_the_status(
    folder: Path,
) -> None:
    view = app.build(folder, scenario="belarus-2023.yaml")
    bench = view.workbench
    inputs = bench.session.inputs()
    choice = next(i for i in inputs if i.kind == "choice")
    value = next(i for i in inputs if i.kind == "value" and i.distribution)
    picked = next(o for o in choice.options if o != choice.current)
    one(view, app.hook("fg-choice", choice.path.removeprefix("choice:"))).value = picked
    box = one(view, app.hook("fg-value", value.path))
    box.value = value.current  # as written, then changed through its slider
    slider = one(view, app.hook("fg-slider", value.path))
    slider.value = slider.end
    assert box.value != value.current
    one(view, "fg-runs").value = 8
    one(view, "fg-seed").value = 3
    click(one(view, "fg-run"))
    assert not one(view, "fg-errors").visible, one(view, "fg-errors").object
    assert one(view, "fg-status").object == "done: run 1 (8 runs)"
    outcome = bench.outcome
    assert outcome is not None
    assert outcome.settings.choices[choice.path.removeprefix("choice:")] == picked
    assert outcome.settings.values[value.path] == box.value
    assert (outcome.settings.runs, outcome.settings.seed) == (8, 3)
    table = one(view, "fg-headline").object
    assert len(table) == len(outcome.headline) > 0
    for shown, row in zip(table.to_dict(orient="records"), outcome.headline, strict=True):
        assert {k: shown[k] for k in row} == {k: app._cell(v) for k, v in row.items()}
    assert "Bottom line" in one(view, "fg-answers").object
    charts = [o for o in find(view, "fg-charts")[0].objects if hasattr(o, "config")]
    assert charts and all(c.object["data"] for c in charts)
    first = outcome.headline
    one(view, "fg-runs").value = 5
    click(one(view, "fg-run"))
    assert one(view, "fg-status").object == "done: run 2 (5 runs)"
    assert bench.outcome is not None and bench.outcome.headline != first


def plots(view: Any) -> list[Any]:
    """The page's chart panes (hook ``fg-chart-<name>``), in order."""
    return [
        o
        for o in view.select()
        if any(c.startswith("fg-chart-") for c in (getattr(o, "css_classes", None) or []))
    ]


def test_a_second_run_updates_the_chart_panes_it_has(folder: Path) -> None:
    textbook = app.build(folder, scenario="belarus-2023.yaml")  # losses, manpower...
    bench = textbook.workbench
    one(textbook, "fg-runs").value = 4
    click(one(textbook, "fg-run"))
    first = plots(textbook)
    figures = [p.object for p in first]
    column = one(textbook, "fg-charts")
    shown = list(column.objects)
    more = one(textbook, "fg-more-charts")
    assert more.dynamic  # the other charts are drawn when their tab is opened
    later = [c.title for c in bench.outcome.charts if c.name not in app.ANSWERING]
    assert later and [t.name for t in more.objects] == [app.MORE, *later]
    value = next(i for i in bench.session.inputs() if i.kind == "value")
    slider = one(textbook, app.hook("fg-slider", value.path))
    slider.value = slider.end
    click(one(textbook, "fg-run"))
    assert one(textbook, "fg-status").object == "done: run 2 (4 runs)"
    again = plots(textbook)
    assert len(again) == len(first) > 0
    assert all(a is b for a, b in zip(again, first, strict=True))  # the same panes
    assert all(a is b for a, b in zip(column.objects, shown, strict=True))
    assert any(p.object is not f for p, f in zip(again, figures, strict=True))  # new figures


def test_the_page_draws_long_series_weekly_as_numbers_in_arrays() -> None:
    import numpy as np

    days = [f"d{i}" for i in range(800)]
    trace = {"x": days, "y": [None, *range(799)], "customdata": [0.5] * 800, "name": "a"}
    lean = app._lean(trace)
    assert list(lean["x"][:3]) == ["d0", "d7", "d14"] and lean["x"][-1] == "d799"
    assert lean["y"].dtype == np.float32 and np.isnan(lean["y"][0]) and lean["y"][1] == 6
    assert len(lean["y"]) == len(lean["x"]) == len(lean["customdata"]) == 116
    assert lean["name"] == "a" and trace["x"] is days  # the trace given is left alone
    short = app._lean({"x": days[:300], "y": list(range(300))})
    assert len(short["y"]) == 300


def test_a_bad_value_is_a_message_in_the_page(textbook: Any) -> None:
    bench = textbook.workbench
    value = next(i for i in bench.session.inputs() if i.kind == "value")
    one(textbook, app.hook("fg-value", value.path)).value = "lots"
    click(one(textbook, "fg-run"))
    errors = one(textbook, "fg-errors")
    assert errors.visible
    assert value.path in errors.object or "lots" in errors.object
    assert "Traceback" not in errors.object
    assert bench.outcome is None
    one(textbook, app.hook("fg-value", value.path)).value = value.current
    click(one(textbook, "fg-run"))
    assert not errors.visible
    assert one(textbook, "fg-status").object.startswith("done: run 1 ")


def test_a_scenario_with_problems_shows_them_located(folder: Path) -> None:
    view = app.build(folder, scenario="broken.yaml")
    errors = one(view, "fg-errors")
    assert errors.visible
    assert "broken.yaml:" in errors.object
    assert "count" in errors.object
    assert one(view, "fg-run").disabled
    one(view, "fg-scenario").value = "textbook-fixed-rotation.yaml"
    assert not errors.visible
    assert not one(view, "fg-run").disabled


def test_exports_write_new_files_and_never_overwrite(textbook: Any, folder: Path) -> None:
    one(textbook, "fg-runs").value = 4
    click(one(textbook, "fg-run"))
    one(textbook, "fg-export-name").value = "mine"
    message = one(textbook, "fg-export-message")
    click(one(textbook, "fg-export-variant"))
    assert "mine.yaml" in message.object, message.object
    text = (folder / "mine.yaml").read_text(encoding="utf-8")
    assert "extends: textbook-fixed-rotation.yaml" in text
    assert "mine.yaml" in one(textbook, "fg-scenario").options
    click(one(textbook, "fg-export-variant"))
    assert message.object.startswith("Not written")
    assert one(textbook, "fg-errors").visible
    assert (folder / "mine.yaml").read_text(encoding="utf-8") == text
    click(one(textbook, "fg-export-report"))
    assert (folder / "mine.html").is_file()
    assert "mine.html" in message.object
    click(one(textbook, "fg-export-results"))
    assert (folder / "mine" / "summary.json").is_file()
    one(textbook, "fg-export-name").value = "../outside"
    click(one(textbook, "fg-export-variant"))
    assert message.object.startswith("Not written")
    assert not (folder.parent / "outside.yaml").exists()


def test_pin_and_difference(textbook: Any) -> None:
    bench = textbook.workbench
    one(textbook, "fg-runs").value = 4
    click(one(textbook, "fg-run"))
    click(one(textbook, "fg-pin"))
    diff = one(textbook, "fg-difference")
    assert diff.objects
    value = next(i for i in bench.session.inputs() if i.kind == "value")
    slider = one(textbook, app.hook("fg-slider", value.path))
    slider.value = slider.end
    click(one(textbook, "fg-run"))
    assert not one(textbook, "fg-errors").visible, one(textbook, "fg-errors").object
    tables = [o.object for o in diff.objects if hasattr(o.object, "columns")]
    assert any("path" in t.columns and value.path in list(t["path"]) for t in tables)
    assert any("difference" in t.columns for t in tables)


def test_sensitivity_shows_a_tornado(folder: Path) -> None:
    text = (folder / "textbook-fixed-rotation.yaml").read_text(encoding="utf-8")
    front = "{name: front, location: front, duration: 30d, deployed: true}"
    assert front in text
    uncertain = front.replace("30d", "{pert: [20d, 30d, 45d]}")
    (folder / "uncertain.yaml").write_text(text.replace(front, uncertain), encoding="utf-8")
    view = app.build(folder, scenario="uncertain.yaml")
    output = one(view, "fg-output")
    assert output.options == list(view.workbench.session.outputs())
    output.value = "coverage:front-line"
    click(one(view, "fg-sensitivity"))
    assert not one(view, "fg-errors").visible, one(view, "fg-errors").object
    panes = [o for o in one(view, "fg-tornado").objects if hasattr(o, "config")]
    bars = panes[0].object["data"][0]
    assert bars["y"][0].startswith("policies[") and "uncited assumption" in bars["name"]


def test_a_store_shows_its_experiments_and_the_box(folder: Path) -> None:
    pytest.importorskip("duckdb")
    from test_discover import write_store

    write_store(folder / "explore.duckdb", n=200)
    view = app.build(folder, scenario="textbook-fixed-rotation.yaml")
    store = one(view, "fg-store")
    assert store.options == ["explore.duckdb"]
    store.value = "explore.duckdb"
    assert one(view, "fg-factor").options
    one(view, "fg-outcome").value = "coverage:front-line:mean"
    click(one(view, "fg-store-show"))
    assert not one(view, "fg-errors").visible, one(view, "fg-errors").object
    assert one(view, "fg-scatter").object["data"][0]["type"] == "scatter"
    assert one(view, "fg-parcoords").object["data"][0]["type"] == "parcoords"
    one(view, "fg-where").value = "coverage:front-line < 90%"
    click(one(view, "fg-store-show"))
    assert not one(view, "fg-errors").visible, one(view, "fg-errors").object
    assert "experiments" in one(view, "fg-box").object
    one(view, "fg-where").value = "nonsense <"
    click(one(view, "fg-store-show"))
    assert one(view, "fg-errors").visible


def test_workbench_opens_a_scenario_file_in_its_folder(folder: Path) -> None:
    import forcegen

    view = forcegen.workbench(folder / "textbook-fixed-rotation.yaml")
    assert view.workbench.session.name == "textbook-fixed-rotation.yaml"
    with pytest.raises(forcegen.UsageError):
        forcegen.workbench(folder / "missing.yaml")


def test_the_page_plots_give_plotly_what_the_plain_pane_gives(folder: Path) -> None:
    import numpy as np
    import panel as pn

    page = app.build(folder, scenario="belarus-2023.yaml")
    one(page, "fg-runs").value = 3
    click(one(page, "fg-run"))
    pane = plots(page)[0]
    assert type(pane) is not pn.pane.Plotly and isinstance(pane, pn.pane.Plotly)
    plain = pn.pane.Plotly(pane.object)
    mine, theirs = pane._init_params(), plain._init_params()
    assert mine["layout"] == theirs["layout"] and "template" in mine["layout"]
    assert mine["data"] == theirs["data"]
    for a, b in zip(mine["data_sources"], theirs["data_sources"], strict=True):
        assert a.data.keys() == b.data.keys()
        for key in a.data:
            assert np.array_equal(a.data[key][0], b.data[key][0], equal_nan=key != "x")

    # a new run sets the pane's figure, and its model then carries the new numbers
    root = pane.get_root()
    model = pane._models[root.ref["id"]][0]
    value = next(i for i in page.workbench.session.inputs() if i.kind == "value")
    slider = one(page, app.hook("fg-slider", value.path))
    slider.value = slider.end
    click(one(page, "fg-run"))
    new = pane.object["data"]
    sent = [cds.data.get("y", [None])[0] for cds in model.data_sources]
    assert all(np.array_equal(s, t["y"], equal_nan=True) for s, t in zip(sent, new, strict=True))


def test_progress_is_shown_at_most_every_progress_every_seconds(textbook: Any) -> None:
    bench = textbook.workbench
    status = one(textbook, "fg-status")
    status.object = "running"
    bench._progressed = time.perf_counter()
    bench.progress(1, 10)
    assert status.object == "running"  # too soon after the work began
    bench._progressed -= app.PROGRESS_EVERY
    bench.progress(2, 10)
    assert status.object == "working: 2 of 10 (20%)"
    bench.progress(3, 10)
    assert status.object == "working: 2 of 10 (20%)"
