"""One PDF to a ParsedPaper: front matter, sections, references, tables, captions and links."""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path

import pymupdf

from ..errors import DigestError, one_line
from ..models import Caption, Link, ParsedPaper, Section, Table
from ..text import normalize
from . import floats, outline
from .layout import (
    TEXT_FLAGS, Line, Page, body_family, body_size, clean, mark_contents, mark_figure_text, mark_footnotes,
    read_page, reading_order, strip_margins,
)
from .pdf import MIN_PAGE_TEXT, NO_TEXT_LAYER, OCR_HINT, PdfError, ocr_available, ocr_textpage, open_pdf
from .prose import URL, Vocabulary, join_lines, join_pair

PARSER_VERSION = "7"  # 7: a page begins at its first line when that line ends in a joined hyphen; 6: table rows taken past a figure, notes under a table; 5: caption bboxes and ends
_NO_VOCABULARY = Vocabulary([])
TITLE_SIZE = 1.15  # a title is set at least this much larger than the body text ...
TITLE_SHARE = 0.7  # ... and near the largest such text of page 1 (a logo or a big heading may be larger)
TITLE_WORDS = 30  # longer display text, or text ending in a full stop, is a notice, not a title
_AFFILIATION = re.compile(
    r"universit|institut|\binc\b|\blabs?\b|laborator|research|department|school|college|cent(?:er|re)|\bteam\b"
    r"|academy|corporation|company|google|meta\b|microsoft|openai|deepmind|\bai\b|equal contribution|@",
    re.I,
)
_NAME_PARTICLES = {"de", "van", "von", "der", "den", "la", "le", "di", "da", "del", "dos", "du", "bin", "al"}


class ParseError(DigestError):
    """A PDF that cannot be parsed: encrypted, empty, scanned or damaged."""


def parse_pdf(path: Path, paper_id: str, use_outline: bool = True) -> ParsedPaper:
    """The structure of one paper's PDF; raises ParseError with the reason when it has no usable text.
    `use_outline=False` ignores the PDF's own outline (to measure the typographic heuristics)."""
    try:
        with open_pdf(path) as doc:
            try:
                pages = [read_page(page) for page in doc]
                ocr = _ocr_scanned_pages(doc, pages)
            except Exception as exc:  # pymupdf raises plain RuntimeErrors on broken content streams
                problem = f"damaged PDF, page content unreadable ({one_line(exc)})"
                raise ParseError(f"{path}: {problem}; re-download it") from exc
            _check_text(doc, pages, path)
            paper = _assemble(doc, pages, _annotation_links(doc), paper_id, use_outline)
            paper.ocr_pages = ocr
            return paper
    except PdfError as exc:
        raise ParseError(f"{path}: {exc}; {exc.remedy}") from exc


def _ocr_scanned_pages(doc: pymupdf.Document, pages: list[Page]) -> int:
    """Read the pages that have no text but an image by OCR, when tesseract is there; how many were."""
    scanned = [n for n, p in enumerate(pages) if not p.blocks and doc[n].get_images()]
    if not scanned or not ocr_available():
        return 0
    for n in scanned:
        page = doc[n]  # held: the OCR text page refers to it weakly
        pages[n] = read_page(page, ocr_textpage(page, TEXT_FLAGS))
    return len(scanned)


def _check_text(doc: pymupdf.Document, pages: list[Page], path: Path) -> None:
    """At least a quarter of the pages must carry text; otherwise say why there is none."""
    with_text = sum(sum(len(l.text) for b in p.blocks for l in b.lines) >= MIN_PAGE_TEXT for p in pages)
    if with_text >= max(1, 0.25 * len(pages)):
        return
    if any(page.get_images() for page in doc):
        raise ParseError(f"{path}: {NO_TEXT_LAYER}; {OCR_HINT}")
    raise ParseError(f"{path}: no extractable text in {len(pages)} page(s); check the file")


# ---------------------------------------------------------------- assembly


