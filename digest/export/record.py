"""The exported survey record: one paper's catalog metadata and survey sheet, and the wording around it.

`SurveyDocument` is the contract of the JSON export; `schema/survey.schema.json` is generated from it
(`python -m digest.export > schema/survey.schema.json`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model

from ..fields import FACT_KEYS, FACT_SPECS, FIELD_KEYS, SHEET_ORDER, SPECS
from ..models import BenchmarkScore, ColumnValue, FieldValue, Figure, ModelFacts, PaperRecord, PaperSummary

Lang = Literal["zh", "en"]


LIST_SEPARATOR = "; "

UI: dict[str, tuple[str, str]] = {
    "survey": ("论文调研", "Paper survey"),
    "contents": ("目录", "Contents"),
    "papers": ("篇论文", "papers"),
    "not_found": ("未找到", "not found"),
    "paper_id": ("arXiv 编号", "arXiv ID"),
    "title": ("标题", "Title"),
    "authors": ("作者", "Authors"),
    "published": ("发表日期", "Published"),
    "backend": ("生成方式", "Backend"),
    "field": ("字段", "Field"),
    "evidence": ("证据", "Evidence"),
    "benchmarks": ("评测基准", "Benchmarks"),
    "benchmark": ("基准", "Benchmark"),
    "metric": ("指标", "Metric"),
    "setting": ("设置", "Setting"),
    "model": ("模型", "Model"),
    "score": ("分数", "Score"),
    "page": ("页码", "Page"),
    "section": ("章节", "Section"),
    "quote": ("原文", "Quote"),
    "found": ("已填字段", "Fields found"),
    "filter": ("筛选…", "Filter…"),
    "sort_hint": ("点击表头排序", "Click a column header to sort"),
    "facts": ("模型参数", "Model facts"),
    "fact": ("参数", "Fact"),
    "normalized": ("归一化", "normalized"),
    "figures": ("图表", "Figures"),
    "figure": ("图表", "Figure"),
    "caption": ("图注", "Caption"),
    "file": ("文件", "File"),
}


def ui(key: str, lang: Lang) -> str:
    """A fixed piece of wording (column heading, "not found"...) in `lang`."""
    zh, en = UI[key]
    return zh if lang == "zh" else en


def wording(lang: Lang) -> dict[str, str]:
    """All fixed wording in `lang`, for templates (`ui.not_found`...)."""
    return {key: ui(key, lang) for key in UI}


def field_label(key: str, lang: Lang) -> str:
    return SPECS[key].label(lang)


def fact_labels(lang: Lang) -> dict[str, str]:
    """Fact key -> heading, in the fact sheet's order."""
    return {key: FACT_SPECS[key].label(lang) for key in FACT_KEYS}


def labels(lang: Lang) -> dict[str, str]:
    """Field key -> heading, in sheet order."""
    return {key: field_label(key, lang) for key in SHEET_ORDER}


SurveyFields = create_model(
    "SurveyFields",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Every survey field; a null value means the paper does not say (rendered as 'not found').",
    **{key: (FieldValue, ...) for key in FIELD_KEYS},
)


class SurveyEntry(BaseModel):
    """One paper as exported: catalog metadata, its survey fields with evidence, and its benchmark scores."""

    paper_id: str
    title: str = ""
    url: str | None = Field(None, description="the paper's arXiv abstract page, for arXiv papers")
    metadata: PaperRecord
    fields: SurveyFields  # type: ignore[valid-type]
    benchmarks: list[BenchmarkScore] = Field(default_factory=list)
    facts: list[ModelFacts] = Field(default_factory=list, description="a fact sheet per model the paper introduces")
    columns: dict[str, ColumnValue] = Field(default_factory=dict, description="columns of your own, by name")
    figures: list[Figure] = Field(default_factory=list, description="results figures and tables cropped from the "
                                  "paper's pages; `file` names the image, in a folder `<paper_id>/` beside the export")
    backend: str = ""
    model: str = ""
    summary_lang: Lang = "en"
    seconds: float = 0.0
    _images: Path | None = PrivateAttr(None)  # the folder holding the figures' image files

    @classmethod
    def build(cls, summary: PaperSummary, paper: PaperRecord | None = None, images: Path | None = None) -> SurveyEntry:
        """Join a survey sheet with its catalog record (a bare record when the catalog has none) and the folder of
        its figures' images."""
        paper = paper or PaperRecord(paper_id=summary.paper_id, title=summary.title)
        entry = cls(
            paper_id=summary.paper_id,
            title=paper.title or summary.title,
            url=f"https://arxiv.org/abs/{summary.paper_id}" if paper.source == "arxiv" else None,
            metadata=paper,
            fields={key: summary.fields.get(key, FieldValue()) for key in FIELD_KEYS},
            benchmarks=summary.benchmarks,
            facts=summary.facts,
            columns=summary.columns,
            figures=summary.figures,
            backend=summary.backend,
            model=summary.model,
            summary_lang=summary.lang,
            seconds=summary.seconds,
        )
        entry._images = images
        return entry

    def image(self, figure: Figure) -> Path | None:
        """The image file of one of the paper's figures, when it is there."""
        path = self._images / figure.file if self._images else None
        return path if path and path.is_file() else None

    def field(self, key: str) -> FieldValue:
        return getattr(self.fields, key)

    def sheet_fields(self, lang: Lang) -> list[tuple[str, str, FieldValue]]:
        """(key, heading, value): the survey fields in sheet order, then the columns of your own (keyed by name)."""
        return [(key, field_label(key, lang), self.field(key)) for key in SHEET_ORDER] + [
            (name, name, value) for name, value in self.columns.items()
        ]


def column_names(entries: list[SurveyEntry]) -> list[str]:
    """The names of the columns of your own that any entry has, in order of first appearance."""
    return list(dict.fromkeys(name for e in entries for name in e.columns))


class SurveyDocument(BaseModel):
    """The JSON export: every paper's record, with the field headings of the chosen language."""

    format: Literal["digest-survey"] = "digest-survey"
    version: Literal[1] = 1
    lang: Lang
    labels: dict[str, str] = Field(description="field key -> heading in `lang`, in the survey template's order")
    fact_labels: dict[str, str] = Field(default_factory=dict, description="model fact key -> heading in `lang`")
    papers: list[SurveyEntry]


def field_text(value: FieldValue, lang: Lang) -> str:
    """A field as one cell of text: lists joined with '; ', "not found" when empty."""
    items = field_items(value)
    return LIST_SEPARATOR.join(items) if items else ui("not_found", lang)


def field_items(value: FieldValue) -> list[str]:
    """A field's value as a list (empty when not found)."""
    if not value.found:
        return []
    items = value.value if isinstance(value.value, list) else [value.value]
    return [item for item in items if item.strip()]


def survey_schema() -> dict:
    """JSON Schema (draft 2020-12) of the JSON export."""
    schema = SurveyDocument.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
    }
