"""Answer questions over the indexed papers, citing paper, section and page; say so when the corpus does not.

The pipeline: resolve the paper/tag filters, turn a follow-up into a standalone query, retrieve candidate
passages (hybrid search), drop duplicates, then score the sentences of the candidates against the question
(its terms held, weighted by rarity; the names it mentions, held by the sentence or the topic of its paper;
embedding similarity; whether the kind of answer asked for, a number or a name, stands next to its terms).
The best sentence's score is the strength of the evidence: below `settings.answer_threshold`, or when the
question names a model or benchmark that no candidate passage mentions, the answer is "the corpus does not say". Otherwise the extractive backend answers with the best sentences, verbatim, each
cited; the LLM backend answers from numbered passages (chosen by relevance with diversity, MMR) and keeps
only the sentences whose `[n]` citations point at a real passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from .catalog import Catalog
from .chunk import page_of, section_paths, sentence_spans
from .errors import DigestError
from .glossary import glossary, is_non_english, translate_terms
from .ids import paper_key
from .index import Index, bm25_tokens
from .llm import DOES_NOT_SAY, INSTALL_HINT, chat_model, invoke_text, render_prompt
from .models import Answer, Chunk, Citation, ParsedPaper
from .settings import Settings
from .text import normalize

NOT_SAID = {"en": "The corpus does not say.", "zh": "语料中没有提到这一点。"}
CANDIDATES = 24  # passages retrieved before sentence scoring
TOP_PASSAGES = 6  # whose sentences are all embedded; of the rest, only the best by their words
EMBED_BY_WORDS = 40
MAX_SENTENCES = 3  # in an extractive answer
SENTENCE_SLACK = 0.08  # further answer sentences score within this of the best one
MMR_LAMBDA = 0.7  # relevance against diversity when choosing the LLM's passages
LONG_SENTENCE = 400  # characters; longer "sentences" (run-on PDF text) are cut into pieces

# weights of the sentence score; see bench/ask.py for the calibration of these and of the threshold
W_TERMS, W_CONTEXT, W_NAMES, W_EMBED, W_KIND = 0.5, 0.15, 0.15, 0.5, 0.1

_NUMERIC_QUESTION = re.compile(
    r"\bhow (?:many|much|long|large|big|fast|often|far)\b|\bby how\b|\b(?:what|which)\b.*\b(?:value|score|number|size|"
    r"fraction|proportion|share|percent|percentage|rate|ratio|accuracy|count|amount|length|budget|factor)s?\b|"
    r"\bnumber of\b|多少|几个|几种|数值|比例|比率|得分|分数|准确率|多大|多长|多快",
    re.I,
)
_WORD = re.compile(r"[\w.%×\-]*\w%?")
_WHICH_QUESTION = re.compile(r"\b(?:which|what)\b|什么|哪", re.I)
_NUMBER = re.compile(
    r"(?<![\w.])(?:\d+(?:[.,]\d+)*\s?(?:%|[KMBT]\b|k\b|x\b|×)?|\d*\.\d+)(?:\s?(?:million|billion|trillion))?"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|sixteen|hundred|thousand)\b",
    re.I,
)
_QUESTION_WORDS = (
    "what which who whom whose when where why how many much does did do was were has have had use used using "
    "about can could would should paper papers model corpus according value number"
)
_CITATION = re.compile(r"[\[【]\s*(\d+(?:\s*(?:[,，、;]|-|–)\s*\d+)*)\s*[\]】]")
_FOLLOW_UP = re.compile(
    r"\b(?:it|its|they|them|their|this|that|these|those|the same|the model|the paper|the method|also|what about|"
    r"how about|and)\b|它|它们|其|这个|那个|该|这篇|这些|那么|呢",
    re.I,
)
_TECH_NAME = re.compile(r"[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9][\w.\-]*|[A-Za-z][a-z]+[\w\-]*\d[\w.\-]*")
_NAME = re.compile(rf"\b(?:{_TECH_NAME.pattern}|[A-Z][a-z]{{2,}}\w*)")
_NOT_NAMES = frozenset(
    "what which who whom whose when where why how does did do is are was were can could and also the in for of "
    "please tell give list explain compare describe summarize".split()
)
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]*")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_ZH_FUNCTION_CHARS = frozenset("的了是在时于和与及或其这那哪个些种么什吗呢吧啊对被把从到为以用中上下里每多少几有没不也都就还而并且请问能可来比至做需要将会道")
_SPELLED = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_REFERENCE = re.compile(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")


@dataclass
class Turn:
    """One exchange of a conversation: the question as asked, the query it became, and the answer."""

    question: str
    answer: Answer
    query: str = ""
    papers: list[str] | None = None
    strength: float = 0.0  # the evidence score the threshold was applied to


@dataclass
class Sentence:
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
class Evidence:
    """Candidate passages and their sentences, best first; `strength` is the best sentence's score."""

    question: str
    lang: str
    passages: list[Chunk]
    sentences: list[Sentence]
    vectors: np.ndarray  # one per sentence, row-aligned
    passage_scores: list[float] = field(default_factory=list)

    @property
    def strength(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


# ------------------------------------------------------------------ entry point


def ask(
    question: str,
    index: Index,
    settings: Settings,
    llm: BaseChatModel | None = None,
    papers: list[str] | None = None,
    tags: list[str] | None = None,
    history: list[Turn] | None = None,
    k: int | None = None,
) -> Answer:
    """Answer `question` from the index: extractively, or with `llm` when given; cited, or "does not say"."""
    return ask_turn(question, index, settings, llm, papers, tags, history, k).answer


def ask_turn(
    question: str,
    index: Index,
    settings: Settings,
    llm: BaseChatModel | None = None,
    papers: list[str] | None = None,
    tags: list[str] | None = None,
    history: list[Turn] | None = None,
    k: int | None = None,
) -> Turn:
    """`ask`, returning the whole exchange (query and paper focus too) for a conversation to build on."""
    question = question.strip()
    if not question:
        raise DigestError("empty question: ask something, e.g. digest ask \"Which optimizer does LLaMA use?\"")
    lang = question_lang(question)
    allowed = paper_filter(settings, index, papers or [], tags or [])
    query, focus = standalone_query(question, history or [], llm, settings)
    scope = allowed if focus is None else [p for p in focus if allowed is None or p in allowed] or allowed
    evidence = gather_evidence(query, index, scope, lang)
    if evidence.strength < settings.answer_threshold or unknown_names(query, evidence.passages):
        answer = not_said(lang)
    elif llm is None:
        answer = extractive_answer(evidence, settings)
    else:
        answer = llm_answer(evidence, llm, settings, k or settings.top_k, history or [])
    papers_in_focus = _cited_papers(answer) or scope
    return Turn(question=question, answer=answer, query=query, papers=papers_in_focus, strength=evidence.strength)


@dataclass
class Asker:
    """An opened index and backend answering question after question, remembering the conversation."""

    settings: Settings
    index: Index
    llm: BaseChatModel | None = None
    papers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    k: int | None = None
    history: list[Turn] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, backend: str | None = None, papers=(), tags=(), k: int | None = None) -> "Asker":
        return cls(settings, Index.open(settings), choose_llm(settings, backend), list(papers), list(tags), k)

    def ask(self, question: str) -> Turn:
        turn = ask_turn(question, self.index, self.settings, self.llm, self.papers, self.tags, self.history, self.k)
        self.history.append(turn)
        return turn


