"""The report: every chart labelled, every section present, bad folders refused cleanly, and
the page rendered in a real headless browser.

The browser test needs Chromium (Debian's ``chromium``; ``.ci/run`` installs it). Where it is
missing the test is skipped, except under CI (``CI`` set), where a missing browser fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from conftest import MINIMAL, changed, flow, merge, scenario_data, yaml_text
from matplotlib.colors import to_rgb, to_rgba
from typer.testing import CliRunner

from forcegen.analysis import compare, sensitivity
from forcegen.analysis.calibrate import calibrate, calibrated_scenario
from forcegen.analysis.observations import assess
from forcegen.api import simulate
from forcegen.cli import app
from forcegen.errors import UsageError
from forcegen.export import write_json
from forcegen.report import charts as charts_module
from forcegen.report import write_report
from forcegen.report.charts import (
    BAND_ALPHA,
    SAWTOOTH,
    Band,
    Chart,
    Stack,
    _periods,
    full_cover_line,
    rotation_units,
    sensitivity_warnings,
)
from forcegen.report.interactive import to_json
from forcegen.report.page import charts_of
from forcegen.results_folder import (
    COMPARE_NAME,
    SENSITIVITY_NAME,
    read_folder,
    write_calibration,
    write_results,
)
from forcegen.scenario.loader import loads
from forcegen.scenario.paths import readable

REPORT = scenario_data(
    name="Report test <b>bold</b>",  # markup in the name, kept as data to be escaped
    question="Can the blue battalions keep 900 people at the front?",
    horizon="150d",
    claims=[
        {"id": "C1", "source": {"publication": "Daily Example", "date": flow("2023-01-10")},
         "attribution": "anonymous", "paraphrase": "Losses are heavy <script>alert(1)</script>",
         "grade": "F3"},
        {"id": "C2", "source": {"publication": "Ministry"}, "attribution": "official",
         "paraphrase": "Four battalions", "grade": "B2"},
        {"id": "C3", "source": {"publication": "Rival"}, "attribution": "official",
         "paraphrase": "Forty battalions", "grade": "C3"},
        {"id": "C4", "source": {"publication": "Nobody"}, "attribution": "named",
         "paraphrase": "unused", "grade": "E5"},
    ],
    forces=[{"id": "blue"}, {"id": "green"}],
    locations=[
        {"id": "front", "attrition": {
            "killed": {"pert": [0.0005, 0.001, 0.002], "cites": ["C1"]},
            "wounded": {"uniform": [0.002, 0.004]},
            "return_share": "50%",
            "recovery": "20d",
        }},
        {"id": "home"},
    ],
    policies=[
        MINIMAL["policies"][0],
        {"id": "garrison", "positions": [{"name": "home", "location": "home", "duration": "365d"}]},
    ],
    units=[
        {"id": "b", "force": "blue", "type": "bn", "strength": 500, "policy": "p",
         "count": {"choose": "bn-count", "default": "ministry", "options": {
             "ministry": {"value": 4, "cites": ["C2"]},
             "rival": {"value": 40, "cites": ["C3"]},
         }}},
        {"id": "g", "force": "green", "type": "bn", "count": 2, "strength": 300,
         "policy": "garrison"},
    ],
    demands=[{"id": "front-line", "location": "front", "people": 900,
              "fill": {"forces": ["blue"]}}],
    reservoirs=[{"id": "volunteers", "size": 2000}],
    pipelines=[{"id": "recruiting", "force": "blue", "reservoir": "volunteers",
                "intake": [{"from": "0d", "rate": "10/d"}], "training": "10d",
                "into": "replacements"}],
    observations=[
        {"id": "front-in-march", "measure": "people", "force": "blue", "location": "front",
         "at": "2023-03-01", "value": 900, "cites": ["C2"]},
        {"id": "killed-by-may", "measure": "killed", "force": "blue", "by": "2023-05-01",
         "at_least": 20, "cites": ["C1"]},
        {"id": "wounded-share", "measure": "wounded", "force": "blue", "from": "2023-02-01",
         "to": "2023-03-31", "share_of": {"measure": "lost", "force": "blue"},
         "between": ["50%", "90%"]},
    ],
)  # fmt: skip
"""Two forces, a choice, uncertain attrition, four claims (one unused), a pipeline, and
observations: a value at a date, an open-sided total and a share over a window."""

TEXT = yaml_text(REPORT)

VARIANT = yaml_text(changed(REPORT, name="Report test variant", units=merge([{}, {"count": 3}])))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with everything: a stochastic run with unit traces, a comparison and
    a sensitivity analysis."""
    path = tmp_path_factory.mktemp("results")
    scenario = loads(TEXT)
    results = simulate(scenario, runs=20, seed=3, keep_units=True)
    summary = results.summary()  # with the observations' verdicts, as forcegen run adds them
    summary["observations"] = [a.summary() for a in assess(results, scenario)]
    write_results(results.to_xarray(), summary, path, results.per_run(), scenario_text=TEXT)
    write_json(compare([scenario, loads(VARIANT)], runs=10).summary(), path / COMPARE_NAME)
    found = sensitivity(scenario, output="lost:blue:killed", n=16)
    write_json(found.summary(), path / SENSITIVITY_NAME)
    cal = calibrate(scenario, particles=20, max_runs=200, max_generations=3, seed=1)
    summary = cal.summary()
    write_calibration(summary, cal.posterior(), calibrated_scenario(cal, TEXT, summary), path)
    return path


