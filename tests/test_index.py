"""The index on real papers: real parser, real all-MiniLM-L6-v2, real FAISS and bm25s.

One small index (three short papers) is built once per session; tests that change an index work on a copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import bm25s
import faiss
import numpy as np
import pytest
from click.testing import CliRunner

import digest.index as index_module
from digest.catalog import Catalog
from digest.cli import cli
from digest.errors import DigestError
from digest.live import live_version, version_meta
from digest.corpus import remove_paper
from digest.index import (CLEAR_LEAD, DENSE_WEIGHT, DENSE_WEIGHT_CLEAR, RRF_K, Index, bm25_lead, build_index, dense_share,
                          fuse, fuse_rrf)
from digest.settings import Settings
from digest.text import bm25_tokens, contains

from conftest import indexed_workspace

MISTRAL, MIXTRAL, TRANSFORMER = "2310.06825", "2401.04088", "1706.03762"
PAPERS = (MISTRAL, MIXTRAL, TRANSFORMER)


@pytest.fixture(scope="session")
def built(tmp_path_factory, shared_pdf) -> tuple[Path, dict]:
    """A workspace holding the three papers and their index, and the first build's report."""
    return indexed_workspace(tmp_path_factory.mktemp("index"), [shared_pdf(p) for p in PAPERS])


@pytest.fixture(scope="session")
def index(built) -> Index:
    return Index.open(Settings.load(workspace=built[0]))


@pytest.fixture
def copy(built, tmp_path) -> Settings:
    """A private copy of the built workspace, for tests that change it."""
    ws = tmp_path / "copy"
    shutil.copytree(built[0], ws)
    return Settings.load(workspace=ws)


def _passages(chunks) -> int:
    """Texts to embed for these chunks: one per chunk, but one for all the pieces of a table."""
    tables = [c for c in chunks if c.kind == "table"]
    return len(chunks) - len(tables) + len({(c.paper_id, c.page_start, c.text.split("\n")[0]) for c in tables})


def _found(hits, paper_id: str, evidence: str) -> bool:
    return any(h.chunk.paper_id == paper_id and contains(h.chunk.text, evidence) for h in hits)


def test_first_build_indexes_every_paper(built, index):
    report = built[1]
    assert sorted(report["added"]) == sorted(PAPERS) and not report["failed"]
    assert report["chunks"] == len(index.chunks) == index.dense.ntotal > 100
    assert report["embedded"] == _passages(index.chunks) < report["chunks"]
    assert report["ann"] == "flat" and set(report["seconds"]) >= {"parse", "chunk", "embed", "index", "total"}
    assert sorted(index.papers) == sorted(PAPERS)
    assert all(c.paper_id == MIXTRAL for c in index.chunks_for(MIXTRAL))
    assert index.chunks_for(MIXTRAL)[0].kind == "abstract" and index.chunks_for(MIXTRAL)[0].title == "Mixtral of Experts"


@pytest.mark.parametrize("mode, fusion", [("dense", None), ("bm25", None), ("hybrid", "score"), ("hybrid", "rrf")])
def test_search_finds_the_passage_that_answers(index, mode, fusion):
    question = "In Mixtral, how many experts process each token, out of how many per layer?"
    hits = index.search(question, k=5, mode=mode, fusion=fusion)
    assert len(hits) == 5 and hits[0].score >= hits[-1].score
    assert _found(hits, MIXTRAL, "2 of the 8 experts") or _found(hits, MIXTRAL, "two experts")


def test_fusions_combine_the_rankings_as_defined():
    dense, bm25 = [(1, 0.9), (2, 0.6), (4, 0.55), (3, 0.5)], [(3, 30.0), (2, 2.0)]
    assert [row for row, _ in fuse_rrf([dense, bm25], [0.4, 0.6])] == [2, 3, 1, 4]  # ranks only: 2 is high in both
    assert [row for row, _ in fuse([dense, bm25], [0.4, 0.6])] == [3, 1, 2, 4]  # BM25's wide lead on 3 counts
    assert fuse_rrf([dense, []], [0.4, 0.6])[0] == (1, pytest.approx(0.4 / (RRF_K + 1)))


