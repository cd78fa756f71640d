"""Draft claims from an article: the numbers that bear on force generation, with who said them.

A small grammar of regular expressions and word lists, no trained model. For each number
(digits or words, a range, a hedge before it) it finds what is counted (people, units,
a duration, a rate, money or a share), drops what is not a claim (dates, years, clock times,
"eight days later"), finds who the sentence attributes it to (a named person, an official
body, an anonymous source or, failing all, the outlet itself), suggests an Admiralty grade by
the rules of :data:`GRADE_RULES`, and where it can tell, the scenario field it would feed.

Every quantity keeps its exact character span in the article's plain text
(``text[start:end]`` is the number as written) and the sentence it stands in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forcegen.sources.extract_text import (
    Sentence,
    guess_format,
    plain_text,
    quoted_at,
    sentences,
)


def _split(words: str) -> list[str]:
    """The words of a word list written as one string."""
    return words.split()


KINDS = ("people", "units", "duration", "rate", "money", "share")
"""What a quantity counts."""

ATTRIBUTIONS = ("named", "official", "anonymous", "outlet")
"""Who a statement is attributed to; the outlet itself when the text names nobody."""

HEDGES = ("about", "at_least", "at_most", "conditional")
"""Hedges as bounds (about, at least, at most) or as a possibility (would, could, may)."""

# --- numbers ------------------------------------------------------------------------------

_SMALL = {
    w: i
    for i, w in enumerate(
        _split(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen"
        )
    )
}
_SMALL.update(
    {
        w: 10 * (i + 2)
        for i, w in enumerate(_split("twenty thirty forty fifty sixty seventy eighty ninety"))
    }
)
_SCALES = {"hundred": 100, "dozen": 12, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_SCALE_ABBREVIATIONS = {"k": 1e3, "mln": 1e6, "m": 1e6, "bn": 1e9}

_WORD = "(?:" + "|".join(sorted([*_SMALL, *_SCALES], key=len, reverse=True)) + ")"
_WORDS = (
    rf"(?:(?:a|an)[ \t]+(?=hundred|thousand|million|billion|dozen))?"
    rf"{_WORD}(?:(?:[ \t]+and[ \t]+|[ \t-]+){_WORD})*"
)
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d,.])|\d+(?:\.\d+)?"
_SCALE = r"(?:[ \t-]*(?:thousand|million|billion)\b|[ \t]?(?:mln|bn)\b|k\b)?"
_NUM = rf"(?:(?:{_DIGITS}){_SCALE}|\b{_WORDS}\b)"
_CURRENCY = r"(?:US\$|\$|€|£|₽)"
_QUANTITY = re.compile(
    rf"(?P<between>\bbetween[ \t]+)?(?P<cur>{_CURRENCY}[ \t]?)?(?P<n1>{_NUM})"
    rf"(?:(?P<sep>[ \t]*(?:-|–|—|to)[ \t]*|[ \t]+and[ \t]+){_CURRENCY}?[ \t]?(?P<n2>{_NUM}))?",
    re.IGNORECASE,
)


def number_value(text: str) -> float:
    """The value of a number written in digits or words: ``45,000``, ``9 000``, ``1.5
    million``, ``45 thousand``, ``forty-five thousand``, ``a thousand``, ``two dozen``."""
    t = text.strip().lower()
    digits = re.match(r"(\d[\d,\u00a0\u202f .]*)", t)
    if digits and re.fullmatch(_DIGITS, digits.group(1).strip()):
        raw = digits.group(1).strip()
        value = float(re.sub(r"[,\u00a0\u202f ]", "", raw))
        rest = t[len(digits.group(1)) :].strip(" -\t")
        if rest in _SCALES:
            value *= _SCALES[rest]
        elif rest in _SCALE_ABBREVIATIONS:
            value *= _SCALE_ABBREVIATIONS[rest]
        return value
    total = 0.0
    current = 0.0
    for token in re.split(r"[\s-]+", t):
        if token in ("and", ""):
            continue
        if token in ("a", "an"):
            current = 1.0
        elif token in _SMALL:
            current += _SMALL[token]
        elif token in ("hundred", "dozen"):
            current = max(current, 1.0) * _SCALES[token]
        elif token in _SCALES:
            total += max(current, 1.0) * _SCALES[token]
            current = 0.0
        else:
            raise ValueError(f"not a number: {text!r}")
    return total + current


def _scale_of(text: str) -> float | None:
    m = re.search(r"(thousand|million|billion|mln|bn|k)\s*$", text.strip(), re.I)
    if m is None:
        return None
    word = m.group(1).lower()
    return _SCALES.get(word) or _SCALE_ABBREVIATIONS[word]


# --- word lists ---------------------------------------------------------------------------

_PEOPLE = frozenset(
    _split("""people persons person men women soldiers soldier troops troop servicemen serviceman
    servicemembers personnel reservists reservist recruits recruit conscripts conscript
    draftees mobilised mobilized mobilisees prisoners prisoner convicts convict inmates
    mercenaries mercenary fighters fighter volunteers volunteer contractors officers
    instructors sailors marines paratroopers russians belarusians ukrainians wagnerites
    contracts agreements casualties criminals individuals dead killed wounded losses deserters
    citizens men's combatants militants guardsmen cadets veterans""")
)
_UNITS = frozenset(
    _split("""brigades brigade battalions battalion regiments regiment divisions division companies
    company units unit formations formation btgs btg corps armies squadrons platoons
    groups""")
)
_TIME_UNITS = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "yr": "year",
    "yrs": "year",
}
_RATE_MARKERS = re.compile(
    r"\b(?:(?:per|a|an|each|every)\s+(?P<unit>day|week|month|year)|(?P<adv>daily|weekly|monthly|"
    r"annually|yearly))\b",
    re.I,
)
_ADVERB_UNITS = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "annually": "year",
    "yearly": "year",
}
_MONEY_WORDS = {
    "dollars": "USD",
    "dollar": "USD",
    "usd": "USD",
    "rubles": "RUB",
    "roubles": "RUB",
    "ruble": "RUB",
    "rouble": "RUB",
    "rub": "RUB",
    "euros": "EUR",
    "euro": "EUR",
    "pounds": "GBP",
    "hryvnias": "UAH",
    "hryvnia": "UAH",
}
_CURRENCY_CODES = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB"}
_MONTHS = _split(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_MILITARY = re.compile(
    r"\b(?:army|armies|troops|soldiers|servicemen|forces|military|mobili[sz]\w*|reservists|"
    r"recruit\w*|personnel|fighters|conscripts|mercenar\w*|contract\w*|deploy\w*|front)\b",
    re.I,
)
_SERVICE = re.compile(
    r"\b(?:front|tour|rotat\w*|stint|deploy\w*|serv\w*|duty|contract\w*|pardon\w*|"
    r"train\w*|fight\w*)\b",
    re.I,
)
_STOPWORDS = frozenset(
    _split("of the in at on to for by with from and are were is was have has a an")
)

_HEDGE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "at_most",
        re.compile(
            r"\b(?:up to|as many as|almost|nearly|fewer than|less than|under|no more than|"
            r"a maximum of|at most)\s*$",
            re.I,
        ),
    ),
    (
        "at_least",
        re.compile(
            r"\b(?:more than|over|at least|in excess of|upwards of|no fewer than|no less than|"
            r"above|exceeding|a minimum of)\s*$",
            re.I,
        ),
    ),
    (
        "about",
        re.compile(
            r"\b(?:about|around|approximately|approx\.|roughly|some|an estimated|estimated|"
            r"circa|ca\.|close to|nearly|on the order of|or so|(?:somewhere\s+)?at the level of|"
            r"in the region of)\s*$",
            re.I,
        ),
    ),
)
_MODAL = re.compile(r"\b(?:would|could|may|might)\b", re.I)

