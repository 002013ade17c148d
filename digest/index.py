"""The search index: chunks of every parsed paper, their vectors in FAISS, and BM25 over the same text.

Layout under `settings.index_dir`: one folder per version (`v000007/`: meta.json, chunks.jsonl and its line ends, dense.faiss,
bm25/) and a pointer file `CURRENT` naming the live one. A build writes a new folder and switches the
pointer with `os.replace`, so a crash mid-build leaves the previous index in use. Builds are incremental:
a paper is re-chunked and re-embedded only when its PDF, the parser or the chunking settings change. The vectors
go to disk a paper at a time and the dense index is built from that file BUILD_BLOCK vectors at a time.

Search ranks by dense similarity, BM25, or both (hybrid: by default a weighted sum of the two scores, each
scaled to 0..1; reciprocal-rank fusion on request). A Chinese (CJK) query is searched through its English
keywords from the bundled ML glossary.
Exact inner-product search up to `settings.ann_threshold` vectors, an approximate index above it, its recall
measured: IVF-PQ by default (compressed codes in memory, candidates re-scored exactly from the full vectors,
memory-mapped from disk: `Rescored`), or HNSW or IVF.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import mmap
import os
import shutil
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import ThreadpoolController

from .bm25 import Bm25Scores, write_bm25
from .chunk import CHUNKER_VERSION, table_key
from .index_version import ChunkFile, write_chunks
from .live import POINTER, live_version, version_meta
from .embed import load_embedder, model_location
from .embed_onnx import clean_encoders, encoder_ready, export_encoder, load_live_soon, query_embedder
from .errors import DigestError
from .files import safe_name, write_atomic
from .glossary import is_non_english, translate_terms
from .ids import paper_key
from .mentions import corpus_names, resolve
from .models import Chunk, Hit, ParsedPaper
from .outcome import OnProgress, OnResult, Outcome, ignore_progress, ignore_result
from .settings import Settings
from .text import BM25_TOKENS, bm25_tokens

if TYPE_CHECKING:
    from .catalog import Catalog  # what a build reads; a query never opens it

FORMAT = 2  # 2: chunks carry `paper_id`; meta holds each paper's `names` (mentions.corpus_names)
MODES = ("dense", "bm25", "hybrid")
DENSE_WEIGHT = 0.4  # share of the dense score in hybrid ranking, BM25 has the rest (bench/README.md, fusion study)
DENSE_WEIGHT_CLEAR = 0.2  # ... when BM25's best passage leads its second by CLEAR_LEAD standard deviations or more
CLEAR_LEAD = 0.25  # the max-margin threshold over the questions it decides, all splits (bench/eval.py lead_study)
CANDIDATES = 50  # per ranking, before fusion
TABLE_SLACK = 50  # extra dense candidates fetched so that dropping table copies still leaves CANDIDATES
RRF_K = 60  # reciprocal-rank fusion constant, as in Cormack et al. (2009)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
RECALL_TARGET = 0.95  # recall@10 of the approximate index against exact search, checked at build
PQ_DIMS = 4  # dimensions per byte of an IVF-PQ code (384-d: 96 bytes a vector; bench/README.md, IVF-PQ)
PQ_RESCORE = (10, 20, 40, 80)  # IVF-PQ candidates per wanted hit re-scored exactly: the first reaching RECALL_TARGET
PLATEAU = 0.002  # a recall gain below which probing more IVF-PQ cells is given up for more re-scored candidates
VECTORS = "vectors.npy"  # an IVF-PQ version's full vectors, float16, memory-mapped for re-scoring
PARTS = ".parts"  # each paper's chunks and vectors, saved as soon as embedded, until a version holds them
SCRATCH = ".vectors-f32.npy"  # a flat, HNSW or IVF build's float32 vectors on disk, deleted before the version is live
BUILD_BLOCK = 65_536  # vectors a build adds, scans or gathers at a time: 96 MiB of 384-d float32 whatever the corpus
# (a multiple of faiss's 1024-row BLAS blocks, so a block's exact scores are those of one search over all the rows)
TRAIN_PER_LIST = 64  # IVF training vectors per cell, a sample read from disk (FAISS asks for 30-256 a cell)


class IndexReport(BaseModel):
    """What a build did: counts, failures and seconds per stage."""

    model_config = ConfigDict(defer_build=True)  # built by the first build: queries never make one

    index_dir: str
    version: str | None = None
    papers: int = 0
    chunks: int = 0
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = Field(default_factory=list)
    failed: list[Outcome] = Field(default_factory=list)  # papers left out: unknown, unparsable, without text
    warned: list[Outcome] = Field(default_factory=list)  # papers indexed with a warning (e.g. no headings found)
    embedded: int = 0  # distinct passages embedded (the pieces of a table share one)
    reused: int = 0  # chunks taken from the saved parts of a build that died before writing its version
    ann: str = "flat"
    ann_recall_at_10: float | None = None
    seconds: dict[str, float] = Field(default_factory=dict)


# ------------------------------------------------------------------ lexical


def bm25_text(chunk: Chunk) -> str:
    return f"{chunk.title}\n{chunk.section}\n{chunk.text}"


# ------------------------------------------------------------------- search


class Index:
    """An opened index version. `Index.open(settings)`; the embedder is loaded on the first dense query."""

    def __init__(self, settings: Settings, path: Path, meta: dict, chunks: Sequence[Chunk], dense, bm25: Bm25Scores):
        self.settings = settings
        self.path = path
        self.meta = meta
        self.chunks = chunks
        self.dense = dense
        self.bm25 = bm25
        self.ranges: dict[str, tuple[int, int]] = {pid: tuple(r) for pid, r in meta["ranges"].items()}
        if "search_param" in meta:  # efSearch or nprobe, as tuned at build
            faiss.ParameterSpace().set_index_parameter(dense, *meta["search_param"])

    @classmethod
    def open(cls, settings: Settings) -> "Index":
        """The live index of the workspace; refuses one built with another embedder."""
        path = live_version(settings.index_dir)
        if path is None:
            raise DigestError(f"no index at {settings.index_dir}: run `digest index`")
        load_live_soon(settings.index_dir)  # the query encoder, checked and loaded while the rest loads
        index = cls.load(settings, path)
        index.check_embedder(settings.embedder)
        return index

    @classmethod
    def load(cls, settings: Settings, path: Path) -> "Index":
        try:
            meta = version_meta(path)
            chunks = ChunkFile(path)
            dense = faiss.read_index(str(path / "dense.faiss"))
            bm25 = Bm25Scores.load(path / "bm25")
        except (OSError, ValueError, RuntimeError) as exc:
            raise DigestError(f"index at {path} is unreadable ({exc}): run `digest index --force`") from exc
        if meta.get("format") != FORMAT:
            raise DigestError(f"index at {path} has format {meta.get('format')}, not {FORMAT}: run `digest index --force`")
        return cls(settings, path, meta, chunks, dense, bm25)

    def check_embedder(self, name: str) -> None:
        if not same_model(name, self.meta["embedder"]):
            raise DigestError(
                f"the index at {self.path.parent} was built with embedder {self.meta['embedder']!r} "
                f"({self.meta['dim']}-d), not {name!r}: run `digest index --force` to rebuild it, "
                f"or set embedder = {self.meta['embedder']!r}"
            )

    @cached_property
    def embedder(self):
        """The query embedder: the index's ONNX export, else its sentence-transformers model (`query_embedder`)."""
        self.check_embedder(self.settings.embedder)
        embedder = query_embedder(self.settings, self.meta, self.path.parent)
        if embedder.dim != self.meta["dim"]:
            raise DigestError(
                f"embedder {embedder.name!r} makes {embedder.dim}-d vectors but the index at {self.path.parent} "
                f"holds {self.meta['dim']}-d ones: run `digest index --force`"
            )
        return embedder

    @cached_property
    def _searcher(self):
        """The dense index to search: moved to the GPU when faiss-gpu sees one and the index is exact; IVF-PQ
        with its candidates re-scored from the stored vectors."""
        if self.meta["ann"] == "ivfpq":
            return Rescored(self.dense, self.vectors, self.meta["rescore"])
        if isinstance(self.dense, faiss.IndexFlat) and faiss.get_num_gpus() > 0:
            return faiss.index_cpu_to_all_gpus(self.dense)
        return self.dense

    @cached_property
    def vectors(self) -> np.ndarray:
        """All vectors, row-aligned with `chunks`: a view of the FAISS storage (a copy for IVF; for IVF-PQ the
        float16 file, memory-mapped)."""
        if self.meta["ann"] == "ivfpq":
            try:
                return np.load(self.path / VECTORS, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise DigestError(f"index at {self.path} is unreadable ({exc}): run `digest index --force`") from exc
        if isinstance(self.dense, faiss.IndexIVF):
            self.dense.make_direct_map()
            return self.dense.reconstruct_n(0, self.dense.ntotal)
        flat = faiss.downcast_index(self.dense.storage) if hasattr(self.dense, "storage") else self.dense
        view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d).view(_Backed)
        view.owner = self.dense  # the storage lives as long as the view or any slice of it, not as long as this Index
        return view

    @property
    def papers(self) -> list[str]:
        return list(self.ranges)

    def chunks_for(self, paper_id: str) -> list[Chunk]:
        start, count = self.ranges.get(paper_key(paper_id), (0, 0))
        return self.chunks[start : start + count]

    def search(self, query: str, k: int = 5, mode: str = "hybrid", papers: list[str] | None = None,
               fusion: str | None = None, route: bool = True) -> list[Hit]:
        """The `k` best passages for `query`, from `papers` when given, else (with `route`) from the papers the
        query names (`mentions.resolve`), else from all; a Chinese query is searched through its English terms
        too. `fusion` (hybrid only): "score" or "rrf"; default `settings.fusion`."""
        if mode not in MODES:
            raise DigestError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        combine = FUSIONS.get(fusion or self.settings.fusion)
        if combine is None:
            raise DigestError(f"unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}")
        if not query.strip():
            raise DigestError("empty query: give some words to search for")
        if papers is None and route:
            papers = resolve(query, self.meta["names"])
        rows = self._rows(papers)
        if is_non_english(query):
            query = translate_terms(query) or query
        depth = max(CANDIDATES, k)
        rankings = []
        if mode in ("dense", "hybrid"):
            rankings.append(self._dense(query, depth, rows))
        if mode in ("bm25", "hybrid"):
            rankings.append(self._bm25(query, depth, rows))
        if len(rankings) == 1:
            ranked = rankings[0]
        else:
            share = dense_share(rankings[1])
            ranked = combine(rankings, [share, 1 - share])
        return [Hit(chunk=self.chunks[row], score=round(score, 6)) for row, score in ranked[:k]]

    def _rows(self, papers: list[str] | None) -> np.ndarray | None:
        if papers is None:
            return None
        keys = [paper_key(p) for p in papers]
        missing = [p for p, key in zip(papers, keys) if key not in self.ranges]
        if missing:
            raise DigestError(f"paper {missing[0]} is not in the index ({len(self.ranges)} papers are): fetch or add it, "
                              "then run `digest index` (`digest list` shows the catalog)")
        return np.concatenate([np.arange(s, s + n) for s, n in (self.ranges[key] for key in keys)] or [np.zeros(0, int)])

    def _dense(self, query: str, depth: int, rows: np.ndarray | None) -> list[tuple[int, float]]:
        """The dense ranking, each table once: its pieces share one vector, so they would fill the ranking with
        copies of one score; the first piece stands for the table, and BM25 tells its rows apart."""
        q = self.embedder.embed_query(query)
        wider = depth + TABLE_SLACK
        if rows is not None:
            ranked = _top(_scores(self.vectors[rows], q), wider, rows)
        elif self._searcher is self.dense and isinstance(self.dense, faiss.IndexFlat):
            ranked = _top(_scores(self.vectors, q), wider, None)
        else:
            scores, ids = self._searcher.search(q[None, :], min(wider, len(self.chunks)))
            ranked = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        return once_per_group(ranked, self._table_head)[:depth]

    def _table_head(self, row: int) -> int:
        """The row of the first piece of the table `row` belongs to; another chunk is its own head."""
        key = table_key(self.chunks[row])
        while row > 0 and table_key(self.chunks[row - 1]) == key:
            row -= 1
        return row

    def _bm25(self, query: str, depth: int, rows: np.ndarray | None) -> list[tuple[int, float]]:
        ids = self.bm25.term_ids(bm25_tokens(query))
        if not ids:
            return []
        scores = self.bm25.scores(ids)
        if rows is not None:
            return [(r, s) for r, s in _top(scores[rows], depth, rows) if s > 0]
        return [(r, s) for r, s in _top(scores, depth, None) if s > 0]

    def remove(self, ids: Sequence[str]) -> int:
        """Delete these papers' vectors and chunks (a new index version); returns how many chunks went."""
        keys = {paper_key(i) for i in ids} & set(self.ranges)
        if not keys:
            return 0
        with _locked(self.path.parent):
            latest = Index.load(self.settings, live_version(self.path.parent) or self.path)
            keys &= set(latest.ranges)
            parts = {pid: latest._part(pid) for pid in latest.ranges if pid not in keys}
            removed = len(latest.chunks) - sum(len(c) for c, _, _ in parts.values())
            new, _ = _write_version(self.settings, latest.meta["embedder"], latest.meta["dim"], parts,
                                    encoder=latest.meta.get("encoder"))
        reloaded = Index.load(self.settings, new)
        self.__dict__.clear()
        self.__dict__.update(reloaded.__dict__)
        return removed

    def _part(self, paper_id: str) -> tuple[list[Chunk], np.ndarray, str]:
        start, count = self.ranges[paper_id]
        return self.chunks[start : start + count], self.vectors[start : start + count], self.meta["keys"][paper_id]


