"""`digest run`: the whole survey in one resumable command — fetch, parse + index, summarize, export.

Every stage stores its work (PDFs, catalog rows, parses, index versions, sheets) and skips what is already done,
so a run that was interrupted picks up where it stopped. A paper that fails at one stage is left out of the
later ones and named in the report; it never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog
from .errors import DigestError
from .export import EXPORTERS, exporter, load_entries
from .fetch import Wanted, add_papers, fetch_papers, local_pdfs
from .index import build_index
from .settings import Settings
from .summarize import summarize_papers


@dataclass
class RunReport:
    surveyed: list[str] = field(default_factory=list)  # ids with a sheet in the export
    failed: dict[str, str] = field(default_factory=dict)  # id -> stage and reason
    written: list[Path] = field(default_factory=list)


def run_survey(
    settings: Settings,
    catalog: Catalog,
    out: Path,
    wanted: list[Wanted] | None = None,
    pdfs: list[Path] | None = None,
    backend: str = "auto",
    lang: str | None = None,
    formats: tuple[str, ...] = tuple(EXPORTERS),
    progress: bool = True,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> RunReport:
    """Survey the `wanted` arXiv papers (or the local `pdfs`) into sheets under the folder `out`."""
    if not out.is_dir() and (out.exists() or out.suffix):  # a file, or a path naming one
        raise DigestError(f"-o {out} is not a folder: a run writes a sheet per paper and survey.<format> there; give a folder")
    report = RunReport()

    on_stage("fetch")
    fetched = add_papers(settings, catalog, local_pdfs(pdfs)) if pdfs is not None else fetch_papers(settings, catalog, wanted or [])
    ids = _survivors(report, "fetch", [(r.paper_id, r.error) for r in fetched])

    on_stage("index")
    index = build_index(settings, catalog, ids=ids, progress=progress) if ids else None
    if index:
        ids = _survivors(report, "parse", [(i, None) for i in ids] + [(f["paper_id"], f["error"]) for f in index.failed])

    on_stage("summarize")
    sheets = summarize_papers(settings, catalog, ids, backend=backend, lang=lang) if ids else []
    report.surveyed = _survivors(report, "summarize", [(s.paper_id, s.error) for s in sheets])

    on_stage("export")
    if report.surveyed:
        entries, _ = load_entries(catalog, report.surveyed)
        for fmt in formats:
            report.written += exporter(fmt).write(entries, out, lang or settings.lang)
    return report


def _survivors(report: RunReport, stage: str, outcomes: list[tuple[str, str | None]]) -> list[str]:
    """Record the failures of a stage; the ids that go on to the next one, in order, without repeats."""
    failed = {pid: error for pid, error in outcomes if error}
    for pid, error in failed.items():
        report.failed.setdefault(pid, f"{stage}: {error}")
    return list(dict.fromkeys(pid for pid, _ in outcomes if pid not in failed))
