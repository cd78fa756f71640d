"""Calibration by ABC-SMC: the algorithm against known posteriors (simulation-based
calibration), the scenario layer on the engine, its outputs, and its refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build, flow, merge, needs_two_threads, scenario_text
from scipy import stats
from typer.testing import CliRunner

from forcegen.analysis.abc_smc import abc_smc, weighted_quantile
from forcegen.analysis.calibrate import calibrate, calibrated_scenario, fit_pert, parameters
from forcegen.cli import app
from forcegen.errors import UsageError
from forcegen.results_folder import read_folder, write_calibration
from forcegen.scenario.loader import loads


@dataclass(frozen=True)
class Interval:
    """A claimed interval, as :class:`forcegen.analysis.observations.Target` states one."""

    id: str
    low: float
    high: float
    claims: tuple[str, ...] = ()

    def distance(self, values: np.ndarray) -> np.ndarray:
        gap = np.maximum(np.maximum(self.low - values, values - self.high), 0.0)
        return gap / (self.high - self.low)


# --- the algorithm, on toy simulators with known posteriors -------------------------------

H = 1.0
"""Half-width of the toy observations' intervals (and of their uniform error)."""


def _toy(y_obs: np.ndarray):
    """θ uniform on [0, 10]² (as Φ(z) · 10); y1 = θ1 + N(0, 1), y2 = θ1 + θ2 + N(0, 1);
    observed: y + U(-H, H), claimed as [y_obs - H, y_obs + H]. ABC with tolerance 0 is
    then exact inference of θ (Wilkinson 2013)."""

    def simulate(z, k, seed):
        g = np.random.default_rng(seed)
        t = stats.norm.cdf(z) * 10
        y = np.stack(
            [t[:, 0] + g.normal(0, 1, len(z)), t[:, 0] + t[:, 1] + g.normal(0, 1, len(z))], 1
        )
        return np.maximum(np.abs(y - y_obs) - H, 0) / H

    return simulate


def test_simulation_based_calibration_of_the_algorithm():
    # Talts et al. 2018: truths drawn from the prior, data simulated from them, one
    # calibration each. The truth's rank in its posterior is uniform when the posterior is
    # right: a Kolmogorov-Smirnov test against the uniform must not reject at 1%, and the
    # 90% credible interval must hold the truth in at least 80% of the replicates.
    replicates, inside, ranks = 40, 0, []
    for r in range(replicates):
        g = np.random.default_rng(1000 + r)
        z_true = g.standard_normal(2)
        theta = stats.norm.cdf(z_true) * 10
        y = np.array([theta[0] + g.normal(), theta[0] + theta[1] + g.normal()])
        y += g.uniform(-H, H, 2)
        res = abc_smc(_toy(y), dims=2, particles=300, seed=r, max_runs=30_000)
        assert res.stop == "tolerance"
        pop = res.population
        for j in range(2):
            v = stats.norm.cdf(pop.z[:, j]) * 10
            low, high = weighted_quantile(v, pop.weights, np.array([0.05, 0.95]))
            inside += low <= theta[j] <= high
            ranks.append(float(np.sum(pop.weights[v < theta[j]])))
    assert inside / (2 * replicates) >= 0.8
    assert stats.kstest(ranks, "uniform").pvalue > 0.01


def test_discrete_parameter_has_its_exact_posterior():
    # Option a: y ~ N(0, 1); option b: y ~ N(2, 1); prior weights 1:3; claim y in [1.5, 3].
    p = stats.norm.cdf(3) - stats.norm.cdf(1.5), stats.norm.cdf(1) - stats.norm.cdf(-0.5)
    exact_a = 0.25 * p[0] / (0.25 * p[0] + 0.75 * p[1])

    def simulate(z, k, seed):
        y = np.where(k[:, 0] == 0, 0.0, 2.0) + np.random.default_rng(seed).normal(size=len(k))
        return Interval("y", 1.5, 3.0).distance(y)[:, None]

    res = abc_smc(simulate, dims=0, priors=[np.array([1.0, 3.0])], particles=2000, seed=3)
    got_a = res.population.weights[res.population.k[:, 0] == 0].sum()
    assert got_a == pytest.approx(exact_a, abs=0.03)


