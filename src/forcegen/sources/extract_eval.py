"""Measure claim extraction against hand-annotated articles.

An annotated article is ``NAME.txt`` (the text) beside ``NAME.yaml``: the publication's
details, ``held_out`` (true for articles kept out of sight while the rules were written)
and ``claims``, each ``{at, number, value, kind, hedge, attribution, who}``: ``at`` is a
snippet found once in the text and ``number`` the number as written inside it, so the
annotation pins an exact span without counting characters by hand.

A drafted claim matches an annotated one when their number spans overlap (one to one, in
text order). Precision is the share of drafted claims that match, recall the share of
annotated claims matched; each field (value, kind, hedge, attribution) is scored over the
matched pairs. Attribution is right when the kind is right and, for a named person, the
surname appears in ``attributed_to``, or for an official body they share a content word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forcegen.scenario.yamlio import read_yaml
from forcegen.sources.extract import Article, Extracted, extract


def _split(words: str) -> list[str]:
    """The words of a word list written as one string."""
    return words.split()


FIELDS = ("value", "kind", "hedge", "attribution")


@dataclass(frozen=True)
class Annotated:
    """One hand-annotated claim, located in its text."""

    start: int
    end: int
    value: float | tuple[float, float]
    kind: str
    hedge: str | None
    attribution: str
    who: str


@dataclass(frozen=True)
class Document:
    """An annotated article."""

    name: str
    text: str
    meta: dict[str, Any]
    claims: tuple[Annotated, ...]

    @property
    def held_out(self) -> bool:
        return bool(self.meta.get("held_out"))


def load_document(path: Path) -> Document:
    """Read ``NAME.txt`` and its annotation ``NAME.yaml``; a snippet that is missing or
    found twice is an error naming the claim."""
    text = path.with_suffix(".txt").read_text(encoding="utf-8")
    data, _ = read_yaml(path.with_suffix(".yaml"))
    claims = []
    for i, c in enumerate(data.get("claims") or []):
        at, number = str(c["at"]), str(c["number"])
        where = text.find(at)
        if where < 0 or text.find(at, where + 1) >= 0:
            raise ValueError(f"{path.name}: claims[{i}].at {at!r} is not found exactly once")
        inner = at.find(number)
        if inner < 0:
            raise ValueError(f"{path.name}: claims[{i}].number {number!r} is not inside at")
        value = c["value"]
        claims.append(
            Annotated(
                start=where + inner,
                end=where + inner + len(number),
                value=tuple(float(v) for v in value) if isinstance(value, list) else float(value),  # type: ignore[arg-type]
                kind=str(c["kind"]),
                hedge=c.get("hedge"),
                attribution=str(c["attribution"]),
                who=str(c.get("who") or ""),
            )
        )
    meta = {k: v for k, v in data.items() if k != "claims"}
    return Document(path.stem, text, meta, tuple(claims))


def load_corpus(folder: Path) -> list[Document]:
    """Every annotated article in a folder, by name."""
    return [load_document(p) for p in sorted(folder.glob("*.yaml"))]


_SYNONYMS = {
    "defence": "defense",
    "mod": "ministry defense",
    "uk": "britain",
    "u.k.": "britain",
    "uk's": "britain",
    "british": "britain",
    "britain's": "britain",
}
_NOISE = frozenset(_split("the of a an and in on its his her their"))


def _content_words(text: str) -> set[str]:
    words: set[str] = set()
    for w in re.findall(r"[\w.'’]+", text.lower()):
        w = w.strip(".")
        for part in _SYNONYMS.get(w, w).split():
            if part not in _NOISE:
                words.add(part)
    return words


def attribution_right(truth: Annotated, drafted: Extracted) -> bool:
    """Whether a drafted attribution is right: same kind and, for named persons and
    official bodies, the same speaker."""
    if drafted.attribution.kind != truth.attribution:
        return False
    if truth.attribution == "named":
        surname = truth.who.split()[-1].lower()
        return surname in drafted.attribution.who.lower()
    if truth.attribution == "official":
        return bool(_content_words(truth.who) & _content_words(drafted.attribution.who))
    return True


def _same_value(a: float | tuple[float, float], b: float | tuple[float, float]) -> bool:
    if isinstance(a, tuple) != isinstance(b, tuple):
        return False
    pairs = zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]  # type: ignore[arg-type]
    return all(abs(x - y) <= 1e-9 * max(1.0, abs(x)) for x, y in pairs)


@dataclass
class Score:
    """Counts for one article or a set of them."""

    drafted: int = 0
    annotated: int = 0
    matched: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.drafted if self.drafted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.annotated if self.annotated else 1.0

    def accuracy(self, name: str) -> float:
        """Share of matched claims whose field ``name`` is right."""
        return self.right[name] / self.matched if self.matched else 1.0

    def add(self, other: Score) -> None:
        self.drafted += other.drafted
        self.annotated += other.annotated
        self.matched += other.matched
        for k in FIELDS:
            self.right[k] += other.right[k]
        self.misses += other.misses
        self.extras += other.extras
        self.wrong += other.wrong


def score_document(doc: Document) -> Score:
    """Extract from one annotated article and score the drafts against the annotation."""
    article = Article(doc.text, publication=doc.meta.get("publication"))
    drafted = extract(article)
    score = Score(drafted=len(drafted), annotated=len(doc.claims))
    used: set[int] = set()
    for truth in doc.claims:
        hit = next(
            (
                i
                for i, d in enumerate(drafted)
                if i not in used and d.start < truth.end and truth.start < d.end
            ),
            None,
        )
        if hit is None:
            score.misses.append(f"{doc.name}: missed {doc.text[truth.start : truth.end]!r}")
            continue
        used.add(hit)
        d = drafted[hit]
        score.matched += 1
        checks = {
            "value": _same_value(truth.value, d.quantity.value),
            "kind": truth.kind == d.quantity.kind,
            "hedge": truth.hedge == d.quantity.hedge,
            "attribution": attribution_right(truth, d),
        }
        for name, ok in checks.items():
            score.right[name] += ok
            if not ok:
                score.wrong.append(
                    f"{doc.name}: {d.number!r} {name}: drafted "
                    f"{_field_of(d, name)!r}, annotated {_truth_of(truth, name)!r}"
                )
    for i, d in enumerate(drafted):
        if i not in used:
            score.extras.append(f"{doc.name}: extra {d.number!r} ({d.quantity.kind})")
    return score


def _field_of(d: Extracted, name: str) -> object:
    if name == "attribution":
        return f"{d.attribution.kind}: {d.attribution.who}"
    return getattr(d.quantity, name)


def _truth_of(t: Annotated, name: str) -> object:
    if name == "attribution":
        return f"{t.attribution}: {t.who}"
    return getattr(t, name)


def evaluate(docs: Sequence[Document]) -> dict[str, Score]:
    """Scores per article, then ``all``, ``tuning`` (articles seen while writing the
    rules) and ``held-out``."""
    out: dict[str, Score] = {}
    totals = {"all": Score(), "tuning": Score(), "held-out": Score()}
    for doc in docs:
        s = score_document(doc)
        out[doc.name] = s
        totals["all"].add(s)
        totals["held-out" if doc.held_out else "tuning"].add(s)
    out.update(totals)
    return out


def table(scores: dict[str, Score]) -> Iterable[str]:
    """The scores as lines of a plain table."""
    head = f"{'article':<34} {'drafted':>7} {'annot.':>6} {'prec.':>6} {'recall':>6}"
    head += "".join(f" {name[:6]:>6}" for name in FIELDS)
    yield head
    for name, s in scores.items():
        row = f"{name:<34} {s.drafted:>7} {s.annotated:>6} {s.precision:>6.0%} {s.recall:>6.0%}"
        row += "".join(f" {s.accuracy(f):>6.0%}" for f in FIELDS)
        yield row
