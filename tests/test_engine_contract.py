"""The engine's input contract (:mod:`forcegen.engine.plan`) and the kernel's view of it.

The kernel indexes the records' last axes and its key table by constants (``C_*`` causes,
``F_*`` flows, ``S_*`` stocks, ``M_*`` pipeline measures, ``K_*`` random streams); results
label those axes by the name tuples of the plan module. Each constant must be the place of
its own name in its tuple, and every name must have its constant, or records would be
labelled with the wrong names. The kernel reads the arrays of ``KERNEL_FIELDS``; each must be
an array of the plan, of the type its annotation gives, and of the same number of axes in
every plan (numba compiles the kernel for one such type).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import numpy as np
import pytest

import forcegen
from forcegen.compile import compile_plan
from forcegen.engine import kernel, plan
from forcegen.engine.plan import (
    CAUSE_HAZARDS,
    CAUSES,
    FLOWS,
    KERNEL_FIELDS,
    PIPELINE_MEASURES,
    STOCKS,
    Plan,
)
from forcegen.engine.streams import Purpose, stable_key
from forcegen.sampling import sample_scenario
from forcegen.scenario.model import Attrition

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))

_HINTS = typing.get_type_hints(Plan, vars(plan))


def _constants(prefix: str) -> dict[str, object]:
    """The kernel's module constants named ``PREFIX_NAME``, by lower-case name."""
    pattern = re.compile(rf"{prefix}_([A-Z0-9_]+)")
    return {
        m.group(1).lower(): value
        for name, value in vars(kernel).items()
        if (m := pattern.fullmatch(name)) is not None
    }


@pytest.mark.parametrize(
    ("prefix", "names"),
    [("C", CAUSES), ("F", FLOWS), ("S", STOCKS), ("M", PIPELINE_MEASURES)],
)
def test_each_record_index_is_the_place_of_its_name(prefix: str, names: tuple[str, ...]) -> None:
    constants = _constants(prefix)
    assert sorted(constants) == sorted(names), f"{prefix}_* constants and names differ"
    for name, index in constants.items():
        assert type(index) is int
        assert names[index] == name, f"{prefix}_{name.upper()} is {index}"


def test_each_stream_index_is_the_place_of_its_purpose() -> None:
    constants = _constants("K")
    assert sorted(constants) == sorted(p.name.lower() for p in kernel.STREAMS)
    for name, index in constants.items():
        assert type(index) is int
        assert kernel.STREAMS[index] is Purpose[name.upper()]
    assert len(set(kernel.STREAMS)) == len(kernel.STREAMS)


def test_hazard_causes_come_first_among_causes() -> None:
    assert CAUSES[: len(CAUSE_HAZARDS)] == CAUSE_HAZARDS
    for cause in CAUSE_HAZARDS:  # the kernel indexes the plan's hazard axis by C_* as well
        assert _constants("C")[cause] == CAUSE_HAZARDS.index(cause)


def test_the_scenarios_causes_are_the_engines() -> None:
    # compile reads each hazard from the scenario's attrition field of the same name.
    assert Attrition.CAUSES == CAUSE_HAZARDS
    assert set(Attrition.CAUSES) <= set(Attrition.model_fields)


def _dtype(name: str) -> np.dtype:
    """The element type a field of :class:`Plan` is annotated with (``NDArray[np.int32]``)."""
    (_, dtype_hint) = typing.get_args(_HINTS[name])
    (scalar,) = typing.get_args(dtype_hint)
    return np.dtype(scalar)


def test_kernel_fields_are_arrays_of_the_plan() -> None:
    arrays = {
        f.name for f in dataclasses.fields(Plan) if typing.get_origin(_HINTS[f.name]) is np.ndarray
    }
    assert len(set(KERNEL_FIELDS)) == len(KERNEL_FIELDS)
    assert set(KERNEL_FIELDS) <= arrays, set(KERNEL_FIELDS) - arrays
    assert kernel.KPlan._fields == KERNEL_FIELDS
    assert set(kernel.UNSIGNED) <= set(KERNEL_FIELDS)
    for name in kernel.UNSIGNED:
        assert _dtype(name) == np.int32, name


def test_kernel_plans_have_the_types_the_kernel_is_compiled_for() -> None:
    ndims: dict[str, int] = {}
    for path in EXAMPLES:
        scenario = forcegen.load(path)
        for deterministic in (True, False):
            sample = sample_scenario(scenario, runs=3, seed=0, deterministic=deterministic)
            p = compile_plan(scenario, sample)
            kp = kernel.kernel_plan(p)
            for f in dataclasses.fields(Plan):
                value = getattr(p, f.name)
                if isinstance(value, np.ndarray):
                    assert value.dtype == _dtype(f.name), (path.name, f.name, value.dtype)
            for name in KERNEL_FIELDS:
                array = getattr(kp, name)
                want = np.dtype(np.uint32) if name in kernel.UNSIGNED else _dtype(name)
                assert array.dtype == want, (path.name, name)
                assert array.flags.c_contiguous, (path.name, name)
                assert array.ndim == getattr(p, name).ndim
                assert ndims.setdefault(name, array.ndim) == array.ndim, (path.name, name)


def test_stable_keys_do_not_change() -> None:
    # Units, pipelines and uncertain values draw by these keys: a new key function would
    # change every stochastic record.
    assert int(stable_key("brigades#0")) == 14643789229424007973
    assert int(stable_key("pipeline:draft")) == 13320995272519050302
    assert stable_key("x").dtype == np.uint64


def _records(path: Path, monkeypatch: pytest.MonkeyPatch | None) -> tuple[object, ...]:
    from forcegen.engine import simulate as simulating

    if monkeypatch is not None:  # every optional step compiled in, whatever the plan has
        monkeypatch.setattr(
            simulating,
            "kernel_features",
            lambda kp: (kp.pos_ready, kp.change_policy, kp.stock_period),
        )
    scenario = forcegen.load(path)
    p = compile_plan(scenario, sample_scenario(scenario, runs=3, seed=4, deterministic=False))
    rec = simulating.simulate_plan(p, runs=3, seed=4, keep_units=True)
    return tuple(getattr(rec, f.name) for f in dataclasses.fields(rec))


def test_kernel_features_name_the_optional_steps_a_plan_has() -> None:
    seen = set()
    for path in EXAMPLES:
        scenario = forcegen.load(path)
        p = compile_plan(scenario, sample_scenario(scenario, runs=1, seed=0, deterministic=True))
        kp = kernel.kernel_plan(p)
        pulls, changes, stocks = kernel.kernel_features(kp)
        assert (pulls is not None) == bool(p.pos_ready.any()), path.name
        assert (changes is not None) == (p.change_policy.shape[0] > 0), path.name
        assert (stocks is not None) == (p.stock_size0.shape[1] > 0), path.name
        seen.add((pulls is None, changes is None))
    # the examples have plans with and without pulls and changes
    assert {pulls for pulls, _ in seen} == {True, False}
    assert {changes for _, changes in seen} == {True, False}


@pytest.mark.parametrize("name", ["belarus-2023.yaml", "surge-policy-change.yaml"])
def test_a_kernel_compiled_without_a_step_simulates_as_the_whole_kernel(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plan's own features leave steps out of the compiled kernel; every step compiled
    # in (and finding nothing to do) gives the same records, bit for bit.
    path = EXAMPLES[0].with_name(name)
    pruned = _records(path, None)
    whole = _records(path, monkeypatch)
    for a, b in zip(pruned, whole, strict=True):
        if a is None:
            assert b is None
        else:
            np.testing.assert_array_equal(a, b)
