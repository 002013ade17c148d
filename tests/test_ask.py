"""`ask` and `chat` over a real index of three real papers: extractive answers, citations, filters,
"does not say", the LLM path (langchain fake chat models), the CLI's JSON and a chat with a follow-up."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from digest.ask import NOT_SAID, Asker, ask, ask_turn, cited_answer, is_follow_up, standalone_query
from digest.catalog import Catalog
from digest.cli import cli
from digest.errors import DigestError
from digest.fetch import add_papers
from digest.index import Index, build_index
from digest.llm import DOES_NOT_SAY
from digest.models import Chunk
from digest.settings import Settings
from digest.text import contains

from .conftest import PDF_DIR

TRANSFORMER, LLAMA, MISTRAL = "1706.03762", "2302.13971", "2310.06825"
OFF_TOPIC = "What GDT score does AlphaFold2 reach on CASP14 protein structure prediction?"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def ask_settings(tmp_path_factory) -> Settings:
    """A workspace with three real papers, LLaMA tagged `llama`, parsed and indexed once per session."""
    settings = Settings.load(workspace=tmp_path_factory.mktemp("ask-ws"))
    with Catalog(settings.catalog_path) as catalog:
        results = add_papers(settings, catalog, [PDF_DIR / f"{i}.pdf" for i in (TRANSFORMER, LLAMA, MISTRAL)])
        assert [r.status for r in results] == ["fetched"] * 3, [r.line() for r in results]
        llama = catalog.get(LLAMA)
        catalog.upsert(llama.model_copy(update={"tags": ["llama", "survey"]}))
        report = build_index(settings, catalog, progress=False)
    assert report.papers == 3 and not report.failed, report
    return settings


@pytest.fixture(scope="session")
def index(ask_settings) -> Index:
    return Index.open(ask_settings)


class Prompts(BaseCallbackHandler):
    """Records the prompts a fake chat model receives."""

    def __init__(self):
        self.prompts: list[str] = []

    def on_chat_model_start(self, serialized, messages, **kwargs):
        self.prompts.append("\n".join(m.content for m in messages[0]))


def fake_llm(*replies: str) -> tuple[FakeListChatModel, Prompts]:
    seen = Prompts()
    return FakeListChatModel(responses=list(replies), callbacks=[seen]), seen


def passages_in(prompt: str) -> dict[int, str]:
    """Passage number -> text, as the ask prompt lists them."""
    return {int(n): text for n, text in re.findall(r"^\[(\d+)\] .*? \(p\. \d+\): (.*)$", prompt, re.M)}


def assert_traceable(index: Index, answer) -> None:
    """Every citation quotes a real passage of its paper, with that passage's section and a page it spans."""
    for c in answer.citations:
        chunks = [ch for ch in index.chunks_for(c.arxiv_id) if c.text in ch.text]
        assert chunks, f"[{c.n}] {c.text[:80]!r} is in no passage of {c.arxiv_id}"
        assert any(ch.section == c.section and ch.page_start <= c.page <= ch.page_end for ch in chunks), c
        assert c.title and c.title == chunks[0].title


# ------------------------------------------------------------------ extractive


@pytest.mark.parametrize(
    "question, paper, value",
    [
        ("What dropout rate was used for the base Transformer model?", TRANSFORMER, "0.1"),
        ("How many identical layers does the Transformer encoder stack have?", TRANSFORMER, "6"),
        ("Which normalizing function does LLaMA use on the input of each sub-layer?", LLAMA, "RMSNorm"),
        ("What is the attention window size W of Mistral 7B?", MISTRAL, "4096"),
        ("LLaMA 使用了哪种位置编码？", LLAMA, "rotary"),
    ],
)
def test_extractive_answer_states_the_value_and_cites_its_paper(index, ask_settings, question, paper, value):
    answer = ask(question, index, ask_settings)
    assert answer.answered, answer
    assert contains(answer.answer, value), answer.answer
    assert answer.citations[0].arxiv_id == paper
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert all(f"[{c.n}]" in answer.answer and contains(answer.answer, c.text) for c in answer.citations)
    assert_traceable(index, answer)


def test_paper_filter_keeps_answers_to_that_paper(index, ask_settings):
    question = "Which optimizer was used for training?"
    for paper in (TRANSFORMER, LLAMA):
        answer = ask(question, index, ask_settings, papers=[f"arXiv:{paper}v1"])
        assert answer.answered and {c.arxiv_id for c in answer.citations} == {paper}
    assert contains(ask(question, index, ask_settings, papers=[LLAMA]).answer, "AdamW")