# --- attribution --------------------------------------------------------------------------

_SAY = (
    r"(?:has\s+|had\s+|have\s+|also\s+|later\s+|earlier\s+|previously\s+|then\s+)*"
    r"(?:said|says|told|tells|stated|states|announced|announces|claimed|claims|noted|notes|"
    r"reported|reports|added|explained|informed|estimated|estimates|emphasi[sz]ed|insisted|"
    r"wrote|writes|confirmed|assured|warned|calls|laid out|was on record|is on record|"
    r"made (?:this|the|that) statement)\b"
)
_SUBJECT_SAYS = re.compile(rf"(?P<x>[^,;:()\"“”«»]+?),?\s+{_SAY}")
_SAYS_SUBJECT = re.compile(
    r"(?:said|says|stated|explained|added|noted|wrote|reported|announced)\s+"
    r"(?P<x>(?:the\s+)?[A-Z][\w'’-]*(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\w'’-]*)*)"
    r"(?=\s*(?:[.,;:!?]|$))"
)
"""The inverted form closing a quotation: ``..." said Andriy Demchenko.``"""
_BY = re.compile(
    r"\b(?:stated|said|told|reported|claimed)\s+(?:to\s+\S+\s+)?by\s+(?P<x>[^,.;:\"“”«»]+)"
)
_ACCORDING = re.compile(r"\baccording to\s+(?P<x>[^,.;:\"“”«»]+)", re.I)
_HEADLINE = re.compile(r"^(?P<x>(?:The\s+)?[A-Z][\w.'’ -]{2,60}?):\s")
_TRAILING_NAME = re.compile(r"\s[-–—]\s*(?P<x>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)\s*$")
_BACK_REFERENCE = re.compile(
    r"\b(?:about this|this was told|said this|told this|this was said|made (?:this|the|that) "
    r"statement)\b",
    re.I,
)

