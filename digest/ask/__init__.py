"""Answer questions over the indexed papers, citing paper, section and page; say so when the corpus does not.

The pipeline: resolve the paper/tag filters, turn a follow-up into a standalone query (`conversation`), retrieve
candidate passages (hybrid search), drop duplicates, then score the sentences of the candidates against the
question (`evidence`). The best sentence's score is the strength of the evidence: below
`settings.answer_threshold`, or when the question names a model or benchmark that no candidate passage mentions,
the answer is "the corpus does not say". Otherwise the extractive backend answers with the best sentences,
verbatim, each cited (`extractive`); the LLM backend answers from numbered passages (chosen by relevance with
diversity, MMR) and keeps only the sentences whose `[n]` citations point at a real passage (`with_llm`,
`citations`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.catalog import Catalog
from digest.errors import DigestError
from digest.glossary import is_non_english
from digest.ids import paper_key
from digest.index import Index
from digest.llm import resolve_backend
from digest.models import Answer
from digest.settings import Settings

from .citations import NOT_SAID, not_said
from .conversation import Turn, cited_papers, standalone_query
from .evidence import gather_candidates, unknown_names
from .extractive import answer_span, extractive_answer
from .with_llm import llm_answer

if TYPE_CHECKING:  # only the llm backend imports langchain (~1 s)
    from langchain_core.language_models import BaseChatModel

__all__ = ["NOT_SAID", "Asker", "Turn", "answer_span", "ask", "ask_turn"]


def ask(question: str, index: Index, settings: Settings, **options) -> Answer:
    """The answer alone of `ask_turn` (same options): extractive, or by `llm`; cited, or "does not say"."""
    return ask_turn(question, index, settings, **options).answer


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
    """Answer `question` from the index, extractively or with `llm` when given, within `papers`/`tags`, as a
    follow-up of `history`; the whole exchange (query and paper focus too) for a conversation to build on."""
    question = question.strip()
    if not question:
        raise DigestError("empty question: ask something, e.g. digest ask \"Which optimizer does LLaMA use?\"")
    lang = question_lang(question)
    allowed = paper_filter(settings, index, papers or [], tags or [])
    query, focus = standalone_query(question, history or [], llm, settings)
    scope = allowed if focus is None else [p for p in focus if allowed is None or p in allowed] or allowed
    candidates = gather_candidates(query, index, scope, lang)
    if candidates.strength < settings.answer_threshold or unknown_names(query, candidates.passages):
        answer = not_said(lang)
    elif llm is None:
        answer = extractive_answer(candidates, settings)
    else:
        answer = llm_answer(candidates, llm, settings, k or settings.top_k, history or [])
    papers_in_focus = cited_papers(answer) or scope
    return Turn(question=question, answer=answer, query=query, papers=papers_in_focus, strength=candidates.strength)


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
    def open(cls, settings: Settings, papers=(), tags=()) -> "Asker":
        """An asker over the current index, answering with `settings.backend`."""
        return cls(settings, Index.open(settings), resolve_backend(settings, settings.backend)[1], list(papers), list(tags))

    def ask(self, question: str) -> Turn:
        turn = ask_turn(question, self.index, self.settings, self.llm, self.papers, self.tags, self.history, self.k)
        self.history.append(turn)
        return turn


def question_lang(text: str) -> str:
    return "zh" if is_non_english(text) else "en"


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