class _Backed(np.ndarray):
    """A view of memory that `owner` (a FAISS index) holds; slices keep the view, and so the owner, alive."""

    owner = None


def remove_from_index(settings: Settings, ids: Sequence[str]) -> int:
    """Delete papers' chunks and vectors from the workspace's index, if it has one; how many chunks went."""
    path = live_version(settings.index_dir)
    return Index.load(settings, path).remove(ids) if path else 0


def dense_share(bm25: list[tuple[int, float]]) -> float:
    """The dense ranking's weight in a hybrid: less when BM25 has a clear winner (a passage whose words match
    far better than the next one's), as for a question naming a rare term or number."""
    return DENSE_WEIGHT_CLEAR if bm25_lead(bm25) >= CLEAR_LEAD else DENSE_WEIGHT


def bm25_lead(bm25: list[tuple[int, float]]) -> float:
    """How far BM25's best passage leads its second, in standard deviations of its candidates' scores."""
    z = sorted(_zscores(bm25).values(), reverse=True)
    return z[0] - z[1] if len(z) > 1 else 0.0


def fuse(rankings: list[list[tuple[int, float]]], weights: Sequence[float]) -> list[tuple[int, float]]:
    """Weighted sum of each ranking's scores as z-scores over its candidates; a passage a ranking did not return
    gets that ranking's lowest z-score (it ranked below all of them).

    Standardizing puts dense cosines and BM25 scores on one scale while keeping how far apart they are: a
    passage BM25 finds far ahead of the rest stays ahead, which reciprocal-rank fusion forgets. Chosen over
    min-max scaling and RRF by leave-one-split-out cross-validation (bench/README.md).
    """
    scaled = [_zscores(ranking) for ranking in rankings]
    rows = {row for ranking in rankings for row, _ in ranking}
    floors = [min(z.values(), default=0.0) for z in scaled]
    scores = {row: sum(w * z.get(row, floor) for w, z, floor in zip(weights, scaled, floors)) for row in rows}
    return sorted(scores.items(), key=lambda item: -item[1])


