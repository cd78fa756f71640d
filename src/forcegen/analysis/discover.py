"""Scenario discovery: under which combinations of factors a condition on the outcomes holds.

The experiments of a run store (``forcegen explore``) vary factors: the options of choices,
uncertain values and levers. A condition on each experiment's outcomes (``--where
'coverage:front-line < 95%'``) splits them in two. PRIM, the patient rule induction method
(Friedman and Fisher 1999), as adapted for scenario discovery by Bryant and Lempert (2010)
and implemented in the EMA Workbench (Kwakkel 2017), peels the space of factors step by
step towards a box where the condition holds densely. Each step of its peeling trajectory
trades coverage (the share of the condition's experiments inside the box) for density (the
share of the box's experiments where it holds).

The box chosen from the trajectory is, among the boxes whose density reaches ``threshold``,
the one that best balances the two: the largest harmonic mean of coverage and density (ties
go to the earlier, larger box). If no box reaches the threshold, the densest box is chosen
and flagged. ``box=K`` chooses step ``K`` instead.

Feature scores come from scikit-learn's extremely randomised trees (Geurts et al. 2006),
seeded, so that they are the same on every call: the importance of each factor in telling
the experiments where the condition holds from the others (a choice's options, one-hot
encoded, summed). Every factor is labelled with the claims it cites and their grades, or
flagged as an uncited assumption.

The EMA Workbench and scikit-learn are optional (``pip install 'forcegen[discover]'``) and
imported only when :func:`discover` runs.
"""

from __future__ import annotations

import json
import logging
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forcegen.errors import UsageError
from forcegen.results_folder import DiscoverFactor, DiscoverFile, DiscoverStep
from forcegen.scenario.claims import quantities
from forcegen.scenario.model import Scenario
from forcegen.scenario.quantities import Choice

OPERATORS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
"""The comparisons a ``--where`` condition may make (``=`` is read as ``==``)."""

SHARE_PREFIXES = ("coverage:", "p_full:")
"""Outcomes that are shares from 0 to 1: the only ones a value in ``%`` may be compared
with."""

STATISTICS = ("mean", "q05", "q50", "q95")
"""The per-experiment statistics of each per-run outcome in the store's summaries."""

