"""Answer questions over the indexed papers, citing paper, section and page; say so when the corpus does not.

The pipeline: resolve the paper/tag filters, turn a follow-up into a standalone query, retrieve candidate
passages (hybrid search), drop duplicates, then score every sentence of every candidate against the question
(query-term overlap weighted by rarity, embedding similarity, a bonus for numbers when a value is asked for).
The best sentence's score is the strength of the evidence: below `settings.answer_threshold` the answer is
"the corpus does not say". Otherwise the extractive backend answers with the best sentences, verbatim, each
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
from .glossary import is_non_english, translate_terms
from .ids import InvalidId, parse_id
from .index import Index, bm25_tokens
from .llm import DOES_NOT_SAY, INSTALL_HINT, chat_model, invoke_text, render_prompt
from .models import Answer, Chunk, Citation
from .settings import Settings
from .text import normalize

NOT_SAID = {"en": "The corpus does not say.", "zh": "语料中没有提到这一点。"}
CANDIDATES = 24  # passages retrieved before sentence scoring
MAX_SENTENCES = 3  # in an extractive answer
SENTENCE_SLACK = 0.08  # further answer sentences score within this of the best one
MMR_LAMBDA = 0.7  # relevance against diversity when choosing the LLM's passages
LONG_SENTENCE = 400  # characters; longer "sentences" (run-on PDF text) are cut into pieces

# weights of the sentence score; see bench/ask.py for the calibration of these and of the threshold
W_TERMS, W_CONTEXT, W_EMBED, W_NUMBER = 0.5, 0.15, 0.5, 0.1

_NUMERIC_QUESTION = re.compile(
    r"\bhow (?:many|much|long|large|big|fast|often|far)\b|\bby how\b|\bwhat (?:\w+ )?(?:value|score|number|size|"
    r"percentage|rate|ratio|accuracy|count|amount|length|budget)\b|\bnumber of\b|多少|几个|几种|数值|比例|比率|得分|分数|准确率",
    re.I,
)
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
_NAME = re.compile(r"\b(?:[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9][\w.\-]*|[A-Z][a-z]+[\w\-]*\d[\w.\-]*|[A-Z][a-z]{2,}\w*)")
_NOT_NAMES = frozenset(
    "what which who whom whose when where why how does did do is are was were can could and also the in for of "
    "please tell give list explain compare describe summarize".split()
)
_SENTENCE_END_ANY = re.compile(r"(?<=[.!?。！？])\s*")


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
    numeric: bool
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
    if evidence.strength < settings.answer_threshold:
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
    chosen = []
    for text in papers:
        try:
            chosen.append(parse_id(text).base)
        except InvalidId as exc:
            raise DigestError(f"--paper {text!r} is not an arXiv id: give one such as 2302.13971") from exc
    missing = [p for p in chosen if p not in index.papers]
    if missing:
        raise DigestError(f"paper {missing[0]} is not in the index: fetch it and run `digest index`, or drop --paper {missing[0]}")
    if tags:
        chosen += [p for p in tagged_papers(settings, tags) if p in index.papers]
    if not chosen:
        raise DigestError(f"no indexed paper is tagged {' or '.join(map(repr, tags))}: see the tags with `digest list`")
    return sorted(set(chosen))


def tagged_papers(settings: Settings, tags: list[str]) -> list[str]:
    """Catalog papers carrying any of `tags` (compared case-insensitively)."""
    if not settings.catalog_path.exists():
        raise DigestError(f"no catalog at {settings.catalog_path}, so no tags: fetch papers first (or pass -w)")
    wanted = {t.strip().lower() for t in tags}
    with Catalog(settings.catalog_path) as catalog:
        return [p.arxiv_id for p in catalog.papers() if wanted & {t.lower() for t in p.tags}]


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
        rewritten = invoke_text(llm, [HumanMessage(render_prompt(settings, "condense", history=turns, question=question))])
        rewritten = rewritten.strip().strip('"').splitlines()[0].strip() if rewritten.strip() else ""
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
    return list(dict.fromkeys(c.arxiv_id for c in answer.citations)) or None


# ---------------------------------------------------------------------- evidence


def gather_evidence(query: str, index: Index, papers: list[str] | None, lang: str) -> Evidence:
    """Retrieve candidates for `query`, drop duplicates, and score all their sentences."""
    english = translate_terms(query) if is_non_english(query) else query
    hits = index.search(query, k=CANDIDATES, mode="hybrid", papers=papers)
    passages = distinct_passages([h.chunk for h in hits])
    sentences = [s for rank, chunk in enumerate(passages) for s in split_sentences(chunk)]
    numeric = bool(_NUMERIC_QUESTION.search(query))
    if not sentences:
        return Evidence(query, lang, passages, [], np.zeros((0, 1), np.float32), numeric)
    embedder = index.embedder
    vectors = embedder.embed([s.text for s in sentences])
    similarity = vectors @ embedder.embed_query(english)
    score_sentences(english, sentences, similarity, numeric)
    order = sorted(range(len(sentences)), key=lambda i: -sentences[i].score)
    evidence = Evidence(query, lang, passages, [sentences[i] for i in order], vectors[order], numeric)
    best = {}
    for s in evidence.sentences:
        best.setdefault(s.chunk.chunk_id, s.score)
    evidence.passage_scores = [best.get(c.chunk_id, 0.0) for c in passages]
    return evidence


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


def score_sentences(question: str, sentences: list[Sentence], similarity: np.ndarray, numeric: bool) -> None:
    """Set each sentence's score: question terms it holds (rare ones weigh more), those in its heading or
    caption, its embedding similarity, and whether it states a number when the question asks for a value."""
    terms = query_terms(question)
    own = [set(bm25_tokens(s.text)) for s in sentences]
    around = [set(bm25_tokens(f"{s.chunk.title} {s.chunk.section} {s.context}")) for s in sentences]
    weights = {t: np.log(1 + len(sentences) / (1 + sum(t in words for words in own))) for t in terms}
    total = sum(weights.values()) or 1.0
    asked_numbers = set(_NUMBER.findall(question))
    for sentence, words, context, sim in zip(sentences, own, around, similarity):
        held = sum(w for t, w in weights.items() if t in words) / total
        nearby = sum(w for t, w in weights.items() if t in context and t not in words) / total
        states_number = bool(set(_NUMBER.findall(sentence.text)) - asked_numbers)
        bonus = W_NUMBER * (1 if states_number else -1) if numeric else 0.0
        sentence.score = float(W_TERMS * held + W_CONTEXT * nearby + W_EMBED * sim + bonus)


def query_terms(question: str) -> list[str]:
    """The content words of a question, stemmed as the index stems them, without question words."""
    return [t for t in dict.fromkeys(bm25_tokens(question)) if t not in _question_stems()]


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
    citations = [_citation(n, s.chunk, s.text, sentence_page(settings, s)) for n, s in enumerate(chosen, start=1)]
    text = " ".join(f"{_one_line(s.text)} [{n}]" for n, s in enumerate(chosen, start=1))
    return Answer(answer=text, citations=citations, answered=True)


def answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """Where in `sentence` the answer to `question` most likely is, for highlighting: the new number (when a
    value is asked for) or name nearest to the question's terms."""
    english = translate_terms(question) if is_non_english(question) else question
    terms = set(query_terms(english))
    words = list(re.finditer(r"[\w.%\-×]+", sentence))
    matched = [i for i, w in enumerate(words) if set(bm25_tokens(w.group())) & terms]
    numeric = bool(_NUMERIC_QUESTION.search(question))
    best, best_score = None, 0.0
    for i, w in enumerate(words):
        token = w.group().strip(".-")
        if not token or set(bm25_tokens(token)) & terms or token.lower() in english.lower():
            continue
        is_number = bool(_NUMBER.fullmatch(token))
        is_name = bool(re.search(r"[A-Z].*[A-Z0-9]|\d", token[1:])) and not is_number
        value = (2.0 if is_number and numeric else 0.0) + (1.0 if is_name else 0.0) + (0.5 if is_number else 0.0)
        if value == 0:
            continue
        distance = min((abs(i - j) for j in matched), default=10)
        value -= 0.1 * distance
        if best is None or value > best_score:
            best, best_score = w, value
    if best is None:
        return None
    start, end = best.start(), best.start() + len(best.group().rstrip(".-"))
    unit = re.match(r"\s?(?:%|million|billion|trillion|[KMBT]\b)", sentence[end:])
    return start, end + (unit.end() if unit else 0)


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
    return cited_answer(reply, passages, evidence.lang)


