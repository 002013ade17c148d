"""Parse: recover each paper's structure (sections, references, tables, captions, links) from its PDF.

`parse_pdf` does one file; `parse_papers` parses the catalog's papers whose PDF or parser changed and stores the
results, marking failures with their reason without stopping the batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..catalog import Catalog
from ..files import sha256_file
from ..ids import InvalidId, parse_id
from ..models import PaperRecord, ParsedPaper
from ..text import normalize
from ..settings import Settings
from .document import PARSER_VERSION, ParseError, parse_pdf
from .outline import split_number

__all__ = ["PARSER_VERSION", "ParseError", "ParseResult", "load_parsed", "parse_papers", "parse_pdf", "pdf_path",
           "section_recall"]


@dataclass
class ParseResult:
    paper_id: str
    status: Literal["parsed", "unchanged", "failed"]
    error: str | None = None
    seconds: float = 0.0
    sections: int = 0
    tables: int = 0
    outline_source: str = ""

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.paper_id}: {self.error}"
        if self.status == "unchanged":
            return f"{self.paper_id}: unchanged"
        return (f"{self.paper_id}: {self.sections} sections, {self.tables} tables "
                f"(outline from {self.outline_source}, {self.seconds:.1f} s)")


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
                 console: Console | None = None) -> list[ParseResult]:
    """Parse the catalog's papers (all with status ok, or `ids`) whose PDF or parser version changed, or all
    with `force`; store each parse or failure in the catalog. One bad paper never stops the batch."""
    todo: list[PaperRecord | ParseResult] = []
    for wanted in ids if ids is not None else [p.paper_id for p in catalog.papers(status="ok")]:
        todo.append(_lookup(catalog, wanted))
    results: list[ParseResult] = []
    console = console or Console(stderr=True)
    with Progress(TextColumn("parse {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("", total=len(todo))
        for item in todo:
            progress.update(task, description=getattr(item, "paper_id", ""))
            results.append(item if isinstance(item, ParseResult) else _parse_one(settings, catalog, item, force))
            progress.advance(task)
    return results


def load_parsed(settings: Settings, catalog: Catalog, paper_id: str) -> ParsedPaper:
    """A paper's stored parse, parsing it first when it is missing or stale; ParseError says why when it fails."""
    paper = _lookup(catalog, paper_id)
    if isinstance(paper, ParseResult):
        raise ParseError(paper.error)
    result = _parse_one(settings, catalog, paper, force=False)
    parsed = catalog.load_parse(paper.paper_id) if result.status != "failed" else None
    if parsed is None:
        raise ParseError(result.error or f"{paper.paper_id}: no parse stored; run `digest parse {paper.paper_id}`")
    return parsed


def _lookup(catalog: Catalog, wanted: str) -> PaperRecord | ParseResult:
    paper = catalog.get(wanted)
    if paper is None:
        try:
            paper = catalog.get(parse_id(wanted).base)
        except InvalidId as exc:
            return ParseResult(wanted, "failed", str(exc))
    if paper is None:
        return ParseResult(wanted, "failed", f"{wanted} is not in the catalog; run `digest fetch {wanted}` first")
    if paper.status != "ok":
        return ParseResult(paper.paper_id, "failed", f"fetch failed ({paper.error}); run `digest fetch` again")
    return paper


def _parse_one(settings: Settings, catalog: Catalog, paper: PaperRecord, force: bool) -> ParseResult:
    path = pdf_path(settings, paper)
    start = time.perf_counter()
    try:
        sha = paper.sha256 or sha256_file(path)
    except OSError as exc:
        error = f"{path}: cannot read the PDF ({exc.strerror}); run `digest fetch {paper.paper_id}` again"
        catalog.save_parse(paper.paper_id, "", PARSER_VERSION, None, error=error)
        return ParseResult(paper.paper_id, "failed", error)
    state = catalog.parse_state(paper.paper_id)
    if not force and state and state["sha256"] == sha and state["parser_version"] == PARSER_VERSION:
        return ParseResult(paper.paper_id, "unchanged" if state["status"] == "ok" else "failed", state["error"])
    try:
        parsed = parse_pdf(path, paper.paper_id)
    except Exception as exc:  # ParseError, or a bug on an unusual file: either way the batch goes on
        error = str(exc) if isinstance(exc, ParseError) else f"{path}: parser error ({type(exc).__name__}: {exc})"
        error = " ".join(error.split())
        seconds = time.perf_counter() - start
        catalog.save_parse(paper.paper_id, sha, PARSER_VERSION, None, error=error, seconds=seconds)
        return ParseResult(paper.paper_id, "failed", error, seconds)
    seconds = time.perf_counter() - start
    catalog.save_parse(paper.paper_id, sha, PARSER_VERSION, parsed, seconds=seconds)
    return ParseResult(paper.paper_id, "parsed", None, seconds, len(parsed.sections), len(parsed.tables),
                       parsed.outline_source)