def test_stopping_rules_and_budget():
    def never(z, k, seed):  # every run misses by a distance that shrinks with z
        return (1 + np.abs(z[:, :1])) * np.ones((len(z), 1))

    res = abc_smc(never, dims=1, particles=50, seed=0, max_runs=400)
    assert res.stop in ("acceptance", "budget")
    assert res.runs <= 400
    assert res.met_all == 0
    assert res.best[0] >= 1.0
    res = abc_smc(never, dims=1, particles=50, seed=0, max_generations=2, min_acceptance=1e-4)
    assert len(res.generations) == 2 and res.stop == "generations"


def test_fit_pert_recovers_a_pert_and_keeps_within_bounds():
    g = np.random.default_rng(0)
    x = 2 + 6 * g.beta(1 + 4 * (3 - 2) / 6, 1 + 4 * (8 - 3) / 6, 20_000)
    low, mode, high = fit_pert(x, np.ones_like(x))
    assert (low, mode, high) == pytest.approx((2, 3, 8), abs=0.15)
    low, mode, high = fit_pert(x, np.ones_like(x), bounds=(2.5, 7.0))
    assert 2.5 <= low <= mode <= high <= 7.0


# --- on the engine -------------------------------------------------------------------------

KILLED = "{pert: [0.5%/mo, 2%/mo, 6%/mo]}"


def _scenario(**changes):
    return build(
        horizon="90d",
        locations=merge([{"attrition": {"killed": flow(KILLED)}}]),
        **changes,
    )


def _killed(results) -> np.ndarray:
    return results.per_run()[["lost:blue:killed"]].to_numpy(float)


def _killed_twice(results) -> np.ndarray:
    return np.repeat(_killed(results), 2, axis=1)


@pytest.fixture(scope="module")
def fitted():
    scenario = _scenario()
    cal = calibrate(
        scenario,
        particles=100,
        seed=5,
        max_runs=3000,
        targets=[Interval("killed-by-day-90", 40, 55, ("C1",))],
        figures=_killed,
    )
    return scenario, cal, cal.summary()


def test_the_table_names_inputs_by_id_and_only_observations_that_moved_them(fitted):
    import io

    from rich.console import Console

    from forcegen.report import terminal

    scenario, _, s = fitted

    def shown(summary) -> str:
        stream = io.StringIO()
        terminal.calibration(Console(file=stream, width=220, markup=False), summary, scenario)
        return stream.getvalue()

    text = shown(s)
    assert "locations[front].attrition.killed" in text and "locations[0]" not in text
    assert "killed-by-day-90" in text
    # Moved, but by no single observation: nothing is marked that no observation explains.
    (inp,) = s["inputs"]
    unexplained = {**s, "inputs": [{**inp, "moved": True, "moved_by": []}]}
    row = next(x for x in shown(unexplained).splitlines() if "attrition.killed" in x)
    assert "(moved)" not in row and "killed-by-day-90" not in row and " - " in row


def test_calibration_moves_the_input_towards_the_observation(fitted):
    _, cal, s = fitted
    (inp,) = s["inputs"]
    assert inp["input"] == "locations[front].attrition.killed"
    assert inp["moved"] and inp["moved_by"] == ["killed-by-day-90"]
    width = lambda q: q[-1] - q[0]  # noqa: E731
    assert width(inp["posterior_q"]) < width(inp["prior_q"])
    (obs,) = s["observations"]
    assert obs["posterior_probability"] > obs["prior_probability"]
    assert obs["verdict"] == "consistent" and s["all_met"]
    assert s["runs"] == cal.smc.runs + 100
    assert 0 < s["acceptance_rate"] <= 1
    post = cal.posterior()
    assert post["weight"].sum() == pytest.approx(1.0)
    assert list(post.columns) == ["weight", "distance", "locations[front].attrition.killed"]