def _zscores(ranking: list[tuple[int, float]]) -> dict[int, float]:
    if not ranking:
        return {}
    values = np.array([score for _, score in ranking])
    spread = values.std() or 1.0
    return {row: float((value - values.mean()) / spread) for (row, _), value in zip(ranking, values)}


def fuse_rrf(rankings: list[list[tuple[int, float]]], weights: Sequence[float]) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: each ranking adds weight / (RRF_K + rank) for the passages it holds."""
    scores: dict[int, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights):
        for rank, (row, _) in enumerate(ranking, start=1):
            scores[row] += weight / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


FUSIONS = {"score": fuse, "rrf": fuse_rrf}


def once_per_group(ranked: list[tuple[int, float]], head: Callable[[int], int]) -> list[tuple[int, float]]:
    """`ranked` with each group once, at its best rank, in the person of its head row (`head(row)`)."""
    seen: set[int] = set()
    out = []
    for row, score in ranked:
        if (group := head(row)) not in seen:
            seen.add(group)
            out.append((group, score))
    return out


def _scores(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`vectors @ query` on one BLAS thread: for one query a thread pool saves little, and its threads spin
    on after the call, taking a core from whatever runs next (the next query's embedding)."""
    with _blas().limit(limits=1, user_api="blas"):
        return vectors @ query


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _top(scores: np.ndarray, depth: int, rows: np.ndarray | None) -> list[tuple[int, float]]:
    """The `depth` best (row, score) pairs; `rows` maps positions of `scores` to index rows."""
    depth = min(depth, len(scores))
    if depth == 0:
        return []
    best = np.argpartition(-scores, depth - 1)[:depth]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(rows[i] if rows is not None else i), float(scores[i])) for i in best]


