"""Bad input and faults, tried as a new user would (issue 15): nothing lost, nothing silent.

Encrypted, mislabelled, heading-less and scanned PDFs; a damaged catalog and its repair; an arXiv endpoint that
never answers; two builds of the index at once; ids too long to print. Real files and processes throughout; the
only stand-in is the loopback arXiv server at the network edge.
"""

from __future__ import annotations

import json
import random
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.models import PaperRecord
from digest.parse.pdf import ocr_available
from digest.testing.arxiv_server import ArxivServer

MISTRAL, BAHDANAU = "2310.06825", "1409.0473"
DIGEST = [sys.executable, "-c", "from digest.cli import main; main()"]


def run(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws), *args], catch_exceptions=False)


def rows(ws: Path) -> dict:
    with Catalog(ws / "corpus" / "catalog.sqlite") as catalog:
        return {p.paper_id: p for p in catalog.papers()}


def encrypted(source: Path, dest: Path, user_pw: str) -> Path:
    """`source` saved with AES-256 encryption: `user_pw` to open it ("" opens without one), another to change it."""
    with pymupdf.open(source) as doc:
        doc.save(dest, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=user_pw, owner_pw="owner-secret",
                 permissions=pymupdf.PDF_PERM_PRINT)
    return dest


def scanned(source: Path, dest: Path, pages: int = 1) -> Path:
    """The first `pages` of `source` as images only, as a scanner makes them: no text layer."""
    with pymupdf.open(source) as doc, pymupdf.open() as scan:
        for page in list(doc)[:pages]:
            image = page.get_pixmap(dpi=200)
            scan.new_page(width=page.rect.width, height=page.rect.height).insert_image(page.rect, pixmap=image)
        scan.save(dest)
    return dest


# ------------------------------------------------------------------------------------- encrypted PDFs (1)


def test_encrypted_pdfs_open_without_a_password_or_are_named_and_the_batch_goes_on(workspace, tmp_path, shared_pdf):
    folder = tmp_path / "mine"
    folder.mkdir()
    locked = encrypted(shared_pdf(MISTRAL), folder / "a-locked.pdf", user_pw="secret")
    encrypted(shared_pdf(BAHDANAU), folder / "b-owner-only.pdf", user_pw="")  # opens without asking
    shutil.copy(shared_pdf("1706.03762"), folder / "c-plain.pdf")

    result = run(workspace, "add", str(folder))

    assert result.exit_code == 1
    assert f"✗ {locked}: encrypted: remove the password, e.g. qpdf --decrypt in.pdf out.pdf" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "added 2 · already present 0 · failed 1"
    assert set(rows(workspace)) == {BAHDANAU, "1706.03762"}
    assert run(workspace, "index", BAHDANAU).exit_code == 0  # the owner-only one parses and indexes too


# ------------------------------------------------------------------------------ stamp vs file name (2)


def test_the_arxiv_stamp_beats_a_file_name_that_names_another_paper(workspace, tmp_path, shared_pdf):
    misnamed = tmp_path / "2401.04088.pdf"  # Mixtral's id, Mistral's PDF
    shutil.copy(shared_pdf(MISTRAL), misnamed)

    result = run(workspace, "add", "--json", str(misnamed))

    out = json.loads(result.stdout)
    assert result.exit_code == 0 and out["done"] == 1
    assert out["results"][0]["paper_id"] == MISTRAL
    assert out["results"][0]["warnings"] == [
        f"the file name says 2401.04088 but the arXiv stamp on page 1 says {MISTRAL}v1: stored as {MISTRAL}"]
    assert set(rows(workspace)) == {MISTRAL}
    shown = run(workspace, "add", str(misnamed)).stdout
    assert f"! {MISTRAL}: the file name says 2401.04088" in shown


# ------------------------------------------------------------------------- no heading structure (3)


FLAT_PAGES = [
    ("Introduction", "Quokkas hop around Rottnest island at dawn. The first page tells of marsupials in the scrub."),
    ("Method", "We trained the walrus model on seventeen tundra datasets. Every batch held kelp from the coast."),
    ("Results", "The pangolin baseline scored lower on the savanna benchmark. Ours wins on all the dunes."),
]


