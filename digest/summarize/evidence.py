"""A parsed paper as quotable sentences, and the one check every field value passes: its quotes are in the paper."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from digest.models import Evidence, FieldValue, PaperSummary, ParsedPaper, Section
from digest.text import contains, normalize

# A full stop ends a sentence unless it ends an abbreviation, an initial or a number.
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Figs|Eq|Eqs|Sec|Secs|Tab|Ref|Refs|No|approx|resp|al|App|Appx|Ch|Vol|pp|w\.r\.t)"
    r"|\b[A-Z])\.$"
)
_BOUNDARY = re.compile(r"[.!?][\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
MAX_SENTENCE = 600


@dataclass(frozen=True)
class Sentence:
    """A verbatim stretch of the paper (whitespace collapsed) and where it is."""

    text: str
    page: int
    section: str  # heading as printed: "3.1 Pre-training Data", "Abstract", "Table 2"
    path: str  # the headings it falls under: "3 Infrastructures > 3.5 Suggestions > 3.5.2 Compute Hardware"
    kind: str  # title | abstract | body | appendix | caption | table | link
    order: int  # position in reading order

    def evidence(self) -> Evidence:
        return Evidence(page=self.page, section=self.section, quote=self.text)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in `text`; over-long ones are cut at line breaks."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.start() + 1 if text[m.start()] in ".!?" else m.start()
        if text[m.start()] in ".!?" and _ABBREVIATIONS.search(text[max(start, m.start() - 12):m.start() + 1]):
            continue
        spans.extend(_cut(text, start, end))
        start = m.end()
    spans.extend(_cut(text, start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _cut(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span no longer than MAX_SENTENCE, split at newlines (then anywhere) when needed."""
    if end - start <= MAX_SENTENCE:
        return [(start, end)]
    cut = text.rfind("\n", start + 40, start + MAX_SENTENCE)
    cut = cut if cut > start else start + MAX_SENTENCE
    return [(start, cut)] + _cut(text, cut, end)


def heading_paths(parsed: ParsedPaper) -> list[str]:
    """For each section, its heading preceded by those of the sections it is nested in."""
    stack: list[tuple[int, str]] = []
    out = []
    for s in parsed.sections:
        stack = [(level, h) for level, h in stack if level < s.level] + [(s.level, s.heading)]
        out.append(" > ".join(h for _, h in stack))
    return out


def page_at(section: Section, offset: int) -> int:
    """The page of character `offset` in a section's text (exact with page breaks, else proportional)."""
    if section.page_breaks:
        return min(section.page_end, section.page_start + bisect_right(section.page_breaks, offset))
    span = section.page_end - section.page_start + 1
    return min(section.page_end, section.page_start + int(offset / max(len(section.text), 1) * span))


class PaperText:
    """The sentences of a paper in reading order, and verbatim-quote checks against its text."""

    def __init__(self, parsed: ParsedPaper):
        self.parsed = parsed
        # link texts too: a URL printed in the title block is text of the paper, though outside its sections
        self.normalized = normalize("\n\n".join([parsed.full_text(), *(link.text for link in parsed.links)]))
        self._named: dict[str, bool] = {}

    @cached_property
    def sentences(self) -> list[Sentence]:
        out: list[Sentence] = []

        def add(text: str, page_of, section: str, path: str, kind: str) -> None:
            for a, b in split_sentences(text):
                quote = " ".join(text[a:b].split())
                if len(quote) >= 3:
                    out.append(Sentence(quote, page_of(a), section, path, kind, len(out)))

        p = self.parsed
        if p.title:
            out.append(Sentence(" ".join(p.title.split()), 1, "Title", "Title", "title", 0))
        add(p.abstract, lambda _: 1, "Abstract", "Abstract", "abstract")
        for s, path in zip(p.sections, heading_paths(p)):
            add(s.text, lambda at, s=s: page_at(s, at), s.heading, path, s.kind)
        for c in p.captions:
            add(c.text, lambda _, c=c: c.page, c.label, c.label, "caption")
        for t in p.tables:
            label = t.label or "Table"
            for row in t.rows:
                if re.search(r"[A-Za-z0-9]", row):
                    out.append(Sentence(" ".join(row.split()), t.page, label, label, "table", len(out)))
        return out

    @cached_property
    def own(self) -> re.Pattern:
        """First person, "this paper", or the paper's model name (title before its colon, or a coined word in it)."""
        title = self.parsed.title
        head = title.split(":")[0].strip()
        names = [head] if 0 < len(head.split()) <= 3 else []
        names += [w for w in re.findall(r"[\w.-]+", title) if re.search(r"[a-z][A-Z]|[A-Z]{2}|\d", w) and len(w) > 2]
        own = r"\b(?:we|our|us)\b|\bthis\s+(?:paper|work|report|study)\b"
        return re.compile(own + "".join(f"|(?<![\\w-]){re.escape(n)}" for n in names), re.I)

    def has(self, quote: str) -> bool:
        """Whether `quote` occurs verbatim (after normalize) in the paper."""
        return bool(quote.strip()) and normalize(quote) in self.normalized

    def names(self, name: str) -> bool:
        """Whether the paper contains `name` as a whole word."""
        needle = normalize(name)
        if needle not in self._named:
            self._named[needle] = bool(needle) and re.search(rf"(?<![\w]){re.escape(needle)}(?![\w])", self.normalized) is not None
        return self._named[needle]


# ------------------------------------------------------------------ validation

_DETAIL = re.compile(r"^(.*?)\s*\(([^()]*)\)$")


def item_supported(item: str, quotes: list[str]) -> bool:
    """A list item is supported when one quote holds it, or holds its name and its "(detail)"."""
    if any(contains(q, item) for q in quotes):
        return True
    m = _DETAIL.match(item.strip())
    return bool(m) and any(contains(q, m.group(1)) and contains(q, m.group(2)) for q in quotes)


def validate_field(value: FieldValue, text: PaperText, check_items: bool = True) -> FieldValue:
    """The field with only evidence found verbatim in the paper and (with `check_items`) the list items that
    evidence supports; "not found" when nothing is left."""
    evidence = [e for e in value.evidence if text.has(e.quote)]
    data = value.value
    if isinstance(data, list) and check_items:
        quotes = [e.quote for e in evidence]
        data = [item for item in data if item_supported(item, quotes)]
    if not evidence or not data:
        return FieldValue()
    return value.model_copy(update={"value": data, "evidence": evidence})


def validate_summary(summary: PaperSummary, parsed: ParsedPaper, text: PaperText | None = None) -> PaperSummary:
    """Every field and benchmark score of `summary`, checked against the paper; what fails is dropped."""
    text = text or PaperText(parsed)
    fields = {key: validate_field(value, text) for key, value in summary.fields.items()}
    scores = [b for b in summary.benchmarks if text.has(b.quote) and contains(b.quote, b.score) and text.names(b.benchmark)]
    return summary.model_copy(update={"fields": fields, "benchmarks": scores})
