"""Parse: recover each paper's structure (sections, references, tables, captions, links) from its PDF.

`parse_pdf` does one file; `parse_papers` parses the catalog's papers whose PDF or parser changed and stores the
results, marking failures with their reason without stopping the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

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


Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]  # as the builtin `map` with one iterable

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
                 on_result: OnResult = ignore_result, on_progress: OnProgress = ignore_progress,
                 mapper: Mapper = map) -> list[Outcome]:
    """Parse the catalog's papers (all with status ok, or `ids` in any id form) whose PDF or parser version
    changed, or all with `force`; store each parse or failure in the catalog. One outcome per paper (detail:
    sections, tables, outline_source, seconds); one bad paper never stops the batch. The PDFs are parsed by
    `mapper(parse_job, jobs)`, which yields the results in order: the builtin `map` in this process, an ingest
    engine's (digest/engines) elsewhere."""
    wanted = ids if ids is not None else [p.paper_id for p in catalog.papers(status="ok")]
    on_progress("parse", 0, len(wanted))
    plans = [_plan(settings, catalog, any_id, force) for any_id in wanted]
    results = iter(mapper(parse_job, [plan for plan in plans if isinstance(plan, ParseJob)]))
    outcomes: list[Outcome] = []
    for plan in plans:
        outcomes.append(_store(catalog, plan, next(results)) if isinstance(plan, ParseJob) else plan)
        on_result(outcomes[-1])
        on_progress("parse", len(outcomes), len(wanted))
    return outcomes


def load_parsed(settings: Settings, catalog: Catalog, any_id: str) -> ParsedPaper:
    """A paper's stored parse, parsing it first when it is missing or stale; ParseError says why when it fails."""
    plan = _plan(settings, catalog, any_id, force=False)
    outcome = _store(catalog, plan, parse_job(plan)) if isinstance(plan, ParseJob) else plan
    parsed = None if outcome.failed else catalog.load_parse(outcome.paper_id)
    if parsed is None:
        raise ParseError(outcome.error or f"{outcome.paper_id}: no parse stored; run `digest parse {outcome.paper_id}`")
    return parsed


class ParseJob(NamedTuple):
    """A PDF to parse: where it is, and the paper and file version the parse will be stored for."""

    paper_id: str
    path: Path
    sha256: str


class ParseResult(NamedTuple):
    parsed: ParsedPaper | None
    error: str | None  # one line, when the parse failed
    seconds: float


def parse_job(job: ParseJob) -> ParseResult:
    """Parse one PDF; needs no catalog, so it runs in any process that sees the file."""
    start = time.perf_counter()
    try:
        return ParseResult(parse_pdf(job.path, job.paper_id), None, time.perf_counter() - start)
    except Exception as exc:  # ParseError, or a bug on an unusual file: either way the batch goes on
        error = str(exc) if isinstance(exc, ParseError) else f"{job.path}: parser error ({type(exc).__name__}: {exc})"
        return ParseResult(None, " ".join(error.split()), time.perf_counter() - start)


def _plan(settings: Settings, catalog: Catalog, any_id: str, force: bool) -> ParseJob | Outcome:
    """The parse job for the paper named `any_id`, or its outcome when there is nothing to parse: unknown, not
    fetched, PDF unreadable (recorded as a failed parse), or parsed before from the same PDF and parser."""
    try:
        paper = catalog.find(any_id)
    except DigestError as exc:
        return Outcome(any_id, "parse", "failed", str(exc))
    if paper.status != "ok":
        return Outcome(paper.paper_id, "parse", "failed",
                       f"fetch failed ({paper.error}); run `digest fetch {paper.paper_id}` again")
    path = pdf_path(settings, paper)
    try:
        sha = paper.sha256 or sha256_file(path)
    except OSError as exc:
        error = f"{path}: cannot read the PDF ({exc.strerror}); run `digest fetch {paper.paper_id}` again"
        catalog.save_parse(paper.paper_id, "", PARSER_VERSION, None, error=error)
        return Outcome(paper.paper_id, "parse", "failed", error)
    state = catalog.parse_state(paper.paper_id)
    if not force and state and state["sha256"] == sha and state["parser_version"] == PARSER_VERSION:
        return Outcome(paper.paper_id, "parse", "unchanged" if state["status"] == "ok" else "failed", state["error"])
    return ParseJob(paper.paper_id, path, sha)


def _store(catalog: Catalog, job: ParseJob, result: ParseResult) -> Outcome:
    """Record a parse (or its failure) in the catalog; its outcome."""
    parsed, error, seconds = result
    catalog.save_parse(job.paper_id, job.sha256, PARSER_VERSION, parsed, error=error, seconds=seconds)
    if parsed is None:
        return Outcome(job.paper_id, "parse", "failed", error)
    return Outcome(job.paper_id, "parse", "done", detail={
        "sections": len(parsed.sections), "tables": len(parsed.tables), "outline_source": parsed.outline_source,
        "seconds": round(seconds, 3)}, warnings=_warnings(parsed))


def _warnings(parsed: ParsedPaper) -> tuple[str, ...]:
    """What the user should know about a parse that worked."""
    ocr = [f"{parsed.ocr_pages} of {parsed.pages} pages have no text layer and were read by OCR (tesseract)"]
    return tuple((ocr if parsed.ocr_pages else []) + ([NO_OUTLINE] if parsed.outline_source == "none" else []))
