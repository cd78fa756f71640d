"""forcegen: force generation and unit rotation, simulated from sourced, uncertain claims.

The names below load their modules when first used, so that ``forcegen --version``,
``--help``, ``validate`` and ``schema`` start without numba, xarray or matplotlib.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from forcegen.errors import Problem, ScenarioError, UsageError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from forcegen.api import load, simulate
    from forcegen.results import Results
    from forcegen.scenario.model import Scenario

_LAZY = {
    "load": "forcegen.api",
    "simulate": "forcegen.api",
    "Results": "forcegen.results",
    "Scenario": "forcegen.scenario.model",
}

__all__ = [
    "Problem",
    "Results",
    "Scenario",
    "ScenarioError",
    "UsageError",
    "__version__",
    "load",
    "simulate",
    "workbench",
]


def workbench(scenario: str | os.PathLike[str]) -> Any:
    """The interactive workbench on a scenario, for a notebook: the scenario's folder as a
    Panel page that opens the scenario first (``pip install 'forcegen[web]'``).

    Display the returned page in a notebook cell; ``forcegen serve`` serves the same page.
    """
    from forcegen.web.app import workbench as page

    return page(scenario)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forcegen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
