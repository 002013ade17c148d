"""Benchmark scores read from result tables and from sentences that state them.

A table is read when its header row (benchmarks as columns, models as rows) or its benchmark column (benchmarks as
rows, models as columns) holds names the paper evaluates on; every score keeps its table row as the quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.models import BenchmarkScore, Table
from digest.text import row_cells

from .entities import is_benchmark_name
from .evidence import PaperText, Sentence

MAX_SCORES = 400
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?\s?%?(?=\s|$|[*†‡])")
_METRIC = re.compile(
    r"\b(?:BLEU|ROUGE(?:-[12L])?|F1|EM|Acc\.?|Accuracy|Exact\s+Match|Pass@\d+|pass@\d+|BPB|PPL|Perplexity|Elo|ELO\s+Rating"
    r"|Win\s+Rate|maj@\d+|Consensus@\d+|Percentile|Rating|Resolved|LC\s+Win\s+Rate|MC[12]|Prompt\s+Strict|Correct)\b",
    re.I,
)
_SETTING = re.compile(r"\b(?:\d+|zero|one|few)[- ]shot\b|\bmaj1?@\d+\b|\bpass@\d+\b|\bCoT\b|\bgreedy\b", re.I)
_SCORE_IN_TEXT = re.compile(
    r"(?P<metric>BLEU|ROUGE(?:-[12L])?|F1|accuracy|exact match|pass@\d+|perplexity|Elo)\s+(?:score\s+)?of\s+(?P<score>\d+(?:\.\d+)?%?)"
    r"|(?P<score2>\d+(?:\.\d+)?%?)\s+(?P<metric2>BLEU|F1|accuracy|pass@\d+)?\s*(?:on|in)\s+(?:the\s+)?(?P<name>[A-Z][\w.+-]*(?:\s[\w.+-]+){0,3})",
    re.I,
)


@dataclass
class _Grid:
    header: list[str]  # per column: the header rows' cells joined
    rows: list[tuple[list[str], Sentence]]  # data rows, with the row as a quotable sentence


def read_scores(text: PaperText, names: list[str]) -> list[BenchmarkScore]:
    """Scores for the benchmarks in `names` from the result tables, then from sentences; tables first."""
    known = _Names(names)
    scores: list[BenchmarkScore] = []
    for table in text.parsed.tables:
        grid = _grid(table, text.table_rows(table))
        if grid:
            scores += _by_columns(table, grid, known) or _by_rows(table, grid, known)
    scores += _from_sentences(text, known)
    unique = {(b.benchmark, b.metric, b.setting, b.model, b.score): b for b in scores}
    return list(unique.values())[:MAX_SCORES]


class _Names:
    """The benchmark names the paper evaluates on, matched in table cells ("MMLU (EM)", "GSM8k")."""

    def __init__(self, names: list[str]):
        self.names = sorted(names, key=len, reverse=True)
        self.folded = {n.lower(): n for n in names}

    def match(self, cell: str) -> tuple[str, str] | None:
        """(benchmark, what follows it: metric or setting) when the cell names one of the benchmarks, or another
        name the gazetteer knows as a benchmark ("WinoG" in a table when the prose says "WinoGrande")."""
        cell = " ".join(cell.split())
        base = re.split(r"\s*[(\[]", cell)[0].strip()
        if base.lower() in self.folded or is_benchmark_name(base):
            return base, cell[len(base):].strip(" ()[]")
        for name in self.names:
            if re.match(rf"{re.escape(name)}(?![\w-])", cell, re.I):
                return cell[: len(name)], cell[len(name):].strip(" ()[]")
        return None


def _grid(table: Table, sentences: list[Sentence]) -> _Grid | None:
    """Header (rows before the first row holding two numbers) and data rows of a table."""
    by_text = {s.text: s for s in sentences}
    parsed = [(row_cells(r), by_text.get(" ".join(r.split()))) for r in table.rows if not re.fullmatch(r"[|\s:-]+", r)]
    first = next((i for i, (cells, _) in enumerate(parsed) if sum(bool(_NUMBER.match(c)) for c in cells) >= 2), None)
    if first is None or not parsed:
        return None
    width = max(len(cells) for cells, _ in parsed)
    heads = [cells for n, (cells, _) in enumerate(parsed[:first]) if n == 0 or not _attribute_row(cells)]
    header = [" ".join(cells[i] for cells in heads if i < len(cells) and cells[i]).strip() for i in range(width)]
    rows = [(cells + [""] * (width - len(cells)), s) for cells, s in parsed[first:] if s is not None]
    return _Grid(header, rows)


def _attribute_row(cells: list[str]) -> bool:
    """A header row that describes the models ("Architecture | MoE | Dense"), not names them."""
    return bool(cells and cells[0]) and sum(bool(c) for c in cells[1:]) >= 2


def _by_columns(table: Table, grid: _Grid, known: _Names) -> list[BenchmarkScore]:
    """Benchmarks head the columns; each row is a model."""
    columns = {i: m for i, h in enumerate(grid.header) if h and (m := known.match(h))}
    if not columns:
        return []
    first = min(columns)
    caption_setting = _setting(table.caption)
    out = []
    for cells, sentence in grid.rows:
        model = " ".join(c for c in cells[:first] if c and not _NUMBER.match(c)) or " ".join(c for c in cells[:first] if c)
        for i, (name, rest) in columns.items():
            score = _NUMBER.match(cells[i]) if i < len(cells) else None
            if score and model:
                out.append(_score(name, rest, table.caption, caption_setting, model, score.group(0), sentence))
    return out


def _by_rows(table: Table, grid: _Grid, known: _Names) -> list[BenchmarkScore]:
    """Benchmarks label the rows; each column is a model (a "# Shots" or "Metric" column gives the setting or metric)."""
    shots = next((i for i, h in enumerate(grid.header) if re.search(r"shot", h, re.I)), None)
    metric_col = next((i for i, h in enumerate(grid.header) if re.fullmatch(r"metrics?", h, re.I)), None)
    caption_setting = _setting(table.caption)
    out = []
    for cells, sentence in grid.rows:
        label = next(((i, m) for i, c in enumerate(cells[:3]) if c and (m := known.match(c))), None)
        if not label:
            continue
        col, (name, rest) = label
        setting = cells[shots] if shots is not None and shots < len(cells) and cells[shots] not in ("", "-") else caption_setting
        metric = cells[metric_col] if metric_col is not None and metric_col < len(cells) else ""
        for i in range(col + 1, len(cells)):
            score = _NUMBER.match(cells[i])
            model = grid.header[i] if i < len(grid.header) else ""
            if score and model and i not in (shots, metric_col):
                out.append(_score(name, metric or rest, table.caption, setting, model, score.group(0), sentence))
    return out


def _score(name: str, rest: str, caption: str, setting: str, model: str, score: str, row: Sentence) -> BenchmarkScore:
    metric = _METRIC.search(rest) or _METRIC.search(caption)
    setting = _setting(rest) or setting
    return BenchmarkScore(
        benchmark=name, metric=metric.group(0) if metric else "", setting=setting, model=model,
        score=score.strip(), page=row.page, quote=row.text,
    )


def _setting(text: str) -> str:
    m = _SETTING.search(text)
    return m.group(0) if m else ""


def _from_sentences(text: PaperText, known: _Names) -> list[BenchmarkScore]:
    """Scores stated in prose: "a BLEU score of 28.4" (with the one benchmark the sentence names), "68.9% on MMLU"."""
    out = []
    if not known.names:
        return out
    any_name = re.compile(rf"(?<![\w-])(?:{'|'.join(re.escape(n) for n in known.names)})(?![\w-])")
    for s in text.sentences:
        if s.kind not in ("abstract", "body") or not re.search(r"\d", s.text):
            continue
        named = set(any_name.findall(s.text))
        for m in _SCORE_IN_TEXT.finditer(s.text):
            if m.group("score") and len(named) == 1:
                out.append(_prose(next(iter(named)), m.group("metric"), m.group("score"), s))
            elif m.group("score2") and m.group("name") and (hit := known.match(m.group("name"))):
                out.append(_prose(hit[0], m.group("metric2") or "", m.group("score2"), s))
    return out


def _prose(name: str, metric: str, score: str, s: Sentence) -> BenchmarkScore:
    return BenchmarkScore(
        benchmark=name, metric=metric or "", setting=_setting(s.text), model="",
        score=score, page=s.page, quote=s.text,
    )
