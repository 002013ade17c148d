"""Queries embedded without torch: the index's sentence-transformers model exported to ONNX once, at build,
and run by ONNX Runtime on the CPU.

Importing torch and sentence-transformers takes seconds; ONNX Runtime and `tokenizers` a tenth of one, and one
query embeds in milliseconds. The export is the model's own modules (transformer, its pooling, normalization)
traced end to end with torch.onnx (dynamo), so pooling follows the model's config; it is checked against the
model on probe texts before it is kept. It lives in `<index_dir>/encoders/<fingerprint>/` (model.onnx, its
weights model.onnx.data, tokenizer.json, encoder.json), named by the model's weights: an export does not
depend on the papers, so the index versions built with one model share it and an incremental build does not
export again. Each version's meta records it (`encoder`: model, folder, sha256 of each file); a folder no
version records is deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Embedder, Progress, SentenceTransformerEmbedder, load_embedder
from .errors import DigestError, one_line
from .files import sha256_file
from .live import check_soon, in_background, live_meta, stamp, verification
from .outcome import OnProgress, ignore_progress
from .settings import Settings

EXPORT_FORMAT = 1  # bump when the export's layout or inputs change: folders are named by it too
ENCODERS = "encoders"
GRAPH, TOKENIZER, MANIFEST = "model.onnx", "tokenizer.json", "encoder.json"  # and model.onnx.data: the weights
INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # what a BERT-like tokenizer gives; a model takes some
MODULES = {"Transformer", "Pooling", "Dense", "Normalize"}  # sentence-transformers modules the export handles
POOLING = {"cls", "max", "mean", "mean_sqrt_len_tokens"}
PROBES = (  # checked against the model at export: short and long, cased, CJK, a batch that needs padding
    "How many experts are activated per token?",
    "Table 3: BLEU on WMT14 En-De | Model | Params | 28.4 |",
    "混合专家模型 Mixture-of-Experts routes each token",
    "the " * 600,
)
PROBE_COSINE = 0.9999
BATCH = 8  # texts per run when embedding many (ask's sentences), longest first
WORKERS = 4  # runs at a time, at most one per core

log = logging.getLogger(__name__)


class OnnxEmbedder:
    """An exported sentence-transformers model run by ONNX Runtime, each run on one thread (for one query a
    thread pool costs more than it saves, and a busy machine does not slow it); L2-normalized vectors equal
    to the model's own (cosine >= PROBE_COSINE, checked at export)."""

    def __init__(self, folder: Path, record: dict):
        from tokenizers import Tokenizer

        self.name = record["model"]
        self.dim = int(record["dim"])
        self.max_tokens = int(record["max_tokens"])
        self.folder = folder
        self.session = _session(folder)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokens = Tokenizer.from_file(str(folder / TOKENIZER))  # truncates to max_tokens, pads to the longest

    @cached_property
    def tokenizer(self) -> Any:
        """The Hugging Face tokenizer chunks are sized with (imports transformers; queries never need it)."""
        from tokenizers import Tokenizer
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(self.folder / TOKENIZER)))

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Normalized vectors in the order of `texts`, run in length-sorted batches (no padding wasted), a batch
        per core at a time: each run is single-threaded, and runs of one session may overlap."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        blocks = [order[start : start + BATCH] for start in range(0, len(order), BATCH)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with ThreadPoolExecutor(min(len(blocks), os.cpu_count() or 1, WORKERS) or 1) as pool:
            for block, vectors in zip(blocks, pool.map(lambda block: self._encode([texts[i] for i in block]), blocks)):
                out[block] = vectors
                if progress:
                    progress(len(block))
        return out

    @lru_cache(maxsize=32)  # noqa: B019 -- embedders live as long as the process (query_embedder)
    def embed_query(self, text: str) -> np.ndarray:
        """A read-only query vector, cached (`ask` scores with the vector its search just made)."""
        vector = self._encode([text])[0]
        vector.flags.writeable = False
        return vector

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokens.encode_batch(texts)
        columns = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
        feed = {name: np.array([getattr(e, columns[name]) for e in encodings], dtype=np.int64) for name in self.inputs}
        vectors = self.session.run(None, feed)[0].astype(np.float32, copy=False)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# -------------------------------------------------------------------- query


def query_embedder(settings: Settings, meta: dict, root: Path) -> Embedder:
    """The embedder for queries against an index version with `meta`, under index folder `root`:

    - its ONNX export (`meta["encoder"]`), after checking each file against its recorded sha256: no torch;
    - the sentence-transformers model (torch, seconds to load) when the version has no export: one built
      before exports were made (a warning says `digest index` adds one) or with a model the export refused
      (the build said why);
    - the model too, with a warning, when the export's folder is missing (say, the index was copied without
      `encoders/`): the model computes the same vectors, only slower;
    - a DigestError when an export file is there but differs from its checksum (changed or damaged): its
      vectors cannot be trusted, and `digest index` exports it again.
    The export runs on the CPU whatever `settings.device` says: a query takes milliseconds there. The caller
    checks that `settings.embedder` names the model the index was built with (`Index.check_embedder`).
    """
    record = meta.get("encoder")
    if record is None:
        log.warning("the index at %s has no ONNX query encoder, so queries load torch (slow): run `digest index` "
                     "to export one", root)
    elif record.get("path"):
        folder = root / record["path"]
        if all((folder / name).is_file() for name in record["sha256"]):
            return _onnx_embedder(folder, json.dumps(record, sort_keys=True))
        log.warning("the ONNX query encoder %s is missing, so queries load torch (slow): run `digest index` to "
                     "export it again", folder)
    return load_embedder(settings.embedder, settings.device)