def select_passages(evidence: Evidence, k: int) -> list[Chunk]:
    """Up to `k` passages by maximal marginal relevance: relevant, but unlike the passages already chosen."""
    scored = [(c, s) for c, s in zip(evidence.passages, evidence.passage_scores)]
    vectors = {}
    for sentence, vector in zip(evidence.sentences, evidence.vectors):
        vectors.setdefault(sentence.chunk.chunk_id, []).append(vector)
    centroid = {cid: _unit(np.mean(vs, axis=0)) for cid, vs in vectors.items()}
    chosen: list[Chunk] = []
    candidates = [(c, s) for c, s in scored if c.chunk_id in centroid]
    while candidates and len(chosen) < k:
        def mmr(item):
            chunk, score = item
            overlap = max((float(centroid[chunk.chunk_id] @ centroid[c.chunk_id]) for c in chosen), default=0.0)
            return MMR_LAMBDA * score - (1 - MMR_LAMBDA) * overlap

        best = max(candidates, key=mmr)
        chosen.append(best[0])
        candidates.remove(best)
    return chosen


def cited_answer(reply: str, passages: list[Chunk], lang: str) -> Answer:
    """Check a model's reply: the sentinel or a reply without one valid [n] is "does not say"; invalid numbers
    are dropped, sentences after the last citation of their paragraph (uncited claims) are cut, and the cited
    passages are renumbered in order of first citation."""
    if _is_sentinel(reply):
        return not_said(lang)
    kept_paragraphs = []
    for paragraph in re.split(r"\n\s*\n", reply.strip()):
        sentences = [s for s in _SENTENCE_END_ANY.split(paragraph.strip()) if s.strip()]
        cleaned = [_keep_valid(s, len(passages)) for s in sentences]
        last_cited = max((i for i, (_, ns) in enumerate(cleaned) if ns), default=-1)
        kept_paragraphs.append(" ".join(text for text, _ in cleaned[: last_cited + 1]) if lang == "en"
                               else "".join(text for text, _ in cleaned[: last_cited + 1]))
    text = "\n\n".join(p for p in kept_paragraphs if p.strip())
    order = list(dict.fromkeys(int(n) for m in _CITATION.finditer(text) for n in _numbers(m.group(1))))
    if not order:
        return not_said(lang)
    renumber = {old: new for new, old in enumerate(order, start=1)}
    text = _CITATION.sub(lambda m: "".join(f"[{renumber[n]}]" for n in _numbers(m.group(1))), text)
    citations = [_citation(renumber[old], passages[old - 1], passages[old - 1].text) for old in order]
    return Answer(answer=text.strip(), citations=citations, answered=True)


