"""Write survey sheets as Markdown, CSV, XLSX, JSON, HTML or BibTeX.

Where the output goes (`out`):
- an existing folder, or a path without a suffix, is a folder: the export is `<out>/survey.<ext>`, and the
  Markdown export also writes one `<out>/<arxiv id>.md` sheet per paper;
- any other path is the file to write; its suffix must suit the format (`.md`, `.csv`, `.xlsx`, `.json`,
  `.html`, `.bib`). A Markdown file holds one paper's sheet, or for several papers the combined survey with a
  table of contents.
Every file is written to a temporary file beside it and renamed into place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..catalog import Catalog
from ..errors import DigestError
from ..files import write_atomic
from ..models import PaperRecord
from ..registry import Registry
from .record import Lang, SurveyEntry

SURVEY_STEM = "survey"
Scores = Literal["all", "own"]  # which benchmark scores an export holds: every row, or the papers' own models'


class Exporter(ABC):
    """One output format: renders all entries into one file."""

    suffixes: tuple[str, ...]  # accepted file suffixes, the first is the default

    @abstractmethod
    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        """The whole export as the bytes of one file."""

    def write(self, entries: list[SurveyEntry], out: Path, lang: Lang) -> list[Path]:
        """Write the export to `out` (see the module docstring); returns the files written."""
        return [write_atomic(self.target(out), self.render(entries, lang))]

    def target(self, out: Path) -> Path:
        if is_folder(out):
            return out / f"{SURVEY_STEM}{self.suffixes[0]}"
        if out.suffix.lower() not in self.suffixes:
            raise DigestError(
                f"-o {out}: a {self.suffixes[0][1:]} export needs a file ending in "
                f"{' or '.join(self.suffixes)}, or a folder"
            )
        return out


EXPORTERS: Registry[type[Exporter]] = Registry("export format")
register = EXPORTERS.register  # class decorator: make an exporter available as `--format name`


def exporter(fmt: str, template: Path | None = None) -> Exporter:
    """The exporter for a format name; `template` (a Jinja2 sheet template) only suits Markdown."""
    cls = EXPORTERS.find(fmt)
    if template is not None:
        if fmt != "md":
            raise DigestError(f"--template {template}: templates apply to the md format only")
        return cls(template=template)
    return cls()


def format_for(out: Path, fmt: str | None) -> str:
    """The format asked for, else the one `out`'s suffix names, else Markdown."""
    if fmt:
        return fmt
    if not is_folder(out):
        for name, cls in EXPORTERS.items():
            if out.suffix.lower() in cls.suffixes:
                return name
    return "md"


def is_folder(out: Path) -> bool:
    return out.is_dir() or not out.suffix


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)  # arXiv ids
    missing: dict[str, str] = field(default_factory=dict)  # requested id -> why it was left out


def load_entries(
    catalog: Catalog, ids: list[str] | None = None, backend: str | None = None
) -> tuple[list[SurveyEntry], dict[str, str]]:
    """The survey entries of `ids` in any id form (default: every summarized paper), and why any requested id has
    none."""
    entries: list[SurveyEntry] = []
    missing: dict[str, str] = {}
    papers = catalog.papers() if ids is None else _find_all(catalog, ids, missing)
    for paper in papers:
        summary = catalog.load_summary(paper.paper_id, backend=backend)
        if summary:
            entries.append(SurveyEntry.build(summary, paper, catalog.figures_dir(paper.paper_id)))
        elif ids is not None:
            made_by = f" from the {backend} backend" if backend else ""
            missing[paper.paper_id] = f"no survey sheet{made_by} yet (run `digest summarize {paper.paper_id}`)"
    return entries, missing


def _find_all(catalog: Catalog, ids: list[str], missing: dict[str, str]) -> list[PaperRecord]:
    """The catalog papers `ids` name, each once; the ids it has not go to `missing` with the reason."""
    found: dict[str, PaperRecord] = {}
    for any_id in ids:
        try:
            paper = catalog.find(any_id)
        except DigestError as exc:
            missing[any_id] = str(exc)
        else:
            found.setdefault(paper.paper_id, paper)
    return list(found.values())


def export_catalog(
    catalog: Catalog,
    ids: list[str] | None,
    fmt: str | None,
    out: Path,
    lang: Lang,
    template: Path | None = None,
    backend: str | None = None,
    scores: Scores = "all",
) -> ExportResult:
    """Export the summarized papers (all, or `ids`) to `out`, with all their benchmark scores or (`scores="own"`)
    those of their own models only; papers without a sheet are reported, not fatal."""
    writer = exporter(format_for(out, fmt), template)
    entries, missing = load_entries(catalog, ids, backend)
    if scores == "own":
        entries = [e.model_copy(update={"benchmarks": [b for b in e.benchmarks if b.own]}) for e in entries]
    if not entries:
        asked = f" for {', '.join(missing)}" if missing else ""
        raise DigestError(f"no survey sheets to export{asked}: run `digest summarize` first")
    written = writer.write(entries, out, lang)
    return ExportResult(written, [e.paper_id for e in entries], missing)


# The formats register themselves on import, in the order `--format` lists them.
from . import markdown  # noqa: E402,F401,I001
from . import tables  # noqa: E402,F401
from . import jsondoc  # noqa: E402,F401
from . import html  # noqa: E402,F401
from . import bib  # noqa: E402,F401
