"""Summarize on real shared PDFs: the extractive fields against the dev gold, quote grounding, own-vs-cited links,
storing and recomputing in the catalog, the CLI, and the LLM path with a fake chat model."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache

import pymupdf
import pytest
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import FakeListChatModel

import digest.parse
import digest.summarize as summarize_module
from digest.catalog import Catalog
from digest.cli import cli
from digest.corpus import add_papers
from digest.fields import FIELD_KEYS
from digest.models import BenchmarkScore, Evidence, FieldValue, PaperSummary, ParsedPaper
from digest.parse import parse_pdf
from digest.settings import Settings
from digest.summarize import summarize_paper, summarize_papers
from digest.summarize.entities import gazetteer
from digest.summarize.evidence import PaperText, split_sentences, validate_field, validate_summary
from digest.text import normalize

from conftest import shared_path

OTHERS = ["2204.02311", "2110.14168", "2503.19786", "2505.09388", "2509.24663", "2501.12599"]  # not in the gold
MODEL_NAMES = re.compile(r"^(?:GPT|LLaMA|Llama|Qwen|DeepSeek|Mistral|Mixtral|PaLM|Gemma|Gemini|Claude|Chinchilla|BERT|T5)\b")


@cache
def gold() -> dict[str, dict]:
    """The dev gold's survey fields, by arXiv id."""
    return {item["arxiv_id"]: item for item in json.loads(shared_path("eval", "fields_dev.json").read_text())}


@pytest.fixture(scope="module")
def parsed(shared_pdf):
    return {aid: parse_pdf(shared_pdf(aid), aid) for aid in [*gold(), *OTHERS]}


@pytest.fixture(scope="module")
def sheets(parsed, tmp_path_factory):
    settings = Settings.load(workspace=tmp_path_factory.mktemp("ws"))
    return {aid: summarize_paper(p, settings) for aid, p in parsed.items()}


def found_in(summary: PaperSummary, key: str) -> str:
    """What a gold alias is looked for in (the gold `benchmarks` are checked against the evaluation list and table)."""
    if key == "benchmarks":
        parts = list(summary.fields["evaluation"].value or [])
        parts += [f"{b.benchmark} {b.metric} {b.setting}" for b in summary.benchmarks]
        return normalize(" | ".join(parts))
    value = summary.fields[key].value
    return normalize(" | ".join(value) if isinstance(value, list) else value or "")


# ------------------------------------------------------------------ quality


@pytest.mark.parametrize("key", ["datasets", "benchmarks", "architecture", "training"])
def test_gold_recall_per_field_is_at_least_085(sheets, key):
    hits = total = 0
    missed = []
    for aid, fields in gold().items():
        text = found_in(sheets[aid], key)
        for aliases in fields.get(key, []):
            total += 1
            if any(normalize(a) in text for a in aliases):
                hits += 1
            else:
                missed.append(f"{aid}: {aliases[0]}")
    assert total and hits / total >= 0.85, missed


def test_code_url_is_right_for_every_gold_paper(sheets):
    for aid, fields in gold().items():
        value = sheets[aid].fields["code_url"].value or ""
        assert any(normalize(a) in normalize(value) for a in fields["code_url"]), (aid, value)
        model = sheets[aid].fields["model_url"].value
        if fields.get("model_url"):
            assert any(normalize(a) in normalize(model or "") for a in fields["model_url"]), (aid, model)
        else:
            assert model is None, (aid, model)


def test_own_repository_is_told_apart_from_cited_tools(sheets, parsed):
    palm_links = " ".join(link.uri for link in parsed["2204.02311"].links)
    assert "github.com/NVIDIA/Megatron-LM" in palm_links  # PaLM cites Megatron-LM...
    assert sheets["2204.02311"].fields["code_url"].value is None  # ...but releases no code of its own
    assert sheets["2110.14168"].fields["code_url"].value == "https://github.com/openai/grade-school-math"
    # Qwen3 prints its links in the title block, outside any section: still found, with the printed URL as evidence
    qwen3 = sheets["2505.09388"].fields
    assert qwen3["code_url"].value == "https://github.com/QwenLM/Qwen3"
    assert qwen3["model_url"].value == "https://huggingface.co/Qwen"
    assert qwen3["code_url"].evidence[0].page == 1


