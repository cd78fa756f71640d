"""Plain text out of an article, cut into paragraphs and sentences with their offsets.

Spans everywhere in extraction count characters of the plain text returned by
:func:`plain_text`: for a plain-text article that is the file itself, for HTML the text
between the tags (entities decoded), for Markdown the text without its markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser


def _split(words: str) -> list[str]:
    """The words of a word list written as one string."""
    return words.split()


_BLOCK_TAGS = frozenset(
    _split(
        "p div br h1 h2 h3 h4 h5 h6 li ul ol blockquote section article header footer tr table "
        "title figcaption pre"
    )
)
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})


class _TextOfHtml(HTMLParser):
    """Collects the text of an HTML page, a blank line at each block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_text(source: str) -> str:
    """The text of an HTML document, paragraphs separated by blank lines."""
    parser = _TextOfHtml()
    parser.feed(source)
    parser.close()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


_MD_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^```.*?^```[ \t]*$", re.M | re.S), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.M), ""),
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),
    (re.compile(r"^[ \t]*(?:[-*+]|\d+\.)[ \t]+", re.M), ""),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
)


def markdown_text(source: str) -> str:
    """The text of a Markdown document: headings, emphasis, links and lists unmarked."""
    text = source
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return text


def guess_format(name: str, source: str) -> str:
    """``html``, ``markdown`` or ``text``, from the file name and then the content."""
    lower = name.lower()
    if lower.endswith((".html", ".htm", ".xhtml")):
        return "html"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    if lower.endswith(".txt"):
        return "text"
    head = source.lstrip()[:500].lower()
    if head.startswith(("<!doctype html", "<html")) or re.search(r"<(p|div|body)\b", head):
        return "html"
    return "text"


def plain_text(source: str, fmt: str) -> str:
    """The plain text of an article written in ``fmt`` (``text``, ``html``, ``markdown``)."""
    if fmt == "html":
        return html_text(source)
    if fmt == "markdown":
        return markdown_text(source)
    return source


@dataclass(frozen=True)
class Sentence:
    """A sentence (or a headline line) of the text, with where it lies."""

    start: int
    end: int
    paragraph: int
    """Index of the paragraph (blocks separated by blank lines)."""
    index: int
    """Index of the sentence in the whole text."""


_ABBREVIATIONS = frozenset(
    _split(
        "mr mrs ms dr gen lt col maj capt sgt st no vs etc jan feb mar apr jun jul aug sep sept "
        "oct nov dec approx est inc co corp jr sr u.s u.k e.g i.e a.m p.m"
    )
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"”»’')\]]*(?=\s+[\"“«‘(\[]?[A-Z0-9$€£-])")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends an abbreviation (``U.K.``, ``Gen.``, ``J.``)."""
    if text[dot] != ".":
        return False
    word = re.search(r"([A-Za-z.]+)$", text[:dot])
    if word is None:
        return False
    token = word.group(1).lower().rstrip(".")
    return (
        token in _ABBREVIATIONS
        or len(token) == 1
        or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", token))
    )


def sentences(text: str) -> list[Sentence]:
    """The sentences of ``text``: a line break ends a sentence, and so does a full stop,
    question or exclamation mark followed by a capital, a digit or an opening quote."""
    out: list[Sentence] = []
    paragraph = 0
    for block in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", text):
        if not block.group().strip():
            continue
        for line in re.finditer(r"[^\n]+", block.group()):
            base = block.start() + line.start()
            body = line.group()
            cut = 0
            for end in _SENTENCE_END.finditer(body):
                if _is_abbreviation(body, end.start()):
                    continue
                _add(out, text, base + cut, base + end.end(), paragraph)
                cut = end.end()
            _add(out, text, base + cut, base + len(body), paragraph)
        paragraph += 1
    return out


def _add(out: list[Sentence], text: str, start: int, end: int, paragraph: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append(Sentence(start, end, paragraph, len(out)))


_OPENING = "“«‘"
_CLOSING = "”»’"


def quoted_at(text: str, start: int, pos: int) -> bool:
    """Whether ``pos`` lies inside a quotation opened after ``start`` (a paragraph's start).

    Curly quotes and guillemets open and close; a straight double quote opens at the start
    of a line or after a space or bracket and closes otherwise, so a quotation that runs
    over several lines, each opened again as newspapers do, stays open.
    """
    inside = False
    for i in range(start, pos):
        ch = text[i]
        if ch in _OPENING[:2]:
            inside = True
        elif ch in _CLOSING[:2]:
            inside = False
        elif ch == '"':
            before = text[i - 1] if i > 0 else "\n"
            inside = before.isspace() or before in "([—–-:" or i == start
    return inside
