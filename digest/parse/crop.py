"""Where a figure or table is printed: the box around a caption's float (its drawings, images and text) that
holds none of the running text around it, and the picture of that box.

A page is read as marks: body-text lines (wide lines of the main type and the rest of their paragraphs, the items of
a list of running text however short, and section headings), captions, and float marks (vector drawings as far as
their clip shows them, a frame drawn as four rules as one, images, any other text: text in a frame or in a ruled
table's cells, even whole paragraphs, is a float's). A caption takes in the centred last lines and underlines of its
text that the parse left out. A caption's float lies above a figure's caption and below a table's, unless the other
side's marks are clearly nearer or only they are there, and never on a side that holds only a line or two of marks
(a footnote, a stray line of text) when the other holds a float of some size; beside it for a side caption. From the
caption the float grows through float marks that overlap its width, across gaps of a few lines at most, never taking
in running text, another caption's float or, for a caption within one column of two, marks across both columns (a
title, an author block).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from .layout import TEXT_FLAGS, Line, read_page, strip_margins
from .outline import heading_like

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points

SAMPLE_PAGES = 6  # the body type and text area are read on the first pages
BODY_WORDS = 6  # a body-text line holds at least this many words ...
BODY_WIDTH = 0.4  # ... and spans at least this share of its column
REACH = (0.6, 1.2, 2.4, 3.6)  # body sizes: the gaps a float grows through, in rounds; a wider one ends it
TRIM = 1.2  # body sizes: how far a mark may reach into running text (and be cut there)
THIN = 3.0  # body sizes: a float less deep than this (a line or two) yields to a deeper one across the caption
TIE = 0.3  # body sizes: marks on both sides of a caption this close in distance are as near
PAD = 2.0  # points around the float's marks
LEADING = 0.3  # body sizes: the most space between two lines of a caption
FENCE = 0.7  # body sizes: the most space between a table's rule and the text it fences
RULE = 1.5  # points: the most a rule (a drawn line, or a bar as thin) is thick
DPI = 150
_BULLET = re.compile(r"[•◦▪▫‣∙·⋅○●■□►▸▹✓✔–—*-]")  # a list item's marker: a bullet ...
_NUMBER = re.compile(r"\(?(\d+|[a-z]|[ivx]+)[.)]")  # ... or its number: "1.", "(a)", "iv)"
_TITLE = re.compile(r"^[^\W\d]+\.?\s*\d+\b")  # a float's label and number: "Algorithm 2", "Listing 1"


@dataclass(frozen=True)
class Style:
    """The document's body type and the area its running text fills."""

    size: float
    family: str
    x0: float
    y0: float
    x1: float
    y1: float
    columns: int  # 1 or 2


@dataclass(frozen=True)
class PageMarks:
    body: list[Box]  # lines of running text
    floats: list[Box]  # drawings, images and other text
    text: list[Box] = field(default_factory=list)  # the lines of text among the floats


def body_style(doc: pymupdf.Document) -> Style:
    """Main type (the size and typeface most characters are set in; "" for a typeface read as math, as TeX's
    roman may be), text area and column count, read on the first SAMPLE_PAGES pages without their running heads and
    footers."""
    pages = [read_page(page) for page in list(doc)[:SAMPLE_PAGES]]
    strip_margins(pages)
    lines = [line for page in pages for block in page.blocks for line in block.lines]
    types: Counter[tuple[float, str]] = Counter()
    for line in lines:
        types[(round(line.size * 2) / 2, line.family)] += len(line.text)
    (size, family), _ = types.most_common(1)[0] if types else ((10.0, ""), 0)
    wide = [l for l in lines if _prose_line(l, size, family)]
    if not wide:
        rect = doc[0].rect
        return Style(size, family, 0.0, 0.0, rect.width, rect.height, 1)
    x0, x1 = min(l.x0 for l in wide), max(l.x1 for l in wide)
    y0, y1 = min(l.y0 for l in wide), max(l.y1 for l in wide)
    halves = sum(l.width < 0.6 * (x1 - x0) for l in wide)
    return Style(size, family, x0, y0, x1, y1, 2 if halves > 0.5 * len(wide) else 1)