_WHERE = re.compile(r"^\s*(?P<outcome>[^\s<>=!]+)\s*(?P<op><=|>=|==|!=|<|>|=)\s*(?P<value>.+?)\s*$")
_NUMBER = re.compile(r"^[+-]?(\d[\d,_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

MASS_MIN = 0.05
"""PRIM peels no further than a box holding this share of the experiments."""
PEEL_ALPHA = 0.05
"""Share of a box's experiments each peeling step removes."""
TREES = 250
"""Trees of the extra-trees feature scoring."""

PRIM_ACCEPT_ANY = 1e-9
"""PRIM's own threshold: its cases of interest are the experiments where ``y`` is at least
this (those where the condition holds), and a box whose mean reaches it is kept, so the
whole trajectory always comes back; the box is then chosen by this module's rule."""


# --- the condition ------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed ``--where`` condition: ``column op value`` on the store's summaries."""

    text: str
    """The condition as written."""
    outcome: str
    """The outcome as written (``coverage:front-line``)."""
    column: str
    """The summaries' column compared (``coverage:front-line:mean``)."""
    op: str
    value: float
    """The value compared with, in canonical units (a share for ``95%``)."""
    per_run_mean: bool
    """Whether a bare per-run outcome was read as its mean across the experiment's runs."""

    def holds(self, summaries: pd.DataFrame) -> np.ndarray:
        """Whether the condition holds in each experiment (row) of ``summaries``."""
        values = pd.to_numeric(summaries[self.column], errors="coerce").to_numpy(float)
        return np.asarray(OPERATORS[self.op](values, self.value) & ~np.isnan(values), bool)


def _value(text: str, outcome: str, where: str) -> float:
    raw = text.strip()
    share = raw.endswith("%")
    number = raw[:-1].strip() if share else raw
    if not _NUMBER.match(number):
        raise UsageError(
            f"--where {where!r}: expected a number after the comparison (such as 95%, 0.9 "
            f"or 20,000); found {raw!r}"
        )
    value = float(number.replace(",", "").replace("_", ""))
    if share:
        if not outcome.startswith(SHARE_PREFIXES):
            raise UsageError(
                f"--where {where!r}: a value in % compares a share (coverage:<demand>, "
                f"p_full:<demand>); {outcome} is not one: write the number itself"
            )
        value /= 100.0
    return value


def outcomes_of(columns: list[str] | pd.Index) -> list[str]:
    """The outcomes a condition may name, given the store's summary columns: each column
    itself and, for each per-run outcome, its bare name (read as its mean)."""
    names = [str(c) for c in columns if c != "experiment"]
    bare = [c[: -len(":mean")] for c in names if c.endswith(":mean")]
    return bare + [c for c in names if c not in bare]


def parse_where(text: str, columns: list[str] | pd.Index) -> Condition:
    """Parse ``OUTCOME OP VALUE`` against the columns of the store's summaries.

    ``OUTCOME`` is a column of the summaries (``coverage:front-line:q05``,
    ``p_full:front-line``) or a bare per-run outcome (``coverage:front-line``), read as its
    mean across the experiment's runs. ``OP`` is one of ``< <= > >= == !=`` (``=`` reads as
    ``==``). ``VALUE`` is a number, with thousands separators if wished (``20,000``); a
    value in ``%`` is a share (``95%`` is 0.95) and may only be compared with a share.

    Raises
    ------
    UsageError
        For bad syntax, or an outcome the store does not hold (the message lists those it
        does).
    """
    match = _WHERE.match(text or "")
    if match is None:
        raise UsageError(
            f"--where {text!r}: expected OUTCOME OP VALUE, such as "
            "'coverage:front-line < 95%', 'p_full:front-line < 0.9' or "
            "'lost:RU:killed > 20,000' (OP: < <= > >= == !=)"
        )
    outcome, op = match["outcome"], match["op"]
    op = "==" if op == "=" else op
    names = [str(c) for c in columns]
    if outcome in names and outcome != "experiment":
        column, per_run = outcome, False
    elif f"{outcome}:mean" in names:
        column, per_run = f"{outcome}:mean", True
    else:
        available = outcomes_of(names)
        shown = ", ".join(available[:40]) + (", ..." if len(available) > 40 else "")
        raise UsageError(
            f"--where {text!r}: the store has no outcome {outcome!r}; it has: {shown or '(none)'}"
        )
    return Condition(
        text.strip(), outcome, column, op, _value(match["value"], outcome, text), per_run
    )


# --- the result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Discovery:
    """What :func:`discover` found: the peeling trajectory, the chosen box and the feature
    scores, every factor labelled with its claims."""

    trajectory: pd.DataFrame
    """One row per step: ``coverage``, ``density``, ``mass``, ``experiments``, ``cases``
    and ``restricted`` (the factors the box restricts, a list)."""
    chosen: int
    chosen_by: str
    """``balance`` (the rule above), ``densest`` (no box reaches the threshold) or
    ``user`` (``box=K``)."""
    threshold: float
    factors: pd.DataFrame
    """One row per factor, most important first: the fields of
    :class:`~forcegen.results_folder.DiscoverFactor`."""
    experiments: int
    cases: int
    seed: int = 0
    condition: Condition | None = None
    scenario: str = ""
    store: str = ""
    limits: list[pd.DataFrame] = field(default_factory=list, repr=False)
    """Each step's box limits as PRIM gives them (two rows: lower, upper)."""

    @property
    def box(self) -> pd.Series:
        """The chosen step of the trajectory."""
        return self.trajectory.iloc[self.chosen]

    @property
    def meets_threshold(self) -> bool:
        return bool(self.box["density"] >= self.threshold - 1e-12)

    @property
    def restricted(self) -> pd.DataFrame:
        """The factors the chosen box restricts, most important first."""
        return self.factors[self.factors["restricted"]]

    def factor_rows(self) -> list[dict[str, Any]]:
        """The factors as dicts, most important first; a figure that does not apply is
        ``None``."""
        return [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in r.items()
            }
            for r in self.factors.to_dict(orient="records")
        ]

    def summary(self) -> dict[str, Any]:
        """The discovery as plain data: what ``--format json`` prints and ``discover.json``
        holds (:class:`~forcegen.results_folder.DiscoverFile`)."""
        cond = self.condition
        box = self.box
        steps = [
            DiscoverStep(
                step=i,
                coverage=float(r.coverage),
                density=float(r.density),
                mass=float(r.mass),
                experiments=int(r.experiments),
                cases=int(r.cases),
                restricted=list(r.restricted),
            )
            for i, r in enumerate(self.trajectory.itertuples())
        ]
        factors = [DiscoverFactor.model_validate(row) for row in self.factor_rows()]
        return DiscoverFile(
            scenario=self.scenario,
            store=self.store,
            condition=cond.text if cond else "",
            outcome=cond.column if cond else "",
            op=cond.op if cond else "==",  # type: ignore[arg-type]
            value=cond.value if cond else 1.0,
            experiments=self.experiments,
            cases=self.cases,
            threshold=self.threshold,
            chosen=self.chosen,
            chosen_by=self.chosen_by,  # type: ignore[arg-type]
            meets_threshold=self.meets_threshold,
            coverage=float(box["coverage"]),
            density=float(box["density"]),
            mass=float(box["mass"]),
            seed=self.seed,
            trajectory=steps,
            factors=factors,
        ).plain()


