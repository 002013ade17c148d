"""`digest serve`: the app in real headless Chromium over a real workspace (two shared papers added, indexed and
summarized with the CLI, once per session) served by uvicorn on a loopback port; and its safety checks through
Starlette's test client: unknown ids, path traversal, the token, cross-site POSTs, the Host header, uploads."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pymupdf
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.testclient import TestClient

from digest.catalog import Catalog
from digest.cli import cli
from digest.export import EXPORTERS, load_entries
from digest.export.sheet import build_sheet
from digest.models import PaperRecord
from digest.serve import create_app
from digest.serve.guard import exposure_warning
from digest.serve.pages import PageNotFound, find_quote, render_page
from digest.settings import Settings
from digest.testing.browser import CHROMIUM, headless_chromium

TRANSFORMER, MISTRAL = "1706.03762", "2310.06825"
UPLOADED = "2103.15348"  # LayoutParser, its first four pages: quick to index
LOCAL = "http://127.0.0.1"
SAME_SITE = {"origin": LOCAL}


# ------------------------------------------------------------------------------------------------ fixtures


def cli_ok(ws: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["-w", str(ws), "-q", *args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def served(tmp_path_factory, shared_pdf) -> Settings:
    """A workspace of two real papers, added, indexed and summarized (extractive) with the CLI."""
    ws = tmp_path_factory.mktemp("serve-ws")
    (ws / "digest.toml").write_text('backend = "extractive"\nlang = "en"\n')
    cli_ok(ws, "add", str(shared_pdf(TRANSFORMER)), str(shared_pdf(MISTRAL)))
    cli_ok(ws, "index")
    cli_ok(ws, "summarize", "--backend", "extractive")
    settings = Settings.load(workspace=ws)
    with Catalog(settings.catalog_path) as db:
        db.upsert(db.get(MISTRAL).model_copy(update={"tags": ["Open-weights"]}))
    return settings


@contextmanager
def running(app) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; yields its address."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{LOCAL}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def site(served) -> Iterator[str]:
    with running(create_app(served)) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing: install the Debian packages chromium and chromium-driver")
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium chromium-driver)")
    driver = headless_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def empty(workspace) -> Settings:
    """Settings over an empty workspace, for the checks that need no paper."""
    return Settings.load(workspace=workspace)


def client(app) -> TestClient:
    """A test client of `app` with its own cookies, like a browser of its own."""
    return TestClient(app, base_url=LOCAL)


# ------------------------------------------------------------------------------------------------ helpers


def wait_for(driver, condition, timeout: float = 60.0, what: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d), what)


def page_quote(driver) -> tuple[str, int, str]:
    """The paper, page and quote of the page image shown."""
    src = urlsplit(driver.find_element("id", "page").get_attribute("src"))
    parts = src.path.split("/")  # /paper/<id>/page/<n>.png
    return parts[2], int(parts[4].removesuffix(".png")), parse_qs(src.query).get("q", [""])[0]


def expected_rects(settings: Settings, paper_id: str, page: int, quote: str) -> list[list[float]]:
    """`page.search_for(quote)` on the paper's page, rounded."""
    with pymupdf.open(settings.workspace / "corpus" / "pdf" / f"{paper_id}.pdf") as doc:
        return [[round(v, 1) for v in r] for r in doc[page - 1].search_for(" ".join(quote.split()))]


def assert_highlighted(driver, settings: Settings) -> None:
    """The page image has loaded; its highlight boxes are `page.search_for(quote)`'s (the aligned words' when
    that finds nothing); and the image is yellow inside them and nowhere else."""
    import numpy as np
    from PIL import Image

    image = wait_for(driver, lambda d: d.execute_script(
        "const i = document.getElementById('page'); return i.complete && i.naturalWidth > 0 && i;"), what="page image")
    boxes = [[round(v, 1) for v in r] for r in json.loads(image.get_attribute("data-rects"))]
    expected = expected_rects(settings, *page_quote(driver))
    assert boxes and image.get_attribute("data-how") == ("exact" if expected else "words")
    assert boxes == expected or not expected
    # The screen as shown, scrolled to the highlight: its boxes mapped from PDF points to screen pixels.
    shot = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")).astype(int)
    left, top, width, ratio = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, devicePixelRatio];", image)
    scale = width / float(image.get_attribute("data-width"))
    yellow = (shot[..., 0] > 200) & (shot[..., 1] > 180) & (shot[..., 2] < 120)
    inside, near = np.zeros_like(yellow), np.zeros_like(yellow)
    for x0, y0, x1, y1 in boxes:
        x0, x1 = (round((left + v * scale) * ratio) for v in (x0, x1))
        y0, y1 = (round((top + v * scale) * ratio) for v in (y0, y1))
        assert 0 <= y0 < y1 <= shot.shape[0], "the highlight is not scrolled into view"
        inside[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] = True
        near[max(0, y0 - 3) : y1 + 3, max(0, x0 - 3) : x1 + 3] = True
    assert yellow[inside].mean() > 0.3, "the quote's boxes are not highlighted"
    assert yellow[~near].sum() < 0.05 * yellow.sum(), "yellow outside the quote's boxes"


