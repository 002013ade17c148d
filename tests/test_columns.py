"""Columns of your own: typed values from each paper alone, with quotes found in that paper."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.corpus import add_papers
from digest.errors import DigestError
from digest.index import Index, build_index
from digest.models import Answer, Citation, ColumnValue
from digest.settings import Column, Settings
from digest.summarize.columns import _from_answer, column_type, fill_column, parse_column
from digest.text import normalize

MISTRAL, MIXTRAL = "2310.06825", "2401.04088"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory, shared_pdf) -> Settings:
    """Mistral 7B and Mixtral, added and indexed once for this module."""
    settings = Settings.load(workspace=tmp_path_factory.mktemp("columns-ws"))
    with Catalog(settings.catalog_path) as catalog:
        assert all(r.status == "done" for r in add_papers(settings, catalog, [shared_pdf(MISTRAL), shared_pdf(MIXTRAL)]))
        assert not build_index(settings, catalog).failed
    return settings


@pytest.fixture(scope="module")
def index(settings) -> Index:
    return Index.open(settings)


def paper_text(settings: Settings, paper_id: str) -> str:
    with Catalog(settings.catalog_path) as catalog:
        return normalize(catalog.load_parse(paper_id).full_text())


def test_column_flag_and_type():
    assert parse_column("context length (number): What is it?") == Column(name="context length", question="What is it?", type="number")
    assert parse_column("optimizer: Which optimizer is used?").type is None
    for question, kind in [("How many experts does each layer have?", "number"), ("Does it use RLHF?", "yes/no"),
                           ("Which benchmarks is the model evaluated on?", "list"), ("Which optimizer is used?", "text"),
                           ("模型是否开源？", "yes/no"), ("上下文长度是多少？", "number")]:
        assert column_type(Column(name="c", question=question)) == kind, question
    with pytest.raises(DigestError, match="name: question"):
        parse_column("no colon here")


def test_number_column_reads_the_value_with_its_unit(settings, index):
    column = Column(name="context length", question="What is the maximum context length?", type="number")
    value = fill_column(column, MIXTRAL, index, settings)
    assert value.value and normalize(value.value).startswith("32k"), value
    assert value.evidence and normalize(value.evidence[0].quote) in paper_text(settings, MIXTRAL)


def test_yes_no_column_says_yes_only_where_the_paper_states_it(settings, index):
    column = Column(name="moe", question="Is the model a sparse mixture-of-experts model?")
    assert fill_column(column, MIXTRAL, index, settings).value == "yes"
    assert fill_column(column, MISTRAL, index, settings).value != "yes"


def test_list_column_names_come_from_the_paper(settings, index):
    column = Column(name="benchmarks", question="Which benchmarks is the model evaluated on?")
    value = fill_column(column, MIXTRAL, index, settings)
    assert isinstance(value.value, list) and value.value
    text = paper_text(settings, MIXTRAL)
    assert all(normalize(item) in text for item in value.value)
    assert {"mmlu", "gsm8k", "humaneval", "mbpp", "arc"} & {normalize(v) for v in value.value}


def test_unanswered_column_is_not_found(settings, index):
    column = Column(name="qubits", question="How many qubits does the quantum processor have?")
    value = fill_column(column, MISTRAL, index, settings)
    assert value.value is None and not value.evidence


def test_llm_number_must_be_in_a_cited_quote():
    empty = ColumnValue(question="How many experts?", type="number")
    cited = [Citation(n=1, paper_id=MIXTRAL, page=2, text="Each layer is composed of 8 feedforward blocks (i.e. experts).")]
    assert _from_answer(Answer(answer="It has 8 experts [1].", citations=cited), empty).value == "8 experts"
    assert _from_answer(Answer(answer="It has 16 experts [1].", citations=cited), empty).value is None


def test_summarize_fills_columns_from_toml_and_flag_and_keeps_them(settings):
    (settings.workspace / "digest.toml").write_text(
        '[[column]]\nname = "context length"\nquestion = "What is the maximum context length?"\ntype = "number"\n')
    runner = CliRunner()
    args = ["-w", str(settings.workspace), "summarize", MIXTRAL, "--backend", "extractive", "--json",
            "--column", "moe (yes/no): Is the model a sparse mixture-of-experts model?"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    columns = json.loads(first.output)[0]["columns"]
    assert set(columns) == {"context length", "moe"}
    assert columns["moe"]["value"] == "yes" and columns["moe"]["evidence"][0]["page"] >= 1
    assert normalize(columns["context length"]["value"]).startswith("32k")
    with Catalog(settings.catalog_path) as catalog:
        stored = catalog.load_summary(MIXTRAL, "extractive")
    assert set(stored.columns) == {"context length", "moe"}
    again = runner.invoke(cli, ["-w", str(settings.workspace), "summarize", MIXTRAL, "--backend", "extractive"])
    assert again.exit_code == 0 and "unchanged" in again.output, again.output


def test_exports_carry_the_columns(settings, tmp_path):
    """After the summarize test above: every format shows the columns of your own with their values."""
    import openpyxl

    runner = CliRunner()
    for fmt in ("csv", "xlsx", "json", "md", "html"):
        out = tmp_path / f"survey.{fmt}"
        result = runner.invoke(cli, ["-w", str(settings.workspace), "export", MIXTRAL, "-f", fmt, "-o", str(out), "--lang", "en"])
        assert result.exit_code == 0, result.output
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(out)["columns"]
            heads = [c.value for c in sheet[1]]
            assert "moe" in heads and sheet.cell(2, heads.index("moe") + 1).value == "yes"
            assert "p" in sheet.cell(2, heads.index("moe") + 1).comment.text.lower()
        elif fmt == "json":
            entry = json.loads(out.read_text())["papers"][0]
            assert entry["columns"]["moe"]["value"] == "yes" and entry["columns"]["moe"]["evidence"]
        else:
            text = out.read_text(encoding="utf-8-sig")
            assert "moe" in text and "context length" in text and "32" in text, fmt
