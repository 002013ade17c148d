"""Figure and table captions, and the float regions around them: table cells become Markdown rows,
figure text (axis labels, legends) is kept out of the body."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .layout import Line
from .outline import heading_like

CAPTION = re.compile(
    r"^(?P<kind>Figure|Fig\.|Table|TABLE|FIGURE)\s*(?P<num>[A-Z]?\d{1,3}(?:\.\d+)?)\s*(?P<sep>[:.|]|\s)"
)
_MAX_GAP = 3.5  # line heights: a wider vertical gap ends a float region


@dataclass
class CaptionLines:
    kind: str  # figure | table
    label: str  # "Table 1"
    lines: list[Line]

    @property
    def page(self) -> int:
        return self.lines[0].page

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The caption's extent on its page, in PDF points."""
        return (min(l.x0 for l in self.lines), min(l.y0 for l in self.lines),
                max(l.x1 for l in self.lines), max(l.y1 for l in self.lines))


@dataclass
class TableRegion:
    caption: CaptionLines
    rows: list[list[Line]]


def find_captions(lines: list[Line]) -> list[CaptionLines]:
    """Captions start a block with "Figure 3:" / "Table 2." (or a bold label); the rest of the block is the caption."""
    captions: list[CaptionLines] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = CAPTION.match(line.text)
        if m and _starts_paragraph(lines, i) and line.role == "body" and (
            m["sep"].strip() or (line.bold_prefix(m.end() - 1) and line.text[m.end():m.end() + 1].isupper())
        ):
            kind = "table" if m["kind"].lower().startswith("tab") else "figure"
            label = f"{'Table' if kind == 'table' else 'Figure'} {m['num']}"
            block = [line]
            while i + 1 < len(lines) and lines[i + 1].block == line.block and lines[i + 1].gap < 1.5 * line.size:
                i += 1
                block.append(lines[i])
            for member in block:
                member.role = "caption"
            captions.append(CaptionLines(kind, label, block))
        i += 1
    blocks: dict[int, dict[int, list[Line]]] = {}  # page -> block -> lines
    for line in lines:
        blocks.setdefault(line.page, {}).setdefault(line.block, []).append(line)
    for caption in captions:
        _continue_caption(caption, list(blocks[caption.page].values()))
    return captions


def _starts_paragraph(lines: list[Line], i: int) -> bool:
    """Whether line i opens a block, or follows a line in another type or well above it (a code listing)."""
    line, prev = lines[i], lines[i - 1] if i else None
    return (
        prev is None or prev.block != line.block or abs(prev.size - line.size) > 0.5 or prev.family != line.family
        or line.y0 - prev.y1 > 0.8 * line.size
    )


def _continue_caption(caption: CaptionLines, blocks: list[list[Line]]) -> None:
    """Take in the blocks that carry a caption on right below it in the same type, bold or not as its last line
    is (pymupdf may split one caption)."""
    while True:
        last = caption.lines[-1]
        x0, x1 = min(l.x0 for l in caption.lines), max(l.x1 for l in caption.lines)
        block = next((
            members for members in blocks
            if members[0].role == "body"
            and 0 <= members[0].y0 - last.y1 + 1 <= 0.9 * last.size and abs(members[0].size - last.size) <= 0.3
            and members[0].bold == last.bold
            and abs(members[0].x0 - x0) <= 0.15 * (x1 - x0) and not CAPTION.match(members[0].text)
            and all(l.gap < 1.5 * l.size for l in members)
        ), None)
        if block is None:
            return
        for member in block:
            member.role = "caption"
        caption.lines += block