def evidence_link(row, settings: Settings, notes: dict):
    """The first evidence link of a survey row whose quote pymupdf finds verbatim over two lines or more."""
    from selenium.webdriver.common.by import By

    for link in row.find_elements(By.CSS_SELECTOR, "a.ev"):
        note = notes[int(link.get_attribute("href").rsplit("/", 1)[1])]
        if len(expected_rects(settings, TRANSFORMER, note.page, note.quote)) >= 2:
            return link, note.n
    raise AssertionError("no survey value of the Transformer has a quote found over two lines")


# ------------------------------------------------------------------------------------------------ in the browser


@pytest.mark.slow
def test_survey_sorts_filters_and_opens_evidence_highlighted(site, browser, served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{site}/?lang=en")
    rows = lambda: [r for r in browser.find_elements(By.CSS_SELECTOR, "#papers tbody tr") if r.is_displayed()]
    ids = lambda: [r.find_element(By.TAG_NAME, "td").text for r in rows()]
    assert sorted(ids()) == [TRANSFORMER, MISTRAL]
    assert "Code URL" in browser.find_element(By.ID, "papers").text  # the language chosen
    header = browser.find_element(By.CSS_SELECTOR, "#papers thead th")
    header.click()
    assert ids() == [TRANSFORMER, MISTRAL]
    header.click()
    assert ids() == [MISTRAL, TRANSFORMER]
    browser.find_element(By.ID, "filter").send_keys("mistral-src")
    assert ids() == [MISTRAL]
    browser.find_element(By.ID, "filter").clear()
    browser.find_element(By.ID, "filter").send_keys(" ")
    assert len(ids()) == 2
    Select(browser.find_element(By.ID, "tag")).select_by_visible_text("Open-weights")
    assert ids() == [MISTRAL]
    Select(browser.find_element(By.ID, "tag")).select_by_index(0)
    assert len(ids()) == 2
    browser.get(f"{site}/?lang=zh")
    assert "git地址" in browser.find_element(By.ID, "papers").text
    assert {a.text for a in browser.find_elements(By.CSS_SELECTOR, ".exports a")} == {"md", "csv", "xlsx", "json", "html", "bib"}

    # A value whose quote spans lines: clicking it opens its page, the quote highlighted.
    with Catalog(served.catalog_path) as db:
        [entry], _ = load_entries(db, [TRANSFORMER])
    notes = {note.n: note for note in build_sheet(entry, "en").notes}
    link, n = evidence_link(next(r for r in rows() if r.text.startswith(TRANSFORMER)), served, notes)
    link.click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/paper/{TRANSFORMER}/evidence/{n}"))
    assert page_quote(browser) == (TRANSFORMER, notes[n].page, notes[n].quote)
    assert_highlighted(browser, served)

    # Next and previous evidence.
    browser.find_element(By.ID, "next").click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/evidence/{n + 1}"))
    assert page_quote(browser)[1] == notes[n + 1].page
    browser.find_element(By.ID, "previous").click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/evidence/{n}"))


@pytest.mark.slow
def test_paper_view_outline_navigates(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/paper/{MISTRAL}?lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Mistral 7B"
    assert "github.com/mistralai/mistral-src" in browser.find_element(By.ID, "field-code_url").text
    section = next(a for a in browser.find_elements(By.CSS_SELECTOR, "aside.outline a") if "Results" in a.text)
    page = int(section.find_element(By.XPATH, "..").find_element(By.CLASS_NAME, "pg").text)
    section.click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/paper/{MISTRAL}/page/{page}"))
    assert page_quote(browser) == (MISTRAL, page, "")
    assert any(li.text.startswith("3 Results") for li in browser.find_elements(By.CSS_SELECTOR, "aside.outline li.here"))
    browser.find_element(By.ID, "next").click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/page/{page + 1}"))


@pytest.mark.slow
def test_ask_follow_up_and_citation(site, browser, served):
    from selenium.webdriver.common.by import By

    def ask(question: str, turns: int) -> None:
        browser.find_element(By.NAME, "question").send_keys(question)
        browser.find_element(By.CSS_SELECTOR, "#ask-form button").click()
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn")) == turns, 180, "an answer")

    browser.get(f"{site}/ask")
    ask("Which optimizer does the Transformer use?", 1)
    assert "Adam" in browser.find_element(By.CSS_SELECTOR, "#turn-1 .answer").text
    ask("How many GPUs was it trained on?", 2)  # "it": the Transformer, from the conversation
    second = browser.find_element(By.ID, "turn-2")
    assert "P100" in second.find_element(By.CLASS_NAME, "answer").text
    assert {a.get_attribute("href").split("/")[4] for a in second.find_elements(By.CSS_SELECTOR, "a.cite")} == {TRANSFORMER}

    first = browser.find_element(By.CSS_SELECTOR, "#turn-1 .answer a.cite")
    first.click()
    wait_for(browser, lambda d: "/page/" in d.current_url)
    paper_id, page, quote = page_quote(browser)
    assert paper_id == TRANSFORMER and "Adam" in quote
    assert_highlighted(browser, served)

    browser.back()
    assert len(browser.find_elements(By.CSS_SELECTOR, ".turn")) == 2  # the conversation is kept
    browser.find_element(By.CSS_SELECTOR, "form.inline button").click()  # new conversation
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".turn"))


