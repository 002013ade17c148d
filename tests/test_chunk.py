"""Chunking on real parsed papers with the real all-MiniLM-L6-v2 tokenizer."""

from __future__ import annotations

import re
import unicodedata

import pymupdf
import pytest
from transformers import AutoTokenizer

from digest.chunk import Tokenizer, chunk_paper, passage_texts, split_text
from digest.embed import model_location
from digest.models import ParsedPaper, Section, Table
from digest.parse import parse_pdf
from digest.text import section_paths, sentence_spans

PAPERS = ("2310.06825", "1706.03762")


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(AutoTokenizer.from_pretrained(model_location("all-MiniLM-L6-v2")), max_tokens=256)


@pytest.fixture(scope="module")
def parsed(shared_pdf) -> dict[str, ParsedPaper]:
    return {pid: parse_pdf(shared_pdf(pid), pid) for pid in PAPERS}


def _alnum(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKC", text).lower())


@pytest.mark.parametrize("pid", PAPERS)
def test_chunks_fit_the_embedder_and_stay_inside_one_section(pid, parsed, tokenizer):
    paper = parsed[pid]
    chunks = chunk_paper(paper, tokenizer, chunk_tokens=200, overlap=32)
    body = {path: s for path, s in zip(section_paths(paper.sections), paper.sections)}
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert sum(c.kind == "abstract" for c in chunks) >= 1 and chunks[0].kind == "abstract"
    for text in passage_texts(chunks, tokenizer):
        assert len(tokenizer.hf(text)["input_ids"]) <= 256  # special tokens included: nothing truncated
    text_chunks = [c for c in chunks if c.kind == "text"]
    assert len(text_chunks) > 10
    for chunk in text_chunks:
        assert chunk.text in body[chunk.section].text  # verbatim, and within the one section it names
        assert len(tokenizer.hf(chunk.text, add_special_tokens=False)["input_ids"]) <= 200


def test_splits_fall_between_sentences_and_overlap(tokenizer):
    sentences = [f"Sentence number {i} talks about attention heads and the learning rate schedule." for i in range(40)]
    text = " ".join(sentences)
    spans = split_text(text, tokenizer, budget=60, overlap=20)
    pieces = [text[s:e] for s, e in spans]
    assert len(pieces) > 5
    assert all(p.startswith("Sentence number") and p.endswith("schedule.") for p in pieces)
    assert all(a.split(". ")[-1] in b for a, b in zip(pieces, pieces[1:]))  # the last sentence is shared
    assert pieces[-1].endswith("Sentence number 39 talks about attention heads and the learning rate schedule.")


def test_sentences_do_not_break_at_abbreviations():
    text = "As shown in Fig. 3 and by Vaswani et al. (2017), it works, e.g. on WMT. Next we train. Then 28.4 BLEU."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "As shown in Fig. 3 and by Vaswani et al. (2017), it works, e.g. on WMT.", "Next we train.", "Then 28.4 BLEU.",
    ]


def test_an_overlong_sentence_is_cut_at_word_boundaries(tokenizer):
    text = " ".join(["hyperparameterization"] * 400)  # one "sentence" far beyond the budget
    spans = split_text(text, tokenizer, budget=100, overlap=10)
    assert len(spans) > 3
    for s, e in spans:
        piece = text[s:e]
        assert piece.strip() == piece and piece.split(" ")[0] == "hyperparameterization"
        assert len(tokenizer.hf(piece, add_special_tokens=False)["input_ids"]) <= 100


def test_tables_are_chunks_of_their_own_with_caption(tokenizer):
    rows = ["| Model | Params | MMLU |", "| --- | --- | --- |"] + [f"| Model-{i} | {i}B | {50 + i}.0 |" for i in range(80)]
    paper = ParsedPaper(
        paper_id="0000.00001", title="T",
        sections=[Section(title="Results", page_start=2, page_end=2, text="We compare models in Table 2.")],
        tables=[Table(page=2, label="Table 2", caption="Table 2: Results on MMLU.", rows=rows, section="Results")],
    )
    tables = [c for c in chunk_paper(paper, tokenizer, chunk_tokens=120) if c.kind == "table"]
    assert len(tables) > 1
    assert all(c.text.startswith("Table 2: Results on MMLU.") and c.section == "Results" and c.page_start == 2 for c in tables)
    assert "| Model-79 | 79B | 129.0 |" in tables[-1].text
    embedded = passage_texts(tables, tokenizer)  # caption, header and row labels; the cells are BM25's
    assert len(set(embedded)) == 1  # the pieces share one text, so one vector
    assert embedded[0].startswith("T | Results\nTable 2: Results on MMLU.\nModel Params MMLU\nModel-0, Model-1")
    second_piece_first_label = tables[1].text.split("\n")[1].split("|")[1].strip()
    assert second_piece_first_label in embedded[0] and "50.0" not in embedded[0]
    assert len(tokenizer.hf(embedded[0])["input_ids"]) <= 256


@pytest.mark.parametrize("pid", PAPERS)
def test_overlap_is_embedded_with_the_earlier_chunk_only(pid, parsed, tokenizer):
    chunks = [c for c in chunk_paper(parsed[pid], tokenizer, chunk_tokens=200, overlap=32) if c.kind == "text"]
    overlapping = [(a, b) for a, b in zip(chunks, chunks[1:]) if b.overlap]
    assert len(overlapping) > 5
    for before, after in overlapping:
        shared = after.text[: after.overlap].strip()
        assert after.section == before.section and shared and before.text.endswith(shared)
        embedded = passage_texts([after], tokenizer)[0]
        assert embedded.endswith(after.text[after.overlap :].strip()) and shared not in embedded


@pytest.mark.parametrize("pid", PAPERS)
def test_chunk_pages_are_the_pages_the_text_is_printed_on(pid, parsed, tokenizer, shared_pdf):
    with pymupdf.open(shared_pdf(pid)) as doc:
        pages = [_alnum(page.get_text()) for page in doc]
    chunks = [c for c in chunk_paper(parsed[pid], tokenizer) if c.kind == "text" and len(_alnum(c.text)) > 80]
    multi_page = [c for c in chunks if c.page_end > c.page_start]
    assert multi_page, "some chunk should run across a page break"
    checked = right = 0
    for chunk in chunks:
        head, tail = _alnum(chunk.text)[:40], _alnum(chunk.text)[-40:]
        if any(head in p for p in pages) and any(tail in p for p in pages):  # math and footnotes may not match
            checked += 1
            right += head in pages[chunk.page_start - 1] and tail in pages[chunk.page_end - 1]
    assert checked > 0.8 * len(chunks) and right / checked >= 0.95
