"""The terminal side of `ask` and `chat`: answers with the answering span highlighted, their sources, and the
interactive loop in which follow-up questions build on the conversation."""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from ..ask import Asker, answer_span
from ..errors import DigestError, one_line
from ..models import Answer

EXIT_WORDS = {"exit", "quit", ":q", "bye", "退出"}
QUOTE_CHARS = 240  # of a cited passage shown under an LLM answer


def render_answer(console: Console, question: str, answer: Answer, extractive: bool) -> None:
    """Print an answer: each extractive sentence with its answering span highlighted, then the sources."""
    text = Text()
    if not answer.answered:
        text.append(answer.answer, style="yellow")
    elif extractive:
        for n, citation in enumerate(answer.citations, start=1):
            text.append_text(_highlighted(question, citation.text))
            text.append(f" [{n}]", style="bold cyan")
            text.append("\n")
    else:
        for piece in re.split(r"(\[\d+(?:, \d+)*\])", answer.answer):
            text.append(piece, style="bold cyan" if re.fullmatch(r"\[[\d, ]+\]", piece) else None)
    console.print(text)
    for c in answer.citations:
        line = Text(f"[{c.n}] ", style="bold cyan")
        line.append(c.title or c.paper_id, style="bold")
        line.append(f" (arXiv {c.paper_id}) · {c.section or 'no section'} · p. {c.page}", style="dim")
        console.print(line)
        if not extractive:
            quote = " ".join(c.text.split())
            console.print(Text(f"    {quote[:QUOTE_CHARS]}{'…' if len(quote) > QUOTE_CHARS else ''}", style="dim"))


def _highlighted(question: str, sentence: str) -> Text:
    sentence = " ".join(sentence.split())
    text = Text(sentence)
    span = answer_span(question, sentence)
    if span:
        text.stylize("bold black on yellow", *span)
    return text


def chat_loop(asker: Asker, console: Console, read: Callable[[], str]) -> int:
    """Ask question after question until `exit` or end of input; returns the number of questions answered.
    `read` returns the next line and raises EOFError at the end."""
    console.print(Text("Ask about the papers; follow-up questions use the conversation. `exit` ends.", style="dim"))
    asked = 0
    while True:
        try:
            question = read().strip()
        except (EOFError, KeyboardInterrupt):
            break
        if question.lower() in EXIT_WORDS:
            break
        if not question:
            continue
        try:
            turn = asker.ask(question)
        except DigestError as exc:
            console.print(Text(f"Error: {one_line(exc)}", style="red"))
            continue
        render_answer(console, question, turn.answer, asker.llm is None)
        asked += 1
    return asked
