"""forcegen: force generation and unit rotation, simulated from sourced, uncertain claims."""

from __future__ import annotations

__version__ = "0.1.0"

from forcegen.api import load, simulate  # noqa: E402
from forcegen.errors import Problem, ScenarioError, UsageError  # noqa: E402
from forcegen.results import Results  # noqa: E402
from forcegen.scenario.model import Scenario  # noqa: E402

__all__ = [
    "Problem",
    "Results",
    "Scenario",
    "ScenarioError",
    "UsageError",
    "__version__",
    "load",
    "simulate",
]