@pytest.mark.slow
def test_compare_matrix_and_chart(site, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/compare?lang=en")
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#matrix thead th")]
    assert "MMLU" in headers and any("BLEU" in h for h in headers)  # the metric under the benchmark
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect")
    assert len(bars) >= 2
    widths = [float(b.get_attribute("width")) for b in bars]
    assert max(widths) == pytest.approx(420.0) and min(widths) < max(widths)


@pytest.mark.slow
def test_add_pdf_and_a_bad_id_shows_each_outcome(site, browser, served, shared):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/add")
    browser.find_element(By.ID, "ids").send_keys("not-an-id")
    browser.find_element(By.ID, "pdfs").send_keys(str(shared / "corpus" / "more" / "odd" / "2103.15348_4pages.pdf"))
    browser.find_element(By.CSS_SELECTOR, "#add-form button").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "job").get_attribute("data-state") == "finished", 300, "the job")
    rows = {r.find_elements(By.TAG_NAME, "td")[0].text: [td.text for td in r.find_elements(By.TAG_NAME, "td")]
            for r in browser.find_elements(By.CSS_SELECTOR, "#job-papers tbody tr")}
    assert rows["2103.15348_4pages.pdf"][1:3] == ["done", "summarize"]
    assert rows["not-an-id"][1:3] == ["failed", "fetch"] and "not an arXiv id" in rows["not-an-id"][3]

    browser.find_element(By.LINK_TEXT, "2103.15348_4pages.pdf").click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/paper/{UPLOADED}"))
    assert "LayoutParser" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(f"{site}/")
    assert UPLOADED in browser.find_element(By.ID, "papers").text
    browser.get(f"{site}/ask")  # the running app searches the new paper too: it reopened the index
    browser.find_element(By.NAME, "question").send_keys("What is LayoutParser?")
    browser.find_element(By.CSS_SELECTOR, "#ask-form button").click()
    cited = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".turn a.cite"), 180, "an answer")
    assert UPLOADED in {a.get_attribute("href").split("/")[4] for a in cited}


# ------------------------------------------------------------------------------------------------ quotes on pages


