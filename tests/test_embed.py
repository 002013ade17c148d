"""The ONNX query encoder: exported from the real all-MiniLM-L6-v2 at index build, the same vectors as the model,
queries that never import torch, and what happens when the export is missing, changed or refused.

One index (one paper) is built and exported once per module; tests that change it work on a copy.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.chunk import Tokenizer, passage_texts
from digest.embed import SentenceTransformerEmbedder, load_embedder
from digest.embed_onnx import ENCODERS, OnnxEmbedder, export_encoder, fingerprint, unsupported
from digest.errors import DigestError
from digest.index import Index, live_version, build_index
from digest.live import verification
from digest.settings import Settings

from conftest import REPO, indexed_workspace, shared_path

MIXTRAL = "2401.04088"
HEAVY = ("torch", "transformers", "sentence_transformers", "langchain_core", "jieba", "jinja2", "bm25s", "scipy")


def gold_questions() -> list[str]:
    """Every question of the gold splits: dev, more, LitQA2 and the bench's own."""
    files = [shared_path("eval", "qa_dev.jsonl"), shared_path("eval", "more", "qa_more.jsonl"),
             shared_path("eval", "litqa2_dev", "questions.jsonl"), *sorted((REPO / "bench").glob("qa_*.jsonl"))]
    return [json.loads(line)["question"] for f in files for line in f.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_pdf) -> tuple[Path, dict]:
    """A workspace with one paper, its index and the index's ONNX export; and the build's report."""
    return indexed_workspace(tmp_path_factory.mktemp("embed"), [shared_pdf(MIXTRAL)])


@pytest.fixture
def copy(built, tmp_path) -> Settings:
    ws = tmp_path / "copy"
    shutil.copytree(built[0], ws)
    return Settings.load(workspace=ws)


def live(settings: Settings) -> tuple[Path, dict]:
    """The live index version's folder and meta, read without opening it (which starts checking the export)."""
    path = live_version(settings.index_dir)
    return path, json.loads((path / "meta.json").read_text())


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.slow
def test_the_build_exports_the_model_and_records_it(built):
    ws, report = built
    index = Index.open(Settings.load(workspace=ws))
    record = index.meta["encoder"]
    folder = index.path.parent / record["path"]
    assert record["model"] == index.meta["embedder"] and record["dim"] == 384 and record["max_tokens"] == 256
    assert [kind for kind, _ in record["modules"]] == ["Transformer", "Pooling", "Normalize"]
    assert dict(record["modules"])["Pooling"] == "mean"  # read from the model's 1_Pooling/config.json
    assert set(record["sha256"]) == {"model.onnx", "model.onnx.data", "tokenizer.json"}
    assert folder.parent.name == ENCODERS and json.loads((folder / "encoder.json").read_text()) == record
    assert report["seconds"]["export"] > 0
    assert isinstance(index.embedder, OnnxEmbedder)


@pytest.mark.slow
def test_an_export_is_named_by_the_weights_not_by_what_the_tokenizer_last_did():
    import torch

    model = load_embedder("all-MiniLM-L6-v2", "cpu").model
    before = fingerprint(model)
    model.tokenizer(["a text"], padding="max_length", max_length=64, truncation=True)  # changes the tokenizer's state
    assert fingerprint(model) == before and len(before) == 16
    weight = next(model.parameters())
    kept = weight[0, 0].item()  # a float32 is exact as a Python float: it is put back as it was
    with torch.no_grad():
        weight[0, 0] = kept + 1.0
        try:
            assert fingerprint(model) != before  # other weights, another export
        finally:
            weight[0, 0] = kept
    assert fingerprint(model) == before


