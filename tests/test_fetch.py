"""`digest fetch/add/list/remove` against a loopback arXiv serving the real PDFs, with injected faults.

The real `arxiv` client and requests talk HTTP to `digest.testing.arxiv_server`; every test checks the catalog
and the files afterwards: nothing partial, nothing lost, the right one-line error.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import arxiv
import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.errors import DigestError
from digest.fetch import ArxivApi, PoliteSession
from digest.files import sha256_file
from digest.ids import parse_id
from digest.paperlist import read_list
from digest.parse import identify_pdf
from digest.settings import Settings
from digest.testing.arxiv_server import ArxivServer
from digest.text import normalize

from conftest import REPO, shared_path

RETRIES = 2


@cache
def manifest() -> dict[str, dict]:
    """The shared corpus's manifest rows (pages, bytes, sha256) by arXiv id."""
    with shared_path("corpus", "manifest.tsv").open() as fh:
        return {row["arxiv_id"]: row for row in csv.DictReader(fh, delimiter="\t")}


@cache
def metadata() -> dict[str, dict]:
    """Title, abstract and PDF of each shared paper, as printed in it, by arXiv id."""
    return {item["arxiv_id"]: item for item in json.loads(shared_path("corpus", "metadata.json").read_text())}


@pytest.fixture(scope="module")
def server(shared):
    with ArxivServer(shared / "corpus") as srv:
        yield srv


@pytest.fixture
def arxiv_ws(workspace: Path, server: ArxivServer) -> Path:
    """A workspace whose digest.toml points at the loopback arXiv, with no delay and quick retries."""
    server.reset()
    (workspace / "digest.toml").write_text(
        f'arxiv_api_url = "{server.api_url}"\narxiv_delay = 0\nhttp_timeout = 5\nmax_retries = {RETRIES}\n'
        "backoff_base = 0.01\nbackoff_max = 2\nempty_page_retries = 1\n"
    )
    yield workspace
    server.reset()


def run(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws), *args], catch_exceptions=False)