def _assemble(doc: pymupdf.Document, pages: list[Page], annotations: list[tuple[str, int, pymupdf.Rect]],
              paper_id: str, use_outline: bool) -> ParsedPaper:
    strip_margins(pages)
    lines = _in_reading_order(pages)
    body, family = body_size(lines), body_family(lines)
    mark_contents(lines)
    vocab = Vocabulary(lines)
    uris = [uri for uri, _, _ in annotations]
    title = _title(lines, doc.metadata or {}, vocab, body)
    captions = floats.find_captions(lines)
    regions = _mark_floats(pages, lines, captions, body, family)
    toc = outline.toc_headings(doc.get_toc(), lines, len(pages)) if use_outline else None
    typo = outline.typographic_headings(lines, body)
    headings = outline.merge(toc, typo) if toc else typo
    for h in headings:
        for line in lines[h.index : h.index + h.lines]:
            line.role = "heading"

    paper = ParsedPaper(paper_id=paper_id, title=title, pages=len(pages),
                        authors=_authors(lines, headings, doc.metadata or {}),
                        outline_source="toc" if toc else ("typography" if headings else "none"),
                        parser_version=PARSER_VERSION)
    section_of, paragraphs = _fill_sections(paper, lines, headings, vocab, uris)
    text_of = {id(c): " ".join(t for _, t in join_lines(c.lines, vocab, uris)) for c in captions}
    paper.captions = [Caption(kind=c.kind, label=c.label, page=c.page + 1, text=text_of[id(c)], bbox=c.bbox)
                     for c in captions]
    position = {id(line): n for n, line in enumerate(lines)}
    paper.tables = [
        Table(page=r.caption.page + 1, label=r.caption.label, caption=text_of[id(r.caption)],
              rows=floats.markdown_rows(r.rows), section=section_of(position[id(r.caption.lines[0])]))
        for r in regions
    ]
    by_page = _by_page(lines)
    anchored = [Link(uri=uri, text=_anchor(by_page.get(pno, []), rect, uri), page=pno + 1)
                for uri, pno, rect in annotations]
    paper.links = _merge_links(anchored, _text_links(paragraphs))
    return paper


def _in_reading_order(pages: list[Page]) -> list[Line]:
    """All lines of the document, page by page in reading order, numbered by block."""
    lines: list[Line] = []
    block_no = 0
    for page in pages:
        for block in reading_order(page):
            for line in block.lines:
                line.block = block_no
                lines.append(line)
            block_no += 1
    return lines


def _by_page(lines: list[Line]) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = {}
    for line in lines:
        out.setdefault(line.page, []).append(line)
    return out


def _mark_floats(pages: list[Page], lines: list[Line], captions: list[floats.CaptionLines], body: float,
                 family: str) -> list[floats.TableRegion]:
    """Table regions (their lines leave the text flow), figure text and footnotes marked; the table regions."""
    by_page = _by_page(lines)
    on_page = {p.number: [c for c in captions if c.page == p.number] for p in pages}
    below_first = sum(floats.table_side_votes(by_page.get(p.number, []), on_page[p.number], body, p.width)
                      for p in pages if on_page[p.number]) >= 0
    regions = []
    for page in pages:
        page_lines = by_page.get(page.number, [])
        if on_page[page.number]:
            regions += floats.float_regions(page_lines, on_page[page.number], body, page.width, below_first)
        if any(c.kind == "figure" for c in on_page[page.number]):
            mark_figure_text(page_lines, body, family)
        mark_footnotes(page_lines, body, page.height)
    return regions


def _fill_sections(paper: ParsedPaper, lines: list[Line], headings: list[outline.Heading], vocab: Vocabulary,
                   uris: list[str]):
    """Sections, abstract and references from the headings; returns index -> heading of the enclosing section."""
    kind = "body"
    in_refs = False
    paragraphs: list[tuple[int, str]] = []
    sections: list[Section] = []
    starts: list[tuple[int, str]] = []
    for n, h in enumerate(headings):
        end = headings[n + 1].index if n + 1 < len(headings) else len(lines)
        span = lines[h.index + h.lines : end]
        members = [l for l in span if l.role == "body"]
        parts = join_lines(members, vocab, uris) + _footnotes(span, vocab, uris)
        text = "\n\n".join(t for _, t in parts)
        name = normalize(h.title).rstrip(".:")
        if name in outline.REFERENCES:
            paper.references, in_refs = text, True
            continue
        paragraphs += parts
        if name == "abstract" and not sections and not paper.abstract:
            paper.abstract = text
            continue
        if in_refs or outline.APPENDIX.match(h.title) or (h.number and h.number[0].isalpha()):
            kind = "appendix"
        head_page = lines[h.index].page + 1
        last_page = members[-1].page + 1 if members else head_page
        sections.append(Section(number=h.number, title=h.title, level=h.level, page_start=head_page,
                                page_end=max(head_page, last_page), text=text, kind=kind,
                                page_breaks=_page_breaks(members, text, head_page)))
        starts.append((h.index, sections[-1].heading))
    if not headings:
        sections, paragraphs = _page_sections(lines, vocab, uris)
    paper.sections = sections
    if not paper.abstract:
        paper.abstract = _runin_abstract(lines, headings, vocab, uris)

    def section_of(index: int) -> str | None:
        name = None
        for start, heading in starts:
            if start > index:
                break
            name = heading
        return name

    return section_of, paragraphs


