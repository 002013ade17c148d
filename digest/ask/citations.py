"""Answers and their citations: checking a model's `[n]` markers against the passages it was given, the citation
of a passage or sentence with the page it is on, and the "does not say" answer."""

from __future__ import annotations

import re

from digest.catalog import Catalog
from digest.llm import DOES_NOT_SAY
from digest.models import Answer, Chunk, Citation, ParsedPaper
from digest.settings import Settings
from digest.text import NUMBER_WORDS, normalize, page_of, section_paths

from .evidence import PassageSentence
from .terms import WORD, is_name, is_value

NOT_SAID = {"en": "The corpus does not say.", "zh": "语料中没有提到这一点。"}

CITATION = re.compile(r"[\[【]\s*(\d+(?:\s*(?:[,，、;]|-|–)\s*\d+)*)\s*[\]】]")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")


def not_said(lang: str) -> Answer:
    return Answer(answer=NOT_SAID[lang], citations=[], answered=False)


# ------------------------------------------------------------------ model replies


def cited_answer(reply: str, passages: list[Chunk], lang: str, question: str = "") -> Answer:
    """Check a model's reply: the sentinel or a reply without one valid [n] is "does not say"; invalid numbers
    are dropped, sentences are checked against their sources (`checked`), sentences after the last citation
    of their paragraph (uncited claims) are cut, and the cited passages are renumbered in order of first use."""
    if _is_sentinel(reply):
        return not_said(lang)
    paragraphs = [_cited_part(checked(_keep_valid(p, len(passages)), passages, question))
                  for p in re.split(r"\n\s*\n", reply.strip())]
    text = "\n\n".join(p for p in paragraphs if p)
    order = list(dict.fromkeys(int(n) for m in CITATION.finditer(text) for n in _numbers(m.group(1))))
    if not order:
        return not_said(lang)
    renumber = {old: new for new, old in enumerate(order, start=1)}
    text = CITATION.sub(lambda m: "".join(f"[{renumber[n]}]" for n in _numbers(m.group(1))), text)
    citations = [citation(renumber[old], passages[old - 1], passages[old - 1].text) for old in order]
    return Answer(answer=text.strip(), citations=citations, answered=True)


def checked(paragraph: str, passages: list[Chunk], question: str) -> str:
    """A paragraph whose sentences state only what their sources say: the numbers and names a sentence adds
    to the question must all be in a passage it cites; failing that, its citation moves to the first passage
    that has them all, and if none has, the sentence goes."""
    kept, start = [], 0
    ends = [m.end() for m in _SENTENCE_END.finditer(paragraph)]
    for end in ends + ([len(paragraph)] if not ends or ends[-1] < len(paragraph) else []):
        sentence, start = paragraph[start:end], end
        facts = _facts(CITATION.sub("", sentence), question)
        cited = [n for m in CITATION.finditer(sentence) for n in _numbers(m.group(1))]
        holders = [n for n, chunk in enumerate(passages, start=1) if _states(chunk.text, facts)]
        if not facts or any(n in holders for n in cited) or (holders and not cited):
            kept.append(sentence)
        elif holders:
            first = CITATION.search(sentence)
            kept.append(sentence[: first.start()] + f"[{holders[0]}]" + CITATION.sub("", sentence[first.end() :]))
    return "".join(kept).strip()


def _facts(sentence: str, question: str) -> set[str]:
    """The values and names a sentence states that its question does not, normalized ("two" -> "2")."""
    asked = normalize(question)
    words = [w for w in WORD.findall(sentence) if is_value(w) or is_name(w)]
    return {_digits(normalize(w)) for w in words if normalize(w) not in asked}


def _states(text: str, facts: set[str]) -> bool:
    words = {_digits(w) for w in WORD.findall(normalize(text))}
    return facts <= words


def _digits(word: str) -> str:
    """A spelled-out number in digits ("two" -> "2"); any other word as it is."""
    return str(NUMBER_WORDS[word]) if word in NUMBER_WORDS else word


def _keep_valid(text: str, count: int) -> str:
    """`text` with its citation markers reduced to the numbers of real passages (markers left empty go)."""

    def repl(m: re.Match) -> str:
        numbers = [n for n in _numbers(m.group(1)) if 1 <= n <= count]
        return f"[{', '.join(map(str, numbers))}]" if numbers else ""

    text = CITATION.sub(repl, text)
    return re.sub(r"[ \t]+([.,;:!?。，；：！？])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


def _cited_part(paragraph: str) -> str:
    """A paragraph up to the end of its last sentence that cites a passage: later sentences are uncited claims."""
    last = None
    for m in CITATION.finditer(paragraph):
        last = m
    if last is None:
        return ""
    end = _SENTENCE_END.search(paragraph, last.end())
    return paragraph[: end.end() if end else len(paragraph)].strip()


def _numbers(group: str) -> list[int]:
    """The numbers in a citation marker's inside: "1, 3", "2-4"."""
    out: list[int] = []
    for part in re.split(r"\s*[,，、;]\s*", group):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit() and int(bounds[1]) - int(bounds[0]) < 20:
            out += range(int(bounds[0]), int(bounds[1]) + 1)
        elif part.strip().isdigit():
            out.append(int(part))
    return list(dict.fromkeys(out))


def _is_sentinel(reply: str) -> bool:
    text = normalize(reply).strip(" .。")
    sentinels = [normalize(DOES_NOT_SAY).strip(" ."), normalize(NOT_SAID["zh"]).strip("。"), "语料中没有提到"]
    return not text or any(text.startswith(s) for s in sentinels)


# ------------------------------------------------------------------ pages


def citation(n: int, chunk: Chunk, text: str, page: int | None = None) -> Citation:
    """Citation `n` of `text` from `chunk`, on `page` (default: the chunk's first page)."""
    return Citation(n=n, paper_id=chunk.paper_id, title=chunk.title, section=chunk.section,
                    page=page or chunk.page_start, text=text)


def spans_pages(chunk: Chunk) -> bool:
    """Whether a body-text passage runs over a page break, so its sentences' pages must be looked up."""
    return chunk.page_start != chunk.page_end and chunk.kind == "text"


def stored_parses(settings: Settings, papers: set[str]) -> dict[str, ParsedPaper]:
    """The stored parses of `papers` (those the catalog has), read in one opening of the catalog."""
    if not papers or not settings.catalog_path.exists():
        return {}
    with Catalog(settings.catalog_path) as catalog:
        parses = {p: catalog.load_parse(p) for p in papers}
    return {p: parsed for p, parsed in parses.items() if parsed}


def sentence_page(sentence: PassageSentence, parsed: ParsedPaper | None) -> int:
    """The page a sentence is on: its passage's, or for a passage spanning pages, found in its paper's parse."""
    chunk = sentence.chunk
    if not spans_pages(chunk) or parsed is None:
        return chunk.page_start
    for path, section in zip(section_paths(parsed.sections), parsed.sections):
        where = section.text.find(chunk.text) if path == chunk.section else -1
        if where >= 0:
            return page_of(section, where + sentence.start)
    return chunk.page_start