def test_a_paper_without_code_gets_not_found_not_a_guess(sheets, parsed):
    assert not [link for link in parsed["2503.19786"].links if "github.com" in link.uri]
    gemma = sheets["2503.19786"].fields
    assert gemma["code_url"] == FieldValue() and gemma["model_url"] == FieldValue()
    # InfLLM-V2 and Kimi k1.5 link only repositories they use (a sparse-attention kernel, test-case generators)
    for aid, cited in (("2509.24663", "native-sparse-attention-triton"), ("2501.12599", "cyaron")):
        assert cited in parsed[aid].full_text().replace(" ", "").lower()
        assert sheets[aid].fields["code_url"].value is None, aid


def test_paper_url_comes_from_the_paper_id(sheets):
    for aid, sheet in sheets.items():
        assert sheet.fields["paper_url"].value == f"https://arxiv.org/abs/{aid}"


def test_a_local_pdf_that_is_not_on_arxiv_has_no_paper_url(parsed, workspace):
    local = parsed["2310.06825"].model_copy(update={"paper_id": "local-0123456789ab"})
    sheet = summarize_paper(local, Settings.load(workspace=workspace), fields=["paper_url", "code_url"])
    assert sheet.fields["paper_url"] == FieldValue() and sheet.fields["code_url"].value


def test_datasets_carry_the_shares_the_paper_states(sheets):
    llama = sheets["2302.13971"].fields["datasets"].value
    assert "CommonCrawl (67.0%)" in llama and "C4 (15.0%)" in llama
    assert not any(re.fullmatch(r"[\d.]+\s?(?:T|B|trillion|billion)\b.*tokens", item) for item in llama)  # a size is not a data set


def test_demo_lists_captions_or_sections_of_examples(sheets):
    demos = sheets["2110.14168"].fields["demo"]
    assert any("example problems" in item.lower() for item in demos.value)
    assert all(e.page >= 1 for e in demos.evidence)


# ------------------------------------------------------------------ grounding


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", unicodedata.normalize("NFKC", text).lower()) if w]


def test_every_quote_and_list_item_is_printed_on_the_page_it_cites(sheets, shared_pdf):
    """Checked against pymupdf's plain text of each page, not the parse the quotes were validated against: every
    word of a quote, list item or score is printed on the cited page or a neighbour (a sentence may run onto
    the next page, and a footnote is read after the paragraph it interrupts, which may end a page later)."""
    misplaced = []
    for aid, sheet in sheets.items():
        with pymupdf.open(shared_pdf(aid)) as doc:
            pages = ["".join(_words(page.get_text())) for page in doc]

        def printed(text: str, page: int) -> bool:
            around = "".join(pages[max(0, page - 2) : page + 1])
            return all(word in around for word in _words(text))

        for key, field in sheet.fields.items():
            assert field.value is None or field.evidence, (aid, key)
            misplaced += [(aid, key, e.page, e.quote) for e in field.evidence if not printed(e.quote, e.page)]
            items = field.value if isinstance(field.value, list) else []
            misplaced += [(aid, key, item) for item in items if not any(printed(item, e.page) for e in field.evidence)]
        misplaced += [(aid, s.page, s.quote, s.score) for s in sheet.benchmarks
                      if not (printed(s.quote, s.page) and printed(s.score, s.page))]
    assert misplaced == []


def test_entity_names_occur_in_the_paper_and_are_not_models(sheets, parsed):
    names = total = 0
    for aid, sheet in sheets.items():
        text = PaperText(parsed[aid])
        for key in ("datasets", "evaluation"):
            for item in sheet.fields[key].value or []:
                name = re.sub(r"\s*\([^()]*\)$", "", item)
                total += 1
                names += text.has(name)
                assert not MODEL_NAMES.match(name), (aid, key, item)
    assert total > 100 and names / total >= 0.98


def test_each_item_of_a_bulleted_list_is_a_sentence_of_its_own():
    text = "The benchmarks are: • CMO 2024 (6 problems): the China one • Putnam 2024 (12 problems): the other. Then •x."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "The benchmarks are:", "• CMO 2024 (6 problems): the China one", "• Putnam 2024 (12 problems): the other.", "Then •x."]