def choose_llm(settings: Settings, backend: str | None) -> BaseChatModel | None:
    """The chat model for a backend: none for extractive, the configured one for llm (required) or auto."""
    backend = backend or settings.backend
    if backend == "extractive":
        return None
    llm = chat_model(settings)
    if llm is None and backend == "llm":
        raise DigestError(
            "--backend llm needs a model: set llm_base_url and llm_model (an OpenAI-compatible endpoint), "
            f"or install the embedded one: {INSTALL_HINT}"
        )
    return llm


def question_lang(text: str) -> str:
    return "zh" if is_non_english(text) else "en"


def not_said(lang: str) -> Answer:
    return Answer(answer=NOT_SAID[lang], citations=[], answered=False)


# ---------------------------------------------------------------------- filters


def paper_filter(settings: Settings, index: Index, papers: list[str], tags: list[str]) -> list[str] | None:
    """The indexed papers a question is limited to (named ones plus tagged ones), or None for all."""
    if not papers and not tags:
        return None
    chosen = [paper_key(text) for text in papers]  # an arXiv id in any form, or a local paper's id
    missing = [p for p in chosen if p not in index.ranges]
    if missing:
        raise DigestError(f"--paper {missing[0]} is not in the index: give an indexed paper's id (see `digest list`), "
                          "or fetch it and run `digest index`")
    if tags:
        chosen += [p for p in tagged_papers(settings, tags) if p in index.ranges]
    if not chosen:
        raise DigestError(f"no indexed paper is tagged {' or '.join(map(repr, tags))}: see the tags with `digest list`")
    return sorted(set(chosen))


