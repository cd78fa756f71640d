"""Results: the engine's records as one labelled :class:`xarray.Dataset`, and its summary.

Dimensions: ``run``, ``day`` (with the calendar ``date``), ``force``, ``location``,
``demand``, ``position``, ``cause`` and ``unit``. Every headline figure in the summary is a
named reduction of the dataset, so anything the summary says can be recomputed from the
NetCDF file.

The summary layout is versioned (``SUMMARY_FORMAT``, ``SUMMARY_VERSION``) and documented in
``docs/summary.md``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forcegen.engine import CAUSES, FLOWS, PIPELINE_MEASURES, STOCKS, Plan, Records
from forcegen.engine.plan import STOCK_FLOWS
from forcegen.errors import UsageError
from forcegen.scenario.model import MEASURES as OBSERVABLE

QUANTILES = (0.05, 0.5, 0.95)
"""Default quantiles across runs for bands."""

MEASURES = tuple(OBSERVABLE)
"""The measures :meth:`Results.measure` reads (the measures of observations)."""

SUMMARY_FORMAT = "forcegen-summary"
SUMMARY_VERSION = 1
FULL = 1e-9
"""Tolerance under which a demand counts as fully covered."""


def build_dataset(
    plan: Plan, rec: Records, inputs: dict[str, np.ndarray], *, attrs: dict[str, Any]
) -> xr.Dataset:
    """Label the engine's records; ``inputs`` holds each sampled value per sample."""
    runs = rec.strength.shape[0]
    days = np.arange(plan.horizon)
    sample = np.arange(runs) % plan.samples
    # Required per sample, then per run: a read-only broadcast when every sample requires
    # the same (no demand is uncertain), however many other values the runs sampled.
    spec = (plan.demand_start, plan.demand_end, plan.demand_required)
    shared = plan.samples == 1 or all((a == a[:1]).all() for a in spec)
    start, end, level = (a[:1] if shared else a for a in spec)
    active = (start[:, None, :] <= days[None, :, None]) & (days[None, :, None] < end[:, None, :])
    required = (level[:, None, :] * active).astype(rec.filled.dtype)
    if shared:
        required = np.broadcast_to(required, (runs, *required.shape[1:]))
    else:
        required = required[sample]
    coords = {
        "run": np.arange(runs),
        "day": days,
        "date": ("day", plan.start + days.astype("timedelta64[D]")),
        "force": list(plan.forces),
        "location": list(plan.locations),
        "demand": list(plan.demands),
        "demand_location": ("demand", [plan.locations[i] for i in plan.demand_location]),
        "demand_measure": ("demand", ["units" if u else "people" for u in plan.demand_units]),
        "demand_first_day": ("demand", plan.demand_start[0].astype(np.int64)),
        "demand_end_day": ("demand", plan.demand_end[0].astype(np.int64)),
        "position": list(plan.position_labels),
        "position_location": ("position", [plan.locations[i] for i in plan.pos_location]),
        "position_deployed": ("position", plan.pos_deployed.copy()),
        "cause": list(CAUSES),
        "flow": list(FLOWS),
        "stock": list(STOCKS),
        "pipeline": list(plan.pipelines),
        "pipeline_force": ("pipeline", [plan.forces[f] for f in plan.pipe_force]),
        "measure": list(PIPELINE_MEASURES),
        "reservoir": list(plan.reservoirs),
        "unit": list(plan.unit_ids),
        "unit_group": ("unit", [plan.groups[g] for g in plan.unit_group]),
        "unit_force": ("unit", [plan.forces[f] for f in plan.unit_force]),
        "unit_type": ("unit", [plan.unit_types[t] for t in plan.unit_type]),
    }
    data = {
        "strength": (
            ("run", "day", "force", "location"),
            rec.strength,
            {"long_name": "people present", "units": "people"},
        ),
        "filled": (
            ("run", "day", "demand"),
            rec.filled,
            {"long_name": "demand filled", "units": "people or units (demand_measure)"},
        ),
        "required": (
            ("run", "day", "demand"),
            required,
            {"long_name": "demand required", "units": "people or units (demand_measure)"},
        ),
        "units_in_position": (
            ("run", "day", "position"),
            rec.positions,
            {"long_name": "units in each position", "units": "units"},
        ),
        "units_deployed": (
            ("run", "day", "force"),
            rec.deployed,
            {"long_name": "units in deployed positions", "units": "units"},
        ),
        "units_active": (
            ("run", "day", "force"),
            rec.active,
            {"long_name": "units in the force", "units": "units"},
        ),
        "losses": (
            ("run", "day", "force", "cause"),
            rec.losses,
            {"long_name": "people lost from units", "units": "people per day"},
        ),
        "flows": (
            ("run", "day", "force", "flow"),
            rec.flows,
            {
                "long_name": "people into units (formed, replaced, returned) and into recovery "
                "(wounded_returning)",
                "units": "people per day",
            },
        ),
        "stocks": (
            ("run", "day", "force", "stock"),
            rec.stocks,
            {
                "long_name": "people in recovery, in the replacement pool, and missing from "
                "units below authorised strength",
                "units": "people",
            },
        ),
        "pipeline_flows": (
            ("run", "day", "pipeline", "measure"),
            rec.pipeline,
            {
                "long_name": "recruits and graduates (per day), in training (people)",
                "units": "people",
            },
        ),
        "reservoir_level": (
            ("run", "day", "reservoir"),
            rec.reservoir,
            {"long_name": "people left in each reservoir", "units": "people"},
        ),
        "deployed_days": (
            ("run", "unit"),
            rec.deployed_days,
            {"long_name": "days deployed", "units": "days"},
        ),
        "active_days": (
            ("run", "unit"),
            rec.active_days,
            {"long_name": "days in the force", "units": "days"},
        ),
        "initial_strength": (
            ("run", "force"),
            _initial(plan, runs),
            {"long_name": "people at the start", "units": "people"},
        ),
    }
    if rec.deployed_type is not None:
        coords["type"] = list(plan.unit_types)
        data["units_deployed_by_type"] = (
            ("run", "day", "type"),
            rec.deployed_type,
            {"long_name": "units in deployed positions, by unit type", "units": "units"},
        )
    if rec.mobilised_days is not None:
        data["mobilised_days"] = (
            ("run", "unit"),
            rec.mobilised_days,
            {"long_name": "days mobilised (in mobilised or deployed positions)", "units": "days"},
        )
    if rec.unit_position is not None and rec.unit_strength is not None:
        data["unit_position"] = (
            ("run", "day", "unit"),
            rec.unit_position,
            {"long_name": "position index (-1: discharged)"},
        )
        data["unit_strength"] = (
            ("run", "day", "unit"),
            rec.unit_strength,
            {"long_name": "people in the unit", "units": "people"},
        )
    if plan.states:  # states and their stocks: only where the scenario has some
        _add_stocks(plan, rec, coords, data)
    numeric = {k: v for k, v in inputs.items() if not k.startswith("choice:")}
    if numeric:
        coords["input"] = list(numeric)
        data["inputs"] = (
            ("run", "input"),
            np.stack([np.asarray(v, np.float64)[sample] for v in numeric.values()], axis=1),
            {"long_name": "value each run sampled for each uncertain number (canonical units)"},
        )
    for key, picks in inputs.items():
        if key.startswith("choice:"):
            data["choice_" + key.split(":", 1)[1]] = (
                ("run",),
                np.asarray(picks)[sample].astype(str),
                {"long_name": f"option each run took for the choice {key.split(':', 1)[1]!r}"},
            )
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _add_stocks(plan: Plan, rec: Records, coords: dict[str, Any], data: dict[str, Any]) -> None:
    """The daily records of states and their stocks: dims ``state`` (with ``state_force``),
    ``transition`` (``from>to``, ``from>out`` for wastage, with ``transition_from`` and
    ``transition_to``) and ``stock_flow`` (:data:`~forcegen.engine.plan.STOCK_FLOWS`)."""
    coords["state"] = list(plan.states)
    coords["state_force"] = ("state", [plan.forces[f] for f in plan.stock_force])
    coords["transition"] = list(plan.transitions)
    coords["transition_from"] = ("transition", [plan.states[i] for i in plan.trans_from])
    coords["transition_to"] = (
        "transition",
        ["out" if i < 0 else plan.states[i] for i in plan.trans_to],
    )
    coords["stock_flow"] = list(STOCK_FLOWS)
    data["stock_level"] = (
        ("run", "day", "state"),
        rec.stock,
        {"long_name": "people in each state at the census", "units": "people"},
    )
    data["transition_flows"] = (
        ("run", "day", "transition"),
        rec.transition,
        {
            "long_name": "people moved from a state to another, or out of the force (wastage)",
            "units": "people per day",
        },
    )
    data["stock_flows"] = (
        ("run", "day", "state", "stock_flow"),
        rec.stock_flows,
        {
            "long_name": "people into each state from pipelines (intake), drawn from it as "
            "replacements (to_units), discharged from units into it (from_units)",
            "units": "people per day",
        },
    )
    data["stock_initial"] = (
        ("run", "state"),
        plan.stock_size0[np.arange(rec.strength.shape[0]) % plan.samples],
        {"long_name": "people in each state at the start", "units": "people"},
    )


