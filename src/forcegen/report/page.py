"""The report page: what a results folder says, in one self-contained HTML file.

The page is a Jinja2 template (``template.html`` beside this module) filled with plain
data. Every chart is embedded as interactive Plotly figures (:mod:`forcegen.report.interactive`)
with plotly.js itself, once, so the file can be mailed on its own and works offline; its PNG
is embedded too, shown where scripts do not run (or plotly is not installed), and written
beside the page in ``figures/``. Everything written from a scenario (names, paraphrases of
claims) is escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from forcegen import __version__
from forcegen.analysis.check import check
from forcegen.errors import UsageError
from forcegen.export import write_bytes, write_text
from forcegen.report import charts as described
from forcegen.report import formats as fmt
from forcegen.report import interactive
from forcegen.report.charts import Chart
from forcegen.report.observation_charts import observation_charts_of
from forcegen.results import QUANTILES
from forcegen.results_folder import (
    FIGURES_DIR,
    REPORT_NAME,
    SENSITIVITY_INDICES,
    Folder,
    check_out,
    named,
    read_folder,
    replacing,
)
from forcegen.scenario.model import Scenario
from forcegen.scenario.paths import readable
from forcegen.scenario.quantities import Choice, Quantity, Value, resolve
from forcegen.scenario.references import resolve_policies

__all__ = ["FIGURES_DIR", "REPORT_NAME", "charts_of", "render", "write_report"]


_number = fmt.number
_pct = fmt.percent


def _quantity(q: Quantity | None, choices: Mapping[str, str], unit: str = "") -> str:
    """A number as the scenario states it: its value, its spread or its choice."""
    if q is None:
        return "–"
    suffix = f" {unit}" if unit else ""
    if isinstance(q, Choice):
        taken = choices.get(q.choose, q.default)
        others = ", ".join(
            f"{name} {fmt.significant(v.value)}" for name, v in q.options.items() if name != taken
        )
        value = fmt.significant(resolve(q, choices).value)
        return f"{value}{suffix} (choice {q.choose} = {taken}; {others})"
    assert isinstance(q, Value)
    if q.dist is not None:
        return f"{fmt.significant(q.value)}{suffix} (mean of {q.dist.describe()})"
    return f"{fmt.significant(q.value)}{suffix}"


def _brief(scenario: Scenario, choices: Mapping[str, str]) -> dict[str, Any]:
    """The scenario in brief: forces, unit groups, rotation cycles, demands, manpower."""
    policies = resolve_policies(scenario)
    return {
        "forces": [
            {"id": f.id, "name": f.name or "", "limits": len(f.limits)} for f in scenario.forces
        ],
        "groups": [
            {
                "id": g.id,
                "force": g.force,
                "type": g.type,
                "count": _quantity(g.count, choices),
                "strength": _quantity(g.strength, choices, "people"),
                "policy": g.policy,
            }
            for g in scenario.units
        ],
        "policies": [
            {
                "id": pid,
                "cycle": " → ".join(
                    f"{p.name} at {p.location}"
                    + (f" {_quantity(p.duration, choices, 'days')}" if p.duration else "")
                    + (" (deployed)" if p.deployed else "")
                    + (" (ready)" if p.ready else "")
                    for p in positions
                ),
            }
            for pid, positions in policies.items()
        ],
        "demands": [
            {
                "id": d.id,
                "location": d.location,
                "required": _quantity(d.people, choices, "people")
                if d.people is not None
                else _quantity(d.units, choices, "units"),
                "priority": d.priority,
                "forces": ", ".join(d.fill.forces),
            }
            for d in scenario.demands
        ],
        "pipelines": [
            {
                "id": p.id,
                "force": p.force,
                "reservoir": p.reservoir or "unlimited",
                "into": p.into,
                "training": _quantity(p.training, choices, "days"),
            }
            for p in scenario.pipelines
        ],
    }


RELIABILITY_WORDS = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY_WORDS = {
    1: "confirmed",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "truth cannot be judged",
}
"""The Admiralty scale's words for each letter and digit, as the claims table shows them."""


