"""Section-aware chunking, sized in the embedder's own word pieces.

A chunk never crosses a section boundary and never exceeds what the embedder reads, so nothing is silently
truncated. Splits fall between sentences where possible, neighbouring chunks share a sentence or two of
overlap, and `Chunk.text` is always a verbatim slice of the parsed text, so quotes from it are found in the paper.
The abstract, every figure caption and every table (with its caption) are chunks of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from dataclasses import dataclass

from .models import Chunk, ParsedPaper, Section, Table
from .text import page_of, row_cells, section_paths, sentence_spans

CHUNKER_VERSION = "2"

HEADING_TOKENS = 16  # word pieces of "<title> | <section>" put before each embedded chunk
_HARD_CUT_MARGIN = 8  # word pieces kept free when a word must be cut, since its halves may re-tokenize longer


class Tokenizer:
    """The embedder's tokenizer seen as word-piece spans: what chunk sizes are measured in."""

    def __init__(self, hf_tokenizer, max_tokens: int):
        self.hf = hf_tokenizer
        self.max_tokens = max_tokens  # per input, special tokens included
        self.specials = hf_tokenizer.num_special_tokens_to_add(pair=False)

    def spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of each text's word pieces (no special tokens)."""
        if not texts:
            return []
        enc = self.hf(list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [[tuple(span) for span in offsets] for offsets in enc["offset_mapping"]]

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(s) for s in self.spans(texts)]


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a piece of an overlong one): a character span of the section text and its size."""

    start: int
    end: int
    tokens: int


def chunk_paper(parsed: ParsedPaper, tokenizer: Tokenizer, chunk_tokens: int = 200, overlap: int = 32) -> list[Chunk]:
    """All chunks of a paper: abstract, sections in reading order, then tables."""
    budget = min(chunk_tokens, tokenizer.max_tokens - tokenizer.specials)
    overlap = min(overlap, budget // 2)
    chunks: list[Chunk] = []

    def add(text: str, section: str, page_start: int, page_end: int, kind: str, shared: int = 0) -> None:
        chunks.append(
            Chunk(chunk_id=f"{parsed.paper_id}#{len(chunks)}", paper_id=parsed.paper_id, title=parsed.title,
                  section=section, page_start=page_start, page_end=page_end, kind=kind, text=text, overlap=shared)
        )

    def add_spans(text: str, section: str, kind: str, pages) -> None:
        previous_end = 0
        for start, end in split_text(text, tokenizer, budget, overlap):
            add(text[start:end], section, *pages(start, end), kind, shared=max(0, previous_end - start))
            previous_end = end

    if parsed.abstract.strip():
        add_spans(parsed.abstract, "Abstract", "abstract", lambda s, e: (1, 1))
    paths = section_paths(parsed.sections)
    for path, section in zip(paths, parsed.sections):
        add_spans(section.text, path, "text", lambda s, e, section=section: (page_of(section, s), page_of(section, e - 1)))
    for caption in parsed.captions:
        if caption.kind == "figure":  # table captions travel with their tables
            section = section_at_page(parsed.sections, paths, caption.page)
            add_spans(caption.text, section, "figure", lambda s, e, page=caption.page: (page, page))
    path_of_heading = {section.heading: path for section, path in zip(parsed.sections, paths)}
    for table in parsed.tables:
        section = path_of_heading.get(table.section or "") or section_at_page(parsed.sections, paths, table.page)
        for text in table_texts(table, tokenizer, budget):
            add(text, section, table.page, table.page, "table")
    return chunks


def split_text(text: str, tokenizer: Tokenizer, budget: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) spans of `text`, each at most `budget` word pieces, split between sentences where possible."""
    units = _units(text, tokenizer, budget)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, size = i, 0
        while j < len(units) and size + units[j].tokens <= budget:
            size += units[j].tokens
            j += 1
        spans.append((units[i].start, units[j - 1].end))
        if j == len(units):
            break
        k, shared = j, 0
        while k - 1 > i and shared + units[k - 1].tokens <= overlap:
            k -= 1
            shared += units[k].tokens
        i = k
    return spans


def _units(text: str, tokenizer: Tokenizer, budget: int) -> list[_Unit]:
    sentences = [(s, e) for s, e in sentence_spans(text) if text[s:e].strip()]
    units: list[_Unit] = []
    for (start, end), pieces in zip(sentences, tokenizer.spans([text[s:e] for s, e in sentences])):
        if not pieces:
            continue
        if len(pieces) <= budget:
            units.append(_Unit(start, end, len(pieces)))
            continue
        for a, b in _word_pieces_groups(pieces, budget):
            units.append(_Unit(start + pieces[a][0], start + pieces[b - 1][1], b - a))
    return units