def test_dense_share_yields_to_a_clear_bm25_winner():
    flat = [(row, 10.0 - 0.1 * row) for row in range(20)]  # evenly spaced: no passage stands out
    clear = [(0, 30.0)] + [(row, 10.0 - 0.1 * row) for row in range(1, 20)]
    assert bm25_lead(flat) < CLEAR_LEAD <= bm25_lead(clear)
    assert (dense_share(flat), dense_share(clear)) == (DENSE_WEIGHT, DENSE_WEIGHT_CLEAR)
    assert bm25_lead([(0, 5.0)]) == 0.0 and dense_share([]) == DENSE_WEIGHT


@pytest.mark.parametrize("query", ["sliding window attention", "How many experts per token?", "BLEU WMT 2014", "zzzz"])
def test_bm25_scores_read_with_numpy_are_those_of_bm25s(index, query):
    retriever = bm25s.BM25.load(str(index.path / "bm25"))
    ids = index.bm25.term_ids(bm25_tokens(query))
    assert ids == list(dict.fromkeys(retriever.vocab_dict[t] for t in bm25_tokens(query) if t in retriever.vocab_dict))
    ours = index.bm25.scores(ids)
    assert ours.shape == (len(index.chunks),) and ours.any() == bool(ids)
    np.testing.assert_allclose(ours, retriever.get_scores_from_ids(ids), rtol=1e-6)


def test_hits_carry_section_and_page(index):
    hits = index.search("label smoothing value used during training", k=5)
    hit = next(h for h in hits if contains(h.chunk.text, "label smoothing of value"))
    assert hit.chunk.paper_id == TRANSFORMER and (hit.chunk.page_start, hit.chunk.page_end) == (7, 8)  # 5.4 runs over
    assert "Regularization" in hit.chunk.section and hit.chunk.section.startswith("5 Training")


def test_paper_filter_keeps_to_the_paper(index):
    hits = index.search("sliding window attention", k=8, papers=[MIXTRAL])
    assert hits and all(h.chunk.paper_id == MIXTRAL for h in hits)
    assert all(h.chunk.paper_id == MISTRAL for h in index.search("attention", k=3, mode="dense", papers=[f"arXiv:{MISTRAL}v3"]))
    with pytest.raises(DigestError, match="not in the index"):
        index.search("attention", papers=["2302.13971"])


def test_a_question_naming_a_paper_is_searched_in_it(index):
    assert index.meta["names"][MIXTRAL][0][:2] == ["Mixtral of Experts", "Mixtral"]
    question = "Which attention mechanism does Mistral 7B use to handle longer sequences?"
    assert {h.chunk.paper_id for h in index.search(question, k=10)} == {MISTRAL}
    assert {h.chunk.paper_id for h in index.search(question, k=10, route=False)} != {MISTRAL}  # Mixtral shares it
    assert len({h.chunk.paper_id for h in index.search("sliding window attention", k=10)}) > 1  # names no paper


def test_chinese_question_finds_the_english_answer(index):
    hits = index.search("Mixtral 每个 token 使用几个专家？", k=5)
    assert _found(hits, MIXTRAL, "2 of the 8 experts") or _found(hits, MIXTRAL, "two experts")
    hits = index.search("Transformer 训练时标签平滑的值是多少？", k=5)
    assert _found(hits, TRANSFORMER, "label smoothing of value")


def test_bad_queries_are_refused(index):
    with pytest.raises(DigestError, match="empty query"):
        index.search("   ")
    with pytest.raises(DigestError, match="unknown search mode"):
        index.search("attention", mode="fuzzy")
    with pytest.raises(DigestError, match="unknown fusion"):
        index.search("attention", fusion="borda")


