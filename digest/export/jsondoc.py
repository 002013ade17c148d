"""The full structured survey as JSON, valid against `schema/survey.schema.json`."""

from __future__ import annotations

from . import Exporter, register
from .record import Lang, SurveyDocument, SurveyEntry, fact_labels, labels


@register("json")
class JsonExporter(Exporter):
    suffixes = (".json",)

    def render(self, entries: list[SurveyEntry], lang: Lang) -> bytes:
        document = SurveyDocument(lang=lang, labels=labels(lang), fact_labels=fact_labels(lang), papers=entries)
        return (document.model_dump_json(indent=2) + "\n").encode()