def _prose_line(line: Line, size: float, family: str) -> bool:
    """A line of running text: in the main type, BODY_WORDS words or more, no further apart than a wide space
    (table cells are an em or more apart)."""
    return (abs(line.size - size) <= 0.8 and line.family == family and len(line.text.split()) >= BODY_WORDS
            and line.gap < 0.8 * line.size)


def page_marks(page: pymupdf.Page, style: Style) -> PageMarks:
    """The running-text lines and float marks of a page (marks outside the text area's height, such as running
    heads and page numbers, and page-sized backgrounds are left out)."""
    area = page.rect.width * page.rect.height
    shown = [b for b in _frames(_drawings(page)) if _area(b) < 0.5 * area]
    drawn = [b for b in shown if _inside_height(b, style)]
    images = [_box(i["bbox"]) for i in page.get_image_info()]
    images = [b for b in images if _area(b) < 0.9 * area and _inside_height(b, style)]
    column = (style.x1 - style.x0) / style.columns
    blocks = read_page(page).blocks
    lines = [line for block in blocks for line in block.lines]
    boxes = [(line.x0, line.y0, line.x1, line.y1) for line in lines]
    rules = _rules(shown, boxes, style.size)  # a table's top rule may lie above the text area
    body, text = [], []
    prose = [any(_prose_line(l, style.size, style.family) and l.width >= BODY_WIDTH * column for l in block.lines)
             for block in blocks]
    prose = _list_items(blocks, prose, lines, style)
    for block, running in zip(blocks, prose):
        for line in block.lines:
            box = (line.x0, line.y0, line.x1, line.y1)
            # text in a drawn frame or a ruled table's cell is part of a float
            boxed = (any(_holds(b, box) for b in drawn) or _in_cell(box, *rules, style.size)
                     or _in_band(box, lines, rules[0], style.size))
            heading = heading_like(line, style.size) and _alone(line, lines, style)
            (body if (running or heading) and not boxed else text).append(box)  # a paragraph's every line
    rotated = [_box(l["bbox"]) for b in page.get_text("dict", flags=TEXT_FLAGS)["blocks"]
               for l in b.get("lines", ()) if abs(l["dir"][1]) > 0.05]
    text += [b for b in rotated if b[0] >= style.x0 - 0.05 * page.rect.width]  # not the arXiv stamp in the margin
    return PageMarks(body, [b for b in drawn + images + text if _inside_height(b, style)],
                     [b for b in text if _inside_height(b, style)])


def _marker(line: Line) -> str | None:
    """The list marker a line opens with ("•", "–", "1.", "(a)"), digits and letters read as their kind; None."""
    token = line.text.split(maxsplit=1)[0] if line.text.split() else ""
    if _BULLET.fullmatch(token) or _NUMBER.fullmatch(token):
        return re.sub(r"[a-z]", "a", re.sub(r"\d+", "0", token))
    return None


def _list_items(blocks: list, prose: list[bool], lines: list[Line], style: Style) -> list[bool]:
    """Which blocks are running text: the prose ones, and the items of a list of running text however short (one
    in the main type, opening with the marker of, aligned with and a body size at most from an item next to it in
    the list that is running text, no other line between them), item by item along the list."""
    prose = list(prose)

    def item(block) -> bool:
        return (_marker(block.lines[0]) is not None
                and all(abs(l.size - style.size) <= 0.8 and l.family == style.family for l in block.lines))

    def next_to(upper, lower) -> bool:
        first, last, top = upper.lines[0], upper.lines[-1], lower.lines[0]
        x0, x1 = min(last.x0, top.x0), max(last.x1, top.x1)
        return (_marker(first) == _marker(top) and abs(first.x0 - top.x0) <= 1
                and -1 <= top.y0 - last.y1 <= style.size
                and not any(last.y1 - 1 < (l.y0 + l.y1) / 2 < top.y0 + 1 and min(l.x1, x1) - max(l.x0, x0) > 1
                            for l in lines))

    changed = True
    while changed:
        changed = False
        for n, block in enumerate(blocks):
            if prose[n] or not block.lines or not item(block):
                continue
            if any(prose[m] and other.lines and item(other) and (next_to(block, other) or next_to(other, block))
                   for m, other in enumerate(blocks) if m != n):
                prose[n] = changed = True
    return prose


