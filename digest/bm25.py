"""The BM25 ranking: built with bm25s, read back for queries with numpy alone.

bm25s stores a BM25 index as its precomputed term-document scores (a CSC matrix: one column of documents and
scores per term) and its vocabulary. A query's scores are the sums of its terms' columns, which is all a search
needs; reading the arrays directly spares each `digest search` importing bm25s and scipy (~0.4 s), and memory-maps
them, so a large index is not read into memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_METHODS = ("lucene", "robertson", "atire")  # those whose absent terms score 0 (bm25l and bm25+ do not)


def write_bm25(documents: list[list[str]], path: Path) -> None:
    """Index `documents` (each a list of terms) with bm25s into the folder `path`."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(documents or [["<empty>"]], show_progress=False)  # bm25s needs a word; no query has this one
    retriever.save(str(path), show_progress=False)


@dataclass(frozen=True)
class Bm25Scores:
    """A saved bm25s index, memory-mapped: its vocabulary and the term-document scores."""

    vocab: dict[str, int]  # term -> column
    data: np.ndarray  # scores, column by column
    indices: np.ndarray  # the document of each score
    indptr: np.ndarray  # where each column starts in data/indices
    documents: int

    @classmethod
    def load(cls, path: Path) -> "Bm25Scores":
        """The index in folder `path`; ValueError if it is not one this reader scores exactly as bm25s does."""
        params = json.loads((path / "params.index.json").read_text())
        if params.get("method") not in _METHODS or not isinstance(params.get("num_docs"), int):
            raise ValueError(f"BM25 parameters {params} are not those of a bm25s index digest can read")
        arrays = {name: np.load(path / f"{name}.csc.index.npy", mmap_mode="r") for name in ("data", "indices", "indptr")}
        vocab = json.loads((path / "vocab.index.json").read_text(encoding="utf-8"))
        return cls(vocab, arrays["data"], arrays["indices"], arrays["indptr"], params["num_docs"])

    def term_ids(self, terms: list[str]) -> list[int]:
        """The columns of the terms the index knows, each once, in order."""
        return list(dict.fromkeys(self.vocab[t] for t in terms if t in self.vocab))

    def scores(self, ids: list[int]) -> np.ndarray:
        """Every document's BM25 score for the query of these term columns (bm25s `get_scores_from_ids`)."""
        out = np.zeros(self.documents, dtype=np.float32)
        for i in ids:
            start, end = self.indptr[i], self.indptr[i + 1]
            out[self.indices[start:end]] += self.data[start:end]  # a column holds each document once
        return out
