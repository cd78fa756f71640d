"""Analyses: questions answered from many runs (compare scenarios, ...)."""

from forcegen.analysis.compare import Comparison, compare

__all__ = ["Comparison", "compare"]