def test_second_build_embeds_nothing_and_a_changed_paper_is_embedded_again(copy):
    with Catalog(copy.catalog_path) as catalog:
        again = build_index(copy, catalog)
        assert again.embedded == 0 and again.unchanged == 3 and not again.added and not again.updated
        version = again.version
        record = catalog.get(MISTRAL)
        catalog.upsert(record.model_copy(update={"sha256": "0" * 64}))  # as if a new PDF had arrived
        outcomes, steps = [], []
        changed = build_index(copy, catalog, on_result=outcomes.append, on_progress=lambda *step: steps.append(step))
    assert changed.updated == [MISTRAL] and changed.unchanged == 2 and changed.version != version
    assert changed.embedded == _passages(Index.open(copy).chunks_for(MISTRAL)) > 0
    papers = sorted(PAPERS)
    assert [(o.stage, o.paper_id, o.status) for o in outcomes] == (
        [("parse", p, "done" if p == MISTRAL else "unchanged") for p in papers]
        + [("index", p, "done" if p == MISTRAL else "unchanged") for p in papers])
    assert outcomes[-2].detail == {"chunks": len(Index.open(copy).chunks_for(MISTRAL))}
    assert [s for s in steps if s[0] == "parse"] == [("parse", n, 3) for n in range(4)]
    embed = [s for s in steps if s[0] == "embed"]
    assert embed[0] == ("embed", 0, changed.embedded) and embed[-1] == ("embed", changed.embedded, changed.embedded)


def test_an_unknown_id_is_reported_and_the_others_are_indexed(copy):
    with Catalog(copy.catalog_path) as catalog:
        report = build_index(copy, catalog, ids=["arXiv:2310.06825v1", "9999.99999"])
    [failure] = report.failed
    assert (failure.paper_id, failure.stage, failure.error) == (
        "9999.99999", "parse", "'9999.99999' is not in the catalog; `digest list` shows what is")
    assert report.unchanged == 1 and sorted(Index.open(copy).papers) == sorted(PAPERS)


def test_remove_deletes_a_papers_vectors(copy):
    index = Index.open(copy)
    before, count = index.dense.ntotal, len(index.chunks_for(MIXTRAL))
    assert index.remove([MIXTRAL]) == count
    reopened = Index.open(copy)
    assert reopened.dense.ntotal == len(reopened.chunks) == before - count
    assert MIXTRAL not in reopened.papers and not reopened.chunks_for(MIXTRAL)
    assert all(h.chunk.paper_id != MIXTRAL for h in reopened.search("Mixtral experts router", k=20))
    assert reopened.chunks_for(MISTRAL) == index.chunks_for(MISTRAL)


def test_removing_a_paper_from_the_corpus_removes_it_from_the_index_and_its_images(copy):
    with Catalog(copy.catalog_path) as catalog:
        images = catalog.figures_dir(TRANSFORMER)
        images.mkdir(parents=True)
        (images / "table-2.png").write_bytes(b"png")
        remove_paper(copy, catalog, TRANSFORMER)
    assert TRANSFORMER not in Index.open(copy).papers and not images.exists()


def test_a_different_embedder_is_refused(copy):
    other = copy.model_copy(update={"embedder": "sentence-transformers/paraphrase-MiniLM-L3-v2"})
    with pytest.raises(DigestError, match=r"built with embedder 'all-MiniLM-L6-v2'.*digest index --force"):
        Index.open(other)
    with Catalog(copy.catalog_path) as catalog, pytest.raises(DigestError, match="digest index --force"):
        build_index(other, catalog)
    assert Index.open(copy.model_copy(update={"embedder": "sentence-transformers/all-MiniLM-L6-v2"}))  # same model