def _word_pieces_groups(pieces: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
    """Cut an overlong sentence's word pieces into groups of at most `budget`, at word starts when possible."""
    groups, a = [], 0
    while a < len(pieces):
        b = min(a + budget, len(pieces))
        if b < len(pieces):
            cut = next((t for t in range(b, a, -1) if pieces[t][0] > pieces[t - 1][1]), None)
            b = cut if cut is not None else a + budget - _HARD_CUT_MARGIN
        groups.append((a, b))
        a = b
    return groups


def section_at_page(sections: Sequence[Section], paths: Sequence[str], page: int) -> str:
    """Path of the last section that starts on or before `page` ("" before the first)."""
    found = ""
    for path, section in zip(paths, sections):
        if section.page_start <= page:
            found = path
    return found


def table_texts(table: Table, tokenizer: Tokenizer, budget: int) -> list[str]:
    """A table as chunk texts: its caption, then as many Markdown rows as fit; the caption repeats per piece."""
    caption = table.caption.strip()
    if table.label and not caption.lower().startswith(table.label.lower()):
        caption = f"{table.label}: {caption}" if caption else table.label
    caption_size = tokenizer.count([caption])[0] if caption else 0
    if caption_size > budget // 2:  # a caption that long is a passage of its own
        pieces = [caption[s:e] for s, e in split_text(caption, tokenizer, budget, 0)]
        return pieces + table_texts(table.model_copy(update={"caption": "", "label": None}), tokenizer, budget)
    rows: list[str] = []
    for row in table.rows:
        rows += [row[s:e] for s, e in split_text(row, tokenizer, budget - caption_size, 0)] if row.strip() else []
    texts, current, size = [], [], caption_size
    for row, tokens in zip(rows, tokenizer.count(rows)):
        if current and size + tokens > budget:
            texts.append("\n".join(([caption] if caption else []) + current))
            current, size = [], caption_size
        current.append(row)
        size += tokens
    if current or (caption and not texts):
        texts.append("\n".join(([caption] if caption else []) + current))
    return texts


def passage_texts(chunks: Sequence[Chunk], tokenizer: Tokenizer) -> list[str]:
    """What gets embedded for each chunk: a short heading ("<title> | <section>") and the chunk's own text.

    A chunk's overlap with the previous one is embedded with that one only. All pieces of a table share one
    text: its caption, header and row labels; its cells (mostly numbers, which a sentence embedder cannot tell
    apart) are left to BM25. Equal texts need embedding only once, which keeps a table's cost to one vector.
    """
    bodies = _bodies(chunks, tokenizer.max_tokens - tokenizer.specials - HEADING_TOKENS, tokenizer)
    room = [tokenizer.max_tokens - tokenizer.specials - n for n in tokenizer.count(bodies)]
    headings = [" | ".join(p for p in (c.title, c.section.rsplit(" > ", 1)[-1]) if p) for c in chunks]
    out = []
    for body, heading, free, spans in zip(bodies, headings, room, tokenizer.spans(headings)):
        keep = min(HEADING_TOKENS, free)
        if keep <= 0 or not spans:
            out.append(body)
            continue
        cut = heading if len(spans) <= keep else heading[: spans[keep - 1][1]]
        out.append(f"{cut}\n{body}")
    return out


def _bodies(chunks: Sequence[Chunk], budget: int, tokenizer: Tokenizer) -> list[str]:
    """Each chunk's text less its overlap; for a table piece, the outline of its whole table (cut to `budget`)."""
    bodies: list[str] = []
    for _, group in groupby(chunks, key=table_key):
        group = list(group)
        if group[0].kind != "table":
            bodies += [c.text[c.overlap :].lstrip() or c.text for c in group]
            continue
        rows = [line for c in group for line in c.text.split("\n") if line.startswith("|")]
        outline = table_outline("\n".join([_caption(group[0].text)] + rows))
        spans = tokenizer.spans([outline])[0]
        bodies += [outline if len(spans) <= budget else outline[: spans[budget - 1][1]]] * len(group)
    return bodies


def table_key(chunk: Chunk) -> tuple | str:
    """Equal for the consecutive pieces of one table (same paper, page and caption), unique for other chunks."""
    return (chunk.paper_id, chunk.page_start, _caption(chunk.text)) if chunk.kind == "table" else chunk.chunk_id


def _caption(table_text: str) -> str:
    return "\n".join(line for line in table_text.split("\n") if not line.startswith("|"))


def table_outline(text: str) -> str:
    """A table chunk's caption lines, header row and the first cell of every other row."""
    lines = text.split("\n")
    caption = [line for line in lines if not line.startswith("|")]
    rows = [row_cells(line) for line in lines if line.startswith("|")]
    rows = [r for r in rows if any(c.strip("-: ") for c in r)]  # no separator rows
    header = [" ".join(c for c in rows[0] if c)] if rows else []
    labels = [", ".join(r[0] for r in rows[1:] if r and r[0])] if len(rows) > 1 else []
    return "\n".join(part for part in caption + header + labels if part)