def flat_pdf(path: Path) -> Path:
    """Three pages whose headings are plain body-size text: no outline, no typography to find sections by."""
    with pymupdf.open() as doc:
        for n, (heading, body) in enumerate(FLAT_PAGES):
            page = doc.new_page()
            y = 72
            if n == 0:
                page.insert_text((72, y), "A Paper Whose Headings Look Like Body Text", fontsize=16)
                y += 40
            page.insert_text((72, y), heading, fontsize=10)
            page.insert_textbox(pymupdf.Rect(72, y + 16, 520, 700), f"{body} " * 6, fontsize=10)
        doc.save(path)
    return path


@pytest.mark.slow
def test_a_paper_without_headings_is_indexed_whole_page_by_page(workspace, tmp_path):
    from digest.index import Index
    from digest.settings import Settings

    pdf = flat_pdf(tmp_path / "flat.pdf")
    assert run(workspace, "add", str(pdf)).exit_code == 0

    result = run(workspace, "index")

    assert result.exit_code == 0, result.output
    assert "no heading structure found: the whole text is kept, in one section per page" in result.stdout
    index = Index.open(Settings.load(workspace=workspace))
    assert {c.section for c in index.chunks} >= {"Page 1", "Page 2", "Page 3"}
    for n, (heading, body) in enumerate(FLAT_PAGES, start=1):
        on_page = " ".join(" ".join(c.text.split()) for c in index.chunks if c.page_start == n)
        for sentence in [heading, *body.split(". ")]:
            assert sentence.strip(".") in on_page, (n, sentence)


# ----------------------------------------------------------------------------------- scanned PDFs (9)


def test_a_scan_is_refused_at_add_with_what_to_do_when_there_is_no_ocr(workspace, tmp_path, shared_pdf, monkeypatch):
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "no-tesseract-here"))
    scan = scanned(shared_pdf(MISTRAL), tmp_path / "scan.pdf")

    result = run(workspace, "add", str(scan), str(shared_pdf(BAHDANAU)))

    assert result.exit_code == 1
    assert (f"✗ {scan}: no text layer (a scan): install Debian's tesseract-ocr (apt-get install tesseract-ocr) and "
            "digest reads it by OCR, or OCR it yourself, e.g. ocrmypdf in.pdf out.pdf") in result.stdout
    assert set(rows(workspace)) == {BAHDANAU}


@pytest.mark.skipif(not ocr_available(), reason="tesseract-ocr is not installed (make browser installs it)")
def test_a_scan_is_read_by_ocr_when_tesseract_is_installed(workspace, tmp_path, shared_pdf):
    from digest.parse import load_parsed
    from digest.settings import Settings

    scan = scanned(shared_pdf(MISTRAL), tmp_path / "scan.pdf")

    result = run(workspace, "add", str(scan))

    assert result.exit_code == 0
    assert "no text layer (a scan): its text will be read by OCR (tesseract)" in result.stdout
    [paper_id] = rows(workspace)
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        parsed = load_parsed(Settings.load(workspace=workspace), catalog, paper_id)
    assert parsed.ocr_pages == 1
    text = " ".join(parsed.full_text().split())
    assert "Mistral 7B" in text and "sliding window attention" in text.lower()


# --------------------------------------------------------------------------------- ids in messages (9)


def test_list_never_cuts_an_id(workspace):
    ids = ["local-29f2ef4a1b2c", "hep-th/9901001", "2302.13971"]
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        for paper_id in ids:
            catalog.upsert(PaperRecord(paper_id=paper_id, title="A title long enough to need wrapping " * 3,
                                       tags=["base-llm", "benchmark", "long-context", "mixture-of-experts"],
                                       status="failed", error="HTTP 503 from the arXiv API after 5 retries " * 2))

    table = run(workspace, "list").stdout

    for paper_id in ids:
        assert paper_id in table


def test_a_very_long_bad_id_is_echoed_once_and_shortened(workspace):
    bad = "x" * 2000

    result = run(workspace, "fetch", bad)

    assert result.exit_code == 1
    assert len(result.stdout) < 500 and result.stdout.count("x" * 101) == 0
    assert "(2000 characters): not an arXiv id" in result.stdout