_ORG_WORDS = frozenset(
    _split("""ministry mod service services intelligence council agency command staff kremlin
    government office department police army forces headquarters administration ministry's u.k u.k.
    uk britain
    britain's nato pentagon guard directorate hur gur fsb sbu duma parliament committee
    commission court prosecutor embassy institute isw chiefs alliance""")
)
_TITLE_WORDS = frozenset(
    _split("""the a an state border defense defence minister president secretary general security
    deputy chief spokesman spokesperson spokeswoman head commander prime foreign russian
    ukrainian belarusian british american western russia ukraine belarus kremlin-aligned
    in on at of and""")
)
_ANONYMOUS = re.compile(
    r"\b(?:source|sources|insider|insiders|unnamed|anonymous|familiar|media|reports|"
    r"officials?\s+who|prisoner|relative|residents?|people close)\b",
    re.I,
)
_PRONOUNS = frozenset({"he", "she"})


@dataclass(frozen=True)
class Attribution:
    """Who a statement is attributed to."""

    kind: str
    """One of :data:`ATTRIBUTIONS`."""
    who: str
    """As the text words it (the outlet's name for ``outlet``)."""
    cue: str = ""
    """The pattern that found it: ``according to``, ``says``, ``by``, ``headline``,
    ``quotation``, ``back reference`` or ``none``."""


def _bare(word: str) -> str:
    """A word in lower case without a possessive ending."""
    return re.sub(r"['’]s$", "", word.strip(".,")).lower()


def _person_names(text: str) -> list[str]:
    """Two or more capitalised words in a row that are not titles or bodies: names."""
    names = []
    for m in re.finditer(r"\b[A-Z][a-z’'-]+(?:\s+[A-Z][a-z’'-]+)+\b", text):
        words = m.group().split()
        run: list[str] = []
        for w in words:
            plain = _bare(w)
            if plain in _TITLE_WORDS or plain in _ORG_WORDS or w.lower() in _ORG_WORDS:
                if len(run) >= 2:
                    names.append(" ".join(run))
                run = []
            else:
                run.append(w)
        if len(run) >= 2:
            names.append(" ".join(run))
    return names


def _clean_who(text: str) -> str:
    who = re.sub(r"\s+", " ", text).strip(" -–—'\"“”«».,")
    who = re.sub(r"^(?:and|but|while|as|that|so|then|thus|however)\s+", "", who, flags=re.I)
    return who


_CALENDAR = frozenset(
    _split("monday tuesday wednesday thursday friday saturday sunday today yesterday")
) | frozenset(_MONTHS)
_PLACES = frozenset(
    _split(
        "russia moscow kremlin kyiv kiev ukraine minsk belarus washington london britain "
        "beijing warsaw poland nato"
    )
)


def classify(who: str, surnames: frozenset[str]) -> str | None:
    """The kind of a speaker as the text words it, or None if it does not look like one."""
    words = [w.lower().strip(".,") for w in who.split()]
    if not words or len(words) > 16:
        return None
    if words[0] in _PRONOUNS and len(words) == 1:
        return "pronoun"
    if _person_names(who) or any(_bare(w) in surnames for w in who.split()):
        return "named"
    if len(words) == 1 and who[:1].isupper():
        # A lone capitalised subject of a say verb: a surname ("Shoigu said"), or a
        # capital or country speaking for its government ("Moscow said").
        if words[0] in _PLACES:
            return "official"
        if words[0] not in _TITLE_WORDS and words[0] not in (_ORG_WORDS | _CALENDAR):
            return "named"
    if _ANONYMOUS.search(who):
        return "anonymous"
    if any(w in _ORG_WORDS or w.rstrip("'’s") in _ORG_WORDS for w in words):
        return "official"
    if words[0] in ("a", "an") and len(words) >= 2:
        return "anonymous"
    return None


