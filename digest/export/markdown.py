"""Markdown sheets in the survey template's order, evidence as numbered footnotes.

A sheet template (Jinja2; the bundled one is `digest/templates/sheet.md.j2`) gets (see `sheet.py`):
- `sheet`: `title`, `paper_id`, `url`, `anchor`, `authors`, `published`, `metadata` (the catalog record),
  `fields` (each: `key`, `label`, `found`, `is_list`, `items` (each: `text`, `notes`), `notes`),
  `benchmarks` (each: `benchmark`, `metric`, `setting`, `model`, `score`, `page`, `note`),
  `notes` (each: `n`, `page`, `section`, `quote`, `text` = `p. 3, §2.1 "quote"`),
  `fact_models` (the names of the paper's models), `facts` (each: `key`, `label`, `cells`: per model (value, note)),
  `figures` (the results figures whose images are stored; each: `label`, `page`, `caption`, `file`);
- `ui`: fixed wording in the chosen language (`ui.not_found`, `ui.benchmark`...); `lang`;
- `heading(level)`: the `#`s for a heading of that level (sheets sit one level deeper in the combined survey);
- `image(sheet, figure)`: the figure's image as the export links it, `<paper_id>/fig-3.png` beside the Markdown;
- filters `md` (escape paragraphs of text), `value` (`md`, or a link for an address), `inline` (escape, on one
  line), `cell` (escape a table cell), `refs` (note numbers -> `[^1][^2]`).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from ..errors import DigestError, one_line
from ..files import safe_name, write_atomic
from . import SURVEY_STEM, Exporter, is_folder, register
from .facts import fact_matrix
from .record import Lang, SurveyEntry, wording
from .sheet import Sheet, build_sheet, link

_TEMPLATES = jinja2.PackageLoader("digest", "templates")
_BLOCK_START = re.compile(r"^(\d*)(?=(?<=\d)[.)]\s|(?<!\d)[#+*-]\s|(?<!\d)>)")  # a heading, list or quote


@register("md")
class MarkdownExporter(Exporter):
    suffixes = (".md", ".markdown")

    def __init__(self, template: Path | None = None):
        self.env = _environment()
        self.sheet_template = _user_template(self.env, template) if template else self.env.get_template("sheet.md.j2")

    def sheet(self, entry: SurveyEntry, lang: Lang) -> str:
        """One paper's sheet as Markdown."""
        return self._sheet_text(build_sheet(entry, lang), lang, level=1)

    def survey(self, entries: list[SurveyEntry], lang: Lang) -> str:
        """All sheets in one document with a table of contents; footnotes numbered through."""
        sheets, bodies, next_note = [], [], 1
        for entry in entries:
            sheet = build_sheet(entry, lang, next_note)
            next_note += len(sheet.notes)
            sheets.append(sheet)
            bodies.append(self._sheet_text(sheet, lang, level=2))
        return self._render(self.env.get_template("survey.md.j2"), sheets=sheets, bodies=bodies,
                            facts=fact_matrix(entries, lang), **_context(lang, 1))

    def _sheet_text(self, sheet: Sheet, lang: Lang, level: int) -> str:
        return self._render(self.sheet_template, sheet=sheet, **_context(lang, level))

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        text = self.sheet(entries[0], lang) if len(entries) == 1 else self.survey(entries, lang)
        return text.encode()

    def write(self, entries: list[SurveyEntry], out: Path, lang: Lang) -> list[Path]:
        """The Markdown (see the module docstring of digest.export), and beside it each paper's figure images in
        a folder `<paper_id>/`."""
        if is_folder(out):
            folder = out
            files = {out / f"{safe_name(e.paper_id)}.md": self.sheet(e, lang).encode() for e in entries}
            files[out / f"{SURVEY_STEM}.md"] = self.survey(entries, lang).encode()
        else:
            target = self.target(out)
            folder, files = target.parent, {target: self.render(entries, lang)}
        for entry in entries:
            for figure in entry.figures:
                if path := entry.image(figure):
                    files[folder / _image(entry.paper_id, figure.file)] = path.read_bytes()
        return [write_atomic(path, data) for path, data in files.items()]  # all read and rendered before any write

    def _render(self, template: jinja2.Template, **context) -> str:
        try:
            text = template.render(**context)
        except (
            jinja2.TemplateError,
            TypeError,
            ValueError,
            LookupError,
            AttributeError,
        ) as exc:  # a template's mistakes
            raise DigestError(f"template {template.filename or template.name}: {one_line(exc)}") from exc
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_TEMPLATES,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(md=_escape_text, value=_value, inline=_escape_inline, cell=_escape_cell, refs=_refs)
    return env


def _user_template(env: jinja2.Environment, path: Path) -> jinja2.Template:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DigestError(f"--template {path}: cannot read it ({exc}); give a UTF-8 Jinja2 file") from exc
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise DigestError(f"--template {path}: line {exc.lineno}: {exc.message}") from exc
    template.filename = str(path)
    return template


def _context(lang: Lang, level: int) -> dict:
    return {
        "lang": lang,
        "ui": wording(lang),
        "heading": lambda n: "#" * (level + n - 1),
        "image": lambda sheet, figure: _image(sheet.paper_id, figure.file),
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _escape(text: str) -> str:
    """Keep raw HTML in paper text from turning into markup."""
    return text.replace("<", "&lt;")


def _escape_text(text: str) -> str:
    """A paragraph of paper text: hard line breaks joined, blank lines kept, no stray headings or HTML."""
    paragraphs = [_one_line(p) for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return "\n\n".join(_BLOCK_START.sub(r"\1\\", _escape(p)) for p in paragraphs)


def _value(text: str) -> str:
    """A field value: a link when it is an address (kept apart from a following footnote), else escaped text."""
    href = link(text)
    if href is None:
        return _escape_text(text)
    return f"<{href}>" if href == text.strip() else f"[{_escape_inline(text)}]({href})"


def _escape_inline(text) -> str:
    """Text on one line (a footnote, a link text)."""
    return _escape(_one_line(str(text)))


def _escape_cell(text) -> str:
    return _escape_inline(text).replace("|", "\\|")


def _refs(numbers: list[int]) -> str:
    return "".join(f"[^{n}]" for n in numbers)


def _image(paper_id: str, file: str) -> str:
    """Where an export puts a paper's figure image, relative to the Markdown: `<paper_id>/fig-3.png`."""
    return f"{safe_name(paper_id)}/{file}"