def load_live_soon(index_dir: Path) -> None:
    """Start checking and loading the live index version's ONNX export (`live.check_soon`, `load_soon`);
    nothing where there is none (`Index.open` says what is wrong)."""
    meta = live_meta(index_dir)
    check_soon(meta, index_dir)
    load_soon(meta, index_dir)


def load_soon(meta: dict, root: Path) -> None:
    """Start making an index version's `OnnxEmbedder` in the background (ONNX Runtime session and tokenizer: a
    tenth of a second, the GIL released for most of it), so that it passes while the caller imports and loads the
    rest of the index. Its files' check (`live.check_soon`) is started first, by the caller."""
    record = meta.get("encoder") or {}
    if record.get("path"):
        _embedder_soon(root / record["path"], json.dumps(record, sort_keys=True))


def _embedder_soon(folder: Path, record: str) -> Future:
    """A future of the `OnnxEmbedder` of the export in `folder` (`record`: its meta entry, as JSON), made once
    per process for its files as they are now."""
    return in_background(_embedder, folder, record, stamp(folder, [GRAPH, GRAPH + ".data", TOKENIZER]))


def _embedder(folder: Path, record: str) -> OnnxEmbedder:
    """The export's embedder; `record` is JSON so that the futures' cache can key on it."""
    return OnnxEmbedder(folder, json.loads(record))


