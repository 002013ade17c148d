"""Model facts: the normalization rules, the fact table, tables and sentences of real shared PDFs, the guards that keep
other models' numbers out, and the wiring into `summarize`."""

from __future__ import annotations

import json
import re

import pymupdf
import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.corpus import add_papers
from digest.fields import FACT_KEYS, FACT_SPECS, FACTS
from digest.models import ModelFacts, ParsedPaper, Section
from digest.parse import parse_pdf
from digest.settings import Settings
from digest.summarize import summarize_paper
from digest.summarize.evidence import PaperText
from digest.summarize.facts import extract_facts, header_key, normalize_fact, parse_number, same_value
from digest.text import normalize

from conftest import shared_path


def facts_of(paper_id: str, more: bool = False) -> list[ModelFacts]:
    folder = ("corpus", "more", "pdf") if more else ("corpus", "pdf")
    return extract_facts(PaperText(parse_pdf(shared_path(*folder, f"{paper_id}.pdf"), paper_id)))


def by_name(models: list[ModelFacts]) -> dict[str, dict]:
    return {m.name: {k: v.normalized for k, v in m.facts.items()} for m in models}


def synthetic(title: str, abstract: str, *sections: tuple[str, str]) -> list[ModelFacts]:
    """The facts of a paper made of the given abstract and (heading, text) sections, all on page 1."""
    parsed = ParsedPaper(
        paper_id="2401.00001", title=title, abstract=abstract, pages=1,
        sections=[Section(number=str(n), title=h, page_start=1, page_end=1, text=t) for n, (h, t) in enumerate(sections, 1)],
    )
    return extract_facts(PaperText(parsed))


# ------------------------------------------------------------------- values


@pytest.mark.parametrize("key, printed, normalized", [
    ("params_total", "456B", 456_000_000_000),
    ("params_total", "16.4B", 16_400_000_000),  # no float error
    ("params_total", "3-billion", 3_000_000_000),
    ("pretraining_tokens", "14.8T", 14_800_000_000_000),
    ("pretraining_tokens", "1,604.9 billion", 1_604_900_000_000),
    ("context_length", "4,096", 4096),
    ("context_length", "128K", 128_000),  # K is decimal; 131072 only where printed
    ("vocab_size", "65.5K", 65_500),
    ("peak_lr", "2e−5", 2e-5),  # U+2212
    ("peak_lr", "3 × 10−4", 3e-4),
    ("peak_lr", "10−2", 1e-2),
    ("peak_lr", "0.00002", 2e-5),
    ("position_encoding", "rotary positional embeddings", "RoPE"),
    ("hardware", "NVIDIA A100 and H100 GPUs", "A100+H100"),
    ("license", "Apache License 2.0", "Apache 2.0"),
])
def test_values_normalize_by_the_documented_rules(key, printed, normalized):
    got = normalize_fact(FACT_SPECS[key], printed)
    assert same_value(got, normalized) and type(got) is type(normalized)


@pytest.mark.parametrize("key, printed", [
    ("params_total", "7"),  # a size needs its magnitude
    ("layers", "2.5"),  # a count is whole
    ("peak_lr", "3"),  # out of range
    ("context_length", "16"),
    ("optimizer", "Momentum"),  # not a known optimizer
])
def test_what_is_not_a_value_of_the_fact_is_none(key, printed):
    assert normalize_fact(FACT_SPECS[key], printed) is None


def test_parse_number_reads_words_and_scientific_forms():
    assert parse_number("two") == 2 and parse_number("1.5e-4") == 1.5e-4 and parse_number("4M") == 4e6
    assert parse_number("about") is None


def test_the_fact_table_covers_the_schema_and_its_regexes_compile():
    assert FACT_KEYS[:3] == ("params_total", "params_active", "layers") and len(FACTS) == 24
    for spec in FACTS:
        assert spec.zh and spec.en and spec.kind in ("count", "size", "rate", "name", "text")
        assert (spec.kind == "name") == bool(spec.names)
    # every regex of the table, sentence patterns with {value}/{name}/{gap} filled in, compiles on first use
    assert header_key("n_kv_heads") == "kv_heads" and header_key("Parameters (in billions)") == "params_total"


