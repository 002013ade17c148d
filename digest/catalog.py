"""The embedded catalog: one SQLite file with papers, parsed structures and survey sheets.

The schema is versioned (`PRAGMA user_version`) and migrated forward on open. WAL mode and a busy
timeout make it safe for two processes at once; every write is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DigestError, one_line, shorten
from .files import safe_name
from .ids import paper_key
from .models import PaperRecord, PaperSummary, ParsedPaper

MIGRATIONS: list[str] = [
    # 1: papers
    """
    CREATE TABLE papers (
        arxiv_id   TEXT PRIMARY KEY,
        version    INTEGER,
        title      TEXT NOT NULL DEFAULT '',
        authors    TEXT NOT NULL DEFAULT '[]',
        abstract   TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '[]',
        published  TEXT,
        pdf_path   TEXT,
        sha256     TEXT,
        bytes      INTEGER,
        source     TEXT NOT NULL DEFAULT 'arxiv',
        status     TEXT NOT NULL DEFAULT 'ok',
        error      TEXT,
        note       TEXT,
        tags       TEXT NOT NULL DEFAULT '[]',
        added_at   TEXT NOT NULL DEFAULT (datetime('now')),
        updated_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    """,
    # 2: parsed structures, keyed by the PDF they came from
    """
    CREATE TABLE parses (
        arxiv_id       TEXT PRIMARY KEY REFERENCES papers(arxiv_id) ON DELETE CASCADE,
        sha256         TEXT NOT NULL,
        parser_version TEXT NOT NULL,
        status         TEXT NOT NULL,
        error          TEXT,
        data           TEXT,
        seconds        REAL,
        parsed_at      TEXT NOT NULL DEFAULT (datetime('now'))
    );
    """,
    # 3: survey sheets, keyed by the paper, backend and settings they came from
    """
    CREATE TABLE summaries (
        arxiv_id   TEXT NOT NULL REFERENCES papers(arxiv_id) ON DELETE CASCADE,
        backend    TEXT NOT NULL,
        model      TEXT NOT NULL DEFAULT '',
        key        TEXT NOT NULL,
        data       TEXT NOT NULL,
        seconds    REAL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (arxiv_id, backend)
    );
    """,
    # 4: the key is `paper_id` (an arXiv id or a local-<sha> one), in the columns and in the stored JSON
    """
    ALTER TABLE papers RENAME COLUMN arxiv_id TO paper_id;
    ALTER TABLE parses RENAME COLUMN arxiv_id TO paper_id;
    ALTER TABLE summaries RENAME COLUMN arxiv_id TO paper_id;
    UPDATE parses SET data = json_set(json_remove(data, '$.arxiv_id'), '$.paper_id', json_extract(data, '$.arxiv_id'))
        WHERE data IS NOT NULL AND json_extract(data, '$.arxiv_id') IS NOT NULL;
    UPDATE summaries SET data = json_set(json_remove(data, '$.arxiv_id'), '$.paper_id', json_extract(data, '$.arxiv_id'))
        WHERE json_extract(data, '$.arxiv_id') IS NOT NULL;
    """,
]

BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's
_JSON_COLUMNS = ("authors", "categories", "tags")
_PAPER_COLUMNS = tuple(PaperRecord.model_fields)
_UPSERT_PAPER = (
    f"INSERT INTO papers ({', '.join(_PAPER_COLUMNS)}) VALUES (:{', :'.join(_PAPER_COLUMNS)}) "
    "ON CONFLICT(paper_id) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in _PAPER_COLUMNS if c != "paper_id")
    + ", updated_at=datetime('now')"
)


REPAIR_HINT = "run `digest doctor --repair` to rebuild it from corpus/pdf and the stored parses"


class CatalogDamaged(DigestError):
    """The catalog file is corrupt (SQLite's quick_check fails, or it is not a database at all)."""


class Catalog:
    """Papers, their parses and their survey sheets. Use as a context manager or call `close()`.

    Opening runs SQLite's `quick_check` (about 3 ms on a 28-paper catalog of 3 MB, 60-80 ms at 114 MB), so a
    damaged file is refused with one line saying how to repair it (CatalogDamaged) before any command uses it;
    `check=False` skips that, for `digest doctor`, which reads what it can from a damaged file."""

    def __init__(self, path: Path, check: bool = True):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            _use_wal(self.db)
            if check:
                self._check()
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except CatalogDamaged:
            self.db.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            if _corrupt(exc):
                raise CatalogDamaged(f"the catalog {path} is damaged ({one_line(exc)}): {REPAIR_HINT}") from exc
            raise DigestError(f"cannot open the catalog {path} ({one_line(exc)}); "
                              "check the path and its permissions, or move a damaged file aside") from exc

    def _check(self) -> None:
        problems = self.problems(quick=True)
        if problems:
            more = f" and {len(problems) - 1} more problems" if len(problems) > 1 else ""
            raise CatalogDamaged(f"the catalog {self.path} is damaged ({problems[0]}{more}): {REPAIR_HINT}")

    def problems(self, quick: bool = False) -> list[str]:
        """What SQLite's integrity check (`quick`: its quick check, which skips index contents) finds wrong."""
        rows = self.db.execute(f"PRAGMA {'quick_check' if quick else 'integrity_check'}").fetchall()
        lines = (line.strip() for row in rows for line in row[0].splitlines())
        return [line for line in lines if line and line != "ok" and not line.startswith("***")]

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as db:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise DigestError(
                    f"{self.path}: catalog schema v{current} is newer than this digest (v{len(MIGRATIONS)}); upgrade digest"
                )
            for version, sql in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in _statements(sql):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    # ----------------------------------------------------------------- papers
    def upsert(self, paper: PaperRecord) -> None:
        row = paper.model_dump()
        for col in _JSON_COLUMNS:
            row[col] = json.dumps(row[col], ensure_ascii=False)
        with self.transaction() as db:
            db.execute(_UPSERT_PAPER, row)

    def get(self, paper_id: str) -> PaperRecord | None:
        """The paper whose catalog key is exactly `paper_id`, if any (see `find` for ids as people write them)."""
        row = self.db.execute("SELECT * FROM papers WHERE paper_id=?", (paper_id,)).fetchone()
        return _paper(row) if row else None

    def find(self, any_id: str) -> PaperRecord:
        """The paper named by its id in any form (`arXiv:2302.13971v2`, an abs or pdf URL, `local-<sha>`);
        DigestError when the catalog has no such paper."""
        record = self.get(paper_key(any_id))
        if record is None:
            raise DigestError(f"{shorten(any_id)!r} is not in the catalog; `digest list` shows what is")
        return record

    def papers(self, status: str | None = None) -> list[PaperRecord]:
        sql, args = "SELECT * FROM papers", ()
        if status:
            sql, args = sql + " WHERE status=?", (status,)
        return [_paper(r) for r in self.db.execute(sql + " ORDER BY paper_id", args)]

    def remove(self, paper_id: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM papers WHERE paper_id=?", (paper_id,)).rowcount > 0

    # ----------------------------------------------------------------- parses
    def save_parse(
        self, paper_id: str, sha256: str, parser_version: str, parsed: ParsedPaper | None,
        error: str | None = None, seconds: float = 0.0,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO parses (paper_id, sha256, parser_version, status, error, data, seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (paper_id, sha256, parser_version, "failed" if error else "ok", error,
                 parsed.model_dump_json() if parsed else None, seconds),
            )

    def parse_state(self, paper_id: str) -> sqlite3.Row | None:
        """(sha256, parser_version, status, error) of the stored parse, if any."""
        return self.db.execute(
            "SELECT sha256, parser_version, status, error FROM parses WHERE paper_id=?", (paper_id,)
        ).fetchone()

    def load_parse(self, paper_id: str) -> ParsedPaper | None:
        row = self.db.execute("SELECT data FROM parses WHERE paper_id=? AND status='ok'", (paper_id,)).fetchone()
        return ParsedPaper.model_validate_json(row["data"]) if row else None

    # -------------------------------------------------------------- summaries
    def save_summary(self, summary: PaperSummary, key: str) -> None:
        """Store a survey sheet; `key` fingerprints the paper and settings it was made from."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO summaries (paper_id, backend, model, key, data, seconds) VALUES (?, ?, ?, ?, ?, ?)",
                (summary.paper_id, summary.backend, summary.model, key, summary.model_dump_json(), summary.seconds),
            )

    def load_summary(self, paper_id: str, backend: str | None = None, key: str | None = None) -> PaperSummary | None:
        """The newest sheet for a paper (of one backend, and made with one key, when given)."""
        sql, args = "SELECT data FROM summaries WHERE paper_id=?", [paper_id]
        if backend:
            sql, args = sql + " AND backend=?", args + [backend]
        if key:
            sql, args = sql + " AND key=?", args + [key]
        row = self.db.execute(sql + " ORDER BY created_at DESC LIMIT 1", args).fetchone()
        return PaperSummary.model_validate_json(row["data"]) if row else None

    def figures_dir(self, paper_id: str) -> Path:
        """Where the images of a paper's sheet (its figures and tables) are kept: beside the catalog, a folder per
        paper."""
        return self.path.parent / "figures" / safe_name(paper_id)


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL mode. While another process creates the same file SQLite says "database is locked" at
    once, without waiting, so this waits itself."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _corrupt(exc: BaseException) -> bool:
    """Whether a SQLite error says the file is damaged or is not a database (SQLITE_CORRUPT, SQLITE_NOTADB)."""
    return isinstance(exc, sqlite3.DatabaseError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (11, 26)


def _statements(script: str) -> list[str]:
    return [s for s in (part.strip() for part in script.split(";")) if s]


def _paper(row: sqlite3.Row) -> PaperRecord:
    data = {k: row[k] for k in _PAPER_COLUMNS}
    for col in _JSON_COLUMNS:
        data[col] = json.loads(data[col] or "[]")
    return PaperRecord(**data)
