"""The compare page's chart: one benchmark's scores across papers and models, as bars laid out for inline SVG.

The benchmark matrix itself is the XLSX export's (`export.tables.benchmark_matrix`). A facts matrix (typed model
facts per paper) belongs beside it once survey sheets carry structured facts; they do not yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..export.tables import BenchmarkColumn

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
BAR_HEIGHT = 22  # pixels per bar, gap included
LABEL_WIDTH = 260  # pixels left of the bars for their labels
BAR_SPACE = 420  # pixels the longest bar takes


@dataclass
class Bar:
    label: str
    score: str  # as the paper prints it
    paper_id: str
    page: int | None
    quote: str
    y: int
    width: float


def score_value(text: str) -> float | None:
    """The first number in a printed score (`73.5`, `62.5%`, `28.4 BLEU`), or None."""
    m = _NUMBER.search(text)
    return float(m.group()) if m else None


def chart_columns(columns: list[BenchmarkColumn], rows: list) -> list[BenchmarkColumn]:
    """The columns worth a chart (two numeric scores or more), the most-scored first."""
    counts = {c: sum(1 for _, _, cells in rows if any(score_value(s.score) is not None for s in cells.get(c, [])))
              for c in columns}
    return sorted((c for c in columns if counts[c] >= 2), key=lambda c: -counts[c])


def bar_chart(column: BenchmarkColumn, rows: list) -> list[Bar]:
    """A bar per (paper, model) scored on `column`, widths scaled to the best score."""
    points = []
    for entry, model, cells in rows:
        for s in cells.get(column, [])[:1]:
            value = score_value(s.score)
            if value is not None:
                points.append((f"{model or entry.title[:40]} · {entry.paper_id}", s, entry.paper_id, value))
    top = max((max(v, 0.0) for *_, v in points), default=0.0) or 1.0
    return [Bar(label, s.score, pid, s.page, s.quote, i * BAR_HEIGHT, max(v, 0.0) / top * BAR_SPACE)
            for i, (label, s, pid, v) in enumerate(points)]
