"""`digest run`: the whole survey in one resumable command — fetch, parse + index, summarize, export.

Every stage stores its work (PDFs, catalog rows, parses, index versions, sheets) and skips what is already done,
so a run that was interrupted picks up where it stopped. A paper that fails at one stage is left out of the
later ones and named in the report; it never stops the others. The output folder ends up holding this run's
survey only: what the previous run wrote there (listed in its `.digest-written`) and this one did not is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog
from .corpus import add_papers
from .errors import DigestError
from .files import write_atomic
from .export import EXPORTERS, exporter, load_entries
from .fetch import UNKNOWN, Wanted, fetch_papers
from .index import build_index
from .outcome import OnProgress, Outcome, ignore_progress
from .settings import Settings
from .summarize import summarize_papers


WRITTEN = ".digest-written"  # in a run's output folder: the files that run wrote there


@dataclass
class RunReport:
    surveyed: list[str] = field(default_factory=list)  # ids with a sheet in the export
    failed: dict[str, Outcome] = field(default_factory=dict)  # id -> the failure that left it out
    skipped: list[str] = field(default_factory=list)  # ids the arXiv endpoint does not have (with skip_unknown)
    warned: list[Outcome] = field(default_factory=list)  # outcomes with warnings, from every stage
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
    skip_unknown: bool = False,
) -> RunReport:
    """Survey the `wanted` arXiv papers (or the local `pdfs`, files or folders) into sheets under the folder
    `out`, with `settings.backend` and `settings.lang`. With `skip_unknown`, papers the arXiv endpoint does not
    have are skipped rather than failed (for a loopback server that holds part of a list)."""
    if not out.is_dir() and (out.exists() or out.suffix):  # a file, or a path naming one
        raise DigestError(f"-o {out} is not a folder: a run writes a sheet per paper and survey.<format> there; give a folder")
    report = RunReport()

    on_stage("fetch")
    if pdfs is not None:
        fetched = add_papers(settings, catalog, pdfs)
    else:
        fetched = fetch_papers(settings, catalog, wanted or [], on_progress=on_progress)
    if skip_unknown:
        report.skipped = [o.paper_id for o in fetched if o.failed and o.detail.get(UNKNOWN)]
        fetched = [o for o in fetched if o.paper_id not in report.skipped]
    report.warned += [o for o in fetched if o.warnings]
    ids = _survivors(report, [o.paper_id for o in fetched], fetched)

    on_stage("index")
    if ids:
        indexed = build_index(settings, catalog, ids, on_progress=on_progress)
        report.warned += indexed.warned
        ids = _survivors(report, ids, indexed.failed)

    on_stage("summarize")
    sheets = summarize_papers(settings, catalog, ids) if ids else []
    report.surveyed = _survivors(report, [o.paper_id for o in sheets], sheets)

    on_stage("export")
    if report.surveyed:
        entries, _ = load_entries(catalog, report.surveyed)
        for fmt in formats:
            report.written += exporter(fmt).write(entries, out, settings.lang)
    _forget_previous_run(out, report.written)
    return report


def _forget_previous_run(out: Path, written: list[Path]) -> None:
    """Delete the files the previous run wrote into `out` that this run did not write again (and the folders that
    leaves empty), then record what this run wrote (files digest did not write are never touched)."""
    manifest = out / WRITTEN
    try:
        before = json.loads(manifest.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        before = []
    now = [path.relative_to(out).as_posix() for path in written]
    root = out.resolve()
    for name in set(before) - set(now):
        stale = (out / name).resolve()
        if stale.is_relative_to(root):
            stale.unlink(missing_ok=True)
            if stale.parent != root and stale.parent.is_dir() and not any(stale.parent.iterdir()):
                stale.parent.rmdir()  # a paper's figure folder it emptied
    if written or before:
        write_atomic(manifest, json.dumps(now, indent=1).encode())


def _survivors(report: RunReport, ids: list[str], outcomes: list[Outcome]) -> list[str]:
    """Record the failures among a stage's outcomes; the `ids` that go on to the next stage, in order, without
    repeats."""
    failed = {o.paper_id: o for o in outcomes if o.failed}
    for paper_id, outcome in failed.items():
        report.failed.setdefault(paper_id, outcome)
    return [i for i in dict.fromkeys(ids) if i not in failed]
