"""Spreadsheets: a row per paper and a column per field (CSV, XLSX); the XLSX adds benchmark and evidence sheets."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..models import BenchmarkScore
from . import Exporter, register
from .record import SHEET_ORDER, Lang, SurveyEntry, field_label, field_text, ui

EXCEL_CELL_MAX = 32_767
_NUMBER = re.compile(r"^-?\d+(?:\.(\d+))?$")


def paper_columns(lang: Lang) -> list[str]:
    """Headings of the one-row-per-paper table."""
    return [ui("paper_id", lang), ui("title", lang), ui("authors", lang), ui("published", lang)] + [
        field_label(key, lang) for key in SHEET_ORDER
    ]


def paper_row(entry: SurveyEntry, lang: Lang) -> list[str]:
    meta = entry.metadata
    return [entry.paper_id, entry.title, ", ".join(meta.authors), meta.published or ""] + [
        field_text(entry.field(key), lang) for key in SHEET_ORDER
    ]


@register("csv")
class CsvExporter(Exporter):
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right."""

    suffixes = (".csv",)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(paper_columns(lang))
        writer.writerows(paper_row(e, lang) for e in entries)
        return buf.getvalue().encode("utf-8-sig")


BenchmarkColumn = tuple[str, str, str]  # benchmark, metric, setting


def benchmark_matrix(
    entries: list[SurveyEntry],
) -> tuple[list[BenchmarkColumn], list[tuple[SurveyEntry, str, dict[BenchmarkColumn, list[BenchmarkScore]]]]]:
    """Columns (benchmark, metric, setting) in order of first appearance, and a row per (paper, model)."""
    columns: dict[BenchmarkColumn, None] = {}
    rows = []
    for entry in entries:
        by_model: dict[str, dict[BenchmarkColumn, list[BenchmarkScore]]] = defaultdict(lambda: defaultdict(list))
        for score in entry.benchmarks:
            column = (score.benchmark, score.metric, score.setting)
            columns.setdefault(column)
            by_model[score.model][column].append(score)
        rows += [(entry, model, dict(cells)) for model, cells in by_model.items()]
    return list(columns), rows


@register("xlsx")
class XlsxExporter(Exporter):
    """Sheets `survey` (a row per paper), `benchmarks` (papers × benchmarks) and `evidence`."""

    suffixes = (".xlsx",)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        book = Workbook()
        self._survey(book.active, entries, lang)
        self._benchmarks(book.create_sheet("benchmarks"), entries, lang)
        self._evidence(book.create_sheet("evidence"), entries, lang)
        buf = io.BytesIO()
        book.save(buf)
        return buf.getvalue()

    def _survey(self, sheet: Worksheet, entries: list[SurveyEntry], lang: Lang) -> None:
        sheet.title = "survey"
        _fill(
            sheet,
            paper_columns(lang),
            [paper_row(e, lang) for e in entries],
            widths=[13, 36, 24, 11] + [48] * len(SHEET_ORDER),
            frozen="C2",
        )

    def _benchmarks(self, sheet: Worksheet, entries: list[SurveyEntry], lang: Lang) -> None:
        columns, rows = benchmark_matrix(entries)
        heads = [ui("paper_id", lang), ui("title", lang), ui("model", lang)] + [_column_title(c) for c in columns]
        _fill(
            sheet,
            heads,
            [[e.paper_id, e.title, model] + [None] * len(columns) for e, model, _ in rows],
            widths=[13, 30, 16] + [14] * len(columns),
            frozen="D2",
        )
        for col, (benchmark, metric, setting) in enumerate(columns, start=4):
            note = "\n".join(
                f"{ui(key, lang)}: {text or '-'}"
                for key, text in (("benchmark", benchmark), ("metric", metric), ("setting", setting))
            )
            sheet.cell(1, col).comment = Comment(note, "digest", height=90, width=220)
        for r, (_, _, cells) in enumerate(rows, start=2):
            for col, column in enumerate(columns, start=4):
                if column in cells:
                    _score_cell(sheet.cell(r, col), cells[column], lang)

    def _evidence(self, sheet: Worksheet, entries: list[SurveyEntry], lang: Lang) -> None:
        heads = [ui(k, lang) for k in ("paper_id", "field", "page", "section", "quote")]
        rows = [
            [e.paper_id, field_label(key, lang), ev.page, ev.section, ev.quote]
            for e in entries
            for key in SHEET_ORDER
            for ev in e.field(key).evidence
        ]
        _fill(sheet, heads, rows, widths=[13, 20, 7, 28, 90], frozen="A2")


def _column_title(column: BenchmarkColumn) -> str:
    """`MMLU (5-shot, acc)`: setting and metric tell apart the columns of one benchmark."""
    benchmark, metric, setting = column
    qualifiers = ", ".join(q for q in (setting, metric) if q)
    return f"{benchmark} ({qualifiers})" if qualifiers else benchmark


def _score_cell(cell, scores: list[BenchmarkScore], lang: Lang) -> None:
    """A score as a number where it is one (so it sorts), with its page and quote as a comment."""
    values = list(dict.fromkeys(s.score for s in scores))
    number = _NUMBER.match(values[0]) if len(values) == 1 else None
    if number:
        cell.value = float(values[0])
        cell.number_format = f"0.{'0' * len(number.group(1))}" if number.group(1) else "0"
    else:
        _set_text(cell, "; ".join(values))
    quotes = [f"{ui('page', lang)} {s.page}: {s.quote}" if s.page else s.quote for s in scores if s.quote]
    if quotes:
        cell.comment = Comment(_clean("\n".join(quotes))[:2000], "digest", height=120, width=320)


def _fill(sheet: Worksheet, heads: list[str], rows: list[list], widths: list[int], frozen: str) -> None:
    """Header, rows as text, wrapped and top-aligned, the header frozen and filterable."""
    sheet.append(heads)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            cell = sheet.cell(r, col)
            if isinstance(value, str):
                _set_text(cell, value)
            else:
                cell.value = value
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.freeze_panes = frozen
    sheet.auto_filter.ref = sheet.dimensions


def _set_text(cell, text: str) -> None:
    """Text stays text: never a formula, never characters Excel rejects, never past Excel's cell limit."""
    cell.value = _clean(text)[:EXCEL_CELL_MAX]
    cell.data_type = "s"


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)