def same_model(a: str, b: str) -> bool:
    """Whether two embedder settings name the same model (a hub alias and the packaged copy count as one)."""
    return a == b or model_location(a) == model_location(b)


# -------------------------------------------------------------------- build


def chunking_key(settings: Settings) -> str:
    return f"chunker{CHUNKER_VERSION}:{settings.chunk_tokens}/{settings.chunk_overlap}"


def build_index(
    settings: Settings, catalog: Catalog, ids: list[str] | None = None, force: bool = False,
    on_result: OnResult = ignore_result, on_progress: OnProgress = ignore_progress,
) -> IndexReport:
    """Parse what is new or changed (all fetched papers, or `ids` in any id form), chunk and embed it, and switch
    to a new index version that holds it. Reports each paper's parse and index outcome to `on_result`, and the
    parse and embed steps (and a wait for another build) to `on_progress`. Resumable: papers embedded by a build
    that died are taken from their saved parts (`report.reused`), not embedded again; `force` embeds all anew.
    The embedder is exported for queries too (`embed_onnx.export_encoder`: once per model, `report.seconds["export"]`);
    an unchanged corpus whose index lacks a sound export, or whose BM25 was tokenized by an older `bm25_tokens`,
    gets a new version that has one (its chunks and vectors kept)."""
    from .engines import open_engine
    from .parse import parse_papers

    started = time.perf_counter()
    report = IndexReport(index_dir=str(settings.index_dir))
    with _locked(settings.index_dir, on_progress):
        if force:
            shutil.rmtree(settings.index_dir / PARTS, ignore_errors=True)
        current = live_version(settings.index_dir)
        try:
            previous = Index.load(settings, current) if current else None
        except DigestError:
            if not force:
                raise
            previous = None  # unreadable: --force rebuilds it
        if previous and not same_model(settings.embedder, previous.meta["embedder"]):
            if not force:
                previous.check_embedder(settings.embedder)
            previous = None  # another model: every paper is embedded again

        engine = open_engine(settings)
        clock = time.perf_counter()
        parses = parse_papers(settings, catalog, ids, on_result=on_result, on_progress=on_progress, mapper=engine.map)
        report.failed += [o for o in parses if o.failed]
        report.warned += [o for o in parses if o.warnings]
        wanted = list(dict.fromkeys(o.paper_id for o in parses if not o.failed))
        fresh: dict[str, tuple[ParsedPaper, str]] = {}
        kept: set[str] = set()
        for pid in wanted:
            parsed, key = _parsed(settings, catalog, pid)
            if previous and not force and previous.meta["keys"].get(pid) == key:
                kept.add(pid)
            else:
                fresh[pid] = (parsed, key)
        report.seconds["parse"] = time.perf_counter() - clock

        old = set(previous.ranges) if previous else set()
        failed = {o.paper_id for o in report.failed}
        if ids is not None:
            kept |= old - set(fresh) - failed
        report.removed = sorted(old - kept - set(fresh))
        report.unchanged = len(kept & set(wanted))
        if (previous and not fresh and not report.removed
                and previous.meta["ann"] == _ann_kind(len(previous.chunks), settings)
                and previous.meta.get("bm25_tokens") == BM25_TOKENS  # else BM25 is built again
                and encoder_ready(previous.meta, settings.index_dir)):
            chunks = {pid: count for pid, (_, count) in previous.ranges.items()}
            for outcome in _index_outcomes(wanted, fresh, chunks, report.failed):
                on_result(outcome)
            return _finish(report, previous.path.name, len(previous.ranges), len(previous.chunks), previous.meta, started)

        embedder = load_embedder(settings.embedder, settings.device)
        parts = {pid: previous._part(pid) for pid in kept} if previous else {}
        parts.update(_embed(settings, engine, fresh, report, on_progress))
        for pid in fresh:
            if pid in parts:
                (report.updated if pid in old else report.added).append(pid)
        clock = time.perf_counter()
        encoder = export_encoder(embedder, settings.index_dir, on_progress)
        report.seconds["export"] = time.perf_counter() - clock
        clock = time.perf_counter()
        path, meta = _write_version(settings, settings.embedder, embedder.dim, parts, encoder=encoder)
        for pid in fresh:
            for saved in (settings.index_dir / PARTS).glob(f"{safe_name(pid)}-{'?' * 16}.npz"):
                saved.unlink()
        report.seconds["index"] = time.perf_counter() - clock
        chunks = {pid: len(part[0]) for pid, part in parts.items()}
        for outcome in _index_outcomes(wanted, fresh, chunks, report.failed):
            on_result(outcome)
        return _finish(report, path.name, len(parts), sum(len(c) for c, _, _ in parts.values()), meta, started)


