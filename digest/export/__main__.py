"""`python -m digest.export` prints the JSON Schema of the JSON export (kept in schema/survey.schema.json)."""

import json

from .record import survey_schema

print(json.dumps(survey_schema(), ensure_ascii=False, indent=2))
