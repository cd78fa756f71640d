"""Analyses: questions answered from many runs.

Decide the scenario's answers in every run (the bottom line), compare scenarios, check
claims for consistency, search for requirements, check rotation rules, and measure global
sensitivity traced to claims.
"""

from forcegen.analysis.answers import Outcome, with_answers
from forcegen.analysis.check import Finding, Findings, check
from forcegen.analysis.compare import Comparison, compare
from forcegen.analysis.require import Requirement, require
from forcegen.analysis.rules import RuleCheck, rotation_rules
from forcegen.analysis.sensitivity import Sensitivity, sensitivity

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