def _session(folder: Path) -> Any:
    """An ONNX Runtime session of the export in `folder`, on one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=4)
def _onnx_embedder(folder: Path, record: str) -> OnnxEmbedder:
    """The export in `folder`, checked against `record` and loaded once per process."""
    entry = json.loads(record)
    bad = verification(folder, entry["sha256"]).result()
    if bad:
        raise DigestError(f"the ONNX query encoder {folder / bad} does not match the checksum the index recorded "
                          "(changed or damaged): run `digest index` to export it again")
    try:
        return _embedder_soon(folder, record).result()
    except Exception as exc:  # onnxruntime and tokenizers raise their own types for an unreadable file
        raise DigestError(f"cannot load the ONNX query encoder in {folder} ({one_line(exc)[:200]}): "
                          "run `digest index --force` to export it again") from exc


# -------------------------------------------------------------------- build


def encoder_ready(meta: dict, root: Path) -> bool:
    """Whether an index version needs no new export: it has a sound one, or its model was refused one."""
    record = meta.get("encoder")
    if record is None or record.get("model") != meta.get("embedder"):
        return False
    return not record.get("path") or verification(root / record["path"], record["sha256"]).result() is None


def export_encoder(embedder: SentenceTransformerEmbedder, root: Path, on_progress: OnProgress = ignore_progress) -> dict:
    """Export `embedder`'s model under `root/encoders/`, or reuse a sound export of the same weights there, and
    return the record the index meta keeps: model, folder, sha256 of each file, what the export holds and the
    seconds it took. A model the export cannot reproduce gets {"model", "reason"} (said to `on_progress`) and
    no export: its queries load torch. Needs `onnx` and `onnxscript` (torch's exporter)."""
    model = _cpu_model(embedder)
    record = _export_once(embedder.name, model, root, on_progress)
    if "reason" in record:
        on_progress(f"no ONNX query encoder: {record['reason']}; queries will load torch (slower)…", 0, 0)
    return record


def _export_once(name: str, model, root: Path, on_progress: OnProgress) -> dict:
    reason = unsupported(model)
    if reason:
        return {"model": name, "reason": reason}
    folder = root / ENCODERS / fingerprint(model)
    try:
        record = json.loads((folder / MANIFEST).read_text())
        if verification(folder, record["sha256"]).result() is None:
            return {**record, "model": name}
    except (OSError, ValueError, KeyError):
        pass  # none yet, or a damaged one: export again
    on_progress("exporting the query encoder to ONNX (once per model)…", 0, 0)
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        record = _export(name, model, tmp, f"{ENCODERS}/{folder.name}")
        if "reason" not in record:
            (tmp / MANIFEST).write_text(json.dumps(record, indent=1))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        return record
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unsupported(model) -> str | None:
    """Why the export cannot reproduce this sentence-transformers model, or None: it handles a transformer
    followed by pooling (cls, max, mean, mean_sqrt_len_tokens), dense layers and normalization, as the model's
    modules.json and pooling config (loaded into `model`) say, and no default prompt."""
    kinds = [type(module).__name__ for module in model]
    if not kinds or kinds[0] != "Transformer" or not set(kinds) <= MODULES:
        return f"its modules ({', '.join(kinds)}) are not a transformer followed by {', '.join(sorted(MODULES - {'Transformer'}))}"
    for module in model:
        if type(module).__name__ == "Pooling":
            modes = {module.pooling_mode} if isinstance(module.pooling_mode, str) else set(module.pooling_mode)
            if not modes <= POOLING:
                return f"its pooling {', '.join(sorted(modes - POOLING))} is not supported (only {', '.join(sorted(POOLING))})"
    if getattr(model, "default_prompt_name", None):
        return f"it adds the prompt {model.default_prompt_name!r} to every text"
    if not hasattr(model.tokenizer, "backend_tokenizer"):
        return "it has no fast (Rust) tokenizer"
    return None


def fingerprint(model) -> str:
    """16 hex digits naming an export: the export format, the weights, the tokenizer and the module configs."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT}|{model.max_seq_length}|{_modules(model)}".encode())
    digest.update(_tokenizer(model).to_str().encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _tokenizer(model):
    """The model's tokenizer as it reads a text: truncated to the model's length, padded to the longest text of
    a batch (set here: the Hugging Face tokenizer leaves whatever its last call asked for)."""
    from tokenizers import Tokenizer

    hf = model.tokenizer
    tokens = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    tokens.enable_truncation(model.max_seq_length)
    tokens.enable_padding(pad_id=hf.pad_token_id, pad_token=hf.pad_token)
    return tokens


def _modules(model) -> str:
    return json.dumps([[type(m).__name__, getattr(m, "pooling_mode", None)] for m in model])


def _cpu_model(embedder: SentenceTransformerEmbedder):
    """The embedder's model in float32 on the CPU: its own on the CPU, else its CPU copy (the GPU one is fp16)."""
    return embedder.model if embedder.device == "cpu" else load_embedder(embedder.name, "cpu").model


def _export(name: str, model, folder: Path, path: str) -> dict:
    """Trace `model` (tokenizer output -> sentence vector) into `folder/model.onnx` with torch's exporter,
    write the tokenizer as the model uses it, check both against the model on PROBES; the record of the
    export, to be found at `path` under the index folder."""
    import torch

    started = time.perf_counter()
    _tokenizer(model).save(str(folder / TOKENIZER))
    sample = model.tokenizer(list(PROBES[:2]), padding=True, truncation=True, return_tensors="pt")
    inputs = [key for key in INPUTS if key in sample]
    if set(sample) - set(inputs):
        return {"model": name, "reason": f"its tokenizer gives inputs {sorted(set(sample) - set(inputs))} the export does not pass"}

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            features = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return self.model({key: features[key] for key in inputs})["sentence_embedding"]

    batch, length = torch.export.Dim("batch"), torch.export.Dim("tokens", max=model.max_seq_length)
    try:
        with torch.no_grad(), warnings.catch_warnings(), _quiet("torch.onnx._internal.exporter._registration"):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Graph().eval(), (), str(folder / GRAPH), kwargs={key: sample[key] for key in inputs},
                input_names=inputs, output_names=["sentence_embedding"], dynamo=True,
                external_data=True,  # weights in a file of their own, which ONNX Runtime maps: a session in 0.05 s, not 0.3
                dynamic_shapes={key: {0: batch, 1: length} for key in inputs}, verbose=False,
            )
    except Exception as exc:  # torch.export and onnxscript fail in many ways on an unusual model
        return {"model": name, "reason": f"torch.onnx.export failed ({one_line(exc)[:200]})"}
    record = {
        "model": name, "path": path, "format": EXPORT_FORMAT,
        "dim": int(model.get_embedding_dimension()), "max_tokens": int(model.max_seq_length),
        "modules": json.loads(_modules(model)), "exporter": f"torch.onnx dynamo, torch {torch.__version__}",
        "sha256": {p.name: sha256_file(p) for p in sorted(folder.iterdir())},
    }
    expected = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    got = OnnxEmbedder(folder, record).embed(list(PROBES))
    cosine = float(np.min(np.sum(got * expected, axis=1)))
    if cosine < PROBE_COSINE:
        return {"model": name, "reason": f"the export's vectors differ from the model's (cosine {cosine:.5f} on probe texts)"}
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Only errors from `logger` (the exporter warns that torchvision, which digest does not use, is missing)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def clean_encoders(root: Path) -> None:
    """Delete the exports (and half-written ones) that no index version under `root` records."""
    used = set()
    for meta in root.glob("v[0-9]*/meta.json"):
        try:
            used.add(Path(json.loads(meta.read_text())["encoder"]["path"]).name)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    for folder in (root / ENCODERS).glob("*"):
        if folder.name not in used:
            shutil.rmtree(folder, ignore_errors=True)