def test_calibrated_scenario_loads_with_the_fitted_posterior(fitted):
    scenario, cal, s = fitted
    text = calibrated_scenario(
        cal,
        scenario_text(horizon="90d", locations=merge([{"attrition": {"killed": flow(KILLED)}}])),
        s,
    )
    assert text.startswith("# Calibrated by forcegen calibrate")
    again = loads(text, "calibrated.yaml")
    killed = again.locations[0].attrition.killed
    assert killed.dist.shape == "pert"
    assert [killed.dist.low, killed.dist.mode, killed.dist.high] == pytest.approx(
        s["inputs"][0]["fitted_points"]
    )
    assert "killed-by-day-90" in killed.note


def test_contradicting_observations_are_reported_not_fitted():
    cal = calibrate(
        _scenario(),
        particles=50,
        seed=1,
        max_runs=1500,
        targets=[Interval("low", 10, 20), Interval("high", 200, 220)],
        figures=_killed_twice,
    )
    s = cal.summary()
    assert not s["all_met"]
    assert s["final_tolerance"] > 0
    assert "cannot all hold together" in s["message"]
    assert {o["verdict"] for o in s["observations"]} != {"consistent"}
    assert any(o["verdict"] == "inconsistent" for o in s["observations"])


def test_an_impossible_observation_is_said_plainly():
    cal = calibrate(
        _scenario(),
        particles=50,
        seed=1,
        max_runs=1000,
        targets=[Interval("more-than-everyone", 5000, 6000)],
        figures=_killed,
    )
    (obs,) = cal.summary()["observations"]
    assert obs["verdict"] == "inconsistent" and obs["best_distance"] > 0
    assert "no setting of the inputs tried can meet it" in obs["note"]


def _small(seed: int, jobs: int) -> dict:
    scenario = _scenario(
        units=merge([{"strength": flow("{uniform: [400, 600]}")}]),
    )
    cal = calibrate(
        scenario,
        particles=40,
        seed=seed,
        n_jobs=jobs,
        max_runs=600,
        targets=[Interval("k", 30, 50)],
        figures=_killed,
    )
    return {"summary": cal.summary(), "posterior": cal.posterior()}


@needs_two_threads
def test_same_posterior_for_one_and_two_jobs():
    one, two = _small(3, 1), _small(3, 2)
    assert one["summary"] == two["summary"]
    pd.testing.assert_frame_equal(one["posterior"], two["posterior"])


def test_same_seed_same_output_and_another_seed_differs():
    a, b, c = _small(4, 1), _small(4, 1), _small(5, 1)
    assert a["summary"] == b["summary"]
    pd.testing.assert_frame_equal(a["posterior"], b["posterior"])
    assert not a["posterior"].equals(c["posterior"])


def test_choices_are_discrete_parameters_with_their_weights():
    scenario = _scenario(
        units=merge(
            [
                {
                    "strength": {
                        "choose": "size",
                        "default": "small",
                        "weights": {"small": 1, "large": 3},
                        "options": {"small": 300, "large": {"value": 900, "cites": []}},
                    }
                }
            ]
        )
    )
    inputs, params = parameters(scenario)
    assert [p.name for p in params] == ["size"]
    assert params[0].prior == pytest.approx([0.25, 0.75])
    _, pinned = parameters(scenario, {"size": "small"})
    assert pinned == []


# --- refusals ------------------------------------------------------------------------------


def test_refusals_name_what_is_missing():
    with pytest.raises(UsageError, match="needs observations"):
        calibrate(_scenario(), targets=[], figures=_killed)
    with pytest.raises(UsageError, match="needs uncertain values"):
        calibrate(build(), targets=[Interval("k", 1, 2)], figures=_killed)
    with pytest.raises(UsageError, match="particles"):
        calibrate(_scenario(), particles=3, targets=[Interval("k", 1, 2)], figures=_killed)
    with pytest.raises(UsageError, match="max_runs"):
        calibrate(_scenario(), max_runs=10, targets=[Interval("k", 1, 2)], figures=_killed)
    with pytest.raises(UsageError, match="unknown choice"):
        calibrate(
            _scenario(), choices={"nope": "x"}, targets=[Interval("k", 1, 2)], figures=_killed
        )