def fetch_json(ws: Path, *args: str) -> tuple[int, dict]:
    result = run(ws, "fetch", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def rows(ws: Path) -> dict:
    with Catalog(ws / "corpus" / "catalog.sqlite") as catalog:
        return {p.paper_id: p for p in catalog.papers()}


def pdf_files(ws: Path) -> list[str]:
    """Everything in corpus/pdf, hidden temp files included."""
    folder = ws / "corpus" / "pdf"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_intact(ws: Path, paper_id: str, like: str | None = None) -> None:
    """The paper's row is ok and its file is byte-identical to the shared corpus copy of `like`."""
    row = rows(ws)[paper_id]
    expected = manifest()[like or paper_id]
    assert row.status == "ok" and row.error is None
    assert row.sha256 == expected["sha256"] and row.bytes == int(expected["bytes"])
    assert sha256_file(ws / row.pdf_path) == expected["sha256"]


def error_of(payload: dict, paper_id: str) -> str:
    return next(r["error"] for r in payload["results"] if r["paper_id"] == paper_id)


# ------------------------------------------------------------------------------------------- happy paths


def test_fetch_ids_in_pasted_forms(arxiv_ws, server):
    code, out = fetch_json(arxiv_ws, "arXiv:1706.03762", "https://arxiv.org/pdf/2302.13971v1.pdf",
                           "https://arxiv.org/abs/2401.04088")
    assert code == 0 and out["done"] == 3 and out["failed"] == 0
    for paper_id in ("1706.03762", "2302.13971", "2401.04088"):
        assert_intact(arxiv_ws, paper_id)
        assert normalize(rows(arxiv_ws)[paper_id].title) == normalize(metadata()[paper_id]["title"])
    assert rows(arxiv_ws)["1706.03762"].version == 7 and rows(arxiv_ws)["1706.03762"].categories == ["cs.CL"]
    assert pdf_files(arxiv_ws) == ["1706.03762.pdf", "2302.13971.pdf", "2401.04088.pdf"]
    assert len(server.requests("api")) == 1  # one batched metadata request
    assert len(server.requests("pdf")) == 3


def test_rerun_downloads_nothing_and_repairs_a_damaged_file(arxiv_ws, server):
    assert fetch_json(arxiv_ws, "1706.03762", "2302.13971")[0] == 0
    server.reset()
    code, out = fetch_json(arxiv_ws, "1706.03762", "2302.13971")
    assert code == 0 and out["unchanged"] == 2 and out["done"] == 0
    assert server.requests() == []  # no PDF request, not even an API one

    damaged = arxiv_ws / "corpus" / "pdf" / "2302.13971.pdf"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    code, out = fetch_json(arxiv_ws, "1706.03762", "2302.13971")
    assert code == 0 and (out["unchanged"], out["done"]) == (1, 1)
    assert [s.path for s in server.requests("pdf")] == ["/pdf/2302.13971v1"]
    assert_intact(arxiv_ws, "2302.13971")


def test_polite_delay_between_all_requests(arxiv_ws, server, monkeypatch):
    monkeypatch.setenv("DIGEST_ARXIV_DELAY", "0.5")
    assert fetch_json(arxiv_ws, "1706.03762", "2302.13971")[0] == 0
    seen = server.requests()
    assert [s.target for s in seen] == ["api", "pdf", "pdf"]
    # Unpaced requests arrive milliseconds apart. Arrival times at the server jitter under load (a new
    # connection may land late), so only half the delay is required between arrivals.
    gaps = [b.at - a.at for a, b in zip(seen, seen[1:])]
    assert all(gap >= 0.25 for gap in gaps), gaps


def test_query_fetches_the_matches(arxiv_ws, server):
    code, out = fetch_json(arxiv_ws, "--query", 'ti:"Mixtral of Experts"', "--max", "5")
    assert code == 0 and [r["paper_id"] for r in out["results"]] == ["2401.04088"]
    assert_intact(arxiv_ws, "2401.04088")
    server.seen.clear()
    code, out = fetch_json(arxiv_ws, "--query", 'ti:"Mixtral of Experts"', "--max", "5")
    assert code == 0 and out["unchanged"] == 1
    assert [s.target for s in server.requests()] == ["api"]  # the search itself, no PDF


def test_default_list_fetches_what_the_server_has_and_names_the_rest(arxiv_ws, server):
    listed = read_list(REPO / "corpus" / "papers.toml")
    assert len(listed) == 22 and all(p.note and p.tags for p in listed)
    result = run(arxiv_ws, "fetch", "--list", str(REPO / "corpus" / "papers.toml"))
    assert result.exit_code == 1
    served = {p.id for p in listed} & set(metadata())
    missing = {p.id for p in listed} - served
    assert served and missing
    catalog = rows(arxiv_ws)
    for paper_id in served:
        assert_intact(arxiv_ws, paper_id)
    for paper_id in missing:
        assert catalog[paper_id].status == "failed" and "not found on arXiv" in catalog[paper_id].error
        assert f"✗ {paper_id}: not found on arXiv" in result.stdout
    note = {p.id: p for p in listed}
    assert all(catalog[i].note == note[i].note and catalog[i].tags == note[i].tags for i in catalog)
    assert f"fetched {len(served)} · already present 0 · failed {len(missing)}" in result.stdout
    assert sorted(pdf_files(arxiv_ws)) == sorted(f"{i}.pdf" for i in served)


def test_plain_text_list_and_quiet(arxiv_ws, tmp_path):
    papers = tmp_path / "papers.txt"
    papers.write_text("# my survey\n2302.13971  LLaMA, the first one\n\nnot-an-id\n1706.03762 # attention\n")
    result = run(arxiv_ws, "-q", "fetch", "--list", str(papers))
    assert result.exit_code == 1 and result.stderr == ""
    assert "✗ not-an-id: not an arXiv id (expected" in result.stdout
    assert "✓" not in result.stdout  # quiet: only failures and the summary
    assert rows(arxiv_ws)["2302.13971"].note == "LLaMA, the first one"
    assert_intact(arxiv_ws, "1706.03762")


# ----------------------------------------------------------------------------------------------- faults


def test_503_then_success(arxiv_ws, server):
    server.fault("status", "api", status=503)
    server.fault("status", "pdf", status=503)
    assert fetch_json(arxiv_ws, "2302.13971")[0] == 0
    assert len(server.requests("api")) == 2 and len(server.requests("pdf")) == 2
    assert_intact(arxiv_ws, "2302.13971")


def test_429_waits_as_retry_after_asks(arxiv_ws, server):
    server.fault("status", "api", status=429, retry_after="1")
    assert fetch_json(arxiv_ws, "2302.13971")[0] == 0
    first, second = server.requests("api")
    assert second.at - first.at >= 0.9  # backoff alone would be ~0.01 s
    assert_intact(arxiv_ws, "2302.13971")


def test_persistent_5xx_fails_one_paper_not_the_batch(arxiv_ws, server):
    server.fault("status", "pdf", arxiv_id="2302.13971", times=None, status=502)
    code, out = fetch_json(arxiv_ws, "2302.13971", "1706.03762")
    assert code == 1 and (out["done"], out["failed"]) == (1, 1)
    assert error_of(out, "2302.13971") == f"HTTP 502 from {server.url}/pdf/2302.13971v1 after {RETRIES} retries"
    assert len([s for s in server.requests("pdf") if "2302.13971" in s.path]) == RETRIES + 1
    row = rows(arxiv_ws)["2302.13971"]
    assert row.status == "failed" and row.pdf_path is None and row.title.startswith("LLaMA")
    assert_intact(arxiv_ws, "1706.03762")
    assert pdf_files(arxiv_ws) == ["1706.03762.pdf"]


def test_connection_reset_mid_pdf_is_retried(arxiv_ws, server):
    server.fault("reset", "pdf")
    assert fetch_json(arxiv_ws, "1706.03762")[0] == 0
    assert len(server.requests("pdf")) == 2
    assert_intact(arxiv_ws, "1706.03762")
    assert pdf_files(arxiv_ws) == ["1706.03762.pdf"]


def test_connection_reset_every_time_leaves_nothing_partial(arxiv_ws, server):
    server.fault("reset", "pdf", times=None)
    code, out = fetch_json(arxiv_ws, "1706.03762")
    error = error_of(out, "1706.03762")
    assert code == 1 and error.startswith("download cut short after") and error.endswith(f"after {RETRIES} retries")
    assert rows(arxiv_ws)["1706.03762"].status == "failed"
    assert pdf_files(arxiv_ws) == []


def test_truncated_pdf(arxiv_ws, server):
    server.fault("truncate", "pdf", times=None)
    code, out = fetch_json(arxiv_ws, "1706.03762")
    half = int(manifest()["1706.03762"]["bytes"]) // 2
    assert code == 1 and error_of(out, "1706.03762") == f"truncated PDF: no %%EOF end marker in its {half} bytes"
    row = rows(arxiv_ws)["1706.03762"]
    assert row.status == "failed" and row.sha256 is None
    assert pdf_files(arxiv_ws) == []


def test_html_page_instead_of_pdf(arxiv_ws, server):
    server.fault("html", "pdf", times=None)
    code, out = fetch_json(arxiv_ws, "2302.13971")
    assert code == 1
    assert error_of(out, "2302.13971").startswith(f"not a PDF: {server.url}/pdf/2302.13971v1 sent text/html")
    assert len(server.requests("pdf")) == 1  # not worth retrying
    assert rows(arxiv_ws)["2302.13971"].status == "failed" and pdf_files(arxiv_ws) == []


def test_lookups_are_batched_by_page_size_and_a_failed_batch_spares_the_others(arxiv_ws, server, monkeypatch):
    monkeypatch.setenv("DIGEST_PAGE_SIZE", "2")
    server.fault("status", "api", arxiv_id="2401.04088", times=None, status=500)
    code, out = fetch_json(arxiv_ws, "1706.03762", "2302.13971", "2401.04088")
    assert code == 1 and (out["done"], out["failed"]) == (2, 1)
    assert error_of(out, "2401.04088") == f"HTTP 500 from the arXiv API at {server.api_url} after {RETRIES} retries"
    assert len(server.requests("api")) == 1 + RETRIES + 1
    assert_intact(arxiv_ws, "1706.03762")
    assert_intact(arxiv_ws, "2302.13971")


def test_unknown_id_is_asked_again_then_reported(arxiv_ws, server):
    code, out = fetch_json(arxiv_ws, "2312.99999")
    assert code == 1
    assert error_of(out, "2312.99999") == f"not found on arXiv (the API at {server.api_url} has no such id)"
    assert len(server.requests("api")) == 2  # the empty first page was asked again once (empty_page_retries)
    assert rows(arxiv_ws)["2312.99999"].status == "failed"


def test_unknown_id_among_known_ones_costs_no_extra_request(arxiv_ws, server):
    code, out = fetch_json(arxiv_ws, "2312.99999", "2302.13971")
    assert code == 1 and (out["done"], out["failed"]) == (1, 1)
    assert len(server.requests("api")) == 1
    assert_intact(arxiv_ws, "2302.13971")


def test_arxiv_client_alone_takes_an_empty_first_page_for_no_results(server):
    """Why digest re-asks: arxiv 4.x's Client ends quietly on an empty first page, retries or not."""
    server.reset()
    server.fault("empty", "api")
    client = arxiv.Client(delay_seconds=0, num_retries=3)
    client.query_url_format = server.api_url + "?{}"
    assert list(client.results(arxiv.Search(id_list=["2302.13971"]))) == []
    assert len(server.requests("api")) == 1
    server.reset()


def test_empty_first_page_is_retried(arxiv_ws, server):
    server.fault("empty", "api")
    assert fetch_json(arxiv_ws, "2302.13971")[0] == 0
    assert len(server.requests("api")) == 2
    assert_intact(arxiv_ws, "2302.13971")


def test_slow_answer_times_out_and_is_retried(arxiv_ws, server, monkeypatch):
    monkeypatch.setenv("DIGEST_HTTP_TIMEOUT", "1")
    server.fault("slow", "api", seconds=2.5)
    assert fetch_json(arxiv_ws, "2302.13971")[0] == 0
    assert len(server.requests("api")) == 2
    assert_intact(arxiv_ws, "2302.13971")


def test_api_slower_than_the_timeout_every_time(arxiv_ws, server, monkeypatch):
    monkeypatch.setenv("DIGEST_HTTP_TIMEOUT", "0.5")
    server.fault("slow", "api", times=None, seconds=1.5)
    code, out = fetch_json(arxiv_ws, "2302.13971")
    assert code == 1
    assert error_of(out, "2302.13971") == f"the arXiv API at {server.api_url} timed out (0.5 s) after {RETRIES} retries"
    assert rows(arxiv_ws)["2302.13971"].status == "failed" and pdf_files(arxiv_ws) == []


def test_offline(arxiv_ws, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/query"
    monkeypatch.setenv("DIGEST_ARXIV_API_URL", dead)
    code, out = fetch_json(arxiv_ws, "2302.13971", "1706.03762")
    assert code == 1 and out["failed"] == 2
    for paper_id in ("2302.13971", "1706.03762"):
        error = error_of(out, paper_id)
        assert error.startswith(f"cannot reach the arXiv API at {dead} (") and error.endswith("set DIGEST_ARXIV_API_URL")
        assert rows(arxiv_ws)[paper_id].status == "failed"


def test_withdrawn(arxiv_ws, server):
    server.withdraw("2302.13971")
    code, out = fetch_json(arxiv_ws, "2302.13971")
    assert code == 1 and error_of(out, "2302.13971") == (
        "withdrawn on arXiv (comment: 'This paper has been withdrawn by the authors.'); "
        "ask for an earlier version, e.g. 2302.13971v1")
    assert server.requests("pdf") == [] and pdf_files(arxiv_ws) == []
    assert fetch_json(arxiv_ws, "2302.13971v1")[0] == 0
    assert_intact(arxiv_ws, "2302.13971")


def test_update_fetches_a_newer_version_only_when_asked(arxiv_ws, server, shared_pdf):
    assert fetch_json(arxiv_ws, "2302.13971")[0] == 0
    server.publish("2302.13971", shared_pdf("2310.06825"))  # a v2, with other bytes
    server.seen.clear()
    code, out = fetch_json(arxiv_ws, "2302.13971")
    assert code == 0 and out["unchanged"] == 1 and server.requests() == []

    code, out = fetch_json(arxiv_ws, "--update", "2302.13971")
    assert code == 0 and out["done"] == 1 and out["results"][0]["detail"]["version"] == 2
    assert_intact(arxiv_ws, "2302.13971", like="2310.06825")
    assert rows(arxiv_ws)["2302.13971"].version == 2

    server.seen.clear()
    code, out = fetch_json(arxiv_ws, "--update", "2302.13971")
    assert code == 0 and out["unchanged"] == 1
    assert [s.target for s in server.requests()] == ["api"]


def test_failed_update_keeps_the_good_copy(arxiv_ws, server, shared_pdf):
    assert fetch_json(arxiv_ws, "2302.13971")[0] == 0
    server.publish("2302.13971", shared_pdf("2310.06825"))
    server.fault("html", "pdf", times=None)
    code, out = fetch_json(arxiv_ws, "--update", "2302.13971")
    assert code == 1 and error_of(out, "2302.13971").startswith("not a PDF")
    assert_intact(arxiv_ws, "2302.13971")
    assert rows(arxiv_ws)["2302.13971"].version == 1
    assert pdf_files(arxiv_ws) == ["2302.13971.pdf"]


def test_sigkill_mid_download_leaves_no_partial_pdf_and_next_run_completes(arxiv_ws, server):
    server.fault("stall", "pdf", seconds=30)
    env = {**os.environ, "DIGEST_WORKSPACE": str(arxiv_ws)}
    proc = subprocess.Popen([sys.executable, "-c", "from digest.cli import main; main()", "fetch", "1706.03762"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pdf_dir = arxiv_ws / "corpus" / "pdf"
    try:
        deadline = time.monotonic() + 30
        while not any(p.name.endswith(".part") and p.stat().st_size > 0 for p in pdf_dir.glob(".*")):
            assert proc.poll() is None and time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [n for n in pdf_files(arxiv_ws) if not n.endswith(".part")] == []
    assert "1706.03762" not in rows(arxiv_ws)
    server.reset()  # the stalled answer goes; the next run gets the PDF

    code, out = fetch_json(arxiv_ws, "1706.03762")
    assert code == 0 and out["done"] == 1
    assert_intact(arxiv_ws, "1706.03762")
    assert pdf_files(arxiv_ws) == ["1706.03762.pdf"]  # the dead run's .part is gone


# --------------------------------------------------------------------------------------- add, list, remove


def test_add_local_pdfs(workspace, tmp_path, shared_pdf):
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(shared_pdf("1706.03762"), folder / "Attention is all you need.pdf")  # id from the page-1 stamp
    shutil.copy(shared_pdf("2302.13971"), folder / "sub" / "2302.13971v1.pdf")  # id from the file name
    shutil.copy(shared_pdf("2501.12948"), folder / "DeepSeek_R1.pdf")  # no stamp: content-hash id
    (folder / "broken.pdf").write_bytes(shared_pdf("2310.06825").read_bytes()[:200_000])
    (folder / "page.pdf").write_text("<html>not a pdf</html>")

    result = run(workspace, "add", "--json", str(folder))
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and (out["done"], out["failed"]) == (3, 2)
    errors = {Path(r["paper_id"]).name: r["error"] for r in out["results"] if r["error"]}
    assert errors["broken.pdf"] == "truncated PDF: no %%EOF end marker in its 200000 bytes"
    assert errors["page.pdf"].startswith("not a PDF (it starts with '<html>")

    local_id = "local-" + manifest()["2501.12948"]["sha256"][:12]
    catalog = rows(workspace)
    assert set(catalog) == {"1706.03762", "2302.13971", local_id}
    for paper_id, like in (("1706.03762", "1706.03762"), ("2302.13971", "2302.13971"), (local_id, "2501.12948")):
        assert_intact(workspace, paper_id, like=like)
        assert catalog[paper_id].source == "local"
        assert normalize(catalog[paper_id].title) == normalize(metadata()[like]["title"])
    assert catalog["1706.03762"].version == 7 and catalog["1706.03762"].categories == ["cs.CL"]
    assert catalog["2302.13971"].published == "2023-02-27"  # a v1 stamp's date is its publication date
    assert not any(n.endswith(".part") for n in pdf_files(workspace))

    again = json.loads(run(workspace, "add", "--json", str(folder / "sub")).stdout)
    assert again["unchanged"] == 1 and again["done"] == 0


def test_titles_of_every_corpus_pdf():
    """The title `add` finds (PDF metadata, else page 1's largest text) for each real PDF."""
    wrong = {}
    for paper_id, item in metadata().items():
        path = shared_path("corpus", item["pdf"]["path"])
        title = identify_pdf(path, item["pdf"]["sha256"]).title
        if normalize(title) != normalize(item["title"]):
            wrong[paper_id] = title
    assert wrong == {}


def test_list_and_remove(arxiv_ws, server):
    assert fetch_json(arxiv_ws, "1706.03762", "2302.13971", "2312.99999")[0] == 1
    listed = json.loads(run(arxiv_ws, "list", "--json").stdout)
    assert [(p["paper_id"], p["status"]) for p in listed] == [
        ("1706.03762", "ok"), ("2302.13971", "ok"), ("2312.99999", "failed")]
    table = run(arxiv_ws, "list").stdout
    assert "1706.03762" in table and "3 papers: 2 ok, 1 failed" in table

    with Catalog(arxiv_ws / "corpus" / "catalog.sqlite") as catalog:
        catalog.save_parse("2302.13971", rows(arxiv_ws)["2302.13971"].sha256, "test", None, error="x")
    result = run(arxiv_ws, "remove", "https://arxiv.org/abs/2302.13971")
    assert result.exit_code == 0 and "removed 2302.13971" in result.stdout
    assert set(rows(arxiv_ws)) == {"2312.99999", "1706.03762"}
    assert pdf_files(arxiv_ws) == ["1706.03762.pdf"]
    with Catalog(arxiv_ws / "corpus" / "catalog.sqlite") as catalog:
        assert catalog.parse_state("2302.13971") is None

    result = run(arxiv_ws, "remove", "2302.13971", "1706.03762")  # one gone already: named, the other removed
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "✗ '2302.13971' is not in the catalog; `digest list` shows what is"
    assert set(rows(arxiv_ws)) == {"2312.99999"}


def test_list_on_an_empty_workspace_creates_nothing(workspace):
    assert json.loads(run(workspace, "list", "--json").stdout) == []
    assert not (workspace / "corpus").exists()


def test_fetch_needs_something_to_fetch(workspace):
    result = run(workspace, "fetch")
    assert result.exit_code == 2 and "nothing to fetch" in result.stderr


def test_bad_list_file_is_one_clear_error(workspace, tmp_path):
    bad = tmp_path / "papers.toml"
    bad.write_text('[[paper]]\nnote = "no id"\n')
    result = run(workspace, "fetch", "--list", str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: paper.0.id: Field required")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_list_file_is_one_clear_error(tmp_path):
    latin1 = tmp_path / "papers.txt"
    latin1.write_bytes("2302.13971 Touvron et al., café\n".encode("latin-1"))
    with pytest.raises(DigestError) as caught:
        read_list(latin1)
    assert str(caught.value) == f"cannot read the paper list {latin1}: not UTF-8 text; pass a UTF-8 .toml or text file"


def test_settings_point_the_real_client_at_the_configured_api(server):
    settings = Settings.load(arxiv_api_url=server.api_url, arxiv_delay=0)
    server.reset()
    api = ArxivApi(settings, PoliteSession(settings))
    found = api.lookup([parse_id("2302.13971")])
    assert found["2302.13971"].pdf_url == f"{server.url}/pdf/2302.13971v1"
    assert server.requests("api")[0].path.startswith("/api/query?")
    server.reset()


def test_loopback_feed_has_todays_layout(server):
    """Same elements in the same order as a feed arXiv sent in 2026 (authors aside: the corpus has none)."""
    import requests
    from lxml import etree

    def layout(xml: bytes) -> tuple[list[str], list[str]]:
        feed = etree.fromstring(xml)
        header = [etree.QName(e).localname for e in feed if etree.QName(e).localname != "entry"]
        first = feed.find("{http://www.w3.org/2005/Atom}entry")
        entry = [] if first is None else [etree.QName(e).localname for e in first]
        return header, [tag for tag in entry if tag != "author"]

    server.reset()
    real = shared_path("corpus", "atom", "current_id_list_2104.12255v1.xml").read_bytes()
    ours = requests.get(server.api_url, params={"id_list": "2302.13971", "start": 0, "max_results": 100}, timeout=5)
    assert ours.headers["Content-Type"].startswith("application/atom+xml")
    assert layout(ours.content) == layout(real)
    assert ours.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns:opensearch=")
    empty = requests.get(server.api_url, params={"id_list": "2312.99999"}, timeout=5).content
    real_empty = shared_path("corpus", "atom", "current_id_list_0000.0000_invalid.xml").read_bytes()
    assert layout(empty)[0] == layout(real_empty)[0] and b"<entry>" not in empty
    server.reset()