@pytest.fixture(scope="module")
def report(folder: Path) -> Path:
    return write_report(folder)


def all_charts(folder: Path) -> list[Chart]:
    charts, _ = charts_of(read_folder(folder))
    return charts


# --- every chart has a title, labelled axes with units, and a legend ----------------------


def test_the_report_has_every_chart(folder: Path) -> None:
    names = [c.name for c in all_charts(folder)]
    assert names == [
        "coverage",
        "strength",
        "rotation",
        "rotation-units",
        "losses",
        "recruitment",
        "reservoirs",
        "observation-front-in-march",
        "observation-killed-by-may",
        "observation-wounded-share",
        "compare-1",
        "sensitivity",
        "calibration-inputs",
        "calibration-choices",
    ]


UNITS = ("(%)", "people", "units", "unit", "days", "percentage points", "Sobol index")


def test_every_chart_has_a_title_axis_labels_with_units_and_a_legend(folder: Path) -> None:
    for chart in all_charts(folder):
        axes = [ax for ax in chart.figure.axes if ax.get_visible()]
        assert axes, chart.name
        for ax in axes:
            where = f"{chart.name}: {ax.get_title()!r}"
            assert ax.get_title(), where
            assert ax.get_xlabel() and ax.get_ylabel(), where
            labels = ax.get_xlabel() + " " + ax.get_ylabel()
            assert any(u in labels for u in UNITS), where
            legend = ax.get_legend()
            assert legend is not None and legend.get_texts(), where
            assert all(t.get_text() for t in legend.get_texts()), where


def test_fans_show_the_median_and_the_band_of_the_runs(folder: Path) -> None:
    chart = next(c for c in all_charts(folder) if c.name == "strength")
    ax = chart.figure.axes[0]
    assert ax.get_title() == "blue at front"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "median" in texts and "5–95% of runs" in texts
    line = next(line for line in ax.get_lines() if line.get_label() == "median")
    ds = read_folder(folder).results
    expected = np.quantile(ds.strength.sel(force="blue", location="front").values, 0.5, axis=0)
    np.testing.assert_allclose(line.get_ydata(), expected)


def test_flows_are_summed_over_whole_periods() -> None:
    import xarray as xr

    days = 65  # two whole 30-day periods and a partial one, which is left out
    ds = xr.Dataset(
        coords={
            "day": np.arange(days),
            "date": ("day", np.datetime64("2023-01-01") + np.arange(days)),
        }
    )
    edges, sums = _periods(ds, np.ones((2, days)))
    assert sums.tolist() == [[30, 30, 30], [30, 30, 30]]  # the last repeats to close a step
    assert list(edges) == [
        np.datetime64("2023-01-01"),
        np.datetime64("2023-01-31"),
        np.datetime64("2023-03-02"),
    ]


def test_the_rotation_chart_colours_each_unit_by_its_position(folder: Path) -> None:
    chart = next(c for c in all_charts(folder) if c.name == "rotation-units")
    ax = chart.figure.axes[0]
    image = ax.get_images()[0].get_array()
    ds = read_folder(folder).results
    rows = [t.get_text() for t in ax.get_yticklabels()]
    pos = ds.unit_position.isel(run=0).sel(unit=rows).values.T  # unit × day
    # Two days with the same position have the same colour, two different ones do not.
    for u in range(pos.shape[0]):
        same = pos[u] == pos[u, 0]
        colours = image[u]
        assert np.all((colours == colours[0]).all(axis=1) == same)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "p/front (deployed)" in legend and "garrison/home" in legend


def test_the_tornado_chart_ranks_inputs_and_names_their_claims(folder: Path) -> None:
    chart = next(c for c in all_charts(folder) if c.name == "sensitivity")
    ax = chart.figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("locations[front].attrition.killed\nC1 (F3)")  # by id
    assert "assumption (uncited)" in labels[1]