def _speakers(sentence: str, surnames: frozenset[str]) -> list[tuple[int, Attribution]]:
    """Every speaker a sentence names, with the position of the cue in the sentence."""
    found: list[tuple[int, Attribution]] = []
    for cue, pattern in (
        ("according to", _ACCORDING),
        ("by", _BY),
        ("says", _SUBJECT_SAYS),
        ("says", _SAYS_SUBJECT),
        ("headline", _HEADLINE),
        ("headline", _TRAILING_NAME),
    ):
        for m in pattern.finditer(sentence):
            raw = m.group("x")
            if pattern is _SUBJECT_SAYS:
                # The subject is the last clause before the verb.
                raw = re.split(r"\s[-–—]\s|[.!?]\s", raw)[-1]
                raw = " ".join(raw.split()[-14:])
            if _SUBORDINATE.match(raw.strip()):
                # "..., after President Putin announced ...": another clause's speaker.
                continue
            who = _clean_who(raw)
            kind = classify(who, surnames)
            if pattern is _SUBJECT_SAYS and kind != "named":
                # "Dmitry Medvedev, deputy chairman of the Security Council, stated ..."
                apposition = re.search(_NAME_COMMA, sentence[: m.start("x")])
                if apposition is not None:
                    who, kind = f"{apposition.group('name')}, {who}", "named"
            if kind is not None:
                found.append((m.start("x"), Attribution(kind, who, cue)))
    return found


_SUBORDINATE = re.compile(
    r"(?:after|before|when|while|since|as|because|although|though|if|until|once)\s", re.I
)
_NAME_COMMA = r"(?P<name>\b[A-Z][a-z’'-]+(?:\s+[A-Z][a-z’'-]+)+),\s*$"


# --- the extraction -----------------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A number as a statement gives it."""

    value: float | tuple[float, float]
    """The value, or (low, high) for a range."""
    unit: str
    """``people``, ``units``, a time unit (``month``), ``people/day``, a currency code, ``%``,
    or ``per 100,000 people``."""
    kind: str
    """One of :data:`KINDS`."""
    hedge: str | None
    """One of :data:`HEDGES`, or None."""
    noun: str | None = None
    """The counted noun when the text gives one (``soldiers``, ``reservists``)."""

    def as_written(self) -> str:
        """The value as a scenario would write it, hedge included: ``{about: 45000}``."""
        if isinstance(self.value, tuple):
            low, high = (_plain(v) for v in self.value)
            return f"{{between: [{low}, {high}]}}"
        value = _plain(self.value)
        if self.hedge in ("about", "at_least", "at_most"):
            return f"{{{self.hedge}: {value}}}"
        return value


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Extracted:
    """One drafted claim: the quantity, who said it, and where it is in the text."""

    start: int
    end: int
    """``text[start:end]`` is the number as written."""
    number: str
    quantity: Quantity
    attribution: Attribution
    sentence: str
    sentence_start: int
    sentence_end: int
    grade: str
    field: str | None
    """The scenario field it would feed, such as ``policies[].positions[].duration``."""
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Article:
    """An article's plain text and what is known of its publication."""

    text: str
    publication: str | None = None
    date: str | None = None
    url: str | None = None
    title: str | None = None


def read_article(source: str, name: str = "", fmt: str | None = None, **meta: Any) -> Article:
    """An :class:`Article` from the contents of a text, HTML or Markdown file."""
    kind = fmt or guess_format(name, source)
    return Article(plain_text(source, kind), **meta)


def _hedge(text: str, start: int, sentence_start: int) -> str | None:
    before = text[max(sentence_start, start - 40) : start]
    for name, pattern in _HEDGE_PATTERNS:
        if pattern.search(before):
            return name
    clause = re.split(r"[,;:.!?]", text[max(sentence_start, start - 60) : start])[-1]
    if _MODAL.search(clause):
        return "conditional"
    return None


def _words_after(text: str, end: int, limit: int) -> list[tuple[str, int, int]]:
    out = []
    for m in re.finditer(r"[A-Za-z$€£%’'-]+|\d[\d,.]*", text[end : end + 120]):
        if text[end : end + m.start()].count("\n") or re.search(
            r"[.;:!?]", text[end : end + m.start()]
        ):
            break
        out.append((m.group(), end + m.start(), end + m.end()))
        if len(out) >= limit:
            break
    return out


def _is_date_or_label(text: str, start: int, end: int, sentence_start: int) -> bool:
    before = text[max(sentence_start, start - 12) : start].lower()
    after = text[end : end + 12]
    if re.search(r"\b(?:" + "|".join(_MONTHS) + r")\.?\s*$", before):
        return True
    if re.match(r"\s*(?:" + "|".join(_MONTHS) + r")\b", after.lower()):
        return True
    if re.match(r"(?:st|nd|rd|th)\b|[:/]\d|[A-Za-z]", after):
        return True
    return bool(re.search(r"(?:\d[:/]|[A-Za-z]-|[A-Za-z])$", before))


