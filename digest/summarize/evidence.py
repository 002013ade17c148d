"""A parsed paper as quotable sentences, and the one check every field value passes: its quotes are in the paper."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from digest.models import Evidence, FieldValue, PaperSummary, ParsedPaper, Section, Table
from digest.text import contains, normalize, page_of, section_paths, sentence_spans

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

    @classmethod
    def heading(cls, section: Section, path: str) -> Sentence:
        """A section's heading as a quotable sentence (a component, a task, a list of benchmarks)."""
        return cls(section.title, section.page_start, section.heading, path, "heading", -1)


_BULLET = re.compile(r"\s(?=[•●▪◦‣]\s)")  # the space before a bullet: each item of a list is a statement of its own


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in `text`, a list's items apart; over-long ones are cut at line breaks."""
    return [piece for a, b in sentence_spans(text) for item in _items(text, a, b) for piece in _cut(text, *item)]


def _items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span split before each bullet inside it ("… benchmarks: • CMO 2024 (6 problems): … • Putnam 2024 …")."""
    cuts = [start] + [m.start() + 1 for m in _BULLET.finditer(text, start, end)] + [end]
    return [(a, a + len(text[a:b].rstrip())) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def _cut(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span no longer than MAX_SENTENCE, split at newlines (then anywhere) when needed."""
    if end - start <= MAX_SENTENCE:
        return [(start, end)]
    cut = text.rfind("\n", start + 40, start + MAX_SENTENCE)
    cut = cut if cut > start else start + MAX_SENTENCE
    return [(start, cut)] + _cut(text, cut, end)


@lru_cache(maxsize=1 << 16)  # every prose field asks it of every sentence
def formula(sentence: str) -> bool:
    """Mostly symbols or numbers: an equation, or a table flattened into text."""
    visible = [c for c in sentence if not c.isspace()]
    words = sentence.split()
    numbers = sum(bool(re.fullmatch(r"[-−+$]?[\d.,]+[%KMBT]?", w)) for w in words)
    return (
        sum(c.isalpha() for c in visible) < 0.5 * len(visible)
        or len(re.findall(r"[=∈≪≫×·∑∏√∂∇≤≥±]|\(\d+\)", sentence)) > 3
        or numbers > 0.25 * len(words)
    )


def clip(text: str, limit: int) -> str:
    """A verbatim prefix of `text` (whitespace collapsed) of at most `limit` characters, cut at a word boundary."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


class PaperText:
    """The sentences of a paper in reading order, and verbatim-quote checks against its text."""

    def __init__(self, parsed: ParsedPaper):
        self.parsed = parsed
        # link texts too: a URL printed in the title block is text of the paper, though outside its sections
        self.normalized = normalize("\n\n".join([self.full, *(link.text for link in parsed.links)]))
        self._named: dict[str, bool] = {}

    @cached_property
    def full(self) -> str:
        """The paper's text as `ParsedPaper.full_text` gives it, built once."""
        return self.parsed.full_text()

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
        for s, path in zip(p.sections, section_paths(p.sections)):
            add(s.text, lambda at, s=s: page_of(s, at), s.heading, path, s.kind)
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
        """First person, "this paper", or the paper's model name (title before its colon, or a coined word in it).
        A title in capitals is read as the abstract writes its words ("MOBA: MIXTURE OF BLOCK ATTENTION FOR …" has
        the coined word MoBA, not FOR or BLOCK)."""
        title = self.parsed.title
        head = title.split(":")[0].strip()
        names = [head] if 0 < len(head.split()) <= 3 else []
        words, coined = re.findall(r"[\w.-]+", title), r"[a-z][A-Z]|[A-Z]{2}|\d"
        if not re.search(r"[a-z]", title):
            abstract = " ".join(s.text for s in self.sentences if s.kind == "abstract")
            words = [m.group(0) for w in words if (m := re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", abstract, re.I))]
            coined += r"|\w-[A-Z]"  # "Kimina-Prover"
        names += [w for w in words if re.search(coined, w) and len(w) > 2]
        own = r"\b(?:we|our|us)\b|\bthis\s+(?:paper|work|report|study)\b"
        return re.compile(own + "".join(f"|(?<![\\w-]){re.escape(n)}" for n in names), re.I)

    @cached_property
    def _table_rows(self) -> dict[tuple[str, int], list[Sentence]]:
        rows: dict[tuple[str, int], list[Sentence]] = {}
        for s in self.sentences:
            if s.kind == "table":
                rows.setdefault((s.section, s.page), []).append(s)
        return rows

    def table_rows(self, table: Table) -> list[Sentence]:
        """The rows of `table` as sentences (tables that share a label and page share their rows)."""
        return self._table_rows.get((table.label or "Table", table.page), [])

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
