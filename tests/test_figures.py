"""Figures for 效果展示: crops of real pages (the whole float, no running text), the results figures chosen, the
images stored beside the sheet and carried into every export."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import openpyxl
import pymupdf
import pytest
from PIL import Image

import digest.files
from digest.catalog import Catalog
from digest.corpus import add_papers
from digest.errors import DigestError
from digest.export import export_catalog
from digest.parse import parse_pdf
from digest.parse.crop import DPI, body_style, float_boxes, page_marks
from digest.settings import Settings
from digest.summarize import summarize_papers
from digest.summarize.evidence import PaperText
from digest.summarize.figures import results_captions, save_figures

MIXTRAL = "2401.04088"


@pytest.fixture(scope="module")
def mixtral(shared_pdf):
    return parse_pdf(shared_pdf(MIXTRAL), MIXTRAL)


def _crops(pdf: Path, parsed, page_no: int) -> dict[str, pymupdf.Rect]:
    """Label -> crop box of every caption on a page."""
    with pymupdf.open(pdf) as doc:
        style = body_style(doc)
        captions = [c for c in parsed.captions if c.page == page_no]
        boxes = float_boxes(page_marks(doc[page_no - 1], style), [(c.bbox, c.kind) for c in captions], style)
    return {c.label: pymupdf.Rect(box) for c, box in zip(captions, boxes) if box}


def _text_rect(pdf: Path, page_no: int, text: str) -> pymupdf.Rect:
    with pymupdf.open(pdf) as doc:
        [rect] = doc[page_no - 1].search_for(text)
    return rect


def _overlaps(a: pymupdf.Rect, b: pymupdf.Rect) -> bool:
    return (a & b).get_area() > 1


def _shows(crop: pymupdf.Rect, pdf: Path, page_no: int, *texts: str) -> bool:
    """Whether the crop holds each of the texts printed once on the page."""
    return all(crop.contains(_text_rect(pdf, page_no, text)) for text in texts)


def test_a_figure_crop_holds_its_caption_and_image_and_no_body_line(mixtral, shared_pdf):
    pdf = shared_pdf(MIXTRAL)
    crop = _crops(pdf, mixtral, 3)["Figure 2"]
    with pymupdf.open(pdf) as doc:
        [image] = doc[2].get_image_info()
    caption = next(c for c in mixtral.captions if c.label == "Figure 2")
    assert crop.contains(pymupdf.Rect(caption.bbox)) and crop.contains(pymupdf.Rect(image["bbox"]) + (0, 0, 0, -2))
    assert not _overlaps(crop, _text_rect(pdf, 3, "(3-5-shot, English multiple-choice questions only)"))


def test_stacked_floats_part_and_a_table_caption_below_its_table_is_read_right(mixtral, shared_pdf):
    """Page 4: Table 2 (caption below the table), then Figure 3 (an image, caption below), then body text."""
    pdf = shared_pdf(MIXTRAL)
    crops = _crops(pdf, mixtral, 4)
    table, figure = crops["Table 2"], crops["Figure 3"]
    assert not _overlaps(table, figure)
    assert _shows(table, pdf, 4, "TriQA", "HellaS")
    with pymupdf.open(pdf) as doc:
        [image] = doc[3].get_image_info()
    assert figure.contains(pymupdf.Rect(image["bbox"]))
    assert not _overlaps(figure, _text_rect(pdf, 4, "Detailed results for Mixtral, Mistral 7B"))


def test_a_caption_between_two_floats_takes_its_own(shared_pdf):
    """PaLM, captions below their floats. Page 21: Table 10's caption sits nearer its table than Figure 9 below it.
    Page 77: Table 31's caption is nearer Figure 27's plot, which Figure 27's own caption takes first."""
    pdf = shared_pdf("2204.02311")
    palm = parse_pdf(pdf, "2204.02311")
    crops = _crops(pdf, palm, 21)
    table, figure = crops["Table 10"], crops["Figure 9"]
    assert _shows(table, pdf, 21, "Model+Technique") and _shows(figure, pdf, 21, "Error analysis of PaLM")
    assert not (_overlaps(table, figure) or _overlaps(table, _text_rect(pdf, 21, "We highlight the results of PaLM")))
    crops = _crops(pdf, palm, 77)
    table, figure, below = crops["Table 31"], crops["Figure 27"], crops["Table 32"]
    assert _shows(table, pdf, 77, "Average Task Metric") and _shows(figure, pdf, 77, "Total Training FLOP Count")
    assert _shows(below, pdf, 77, "MMLU average 5-shot")
    assert not (_overlaps(table, figure) or _overlaps(figure, below))