def test_a_crash_while_saving_leaves_the_previous_index_usable(copy, monkeypatch):
    before = Index.open(copy)

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module, "write_bm25", crash)
    with Catalog(copy.catalog_path) as catalog, pytest.raises(RuntimeError, match="disk full"):
        build_index(copy, catalog, ids=[MISTRAL], force=True)
    after = Index.open(copy)
    assert after.path == before.path and len(after.chunks) == len(before.chunks)
    assert _found(after.search("how many experts process each token", k=5), MIXTRAL, "experts")
    assert not list(copy.index_dir.glob(".build-*"))


def test_an_index_tokenized_by_an_older_bm25_tokens_gets_its_bm25_again_without_embedding(copy):
    version = Index.open(copy).path
    meta = json.loads((version / "meta.json").read_text())
    (version / "meta.json").write_text(json.dumps({**meta, "bm25_tokens": 1}))
    with Catalog(copy.catalog_path) as catalog:
        report = build_index(copy, catalog)
    index = Index.open(copy)
    assert report.embedded == 0 and index.path != version and index.meta["bm25_tokens"] == index_module.BM25_TOKENS
    assert "α" in bm25_tokens("we set 𝛼 = 0.76") and index.bm25.term_ids(["α"])  # Greek letters are terms now
    assert {"pass", "1", "pass@1"} <= set(bm25_tokens("HumanEval (Pass@1)")) and index.bm25.term_ids(["pass@1"])
    with Catalog(copy.catalog_path) as catalog:
        assert build_index(copy, catalog).version == index.path.name  # and then nothing is to do


def test_chunks_are_parsed_when_first_read(copy):
    index = Index.open(copy)
    assert not index.chunks._parsed  # opening reads none
    assert index.chunks[7] is index.chunks[7] and list(index.chunks._parsed) == [7]
    hits = index.search("how many experts process each token", k=3)
    assert hits and all(h.chunk in index.chunks._parsed.values() for h in hits)
    assert [c.model_dump() for c in index.chunks] == [json.loads(line) for line in
                                                     (index.path / "chunks.jsonl").read_text().splitlines()]


def test_a_version_without_line_ends_is_scanned_and_a_damaged_chunk_file_refused(copy):
    version = Index.open(copy).path
    first = [c.model_dump() for c in Index.open(copy).chunks]
    (version / "chunks.ends.npy").unlink()  # as a version written before the ends file
    assert [c.model_dump() for c in Index.open(copy).chunks] == first
    index_module.write_chunks(version, [index_module.Chunk.model_validate(c) for c in first])
    with open(version / "chunks.jsonl", "r+b") as fh:  # cut short, as by a full disk
        fh.truncate(fh.seek(0, 2) - 10)
    with pytest.raises(DigestError, match="chunks.jsonl does not match .*digest index --force"):
        Index.open(copy)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_above_the_threshold_an_approximate_index_is_built_and_its_recall_checked(copy, kind):
    settings = copy.model_copy(update={"ann_threshold": 50, "ann_index": kind})
    with Catalog(copy.catalog_path) as catalog:
        report = build_index(settings, catalog)
    assert report.ann == kind and report.embedded == 0 and report.ann_recall_at_10 >= 0.95
    index = Index.open(settings)
    param, value = index.meta["search_param"]
    if kind == "hnsw":
        assert param == "efSearch" and index.dense.hnsw.efSearch == value
    else:
        assert param == "nprobe" and faiss.extract_index_ivf(index.dense).nprobe == value
    question = "In Mixtral, how many experts process each token?"
    for papers in (None, [MIXTRAL]):  # a paper filter scores the stored vectors read back from the index
        hits = index.search(question, k=5, mode="dense", papers=papers)
        assert _found(hits, MIXTRAL, "2 of the 8 experts") or _found(hits, MIXTRAL, "two experts")
    first = index.vectors[index.ranges[MIXTRAL][0]].copy()
    assert index.remove([MISTRAL]) > 0  # rebuilt from the vectors read back, none embedded again
    assert index.meta["ann"] == kind and np.array_equal(index.vectors[index.ranges[MIXTRAL][0]], first)


