"""Parse: structure, clean text, tables and links from the real shared PDFs; clear reasons for broken PDFs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.models import PaperRecord
from digest.parse import PARSER_VERSION, ParseError, load_parsed, parse_papers, parse_pdf, section_recall
from digest.settings import Settings
from digest.text import normalize

from conftest import SHARED

NO_OUTLINE = ["2302.13971", "1810.04805", "2107.03374", "2305.18290"]  # LLaMA, BERT, Codex, DPO


@pytest.fixture(scope="session")
def parsed(shared_pdf):
    """Each real PDF parsed once per test session."""
    cache = {}

    def get(paper_id: str):
        if paper_id not in cache:
            cache[paper_id] = parse_pdf(shared_pdf(paper_id), paper_id)
        return cache[paper_id]

    return get


def _section(paper, title: str):
    matches = [s for s in paper.sections if normalize(s.title) == normalize(title)]
    assert matches, f"no section {title!r} in {[s.heading for s in paper.sections]}"
    return matches[0]


def _all_text(paper) -> str:
    return "\n".join([paper.abstract, paper.references] + [s.text for s in paper.sections])


# ------------------------------------------------------------------ structure


def _gold_sections() -> list:
    """The dev gold's section titles per paper, read at collection; without ../shared, one placeholder whose
    test fails on the missing corpus."""
    path = SHARED / "eval" / "sections_dev.json"
    if not path.is_file():
        return [pytest.param(None, id="shared-missing")]
    return [pytest.param(gold, id=gold["arxiv_id"]) for gold in json.loads(path.read_text())]


@pytest.mark.parametrize("gold", _gold_sections())
def test_section_recall_on_gold_papers(parsed, gold):
    recall, missed = section_recall(parsed(gold["arxiv_id"]), gold["sections"])
    assert recall >= 0.95, f"missed {missed}"


@pytest.mark.parametrize("paper_id", NO_OUTLINE)
def test_papers_without_outline_get_structure_from_typography(parsed, shared_pdf, paper_id):
    with pymupdf.open(shared_pdf(paper_id)) as doc:
        assert doc.get_toc() == []
    paper = parsed(paper_id)
    assert paper.outline_source == "typography"
    numbered = [s for s in paper.sections if s.number and s.kind == "body"]
    tops = [int(s.number) for s in numbered if s.level == 1]
    assert tops == sorted(tops) and tops[:3] == [1, 2, 3]
    assert all(s.level == s.number.count(".") + 1 for s in numbered)
    assert _section(paper, "Introduction").number == "1"
    assert not any(normalize(s.title) == "references" for s in paper.sections)


@pytest.mark.parametrize("paper_id, heading, level, page", [
    ("1810.04805", "3.1 Pre-training BERT", 2, 4),
    ("1810.04805", "A.2 Pre-training Procedure", 2, 13),
    ("2107.03374", "2.1 Functional Correctness", 2, 2),
    ("2107.03374", "B Random Problems and Solutions from Codex-12B", 1, 19),  # a heading wrapped over two lines
    ("2305.18290", "6.1 How well can DPO optimize the RLHF objective?", 2, 8),
    ("2305.18290", "D.1 Performance of Best of N baseline for Various N", 2, 22),  # math italic N inside a bold heading
    ("2302.13971", "2.1 Pre-training Data", 2, 2),
])
def test_typographic_headings_have_number_level_and_page(parsed, paper_id, heading, level, page):
    found = {s.heading: s for s in parsed(paper_id).sections}
    assert heading in found, sorted(found)
    assert (found[heading].level, found[heading].page_start) == (level, page)


@pytest.mark.parametrize("paper_id", [
    "1409.0473",  # ICLR: subsections in small capitals at body size
    "1910.10683",  # JMLR: subsubsections in the body font, numbered 3.1.4
    "2110.14168",
    "2412.19437",  # tech report, headings wrapped over two lines
])
def test_typography_alone_recovers_the_pdf_outline(shared_pdf, paper_id):
    """Papers that carry an outline check the heuristics that papers without one depend on."""
    with pymupdf.open(shared_pdf(paper_id)) as doc:
        titles = [entry[1] for entry in doc.get_toc()]
    paper = parse_pdf(shared_pdf(paper_id), paper_id, use_outline=False)
    recall, missed = section_recall(paper, titles)
    assert paper.outline_source == "typography" and recall >= 0.95, missed
    assert len(paper.sections) <= len(titles) + 10  # few headings beyond the outline (References is kept apart)


def test_outline_from_toc_is_used_and_located_in_the_text(parsed, shared_pdf):
    paper = parsed("1706.03762")
    with pymupdf.open(shared_pdf("1706.03762")) as doc:
        toc = doc.get_toc()
    assert paper.outline_source == "toc"
    assert [(s.level, s.title, s.page_start) for s in paper.sections] == [tuple(e) for e in toc]
    assert _section(paper, "Scaled Dot-Product Attention").number == "3.2.1"  # numbers read from the page
    assert "softmax" in _section(paper, "Scaled Dot-Product Attention").text


def test_sections_hold_their_own_text_and_pages(parsed):
    paper = parsed("2302.13971")
    data = _section(paper, "Pre-training Data")
    assert data.text.startswith("Our training dataset is a mixture of several sources")
    assert "Stack Exchange [2%]" in data.text
    assert "2.2 Architecture" not in data.text and "Architecture" not in data.text.split("\n")[0]
    assert all(s.page_start <= s.page_end for s in paper.sections)


def test_title_authors_and_abstract(parsed):
    paper = parsed("2302.13971")
    assert paper.title == "LLaMA: Open and Efficient Foundation Language Models"
    assert paper.authors[:2] == ["Hugo Touvron", "Thibaut Lavril"]
    assert paper.abstract.startswith("We introduce LLaMA, a collection of foundation language models")
    assert paper.abstract.endswith("We release all our models to the research community.")
    assert paper.pages == 27
    assert parsed("1810.04805").authors == ["Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova"]


@pytest.mark.parametrize("path, title", [
    ("corpus/more/pdf/2511.22570.pdf", "DeepSeekMath-V2: Towards Self-Verifiable Mathematical Reasoning"),  # "Abstract" set larger
    ("corpus/more/pdf/2501.10120.pdf", "PaSa: An LLM Agent for Comprehensive Academic Paper Search"),  # a larger logo below
    ("corpus/pdf/2501.12599.pdf", "KIMI K1.5: SCALING REINFORCEMENT LEARNING WITH LLMS"),  # small capitals on line 2
    ("corpus/pdf/1706.03762.pdf", "Attention Is All You Need"),  # a larger-than-body notice above it
    ("corpus/more/pdf/2202.00535.pdf", "Novelty Controlled Paraphrase Generation with Retrieval Augmented Conditional Prompt Tuning"),
])
def test_title_is_the_display_text_that_reads_as_one(shared, path, title):
    """Not the largest text of page 1, nor the author line below it: each case is a paper where that went wrong."""
    assert parse_pdf(shared / path, Path(path).stem).title == title


def test_references_kept_apart_and_appendix_marked(parsed):
    paper = parsed("2302.13971")
    assert "Program synthesis with large language models" in paper.references
    assert all("Program synthesis with large language models" not in s.text for s in paper.sections)
    kinds = [s.kind for s in paper.sections]
    assert kinds == sorted(kinds, key=lambda k: k == "appendix")  # body first, then appendix
    assert _section(paper, "Question Answering").kind == "appendix"
    assert _section(paper, "Conclusion").kind == "body"


# ----------------------------------------------------------------- clean text


def test_ligatures_and_hyphenation(parsed):
    text = _all_text(parsed("2302.13971"))
    assert not re.search("[\ufb00-\ufb06]", text)
    assert "classifier" in text  # "classiﬁer"
    assert "trained on massive corpora" in text  # "mas-" / "sive"
    assert "to perform new tasks" in text  # "per-" / "form"
    assert "LLaMA-65B" in text and "LLaMA65B" not in text  # a hyphen before a capital or digit stays


def test_url_broken_across_lines_is_rejoined(parsed):
    paper = parsed("2110.14168")
    url = "https://github.com/openai/grade-school-math"
    assert f"can be found at {url}." in _section(paper, "Dataset").text
    links = [link for link in paper.links if link.uri == url]
    assert links and links[0].text == url and links[0].page == 3


def test_running_heads_page_numbers_and_stamp_removed(parsed):
    llama = parsed("2302.13971")
    assert "arXiv:2302.13971" not in _all_text(llama)
    codex = parsed("2107.03374")  # ICML running head on every page
    assert _all_text(codex).count("Evaluating Large Language Models Trained on Code") <= 1
    for paper in (llama, codex):
        paragraphs = [p for s in paper.sections for p in s.text.split("\n\n")]
        assert not [p for p in paragraphs if re.fullmatch(r"\d{1,3}", p.strip())]


def test_footnotes_do_not_break_paragraphs(parsed):
    intro = _section(parsed("2302.13971"), "Introduction").text
    assert "reach a certain level of performance, a smaller one trained longer" in intro
    assert intro.rstrip().endswith("https://github.com/facebookresearch/llama")  # footnotes close the section


# --------------------------------------------------------- tables and links


def test_llama_table_1_pre_training_data(parsed):
    paper = parsed("2302.13971")
    table = next(t for t in paper.tables if t.label == "Table 1")
    assert table.page == 2 and table.caption.startswith("Table 1: Pre-training data.")
    assert table.section == "2.1 Pre-training Data"
    assert table.rows[0] == "| Dataset | Sampling prop. | Epochs | Disk size |"
    assert table.rows[1] == "| --- | --- | --- | --- |"
    assert "| CommonCrawl | 67.0% | 1.10 | 3.3 TB |" in table.rows
    assert "| StackExchange | 2.0% | 1.03 | 78 GB |" in table.rows
    assert "CommonCrawl 67.0%" not in _section(paper, "Pre-training Data").text  # cells stay out of the prose


def test_tables_and_captions_found(parsed):
    paper = parsed("2302.13971")
    assert [t.label for t in paper.tables] == [f"Table {n}" for n in range(1, 17)]
    assert all(t.rows for t in paper.tables)
    table2 = next(t for t in paper.tables if t.label == "Table 2")  # caption below the table
    assert "| 6.7B | 4096 | 32 | 32 | 3.0e−4 | 4M | 1.0T |" in table2.rows
    figures = {c.label: c for c in paper.captions if c.kind == "figure"}
    assert figures["Figure 1"].text.startswith("Figure 1: Training loss over train tokens")
    assert not any(c.text.startswith("Table 2 shows") for c in parsed("1810.04805").captions)


def test_links_from_annotations_and_text(parsed):
    paper = parsed("2302.13971")
    by_uri = {link.uri: link for link in paper.links}
    code = by_uri["https://github.com/facebookresearch/llama"]
    assert (code.page, code.source, code.text) == (1, "annotation", "https://github.com/facebookresearch/llama")
    assert by_uri["https://aclanthology.org/D07-1090"].text == "Large language models in machine translation."
    assert all(link.uri.startswith(("http://", "https://", "ftp://")) for link in paper.links)
    assert len(by_uri) == len(paper.links) or len({(l.uri, l.page) for l in paper.links}) == len(paper.links)


# ------------------------------------------------------------- broken PDFs


def _text_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    page = doc.new_page()
    for n in range(30):
        page.insert_text((72, 72 + 14 * n), f"Line {n} of a small test document with enough words in it.")
    doc.save(path)
    return path


def _zero_page_pdf(path: Path) -> Path:
    """A well-formed PDF (valid cross-reference table) whose page tree is empty."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _broken(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.pdf"
    if kind == "encrypted":
        doc = pymupdf.open(_text_pdf(tmp_path / "plain.pdf"))
        doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    elif kind == "zero-pages":
        _zero_page_pdf(path)
    elif kind == "scan":
        doc = pymupdf.open()
        page = doc.new_page()
        pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 300, 400), False)
        pix.set_rect(pix.irect, (235, 235, 235))
        page.insert_image(page.rect, pixmap=pix)
        doc.save(path)
    elif kind == "bad-xref":
        data = _text_pdf(tmp_path / "plain.pdf").read_bytes()
        start = data.rindex(b"startxref")
        path.write_bytes(data[:start] + b"startxref\n99999\n%%EOF\n")
    elif kind == "truncated":
        data = _text_pdf(tmp_path / "plain.pdf").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not-pdf":
        path.write_bytes(b"<html><body>Rate limited</body></html>\n" * 20)
    return path