def test_a_caption_between_two_tables_takes_the_one_the_other_caption_leaves(shared, shared_pdf):
    """Page 4 of a paper with table captions below their tables: Table 1's caption has a table on both sides; the
    one below belongs to Table 2, whose caption has nothing else."""
    pdf = shared / "corpus" / "more" / "pdf" / "2202.00535.pdf"
    crops = _crops(pdf, parse_pdf(pdf, "2202.00535"), 4)
    first, second = crops["Table 1"], crops["Table 2"]
    assert _shows(first, pdf, 4, "NC-RAPT (High)") and _shows(second, pdf, 4, "Number of Parameters", "Fine Tuning")
    assert not _overlaps(first, second)

    pdf = shared_pdf("2412.19437")  # DeepSeek-V3, page 34: Table 9's top rule lies as near Table 8's caption
    crops = _crops(pdf, parse_pdf(pdf, "2412.19437"), 34)
    first, second = crops["Table 8"], crops["Table 9"]
    assert _shows(first, pdf, 34, "Chat-Hard") and _shows(second, pdf, 34, "LiveCodeBench-CoT")
    assert not _overlaps(first, second)


@pytest.mark.parametrize("folder, paper, page_no, label, inside, outside", [
    ("more/pdf", "1911.02782", 2, "Table 1", "S2ORC (PDF-parse)", None),  # the table's note under its caption
    ("pdf", "2204.02311", 28, "Table 14", "Finetuned", "Please note that, the particular partitioning"),  # PaLM
    ("more/pdf", "2301.13298", 5, "Table 3", "PubMed + ngram block", "screening process, compensation"),
])
def test_a_caption_takes_the_float_not_a_footnote_or_a_line_on_its_other_side(shared, folder, paper, page_no, label,
                                                                              inside, outside):
    """A table caption with its table above it and only a mark of a line or two below (a table's note, the page's
    footnote under a long caption, two lines of the column's text read as figure text) takes the table, though a
    table's caption usually sits above its table and the mark below may be nearer."""
    pdf = shared / "corpus" / folder / f"{paper}.pdf"
    table = _crops(pdf, parse_pdf(pdf, paper), page_no)[label]
    assert _shows(table, pdf, page_no, inside)
    assert outside is None or not _overlaps(table, _text_rect(pdf, page_no, outside))


def test_captions_left_one_side_are_served_till_none_is(shared_pdf):
    """Page 21: three captions each above its table. Table 8's caption lies nearer Table 7's table than its own;
    once Table 6 has taken its table Table 7 has only the table below it left, which Table 8 must leave it. LoRA's
    page 26: Figure 7's caption must leave Table 18's table below it to Table 18's caption."""
    pdf = shared_pdf("2512.02556")
    crops = _crops(pdf, parse_pdf(pdf, "2512.02556"), 21)
    seven, eight = crops["Table 7"], crops["Table 8"]
    assert _shows(seven, pdf, 21, "Use Python interpreter tool to execute Python code")
    assert _shows(eight, pdf, 21, "You are a helpful assistant with access", "[MULTI-TURN Thinking-Then-TOOLCALL]")
    assert not _overlaps(seven, _text_rect(pdf, 21, "The model executes tool calls"))  # Table 8's caption

    pdf = shared_pdf("2106.09685")  # LoRA, page 26: Figure 7's plot above its caption, Table 18's table below it
    crops = _crops(pdf, parse_pdf(pdf, "2106.09685"), 26)
    assert _shows(crops["Table 18"], pdf, 26, "CIDEr", "METEOR")
    assert not _overlaps(crops["Figure 7"], _text_rect(pdf, 26, "CIDEr"))


