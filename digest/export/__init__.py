"""Write survey sheets as Markdown, CSV, XLSX, JSON or HTML.

Where the output goes (`out`):
- an existing folder, or a path without a suffix, is a folder: the export is `<out>/survey.<ext>`, and the
  Markdown export also writes one `<out>/<arxiv id>.md` sheet per paper;
- any other path is the file to write; its suffix must suit the format (`.md`, `.csv`, `.xlsx`, `.json`,
  `.html`). A Markdown file holds one paper's sheet, or for several papers the combined survey with a
  table of contents.
Every file is written to a temporary file beside it and renamed into place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import Catalog
from ..errors import DigestError
from ..files import write_atomic
from ..ids import paper_key
from .record import Lang, SurveyEntry

SURVEY_STEM = "survey"


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


EXPORTERS: dict[str, type[Exporter]] = {}


def register(name: str):
    """Class decorator: make an exporter available as `--format name`."""

    def add(cls: type[Exporter]) -> type[Exporter]:
        EXPORTERS[name] = cls
        return cls

    return add


def exporter(fmt: str, template: Path | None = None) -> Exporter:
    """The exporter for a format name; `template` (a Jinja2 sheet template) only suits Markdown."""
    if fmt not in EXPORTERS:
        raise DigestError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORTERS)}")
    if template is not None:
        if fmt != "md":
            raise DigestError(f"--template {template}: templates apply to the md format only")
        return EXPORTERS[fmt](template=template)
    return EXPORTERS[fmt]()


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
    """The survey entries of `ids` (default: every summarized paper), and why any requested id has none."""
    entries: list[SurveyEntry] = []
    missing: dict[str, str] = {}
    wanted = [p.paper_id for p in catalog.papers()] if ids is None else list(dict.fromkeys(map(paper_key, ids)))
    for paper_id in wanted:
        summary = catalog.load_summary(paper_id, backend=backend)
        if summary:
            entries.append(SurveyEntry.build(summary, catalog.get(paper_id)))
        elif ids is not None:
            missing[paper_id] = _why_missing(catalog, paper_id, backend)
    return entries, missing


def export_catalog(
    catalog: Catalog,
    ids: list[str] | None,
    fmt: str | None,
    out: Path,
    lang: Lang,
    template: Path | None = None,
    backend: str | None = None,
) -> ExportResult:
    """Export the summarized papers (all, or `ids`) to `out`; papers without a sheet are reported, not fatal."""
    writer = exporter(format_for(out, fmt), template)
    entries, missing = load_entries(catalog, ids, backend)
    if not entries:
        asked = f" for {', '.join(missing)}" if missing else ""
        raise DigestError(f"no survey sheets to export{asked}: run `digest summarize` first")
    written = writer.write(entries, out, lang)
    return ExportResult(written, [e.paper_id for e in entries], missing)


def _why_missing(catalog: Catalog, paper_id: str, backend: str | None) -> str:
    if catalog.get(paper_id) is None:
        return "not in the catalog (run `digest fetch` first)"
    made_by = f" from the {backend} backend" if backend else ""
    return f"no survey sheet{made_by} yet (run `digest summarize {paper_id}`)"


# The formats register themselves on import, in the order `--format` lists them.
from . import markdown  # noqa: E402,F401,I001
from . import tables  # noqa: E402,F401
from . import jsondoc  # noqa: E402,F401
from . import html  # noqa: E402,F401
