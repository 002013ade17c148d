"""The SQLite catalog: round trips, forward migrations, and two processes writing at once (WAL)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from digest.catalog import MIGRATIONS, Catalog
from digest.errors import DigestError
from digest.models import PaperRecord, PaperSummary, ParsedPaper


def paper(paper_id: str, **fields) -> PaperRecord:
    return PaperRecord(paper_id=paper_id, title=f"Paper {paper_id}", **fields)


def test_round_trip_and_update(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as catalog:
        record = paper("2302.13971", version=1, authors=["Hugo Touvron", "Thibaut Lavril"], categories=["cs.CL"],
                       tags=["base-llm", "中文"], note="LLaMA", sha256="ab" * 32, bytes=10)
        catalog.upsert(record)
        assert catalog.get("2302.13971") == record
        catalog.upsert(record.model_copy(update={"version": 2, "status": "failed", "error": "HTTP 503"}))
        again = catalog.get("2302.13971")
        assert (again.version, again.status, again.error, again.tags) == (2, "failed", "HTTP 503", ["base-llm", "中文"])
        catalog.upsert(paper("1706.03762"))
        assert [p.paper_id for p in catalog.papers()] == ["1706.03762", "2302.13971"]
        assert [p.paper_id for p in catalog.papers(status="failed")] == ["2302.13971"]
        assert catalog.get("0704.0001") is None


def test_find_takes_an_id_in_any_form(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as catalog:
        for paper_id in ("2302.13971", "hep-th/9901001", "local-0123456789ab"):
            catalog.upsert(paper(paper_id))
        for given, found in [
            ("2302.13971", "2302.13971"), (" arXiv:2302.13971v2 ", "2302.13971"),
            ("https://arxiv.org/pdf/2302.13971v1.pdf", "2302.13971"), ("HEP-TH/9901001v3", "hep-th/9901001"),
            ("local-0123456789ab", "local-0123456789ab"),
        ]:
            assert catalog.find(given).paper_id == found, given
        for unknown in ("2302.99999", "local-ffffffffffff", "not an id"):
            with pytest.raises(DigestError) as caught:
                catalog.find(unknown)
            assert str(caught.value) == f"{unknown!r} is not in the catalog; `digest list` shows what is"


def test_remove_takes_parses_and_summaries_along(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as catalog:
        catalog.upsert(paper("2302.13971"))
        catalog.save_parse("2302.13971", "ab" * 32, "1", ParsedPaper(paper_id="2302.13971", pages=3))
        catalog.save_summary(PaperSummary(paper_id="2302.13971"), key="k")
        assert catalog.load_parse("2302.13971").pages == 3
        assert catalog.remove("2302.13971") is True
        assert catalog.parse_state("2302.13971") is None and catalog.load_summary("2302.13971") is None
        assert catalog.remove("2302.13971") is False


def test_migrates_an_older_catalog_forward_keeping_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("".join(MIGRATIONS[:3]) + "PRAGMA user_version = 3;")  # v3 keyed papers by `arxiv_id`
    db.execute("INSERT INTO papers (arxiv_id, title, tags) VALUES ('1706.03762', 'Attention Is All You Need', '[\"x\"]')")
    db.execute("INSERT INTO summaries (arxiv_id, backend, key, data) VALUES "
               "('1706.03762', 'extractive', 'k', '{\"arxiv_id\": \"1706.03762\", \"title\": \"T\"}')")
    db.commit()
    db.close()

    with Catalog(path) as catalog:
        assert catalog.schema_version == len(MIGRATIONS) > 3
        old = catalog.get("1706.03762")
        assert (old.paper_id, old.title, old.tags, old.status) == ("1706.03762", "Attention Is All You Need", ["x"], "ok")
        assert catalog.load_summary("1706.03762").paper_id == "1706.03762"
        catalog.save_parse("1706.03762", "ab" * 32, "1", None, error="unreadable")  # a table of a later version
        assert catalog.parse_state("1706.03762")["status"] == "failed"
    with Catalog(path) as catalog:  # opening again migrates nothing twice
        assert catalog.schema_version == len(MIGRATIONS)


def test_a_newer_catalog_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "new.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(DigestError, match="newer than this digest"):
        Catalog(path)


def test_a_file_that_is_not_a_catalog_is_one_clear_error(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_text("not a database\n" * 100)
    with pytest.raises(DigestError) as caught:
        Catalog(path)
    assert str(caught.value) == (f"the catalog {path} is damaged (file is not a database): run `digest doctor "
                                 "--repair` to rebuild it from corpus/pdf and the stored parses")


WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from digest.catalog import Catalog
    from digest.models import PaperRecord

    path, prefix, start = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    with Catalog(path) as catalog:
        while not start.exists():
            time.sleep(0.001)
        for i in range(80):
            catalog.upsert(PaperRecord(paper_id=f"{prefix}-{i:04d}", title=f"t{i}", tags=[prefix]))
            catalog.upsert(PaperRecord(paper_id="shared", title=f"{prefix}{i}"))
    """
)


def test_two_processes_writing_at_once(tmp_path):
    path, start = tmp_path / "c.sqlite", tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(start)], stderr=subprocess.PIPE)
               for name in ("a", "b")]
    start.touch()
    errors = [w.communicate(timeout=60)[1].decode() for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    with Catalog(path) as catalog:
        papers = catalog.papers()
        assert catalog.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert catalog.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(papers) == 161
    assert sum(p.tags == ["a"] for p in papers) == sum(p.tags == ["b"] for p in papers) == 80
    assert next(p for p in papers if p.paper_id == "shared").title in ("a79", "b79")