def _rules(drawn: list[Box], lines: list[Box], size: float) -> tuple[list[Box], list[Box]]:
    """The page's horizontal and vertical rules: drawn lines (or thin bars) at least a body size long; a bar inside a
    line of text (a fraction's, a root's) is none."""
    across = [h for h in drawn if h[3] - h[1] <= RULE and h[2] - h[0] >= size
              and not any(b[1] + 1.5 < h[1] and h[3] < b[3] - 1.5 and _overlaps(b, (h[0], h[2])) for b in lines)]
    down = [v for v in drawn if v[2] - v[0] <= RULE and v[3] - v[1] >= 0.5 * size]
    return across, down


def _in_cell(box: Box, across: list[Box], down: list[Box], size: float) -> bool:
    """Whether a line of text lies in a cell of a ruled table: a vertical rule runs along most of its height, between
    a horizontal rule above the two and one below them that both span the line and hold the vertical rule a body
    size or more from either end. Running text has no vertical rule beside it (a frame drawn round a page or a
    paragraph has its vertical rules at the ends of its horizontal ones)."""
    for v in down:
        if min(v[3], box[3]) - max(v[1], box[1]) < 0.5 * (box[3] - box[1]):
            continue
        x, lo, hi = (v[0] + v[2]) / 2, min(box[0], v[0]), max(box[2], v[2])

        def spans(h: Box) -> bool:
            return h[0] <= lo + 1 and h[2] >= hi - 1 and h[0] + size <= x <= h[2] - size

        if (any(spans(h) and h[3] <= min(box[1], v[1]) + 1 for h in across)
                and any(spans(h) and h[1] >= max(box[3], v[3]) - 1 for h in across)):
            return True
    return False


def _in_band(box: Box, lines: list[Line], across: list[Box], size: float) -> bool:
    """Whether a line of text lies in a band of a ruled table: between the nearest horizontal rules above and below
    it that span it, the text lies tight against both (FENCE body sizes at most; running text keeps a float's
    rules further off). Not in a ruled box that opens with a title band (one line led by a bold label and its
    number: an algorithm, a listing), a float that no caption here names, whose text is read as usual."""
    fences = _fences(box, across)
    if fences is None:
        return False
    band = _band(lines, *fences, size)
    if band is None or _titled(band):
        return False
    top = fences[0]  # the band over this one, parted from it by its top rule
    over = [h for h in across if h[0] <= box[0] + 1 and h[2] >= box[2] - 1 and h[3] < top[1] - 0.5]
    title = _band(lines, max(over, key=lambda h: h[3]), top, size) if over else None
    return not (title and _titled(title))


def _fences(box: Box, across: list[Box]) -> tuple[Box, Box] | None:
    """The nearest horizontal rules above and below the box that span it; None where one side has none."""
    middle = (box[1] + box[3]) / 2
    spanning = [h for h in across if h[0] <= box[0] + 1 and h[2] >= box[2] - 1]
    above = [h for h in spanning if h[3] <= middle and h[1] < box[1] - 0.5]
    below = [h for h in spanning if h[1] >= middle and h[3] > box[3] + 0.5]
    if not above or not below:
        return None
    return max(above, key=lambda h: h[3]), min(below, key=lambda h: h[1])


def _band(lines: list[Line], top: Box, bottom: Box, size: float) -> list[Line] | None:
    """The lines between two rules (across both) when they lie tight against both (FENCE body sizes), else None."""
    lo, hi = max(top[0], bottom[0]), min(top[2], bottom[2])
    band = [l for l in lines if l.x0 >= lo - 1 and l.x1 <= hi + 1 and top[3] < (l.y0 + l.y1) / 2 < bottom[1]]
    if not band or max(min(l.y0 for l in band) - top[3], bottom[1] - max(l.y1 for l in band)) > FENCE * size:
        return None
    return band


def _titled(band: list[Line]) -> bool:
    """Whether a band is a float's title: one line that opens with a bold word and a number."""
    title = _TITLE.match(band[0].text) if len(band) == 1 else None
    return bool(title) and band[0].bold_prefix(title.end())


def _alone(line: Line, lines: list[Line], style: Style) -> bool:
    """Whether no other text of the line's column shares its height (as a heading's does not, a table cell's
    does)."""
    mid = (style.x0 + style.x1) / 2
    side, box = (line.x0 + line.x1) / 2 < mid, (line.x0, line.y0, line.x1, line.y1)
    return not any(
        other is not line and _overlaps_y((other.x0, other.y0, other.x1, other.y1), box)
        and (style.columns == 1 or ((other.x0 + other.x1) / 2 < mid) == side)
        for other in lines
    )


