"""Parse: recover each paper's structure (sections, references, tables, captions, links) from its PDF.

`parse_pdf` does one file; `parse_papers` parses the catalog's papers whose PDF or parser changed and stores the
results, marking failures with their reason without stopping the batch.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..catalog import Catalog
from ..errors import DigestError
from ..files import sha256_file
from ..ids import parse_id
from ..models import PaperRecord, ParsedPaper
from ..outcome import OnProgress, OnResult, Outcome, ignore_progress, ignore_result
from ..settings import Settings
from ..text import normalize
from .document import PARSER_VERSION, ParseError, parse_pdf
from .identify import identify_pdf
from .outline import split_number
from .pdf import PdfError, check_pdf, open_pdf

__all__ = ["PARSER_VERSION", "ParseError", "PdfError", "check_pdf", "identify_pdf", "load_parsed", "open_pdf",
           "parse_papers", "parse_pdf", "pdf_path", "section_recall"]


NO_OUTLINE = "no heading structure found: the whole text is kept, in one section per page"


def section_recall(paper: ParsedPaper, titles: list[str]) -> tuple[float, list[str]]:
    """Share of expected section titles found among the parsed ones (case, numbering and whitespace ignored),
    and the titles missed."""
    found = {_title_key(s.title) for s in paper.sections}
    missed = [t for t in titles if _title_key(t) not in found]
    return (1 - len(missed) / len(titles) if titles else 1.0), missed


def _title_key(title: str) -> str:
    return normalize(split_number(title)[1]).rstrip(".:").replace("’", "'")


def pdf_path(settings: Settings, paper: PaperRecord) -> Path:
    """Where a catalog paper's PDF lives (its recorded path is relative to the workspace)."""
    if paper.pdf_path:
        path = Path(paper.pdf_path)
        return path if path.is_absolute() else settings.workspace / path
    return settings.pdf_dir / f"{parse_id(paper.paper_id).filename}.pdf"


def parse_papers(settings: Settings, catalog: Catalog, ids: list[str] | None = None, force: bool = False,
                 on_result: OnResult = ignore_result, on_progress: OnProgress = ignore_progress) -> list[Outcome]:
    """Parse the catalog's papers (all with status ok, or `ids` in any id form) whose PDF or parser version
    changed, or all with `force`; store each parse or failure in the catalog. One outcome per paper (detail:
    sections, tables, outline_source, seconds); one bad paper never stops the batch."""
    wanted = ids if ids is not None else [p.paper_id for p in catalog.papers(status="ok")]
    outcomes: list[Outcome] = []
    on_progress("parse", 0, len(wanted))
    for any_id in wanted:
        outcomes.append(_parse_named(settings, catalog, any_id, force))
        on_result(outcomes[-1])
        on_progress("parse", len(outcomes), len(wanted))
    return outcomes


def load_parsed(settings: Settings, catalog: Catalog, any_id: str) -> ParsedPaper:
    """A paper's stored parse, parsing it first when it is missing or stale; ParseError says why when it fails."""
    outcome = _parse_named(settings, catalog, any_id, force=False)
    parsed = None if outcome.failed else catalog.load_parse(outcome.paper_id)
    if parsed is None:
        raise ParseError(outcome.error or f"{outcome.paper_id}: no parse stored; run `digest parse {outcome.paper_id}`")
    return parsed


def _parse_named(settings: Settings, catalog: Catalog, any_id: str, force: bool) -> Outcome:
    """Parse the paper named `any_id` (see `parse_papers`); a failed outcome when it is unknown or not fetched."""
    try:
        paper = catalog.find(any_id)
    except DigestError as exc:
        return Outcome(any_id, "parse", "failed", str(exc))
    if paper.status != "ok":
        return Outcome(paper.paper_id, "parse", "failed",
                       f"fetch failed ({paper.error}); run `digest fetch {paper.paper_id}` again")
    return _parse_one(settings, catalog, paper, force)


def _parse_one(settings: Settings, catalog: Catalog, paper: PaperRecord, force: bool) -> Outcome:
    path = pdf_path(settings, paper)
    start = time.perf_counter()
    try:
        sha = paper.sha256 or sha256_file(path)
    except OSError as exc:
        error = f"{path}: cannot read the PDF ({exc.strerror}); run `digest fetch {paper.paper_id}` again"
        catalog.save_parse(paper.paper_id, "", PARSER_VERSION, None, error=error)
        return Outcome(paper.paper_id, "parse", "failed", error)
    state = catalog.parse_state(paper.paper_id)
    if not force and state and state["sha256"] == sha and state["parser_version"] == PARSER_VERSION:
        return Outcome(paper.paper_id, "parse", "unchanged" if state["status"] == "ok" else "failed", state["error"])
    try:
        parsed = parse_pdf(path, paper.paper_id)
    except Exception as exc:  # ParseError, or a bug on an unusual file: either way the batch goes on
        error = str(exc) if isinstance(exc, ParseError) else f"{path}: parser error ({type(exc).__name__}: {exc})"
        error = " ".join(error.split())
        catalog.save_parse(paper.paper_id, sha, PARSER_VERSION, None, error=error, seconds=time.perf_counter() - start)
        return Outcome(paper.paper_id, "parse", "failed", error)
    seconds = time.perf_counter() - start
    catalog.save_parse(paper.paper_id, sha, PARSER_VERSION, parsed, seconds=seconds)
    return Outcome(paper.paper_id, "parse", "done", detail={
        "sections": len(parsed.sections), "tables": len(parsed.tables), "outline_source": parsed.outline_source,
        "seconds": round(seconds, 3)}, warnings=_warnings(parsed))


def _warnings(parsed: ParsedPaper) -> tuple[str, ...]:
    """What the user should know about a parse that worked."""
    ocr = [f"{parsed.ocr_pages} of {parsed.pages} pages have no text layer and were read by OCR (tesseract)"]
    return tuple((ocr if parsed.ocr_pages else []) + ([NO_OUTLINE] if parsed.outline_source == "none" else []))