def test_tag_filter_limits_to_tagged_papers(index, ask_settings):
    answer = ask("How many tokens was the model trained on?", index, ask_settings, tags=["LLaMA"])
    assert answer.answered and {c.arxiv_id for c in answer.citations} == {LLAMA}
    with pytest.raises(DigestError, match="no indexed paper is tagged 'protein'"):
        ask("anything", index, ask_settings, tags=["protein"])
    with pytest.raises(DigestError, match="not in the index"):
        ask("anything", index, ask_settings, papers=["2401.04088"])
    with pytest.raises(DigestError, match="not an arXiv id"):
        ask("anything", index, ask_settings, papers=["llama"])


@pytest.mark.parametrize("question, lang", [(OFF_TOPIC, "en"), ("用于股票价格预测的 LSTM 模型的均方误差是多少？", "zh")])
def test_off_topic_question_gets_does_not_say(index, ask_settings, question, lang):
    answer = ask(question, index, ask_settings)
    assert not answer.answered and answer.citations == []
    assert answer.answer == NOT_SAID[lang]


# ------------------------------------------------------------------------- LLM


def test_llm_answer_keeps_valid_citations_and_drops_invalid_ones(index, ask_settings):
    llm, seen = fake_llm("LLaMA is trained with the AdamW optimizer [1][9]. It uses a cosine schedule [2, 12].")
    answer = ask("Which optimizer does LLaMA use?", index, ask_settings, llm=llm)
    passages = passages_in(seen.prompts[0])
    assert len(passages) == ask_settings.top_k
    assert answer.answered
    assert answer.answer == "LLaMA is trained with the AdamW optimizer [1]. It uses a cosine schedule [2]."
    assert [c.n for c in answer.citations] == [1, 2]
    assert [" ".join(c.text.split()) for c in answer.citations] == [passages[1], passages[2]]
    assert_traceable(index, answer)


def test_llm_citations_are_renumbered_in_order_of_use(index, ask_settings):
    llm, seen = fake_llm("AdamW is used [3], with weight decay 0.1 [1].")
    answer = ask("Which optimizer does LLaMA use?", index, ask_settings, llm=llm)
    passages = passages_in(seen.prompts[0])
    assert answer.answer == "AdamW is used [1], with weight decay 0.1 [2]."
    assert [" ".join(c.text.split()) for c in answer.citations] == [passages[3], passages[1]]


@pytest.mark.parametrize(
    "reply",
    ["LLaMA is trained with AdamW.", "AdamW [7].", DOES_NOT_SAY, f"{DOES_NOT_SAY} The passages discuss other things."],
)
def test_llm_reply_without_valid_citation_or_with_sentinel_does_not_say(index, ask_settings, reply):
    llm, _ = fake_llm(reply)
    answer = ask("Which optimizer does LLaMA use?", index, ask_settings, llm=llm)
    assert not answer.answered and answer.answer == NOT_SAID["en"] and answer.citations == []


def test_llm_uncited_trailing_claims_are_cut(index, ask_settings):
    llm, _ = fake_llm("LLaMA uses AdamW [1]. It is the best optimizer ever made.\n\nAlso, it was trained on Mars.")
    answer = ask("Which optimizer does LLaMA use?", index, ask_settings, llm=llm)
    assert answer.answer == "LLaMA uses AdamW [1]."


def test_llm_chinese_question_gets_chinese_answer_with_exact_citations(index, ask_settings):
    llm, seen = fake_llm("LLaMA 使用 AdamW 优化器 [1]。")
    answer = ask("LLaMA 训练时使用了什么优化器？", index, ask_settings, llm=llm)
    assert "LLaMA 训练时使用了什么优化器？" in seen.prompts[0]
    assert answer.answered and answer.answer == "LLaMA 使用 AdamW 优化器 [1]。"
    assert answer.citations[0].arxiv_id == LLAMA
    assert " ".join(answer.citations[0].text.split()) == passages_in(seen.prompts[0])[1]
    llm, _ = fake_llm(DOES_NOT_SAY)
    assert ask("LLaMA 训练时使用了什么优化器？", index, ask_settings, llm=llm).answer == NOT_SAID["zh"]