def float_regions(page_lines: list[Line], captions: list[CaptionLines], body: float, width: float,
                  below_first: bool) -> list[TableRegion]:
    """Mark the lines of each caption's float as `float`; return the rows of table floats.
    A table caption with rows on both sides takes the side the document's other captions favour."""
    tables = []
    rows = _rows([l for l in page_lines if l.role == "body"], body)
    prose_blocks = _prose_blocks(page_lines, body, width)
    figures = [c for c in captions if c.kind == "figure"]
    drawn = {id(l) for c in figures for row in _sides(c, rows, prose_blocks, body, width)[0] for l in row}
    for caption in captions:
        above, below = _sides(caption, rows, prose_blocks, body, width)
        if caption.kind == "figure":
            region = above
        elif above and below:
            region = _table_side(above, below, below_first, drawn)
        else:
            region = above or below
        region = sorted(region, key=lambda r: r[0].y0)
        for row in region:
            for line in row:
                if caption.kind == "table" or len(line.text.split()) <= 6:  # a figure's text lines stay prose
                    line.role = "float"
        if caption.kind == "table":
            tables.append(TableRegion(caption, region))
    return tables


def _table_side(above: list[list[Line]], below: list[list[Line]], below_first: bool,
                drawn: set[int]) -> list[list[Line]]:
    """The side of a table caption with rows on both: the one the document favours, unless a figure below its
    own caption takes those rows (a table above its caption, a plot below it)."""
    taken = lambda side: any(id(l) in drawn for row in side for l in row)  # noqa: E731
    first, second = (below, above) if below_first else (above, below)
    return second if taken(first) and not taken(second) else first


def table_side_votes(page_lines: list[Line], captions: list[CaptionLines], body: float, width: float) -> int:
    """+1 for each table caption with rows only below it, -1 for rows only above."""
    rows = _rows([l for l in page_lines if l.role == "body"], body)
    prose_blocks = _prose_blocks(page_lines, body, width)
    votes = 0
    for caption in captions:
        if caption.kind == "table":
            above, below = _sides(caption, rows, prose_blocks, body, width)
            votes += (len(below) > 1 and len(above) <= 1) - (len(above) > 1 and len(below) <= 1)
    return votes


def _sides(caption: CaptionLines, rows: list[list[Line]], prose: set[int], body: float, width: float):
    x0, x1 = _extent(caption.lines, width)
    inside = [r for r in ([l for l in row if l.x0 >= x0 - 4 and l.x1 <= x1 + 4] for row in rows) if r]
    top, bottom = caption.lines[0].y0, caption.lines[-1].y1
    above = _walk([r for r in reversed(inside) if r[0].y1 <= top + 1], top, prose, x1 - x0, body)
    below = _walk([r for r in inside if r[0].y0 >= bottom - 1], bottom, prose, x1 - x0, body)
    return above, below


def _extent(lines: list[Line], width: float) -> tuple[float, float]:
    mid, slack = width / 2, 0.02 * width
    x0, x1 = min(l.x0 for l in lines), max(l.x1 for l in lines)
    if x1 <= mid + slack:
        return 0.0, mid + slack
    if x0 >= mid - slack:
        return mid - slack, width
    return 0.0, width


