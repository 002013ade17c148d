"""Spreadsheets: a row per paper and a column per field (CSV, XLSX); the XLSX adds benchmark, model facts and
evidence sheets, the CSV a `-facts.csv` file beside it for the model facts."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..fields import FACT_SPECS
from ..files import write_atomic
from ..models import BenchmarkScore, FactValue
from . import Exporter, register
from .facts import FactMatrix, fact_matrix, normalized_text, where
from .record import SHEET_ORDER, Lang, SurveyEntry, column_names, field_label, field_text, ui

EXCEL_CELL_MAX = 32_767
_NUMBER = re.compile(r"^-?\d+(?:\.(\d+))?$")


def paper_columns(lang: Lang, custom: list[str] = ()) -> list[str]:
    """Headings of the one-row-per-paper table: metadata, the survey fields, the columns of your own."""
    return [ui("paper_id", lang), ui("title", lang), ui("authors", lang), ui("published", lang)] + [
        field_label(key, lang) for key in SHEET_ORDER
    ] + list(custom)


def paper_row(entry: SurveyEntry, lang: Lang, custom: list[str] = ()) -> list[str]:
    meta = entry.metadata
    return [entry.paper_id, entry.title, ", ".join(meta.authors), meta.published or ""] + [
        field_text(entry.field(key), lang) for key in SHEET_ORDER
    ] + _custom_cells(entry, custom, lang)


def _custom_cells(entry: SurveyEntry, custom: list[str], lang: Lang) -> list[str]:
    """The entry's values of the columns of your own named `custom` ("" where it has none)."""
    return [field_text(entry.columns[name], lang) if name in entry.columns else "" for name in custom]


