"""Paper list files: `corpus/papers.toml` (`[[paper]]` tables with id, note, tags) or plain text, one id a line."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import DigestError



@dataclass
class ListedPaper:
    """A paper as a list names it: the id as written, and the survey's note and tags for it."""

    id: str
    note: str | None = None
    tags: list[str] = field(default_factory=list)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    note: str | None = None
    tags: list[str] = []


class _ListFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paper: list[_Entry] = []


def read_list(path: Path) -> list[ListedPaper]:
    """The papers in a `.toml` list or a plain-text one (`#` starts a comment; text after the id is its note)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DigestError(f"cannot read the paper list {path}: {exc}") from exc
    return _from_toml(path, text) if path.suffix.lower() == ".toml" else _from_text(text)


def _from_toml(path: Path, text: str) -> list[ListedPaper]:
    try:
        data = _ListFile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise DigestError(f"{path}: not valid TOML ({exc}); fix the file or use one id per line") from exc
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DigestError(
            f"{path}: {problem} (expected [[paper]] tables with id = \"...\", optional note and tags)"
        ) from exc
    return [ListedPaper(e.id, e.note, e.tags) for e in data.paper]


def _from_text(text: str) -> list[ListedPaper]:
    papers = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ident, _, note = line.partition(" ")
            papers.append(ListedPaper(ident, note.strip() or None))
    return papers
