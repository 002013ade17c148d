"""Section headings: from the PDF outline when it is present and matches the text, else from typography
(bold or larger than the body, standalone, numbered like 3, 3.1, A.2), the two cross-checked."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..text import normalize
from .layout import Line, clean

_NUMBERED = re.compile(
    r"^(?:(?:Appendix|APPENDIX|Section|SECTION)\s+)?"
    r"(?P<num>(?:\d{1,2}|[A-Z])(?:\.\d{1,2}){0,3})(?:\.(?!\d)|:)?\s+(?P<title>\S.*)$"
)
_APPENDIX_ONLY = re.compile(r"^(?:Appendix|APPENDIX)\s+(?P<num>[A-Z])[.:]?$")
REFERENCES = {"references", "bibliography", "references and notes", "literature cited", "reference"}
APPENDIX = re.compile(r"^(appendix|appendices|supplementary materials?|supplemental materials?)\b", re.I)
_KNOWN = REFERENCES | {
    "abstract", "introduction", "related work", "related works", "background", "conclusion", "conclusions",
    "discussion", "limitations", "acknowledgments", "acknowledgements", "acknowledgment", "acknowledgement",
    "appendix", "appendices", "broader impact", "broader impacts", "ethics statement", "author contributions",
    "contributions", "contributors", "impact statement", "reproducibility statement", "conclusion and future work",
    "supplementary material", "core contributors", "contributions and acknowledgments",
}
_MAX_WORDS = 16


@dataclass
class Heading:
    index: int  # first line, in the document's reading-order line list
    number: str | None
    title: str
    level: int
    lines: int = 1  # how many lines the heading spans
    plain: bool = False  # set in the body font: trusted only where its number fits the sequence


def split_number(text: str) -> tuple[str | None, str]:
    """"3.1 Pre-training Data" -> ("3.1", "Pre-training Data"); letters only count as numbers before a capital."""
    text = " ".join(text.split())
    m = _APPENDIX_ONLY.match(text)
    if m:
        return m["num"], text
    m = _NUMBERED.match(text)
    if m and (m["num"][0].isdigit() or m["title"][:1].isupper() or m["title"][:1].isdigit()):
        return m["num"], m["title"].strip()
    return None, text


def _sort_key(number: str) -> tuple[int, ...]:
    parts = number.split(".")
    head = int(parts[0]) if parts[0].isdigit() else 100 + ord(parts[0]) - ord("A")
    return (head, *(int(p) for p in parts[1:]))


def _depth(number: str) -> int:
    return number.count(".") + 1


def is_known(title: str) -> bool:
    return normalize(title).rstrip(".:") in _KNOWN


# --------------------------------------------------------------- typography


def typographic_headings(lines: list[Line], body: float) -> list[Heading]:
    """Headings found by their look: standalone lines set bold, larger or in capitals; numbered lines in the body
    font only where their number fits between the numbers around them."""
    found: list[Heading] = []
    i = 0
    while i < len(lines):
        heading = _candidate(lines, i, body)
        if heading:
            found.append(heading)
            i += heading.lines
        else:
            i += 1
    numbered = _with_plain(_consistent([h for h in found if h.number and not h.plain]),
                           [h for h in found if h.plain])
    styles = Counter(lines[h.index].style for h in numbered)
    level_of_style = {}
    for h in numbered:
        level_of_style.setdefault(lines[h.index].style, Counter())[h.level] += 1
    kept: list[Heading] = []
    for h in found:
        style = lines[h.index].style
        front_matter = not any(k.number or is_known(k.title) for k in kept) and not is_known(h.title)
        if h.number:
            if h in numbered:
                kept.append(h)
        elif front_matter or h.plain:
            continue
        elif is_known(h.title) or APPENDIX.match(h.title) or (style in styles and _looks_like_title(h.title)) or (
            len(numbered) < 3 and lines[h.index].size >= body + 1.5 and _looks_like_title(h.title)
        ):
            if style in level_of_style:
                h.level = level_of_style[style].most_common(1)[0][0]
            kept.append(h)
    return kept


def _candidate(lines: list[Line], i: int, body: float) -> Heading | None:
    line = lines[i]
    if line.role != "body":
        return None
    if not _heading_style(line, body):
        return _plain_candidate(lines, i)
    if i > 0 and lines[i - 1].block == line.block and lines[i - 1].style == line.style and lines[i - 1].role == "body":
        return None  # inside a bold paragraph
    text, count = line.text, 1
    while i + count < len(lines) and count < 3 and _continues(lines[i + count - 1], lines[i + count], text):
        text = _join_heading(text, lines[i + count].text)
        count += 1
    if i + count < len(lines) and lines[i + count].block == line.block and lines[i + count].style == line.style:
        return None  # a bold paragraph, not a heading
    number, title = split_number(text)
    if not _plausible(title):
        return None
    level = _depth(number) if number else 1
    return Heading(i, number, title, level, count)


def _plain_candidate(lines: list[Line], i: int) -> Heading | None:
    """A numbered line in the body font that makes up its block alone ("3.1.3 Vocabulary")."""
    line = lines[i]
    alone = (i == 0 or lines[i - 1].block != line.block) and (i + 1 == len(lines) or lines[i + 1].block != line.block)
    if not alone:
        return None
    number, title = split_number(line.text)
    if number is None or not _plausible(title) or not _looks_like_title(title) or len(title.split()) > 12:
        return None
    return Heading(i, number, title, _depth(number), 1, plain=True)


def _with_plain(chain: list[Heading], plain: list[Heading]) -> list[Heading]:
    """The chain of numbered headings, with each plain candidate whose number fits strictly between its
    neighbours (3.1 < 3.1.3 < 3.2) and is not taken yet."""
    merged = sorted(chain + plain, key=lambda h: h.index)
    out: list[Heading] = []
    taken = {h.number for h in chain}
    for n, h in enumerate(merged):
        if not h.plain:
            out.append(h)
            continue
        before = _sort_key(out[-1].number) if out else ()
        after = next((_sort_key(k.number) for k in merged[n + 1 :] if not k.plain), None)
        key = _sort_key(h.number)
        if h.number not in taken and before < key and (after is None or key < after) and (
            not out or _follows(out[-1].number, h.number)
        ):
            out.append(h)
            taken.add(h.number)
    return out


def _join_heading(text: str, more: str) -> str:
    """A wrapped heading's lines: "video under-" + "standing" -> "video understanding", "Aux-Loss-" + "Free"
    keeps its hyphen."""
    if text.endswith("-") and text[-2:-1].isalpha():
        return (text[:-1] if more[:1].islower() else text) + more
    return f"{text} {more}"


def _continues(prev: Line, nxt: Line, text: str) -> bool:
    """Whether `nxt` carries on a heading that wraps: same look, right below, no number of its own."""
    return (
        nxt.style == prev.style
        and nxt.page == prev.page
        and nxt.role == "body"
        and 0 <= nxt.y0 - prev.y1 < 0.8 * prev.size
        and not text.endswith(".")
        and split_number(nxt.text)[0] is None
    )


def heading_like(line: Line, body: float) -> bool:
    """A standalone line that reads as a numbered or well-known section heading (in the body font only when
    numbered like 3.1)."""
    number, title = split_number(line.text)
    if not _heading_style(line, body) and not (number and "." in number):
        return False
    return (number is not None and _plausible(title) and _looks_like_title(title)) or is_known(title)


def _heading_style(line: Line, body: float) -> bool:
    """Bold, larger than the body, or in (small) capitals."""
    if line.bold or line.size >= body + 0.9:
        return True
    return line.size >= 0.7 * body and line.text.isupper() and sum(ch.isalpha() for ch in line.text) >= 4


def _plausible(title: str) -> bool:
    words = title.split()
    letters = sum(ch.isalpha() for ch in title)
    return (
        letters >= 2
        and len(words) <= _MAX_WORDS
        and len(title) <= 150
        and not title.endswith((",", ";"))
        and (title[:1].isupper() or title[:1].isdigit())
        and not re.search(r"\S@\S+\.\w", title)
    )


def _looks_like_title(title: str) -> bool:
    return (
        not title.endswith((".", ":"))
        and len(title.split()) <= 10
        and "=" not in title
        and not re.search(r"(?:^|\s)[\d.,%±]+\s*$", title)
    )


def _consistent(numbered: list[Heading]) -> list[Heading]:
    """The longest run of headings whose numbers never go backwards (drops list items, table rows)."""
    if not numbered:
        return []
    keys = [_sort_key(h.number) for h in numbered]
    best = [1] * len(numbered)
    prev = [-1] * len(numbered)
    for j in range(len(numbered)):
        for k in range(j):
            if keys[k] <= keys[j] and _follows(numbered[k].number, numbered[j].number) and best[k] + 1 > best[j]:
                best[j], prev[j] = best[k] + 1, k
    j = max(range(len(numbered)), key=lambda n: best[n])
    chain = []
    while j >= 0:
        chain.append(numbered[j])
        j = prev[j]
    return chain[::-1]


def _follows(a: str, b: str) -> bool:
    """Whether heading number b can come after a without skipping more than two sections."""
    ha, hb = a.split(".")[0], b.split(".")[0]
    return not (ha.isdigit() and hb.isdigit()) or int(hb) - int(ha) <= 3


# ---------------------------------------------------------------------- TOC


def toc_headings(toc: list[list], lines: list[Line], pages: int) -> list[Heading] | None:
    """The outline's entries located in the text; None when too few of them can be found there."""
    entries = [(int(e[0]), " ".join(clean(str(e[1])).split()), int(e[2])) for e in toc if str(e[1]).strip()]
    if len(entries) < 3 or any(not 1 <= page <= pages for _, _, page in entries):
        return None
    if min(level for level, _, _ in entries) != 1:
        return None
    by_page: dict[int, list[int]] = {}
    for n, line in enumerate(lines):
        by_page.setdefault(line.page, []).append(n)
    headings, found, last = [], 0, -1
    for level, title, page in entries:
        number, bare = split_number(title)
        hit = _locate(bare, lines, by_page, page - 1, last)
        if hit is not None:
            index, count, line_number = hit
            found += 1
            last = index
            headings.append(Heading(index, number or line_number, bare, level, count))
        else:
            first = next((n for n in by_page.get(page - 1, []) if n > last), None)
            if first is not None:
                headings.append(Heading(first, number, bare, level, 0))
    if found < 0.6 * len(entries):
        return None
    return headings


def _locate(title: str, lines: list[Line], by_page: dict[int, list[int]], page: int, after: int):
    want = _key(title)
    if not want:
        return None
    for p in (page, page + 1, page - 1):
        for n in by_page.get(p, []):
            if n <= after or lines[n].role not in ("body", "heading"):
                continue
            text, count = lines[n].text, 1
            while True:
                number, bare = split_number(text)
                got = _key(bare)
                if got == want:
                    return n, count, number
                if not got or not want.startswith(got) or n + count >= len(lines) or count >= 3:
                    break
                text += " " + lines[n + count].text
                count += 1
    return None


def _key(title: str) -> str:
    return re.sub(r"[^\w]+", "", normalize(title))


def merge(toc: list[Heading], typo: list[Heading]) -> list[Heading]:
    """The outline's headings plus typographic ones it lacks (References, an unlisted appendix)."""
    taken = {h.index for h in toc}
    numbers = {h.number for h in toc if h.number}
    titles = {_key(h.title) for h in toc}
    extra = [
        h for h in typo
        if h.index not in taken and _key(h.title) not in titles
        and (is_known(h.title) or APPENDIX.match(h.title) or (h.number and h.number not in numbers))
    ]
    return sorted(toc + extra, key=lambda h: h.index)