# ---------------------------------------------------------------------------------- damaged catalog (4)


def corrupt(path: Path, pages: list[int]) -> None:
    """Overwrite whole pages (1-based, as SQLite numbers them) of a database file with random bytes."""
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
    noise = random.Random(15)
    with path.open("r+b") as fh:
        for page in pages:
            fh.seek((page - 1) * size)
            fh.write(bytes(noise.getrandbits(8) for _ in range(size)))


def test_a_damaged_catalog_is_refused_in_one_line_and_doctor_rebuilds_it(workspace, shared_pdf):
    papers = (MISTRAL, BAHDANAU, "1706.03762")
    assert run(workspace, "add", *(str(shared_pdf(p)) for p in papers)).exit_code == 0
    assert run(workspace, "parse").exit_code == 0
    path = workspace / "corpus" / "catalog.sqlite"
    hashes = {p.paper_id: p.sha256 for p in rows(workspace).values()}
    with sqlite3.connect(path) as db:
        root = dict(db.execute("SELECT name, rootpage FROM sqlite_master WHERE type='table'").fetchall())
        count = db.execute("PRAGMA page_count").fetchone()[0]
    corrupt(path, [root["papers"], *range(count // 2, count // 2 + 3)])  # the paper rows and some parse pages

    for command in (["list"], ["index"], ["summarize"], ["export"], ["show", MISTRAL], ["remove", MISTRAL]):
        result = run(workspace, *command)
        assert result.exit_code == 2, command
        assert result.stderr.startswith(f"Error: the catalog {path} is damaged (") and result.stderr.endswith(
            "run `digest doctor --repair` to rebuild it from corpus/pdf and the stored parses\n"), command
        assert len(result.stderr.splitlines()) == 1

    checked = run(workspace, "doctor")
    assert checked.exit_code == 1 and checked.stdout.startswith(f"✗ the catalog {path} is damaged (")

    repaired = run(workspace, "doctor", "--repair")

    assert repaired.exit_code == 0, repaired.output
    assert "rebuilt the catalog: 0 papers from readable rows, 3 from their PDFs" in repaired.stdout
    assert repaired.stdout.strip().endswith("✓ the catalog, the PDFs it names and the index are intact")
    assert [p.name for p in path.parent.glob("catalog.sqlite.damaged-*")]  # kept, never deleted
    assert {p.paper_id: p.sha256 for p in rows(workspace).values()} == hashes
    parsed = json.loads(run(workspace, "parse", "--json").stdout)
    assert parsed["failed"] == 0 and parsed["done"] + parsed["unchanged"] == 3
    assert run(workspace, "doctor").exit_code == 0


# ------------------------------------------------------------------- an endpoint that never answers (5)


@pytest.fixture
def server(shared):
    with ArxivServer(shared / "corpus") as srv:
        yield srv


def test_an_endpoint_that_never_answers_gives_up_by_the_deadline_and_says_it_retries(workspace, server):
    (workspace / "digest.toml").write_text(
        f'arxiv_api_url = "{server.api_url}"\narxiv_delay = 0\nhttp_timeout = 1\nmax_retries = 5\n'
        "backoff_base = 0.1\nfetch_deadline = 3\n")
    server.fault("hang", "api", times=None, seconds=60)

    started = time.monotonic()
    result = run(workspace, "fetch", "--json", MISTRAL)
    took = time.monotonic() - started

    assert result.exit_code == 1
    assert took < 6, took
    error = json.loads(result.stdout)["results"][0]["error"]
    assert re.fullmatch(rf"the arXiv API at {server.api_url} timed out \([\d.]+ s\); gave up after 3 s \(fetch_deadline\) "
                        r"and \d retr(y|ies); check the network or raise fetch_deadline", error), error
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert retries[0] == f"the arXiv API at {server.api_url} timed out (1 s); retrying (1/5)…"
    assert 1 <= len(retries) < 5


# --------------------------------------------------------------------- a second index waits, and says so (5)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from digest.index import _locked
with _locked(Path(sys.argv[1])):
    print("holding", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.05)
"""


def test_a_second_index_says_whom_it_waits_for(workspace, tmp_path):
    release = tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(workspace / "index"), str(release)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        waiter = subprocess.Popen([*DIGEST, "-w", str(workspace), "index"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        said, _, _ = select.select([waiter.stderr], [], [], 60)
        assert said, "the second index waited without a word"
        line = waiter.stderr.readline()
        assert line == f"waiting for another digest process (pid {holder.pid}) to finish indexing…\n"
        assert waiter.poll() is None  # it waits
        release.touch()
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, err
    finally:
        release.touch()
        holder.wait(timeout=30)


# ---------------------------------------------------------------------------------- resumable index (6)


STOP_AFTER_FIRST_PAPER = """
import sys, time
from digest.catalog import Catalog
from digest.index import PARTS, build_index
from digest.settings import Settings

settings = Settings.load(workspace=sys.argv[1])

def on_progress(step, done, total):
    if step == "embed" and any((settings.index_dir / PARTS).glob("*.npz")):
        print("one paper saved", flush=True)
        time.sleep(600)  # killed here, while the next paper is embedded

with Catalog(settings.catalog_path) as catalog:
    build_index(settings, catalog, on_progress=on_progress)
"""


@pytest.mark.slow
def test_a_killed_index_build_keeps_the_papers_it_embedded(workspace, shared):
    from digest.corpus import add_papers
    from digest.index import PARTS, Index, build_index
    from digest.settings import Settings

    settings = Settings.load(workspace=workspace)
    first, second = shared / "corpus/more/odd/2103.15348_4pages.pdf", shared / f"corpus/pdf/{MISTRAL}.pdf"
    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, [first, second])
    build = subprocess.Popen([sys.executable, "-c", STOP_AFTER_FIRST_PAPER, str(workspace)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert build.stdout.readline() == "one paper saved\n"
    finally:
        build.kill()
        build.wait()
    assert not (settings.index_dir / "CURRENT").exists()
    [saved] = (settings.index_dir / PARTS).glob("*.npz")
    assert saved.name.startswith("2103.15348-")

    with Catalog(settings.catalog_path) as catalog:
        resumed = build_index(settings, catalog)
    index = Index.open(settings)
    chunks, vectors = list(index.chunks), index.vectors.copy()
    reused = len(index.chunks_for("2103.15348"))
    assert resumed.reused == reused > 0
    assert resumed.embedded == len(set(chunk_texts(index, MISTRAL)))  # only the paper the kill interrupted
    assert list((settings.index_dir / PARTS).glob("*.npz")) == []

    with Catalog(settings.catalog_path) as catalog:
        clean = build_index(settings, catalog, force=True)
    index = Index.open(settings)
    assert clean.reused == 0 and clean.embedded == resumed.embedded + len(set(chunk_texts(index, "2103.15348")))
    assert list(index.chunks) == chunks
    assert abs(index.vectors - vectors).max() < 1e-5


def chunk_texts(index, paper_id: str) -> list[str]:
    """What the build embedded for a paper's chunks (the pieces of a table share one text)."""
    from digest.chunk import Tokenizer, passage_texts

    embedder = index.embedder
    return passage_texts(index.chunks_for(paper_id), Tokenizer(embedder.tokenizer, embedder.max_tokens))


# --------------------------------------------------------------------- run into an existing folder (7)


@pytest.mark.slow
def test_a_run_into_a_used_folder_leaves_only_its_own_survey(workspace, tmp_path, shared_pdf):
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    for paper_id in (MISTRAL, BAHDANAU):
        folder = tmp_path / paper_id
        folder.mkdir()
        shutil.copy(shared_pdf(paper_id), folder)
        result = run(workspace, "-q", "run", "--pdf-dir", str(folder), "-o", str(out), "--backend", "extractive")
        assert result.exit_code == 0, result.output

    assert sorted(p.name for p in out.iterdir()) == [  # the first run's sheet and figure folder are gone
        ".digest-written", BAHDANAU, f"{BAHDANAU}.md", "my-notes.txt", "survey.bib", "survey.csv", "survey.html",
        "survey.json", "survey.md", "survey.xlsx"]
    assert list((out / BAHDANAU).glob("*.png"))
    assert [p["paper_id"] for p in json.loads((out / "survey.json").read_text())["papers"]] == [BAHDANAU]
