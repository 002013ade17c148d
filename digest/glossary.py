"""Chinese questions over English papers: detect non-English script and map Chinese ML terms to English.

The glossary (`data/glossary_zh_en.tsv`) is general machine-learning vocabulary. A Chinese query becomes
an English keyword query: the Latin-script words it already contains (model names, numbers, acronyms) plus
the English of every glossary term found in it, longest match first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from .text import CJK

_LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-+_/%]*")


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


def translate_terms(query: str) -> str:
    """An English keyword query for a CJK `query`: its Latin words, then the glossary terms found in it."""
    terms = glossary()
    longest = max(map(len, terms), default=0)
    english, i = [], 0
    while i < len(query):
        for size in range(min(longest, len(query) - i), 0, -1):
            if query[i : i + size] in terms:
                english.append(terms[query[i : i + size]])
                i += size
                break
        else:
            i += 1
    latin = _LATIN_WORD.findall(query)
    return " ".join(dict.fromkeys(latin + english))
