"""Shared test helpers: one scenario builder, and a mark for tests that need two threads.

A test states only what is particular to its scenario. :func:`scenario_data` starts from
:data:`MINIMAL`, a small valid scenario held as plain Python data::

    forcegen: 1, name: test, start: 2023-01-01, horizon: 60d
    forces: [blue]            unit_types: [bn]            locations: [front, home]
    policies: [p]             p: 30 days at the front (deployed), 30 days at home
    units: [b]                4 battalions of 500 people of blue, on policy p
    demands: [d]              1000 people at the front, filled by blue

and applies the test's changes, each a top-level section by keyword:

- a value replaces the section: ``horizon="1y"``, ``units=[{...}]``, ``demands=[]``;
- :func:`merge` changes a section in place, key by key and, for lists, item by item:
  ``units=merge([{"count": 9}])`` changes the first unit group's count and keeps the rest;
- ``None`` removes the section.

:func:`changed` applies such changes to a test's own base scenario instead (one made with
:func:`scenario_data`, say), for tests that vary one scenario of their own many ways.

:func:`scenario_text` dumps the result as YAML (block style, flow style for the innermost
mappings and lists; :func:`yaml_text` dumps any such data), :func:`build` loads it into a
:class:`~forcegen.scenario.model.Scenario` with :func:`forcegen.scenario.loader.loads`,
and the ``write_scenario`` fixture writes it to a file under ``tmp_path`` for CLI tests.
:func:`flow` reads a YAML flow fragment (``"{pert: [400, 500, 800]}"``) into Python data,
for tests whose point is a value as written in YAML. :func:`line_of` finds the line of the
text on which a fragment is written, for tests that check a problem's location.

Tests that compare results across worker counts carry :data:`needs_two_threads`: they are
skipped where numba has fewer than two threads, since they would compare one thread with
itself.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import pytest
from ruamel.yaml import YAML

from forcegen.scenario.loader import loads
from forcegen.scenario.model import Scenario

MINIMAL: dict[str, Any] = {
    "forcegen": 1,
    "name": "test",
    "start": "2023-01-01",
    "horizon": "60d",
    "forces": [{"id": "blue"}],
    "unit_types": [{"id": "bn"}],
    "locations": [{"id": "front"}, {"id": "home"}],
    "policies": [
        {
            "id": "p",
            "positions": [
                {"name": "front", "location": "front", "duration": "30d", "deployed": True},
                {"name": "home", "location": "home", "duration": "30d"},
            ],
        }
    ],
    "units": [
        {"id": "b", "force": "blue", "type": "bn", "count": 4, "strength": 500, "policy": "p"}
    ],
    "demands": [{"id": "d", "location": "front", "people": 1000, "fill": {"forces": ["blue"]}}],
}
"""The scenario every built one starts from (never changed: builders work on a copy)."""

needs_two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2,
    reason="compares one worker with two; numba has fewer than two threads here",
)
"""Mark for a test that compares results across worker counts."""


class merge:  # noqa: N801 - read as a verb at the call site: units=merge([...])
    """Changes to merge into a section rather than replace it.

    A mapping is merged key by key (a key whose change is ``None`` is removed), a list item
    by item (an item beyond the end is appended); anything else replaces what was there.
    """

    def __init__(self, changes: Any) -> None:
        self.changes = changes


def _merged(base: Any, changes: Any) -> Any:
    if isinstance(changes, merge):
        changes = changes.changes
    if isinstance(base, dict) and isinstance(changes, dict):
        out = dict(base)
        for key, change in changes.items():
            if change is None:
                out.pop(key, None)
            else:
                out[key] = _merged(out.get(key), change)
        return out
    if isinstance(base, list) and isinstance(changes, list):
        out = list(base)
        for i, change in enumerate(changes):
            if i < len(out):
                out[i] = _merged(out[i], change)
            else:
                out.append(_merged(None, change))
        return out
    return copy.deepcopy(changes)


def changed(data: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """A copy of ``data`` with each named top-level section replaced, merged or removed.

    For tests with a base scenario of their own: ``changed(BASE, units=merge([{"count": 9}]))``.
    """
    out = copy.deepcopy(data)
    for name, change in sections.items():
        if change is None:
            out.pop(name, None)
        elif isinstance(change, merge):
            out[name] = _merged(out.get(name), change)
        else:
            out[name] = copy.deepcopy(change)
    return out


def scenario_data(**sections: Any) -> dict[str, Any]:
    """:data:`MINIMAL` with each named top-level section replaced, merged or removed."""
    return changed(MINIMAL, **sections)


def yaml_text(data: dict[str, Any]) -> str:
    """Scenario data as YAML text, in the layout of :func:`scenario_text`."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.width = 100
    yaml.sort_base_mapping_type_on_output = False  # keep the order written
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def scenario_text(**sections: Any) -> str:
    """The YAML text of :func:`scenario_data` with these changes."""
    return yaml_text(scenario_data(**sections))


def build(filename: str = "test.yaml", **sections: Any) -> Scenario:
    """The scenario of :func:`scenario_text` with these changes, loaded and validated."""
    return loads(scenario_text(**sections), filename)


def flow(text: str) -> Any:
    """Plain data from a YAML fragment, as a scenario file would have it."""
    return YAML(typ="safe", pure=True).load(text)


def line_of(text: str, fragment: str) -> int:
    """The 1-based number of the only line of ``text`` that holds ``fragment``."""
    (line,) = [i for i, written in enumerate(text.splitlines(), 1) if fragment in written]
    return line


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """A function that writes a built scenario's text to a file and returns its path.

    Its first argument, ``filename``, is the file's name under ``tmp_path``
    (``scenario.yaml`` unless given); the other keywords are those of :func:`scenario_text`.
    """

    def write(filename: str = "scenario.yaml", **sections: Any) -> Path:
        path = tmp_path / filename
        path.write_text(scenario_text(**sections), encoding="utf-8")
        return path

    return write