@pytest.mark.parametrize(
    "flags",
    [["--particles", "3"], ["--max-runs", "5"], ["--min-acceptance", "2"], ["--choose", "x"]],
)
def test_cli_bad_flags_exit_2(write_scenario, flags):
    path = write_scenario(locations=merge([{"attrition": {"killed": flow(KILLED)}}]))
    got = CliRunner().invoke(app, ["calibrate", str(path), *flags])
    assert got.exit_code == 2, got.output


def test_cli_missing_file_exits_2(tmp_path):
    got = CliRunner().invoke(app, ["calibrate", str(tmp_path / "none.yaml")])
    assert got.exit_code == 2


# --- the results folder --------------------------------------------------------------------


def test_calibration_folder_round_trip(fitted, tmp_path):
    scenario, cal, s = fitted
    text = calibrated_scenario(cal, scenario_text(horizon="90d"), s)
    written = write_calibration(s, cal.posterior(), text, tmp_path / "out")
    assert [p.name for p in written] == ["calibration.json", "posterior.parquet", "calibrated.yaml"]
    folder = read_folder(tmp_path / "out")
    assert folder.calibration is not None and folder.calibration.plain() == s
    assert folder.posterior["weight"].sum() == pytest.approx(1.0)
    assert json.loads(Path(tmp_path / "out" / "calibration.json").read_text())["format"] == (
        "forcegen-calibration"
    )


def test_report_shows_prior_against_posterior(fitted, tmp_path):
    from forcegen.report import write_report

    scenario, cal, s = fitted
    write_calibration(s, cal.posterior(), "# calibrated\n", tmp_path / "out")
    page = write_report(tmp_path / "out", None).read_text(encoding="utf-8")
    assert "Calibration to the observations" in page
    assert "Calibrated inputs: prior against posterior" in page
    assert (tmp_path / "out" / "figures" / "calibration-inputs.png").is_file()


# --- with the scenario's own observations ---------------------------------------------------

CLAIMS = [
    {"id": "C1", "source": {"publication": "Daily"}, "attribution": "anonymous",
     "paraphrase": "about fifty killed by the end of March", "grade": "C3"},
    {"id": "C2", "source": {"publication": "Ministry"}, "attribution": "official",
     "paraphrase": "fewer than ten killed by the end of March", "grade": "B2"},
]  # fmt: skip

OBSERVED = dict(
    horizon="90d",
    claims=CLAIMS,
    locations=merge([{"attrition": {"killed": flow(KILLED)}}]),
    units=merge(
        [
            {
                "strength": {
                    "choose": "size",
                    "default": "small",
                    "options": {"small": 300, "large": {"value": 600, "cites": ["C1"]}},
                }
            }
        ]
    ),
    observations=[
        {"id": "killed-by-march", "measure": "killed", "force": "blue", "by": "2023-03-31",
         "value": 50, "±": 10, "cites": ["C1"]},
        {"id": "at-front", "measure": "people", "force": "blue", "location": "front",
         "at": "2023-02-15", "at_least": 500},
    ],
)  # fmt: skip
"""A killed rate and a unit size to infer from two observations of the scenario's own."""


