"""`digest doctor`: check a workspace (catalog, PDFs, index) and rebuild a damaged catalog.

The rebuild never touches a PDF. It salvages every row SQLite can still read from the damaged file, adds a row for
each PDF in `corpus/pdf/` that no salvaged row names (its id and title read from the file, as `add` does), keeps
the stored parses and sheets that are readable, writes all that to a temporary file and renames it into place.
The damaged file is kept beside it as `catalog.sqlite.damaged-<time>`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .catalog import REPAIR_HINT, Catalog, CatalogDamaged
from .errors import DigestError, one_line
from .files import sha256_file
from .ids import InvalidId, parse_id
from .models import PaperRecord, PaperSummary, ParsedPaper
from .parse.identify import identify_pdf
from .parse.pdf import PdfError
from .settings import Settings

GAP = 10_000  # rowids probed past the last readable row when SQLite cannot say the largest one


@dataclass
class Repair:
    """What a rebuild kept: papers from readable rows, papers found again from their PDFs, parses and sheets."""

    papers: list[str] = field(default_factory=list)
    from_pdfs: list[str] = field(default_factory=list)
    parses: int = 0
    sheets: int = 0
    aside: Path | None = None  # where the damaged file now is


@dataclass
class Checkup:
    """What `check_workspace` found: every problem, one line each saying what to do; `damaged` when the catalog
    itself is."""

    problems: list[str] = field(default_factory=list)
    damaged: bool = False


def check_workspace(settings: Settings) -> Checkup:
    """Check a damaged catalog (SQLite's full integrity check), each stored PDF (missing, or changed since it was
    stored) and the index (unreadable)."""
    path = settings.catalog_path
    if not path.exists():
        return Checkup()
    try:
        with Catalog(path, check=False) as catalog:
            damage = catalog.problems()
            papers = [] if damage else catalog.papers(status="ok")
    except CatalogDamaged as exc:  # not a database at all
        return Checkup([str(exc)], damaged=True)
    except sqlite3.DatabaseError as exc:  # too damaged to list the papers
        damage = [one_line(exc)]
    if damage:
        more = f" and {len(damage) - 1} more problems" if len(damage) > 1 else ""
        return Checkup([f"the catalog {path} is damaged ({damage[0]}{more}): {REPAIR_HINT}"], damaged=True)
    problems = [f"{p.paper_id}: its PDF {p.pdf_path} is {why}: run `digest {_refetch(p)}`"
                for p in papers if (why := _pdf_problem(settings, p))]
    return Checkup(problems + _index_problems(settings))


def _pdf_problem(settings: Settings, paper: PaperRecord) -> str | None:
    path = settings.workspace / (paper.pdf_path or "")
    if not paper.pdf_path or not path.is_file():
        return "missing"
    if path.stat().st_size != paper.bytes or sha256_file(path) != paper.sha256:
        return "not the file that was stored (changed since)"
    return None


def _refetch(paper: PaperRecord) -> str:
    return f"fetch {paper.paper_id}" if paper.source == "arxiv" else f"remove {paper.paper_id}`, then `digest add` it again"


def _index_problems(settings: Settings) -> list[str]:
    from .index import Index, live_version

    path = live_version(settings.index_dir)
    if path is None:
        return []
    try:
        Index.load(settings, path)
    except DigestError as exc:
        return [str(exc)]
    return []


def repair_catalog(settings: Settings) -> Repair:
    """Rebuild the catalog from what its damaged file still holds and the PDFs in corpus/pdf (see the module)."""
    path = settings.catalog_path
    salvaged = _salvage(path) if path.exists() else {}
    tmp = path.with_name(f".{path.name}.repair-{os.getpid()}")
    _remove_db(tmp)
    report = Repair()
    try:
        with Catalog(tmp) as new:
            stored = _restore_papers(new, salvaged.get("papers", []), report)
            _restore_from_pdfs(settings, new, stored, report)
            kept = set(report.papers + report.from_pdfs)
            report.parses = _restore_rows(new, "parses", salvaged.get("parses", []), ParsedPaper, kept)
            report.sheets = _restore_rows(new, "summaries", salvaged.get("summaries", []), PaperSummary, kept)
            new.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if path.exists():
            report.aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{path}{suffix}").exists():
                    os.replace(f"{path}{suffix}", f"{report.aside}{suffix}")
        os.replace(tmp, path)
    finally:
        _remove_db(tmp)
    return report


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _salvage(path: Path) -> dict[str, list[dict]]:
    """The rows of each table that SQLite can still read, as dicts (none when the file is not a database)."""
    out: dict[str, list[dict]] = {}
    try:
        db = sqlite3.connect(path, timeout=5)
    except sqlite3.Error:
        return out
    db.row_factory = sqlite3.Row
    try:
        for table in ("papers", "parses", "summaries"):
            out[table] = [dict(row) for row in _readable_rows(db, table)]
    finally:
        db.close()
    return out


def _readable_rows(db: sqlite3.Connection, table: str) -> list[sqlite3.Row]:
    """All rows of `table` when a scan works, else each row that a lookup by rowid can still reach."""
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()
    except sqlite3.DatabaseError:
        pass
    try:
        last = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        last = None
    rows, rowid, misses = [], 0, 0
    while (rowid < last) if last is not None else (misses < GAP):
        rowid += 1
        try:
            row = db.execute(f"SELECT * FROM {table} WHERE rowid=?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            row = None
        misses = 0 if row else misses + 1
        rows += [row] if row else []
    return rows


def _restore_papers(new: Catalog, rows: list[dict], report: Repair) -> dict[str, PaperRecord]:
    """Store the salvaged paper rows that still make valid records; them, by PDF path."""
    by_pdf = {}
    for row in rows:
        try:
            record = PaperRecord(**{k: (json.loads(v or "[]") if k in ("authors", "categories", "tags") else v)
                                    for k, v in row.items() if k in PaperRecord.model_fields})
        except (ValidationError, ValueError, TypeError):
            continue  # a row whose bytes were damaged: its PDF, if any, is found again below
        new.upsert(record)
        report.papers.append(record.paper_id)
        if record.pdf_path:
            by_pdf[record.pdf_path] = record
    return by_pdf


def _restore_from_pdfs(settings: Settings, new: Catalog, stored: dict[str, PaperRecord], report: Repair) -> None:
    """A row for each PDF in corpus/pdf that no salvaged row names, read from the file as `add` reads it."""
    known = set(report.papers)
    for pdf in sorted(settings.pdf_dir.glob("*.pdf")):
        relative = pdf.relative_to(settings.workspace).as_posix()
        if relative in stored:
            continue
        sha = sha256_file(pdf)
        try:
            who = identify_pdf(pdf, sha)
        except PdfError:
            continue  # not a usable PDF: `fetch` or `add` would not have stored it either
        paper_id = _id_of_stored_file(pdf) or who.paper_id
        if paper_id in known:
            continue
        new.upsert(PaperRecord(paper_id=paper_id, version=who.version, title=who.title, categories=who.categories,
                               published=who.published, source="local" if paper_id.startswith("local-") else "arxiv",
                               pdf_path=relative, sha256=sha, bytes=pdf.stat().st_size))
        known.add(paper_id)
        report.from_pdfs.append(paper_id)


def _id_of_stored_file(pdf: Path) -> str | None:
    """The paper id a stored PDF's name encodes (`corpus/pdf/<id>.pdf`, `/` as `_`)."""
    stem = pdf.stem
    if stem.startswith("local-"):
        return stem
    try:
        return parse_id(stem.replace("_", "/", 1) if "_" in stem else stem).base
    except InvalidId:
        return None


def _restore_rows(new: Catalog, table: str, rows: list[dict], model, papers: set[str]) -> int:
    """Copy the salvaged rows of `table` whose paper is kept and whose JSON still validates; how many."""
    kept = 0
    for row in rows:
        if row.get("paper_id") not in papers:
            continue
        try:
            if row.get("data") is not None:
                model.model_validate_json(row["data"])
        except (ValidationError, ValueError):
            continue  # parsed again, or summarized again, on the next run
        columns = [c for c in row if c != "rowid"]
        with new.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                       [row[c] for c in columns])
        kept += 1
    return kept
