"""Export: Markdown sheets, CSV/XLSX round trips, JSON against its schema, and the HTML page in a real browser."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import jsonschema
import openpyxl
import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import EXPORT_FORMATS, cli
from digest.errors import DigestError
from digest.export import EXPORTERS, export_catalog, exporter, load_entries
from digest.export.record import SHEET_ORDER, SurveyDocument, SurveyEntry, field_label, survey_schema, ui
from digest.files import write_atomic
from digest.fields import FACT_KEYS
from digest.models import BenchmarkScore, Evidence, FactValue, FieldValue, ModelFacts, PaperRecord, PaperSummary
from digest.testing.browser import CHROMIUM, headless_chromium

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schema" / "survey.schema.json"
NASTY = 'A | B, "C" <script>alert(1)</script>\nnext line'


def _ev(page: int, section: str, quote: str) -> Evidence:
    return Evidence(page=page, section=section, quote=quote)


def _papers() -> list[tuple[PaperRecord, PaperSummary]]:
    llama = PaperSummary(
        paper_id="2302.13971",
        title="LLaMA: Open and Efficient Foundation Language Models",
        lang="en",
        backend="extractive",
        seconds=1.5,
        fields={
            "paper_url": FieldValue(
                value="https://arxiv.org/abs/2302.13971", evidence=[_ev(1, "", "arXiv:2302.13971v1")]
            ),
            "code_url": FieldValue(
                value=["https://github.com/facebookresearch/llama"],
                evidence=[_ev(1, "Abstract", "We release all our models to the research community")],
            ),
            "summary": FieldValue(
                value="We introduce LLaMA, a collection of foundation language models ranging from 7B to 65B "
                "parameters.\nLLaMA-13B outperforms GPT-3 (175B) on most benchmarks.",
                evidence=[
                    _ev(
                        1,
                        "Abstract",
                        "We introduce LLaMA, a collection of foundation language models "
                        "ranging from 7B to 65B parameters.",
                    )
                ],
            ),
            "model_url": FieldValue(value=None),
            "datasets": FieldValue(
                value=["CommonCrawl", "C4", "GitHub", "Wikipedia", "Books", "ArXiv", "StackExchange"],
                evidence=[
                    _ev(2, "2.1 Pre-training Data", "English CommonCrawl [67%]"),
                    _ev(2, "2.1 Pre-training Data", "C4 [15%]"),
                    _ev(3, "2.1 Pre-training Data", "the total, 1.4T tokens"),
                ],
            ),
            "architecture": FieldValue(
                value=["pre-normalization (RMSNorm)", "SwiGLU activation", "Rotary Embeddings"],
                evidence=[_ev(3, "2.2 Architecture", "SwiGLU activation function [PaLM]")],
            ),
            "training": FieldValue(
                value="AdamW optimizer, cosine learning rate schedule, weight decay of 0.1",
                evidence=[_ev(3, "2.3 Optimizer", "Our models are trained using the AdamW optimizer")],
            ),
            "evaluation": FieldValue(
                value=["MMLU", "HellaSwag", "GSM8k"],
                evidence=[
                    _ev(
                        4,
                        "3 Main results",
                        "we consider zero-shot and few-shot tasks, and report results on a total of 20 benchmarks",
                    )
                ],
            ),
            "demo": FieldValue(value=None),
        },
        benchmarks=[
            BenchmarkScore(
                benchmark="MMLU",
                metric="accuracy",
                setting="5-shot",
                model="LLaMA-65B",
                score="63.4",
                page=9,
                quote="LLaMA-65B 63.4",
                own=True,
            ),
            BenchmarkScore(
                benchmark="MMLU", metric="accuracy", setting="5-shot", model="LLaMA-7B", score="35.1", page=9
            ),
            BenchmarkScore(
                benchmark="HellaSwag",
                metric="accuracy",
                setting="0-shot",
                model="LLaMA-65B",
                score="84.2",
                page=4,
                quote="84.2",
            ),
            BenchmarkScore(benchmark="GSM8k", metric="maj1@k", setting="", model="LLaMA-65B", score="69.7", page=7),
        ],
    )
    attention = PaperSummary(
        paper_id="1706.03762",
        title="Attention Is All You Need",
        lang="zh",
        backend="llm",
        model="qwen2.5-7b",
        fields={
            "paper_url": FieldValue(value="https://arxiv.org/abs/1706.03762"),
            "code_url": FieldValue(
                value="github.com/tensorflow/tensor2tensor",
                evidence=[
                    _ev(
                        10,
                        "7 Conclusion",
                        "The code we used to train and evaluate our models is available at "
                        "https://github.com/tensorflow/tensor2tensor",
                    )
                ],
            ),
            "summary": FieldValue(
                value="提出 Transformer：完全基于注意力机制的序列转换模型，\n不使用循环和卷积。",
                evidence=[
                    _ev(
                        1,
                        "Abstract",
                        "We propose a new simple network architecture, the Transformer, based solely on attention "
                        "mechanisms, dispensing with recurrence and convolutions entirely.",
                    )
                ],
            ),
            "model_url": FieldValue(value=None),
            "datasets": FieldValue(
                value=["WMT 2014 English-German", "WMT 2014 English-French", "Penn Treebank (WSJ)"],
                evidence=[
                    _ev(
                        7,
                        "5.1 Training Data and Batching",
                        "We trained on the standard WMT 2014 English-German dataset",
                    )
                ],
            ),
            "architecture": FieldValue(
                value=["编码器-解码器结构", "多头注意力 (multi-head attention)", "位置编码"],
                evidence=[_ev(3, "3.2.2 Multi-Head Attention", "Multi-head attention allows the model")],
            ),
            "training": FieldValue(
                value="Adam 优化器，warmup 4000 步，label smoothing 0.1",
                evidence=[_ev(7, "5.3 Optimizer", "We used the Adam optimizer")],
            ),
            "evaluation": FieldValue(
                value="WMT 2014 英德翻译 BLEU 28.4，英法 41.8",
                evidence=[_ev(8, "6.1 Machine Translation", "establishing a new state-of-the-art BLEU score of 28.4")],
            ),
            "demo": FieldValue(
                value=["注意力可视化 (Figure 3)"],
                evidence=[_ev(13, "", "Figure 3: An example of the attention mechanism")],
            ),
        },
        benchmarks=[
            BenchmarkScore(
                benchmark="WMT 2014 EN-DE",
                metric="BLEU",
                setting="newstest2014",
                model="Transformer (big)",
                score="28.4",
                page=8,
                quote="28.4",
            ),
            BenchmarkScore(
                benchmark="WMT 2014 EN-FR",
                metric="BLEU",
                setting="newstest2014",
                model="Transformer (big)",
                score="41.8",
                page=8,
                quote="41.8",
            ),
        ],
    )
    awkward = PaperSummary(
        paper_id="hep-th/9901001",
        title=NASTY,
        lang="en",
        fields={
            "paper_url": FieldValue(value="https://arxiv.org/abs/hep-th/9901001"),
            "code_url": FieldValue(value=None),
            "summary": FieldValue(
                value='# Not a heading\n\n=HYPERLINK("http://evil") | pipe, comma; semicolon <b>bold</b>',
                evidence=[_ev(2, "1 Intro | Setup", 'He said "quote" <script>x</script>\nacross lines')],
            ),
            "model_url": FieldValue(value=None),
            "datasets": FieldValue(value=["a;b", 'x "y" z', "1. numbered"]),
            "architecture": FieldValue(value=None),
            "training": FieldValue(value=None),
            "evaluation": FieldValue(value=None),
            "demo": FieldValue(value=None),
        },
        benchmarks=[
            BenchmarkScore(benchmark="Bench|mark <i>", metric="F1", setting="a, b", score="n/a", quote="n/a | x")
        ],
    )
    records = [
        PaperRecord(
            paper_id="2302.13971",
            title=llama.title,
            published="2023-02-27",
            authors=["Hugo Touvron", "Thibaut Lavril", "Gautier Izacard"],
        ),
        PaperRecord(paper_id="1706.03762", title=attention.title, published="2017-06-12", authors=["Ashish Vaswani"]),
        PaperRecord(paper_id="hep-th/9901001", title=NASTY, source="local"),
    ]
    return list(zip(records, [llama, attention, awkward], strict=True))


@pytest.fixture
def entries() -> list[SurveyEntry]:
    return [SurveyEntry.build(summary, record) for record, summary in _papers()]


@pytest.fixture
def catalog_ws(workspace: Path) -> Path:
    """A workspace whose catalog holds the three sheets and one paper not summarized yet."""
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        for record, summary in _papers():
            catalog.upsert(record)
            catalog.save_summary(summary, key="k")
        catalog.upsert(PaperRecord(paper_id="2310.06825", title="Mistral 7B"))
    return workspace


def _json_record(tmp_path: Path, entries: list[SurveyEntry], lang: str) -> dict:
    [path] = exporter("json").write(entries, tmp_path / "survey.json", lang)
    return json.loads(path.read_text(encoding="utf-8"))


def _cell_text(field: dict, lang: str) -> str:
    """What a spreadsheet cell should show for a JSON field."""
    value = field["value"]
    if isinstance(value, list):
        value = "; ".join(v for v in value if v.strip())
    return value or ui("not_found", lang)


def _headings(markdown: str, level: int) -> list[str]:
    return re.findall(rf"^{'#' * level} (.+)$", markdown, flags=re.M)


def _check_footnotes(markdown: str) -> dict[str, str]:
    """Every reference has one definition and every definition is referenced; returns number -> definition."""
    definitions = dict(re.findall(r"^\[\^(\d+)\]: (.+)$", markdown, flags=re.M))
    body = re.sub(r"^\[\^\d+\]: .+$", "", markdown, flags=re.M)
    refs = re.findall(r"\[\^(\d+)\]", body)
    assert len(definitions) == len(re.findall(r"^\[\^", markdown, flags=re.M)), "a footnote is defined twice"
    assert set(refs) == set(definitions)
    assert sorted(map(int, definitions)) == list(range(1, len(definitions) + 1))
    return definitions


# ------------------------------------------------------------------ markdown


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_sheet_has_the_survey_headings_in_order(tmp_path, entries, lang):
    [path] = exporter("md").write(entries[:1], tmp_path / "llama.md", lang)
    text = path.read_text(encoding="utf-8")
    assert _headings(text, 1) == ["LLaMA: Open and Efficient Foundation Language Models"]
    assert _headings(text, 2) == [field_label(k, lang) for k in SHEET_ORDER]
    if lang == "zh":
        assert _headings(text, 2)[:4] == ["论文地址", "git地址", "论文简介", "模型地址"]
    else:
        assert _headings(text, 2)[-1] == "Demo / results"
    sections = dict(zip(SHEET_ORDER, re.split(r"^## .+$", text, flags=re.M)[1:], strict=True))
    assert sections["paper_url"].strip() == "<https://arxiv.org/abs/2302.13971>[^1]"  # the URL ends before the note
    assert sections["code_url"].strip() == "- <https://github.com/facebookresearch/llama>[^2]"
    assert sections["model_url"].strip() == f"*{ui('not_found', lang)}*"
    assert sections["demo"].strip().startswith(f"*{ui('not_found', lang)}*")
    # lists stay lists, each evidence quote becomes a footnote with its page and section
    assert "- CommonCrawl[^4]" in sections["datasets"] and "- C4[^5]" in sections["datasets"]
    assert "- StackExchange[^6]" in sections["datasets"]  # evidence quoting no single item goes on the last one
    notes = _check_footnotes(text)
    assert notes["4"] == 'p. 2, §2.1 Pre-training Data "English CommonCrawl [67%]"'
    assert len(notes) == 9 + 2  # 9 field quotes, 2 benchmark quotes
    # benchmark scores: a Markdown table under the evaluation heading
    table = [line for line in sections["evaluation"].splitlines() if line.startswith("|")]
    assert len(table) == 2 + 4
    assert re.match(r"\| MMLU \| accuracy \| 5-shot \| LLaMA-65B \| 63\.4\[\^\d+\] \| 9 \|", table[2])


def test_architecture_and_training_read_one_statement_a_line_each_with_its_quote(tmp_path, entries):
    """An extractive architecture strings statements together; the sheet shows them as a list, each with its own
    footnote: the base model with the sentence it was read from, the components with their headings (one of
    them holding "VS. ", which ends no statement)."""
    record, summary = _papers()[0]
    base = "We initialize the audio LLM of Kimi-Audio from the pre-trained Qwen2.5 7B model."
    taught = "This work explores CoT knowledge distillation (Hinton et al., 2015) from PaLM 540B (Chowdhery et al., 2022)"
    adopt = "We adopt the whisper encoder with a vector quantization layer."
    fields = dict(summary.fields, architecture=FieldValue(
        value=f"Base model: Qwen2.5 7B. Distilled from: PaLM 540B; GPT-3 175B. "
              f"Components: Audio Tokenizer; Batch-Wise VS. Sequence-Wise Balance. {adopt}",
        evidence=[_ev(5, "2.3 Audio LLM", base), _ev(1, "1", taught), _ev(4, "2.2", "Audio Tokenizer"),
                  _ev(5, "2.3", "Batch-Wise VS. Sequence-Wise Balance"), _ev(4, "2.2 Audio Tokenizer", adopt)],
    ))
    entry = SurveyEntry.build(summary.model_copy(update={"fields": fields}), record)
    [path] = exporter("md").write([entry], tmp_path / "sheet.md", "en")
    text = path.read_text(encoding="utf-8")
    section = text.split("## Architecture")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.strip()]
    notes = _check_footnotes(text)
    assert [re.sub(r"\[\^\d+\]", "", line) for line in lines] == [
        "- Base model: Qwen2.5 7B.", "- Distilled from: PaLM 540B; GPT-3 175B.",
        "- Components: Audio Tokenizer; Batch-Wise VS. Sequence-Wise Balance.", f"- {adopt}"]
    refs = [re.findall(r"\[\^(\d+)\]", line) for line in lines]
    assert [len(r) for r in refs] == [1, 1, 2, 1]  # a quote naming one of several models backs their line
    assert base in notes[refs[0][0]] and taught in notes[refs[1][0]] and adopt in notes[refs[3][0]]
    summary_section = text.split("## Summary")[1].split("\n## ")[0]
    assert not summary_section.lstrip().startswith("- ")  # the summary stays a paragraph


def test_markdown_escapes_paper_text(tmp_path, entries):
    [path] = exporter("md").write(entries[2:], tmp_path / "x.md", "en")
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text and "<b>" not in text and "&lt;script>" in text
    assert _headings(text, 1) == [r'A | B, "C" &lt;script>alert(1)&lt;/script> next line']
    assert "\\# Not a heading" in text and "\n# Not" not in text
    assert "- 1\\. numbered" in text
    table = [line for line in text.splitlines() if line.startswith("| Bench|") or line.startswith("| Bench\\")]
    assert table == [r"| Bench\|mark &lt;i> | F1 | a, b |  | n/a[^2] |  |"]
    notes = _check_footnotes(text)
    assert notes["1"] == r'p. 2, §1 Intro | Setup "He said "quote" &lt;script>x&lt;/script> across lines"'
    assert "*not found*" in text
    [path] = exporter("md").write(entries[1:2], tmp_path / "y.md", "zh")
    assert "[github.com/tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)[^1]" in path.read_text(
        "utf-8"
    )


def test_markdown_folder_gets_a_sheet_per_paper_and_the_survey(tmp_path, entries):
    out = tmp_path / "out"
    written = exporter("md").write(entries, out, "zh")
    assert [p.name for p in written] == ["2302.13971.md", "1706.03762.md", "hep-th_9901001.md", "survey.md"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temp files left
    survey = (out / "survey.md").read_text(encoding="utf-8")
    assert _headings(survey, 1) == ["论文调研"]
    assert _headings(survey, 2)[0] == "目录"
    toc = re.findall(r"^\d+\. \[(.+)\]\(#(paper-[\w-]+)\)", survey, flags=re.M)
    assert [title for title, _ in toc][:2] == [e.title for e in entries[:2]]
    for _, anchor in toc:
        assert f'<a id="{anchor}"></a>' in survey
    assert _headings(survey, 3).count("论文地址") == 3  # sheets sit one level down
    notes = _check_footnotes(survey)  # numbered through the whole document
    sheet_notes = [len(_check_footnotes((out / p.name).read_text(encoding="utf-8"))) for p in written[:-1]]
    assert len(notes) == sum(sheet_notes)


def test_markdown_file_with_several_papers_is_the_combined_survey(tmp_path, entries):
    [path] = exporter("md").write(entries, tmp_path / "all.md", "en")
    text = path.read_text(encoding="utf-8")
    assert _headings(text, 1) == ["Paper survey"] and "## Contents" in text
    assert _headings(text, 2)[1:] == [e.title.replace("<", "&lt;").replace("\n", " ") for e in entries]


def test_custom_template(tmp_path, entries):
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "# {{ sheet.paper_id }}\n{% for f in sheet.fields %}"
        "{{ f.label }}={{ f.items | map(attribute='text') | join('+') if f.found else ui.not_found }}\n{% endfor %}"
        "{% for n in sheet.notes %}{{ n.n }}:{{ n.page }}\n{% endfor %}",
        encoding="utf-8",
    )
    [path] = exporter("md", template).write(entries[1:2], tmp_path / "one.md", "zh")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# 1706.03762"
    assert lines[1:5] == [
        "论文地址=https://arxiv.org/abs/1706.03762",
        "git地址=github.com/tensorflow/tensor2tensor",
        "论文简介=提出 Transformer：完全基于注意力机制的序列转换模型，",
        "不使用循环和卷积。",
    ]
    assert (
        "模型地址=未找到" in lines
        and "所用数据集=WMT 2014 English-German+WMT 2014 English-French+Penn Treebank (WSJ)" in lines
    )
    assert lines[-1] == "9:8"  # the last benchmark quote, on page 8


def test_bad_custom_templates_are_one_line_errors(tmp_path, entries):
    broken = tmp_path / "broken.j2"
    broken.write_text("line one\n{% for f in sheet.fields %}\n", encoding="utf-8")
    with pytest.raises(DigestError, match=r"broken\.j2: line \d") as err:
        exporter("md", broken)
    assert "\n" not in str(err.value)
    typo = tmp_path / "typo.j2"
    typo.write_text("{{ sheet.titel }}", encoding="utf-8")
    with pytest.raises(DigestError, match="typo.j2.*titel"):
        exporter("md", typo).write(entries[:1], tmp_path / "x.md", "en")
    wrong = tmp_path / "wrong.j2"
    wrong.write_text("{{ sheet.title + 1 }}", encoding="utf-8")
    with pytest.raises(DigestError, match="wrong.j2"):
        exporter("md", wrong).write(entries, tmp_path / "folder", "en")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.j2", "typo.j2", "wrong.j2"]  # nothing written
    with pytest.raises(DigestError, match="cannot read"):
        exporter("md", tmp_path / "missing.j2")
    with pytest.raises(DigestError, match="md format only"):
        exporter("csv", typo)


# -------------------------------------------------------------- csv / xlsx


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_csv_round_trip_matches_the_json_record(tmp_path, entries, lang):
    record = _json_record(tmp_path, entries, lang)
    [path] = exporter("csv").write(entries, tmp_path, lang)
    assert path.name == "survey.csv" and path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [ui("paper_id", lang), ui("title", lang), ui("authors", lang), ui("published", lang)] + [
        record["labels"][k] for k in SHEET_ORDER
    ]
    assert list(record["labels"]) == list(SHEET_ORDER)
    assert len(rows) == 1 + len(record["papers"])
    for row, paper in zip(rows[1:], record["papers"], strict=True):
        assert row[:4] == [
            paper["paper_id"],
            paper["title"],
            ", ".join(paper["metadata"]["authors"]),
            paper["metadata"]["published"] or "",
        ]
        assert row[4:] == [_cell_text(paper["fields"][k], lang) for k in SHEET_ORDER]
    assert rows[3][1] == NASTY  # newlines, quotes, commas and pipes survive
    assert rows[1][4 + SHEET_ORDER.index("datasets")].startswith("CommonCrawl; C4; GitHub")


def test_xlsx_round_trip_matches_the_json_record(tmp_path, entries):
    record = _json_record(tmp_path, entries, "zh")
    [path] = exporter("xlsx").write(entries, tmp_path / "survey.xlsx", "zh")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["survey", "benchmarks", "evidence"]

    survey = book["survey"]
    rows = [[c if c is not None else "" for c in row] for row in survey.iter_rows(values_only=True)]
    assert rows[0][4:] == [record["labels"][k] for k in SHEET_ORDER]
    for row, paper in zip(rows[1:], record["papers"], strict=True):
        assert row[:4] == [
            paper["paper_id"],
            paper["title"],
            ", ".join(paper["metadata"]["authors"]),
            paper["metadata"]["published"] or "",
        ]
        assert row[4:] == [_cell_text(paper["fields"][k], "zh") for k in SHEET_ORDER]
    formula_like = survey.cell(4, 5 + SHEET_ORDER.index("summary"))
    assert formula_like.data_type == "s" and formula_like.value.startswith("# Not a heading")
    assert survey.freeze_panes == "C2"
    assert survey.column_dimensions["E"].width >= 40 and survey.cell(2, 7).alignment.wrap_text

    bench = book["benchmarks"]
    heads = [c.value for c in bench[1]]
    assert heads[:3] == ["arXiv 编号", "标题", "模型"]
    assert bench.freeze_panes == "D2"
    found = set()
    for row in bench.iter_rows(min_row=2):
        for col, cell in enumerate(row[3:], start=3):
            if cell.value is not None:
                comment = bench.cell(1, col + 1).comment.text
                benchmark, metric, setting = (line.split(": ", 1)[1] for line in comment.splitlines())
                found.add(
                    (row[0].value, row[2].value or "", benchmark, metric, "" if setting == "-" else setting, cell.value)
                )
    expected = {
        (
            p["paper_id"],
            b["model"],
            b["benchmark"],
            b["metric"],
            b["setting"],
            float(b["score"]) if re.fullmatch(r"[\d.]+", b["score"]) else b["score"],
        )
        for p in record["papers"]
        for b in p["benchmarks"]
    }
    assert found == expected
    assert heads[3] == "MMLU (5-shot, accuracy)" and heads.count("MMLU (5-shot, accuracy)") == 1
    llama_65b = next(r for r in bench.iter_rows(min_row=2) if r[2].value == "LLaMA-65B")
    assert llama_65b[3].number_format == "0.0" and "63.4" in llama_65b[3].comment.text

    evidence = [list(r) for r in book["evidence"].iter_rows(min_row=2, values_only=True)]
    assert evidence == [
        [p["paper_id"], record["labels"][k], e["page"], e["section"] or None, e["quote"]]
        for p in record["papers"]
        for k in SHEET_ORDER
        for e in p["fields"][k]["evidence"]
    ]


# --------------------------------------------------------------------- json


def test_json_export_validates_against_the_schema(tmp_path, entries):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema == survey_schema(), (
        "schema/survey.schema.json is stale: python -m digest.export > schema/survey.schema.json"
    )
    record = _json_record(tmp_path, entries, "en")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(record, schema, cls=jsonschema.Draft202012Validator)
    assert SurveyDocument.model_validate(record).papers == entries
    llama = record["papers"][0]
    assert llama["metadata"]["authors"][0] == "Hugo Touvron" and llama["url"] == "https://arxiv.org/abs/2302.13971"
    assert llama["fields"]["model_url"]["value"] is None
    assert llama["fields"]["datasets"]["evidence"][0] == {
        "page": 2,
        "section": "2.1 Pre-training Data",
        "quote": "English CommonCrawl [67%]",
    }
    assert llama["benchmarks"][0]["score"] == "63.4"
    assert record["papers"][2]["url"] is None  # a local paper has no arXiv page
    broken = json.loads(json.dumps(record))
    del broken["papers"][0]["fields"]["demo"]
    with pytest.raises(jsonschema.ValidationError, match="demo"):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


# ---------------------------------------------------------- files and CLI


def test_writes_are_atomic_and_bad_paths_are_one_line_errors(tmp_path, entries):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DigestError, match=r"cannot write .*file/out\.csv.*check the path") as err:
        exporter("csv").write(entries, blocker / "out.csv", "en")
    assert "\n" not in str(err.value)
    taken = tmp_path / "survey.json"
    (taken / "inside").mkdir(parents=True)  # a folder where the file should go: the rename fails
    with pytest.raises(DigestError, match="survey.json"):
        write_atomic(taken, b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "survey.json"]  # no temp file left behind
    target = tmp_path / "keep.csv"
    target.write_text("old")
    with pytest.raises(DigestError, match="needs a file ending in .xlsx"):
        exporter("xlsx").write(entries, target, "en")
    assert target.read_text() == "old"


def test_load_entries_reports_papers_without_a_sheet(catalog_ws):
    with Catalog(catalog_ws / "corpus" / "catalog.sqlite") as catalog:
        everything, missing = load_entries(catalog)
        assert [e.paper_id for e in everything] == ["1706.03762", "2302.13971", "hep-th/9901001"] and missing == {}
        some, missing = load_entries(catalog, ["arXiv:2302.13971v1", "2310.06825", "2401.99999", "2302.13971"])
        assert [e.paper_id for e in some] == ["2302.13971"]
        assert some[0].metadata.authors[0] == "Hugo Touvron"
        assert set(missing) == {"2310.06825", "2401.99999"}
        assert "digest summarize 2310.06825" in missing["2310.06825"] and "not in the catalog" in missing["2401.99999"]
        with pytest.raises(DigestError, match="no survey sheets to export for 2310.06825"):
            export_catalog(catalog, ["2310.06825"], "json", catalog_ws / "out", "en")


def test_cli_export(catalog_ws):
    assert EXPORT_FORMATS == tuple(EXPORTERS)
    runner = CliRunner()
    ws = str(catalog_ws)
    result = runner.invoke(
        cli, ["-w", ws, "export", "--format", "csv", "--lang", "en", "--json", "2302.13971", "1706.03762", "2310.06825"]
    )
    assert result.exit_code == 1, result.output  # a paper was missing; the others were exported
    report = json.loads(result.stdout)
    out = catalog_ws / "out" / "survey.csv"
    assert report["written"] == [str(out)] and report["exported"] == ["2302.13971", "1706.03762"]
    assert "digest summarize 2310.06825" in report["missing"]["2310.06825"]
    assert "2310.06825" in result.stderr
    with out.open(encoding="utf-8-sig", newline="") as f:
        assert [r[0] for r in csv.reader(f)] == ["arXiv ID", "2302.13971", "1706.03762"]

    own = catalog_ws / "own.json"
    result = runner.invoke(cli, ["-w", ws, "export", "--scores", "own", "-o", str(own), "2302.13971"])
    assert result.exit_code == 0, result.output
    scores = json.loads(own.read_text(encoding="utf-8"))["papers"][0]["benchmarks"]
    assert [(b["benchmark"], b["model"], b["score"]) for b in scores] == [("MMLU", "LLaMA-65B", "63.4")]

    result = runner.invoke(cli, ["-w", ws, "export", "-o", str(catalog_ws / "all.html")])  # format from the suffix
    assert result.exit_code == 0, result.output
    assert "<table" in (catalog_ws / "all.html").read_text(encoding="utf-8")

    result = runner.invoke(cli, ["-w", ws, "export", "-o", str(catalog_ws / "sheets")])  # md and zh by default
    assert result.exit_code == 0, result.output
    assert "## 论文地址" in (catalog_ws / "sheets" / "2302.13971.md").read_text(encoding="utf-8")
    assert len(list((catalog_ws / "sheets").iterdir())) == 4

    (catalog_ws / "blocker").write_text("")
    for args, message in [
        (["-o", str(catalog_ws / "blocker" / "x.md")], "cannot write"),
        (["--format", "xlsx", "-o", str(catalog_ws / "x.csv")], "needs a file ending in .xlsx"),
        (["2310.06825"], "no survey sheets to export"),
        (["--format", "json", "--template", str(catalog_ws / "blocker")], "md format only"),
    ]:
        result = runner.invoke(cli, ["-w", ws, "export", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and result.stderr.startswith("Error: ")
        assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------- html


def test_html_page_is_self_contained_and_escaped(tmp_path, entries):
    [path] = exporter("html").write(entries, tmp_path, "zh")
    page = path.read_text(encoding="utf-8")
    assert path.name == "survey.html"
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", page)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "Bench|mark &lt;i&gt;" in page
    assert page.count("<tr>") >= 3 + 4 + 2 + 1  # paper rows and benchmark rows
    assert '<a href="https://github.com/tensorflow/tensor2tensor">github.com/tensorflow/tensor2tensor</a>' in page


def test_html_page_in_headless_chromium(tmp_path, entries):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing: install the Debian packages chromium and chromium-driver")
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium chromium-driver)")
    from PIL import Image, ImageStat
    from selenium.webdriver.common.by import By

    [page] = exporter("html").write(entries, tmp_path / "survey.html", "en")
    driver = headless_chromium(tmp_path / "chromium-profile")
    try:
        driver.get(page.as_uri())
        table = driver.find_element(By.ID, "papers")

        def column(i: int) -> list[str]:
            return [
                row.find_elements(By.TAG_NAME, "td")[i].text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
            ]

        assert column(0) == [e.paper_id for e in entries]  # every paper's row, in export order
        assert "A | B" in column(1)[2] and "<script>" in column(1)[2]  # shown as text, not run
        assert driver.execute_script("return document.querySelectorAll('script').length") == 1
        headers = table.find_elements(By.CSS_SELECTOR, "thead th")
        headers[0].click()
        assert column(0) == sorted(e.paper_id for e in entries)
        headers[0].click()
        assert column(0) == sorted((e.paper_id for e in entries), reverse=True)
        headers[6].click()  # fields found, numerically
        found = [int(text.split(" / ")[0]) for text in column(6)]
        assert found == sorted(found) and found[0] < found[-1]
        assert driver.find_element(By.ID, "paper-2302-13971").is_displayed()
        scale = driver.execute_script("return window.devicePixelRatio")
        box = "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"
        cells = [[driver.execute_script(box, cell) for cell in row.find_elements(By.TAG_NAME, "td")[:2]]
                 for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        below = driver.execute_script(box, table)[3]
        shot = tmp_path / "survey.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    image = Image.open(shot).convert("L")
    tops = [row[0][1] for row in cells]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)  # one row under the other
    shown = [row for row in cells if row[0][3] * scale <= image.size[1]]
    assert len(shown) >= 2, cells  # at least two paper rows fit in the first screen
    for row in shown:
        for left, top, right, bottom in row:  # the id and title cells, inside their borders and padding
            inside = image.crop((round((left + 4) * scale), round((top + 4) * scale),
                                 round((right - 4) * scale), round((bottom - 4) * scale)))
            assert sum(inside.histogram()[:128]) > 30, (left, top)  # dark glyph pixels: its text was drawn
    gap = image.crop((0, round((below + 10) * scale), image.size[0], round((below + 20) * scale)))
    assert ImageStat.Stat(gap).extrema[0][1] - ImageStat.Stat(gap).extrema[0][0] < 64  # nothing drawn under it


# ------------------------------------------------------------- model facts


def _with_facts(entries: list[SurveyEntry]) -> list[SurveyEntry]:
    """The entries, LLaMA's with two models' facts and the awkward paper's with one model named awkwardly."""
    row = "| 65.2B | 8192 | 64 | 80 | 1.5e−4 | 4M | 1.4T |"
    big = {
        "params_total": FactValue(value="65.2B", normalized=65_200_000_000, page=3, quote=row),
        "layers": FactValue(value="80", normalized=80, page=3, quote=row),
        "peak_lr": FactValue(value="1.5e−4", normalized=1.5e-4, page=3, quote=row),
        "optimizer": FactValue(value="AdamW", normalized="AdamW", page=3, quote="Our models are trained using the AdamW optimizer"),
    }
    small = {"params_total": FactValue(value="6.7B", normalized=6_700_000_000, page=3, quote="| 6.7B | 4096 |")}
    odd = {"license": FactValue(value="MIT", normalized="MIT", page=1, quote='released under the MIT license "as is" <b>')}
    llama, attention, awkward = entries
    return [
        llama.model_copy(update={"facts": [ModelFacts(name="LLaMA-65B", facts=big), ModelFacts(name="LLaMA-7B", facts=small)]}),
        attention,
        awkward.model_copy(update={"facts": [ModelFacts(name=NASTY, facts=odd)]}),
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_model_facts_in_every_format(tmp_path, entries, lang):
    rich = _with_facts(entries)
    record = _json_record(tmp_path, rich, lang)
    jsonschema.validate(record, json.loads(SCHEMA.read_text(encoding="utf-8")), cls=jsonschema.Draft202012Validator)
    assert SurveyDocument.model_validate(record).papers == rich
    assert list(record["fact_labels"]) == list(FACT_KEYS) and record["papers"][1]["facts"] == []
    assert record["papers"][0]["facts"][0]["facts"]["layers"] == {"value": "80", "normalized": 80, "page": 3, "quote": "| 65.2B | 8192 | 64 | 80 | 1.5e−4 | 4M | 1.4T |"}
    keys = ["params_total", "layers", "optimizer", "peak_lr", "license"]
    keys.sort(key=FACT_KEYS.index)

    survey, facts_csv = exporter("csv").write(rich, tmp_path, lang)
    assert (survey.name, facts_csv.name) == ("survey.csv", "survey-facts.csv")
    with facts_csv.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == [ui("paper_id", lang), ui("title", lang), ui("model", lang)]
    assert rows[0][3::2] == [record["fact_labels"][k] for k in keys]  # value columns, each beside its normalized one
    assert [r[2] for r in rows[1:]] == ["LLaMA-65B", "LLaMA-7B", NASTY]  # a row per model; papers without facts have none
    big = dict(zip(rows[0], rows[1], strict=True))
    assert big[record["fact_labels"]["params_total"]] == "65.2B"
    assert big[f"{record['fact_labels']['params_total']} [{ui('normalized', lang)}]"] == "65200000000"
    assert big[f"{record['fact_labels']['peak_lr']} [{ui('normalized', lang)}]"] == "0.00015"

    [path] = exporter("xlsx").write(rich, tmp_path / "survey.xlsx", lang)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["survey", "benchmarks", "facts", "evidence"]
    sheet = book["facts"]
    heads = [c.value for c in sheet[1]]
    assert heads[3:] == [record["fact_labels"][k] for k in keys]
    params = sheet.cell(2, 4 + keys.index("params_total"))
    assert params.value == 65_200_000_000 and params.number_format.endswith('"B"') and "65.2B" in params.comment.text
    assert "p. 3" in params.comment.text and sheet.cell(3, 4 + keys.index("layers")).value is None
    assert sheet.cell(2, 4 + keys.index("optimizer")).value == "AdamW"

    markdown = exporter("md").render(rich, lang).decode()
    _check_footnotes(markdown)
    table = [line for line in markdown.splitlines() if line.startswith("| 2302.13971 |")]
    assert len(table) == 2 and "| LLaMA-65B |" in table[0] and "| 80 |" in table[0]
    assert re.search(rf"^\| {re.escape(record['fact_labels']['layers'])} \| 80\[\^\d+\] \| +\|$", markdown, flags=re.M)

    page = exporter("html").render(rich, lang).decode()
    assert '<table id="facts" class="sortable">' in page and 'data-sort="0.000150000000000"' in page
    assert "<b>" not in page and "&#34;as is&#34; &lt;b&gt;" in page


def test_no_facts_no_facts_sheets(tmp_path, entries):
    [path] = exporter("csv").write(entries, tmp_path, "en")  # one file, as before
    assert path.name == "survey.csv" and 'id="facts"' not in exporter("html").render(entries, "en").decode()


def test_the_files_an_export_wrote_are_listed_with_each_papers_images_on_one_line(tmp_path):
    from digest.cli import written_lines

    paths = [tmp_path / "survey.md", tmp_path / "2401.04088" / "fig-2.png", tmp_path / "2401.04088" / "table-2.png",
             tmp_path / "1706.03762" / "table-2.png", tmp_path / "survey.json"]
    assert written_lines(paths) == [str(tmp_path / "survey.md"), str(tmp_path / "survey.json"),
                                    f"{tmp_path / '2401.04088'}/ (2 images)", f"{tmp_path / '1706.03762'}/ (1 image)"]
