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
from .corpus import add_papers
from .errors import DigestError
from .export import EXPORTERS, exporter, load_entries
from .fetch import Wanted, fetch_papers
from .index import build_index
from .outcome import OnProgress, Outcome, ignore_progress
from .settings import Settings
from .summarize import summarize_papers


@dataclass
class RunReport:
    surveyed: list[str] = field(default_factory=list)  # ids with a sheet in the export
    failed: dict[str, Outcome] = field(default_factory=dict)  # id -> the failure that left it out
    written: list[Path] = field(default_factory=list)


def run_survey(
    settings: Settings,
    catalog: Catalog,
    out: Path,
    wanted: list[Wanted] | None = None,
    pdfs: list[Path] | None = None,
    formats: tuple[str, ...] = tuple(EXPORTERS),
    on_stage: Callable[[str], None] = lambda stage: None,
    on_progress: OnProgress = ignore_progress,
) -> RunReport:
    """Survey the `wanted` arXiv papers (or the local `pdfs`, files or folders) into sheets under the folder
    `out`, with `settings.backend` and `settings.lang`."""
    if not out.is_dir() and (out.exists() or out.suffix):  # a file, or a path naming one
        raise DigestError(f"-o {out} is not a folder: a run writes a sheet per paper and survey.<format> there; give a folder")
    report = RunReport()

    on_stage("fetch")
    fetched = add_papers(settings, catalog, pdfs) if pdfs is not None else fetch_papers(settings, catalog, wanted or [])
    ids = _survivors(report, [o.paper_id for o in fetched], fetched)

    on_stage("index")
    if ids:
        ids = _survivors(report, ids, build_index(settings, catalog, ids, on_progress=on_progress).failed)

    on_stage("summarize")
    sheets = summarize_papers(settings, catalog, ids) if ids else []
    report.surveyed = _survivors(report, [o.paper_id for o in sheets], sheets)

    on_stage("export")
    if report.surveyed:
        entries, _ = load_entries(catalog, report.surveyed)
        for fmt in formats:
            report.written += exporter(fmt).write(entries, out, settings.lang)
    return report


def _survivors(report: RunReport, ids: list[str], outcomes: list[Outcome]) -> list[str]:
    """Record the failures among a stage's outcomes; the `ids` that go on to the next stage, in order, without
    repeats."""
    failed = {o.paper_id: o for o in outcomes if o.failed}
    for paper_id, outcome in failed.items():
        report.failed.setdefault(paper_id, outcome)
    return [i for i in dict.fromkeys(ids) if i not in failed]
