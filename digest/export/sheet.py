"""A paper's sheet laid out for templates: fields in the survey's order, then the columns of your own, then the
model facts; evidence numbered as notes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..fields import SPECS
from ..models import Evidence, FieldValue, PaperRecord
from ..text import contains, normalize, sentence_spans
from .facts import fact_matrix
from .record import Lang, SurveyEntry, field_items

_URL = re.compile(
    r'^(?:https?://[^\s<>"]+|(?:[\w-]+\.)+[a-z]{2,}/[^\s<>"]*)$', re.IGNORECASE
)  # a scheme, or a host and path


def link(text: str) -> str | None:
    """An http(s) address for text that is one (`github.com/x/y` too), else None."""
    text = text.strip()
    if not _URL.match(text):
        return None
    return text if re.match(r"^https?://", text, re.IGNORECASE) else f"https://{text}"


@dataclass
class Note:
    n: int
    page: int | None
    section: str
    quote: str

    @property
    def where(self) -> str:
        """`p. 3, §2.1`, or as much of it as is known."""
        parts = (f"p. {self.page}" if self.page else "", f"§{self.section}" if self.section else "")
        return ", ".join(part for part in parts if part)

    @property
    def text(self) -> str:
        """`p. 3, §2.1 "quote"`: where in the paper, and its words, on one line."""
        quote = f'"{" ".join(self.quote.split())}"'
        return f"{self.where} {quote}" if self.where else quote


@dataclass
class Item:
    text: str
    notes: list[int] = field(default_factory=list)


@dataclass
class SheetField:
    key: str
    label: str
    found: bool
    is_list: bool
    items: list[Item]
    notes: list[int]  # evidence not tied to one item


@dataclass
class BenchmarkRow:
    benchmark: str
    metric: str
    setting: str
    model: str
    score: str
    page: int | None
    note: int | None


@dataclass
class FactLine:
    key: str
    label: str
    cells: list[tuple[str, int | None]]  # per model of `Sheet.fact_models`: (value as stated, note), ("", None) if absent


@dataclass
class SheetFigure:
    label: str  # "Figure 3"
    page: int
    caption: str
    file: str  # the image's name: "fig-3.png"
    path: Path  # where the image is stored


@dataclass
class Sheet:
    entry: SurveyEntry
    fields: list[SheetField]
    benchmarks: list[BenchmarkRow]
    notes: list[Note]
    fact_models: list[str] = field(default_factory=list)  # the models the paper introduces, with facts
    facts: list[FactLine] = field(default_factory=list)  # a line per fact any of them has
    figures: list[SheetFigure] = field(default_factory=list)  # the results figures whose images are stored

    @property
    def title(self) -> str:
        return self.entry.title or self.entry.paper_id

    @property
    def paper_id(self) -> str:
        return self.entry.paper_id

    @property
    def url(self) -> str | None:
        return self.entry.url

    @property
    def anchor(self) -> str:
        return "paper-" + re.sub(r"[^A-Za-z0-9]+", "-", self.entry.paper_id)

    @property
    def authors(self) -> list[str]:
        return self.entry.metadata.authors

    @property
    def published(self) -> str | None:
        return self.entry.metadata.published

    @property
    def metadata(self) -> PaperRecord:
        return self.entry.metadata


def build_sheet(entry: SurveyEntry, lang: Lang, first_note: int = 1) -> Sheet:
    """The sheet of one paper, its footnotes numbered from `first_note`."""
    notes: list[Note] = []

    def note(page: int | None, section: str, quote: str) -> int:
        notes.append(Note(first_note + len(notes), page, section, quote))
        return notes[-1].n

    fields = []
    for key, label, value in entry.sheet_fields(lang):
        statements = key in SPECS and SPECS[key].statements and not isinstance(value.value, list)
        split = statements or isinstance(value.value, list)
        items = [Item(text) for text in (_statements(value) if statements else field_items(value))]
        loose = []
        for ev in value.evidence:
            n = note(ev.page, ev.section, ev.quote)
            owner = _item_quoted(items, ev) if split else None
            (owner.notes if owner else loose).append(n)
        fields.append(SheetField(key, label, bool(items), isinstance(value.value, list), items, loose))
    benchmarks = [
        BenchmarkRow(
            b.benchmark, b.metric, b.setting, b.model, b.score, b.page, note(b.page, "", b.quote) if b.quote else None
        )
        for b in entry.benchmarks
    ]
    matrix = fact_matrix([entry], lang)
    facts = [
        FactLine(key, matrix.labels[key], [
            (v.value, note(v.page, "", v.quote)) if (v := row.cells.get(key)) else ("", None) for row in matrix.rows
        ])
        for key in matrix.keys
    ]
    figures = [SheetFigure(f.label, f.page, f.caption, f.file, path) for f in entry.figures if (path := entry.image(f))]
    return Sheet(entry, fields, benchmarks, notes, [row.model for row in matrix.rows], facts, figures)


_LABEL = r"[A-Z][\w ]{0,30}(?:\([^()]*\))?:\s"  # "Base model: ", "Configuration (Table 1): "


def _statements(value: FieldValue) -> list[str]:
    """A text value as its statements: its labelled leads ("Base model: …. Components: A; B VS. C."), each up to the
    next label, then its sentences, from the first one quoted as evidence."""
    text = " ".join(field_items(value))
    if not re.match(_LABEL, text):
        return [text[a:b] for a, b in sentence_spans(text)]
    quoted = [i for e in value.evidence if (i := text.find(e.quote)) > 0 and text[:i].endswith(". ")]
    cut = min(quoted, default=len(text))
    leads = re.split(rf"(?<=\.)\s+(?={_LABEL})", text[:cut].strip())
    rest = text[cut:]
    return leads + [rest[a:b] for a, b in sentence_spans(rest)]


def _item_quoted(items: list[Item], evidence: Evidence) -> Item | None:
    """The item the quote backs: one it holds, one that opens with it (a figure's caption, then its page), or one
    that holds it (a statement listing headings); else a labelled statement one of whose values it holds ("Base
    model: X." or "Distilled from: X; Y.")."""
    quote = normalize(evidence.quote)
    return next((item for item in items if contains(evidence.quote, item.text)
                 or normalize(item.text).startswith(quote) or contains(item.text, evidence.quote)),
                next((item for item in items if (said := _labelled(item.text))
                      and any(contains(evidence.quote, name) for name in said.split("; "))), None))


def _labelled(statement: str) -> str:
    """What a labelled statement says ("Base model: Qwen2.5 7B." gives "Qwen2.5 7B"), or ""."""
    label = re.match(rf"{_LABEL}\s*(.+?)\.?$", statement)
    return label.group(1) if label else ""