def test_validation_drops_what_the_paper_does_not_say(parsed):
    text = PaperText(parsed["2302.13971"])
    real = "We use a weight decay of 0.1 and gradient clipping of 1.0."
    assert text.has(real)
    invented = Evidence(page=3, section="2.3 Optimizer", quote="We train with the Lion optimizer on 9T tokens.")
    assert validate_field(FieldValue(value="Lion", evidence=[invented]), text) == FieldValue()
    kept = validate_field(FieldValue(value="AdamW", evidence=[invented, Evidence(page=3, quote=real)]), text)
    assert [e.quote for e in kept.evidence] == [real]
    row = "| C4 | 15.0% | 1.06 | 783 GB |"
    items = validate_field(FieldValue(value=["C4 (15.0%)", "C4 (99%)", "ImageNet"], evidence=[Evidence(page=2, quote=row)]), text)
    assert items.value == ["C4 (15.0%)"]
    fake_score = BenchmarkScore(benchmark="MMLU", score="99.9", quote=row)
    summary = PaperSummary(paper_id="2302.13971", benchmarks=[fake_score])
    assert validate_summary(summary, parsed["2302.13971"], text).benchmarks == []


def test_gazetteer_is_curated_and_general():
    entries = gazetteer()
    kinds = {e.kind for e in entries}
    assert kinds == {"dataset", "benchmark"} and len(entries) >= 300
    names = {e.name for e in entries}
    assert {"The Pile", "RedPajama", "FineWeb", "MMLU", "GSM8K", "SWE-bench", "LiveCodeBench", "C-Eval"} <= names
    assert len(names) == len(entries)


# ------------------------------------------------------------------ catalog and batch


@pytest.fixture
def catalog_ws(workspace, shared_pdf):
    settings = Settings.load(workspace=workspace, backend="extractive")
    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, [shared_pdf("2310.06825"), shared_pdf("2110.14168")])
    return settings


def test_sheets_are_stored_and_recomputed_only_when_something_changed(catalog_ws, monkeypatch):
    settings = catalog_ws
    with Catalog(settings.catalog_path) as catalog:
        first = summarize_papers(settings, catalog)
        assert [r.status for r in first] == ["done", "done"]
        stored = catalog.load_summary("2310.06825", "extractive")
        assert stored.fields["code_url"].value == "https://github.com/mistralai/mistral-src"

        again = summarize_papers(settings, catalog)
        assert [r.status for r in again] == ["unchanged", "unchanged"]
        assert again[0].detail["sheet"].fields == first[0].detail["sheet"].fields

        assert [r.status for r in summarize_papers(settings, catalog, ["2310.06825"], force=True)] == ["done"]

        paper = catalog.get("2110.14168")  # a new PDF for it came in (as `fetch --update` records it)
        catalog.upsert(paper.model_copy(update={"sha256": "0" * 64}))
        changed = summarize_papers(settings, catalog)
        assert {r.paper_id: r.status for r in changed} == {"2310.06825": "unchanged", "2110.14168": "done"}

        monkeypatch.setattr(digest.parse, "PARSER_VERSION", "test")  # a new parser: papers are parsed again
        assert {r.status for r in summarize_papers(settings, catalog)} == {"done"}
        assert catalog.parse_state("2310.06825")["parser_version"] == "test"

        monkeypatch.setattr(summarize_module, "EXTRACTIVE_VERSION", "test")  # the summarizer itself changed
        assert {r.status for r in summarize_papers(settings, catalog)} == {"done"}
        assert {r.status for r in summarize_papers(settings, catalog)} == {"unchanged"}


def test_one_bad_paper_does_not_stop_the_batch(catalog_ws):
    with Catalog(catalog_ws.catalog_path) as catalog:
        results = summarize_papers(catalog_ws, catalog, ["9999.99999", "2310.06825v1"])
    assert [r.status for r in results] == ["failed", "done"]
    assert results[1].paper_id == "2310.06825"
    assert results[0].error == "'9999.99999' is not in the catalog; `digest list` shows what is"


def test_an_empty_parse_gives_not_found_everywhere(workspace):
    sheet = summarize_paper(ParsedPaper(paper_id="2301.00001"), Settings.load(workspace=workspace))
    assert list(sheet.fields) == list(FIELD_KEYS)
    assert all(field == FieldValue() for field in sheet.fields.values()) and sheet.benchmarks == []


def test_requested_fields_only(catalog_ws):
    with Catalog(catalog_ws.catalog_path) as catalog:
        [result] = summarize_papers(catalog_ws, catalog, ["2110.14168"], fields=["code_url", "datasets"])
    sheet = result.detail["sheet"]
    assert list(sheet.fields) == ["code_url", "datasets"] and sheet.benchmarks == []