@register("csv")
class CsvExporter(Exporter):
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right."""

    suffixes = (".csv",)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        custom = column_names(entries)
        writer.writerow(paper_columns(lang, custom))
        writer.writerows(paper_row(e, lang, custom) for e in entries)
        return buf.getvalue().encode("utf-8-sig")

    def write(self, entries: list[SurveyEntry], out: Path, lang: Lang) -> list[Path]:
        """The survey, and beside it `<name>-facts.csv` (papers × model facts) when any paper has model facts."""
        target, matrix = self.target(out), fact_matrix(entries, lang)
        files = {target: self.render(entries, lang)}
        if matrix:
            files[target.with_name(f"{target.stem}-facts.csv")] = facts_csv(matrix, lang)
        return [write_atomic(path, data) for path, data in files.items()]


def facts_csv(matrix: FactMatrix, lang: Lang) -> bytes:
    """A row per (paper, model); per fact the value as stated and its normalized form."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    heads = [ui("paper_id", lang), ui("title", lang), ui("model", lang)]
    writer.writerow(heads + [h for k in matrix.keys for h in (matrix.labels[k], f"{matrix.labels[k]} [{ui('normalized', lang)}]")])
    for row in matrix.rows:
        cells = [(v.value, normalized_text(v)) if (v := row.cells.get(k)) else ("", "") for k in matrix.keys]
        writer.writerow([row.paper_id, row.title, row.model] + [c for pair in cells for c in pair])
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
    """Sheets `survey` (a row per paper), `benchmarks` (papers × benchmarks), `columns` (papers × the columns of
    your own, when there are any), `facts` (papers' models × model facts, when there are any), `figures` (the
    papers' results figures, when there are any) and `evidence`."""

    suffixes = (".xlsx",)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        book = Workbook()
        self._survey(book.active, entries, lang)
        self._benchmarks(book.create_sheet("benchmarks"), entries, lang)
        if custom := column_names(entries):
            self._columns(book.create_sheet("columns"), entries, custom, lang)
        if matrix := fact_matrix(entries, lang):
            self._facts(book.create_sheet("facts"), matrix, lang)
        if any(e.figures for e in entries):
            self._figures(book.create_sheet("figures"), entries, lang)
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

    def _columns(self, sheet: Worksheet, entries: list[SurveyEntry], custom: list[str], lang: Lang) -> None:
        """Papers × the columns of your own; each value's quotes, with their pages, as the cell's comment."""
        _fill(
            sheet,
            [ui("paper_id", lang), ui("title", lang)] + custom,
            [[e.paper_id, e.title] + _custom_cells(e, custom, lang) for e in entries],
            widths=[13, 30] + [28] * len(custom),
            frozen="C2",
        )
        for col, name in enumerate(custom, start=3):
            questions = {e.columns[name].question for e in entries if name in e.columns}
            sheet.cell(1, col).comment = Comment("\n".join(sorted(questions)), "digest", height=60, width=220)
            for r, entry in enumerate(entries, start=2):
                evidence = entry.columns[name].evidence if name in entry.columns else []
                if evidence:
                    quotes = "\n".join(f"{ui('page', lang)} {ev.page}: {ev.quote}" for ev in evidence)
                    sheet.cell(r, col).comment = _quotes_comment(quotes)

    def _facts(self, sheet: Worksheet, matrix: FactMatrix, lang: Lang) -> None:
        """Papers' models × facts: numbers as numbers (so they sort), the value as stated and its quote as a comment."""
        _fill(
            sheet,
            [ui("paper_id", lang), ui("title", lang), ui("model", lang)] + [matrix.labels[k] for k in matrix.keys],
            [[r.paper_id, r.title, r.model] + [None] * len(matrix.keys) for r in matrix.rows],
            widths=[13, 30, 22] + [14] * len(matrix.keys),
            frozen="D2",
        )
        for col, key in enumerate(matrix.keys, start=4):
            unit = f"\n{FACT_SPECS[key].unit}" if FACT_SPECS[key].unit else ""
            sheet.cell(1, col).comment = Comment(f"{key}{unit}", "digest", height=60, width=200)
        for r, row in enumerate(matrix.rows, start=2):
            for col, key in enumerate(matrix.keys, start=4):
                if value := row.cells.get(key):
                    _fact_cell(sheet.cell(r, col), value, lang)

    def _figures(self, sheet: Worksheet, entries: list[SurveyEntry], lang: Lang) -> None:
        """A row per results figure: paper, label, page, caption and the image's file name."""
        heads = [ui(k, lang) for k in ("paper_id", "figure", "page", "caption", "file")]
        rows = [[e.paper_id, f.label, f.page, f.caption, f.file] for e in entries for f in e.figures]
        _fill(sheet, heads, rows, widths=[13, 12, 7, 90, 16], frozen="A2")

    def _evidence(self, sheet: Worksheet, entries: list[SurveyEntry], lang: Lang) -> None:
        heads = [ui(k, lang) for k in ("paper_id", "field", "page", "section", "quote")]
        rows = [
            [e.paper_id, label, ev.page, ev.section, ev.quote]
            for e in entries
            for _, label, value in e.sheet_fields(lang)
            for ev in value.evidence
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
        cell.comment = _quotes_comment("\n".join(quotes))


def _fact_cell(cell, value: FactValue, lang: Lang) -> None:
    """A fact as a number where it is one, shown at its scale (16.8B, 1.4T, 3.0E-04), else as text."""
    n = value.normalized
    if isinstance(n, int | float):
        cell.value = n
        cell.number_format = _number_format(n)
    else:
        _set_text(cell, value.value)
    cell.comment = _quotes_comment(f"{value.value} ({ui('normalized', lang)}: {normalized_text(value)})\n{where(value)}")


def _quotes_comment(text: str) -> Comment:
    """A cell's comment holding quotes: cleaned for Excel and cut to 2000 characters."""
    return Comment(_clean(text)[:2000], "digest", height=120, width=320)


def _number_format(n: float) -> str:
    """Excel's thousands scaling: 16800000000 shows as 16.8B."""
    if 0 < abs(n) < 0.01:
        return "0.0##E+00"
    for scale, suffix, commas in ((1e12, "T", ",,,,"), (1e9, "B", ",,,"), (1e6, "M", ",,")):
        if abs(n) >= scale:
            return f'0.0##{commas}"{suffix}"'
    return "0" if n == int(n) else "0.0##"


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
