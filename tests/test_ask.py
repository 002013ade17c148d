"""`ask` and `chat` over a real index of three real papers (those of test_index.py): extractive answers, citations, filters,
"does not say", the LLM path (langchain fake chat models), the CLI's JSON and a chat with a follow-up."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rich.console import Console

from digest.ask import NOT_SAID, Asker, answer_span, ask, ask_turn
from digest.ask.citations import cited_answer
from digest.ask.evidence import Candidates, passage_sentences
from digest.ask.extractive import REDUNDANT, continuation, extractive_answer
from digest.ask.conversation import is_follow_up, standalone_query
from digest.cli.chat import render_answer
from digest.catalog import Catalog
from digest.cli import cli
from digest.corpus import add_papers
from digest.errors import DigestError
from digest.index import Index, build_index
from digest.llm import DOES_NOT_SAY
from digest.models import Chunk
from digest.settings import Settings
from digest.text import contains

TRANSFORMER, MISTRAL, MIXTRAL = "1706.03762", "2310.06825", "2401.04088"
OFF_TOPIC = "What GDT score does AlphaFold2 reach on CASP14 protein structure prediction?"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def ask_settings(tmp_path_factory, shared_pdf) -> Settings:
    """A workspace with three real papers, Mixtral tagged `moe`, parsed and indexed once per session."""
    settings = Settings.load(workspace=tmp_path_factory.mktemp("ask-ws"))
    with Catalog(settings.catalog_path) as catalog:
        results = add_papers(settings, catalog, [shared_pdf(i) for i in (TRANSFORMER, MISTRAL, MIXTRAL)])
        assert [r.status for r in results] == ["done"] * 3, results
        mixtral = catalog.get(MIXTRAL)
        catalog.upsert(mixtral.model_copy(update={"tags": ["MoE", "survey"]}))
        report = build_index(settings, catalog)
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
        chunks = [ch for ch in index.chunks_for(c.paper_id) if c.text in ch.text]
        assert chunks, f"[{c.n}] {c.text[:80]!r} is in no passage of {c.paper_id}"
        assert any(ch.section == c.section and ch.page_start <= c.page <= ch.page_end for ch in chunks), c
        assert c.title and c.title == chunks[0].title


# ------------------------------------------------------------------ extractive


@pytest.mark.parametrize(
    "question, paper, value",
    [
        ("What dropout rate was used for the base Transformer model?", TRANSFORMER, "0.1"),
        ("How many identical layers does the Transformer encoder stack have?", TRANSFORMER, "6"),
        ("How many parallel attention heads does the Transformer employ?", TRANSFORMER, "8"),
        ("What is the attention window size W of Mistral 7B?", MISTRAL, "4096"),
        ("What context size was Mixtral trained with?", MIXTRAL, "32k"),
        ("Mixtral 推理时每个 token 使用多少活跃参数？", MIXTRAL, "13B"),
    ],
)
def test_extractive_answer_states_the_value_and_cites_its_paper(index, ask_settings, question, paper, value):
    answer = ask(question, index, ask_settings)
    assert answer.answered, answer
    assert contains(answer.answer, value), answer.answer
    assert answer.citations[0].paper_id == paper
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert all(f"[{c.n}]" in answer.answer and contains(answer.answer, c.text) for c in answer.citations)
    assert_traceable(index, answer)


@pytest.mark.parametrize(
    "question, parts",
    [  # "The Transformer uses multi-head attention in three different ways:" then the first way; "… in order for the
       # model to make use of the order of the sequence, …" then "To this end, we add "positional encodings" …"
        ("In which different ways does the Transformer use multi-head attention?", ["encoder-decoder attention"]),
        ("How does the Transformer make use of the order of the sequence without recurrence?", ["positional encodings"]),
    ],
)
def test_an_answer_carries_on_into_the_sentence_that_completes_it(index, ask_settings, question, parts):
    answer = ask(question, index, ask_settings)
    assert answer.answered and all(p in answer.answer for p in parts), answer.answer
    assert_traceable(index, answer)


def test_continuation_is_the_next_sentence_only_when_it_carries_on():
    chunk = Chunk(chunk_id="x#0", paper_id="x", title="T", section="3.3", page_start=5, page_end=5, text=(
        "Each layer has two sub-layers. The first is a multi-head self-attention mechanism. "
        "We employ a residual connection around each of the two sub-layers, followed by layer normalization. "
        "The dimension of the model is 512 in all of our experiments and layers. "
        "This makes residual connections easy to use throughout the model."))
    first, second, third, fourth, fifth = passage_sentences(chunk)
    assert continuation(first).text == second.text  # a fragment
    assert continuation(third) is None  # a full sentence, the next one starts afresh
    assert continuation(fourth).text == fifth.text  # "This …" refers back
    assert continuation(fifth) is None  # the passage ends


def test_a_sentence_saying_again_what_a_chosen_one_says_is_skipped(index, ask_settings):
    """The caption "Figure 4: miniF2F accuracy (pass@32) …" and the sentence "Figure 4 shows how … pass@32 accuracy …"
    say one thing: the answer's third place goes to the next sentence that says something else. The sentences are
    embedded by the index's own model."""
    chunk = Chunk(chunk_id="x#0", paper_id="x", title="T", section="3", page_start=5, page_end=5, text=(
        "Figure 4 shows how the miniF2F pass@32 accuracy of the prover correlates with its output length over training. "
        "Figure 4: miniF2F pass@32 accuracy of the prover and its output length over training. "
        "With just pass@1, the model already achieves 52.94%."))
    sentences = passage_sentences(chunk)
    for sentence, score in zip(sentences, (0.85, 0.84, 0.83)):
        sentence.score = score
    vectors = index.embedder.embed([s.text for s in sentences])
    assert float(vectors[0] @ vectors[1]) >= REDUNDANT > float(vectors[0] @ vectors[2])
    answer = extractive_answer(Candidates("q", "en", [chunk], sentences, vectors), ask_settings)
    assert "52.94%" in answer.answer and "Figure 4:" not in answer.answer


