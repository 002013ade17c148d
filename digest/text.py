"""Text normalization shared by quote checks and evaluation: NFKC, case-folded, whitespace collapsed."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def contains(haystack: str, needle: str) -> bool:
    """Whether `needle` occurs in `haystack` after normalizing both."""
    return bool(needle.strip()) and normalize(needle) in normalize(haystack)


def row_cells(row: str) -> list[str]:
    """The cells of a Markdown table row, whitespace collapsed."""
    return [" ".join(c.split()) for c in row.strip().strip("|").split("|")]
