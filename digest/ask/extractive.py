"""The extractive answer: the best candidate sentences, verbatim, each cited; and the span of a sentence that
answers the question, for highlighting."""

from __future__ import annotations

import re

from digest.glossary import in_english
from digest.models import Answer
from digest.settings import Settings
from digest.text import normalize, single_line

from .citations import citation, sentence_page, spans_pages, stored_parses
from .evidence import Candidates, PassageSentence
from .terms import NUMERIC_QUESTION, WORD, is_name, is_value, query_terms, tokens, without_references

MAX_SENTENCES = 3  # in an extractive answer
SENTENCE_SLACK = 0.08  # further answer sentences score within this of the best one


def extractive_answer(candidates: Candidates, settings: Settings) -> Answer:
    """The best sentences, verbatim, each followed by its citation."""
    chosen: list[PassageSentence] = []
    seen: set[str] = set()
    best = candidates.strength
    for sentence in candidates.sentences:
        if len(chosen) == MAX_SENTENCES or sentence.score < best - SENTENCE_SLACK:
            break
        key = normalize(sentence.text)
        if key in seen or any(key in s or s in key for s in seen):
            continue
        seen.add(key)
        chosen.append(sentence)
    parses = stored_parses(settings, {s.chunk.paper_id for s in chosen if spans_pages(s.chunk)})
    citations = [citation(n, s.chunk, s.text, sentence_page(s, parses.get(s.chunk.paper_id)))
                 for n, s in enumerate(chosen, start=1)]
    text = " ".join(f"{single_line(s.text)} [{n}]" for n, s in enumerate(chosen, start=1))
    return Answer(answer=text, citations=citations, answered=True)


def answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """Where in `sentence` the answer to `question` most likely is, for highlighting: of the numbers (when a
    value is asked for) or names that the question does not contain, the one nearest to the question's terms."""
    english = in_english(question)
    terms = set(query_terms(english))
    numeric = bool(NUMERIC_QUESTION.search(question))
    words = list(WORD.finditer(without_references(sentence)))
    near = [i for i, w in enumerate(words) if set(tokens(w.group())) & terms]
    asked = normalize(question)
    best, best_value = None, float("-inf")
    for i, w in enumerate(words):
        token = w.group()
        if normalize(token) in asked or set(tokens(token)) & terms:
            continue
        value = 2.0 if numeric and is_value(token) else 1.0 if is_name(token) else 0.0
        value -= 0.1 * min((abs(i - j) for j in near), default=10)
        if value > 0.5 and value > best_value:
            best, best_value = w, value
    if best is None:
        return None
    unit = re.match(r"\s?(?:million|billion|trillion)\b", sentence[best.end() :], re.I)
    return best.start(), best.end() + (unit.end() if unit else 0)