def _initial(plan: Plan, runs: int) -> np.ndarray:
    sample = np.arange(runs) % plan.samples
    strength = np.where(plan.unit_present0[sample], plan.unit_strength0[sample], 0.0)
    out = np.zeros((runs, len(plan.forces)))
    for f in range(len(plan.forces)):
        out[:, f] = strength[:, plan.unit_force == f].sum(axis=1)
    return out


class Results:
    """What a simulation produced: a labelled dataset and the summary derived from it."""

    def __init__(self, dataset: xr.Dataset) -> None:
        self._ds = dataset

    def to_xarray(self) -> xr.Dataset:
        """The full results as an :class:`xarray.Dataset`."""
        return self._ds

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads(self._ds.attrs["forcegen_meta"])

    def coverage(self) -> xr.DataArray:
        """Share of each demand filled, per run and day (NaN where nothing is required)."""
        ds = self._ds
        return (ds.filled / ds.required).where(ds.required > 0)

    def fully_covered(self) -> xr.DataArray:
        """Whether each demand is fully covered, per run and day (False where inactive)."""
        ds = self._ds
        return (ds.required > 0) & (ds.filled >= ds.required - FULL)

    def deployed_to_dwell(self) -> xr.DataArray:
        """Per force: unit-days deployed over unit-days not deployed, all units and days."""
        ds = self._ds
        deployed = ds.units_deployed.sum(["run", "day"])
        dwell = ds.units_active.sum(["run", "day"]) - deployed
        return (deployed / dwell.where(dwell > 0)).rename("deployed_to_dwell")

    def mobilised_to_dwell(self) -> xr.DataArray:
        """Days mobilised (in mobilised or deployed positions) over days neither, per force:
        unit-days summed over every run and unit of the force (the reserve's 1:5 rule is a
        ratio of 0.2). NaN where a force's units were never out of mobilisation."""
        ds = self._ds
        if "mobilised_days" not in ds:  # results saved before the record existed
            return self.deployed_to_dwell().rename("mobilised_to_dwell") * np.nan
        by_force = ds.unit_force
        mobilised = ds.mobilised_days.groupby(by_force).sum(...)
        active = ds.active_days.groupby(by_force).sum(...)
        mobilised = mobilised.rename(unit_force="force").reindex(force=ds.force, fill_value=0)
        active = active.rename(unit_force="force").reindex(force=ds.force, fill_value=0)
        dwell = active - mobilised
        return (mobilised / dwell.where(dwell > 0)).rename("mobilised_to_dwell")

    def demand_days_active(self) -> xr.DataArray:
        """Days each demand's window covers in the first run (its required level aside: a
        demand of 0 units is active over its window like any other)."""
        ds = self._ds
        if "demand_first_day" in ds.coords:
            first = ds.demand_first_day.values.astype(np.int64)
            end = ds.demand_end_day.values.astype(np.int64)
            days = np.clip(end, 0, ds.sizes["day"]) - np.clip(first, 0, ds.sizes["day"])
            return xr.DataArray(np.maximum(days, 0), coords={"demand": ds.demand.values})
        return (ds.required.isel(run=0) > 0).sum("day")

    def end_strength(self) -> xr.DataArray:
        """People in each force at the last census, per run."""
        return self._ds.strength.isel(day=-1).sum("location")

    def p_fully_covered(self) -> xr.DataArray:
        """Probability that each demand is fully covered, per day: the share of runs."""
        return self.fully_covered().mean("run").rename("p_fully_covered")

    def bands(self, variable: str, quantiles: Sequence[float] = QUANTILES) -> xr.DataArray:
        """Quantiles across runs of a daily figure (a variable of the dataset)."""
        return self._ds[variable].quantile(list(quantiles), dim="run")

    def day_of(self, when: str | dt.date | np.datetime64 | int) -> int:
        """Day index of a date (``"2023-06-18"``, a date) or of a day number.

        Raises
        ------
        UsageError
            If the day is not one of the days simulated.
        """
        if isinstance(when, int | np.integer) and not isinstance(when, bool):
            day = int(when)
        else:
            try:
                date = np.datetime64(when, "D")
            except ValueError:
                raise UsageError(f"expected a date written YYYY-MM-DD; got {when!r}") from None
            day = int((date - self._ds.date.values[0].astype("datetime64[D]")).astype(int))
        days = self._ds.sizes["day"]
        if not 0 <= day < days:
            first = str(self._ds.date.values[0])[:10]
            last = str(self._ds.date.values[-1])[:10]
            raise UsageError(f"{when!r} is not a day simulated ({first} to {last})")
        return day

    def measure(
        self,
        measure: str,
        *,
        force: str | None = None,
        location: str | None = None,
        unit_type: str | None = None,
        pipeline: str | None = None,
        reservoir: str | None = None,
        demand: str | None = None,
    ) -> xr.DataArray:
        """A measure per run and day, the figure an observation reads (dims run, day).

        Levels (``people``, ``reservoir``, ``units_deployed``, ``coverage``) are the day's
        census; totals (``killed``, ``wounded``, ``missing``, ``deserted``, ``discharged``,
        ``lost`` (every cause but discharge), ``recruits``, ``graduates``) are cumulative
        from day 0 through the day. A qualifier left out sums over it (all forces, all
        locations). ``people`` by ``unit_type`` needs unit-level traces
        (``simulate(..., keep_units=True)``). Coverage is NaN on days nothing is required.
        """
        ds = self._ds
        given = {
            "force": force,
            "location": location,
            "unit_type": unit_type,
            "pipeline": pipeline,
            "reservoir": reservoir,
            "demand": demand,
        }
        for name, value in given.items():
            coord = "unit_type" if name == "unit_type" else name
            if value is not None and value not in set(ds[coord].values.tolist()):
                raise UsageError(f"unknown {name.replace('_', ' ')} {value!r} in these results")
        if measure == "people":
            if unit_type is not None:
                return self._people_of_type(unit_type, force, location)
            strength = ds.strength
            if force is not None:
                strength = strength.sel(force=force)
            if location is not None:
                strength = strength.sel(location=location)
            dims = [d for d in ("force", "location") if d in strength.dims]
            return strength.sum(dims).astype(np.float64)
        if measure in CAUSES or measure == "lost":
            losses = ds.losses if force is None else ds.losses.sel(force=force)
            if measure == "lost":
                losses = losses.sel(cause=[c for c in CAUSES if c != "discharged"]).sum("cause")
            else:
                losses = losses.sel(cause=measure)
            if "force" in losses.dims:
                losses = losses.sum("force")
            return losses.astype(np.float64).cumsum("day")
        if measure in ("recruits", "graduates"):
            if pipeline is None:
                raise UsageError(f"the measure {measure!r} needs a pipeline")
            flows = ds.pipeline_flows.sel(pipeline=pipeline, measure=measure)
            return flows.astype(np.float64).cumsum("day").drop_vars(["pipeline", "measure"])
        if measure == "reservoir":
            if reservoir is None:
                raise UsageError("the measure 'reservoir' needs a reservoir")
            return ds.reservoir_level.sel(reservoir=reservoir).astype(np.float64)
        if measure == "units_deployed":
            units = ds.units_deployed if force is None else ds.units_deployed.sel(force=force)
            if "force" in units.dims:
                units = units.sum("force")
            return units.astype(np.float64)
        if measure == "coverage":
            if demand is None:
                raise UsageError("the measure 'coverage' needs a demand")
            return self._coverage64().sel(demand=demand)
        raise UsageError(f"unknown measure {measure!r}; measures are: {', '.join(MEASURES)}")

    def _coverage64(self) -> xr.DataArray:
        """:meth:`coverage` computed in 64-bit floats (the records may be 32-bit)."""
        filled = self._ds.filled.astype(np.float64)
        required = self._ds.required.astype(np.float64)
        return (filled / required).where(required > 0)

    def _people_of_type(
        self, unit_type: str, force: str | None, location: str | None
    ) -> xr.DataArray:
        ds = self._ds
        if "unit_strength" not in ds:
            raise UsageError(
                "people by unit type need unit-level traces: simulate with keep_units=True "
                "(forcegen run --keep units)"
            )
        units = ds.unit_type.values == unit_type
        if force is not None:
            units &= ds.unit_force.values == force
        position = ds.unit_position.values[:, :, units]
        strength = ds.unit_strength.values[:, :, units].astype(np.float64)
        present = position >= 0
        if location is not None:
            at = np.asarray(ds.position_location.values == location)
            present &= at[np.where(present, position, 0)]
        people = np.where(present, strength, 0.0).sum(axis=2)
        return xr.DataArray(people, dims=("run", "day"), coords={"run": ds.run, "day": ds.day})

    def at(self, when: str | dt.date | np.datetime64 | int) -> pd.DataFrame:
        """Every measure on one day, one row per run, read from the daily records.

        ``results.at("2023-06-18")`` has a column for each measure of
        :meth:`measure` and each thing it is counted over: ``people:<force>``,
        ``people:<force>:<location>``, ``killed:<force>`` (and the other causes, and
        ``lost``), each a total from day 0 through that day; ``recruits:<pipeline>``,
        ``graduates:<pipeline>``; ``reservoir:<id>``; ``units_deployed:<force>``;
        ``coverage:<demand>``. ``.median()`` or ``.quantile([0.05, 0.95])`` of the frame
        gives the model's band that day.
        """
        day = self.day_of(when)
        ds = self._ds
        cols: dict[str, np.ndarray] = {}
        strength = ds.strength.isel(day=day).astype(np.float64)
        losses = ds.losses.isel(day=slice(0, day + 1)).astype(np.float64).sum("day")
        deployed = ds.units_deployed.isel(day=day)
        for f in ds.force.values:
            cols[f"people:{f}"] = strength.sel(force=f).sum("location").values
            for loc in ds.location.values:
                cols[f"people:{f}:{loc}"] = strength.sel(force=f, location=loc).values
            for c in ds.cause.values:
                cols[f"{c}:{f}"] = losses.sel(force=f, cause=c).values
            cols[f"lost:{f}"] = (
                losses.sel(force=f).sel(cause=[c for c in CAUSES if c != "discharged"]).sum("cause")
            ).values
            cols[f"units_deployed:{f}"] = deployed.sel(force=f).values.astype(np.float64)
        flows = ds.pipeline_flows.isel(day=slice(0, day + 1)).astype(np.float64).sum("day")
        for q in ds.pipeline.values:
            cols[f"recruits:{q}"] = flows.sel(pipeline=q, measure="recruits").values
            cols[f"graduates:{q}"] = flows.sel(pipeline=q, measure="graduates").values
        for v in ds.reservoir.values:
            cols[f"reservoir:{v}"] = (
                ds.reservoir_level.isel(day=day).sel(reservoir=v).values.astype(np.float64)
            )
        coverage = self._coverage64().isel(day=day)
        for d in ds.demand.values:
            cols[f"coverage:{d}"] = coverage.sel(demand=d).values
        return pd.DataFrame(cols, index=pd.Index(ds.run.values, name="run"))

    def per_run(self) -> pd.DataFrame:
        """One row per run: its inputs and its headline figures (mean coverage of each demand,
        days fully covered, people lost by force and cause, people at the end by force)."""
        ds = self._ds
        cols: dict[str, Any] = {}
        if "inputs" in ds:
            for name in ds.input.values:
                cols[f"input:{name}"] = ds.inputs.sel(input=name).values
        for var in ds.data_vars:
            if str(var).startswith("choice_"):
                cols[f"choice:{str(var)[len('choice_') :]}"] = ds[var].values
        coverage = self.coverage().mean("day")
        covered = self.fully_covered().sum("day")
        for d in ds.demand.values:
            cols[f"coverage:{d}"] = coverage.sel(demand=d).values
            cols[f"days_fully_covered:{d}"] = covered.sel(demand=d).values
        losses = ds.losses.sum("day")
        end = self.end_strength()
        for f in ds.force.values:
            for c in ds.cause.values:
                cols[f"lost:{f}:{c}"] = losses.sel(force=f, cause=c).values
            cols[f"people_end:{f}"] = end.sel(force=f).values
        if "stock_level" in ds:
            stock_end = ds.stock_level.isel(day=-1).astype(np.float64)
            for i in ds.state.values:
                cols[f"stock_end:{i}"] = stock_end.sel(state=i).values
        return pd.DataFrame(cols, index=pd.Index(ds.run.values, name="run"))

    def headline(self, quantiles: Sequence[float] = QUANTILES) -> dict[str, Any]:
        """The part of :meth:`summary` a headline table shows, the same figures to the bit:
        its ``demands`` and ``forces``, each entry without the bands and sums that only the
        whole summary gives (days fully covered by quantile, losses by quantile, gains,
        stocks, units deployed, mobilised-to-dwell). A page that shows the headline after
        every run computes it in a fraction of the whole summary's time."""
        band = _band(quantiles)
        return {
            "demands": self._demands_summary(band, brief=True),
            "forces": self._forces_summary(band, brief=True),
        }

    def _demands_summary(
        self, band: Callable[[xr.DataArray], list[float | None]], *, brief: bool = False
    ) -> list[dict[str, Any]]:
        """The summary's ``demands`` (``brief``: the headline's fields only)."""
        ds = self._ds
        covered = self.fully_covered()
        coverage = self.coverage()
        p_full = self.p_fully_covered()
        demands = []
        days_active = self.demand_days_active()
        for d in ds.demand.values:
            req = ds.required.sel(demand=d)
            window = _window(ds, str(d), req)
            active_days = int(days_active.sel(demand=d))
            # Coverage is a share of what is required: none for a demand of nothing.
            measured = active_days if float(req.max()) > 0 else 0
            cov = coverage.sel(demand=d)
            days_full = covered.sel(demand=d).sum("day")
            entry: dict[str, Any] = {
                "id": str(d),
                "location": str(ds.demand_location.sel(demand=d).item()),
                "measure": str(ds.demand_measure.sel(demand=d).item()),
                "required": _num(req.max()),
                "days_active": active_days,
                "coverage_mean": _num(cov.mean()) if measured else None,
                "days_fully_covered_mean": _num(days_full.mean()),
            }
            if not brief:
                entry["share_of_days_fully_covered"] = (
                    _num(days_full.mean() / measured) if measured else None
                )
            entry["coverage_q"] = band(cov.mean("day")) if measured else None
            if not brief:
                entry["days_fully_covered_q"] = band(days_full)
            entry["p_fully_covered_min"] = (
                _num(p_full.sel(demand=d).where(window).min()) if measured else None
            )
            demands.append(entry)
        return demands

    def _forces_summary(
        self, band: Callable[[xr.DataArray], list[float | None]], *, brief: bool = False
    ) -> list[dict[str, Any]]:
        """The summary's ``forces`` (``brief``: the headline's fields only)."""
        ds = self._ds
        ratio = self.deployed_to_dwell()
        losses = ds.losses.sum("day").mean("run")
        end_per_run = self.end_strength()
        end = end_per_run.mean("run")
        if not brief:
            mobilised_ratio = self.mobilised_to_dwell()
            flows = ds.flows.sum("day").mean("run")
            stocks = ds.stocks.isel(day=-1).mean("run")
        forces = []
        for f in ds.force.values:
            entry: dict[str, Any] = {"force": str(f), "deployed_to_dwell": _num(ratio.sel(force=f))}
            if not brief:
                entry["mobilised_to_dwell"] = _num(mobilised_ratio.sel(force=f))
                entry["units_deployed_mean"] = _num(ds.units_deployed.sel(force=f).mean())
            entry["people_start"] = _num(ds.initial_strength.sel(force=f).mean())
            entry["people_end_mean"] = _num(end.sel(force=f))
            entry["losses_mean"] = {
                str(c): _num(losses.sel(force=f, cause=c)) for c in ds.cause.values
            }
            if not brief:
                entry["losses_q"] = {
                    str(c): band(ds.losses.sel(force=f, cause=c).sum("day"))
                    for c in ds.cause.values
                }
            entry["people_end_q"] = band(end_per_run.sel(force=f))
            if not brief:
                entry["wounded_out_mean"] = _num(
                    losses.sel(force=f, cause="wounded")
                    - flows.sel(force=f, flow="wounded_returning")
                )
                entry["gains_mean"] = {
                    str(k): _num(flows.sel(force=f, flow=k))
                    for k in ("formed", "replaced", "returned")
                }
                entry["end_stocks_mean"] = {
                    str(k): _num(stocks.sel(force=f, stock=k)) for k in ds.stock.values
                }
            forces.append(entry)
        return forces

    def summary(self, quantiles: Sequence[float] = QUANTILES) -> dict[str, Any]:
        """The headline figures, in the documented, versioned layout.

        Each figure that varies between runs also gives its quantiles across runs
        (``*_q``: one value per entry of ``quantiles``, listed in ``run.quantiles``).
        """
        ds = self._ds
        meta = self.meta
        q = list(quantiles)
        band = _band(q)
        strength = ds.strength.mean(["run", "day"])
        demands = self._demands_summary(band)
        locations = [
            {
                "force": str(f),
                "location": str(loc),
                "mean": _num(strength.sel(force=f, location=loc)),
                "q": band(ds.strength.sel(force=f, location=loc).mean("day")),
            }
            for f in ds.force.values
            for loc in ds.location.values
            if float(ds.strength.sel(force=f, location=loc).max()) > 0
        ]
        forces = self._forces_summary(band)
        unit_types = self._unit_types_summary(band)
        recruits = ds.pipeline_flows.sum("day").mean("run")
        pipelines = [
            {
                "id": str(q),
                "force": str(ds.pipeline_force.sel(pipeline=q).item()),
                "recruits_mean": _num(recruits.sel(pipeline=q, measure="recruits")),
                "graduates_mean": _num(recruits.sel(pipeline=q, measure="graduates")),
                "in_training_end_mean": _num(
                    ds.pipeline_flows.sel(pipeline=q, measure="in_training").isel(day=-1).mean()
                ),
            }
            for q in ds.pipeline.values
        ]
        level = ds.reservoir_level
        reservoirs = [
            {
                "id": str(v),
                "end_mean": _num(level.sel(reservoir=v).isel(day=-1).mean()),
                "end_min": _num(level.sel(reservoir=v).isel(day=-1).min()),
                "drawn_mean": _num(
                    recruits.sel(measure="recruits")
                    .where(ds.pipeline.isin(meta["pipeline_reservoirs"].get(str(v), [])), 0)
                    .sum()
                ),
            }
            for v in ds.reservoir.values
        ]
        out = {
            "format": SUMMARY_FORMAT,
            "version": SUMMARY_VERSION,
            "scenario": meta["scenario"],
            "run": {**meta["run"], "quantiles": q},
            "demands": demands,
            "strength": locations,
            "forces": forces,
            "unit_types": unit_types,
            "pipelines": pipelines,
            "reservoirs": reservoirs,
            "claims": meta["claims"],
            "assumptions": meta["assumptions"],
        }
        if "stock_level" in ds:  # only where the scenario has states and their stocks
            out["stocks"] = self._stocks_summary(band)
        return out

    def _stocks_summary(self, band: Any) -> list[dict[str, Any]]:
        """One entry per state: its stock at the start and at the end, and its flows
        summed over days (mean over runs), transitions by destination."""
        ds = self._ds
        level = ds.stock_level.astype(np.float64)
        flows = ds.stock_flows.astype(np.float64).sum("day")
        moved = ds.transition_flows.astype(np.float64).sum("day")
        states = []
        for i in ds.state.values:
            leaving = ds.transition_from.values == i
            states.append(
                {
                    "id": str(i),
                    "force": str(ds.state_force.sel(state=i).item()),
                    "start_mean": _num(ds.stock_initial.sel(state=i).mean()),
                    "end_mean": _num(level.sel(state=i).isel(day=-1).mean()),
                    "end_q": band(level.sel(state=i).isel(day=-1)),
                    "mean": _num(level.sel(state=i).mean()),
                    "flows_mean": {
                        str(k): _num(flows.sel(state=i, stock_flow=k).mean())
                        for k in ds.stock_flow.values
                    },
                    "transitions_mean": {
                        str(ds.transition_to.values[e]): _num(moved.isel(transition=e).mean())
                        for e in np.flatnonzero(leaving)
                    },
                    "in_mean": _num(
                        moved.isel(transition=np.flatnonzero(ds.transition_to.values == i))
                        .sum("transition")
                        .mean()
                    ),
                }
            )
        return states

    def _unit_types_summary(self, band: Any) -> list[dict[str, Any]]:
        """Units deployed per unit type (``unit_types[]`` of the summary); none for results
        written before the records counted them."""
        ds = self._ds
        if "units_deployed_by_type" not in ds:
            return []
        by_type = ds.units_deployed_by_type
        return [
            {
                "id": str(y),
                "units_deployed_mean": _num(by_type.sel(type=y).mean()),
                "units_deployed_q": band(by_type.sel(type=y).mean("day")),
                "units_deployed_max": int(by_type.sel(type=y).max()),
            }
            for y in ds.type.values
        ]


def _band(quantiles: Sequence[float]) -> Callable[[xr.DataArray], list[float | None]]:
    """The summary's band of a per-run figure: its quantiles across runs, as numbers."""
    q = list(quantiles)

    def band(per_run: xr.DataArray) -> list[float | None]:
        return [_num(v) for v in per_run.quantile(q, dim="run").values]

    return band


def _window(ds: xr.Dataset, demand: str, required: xr.DataArray) -> xr.DataArray:
    """Whether a demand is on in the first run, per day: by its window where the results
    have it, else where it requires something."""
    if "demand_first_day" not in ds.coords:
        return required.isel(run=0) > 0
    first = int(ds.demand_first_day.sel(demand=demand))
    end = int(ds.demand_end_day.sel(demand=demand))
    return (ds.day >= first) & (ds.day < end)


def _num(value: Any) -> float | None:
    x = float(value)
    return None if not np.isfinite(x) else round(x, 6)
