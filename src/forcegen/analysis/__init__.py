"""Analyses: questions answered from many runs (compare scenarios, check claims for consistency)."""

from forcegen.analysis.check import Finding, check
from forcegen.analysis.compare import Comparison, compare

__all__ = ["Comparison", "Finding", "check", "compare"]