def tagged_papers(settings: Settings, tags: list[str]) -> list[str]:
    """Catalog papers carrying any of `tags` (compared case-insensitively)."""
    if not settings.catalog_path.exists():
        raise DigestError(f"no catalog at {settings.catalog_path}, so no tags: fetch papers first (or pass -w)")
    wanted = {t.strip().lower() for t in tags}
    with Catalog(settings.catalog_path) as catalog:
        return [p.paper_id for p in catalog.papers() if wanted & {t.lower() for t in p.tags}]


# ------------------------------------------------------------------ conversation


def standalone_query(
    question: str, history: list[Turn], llm: BaseChatModel | None, settings: Settings
) -> tuple[str, list[str] | None]:
    """The query to search for a follow-up question, and the papers it is about (None: any).

    With an LLM the conversation is condensed by the model; without one, a follow-up (one that refers back,
    or names nothing of its own) carries the names from the previous query and keeps its papers in focus.
    """
    if not history:
        return question, None
    if llm is not None:
        turns = [{"question": t.question, "answer": t.answer.answer} for t in history[-2:]]
        reply = invoke_text(llm, [HumanMessage(render_prompt(settings, "condense", history=turns, question=question))])
        rewritten = next(iter(reply.strip().strip('"').splitlines()), "").strip()
        return (rewritten or question), None
    previous = history[-1]
    if not is_follow_up(question):
        return question, None
    names = [n for n in _names(previous.query or previous.question) if n.lower() not in question.lower()]
    query = " ".join([question, *names])
    return query, previous.papers


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the one before: it refers back, or names no model, paper or benchmark."""
    return bool(_FOLLOW_UP.search(question)) or not _names(question)


def _names(text: str) -> list[str]:
    """Names in a question: words with inner capitals or digits (LLaMA, GSM8K, DeepSeek-V3), capitalised words."""
    return list(dict.fromkeys(m.group() for m in _NAME.finditer(text) if m.group().lower() not in _NOT_NAMES))


def _cited_papers(answer: Answer) -> list[str] | None:
    return list(dict.fromkeys(c.paper_id for c in answer.citations)) or None


# ---------------------------------------------------------------------- evidence


def gather_evidence(query: str, index: Index, papers: list[str] | None, lang: str) -> Evidence:
    """Retrieve candidates for `query`, drop duplicates, and score their sentences: all by their words, and
    those from the best passages or with the best word scores by their embeddings too."""
    english = translate_terms(query) if is_non_english(query) else query
    hits = index.search(query, k=CANDIDATES, mode="hybrid", papers=papers)
    passages = distinct_passages([h.chunk for h in hits])
    numeric = bool(_NUMERIC_QUESTION.search(query))
    sentences = [s for chunk in passages for s in split_sentences(chunk)]
    lexical = word_scores(english, sentences, numeric, topics(index, query, {c.paper_id for c in passages}))
    top_passages = {c.chunk_id for c in passages[:TOP_PASSAGES]}
    by_words = set(np.argsort(-lexical)[:EMBED_BY_WORDS].tolist())
    keep = [i for i, s in enumerate(sentences) if s.chunk.chunk_id in top_passages or i in by_words]
    sentences = [sentences[i] for i in keep]
    if not sentences:
        return Evidence(query, lang, passages, [], np.zeros((0, 1), np.float32))
    vectors = index.embedder.embed([s.text for s in sentences])
    similarity = vectors @ index.embedder.embed_query(english)
    coverage = glossary_coverage(query) if is_non_english(query) else 1.0
    for sentence, words, sim in zip(sentences, lexical[keep], similarity):
        sentence.score = float(coverage * (words + W_EMBED * sim))
    order = sorted(range(len(sentences)), key=lambda i: -sentences[i].score)
    evidence = Evidence(query, lang, passages, [sentences[i] for i in order], vectors[order])
    best: dict[str, float] = {}
    for sentence in evidence.sentences:
        best.setdefault(sentence.chunk.chunk_id, sentence.score)
    evidence.passage_scores = [best.get(c.chunk_id, 0.0) for c in passages]
    return evidence


def unknown_names(question: str, passages: list[Chunk]) -> list[str]:
    """The technical names in a question (GPT-5, GSM8K) that no candidate passage mentions, spacing and
    hyphens aside: a question about a model or benchmark the corpus never names is not answered from others."""
    seen = _squeezed(" ".join(f"{c.title} {c.text}" for c in passages))
    return [n for n in _names(question) if _is_name(n) and _squeezed(n) not in seen]


def _squeezed(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


def glossary_coverage(query: str) -> float:
    """The share of a CJK question that its Latin words and glossary terms account for (function words
    aside): a question about things the glossary cannot name is not answered from its few known words."""
    covered = [False] * len(query)
    for term in glossary():
        for m in re.finditer(re.escape(term), query):
            covered[m.start() : m.end()] = [True] * len(term)
    content = [done for c, done in zip(query, covered) if _CJK_CHAR.match(c) and c not in _ZH_FUNCTION_CHARS]
    known = 2 * len(_LATIN.findall(query)) + sum(content)  # a Latin word weighs as a two-character word
    unknown = len(content) - sum(content)
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


def split_sentences(chunk: Chunk) -> list[Sentence]:
    """A passage's sentences; a table's rows, each read with the caption and header row."""
    if chunk.kind == "table":
        lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", chunk.text)]
        caption = [chunk.text[s:e] for s, e in lines if not chunk.text[s:e].lstrip().startswith("|")]
        rows = [(s, e) for s, e in lines if chunk.text[s:e].lstrip().startswith("|")]
        header = chunk.text[rows[0][0] : rows[0][1]] if rows else ""
        context = " ".join(caption[:1] + [header])
        return [Sentence(chunk, s, e, context) for s, e in rows[1:] if re.search(r"\w", chunk.text[s:e])]
    out = []
    for start, end in sentence_spans(chunk.text):
        for s, e in _pieces(chunk.text, start, end):
            if len(re.findall(r"\w+", chunk.text[s:e])) >= 3:
                out.append(Sentence(chunk, s, e))
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
    names = [n for n in _names(question) if len(n) > 1]
    about: dict[str, set[str]] = {p: set() for p in papers}
    if not names:
        return about
    chunks = {p: index.chunks_for(p) for p in papers}
    texts = {p: [normalize(c.text) for c in chunks[p]] for p in papers}
    titles = {p: normalize(chunks[p][0].title) if chunks[p] else "" for p in papers}
    for name in names:
        key = normalize(name)
        share = {p: sum(key in t for t in texts[p]) / max(len(texts[p]), 1) for p in papers}
        most = max(share.values(), default=0.0)
        chosen = [p for p in papers if share[p] >= 0.4 * most and key in titles[p]]
        for p in chosen or [p for p in papers if share[p] >= max(0.05, 0.7 * most)]:
            about[p] |= set(_tokens(name))
    return about


def word_scores(question: str, sentences: list[Sentence], numeric: bool, about: dict[str, set[str]]) -> np.ndarray:
    """Each sentence's score from its words: the question's terms it holds (rare ones weigh more), those
    elsewhere in its passage or headings, the names of the question it or its paper is about, and the kind
    of answer asked for: a number for "how many", a name for "which"."""
    terms = query_terms(question)
    names = {t for n in _names(question) for t in _tokens(n)} & set(terms)
    own = [set(_tokens(s.text)) for s in sentences]
    weights = {t: np.log(1 + len(sentences) / (1 + sum(t in words for words in own))) for t in terms}
    total = sum(weights.values()) or 1.0
    around = {c.chunk_id: set(_tokens(f"{c.title} {c.section} {c.text}")) for c in {s.chunk.chunk_id: s.chunk for s in sentences}.values()}
    asked_numbers = set(_NUMBER.findall(question))
    asked_names = set(_names(question))
    which = not numeric and bool(_WHICH_QUESTION.search(question))
    scores = np.zeros(len(sentences), dtype=np.float32)
    for i, (sentence, words) in enumerate(zip(sentences, own)):
        held_terms = words | about.get(sentence.chunk.paper_id, set())
        context = around[sentence.chunk.chunk_id] | set(_tokens(sentence.context))
        held = sum(w for t, w in weights.items() if t in held_terms) / total
        nearby = sum(w for t, w in weights.items() if t in context and t not in held_terms) / total
        named = len(names & held_terms) / len(names) if names else 0.0
        if numeric or which:
            kind = answer_kind(sentence.text, set(terms), asked_numbers if numeric else asked_names, numeric)
        else:
            kind = 0.0
        scores[i] = W_TERMS * held + W_CONTEXT * nearby + W_NAMES * named + W_KIND * kind
    return scores


def answer_kind(sentence: str, terms: set[str], asked: set[str], numeric: bool) -> float:
    """How well a sentence offers the kind of answer asked for (a number, or a name not in the question):
    1 next to a question term (within 3 words), 0.5 elsewhere; a value question without a number: -1."""
    words = _WORD.findall(_without_references(sentence))
    near = {i for i, w in enumerate(words) if set(_tokens(w)) & terms}
    offered = [i for i, w in enumerate(words) if w not in asked and (_is_value(w) if numeric else _is_name(w))]
    if not offered:
        return -1.0 if numeric else 0.0
    return 1.0 if any(abs(i - j) <= 3 for i in offered for j in near) else 0.5


def _is_value(word: str) -> bool:
    """A number that can answer "how many" (not a year such as 2020)."""
    return bool(_NUMBER.fullmatch(word)) and not re.fullmatch(r"(?:19[5-9]\d|20[0-3]\d)[a-z]?", word)


def _without_references(text: str) -> str:
    """`text` with reference markers such as [12] or [6, 3] blanked out (same length, so offsets hold)."""
    return _REFERENCE.sub(lambda m: " " * len(m.group()), text)


def _is_name(word: str) -> bool:
    """A technical name: inner capitals or digits (AdamW, SwiGLU, GQA, GPT-4), not just a capitalised word."""
    return bool(_TECH_NAME.fullmatch(word))


def _tokens(text: str) -> list[str]:
    """The index's stemmed words, with identifiers such as warmup_steps split into their words."""
    return bm25_tokens(text.replace("_", " "))