def _drawings(page: pymupdf.Page) -> list[Box]:
    """The boxes of a page's vector drawings as far as they show: cut to the clip paths around them (a pattern
    tile drawn past its clip is not there), white fills left out (a figure's background)."""
    boxes, clips = [], []  # clips: (level, scissor) of the clip paths in force
    for item in page.get_drawings(extended=True):
        while clips and clips[-1][0] >= item["level"]:
            clips.pop()
        if item["type"] == "clip":
            clips.append((item["level"], item["scissor"]))
        elif item["type"] != "group" and not (item["type"] == "f" and min(item["fill"] or (0,)) >= 0.99):
            drawn = shown = pymupdf.Rect(item["rect"])
            for _, scissor in clips:
                shown = shown & scissor
            x0, y0, x1, y1 = shown
            if x0 <= x1 and y0 <= y1 and (x1 > x0 or drawn.x1 == drawn.x0) and (y1 > y0 or drawn.y1 == drawn.y0):
                boxes.append((x0, y0, x1, y1))  # a rule has no height (or width) of its own
    return boxes


def _frames(boxes: list[Box]) -> list[Box]:
    """The drawings with each frame drawn as four rules (a box round a paragraph, a table's row) made one box: a
    horizontal rule, the nearest one below it with the same ends, and a vertical rule at each end joining them."""
    across = sorted((b for b in boxes if b[3] - b[1] <= RULE and b[2] - b[0] > RULE), key=lambda b: b[0])
    down = sorted((b for b in boxes if b[2] - b[0] <= RULE and b[3] - b[1] > RULE), key=lambda b: b[0])
    starts, lefts = [b[0] for b in across], [b[0] for b in down]
    frames, used = [], set()

    def near(items: list[Box], keys: list[float], x: float) -> list[Box]:
        return items[bisect_left(keys, x - RULE):bisect_right(keys, x + RULE)]

    def joins(x: float, top: float, bottom: float) -> Box | None:
        return next((v for v in near(down, lefts, x) if v[1] <= top + RULE and v[3] >= bottom - RULE), None)

    for top in across:
        below = [b for b in near(across, starts, top[0]) if b[1] > top[3] + 1 and abs(b[2] - top[2]) <= RULE]
        for bottom in sorted(below, key=lambda b: b[1]):
            left, right = joins(top[0], top[1], bottom[3]), joins(top[2], top[1], bottom[3])
            if left and right:
                frames.append(_union([top, bottom, left, right]))
                used.update((top, bottom, left, right))
                break
    return [b for b in boxes if b not in used] + frames


def float_boxes(marks: PageMarks, captions: list[tuple[Box, str]], style: Style) -> list[Box | None]:
    """The box of the float of each caption of a page ((bbox, kind) pairs), caption included; None where no float
    mark lies next to it. A caption whose float can lie on one side only is served first; floats grow side by side,
    through small gaps first, so that two floats stacked close together part at the widest gap between them (and
    captions that the floats served so far leave one side come next, till none does); a caption whose float
    another took looks on its other side."""
    boxes = [_with_tail(c, marks, style.size) for c, _ in captions]
    body = [b for b in marks.body if not any(_centred(b, c) for c in boxes)]
    floats = [b for b in marks.floats if not any(_centred(b, c) for c in boxes)]
    columns = [_in_column(floats, c, style) for c in boxes]
    pools, stops = [pool for pool, _ in columns], [body + walls for _, walls in columns]
    options = [_sides(pools[n], stops[n] + _others(boxes, n), c, kind, style) for n, (c, kind) in enumerate(captions)]
    chosen, single = options, [o[0] if len(o) == 1 else None for o in options]
    for _ in captions:  # choose again, the single-sided floats taken, till no more captions are left one side
        forced = _grow_all(pools, stops, boxes, single, style.size)
        chosen = [_sides(pools[n], stops[n] + _others(forced, n), boxes[n], kind, style) if len(found) > 1 else found
                  for n, ((_, kind), found) in enumerate(zip(captions, options))]
        now = [o[0] if len(o) == 1 else None for o in chosen]
        if now == single:
            break
        single = now
    sides = [found[0] if found else None for found in chosen]
    grown = _grow_all(pools, stops, boxes, sides, style.size)
    bare = [g == c for g, c in zip(grown, boxes)]  # its float taken by another caption's: look on the other side
    again = [next((o for o in found if o != side), None) if empty else None
             for found, side, empty in zip(options, sides, bare)]
    grown = _grow_all(pools, stops, boxes, again, style.size, grown)
    grown = [_with_note(g, c, marks.text, stops[n] + _others(grown, n) + _others(boxes, n), style.size)
             for n, (g, c) in enumerate(zip(grown, boxes))]
    return [_pad(g, stops[n] + _others(grown, n)) if g != c else None for n, (g, c) in enumerate(zip(grown, boxes))]