def test_without_unit_traces_the_report_says_how_to_get_them(tmp_path: Path) -> None:
    results = simulate(loads(TEXT), runs=3)
    write_results(results.to_xarray(), results.summary(), tmp_path, scenario_text=TEXT)
    charts, notes = charts_of(read_folder(tmp_path))
    assert "rotation-units" not in [c.name for c in charts]
    assert "rotation" in [c.name for c in charts]  # the aggregate chart needs no traces
    assert any("--keep units" in n for n in notes)


def test_a_deterministic_run_draws_lines_without_bands(tmp_path: Path) -> None:
    results = simulate(loads(TEXT), deterministic=True)
    write_results(results.to_xarray(), results.summary(), tmp_path, scenario_text=TEXT)
    chart = next(c for c in all_charts(tmp_path) if c.name == "coverage")
    ax = chart.figure.axes[0]
    assert not ax.collections  # no band
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["share filled"]


def test_every_interactive_figure_has_a_title_axis_titles_with_units_and_its_legend(
    folder: Path,
) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    for chart in all_charts(folder):
        figures = chart.plotly()
        assert len(figures) == len(chart.panels), chart.name
        for panel, fig in zip(chart.panels, figures, strict=True):
            go.Figure(data=fig["data"], layout=fig["layout"])  # valid Plotly, or it raises
            layout = fig["layout"]
            where = f"{chart.name}: {layout['title']['text']!r}"
            assert layout["title"]["text"] == panel.title, where
            x, y = layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]
            assert x and y and any(u in f"{x} {y}" for u in UNITS), where
            shown = [t["name"] for t in fig["data"] if t.get("showlegend", True)]
            assert shown == panel.legend_labels() and all(shown), where
            assert layout["showlegend"] and layout["legend"]["x"] > 1  # beside the plot


def test_band_legend_entries_have_the_bands_colour_and_opacity(folder: Path) -> None:
    for chart in all_charts(folder):
        for ax, panel in zip(chart.figure.axes, chart.panels, strict=False):
            handles = dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
            for band in (s for s in panel.series if isinstance(s, Band)):
                drawn = next(c for c in ax.collections if c.get_label() == band.label)
                colour = to_rgba(band.colour, BAND_ALPHA)
                np.testing.assert_allclose(drawn.get_facecolor()[0], colour)
                np.testing.assert_allclose(handles[band.label].get_facecolor()[0], colour)
        for fig, panel in zip(chart.plotly(), chart.panels, strict=True):
            for band in (s for s in panel.series if isinstance(s, Band)):
                trace = next(t for t in fig["data"] if t.get("name") == band.label)
                r, g, b, _ = (round(255 * v) for v in to_rgba(band.colour))
                assert trace["fillcolor"] == f"rgba({r},{g},{b},{BAND_ALPHA:g})"


def test_every_panel_over_time_spans_the_scenarios_dates(folder: Path) -> None:
    import matplotlib.dates as mdates

    ds = read_folder(folder).results
    first, last = ds.date.values[0], ds.date.values[-1]
    expected = tuple(mdates.date2num([first, last]))
    timed = [c for c in all_charts(folder) if c.panels[0].x_range is not None]
    assert {c.name for c in timed} >= {"coverage", "strength", "rotation", "losses"}
    for chart in timed:
        for ax in chart.figure.axes:
            if ax.get_visible():
                assert ax.get_xlim() == pytest.approx(expected), chart.name
        for fig in chart.plotly():
            assert fig["layout"]["xaxis"]["range"] == [str(first)[:10], str(last)[:10]]


def test_legends_never_cover_the_data(folder: Path) -> None:
    for chart in all_charts(folder):
        chart.png()  # lays the figure out
        for ax in chart.figure.axes:
            if ax.get_visible():
                legend = ax.get_legend().get_window_extent()
                assert not legend.overlaps(ax.get_window_extent()), chart.name


def test_each_force_has_its_own_panel_and_scale(folder: Path) -> None:
    ds = read_folder(folder).results
    chart = next(c for c in all_charts(folder) if c.name == "strength")
    for ax in [ax for ax in chart.figure.axes if ax.get_visible()]:
        force, _, location = ax.get_title().partition(" at ")
        values = ds.strength.sel(force=force, location=location).values
        top = float(np.quantile(values, 0.95, axis=0).max())  # the top of the band
        assert top <= ax.get_ylim()[1] <= 1.2 * top  # the panel's scale fits its force


