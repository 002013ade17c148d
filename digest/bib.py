"""BibTeX files (Zotero, Better BibTeX, JabRef, arXiv, Google Scholar or by hand): the arXiv paper each entry
names, its metadata, and the PDFs a Zotero export holds for it. Parsed by bibtexparser; values LaTeX-decoded.

An entry names an arXiv paper through, in this order: `eprint` when `archivePrefix` or `eprinttype` says arXiv
(or the value reads `arXiv:…`), a Mendeley `arxivid`, a DOI `10.48550/arXiv.<id>` (in `doi` or `url`), an arXiv
URL in `url`, then an arXiv URL or `arXiv:<id>` in `howpublished`, `note`, `journal` (Google Scholar's "arXiv
preprint arXiv:…") or `number` (Better BibTeX). Nothing else is guessed: other entries are reported.

A Zotero export ("Export Collection…" → BibTeX with "Export Files") is a folder holding `<name>.bib` and
`files/<n>/<file>.pdf`. An entry's `file` field lists its attachments, `;` between them, each
`description:path:mime type` (Zotero, JabRef) or a bare path (Better BibTeX), `\\:`, `\\;` and `\\\\` escaped;
relative paths start at the .bib file's folder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser.exceptions import ParsingException
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from pylatexenc.latex2text import LatexNodes2Text

from .errors import DigestError, one_line
from .corpus import local_pdfs
from .ids import ArxivId, InvalidId, parse_id
from .models import PaperRecord
from .outcome import Outcome, Stage

_NO_ID = "no arXiv id: add its PDF with `digest add`"
_ID_FIELDS = ("doi", "url", "howpublished", "note", "journal", "number")
_ARXIV_IN_TEXT = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/[^\s{}\",;]+"  # an abs/pdf/html URL
    r"|10\.48550/arxiv\.(?P<doi>[^\s{}\",;]+)"  # arXiv's DOI
    r"|\barxiv:\s*[^\s{}\",;\[\]]+",  # arXiv:2302.13971
    re.I,
)
_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_KEYWORD_SEPARATOR = re.compile(r"\s*[,;]\s*")
_LATEX = LatexNodes2Text()
logging.getLogger("bibtexparser.splitter").setLevel(logging.ERROR)  # read_bib reports a failed block itself


@dataclass(frozen=True)
class BibEntry:
    """One entry of a .bib file: what it says about a paper (values LaTeX-decoded, whitespace collapsed)."""

    key: str
    title: str = ""
    authors: list[str] = field(default_factory=list)  # "First Last"
    abstract: str = ""
    published: str | None = None  # `date` when ISO, else `year`
    tags: list[str] = field(default_factory=list)  # `keywords`
    arxiv_id: ArxivId | None = None
    no_id: str = ""  # why arxiv_id is None, and what to do
    pdfs: list[Path] = field(default_factory=list)  # PDF attachments (`file`), resolved, whether there or not

    def describe(self, record: PaperRecord) -> PaperRecord:
        """`record` (an imported PDF's) with what this entry knows: its title and tags where it has them (a
        library's metadata, like arXiv's for a fetched paper, reads better than a PDF's page 1), and its authors,
        abstract and date where the record has none."""
        return record.model_copy(update={
            "title": self.title or record.title,
            "authors": record.authors or self.authors,
            "abstract": record.abstract or self.abstract,
            "published": record.published or self.published,
            "tags": self.tags or record.tags,
        })

    def failed(self, stage: Stage, reason: str) -> Outcome:
        """The outcome of an entry that brings no paper, named by its key: `"Title": reason`."""
        error = f'"{self.title}": {reason}' if self.title else reason
        return Outcome(self.key, stage, "failed", error, {"title": self.title})


def read_bib(path: Path) -> list[BibEntry]:
    """Every entry of a .bib file, in order. DigestError (one line naming the file and what to do) when it
    cannot be read, is not UTF-8, holds a block bibtexparser cannot parse, or holds no entry."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"{exc.strerror or exc}; check the path" if isinstance(exc, OSError) else (
            "not UTF-8 text; export the library as UTF-8 BibTeX")
        raise DigestError(f"cannot read {path}: {problem}") from exc
    try:
        library = bibtexparser.parse_string(text)
    except ParsingException as exc:  # a parser state bibtexparser did not foresee
        raise DigestError(f"{path}: bibtexparser cannot read it ({one_line(exc)}); check the file's syntax") from exc
    if library.failed_blocks:
        bad = library.failed_blocks[0]
        line = f" line {bad.start_line + 1}:" if bad.start_line is not None else ""
        problem = " ".join((getattr(bad.error, "abort_reason", "") or str(bad.error)).split()).removesuffix(".")
        raise DigestError(f"{path}:{line} not valid BibTeX ({problem}); fix that entry or export the library again")
    if not library.entries:
        raise DigestError(f"{path} holds no BibTeX entries; pass the .bib file your reference manager exported")
    return [_entry(e.key, {f.key.lower(): str(f.value) for f in e.fields}, path.parent) for e in library.entries]


def cited_papers(path: Path) -> tuple[list[BibEntry], list[Outcome]]:
    """The entries of a .bib file that name an arXiv paper, and a failed outcome for each other one, saying
    why (`digest fetch --bib`)."""
    entries = read_bib(path)
    return [e for e in entries if e.arxiv_id], [e.failed("fetch", e.no_id) for e in entries if not e.arxiv_id]


