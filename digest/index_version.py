"""An index version's chunks on disk, read on demand: `chunks.jsonl` (one `Chunk` as JSON a line) and
`chunks.ends.npy` (int64: where each line ends), both memory-mapped. A search parses only the chunks it returns,
so opening an index costs the same for 6,000 chunks or 15 million (bench/README.md, 15M plan)."""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np
from pydantic import ValidationError

from .errors import DigestError
from .models import Chunk

LINES, ENDS = "chunks.jsonl", "chunks.ends.npy"


def write_chunks(folder: Path, chunks: Iterable[Chunk]) -> int:
    """Write `chunks` and their line ends into `folder`; returns how many."""
    ends = []
    with open(folder / LINES, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk.model_dump_json().encode() + b"\n")
            ends.append(fh.tell())
    np.save(folder / ENDS, np.asarray(ends, dtype=np.int64))
    return len(ends)


class ChunkFile(Sequence[Chunk]):
    """The chunks of `folder`, parsed when first indexed and kept. A version written before the ends file
    existed is scanned for its line ends once, at open. Raises DigestError when the two files disagree (at
    open) or a line is not a chunk (when it is read)."""

    def __init__(self, folder: Path):
        self.path = folder / LINES
        with open(self.path, "rb") as fh:
            size = fh.seek(0, 2)
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            self._ends = np.load(folder / ENDS, mmap_mode="r") if (folder / ENDS).exists() else _line_ends(self._data)
        except ValueError as exc:
            raise DigestError(f"{folder / ENDS} is unreadable ({exc}): run `digest index --force`") from exc
        if (self._ends[-1] if len(self._ends) else 0) != size:
            raise DigestError(f"{self.path} does not match {ENDS} (truncated or changed): run `digest index --force`")
        self._parsed: dict[int, Chunk] = {}

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        if i not in self._parsed:
            start = int(self._ends[i - 1]) if i else 0
            try:
                self._parsed[i] = Chunk.model_validate_json(self._data[start : int(self._ends[i])])
            except ValidationError as exc:
                raise DigestError(f"line {i + 1} of {self.path} is not a chunk: run `digest index --force`") from exc
        return self._parsed[i]

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


def _line_ends(data) -> np.ndarray:
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10).astype(np.int64) + 1