def query_terms(question: str) -> list[str]:
    """The content words of a question, stemmed as the index stems them, without question words."""
    return [t for t in dict.fromkeys(_tokens(question)) if t not in _question_stems()]


@lru_cache(maxsize=1)
def _question_stems() -> frozenset[str]:
    return frozenset(bm25_tokens(_QUESTION_WORDS))


# ------------------------------------------------------------------ extractive


def extractive_answer(evidence: Evidence, settings: Settings) -> Answer:
    """The best sentences, verbatim, each followed by its citation."""
    chosen: list[Sentence] = []
    seen: set[str] = set()
    best = evidence.strength
    for sentence in evidence.sentences:
        if len(chosen) == MAX_SENTENCES or sentence.score < best - SENTENCE_SLACK:
            break
        key = normalize(sentence.text)
        if key in seen or any(key in s or s in key for s in seen):
            continue
        seen.add(key)
        chosen.append(sentence)
    parses = _parses(settings, {s.chunk.paper_id for s in chosen if _spans_pages(s.chunk)})
    citations = [_citation(n, s.chunk, s.text, sentence_page(s, parses.get(s.chunk.paper_id)))
                 for n, s in enumerate(chosen, start=1)]
    text = " ".join(f"{_one_line(s.text)} [{n}]" for n, s in enumerate(chosen, start=1))
    return Answer(answer=text, citations=citations, answered=True)


def answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """Where in `sentence` the answer to `question` most likely is, for highlighting: of the numbers (when a
    value is asked for) or names that the question does not contain, the one nearest to the question's terms."""
    english = translate_terms(question) if is_non_english(question) else question
    terms = set(query_terms(english))
    numeric = bool(_NUMERIC_QUESTION.search(question))
    words = list(_WORD.finditer(_without_references(sentence)))
    near = [i for i, w in enumerate(words) if set(_tokens(w.group())) & terms]
    asked = normalize(question)
    best, best_value = None, float("-inf")
    for i, w in enumerate(words):
        token = w.group()
        if normalize(token) in asked or set(_tokens(token)) & terms:
            continue
        value = 2.0 if numeric and _is_value(token) else 1.0 if _is_name(token) else 0.0
        value -= 0.1 * min((abs(i - j) for j in near), default=10)
        if value > 0.5 and value > best_value:
            best, best_value = w, value
    if best is None:
        return None
    unit = re.match(r"\s?(?:million|billion|trillion)\b", sentence[best.end() :], re.I)
    return best.start(), best.end() + (unit.end() if unit else 0)


# ------------------------------------------------------------------------- LLM


def llm_answer(evidence: Evidence, llm: BaseChatModel, settings: Settings, k: int, history: list[Turn]) -> Answer:
    """The model's answer over the `k` passages chosen by MMR; only sentences backed by valid [n] survive."""
    passages = select_passages(evidence, k)
    numbered = [
        {"n": n, "title": c.title, "section": c.section, "page": c.page_start, "text": _one_line(c.text)}
        for n, c in enumerate(passages, start=1)
    ]
    turns = [{"role": role, "text": text} for t in history[-2:] for role, text in (("User", t.question), ("Assistant", t.answer.answer))]
    prompt = render_prompt(settings, "ask", question=evidence.question, passages=numbered, sentinel=DOES_NOT_SAY, history=turns)
    reply = invoke_text(llm, [HumanMessage(prompt)])
    return cited_answer(reply, passages, evidence.lang, evidence.question)