def _grade_parts(grade: str) -> dict[str, Any]:
    letter, digit = (grade[:1], int(grade[1:2])) if len(grade) == 2 else ("", 0)
    return {
        "reliability": letter,
        "reliability_words": RELIABILITY_WORDS.get(letter, ""),
        "credibility": digit or "",
        "credibility_words": CREDIBILITY_WORDS.get(digit, ""),
    }


def _web_link(url: str | None) -> str:
    """A source's address as a link target: web addresses only (never ``javascript:``)."""
    return url if url and url.lower().startswith(("http://", "https://")) else ""


def _claims(folder: Folder, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every claim the scenario makes, with its grade (reliability and credibility), the way
    it reached the analyst, and the numbers that cite it."""
    used = {c["id"]: c["used_by"] for c in meta.get("claims", [])}
    if folder.scenario is None:
        return [
            {
                **c,
                **_grade_parts(c["grade"]),
                "used_by": c["used_by"],
                "source": c["source"] or "",
                "chain": c.get("chain") or c["source"] or "",
                "title": "",
                "url": "",
                "quote": "",
                "date": c["date"] or "",
            }
            for c in meta.get("claims", [])
        ]
    return [
        {
            "id": c.id,
            "grade": c.grade,
            **_grade_parts(c.grade),
            "source": c.source.publication,
            "chain": c.source.chain,
            "title": c.source.title or "",
            "url": _web_link(c.source.url),
            "quote": c.source.quote or "",
            "date": c.source.date.isoformat() if c.source.date else "",
            "attribution": c.attribution,
            "attributed_to": c.attributed_to or "",
            "paraphrase": c.paraphrase,
            "used_by": [readable(p, folder.scenario) for p in used.get(c.id, [])],
        }
        for c in folder.scenario.claims
    ]


def _headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    def band(q: Sequence[float | None] | None, show: Callable[[float | None], str]) -> str:
        if not q or len(q) < 2 or q[0] == q[-1]:
            return ""
        return fmt.band(show(q[0]), show(q[-1]))

    return {
        "mobilising": fmt.mobilising(summary.get("forces", [])),
        "demands": [
            {
                "id": d["id"],
                "location": d["location"],
                "required": f"{_number(d['required'])} {d['measure']}",
                "coverage": _pct(d["coverage_mean"]),
                "coverage_band": band(d.get("coverage_q"), _pct),
                "days": f"{_number(d['days_fully_covered_mean'])} of {d['days_active']}",
                "p_min": _pct(d.get("p_fully_covered_min")),
            }
            for d in summary.get("demands", [])
        ],
        "forces": [
            {
                "force": f["force"],
                "dd": fmt.dwell(f["deployed_to_dwell"]),
                "md": fmt.dwell(f.get("mobilised_to_dwell")),
                "start": _number(f["people_start"]),
                "end": _number(f["people_end_mean"]),
                "end_band": band(f.get("people_end_q"), _number),
                "killed": _number(f["losses_mean"].get("killed")),
                "wounded": _number(f["losses_mean"].get("wounded")),
                "other": _number(
                    (f["losses_mean"].get("missing") or 0) + (f["losses_mean"].get("deserted") or 0)
                ),
            }
            for f in summary.get("forces", [])
        ],
    }


def _bottom_line(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The answers of ``summary.json`` (added by ``forcegen run``), for the page's first
    section: each sentence with the claims it hangs on most, and for an answer that asks
    about an observation, the observation's verdict and the claims it cites."""
    rows = []
    for a in summary.get("answers") or []:
        hangs = [
            {
                "claims": [
                    {"id": c, "grade": g}
                    for c, g in zip(d.get("claims", []), d.get("grades", []), strict=False)
                ],
                "input": d.get("name") or d.get("input", ""),
                "rho": f"{d['rho']:+.2f}" if d.get("rho") is not None else "",
            }
            for d in a.get("hangs_on") or []
        ]
        rows.append(
            {
                "sentence": a.get("sentence", ""),
                "likelihood": a.get("likelihood") or "",
                "default": bool(a.get("default")),
                "hangs_on": hangs,
                "note": "" if a.get("deterministic") else a.get("hangs_on_note") or "",
                "verdict": a.get("verdict") or "",
                "observation": a.get("observation") or "",
                "cites": [
                    {"id": c, "grade": g}
                    for c, g in zip(a.get("cites", []), a.get("grades", []), strict=False)
                ],
            }
        )
    return rows


def _compare_rows(folder: Folder) -> list[dict[str, Any]]:
    cf = folder.compare
    if cf is None:
        return []
    low, high = min(cf.quantiles), max(cf.quantiles)
    rows = []
    for r in cf.rows:
        if not (r.baseline_mean or r.variant_mean):
            continue
        extra = r.model_extra or {}
        name = r.figure
        rows.append(
            {
                "variant": r.variant,
                "figure": name,
                "baseline": fmt.figure(name, r.baseline_mean),
                "value": fmt.figure(name, r.variant_mean),
                "difference": fmt.difference(name, r.difference_mean),
                "band": fmt.band(
                    fmt.difference(name, extra.get(f"difference_q{low * 100:g}")),
                    fmt.difference(name, extra.get(f"difference_q{high * 100:g}")),
                ),
                "higher": _pct(r.share_of_runs_higher, 0),
            }
        )
    return rows


def _compare_inputs(folder: Folder) -> list[dict[str, Any]]:
    """The input diff of each variant (``inputs`` of ``compare.json``), written as people
    write the numbers, with the claims each side cites."""
    from forcegen.report.terminal import input_value

    cf = folder.compare
    if cf is None:
        return []
    rows = []
    for c in (cf.model_extra or {}).get("inputs") or []:
        before, after = c.get("baseline_cites") or [], c.get("variant_cites") or []
        rows.append(
            {
                "variant": c.get("variant", ""),
                "path": c.get("path", ""),
                "baseline": input_value(
                    c.get("baseline_value"), c.get("unit", ""), c.get("baseline_range")
                ),
                "value": input_value(
                    c.get("variant_value"), c.get("unit", ""), c.get("variant_range")
                ),
                "claims": ", ".join(before)
                if before == after
                else f"{', '.join(before) or 'none'} → {', '.join(after) or 'none'}",
            }
        )
    return rows


def _sensitivity_rows(folder: Folder) -> tuple[list[str], list[dict[str, Any]]]:
    sf = folder.sensitivity
    if sf is None:
        return [], []
    columns = list(SENSITIVITY_INDICES[sf.method])
    rows = [
        {
            "input": r.input,
            "values": [_number((r.model_extra or {}).get(c), 3) for c in columns],
            "claims": r.claims,
            "grades": r.grades,
        }
        for r in sf.inputs
    ]
    return columns, rows


def _requirement(folder: Folder) -> dict[str, Any] | None:
    """The answer of ``require.json`` in words, for its section of the page."""
    rf = folder.require
    if rf is None:
        return None
    data = rf.plain()
    word = "largest" if rf.direction == "most" else "smallest"
    return {
        "field": rf.field,
        "demand": rf.demand,
        "target": fmt.requirement_target(data),
        "answer": f"{word} value: {fmt.requirement_answer(data)}"
        if rf.value is not None
        else "none",
        "bracket": fmt.requirement_bracket(data),
        "met": rf.met,
        "evaluations": [
            {
                "value": fmt.quantity(e.value, rf.measure),
                "share": _pct(e.share_of_runs_meeting_target, 0),
            }
            for e in rf.evaluations
        ],
    }


def _breaches(folder: Folder) -> list[dict[str, str]]:
    """The rows of ``rules.json``'s breaches, formatted for the page."""
    if folder.rules is None:
        return []
    return [
        {
            "unit": b.unit,
            "rule": b.rule,
            "limit": fmt.rule_value(b.rule, b.limit, b.measure),
            "worst": fmt.rule_value(b.rule, b.worst, b.measure),
            "share": _pct(b.share_of_runs, 0),
        }
        for b in folder.rules.breaches
    ]


def _discover(folder: Folder) -> dict[str, Any] | None:
    """The finding of ``discover.json`` and its factors, for its section of the page."""
    if folder.discover is None:
        return None
    from forcegen.report import discovery

    return discovery.page(folder.discover)


def _levels(folder: Folder) -> list[float]:
    """The quantiles the run asked for (its bands), or the default ones."""
    return (folder.summary or {}).get("run", {}).get("quantiles") or list(QUANTILES)


def _capacity(folder: Folder) -> dict[str, Any] | None:
    """The rows of ``capacity.json``, formatted for the page's table."""
    cf = folder.capacity
    if cf is None:
        return None
    return {
        "period": cf.period,
        "rows": [
            {
                "unit_type": "every type" if r.unit_type == "*" else r.unit_type,
                "period": r.period,
                "units": fmt.number(r.units),
                "capacity": fmt.number(r.capacity, 2),
                "whole": fmt.number(r.capacity_units),
                "peak": "-" if r.peak_demand is None else fmt.number(r.peak_demand, 2),
                "fill": "-" if r.fill is None else fmt.percent(r.fill, 0),
            }
            for r in cf.rows
        ],
        "unattributed": cf.unattributed,
    }


def charts_of(folder: Folder) -> tuple[list[Chart], list[str]]:
    """Every chart the folder supports, and a note for each one it cannot draw."""
    charts: list[Chart] = []
    notes: list[str] = []
    ds = folder.results
    if ds is not None:
        levels = _levels(folder)
        charts += described.coverage_fans(ds, levels)
        charts += described.strength_fans(ds, levels)
        charts += described.rotation_positions(ds)
        units = described.rotation_units(ds)
        if not units:
            notes.append(
                "The chart of each unit's rotation needs unit-level traces: run with --keep units."
            )
        charts += units
        charts += described.losses(ds, levels)
        charts += described.recruitment(ds, levels)
        charts += described.reservoirs(ds, levels)
        charts += observation_charts_of(folder, levels)
    if folder.compare is not None:
        charts += described.compare_charts(folder.compare)
    if folder.sensitivity is not None:
        charts += described.tornado(folder.sensitivity, folder.scenario)
    if folder.calibration is not None:
        from forcegen.report.calibration_charts import prior_posterior

        charts += prior_posterior(folder.calibration, folder.scenario)
    if folder.capacity is not None:
        charts += described.capacity_chart(folder.capacity)
    if folder.discover is not None:
        from forcegen.report import discovery

        charts += discovery.charts(folder.discover)
    return charts, notes


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(
        files("forcegen.report").joinpath("template.html").read_text(encoding="utf-8")
    )


def _plotly_js() -> str:
    """plotly.js for the page, or "" where plotly is not installed (the page then shows the
    PNGs, and says how to get interactive charts)."""
    try:
        return interactive.plotly_js()
    except ModuleNotFoundError:
        return ""


def render(folder: Folder, charts: Sequence[tuple[Chart, bytes]], notes: Sequence[str]) -> str:
    """The report as HTML text, charts embedded."""
    ds = folder.results
    meta = folder.meta.plain() if folder.meta is not None else {}
    scenario = meta.get("scenario", {})
    run = meta.get("run", {})
    choices = run.get("choices", {})
    name = scenario.get("name") or (
        folder.scenario.name
        if folder.scenario
        else folder.compare.baseline
        if folder.compare
        else folder.sensitivity.scenario
        if folder.sensitivity
        else folder.require.scenario
        if folder.require and folder.require.scenario
        else folder.rules.scenario
        if folder.rules and folder.rules.scenario
        else str(folder.path)
    )
    if name == str(folder.path) and folder.calibration is not None:
        name = folder.calibration.scenario
    if name == str(folder.path) and folder.discover is not None and folder.discover.scenario:
        name = folder.discover.scenario
    if name == str(folder.path) and folder.capacity is not None and folder.capacity.scenario:
        name = folder.capacity.scenario
    findings = []
    if folder.scenario is not None:
        findings = [
            {
                "kind": f.kind,
                "message": f.message,
                "fields": [readable(p, folder.scenario) for p in f.fields],
                "claims": f.claims,
            }
            for f in check(folder.scenario, choices)
        ]
    columns, sens_rows = _sensitivity_rows(folder)
    plotly_js = _plotly_js() if charts else ""
    context = {
        "name": name,
        "question": scenario.get("question")
        or (folder.scenario.question if folder.scenario else None),
        "description": folder.scenario.description if folder.scenario else None,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "run": run,
        "start": scenario.get("start"),
        "horizon": scenario.get("horizon_days"),
        "bottom_line": _bottom_line(folder.summary or {}),
        "headline": _headline(folder.summary or {}),
        "band": described.band_label(_levels(folder)),
        "brief": _brief(folder.scenario, choices) if folder.scenario else None,
        "claims": _claims(folder, meta),
        "assumptions": [readable(p, folder.scenario) for p in meta.get("assumptions", [])],
        "has_results": ds is not None,
        "has_scenario": folder.scenario is not None,
        "findings": findings,
        "compare": folder.compare,
        "compare_rows": _compare_rows(folder),
        "compare_inputs": _compare_inputs(folder),
        "sensitivity": folder.sensitivity,
        "sensitivity_columns": columns,
        "sensitivity_rows": sens_rows,
        "requirement": _requirement(folder),
        "rules": folder.rules,
        "breaches": _breaches(folder),
        "calibration": folder.calibration,
        "discover": _discover(folder),
        "capacity": _capacity(folder),
        "charts": [
            {
                "name": chart.name,
                "title": chart.title,
                "caption": chart.caption,
                "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                "file": f"{FIGURES_DIR}/{chart.name}.png",
                "plots": [interactive.to_json(f) for f in chart.plotly()] if plotly_js else [],
                "warnings": list(chart.warnings),
            }
            for chart, png in charts
        ],
        "notes": notes,
        "plotly_js": plotly_js,
        "observations": _observation_rows(folder.summary or {}),
    }
    return _template().render(**context)


def _observation_rows(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    """The observations of ``summary.json`` as the page's table shows them."""

    def fig(x: float | None, share: bool) -> str:
        return _pct(x) if share else _number(x)

    rows = []
    for o in summary.get("observations") or []:
        share = bool(o.get("share"))
        rows.append(
            {
                "id": o["id"],
                "measure": o["measure"],
                "claimed": o["claimed"],
                "median": fig(o.get("median"), share),
                "band": f"{fig(o.get('q5'), share)}–{fig(o.get('q95'), share)}",
                "p_holds": _pct(o.get("p_holds"), 0),
                "verdict": o["verdict"],
                "claims": ", ".join(
                    f"{c} ({g})" for c, g in zip(o["claims"], o.get("grades") or [], strict=False)
                )
                or "uncited",
            }
        )
    return rows


def write_report(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the report of a results folder: ``report.html`` (self-contained) and its
    figures as PNG files in ``figures/`` beside it. Returns the path of the HTML file.

    The page and its figures replace the previous ones as a whole (see
    :func:`forcegen.results_folder.replacing`): a failed or killed report leaves the old
    page and figures, never a mix.

    Parameters
    ----------
    folder
        A folder written by ``forcegen run --out`` (and/or ``compare --out``,
        ``sensitivity --out``).
    out
        Where to write the HTML file (default: ``report.html`` in ``folder``).
    progress
        Called with the title of each chart as it is drawn.
    """
    # The PNG backend first (matplotlib): a missing 'report' extra is named before any work.
    importlib.import_module("forcegen.report.png")
    target = Path(out) if out is not None else Path(folder) / REPORT_NAME
    if target.is_dir():
        raise UsageError(f"--out {target}: expected an HTML file name, found a folder")
    if target.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--out {target}: expected a file name ending in .html")
    if not Path(folder).is_dir():
        read_folder(folder)  # refuses it, saying why
    check_out(target.parent)
    # The page and its figures replace the old ones together; the folder is locked while it
    # is read, so no analysis is written into it meanwhile.
    with replacing(target.parent, (target.name, FIGURES_DIR)) as new:
        read = read_folder(folder)
        charts, notes = charts_of(read)
        drawn = []
        for chart in charts:
            if progress is not None:
                progress(chart.title)
            drawn.append((chart, chart.png()))
        html = render(read, drawn, notes)
        (new / FIGURES_DIR).mkdir()
        for chart, png in drawn:
            with named(target.parent, f"{FIGURES_DIR}/{chart.name}.png"):
                write_bytes(png, new / FIGURES_DIR / f"{chart.name}.png")
        with named(target.parent, target.name):
            write_text(html, new / target.name)
    return target
