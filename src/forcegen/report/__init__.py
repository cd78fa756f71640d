"""Reports: a results folder turned into one self-contained HTML page with its figures, and
the same summaries as tables in a terminal (:mod:`forcegen.report.terminal`).

``forcegen report RESULTS_DIR`` mirrors :func:`write_report`. The page's module (and with it
matplotlib) loads when first used, so that the terminal tables start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forcegen.report.page import FIGURES_DIR, REPORT_NAME, write_report

__all__ = ["FIGURES_DIR", "REPORT_NAME", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("forcegen.report.page"), name)
    raise AttributeError(f"module 'forcegen.report' has no attribute {name!r}")
