"""The engine: a plan in, daily records out, over arrays of runs × units.

:mod:`~forcegen.engine.plan` is its input contract (the :class:`Plan` and the names of what
is recorded), :mod:`~forcegen.engine.simulate` runs a plan and :mod:`~forcegen.engine.records`
holds what comes out. The daily step itself is :mod:`~forcegen.engine.kernel` (its docstring
gives the order of a simulated day); its random draws come from
:mod:`~forcegen.engine.streams` and :mod:`~forcegen.engine.random`. :func:`compiling` lets a
face say when numba compiles the engine (the first run after an install).
"""

from __future__ import annotations

from forcegen.engine.plan import CAUSES, FLOWS, PIPELINE_MEASURES, STOCKS, Plan
from forcegen.engine.records import Records
from forcegen.engine.simulate import compiling, simulate_plan

__all__ = [
    "CAUSES",
    "FLOWS",
    "PIPELINE_MEASURES",
    "STOCKS",
    "Plan",
    "Records",
    "compiling",
    "simulate_plan",
]