def _with_tail(caption: Box, marks: PageMarks, size: float) -> Box:
    """The caption's box with what ends its text under it, a line's leading away at most: a line of text no wider
    than it and centred on it (a last line set in the middle), a rule under at most half its width (an underlined
    word)."""
    width = caption[2] - caption[0]
    underlines = [b for b in marks.floats if b[3] - b[1] <= RULE and b[2] - b[0] <= 0.5 * width]
    changed = True
    while changed:
        changed = False
        for b in marks.text + underlines:
            if (0 <= b[1] - caption[3] <= LEADING * size and b[3] > caption[3] and b[3] - b[1] <= 1.5 * size
                    and b[0] >= caption[0] - 1 and b[2] <= caption[2] + 1
                    and (b[3] - b[1] <= RULE or abs((b[0] + b[2]) - (caption[0] + caption[2])) <= size)):
                caption, changed = _union([caption, b]), True
    return caption


def _with_note(box: Box, caption: Box, text: list[Box], stops: list[Box], size: float) -> Box:
    """The float's box with a note line on the caption's other side (away from the float, as a table's "†" note
    set under its caption): one line of text (not running text) within the caption's width, pressed against it (a
    line's leading away at most), in no other caption or float, bringing in no stop."""
    if box == caption:
        return box
    above, below = box[1] < caption[1] - 0.5, box[3] > caption[3] + 0.5
    if above == below:
        return box
    for b in text:
        gap = b[1] - caption[3] if above else caption[1] - b[3]
        if (0 <= gap <= LEADING * size and b[3] - b[1] <= 1.5 * size
                and b[0] >= caption[0] - 1 and b[2] <= caption[2] + 1
                and not any(_centred(b, s) or _overlaps_y(s, b) and _overlaps(s, (b[0], b[2])) for s in stops)):
            merged = _union([box, b])
            if not _holds_stop(merged, stops):
                return merged
    return box


def _in_column(floats: list[Box], caption: Box, style: Style) -> tuple[list[Box], list[Box]]:
    """The marks that may belong to the caption's float, and those that stop it: on a two-column page, a caption
    within one column has its float there (marks mostly inside it), and marks that neither column holds (across
    the gap between them: a title, an author block, a float as wide as the page) stop it; a caption across both
    may take marks anywhere."""
    mid, slack = (style.x0 + style.x1) / 2, 0.02 * (style.x1 - style.x0)
    if style.columns == 1 or (caption[0] < mid - slack and caption[2] > mid + slack):
        return floats, []
    left, right = (-1e9, mid + slack), (mid - slack, 1e9)

    def inside(b: Box, band: tuple[float, float]) -> bool:
        lo, hi = band
        return lo <= (b[0] + b[2]) / 2 <= hi and min(b[2], hi) - max(b[0], lo) >= 0.7 * (b[2] - b[0])

    own = left if caption[2] <= mid + slack else right
    return ([b for b in floats if inside(b, own)],
            [b for b in floats if not inside(b, left) and not inside(b, right)])


def _others(boxes: list[Box], n: int) -> list[Box]:
    return boxes[:n] + boxes[n + 1:]


def _grow_all(pools: list[list[Box]], stops: list[list[Box]], captions: list[Box], sides: list[str | None],
              size: float, start: list[Box] | None = None) -> list[Box]:
    """Each caption's box (`start`, else the caption) grown on its side (None: not at all) through its pool of float
    marks, all of them a round per REACH, each stopped by its stops (the body text, marks across the columns) and the
    others' boxes."""
    grown = list(start or captions)
    for reach in REACH:
        for n, side in enumerate(sides):
            if side:
                grown[n] = _grow_toward(side, pools[n], stops[n] + _others(grown, n), grown[n], captions[n], reach,
                                        size)
    return grown


