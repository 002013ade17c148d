"""One self-contained HTML page: sortable tables of the papers and of their models' facts, and every paper's sheet
with its evidence and its figures (embedded as data URIs)."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from . import Exporter, register
from .facts import fact_matrix, sort_key, where
from .record import Lang, SurveyEntry, labels, wording
from .sheet import build_sheet, link


@register("html")
class HtmlExporter(Exporter):
    suffixes = (".html", ".htm")

    def __init__(self):
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("digest", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.globals.update(link=link, sort_key=sort_key, where=where, data_uri=data_uri)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        page = self.env.get_template("survey.html.j2").render(
            lang=lang,
            ui=wording(lang),
            labels=labels(lang),
            sheets=[build_sheet(entry, lang) for entry in entries],
            facts=fact_matrix(entries, lang),
        )
        return page.encode()


def data_uri(path: Path) -> str:
    """A PNG file as a `data:` URI, so that the page holds the image itself."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
