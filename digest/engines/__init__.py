"""Ingest engines: where `index` parses PDFs and chunks and embeds the parsed papers (`settings.engine`).

`local` works in this process, one paper at a time; `ray` on a Ray cluster (digest/engines/ray.py). An engine
only runs the work: what is parsed or embedded, and everything done with the results (the catalog, the saved
parts, the index version), is decided in digest/index.py, the same for every engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Protocol

import numpy as np

from ..chunk import Tokenizer, chunk_paper, passage_texts
from ..embed import Embedder, load_embedder
from ..models import Chunk, ParsedPaper
from ..outcome import OnProgress
from ..registry import Registry
from ..settings import Settings


class Embedded(NamedTuple):
    """One paper's chunks and their vectors (row-aligned), and how many distinct texts were embedded for them."""

    paper_id: str
    chunks: list[Chunk]  # empty when the parse holds no text
    vectors: np.ndarray
    texts: int


class Engine(Protocol):
    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """`fn` over `items`, results in their order, as the builtin `map` (both must pickle for a cluster)."""

    def embed(self, papers: dict[str, ParsedPaper], seconds: dict[str, float],
              on_progress: OnProgress) -> Iterator[Embedded]:
        """Chunk and embed each paper, yielding each as it is done; adds its steps' wall seconds to `seconds`."""


ENGINES: Registry[Callable[[Settings], Engine]] = Registry("ingest engine")


def open_engine(settings: Settings) -> Engine:
    """The engine `settings.engine` names, ready to work."""
    return ENGINES.find(settings.engine)(settings)


def passages(parsed: ParsedPaper, embedder: Embedder, settings: Settings) -> tuple[list[Chunk], list[str]]:
    """A paper's chunks and the text to embed for each (digest/chunk.py)."""
    tokenizer = Tokenizer(embedder.tokenizer, embedder.max_tokens)
    chunks = chunk_paper(parsed, tokenizer, settings.chunk_tokens, settings.chunk_overlap)
    return chunks, passage_texts(chunks, tokenizer)


def embed_texts(embedder: Embedder, texts: list[str], progress=None) -> tuple[np.ndarray, int]:
    """Vectors row-aligned with `texts`, each distinct text embedded once (the pieces of a table share one), and
    how many were embedded."""
    distinct = list(dict.fromkeys(texts))
    vectors = embedder.embed(distinct, progress=progress)
    row = {text: i for i, text in enumerate(distinct)}
    return vectors[[row[text] for text in texts]], len(distinct)


@ENGINES.register("local")
class LocalEngine:
    """This process: PDFs parsed one after another; papers chunked, then embedded one at a time (progress in
    texts embedded)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        return map(fn, items)

    def embed(self, papers: dict[str, ParsedPaper], seconds: dict[str, float],
              on_progress: OnProgress) -> Iterator[Embedded]:
        clock = time.perf_counter()
        embedder = load_embedder(self.settings.embedder, self.settings.device)
        chunked = {pid: passages(parsed, embedder, self.settings) for pid, parsed in papers.items()}
        seconds["chunk"] = time.perf_counter() - clock

        clock = time.perf_counter()
        total = sum(len(set(texts)) for _, texts in chunked.values())
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            on_progress("embed", done, total)

        on_progress("embed", 0, total)
        for pid, (chunks, texts) in chunked.items():
            yield Embedded(pid, chunks, *embed_texts(embedder, texts, progress))
        seconds["embed"] = time.perf_counter() - clock


from . import ray as _ray  # noqa: E402,F401 -- registers "ray"; Ray itself is imported when that engine opens