@pytest.mark.parametrize("page, quote, how, lines", [
    (2, "compelling sequence modeling and transduction models in various tasks", "exact", 2),  # "transduc-" + "tion"
    (7, "We used the Adam optimizer [20] with β1 = 0.9, β2 = 0.98 and ε = 10−9.", "words", 1),  # superscripts
    (1, "Our model achieves 28.4 BLEU on the WMT 2014 Englishto-German translation task", "exact", 2),
    (9, "In row (E) we replace our sinusoidal positional encoding with learned positional embeddings [9], and "
        "observe nearly identical results to the base model. 7 Conclusion In this work, we presented the "
        "Transformer, the first sequence transduction model based entirely on attention", "words", 4),  # and p. 10
])
def test_quotes_are_found_across_lines_hyphens_and_formulas(shared_pdf, page, quote, how, lines):
    spot = find_quote(shared_pdf(TRANSFORMER), page, quote)
    assert spot.how == how and len(spot.rects) >= lines, spot
    assert spot.pages == 15 and (spot.width, spot.height) == (612.0, 792.0)
    with pymupdf.open(shared_pdf(TRANSFORMER)) as doc:
        text = " ".join(doc[page - 1].get_textbox(pymupdf.Rect(r)) for r in spot.rects)
    assert {"sequence", "Adam", "BLEU", "sinusoidal"} & set(text.replace("-", " ").split())


def test_a_quote_found_nowhere_leaves_the_page_as_it_is(shared_pdf):
    other = "Mistral 7B leverages grouped-query attention for faster inference"
    spot = find_quote(shared_pdf(TRANSFORMER), 3, other)
    assert spot.how == "none" and not spot.found
    png, spot = render_page(shared_pdf(TRANSFORMER), 3, other)
    assert png.startswith(b"\x89PNG") and png == render_page(shared_pdf(TRANSFORMER), 3)[0]
    assert find_quote(shared_pdf(MISTRAL), 2, "| dim | 4096 |").how == "words"  # a table row, parsed
    with pytest.raises(PageNotFound, match="page 16 does not exist: the paper has pages 1 to 15"):
        find_quote(shared_pdf(TRANSFORMER), 16, "")


# ------------------------------------------------------------------------------------------------ routes


def test_unknown_ids_are_404_with_a_message(empty):
    with client(create_app(empty)) as c:
        for url in ["/paper/2302.13971", "/paper/2302.13971/pdf", "/paper/nope/page/1", "/paper/nope/page/1.png",
                    "/paper/nope/evidence/1", "/add/0123456789abcdef"]:
            response = c.get(url)
            assert response.status_code == 404, url
            assert "not in the catalog" in response.text or "no such job" in response.text, url
        response = c.get("/api/jobs/nope")
        assert response.status_code == 404 and "no such job" in response.json()["error"]
        assert c.get("/export/docx").status_code == 404


@pytest.mark.slow
def test_export_buttons_download_every_format(served):
    with client(create_app(served)) as c:
        for fmt in EXPORTERS:
            response = c.get(f"/export/{fmt}?lang=zh")
            assert response.status_code == 200, fmt
            assert response.headers["content-disposition"] == f'attachment; filename="survey{EXPORTERS.find(fmt).suffixes[0]}"'
        book = openpyxl.load_workbook(io.BytesIO(c.get("/export/xlsx").content))
        assert {"survey", "benchmarks", "evidence"} <= set(book.sheetnames)
        assert {p["paper_id"] for p in c.get("/export/json").json()["papers"]} >= {TRANSFORMER, MISTRAL}
        assert "git地址" in c.get("/export/csv?lang=zh").content.decode("utf-8-sig")


@pytest.mark.slow
def test_out_of_range_pages_and_evidence_are_404(served):
    with client(create_app(served)) as c:
        response = c.get(f"/paper/{MISTRAL}/page/99")
        assert response.status_code == 404 and "page 99 does not exist: the paper has pages 1 to 9" in response.text
        assert c.get(f"/paper/{MISTRAL}/page/0.png").status_code == 404
        response = c.get(f"/paper/{MISTRAL}/evidence/999")
        assert response.status_code == 404 and "no evidence 999" in response.text
        assert c.get(f"/paper/arXiv:{MISTRAL}v1").status_code == 200  # any form of the id


def test_paths_never_reach_files(empty):
    secret = empty.workspace.parent / "secret.txt"
    secret.write_text("SECRET")
    with Catalog(empty.catalog_path) as db:  # a catalog row pointing outside the workspace
        db.upsert(PaperRecord(paper_id="local-evil", pdf_path="../secret.txt", source="local"))
    with client(create_app(empty)) as c:
        for url in ["/paper/..%2Fsecret.txt/pdf", "/paper/%2e%2e/pdf", "/paper/..%5C..%5Csecret.txt/pdf",
                    "/static/%2e%2e/%2e%2e/%2e%2e/secret.txt", "/static/..%2F..%2Fpages.py", "/export/..%2Fcatalog.sqlite",
                    "/paper/local-evil/pdf", "/paper/local-evil/page/1.png", f"/paper/{secret}/pdf"]:
            response = c.get(url)
            assert response.status_code == 404, url
            assert "SECRET" not in response.text and "import" not in response.text, url
        assert "has no PDF in the workspace" in c.get("/paper/local-evil/pdf").text


