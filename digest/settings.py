"""All settings in one pydantic model: defaults < `digest.toml` < `DIGEST_*` environment < flags.

The sources are read here rather than by pydantic-settings, whose import alone costs a cold query a tenth of a
second (bench/README.md, cold queries): a variable's value is JSON for a list or table setting, else the text
pydantic converts (`DIGEST_ARXIV_DELAY=0.5`, `DIGEST_COLUMN='[{"name": …}]'`); names are case-insensitive.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field

ARXIV_API_URL = "https://export.arxiv.org/api/query"
PACKAGED_PROMPTS = Path(__file__).resolve().parent / "prompts"


ColumnType = Literal["number", "text", "list", "yes/no"]


class Column(BaseModel):
    """A column of your own: filled for every paper from that paper alone (`[[column]]` in digest.toml)."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, description="its heading, e.g. context length")
    question: str = Field(min_length=3, description="what it asks of each paper")
    type: ColumnType | None = Field(None, description="number, text, list or yes/no; default: read from the question")
    unit: str = Field("", description="a number's unit, e.g. tokens: values with it are preferred")


ENV_PREFIX = "DIGEST_"


class Settings(BaseModel):
    """Every knob digest has. Build it with `Settings.load()`."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    workspace: Path = Field(default_factory=Path.cwd, description="holds digest.toml, corpus/ and index/")

    # fetch
    arxiv_api_url: str = Field(ARXIV_API_URL, description="arXiv API query endpoint")
    arxiv_delay: float = Field(3.0, ge=0, description="seconds between requests to arXiv (its terms ask for 3)")
    http_timeout: float = Field(30.0, gt=0, description="seconds before a request times out")
    max_retries: int = Field(5, ge=0, description="retries on timeouts, connection errors, 429 and 5xx")
    fetch_deadline: float = Field(
        120.0, gt=0, description="most seconds one request to arXiv may take, its retries included, before it fails"
    )
    backoff_base: float = Field(1.0, ge=0, description="first retry delay in seconds, doubled each retry")
    backoff_max: float = Field(60.0, ge=0, description="longest retry delay in seconds")
    page_size: int = Field(100, ge=1, le=2000, description="results per arXiv API page")
    empty_page_retries: int = Field(2, ge=0, description="re-asks of an empty first API page before its ids count as unknown")

    # index
    embedder: str = Field("all-MiniLM-L6-v2", description="sentence-transformers model name or path")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    chunk_tokens: int = Field(200, ge=32, description="chunk size in the embedder's word pieces")
    chunk_overlap: int = Field(32, ge=0, description="overlap between neighbouring chunks, in word pieces")
    ann_threshold: int = Field(200_000, ge=1, description="vectors above which an approximate index is built")
    ann_index: Literal["ivfpq", "hnsw", "ivf"] = Field(
        "ivfpq", description="the approximate index: ivfpq (compressed codes in memory, about 110 bytes a 384-d "
        "vector; candidates re-scored from the full vectors, memory-mapped from disk), hnsw or ivf (full vectors "
        "in memory: 13-16x more)"
    )
    search_mode: Literal["dense", "bm25", "hybrid"] = "hybrid"
    fusion: Literal["score", "rrf"] = Field(
        "score", description="hybrid ranking: score (weighted sum of scaled scores) or rrf (reciprocal-rank fusion)"
    )
    top_k: int = Field(5, ge=1)
    engine: Literal["local", "ray"] = Field(
        "local", description="where `index` parses and embeds: local (this process) or ray (a Ray cluster, the ray extra)"
    )
    ray_address: str | None = Field(
        None, pattern=r"^(auto|local|ray://\S+|[\w.-]+:\d+)$",
        description="the Ray cluster of engine ray: host:port, ray://host:port, auto (one started on this machine) "
                    "or local (a new one here); unset: RAY_ADDRESS, else a new one here",
    )

    # summarize / ask
    backend: Literal["auto", "extractive", "llm"] = "auto"
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    llm_model: str | None = Field(None, description="model name at that endpoint")
    llm_api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    llm_local_model: Path | None = Field(None, description="GGUF file for the embedded llama.cpp model")
    llm_temperature: float = 0.0
    llm_max_tokens: int = 512
    llm_timeout: float = Field(
        300.0, gt=0, description="seconds an LLM endpoint may stay silent (answers are streamed) before it has failed"
    )
    lang: Literal["zh", "en"] = "zh"
    llm_facts: bool = Field(
        True, description="with the LLM backend, also ask it for the model facts the extractive pass leaves empty "
        "(one more call a paper, each fact checked against its quote)"
    )
    answer_threshold: float = Field(
        0.46, description="evidence score below which `ask` says the corpus does not say (calibrated by bench/eval.py)"
    )
    prompts_dir: Path | None = Field(None, description="prompt templates; default <workspace>/prompts, else bundled")
    column: list[Column] = Field(default_factory=list, description="columns of your own, `[[column]]` tables")

    @classmethod
    def load(cls, **flags: Any) -> "Settings":
        """Settings for a workspace: its `digest.toml`, then `DIGEST_*` variables, then the flags not None.
        Raises pydantic's ValidationError naming a bad setting, or TOMLDecodeError with its line."""
        given = _given(flags)
        environment = _environment(cls)
        workspace = given.get("workspace") or environment.get("workspace") or Path.cwd()
        return cls.model_validate({**_toml(Path(workspace) / "digest.toml"), **environment, **given})

    def with_flags(self, **flags: Any) -> "Settings":
        """These settings with a command's flags folded in (None leaves a setting as it is), validated;
        pydantic's ValidationError names a bad one."""
        return type(self).model_validate({**self.model_dump(), **_given(flags)})

    # Derived locations -------------------------------------------------
    @property
    def corpus_dir(self) -> Path:
        return self.workspace / "corpus"

    @property
    def pdf_dir(self) -> Path:
        return self.corpus_dir / "pdf"

    @property
    def catalog_path(self) -> Path:
        return self.corpus_dir / "catalog.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.workspace / "index"

    @property
    def prompt_folders(self) -> tuple[Path, ...]:
        """Where prompt templates are looked for, in order: `prompts_dir`, else the workspace's own `prompts/` when
        there is one; then the copy packaged with digest (so a folder need hold only the templates it changes)."""
        own = self.prompts_dir or self.workspace / "prompts"
        return (own, PACKAGED_PROMPTS) if own.is_dir() and own.resolve() != PACKAGED_PROMPTS else (PACKAGED_PROMPTS,)


def _given(flags: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in flags.items() if v is not None}


def _toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _environment(model: type[BaseModel]) -> dict[str, Any]:
    """The `DIGEST_<NAME>` variables of `model`'s fields (any case); list and table values parsed as JSON."""
    found = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        value = found.get(ENV_PREFIX + name.upper())
        if value is not None:
            structured = get_origin(info.annotation) in (list, dict) or info.annotation in (list, dict)
            try:
                out[name] = json.loads(value) if structured else value
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} is not JSON ({exc})") from None
    return out