@pytest.mark.parametrize("kind, reason", [
    ("encrypted", "encrypted: remove the password"),
    ("zero-pages", "zero pages"),
    ("scan", "no text layer"),
    ("bad-xref", "broken cross-reference table"),
    ("truncated", "truncated PDF"),
    ("not-pdf", "not a PDF"),
])
def test_broken_pdfs_give_a_clear_reason(tmp_path, kind, reason):
    path = _broken(tmp_path, kind)
    with pytest.raises(ParseError) as err:
        parse_pdf(path, "2401.00001")
    message = str(err.value)
    assert reason in message and str(path) in message and "\n" not in message


def test_a_small_valid_pdf_parses(tmp_path):
    paper = parse_pdf(_text_pdf(tmp_path / "ok.pdf"), "2401.00001")
    assert paper.pages == 1 and "Line 29 of a small test document" in paper.full_text()


# ------------------------------------------------------- batch and commands


@pytest.fixture
def catalog_ws(workspace, tmp_path, shared_pdf):
    """A workspace whose catalog lists two real papers, an encrypted and a truncated PDF, and a missing file."""
    settings = Settings.load(workspace=workspace)
    papers = [
        PaperRecord(paper_id="2310.06825", pdf_path=str(shared_pdf("2310.06825"))),
        PaperRecord(paper_id="2110.14168", pdf_path=str(shared_pdf("2110.14168"))),
        PaperRecord(paper_id="2401.00001", pdf_path=str(_broken(tmp_path, "encrypted"))),
        PaperRecord(paper_id="2401.00002", pdf_path=str(_broken(tmp_path, "truncated"))),
        PaperRecord(paper_id="2401.00003", pdf_path="corpus/pdf/2401.00003.pdf"),
    ]
    with Catalog(settings.catalog_path) as catalog:
        for paper in papers:
            catalog.upsert(paper)
    return settings


