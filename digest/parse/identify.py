"""What a local PDF says about itself: its arXiv id (file name or page-1 stamp) and its title."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..ids import ArxivId, InvalidId, id_from_filename, parse_id
from .pdf import has_text_layer, open_pdf

_STAMP = re.compile(r"arXiv:\s*(?P<id>\S+?)\s+\[(?P<category>[\w.\-]+)\]\s+(?P<date>\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4})")
_NOT_A_TITLE = re.compile(r"^(untitled|title|microsoft word\b.*|.*\.(pdf|dvi|tex|docx?)|.*[/\\].*)$", re.I)


@dataclass
class LocalIdentity:
    """What a local PDF says about itself."""

    paper_id: str
    filename: str
    version: int | None = None
    title: str = ""
    categories: list[str] = field(default_factory=list)
    published: str | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. a file name that names another paper than its stamp
    scanned: bool = False  # no text layer: only OCR can read it


def identify_pdf(path: Path, sha256: str, claimed: ArxivId | None = None, name: str | None = None) -> LocalIdentity:
    """The id of a local PDF: the arXiv stamp on page 1 (`arXiv:1706.03762v7 [cs.CL] 2 Aug 2023`), else `claimed`
    (the arXiv id its reference manager gives it), else an arXiv-style file name (`name`, when it came under
    another name than its path's, as a tar member does), else `local-<first 12 hex of its sha256>`; its title,
    and whether it is a scan. A claim or file name naming another paper than the stamp is a warning: the stamp,
    printed by arXiv on the paper itself, wins. PdfError (see `open_pdf`) when it is not a usable PDF."""
    with open_pdf(path) as doc:
        page = doc[0]
        stamp = _STAMP.search(page.get_text())
        title = _metadata_title(doc.metadata or {}) or _largest_text(page)
        scanned = not has_text_layer(doc)
    said, source = (claimed, "its reference manager entry") if claimed else (id_from_filename(name or path.name), "the file name")
    stamped = _stamp_id(stamp)
    warnings = []
    if stamped and said and said.base != stamped.base:
        warnings.append(f"{source} says {said} but the arXiv stamp on page 1 says {stamped}: stored as {stamped.base}")
        said = None
    aid = ArxivId(stamped.base, (said and said.version) or stamped.version) if stamped else said
    if aid is None:
        local = f"local-{sha256[:12]}"
        return LocalIdentity(local, local, title=title, scanned=scanned)
    published = None
    if stamp and aid.version == 1:
        published = time.strftime("%Y-%m-%d", time.strptime(" ".join(stamp.group("date").split()), "%d %b %Y"))
    return LocalIdentity(aid.base, aid.filename, aid.version, title,
                         [stamp.group("category")] if stamp else [], published, warnings, scanned)


def _stamp_id(stamp: re.Match | None) -> ArxivId | None:
    try:
        return parse_id(stamp.group("id")) if stamp else None
    except InvalidId:
        return None


def _metadata_title(metadata: dict) -> str:
    title = " ".join((metadata.get("title") or "").split())
    return "" if len(title) < 4 or title.lower().startswith("http") or _NOT_A_TITLE.match(title) else title


def _largest_text(page) -> str:
    """The first run of lines set in the largest font on a page (a paper's title on page 1)."""
    lines = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            text = "".join(span["text"] for span in line["spans"]).strip()
            if abs(line["dir"][0] - 1) < 0.01 and re.search(r"[^\W\d_]{2}", text):
                lines.append((max(s["size"] for s in line["spans"] if s["text"].strip()), line["bbox"][1], text))
    if not lines:
        return ""
    top = max(size for size, _, _ in lines)
    picked = sorted((y, text) for size, y, text in lines if size >= top - 0.5)
    run = [picked[0]]
    for y, text in picked[1:]:
        if y - run[-1][0] > 2.5 * top:
            break
        run.append((y, text))
    return _join_title_lines(text for _, text in run)


def _join_title_lines(lines: Iterable[str]) -> str:
    """Join title lines, undoing hyphenation at line ends (`LAN-` + `GUAGE` -> `LANGUAGE`)."""
    out = ""
    for line in lines:
        if out.endswith("-"):
            before, after = re.search(r"(\w*)-$", out).group(1), re.match(r"\w*", line).group(0)
            broken_word = bool(before and after) and (after.islower() or (before + after).isupper())
            out = (out[:-1] if broken_word else out) + line
        else:
            out = f"{out} {line}" if out else line
    return out