# ------------------------------------------------------------------ CLI


def test_cli_json_prints_the_sheets(catalog_ws):
    runner = CliRunner()
    ws = str(catalog_ws.workspace)
    result = runner.invoke(cli, ["-w", ws, "summarize", "2310.06825", "--backend", "extractive", "--json"])
    assert result.exit_code == 0, result.output
    [sheet] = json.loads(result.output)
    assert set(sheet) == {"paper_id", "title", "fields", "benchmarks", "facts", "columns", "figures"}
    assert sheet["figures"] and all(f["page"] and f["file"].endswith(".png") for f in sheet["figures"])
    assert sheet["paper_id"] == "2310.06825" and sheet["title"] == "Mistral 7B"
    assert set(sheet["fields"]["code_url"]) == {"value", "evidence"}
    assert sheet["fields"]["code_url"]["evidence"][0]["page"] == 1
    assert {"benchmark", "metric", "setting", "model", "score"} <= set(sheet["benchmarks"][0])

    text = runner.invoke(cli, ["-w", ws, "summarize", "2310.06825", "--backend", "extractive", "--lang", "zh"])
    assert text.exit_code == 0 and "git地址: https://github.com/mistralai/mistral-src" in text.output
    assert "unchanged 1" in text.output


def test_cli_reports_bad_input_in_one_line(catalog_ws):
    runner = CliRunner()
    ws = str(catalog_ws.workspace)
    bad_field = runner.invoke(cli, ["-w", ws, "summarize", "--backend", "extractive", "--fields", "code_url,colour"])
    assert bad_field.exit_code == 2 and "Error: unknown field(s) colour" in bad_field.output
    missing = runner.invoke(cli, ["-w", ws, "summarize", "2401.00001", "--backend", "extractive"])
    assert missing.exit_code == 1 and "2401.00001" in missing.output


# ------------------------------------------------------------------ LLM path


def test_llm_backend_gets_the_extractive_evidence_and_its_names_are_checked(parsed, workspace):
    settings = Settings.load(workspace=workspace, lang="en")
    reply = {"value": ["CommonCrawl (67%)", "LLaMA-65B", "JFT-300M"], "evidence": [1]}
    fake = FakeListChatModel(responses=[json.dumps(reply)] * 4)
    sheet = summarize_paper(parsed["2302.13971"], settings, backend="llm", fields=["datasets"], llm=fake)
    assert sheet.backend == "llm" and list(sheet.fields) == ["datasets"]
    value = sheet.fields["datasets"].value
    assert value[0] == "CommonCrawl (67%)"  # the model's item first, then extractive names it left out
    assert "LLaMA-65B" not in value and "JFT-300M" not in value  # a model name and an unseen dataset are dropped
    assert any(item.startswith("Wikipedia") for item in value)
    text = PaperText(parsed["2302.13971"])
    assert all(text.has(e.quote) for e in sheet.fields["datasets"].evidence)


def test_llm_backend_without_a_model_is_a_clear_error(parsed, workspace, monkeypatch):
    import digest.llm

    monkeypatch.setattr(digest.llm, "chat_model", lambda settings: None)
    with pytest.raises(summarize_module.DigestError, match="no LLM is configured"):
        summarize_paper(parsed["2310.06825"], Settings.load(workspace=workspace), backend="llm")


# ---------------------------------------------------------- unseen papers (corpus/more: not in the dev gold)


@pytest.fixture(scope="module")
def more_parsed(shared):
    ids = ["2504.18425", "2405.04324", "2503.17793", "2601.21337", "2511.22570", "1911.02782", "2502.13189", "2504.11354",
           "2408.08152", "2212.08410", "2501.10120"]
    return {aid: parse_pdf(shared / "corpus" / "more" / "pdf" / f"{aid}.pdf", aid) for aid in ids}


@pytest.fixture(scope="module")
def more_sheets(more_parsed, tmp_path_factory):
    settings = Settings.load(workspace=tmp_path_factory.mktemp("more"))
    return {aid: summarize_paper(parsed, settings) for aid, parsed in more_parsed.items()}


