"""What a user can do in the workbench, as plain Python: no web framework, no browser.

A :class:`Session` is one browser tab's state over one :class:`~forcegen.web.files.Folder`:
the scenario open, the last outcome, the pinned baseline. It calls the API as every other
face does (:func:`forcegen.load` with overrides, :func:`forcegen.simulate`, the analyses
and the report's chart descriptions) and never reaches into the engine.

The flow of a page::

    folder = Folder("scenarios")
    session = Session(folder)
    problems = session.open("belarus-2023.yaml")      # [] when it loads
    session.brief()                                   # question, claims, assumptions
    inputs = session.inputs()                         # choices and numbers to set
    outcome = session.run(Settings(choices={"ru-in-belarus": "hur"},
                                   values={"locations[front].attrition.killed": "3%/mo"}))
    session.pin()                                     # this configuration is the baseline
    session.run(Settings(values={"units[ru-bn].count": "200"}))
    session.difference()                              # paired, common random numbers

Values are written as people write them (``3%/mo``, ``30d``, ``4,500``) and applied as
``--set`` overrides are, with the same validation: a bad value raises
:class:`~forcegen.errors.ScenarioError` (located at the override) or
:class:`~forcegen.errors.UsageError`, whose messages the page shows. A value sent back as
:attr:`Input.current` says (unchanged) is not applied, so an uncertain value keeps its
distribution until the user moves it; a value set replaces the whole distribution with that
number.

Sessions share no mutable state: two tabs (two sessions, in two threads) run at once
without disturbing each other. One session's methods take its lock, so a page that calls
them from several threads gets them one at a time.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from forcegen.errors import Problem, ScenarioError, UsageError
from forcegen.web.files import DUCKDB, HTML, SCENARIOS, Folder

if TYPE_CHECKING:
    from forcegen.report.charts import Chart
    from forcegen.results import Results
    from forcegen.scenario.model import Scenario
    from forcegen.scenario.quantities import Kind, Value

__all__ = ["Input", "Outcome", "Session", "Settings"]

QUANTILES = (0.05, 0.5, 0.95)
"""The bands the page shows: 5th to 95th percentile across runs, and the median."""

DIFFERENCE_QUANTILES = (0.05, 0.95)
"""The band of each paired difference."""

SKIPPED: tuple[tuple[str, ...], ...] = (("horizon",), ("uncertainty",), ("rules",))
"""Numbers not offered as inputs: settings of the analysis, not of the world."""

MONTH = 30
"""Days of the month hazards and rates are written per (as scenario files write them)."""


# --- what the page shows and sends ------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One thing a user can set in the page: a choice, or a number.

    ``path`` is ``"choice:NAME"`` for a choice, else the number's path by id
    (``locations[front].attrition.killed``), the path a value is set by. ``current`` is the
    option taken (a choice) or the value as people write it (``2.2%/mo``, ``30d``,
    ``4,500``): :func:`forcegen.scenario.quantities.read_value` reads it back to the number
    the scenario states (the mean, for an uncertain value). ``low``, ``high`` and ``step``
    are a slider's range in display units (``unit``): the distribution's support for an
    uncertain value, else 0 to three times the value. ``cites`` and ``grades`` are the
    claims the number rests on (empty: an uncited assumption).
    """

    path: str
    kind: Literal["choice", "value"]
    label: str
    options: tuple[str, ...] = ()
    current: str = ""
    low: float | None = None
    high: float | None = None
    step: float | None = None
    unit: str = ""
    distribution: str = ""
    cites: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """What the page asks to run: choices, values (by path, as people write them), runs,
    seed and whether to run deterministically (every uncertain value at its mean)."""

    choices: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    runs: int = 200
    seed: int = 0
    deterministic: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one run of the page shows: the results of :func:`forcegen.simulate` with the
    page's settings, and what the page draws of them, each part computed when first asked
    for (so that the page can send one part to the browser while it computes the next,
    and never waits for what it does not show).

    ``answering`` are the report's chart descriptions of coverage and strength (the
    charts that answer the question), ``charts`` every fan chart (those, then losses,
    recruitment and reservoirs where the run has them); ``answers`` the answers of the run
    as the summary lists them; ``headline`` the rows of the headline table, display text,
    with bands; ``observations`` each observation against the runs; ``summary``
    :meth:`forcegen.Results.summary` with the answers (and observations) as
    ``forcegen run`` prints it, of which the page shows only the headline's part
    (:meth:`forcegen.Results.headline`).
    """

    settings: Settings
    results: Results
    scenario: Scenario = field(repr=False, compare=False)

    @cached_property
    def answering(self) -> list[Chart]:
        """The coverage and strength fan charts."""
        return _answering_charts(self.results)

    @cached_property
    def charts(self) -> list[Chart]:
        """Every fan chart of the run: :attr:`answering`, then losses, recruitment and
        reservoirs (where the run has them)."""
        return [*self.answering, *_other_charts(self.results)]

    @cached_property
    def answers(self) -> list[dict[str, Any]]:
        """The answers of the run (the summary's ``answers``)."""
        from forcegen.analysis.answers import evaluate, summaries

        return summaries(evaluate(self.results, self.scenario, quantiles=QUANTILES))

    @cached_property
    def observations(self) -> list[dict[str, Any]]:
        """Each observation of the scenario against the runs."""
        from forcegen.analysis.observations import assess

        return [a.summary() for a in assess(self.results, self.scenario)]

    @cached_property
    def headline(self) -> list[dict[str, Any]]:
        """The rows of the headline table (:func:`headline`)."""
        return headline(self.results.headline(QUANTILES))

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The run's whole summary, with its answers (and observations)."""
        summary = {**self.results.summary(QUANTILES), "answers": self.answers}
        if self.scenario.observations:
            summary["observations"] = self.observations
        return summary


@dataclass(frozen=True)
class _Configured:
    """A configuration as run: the scenario with its overrides, and the choices taken."""

    scenario: Scenario
    overrides: tuple[str, ...]
    choices: dict[str, str]
    outcome: Outcome


# --- numbers as people write them ----------------------------------------------------------


def _display_unit(kind: Kind | None) -> str:
    measure = getattr(kind, "measure", "")
    return {
        "people": "people",
        "units": "units",
        "days": "days",
        "share": "%",
        "probability per day": "%/mo",
        "people per day": "people/mo",
        "per 100,000 people": "per 100,000 people",
    }.get(measure, "")


def to_display(kind: Kind | None, x: float) -> float:
    """A canonical value (share, probability per day, people per day) in display units
    (percent, percent per month, people per month)."""
    measure = getattr(kind, "measure", "")
    if measure == "share":
        return 100 * x
    if measure == "probability per day":
        return 100 * (1.0 - (1.0 - min(max(x, 0.0), 1.0)) ** MONTH)
    if measure == "people per day":
        return x * MONTH
    return x


def _number_text(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, with thousands separators, never in
    exponent form: ``8,000``, ``2.05``, ``0.025``."""
    value = float(f"{x:.{digits}g}")
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".")


def _text(kind: Kind | None, shown: float, digits: int) -> str:
    measure = getattr(kind, "measure", "")
    number = _number_text(shown, digits)
    if measure == "share":
        return f"{number}%"
    if measure == "probability per day":
        return f"{number}%/mo"
    if measure == "people per day":
        return f"{number}/mo"
    if measure == "days":
        return f"{number}d"
    return number


ROUND_TRIP = 1e-9
"""How closely :attr:`Input.current` reads back to the scenario's number (relative): a
hazard's mean in percent per month, say, has no short text that is exactly it."""


def written(kind: Kind | None, x: float) -> str:
    """A canonical value as people write it for its kind: ``2.2%/mo``, ``30d``, ``40%``,
    ``6,000/mo``, ``4,500``: the shortest such text (three to seventeen significant
    digits) that :func:`~forcegen.scenario.quantities.read_value` reads back to ``x``,
    exactly where one does, else to within :data:`ROUND_TRIP` of it. Where none does, the
    plain number in canonical units, which always reads back exactly."""
    from forcegen.scenario.quantities import read_value

    shown = to_display(kind, x)
    texts = [_text(kind, shown, digits) for digits in range(3, 18)] if shown else []
    texts = texts or [_text(kind, 0.0, 3)]
    near = None
    for text in texts:
        try:
            back = read_value(kind, text)
        except UsageError:
            break
        if back == x:
            return text
        if near is None and math.isclose(back, x, rel_tol=ROUND_TRIP):
            near = text
    if near is not None:
        return near
    return f"{int(x)}" if float(x).is_integer() else repr(float(x))


def _nice_step(span: float, whole: bool) -> float:
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / 100
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if step * factor >= raw:
            step *= factor
            break
    return max(1.0, round(step)) if whole else step


def _slider(kind: Kind | None, q: Value) -> tuple[float, float, float]:
    """A slider's low, high and step in display units."""
    import numpy as np

    measure = getattr(kind, "measure", "")
    whole = measure in ("people", "units", "days")
    if q.dist is not None:
        low, high = (float(v) for v in q.dist.quantiles(np.array([0.0, 1.0])))
        if not math.isfinite(high):
            high = float(q.dist.quantiles(np.array([0.995]))[0]) * 1.5
    else:
        low, high = 0.0, 3 * q.value
        if high <= 0:
            high = {"share": 1.0, "probability per day": 0.01, "days": 365.0}.get(measure, 100.0)
    limit = getattr(kind, "limit", None)
    if limit is not None:
        high = min(high, limit)
    shown_low, shown_high = to_display(kind, low), to_display(kind, high)
    return shown_low, shown_high, _nice_step(shown_high - shown_low, whole)


def _distribution(kind: Kind | None, q: Value) -> str:
    """An uncertain value's distribution as people write it: ``PERT 1%/mo, 2%/mo, 4%/mo``."""
    d = q.dist
    if d is None:
        return ""
    w = lambda x: written(kind, x)  # noqa: E731
    shape = d.shape
    if shape in ("pert", "triangular"):
        name = "PERT" if shape == "pert" else "triangular"
        return f"{name} {w(d.low)}, {w(d.mode)}, {w(d.high)}"  # type: ignore[attr-defined]
    if shape == "uniform":
        return f"uniform {w(d.low)} to {w(d.high)}"  # type: ignore[attr-defined]
    if shape == "lognormal":
        return f"lognormal, median {w(d.median)}, p90 {w(d.p90)}"  # type: ignore[attr-defined]
    return d.describe()


# --- the session ---------------------------------------------------------------------------


class Session:
    """One browser tab's work over a folder of scenarios.

    Parameters
    ----------
    folder
        The folder whose files the session may read and write.
    n_jobs
        Threads each simulation shares its runs among (results do not depend on it).

    Attributes
    ----------
    scenario
        The scenario open, as its file states it (``None`` before :meth:`open`, or when it
        has problems).
    name
        Its name in the folder.
    """

    def __init__(self, folder: Folder, *, n_jobs: int = 2) -> None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise UsageError(f"n_jobs must be a whole number >= 1; got {n_jobs!r}")
        self.folder = folder
        self.n_jobs = n_jobs
        self.scenario: Scenario | None = None
        self.name: str | None = None
        self._lock = threading.RLock()
        self._inputs: dict[str, Input] = {}
        self._loaded: dict[tuple[str, ...], Scenario] = {}
        self._source: tuple[Any, Any, str] | None = None
        self._last: _Configured | None = None
        self._baseline: _Configured | None = None

    # --- opening and reading ---------------------------------------------------------------

    def _relative(self, problem: Problem) -> Problem:
        name = self.folder.name_of(problem.file) if os.path.isabs(problem.file) else None
        return problem if name is None else dataclasses.replace(problem, file=name)

    def open(self, name: str) -> list[Problem]:
        """Open the scenario file ``name`` (relative to the folder).

        Returns
        -------
        list of Problem
            ``[]`` when it loads; else every problem found, each located in its file (named
            relative to the folder). The session then has no scenario open.

        Raises
        ------
        UsageError
            If the name is refused (outside the folder, not ``.yaml``/``.yml``) or names no
            file.
        """
        from forcegen.scenario.loader import load
        from forcegen.scenario.yamlio import read_yaml

        path = self.folder.path(name, SCENARIOS)
        if not path.is_file():
            raise UsageError(f"{name!r}: no such scenario file in the folder")
        with self._lock:
            self.scenario, self.name = None, name
            self._inputs, self._loaded, self._source = {}, {}, None
            self._last = self._baseline = None
            try:
                self._check_bases(path)
                scenario = load(path)
                self._source = (*read_yaml(path), os.fspath(path))
            except ScenarioError as exc:
                return [self._relative(p) for p in exc.problems]
            self.scenario = scenario
            self._loaded[()] = scenario
            self._inputs = {i.path: i for i in self._list_inputs(scenario)}
            return []

    def _check_bases(self, path: Path) -> None:
        """Refuse a scenario whose chain of ``extends`` reaches a file outside the folder:
        the workbench reads only files under it."""
        from forcegen.scenario.overrides import EXTENDS, MAX_CHAIN
        from forcegen.scenario.yamlio import read_yaml

        here = path
        for _ in range(MAX_CHAIN):
            data, positions = read_yaml(here)
            base = data.get(EXTENDS) if isinstance(data, dict) else None
            if not isinstance(base, str) or not base.strip():
                return  # no base, or one that loading reports as wrong
            nxt = Path(os.path.realpath(os.path.join(here.parent, base)))
            if self.folder.name_of(nxt) is None:
                line, column = positions.get((EXTENDS,), (None, None))
                raise ScenarioError(
                    [
                        Problem(
                            str(here),
                            line,
                            column,
                            EXTENDS,
                            f"the base {base!r} is outside the folder {self.folder.root}; "
                            "the workbench reads only files under it",
                        )
                    ]
                )
            if not nxt.is_file():
                return
            here = nxt

    def _open(self) -> Scenario:
        if self.scenario is None:
            raise UsageError("open a scenario that loads first")
        return self.scenario

    def brief(self) -> dict[str, Any]:
        """The scenario in brief: its name, question and description; each claim with its
        grade (reliability and credibility), the chain by which it reached the analyst, its
        paraphrase and the numbers that cite it (paths by id, under the default choices);
        the numbers that cite nothing (the assumptions); and the choices offered."""
        from forcegen.scenario.claims import choices_of, sourcing
        from forcegen.scenario.paths import readable

        scenario = self._open()
        found = sourcing(scenario)
        return {
            "name": scenario.name,
            "question": scenario.question or "",
            "description": scenario.description or "",
            "claims": [
                {
                    "id": c.id,
                    "grade": c.grade,
                    "reliability": c.reliability,
                    "credibility": c.credibility,
                    "source": c.source.publication,
                    "chain": c.source.chain,
                    "attribution": c.attribution,
                    "paraphrase": c.paraphrase,
                    "url": c.source.url or "",
                    "used_by": [readable(p, scenario) for p in found.used.get(c.id, [])],
                }
                for c in scenario.claims
            ],
            "assumptions": [readable(p, scenario) for p in found.assumptions],
            "choices": {
                name: {"default": default, "options": list(options)}
                for name, (default, options) in choices_of(scenario).items()
            },
        }

    def _list_inputs(self, scenario: Scenario) -> list[Input]:
        from forcegen.scenario.claims import quantities
        from forcegen.scenario.paths import by_id
        from forcegen.scenario.quantities import Choice, Value, kind_of

        grades = {c.id: c.grade for c in scenario.claims}
        out: list[Input] = []
        seen: set[str] = set()
        for loc, q in quantities(scenario):
            if any(loc[: len(s)] == s for s in SKIPPED):
                continue
            if isinstance(q, Choice):
                if q.choose in seen:
                    continue
                seen.add(q.choose)
                cites = tuple(dict.fromkeys(c for v in q.options.values() for c in v.cites))
                out.append(
                    Input(
                        path=f"choice:{q.choose}",
                        kind="choice",
                        label=q.choose,
                        options=tuple(q.options),
                        current=q.default,
                        cites=cites,
                        grades=tuple(grades.get(c, "?") for c in cites),
                    )
                )
                continue
            assert isinstance(q, Value)
            kind = kind_of(scenario, loc)
            path = by_id(scenario, loc)
            low, high, step = _slider(kind, q)
            out.append(
                Input(
                    path=path,
                    kind="value",
                    label=path,
                    current=written(kind, q.value),
                    low=low,
                    high=high,
                    step=step,
                    unit=_display_unit(kind),
                    distribution=_distribution(kind, q),
                    cites=q.cites,
                    grades=tuple(grades.get(c, "?") for c in q.cites),
                )
            )
        return out

    def inputs(self) -> list[Input]:
        """Everything the page lets a user set: each choice (its options in declared order,
        the default taken) and each number the file states, other than the horizon and the
        settings of uncertainty and rotation rules: every uncertain value, every count and
        strength of units, locations' attrition, policies' durations, pipelines' rates and
        waves, reservoirs, demands. Choices come first where the file first uses them, then
        numbers, in the order written."""
        self._open()
        return list(self._inputs.values())

    # --- running ---------------------------------------------------------------------------

    def _overrides(self, scenario: Scenario, values: Mapping[str, str]) -> tuple[str, ...]:
        """The ``PATH=VALUE`` overrides of the values that differ from the scenario's."""
        from forcegen.scenario.claims import quantities
        from forcegen.scenario.paths import locate
        from forcegen.scenario.quantities import Value, kind_of, read_value

        stated = dict(quantities(scenario))
        out = []
        for path, text in values.items():
            if not isinstance(path, str) or not isinstance(text, str):
                raise UsageError(f"expected a path and a value as text; found {path!r}: {text!r}")
            text = text.strip()
            shown = self._inputs.get(path)
            if shown is not None and shown.kind == "value" and text == shown.current:
                continue  # sent back unchanged: the scenario's own value (and distribution)
            try:
                loc = locate(scenario, path)
                node = stated.get(loc)
                if (
                    isinstance(node, Value)
                    and node.dist is None
                    and read_value(kind_of(scenario, loc), text) == node.value
                ):
                    continue
            except UsageError:
                pass  # load() reports what is wrong with it
            if not text:
                raise UsageError(f"{path}: expected a value; found none")
            out.append(f"{path}={text}")
        return tuple(out)

    def _scenario_with(self, overrides: tuple[str, ...]) -> Scenario:
        """The open scenario with ``overrides`` applied, as :func:`forcegen.load` gives it
        (the same merge and validation), from the file's text as read when it was opened:
        reading the YAML is most of the time a load takes."""
        from forcegen.scenario.loader import validate
        from forcegen.scenario.overrides import merge

        hit = self._loaded.get(overrides)
        if hit is None:
            assert self._source is not None
            data, positions, filename = self._source
            try:
                source = merge(copy.deepcopy(data), positions, filename, list(overrides))
                hit = validate(source.data, positions, filename, where=source.locate)
            except ScenarioError as exc:
                raise ScenarioError([self._relative(p) for p in exc.problems]) from None
            if len(self._loaded) > 16:  # keep the scenario as opened, and a few edits
                self._loaded = {(): self._loaded[()]}
            self._loaded[overrides] = hit
        return hit

    def _simulate(
        self,
        scenario: Scenario,
        settings: Settings,
        choices: Mapping[str, str],
        progress: Callable[[int, int], None] | None,
    ) -> Results:
        from forcegen.analysis.observations import needs_unit_traces
        from forcegen.api import simulate

        return simulate(
            scenario,
            runs=1 if settings.deterministic else settings.runs,
            seed=settings.seed,
            deterministic=settings.deterministic,
            choices=choices,
            keep_units=needs_unit_traces(scenario),
            n_jobs=self.n_jobs,
            progress=progress,
        )

    def run(
        self, settings: Settings, progress: Callable[[int, int], None] | None = None
    ) -> Outcome:
        """Run the open scenario with the page's settings.

        Values are applied as ``--set`` overrides (:func:`forcegen.load` with
        ``overrides``), choices as ``--choose``; then :func:`forcegen.simulate` with the
        runs and seed. ``progress`` is called with the run-days done and in all.

        Raises
        ------
        ScenarioError
            For a value the scenario format refuses, located at its override.
        UsageError
            For an unknown choice or option, bad runs or seed, or no scenario open.
        """
        from forcegen.api import check_choices

        with self._lock:
            base = self._open()
            if not isinstance(settings, Settings):
                raise UsageError("expected the settings of a run")
            overrides = self._overrides(base, settings.values)
            scenario = self._scenario_with(overrides)
            choices = check_choices(scenario, settings.choices)
            results = self._simulate(scenario, settings, choices, progress)
            outcome = Outcome(settings=settings, results=results, scenario=scenario)
            self._last = _Configured(scenario, overrides, choices, outcome)
            return outcome

    @property
    def outcome(self) -> Outcome | None:
        """The last outcome run (``None`` before the first run)."""
        return None if self._last is None else self._last.outcome

    # --- baseline and difference -----------------------------------------------------------

    def pin(self) -> None:
        """Make the last outcome's configuration the baseline that :meth:`difference`
        compares with."""
        with self._lock:
            if self._last is None:
                raise UsageError("run a configuration before pinning it as the baseline")
            self._baseline = self._last

    @property
    def baseline(self) -> Outcome | None:
        """The pinned baseline's outcome (``None`` if nothing is pinned)."""
        return None if self._baseline is None else self._baseline.outcome

    def difference(self) -> dict[str, Any] | None:
        """The paired difference of the current outcome from the pinned baseline.

        Both are run with the same seed and runs, so run *i* of each draws the same random
        numbers (common random numbers) and each difference is taken run by run. If the
        baseline was run with other runs, seed or mode, it is run again with the current
        ones first. ``None`` if nothing is pinned or nothing run.

        Returns
        -------
        dict
            ``summary`` (as ``compare.json``: baseline ``"baseline"``, variant
            ``"current"``, a row per figure with its means, mean difference, band and share
            of runs higher), ``rows`` (the same as display text), ``inputs`` (what the
            current configuration states differently) and ``charts``
            (:func:`forcegen.report.charts.compare_charts`).
        """
        from forcegen.report import charts as described
        from forcegen.report import formats as fmt
        from forcegen.results_folder import CompareFile
        from forcegen.scenario.diff import input_diff

        with self._lock:
            if self._baseline is None or self._last is None:
                return None
            base, now = self._baseline, self._last
            s, t = base.outcome.settings, now.outcome.settings
            results = base.outcome.results
            if (s.runs, s.seed, s.deterministic) != (t.runs, t.seed, t.deterministic):
                results = self._simulate(base.scenario, t, base.choices, None)
            summary = _paired(results, now.outcome.results, DIFFERENCE_QUANTILES)
            summary["inputs"] = [
                {"variant": "current", **c}
                for c in input_diff(base.scenario, now.scenario, base.choices, now.choices)
            ]
            cf = CompareFile.model_validate(summary)
            low, high = (f"difference_q{q * 100:g}" for q in DIFFERENCE_QUANTILES)
            rows = []
            for r in summary["rows"]:
                if not (r["baseline_mean"] or r["variant_mean"]):
                    continue
                name = r["figure"]
                rows.append(
                    {
                        "figure": name,
                        "baseline": fmt.figure(name, r["baseline_mean"]),
                        "current": fmt.figure(name, r["variant_mean"]),
                        "difference": fmt.difference(name, r["difference_mean"]),
                        "band": fmt.band(
                            fmt.difference(name, r.get(low)), fmt.difference(name, r.get(high))
                        ),
                        "higher": fmt.percent(r["share_of_runs_higher"], 0),
                    }
                )
            return {
                "summary": cf.plain(),
                "rows": rows,
                "inputs": summary["inputs"],
                "charts": described.compare_charts(cf),
            }

    # --- sensitivity -----------------------------------------------------------------------

    def outputs(self) -> dict[str, str]:
        """The per-run figures :meth:`sensitivity` takes, with a short description."""
        from forcegen.analysis.sensitivity import outputs

        return outputs(self._open())

    def sensitivity(
        self,
        output: str,
        *,
        method: str = "morris",
        n: int = 16,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[dict[str, Any], list[Chart]]:
        """Which uncertain values, and so which claims, ``output`` depends on, in the
        configuration last run (its values, choices and seed): the summary as
        ``sensitivity.json`` and the tornado chart."""
        from forcegen.analysis.sensitivity import sensitivity
        from forcegen.report.charts import tornado
        from forcegen.results_folder import SensitivityFile

        with self._lock:
            base = self._open()
            if self._last is None:
                overrides: tuple[str, ...] = ()
                choices: dict[str, str] = {}
                seed = 0
            else:
                overrides = self._last.overrides
                choices = self._last.choices
                seed = self._last.outcome.settings.seed
            scenario = self._scenario_with(
                overrides + tuple(_choice_defaults(base, choices).items_text())
            )
            found = sensitivity(
                scenario, output=output, method=method, n=n, seed=seed, progress=progress
            )
            summary = found.summary()
            return summary, tornado(SensitivityFile.model_validate(summary), scenario)

    # --- exports ---------------------------------------------------------------------------

    def _current(self) -> _Configured:
        self._open()
        if self._last is None:
            raise UsageError("run a configuration before exporting it")
        return self._last

    def _results_files(self, where: Path) -> Path:
        """Write the current outcome's results folder into ``where`` (a scratch folder)."""
        from forcegen.results_folder import write_results
        from forcegen.scenario.overrides import flattened_text

        last = self._current()
        assert self.name is not None
        out = where / "results"
        results = last.outcome.results
        write_results(
            results.to_xarray(),
            last.outcome.summary,
            out,
            results.per_run(),
            scenario_text=flattened_text(
                self.folder.path(self.name, SCENARIOS), list(last.overrides)
            ),
        )
        return out

    def export_report(self, name: str) -> Path:
        """Write the HTML report of the current outcome as ``name`` (``.html``) under the
        folder; never over an existing file. Returns its path."""
        from forcegen.report import write_report

        with self._lock:
            self._current()
            self.folder.path(name, HTML)
            if self.folder.exists(name):
                raise self.folder.taken(name)
            with tempfile.TemporaryDirectory(prefix="forcegen-web-") as scratch:
                out = self._results_files(Path(scratch))
                page = write_report(out, Path(scratch) / "report.html")
                return self.folder.write_new(name, page.read_bytes(), HTML)

    def export_results(self, name: str) -> Path:
        """Write the current outcome's results folder (``results.nc``, ``summary.json``,
        the per-run table, the scenario as run) as the new folder ``name`` under the
        folder; never into an existing one. Returns its path."""
        with self._lock:
            self._current()
            target = self.folder.path(name)
            if self.folder.exists(name):
                raise self.folder.taken(name)
            with tempfile.TemporaryDirectory(prefix="forcegen-web-") as scratch:
                out = self._results_files(Path(scratch))
                for file in sorted(out.rglob("*")):
                    if file.is_file():
                        rel = file.relative_to(out).as_posix()
                        self.folder.write_new(f"{name}/{rel}", file.read_bytes())
            return target

    def variant_text(self, name: str) -> str:
        """The text :meth:`export_variant` writes as ``name``: a scenario file that
        ``extends`` the open one (by its path relative to ``name``) and ``set``s the edits
        of the current configuration, each choice as its quantities' ``default``."""
        from io import StringIO

        from ruamel.yaml import YAML

        from forcegen.scenario.overrides import parse_override

        last = self._current()
        base = self._open()
        assert self.name is not None
        here = PurePosixPath(name).parent
        up = "../" * len([p for p in here.parts if p not in ("", ".")])
        relative = up + self.name
        sets: dict[str, Any] = {}
        for text in last.overrides:
            o = parse_override(text)
            sets[o.path] = o.value
        sets.update(_choice_defaults(base, last.choices).values)
        data: dict[str, Any] = {"extends": relative, "name": f"{base.name} (workbench variant)"}
        if sets:
            data["set"] = sets
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
        stream = StringIO()
        yaml.dump(data, stream)
        edits = ", ".join(f"{k}={v}" for k, v in sets.items()) or "no edits"
        head = (
            f"# A variant of {self.name} made in the forcegen workbench: {edits}.\n"
            "# Values set here replace the base's (with their cites): they are the user's\n"
            "# assumptions until written with claims.\n"
        )
        return head + stream.getvalue()

    def export_variant(self, name: str) -> Path:
        """Write the current configuration's edits as a new scenario file ``name``
        (``.yaml``/``.yml``) under the folder: ``extends:`` the open scenario and ``set:``
        each value edited and each choice taken (as the default of its quantities). It
        validates, and runs to the same results as the session with the same runs and
        seed. Never over an existing file. Returns its path."""
        with self._lock:
            self.folder.path(name, SCENARIOS)
            text = self.variant_text(name)
            return self.folder.write_new(name, text.encode("utf-8"), SCENARIOS)

    # --- explore stores --------------------------------------------------------------------

    def stores(self) -> list[str]:
        """The explore stores (``*.duckdb``) under the folder, by name, sorted."""
        return self.folder.files(DUCKDB)

    def store_view(self, name: str, where: str | None = None) -> dict[str, Any]:
        """What the store ``name`` holds: ``overview`` (counts, factors, outcome ranges),
        ``experiments``, ``factors`` and ``summaries`` (DataFrames); with ``where`` (a
        condition such as ``coverage:front-line < 95%``), ``discovery``: the box found
        where it holds (as ``discover.json``), each factor traced to its claims.

        Raises
        ------
        UsageError
            If the name is refused or names no store, duckdb is not installed, or the
            condition cannot be read.
        """
        import forcegen.store

        path = self.folder.path(name, DUCKDB)
        if not path.is_file():
            raise UsageError(f"{name!r}: no such run store in the folder")
        with forcegen.store.open(path) as st:
            meta = dict(st.meta)
            view: dict[str, Any] = {
                "overview": {**st.overview(), "store": name},
                "experiments": st.experiments(),
                "factors": st.factors(),
                "summaries": st.summaries(),
            }
        if where is not None and where.strip():
            view["discovery"] = _discover(view, meta, name, where)
        return view


# --- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Defaults:
    """Choices as ``PATH.default: OPTION`` overrides, one per quantity of the choice."""

    values: dict[str, str]

    def items_text(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.values.items()]


def _choice_defaults(scenario: Scenario, choices: Mapping[str, str]) -> _Defaults:
    from forcegen.scenario.claims import quantities
    from forcegen.scenario.paths import by_id
    from forcegen.scenario.quantities import Choice

    out: dict[str, str] = {}
    for loc, q in quantities(scenario):
        if isinstance(q, Choice) and q.choose in choices and choices[q.choose] != q.default:
            out[f"{by_id(scenario, loc)}.default"] = choices[q.choose]
    return _Defaults(out)


def _answering_charts(results: Results) -> list[Chart]:
    """The page's fan charts that answer the question: coverage and strength."""
    from forcegen.report import charts as described

    ds = results.to_xarray()
    return [*described.coverage_fans(ds, QUANTILES), *described.strength_fans(ds, QUANTILES)]


def _other_charts(results: Results) -> list[Chart]:
    """The page's other fan charts: losses, recruitment and reservoirs."""
    from forcegen.report import charts as described

    ds = results.to_xarray()
    return [
        *described.losses(ds, QUANTILES),
        *described.recruitment(ds, QUANTILES),
        *described.reservoirs(ds, QUANTILES),
    ]


def headline(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of the headline table, as the report shows them: one per demand (coverage
    with its band, days fully covered, the lowest share of runs fully covered on a day),
    then one per force (deployed-to-dwell, people at the start and end with its band,
    losses)."""
    from forcegen.report import formats as fmt

    def band(q: Sequence[float | None] | None, show: Callable[[float | None], str]) -> str:
        if not q or len(q) < 2 or q[0] == q[-1]:
            return ""
        return fmt.band(show(q[0]), show(q[-1]))

    rows: list[dict[str, Any]] = []
    for d in summary.get("demands", []):
        rows.append(
            {
                "row": "demand",
                "id": d["id"],
                "location": d["location"],
                "required": f"{fmt.number(d['required'])} {d['measure']}",
                "coverage": fmt.percent(d["coverage_mean"]),
                "coverage_band": band(d.get("coverage_q"), fmt.percent),
                "days": f"{fmt.number(d['days_fully_covered_mean'])} of {d['days_active']}",
                "p_min": fmt.percent(d.get("p_fully_covered_min")),
            }
        )
    for f in summary.get("forces", []):
        lost = f.get("losses_mean") or {}
        rows.append(
            {
                "row": "force",
                "id": f["force"],
                "dd": fmt.dwell(f["deployed_to_dwell"]),
                "start": fmt.number(f["people_start"]),
                "end": fmt.number(f["people_end_mean"]),
                "end_band": band(f.get("people_end_q"), fmt.number),
                "killed": fmt.number(lost.get("killed")),
                "wounded": fmt.number(lost.get("wounded")),
                "other": fmt.number((lost.get("missing") or 0) + (lost.get("deserted") or 0)),
            }
        )
    return rows


def _paired(base: Results, now: Results, quantiles: Sequence[float]) -> dict[str, Any]:
    """Run-by-run differences of every per-run outcome, as ``compare.json`` holds them."""
    import numpy as np

    from forcegen.analysis.compare import OUTCOMES

    a, b = base.per_run(), now.per_run()
    q = tuple(sorted(quantiles))
    rows = []
    for column in [c for c in a.columns if c in b.columns and c.startswith(OUTCOMES)]:
        diff = (b[column] - a[column]).to_numpy(dtype=float)
        row: dict[str, Any] = {
            "variant": "current",
            "figure": column,
            "baseline_mean": float(a[column].mean()),
            "variant_mean": float(b[column].mean()),
            "difference_mean": float(diff.mean()),
            "share_of_runs_higher": float((diff > 0).mean()),
        }
        for level, value in zip(q, np.quantile(diff, q), strict=True):
            row[f"difference_q{level * 100:g}"] = float(value)
        rows.append(row)
    return {
        "format": "forcegen-comparison",
        "baseline": "baseline",
        "variants": ["current"],
        "quantiles": list(q),
        "runs": int(now.to_xarray().sizes["run"]),
        "rows": rows,
    }


def _discover(view: Mapping[str, Any], meta: Mapping[str, Any], name: str, where: str) -> Any:
    from forcegen.analysis.discover import discover, option_claims, parse_where
    from forcegen.scenario.loader import loads

    summaries = view["summaries"]
    condition = parse_where(where, list(summaries.columns))
    table = view["experiments"].merge(summaries, on="experiment", how="inner", suffixes=("", " "))
    table = table.sort_values("experiment", kind="stable").reset_index(drop=True)
    if table.empty:
        raise UsageError(f"{name}: the store holds no finished experiments")
    cites: dict[str, Any] = {}
    text = meta.get("scenario_text")
    if isinstance(text, str):
        try:
            cites = option_claims(loads(text, f"{name} (its scenario)"))
        except (ScenarioError, UsageError):
            cites = {}
    found = discover(
        table,
        condition.holds(table),
        view["factors"],
        condition=condition,
        scenario=str(meta.get("scenario") or ""),
        store=name,
        option_cites=cites,
    )
    return found.summary()
