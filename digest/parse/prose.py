"""Lines to prose: end-of-line hyphenation joined, URLs broken across lines rejoined, paragraphs kept apart."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from .layout import Line

_WORD = re.compile(r"[A-Za-z][A-Za-z\-]*[A-Za-z]")
_URLISH = re.compile(r"(?:https?://|www\.|\b[\w\-]+\.(?:com|org|io|net|ai|edu|dev|co|gov)/)\S*$")
_URL_BREAK_END = tuple("-/_~=?&#%")
URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`|]+[^\s<>()\[\]{}\"'`|.,;:!?]")
_SENTENCE_END = tuple(".!?:")


class Vocabulary:
    """Word counts of one document, to decide whether a line-end hyphen is part of the word."""

    def __init__(self, lines: Iterable[Line]):
        self.counts: Counter[str] = Counter(_WORD.findall("\n".join(line.text for line in lines).lower()))

    def keeps_hyphen(self, left: str, right: str) -> bool:
        joined, hyphenated = (left + right).lower(), f"{left}-{right}".lower()
        return self.counts[hyphenated] > self.counts[joined]


def join_lines(lines: list[Line], vocab: Vocabulary, uris: Iterable[str] = ()) -> list[tuple[int, str]]:
    """Paragraphs as (page, text): a new block starts a paragraph unless the sentence visibly runs on."""
    paragraphs: list[tuple[int, str]] = []
    text, page, block = "", 0, None
    for line in lines:
        if block is not None and line.block != block and not _runs_on(text, line.text):
            paragraphs.append((page, text))
            text = ""
        if not text:
            text, page = line.text, line.page
        else:
            text = join_pair(text, line.text, vocab, uris)
        block = line.block
    if text:
        paragraphs.append((page, text))
    return paragraphs


def _runs_on(text: str, following: str) -> bool:
    return bool(text) and not text.endswith(_SENTENCE_END) and following[:1].islower()


def join_pair(left: str, right: str, vocab: Vocabulary, uris: Iterable[str] = ()) -> str:
    """`left` + `right` across a line break."""
    last = left.rsplit(None, 1)[-1]
    first = right.split(None, 1)[0]
    if _URLISH.search(last) and _continues_url(last, first, uris):
        return left + right
    if last.endswith("-") and len(last) > 1 and last[-2].isalpha() and first[:1].isalnum():
        stem = re.search(r"([A-Za-z]+)-$", last)
        nxt = re.match(r"[A-Za-z]+", first)
        if stem and nxt and _drops_hyphen(stem.group(1), nxt.group(0), vocab):
            return left[:-1] + right
        return left + right
    return left + " " + right


def _drops_hyphen(stem: str, nxt: str, vocab: Vocabulary) -> bool:
    """A line-end hyphen splits a word ("per-" "formance", "LAN-" "GUAGE") unless the document spells the
    compound with a hyphen ("pre-" "training" when "pre-training" is commoner than "pretraining")."""
    if vocab.keeps_hyphen(stem, nxt):
        return False
    if nxt.islower():
        return True
    return stem.isupper() and nxt.isupper() and vocab.counts[(stem + nxt).lower()] > 0


def _continues_url(last: str, first: str, uris: Iterable[str]) -> bool:
    start = URL.search(last)
    head = start.group(0) if start else last
    nxt = first.rstrip(".,;:)")
    for uri in uris:
        rest = uri[len(head):] if len(uri) > len(head) and uri.startswith(head) else ""
        if rest and (rest.startswith(nxt) or nxt.startswith(rest)):
            return True
    return last.endswith(_URL_BREAK_END) and not first[:1].isupper()
