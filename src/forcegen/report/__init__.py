"""Reports: a results folder turned into one self-contained HTML page with its figures.

``forcegen report RESULTS_DIR`` mirrors :func:`write_report`.
"""

from forcegen.report.page import FIGURES_DIR, REPORT_NAME, write_report

__all__ = ["FIGURES_DIR", "REPORT_NAME", "write_report"]
