"""The extractive answer: the best candidate sentences, verbatim, each cited; and the span of a sentence that
answers the question, for highlighting."""

from __future__ import annotations

import re

from digest.glossary import in_english
from digest.models import Answer
from digest.settings import Settings
from digest.text import normalize, single_line

from .citations import citation, sentence_page, spans_pages, stored_parses
from .evidence import Candidates, PassageSentence, passage_sentences
from .terms import NUMERIC_QUESTION, WORD, is_name, is_value, query_terms, tokens, without_references

MAX_SENTENCES = 3  # in an extractive answer
SENTENCE_SLACK = 0.08  # further answer sentences score within this of the best one
REDUNDANT = 0.9  # a further sentence this close (cosine) to one chosen says the same again: skipped
FRAGMENT_WORDS = 8  # a best sentence shorter than this is carried on by the next one
_REFERS_BACK = re.compile(  # openings of a sentence that continues the one before (English discourse markers)
    r"^(?:thus|therefore|hence|however|specifically|in\s+particular|consequently|instead|as\s+a\s+result"
    r"|in\s+practice|to\s+(?:address|solve|tackle|mitigate|overcome|avoid|fix|remedy|this\s+end|do\s+so"
    r"|achieve\s+this)\b|for\s+this\s+(?:reason|purpose)|this|these|such)\b",
    re.I,
)


def extractive_answer(candidates: Candidates, settings: Settings) -> Answer:
    """The best sentences, verbatim, each followed by its citation; the best one's `continuation` comes second."""
    chosen: list[PassageSentence] = []
    seen: set[str] = set()
    best = candidates.strength
    picked: list[int] = []
    for i, sentence in enumerate(candidates.sentences):
        if len(chosen) == MAX_SENTENCES or sentence.score < best - SENTENCE_SLACK:
            break
        key = normalize(sentence.text)
        if key in seen or any(key in s or s in key for s in seen) or _restates(candidates, i, picked):
            continue
        seen.add(key)
        chosen.append(sentence)
        picked.append(i)
    follow = continuation(chosen[0]) if chosen else None
    if follow is not None and normalize(follow.text) not in seen:
        chosen = [chosen[0], follow, *chosen[1 : MAX_SENTENCES - 1]]
    parses = stored_parses(settings, {s.chunk.paper_id for s in chosen if spans_pages(s.chunk)})
    citations = [citation(n, s.chunk, s.text, sentence_page(s, parses.get(s.chunk.paper_id)))
                 for n, s in enumerate(chosen, start=1)]
    text = " ".join(f"{single_line(s.text)} [{n}]" for n, s in enumerate(chosen, start=1))
    return Answer(answer=text, citations=citations, answered=True)


def _restates(candidates: Candidates, i: int, picked: list[int]) -> bool:
    """Whether candidate sentence `i` says again what a picked one says (embedding cosine >= REDUNDANT)."""
    return bool(picked) and float(max(candidates.vectors[picked] @ candidates.vectors[i])) >= REDUNDANT


def continuation(sentence: PassageSentence) -> PassageSentence | None:
    """The sentence after `sentence` in its passage when it carries on what `sentence` leaves open: `sentence` is a
    fragment (a heading, a lead-in ending in a colon) or the next one opens by referring back to it ("Thus, we
    propose …", "To address this problem, …", "However, …"). Such a pair answers together: the problem, then the
    fix the question asks about."""
    after = [s for s in passage_sentences(sentence.chunk) if s.start >= sentence.end]
    if not after:
        return None
    following = min(after, key=lambda s: s.start)
    fragment = len(WORD.findall(sentence.text)) < FRAGMENT_WORDS or sentence.text.rstrip().endswith(":")
    return following if fragment or _REFERS_BACK.match(following.text.lstrip()) else None


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