@dataclass
class ZoteroImport:
    """What `digest add` imports: every PDF (attachments first), the entry each attachment belongs to, and
    the entries whose PDF is missing."""

    pdfs: list[Path] = field(default_factory=list)
    entries: dict[Path, BibEntry] = field(default_factory=dict)
    missing: list[Outcome] = field(default_factory=list)


def zotero_import(paths: Iterable[Path]) -> ZoteroImport:
    """Sort the paths `digest add` got. A .bib file brings its entries' PDFs; a folder holding .bib files at its
    top (a Zotero export) brings those and any other PDF inside; anything else is a PDF or a folder of PDFs.
    An entry's first PDF that exists is its paper (further ones, supplements, are not imported); an entry
    without one is reported."""
    plan = ZoteroImport()
    attached: set[Path] = set()
    plain: list[Path] = []
    for path in paths:
        bibs = sorted(path.glob("*.bib")) if path.is_dir() else [path] if path.suffix.lower() == ".bib" else []
        for bib in bibs:
            for entry in read_bib(bib):
                attached.update(entry.pdfs)
                _attach(plan, entry)
        if not bibs or path.is_dir():
            plain.append(path)
    plan.pdfs += [p for p in local_pdfs(plain) if p.resolve() not in attached]
    return plan


def _attach(plan: ZoteroImport, entry: BibEntry) -> None:
    there = [p for p in entry.pdfs if p.is_file()]
    if there:
        if there[0] not in plan.entries:
            plan.pdfs.append(there[0])
            plan.entries[there[0]] = entry
        return
    fetch = f"; or `digest fetch {entry.arxiv_id}`" if entry.arxiv_id else ""
    if entry.pdfs:
        reason = f"its PDF is missing ({entry.pdfs[0]}): export again with Export Files checked{fetch}"
    else:
        reason = f"no PDF attached: attach one in Zotero and export again{fetch}"
    plan.missing.append(entry.failed("add", reason))


def _entry(key: str, values: dict[str, str], folder: Path) -> BibEntry:
    arxiv_id, no_id = _arxiv_id(values)
    date = values.get("date", "").strip()
    year = values.get("year", "").strip()
    published = date if _DATE.match(date) else year if _DATE.match(year) else None
    return BibEntry(
        key=key,
        title=_text(values.get("title", "")),
        authors=[_text(parse_single_name_into_parts(name, strict=False).merge_first_name_first)
                 for name in split_multiple_persons_names(values.get("author", "")) if name != "others"],
        abstract=_text(values.get("abstract", "")),
        published=published,
        tags=list(dict.fromkeys(t for t in _KEYWORD_SEPARATOR.split(_text(values.get("keywords", ""))) if t)),
        arxiv_id=arxiv_id,
        no_id=no_id,
        pdfs=[(folder / path).resolve() for path, kind in _attachments(values.get("file", ""))
              if "pdf" in kind.lower() or (not kind and path.lower().endswith(".pdf"))],
    )


def _arxiv_id(values: dict[str, str]) -> tuple[ArxivId | None, str]:
    """The arXiv id an entry names (see the module docstring), else None and why."""
    candidates: list[str] = []
    eprint = values.get("eprint", "").strip()
    kind = values.get("archiveprefix") or values.get("eprinttype") or ""
    if eprint and kind.strip().lower() == "arxiv":
        candidates.append(eprint)
    elif eprint:
        candidates += _arxiv_refs(eprint)
    if values.get("arxivid", "").strip():
        candidates.append(values["arxivid"])
    for name in _ID_FIELDS:
        candidates += _arxiv_refs(values.get(name, ""))
    problem = ""
    for text in candidates:
        try:
            return parse_id(text), ""
        except InvalidId as exc:
            problem = problem or f"{exc}; fix the entry or add its PDF with `digest add`"
    return None, problem or _NO_ID


def _arxiv_refs(text: str) -> list[str]:
    """The arXiv ids a field's text writes out (URLs, DOIs, `arXiv:…`), trailing punctuation dropped."""
    return [(m.group("doi") or m.group(0)).rstrip(".)") for m in _ARXIV_IN_TEXT.finditer(text)]


def _attachments(value: str) -> list[tuple[str, str]]:
    """(path, mime type) of each attachment in a `file` field, as Zotero's own BibTeX importer reads it:
    records split at unescaped `;`, fields at unescaped `:`; a backslash escapes anything but a letter,
    digit or dot. A record of other than one or three fields (an unescaped Windows path) is skipped."""
    records: list[list[str]] = [[""]]
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, "")
            records[-1][-1] += escaped if escaped and not (escaped.isalnum() or escaped == ".") else ch + escaped
        elif ch == ";":
            records.append([""])
        elif ch == ":":
            records[-1].append("")
        else:
            records[-1][-1] += ch
    found = []
    for parts in records:
        if len(parts) == 3 and parts[1].strip():
            found.append((parts[1].strip(), parts[2].strip()))
        elif len(parts) == 1 and parts[0].strip():
            found.append((parts[0].strip(), ""))
    return found


def _text(latex: str) -> str:
    """A BibTeX value as plain text: LaTeX decoded, braces dropped, whitespace collapsed."""
    return " ".join(_LATEX.latex_to_text(latex).split()) if latex.strip() else ""