def _classify_quantity(
    text: str, m: re.Match[str], sentence: Sentence
) -> tuple[Quantity, int, int] | None:
    """What a number counts, or None when it is not a force-generation claim."""
    start, end = m.start(), m.end()
    if m.group("between"):
        start = m.start("cur") if m.group("cur") else m.start("n1")
    n1, n2 = m.group("n1"), m.group("n2")
    sep = (m.group("sep") or "").strip().lower()
    if n2 is not None and sep == "and" and not m.group("between"):
        n2 = None
        end = m.end("n1")
    is_words = not n1[0].isdigit()
    try:
        low = number_value(n1)
        high = number_value(n2) if n2 is not None else None
    except ValueError:
        return None
    if high is not None:
        s1, s2 = _scale_of(n1), _scale_of(n2)
        if s1 is None and s2 is not None:
            low *= s2
        if high < low:
            return None
    if _is_date_or_label(text, start, end, sentence.start):
        return None
    hedge = _hedge(text, start, sentence.start)
    value: float | tuple[float, float] = low if high is None else (low, high)
    after = _words_after(text, end, 7)
    lower = [w.lower() for w, _, _ in after]
    cur = m.group("cur")
    if cur:
        code = _CURRENCY_CODES.get(cur.strip().lower(), "USD")
        return Quantity(value, code, "money", hedge), start, end
    if lower and lower[0] in ("%", "percent") or text[end : end + 1] == "%":
        pct_end = end + 1 if text[end : end + 1] == "%" else after[0][2]
        return Quantity(value, "%", "share", hedge), start, pct_end
    if lower[:2] == ["per", "cent"]:
        return Quantity(value, "%", "share", hedge), start, after[1][2]
    if lower and lower[0] in _MONEY_WORDS:
        return Quantity(value, _MONEY_WORDS[lower[0]], "money", hedge), start, end
    first = lower[0].lstrip("-") if lower else ""
    if first.startswith("-"):
        first = first[1:]
    if first in _TIME_UNITS or (lower and lower[0].startswith("-") and lower[0][1:] in _TIME_UNITS):
        unit = _TIME_UNITS[first]
        unit_end = after[0][2]
        rest = " ".join(lower[1:3])
        if re.match(r"(?:later|ago|earlier|after|before|old)\b", rest) and not _SERVICE.search(
            text[sentence.start : sentence.end]
        ):
            return None
        if re.match(r"(?:of|in)\s+(?:the\s+)?(?:year|war)", rest):
            return None
        if not _SERVICE.search(text[sentence.start : sentence.end]):
            return None
        return Quantity(value, unit, "duration", hedge), start, unit_end
    # What is counted: the first listed noun within a few words.
    noun = None
    skipped = 0
    for i, word in enumerate(lower[:5]):
        plain = word.strip("’'")
        if plain in _PEOPLE:
            noun, kind = after[i][0], "people"
            break
        if plain in _UNITS:
            noun, kind = after[i][0], "units"
            break
        if plain in _STOPWORDS and not (plain == "of" and i == 0):
            break
        if re.match(r"\d", plain):
            continue
        skipped += 1
    else:
        kind = ""
    if noun is None:
        kind = ""
        rest = text[end : end + 60]
        of_noun = re.match(
            rf"\s+of\s+(?:those|these|the|its|his|their)?\s*(?:{_DIGITS})?\s*(\w+)", rest
        )
        if of_noun and of_noun.group(1).lower() in _PEOPLE:
            noun, kind = of_noun.group(1), "people"
    if not kind:
        if is_words or (isinstance(value, float) and value < 100):
            return None
        if isinstance(value, float) and 1900 <= value <= 2100 and "," not in n1:
            return None
        population = re.search(r"\bpopulation\s+of\s*$", text[max(0, start - 20) : start], re.I)
        if not population and not _MILITARY.search(text[sentence.start : sentence.end]):
            return None
        kind = "people"
    if is_words and noun is None:
        return None
    # A count per period, or per so many people, is a rate.
    window_end = after[min(len(after), 6) - 1][2] if after else end
    rate = _RATE_MARKERS.search(text, end, window_end)
    before_clause = re.split(r"[,;:.!?]", text[max(sentence.start, start - 50) : start])[-1]
    rate_before = re.search(r"\b(daily|weekly|monthly|annual)\b.*\brate\b", before_clause, re.I)
    per_capita = re.match(rf"\s+\w+\s+per\s+({_DIGITS}(?:{_SCALE}))\s+(\w+)", text[end : end + 60])
    if per_capita:
        return (
            Quantity(
                value, f"per {per_capita.group(1)} {per_capita.group(2)}", "rate", hedge, noun
            ),
            start,
            end,
        )
    if rate or rate_before:
        if rate:
            period = rate.group("unit") or _ADVERB_UNITS[rate.group("adv").lower()]
        else:
            period = _ADVERB_UNITS.get(rate_before.group(1).lower(), "year")  # type: ignore[union-attr]
        return Quantity(value, f"{kind}/{period}", "rate", hedge, noun), start, end
    return Quantity(value, kind, kind, hedge, noun), start, end


