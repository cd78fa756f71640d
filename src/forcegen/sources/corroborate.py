"""Corroboration: the numbers different sources give for the same quantity, side by side.

A quantity is one place of a scenario, named by its field path with list indices replaced by
ids (``demands[front-line].people``), so that the same place in several files of a study is
one quantity; an observation is the figure it counts (``people of RU at belarus``). Every
number placed there that cites claims is an *entry*: a plain value, or one option of a
choice. Entries alike in value and claims (the same option in two files) are one entry.

A group *disagrees* when its entries give different values on different claims. For each
group the comparison gives the ratio of the largest value to the smallest and their spread
(in the units people write: ``39,200 people``, ``2.1%/month``), and proposes a ``choose:``
block ready to paste: one option per source, each citing its claims, the default the option
whose distinguishing claim is best graded (reliability A before F, then credibility 1
before 6); observations get none, since each is held against the runs on its own
(``forcegen check``). For a number that is already a choice the block keeps its name and options, so
that it can replace every use of that choice at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from forcegen.report import formats
from forcegen.scenario.claims import NOT_CLAIMS, quantities
from forcegen.scenario.model import Observation, Scenario
from forcegen.scenario.paths import format_loc, readable
from forcegen.scenario.quantities import Choice, Value, kind_of

_WORST = ("Z", 9)
_MONTH = 30


@dataclass
class Source:
    """A claim an entry rests on, as the comparison shows it."""

    id: str
    grade: str | None
    publication: str | None
    date: str | None

    @property
    def rank(self) -> tuple[str, int]:
        """Sort key of the grade: best first (A1), ungraded last."""
        if not self.grade or len(self.grade) < 2 or not self.grade[1:].isdigit():
            return _WORST
        return self.grade[0].upper(), int(self.grade[1:])

    def label(self) -> str:
        where = ", ".join(x for x in (self.publication, self.date) if x)
        return f"{self.id} ({self.grade or 'ungraded'})" + (f": {where}" if where else "")


@dataclass
class Entry:
    """One value given for a quantity, with the claims it cites and where it is written."""

    value: float
    cites: tuple[str, ...]
    sources: list[Source]
    files: list[str]
    option: str | None = None
    choose: str | None = None
    when: str | None = None
    distinct: list[Source] = field(default_factory=list)
    """The cited claims no other entry of the group cites: what sets this source apart."""

    @property
    def rank(self) -> tuple[str, int]:
        return min((s.rank for s in self.distinct or self.sources), default=_WORST)


@dataclass
class Group:
    """The entries of one quantity, over every file compared."""

    quantity: str
    measure: str
    entries: list[Entry]
    path: str = ""
    """The field path of the quantity (empty for an observation); ``quantity`` is readable."""

    @property
    def disagree(self) -> bool:
        values = {e.value for e in self.entries}
        return len(values) > 1 and len({e.cites for e in self.entries}) > 1

    @property
    def ratio(self) -> float | None:
        low, high = min(e.value for e in self.entries), max(e.value for e in self.entries)
        return high / low if low > 0 else None

    @property
    def spread(self) -> float:
        return max(e.value for e in self.entries) - min(e.value for e in self.entries)

    @property
    def best(self) -> Entry:
        return min(self.entries, key=lambda e: e.rank)

    def proposal(self) -> dict[str, Any]:
        """The ``choose:`` block: choice name, default option and options."""
        names = _option_names(self)
        choose = next((e.choose for e in self.entries if e.choose), None) or _slug(self.quantity)
        options = {
            name: {"value": _written(e.value, self.measure), "cites": list(e.cites)}
            for name, e in zip(names, self.entries, strict=True)
        }
        default = names[self.entries.index(self.best)]
        return {"choose": choose, "default": default, "options": options}

    def proposal_yaml(self, indent: int = 0) -> str:
        """The proposal as YAML text, each option annotated with its source and grade."""
        block = self.proposal()
        pad = " " * indent
        lines = [f"{pad}choose: {block['choose']}", f"{pad}default: {block['default']}"]
        lines.append(f"{pad}options:")
        for (name, option), entry in zip(block["options"].items(), self.entries, strict=True):
            cites = ", ".join(option["cites"])
            about = "; ".join(s.label() for s in entry.distinct or entry.sources)
            lines.append(
                f"{pad}  {name}: {{value: {option['value']}, cites: [{cites}]}}  # {about}"
            )
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "quantity": self.quantity,
            "path": self.path or None,
            "measure": self.measure,
            "disagree": self.disagree,
            "ratio": None if ratio is None else round(ratio, 6),
            "spread": self.spread,
            "spread_text": formats.quantity(self.spread, self.measure),
            "entries": [
                {
                    "value": e.value,
                    "value_text": formats.quantity(e.value, self.measure),
                    "option": e.option,
                    "choose": e.choose,
                    "when": e.when,
                    "cites": list(e.cites),
                    "sources": [vars(s) for s in e.distinct or e.sources],
                    "files": e.files,
                }
                for e in self.entries
            ],
            "proposal": self.proposal() if self.path else None,
            "proposal_yaml": self.proposal_yaml() if self.path else None,
        }


def corroborate(scenarios: Sequence[Scenario], names: Sequence[str] | None = None) -> list[Group]:
    """Group the cited numbers of scenarios by the quantity they give.

    Parameters
    ----------
    scenarios
        Validated scenarios: the files of one study, or one file.
    names
        A name for each scenario (its file), shown with each entry.

    Returns
    -------
    list of Group
        One per quantity with at least one cited number, those that disagree first (by
        ratio, largest first), then in the order met.
    """
    names = list(names or [s.name for s in scenarios])
    groups: dict[str, Group] = {}
    for scenario, name in zip(scenarios, names, strict=True):
        for key, path, measure, entry in _entries(scenario, name):
            group = groups.setdefault(key, Group(key, measure, [], path))
            same = next(
                (
                    e
                    for e in group.entries
                    if (e.value, e.cites, e.option, e.when)
                    == (entry.value, entry.cites, entry.option, entry.when)
                ),
                None,
            )
            if same is None:
                group.entries.append(entry)
            elif name not in same.files:
                same.files.append(name)
    out = list(groups.values())
    for group in out:
        shared = set.intersection(*(set(e.cites) for e in group.entries))
        for e in group.entries:
            e.distinct = [s for s in e.sources if s.id not in shared]
    order = {id(g): i for i, g in enumerate(out)}
    return sorted(out, key=lambda g: (not g.disagree, -(g.ratio or 0), order[id(g)]))


def _entries(scenario: Scenario, name: str) -> list[tuple[str, str, str, Entry]]:
    """(quantity, path, measure, entry) for every cited number of a scenario."""
    claims = {c.id: c for c in scenario.claims}

    def sources(cites: Sequence[str]) -> list[Source]:
        return [_source(cid, claims.get(cid)) for cid in cites]

    out = []
    for loc, q in quantities(scenario):
        if loc in NOT_CLAIMS:
            continue
        path = format_loc(loc)
        key = readable(path, scenario)
        kind = kind_of(scenario, loc)
        measure = kind.measure if kind is not None else ""
        if isinstance(q, Value) and q.cites:
            entry = Entry(q.value, tuple(q.cites), sources(q.cites), [name])
            out.append((key, path, measure, entry))
        elif isinstance(q, Choice):
            for option, v in q.options.items():
                if v.cites:
                    entry = Entry(
                        v.value, tuple(v.cites), sources(v.cites), [name], option, q.choose
                    )
                    out.append((key, path, measure, entry))
    for obs in scenario.observations:
        if obs.value is None or not obs.cites:
            continue
        when = obs.window[0].isoformat() if obs.window[0] else None
        entry = Entry(float(obs.value), tuple(obs.cites), sources(obs.cites), [name], when=when)
        out.append((_observed(obs), "", "share" if obs.is_share else "people", entry))
    return out


def _observed(obs: Observation) -> str:
    """An observation's figure in words: ``observed people of RU at belarus``."""
    words = [f"observed {obs.measure}"]
    for label, value in (
        ("of", obs.force),
        ("at", obs.location),
        ("in", obs.unit_type),
        ("through", obs.pipeline),
        ("from", obs.reservoir),
        ("for", obs.demand),
    ):
        if value:
            words.append(f"{label} {value}")
    if obs.share_of is not None:
        words.append(f"as a share of {obs.share_of.measure}")
    return " ".join(words)