def _sides(floats: list[Box], stops: list[Box], caption: Box, kind: str, style: Style) -> list[str]:
    """The sides a caption's float may lie on (a float mark in reach), likeliest first: the side of the nearer
    mark (a caption sits closer to its own float than to the next), above a figure's caption and below a table's
    when about as near; but a side whose float would be thin (less than THIN body sizes deep, or smaller than the
    caption: a footnote, a line or two of text) comes after one whose float would be deep, as large as the caption
    and twice as large as the thin one; beside it when neither (on single-column pages only: a side caption)."""
    usual, other = ("above", "below") if kind == "figure" else ("below", "above")
    gaps = {side: _first_gap(side, floats, stops, caption, style.size) for side in (usual, other)}
    found = [side for side in (usual, other) if gaps[side] is not None]
    if len(found) == 2 and gaps[other] < gaps[usual] - TIE * style.size:
        found.reverse()
    if len(found) == 2:  # a side with only a mark of a line or two (a footnote, stray text) yields to a float
        size = style.size
        (near_depth, near_area), (far_depth, far_area) = (_depth(side, floats, stops, caption, size) for side in found)
        if ((near_depth < THIN * size or near_area < _area(caption)) and far_depth >= THIN * size
                and far_area >= max(_area(caption), 2 * near_area)):
            found.reverse()
    if not found and style.columns == 1:
        beside = {side: _first_gap(side, floats, stops, caption, style.size) for side in ("left", "right")}
        found = sorted((side for side, gap in beside.items() if gap is not None), key=beside.__getitem__)
    return found


def _depth(side: str, floats: list[Box], stops: list[Box], caption: Box, size: float) -> tuple[float, float]:
    """The depth and area of the float a caption would grow on one side (the part beyond the caption)."""
    box = caption
    for reach in REACH:
        box = _grow_toward(side, floats, stops, box, caption, reach, size)
    depth = {"above": caption[1] - box[1], "below": box[3] - caption[3], "left": caption[0] - box[0],
             "right": box[2] - caption[2]}[side]
    across = box[2] - box[0] if side in ("above", "below") else box[3] - box[1]
    return max(0.0, depth), max(0.0, depth) * across


def _first_gap(side: str, floats: list[Box], stops: list[Box], caption: Box, size: float) -> float | None:
    """The gap between the caption and its nearest float mark on one side that its float could take (across from
    it, in reach, bringing in no stop, larger than a glyph); None when there is none."""
    up, turn = side in ("above", "left"), side in ("left", "right")
    floats, stops, caption = _turn(floats, turn), _turn(stops, turn), _turn([caption], turn)[0]
    for mark in _side_marks(floats, stops, caption, up):
        gap = caption[1] - mark[3] if up else mark[1] - caption[3]
        if gap > REACH[-1] * size:
            break
        if mark[2] - mark[0] < size and mark[3] - mark[1] < size:
            continue
        trimmed = _trim(mark, stops + [caption], TRIM * size) if _overlaps(mark, (caption[0], caption[2])) else None
        if trimmed and not _holds_stop(_union([caption, trimmed]), stops):
            return max(0.0, gap)
    return None


def _grow_toward(side: str, floats: list[Box], stops: list[Box], box: Box, caption: Box, reach: float,
                 size: float) -> Box:
    """`_grow` on a side of the caption: above, below, left or right (there, with x and y swapped)."""
    turn = side in ("left", "right")
    grown = _grow(_turn(floats, turn), _turn(stops, turn), *_turn([box, caption], turn), side in ("above", "left"),
                  reach, size)
    return _turn([grown], turn)[0]


def _turn(boxes: list[Box], turn: bool) -> list[Box]:
    """The boxes with x and y swapped (when `turn`): left and right become above and below."""
    return [(b[1], b[0], b[3], b[2]) for b in boxes] if turn else boxes