def test_two_column_and_side_captions(shared_pdf):
    """BERT's full-width results table keeps out both columns' text; a caption beside its table (ICLR 2015)
    takes the table on its left."""
    bert = shared_pdf("1810.04805")
    table = _crops(bert, parse_pdf(bert, "1810.04805"), 6)["Table 1"]
    assert _shows(table, bert, 6, "BiLSTM+ELMo+Attn", "MNLI-(m/mm)")
    for first_line in ("We use a batch size of 32", "Wikipedia containing the answer"):
        assert not _overlaps(table, _text_rect(bert, 6, first_line))  # the text under it, in either column

    nmt = shared_pdf("1409.0473")
    side = _crops(nmt, parse_pdf(nmt, "1409.0473"), 7)["Table 1"]
    assert _shows(side, nmt, 7, "RNNencdec-30", "Moses")
    assert not _overlaps(side, _text_rect(nmt, 7, "The proposed approach provides an intuitive way"))


def _first_rect(pdf: Path, page_no: int, text: str) -> pymupdf.Rect:
    """The topmost place a text is printed on a page."""
    with pymupdf.open(pdf) as doc:
        return min(doc[page_no - 1].search_for(text), key=lambda r: r.y0)


def test_a_table_whose_cells_are_paragraphs_is_cropped_whole(shared, shared_pdf):
    """Table cells that are whole paragraphs in the body type are no running text: page 16 of Seed-Thinking
    continues a table ruled down the middle (caption at the page foot); page 23 of DPO holds a booktabs table of
    sample texts, each row tight between two rules, under a figure."""
    pdf = shared_pdf("2504.13914")
    table = _crops(pdf, parse_pdf(pdf, "2504.13914"), 16)["Table 5"]
    assert _shows(table, pdf, 16, "Principles", "A sequence of length", "Summary, the model answer is correct")
    assert table.contains(_first_rect(pdf, 16, "Seed-Thinking-Verifier"))  # the row label left of the rule

    pdf = shared_pdf("2305.18290")
    crops = _crops(pdf, parse_pdf(pdf, "2305.18290"), 23)
    table, figure = crops["Table 4"], crops["Figure 4"]
    assert _shows(table, pdf, 23, "SUBREDDIT: r/AskReddit", "A seems repetitive")
    assert table.contains(_first_rect(pdf, 23, "Judgment")) and not _overlaps(table, figure)


def test_a_column_figure_on_page_one_keeps_out_the_author_block(shared):
    """A two-column first page: the teaser figure tops the right column under an author block laid out in three
    columns across the page; the figure's crop takes none of it."""
    pdf = shared / "corpus" / "more" / "pdf" / "2302.07302.pdf"
    parsed = parse_pdf(pdf, "2302.07302")
    figure, caption = _crops(pdf, parsed, 1)["Figure 1"], next(c for c in parsed.captions if c.label == "Figure 1")
    with pymupdf.open(pdf) as doc:
        [image] = doc[0].get_image_info()  # the figure, over its caption, under the author block
    assert figure.contains(pymupdf.Rect(image["bbox"])) and figure.contains(pymupdf.Rect(caption.bbox))
    for author in ("Jonathan Bragg", "Daniel S. Weld", "Amy X. Zhang", "Kyle Lo"):
        assert not _overlaps(figure, _first_rect(pdf, 1, author))


