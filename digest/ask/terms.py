"""The words of questions and sentences: the index's stemmed terms, technical names, and values."""

from __future__ import annotations

import re
from functools import lru_cache

from digest.text import bm25_tokens

NUMERIC_QUESTION = re.compile(
    r"\bhow (?:many|much|long|large|big|fast|often|far)\b|\bby how\b|\b(?:what|which)\b.*\b(?:value|score|number|size|"
    r"fraction|proportion|share|percent|percentage|rate|ratio|accuracy|count|amount|length|budget|factor)s?\b|"
    r"\bnumber of\b|多少|几个|几种|数值|比例|比率|得分|分数|准确率|多大|多长|多快",
    re.I,
)
WORD = re.compile(r"[\w.%×\-]*\w%?")
NUMBER = re.compile(
    r"(?<![\w.])(?:\d+(?:[.,]\d+)*\s?(?:%|[KMBT]\b|k\b|x\b|×)?|\d*\.\d+)(?:\s?(?:million|billion|trillion))?"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|sixteen|hundred|thousand)\b",
    re.I,
)
_QUESTION_WORDS = (
    "what which who whom whose when where why how many much does did do was were has have had use used using "
    "about can could would should paper papers model corpus according value number"
)
_TECH_NAME = re.compile(r"[A-Za-z]*[A-Z][A-Za-z]*-?[A-Z0-9][\w.\-]*|[A-Za-z][a-z]+[\w\-]*\d[\w.\-]*")
_NAME = re.compile(rf"\b(?:{_TECH_NAME.pattern}|[A-Z][a-z]{{2,}}\w*)")
_NOT_NAMES = frozenset(
    "what which who whom whose when where why how does did do is are was were can could and also the in for of "
    "please tell give list explain compare describe summarize".split()
)
_REFERENCE = re.compile(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]")


def names(text: str) -> list[str]:
    """Names in a question: words with inner capitals or digits (LLaMA, GSM8K, DeepSeek-V3), capitalised words."""
    return list(dict.fromkeys(m.group() for m in _NAME.finditer(text) if m.group().lower() not in _NOT_NAMES))


def is_name(word: str) -> bool:
    """A technical name: inner capitals or digits (AdamW, SwiGLU, GQA, GPT-4), not just a capitalised word."""
    return bool(_TECH_NAME.fullmatch(word))


def is_value(word: str) -> bool:
    """A number that can answer "how many" (not a year such as 2020)."""
    return bool(NUMBER.fullmatch(word)) and not re.fullmatch(r"(?:19[5-9]\d|20[0-3]\d)[a-z]?", word)


def without_references(text: str) -> str:
    """`text` with reference markers such as [12] or [6, 3] blanked out (same length, so offsets hold)."""
    return _REFERENCE.sub(lambda m: " " * len(m.group()), text)


def tokens(text: str) -> list[str]:
    """The index's stemmed words, with identifiers such as warmup_steps split into their words."""
    return bm25_tokens(text.replace("_", " "))


def query_terms(question: str) -> list[str]:
    """The content words of a question, stemmed as the index stems them, without question words."""
    return [t for t in dict.fromkeys(tokens(question)) if t not in _question_stems()]


@lru_cache(maxsize=1)
def _question_stems() -> frozenset[str]:
    return frozenset(bm25_tokens(_QUESTION_WORDS))