def _side_marks(floats: list[Box], stops: list[Box], caption: Box, up: bool) -> list[Box]:
    """The marks whose middle lies above (`up`) or below the caption's, nearest first, but not in a stop (a rule
    of another float, a fraction bar in a line of text)."""
    middle = (caption[1] + caption[3]) / 2
    marks = [b for b in floats if ((b[1] + b[3]) / 2 < middle) == up and not any(_centred(b, s) for s in stops)]
    return sorted(marks, key=lambda b: -b[3] if up else b[1])


def _holds_stop(box: Box, stops: list[Box]) -> bool:
    return any(_overlaps(s, (box[0], box[2])) and _overlaps_y(s, box) for s in stops)


def _grow(floats: list[Box], stops: list[Box], box: Box, caption: Box, up: bool, reach: float, size: float) -> Box:
    """`box` grown through the float marks above (`up`) or below the caption: each lies within `reach` body sizes
    of the box so far (above or below it, or beside it) and does not bring a stop (running text, another float) into
    it. A mark that reaches into a stop or the caption by at most TRIM body sizes (an image's white margin) is cut
    short of it."""
    pool: list[Box | None] = list(_side_marks(floats, stops, caption, up))
    changed = True
    while changed:
        changed = False
        for n, mark in enumerate(pool):
            if mark is None:
                continue
            if max(box[0] - mark[2], mark[0] - box[2], box[1] - mark[3] if up else mark[1] - box[3]) > reach * size:
                continue
            trimmed = _trim(mark, stops + [caption], TRIM * size)
            merged = _union([box, trimmed]) if trimmed else None
            if merged and not _holds_stop(merged, stops):
                box, changed = merged, True
            pool[n] = None
    return box


def _trim(mark: Box, stops: list[Box], depth: float) -> Box | None:
    """The mark cut short of the stops that reach into its top or bottom by at most `depth`; None when a stop lies
    deeper in it, or the cut leaves less than a point."""
    x0, y0, x1, y1 = mark
    for s in stops:
        if not (_overlaps(s, (x0, x1)) and _overlaps_y(s, (x0, y0, x1, y1))):
            continue
        if s[3] - y0 <= depth:
            y0 = s[3]
        elif y1 - s[1] <= depth:
            y1 = s[1]
        else:
            return None
        if y1 - y0 < 1:
            return None
    return (x0, y0, x1, y1)


def _pad(box: Box, stops: list[Box]) -> Box:
    """The box widened by PAD on each side, short of any stop."""
    x0, y0, x1, y1 = box[0] - PAD, box[1] - PAD, box[2] + PAD, box[3] + PAD
    for s in stops:
        if _overlaps(s, (x0, x1)) and not _overlaps_y(s, box):
            if s[3] <= box[1]:
                y0 = max(y0, s[3])
            elif s[1] >= box[3]:
                y1 = min(y1, s[1])
        elif _overlaps_y(s, (x0, y0, x1, y1)) and not _overlaps(s, (box[0], box[2])):
            if s[2] <= box[0]:
                x0 = max(x0, s[2])
            elif s[0] >= box[2]:
                x1 = min(x1, s[0])
    return (x0, y0, x1, y1)


def render(page: pymupdf.Page, box: Box, dpi: int = DPI) -> bytes:
    """The box of a page as a PNG image."""
    clip = pymupdf.Rect(box) & page.rect
    return page.get_pixmap(dpi=dpi, clip=clip).tobytes("png")


def _box(rect) -> Box:
    return (float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3]))


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _inside_height(box: Box, style: Style) -> bool:
    """Within the text area's height (a little slack): not a running head, footer or page number."""
    return box[3] >= style.y0 - 2 and box[1] <= style.y1 + 2


def _holds(outer: Box, inner: Box) -> bool:
    """Whether `inner` lies in `outer` (half a point of slack), `outer` being larger by half at least."""
    return (outer[0] <= inner[0] + 0.5 and outer[1] <= inner[1] + 0.5 and outer[2] >= inner[2] - 0.5
            and outer[3] >= inner[3] - 0.5 and _area(outer) >= 1.5 * _area(inner))


def _centred(box: Box, outer: Box) -> bool:
    """Whether the middle of `box` lies in `outer`."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def _overlaps(box: Box, band: tuple[float, float]) -> bool:
    return min(box[2], band[1]) - max(box[0], band[0]) > 1


def _overlaps_y(a: Box, b: Box) -> bool:
    return min(a[3], b[3]) - max(a[1], b[1]) > 1


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