def _rows(lines: list[Line], body: float) -> list[list[Line]]:
    """Lines of a page grouped by shared baseline, top to bottom, each row left to right."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda l: (l.y1, l.x0)):
        if rows and abs(rows[-1][0].y1 - line.y1) < 0.35 * max(body, line.size):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(r, key=lambda l: l.x0) for r in rows]


def _prose_blocks(lines: list[Line], body: float, width: float) -> set[int]:
    """Blocks that read as running text: mostly long lines in the body font."""
    by_block: dict[int, list[Line]] = {}
    for line in lines:
        by_block.setdefault(line.block, []).append(line)
    prose = set()
    for block, members in by_block.items():
        long = [l for l in members if _is_prose(l, body, width * 0.3)]
        if len(long) >= 2 and len(long) >= 0.6 * len(members):
            prose.add(block)
    return prose


def _is_prose(line: Line, body: float, min_width: float) -> bool:
    return (line.width >= min_width and abs(line.size - body) <= 0.8 and len(line.text.split()) >= 6
            and line.gap < 1.2 * line.size)


def _walk(rows: list[list[Line]], start: float, prose: set[int], extent: float, body: float) -> list[list[Line]]:
    """Rows from the caption outwards until running text, a heading, a wide gap or another caption."""
    taken: list[list[Line]] = []
    edge = start
    for row in rows:
        gap = min(abs(row[0].y0 - edge), abs(edge - row[0].y1))
        if gap > _MAX_GAP * max(body, row[0].size) + 2:
            break
        if any(l.role != "body" for l in row) or any(l.block in prose for l in row):
            break
        if len(row) == 1 and (_is_prose(row[0], body, 0.75 * extent) or heading_like(row[0], body)):
            break
        taken.append(row)
        edge = row[0].y0 if row[0].y1 <= edge + 1 else row[0].y1
    return taken


# ----------------------------------------------------------------- cells


def markdown_rows(rows: list[list[Line]]) -> list[str]:
    """Rows of lines to Markdown table rows, columns cut where (almost) no row has text (notes under the table aside)."""
    rows = [r for r in rows if any(l.text.strip() for l in r)]
    if not rows:
        return []
    left, right = min(l.x0 for r in rows for l in r), max(l.x1 for r in rows for l in r)
    pieces = [[p for line in row for p in _pieces(line)] for row in rows if not _note(row, right - left)]
    cuts = _column_cuts(pieces or [[p for line in row for p in _pieces(line)] for row in rows])
    table = []
    for row in rows:
        cells = [""] * (len(cuts) + 1)
        for x0, x1, text in (w for line in row for w in line.words()):
            col = sum(1 for c in cuts if (x0 + x1) / 2 > c)
            cells[col] = f"{cells[col]} {text}".strip()
        table.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if len(table) > 1:
        table.insert(1, "|" + " --- |" * (len(cuts) + 1))
    return table


def _note(row: list[Line], extent: float) -> bool:
    """A note under the table ("* We could not ...", "Language coverage: ..."): a run of six or more words, spaced
    as prose, across at least half the table's width; it has no columns to cut."""
    for line in row:
        runs: list[list[tuple[float, float, str]]] = []
        for piece in _pieces(line):
            if runs and piece[0] - runs[-1][-1][1] <= 0.4 * line.size:
                runs[-1].append(piece)
            else:
                runs.append([piece])
        if any(sum(len(t.split()) for *_, t in run) >= 6 and run[-1][1] - run[0][0] >= 0.5 * extent for run in runs):
            return True
    return False


def _pieces(line: Line) -> list[tuple[float, float, str]]:
    """Non-blank spans with their extents trimmed of surrounding spaces."""
    out = []
    for span in line.spans:
        text = span.text
        if not text.strip():
            continue
        step = (span.x1 - span.x0) / max(len(text), 1)
        lead, trail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
        out.append((span.x0 + lead * step, span.x1 - trail * step, text.strip()))
    return out


def _column_cuts(rows: list[list[tuple[float, float, str]]]) -> list[float]:
    """x positions between columns: gaps (2 pt or wider) that at most a fifth of the rows cross."""
    x_min = int(min(w[0] for r in rows for w in r))
    n = int(max(w[1] for r in rows for w in r)) - x_min + 2
    delta = [0] * (n + 1)
    for row in rows:
        end = -1
        for x0, x1, _ in sorted(row):
            a, b = max(int(x0) - x_min, end + 1), int(x1) - x_min + 1
            if a < b:
                delta[a] += 1
                delta[b] -= 1
                end = b - 1
    limit = len(rows) // 5
    cuts, run_start, cover = [], None, 0
    for x in range(n):
        cover += delta[x]
        if cover <= limit:
            if run_start is None:
                run_start = x
        elif run_start is not None:
            if run_start > 0 and x - run_start >= 2:
                cuts.append(x_min + (run_start + x - 1) / 2)
            run_start = None
    return cuts