def _page_sections(lines: list[Line], vocab: Vocabulary, uris: list[str]) -> tuple[list[Section], list[tuple[int, str]]]:
    """With no heading found, the body page by page ("Page 3"), so that no text is dropped; and its paragraphs."""
    sections, paragraphs = [], []
    for page, members in groupby(lines, key=lambda line: line.page):
        members = list(members)
        parts = join_lines([l for l in members if l.role == "body"], vocab, uris) + _footnotes(members, vocab, uris)
        text = "\n\n".join(t for _, t in parts)
        if text.strip():
            sections.append(Section(title=f"Page {page + 1}", page_start=page + 1, page_end=page + 1, text=text))
            paragraphs += parts
    return sections, paragraphs


def _page_breaks(lines: list[Line], text: str, first_page: int) -> list[int]:
    """Offsets in `text` where each page after `first_page` begins. A line's text is verbatim in the joined text,
    but for a hyphen at its end that joining took away ("initializa-" + "tion")."""
    breaks, cursor, page = [], 0, first_page
    for line in lines:
        pos = -1
        for form in (line.text, line.text.rstrip("-\u2010")):
            pos = text.find(form, cursor) if form else -1
            if pos >= 0:
                break
        if pos < 0:
            continue
        if line.page + 1 > page:
            breaks += [pos] * (line.page + 1 - page)
            page = line.page + 1
        cursor = pos + len(line.text)
    return breaks


def _footnotes(lines: list[Line], vocab: Vocabulary, uris: list[str]) -> list[tuple[int, str]]:
    """Each footnote block as a paragraph of its own."""
    blocks: dict[int, list[Line]] = {}
    for line in lines:
        if line.role == "footnote":
            blocks.setdefault(line.block, []).append(line)
    return [p for members in blocks.values() for p in join_lines(members, vocab, uris)]


def _runin_abstract(lines: list[Line], headings: list[outline.Heading], vocab: Vocabulary, uris: list[str]) -> str:
    """An abstract without a heading of its own: a run-in "Abstract—We ..." paragraph, else the longest paragraph
    of running text on page 1 before the first section."""
    end = headings[0].index if headings else len(lines)
    front = [l for l in lines[:end] if l.role == "body" and l.page == 0]
    for n, line in enumerate(front):
        m = re.match(r"^abstract\s*[—–:.\-]?\s*", line.text, re.I)
        if m:
            members = [l for l in front[n:] if l.block == line.block]
            return " ".join(t for _, t in join_lines(members, vocab, uris))[m.end():].strip()
    paragraphs = [t for _, t in join_lines(front, vocab, uris) if len(t.split()) >= 40]
    return max(paragraphs, key=len, default="")


# ------------------------------------------------------------ front matter


def _title(lines: list[Line], metadata: dict, vocab: Vocabulary, body: float) -> str:
    """The Info dictionary's title when page 1 shows it, else the topmost display-size text in the top of page 1
    that reads as a title (not a section heading such as "Abstract", not a notice paragraph), with its lines."""
    first = [l for l in lines if l.page == 0 and l.role == "body"]
    page_text = _key(" ".join(l.text for l in first))
    bottom = max((l.y1 for l in first), default=1)
    top = [l for l in first if l.y1 < 0.6 * bottom and sum(c.isalpha() for c in l.text) >= 4 and not outline.is_known(l.text)]
    display = [l for l in top if l.size >= TITLE_SIZE * body]
    pool, share = (display, TITLE_SHARE) if display else (top, 1.0)  # no display text: the largest in the top
    largest = max((l.size for l in pool), default=0.0)
    picked: list[Line] = []
    for start in sorted((l for l in pool if l.size >= share * largest - 0.3), key=lambda l: (l.y0, l.x0)):
        picked = _title_lines(first, first.index(start), body)
        words = " ".join(l.text for l in picked).split()
        if len(words) <= TITLE_WORDS and not words[-1].endswith("."):
            break
    else:
        picked = []
    for line in picked:
        line.role = "title"
    meta = " ".join(clean(metadata.get("title") or "").split())
    if len(meta.split()) >= 2 and _key(meta) and _key(meta) in page_text:
        return meta
    text = ""
    for line in picked:
        text = join_pair(text, line.text, vocab) if text else line.text
    return text


def _title_lines(first: list[Line], start: int, body: float) -> list[Line]:
    """The line at `start` and those continuing it: display-size lines just below, set no larger; a smaller one
    (small capitals, a subtitle) only when set tight, as the title's own next line is and an author line is not."""
    size = first[start].size
    picked = [first[start]]
    for line in first[start + 1 :]:
        if not (max(TITLE_SIZE * body, 0.75 * size) <= line.size <= size + 0.3):
            continue  # a margin stamp, or smaller text read in between
        gap = line.y0 - picked[-1].y1
        if line.y0 < picked[-1].y0 or gap > 1.2 * size or (line.size < size - 0.3 and gap > 0.5 * line.size):
            break
        picked.append(line)
    return picked


