"""The candidates an answer is drawn from: passages retrieved for the question, without near-copies, and their
sentences scored against it (its terms held, weighted by rarity; the names it mentions, held by the sentence or
the topic of its paper; embedding similarity; whether the kind of answer asked for, a number or a name, stands
next to its terms)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from digest.glossary import CJK_RUN, english, glossary, in_english, is_non_english, segment
from digest.index import Index
from digest.models import Chunk
from digest.text import normalize, sentence_spans

from .terms import NUMBER, NUMERIC_QUESTION, WORD, is_name, is_value, names, query_terms, tokens, without_references

CANDIDATES = 24  # passages retrieved before sentence scoring
TOP_PASSAGES = 6  # whose sentences are all embedded; of the rest, only the best by their words
EMBED_BY_WORDS = 40
LONG_SENTENCE = 400  # characters; longer "sentences" (run-on PDF text) are cut into pieces

# weights of the sentence score (bench/ask.py); the answer threshold is calibrated by bench/eval.py (threshold_study)
W_TERMS, W_CONTEXT, W_NAMES, W_EMBED, W_KIND = 0.5, 0.15, 0.15, 0.5, 0.1

_WHICH_QUESTION = re.compile(r"\b(?:which|what)\b|什么|哪", re.I)
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]*")


@dataclass
class PassageSentence:
    """A verbatim span of a candidate passage, scored against the question."""

    chunk: Chunk
    start: int
    end: int
    context: str = ""  # what else the sentence is read with: a table's caption and header
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]


@dataclass
class Candidates:
    """Candidate passages and their sentences, best first; `strength` is the best sentence's score."""

    question: str
    lang: str
    passages: list[Chunk]
    sentences: list[PassageSentence]
    vectors: np.ndarray  # one per sentence, row-aligned
    passage_scores: list[float] = field(default_factory=list)

    @property
    def strength(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


def gather_candidates(query: str, index: Index, papers: list[str] | None, lang: str) -> Candidates:
    """Retrieve candidates for `query`, drop duplicates, and score their sentences: all by their words, and
    those from the best passages or with the best word scores by their embeddings too."""
    english = in_english(query)
    hits = index.search(query, k=CANDIDATES, mode="hybrid", papers=papers)
    passages = distinct_passages([h.chunk for h in hits])
    numeric = bool(NUMERIC_QUESTION.search(query))
    sentences = [s for chunk in passages for s in passage_sentences(chunk)]
    lexical = word_scores(english, sentences, numeric, topics(index, query, {c.paper_id for c in passages}))
    top_passages = {c.chunk_id for c in passages[:TOP_PASSAGES]}
    by_words = set(np.argsort(-lexical)[:EMBED_BY_WORDS].tolist())
    keep = [i for i, s in enumerate(sentences) if s.chunk.chunk_id in top_passages or i in by_words]
    sentences = [sentences[i] for i in keep]
    if not sentences:
        return Candidates(query, lang, passages, [], np.zeros((0, 1), np.float32))
    vectors = index.embedder.embed([s.text for s in sentences])
    similarity = vectors @ index.embedder.embed_query(english)
    coverage = translated_share(query) if is_non_english(query) else 1.0
    for sentence, words, sim in zip(sentences, lexical[keep], similarity):
        sentence.score = float(coverage * (words + W_EMBED * sim))
    order = sorted(range(len(sentences)), key=lambda i: -sentences[i].score)
    candidates = Candidates(query, lang, passages, [sentences[i] for i in order], vectors[order])
    best: dict[str, float] = {}
    for sentence in candidates.sentences:
        best.setdefault(sentence.chunk.chunk_id, sentence.score)
    candidates.passage_scores = [best.get(c.chunk_id, 0.0) for c in passages]
    return candidates


def unknown_names(question: str, passages: list[Chunk]) -> list[str]:
    """The technical names in a question (GPT-5, GSM8K) that no candidate passage mentions, spacing and
    hyphens aside: a question about a model or benchmark the corpus never names is not answered from others."""
    seen = _squeezed(" ".join(f"{c.title} {c.text}" for c in passages))
    return [n for n in names(question) if is_name(n) and _squeezed(n) not in seen]


def _squeezed(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


def translated_share(query: str) -> float:
    """The share of a CJK question that its Latin words and translated Chinese words account for (single
    characters aside: alone, most are function words): a question about things the dictionaries cannot name is
    not answered from its few known words."""
    words = [w for run in CJK_RUN.findall(query) for w in segment(run) if len(w) > 1 or w in glossary()]
    known = 2 * len(_LATIN.findall(query)) + sum(len(w) for w in words if english(w))  # a Latin word weighs two
    unknown = sum(len(w) for w in words if not english(w))
    return known / (known + unknown) if known + unknown else 1.0


def distinct_passages(chunks: list[Chunk]) -> list[Chunk]:
    """Chunks in rank order, without those whose text mostly repeats a better-ranked one (overlaps, copies)."""
    kept: list[tuple[Chunk, set[str]]] = []
    for chunk in chunks:
        words = set(normalize(chunk.text).split())
        if any(len(words & seen) > 0.8 * min(len(words), len(seen)) for _, seen in kept if seen):
            continue
        kept.append((chunk, words))
    return [c for c, _ in kept]


def passage_sentences(chunk: Chunk) -> list[PassageSentence]:
    """A passage's sentences; a table's rows, each read with the caption and header row."""
    if chunk.kind == "table":
        lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", chunk.text)]
        caption = [chunk.text[s:e] for s, e in lines if not chunk.text[s:e].lstrip().startswith("|")]
        rows = [(s, e) for s, e in lines if chunk.text[s:e].lstrip().startswith("|")]
        header = chunk.text[rows[0][0] : rows[0][1]] if rows else ""
        context = " ".join(caption[:1] + [header])
        return [PassageSentence(chunk, s, e, context) for s, e in rows[1:] if re.search(r"\w", chunk.text[s:e])]
    out = []
    for start, end in sentence_spans(chunk.text):
        for s, e in _pieces(chunk.text, start, end):
            if len(re.findall(r"\w+", chunk.text[s:e])) >= 3:
                out.append(PassageSentence(chunk, s, e))
    return out


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span cut at whitespace into pieces of at most LONG_SENTENCE characters."""
    pieces = []
    while end - start > LONG_SENTENCE:
        cut = text.rfind(" ", start, start + LONG_SENTENCE)
        cut = cut if cut > start else start + LONG_SENTENCE
        pieces.append((start, cut))
        start = cut + 1
    return pieces + [(start, end)]


def topics(index: Index, question: str, papers: set[str]) -> dict[str, set[str]]:
    """Per candidate paper, the question's name terms it is about. A paper is about a name it has in its
    title and mentions often (in 40% as many passages as the paper mentioning it most); failing such a paper,
    the papers mentioning it most (70% as often as the most, and in at least 1 passage of 20) are."""
    asked = [n for n in names(question) if len(n) > 1]
    about: dict[str, set[str]] = {p: set() for p in papers}
    if not asked:
        return about
    chunks = {p: index.chunks_for(p) for p in papers}
    texts = {p: [normalize(c.text) for c in chunks[p]] for p in papers}
    titles = {p: normalize(chunks[p][0].title) if chunks[p] else "" for p in papers}
    for name in asked:
        key = normalize(name)
        share = {p: sum(key in t for t in texts[p]) / max(len(texts[p]), 1) for p in papers}
        most = max(share.values(), default=0.0)
        chosen = [p for p in papers if share[p] >= 0.4 * most and key in titles[p]]
        for p in chosen or [p for p in papers if share[p] >= max(0.05, 0.7 * most)]:
            about[p] |= set(tokens(name))
    return about


def word_scores(question: str, sentences: list[PassageSentence], numeric: bool, about: dict[str, set[str]]) -> np.ndarray:
    """Each sentence's score from its words: the question's terms it holds (rare ones weigh more), those
    elsewhere in its passage or headings, the names of the question it or its paper is about, and the kind
    of answer asked for: a number for "how many", a name for "which"."""
    terms = query_terms(question)
    name_terms = {t for n in names(question) for t in tokens(n)} & set(terms)
    own = [set(tokens(s.text)) for s in sentences]
    weights = {t: np.log(1 + len(sentences) / (1 + sum(t in words for words in own))) for t in terms}
    total = sum(weights.values()) or 1.0
    around = {c.chunk_id: set(tokens(f"{c.title} {c.section} {c.text}")) for c in {s.chunk.chunk_id: s.chunk for s in sentences}.values()}
    asked_numbers = set(NUMBER.findall(question))
    asked_names = set(names(question))
    which = not numeric and bool(_WHICH_QUESTION.search(question))
    scores = np.zeros(len(sentences), dtype=np.float32)
    for i, (sentence, words) in enumerate(zip(sentences, own)):
        held_terms = words | about.get(sentence.chunk.paper_id, set())
        context = around[sentence.chunk.chunk_id] | set(tokens(sentence.context))
        held = sum(w for t, w in weights.items() if t in held_terms) / total
        nearby = sum(w for t, w in weights.items() if t in context and t not in held_terms) / total
        named = len(name_terms & held_terms) / len(name_terms) if name_terms else 0.0
        if numeric or which:
            kind = answer_kind(sentence.text, set(terms), asked_numbers if numeric else asked_names, numeric)
        else:
            kind = 0.0
        scores[i] = W_TERMS * held + W_CONTEXT * nearby + W_NAMES * named + W_KIND * kind
    return scores


def answer_kind(sentence: str, terms: set[str], asked: set[str], numeric: bool) -> float:
    """How well a sentence offers the kind of answer asked for (a number, or a name not in the question):
    1 next to a question term (within 3 words), 0.5 elsewhere; a value question without a number: -1."""
    words = WORD.findall(without_references(sentence))
    near = {i for i, w in enumerate(words) if set(tokens(w)) & terms}
    offered = [i for i, w in enumerate(words) if w not in asked and (is_value(w) if numeric else is_name(w))]
    if not offered:
        return -1.0 if numeric else 0.0
    return 1.0 if any(abs(i - j) <= 3 for i in offered for j in near) else 0.5
