"""Questions that name a paper or model go to that paper: names read from real papers, resolved as a user asks."""

from __future__ import annotations

import pytest

from digest.mentions import corpus_names, mention_keys, resolve
from digest.models import Chunk
from digest.parse import parse_pdf

LLAMA, QWEN, QWEN3, DEEPSEEK_V3, DEEPSEEK_V32, GSM8K, MISTRAL, TRANSFORMER = (
    "2302.13971", "2309.16609", "2505.09388", "2412.19437", "2512.02556", "2110.14168", "2310.06825", "1706.03762")
PAPERS = (LLAMA, QWEN, QWEN3, DEEPSEEK_V3, DEEPSEEK_V32, GSM8K, MISTRAL, TRANSFORMER)


def _chunks(parsed) -> list[Chunk]:
    """A paper as the index holds it, one chunk per section (names need no finer cut)."""
    def chunk(n: int, kind: str, text: str) -> Chunk:
        return Chunk(chunk_id=f"{parsed.paper_id}#{n}", paper_id=parsed.paper_id, title=parsed.title, page_start=1,
                     page_end=1, kind=kind, text=text)

    return [chunk(0, "abstract", parsed.abstract)] + [chunk(i, "text", s.text) for i, s in enumerate(parsed.sections, 1)]


@pytest.fixture(scope="module")
def names(shared_pdf) -> dict:
    return corpus_names({pid: _chunks(parse_pdf(shared_pdf(pid), pid)) for pid in PAPERS})


@pytest.mark.parametrize("question, papers", [
    ("What optimizer was LLaMA trained with?", [LLAMA]),
    ("What is LLaMA-65B's score on GSM8K?", [LLAMA]),  # a size suffix; the benchmark's own paper is not meant
    ("Qwen 的词表有多大？", [QWEN]),  # the exact model, not its successor
    ("How many experts in total does DeepSeek-V3 have?", [DEEPSEEK_V3]),  # not DeepSeek-V3.2, which builds on it
    ("Which attention does DeepSeek-V3.2 add?", [DEEPSEEK_V32]),
    ("How many parameters does Mistral 7B have?", [MISTRAL]),
    ("In 'Training Verifiers to Solve Math Word Problems', how are verifiers trained?", [GSM8K]),  # a quoted title
])
def test_a_question_naming_a_paper_goes_to_it(names, question, papers):
    assert resolve(question, names) == papers


@pytest.mark.parametrize("question", [
    "What label smoothing value was used when training the Transformer?",  # a name every other paper uses
    "How many experts are activated per token?",  # names nothing
    "Is the mistral wind cold?",  # a plain word is a name only when capitalised
    "Which model does GPT-5 distil?",  # a model no paper here is
])
def test_a_question_naming_no_paper_here_searches_them_all(names, question):
    assert resolve(question, names) is None


def test_names_come_from_the_papers_own_text(names):
    strong = {pid: {n.lower() for n in tiers[0]} for pid, tiers in names.items()}
    assert "llama" in strong[LLAMA] and "qwen3" in strong[QWEN3] and "deepseek-v3" in strong[DEEPSEEK_V3]
    assert "mistral 7b" in strong[MISTRAL]
    assert not any("transformer" in tiers[0] + tiers[1] for tiers in names.values())  # claimed by many


def test_mentions_cover_runs_of_words_with_and_without_a_size():
    keys = mention_keys("How does Mixtral 8x7B compare to LLaMA-65B?")
    assert {"mixtral8x7b", "mixtral", "llama65b", "llama"} <= keys