def test_a_captions_centred_last_line_and_underlined_words_belong_to_it(shared, shared_pdf):
    """A caption's last line set in the middle (a lone full stop; a last word) and a word underlined in it are its
    own: the crop holds them, and takes its float on the right side of it."""
    pdf = shared / "corpus" / "more" / "pdf" / "2407.01603.pdf"
    parsed = parse_pdf(pdf, "2407.01603")
    caption = next(c for c in parsed.captions if c.label == "Figure 5")
    figure = _crops(pdf, parsed, 11)["Figure 5"]
    with pymupdf.open(pdf) as doc:
        [stop] = [pymupdf.Rect(w[:4]) for w in doc[10].get_text("words")
                  if w[4] == "." and 0 <= w[1] - caption.bbox[3] <= 3]
    assert figure.contains(stop) and figure.contains(pymupdf.Rect(caption.bbox))

    pdf = shared_pdf("2501.12948")  # DeepSeek-R1, page 7: Table 2 above Figure 2, its caption's last line centred
    crops = _crops(pdf, parse_pdf(pdf, "2501.12948"), 7)
    table, figure = crops["Table 2"], crops["Figure 2"]
    last = _text_rect(pdf, 7, "benchmarks.")
    assert table.contains(last) and not _overlaps(figure, last)

    pdf = shared / "corpus" / "more" / "pdf" / "2511.22570.pdf"  # Table 1: caption below, a word underlined in it
    table = _crops(pdf, parse_pdf(pdf, "2511.22570"), 8)["Table 1"]
    assert _shows(table, pdf, 8, "Contest") and table.contains(_first_rect(pdf, 8, "Putnam 2024"))



def test_a_tables_note_pressed_against_its_caption_on_the_far_side_belongs_to_it(shared):
    """A table's one-line note ("†...") set under its caption, pressed against it, though its table lies above the
    caption: the crop holds the table, the caption and the note, and none of the running text below."""
    pdf = shared / "corpus" / "more" / "pdf" / "1911.02782.pdf"  # S2ORC, page 2: Table 1 across both columns
    parsed = parse_pdf(pdf, "1911.02782")
    caption = next(c for c in parsed.captions if c.label == "Table 1" and c.page == 2)
    table = _crops(pdf, parsed, 2)["Table 1"]
    assert table.contains(pymupdf.Rect(caption.bbox)) and _shows(table, pdf, 2, "RefSeer (Huang")
    assert table.contains(_text_rect(pdf, 2, "is an update to this work"))
    assert not _overlaps(table, _text_rect(pdf, 2, "Yet, existing corpora"))

def test_a_short_item_of_a_list_of_running_text_stays_out_of_the_float_above_it(shared):
    """A one-line bullet item too short to be read as running text on its own, set below a table after a gap, is
    running text because the next items of its list are (InternLM, page 5: Table 3): the crop holds the table and
    none of the list."""
    pdf = shared / "corpus" / "more" / "pdf" / "internlm-techreport-2023.pdf"
    table = _crops(pdf, parse_pdf(pdf, "internlm-techreport-2023"), 5)["Table 3"]
    assert _shows(table, pdf, 5, "Evaluation settings of different datasets", "N-shot")
    assert not _overlaps(table, _text_rect(pdf, 5, "Reading Comprehension"))


def test_boxes_drawn_as_four_rules_and_titled_ruled_boxes_stay_out_of_other_floats(shared, shared_pdf):
    """A system prompt framed by four rules above a table (Mistral 7B, page 5) and an algorithm between its rules
    above a figure (MoBA, page 5) are neither taken into those crops nor cut by them."""
    pdf = shared_pdf("2310.06825")
    table = _crops(pdf, parse_pdf(pdf, "2310.06825"), 5)["Table 4"]
    assert _shows(table, pdf, 5, "No system prompt", "Mistral system prompt")
    assert not _overlaps(table, _text_rect(pdf, 5, "utmost utility yet securely"))

    pdf = shared / "corpus" / "more" / "pdf" / "2502.13189.pdf"
    figure = _crops(pdf, parse_pdf(pdf, "2502.13189"), 5)["Figure 2"]
    assert _shows(figure, pdf, 5, "Efficiency of MoBA")
    assert not _overlaps(figure, _text_rect(pdf, 5, "MoBA (Mixture of Block Attention) Implementation"))