def test_a_title_in_capitals_names_the_model_as_the_abstract_writes_it(more_parsed):
    """"MOBA: MIXTURE OF BLOCK ATTENTION FOR LONG-CONTEXT LLMS": the paper's own words are MoBA, not FOR or BLOCK;
    "KIMINA-PROVER PREVIEW: TOWARDS LARGE FORMAL REASONING MODELS": Kimina-Prover, not MODELS."""
    moba, kimina = PaperText(more_parsed["2502.13189"]).own, PaperText(more_parsed["2504.11354"]).own
    assert moba.search("MoBA extends attention") and kimina.search("Kimina-Prover demonstrates")
    assert not moba.search("attention for long contexts in a block") and not kimina.search("large formal reasoning models")


def test_datasets_listed_in_data_tables_and_after_data_cues(more_sheets):
    kimi = more_sheets["2504.18425"].fields["datasets"].value
    assert {"WenetSpeech", "Libriheavy", "Magpie-Pro", "OpenHermes-2.5", "MoonLight"} <= set(kimi)  # tables, "data in X"
    granite = more_sheets["2405.04324"].fields["datasets"].value
    assert {"StarCoderdata", "Github Code Clean", "Platypus"} <= set(granite)  # "datasets like A, B", "Platypus (Lee et al.)"
    assert not {"Zhang", "Paster", "OpenAI"} & set(granite)  # authors of citations; "OpenAI models"
    assert not {"IBM", "High-quality"} & set(granite)  # "following IBM’s AI Ethics principles"; "High-quality datasets like …"
    ling = more_sheets["2503.17793"].fields["datasets"].value
    assert {"Dolma", "Matrix", "Common Crawl"} <= set(ling) and not any("tokens" in item for item in ling)


def test_datasets_linked_on_a_hub_crawled_or_versioned(more_sheets):
    """Ling-Coder links its released data as huggingface.co/datasets/… URLs printed one after another; "the Stack v2"
    is another data set than "The Stack"; DeepSeekMath-V2 "crawled problems from Art of Problem Solving (AoPS)"."""
    ling = more_sheets["2503.17793"].fields["datasets"].value
    assert {"Ling-Coder-SyntheticQA", "Ling-Coder-SFT", "Ling-Coder-DPO", "The Stack", "Stack v2"} <= set(ling)
    assert not any(item.endswith("https") for item in ling)
    assert "Art of Problem Solving" in more_sheets["2511.22570"].fields["datasets"].value


def test_a_paper_fine_tuned_on_each_task_it_evaluates_lists_those_tasks_as_data(more_sheets):
    """"S2ORC-SciBERT is finetuned on all tasks" of its results table, whose Dataset column names each once."""
    sheet = more_sheets["1911.02782"]
    tasks = {"BC5CDR", "JNLPBA", "NCBI-disease", "ChemProt", "SciERC", "SciCite"}
    assert tasks <= set(sheet.fields["evaluation"].value)
    assert tasks <= set(sheet.fields["datasets"].value)
    assert not tasks & set(more_sheets["2504.18425"].fields["datasets"].value or [])  # Kimi-Audio is not tuned per task


def test_benchmarks_listed_under_an_evaluation_heading(more_sheets):
    """DeepSeekMath-V2's "3.2 Evaluation Benchmarks" is a bulleted list ("• IMO-ProofBench (60 problems): …"), each
    item a statement of its own; Granite's evaluation sub-headings start with the benchmarks they report
    ("6.1.5 RepoBench, CrossCodeEval: Repository-Level Code Generation")."""
    math = more_sheets["2511.22570"].fields["evaluation"].value
    assert {"IMO-ProofBench", "ISL 2024", "Putnam 2024"} <= set(math)
    assert not any(name.startswith("The ") for name in math)  # the items' descriptions are not names
    granite = more_sheets["2405.04324"]
    assert {"CrossCodeEval", "RepoBench"} <= set(granite.fields["evaluation"].value)
    assert not {"GSM8K", "OCW", "SAT"} & set(granite.fields["datasets"].value)  # "6.5 Math Reasoning: • GSM8K (…): a dataset …"


def test_data_of_the_tasks_a_paper_cross_validates_on(more_sheets):
    """"the 5-fold cross validation splits available for MAWPS and ASDiv": trained on their folds."""
    assert {"GSM8K", "MAWPS", "ASDiv"} <= set(more_sheets["2212.08410"].fields["datasets"].value)
    tasks = [name.casefold() for name in more_sheets["2212.08410"].fields["evaluation"].value]
    assert "symbolic reasoning" in tasks and len(tasks) == len(set(tasks))  # a task heading once, whatever its case


