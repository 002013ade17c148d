"""The papers × model facts matrix every export shows: a row per (paper, model), a column per fact that any model
has (in the fact sheet's order); each cell the value as the paper states it, with its normalized form, page and
quote."""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import FACT_KEYS
from ..models import FactValue
from .record import Lang, SurveyEntry, fact_labels


@dataclass
class FactRow:
    entry: SurveyEntry
    model: str
    cells: dict[str, FactValue]  # fact key -> value (keys the model lacks are absent)

    @property
    def paper_id(self) -> str:
        return self.entry.paper_id

    @property
    def title(self) -> str:
        return self.entry.title


@dataclass
class FactMatrix:
    keys: list[str]  # the facts any row has, in the fact sheet's order
    labels: dict[str, str]  # key -> heading ("Layers", "层数")
    rows: list[FactRow]

    def __bool__(self) -> bool:
        return bool(self.rows)


def fact_matrix(entries: list[SurveyEntry], lang: Lang) -> FactMatrix:
    """The matrix of the entries' model facts (empty when no paper has any)."""
    rows = [FactRow(e, m.name, m.facts) for e in entries for m in e.facts if m.facts]
    keys = [k for k in FACT_KEYS if any(k in r.cells for r in rows)]
    headings = fact_labels(lang)
    return FactMatrix(keys, {k: headings[k] for k in keys}, rows)


def normalized_text(value: FactValue) -> str:
    """The normalized form as text: integers in full, other numbers in short scientific form ("1.68e+10")."""
    n = value.normalized
    return str(n) if isinstance(n, int | str) else f"{n:g}"


def sort_key(value: FactValue) -> str:
    """The normalized value as text that sorts right in a numeric collation (fixed decimals for fractions)."""
    n = value.normalized
    return n if isinstance(n, str) else str(n) if isinstance(n, int) else f"{n:.15f}"


def where(value: FactValue) -> str:
    """`p. 8: "quote"` on one line."""
    return f'p. {value.page}: "{" ".join(value.quote.split())}"'