_ELLIPTIC = re.compile(
    r"(?:,|\band)\s+(?P<n>one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+"
    r"(?=at|in|on|behind|with|back)\b",
    re.I,
)
_A_DURATION = re.compile(
    r"\b(?P<n>an?)\s+(?P<u>day|week|month|year)\s+(?=(?:at|on|in)\s+(?:the\s+)?(?:front|rear|back)|"
    r"tour|contract|rotation|stint|deployment|of\s+service)",
    re.I,
)


def _candidates(text: str, sentence: Sentence) -> Iterable[tuple[Quantity, int, int]]:
    taken: list[tuple[int, int]] = []
    body_start, body_end = sentence.start, sentence.end
    consumed_until = body_start
    for m in _QUANTITY.finditer(text, body_start, body_end):
        if m.start() < consumed_until:
            continue
        found = _classify_quantity(text, m, sentence)
        if found is None:
            continue
        quantity, start, end = found
        if quantity.unit.startswith("per "):
            per = re.search(r"per\s+" + _DIGITS, text[end : end + 60])
            consumed_until = end + (per.end() if per else 0)
        taken.append((start, end))
        yield found
    yield from _extra_durations(text, sentence, taken)


def _extra_durations(
    text: str, sentence: Sentence, taken: list[tuple[int, int]]
) -> Iterable[tuple[Quantity, int, int]]:
    """``a month at the front``, and ``one at the back, one in Belarus`` after a duration."""
    out: list[tuple[Quantity, int, int]] = []
    for m in _A_DURATION.finditer(text, sentence.start, sentence.end):
        if not any(s <= m.start() < e for s, e in taken):
            unit = _TIME_UNITS[m.group("u").lower()]
            out.append(
                (
                    Quantity(1.0, unit, "duration", _hedge(text, m.start(), sentence.start)),
                    m.start(),
                    m.end("u"),
                )
            )
    durations = [
        (s, e) for s, e in taken if re.search(r"(?:day|week|month|year)s?$", text[s:e], re.I)
    ]
    if durations:
        unit_word = re.search(
            r"(day|week|month|year)s?$", text[durations[0][0] : durations[0][1]], re.I
        )
        assert unit_word is not None
        for m in _ELLIPTIC.finditer(text, durations[0][1], sentence.end):
            value = float(_SMALL[m.group("n").lower()])
            unit = _TIME_UNITS[unit_word.group(1).lower()]
            out.append((Quantity(value, unit, "duration", None), m.start("n"), m.end("n")))
    return out


# --- grades and fields --------------------------------------------------------------------

GRADE_RULES: Mapping[str, str] = {
    "official": "B",
    "named": "C",
    "outlet": "C",
    "anonymous": "F",
}
"""Suggested source reliability by attribution: an official body B (usually reliable), a
named person C (fairly reliable), the outlet's own reporting C, an anonymous source F
(reliability cannot be judged). A suggestion only: lower it for a party with a stake."""

CREDIBILITY_DEFAULT = 3
"""Possibly true: one report, not yet corroborated."""
CREDIBILITY_CONDITIONAL = 4
"""Doubtful: stated as a possibility (would, could, may, might)."""


def suggest_grade(attribution: str, hedge: str | None) -> str:
    """The Admiralty grade suggested for a claim by :data:`GRADE_RULES`."""
    credibility = CREDIBILITY_CONDITIONAL if hedge == "conditional" else CREDIBILITY_DEFAULT
    return f"{GRADE_RULES[attribution]}{credibility}"