def test_benchmark_settings_fold_into_the_benchmark_but_variants_stay(sheets, more_sheets):
    """"WMT 2014 English-to-German" holds "WMT 2014", "miniF2F-test" holds "miniF2F"; "MMLU Pro" does not hold
    "MMLU"."""
    assert "WMT 2014" not in sheets["1706.03762"].fields["evaluation"].value
    assert {"MMLU", "MMLU Pro"} <= set(more_sheets["2502.13189"].fields["evaluation"].value)
    prover = more_sheets["2408.08152"].fields["evaluation"].value
    assert "miniF2F-test" in prover and "miniF2F" not in prover
    kimina = more_sheets["2504.11354"].fields["evaluation"].value  # a results table lists OpenAI o3-mini as a row
    assert "miniF2F" in kimina and not any("o3" in name for name in kimina)  # a lowercase name with a digit too


def test_architecture_takes_the_papers_own_choices_beyond_the_cue_lists(more_sheets):
    """A sentence stating one of the paper's own design choices counts its coined terms, which no cue list names:
    Kimi-Audio's whisper features and flow-matching detokenizer, Ling-Coder's NormHead. Sentences about data or
    learning rates stay out of the architecture, and no sentence starts inside a formula."""
    assert {"whisper", "flow-matching"} <= set(more_sheets["2504.18425"].fields["architecture"].value.split())
    assert "NormHead" in more_sheets["2503.17793"].fields["architecture"].value
    for sheet in more_sheets.values():
        for e in sheet.fields["architecture"].evidence:
            assert not re.search(r"learning\s+rate|batch\s+size", e.quote, re.I), e.quote
            assert not e.quote.startswith("Require:"), e.quote  # MoBA's Algorithm 1 is not a statement
        for key in ("architecture", "training"):
            assert all(re.match(r"[\"'“‘(•]?\s*[A-Z0-9]", e.quote) for e in sheet.fields[key].evidence), key


def test_model_url_from_hub_links_and_collections(more_sheets):
    assert more_sheets["2503.17793"].fields["model_url"].value == "https://huggingface.co/inclusionAI/Ling-Coder-lite"
    assert more_sheets["2601.21337"].fields["model_url"].value == "https://huggingface.co/collections/Qwen/qwen3-asr"
    assert more_sheets["2511.22570"].fields["code_url"].value == "https://github.com/deepseek-ai/DeepSeek-Math-V2"  # title block


def test_architecture_names_the_base_model_with_its_sentence(more_sheets):
    """"Built on DeepSeek-V3.2-Exp-Base, we developed …", "starting from a 7T intermediate checkpoint obtained from
    Ling-Lite-Base", "We initialize the audio LLM of Kimi-Audio from the pre-trained Qwen2.5 7B model"."""
    for aid, base in [("2511.22570", "DeepSeek-V3.2-Exp-Base"), ("2503.17793", "Ling-Lite-Base"),
                      ("2504.18425", "Qwen2.5 7B"), ("2601.21337", "Qwen3-Omni")]:
        field = more_sheets[aid].fields["architecture"]
        assert field.value.startswith(f"Base model: {base}"), (aid, field.value[:80])
        assert base in field.evidence[0].quote
        assert any(base in e.quote for e in more_sheets[aid].fields["training"].evidence)


def test_base_and_teacher_models_wherever_the_paper_states_its_own_training(sheets, more_sheets):
    """MoBA's "our experiments begin with the Llama 3.1 8B Base Model" (under Experiments); Kimina's "initializing
    from Qwen2.5-Math-1.5B-Instruct and Qwen2.5-Math-7B-Instruct respectively"; 2212.08410 fine-tunes T5 XXL on
    chains of thought from PaLM 540B and GPT-3 175B; DeepSeek-V3 distills reasoning from DeepSeek-R1."""
    assert more_sheets["2502.13189"].fields["architecture"].value.startswith("Base model: Llama 3.1 8B")
    kimina = more_sheets["2504.11354"].fields["architecture"].value
    assert "Qwen2.5-Math-1.5B-Instruct" in kimina and "Qwen2.5-Math-7B-Instruct" in kimina
    teaching = more_sheets["2212.08410"].fields["architecture"]
    assert teaching.value.startswith("Base model: T5 XXL. Distilled from: PaLM 540B; GPT-3 175B.")
    assert "PaLM 540B" in teaching.evidence[1].quote
    assert sheets["2412.19437"].fields["architecture"].value.startswith("Distilled from: DeepSeek-R1.")
    assert "Distilled from" not in more_sheets["2504.18425"].fields["architecture"].value


