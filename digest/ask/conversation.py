"""A conversation: its turns, and how a follow-up question becomes a query that stands on its own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from typing import TYPE_CHECKING

from digest.llm import invoke_text, render_prompt
from digest.models import Answer
from digest.settings import Settings

from .terms import names

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

_FOLLOW_UP = re.compile(
    r"\b(?:it|its|they|them|their|this|that|these|those|the same|the model|the paper|the method|also|what about|"
    r"how about|and)\b|它|它们|其|这个|那个|该|这篇|这些|那么|呢",
    re.I,
)


@dataclass
class Turn:
    """One exchange of a conversation: the question as asked, the query it became, and the answer."""

    question: str
    answer: Answer
    query: str = ""
    papers: list[str] | None = None
    strength: float = 0.0  # the evidence score the threshold was applied to


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
        from langchain_core.messages import HumanMessage

        reply = invoke_text(llm, [HumanMessage(render_prompt(settings, "condense", history=turns, question=question))])
        rewritten = next(iter(reply.strip().strip('"').splitlines()), "").strip()
        return (rewritten or question), None
    previous = history[-1]
    if not is_follow_up(question):
        return question, None
    carried = [n for n in names(previous.query or previous.question) if n.lower() not in question.lower()]
    query = " ".join([question, *carried])
    return query, previous.papers


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the one before: it refers back, or names no model, paper or benchmark."""
    return bool(_FOLLOW_UP.search(question)) or not names(question)


def cited_papers(answer: Answer) -> list[str] | None:
    """The papers an answer cites, in order of first citation; None when it cites none."""
    return list(dict.fromkeys(c.paper_id for c in answer.citations)) or None