def test_the_probability_of_full_cover_is_drawn_only_where_it_informs() -> None:
    days = 120
    active = np.ones(days, bool)
    active[:10] = False
    steady = np.linspace(0.9, 0.6, days)
    values, how = full_cover_line(steady, active)
    assert how == "daily" and np.isnan(values[:10]).all()
    np.testing.assert_allclose(values[10:], steady[10:])
    # A rotating demand: fully covered in almost every run one day, in almost none the next.
    saw = np.where(np.arange(days) % 2 == 0, 0.98, 0.02)
    assert np.abs(np.diff(saw[active])).mean() > SAWTOOTH
    values, how = full_cover_line(saw, active)
    assert how == "rolling"
    assert np.nanmax(values[40:]) - np.nanmin(values[40:]) < 0.05  # no longer a sawtooth
    assert values[40:] == pytest.approx(0.5, abs=0.02)
    assert full_cover_line(np.ones(days), active) == (None, "always")
    assert full_cover_line(np.zeros(days), active) == (None, "never")
    assert full_cover_line(saw, np.zeros(days, bool)) == (None, "inactive")


def test_the_coverage_chart_says_what_its_dashed_line_shows(folder: Path) -> None:
    chart = next(c for c in all_charts(folder) if c.name == "coverage")
    assert "front-line: " in chart.caption
    assert any(
        phrase in chart.caption
        for phrase in ("on each day", "averaged over the past", "every active day", "no day")
    )


def test_units_in_each_position_are_also_shown_as_people(folder: Path) -> None:
    ds = read_folder(folder).results
    chart = next(c for c in all_charts(folder) if c.name == "rotation")
    units, people = chart.panels
    assert units.ylabel == "units" and people.ylabel == "people"
    total = sum(s.y for s in people.series if isinstance(s, Stack))
    present = ds.unit_strength.where(ds.unit_position >= 0, 0).sum("unit").mean("run")
    np.testing.assert_allclose(total, present.values, rtol=1e-6)  # float32 sums
    colours = [s.colour for s in people.series]
    assert colours == [s.colour for s in units.series] and len(set(colours)) == len(colours)


def test_the_rotation_chart_leaves_out_units_that_never_formed(folder: Path) -> None:
    ds = read_folder(folder).results.copy(deep=True)
    never = str(ds.unit.values[0])
    ds["unit_position"][0, :, 0] = -1  # in run 0, the first unit never joins the force
    (chart,) = rotation_units(ds)
    (timeline,) = chart.panels[0].series
    run0, rows0, codes0 = timeline.runs[0]
    assert never not in rows0 and len(rows0) == ds.sizes["unit"] - 1
    assert never in timeline.runs[1][1]  # it did form in run 1
    ax = chart.figure.axes[0]
    assert never not in [t.get_text() for t in ax.get_yticklabels()]
    assert "first run" in chart.caption


def test_the_interactive_rotation_chart_offers_a_choice_of_run(folder: Path) -> None:
    ds = read_folder(folder).results
    chart = next(c for c in all_charts(folder) if c.name == "rotation-units")
    (fig,) = chart.plotly()
    (menu,) = fig["layout"]["updatemenus"]
    runs = min(charts_module.MAX_RUNS, ds.sizes["run"])
    assert [b["label"] for b in menu["buttons"]] == [f"run {r}" for r in range(runs)]
    # Each run's bars cover each shown unit's days exactly once.
    for button in menu["buttons"]:
        days: dict[str, int] = {}
        for ys, spans in zip(button["args"][0]["y"], button["args"][0]["customdata"], strict=True):
            for unit, span in zip(ys, spans, strict=True):
                days[unit] = days.get(unit, 0) + span[2]
        assert set(days.values()) == {ds.sizes["day"]}


def test_sensitivity_warns_when_its_indices_cannot_be_trusted(folder: Path) -> None:
    sf = read_folder(folder).sensitivity
    assert sf is not None and sf.method == "sobol"
    first = sf.inputs[0]
    calm = {"S1": 0.2, "ST": 0.5, "S1_conf": 0.01, "ST_conf": 0.01}
    steady = sf.model_copy(update={"inputs": [first.model_copy(update=calm)], "runs": 10_000})
    assert sensitivity_warnings(steady) == []
    above = sf.model_copy(update={"inputs": [first.model_copy(update={**calm, "S1": 0.6})]})
    (warning,) = sensitivity_warnings(above)
    assert "S1 exceeds the total index ST for 1 input" in warning and "--n" in warning
    wide = sf.model_copy(update={"inputs": [first.model_copy(update={**calm, "ST_conf": 0.3})]})
    (warning,) = sensitivity_warnings(wide)
    assert "confidence intervals are wide (beyond ±0.1)" in warning


