"""What the app keeps between requests: the workspace's settings, the index and answering backend (opened on the
first question, reopened after papers are added), each browser's conversation, and the add-papers jobs."""

from __future__ import annotations

import threading
from collections import OrderedDict

from langchain_core.language_models import BaseChatModel

from ..ask import Turn, ask_turn
from ..index import Index
from ..llm import resolve_backend
from ..settings import Settings
from .jobs import Jobs

KEEP_CONVERSATIONS = 200  # browsers remembered, the least recent forgotten first
KEEP_TURNS = 20  # of each conversation
_UNRESOLVED = object()


class Library:
    """The state shared by all requests of one app."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.jobs = Jobs(settings, on_indexed=self.reopen)
        self._conversations: OrderedDict[str, list[Turn]] = OrderedDict()
        self._lock = threading.Lock()  # one question at a time: the index and the model are shared
        self._index: Index | None = None
        self._llm: BaseChatModel | None | object = _UNRESOLVED  # the chat model, or None: extractive answers

    def ask(self, session: str, question: str) -> Turn:
        """Answer `question` as the next turn of `session`'s conversation."""
        with self._lock:
            index, llm = self._open_index(), self._open_backend()
            history = self._conversations.get(session, [])
            turn = ask_turn(question, index, self.settings, llm, history=history)
            self._conversations[session] = (history + [turn])[-KEEP_TURNS:]
            self._conversations.move_to_end(session)
            while len(self._conversations) > KEEP_CONVERSATIONS:
                self._conversations.popitem(last=False)
        return turn

    def conversation(self, session: str) -> list[Turn]:
        return list(self._conversations.get(session, []))

    def forget(self, session: str) -> None:
        self._conversations.pop(session, None)

    def reopen(self) -> None:
        """Open the index again on the next question (papers were added)."""
        with self._lock:
            self._index = None

    def _open_index(self) -> Index:
        if self._index is None:
            self._index = Index.open(self.settings)
        return self._index

    def _open_backend(self) -> BaseChatModel | None:
        if self._llm is _UNRESOLVED:
            self._llm = resolve_backend(self.settings, self.settings.backend)[1]
        return self._llm