def test_token_is_required_on_every_request_when_set(empty):
    with client(create_app(empty, token="s3cret", loopback_only=False)) as c:
        for method, url in [("GET", "/"), ("GET", "/static/app.js"), ("GET", "/api/jobs/x"), ("POST", "/ask")]:
            response = c.request(method, url, headers=SAME_SITE)
            assert response.status_code == 401 and "token is required" in response.text, url
        assert c.get("/", headers={"x-digest-token": "wrong"}).status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        assert c.get("/", headers={"x-digest-token": "s3cret"}).status_code == 200
        login = c.get("/compare?token=s3cret&lang=en", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == f"{LOCAL}/compare?lang=en"
        assert "HttpOnly" in login.headers["set-cookie"] and "SameSite=strict" in login.headers["set-cookie"]
        assert c.get("/").status_code == 200  # the cookie now stands for the token


def test_binding_beyond_loopback_needs_a_token(workspace):
    assert exposure_warning("127.0.0.1", None) is None and exposure_warning("::1", None) is None
    assert exposure_warning("localhost", None) is None
    assert "warning" in exposure_warning("0.0.0.0", "s3cret")
    result = CliRunner().invoke(cli, ["-w", str(workspace), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "give --token" in result.output


def test_loopback_app_refuses_other_host_names(empty):
    with client(create_app(empty)) as c:
        assert c.get("/", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
        assert c.get("/", headers={"host": "[::1"}).status_code == 400
        assert c.get("/", headers={"host": "localhost:8000"}).status_code == 200
        assert c.get("/", headers={"host": "[::1]:8000"}).status_code == 200


def test_cross_site_posts_are_refused(empty):
    with client(create_app(empty)) as c:
        for headers in [{}, {"origin": "http://evil.example"}, {"referer": "http://evil.example/page"},
                        {"origin": "null"}, {"origin": "http://127.0.0.1:9999"}]:
            for url in ["/ask", "/ask/new", "/add"]:
                response = c.post(url, data={"question": "x", "ids": "2302.13971"}, headers=headers)
                assert response.status_code == 403 and "cross-site request refused" in response.text, (url, headers)
        assert c.post("/ask/new", headers={"referer": f"{LOCAL}/ask"}, follow_redirects=False).status_code == 303
        response = c.get("/")
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_uploads_must_be_pdfs_within_the_size_limit(empty, shared_pdf):
    with client(create_app(empty, max_upload=2**20)) as c:
        for name, data, message in [
            ("notes.pdf", b"hello, not a PDF", "notes.pdf: not a PDF"),
            ("cut.pdf", shared_pdf(MISTRAL).read_bytes()[:5000], "cut.pdf: truncated PDF"),
            ("junk.pdf", b"%PDF-1.7\n garbage \n%%EOF\n", "junk.pdf: damaged PDF"),
        ]:
            response = c.post("/add", files={"pdfs": (name, data, "application/pdf")}, headers=SAME_SITE)
            assert response.status_code == 400 and message in response.text, name
            assert "paste arXiv ids or drop PDF files" in response.text
        response = c.post("/add", files={"pdfs": ("big.pdf", shared_pdf(TRANSFORMER).read_bytes(), "application/pdf")},
                          headers=SAME_SITE)  # 2.2 MB
        assert response.status_code == 413 and "upload larger than 1 MB" in response.text
        assert c.post("/add", data={"ids": ""}, headers=SAME_SITE).status_code == 400


@pytest.mark.slow
def test_conversations_are_per_browser(served):
    app = create_app(served)
    with client(app) as one, client(app) as other:
        assert one.post("/ask", data={"question": "Which optimizer does the Transformer use?"},
                        headers=SAME_SITE).status_code == 200
        assert "Adam" in one.get("/ask").text
        assert 'class="turn"' not in other.get("/ask").text
        response = other.post("/ask", data={"question": "  "}, headers=SAME_SITE)
        assert response.status_code == 400 and "empty question" in response.text