def _source(cid: str, claim: BaseModel | None) -> Source:
    if claim is None:
        return Source(cid, None, None, None)
    source = getattr(claim, "source", None)
    date = getattr(source, "date", None)
    grade = getattr(claim, "grade", None)
    if not grade and getattr(claim, "reliability", None):
        grade = f"{claim.reliability}{getattr(claim, 'credibility', '') or ''}"  # type: ignore[attr-defined]
    return Source(
        cid,
        str(grade) if grade else None,
        getattr(source, "publication", None),
        date.isoformat() if date is not None else None,
    )


def _option_names(group: Group) -> list[str]:
    names: list[str] = []
    for e in group.entries:
        base = e.option or (
            e.distinct[0].id if e.distinct else (e.cites[0] if e.cites else "option")
        )
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    if not slug or not slug[0].isalpha():
        slug = "q-" + slug
    return slug[:64].rstrip("-")


def _written(value: float, measure: str) -> str | int | float:
    """A canonical value as a scenario would write it, in the units people use."""
    if measure == "days":
        return f"{value:g}d"
    if measure == "probability per day":
        monthly = 1.0 - (1.0 - value) ** _MONTH
        return f"{100 * monthly:.6g}%/mo"
    if measure == "people per day":
        return f"{value * _MONTH:.6g}/mo"
    if math.isfinite(value) and value == int(value):
        return int(value)
    return value


def render(groups: Sequence[Group]) -> str:
    """The groups as terminal text: entries, disagreement, and the proposed block."""
    if not groups:
        return "no quantity is given different values by different claims\n"
    out = []
    for g in groups:
        unit = f" ({g.measure})" if g.measure else ""
        head = f"{g.quantity}{unit}"
        if g.disagree:
            ratio = g.ratio
            by = f"max/min {ratio:.2f}, " if ratio is not None else ""
            head += f": sources disagree, {by}spread {formats.quantity(g.spread, g.measure)}"
        else:
            head += ": sources agree"
        out.append(head)
        width = max(len(formats.quantity(e.value, g.measure)) for e in g.entries)
        for e in g.entries:
            shown = formats.quantity(e.value, g.measure).rjust(width)
            option = f"[{e.choose}={e.option}] " if e.option else ""
            when = f"on {e.when} " if e.when else ""
            about = "; ".join(s.label() for s in e.distinct or e.sources)
            out.append(f"  {shown}  {option}{when}{about}  ({', '.join(e.files)})")
        if g.disagree and not g.path:
            out.append(
                "  (observations are each held against the runs: forcegen check weighs them)"
            )
        elif g.disagree:
            best = g.best
            grades = "; ".join(f"{s.id} {s.grade or '?'}" for s in best.distinct or best.sources)
            out.append(f"  proposed choice (default: the best graded, {grades}):")
            out.append(g.proposal_yaml(indent=4).rstrip("\n"))
        out.append("")
    return "\n".join(out) + "\n"