_FIELD_RULES: tuple[tuple[str, str, str], ...] = (
    ("duration", r"front|rotat|stint|tour|deploy|rear|back\b", "policies[].positions[].duration"),
    ("duration", r"contract|pardon|serv|duty", "policies[].positions[].duration"),
    ("duration", r"train", "policies[].positions[].duration"),
    ("rate", r"per \d", "reservoirs[].per_100k"),
    ("rate", r"los[st]|casualt|killed|dead|wounded", "locations[].attrition"),
    (
        "rate",
        r"recruit|contract|sign|join|enlist|mobili|volunteer|agreement",
        "pipelines[].intake[].rate",
    ),
    ("people", r"population", "reservoirs[].size"),
    ("people", r"mobili[sz]|call(?:ed)?[- ]up|reservist", "pipelines[].waves[].people"),
    (
        "people",
        r"recruit|contract|sign|enlist|volunteer|convict|prisoner",
        "pipelines[].waves[].people",
    ),
    (
        "people",
        r"\b(?:in|into|on the territory of|stationed in|deployed (?:to|in))\s+[A-Z]",
        "forces[].limits[].people",
    ),
    ("people", r"\barmy\b|\bforces\b|personnel", "units[].count x units[].strength"),
    ("units", r".", "units[].count"),
)


def suggest_field(quantity: Quantity, sentence: str) -> str | None:
    """The scenario field a quantity would feed, when the sentence tells."""
    for kind, pattern, target in _FIELD_RULES:
        if quantity.kind != kind:
            continue
        haystack = quantity.unit + " " + sentence if kind == "rate" else sentence
        flags = 0 if "[A-Z]" in pattern else re.I
        if re.search(pattern, haystack, flags):
            return target
    return None


# --- the whole article --------------------------------------------------------------------


def _surnames(text: str) -> frozenset[str]:
    return frozenset(name.split()[-1].lower() for name in _person_names(text))


def extract(article: Article) -> list[Extracted]:
    """Every force-generation quantity in an article, in text order, drafted as a claim."""
    text = article.text
    outlet = article.publication or "the outlet"
    surnames = _surnames(text)
    cut = sentences(text)
    paragraph_start: dict[int, int] = {}
    for s in cut:
        paragraph_start.setdefault(s.paragraph, s.start)
    said: list[list[tuple[int, Attribution]]] = [
        _speakers(text[s.start : s.end], surnames) for s in cut
    ]
    last_named: str | None = None
    resolved: list[list[tuple[int, Attribution]]] = []
    for s, found in zip(cut, said, strict=True):
        out = []
        for pos, a in found:
            if a.kind == "pronoun":
                name = last_named or _next_named(said, s.index)
                if name is None:
                    continue
                a = Attribution("named", name, a.cue)
            out.append((pos, a))
        # A pronoun in a later sentence names the last person this one mentions.
        mentioned = _person_names(text[s.start : s.end])
        if mentioned:
            last_named = mentioned[-1]
        resolved.append(out)
    results: list[Extracted] = []
    quote_speaker = None
    for s, found in zip(cut, resolved, strict=True):
        sentence = text[s.start : s.end]
        if found and (re.search(r"[\"“«»”]", sentence) or any(a.cue == "by" for _, a in found)):
            quote_speaker = found[0][1]
        for quantity, start, end in _candidates(text, s):
            attribution = _attribute(
                text, s, start, found, cut, resolved, quote_speaker, paragraph_start, outlet
            )
            results.append(
                Extracted(
                    start=start,
                    end=end,
                    number=text[start:end],
                    quantity=quantity,
                    attribution=attribution,
                    sentence=sentence,
                    sentence_start=s.start,
                    sentence_end=s.end,
                    grade=suggest_grade(attribution.kind, quantity.hedge),
                    field=suggest_field(quantity, sentence),
                )
            )
    results.sort(key=lambda e: e.start)
    return results


def _next_named(said: list[list[tuple[int, Attribution]]], index: int) -> str | None:
    for found in said[index + 1 :]:
        for _, a in found:
            if a.kind == "named":
                names = _person_names(a.who)
                return names[-1] if names else a.who
    return None


def _attribute(
    text: str,
    s: Sentence,
    start: int,
    found: list[tuple[int, Attribution]],
    cut: list[Sentence],
    resolved: list[list[tuple[int, Attribution]]],
    quote_speaker: Attribution | None,
    paragraph_start: Mapping[int, int],
    outlet: str,
) -> Attribution:
    """Who the number at ``start`` is attributed to: the speaker nearest to it in its
    sentence; else a following sentence that refers back ("informed about this"); else,
    inside a quotation, the speaker a later sentence of the paragraph or an earlier
    quotation names; else the outlet."""
    if found:
        rel = start - s.start
        return min(found, key=lambda pa: abs(pa[0] - rel))[1]
    for following in cut[s.index + 1 : s.index + 3]:
        if resolved[following.index] and _BACK_REFERENCE.search(
            text[following.start : following.end]
        ):
            return resolved[following.index][0][1]
    if quoted_at(text, paragraph_start[s.paragraph], start):
        for later in cut[s.index + 1 :]:
            if later.paragraph != s.paragraph:
                break
            if resolved[later.index]:
                return resolved[later.index][0][1]
        if quote_speaker is not None:
            return Attribution(quote_speaker.kind, quote_speaker.who, "quotation")
    return Attribution("outlet", outlet, "none")


