"""Analyses: questions answered from many runs.

Compare scenarios, check claims for consistency, search for requirements, check rotation rules.
"""

from forcegen.analysis.check import Finding, check
from forcegen.analysis.compare import Comparison, compare
from forcegen.analysis.require import Requirement, require
from forcegen.analysis.rules import RuleCheck, rotation_rules

__all__ = [
    "Comparison",
    "Finding",
    "Requirement",
    "RuleCheck",
    "check",
    "compare",
    "require",
    "rotation_rules",
]
