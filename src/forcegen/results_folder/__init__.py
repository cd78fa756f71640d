"""The results folder: its file names, the layout of each file, its writers and readers.

A folder may hold any of:

* ``results.nc``, ``summary.json``, ``runs.parquet``, ``runs.csv`` and ``scenario.yaml``
  (``forcegen run --out``);
* ``compare.json`` (``forcegen compare --out``);
* ``sensitivity.json`` (``forcegen sensitivity --out``);
* ``require.json`` (``forcegen require --out``);
* ``rules.json`` (``forcegen rules --out``);
* ``calibration.json``, ``posterior.parquet`` and ``calibrated.yaml``
  (``forcegen calibrate --out``);
* ``discover.json`` (``forcegen discover --out``);
* ``capacity.json`` (``forcegen capacity --out``);
* ``report.html`` and ``figures/`` (``forcegen report``).

Each JSON layout below is declared once, as a pydantic model, and so is each variable of
``results.nc`` (:data:`VARIABLES`, :data:`COORDINATES`): the analyses build what they write
through the layouts (their ``summary()`` methods) and :func:`read_folder` checks everything
it reads against them, and the files against each other (one run, one scenario). A reader
checks ``format`` and ``version`` first; fields may be added within a version, never renamed
or removed (``docs/summary.md``). Each problem met while reading is reported as a
:class:`~forcegen.errors.UsageError` naming the file, the field and what was expected.

A folder is written as a whole (:func:`replacing`). The writer takes a lock (``flock`` on
the sibling file ``.DIR.forcegen-lock``, released by the kernel if the writer dies), so a
second writer is refused; it writes the new files into a sibling temporary folder, links
in the files of the folder that it does not replace (the other analyses), and swaps the two
folders in one step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, whose
gap a reader waits out). A reader thus sees the old folder or the new one, never a mix; a
reader that the swap overtakes reads again. Whatever a killed writer left (temporary
folders) is removed by the next writer. Each analysis written into a folder drops the
folder's report (``report.html``, ``figures/``), which would no longer describe it.

The file names and layouts are in :mod:`~forcegen.results_folder.layouts`, writing a folder as
a whole in :mod:`~forcegen.results_folder.writing`, and reading with every check in
:mod:`~forcegen.results_folder.reading`. The formats themselves (NetCDF, Parquet, CSV, JSON)
live in :mod:`forcegen.export`.
"""

from forcegen.results_folder.layouts import (
    CALIBRATED_NAME,
    CALIBRATION_FILES,
    CALIBRATION_NAME,
    CAPACITY_NAME,
    COMPARE_NAME,
    COORDINATES,
    DISCOVER_NAME,
    FIGURES_DIR,
    FILE_OF_FORMAT,
    NETCDF_NAME,
    POSTERIOR_PARQUET,
    REPORT_FILES,
    REPORT_NAME,
    REQUIRE_NAME,
    RULES_NAME,
    RUN_FILES,
    RUNS_CSV,
    RUNS_PARQUET,
    SCENARIO_NAME,
    SENSITIVITY_INDICES,
    SENSITIVITY_NAME,
    SUMMARY_NAME,
    VARIABLES,
    Breach,
    CalibrationChoice,
    CalibrationDemand,
    CalibrationFile,
    CalibrationGeneration,
    CalibrationInput,
    CalibrationObservation,
    CalibrationOption,
    CapacityFile,
    CapacityPeriod,
    CapacityPolicy,
    CapacityRow,
    CheckFile,
    ClaimMeta,
    CompareFile,
    CompareRow,
    DiscoverFactor,
    DiscoverFile,
    DiscoverOption,
    DiscoverStep,
    Evaluation,
    FindingRow,
    Layout,
    Meta,
    RequireFile,
    RulesFile,
    RuleUnit,
    RunMeta,
    ScenarioMeta,
    SensitivityFile,
    SensitivityRow,
    SummaryFile,
    Variable,
    finite,
    records,
)
from forcegen.results_folder.reading import Folder, read_folder, read_layout, read_results
from forcegen.results_folder.writing import (
    check_out,
    named,
    replacing,
    write_calibration,
    write_results,
    write_summary,
)

__all__ = [
    "CALIBRATED_NAME",
    "CALIBRATION_FILES",
    "CALIBRATION_NAME",
    "CAPACITY_NAME",
    "COMPARE_NAME",
    "COORDINATES",
    "DISCOVER_NAME",
    "FIGURES_DIR",
    "FILE_OF_FORMAT",
    "NETCDF_NAME",
    "POSTERIOR_PARQUET",
    "REPORT_FILES",
    "REPORT_NAME",
    "REQUIRE_NAME",
    "RULES_NAME",
    "RUNS_CSV",
    "RUNS_PARQUET",
    "RUN_FILES",
    "SCENARIO_NAME",
    "SENSITIVITY_INDICES",
    "SENSITIVITY_NAME",
    "SUMMARY_NAME",
    "VARIABLES",
    "Breach",
    "CalibrationChoice",
    "CapacityFile",
    "CapacityPeriod",
    "CapacityPolicy",
    "CapacityRow",
    "CalibrationDemand",
    "CalibrationFile",
    "CalibrationGeneration",
    "CalibrationInput",
    "CalibrationObservation",
    "CalibrationOption",
    "CheckFile",
    "ClaimMeta",
    "CompareFile",
    "CompareRow",
    "DiscoverFactor",
    "DiscoverFile",
    "DiscoverOption",
    "DiscoverStep",
    "Evaluation",
    "FindingRow",
    "Folder",
    "Layout",
    "Meta",
    "RequireFile",
    "RuleUnit",
    "RulesFile",
    "RunMeta",
    "ScenarioMeta",
    "SensitivityFile",
    "SensitivityRow",
    "SummaryFile",
    "Variable",
    "check_out",
    "finite",
    "named",
    "read_folder",
    "read_layout",
    "read_results",
    "records",
    "replacing",
    "write_calibration",
    "write_results",
    "write_summary",
]