def test_weak_evidence_does_not_reach_the_llm(index, ask_settings):
    llm, seen = fake_llm("AlphaFold2 reaches 92.4 GDT [1].")
    answer = ask(OFF_TOPIC, index, ask_settings, llm=llm)
    assert not answer.answered and seen.prompts == []


def test_cited_answer_parses_marker_forms():
    chunks = [Chunk(chunk_id=f"p#{i}", arxiv_id="p", page_start=i, page_end=i, text=f"passage {i}") for i in range(1, 5)]
    answer = cited_answer("A holds [2-3]. B holds 【4】, C holds [1，9].", chunks, "en")
    assert answer.answer == "A holds [1][2]. B holds [3], C holds [4]."
    assert [c.text for c in answer.citations] == ["passage 2", "passage 3", "passage 4", "passage 1"]
    assert [c.page for c in answer.citations] == [2, 3, 4, 1]


# ------------------------------------------------------------------ conversation


def test_follow_up_without_llm_carries_names_and_paper_focus(index, ask_settings):
    first = ask_turn("Which normalizing function does LLaMA use?", index, ask_settings)
    assert first.papers == [LLAMA]
    assert is_follow_up("And which optimizer did it use?") and not is_follow_up("Which optimizer does Mistral use?")
    query, focus = standalone_query("And which optimizer did it use?", [first], None, ask_settings)
    assert "LLaMA" in query and focus == [LLAMA]
    second = ask_turn("And which optimizer did it use?", index, ask_settings, history=[first])
    assert second.answer.answered and contains(second.answer.answer, "AdamW")
    assert {c.arxiv_id for c in second.answer.citations} == {LLAMA}
    assert standalone_query("Which optimizer does Mistral use?", [first], None, ask_settings) == (
        "Which optimizer does Mistral use?", None)


def test_follow_up_with_llm_is_condensed_by_the_model(index, ask_settings):
    llm, seen = fake_llm("LLaMA uses RMSNorm [1].", "Which optimizer was LLaMA trained with?", "AdamW [1].")
    asker = Asker(ask_settings, index, llm)
    asker.ask("Which normalizing function does LLaMA use?")
    turn = asker.ask("And the optimizer?")
    assert "And the optimizer?" in seen.prompts[1] and "LLaMA uses RMSNorm [1]." in seen.prompts[1]
    assert turn.query == "Which optimizer was LLaMA trained with?"
    assert "Question: Which optimizer was LLaMA trained with?" in seen.prompts[2]
    assert "User: Which normalizing function does LLaMA use?" in seen.prompts[2]
    assert turn.answer.answered and turn.answer.citations[0].arxiv_id == LLAMA


# ------------------------------------------------------------------------- CLI


def test_cli_ask_json(ask_settings):
    result = CliRunner().invoke(
        cli, ["-w", str(ask_settings.workspace), "ask", "What dropout rate was used for the base Transformer model?",
              "--backend", "extractive", "--paper", TRANSFORMER, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"answer", "citations"} and "0.1" in data["answer"]
    assert data["citations"] and all(
        set(c) == {"n", "arxiv_id", "title", "section", "page", "text"} for c in data["citations"])
    assert data["citations"][0]["arxiv_id"] == TRANSFORMER


def test_cli_ask_prints_does_not_say_and_errors_in_one_line(ask_settings):
    runner = CliRunner()
    ws = str(ask_settings.workspace)
    result = runner.invoke(cli, ["-w", ws, "ask", OFF_TOPIC, "--backend", "extractive"])
    assert result.exit_code == 0 and NOT_SAID["en"] in result.output
    result = runner.invoke(cli, ["-w", ws, "ask", "anything", "--tag", "nope"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "Error: no indexed paper is tagged" in result.output
    result = runner.invoke(cli, ["-w", ws, "ask", "anything", "--backend", "llm"])
    assert result.exit_code == 2 and "Error: --backend llm needs a model" in result.output


def test_cli_chat_follow_up_uses_the_conversation(ask_settings):
    result = CliRunner().invoke(
        cli, ["-w", str(ask_settings.workspace), "chat", "--backend", "extractive"],
        input="Which normalizing function does LLaMA use?\nAnd which optimizer did it use?\nexit\nnever asked\n",
    )
    assert result.exit_code == 0, result.output
    assert "RMSNorm" in result.output and "AdamW" in result.output
    assert "never asked" not in result.output.split("exit")[-1]
    sources = re.findall(r"\(arXiv (\S+)\)", result.output)
    assert sources and set(sources) == {LLAMA}