def test_training_names_its_objectives(more_sheets):
    assert "Fill-In-Middle" in more_sheets["2503.17793"].fields["training"].value  # "objectives including … Fill-In-Middle (FIM)"


def test_training_read_under_the_method_when_no_heading_names_training(more_sheets):
    """PaSa has no training heading: its PPO training and auxiliary reward model are described under "Methodology"."""
    pasa = more_sheets["2501.10120"].fields["training"]
    assert "PPO" in pasa.value and "reward model" in pasa.value
    assert any(e.section == "4.2 Crawler" for e in pasa.evidence)  # under "4 Methodology"
    assert not any(re.match(r"\S*\(.{0,25}=", e.quote) for e in pasa.evidence)  # not "LRL(θ, φ) = Lpolicy(θ) + …"


def test_a_paper_that_trains_nothing_has_no_training_method(shared, workspace):
    """A proof in algebraic geometry and a cosmology note (corpus/more/odd) train no model: 训练方法 is "not found",
    not a sentence that happened to score."""
    settings = Settings.load(workspace=workspace)
    for name in ("2312.16219", "0908.0054"):
        sheet = summarize_paper(parse_pdf(shared / "corpus" / "more" / "odd" / f"{name}.pdf", name), settings)
        assert sheet.fields["training"].value is None, name


def test_no_base_model_where_the_paper_builds_on_none(sheets, more_sheets):
    """Models trained from scratch (Granite Code, the Transformer, LLaMA, Mistral, PaLM, DeepSeek-V3), and InfLLM-V2,
    which is "built on InfLLM, a training-free block-sparse attention mechanism": no base model."""
    scratch = [more_sheets["2405.04324"]] + [sheets[aid] for aid in
                                              ("1706.03762", "2302.13971", "2310.06825", "2204.02311", "2412.19437", "2509.24663")]
    assert not [s.paper_id for s in scratch if (s.fields["architecture"].value or "").startswith("Base model")]


def scores(sheet: PaperSummary, benchmark: str, model: str) -> list[BenchmarkScore]:
    return [b for b in sheet.benchmarks if b.benchmark == benchmark and b.model == model]


def test_pass_at_k_columns_carry_their_setting(sheets):
    llama = sheets["2302.13971"]
    humaneval = {b.setting: b.score for b in scores(llama, "HumanEval", "LLaMA 65B")}
    assert humaneval == {"pass@1": "23.7", "pass@100": "79.3"}
    assert {b.setting: b.score for b in scores(llama, "MBPP", "LLaMA 65B")} == {"pass@1": "37.7", "pass@80": "76.8"}


def test_grouped_rows_keep_their_family(sheets):
    llama = sheets["2302.13971"]
    assert [b.score for b in scores(llama, "MATH", "PaLM 8B")] == ["1.5"]
    assert [b.score for b in scores(llama, "MATH", "Minerva 8B")] == ["14.1"]
    assert [b.score for b in scores(llama, "RACE-middle", "LLaMA 7B")] == ["61.1"]
    assert not [b for b in llama.benchmarks if re.fullmatch(r"\d+B", b.model)]


def test_bias_categories_and_version_numbers_are_not_scores(sheets):
    llama = sheets["2302.13971"]
    assert not [b for b in llama.benchmarks if b.score == "57.0" and b.benchmark.upper() == "RACE"]  # CrowS-Pairs Race/Color
    assert not [b for b in llama.benchmarks if b.score in ("002", "001")]  # code-davinci-002


def test_own_models_come_first_and_are_marked(sheets):
    llama = sheets["2302.13971"].benchmarks
    own = [b.own for b in llama]
    assert own[0] and own == sorted(own, reverse=True)
    assert all(b.own == b.model.startswith("LLaMA") for b in llama)


def test_model_names_lose_hyphenation_and_group_labels():
    from digest.summarize.benchmarks import model_name

    assert model_name("Models Seed- Thinking- v1.5") == "Seed-Thinking-v1.5"
    assert model_name("Open-Weights Models DeepSeek- R1-0528") == "DeepSeek-R1-0528"
    assert model_name("GPT-4o -Transcribe") == "GPT-4o-Transcribe"
