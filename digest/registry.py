"""Named implementations of one kind (export formats, LLM clients), filled by a decorator where each is defined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import DigestError

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """Name -> implementation, in registration order; `kind` names them in errors ("export format")."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: make the decorated class or function available under `name`."""

        def add(item: T) -> T:
            self[name] = item
            return item

        return add

    def find(self, name: str) -> T:
        """The implementation called `name`; an unknown name is a DigestError listing the known ones."""
        if name not in self:
            raise DigestError(f"unknown {self.kind} {name!r}: use one of {', '.join(self)}")
        return self[name]
