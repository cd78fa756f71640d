"""The results folder's file names and the layout of each file: the variables of
``results.nc`` and a pydantic model for each JSON file, declared once."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from forcegen.results import SUMMARY_FORMAT, SUMMARY_VERSION

NETCDF_NAME = "results.nc"
SUMMARY_NAME = "summary.json"
RUNS_PARQUET = "runs.parquet"
RUNS_CSV = "runs.csv"
SCENARIO_NAME = "scenario.yaml"
"""A copy of the scenario file a run was made from, so a results folder explains itself."""
COMPARE_NAME = "compare.json"
SENSITIVITY_NAME = "sensitivity.json"
REQUIRE_NAME = "require.json"
RULES_NAME = "rules.json"
CALIBRATION_NAME = "calibration.json"
POSTERIOR_PARQUET = "posterior.parquet"
CALIBRATED_NAME = "calibrated.yaml"
DISCOVER_NAME = "discover.json"
CAPACITY_NAME = "capacity.json"
"""The scenario with its uncertain values replaced by their fitted posteriors."""
REPORT_NAME = "report.html"
FIGURES_DIR = "figures"

REPORT_FILES = (REPORT_NAME, FIGURES_DIR)
"""The report of a folder; every analysis written into the folder drops it."""
RUN_FILES = (NETCDF_NAME, SUMMARY_NAME, RUNS_PARQUET, RUNS_CSV, SCENARIO_NAME)
"""What ``forcegen run --out`` writes, replaced together (a run without a scenario copy
drops the old copy)."""
CALIBRATION_FILES = (CALIBRATION_NAME, POSTERIOR_PARQUET, CALIBRATED_NAME)
"""What ``forcegen calibrate --out`` writes, replaced together."""

SENSITIVITY_INDICES = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu_star", "mu_star_conf", "sigma"),
}
"""The index columns of each sensitivity method, in the order they are shown."""


# --- the variables of results.nc ----------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """What a variable of ``results.nc`` must be: its dimensions and the kind of its values
    (``"float"``: finite numbers; ``"int"``: whole numbers; ``"bool"``; ``"text"``;
    ``"date"``)."""

    dims: tuple[str, ...]
    kind: Literal["float", "int", "bool", "text", "date"]
    required: bool = True


_RDF = ("run", "day", "force")
VARIABLES: dict[str, Variable] = {
    "strength": Variable((*_RDF, "location"), "float"),
    "filled": Variable(("run", "day", "demand"), "float"),
    "required": Variable(("run", "day", "demand"), "float"),
    "units_in_position": Variable(("run", "day", "position"), "int"),
    "units_deployed": Variable(_RDF, "int"),
    "units_active": Variable(_RDF, "int"),
    "losses": Variable((*_RDF, "cause"), "float"),
    "flows": Variable((*_RDF, "flow"), "float"),
    "stocks": Variable((*_RDF, "stock"), "float"),
    "pipeline_flows": Variable(("run", "day", "pipeline", "measure"), "float"),
    "reservoir_level": Variable(("run", "day", "reservoir"), "float"),
    "deployed_days": Variable(("run", "unit"), "int"),
    "active_days": Variable(("run", "unit"), "int"),
    "initial_strength": Variable(("run", "force"), "float"),
    "unit_position": Variable(("run", "day", "unit"), "int", required=False),
    "unit_strength": Variable(("run", "day", "unit"), "float", required=False),
    "units_deployed_by_type": Variable(("run", "day", "type"), "int", required=False),
    "inputs": Variable(("run", "input"), "float", required=False),
    # states and their stocks: only where the scenario has stocks
    "stock_level": Variable(("run", "day", "state"), "float", required=False),
    "transition_flows": Variable(("run", "day", "transition"), "float", required=False),
    "stock_flows": Variable(("run", "day", "state", "stock_flow"), "float", required=False),
    "stock_initial": Variable(("run", "state"), "float", required=False),
    "mobilised_days": Variable(("run", "unit"), "int", required=False),
}
"""The data variables of ``results.nc`` (:func:`forcegen.results.build_dataset`); besides
these, ``choice_<name>`` variables hold text per run."""

COORDINATES: dict[str, Variable] = {
    "run": Variable(("run",), "int"),
    "day": Variable(("day",), "int"),
    "date": Variable(("day",), "date"),
    **{
        name: Variable((name,), "text")
        for name in (
            "force",
            "location",
            "demand",
            "position",
            "cause",
            "flow",
            "stock",
            "pipeline",
            "measure",
            "reservoir",
            "unit",
        )
    },
    "demand_location": Variable(("demand",), "text"),
    "demand_measure": Variable(("demand",), "text"),
    "position_location": Variable(("position",), "text"),
    "position_deployed": Variable(("position",), "bool"),
    "pipeline_force": Variable(("pipeline",), "text"),
    "unit_group": Variable(("unit",), "text"),
    "unit_force": Variable(("unit",), "text"),
    "unit_type": Variable(("unit",), "text"),
    "type": Variable(("type",), "text", required=False),
    # states and their stocks: only where the scenario has stocks
    **{
        name: Variable((name,), "text", required=False)
        for name in ("state", "transition", "stock_flow")
    },
    "state_force": Variable(("state",), "text", required=False),
    "transition_from": Variable(("transition",), "text", required=False),
    "transition_to": Variable(("transition",), "text", required=False),
}
"""The coordinates of ``results.nc``: labels of each dimension and what they relate to."""

DTYPE_KINDS = {"float": "fiu", "int": "iu", "bool": "biu", "text": "OUS", "date": "M"}
KIND_WORDS = {
    "float": "numbers",
    "int": "whole numbers",
    "bool": "true/false values",
    "text": "text labels",
    "date": "dates",
}


# --- layouts ------------------------------------------------------------------------------


class Layout(BaseModel):
    """A JSON layout: declared fields are checked, further fields are kept as they are.

    Numbers must be finite (JSON's ``NaN`` and ``Infinity`` are refused); a figure that
    cannot be computed is ``null``.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    def plain(self) -> dict[str, Any]:
        """The layout as plain JSON-able data (what ``--format json`` prints)."""
        return self.model_dump(mode="json")


Share = Annotated[float, Field(ge=0, le=1)]
"""A share (of runs, of days, a quantile level): a number from 0 to 1."""
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0)]
Band = list[float | None]


