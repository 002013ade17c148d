"""BibTeX: one `@misc` entry per paper, keyed by its paper id, with the survey sheet in its `note`.

Every entry has `title` (braced, so styles keep its case), `author` (`First Last and …`), `year`, `abstract`
and `keywords` (the paper's tags) when the catalog has them, and `note`: one `label: value` line per survey
field, in the sheet's order and language. arXiv papers add `eprint`, `archivePrefix = {arXiv}`,
`primaryClass`, `doi` (10.48550/arXiv.<id>) and `url`, as arXiv's and Zotero's exports write them.

Values are UTF-8 on one line each, with LaTeX's special characters escaped as Zotero escapes them (braces
as `\\{\\vphantom{\\}}`, so that BibTeX still counts them balanced) and TeX ligatures (`--`, `''`, ``` `` ```,
`?``, `!``) broken by `{}`: bibtexparser with LaTeX decoding reads back the catalog's text.
"""

from __future__ import annotations

import re

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field

from . import Exporter, register
from .record import SHEET_ORDER, Lang, SurveyEntry, field_label, field_text

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{\vphantom{\}}",
    "}": r"\vphantom{\{}\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LIGATURE = re.compile(r"(?<=-)(?=-)|(?<=')(?=')|(?<=`)(?=`)|(?<=[?!])(?=`)")
_AND = re.compile(r"\band\b", re.I)


def _escape(text: str) -> str:
    """Plain text as a BibTeX value that LaTeX typesets as that text: whitespace collapsed to single spaces."""
    escaped = "".join(_SPECIAL.get(ch, ch) for ch in " ".join(text.split()))
    return _LIGATURE.sub("{}", escaped)


@register("bib")
class BibExporter(Exporter):
    suffixes = (".bib",)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        library = Library([bib_entry(entry, lang) for entry in entries])
        return bibtexparser.write_string(library).encode()


def bib_entry(entry: SurveyEntry, lang: Lang) -> Entry:
    """One paper as a BibTeX entry (see the module docstring)."""
    meta = entry.metadata
    values = {
        "title": "{" + _escape(entry.title or entry.paper_id) + "}",
        "author": " and ".join(_author(name) for name in meta.authors),
        "year": (meta.published or "")[:4],
    }
    if meta.source == "arxiv":
        values |= {
            "eprint": entry.paper_id,
            "archivePrefix": "arXiv",
            "primaryClass": meta.categories[0] if meta.categories else "",
            "doi": f"10.48550/arXiv.{entry.paper_id}",
            "url": entry.url or "",
        }
    values |= {
        "abstract": _escape(meta.abstract),
        "keywords": _escape(", ".join(meta.tags)),
        "note": "\n".join(
            _escape(f"{field_label(key, lang)}: {field_text(entry.field(key), lang)}") for key in SHEET_ORDER
        ),
    }
    return Entry("misc", entry.paper_id, [Field(key, value) for key, value in values.items() if value])


def _author(name: str) -> str:
    """A name as BibTeX reads it: braced whole when it holds `and` or a comma, which would split it."""
    escaped = _escape(name)
    return "{" + escaped + "}" if _AND.search(name) or "," in name else escaped