def test_target_distance_is_zero_inside_the_claimed_interval():
    from forcegen.analysis.observations import target

    scenario = build(**OBSERVED)
    two_sided, one_sided = (target(scenario, o) for o in scenario.observations)
    assert two_sided.low < 40 and two_sided.high > 60  # ± 10, widened by C3's tolerance
    inside = np.array([two_sided.low, 45.0, 50.0, 60.0, two_sided.high])
    assert np.all(two_sided.distance(inside) == 0) and np.all(two_sided.holds(inside))
    outside = np.array([two_sided.low - 1, two_sided.high + 1])
    assert np.all(two_sided.distance(outside) > 0) and not two_sided.holds(outside).any()
    assert two_sided.distance(np.array([two_sided.high + two_sided.scale])) == pytest.approx(1)
    assert np.isinf(two_sided.distance(np.array([np.nan])))[0]
    assert one_sided.high == np.inf
    assert np.all(one_sided.distance(np.array([one_sided.low, 1e9])) == 0)
    assert one_sided.distance(np.array([one_sided.low - 1]))[0] > 0


def test_calibrate_through_the_cli_with_the_scenarios_observations(write_scenario, tmp_path):
    from forcegen.analysis import observations
    from forcegen.report import write_report

    path = write_scenario(**OBSERVED)
    out = tmp_path / "out"
    runner = CliRunner()
    got = runner.invoke(app, ["run", str(path), "-n", "20", "--out", str(out)])
    assert got.exit_code == 0, got.output
    got = runner.invoke(
        app,
        ["calibrate", str(path), "--particles", "30", "--max-runs", "300", "--seed", "2",
         "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    s = json.loads(got.stdout)
    assert [o["id"] for o in s["observations"]] == ["killed-by-march", "at-front"]
    assert {o["verdict"] for o in s["observations"]} <= set(observations.VERDICTS)
    assert [i["input"] for i in s["inputs"]] == ["locations[front].attrition.killed"]
    assert [c["choice"] for c in s["choices"]] == ["size"]
    for name in ("calibration.json", "posterior.parquet", "calibrated.yaml", "results.nc"):
        assert (out / name).is_file(), name
    again = loads((out / "calibrated.yaml").read_text(encoding="utf-8"))
    assert again.locations[0].attrition.killed.dist.shape == "pert"
    assert [o.id for o in again.observations] == ["killed-by-march", "at-front"]
    page = write_report(out).read_text(encoding="utf-8")
    for anchor in ("observation-killed-by-march", "calibration-inputs", "calibration-choices"):
        assert f'id="{anchor}"' in page
        assert (out / "figures" / f"{anchor}.png").is_file()
    got = runner.invoke(app, ["report", str(out)])
    assert got.exit_code == 0, got.output


def test_calibrate_gives_the_verdicts_and_contradictions_of_the_observations():
    from forcegen.analysis import observations

    data = dict(OBSERVED)
    data["observations"] = [
        *OBSERVED["observations"],
        {"id": "few-killed", "measure": "killed", "force": "blue", "by": "2023-03-31",
         "at_most": 10, "cites": ["C2"]},
    ]  # fmt: skip
    scenario = build(**data)
    cal = calibrate(scenario, particles=30, max_runs=300, seed=3)
    s = cal.summary()
    # The pair that observations.contradictions finds by itself (the same figure, claimed
    # in intervals that do not meet) is said to be unable to hold together, both inconsistent.
    static = observations.contradictions(scenario)
    assert [(a, b) for a, b, _ in static] == [("killed-by-march", "few-killed")]
    assert [(a, b) for a, b, _ in cal.contradictions()][: len(static)] == [
        ("killed-by-march", "few-killed")
    ]
    assert not s["all_met"] and "cannot all hold together" in s["message"]
    assert "killed-by-march and few-killed" in s["message"]
    rows = {o["id"]: o for o in s["observations"]}
    assert rows["killed-by-march"]["verdict"] == rows["few-killed"]["verdict"] == "inconsistent"
    assert "cannot hold together with few-killed" in rows["killed-by-march"]["note"]
    # Every other verdict is the one forcegen run gives for the posterior predictive's runs.
    tgts = {t.id: t for t in observations.targets(scenario)}
    m = [t.id for t in cal.targets].index("at-front")
    assert rows["at-front"]["verdict"] == observations.verdict(
        tgts["at-front"], cal.predictive_figures[:, m]
    )