def test_the_page_shows_sensitivity_warnings(folder: Path, report: Path) -> None:
    chart = next(c for c in all_charts(folder) if c.name == "sensitivity")
    html = report.read_text(encoding="utf-8")
    section = html[html.index('<section id="sensitivity">') :]
    for warning in chart.warnings:  # n=16 is a small sample: it warns
        assert warning.split(":")[0] in section
    assert chart.warnings


def test_figure_json_cannot_close_its_script_element() -> None:
    text = to_json({"layout": {"title": {"text": "</script><b>x</b> & y"}}})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["layout"]["title"]["text"] == "</script><b>x</b> & y"


# --- the page ----------------------------------------------------------------------------


def test_the_page_holds_every_section_and_is_self_contained(folder: Path, report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    for anchor in ("headline", "scenario", "claims", "check", "compare", "sensitivity-table"):
        assert f'id="{anchor}"' in html
    assert "Can the blue battalions keep 900 people at the front?" in html
    # The page less the embedded plotly.js (whose own strings, such as the SVG namespace,
    # are never fetched: see the browser tests).
    page = html[: html.index("<script>")] + html[html.rindex("</script>") :]
    # Figures are embedded, and also written beside the page.
    assert page.count('src="data:image/png;base64,') == len(all_charts(folder))
    assert '<img src="figures/' not in html
    assert "http://" not in page and "https://" not in page
    assert html.count("<script>") == 2  # plotly.js, once, and the code that draws the charts
    assert html.count('class="plot-data"') == sum(len(c.panels) for c in all_charts(folder))
    for chart in all_charts(folder):
        png = folder / "figures" / f"{chart.name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_escapes_what_the_scenario_says(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Report test &lt;b&gt;bold&lt;/b&gt;" in html


def test_claims_show_grades_and_where_each_is_used(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<code>locations[front].attrition.killed</code>" in html  # C1, by the id
    assert "<code>units[b].count</code>" in html  # C2, under the default choice
    start = html.index("<td>C4</td>")
    assert "not used" in html[start : html.index("</tr>", start)]
    assert "locations[front].attrition.wounded" in html  # an uncited assumption


def test_check_findings_appear_with_their_claims(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    section = html[html.index('id="check"') :]
    assert "sources-disagree" in section
    assert "bn-count" in section and "C2" in section and "C3" in section


def test_readable_paths_name_items_by_their_ids() -> None:
    scenario = loads(TEXT)
    assert readable("units[0].count", scenario) == "units[b].count"
    assert readable("policies[0].positions[1].duration", scenario) == (
        "policies[p].positions[home].duration"
    )
    assert readable("units[9].count", scenario) == "units[9].count"  # no such item
    assert readable("horizon", scenario) == "horizon"


# --- the command and bad folders ---------------------------------------------------------


def test_report_command_writes_the_page_and_prints_its_path(folder: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "mine.html"
    result = CliRunner().invoke(app, ["report", str(folder), "--out", str(target)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(target)
    assert target.is_file() and (target.parent / "figures" / "coverage.png").is_file()


def test_compare_and_sensitivity_write_their_files_for_the_report(tmp_path: Path) -> None:
    base, variant = tmp_path / "base.yaml", tmp_path / "variant.yaml"
    base.write_text(TEXT, encoding="utf-8")
    variant.write_text(VARIANT, encoding="utf-8")
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["compare", str(base), str(variant), "-n", "4", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    compared = json.loads((out / COMPARE_NAME).read_text())
    assert compared["format"] == "forcegen-comparison" and compared["runs"] == 4
    result = runner.invoke(
        app, ["sensitivity", str(base), "--output", "lost:blue:killed", "--n", "8", "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    sens = json.loads((out / SENSITIVITY_NAME).read_text())
    assert sens["format"] == "forcegen-sensitivity" and sens["inputs"][0]["claims"] == "C1"
    # A folder with only these two makes a report of its own.
    path = write_report(out)
    names = sorted(p.name for p in (out / "figures").iterdir())
    assert names == ["compare-1.png", "sensitivity.png"]
    assert 'id="headline"' not in path.read_text(encoding="utf-8")


def test_run_out_keeps_a_copy_of_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "-n", "2", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "o" / "scenario.yaml").read_text(encoding="utf-8") == TEXT


def bad_report(folder: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["report", str(folder), *args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    message = bad_report(tmp_path / "nowhere")
    assert "nowhere: expected a results folder; there is no such folder" in message


def test_a_folder_without_results_is_refused(tmp_path: Path) -> None:
    message = bad_report(tmp_path)
    assert "expected results.nc (forcegen run --out), compare.json" in message
    assert not (tmp_path / "report.html").exists()


def test_a_damaged_netcdf_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results.nc").write_bytes(b"not a netcdf file")
    message = bad_report(tmp_path)
    assert "results.nc: expected a NetCDF file written by forcegen run --out" in message


def test_a_netcdf_file_of_something_else_is_refused(tmp_path: Path) -> None:
    import xarray as xr

    xr.Dataset({"x": ("t", [1, 2])}).to_netcdf(tmp_path / "results.nc", engine="h5netcdf")
    message = bad_report(tmp_path)
    assert "results.nc: expected the results of forcegen run; missing strength" in message


def test_broken_json_is_refused_with_its_line(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "compare.json").write_text('{"format": "forcegen-comparison",\n  "runs": }')
    message = bad_report(tmp_path)
    assert "compare.json:2:11: expected JSON" in message


def test_json_of_the_wrong_layout_is_refused_with_its_field(folder: Path, tmp_path: Path) -> None:
    data = json.loads((folder / SENSITIVITY_NAME).read_text())
    data["method"] = "guess"
    (tmp_path / "sensitivity.json").write_text(json.dumps(data))
    message = bad_report(tmp_path)
    assert "sensitivity.json: field method: input should be 'sobol' or 'morris'" in message
    assert 'found "guess"' in message


def test_a_bad_scenario_copy_is_reported_with_its_line(folder: Path, tmp_path: Path) -> None:
    for name in ("results.nc", "summary.json"):
        shutil.copy(folder / name, tmp_path / name)
    (tmp_path / "scenario.yaml").write_text("forcegen: 1\nname: x\nstart: 2023-02-30\n")
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "scenario.yaml:3:8: start" in " ".join(result.stderr.split())


def test_out_must_be_an_html_file(folder: Path, tmp_path: Path) -> None:
    assert "expected a file name ending in .html" in bad_report(
        folder, "--out", str(tmp_path / "r.txt")
    )
    assert "expected an HTML file name, found a folder" in bad_report(
        folder, "--out", str(tmp_path)
    )


def test_a_failed_report_leaves_the_previous_one_whole(folder: Path, tmp_path: Path) -> None:
    for name in ("results.nc", "summary.json", "scenario.yaml"):
        shutil.copy(folder / name, tmp_path / name)
    first = write_report(tmp_path).read_bytes()
    (tmp_path / "compare.json").write_text("{}")  # now the folder is bad
    with pytest.raises(UsageError):
        write_report(tmp_path)
    assert (tmp_path / "report.html").read_bytes() == first
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- in a real browser -------------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


def test_the_page_renders_in_a_headless_browser(report: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for this test (.ci/run installs it)")
        pytest.skip("no Chromium here (apt-get install chromium)")
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,6000",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = mpimg.imread(shot)[..., :3]
    assert image.shape[:2] == (6000, 1200)
    # The page is not blank, and the embedded charts were decoded and drawn: the colour of
    # the deployed position in both rotation charts covers a large area.
    assert image.std() > 0.05
    deployed = np.array(to_rgb(charts_module.DEPLOYED_COLOURS[0]))
    near = np.abs(image - deployed).max(axis=2) < 0.03
    assert near.sum() > 20_000


def test_results_without_a_scenario_copy_still_make_a_report(folder: Path, tmp_path: Path) -> None:
    for name in ("results.nc", "summary.json"):
        shutil.copy(folder / name, tmp_path / name)
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert 'id="headline"' in html and 'id="claims"' in html
    assert 'id="scenario"' not in html and 'id="check"' not in html
    assert "<code>units[b].count</code>" in html  # the claims the run used, by path with ids


def test_require_and_rules_files_have_their_sections(tmp_path: Path) -> None:
    from forcegen.analysis import require, rotation_rules
    from forcegen.results_folder import write_summary

    scenario = loads(TEXT + "# <i>rules</i>\n")  # markup in a comment: read, never shown
    found = require(
        scenario,
        field_path="units[0].strength",
        demand="front-line",
        low=100,
        high=2000,
        runs=1,
        deterministic=True,
        probability=1.0,
        days=0.5,
    )
    write_summary(found.summary(), tmp_path)
    results = simulate(scenario, runs=2, keep_units=True)
    write_summary(rotation_rules(results, None).summary(), tmp_path)
    read = read_folder(tmp_path)
    assert read.require is not None and read.require.value == found.value
    assert read.rules is not None and len(read.rules.units) == 6
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert 'id="requirement"' in html and 'id="rules"' in html
    assert f"smallest value: {found.value:,.0f} people" in html  # with its unit
    assert "none breaks the rules" in html
    assert "Report test &lt;b&gt;bold&lt;/b&gt;" in html  # the name, from require.json


def test_a_damaged_require_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "require.json").write_text(
        json.dumps({"format": "forcegen-requirement", "version": 1, "field": "x"})
    )
    message = bad_report(tmp_path)
    assert "require.json: field demand: field required" in message


def _browser_or_skip() -> str:
    """The system Chromium for Playwright; skips without one, except under CI."""
    browser = _chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ModuleNotFoundError:
        browser = None
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium and Playwright for this test (.ci/run)")
        pytest.skip("no Chromium or no Playwright here (apt-get install chromium)")
    return browser


def test_hovering_a_chart_shows_the_value_at_that_date_offline(folder: Path, report: Path) -> None:
    """In headless Chromium with every request but file:// blocked: the charts draw, none
    fetches anything, and the hover label of the strength chart at a date reads the median
    strength of the results at that date."""
    import re

    from playwright.sync_api import sync_playwright

    browser_path = _browser_or_skip()
    ds = read_folder(folder).results
    day = 60
    blocked: list[str] = []

    def route(request_route: object) -> None:
        url = request_route.request.url  # type: ignore[attr-defined]
        if url.startswith("file://"):
            request_route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            request_route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route("**/*", route)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri())
            page.wait_for_selector("#strength-plot-1 .main-svg", timeout=60_000)
            drawn = page.locator(".plot .main-svg").count()
            date = str(ds.date.values[day])[:10]
            x, y = page.evaluate(
                """([id, date]) => {
                    const gd = document.getElementById(id);
                    gd.scrollIntoView();
                    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                    const box = gd.getBoundingClientRect();
                    return [box.left + xa._offset + xa.d2p(date),
                            box.top + ya._offset + ya._length / 2];
                }""",
                ["strength-plot-1", date],
            )
            page.mouse.move(x, y)
            page.wait_for_selector("#strength-plot-1 .hoverlayer text", timeout=10_000)
            label = page.evaluate(
                "document.querySelector('#strength-plot-1 .hoverlayer').textContent"
            )
            # Picking another run keeps the dates on the x axis.
            axis = page.evaluate(
                """() => {
                    const gd = document.getElementById("rotation-units-plot-1");
                    const button = gd.layout.updatemenus[0].buttons[1];
                    return Plotly.update(gd, button.args[0], button.args[1])
                        .then(() => [gd._fullLayout.xaxis.type, gd.layout.title.text]);
                }"""
            )
        finally:
            browser.close()
    assert axis[0] == "date" and "run 1" in axis[1]
    assert not errors and not blocked
    assert drawn >= sum(len(c.panels) for c in all_charts(folder))
    # The label names its date and the median's value there, in people.
    shown = re.search(r"\d{4}-\d{2}-\d{2}", label)
    assert shown is not None, label
    value = re.search(r"median: ([\d,]+) people", label)
    assert value is not None, label
    at = int(np.flatnonzero(ds.date.values == np.datetime64(shown.group(0)))[0])
    assert abs(at - day) <= 1  # the date under the pointer
    median = np.quantile(ds.strength.sel(force="blue", location="front").values[:, at], 0.5)
    assert float(value.group(1).replace(",", "")) == pytest.approx(median, abs=0.5)


def test_each_observation_has_a_section_with_its_chart(tmp_path: Path) -> None:
    data = scenario_data(
        claims=[
            {
                "id": "c",
                "source": {"publication": "p"},
                "attribution": "named",
                "paraphrase": "about a thousand at the front",
                "grade": "C3",
            }
        ],
        observations=[
            {
                "id": "at-front",
                "measure": "people",
                "location": "front",
                "at": "2023-01-20",
                "value": 1000,
                "cites": ["c"],
            },
            {"id": "killed", "measure": "killed", "by": "2023-02-20", "at_least": 10},
        ],
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml_text(data), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--runs", "5", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    page = write_report(out).read_text(encoding="utf-8")
    for name in ("at-front", "killed"):
        assert f'id="observation-{name}"' in page
        assert (out / "figures" / f"observation-{name}.png").is_file()
    assert "Observations against the model" in page
    assert "c (C3)" in page and "inconsistent" in page


# --- observations and calibration ----------------------------------------------------------


def test_each_observation_chart_draws_the_fan_and_the_claim_in_its_verdicts_colour(
    folder: Path,
) -> None:
    from forcegen.analysis.observations import targets
    from forcegen.report.observation_charts import SPAN, VERDICT_COLOURS

    read = read_folder(folder)
    verdicts = {o["id"]: o["verdict"] for o in read.summary["observations"]}
    by_name = {c.name: c for c in all_charts(folder)}
    for obs, tgt in zip(read.scenario.observations, targets(read.scenario), strict=True):
        chart = by_name[f"observation-{obs.id}"]
        (panel,) = chart.panels
        labels = panel.legend_labels()
        assert labels[:2] == ["model, 5–95% of runs", "model, median"], labels
        claim = next(s for s in panel.series if isinstance(s, Band) and s.label.startswith("claim"))
        assert claim.colour == VERDICT_COLOURS[verdicts[obs.id]]
        assert verdicts[obs.id] in claim.label and "C" in claim.label or not obs.cites
        first, last = (np.datetime64(d, "D") for d in obs.window)
        if first == last:  # a date: a short span around it
            assert list(claim.x) == [first - SPAN, last + SPAN]
        else:
            assert list(claim.x) == [first, last]
        bottom, top = panel.y_range
        expected_low = tgt.low if np.isfinite(tgt.low) else bottom
        expected_high = tgt.high if np.isfinite(tgt.high) else top  # an open side: the edge
        assert claim.low[0] == pytest.approx(expected_low)
        assert claim.high[0] == pytest.approx(expected_high)
        assert top >= claim.high[0] and bottom <= claim.low[0]
        if tgt.centre is not None:
            centre = next(
                s for s in panel.series if s.label in ("claimed value", "middle of the claim")
            )
            assert list(centre.y) == [tgt.centre, tgt.centre]
        # Drawn: the PNG axes keep the panel's range; the claim's band is a trace of the page.
        ax = chart.figure.axes[0]
        assert ax.get_ylim() == pytest.approx((bottom, top))
        (fig,) = chart.plotly()
        assert claim.label in [t.get("name") for t in fig["data"]]
    share = by_name["observation-wounded-share"].panels[0]
    assert share.ylabel == "share (%)" and share.y_format == ".0%"
    killed = next(o for o in read.scenario.observations if o.id == "killed-by-may")
    assert killed.at_least == 20  # open-sided: its band reaches the top of the panel


def test_the_observation_fan_is_the_figure_read_from_the_records(folder: Path) -> None:
    from forcegen.report.charts import Line

    ds = read_folder(folder).results
    chart = next(c for c in all_charts(folder) if c.name == "observation-front-in-march")
    median = next(s for s in chart.panels[0].series if isinstance(s, Line))
    expected = np.quantile(ds.strength.sel(force="blue", location="front").values, 0.5, axis=0)
    np.testing.assert_allclose(median.y, expected)


def test_prior_against_posterior_shows_every_input_and_choice(folder: Path) -> None:
    from forcegen.report.charts import Bars, Intervals, Points

    read = read_folder(folder)
    cf = read.calibration
    by_name = {c.name: c for c in all_charts(folder)}
    inputs = by_name["calibration-inputs"]
    assert len(inputs.panels) == len(cf.inputs) > 0
    for panel, row in zip(inputs.panels, cf.inputs, strict=True):
        assert panel.categories == ("prior", "posterior")
        assert panel.title.startswith(readable(row.input, read.scenario))  # by id
        assert (", ".join(row.claims) or "assumption") in panel.title
        prior, posterior = (s for s in panel.series if isinstance(s, Intervals))
        assert [prior.low[0], prior.high[0]] == [row.prior_q[0], row.prior_q[-1]]
        assert [posterior.low[1], posterior.high[1]] == [row.posterior_q[0], row.posterior_q[-1]]
        medians = [s for s in panel.series if isinstance(s, Points)]
        assert [m.label for m in medians] == ["prior median", "posterior median"]
        assert medians[1].values[1] == row.posterior_q[2]
    assert "locations[front].attrition.killed" in inputs.panels[0].title
    choices = by_name["calibration-choices"]
    (panel,) = choices.panels
    (choice,) = cf.choices
    assert panel.categories == ("ministry (C2)", "rival (C3)")
    prior, posterior = panel.series
    assert isinstance(prior, Bars) and isinstance(posterior, Bars)
    assert list(posterior.values) == [o.posterior for o in choice.options]
    assert sum(posterior.values) == pytest.approx(1.0)


def test_the_page_has_the_observation_and_calibration_sections(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    for anchor in (
        "observations",
        "observation-front-in-march",
        "observation-killed-by-may",
        "calibration",
        "calibration-inputs",
        "calibration-choices",
    ):
        assert f'id="{anchor}"' in html, anchor
    assert "Calibration to the observations" in html and "Observations against the model" in html