def _finish(report: IndexReport, version: str, papers: int, chunks: int, meta: dict, started: float) -> IndexReport:
    report.version, report.papers, report.chunks = version, papers, chunks
    report.ann, report.ann_recall_at_10 = meta["ann"], meta.get("recall_at_10")
    report.seconds["total"] = time.perf_counter() - started
    report.seconds = {k: round(v, 3) for k, v in report.seconds.items()}
    return report


def _index_outcomes(wanted: list[str], fresh: dict, chunks: dict[str, int], failed: list[Outcome]) -> list[Outcome]:
    """One index outcome per paper asked for: done (embedded now), unchanged (kept as it was), or its failure."""
    failures = {o.paper_id: o for o in failed if o.stage == "index"}
    return [failures.get(pid) or Outcome(pid, "index", "done" if pid in fresh else "unchanged",
                                         detail={"chunks": chunks[pid]}) for pid in wanted]


def _parsed(settings: Settings, catalog: Catalog, pid: str) -> tuple[ParsedPaper, str]:
    """The stored parse of a parsed paper, and the key its chunks depend on."""
    state = catalog.parse_state(pid)
    return catalog.load_parse(pid), f"{state['sha256']}:{state['parser_version']}:{chunking_key(settings)}"


def _embed(settings, engine, fresh, report, on_progress) -> dict[str, tuple[list[Chunk], np.ndarray, str]]:
    """Chunk and embed new or changed papers on `engine`, saving each paper's chunks and vectors under `.parts/`
    as soon as they are done; a paper whose part a dead build saved is taken from it."""
    parts, todo = {}, {}
    for pid, (parsed, key) in fresh.items():
        saved = _load_part(_part_path(settings, pid, key))
        if saved:
            parts[pid] = (*saved, key)
            report.reused += len(saved[0])
        else:
            todo[pid] = parsed
    for pid, chunks, vectors, texts in engine.embed(todo, report.seconds, on_progress):
        key = fresh[pid][1]
        if not chunks:
            report.failed.append(Outcome(pid, "index", "failed", "no text to index (the parse found none)"))
            continue
        _save_part(_part_path(settings, pid, key), chunks, vectors)
        parts[pid] = (chunks, vectors, key)
        report.embedded += texts
    return parts


def _part_path(settings: Settings, pid: str, key: str) -> Path:
    return settings.index_dir / PARTS / f"{safe_name(pid)}-{_part_tag(key, settings.embedder)}.npz"


def _part_tag(key: str, embedder: str) -> str:
    """16 hex digits naming what a part's vectors depend on: the paper's index key and the embedder."""
    return hashlib.sha256(f"{key}|{embedder}".encode()).hexdigest()[:16]


