"""Summarize: fill the survey sheet of each paper, every value backed by quotes found in the paper.

`summarize_paper` does one parsed paper with the extractive backend or, on top of it, an LLM; `summarize_papers`
does catalog papers, storing each sheet under a key that fingerprints the PDF, the parser, the backend and model
and the settings that shape the result, so a sheet is recomputed only when one of those changes (or with force).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from digest.catalog import Catalog
from digest.errors import DigestError
from digest.files import sha256_file
from digest.fields import FACTS_FILE, FIELD_KEYS, NAMED_FIELDS
from digest.models import FieldValue, PaperSummary, ParsedPaper
from digest.outcome import OnResult, Outcome, ignore_result
from digest.settings import Settings

from .entities import GAZETTEER, named_entity
from .evidence import PaperText, validate_field, validate_summary
from .columns import fill_columns
from .extractive import extract
from .figures import save_figures, with_figures

if TYPE_CHECKING:
    from digest.index import Index

__all__ = [
    "EXTRACTIVE_VERSION", "check_fields", "sheet_json", "summarize_paper", "summarize_papers", "summary_key",
]

# Bump when the extractive backend changes what it outputs: stored sheets are then recomputed (edits to the gazetteer
# and the fact table, digest/data/facts.toml, are caught by their fingerprints in the key).
EXTRACTIVE_VERSION = "8"  # 8: list items apart, listed benchmarks, teachers, training objectives; 7: design sentences with coined terms, hub datasets, versioned names; 6: base model, facts not from formulas, crops of ruled-cell tables; 5: results figures (效果展示); 4: model facts


def check_fields(fields: Iterable[str] | None) -> list[str]:
    """The requested field keys in sheet order (all when None); an unknown key is a DigestError."""
    if not fields:
        return list(FIELD_KEYS)
    wanted = [f.strip() for f in fields if f.strip()]
    unknown = [f for f in wanted if f not in FIELD_KEYS]
    if unknown:
        raise DigestError(f"unknown field(s) {', '.join(unknown)}: choose from {', '.join(FIELD_KEYS)}")
    return [f for f in FIELD_KEYS if f in wanted]


def summarize_paper(
    parsed: ParsedPaper,
    settings: Settings,
    backend: str = "extractive",
    fields: Sequence[str] | None = None,
    llm: BaseChatModel | None = None,
) -> PaperSummary:
    """The survey sheet of one paper. `backend` is extractive or llm (the LLM rewrites the extractive evidence in
    `settings.lang`)."""
    if backend not in ("extractive", "llm"):
        raise DigestError(f"unknown backend {backend!r}: use extractive or llm")
    wanted = check_fields(fields)
    started = time.perf_counter()
    text = PaperText(parsed)
    summary = validate_summary(extract(parsed, wanted, text), parsed, text)
    summary.seconds = round(time.perf_counter() - started, 3)
    if backend == "extractive":
        return summary
    from digest.llm import resolve_backend

    from .with_llm import summarize_with_llm

    llm = llm or resolve_backend(settings, "llm")[1]
    result = summarize_with_llm(parsed, summary, llm, settings, wanted, settings.lang, text)
    # The model may translate prose, so its values are not matched to quotes; its quotes must be in the paper, and
    # its dataset and benchmark names in the paper and not names of models or methods.
    result.fields = {k: validate_field(v, text, check_items=False) for k, v in result.fields.items()}
    for key in NAMED_FIELDS:
        if key in result.fields and isinstance(result.fields[key].value, list):
            names = [item for item in result.fields[key].value if named_entity(item, text)]
            result.fields[key] = result.fields[key].model_copy(update={"value": names}) if names else FieldValue()
    return result


def summarize_papers(
    settings: Settings,
    catalog: Catalog,
    ids: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    force: bool = False,
    on_result: OnResult = ignore_result,
) -> list[Outcome]:
    """Summarize catalog papers (all fetched ones, or `ids` in any id form) with `settings.backend` and store each
    sheet, the images of its results figures in `catalog.figures_dir`; one outcome per paper (detail: `sheet`,
    holding the requested fields). One bad paper never stops the batch.

    A stored sheet is reused when its key (PDF, parser, backend, model, settings) is unchanged and it holds the
    requested fields; otherwise the missing fields are computed and merged into it.
    """
    from digest.llm import resolve_backend

    wanted = check_fields(fields)
    backend, llm = resolve_backend(settings, settings.backend)
    setup = _setup(settings, backend, llm)
    index = _index_opener(settings) if settings.column else None
    outcomes = []
    for any_id in ids if ids is not None else [p.paper_id for p in catalog.papers(status="ok")]:
        outcomes.append(_summarize_one(settings, catalog, any_id, backend, llm, setup, wanted, force, index))
        on_result(outcomes[-1])
    return outcomes


def _index_opener(settings: Settings) -> Callable[[], Index]:
    """Opens the workspace's index on first use (the columns of your own search each paper's passages)."""
    from digest.index import Index

    @functools.cache
    def opened() -> Index:
        try:
            return Index.open(settings)
        except DigestError as exc:
            raise DigestError(f"columns of your own need the search index ({exc})") from exc

    return opened


def summary_key(state: dict, setup: dict) -> str:
    """Fingerprint of what a sheet depends on: the PDF and parser (`state`), and the backend, model and settings."""
    parts = {"pdf": state["sha256"], "parser": state["parser_version"], **setup}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _setup(settings: Settings, backend: str, llm: BaseChatModel | None) -> dict:
    """What a batch's sheets depend on besides the paper: the backend and its version, and the model's settings."""
    setup = {"backend": backend, "extractive": EXTRACTIVE_VERSION, "gazetteer": sha256_file(GAZETTEER)[:12],
             "facts": sha256_file(FACTS_FILE)[:12]}
    if llm is not None:
        from digest.llm import model_name

        setup |= {"model": model_name(llm), "lang": settings.lang, "temperature": settings.llm_temperature,
                  "max_tokens": settings.llm_max_tokens, "prompts": _prompts_digest(settings),
                  "llm_facts": settings.llm_facts}
    return setup


def _summarize_one(settings, catalog, any_id, backend, llm, setup, wanted, force, index) -> Outcome:
    from digest.llm import LLMUnavailableError

    try:
        parsed, state = _parsed(settings, catalog, any_id)
        key = summary_key(state, setup)
        stored = None if force else catalog.load_summary(parsed.paper_id, backend, key)
        todo = [f for f in wanted if stored is None or f not in stored.fields]
        if not todo:
            sheet, status = stored, "unchanged"
        else:
            sheet, status = summarize_paper(parsed, settings, backend, FIELD_KEYS if backend == "extractive" else todo, llm), "done"
            sheet = _with_figures(settings, catalog, parsed, sheet)
            if stored is not None:
                sheet.fields = {k: sheet.fields.get(k) or stored.fields[k] for k in FIELD_KEYS if k in sheet.fields or k in stored.fields}
                sheet.columns = stored.columns
        if index is not None:
            columns = fill_columns(settings.column, parsed.paper_id, index(), settings, sheet.columns, llm)
            status = "done" if columns != sheet.columns else status
            sheet.columns = columns
        if status == "done":
            catalog.save_summary(sheet, key)
        return Outcome(parsed.paper_id, "summarize", status, detail={"sheet": _only(sheet, wanted)})
    except LLMUnavailableError:
        raise  # the model is down or missing: every other paper would fail the same way
    except DigestError as exc:
        return Outcome(any_id, "summarize", "failed", str(exc))
    except Exception as exc:  # a bug or a malformed parse must not stop the batch; the report names it
        return Outcome(any_id, "summarize", "failed", f"{type(exc).__name__}: {exc}")


def _with_figures(settings: Settings, catalog: Catalog, parsed: ParsedPaper, sheet: PaperSummary) -> PaperSummary:
    """The sheet with the paper's results figures, cropped from its PDF into the catalog's folder for the paper."""
    from digest.parse import pdf_path

    pdf = pdf_path(settings, catalog.find(parsed.paper_id))
    figures = save_figures(pdf, parsed, PaperText(parsed), sheet.benchmarks, catalog.figures_dir(parsed.paper_id))
    return with_figures(sheet, figures)


def _parsed(settings: Settings, catalog: Catalog, any_id: str) -> tuple[ParsedPaper, dict]:
    """The parse of a catalog paper, refreshed first when its PDF or the parser changed, and their fingerprint."""
    from digest.parse import parse_papers

    [outcome] = parse_papers(settings, catalog, [any_id])
    if outcome.failed:
        raise DigestError(outcome.error)
    state = catalog.parse_state(outcome.paper_id)
    parsed = catalog.load_parse(outcome.paper_id)
    return parsed, {"sha256": state["sha256"], "parser_version": state["parser_version"]}


def sheet_json(summary: PaperSummary) -> dict:
    """A sheet as `--json` prints it: paper_id, title, fields {KEY: {value, evidence}}, benchmarks, facts, columns
    {NAME: {question, type, unit, value, evidence}}, figures (label, kind, number, caption, page, bbox, and the image
    file's name in the workspace's `corpus/figures/<paper_id>/`)."""
    return {
        "paper_id": summary.paper_id,
        "title": summary.title,
        "fields": {k: v.model_dump(include={"value", "evidence"}) for k, v in summary.fields.items()},
        "benchmarks": [b.model_dump() for b in summary.benchmarks],
        "facts": [m.model_dump() for m in summary.facts],
        "columns": {k: v.model_dump(include={"question", "type", "unit", "value", "evidence"}) for k, v in summary.columns.items()},
        "figures": [f.model_dump() for f in summary.figures],
    }


def _only(summary: PaperSummary, wanted: list[str]) -> PaperSummary:
    keep = {k: v for k, v in summary.fields.items() if k in wanted}
    return summary.model_copy(update={"fields": keep, "benchmarks": summary.benchmarks if "evaluation" in wanted else []})


def _prompts_digest(settings: Settings) -> str:
    """Edits to the prompt templates change LLM sheets, so they are part of the key."""
    templates: dict[str, Path] = {}
    for folder in settings.prompt_folders:  # each name from the first folder that has it, as render_prompt reads it
        for path in folder.glob("*.md"):
            templates.setdefault(path.name, path)
    digest = hashlib.sha256()
    for name, path in sorted(templates.items()):
        digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]