# --- output -------------------------------------------------------------------------------


def slug(name: str) -> str:
    """An identifier made from a file name: ``seed-article-2023-01-19``."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return text if text[:1].isalpha() else f"a-{text}" if text else "article"


def _scalar(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def describe(q: Quantity) -> str:
    """A quantity in a few words: ``people {about: 45000} (Russians)``."""
    unit = "" if q.unit == q.kind else f" {q.unit}"
    noun = f" ({q.noun})" if q.noun else ""
    return f"{q.kind} {q.as_written()}{unit}{noun}"


def claim_of(e: Extracted, article: Article, claim_id: str) -> dict[str, Any]:
    """The claim an extraction drafts, as plain data valid against the Claim model."""
    source: dict[str, Any] = {"publication": article.publication or "(publication not given)"}
    for key in ("date", "url", "title"):
        value = getattr(article, key)
        if value:
            source[key] = value
    outlet = e.attribution.kind == "outlet"
    q = e.quantity
    source["quote"] = e.sentence
    parts = [
        "Drafted by forcegen claims extract; check it against the article.",
        f"Quote: characters {e.sentence_start}-{e.sentence_end} of the article.",
        f'Number "{e.number}" (characters {e.start}-{e.end}): {describe(q)}.',
    ]
    if q.hedge == "conditional":
        parts.append("Stated as a possibility (would, could, may, might).")
    if e.field:
        parts.append(f"Would feed {e.field}.")
    if outlet:
        parts.append("No speaker is named: the outlet's own statement.")
    parts.append(
        f"Grade {e.grade} suggested by rule for an {e.attribution.kind} source."
        if e.attribution.kind[0] in "aeiou"
        else f"Grade {e.grade} suggested by rule for a {e.attribution.kind} source."
    )
    return {
        "id": claim_id,
        "source": source,
        "attribution": e.attribution.kind,
        "attributed_to": e.attribution.who,
        "paraphrase": f"DRAFT: {e.sentence}",
        "reliability": e.grade[0],
        "credibility": int(e.grade[1]),
        "note": " ".join(parts),
    }


def to_yaml(found: list[Extracted], article: Article, prefix: str) -> str:
    """Claims ready to paste under ``claims:``, each with its extras as comments."""
    lines = [
        f"# {len(found)} claims drafted by forcegen claims extract; paste under claims: and",
        "# check each one: the paraphrase is the sentence itself until you rewrite it.",
    ]
    for i, e in enumerate(found, 1):
        q = e.quantity
        claim = claim_of(e, article, f"{prefix}-{i}")
        hedge = f", hedge {q.hedge}" if q.hedge else ""
        lines.append(f"# {e.number!r} at {e.start}-{e.end}: {describe(q)}{hedge}")
        lines.append(
            f"#   attribution {e.attribution.kind} ({e.attribution.cue}); "
            f"feeds {e.field or 'no field the rules can tell'}"
        )
        lines.append(f"- id: {claim['id']}")
        lines.append("  source:")
        for key, value in claim["source"].items():
            lines.append(f"    {key}: {value if key == 'date' else _scalar(str(value))}")
        for key in ("attribution", "attributed_to", "paraphrase"):
            lines.append(f"  {key}: {_scalar(str(claim[key]))}")
        lines.append(f"  reliability: {claim['reliability']}")
        lines.append(f"  credibility: {claim['credibility']}")
        lines.append(f"  note: {_scalar(str(claim['note']))}")
    return "\n".join(lines) + "\n"


def to_data(found: list[Extracted], article: Article, prefix: str) -> list[dict[str, Any]]:
    """Everything extracted, as plain data (for ``--format json``)."""
    out = []
    for i, e in enumerate(found, 1):
        q = e.quantity
        out.append(
            {
                "number": e.number,
                "span": [e.start, e.end],
                "sentence": e.sentence,
                "sentence_span": [e.sentence_start, e.sentence_end],
                "quantity": {
                    "value": list(q.value) if isinstance(q.value, tuple) else q.value,
                    "unit": q.unit,
                    "kind": q.kind,
                    "hedge": q.hedge,
                    "noun": q.noun,
                    "as_written": q.as_written(),
                },
                "attribution": {
                    "kind": e.attribution.kind,
                    "who": e.attribution.who,
                    "cue": e.attribution.cue,
                },
                "grade": e.grade,
                "field": e.field,
                "claim": claim_of(e, article, f"{prefix}-{i}"),
            }
        )
    return out
