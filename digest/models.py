"""The records that flow through the pipeline: catalog entries, parsed papers, chunks, survey sheets, answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """The base of every record here: its schema is built when first used, so that importing this module stays
    cheap for a query, which uses two of them (bench/README.md, cold queries)."""

    model_config = ConfigDict(defer_build=True)

# --------------------------------------------------------------------- catalog


class PaperRecord(Record):
    """One row of the catalog: a paper we were asked for, and what became of it."""

    paper_id: str
    version: int | None = None
    title: str = ""
    authors: list[str] = Field(default_factory=list)
    abstract: str = ""
    categories: list[str] = Field(default_factory=list)
    published: str | None = None  # ISO date of v1
    pdf_path: str | None = None  # relative to the workspace
    sha256: str | None = None
    bytes: int | None = None
    source: str = "arxiv"  # arxiv | local
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    note: str | None = None
    tags: list[str] = Field(default_factory=list)


# ----------------------------------------------------------------------- parse


class Section(Record):
    """A heading and the body text under it, up to the next heading of any level."""

    number: str | None = None  # "3", "3.1", "A.2"
    title: str
    level: int = 1
    page_start: int  # 1-based
    page_end: int
    text: str = ""
    kind: Literal["body", "appendix"] = "body"
    # offsets in `text` where pages page_start+1 .. page_end begin (empty: unknown), so chunks get exact pages
    page_breaks: list[int] = Field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}" if self.number else self.title


class Table(Record):
    page: int
    label: str | None = None  # "Table 2"
    caption: str = ""
    rows: list[str] = Field(default_factory=list)  # Markdown rows: "| a | b |"
    section: str | None = None


BBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, from the page's top left


class Caption(Record):
    kind: Literal["figure", "table"]
    label: str  # "Figure 3"
    page: int
    text: str
    bbox: BBox | None = None  # where the caption is printed on its page


class Link(Record):
    uri: str
    text: str = ""  # anchor text, or the URL as printed
    page: int
    source: Literal["annotation", "text"] = "annotation"


class ParsedPaper(Record):
    """A paper's structure as recovered from its PDF."""

    paper_id: str
    title: str = ""
    authors: list[str] = Field(default_factory=list)
    abstract: str = ""
    pages: int = 0
    sections: list[Section] = Field(default_factory=list)
    references: str = ""
    tables: list[Table] = Field(default_factory=list)
    captions: list[Caption] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    outline_source: Literal["toc", "typography", "none"] = "none"
    ocr_pages: int = 0  # pages without a text layer, read by OCR
    parser_version: str = ""

    def full_text(self) -> str:
        """Abstract and body in reading order: what quotes are checked against."""
        parts = [self.title, self.abstract] + [f"{s.heading}\n{s.text}" for s in self.sections]
        parts += [c.text for c in self.captions] + ["\n".join(t.rows) for t in self.tables]
        return "\n\n".join(p for p in parts if p)


# ----------------------------------------------------------------------- index


class Chunk(Record):
    """A passage that never crosses a section boundary."""

    chunk_id: str  # "<paper_id>#<n>"
    paper_id: str
    title: str = ""
    section: str = ""  # section path: "3 Results > 3.1 Common Sense Reasoning"
    page_start: int
    page_end: int
    kind: Literal["text", "table", "abstract", "figure"] = "text"  # figure: a figure caption
    text: str
    overlap: int = 0  # leading characters of `text` the previous chunk also holds (embedded there only)


class Hit(Record):
    chunk: Chunk
    score: float


# ------------------------------------------------------------------- summarize

class Evidence(Record):
    page: int
    section: str = ""
    quote: str  # verbatim in the parsed text


class FieldValue(Record):
    """A survey field: a value (text or list) backed by evidence, or None for "not found"."""

    value: str | list[str] | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    backend: str = ""  # the backend that filled this field when it differs from the summary's (LLM fallback)

    @property
    def found(self) -> bool:
        return bool(self.value)


class ColumnValue(FieldValue):
    """A column of your own for one paper: the question it answered, its type, and the value found (or None)."""

    question: str
    type: Literal["number", "text", "list", "yes/no"]
    unit: str = ""


class BenchmarkScore(Record):
    benchmark: str
    metric: str = ""
    setting: str = ""  # "5-shot", "pass@1"
    model: str = ""
    score: str
    page: int | None = None
    quote: str = ""
    own: bool = False  # the model is one the paper introduces


class FactValue(Record):
    """One fact of a model as the paper states it, its normalized form for comparison, and where it is stated."""

    value: str  # as printed: "16.8B", "4,096", "2e−5", "RoPE"
    normalized: int | float | str  # 16800000000, 4096, 2e-05, "RoPE" (rules: digest/summarize/facts.py)
    page: int
    quote: str  # verbatim in the parsed text (a sentence, or a table row), holding `value`


class ModelFacts(Record):
    """The fact sheet of one model the paper introduces (one per size when it gives several)."""

    name: str
    facts: dict[str, FactValue] = Field(default_factory=dict)  # fact key (digest.fields.FACT_KEYS) -> value


class Figure(Record):
    """A figure or table of the paper cropped from its page to an image stored beside the paper's sheet."""

    label: str  # "Figure 3"
    kind: Literal["figure", "table"]
    number: str  # "3", "A.1"
    caption: str
    page: int
    bbox: BBox  # the crop on its page
    file: str  # the image's name: "fig-3.png", "table-2.png"


class PaperSummary(Record):
    paper_id: str
    title: str = ""
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    benchmarks: list[BenchmarkScore] = Field(default_factory=list)
    facts: list[ModelFacts] = Field(default_factory=list)
    columns: dict[str, ColumnValue] = Field(default_factory=dict)  # columns of your own, by name
    figures: list[Figure] = Field(default_factory=list)  # the paper's headline figures and results tables
    backend: str = "extractive"
    model: str = ""
    lang: Literal["zh", "en"] = "en"
    seconds: float = 0.0


# ------------------------------------------------------------------------- ask


class Citation(Record):
    n: int
    paper_id: str
    title: str = ""
    section: str = ""
    page: int
    text: str


class Answer(Record):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    answered: bool = True  # False: the corpus does not say
