"""Field paths: written and read back in one grammar."""

from __future__ import annotations

import pytest

from forcegen.errors import UsageError
from forcegen.scenario.paths import format_loc, parse_path, walk


def test_format_loc() -> None:
    assert format_loc(("units", 2, "policy")) == "units[2].policy"
    assert format_loc(("a", "b", 0, 1)) == "a.b[0][1]"
    assert format_loc(()) == ""


@pytest.mark.parametrize(
    "loc",
    [("units", 0, "count"), ("pipelines", 1, "intake", 0, "rate"), ("horizon",), ("a", 0, 1)],
)
def test_a_written_path_reads_back(loc) -> None:
    assert parse_path(format_loc(loc)) == loc


@pytest.mark.parametrize("text", ["", "units[x].count", "units.[0]", "units[0]count", "0.units"])
def test_a_malformed_path_is_refused(text) -> None:
    with pytest.raises(UsageError, match="expected a field path such as units"):
        parse_path(text)


def test_walk_follows_keys_and_indices() -> None:
    data = {"units": [{"count": 1}, {"count": {"value": 4}}]}
    assert walk(data, ("units", 1, "count", "value")) == 4
    assert walk(data, ()) is data
