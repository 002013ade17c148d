"""Paper list files: `corpus/papers.toml` (`[[paper]]` tables with id, note, tags) or plain text, one id a line."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import DigestError


class ListedPaper(BaseModel):
    """A paper as a list names it: the id as written, and the survey's note and tags for it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    note: str | None = None
    tags: list[str] = []


class _ListFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paper: list[ListedPaper] = []


def read_list(path: Path) -> list[ListedPaper]:
    """The papers in a `.toml` list or a plain-text one (`#` starts a comment; text after the id is its note)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not UTF-8 text"
        raise DigestError(f"cannot read the paper list {path}: {problem}; pass a UTF-8 .toml or text file") from exc
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
    return data.paper


def _from_text(text: str) -> list[ListedPaper]:
    papers = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ident, _, note = line.partition(" ")
            papers.append(ListedPaper(id=ident, note=note.strip() or None))
    return papers