# ------------------------------------------------------------- real papers


def test_a_configuration_table_gives_a_model_per_size():
    models = by_name(facts_of("2302.13971"))  # LLaMA: Table 2, a model per row
    assert len(models) == 4
    biggest = next(f for f in models.values() if f["params_total"] == 65_200_000_000)
    assert (biggest["layers"], biggest["hidden_size"], biggest["attention_heads"]) == (80, 8192, 64)
    assert same_value(biggest["peak_lr"], 1.5e-4) and biggest["pretraining_tokens"] == 1_400_000_000_000
    for facts in models.values():  # stated once in the text, for every size
        assert (facts["optimizer"], facts["normalization"], facts["activation"], facts["position_encoding"]) == (
            "AdamW", "RMSNorm", "SwiGLU", "RoPE")


def test_a_parameter_value_table_is_the_papers_single_model():
    [mistral] = facts_of("2310.06825")
    assert mistral.name == "Mistral"
    assert {k: v.normalized for k, v in mistral.facts.items()}.items() >= {
        "layers": 32, "kv_heads": 8, "context_length": 8192, "vocab_size": 32000, "license": "Apache 2.0"}.items()
    assert mistral.facts["kv_heads"].quote == "| n_kv_heads | 8 |" and mistral.facts["kv_heads"].page == 2


def test_a_moe_report_states_its_facts_in_prose():
    [v3] = facts_of("2412.19437")  # DeepSeek-V3: no configuration table
    f = {k: v.normalized for k, v in v3.facts.items()}
    assert (f["params_total"], f["params_active"]) == (671_000_000_000, 37_000_000_000)
    assert (f["layers"], f["hidden_size"], f["experts_total"], f["shared_experts"]) == (61, 7168, 256, 1)
    assert f["pretraining_tokens"] == 14_800_000_000_000 and f["hardware"] == "H800" and f["optimizer"] == "AdamW"
    assert same_value(f["peak_lr"], 2.2e-4)  # the pre-training rate, not the fine-tuning one (5e-6)
    assert f["context_length"] == 128_000  # extended in stages: the largest wins


def test_sizes_in_a_table_header_and_in_coined_names_are_one_model_each():
    models = by_name(facts_of("2405.04324", more=True))  # Granite Code: Table 1 has a column per size
    assert sorted(models) == ["Granite-20B-Code", "Granite-34B-Code", "Granite-3B-Code", "Granite-8B-Code"]
    assert models["Granite-8B-Code"]["kv_heads"] == 8 and models["Granite-8B-Code"]["attention"] == "GQA"
    assert models["Granite-3B-Code"]["context_length"] == 2048 and models["Granite-34B-Code"]["layers"] == 88
    assert all(f["license"] == "Apache 2.0" for f in models.values())


@pytest.mark.parametrize("paper_id", ["2106.09685", "2305.18290"])  # LoRA and DPO: methods, no model of their own
def test_method_papers_get_no_facts(paper_id):
    assert facts_of(paper_id) == []


def test_every_quote_is_in_the_paper_holds_its_value_and_is_on_its_page():
    paper_id = "2302.13971"
    path = shared_path("corpus", "pdf", f"{paper_id}.pdf")
    parsed = parse_pdf(path, paper_id)
    text = PaperText(parsed)
    with pymupdf.open(path) as doc:  # the page as the gold reads it: a line-break hyphen joined, or kept
        pages = [[normalize(t) for t in (p, re.sub(r"-\s*\n\s*", "", p), re.sub(r"-\s*\n\s*", "-", p))]
                 for p in (page.get_text() for page in doc)]
    on_page = total = 0
    for model in extract_facts(text):
        for value in model.facts.values():
            assert text.has(value.quote) and normalize(value.value) in normalize(value.quote)
            quote = " ".join(value.quote.split("|")) if value.quote.startswith("|") else value.quote
            on_page += any(normalize(quote) in variant for variant in pages[value.page - 1])
            total += 1
    assert total > 40 and on_page >= 0.9 * total