def test_parse_papers_stores_results_and_goes_on_after_failures(catalog_ws):
    with Catalog(catalog_ws.catalog_path) as catalog:
        results = {r.paper_id: r for r in parse_papers(catalog_ws, catalog)}
        assert {k: r.status for k, r in results.items()} == {
            "2110.14168": "done", "2310.06825": "done",
            "2401.00001": "failed", "2401.00002": "failed", "2401.00003": "failed",
        }
        assert "encrypted" in results["2401.00001"].error
        assert "truncated" in results["2401.00002"].error
        assert "2401.00003" in results["2401.00003"].error
        state = catalog.parse_state("2401.00001")
        assert state["status"] == "failed" and "encrypted" in state["error"]
        stored = catalog.load_parse("2310.06825")
        assert stored.parser_version == PARSER_VERSION and stored.title == "Mistral 7B"

        again = {r.paper_id: r.status for r in parse_papers(catalog_ws, catalog)}
        assert again["2310.06825"] == again["2110.14168"] == "unchanged"
        assert again["2401.00001"] == "failed"
        forced = parse_papers(catalog_ws, catalog, ids=["2310.06825"], force=True)
        assert [(r.paper_id, r.status) for r in forced] == [("2310.06825", "done")]


def test_a_new_parser_version_parses_again(catalog_ws, monkeypatch):
    import digest.parse as parse_module

    with Catalog(catalog_ws.catalog_path) as catalog:
        parse_papers(catalog_ws, catalog, ids=["2310.06825"])
        monkeypatch.setattr(parse_module, "PARSER_VERSION", PARSER_VERSION + "-next")
        assert [r.status for r in parse_papers(catalog_ws, catalog, ids=["2310.06825"])] == ["done"]
        assert catalog.parse_state("2310.06825")["parser_version"] == PARSER_VERSION + "-next"