def test_paper_filter_keeps_answers_to_that_paper(index, ask_settings):
    question = "How many layers does the model have?"
    for paper in (TRANSFORMER, MISTRAL):
        answer = ask(question, index, ask_settings, papers=[f"arXiv:{paper}v1"])
        assert answer.answered and {c.paper_id for c in answer.citations} == {paper}, answer
    assert contains(ask("Which optimizer was used?", index, ask_settings, papers=[TRANSFORMER]).answer, "Adam")


def test_tag_filter_limits_to_tagged_papers(index, ask_settings):
    answer = ask("How many experts are there in each layer?", index, ask_settings, tags=["moe"])
    assert answer.answered and {c.paper_id for c in answer.citations} == {MIXTRAL}
    with pytest.raises(DigestError, match="no indexed paper is tagged 'protein'"):
        ask("anything", index, ask_settings, tags=["protein"])
    for paper in ("2302.13971", "mistral"):  # an arXiv id not indexed, and no id at all
        with pytest.raises(DigestError, match=f"--paper {paper} is not in the index"):
            ask("anything", index, ask_settings, papers=[paper])


@pytest.mark.parametrize(
    "question, lang",
    [(OFF_TOPIC, "en"), ("用于股票价格预测的 LSTM 模型的均方误差是多少？", "zh"), ("What window size does Mistral-9X use?", "en")],
)
def test_off_topic_question_gets_does_not_say(index, ask_settings, question, lang):
    answer = ask(question, index, ask_settings)
    assert not answer.answered and answer.citations == []
    assert answer.answer == NOT_SAID[lang]


@pytest.mark.parametrize(
    "question, sentence, span",
    [
        ("How many warmup steps were used?", "We used warmup_steps = 4000.", "4000"),
        ("Which activation function replaces ReLU in LLaMA?",
         "We replace the ReLU non-linearity by the SwiGLU activation function, introduced by Shazeer (2020).", "SwiGLU"),
        ("LLaMA 训练时使用了什么优化器？", "Our models are trained using the AdamW optimizer (Loshchilov and Hutter, 2017).", "AdamW"),
        ("How many tokens were the largest models trained on?", "The largest were trained on 1.4 trillion tokens.",
         "1.4 trillion"),
        ("What is the capital of France?", "We thank the reviewers.", None),
        # a hyphenated name with its capitals after the hyphen is a name too ("Uniscale-LLM", not "Mixture-of-Experts")
        ("Which training system trains InternLM?", "For Mixture-of-Experts training we built Uniscale-LLM.", "Uniscale-LLM"),
    ],
)
def test_answer_span_marks_the_value_or_name(question, sentence, span):
    found = answer_span(question, sentence)
    assert (sentence[found[0] : found[1]] if found else None) == span


