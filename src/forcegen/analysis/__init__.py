"""Analyses: questions answered from many runs.

Decide the scenario's answers in every run (the bottom line), compare scenarios, check
claims for consistency, search for requirements, check rotation rules, and measure global
sensitivity traced to claims.

The names below load their modules when first used (PEP 562), so that importing one
analysis (``forcegen run`` needs only the answers) does not import the others and what
they bring (SALib and scipy.stats for sensitivity).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forcegen.analysis.answers import Outcome, with_answers
    from forcegen.analysis.check import Finding, Findings, check
    from forcegen.analysis.compare import Comparison, compare
    from forcegen.analysis.require import Requirement, require
    from forcegen.analysis.rules import RuleCheck, rotation_rules
    from forcegen.analysis.sensitivity import Sensitivity, sensitivity

_LAZY = {
    "Outcome": "answers",
    "with_answers": "answers",
    "Finding": "check",
    "Findings": "check",
    "check": "check",
    "Comparison": "compare",
    "compare": "compare",
    "Requirement": "require",
    "require": "require",
    "RuleCheck": "rules",
    "rotation_rules": "rules",
    "Sensitivity": "sensitivity",
    "sensitivity": "sensitivity",
}

__all__ = [
    "Comparison",
    "Finding",
    "Findings",
    "Outcome",
    "Requirement",
    "RuleCheck",
    "Sensitivity",
    "check",
    "compare",
    "require",
    "rotation_rules",
    "sensitivity",
    "with_answers",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


class _Analyses(types.ModuleType):
    """This package, keeping its function names bound to the functions.

    Four functions share their module's name (``check``, ``compare``, ``require``,
    ``sensitivity``). Importing a submodule binds it on its package under its name, which
    would hide the function from ``from forcegen.analysis import check`` once the module is
    loaded; here the function is bound instead, as an eager import of it used to leave it.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _LAZY.get(name) == name
            and value.__name__ == f"{__name__}.{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Analyses
