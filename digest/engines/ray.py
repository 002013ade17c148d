"""The `ray` ingest engine: parsing and embedding on a Ray cluster as Ray Data pipelines (`digest index --ray`).

PDFs are parsed in CPU tasks, one paper a row. Parsed papers are chunked in CPU tasks and embedded by a pool of
actors that each load the embedder once: one actor per GPU, holding it, when the cluster has GPUs (and `device`
is not cpu), else one per CPU, into which Ray Data fuses the chunking. Results come back to this process, which
stores them as the local engine's are. Every node must see the workspace at the same path and have digest (with
the same embedder) installed. Needs the `ray` extra: `pip install 'digest[ray]'`.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..embed import load_embedder
from ..errors import DigestError, one_line
from ..models import Chunk, ParsedPaper
from ..outcome import OnProgress
from ..settings import Settings
from . import ENGINES, Embedded, embed_texts, passages

MAX_BLOCKS = 2000  # rows are spread over this many blocks at most: one paper a block (a task each) below it
PAPERS_PER_GPU_BATCH = 16  # papers embedded together by a GPU actor (~1500 texts); a CPU actor takes one at a time


@ENGINES.register("ray")
class RayEngine:
    """Connects to `settings.ray_address` (else RAY_ADDRESS, else starts Ray here) unless Ray is already
    initialized in this process. Embedding progress counts papers: their texts are known only once chunked."""

    def __init__(self, settings: Settings):
        try:
            import ray
            import ray.data
        except ImportError as exc:
            raise DigestError("the ray engine needs Ray, which is not installed: pip install 'digest[ray]' "
                              "(in a checkout: pip install -e '.[ray]')") from exc
        ray.data.DataContext.get_current().enable_progress_bars = False  # digest draws its own
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # and says itself what it does
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # not that Ray's bars are off
        self.settings = settings
        self.ray = ray

    def _connect(self) -> None:
        """Connect to the cluster (or start Ray here) on first use: a build with nothing to do needs none."""
        if self.ray.is_initialized():
            return
        address = self.settings.ray_address or os.environ.get("RAY_ADDRESS")
        try:
            self.ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise DigestError(f"cannot reach the Ray cluster at {address} ({one_line(exc)[:200]}): check "
                              "ray_address (or --ray ADDRESS), or leave it unset to start Ray here") from exc

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        rows = [{"item": pickle.dumps(item)} for item in items]
        if not rows:
            return iter(())
        self._connect()
        ds = self.ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
        ds = ds.map(_call, fn_kwargs={"fn": fn})
        ds.context.execution_options.preserve_order = True
        return (pickle.loads(row["result"]) for row in ds.iter_rows())

    def embed(self, papers: dict[str, ParsedPaper], seconds: dict[str, float],
              on_progress: OnProgress) -> Iterator[Embedded]:
        clock = time.perf_counter()
        rows = [{"paper_id": pid, "parsed": parsed.model_dump_json()} for pid, parsed in papers.items()]
        if not rows:
            return
        self._connect()
        actors, gpus, device = embedding_actors(self.settings, self.ray.cluster_resources())
        batch = PAPERS_PER_GPU_BATCH if gpus else 1
        ds = (
            self.ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
            .map(_chunk, fn_kwargs={"settings": self.settings})
            .map_batches(_Embed, fn_constructor_kwargs={"settings": self.settings, "device": device},
                         batch_size=batch, num_gpus=gpus,
                         compute=self.ray.data.ActorPoolStrategy(size=min(actors, -(-len(rows) // batch))))
        )
        on_progress("embed", 0, len(rows))
        for done, row in enumerate(ds.iter_rows(), 1):
            chunks = [Chunk.model_validate_json(text) for text in row["chunks"]]
            vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(len(chunks), row["dim"])
            yield Embedded(row["paper_id"], chunks, vectors, row["texts"])
            on_progress("embed", done, len(rows))
        seconds["embed"] = time.perf_counter() - clock


def embedding_actors(settings: Settings, resources: dict) -> tuple[int, int, str]:
    """How many embedding actors, GPUs each, and their device: one per GPU when the cluster has GPUs and
    `device` is not cpu, else one per CPU."""
    gpus = int(resources.get("GPU", 0)) if settings.device != "cpu" else 0
    return (gpus, 1, "cuda") if gpus else (max(1, int(resources.get("CPU", 1))), 0, "cpu")


def _call(row: dict, fn: Callable) -> dict:
    return {"result": pickle.dumps(fn(pickle.loads(row["item"])))}


def _chunk(row: dict, settings: Settings) -> dict:
    """A parsed paper's chunks (as JSON) and the texts to embed for them; the embedder is loaded for its tokenizer."""
    parsed = ParsedPaper.model_validate_json(row["parsed"])
    chunks, texts = passages(parsed, load_embedder(settings.embedder, "cpu"), settings)
    return {"paper_id": row["paper_id"], "chunks": [c.model_dump_json() for c in chunks], "texts": texts}


class _Embed:
    """An embedding actor: the model, loaded once; embeds a batch of papers' texts together."""

    def __init__(self, settings: Settings, device: str):
        self.embedder = load_embedder(settings.embedder, device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        papers = [list(texts) for texts in batch["texts"]]
        vectors, _ = embed_texts(self.embedder, [text for texts in papers for text in texts])
        ends = np.cumsum([len(texts) for texts in papers])[:-1]
        return {
            "paper_id": list(batch["paper_id"]),
            "chunks": [list(chunks) for chunks in batch["chunks"]],
            "vectors": [block.tobytes() for block in np.split(vectors, ends)],
            "dim": [self.embedder.dim] * len(papers),
            "texts": [len(set(texts)) for texts in papers],
        }