# --- the analysis -------------------------------------------------------------------------


def _needs(package: str) -> UsageError:
    return UsageError(
        f"scenario discovery needs {package}, from the 'discover' extra: "
        "pip install 'forcegen[discover]' (in a checkout: pip install -e '.[discover]')"
    )


def _prim_module() -> Any:
    """The EMA Workbench's PRIM, imported quietly (its package warns about optional
    packages it does without, and logs each box it finds)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ModuleNotFoundError as exc:
        raise _needs("the EMA Workbench (ema_workbench)") from exc
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def _json_list(value: Any) -> list[Any]:
    """A list field of the factors table: JSON text, a list, or nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return list(value)


def _float(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _design(experiments: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """The factor columns of the experiments, as PRIM reads them: choices as text
    (categorical), values as floats."""
    missing = [n for n in factors["name"] if n not in experiments.columns]
    if missing:
        raise UsageError(
            f"the experiments have no column for factor(s) {', '.join(map(repr, missing))}"
        )
    x = pd.DataFrame(index=pd.RangeIndex(len(experiments)))
    for row in factors.itertuples():
        column = experiments[row.name].reset_index(drop=True)
        if row.kind == "choice":
            x[row.name] = column.astype(str).astype(object)
        else:
            x[row.name] = pd.to_numeric(column, errors="raise").astype(np.float64)
    return x


def _choose(trajectory: pd.DataFrame, threshold: float, box: int | None) -> tuple[int, str]:
    if box is not None:
        if not 0 <= box < len(trajectory):
            raise UsageError(
                f"--box {box}: expected a step of the peeling trajectory, 0 to "
                f"{len(trajectory) - 1}"
            )
        return box, "user"
    coverage = trajectory["coverage"].to_numpy(float)
    density = trajectory["density"].to_numpy(float)
    dense = density >= threshold - 1e-12
    if not dense.any():
        return int(np.argmax(density)), "densest"
    with np.errstate(invalid="ignore", divide="ignore"):
        balance = np.where(dense, 2 * coverage * density / (coverage + density), -1.0)
    return int(np.argmax(balance)), "balance"  # argmax: the first (largest) box on ties


def _scores(x: pd.DataFrame, y: np.ndarray, factors: pd.DataFrame, seed: int) -> np.ndarray:
    """Each factor's extra-trees importance (summed over a choice's one-hot columns)."""
    try:
        from sklearn.ensemble import ExtraTreesClassifier
    except ModuleNotFoundError as exc:
        raise _needs("scikit-learn (sklearn)") from exc
    columns, owner = [], []
    for k, row in enumerate(factors.itertuples()):
        if row.kind == "choice":
            dummies = pd.get_dummies(x[row.name], dtype=float)
            columns += [dummies[c].to_numpy() for c in dummies.columns]
            owner += [k] * dummies.shape[1]
        else:
            columns.append(x[row.name].to_numpy(float))
            owner.append(k)
    if not columns:
        return np.zeros(0)
    forest = ExtraTreesClassifier(n_estimators=TREES, random_state=seed, n_jobs=1)
    forest.fit(np.column_stack(columns), y)
    scores = np.zeros(len(factors))
    np.add.at(scores, np.array(owner), forest.feature_importances_)
    total = scores.sum()
    return scores / total if total > 0 else scores


def discover(
    experiments: pd.DataFrame,
    y: np.ndarray,
    factors: pd.DataFrame,
    *,
    threshold: float = 0.8,
    box: int | None = None,
    mass_min: float = MASS_MIN,
    peel_alpha: float = PEEL_ALPHA,
    seed: int = 0,
    condition: Condition | None = None,
    scenario: str = "",
    store: str = "",
    option_cites: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> Discovery:
    """Find the box of factors where ``y`` holds densely (PRIM), and score the factors.

    Parameters
    ----------
    experiments
        One row per experiment with a column per factor, named by the factor's name (the
        store's ``experiments()``); other columns are ignored.
    y
        Whether the condition holds in each experiment (booleans, one per row).
    factors
        The store's ``factors()``: ``name``, ``kind`` (``choice`` or ``value``),
        ``source``, ``options``, ``low``, ``high``, ``measure``, ``cites``, ``grades``
        (lists as JSON text or lists).
    threshold
        The density a box must reach to be chosen (see the module's rule).
    box
        Choose this step of the peeling trajectory instead.
    mass_min, peel_alpha
        PRIM's smallest box (a share of the experiments) and the share each step peels.
    seed
        Seed of the feature scoring (int).
    condition, scenario, store
        What the summary records about where ``y`` came from.
    option_cites
        For a choice factor (``choice:NAME``), the claims each of its options cites
        (:func:`option_claims`): a box that keeps some options of a choice then names only
        their claims, not those of the options it leaves out.

    Returns
    -------
    Discovery
    """
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold {threshold:g}: expected a density above 0 and at most 1")
    y = np.asarray(y, dtype=bool).ravel()
    if len(y) != len(experiments):
        raise UsageError(f"{len(y)} outcomes for {len(experiments)} experiments")
    factors = factors.sort_values("position") if "position" in factors else factors
    factors = factors.reset_index(drop=True)
    if factors.empty:
        raise UsageError("the store has no factors: nothing varies between its experiments")
    n, cases = len(y), int(y.sum())
    what = f"the condition {condition.text!r}" if condition else "the condition"
    if cases == 0 or cases == n:
        where = "none" if cases == 0 else "every one"
        raise UsageError(
            f"{what} holds in {where} of the {n:,} experiments: there is nothing to tell "
            "apart; try another value"
        )
    x = _design(experiments, factors)
    prim = _prim_module()
    with warnings.catch_warnings():  # its pandas idioms warn on newer pandas
        warnings.simplefilter("ignore")
        runner = prim.Prim(
            x, y.astype(int), threshold=PRIM_ACCEPT_ANY, peel_alpha=peel_alpha, mass_min=mass_min
        )
        found = runner.find_box()
    init = runner.box_init
    raw = found.peeling_trajectory.reset_index(drop=True)
    limits = [lims.copy() for lims in found.box_lims]
    restricted = [_restricted(lims, init, x) for lims in limits]
    trajectory = pd.DataFrame(
        {
            "coverage": raw["coverage"].astype(float),
            "density": raw["density"].astype(float),
            "mass": raw["mass"].astype(float),
            "experiments": raw["n"].astype(int),
            "cases": raw["k"].astype(int),
            "restricted": restricted,
        }
    )
    chosen, chosen_by = _choose(trajectory, threshold, box)
    qp = found.qp[chosen] if chosen < len(found.qp) else {}
    table = _factor_table(factors, x, y, limits[chosen], restricted[chosen], qp, option_cites or {})
    table["importance"] = _scores(x, y, factors, seed)
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return Discovery(
        trajectory=trajectory,
        chosen=chosen,
        chosen_by=chosen_by,
        threshold=threshold,
        factors=table,
        experiments=n,
        cases=cases,
        seed=seed,
        condition=condition,
        scenario=scenario,
        store=store,
        limits=limits,
    )


def _restricted(lims: pd.DataFrame, init: pd.DataFrame, x: pd.DataFrame) -> list[str]:
    """The factors a box restricts, in the order of the factors."""
    out = []
    for name in x.columns:
        if name not in lims.columns:
            continue  # a choice with one option: PRIM leaves it out
        a, b = lims[name].tolist(), init[name].tolist()
        if a != b:
            out.append(name)
    return out


def _factor_table(
    factors: pd.DataFrame,
    x: pd.DataFrame,
    y: np.ndarray,
    lims: pd.DataFrame,
    restricted: list[str],
    qp: dict[str, list[float]],
    option_cites: Mapping[str, Mapping[str, Sequence[str]]],
) -> pd.DataFrame:
    rows = []
    for f in factors.itertuples():
        cites = [str(c) for c in _json_list(f.cites)]
        grades = [str(g) for g in _json_list(f.grades)]
        is_restricted = f.name in restricted
        p = [v for v in qp.get(f.name, []) if v is not None and v >= 0]
        row: dict[str, Any] = {
            "factor": f.name,
            "kind": f.kind,
            "source": str(f.source),
            "measure": str(getattr(f, "measure", "") or ""),
            "cites": cites,
            "grades": grades,
            "uncited": not cites,
            "restricted": is_restricted,
            "qp": max(p) if is_restricted and p else None,
            "low": None,
            "high": None,
            "box_low": None,
            "box_high": None,
            "options": [],
        }
        column = x[f.name]
        if f.kind == "choice":
            declared = [str(o) for o in _json_list(f.options)]
            seen = sorted(set(column))
            kept = set(lims[f.name].iloc[0]) if f.name in lims.columns else set(seen)
            options = declared + [o for o in seen if o not in declared]
            for option in options:
                inside = (column == option).to_numpy()
                k = int(inside.sum())
                row["options"].append(
                    {
                        "option": option,
                        "experiments": k,
                        "cases": int(y[inside].sum()),
                        "share": float(y[inside].mean()) if k else None,
                        "kept": option in kept,
                    }
                )
            by_option = option_cites.get(f.name)
            if is_restricted and by_option:  # only the claims of the options the box keeps
                wanted = {c for o in kept for c in by_option.get(o, ())}
                pairs = [(c, g) for c, g in zip(cites, grades, strict=False) if c in wanted]
                row["cites"] = [c for c, _ in pairs]
                row["grades"] = [g for _, g in pairs]
        else:
            low, high = _float(f.low), _float(f.high)
            row["low"] = low if low is not None else float(column.min())
            row["high"] = high if high is not None else float(column.max())
            if is_restricted:  # only the ends the box moves in from the values drawn
                lower, upper = float(lims[f.name].iloc[0]), float(lims[f.name].iloc[1])
                row["box_low"] = lower if lower > column.min() else None
                row["box_high"] = upper if upper < column.max() else None
        rows.append(row)
    return pd.DataFrame(rows)


def option_claims(scenario: Scenario) -> dict[str, dict[str, list[str]]]:
    """For each choice of a scenario (``choice:NAME``), the claims each option cites, over
    every number that shares the choice."""
    out: dict[str, dict[str, list[str]]] = {}
    for _, q in quantities(scenario):
        if isinstance(q, Choice):
            options = out.setdefault(f"choice:{q.choose}", {})
            for name, value in q.options.items():
                cited = options.setdefault(name, [])
                cited += [c for c in value.cites if c not in cited]
    return out


__all__ = [
    "OPERATORS",
    "Condition",
    "Discovery",
    "discover",
    "option_claims",
    "outcomes_of",
    "parse_where",
]