@pytest.mark.slow
def test_onnx_vectors_equal_the_models_on_every_gold_question_and_on_passages(built):
    index = Index.open(Settings.load(workspace=built[0]))
    onnx, torch = index.embedder, load_embedder(index.meta["embedder"], "cpu")
    assert isinstance(onnx, OnnxEmbedder) and isinstance(torch, SentenceTransformerEmbedder)
    questions = gold_questions()
    assert len(questions) >= 100 and any(not q.isascii() for q in questions)
    cosines = _cosines(np.stack([onnx.embed_query(q) for q in questions]), np.stack([torch.embed_query(q) for q in questions]))
    assert cosines.min() >= 0.999, questions[int(cosines.argmin())]
    passages = passage_texts(index.chunks, Tokenizer(torch.tokenizer, torch.max_tokens))[:16]  # up to 256 word pieces each
    assert _cosines(onnx.embed(passages), torch.embed(passages)).min() >= 0.999
    assert np.allclose(np.linalg.norm(onnx.embed(passages), axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_the_exports_tokenizer_sizes_chunks_as_the_models_does(built):
    index = Index.open(Settings.load(workspace=built[0]))
    torch = load_embedder(index.meta["embedder"], "cpu")
    texts = [c.text for c in index.chunks[:40]]
    ours = Tokenizer(index.embedder.tokenizer, index.embedder.max_tokens)
    assert ours.spans(texts) == Tokenizer(torch.tokenizer, torch.max_tokens).spans(texts)
    assert ours.specials == 2


@pytest.mark.slow
def test_search_and_extractive_ask_import_neither_torch_nor_bm25s(built):
    """In a fresh interpreter, as the CLI runs them."""
    code = (
        "import sys, json\n"
        "from digest.settings import Settings\n"
        "from digest.ask import Asker\n"
        "settings = Settings.load(workspace=sys.argv[1], backend='extractive')\n"
        "asker = Asker.open(settings)\n"
        "hits = asker.index.search('How many experts are activated per token?', k=3)\n"
        "answer = asker.ask('How many experts does Mixtral route each token to?').answer\n"
        f"print(json.dumps({{'hits': len(hits), 'answered': answer.answered, "
        f"'heavy': sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(built[0])], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out == {"hits": 3, "answered": True, "heavy": []}, result.stderr


@pytest.mark.slow
def test_a_missing_export_falls_back_to_the_model_with_a_warning(copy, caplog):
    path, meta = live(copy)
    shutil.rmtree(path.parent / meta["encoder"]["path"])
    with caplog.at_level(logging.WARNING):
        embedder = Index.open(copy).embedder
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "is missing, so queries load torch" in caplog.text and "run `digest index`" in caplog.text


@pytest.mark.slow
def test_a_changed_export_is_refused_and_digest_index_mends_it(copy):
    path, meta = live(copy)
    weights = path.parent / meta["encoder"]["path"] / "model.onnx.data"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(DigestError, match=r"model.onnx.data does not match the checksum .*run `digest index`"):
        Index.open(copy).search("experts per token", mode="dense")
    with Catalog(copy.catalog_path) as catalog:
        report = build_index(copy, catalog)
    assert report.embedded == 0 and report.unchanged == 1 and report.seconds["export"] > 0  # exported, not embedded
    assert isinstance(Index.open(copy).embedder, OnnxEmbedder)


@pytest.mark.slow
def test_digest_search_refuses_a_changed_export(copy):
    """Through the check the command starts before its heavy imports (`live.check_soon`), which later
    calls reuse: done, not hashed again."""
    path, meta = live(copy)
    record = meta["encoder"]
    folder = path.parent / record["path"]
    weights = folder / "model.onnx.data"
    data = bytearray(weights.read_bytes())
    data[0] ^= 0xFF
    weights.write_bytes(bytes(data))
    result = CliRunner().invoke(cli, ["-w", str(copy.workspace), "search", "experts per token", "--mode", "dense"])
    assert result.exit_code == 2 and "model.onnx.data does not match the checksum" in result.output, result.output
    check = verification(folder, record["sha256"])
    assert check.done() and check.result() == "model.onnx.data"


@pytest.mark.slow
def test_an_index_built_before_exports_works_on_torch_until_digest_index_adds_one(copy, caplog):
    path, meta = live(copy)
    folder = path.parent / meta["encoder"]["path"]
    (path / "meta.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "encoder"}))
    with caplog.at_level(logging.WARNING):
        old = Index.open(copy)
        hits = old.search("How many experts are activated per token?", k=3)
    assert isinstance(old.embedder, SentenceTransformerEmbedder) and len(hits) == 3
    assert "has no ONNX query encoder" in caplog.text

    stale = folder.with_name("0123456789abcdef")  # an export no version records
    stale.mkdir()
    weights = (folder / "model.onnx.data").stat()
    with Catalog(copy.catalog_path) as catalog:
        report = build_index(copy, catalog)
    new = Index.open(copy)
    assert report.embedded == 0 and new.path != old.path and new.meta["encoder"] == meta["encoder"]
    assert (folder / "model.onnx.data").stat().st_ino == weights.st_ino  # the export of these weights, reused
    assert isinstance(new.embedder, OnnxEmbedder) and not stale.exists()


@pytest.mark.slow
def test_a_model_the_export_cannot_reproduce_is_refused_with_its_reason(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    from digest.embed import model_location

    base = load_embedder("all-MiniLM-L6-v2", "cpu")
    transformer = Transformer(model_location("all-MiniLM-L6-v2"))
    model = SentenceTransformer(modules=[transformer, Pooling(384, "weightedmean")], device="cpu")
    assert unsupported(base.model) is None
    assert unsupported(model) == "its pooling weightedmean is not supported (only cls, max, mean, mean_sqrt_len_tokens)"

    model.save(str(tmp_path / "weighted-minilm"))
    odd = SentenceTransformerEmbedder(str(tmp_path / "weighted-minilm"), "cpu")
    steps = []
    record = export_encoder(odd, tmp_path / "index", lambda step, done, total: steps.append(step))
    assert record == {"model": odd.name, "reason": unsupported(model)}
    assert steps == [f"no ONNX query encoder: {record['reason']}; queries will load torch (slower)…"]
    assert not (tmp_path / "index" / ENCODERS).exists()