def _number(value: Any) -> bool:
    """Whether a JSON value is a finite number or ``null``."""
    if value is None:
        return True
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_extra_numbers(
    rows: list[Layout], where: str, names: Callable[[Layout], Collection[str]]
) -> None:
    for i, row in enumerate(rows):
        extra = row.model_extra or {}
        for name in names(row):
            if name not in extra:
                raise ValueError(f"field {where}.{i}.{name}: expected a number; it is missing")
            if not _number(extra[name]):
                raise ValueError(
                    f"field {where}.{i}.{name}: expected a number or null; "
                    f"found {json.dumps(extra[name])[:60]}"
                )


def finite(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``row`` with every NaN or infinite float as ``None`` (JSON ``null``)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table (its index as columns) as dicts, non-finite numbers as ``None``."""
    return [finite(r) for r in table.reset_index().to_dict(orient="records")]


class ScenarioMeta(Layout):
    """The scenario a run was made from, as ``summary.json`` and ``results.nc`` record it."""

    name: str
    question: str | None = None
    start: dt.date
    horizon_days: int = Field(ge=1)


class RunMeta(Layout):
    """The settings of a run."""

    runs: int = Field(ge=1)
    seed: int = Field(default=0, ge=0)
    deterministic: bool = False
    lhs: bool = False
    choices: dict[str, str] = {}


class ClaimMeta(Layout):
    """A claim cited by the numbers a run used, with the field paths that cite it."""

    id: str
    grade: str
    attribution: str
    attributed_to: str | None = None
    source: str | None = None
    date: str | None = None
    paraphrase: str
    used_by: list[str]


class Meta(Layout):
    """The attribute ``forcegen_meta`` of ``results.nc`` (a JSON string)."""

    forcegen_version: str = ""
    scenario: ScenarioMeta
    run: RunMeta
    claims: list[ClaimMeta]
    assumptions: list[str]
    pipeline_reservoirs: dict[str, list[str]] = {}


class SummaryRun(RunMeta):
    quantiles: list[Share]


class SummaryDemand(Layout):
    id: str
    location: str
    measure: Literal["people", "units"]
    required: Amount | None
    days_active: Count
    coverage_mean: Amount | None
    days_fully_covered_mean: Amount | None
    share_of_days_fully_covered: Share | None = None
    coverage_q: Band | None = None
    days_fully_covered_q: Band | None = None
    p_fully_covered_min: Share | None = None

    @model_validator(mode="after")
    def _within_days(self) -> SummaryDemand:
        days = self.days_fully_covered_mean
        if days is not None and days > self.days_active + 1e-6:
            raise ValueError(
                f"days_fully_covered_mean {days:g} is more than days_active {self.days_active}"
            )
        return self


class SummaryStrength(Layout):
    force: str
    location: str
    mean: Amount | None
    q: Band = []


class SummaryForce(Layout):
    force: str
    deployed_to_dwell: Amount | None
    mobilised_to_dwell: Amount | None = None
    units_deployed_mean: Amount | None = None
    people_start: Amount | None
    people_end_mean: Amount | None
    losses_mean: dict[str, Amount | None]
    losses_q: dict[str, Band] = {}
    people_end_q: Band | None = None
    wounded_out_mean: float | None = None
    gains_mean: dict[str, float | None] = {}
    end_stocks_mean: dict[str, float | None] = {}


class SummaryUnitType(Layout):
    id: str
    units_deployed_mean: Amount | None = None
    units_deployed_q: Band | None = None
    units_deployed_max: Count | None = None


class SummaryPipeline(Layout):
    id: str
    force: str
    recruits_mean: Amount | None = None
    graduates_mean: Amount | None = None
    in_training_end_mean: Amount | None = None


class SummaryReservoir(Layout):
    id: str
    end_mean: float | None = None
    end_min: float | None = None
    drawn_mean: float | None = None


class SummaryFile(Layout):
    """``summary.json``: :meth:`forcegen.results.Results.summary` (``docs/summary.md``)."""

    format: Literal["forcegen-summary"] = SUMMARY_FORMAT
    version: Literal[1] = SUMMARY_VERSION
    scenario: ScenarioMeta
    run: SummaryRun
    demands: list[SummaryDemand]
    strength: list[SummaryStrength]
    forces: list[SummaryForce]
    unit_types: list[SummaryUnitType] = []
    pipelines: list[SummaryPipeline] = []
    reservoirs: list[SummaryReservoir] = []
    claims: list[ClaimMeta]
    assumptions: list[str]


class CompareRow(Layout):
    """One figure of one variant; ``difference_q<level>`` fields hold the bands."""

    variant: str
    figure: str
    baseline_mean: float | None
    variant_mean: float | None
    difference_mean: float | None
    share_of_runs_higher: Share | None


class CompareFile(Layout):
    """``compare.json``: :meth:`forcegen.analysis.Comparison.summary`."""

    format: Literal["forcegen-comparison"] = "forcegen-comparison"
    version: Literal[1] = 1
    baseline: str
    variants: list[str] = Field(min_length=1)
    quantiles: list[Share] = Field(min_length=1)
    runs: int = Field(ge=1)
    rows: list[CompareRow]

    @model_validator(mode="after")
    def _rows_of_listed_variants(self) -> CompareFile:
        for i, row in enumerate(self.rows):
            if row.variant not in self.variants:
                raise ValueError(
                    f"field rows.{i}.variant: expected one of the variants listed "
                    f"({', '.join(self.variants)}); found {json.dumps(row.variant)[:60]}"
                )
        bands = [f"difference_q{q * 100:g}" for q in (min(self.quantiles), max(self.quantiles))]
        _check_extra_numbers(list(self.rows), "rows", lambda _: bands)
        return self


class SensitivityRow(Layout):
    """One input; the index fields of the method (:data:`SENSITIVITY_INDICES`) beside."""

    input: str
    claims: str
    grades: str


class SensitivityFile(Layout):
    """``sensitivity.json``: :meth:`forcegen.analysis.Sensitivity.summary`."""

    format: Literal["forcegen-sensitivity"] = "forcegen-sensitivity"
    version: Literal[1] = 1
    scenario: str
    output: str
    method: Literal["sobol", "morris"]
    runs: int = Field(ge=1)
    description: str
    inputs: list[SensitivityRow]

    @model_validator(mode="after")
    def _indices_are_numbers(self) -> SensitivityFile:
        columns = SENSITIVITY_INDICES[self.method]
        _check_extra_numbers(list(self.inputs), "inputs", lambda _: columns)
        return self


class Evaluation(Layout):
    value: float
    share_of_runs_meeting_target: Share


class RequireFile(Layout):
    """``require.json``: :meth:`forcegen.analysis.Requirement.summary`."""

    format: Literal["forcegen-requirement"] = "forcegen-requirement"
    version: Literal[1] = 1
    scenario: str = ""
    field: str
    demand: str
    direction: Literal["least", "most"]
    value: float | None
    met: bool
    days: Share = 1.0
    probability: Share = 0.9
    low: float | None = None
    high: float | None = None
    runs: Count = 0
    evaluations: list[Evaluation]
    measure: str = ""
    """The canonical unit of ``field`` (``people``, ``days``, ``probability per day``...)."""


class CapacityPeriod(Layout):
    id: str
    first_day: Count
    days: int = Field(ge=1)
    start: dt.date
    end: dt.date


class CapacityRow(Layout):
    """One unit type (``*``: every type together) in one period."""

    unit_type: str
    period: str
    units: Count
    capacity: Amount
    """Units the policies keep deployed, a real number (mean over the period's days)."""
    capacity_units: Count
    """``capacity`` in whole units, rounded half to even."""
    peak_demand: Amount | None
    """Most units required on one day of the period; null where people cannot convert."""
    fill: Amount | None
    """``capacity / peak_demand``; null where nothing is required."""


class CapacityPolicy(Layout):
    """A policy's steady cycle, followed from its first position or from ``start``."""

    policy: str
    start: str | None = None
    deployed_days: Amount
    cycle_days: Amount
    share: Share
    kind: Literal["cycle", "ready", "held", "ends"]


class CapacityFile(Layout):
    """``capacity.json``: :meth:`forcegen.analysis.capacity.Capacity.summary`."""

    format: Literal["forcegen-capacity"] = "forcegen-capacity"
    version: Literal[1] = 1
    scenario: str = ""
    period: str
    choices: dict[str, str] = {}
    periods: list[CapacityPeriod]
    rows: list[CapacityRow]
    policies: list[CapacityPolicy]
    unattributed: list[str] = []
    """Demands open to any of several unit types, counted only in the rows of ``*``."""


class RuleUnit(Layout):
    """One unit's figures, means over runs; ``most_deployed_in_<n>d`` fields beside."""

    unit: str
    force: str
    deployed_to_dwell: Amount | None
    longest_deployment: Amount
    mobilised_to_dwell: Amount | None = None


class Breach(Layout):
    unit: str
    rule: str
    limit: float
    worst: float
    share_of_runs: Share
    measure: str = ""
    """``ratio`` (deployed-to-dwell) or ``days``: the unit of ``limit`` and ``worst``."""


class RulesFile(Layout):
    """``rules.json``: :meth:`forcegen.analysis.RuleCheck.summary`."""

    format: Literal["forcegen-rules"] = "forcegen-rules"
    version: Literal[1] = 1
    scenario: str = ""
    runs: Count = 0
    units: list[RuleUnit]
    breaches: list[Breach]

    @model_validator(mode="after")
    def _windows_are_numbers(self) -> RulesFile:
        def windows(row: Layout) -> list[str]:
            return [k for k in row.model_extra or {} if k.startswith("most_deployed_in_")]

        _check_extra_numbers(list(self.units), "units", windows)
        return self


class FindingRow(Layout):
    kind: str
    message: str
    fields: list[str]
    claims: list[str]


class CheckFile(Layout):
    """What ``forcegen check --format json`` prints: :meth:`forcegen.analysis.Findings.summary`."""

    format: Literal["forcegen-check"] = "forcegen-check"
    version: Literal[1] = 1
    scenario: str
    choices: dict[str, str]
    findings: list[FindingRow]


class CalibrationGeneration(Layout):
    tolerance: float | None
    """``null`` for generation 0 (every prior draw kept)."""
    proposed: Count
    accepted: Count
    acceptance_rate: Share


class CalibrationInput(Layout):
    """One uncertain value: its prior and posterior (quantiles at ``levels``), the claims
    it cites, the observations that moved it and the distribution fitted to it."""

    input: str
    claims: list[str]
    prior: str
    """The prior as the scenario writes it (``pert 1 / 2 / 4``), widening applied."""
    prior_q: list[float]
    posterior_q: list[float]
    prior_mean: float
    posterior_mean: float
    moved: bool
    moved_by: list[str]
    fitted: str
    fitted_points: list[float]
    """Low, mode and high of the PERT fitted to the posterior."""


class CalibrationOption(Layout):
    option: str
    claims: list[str]
    prior: Share
    posterior: Share


class CalibrationChoice(Layout):
    choice: str
    options: list[CalibrationOption]
    moved_by: list[str]


class CalibrationObservation(Layout):
    """One observation: how often the prior and the posterior predictive meet it."""

    id: str
    claims: list[str]
    low: float | None
    high: float | None
    prior_probability: Share
    posterior_probability: Share
    posterior_q: Band
    best_distance: Amount
    verdict: Literal["consistent", "in tension", "inconsistent"]
    note: str


class CalibrationDemand(Layout):
    demand: str
    prior_coverage_q: Band
    posterior_coverage_q: Band


class CalibrationFile(Layout):
    """``calibration.json``: :meth:`forcegen.analysis.Calibration.summary`."""

    format: Literal["forcegen-calibration"] = "forcegen-calibration"
    version: Literal[1] = 1
    scenario: str
    seed: int = Field(ge=0)
    deterministic: bool
    particles: int = Field(ge=1)
    levels: list[Share]
    runs: Count
    """Runs simulated in all (prior, generations and posterior predictive)."""
    acceptance_rate: Share
    """Particles accepted after generation 0 over candidates simulated for them."""
    stop: Literal["tolerance", "acceptance", "budget", "generations"]
    final_tolerance: float | None
    all_met: bool
    """Whether some run simulated met every observation at once."""
    message: str
    generations: list[CalibrationGeneration]
    inputs: list[CalibrationInput]
    choices: list[CalibrationChoice]
    observations: list[CalibrationObservation]
    demands: list[CalibrationDemand]


class DiscoverStep(Layout):
    """One box of the peeling trajectory: its coverage, density and mass, and the factors
    it restricts."""

    step: Count
    coverage: Share
    density: Share
    mass: Share
    experiments: Count
    """Experiments inside the box."""
    cases: Count
    """Experiments inside the box where the condition holds."""
    restricted: list[str]


class DiscoverOption(Layout):
    """One option of a choice factor: how often the condition holds among the experiments
    that take it, and whether the chosen box keeps it."""

    option: str
    experiments: Count
    cases: Count
    share: Share | None
    kept: bool


class DiscoverFactor(Layout):
    """One factor of the store: where it comes from, the claims it cites (or that it is an
    uncited assumption), its feature score and, if the chosen box restricts it, its limits.

    Value factors give ``low`` and ``high`` (their range in the store) and, for each end the
    box moves in from the values drawn, ``box_low`` (the box holds values at or above it)
    and ``box_high`` (at or below it), all in the canonical unit ``measure``; choice factors
    give their ``options`` with the ones the box keeps."""

    factor: str
    kind: Literal["choice", "value"]
    source: str
    measure: str = ""
    cites: list[str]
    grades: list[str]
    uncited: bool
    importance: Share
    restricted: bool
    low: float | None = None
    high: float | None = None
    box_low: float | None = None
    box_high: float | None = None
    qp: float | None = None
    """Quasi-p value of the restriction (Bryant and Lempert 2010): the chance that a box
    without it would be as dense; ``null`` where not restricted."""
    options: list[DiscoverOption] = []


class DiscoverFile(Layout):
    """``discover.json``: :meth:`forcegen.analysis.discover.Discovery.summary`."""

    format: Literal["forcegen-discovery"] = "forcegen-discovery"
    version: Literal[1] = 1
    scenario: str = ""
    store: str = ""
    condition: str
    """The ``--where`` condition as written."""
    outcome: str
    """The column of the store's summaries it reads (``coverage:front-line:mean``)."""
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float
    experiments: int = Field(ge=1)
    cases: Count
    """Experiments in which the condition holds."""
    threshold: Share
    chosen: Count
    """The step of :attr:`trajectory` chosen as the box."""
    chosen_by: Literal["balance", "densest", "user"]
    meets_threshold: bool
    coverage: Share
    density: Share
    mass: Share
    seed: int = Field(ge=0)
    trajectory: list[DiscoverStep] = Field(min_length=1)
    factors: list[DiscoverFactor]
    """Every factor, most important first (extra trees' feature scores)."""

    @model_validator(mode="after")
    def _chosen_on_the_trajectory(self) -> DiscoverFile:
        if self.chosen >= len(self.trajectory):
            raise ValueError(
                f"field chosen: expected a step of the trajectory (0 to "
                f"{len(self.trajectory) - 1}); found {self.chosen}"
            )
        return self


L = TypeVar("L", bound=Layout)

FILE_OF_FORMAT = {
    "forcegen-comparison": COMPARE_NAME,
    "forcegen-sensitivity": SENSITIVITY_NAME,
    "forcegen-requirement": REQUIRE_NAME,
    "forcegen-rules": RULES_NAME,
    "forcegen-calibration": CALIBRATION_NAME,
    "forcegen-discovery": DISCOVER_NAME,
    "forcegen-capacity": CAPACITY_NAME,
}
"""The file of the results folder that holds each analysis summary, by its ``format``."""