def select_passages(evidence: Evidence, k: int) -> list[Chunk]:
    """Up to `k` passages by maximal marginal relevance: relevant, but unlike the passages already chosen."""
    vectors = {}
    for sentence, vector in zip(evidence.sentences, evidence.vectors):
        vectors.setdefault(sentence.chunk.chunk_id, []).append(vector)
    centroid = {cid: _unit(np.mean(vs, axis=0)) for cid, vs in vectors.items()}
    chosen: list[Chunk] = []
    candidates = [(c, s) for c, s in zip(evidence.passages, evidence.passage_scores) if c.chunk_id in centroid]

    def mmr(item: tuple[Chunk, float]) -> float:
        chunk, score = item
        overlap = max((float(centroid[chunk.chunk_id] @ centroid[c.chunk_id]) for c in chosen), default=0.0)
        return MMR_LAMBDA * score - (1 - MMR_LAMBDA) * overlap

    while candidates and len(chosen) < k:
        best = max(candidates, key=mmr)
        chosen.append(best[0])
        candidates.remove(best)
    return chosen


def cited_answer(reply: str, passages: list[Chunk], lang: str, question: str = "") -> Answer:
    """Check a model's reply: the sentinel or a reply without one valid [n] is "does not say"; invalid numbers
    are dropped, sentences are checked against their sources (`checked`), sentences after the last citation
    of their paragraph (uncited claims) are cut, and the cited passages are renumbered in order of first use."""
    if _is_sentinel(reply):
        return not_said(lang)
    paragraphs = [_cited_part(checked(_keep_valid(p, len(passages)), passages, question))
                  for p in re.split(r"\n\s*\n", reply.strip())]
    text = "\n\n".join(p for p in paragraphs if p)
    order = list(dict.fromkeys(int(n) for m in _CITATION.finditer(text) for n in _numbers(m.group(1))))
    if not order:
        return not_said(lang)
    renumber = {old: new for new, old in enumerate(order, start=1)}
    text = _CITATION.sub(lambda m: "".join(f"[{renumber[n]}]" for n in _numbers(m.group(1))), text)
    citations = [_citation(renumber[old], passages[old - 1], passages[old - 1].text) for old in order]
    return Answer(answer=text.strip(), citations=citations, answered=True)


