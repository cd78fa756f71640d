"""Analyses: questions answered from many runs.

Compare scenarios, check claims for consistency, search for requirements.
"""

from forcegen.analysis.check import Finding, check
from forcegen.analysis.compare import Comparison, compare
from forcegen.analysis.require import Requirement, require

__all__ = ["Comparison", "Finding", "Requirement", "check", "compare", "require"]