def test_terminal_answer_highlights_the_span(index, ask_settings):
    question = "What is the attention window size W of Mistral 7B?"
    console = Console(record=True, force_terminal=True, color_system="standard", width=200)
    render_answer(console, question, ask(question, index, ask_settings), extractive=True)
    styled = console.export_text(styles=True, clear=False)
    assert re.search(r"\x1b\[[0-9;]*m4096\x1b\[0m", styled), styled
    assert "Mistral 7B (arXiv 2310.06825)" in console.export_text()


# ------------------------------------------------------------------------- LLM

OPTIMIZER = "Which optimizer was used to train the Transformer?"


def test_llm_answer_keeps_valid_citations_and_drops_invalid_ones(index, ask_settings):
    llm, seen = fake_llm("The Transformer is trained with the Adam optimizer [1][9]. Its learning rate varies [2, 12].")
    answer = ask(OPTIMIZER, index, ask_settings, llm=llm)
    passages = passages_in(seen.prompts[0])
    assert len(passages) == ask_settings.top_k
    assert answer.answered
    assert answer.answer == "The Transformer is trained with the Adam optimizer [1]. Its learning rate varies [2]."
    assert [c.n for c in answer.citations] == [1, 2]
    assert [" ".join(c.text.split()) for c in answer.citations] == [passages[1], passages[2]]
    assert_traceable(index, answer)


def test_llm_citations_are_renumbered_in_order_of_use(index, ask_settings):
    llm, seen = fake_llm("Adam is used [3], with a varying learning rate [1].")
    answer = ask(OPTIMIZER, index, ask_settings, llm=llm, k=4)
    passages = passages_in(seen.prompts[0])
    assert len(passages) == 4
    assert answer.answer == "Adam is used [1], with a varying learning rate [2]."
    assert [" ".join(c.text.split()) for c in answer.citations] == [passages[3], passages[1]]


def test_llm_claims_are_checked_against_their_sources(index, ask_settings):
    question = "What label smoothing value was used when training the Transformer?"
    llm, seen = fake_llm("Label smoothing was used [1].")
    assert ask(question, index, ask_settings, llm=llm).answered
    passages = passages_in(seen.prompts[0])
    holders = [n for n, text in passages.items() if re.search(r"(?<![\d.])0\.1(?![\d])", text)]
    wrong = [n for n in passages if n not in holders]
    assert holders and wrong
    llm, _ = fake_llm(f"Label smoothing of 0.1 was used [{wrong[0]}].")  # cited where 0.1 is not: moved
    answer = ask(question, index, ask_settings, llm=llm)
    assert answer.answer == "Label smoothing of 0.1 was used [1]."
    assert " ".join(answer.citations[0].text.split()) == passages[holders[0]]
    llm, _ = fake_llm("Label smoothing of 0.37 was used [1]. It was applied with GPT-7 [2].")
    assert not ask(question, index, ask_settings, llm=llm).answered  # stated in no passage: dropped


@pytest.mark.parametrize(
    "reply",
    ["The Transformer is trained with Adam.", "Adam [7].", DOES_NOT_SAY, f"{DOES_NOT_SAY} The passages discuss other things."],
)
def test_llm_reply_without_valid_citation_or_with_sentinel_does_not_say(index, ask_settings, reply):
    llm, _ = fake_llm(reply)
    answer = ask(OPTIMIZER, index, ask_settings, llm=llm)
    assert not answer.answered and answer.answer == NOT_SAID["en"] and answer.citations == []


def test_llm_uncited_trailing_claims_are_cut(index, ask_settings):
    llm, _ = fake_llm("The Transformer uses Adam [1]. It is the best optimizer ever made.\n\nAlso, it was trained on Mars.")
    answer = ask(OPTIMIZER, index, ask_settings, llm=llm)
    assert answer.answer == "The Transformer uses Adam [1]."


def test_llm_chinese_question_gets_chinese_answer_with_exact_citations(index, ask_settings):
    question = "Transformer 训练时使用了什么优化器？"
    llm, seen = fake_llm("Transformer 使用 Adam 优化器 [1]。")
    answer = ask(question, index, ask_settings, llm=llm)
    assert question in seen.prompts[0]
    assert answer.answered and answer.answer == "Transformer 使用 Adam 优化器 [1]。"
    assert answer.citations[0].paper_id == TRANSFORMER
    assert " ".join(answer.citations[0].text.split()) == passages_in(seen.prompts[0])[1]
    llm, _ = fake_llm(DOES_NOT_SAY)
    assert ask(question, index, ask_settings, llm=llm).answer == NOT_SAID["zh"]


