"""The LLM answer: the model answers from numbered passages, chosen by relevance with diversity (MMR), and only
the sentences whose `[n]` citations point at a real passage that states them are kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digest.llm import DOES_NOT_SAY, invoke_text, render_prompt
from digest.models import Answer, Chunk
from digest.settings import Settings
from digest.text import single_line

from .citations import cited_answer
from .conversation import Turn
from .evidence import Candidates

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

MMR_LAMBDA = 0.7  # relevance against diversity when choosing the LLM's passages


def llm_answer(candidates: Candidates, llm: BaseChatModel, settings: Settings, k: int, history: list[Turn]) -> Answer:
    """The model's answer over the `k` passages chosen by MMR; only sentences backed by valid [n] survive."""
    passages = select_passages(candidates, k)
    numbered = [
        {"n": n, "title": c.title, "section": c.section, "page": c.page_start, "text": single_line(c.text)}
        for n, c in enumerate(passages, start=1)
    ]
    turns = [{"role": role, "text": text} for t in history[-2:] for role, text in (("User", t.question), ("Assistant", t.answer.answer))]
    prompt = render_prompt(settings, "ask", question=candidates.question, passages=numbered, sentinel=DOES_NOT_SAY, history=turns)
    from langchain_core.messages import HumanMessage

    reply = invoke_text(llm, [HumanMessage(prompt)])
    return cited_answer(reply, passages, candidates.lang, candidates.question)


def select_passages(candidates: Candidates, k: int) -> list[Chunk]:
    """Up to `k` passages by maximal marginal relevance: relevant, but unlike the passages already chosen."""
    vectors = {}
    for sentence, vector in zip(candidates.sentences, candidates.vectors):
        vectors.setdefault(sentence.chunk.chunk_id, []).append(vector)
    centroid = {cid: _unit(np.mean(vs, axis=0)) for cid, vs in vectors.items()}
    chosen: list[Chunk] = []
    scored = [(c, s) for c, s in zip(candidates.passages, candidates.passage_scores) if c.chunk_id in centroid]

    def mmr(item: tuple[Chunk, float]) -> float:
        chunk, score = item
        overlap = max((float(centroid[chunk.chunk_id] @ centroid[c.chunk_id]) for c in chosen), default=0.0)
        return MMR_LAMBDA * score - (1 - MMR_LAMBDA) * overlap

    while scored and len(chosen) < k:
        best = max(scored, key=mmr)
        chosen.append(best[0])
        scored.remove(best)
    return chosen


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v