def _key(text: str) -> str:
    return re.sub(r"\W+", "", normalize(text))


def _authors(lines: list[Line], headings: list[outline.Heading], metadata: dict) -> list[str]:
    """The Info dictionary's authors when the paper prints them, else person names between the title and the
    abstract on page 1 (best effort)."""
    meta = [n.strip() for n in re.split(r";|,|\band\b|&", clean(metadata.get("author") or "")) if n.strip()]
    names = [n for n in meta if _is_name(n)]
    if names and len(names) >= 0.5 * len(meta):
        text = _key(" ".join(l.text for l in lines))
        if sum(_key(n) in text for n in names) >= 0.8 * len(names):
            return names
    end = headings[0].index if headings else len(lines)
    titled = [n for n, l in enumerate(lines[:end]) if l.role == "title"]
    if not titled:
        return []
    names = []
    for line in lines[titled[-1] + 1 : end]:
        if line.page > 0 or re.match(r"^abstract\b", line.text, re.I):
            break
        for part in (p for cell in line.cells(0.8 * line.size) for p in re.split(r",|;|\band\b|&", cell)):
            name = re.sub(r"[\d∗*†‡§¶⇤♠♣♥♦]+", "", part).strip()
            if _is_name(name) and name not in names:
                names.append(name)
    return names


def _is_name(text: str) -> bool:
    words = text.split()
    return (
        2 <= len(words) <= 5
        and not _AFFILIATION.search(text)
        and all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in words)
        and not any(len(w) > 2 and w.isupper() for w in words)
        and not any(ch.isdigit() for ch in text)
    )


# ------------------------------------------------------------------- links


def _annotation_links(doc: pymupdf.Document) -> list[tuple[str, int, pymupdf.Rect]]:
    """(URI, page, rect) of URI link annotations, read straight from the page objects (cheaper than resolving
    every internal link)."""
    links = []
    for page in doc:
        for xref, kind, _ in page.annot_xrefs():
            if kind != pymupdf.PDF_ANNOT_LINK:
                continue
            typ, uri = doc.xref_get_key(xref, "A/URI")
            if typ != "string" or not re.match(r"^(https?|ftp)://", uri.strip(), re.I):
                continue
            rect = _rect(doc.xref_get_key(xref, "Rect")[1], page)
            links.append((uri.strip(), page.number, rect))
    return links


def _rect(value: str, page: pymupdf.Page) -> pymupdf.Rect:
    try:
        x0, y0, x1, y1 = (float(v) for v in value.strip("[] ").split())
    except ValueError:
        return pymupdf.Rect()
    return pymupdf.Rect(x0, y0, x1, y1) * page.transformation_matrix


def _anchor(lines: list[Line], rect: pymupdf.Rect, uri: str) -> str:
    """The words of a page whose centres lie in a link's rectangle (without the full stop after a printed URL)."""
    words = []
    for line in lines:
        if rect.y0 <= (line.y0 + line.y1) / 2 <= rect.y1:
            words += [w for x0, x1, w in line.words() if rect.x0 - 1 <= (x0 + x1) / 2 <= rect.x1 + 1]
    text = " ".join(words)
    bare = text.rstrip(".,;:)")
    return bare if bare and uri.rstrip("/").endswith(bare.rsplit("/", 1)[-1]) else text


def _merge_links(annotations: list[Link], from_text: list[Link]) -> list[Link]:
    """One link per (URI, page): anchor fragments of a link broken over two lines joined, text URLs not duplicated."""
    merged: dict[tuple[str, int], Link] = {}
    for link in annotations:
        key = (link.uri, link.page)
        if key in merged:
            prev = merged[key]
            if prev.text and link.text:
                prev.text = join_pair(prev.text, link.text, _NO_VOCABULARY, [link.uri])
            else:
                prev.text = prev.text or link.text
        else:
            merged[key] = link.model_copy()
    seen = {_url_key(uri) for uri, _ in merged}
    for link in from_text:
        if _url_key(link.uri) not in seen:
            seen.add(_url_key(link.uri))
            merged[(link.uri, link.page)] = link
    return list(merged.values())


def _url_key(uri: str) -> str:
    return re.sub(r"^(https?://)?(www\.)?", "", uri.lower()).rstrip("/")


def _text_links(paragraphs: list[tuple[int, str]]) -> list[Link]:
    out = []
    for page, text in paragraphs:
        for m in URL.finditer(text):
            uri = m.group(0)
            out.append(Link(uri=uri if "://" in uri else "https://" + uri, text=uri, page=page + 1, source="text"))
    return out