def test_the_results_chosen_are_what_the_paper_calls_its_results(mixtral):
    chosen = [c.label for c in results_captions(PaperText(mixtral), [])]
    assert {"Figure 2", "Table 2", "Table 3"} <= set(chosen[:4])  # "Performance of Mixtral", "Comparison of Mixtral"
    assert "Figure 1" not in chosen  # the architecture diagram
    assert "Figure 8" not in chosen  # text samples


@pytest.fixture(scope="module")
def summarized(tmp_path_factory, shared_pdf):
    """A workspace holding Mixtral, summarized (its figures cropped)."""
    ws = tmp_path_factory.mktemp("figures") / "ws"
    ws.mkdir()
    settings = Settings.load(workspace=ws, backend="extractive")
    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, [shared_pdf(MIXTRAL)])
        [outcome] = summarize_papers(settings, catalog)
        assert outcome.status == "done", outcome.error
        sheet = catalog.load_summary(MIXTRAL, "extractive")
        folder = catalog.figures_dir(MIXTRAL)
    return settings, sheet, folder


def test_the_sheet_holds_its_figures_stored_beside_it_and_lists_them_in_the_demo_field(summarized):
    _, sheet, folder = summarized
    assert 1 <= len(sheet.figures) <= 4
    assert any(f.kind == "table" for f in sheet.figures) and any(f.kind == "figure" for f in sheet.figures)
    for figure in sheet.figures:
        image = Image.open(folder / figure.file)
        x0, y0, x1, y1 = figure.bbox
        assert image.format == "PNG" and abs(image.width - (x1 - x0) * DPI / 72) <= 2
        assert figure.file == f"{'fig' if figure.kind == 'figure' else 'table'}-{figure.number}.png"
    demo = sheet.fields["demo"]
    for figure, item, evidence in zip(sheet.figures, demo.value, demo.evidence):
        assert item.endswith(f"(p. {figure.page})") and figure.caption.startswith(evidence.quote)
        assert evidence.page == figure.page and evidence.section == figure.label
    assert not any(e.quote == e.section for e in demo.evidence)  # no bare section title


def test_exports_carry_the_figures(summarized, tmp_path):
    settings, sheet, _ = summarized
    out = tmp_path / "out"
    with Catalog(settings.catalog_path) as catalog:
        written = {p.name for fmt in ("md", "html", "json", "xlsx") for p in export_catalog(
            catalog, None, fmt, out, "en").written}
    markdown = (out / f"{MIXTRAL}.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^- .*\(p\. \d+\)(?:\[\^\d+\])+$", markdown, re.M)) == len(sheet.figures)  # each its note
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert links == [f"{MIXTRAL}/{f.file}" for f in sheet.figures]
    for link in links:
        assert (out / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and Path(link).name in written

    html = (out / "survey.html").read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == len(sheet.figures)
    [paper] = json.loads((out / "survey.json").read_text(encoding="utf-8"))["papers"]
    assert [(f["label"], f["page"]) for f in paper["figures"]] == [(f.label, f.page) for f in sheet.figures]
    rows = list(openpyxl.load_workbook(out / "survey.xlsx")["figures"].iter_rows(values_only=True))
    assert rows[1:] == [(MIXTRAL, f.label, f.page, f.caption, f.file) for f in sheet.figures]


def test_a_failed_write_leaves_no_partial_image(mixtral, shared_pdf, tmp_path, monkeypatch):
    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(digest.files.os, "fsync", full_disk)
    folder = tmp_path / "figures"
    with pytest.raises(DigestError, match="No space left"):
        save_figures(shared_pdf(MIXTRAL), mixtral, PaperText(mixtral), [], folder)
    assert list(folder.iterdir()) == []


def test_images_are_complete_pngs_of_the_page_and_an_earlier_choices_are_gone(mixtral, shared_pdf, tmp_path):
    (tmp_path / "fig-99.png").write_bytes(b"an image of an earlier choice")
    figures = save_figures(shared_pdf(MIXTRAL), mixtral, PaperText(mixtral), [], tmp_path)
    for figure in figures:
        data = (tmp_path / figure.file).read_bytes()
        Image.open(io.BytesIO(data)).load()  # decodes to the end
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.file for f in figures)
