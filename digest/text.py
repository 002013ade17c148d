"""Text utilities shared across the pipeline: normalization for quote checks, sentence spans, section paths and
pages, the BM25 tokens that index and ask both use, CJK script, and spelled-out numbers."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache

from .models import Section

_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d)\]]*\s+|\n\s*\n")
_WORD_BEFORE = re.compile(r"([A-Za-z]+)\.?[\"'\u201d)\]]*$")
_ABBREVIATIONS = {
    "al", "e.g", "eg", "i.e", "ie", "fig", "figs", "eq", "eqs", "sec", "secs", "tab", "vs", "cf", "approx", "resp",
    "no", "nos", "vol", "pp", "ref", "refs", "app", "appx", "dr", "mr", "ms", "st", "etc", "incl", "def", "thm",
}
_BM25_WORD = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")  # words and numbers (28.4 stays whole); "warmup_steps" is two words

# CJK script: kana, CJK ideographs (extension A, unified, compatibility) and Hangul; a range list for character classes
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK = re.compile(f"[{CJK_RANGES}]")

# Numbers written as words, as papers and models write small counts ("two experts")
NUMBER_WORDS = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}


def normalize(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def contains(haystack: str, needle: str) -> bool:
    """Whether `needle` occurs in `haystack` after normalizing both."""
    return bool(needle.strip()) and normalize(needle) in normalize(haystack)


def single_line(text: str) -> str:
    """`text` on one line: whitespace runs become one space, ends stripped."""
    return " ".join(text.split())


def row_cells(row: str) -> list[str]:
    """The cells of a Markdown table row, whitespace collapsed."""
    return [" ".join(c.split()) for c in row.strip().strip("|").split("|")]


# ------------------------------------------------------------------ sentences


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of `text` as character spans (trailing whitespace excluded)."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group().strip() and _is_abbreviation(text, m.start(), m.end()):
            continue
        end = m.start() + len(m.group().rstrip())
        if end > start:
            spans.append((start, end))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _is_abbreviation(text: str, dot: int, after: int) -> bool:
    """A period that ends "e.g.", "Fig.", "et al." or an initial, or is followed by a lower-case word."""
    if text[dot] != ".":
        return False
    nxt = text[after : after + 1]
    if nxt.islower():
        return True
    word = _WORD_BEFORE.search(text[max(0, dot - 12) : dot + 1])
    if not word:
        return False
    token = word.group(1)
    return token.lower() in _ABBREVIATIONS or (len(token) == 1 and token.isupper())


# ------------------------------------------------------------------ sections


def section_paths(sections: Sequence[Section]) -> list[str]:
    """Each section's path of headings: "3 Results > 3.1 Common Sense Reasoning"."""
    stack: list[tuple[int, str]] = []
    paths = []
    for section in sections:
        while stack and stack[-1][0] >= section.level:
            stack.pop()
        stack.append((section.level, section.heading))
        paths.append(" > ".join(heading for _, heading in stack))
    return paths


def page_of(section: Section, offset: int) -> int:
    """The page holding character `offset` of the section's text."""
    return min(section.page_start + bisect_right(section.page_breaks, offset), section.page_end)


# ------------------------------------------------------------------ BM25 tokens


_STOPWORDS = frozenset(  # bm25s's English list (STOPWORDS_EN), held here so that a query need not import bm25s
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split()
)


BM25_TOKENS = 3  # version of `bm25_tokens`, kept in the index meta: 2 keeps Greek letters (the β of "β = 0.1"),
# 3 adds metrics at a cut-off whole ("pass@1")
_AT_K = re.compile(r"[^\W_]+@[^\W_]+")  # pass@1, recall@5, hits@10


def bm25_tokens(text: str) -> list[str]:
    """Normalized, stemmed words without stop words; decimals such as 28.4 stay whole, and so does a single digit
    or Greek letter (a hyperparameter's name: "𝛼= 0.76" gives α and 0.76). A metric at a cut-off is a word of its
    own besides its parts: "pass@1" gives pass, 1 and pass@1, which "pass@32" does not."""
    text = normalize(text)
    words = [_stem(w) for w in _BM25_WORD.findall(text) if w not in _STOPWORDS and (len(w) > 1 or w.isdigit() or "α" <= w <= "ω")]
    return words + _AT_K.findall(text)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)
