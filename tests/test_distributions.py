"""Distributions: messages that read as sentences, and widening that stays within range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build, flow, merge

from forcegen.errors import ScenarioError
from forcegen.scenario.distributions import Exponential, Lognormal


@pytest.mark.parametrize(
    ("killed", "message"),
    [
        (
            "{lognormal: {median: 0.02, p90: 0.01}}",
            "expected 0 < median < p90 for a lognormal; found median 0.02 and p90 0.01",
        ),
        (
            "{lognormal: [1, 2]}",
            "expected lognormal: {median: ..., p90: ...}, each a probability per day or per "
            "period, such as 0.0005, '0.05%/d', '1.5%/mo', '50%/6mo' or '1.5% per month'; "
            "found [1, 2]",
        ),
    ],
)
def test_lognormal_messages_fill_in_their_numbers(killed: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        build("l.yaml", locations=merge([{"attrition": {"killed": flow(killed)}}]))
    assert [p.message for p in info.value.problems] == [message]
    assert "{" not in message.replace("{median: ..., p90: ...}", "")


def test_a_widened_lognormal_keeps_its_mean_within_the_limit() -> None:
    # Widening multiplies log(p90 / median); ten times a wide spread would overflow.
    dist = Lognormal(median=1.0, p90=100.0, upper=1e9)
    wide = dist.widened(10.0)
    assert math.isfinite(wide.p90) and wide.p90 > dist.p90
    assert wide.mean() <= 1e9 * (1 + 1e-9)
    samples = wide.quantiles(np.array([1e-12, 0.5, 1 - 1e-12]))
    assert np.isfinite(samples).all() and (samples <= 1e9).all()


def test_widening_within_range_is_the_plain_rule() -> None:
    # log(p90 / median) times the factor, untouched where the mean stays in range.
    dist = Lognormal(median=0.001, p90=0.002, upper=1.0)
    assert dist.widened(2.0).p90 == pytest.approx(0.004)


@pytest.mark.parametrize("written", ["{exponential: 30d}", "{exponential: {mean: 1mo}}"])
def test_an_exponential_is_given_by_its_mean(written: str) -> None:
    sc = build(policies=merge([{"positions": merge([{"duration": flow(written)}])}]))
    q = sc.policies[0].positions[0].duration
    assert isinstance(q.dist, Exponential) and q.value == 30.0 and q.dist.mean() == 30.0
    u = np.array([0.0, 0.5, 1 - math.exp(-1)])
    assert q.dist.quantiles(u).tolist() == [0.0, round(30 * math.log(2)), 30.0]
    assert q.dist.widened(3.0) == q.dist  # its spread is set by its mean


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("{exponential: 0d}", "expected a mean > 0 for an exponential; found 0"),
        ("{exponential: [1d, 2d]}", "expected exponential: a mean, or {mean: ...}"),
    ],
)
def test_a_bad_exponential_is_refused_where_written(written: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        build("e.yaml", policies=merge([{"positions": merge([{"duration": flow(written)}])}]))
    (problem,) = info.value.problems
    assert problem.file == "e.yaml" and problem.message.startswith(message)