def test_old_versions_are_cleaned_up(copy):
    with Catalog(copy.catalog_path) as catalog:
        for _ in range(2):
            build_index(copy, catalog, ids=[MISTRAL], force=True)
    versions = sorted(p.name for p in copy.index_dir.glob("v*"))
    assert len(versions) == 2 and (copy.index_dir / "CURRENT").read_text().strip() == versions[-1]
    assert sorted(Index.open(copy).papers) == sorted(PAPERS)  # --force on one paper keeps the others


def test_no_index_is_a_clear_error(workspace):
    with pytest.raises(DigestError, match=r"no index at .*run `digest index`"):
        Index.open(Settings.load(workspace=workspace))
    result = CliRunner().invoke(cli, ["-w", str(workspace), "search", "attention"])
    assert result.exit_code == 2 and "no index at" in result.output


def test_cli_search_and_index_json(built):
    ws = str(built[0])
    result = CliRunner().invoke(cli, ["-w", ws, "search", "sliding window attention", "-k", "3", "--paper", MISTRAL, "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3 and set(hits[0]) == {"paper_id", "title", "section", "page", "text", "score"}
    assert all(h["paper_id"] == MISTRAL for h in hits) and any(contains(h["text"], "sliding window") for h in hits)

    result = CliRunner().invoke(cli, ["-w", ws, "search", "sliding window attention", "--mode", "bm25"])
    assert result.exit_code == 0 and "Mistral 7B" in result.output and "p." in result.output
    result = CliRunner().invoke(cli, ["-w", ws, "search", "sliding window attention", "--fusion", "rrf", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["score"] < 2 / RRF_K  # rank-based scores

    result = CliRunner().invoke(cli, ["-w", ws, "-q", "index", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["embedded"] == 0 and report["unchanged"] == 3 and report["papers"] == 3


def test_query_vectors_are_cached_and_read_only(index):
    first = index.embedder.embed_query("how many experts per token")
    assert index.embedder.embed_query("how many experts per token") is first and not first.flags.writeable
    assert index.embedder.embed_query("another question") is not first


def test_above_the_threshold_the_default_index_is_compressed_and_its_candidates_rescored_from_disk(copy):
    settings = copy.model_copy(update={"ann_threshold": 50})
    with Catalog(copy.catalog_path) as catalog:
        report = build_index(settings, catalog)
    assert report.ann == "ivfpq" and report.embedded == 0 and report.ann_recall_at_10 >= 0.95
    index = Index.open(settings)
    stored = index.vectors
    assert isinstance(stored, np.memmap) and stored.dtype == np.float16
    assert stored.shape == (len(index.chunks), 384) and Path(stored.filename) == index.path / index_module.VECTORS
    param, value = index.meta["search_param"]
    assert isinstance(index.dense, faiss.IndexIVFPQ) and param == "nprobe" and index.dense.nprobe == value

    q = index.embedder.embed_query("How many experts process each token in Mixtral?")
    scores, ids = index._searcher.search(q[None, :], 5)
    exact = stored.astype(np.float32) @ q
    assert np.allclose(scores[0], exact[ids[0]], atol=1e-6)  # the scores are the stored vectors', not the codes'
    assert ids[0][0] == int(np.argmax(exact))
    for papers in (None, [MIXTRAL]):
        hits = index.search("In Mixtral, how many experts process each token?", k=5, mode="dense", papers=papers)
        assert _found(hits, MIXTRAL, "2 of the 8 experts") or _found(hits, MIXTRAL, "two experts")

    first = np.array(index.vectors[index.ranges[MIXTRAL][0]])
    assert index.remove([MISTRAL]) > 0  # rebuilt from the stored vectors, none embedded again
    assert index.meta["ann"] == "ivfpq" and np.array_equal(index.vectors[index.ranges[MIXTRAL][0]], first)


def test_ivfpq_holds_a_fraction_of_the_vectors_in_memory_and_reaches_the_recall_target():
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((200, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, 20_000)] + 0.6 * rng.standard_normal((20_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    meta: dict = {}

    index = index_module._dense_index(vectors, "ivfpq", meta)

    assert index_module.pq_shape(384, len(vectors)) == (96, 8) and index.pq.M == 96 and index.pq.nbits == 8
    assert faiss.serialize_index(index).nbytes < vectors.nbytes / 8  # codes, ids and centroids only
    assert meta["ann"] == "ivfpq" and meta["recall_at_10"] >= 0.95 and meta["search_param"][0] == "nprobe"
    assert meta["rescore"] in index_module.PQ_RESCORE
    raw = index_module.tune_search(index, vectors, "nprobe", [meta["search_param"][1]])[1]
    assert raw < meta["recall_at_10"]  # the codes alone rank worse: the exact re-scoring earns its keep


def test_dense_ranking_holds_each_table_once(index):
    """The pieces of a table share one vector; the dense ranking shows the table once, by its first piece."""
    from digest.chunk import table_key

    split = [key for key in {table_key(c) for c in index.chunks if c.kind == "table"}
             if sum(table_key(c) == key for c in index.chunks) > 1]
    assert split, "the fixture papers have no table cut into pieces"
    piece = next(c for c in index.chunks if table_key(c) == split[0])
    hits = index.search(piece.text.split("\n")[0], k=20, mode="dense")
    keys = [table_key(h.chunk) for h in hits if h.chunk.kind == "table"]
    assert len(keys) == len(set(keys))
    assert any(h.chunk.chunk_id == piece.chunk_id for h in hits)  # the table's first piece stands for it


def _rebuilt(settings: Settings, block: int, monkeypatch) -> Index:
    """The live index written again (a new version) from its own chunks and vectors, BUILD_BLOCK = `block`."""
    monkeypatch.setattr(index_module, "BUILD_BLOCK", block)
    index = Index.open(settings)
    parts = {pid: index._part(pid) for pid in index.papers}
    path, _ = index_module._write_version(settings, index.meta["embedder"], index.meta["dim"], parts,
                                          encoder=index.meta.get("encoder"))
    return Index.load(settings, path)


def test_the_exact_index_is_built_a_block_at_a_time_and_is_the_same(copy, monkeypatch):
    before = Index.open(copy)
    expected = np.concatenate([np.asarray(before._part(pid)[1], np.float32) for pid in sorted(before.papers)])
    sizes = []
    blocks = index_module._blocks

    def spy(vectors):
        for first, block in blocks(vectors):
            sizes.append(len(block))
            yield first, block

    monkeypatch.setattr(index_module, "_blocks", spy)
    small = _rebuilt(copy, 7, monkeypatch)
    assert small.path != before.path and small.meta["ann"] == "flat"
    assert max(sizes) == 7 and sum(sizes) == len(before.chunks)  # added 7 vectors at a time, each once
    assert small.vectors.dtype == np.float32 and np.array_equal(small.vectors, expected)
    assert np.array_equal(small.vectors, before.vectors)
    assert not (small.path / index_module.SCRATCH).exists() and not (small.path / index_module.VECTORS).exists()
    for question in ("In Mixtral, how many experts process each token?", "label smoothing", "sliding window attention"):
        for mode in ("dense", "hybrid"):
            ours = [(h.chunk.chunk_id, h.score) for h in small.search(question, k=10, mode=mode)]
            assert ours == [(h.chunk.chunk_id, h.score) for h in before.search(question, k=10, mode=mode)]


@pytest.mark.parametrize("kind", ["ivf", "ivfpq", "hnsw"])
def test_an_approximate_index_built_in_small_blocks_is_that_of_one_block(copy, monkeypatch, kind):
    settings = copy.model_copy(update={"ann_threshold": 50, "ann_index": kind})
    flat = Index.open(copy)  # held: its `vectors` are a view of the FAISS index's own storage
    exact = np.array(flat.vectors)
    whole = _rebuilt(settings, index_module.BUILD_BLOCK, monkeypatch)  # the fixture's vectors are one block
    small = _rebuilt(settings, 7, monkeypatch)
    assert whole.meta["ann"] == small.meta["ann"] == kind and small.meta["recall_at_10"] >= index_module.RECALL_TARGET
    assert not (small.path / index_module.SCRATCH).exists()
    assert np.array_equal(np.asarray(small.vectors), np.asarray(whole.vectors))
    if kind == "hnsw":  # the graph depends on the order vectors arrive in, batch by batch: only its recall is checked
        return
    for key in ("search_param", "rescore"):
        assert small.meta.get(key) == whole.meta.get(key)
    # the same check; which of equal vectors (a table's pieces) is exact top-10 can change with a block's rounding
    assert small.meta["recall_at_10"] == pytest.approx(whole.meta["recall_at_10"], abs=0.01)
    assert np.array_equal(faiss.serialize_index(small.dense), faiss.serialize_index(whole.dense))
    if kind == "ivfpq":  # the float16 file the query re-scores from, written paper by paper
        assert small.vectors.dtype == np.float16 and np.array_equal(small.vectors, exact.astype(np.float16))
    else:
        assert np.array_equal(small.vectors, exact)


def test_exact_search_and_gathering_a_block_at_a_time_match_one_pass_over_memory(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((60, 16)).astype(np.float32)
    vectors = np.repeat(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), 5, axis=0)  # ties: each one 5 times
    queries = vectors[rng.choice(300, 40, replace=False)] + 0.1 * rng.standard_normal((40, 16)).astype(np.float32)
    stored = index_module._stream_vectors([vectors[:100], vectors[100:101], vectors[101:]], 300, 16,
                                          tmp_path / "v.npy", np.float32, sync=False)
    assert isinstance(stored, np.memmap) and np.array_equal(stored, vectors)
    monkeypatch.setattr(index_module, "BUILD_BLOCK", 7)
    for data in (vectors, stored):
        assert np.array_equal(index_module.exact_top(queries, data, 10),
                              faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)[1])
        rows = rng.choice(300, 50, replace=False)
        assert np.array_equal(index_module._take(data, rows), vectors[rows])
    assert np.array_equal(index_module.exact_top(queries[:2], vectors[:3], 5)[:, 3:], -np.ones((2, 2)))
    with pytest.raises(ValueError, match="299 vectors written"):
        index_module._stream_vectors([vectors[:299]], 300, 16, tmp_path / "w.npy", np.float32, sync=False)


def test_vectors_outlive_the_index_object_they_came_from(built):
    """`Index.vectors` of an exact index is a view of FAISS's storage: a slice of it kept after the Index is gone
    must still read the vectors (it read freed memory, a segfault once the storage was unmapped). In a child
    process, so that a crash fails this test and not the run."""
    script = (
        "import gc, sys, numpy as np\n"
        "from digest.index import Index\n"
        "from digest.settings import Settings\n"
        "part = Index.open(Settings.load(workspace=sys.argv[1])).vectors[:50]\n"
        "gc.collect()\n"
        "junk = [np.ones((4096, 384), np.float32) for _ in range(8)]\n"
        "print(float(np.asarray(part, np.float64).sum()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(built[0])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    expected = np.asarray(Index.open(Settings.load(workspace=built[0])).vectors[:50], np.float64).sum()
    assert float(done.stdout) == pytest.approx(expected, rel=1e-9)


def test_a_version_meta_is_read_once_until_its_file_changes(copy):
    """A query reads the meta before its heavy imports and again when it opens the index: parsed once."""
    path = live_version(copy.index_dir)
    first = version_meta(path)
    assert version_meta(path) is first and Index.open(copy).meta is first
    (path / "meta.json").write_text(json.dumps({**first, "note": "changed"}))
    assert version_meta(path)["note"] == "changed"