def test_load_parsed_parses_on_demand_and_explains_failures(catalog_ws):
    with Catalog(catalog_ws.catalog_path) as catalog:
        assert load_parsed(catalog_ws, catalog, "2310.06825").sections[0].title == "Introduction"
        with pytest.raises(ParseError, match="encrypted"):
            load_parsed(catalog_ws, catalog, "2401.00001")
        with pytest.raises(ParseError, match="not in the catalog"):
            load_parsed(catalog_ws, catalog, "2402.99999")


def test_cli_parse_and_show(catalog_ws):
    runner = CliRunner()
    ws = ["-w", str(catalog_ws.workspace)]
    result = runner.invoke(cli, ws + ["parse", "2310.06825", "2401.00001", "--json"])
    assert result.exit_code == 1, result.output  # one paper failed: reported, the other parsed
    data = json.loads(result.output)
    assert (data["done"], data["failed"]) == (1, 1)

    result = runner.invoke(cli, ws + ["show", "2110.14168", "--json"])  # parsed on demand
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["paper_id"] == "2110.14168" and shown["title"] == "Training Verifiers to Solve Math Word Problems"
    assert {"title": "Related Datasets", "level": 2, "page": 3} in [
        {k: s[k] for k in ("title", "level", "page")} for s in shown["sections"]
    ]
    assert any(link["uri"] == "https://github.com/openai/grade-school-math" for link in shown["links"])
    [table] = shown["tables"]  # the hyperparameter table of appendix B, with its rows
    assert (table["label"], table["page"], table["section"]) == ("Table 1", 16, "B Hyperparameters")
    assert table["caption"].startswith("Table 1: Hyperparameters used for all experiments")
    assert {"| Optimizer | Adam, β1 = 0.9, β2 = 0.95 |", "| Verifier loss | MSE |"} <= set(table["rows"])

    result = runner.invoke(cli, ws + ["show", "2110.14168"])
    assert result.exit_code == 0 and "    3.1 Related Datasets  p.3" in result.output

    result = runner.invoke(cli, ws + ["show", "2401.00001"])
    assert result.exit_code == 2 and "Error:" in result.output and "encrypted" in result.output