def test_weak_evidence_does_not_reach_the_llm(index, ask_settings):
    llm, seen = fake_llm("AlphaFold2 reaches 92.4 GDT [1].")
    answer = ask(OFF_TOPIC, index, ask_settings, llm=llm)
    assert not answer.answered and seen.prompts == []


def test_cited_answer_parses_marker_forms():
    chunks = [Chunk(chunk_id=f"p#{i}", paper_id="p", page_start=i, page_end=i, text=f"passage {i}") for i in range(1, 5)]
    answer = cited_answer("A holds [2-3]. B holds 【4】, C holds [1，9].", chunks, "en")
    assert answer.answer == "A holds [1][2]. B holds [3], C holds [4]."
    assert [c.text for c in answer.citations] == ["passage 2", "passage 3", "passage 4", "passage 1"]
    assert [c.page for c in answer.citations] == [2, 3, 4, 1]


# ------------------------------------------------------------------ conversation

EXPERTS = "How many experts does each Mixtral layer have?"
FOLLOW_UP = "And how many of them process each token?"


def test_follow_up_without_llm_carries_names_and_paper_focus(index, ask_settings):
    first = ask_turn(EXPERTS, index, ask_settings)
    assert first.answer.answered and first.papers == [MIXTRAL]
    assert is_follow_up(FOLLOW_UP) and not is_follow_up("How many layers does Mistral 7B have?")
    query, focus = standalone_query(FOLLOW_UP, [first], None, ask_settings)
    assert "Mixtral" in query and focus == [MIXTRAL]
    second = ask_turn(FOLLOW_UP, index, ask_settings, history=[first])
    assert second.answer.answered and contains(second.answer.answer, "two")
    assert {c.paper_id for c in second.answer.citations} == {MIXTRAL}
    assert standalone_query("How many layers does Mistral 7B have?", [first], None, ask_settings) == (
        "How many layers does Mistral 7B have?", None)


def test_follow_up_with_llm_is_condensed_by_the_model(index, ask_settings):
    llm, seen = fake_llm("Each layer has 8 experts [1].", "How many experts process each token in Mixtral?", "Two [1].")
    asker = Asker(ask_settings, index, llm)
    asker.ask(EXPERTS)
    turn = asker.ask(FOLLOW_UP)
    assert FOLLOW_UP in seen.prompts[1] and "Each layer has 8 experts [1]." in seen.prompts[1]
    assert turn.query == "How many experts process each token in Mixtral?"
    assert "Question: How many experts process each token in Mixtral?" in seen.prompts[2]
    assert f"User: {EXPERTS}" in seen.prompts[2]
    assert turn.answer.answered and turn.answer.citations[0].paper_id == MIXTRAL


# ------------------------------------------------------------------------- CLI


def test_cli_ask_json(ask_settings):
    result = CliRunner().invoke(
        cli, ["-w", str(ask_settings.workspace), "ask", "What dropout rate was used for the base Transformer model?",
              "--backend", "extractive", "--paper", TRANSFORMER, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"answer", "citations"} and "0.1" in data["answer"]
    assert data["citations"] and all(
        set(c) == {"n", "paper_id", "title", "section", "page", "text"} for c in data["citations"])
    assert data["citations"][0]["paper_id"] == TRANSFORMER


def test_cli_ask_prints_does_not_say_and_errors_in_one_line(ask_settings):
    runner = CliRunner()
    ws = str(ask_settings.workspace)
    result = runner.invoke(cli, ["-w", ws, "ask", OFF_TOPIC, "--backend", "extractive"])
    assert result.exit_code == 0 and NOT_SAID["en"] in result.output
    result = runner.invoke(cli, ["-w", ws, "ask", "anything", "--tag", "nope"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "Error: no indexed paper is tagged" in result.output


def test_cli_chat_follow_up_uses_the_conversation(ask_settings):
    result = CliRunner().invoke(
        cli, ["-w", str(ask_settings.workspace), "chat", "--backend", "extractive"],
        input=f"{EXPERTS}\n{FOLLOW_UP}\nexit\nnever asked\n",
    )
    assert result.exit_code == 0, result.output
    answers = result.output.split(FOLLOW_UP)
    assert len(answers) == 2 and "8" in answers[0] and "two" in answers[1].lower()
    assert "never asked" not in result.output
    sources = re.findall(r"\(arXiv (\S+)\)", result.output)
    assert sources and set(sources) == {MIXTRAL}