def checked(paragraph: str, passages: list[Chunk], question: str) -> str:
    """A paragraph whose sentences state only what their sources say: the numbers and names a sentence adds
    to the question must all be in a passage it cites; failing that, its citation moves to the first passage
    that has them all, and if none has, the sentence goes."""
    kept, start = [], 0
    ends = [m.end() for m in _SENTENCE_END.finditer(paragraph)]
    for end in ends + ([len(paragraph)] if not ends or ends[-1] < len(paragraph) else []):
        sentence, start = paragraph[start:end], end
        facts = _facts(_CITATION.sub("", sentence), question)
        cited = [n for m in _CITATION.finditer(sentence) for n in _numbers(m.group(1))]
        holders = [n for n, chunk in enumerate(passages, start=1) if _states(chunk.text, facts)]
        if not facts or any(n in holders for n in cited) or (holders and not cited):
            kept.append(sentence)
        elif holders:
            first = _CITATION.search(sentence)
            kept.append(sentence[: first.start()] + f"[{holders[0]}]" + _CITATION.sub("", sentence[first.end() :]))
    return "".join(kept).strip()


def _facts(sentence: str, question: str) -> set[str]:
    """The values and names a sentence states that its question does not, normalized ("two" -> "2")."""
    asked = normalize(question)
    words = [w for w in _WORD.findall(sentence) if _is_value(w) or _is_name(w)]
    return {_SPELLED.get(normalize(w), normalize(w)) for w in words if normalize(w) not in asked}


def _states(text: str, facts: set[str]) -> bool:
    words = {_SPELLED.get(w, w) for w in _WORD.findall(normalize(text))}
    return facts <= words


def _keep_valid(text: str, count: int) -> str:
    """`text` with its citation markers reduced to the numbers of real passages (markers left empty go)."""

    def repl(m: re.Match) -> str:
        numbers = [n for n in _numbers(m.group(1)) if 1 <= n <= count]
        return f"[{', '.join(map(str, numbers))}]" if numbers else ""

    text = _CITATION.sub(repl, text)
    return re.sub(r"[ \t]+([.,;:!?。，；：！？])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


def _cited_part(paragraph: str) -> str:
    """A paragraph up to the end of its last sentence that cites a passage: later sentences are uncited claims."""
    last = None
    for m in _CITATION.finditer(paragraph):
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


# -------------------------------------------------------------------- citations


def _citation(n: int, chunk: Chunk, text: str, page: int | None = None) -> Citation:
    return Citation(n=n, paper_id=chunk.paper_id, title=chunk.title, section=chunk.section,
                    page=page or chunk.page_start, text=text)


def _spans_pages(chunk: Chunk) -> bool:
    return chunk.page_start != chunk.page_end and chunk.kind == "text"


def _parses(settings: Settings, papers: set[str]) -> dict[str, ParsedPaper]:
    """The stored parses of `papers` (those the catalog has), read in one opening of the catalog."""
    if not papers or not settings.catalog_path.exists():
        return {}
    with Catalog(settings.catalog_path) as catalog:
        parses = {p: catalog.load_parse(p) for p in papers}
    return {p: parsed for p, parsed in parses.items() if parsed}


def sentence_page(sentence: Sentence, parsed: ParsedPaper | None) -> int:
    """The page a sentence is on: its passage's, or for a passage spanning pages, found in its paper's parse."""
    chunk = sentence.chunk
    if not _spans_pages(chunk) or parsed is None:
        return chunk.page_start
    for path, section in zip(section_paths(parsed.sections), parsed.sections):
        where = section.text.find(chunk.text) if path == chunk.section else -1
        if where >= 0:
            return page_of(section, where + sentence.start)
    return chunk.page_start


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def _one_line(text: str) -> str:
    return " ".join(text.split())