def _save_part(path: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
    """A paper's chunks and vectors, written to a temporary file and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, vectors=vectors, chunks=np.array([c.model_dump_json() for c in chunks]))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_part(path: Path) -> tuple[list[Chunk], np.ndarray] | None:
    """A saved part's chunks and vectors; None when there is none (an unreadable one is deleted)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return [Chunk.model_validate_json(text) for text in data["chunks"]], data["vectors"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None


def _write_version(settings: Settings, embedder: str, dim: int, parts: dict[str, tuple[list[Chunk], np.ndarray, str]],
                   encoder: dict | None = None) -> tuple[Path, dict]:
    """Write every paper's chunks and vectors as a new version folder and make it the live one; its path and meta.
    `encoder`: the query encoder's record (`embed_onnx.export_encoder`), kept in the meta. The vectors go to disk a
    paper at a time (`_stream_vectors`) and the dense index is built from that file a block at a time, so no array of
    all the vectors is held in memory beside the index."""
    root = settings.index_dir
    chunks: list[Chunk] = []
    ranges, keys = {}, {}
    order = sorted(parts)
    for pid in order:
        paper_chunks, _, key = parts[pid]
        ranges[pid] = (len(chunks), len(paper_chunks))
        keys[pid] = key
        chunks += paper_chunks
    meta = {
        "format": FORMAT, "embedder": embedder, "dim": dim, "chunking": chunking_key(settings),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "vectors": len(chunks), "ranges": ranges, "keys": keys, "bm25_tokens": BM25_TOKENS,
        "names": corpus_names({pid: part[0] for pid, part in parts.items()}),
    }
    if encoder is not None:
        meta["encoder"] = encoder
    kind = _ann_kind(len(chunks), settings)

    name = f"v{_next_version(root):06d}"
    tmp = root / f".build-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        dense = _dense_from_parts([parts[pid][1] for pid in order], len(chunks), dim, kind, meta, tmp)
        write_chunks(tmp, chunks)
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        write_bm25([bm25_tokens(bm25_text(c)) for c in chunks], tmp / "bm25")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        os.replace(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_atomic(root / POINTER, f"{name}\n".encode())
    _clean_old_versions(root, keep={name})
    clean_encoders(root)
    return root / name, meta


def _dense_from_parts(vectors: Sequence[np.ndarray], count: int, dim: int, kind: str, meta: dict, folder: Path):
    """The dense index of `kind` over the papers' `vectors` (in row order, `count` rows in all), streamed through a
    file in the build `folder`: IVF-PQ's float16 `VECTORS`, which the version keeps for re-scoring, else a float32
    `SCRATCH` file, deleted once the index holds the vectors (so a flat index holds exactly the float32 vectors)."""
    keep = kind == "ivfpq"
    path = folder / (VECTORS if keep else SCRATCH)
    stored = _stream_vectors(vectors, count, dim, path, np.float16 if keep else np.float32, sync=keep)
    try:
        return _dense_index(stored, kind, meta)
    finally:
        del stored
        if not keep:
            path.unlink(missing_ok=True)


def _stream_vectors(vectors: Iterable[np.ndarray], count: int, dim: int, path: Path, dtype, sync: bool) -> np.ndarray:
    """Write each array of `vectors` in turn (each cast to float32 first, as the build always cast them, then to
    `dtype`) to the .npy file `path` of shape (count, dim), through the page cache: memory holds one paper's vectors
    at a time (and the pages of one read from a memory-mapped file are let go). Returns the file memory-mapped
    read-only. `sync`: fsync the file. Raises ValueError when the arrays are not `dim` wide or not `count` rows in
    all (the file would not match its header)."""
    rows = 0
    with open(path, "wb") as fh:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": (count, dim)}
        np.lib.format.write_array_header_1_0(fh, header)
        for paper in vectors:
            block = np.ascontiguousarray(np.asarray(paper, dtype=np.float32).astype(dtype, copy=False))
            if len(block) and (block.ndim != 2 or block.shape[1] != dim):
                raise ValueError(f"vectors of shape {block.shape} in an index of {dim}-d vectors")
            fh.write(block.data)
            rows += len(block)
            _release(paper)  # a paper kept from the previous IVF-PQ version is a slice of its memory-mapped file
        if rows != count:
            raise ValueError(f"{rows} vectors written where the index has {count} chunks")
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    return np.load(path, mmap_mode="r")


def _dense_index(vectors: np.ndarray, kind: str, meta: dict):
    """A FAISS inner-product index of `kind` (flat, hnsw, ivf or ivfpq); an approximate one gets the smallest
    search setting whose recall@10 against exact search reaches RECALL_TARGET, recorded in `meta`. IVF-PQ's
    recall is that of its re-scored candidates (`Rescored`, from `vectors` rounded to float16 as stored; a build
    gives it the float16 file itself, so it is trained, filled and checked on the vectors as stored): when
    probing more cells stops helping, more candidates are re-scored (PQ_RESCORE, kept as `meta["rescore"]`).
    `vectors`: an array in memory or a memory-mapped .npy file (float32, or float16 as IVF-PQ stores them); it is
    read BUILD_BLOCK rows at a time (added, scanned for the exact top-10 of the recall check) and IVF trains on a
    sample of TRAIN_PER_LIST rows a cell, so beyond the index itself memory holds a block and that sample."""
    dim = vectors.shape[1]
    meta["ann"] = kind
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
        _add(index, vectors)
        return index
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        _add(index, vectors)
        param, values = "efSearch", (64, 128, 256, 512, 1024)
    else:
        lists = ivf_lists(len(vectors))
        if kind == "ivfpq":
            index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, lists, *pq_shape(dim, len(vectors)),
                                     faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        index.train(_take(vectors, np.sort(rng.choice(len(vectors), min(len(vectors), TRAIN_PER_LIST * lists),
                                                      replace=False))))
        _add(index, vectors)
        param, values = "nprobe", tuple(v for v in (8, 16, 32, 64, 128, 256, 512, 1024, 2048) if v < lists) + (lists,)
    searchers = [Rescored(index, vectors, factor) for factor in PQ_RESCORE] if kind == "ivfpq" else [index]
    value, meta["recall_at_10"], searcher = tune_search(index, vectors, param, values, searchers)
    _release(vectors)  # the rows the re-scoring read
    meta["search_param"] = [param, value]
    if kind == "ivfpq":
        meta["rescore"] = searcher.factor
    return index


def _add(index, vectors: np.ndarray) -> None:
    """Add `vectors` to `index` a block at a time, in row order (ids 0, 1, ... as one `add` of them all gives). A
    flat storage (exact, HNSW) is first sized for them all: grown block by block it would be copied each time it
    doubles, twice its size in memory for a moment."""
    flat = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    if isinstance(flat, faiss.IndexFlatCodes):
        flat.codes.resize((flat.ntotal + len(vectors)) * flat.code_size)  # the capacity stays when it shrinks back
        flat.codes.resize(flat.ntotal * flat.code_size)
    for _, block in _blocks(vectors):
        index.add(block)


def _blocks(vectors: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """`vectors` in consecutive blocks of BUILD_BLOCK rows: (first row, the block as contiguous float32). Of a
    memory-mapped file, each block's pages are let go once the caller asks for the next block, so a pass over the
    file keeps one block resident, not the file."""
    for first in range(0, len(vectors), BUILD_BLOCK):
        rows = vectors[first : first + BUILD_BLOCK]
        yield first, np.ascontiguousarray(rows, dtype=np.float32)
        _release(rows)


def _take(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`vectors[rows]` as float32, in the order of `rows` (distinct row numbers), read one BUILD_BLOCK range at a
    time so that the pages of a memory-mapped file touched are let go as it goes."""
    order = np.argsort(rows, kind="stable")
    wanted = np.asarray(rows)[order]
    out = np.empty((len(wanted), vectors.shape[1]), dtype=np.float32)
    cuts = np.searchsorted(wanted, np.arange(0, len(vectors) + BUILD_BLOCK, BUILD_BLOCK))
    for block, first in enumerate(range(0, len(vectors), BUILD_BLOCK)):
        lo, hi = cuts[block], cuts[block + 1]
        if lo < hi:
            out[order[lo:hi]] = vectors[wanted[lo:hi]]
            _release(vectors[first : first + BUILD_BLOCK])
    return out


def _release(rows: np.ndarray) -> None:
    """Drop the pages under `rows`, a memory-mapped array or a slice of its rows, from this process's resident set
    (MADV_DONTNEED: they stay in the page cache, and a later read maps them again); nothing for an array in memory."""
    owner = rows
    while isinstance(owner, np.ndarray) and not isinstance(owner.base, mmap.mmap):
        owner = owner.base
    if not isinstance(owner, np.memmap) or not rows.flags.c_contiguous or rows.nbytes == 0:
        return
    mapped = owner.ctypes.data - owner.offset % mmap.ALLOCATIONGRANULARITY  # the address of the map's first byte
    begin = rows.ctypes.data - mapped
    begin -= begin % mmap.PAGESIZE
    owner.base.madvise(mmap.MADV_DONTNEED, begin, rows.ctypes.data + rows.nbytes - mapped - begin)


def exact_top(queries: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """The ids of the `k` rows of `vectors` of highest inner product with each of `queries` (float32), -1 past the
    last row: exact search a BUILD_BLOCK at a time, each block's top k merged into one heap per query (faiss's own
    heaps, as one `faiss.knn` over all the rows merges its own blocks of 1024 rows). The ids are that search's but
    where scores tie to the last bit (equal vectors: the pieces of a table): a block's shape can change the rounding
    of a score, and so which of the tied rows is kept."""
    heap = faiss.ResultHeap(len(queries), k, keep_max=True)
    for first, block in _blocks(vectors):
        scores, ids = faiss.knn(queries, block, min(k, len(block)), metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(scores, np.where(ids >= 0, ids + first, -1))
    heap.finalize()
    return heap.I


def pq_shape(dim: int, vectors: int) -> tuple[int, int]:
    """IVF-PQ sub-quantizers (a divisor of `dim` near dim / PQ_DIMS) and bits per code: 8, fewer when there are
    too few vectors to train 256 centroids (39 training points each) per sub-quantizer."""
    m = max(d for d in range(1, max(1, dim // PQ_DIMS) + 1) if dim % d == 0)
    return m, max(1, min(8, int(np.log2(max(2, vectors // 39)))))


class Rescored:
    """An IVF-PQ index searched as a faiss index is (`search(queries, k)` -> scores, ids), its `factor` * k best
    candidates by compressed codes re-ranked by exact inner product with the stored `vectors` (float16 file,
    memory-mapped: only the candidates' rows are read)."""

    def __init__(self, index, vectors: np.ndarray, factor: int):
        self.index, self.vectors, self.factor = index, vectors, factor

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        _, candidates = self.index.search(queries, k * self.factor)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for i, (query, rows) in enumerate(zip(queries, candidates)):
            rows = np.unique(rows[rows >= 0])
            _prefetch(self.vectors, rows)
            exact = np.asarray(self.vectors[rows], dtype=np.float16).astype(np.float32) @ query
            best = np.argsort(-exact, kind="stable")[:k]
            scores[i, : len(best)], ids[i, : len(best)] = exact[best], rows[best]
        return scores, ids


def _prefetch(vectors: np.ndarray, rows: np.ndarray) -> None:
    """Ask the kernel for the pages of these rows of a memory-mapped array all at once (MADV_WILLNEED) rather
    than a page fault at a time: 100 rows of a file out of the page cache in 1.5 ms, not 330 (2-core dev VM)."""
    if not (isinstance(vectors, np.memmap) and isinstance(vectors.base, mmap.mmap)):
        return
    size, start = vectors.strides[0], vectors.offset % mmap.ALLOCATIONGRANULARITY  # where row 0 lies in the map
    for row in rows.tolist():
        first = start + row * size
        page = first - first % mmap.PAGESIZE
        vectors.base.madvise(mmap.MADV_WILLNEED, page, first + size - page)


def _save_vectors(vectors: np.ndarray, path: Path, block: int = 1 << 16) -> None:
    """`vectors` as a float16 .npy file, written a block at a time (no second copy in memory). For vectors already in
    memory (the benchmarks); a build streams each paper's vectors to the file instead (`_stream_vectors`)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=vectors.shape)
    for start in range(0, len(vectors), block):
        out[start : start + block] = vectors[start : start + block]
    out.flush()
    del out


def ivf_lists(vectors: int) -> int:
    """IVF cells: about 4 sqrt(n), as the FAISS guidelines suggest, with at least 39 training points each."""
    return max(1, min(int(4 * vectors**0.5), vectors // 39))


def _ann_kind(vectors: int, settings: Settings) -> str:
    return "flat" if vectors <= settings.ann_threshold else settings.ann_index


def tune_search(index, vectors: np.ndarray, param: str, values: Sequence[int], searchers: Sequence = (),
                queries: int = 500, k: int = 10):
    """The first of `values` for `param` (efSearch, nprobe) whose recall@k against exact search reaches
    RECALL_TARGET on sample queries near stored vectors (about as far as real queries), that recall, and the
    searcher that reached it. `searchers`: ways to search `index` (default: itself), tried in turn, each until
    the target is reached or a step of `param` gains less than PLATEAU (the last one to the end of `values`).
    `vectors` may be memory-mapped: the exact top-k is found a block at a time (`exact_top`)."""
    rng = np.random.default_rng(0)
    sample = _take(vectors, rng.choice(len(vectors), size=min(queries, len(vectors)), replace=False))
    sample = sample + rng.normal(scale=0.1, size=sample.shape).astype(np.float32)
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    exact = exact_top(sample, vectors, k)
    space = faiss.ParameterSpace()
    searchers = list(searchers) or [index]
    for searcher in searchers:
        recall = -1.0
        for value in values:
            space.set_index_parameter(index, param, value)
            _, found = searcher.search(sample, k)
            before, recall = recall, float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)]))
            if recall >= RECALL_TARGET:
                return value, round(recall, 4), searcher
            if recall - before < PLATEAU and searcher is not searchers[-1]:
                break
    return value, round(recall, 4), searcher


def _next_version(root: Path) -> int:
    numbers = [int(p.name[1:]) for p in root.glob("v[0-9]*") if p.name[1:].isdigit()]
    return max(numbers, default=0) + 1


def _clean_old_versions(root: Path, keep: set[str]) -> None:
    """Delete all versions but the live one and the one before it (a reader may still be loading that)."""
    versions = sorted(p for p in root.glob("v[0-9]*") if p.is_dir())
    for path in versions[:-2]:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _locked(root: Path, on_progress: OnProgress = ignore_progress) -> Iterator[None]:
    """One writer at a time per index folder: the holder's pid is in `.lock`, and a second writer says whom it
    waits for (a message step to `on_progress`); stale half-built folders are swept once we hold the lock."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            on_progress(f"waiting for another digest process (pid {holder}) to finish indexing…", 0, 0)
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        for stale in root.glob(".build-*"):
            shutil.rmtree(stale, ignore_errors=True)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