# ----------------------------------------------------------------- guards


def test_sizes_of_other_models_and_settings_tried_are_not_facts():
    [model] = synthetic(
        "FooLM: A Model", "We introduce FooLM, a large language model.",
        ("Model", "As a stress test for FooLM, we scale its recipe up to GPT-3 with 175B parameters. FooLM has 13B "
                  "parameters, 40 transformer layers and a hidden dimension of 5120. We tried learning rates of 1e-4, "
                  "3e-4, or 6e-4. "
                  "Unlike BarLM (Smith et al., 2020), which uses ALiBi, FooLM uses rotary position embeddings. "
                  "FooLM is trained on 2T tokens with a context length of 4K; we then raise the context length to 32K, 64K, "
                  "and 128K tokens."),
    )
    assert model.name == "FooLM"
    assert {k: v.normalized for k, v in model.facts.items()} == {
        "params_total": 13_000_000_000, "layers": 40, "hidden_size": 5120, "context_length": 128_000,
        "pretraining_tokens": 2_000_000_000_000}


def test_a_sentence_naming_one_size_gives_its_facts_to_that_size_only():
    models = synthetic(
        "FooLM: Open Models", "We introduce FooLM-7B and FooLM-70B, two large language models.",
        ("Training", "The 7B model is trained with a context length of 4096 tokens, while FooLM-70B uses a context "
                     "length of 8192 tokens. We use the AdamW optimizer for all models."),
    )
    facts = by_name(models)
    assert facts["FooLM-7B"]["context_length"] == 4096 and facts["FooLM-70B"]["context_length"] == 8192
    assert facts["FooLM-7B"]["params_total"] == 7_000_000_000
    assert facts["FooLM-7B"]["optimizer"] == facts["FooLM-70B"]["optimizer"] == "AdamW"


def test_a_paper_without_a_named_model_of_its_own_gets_no_facts():
    assert synthetic("A Study of Things", "We study things.", ("Setup", "We use the AdamW optimizer.")) == []


# ------------------------------------------------------------------ wiring


def test_summarize_fills_facts_and_the_json_sheet_prints_them(workspace):
    settings = Settings.load(workspace=workspace)
    path = shared_path("corpus", "pdf", "2310.06825.pdf")
    summary = summarize_paper(parse_pdf(path, "2310.06825"), settings)
    assert [m.name for m in summary.facts] == ["Mistral"] and summary.facts[0].facts["vocab_size"].normalized == 32000

    from digest.catalog import Catalog

    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, [path])
    result = CliRunner().invoke(cli, ["-w", str(workspace), "summarize", "--backend", "extractive", "--json"])
    assert result.exit_code == 0, result.output
    [sheet] = json.loads(result.output)
    [mistral] = sheet["facts"]
    assert mistral["name"] == "Mistral" and mistral["facts"]["kv_heads"] == {
        "value": "8", "normalized": 8, "page": 2, "quote": "| n_kv_heads | 8 |"}


def test_the_llm_backend_keeps_the_extractive_facts(workspace):
    """The LLM fills fields only: a sheet from it carries the facts read from the paper, unchanged."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    settings = Settings.load(workspace=workspace)
    parsed = parse_pdf(shared_path("corpus", "pdf", "2310.06825.pdf"), "2310.06825")
    reply = json.dumps({"value": ["made-up data set"], "evidence": [1]})
    sheet = summarize_paper(parsed, settings, backend="llm", fields=["datasets"],
                            llm=FakeListChatModel(responses=[reply] * 4))
    assert sheet.backend == "llm" and sheet.facts == summarize_paper(parsed, settings).facts and sheet.facts