def _keep_valid(sentence: str, count: int) -> tuple[str, list[int]]:
    """A sentence with its citation markers reduced to valid passage numbers, and those numbers."""
    valid: list[int] = []

    def repl(m: re.Match) -> str:
        numbers = [n for n in _numbers(m.group(1)) if 1 <= n <= count]
        valid.extend(numbers)
        return f"[{', '.join(map(str, numbers))}]" if numbers else ""

    text = _CITATION.sub(repl, sentence)
    return re.sub(r"\s+([.,;:!?。，；：！？])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip(), valid


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
    return Citation(n=n, arxiv_id=chunk.arxiv_id, title=chunk.title, section=chunk.section,
                    page=page or chunk.page_start, text=text)


def sentence_page(settings: Settings, sentence: Sentence) -> int:
    """The page a sentence is on: its passage's, or for a passage spanning pages, found in the stored parse."""
    chunk = sentence.chunk
    if chunk.page_start == chunk.page_end or chunk.kind != "text" or not settings.catalog_path.exists():
        return chunk.page_start
    with Catalog(settings.catalog_path) as catalog:
        parsed = catalog.load_parse(chunk.arxiv_id)
    for path, section in zip(section_paths(parsed.sections) if parsed else [], parsed.sections if parsed else []):
        where = section.text.find(chunk.text) if path == chunk.section else -1
        if where >= 0:
            return page_of(section, where + sentence.start)
    return chunk.page_start


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def _one_line(text: str) -> str:
    return " ".join(text.split())
