"""Model facts with the LLM backend: the model proposes the facts the extractive sheets leave empty, and each is kept
only when its quote is in the paper and prints the value (on Mixtral, with langchain's fake chat model)."""

from __future__ import annotations

import re

import pytest

from digest.models import FactValue
from digest.parse import parse_pdf
from digest.summarize import summarize_paper

from conftest import recording_model

MIXTRAL = "2401.04088"
QUOTE_LINE = re.compile(r"^\[(\d+)\] \(p\. \d+[^)]*\) (.*)$", re.MULTILINE)
ABSTRACT_47B = "As a result, each token has access to 47B parameters, but only uses 13B active"
FFN_ROW = "| hidden_dim | 14336 |"


@pytest.fixture(scope="module")
def mixtral(shared_pdf):
    return parse_pdf(shared_pdf(MIXTRAL), MIXTRAL)


@pytest.fixture
def extractive(mixtral, settings):
    """Mixtral's extractive fact sheet: one model, its Table 1 read, its total parameters and FFN size missing."""
    [sheet] = summarize_paper(mixtral, settings).facts
    assert sheet.name == "Mixtral" and sheet.facts["layers"].value == "32"
    assert "params_total" not in sheet.facts and "ffn_hidden_size" not in sheet.facts
    return sheet


def with_llm(mixtral, settings, *replies: str | dict) -> tuple[list, object]:
    """Mixtral's fact sheets from the LLM backend (code_url only: the facts call is the only call), and the model."""
    fake = recording_model(*replies)
    sheet = summarize_paper(mixtral, settings, backend="llm", fields=["code_url"], llm=fake)
    assert sheet.backend == "llm"
    return sheet.facts, fake


def quote_number(mixtral, settings, text: str) -> int:
    """The number the facts prompt gives the quote holding `text`."""
    _, fake = with_llm(mixtral, settings, {"facts": []})
    prompt = fake.calls[0][-1].content
    return next(int(n) for n, quote in QUOTE_LINE.findall(prompt) if text in quote)


def proposal(key: str, value: str, quote: int | str, model: str = "Mixtral") -> dict:
    return {"model": model, "key": key, "value": value, "quote": quote}


def test_the_prompt_names_the_model_its_missing_facts_and_the_configuration_table(mixtral, settings, extractive):
    _, fake = with_llm(mixtral, settings, {"facts": []})
    [[message]] = fake.calls  # one call, for the facts
    prompt = message.content
    missing = re.search(r"^- Mixtral: (.*)$", prompt, re.MULTILINE).group(1).split(", ")
    assert "params_total" in missing and "ffn_hidden_size" in missing
    assert not set(missing) & set(extractive.facts)
    quotes = [quote for _, quote in QUOTE_LINE.findall(prompt)]
    assert FFN_ROW in quotes and any(ABSTRACT_47B in q for q in quotes)


def test_a_proposal_whose_quote_prints_the_value_is_added_with_page_and_quote(mixtral, settings, extractive):
    n = quote_number(mixtral, settings, ABSTRACT_47B)
    reply = {"facts": [
        proposal("params_total", "47B", n),  # by quote number
        proposal("ffn_hidden_size", 14336, FFN_ROW),  # as verbatim text, the value as a JSON number
        proposal("params_total", "13B", n),  # a second value for a fact already proposed: the first one stays
    ]}
    [sheet], _ = with_llm(mixtral, settings, reply)
    assert sheet.facts["params_total"] == FactValue(value="47B", normalized=47_000_000_000, page=1, quote=ABSTRACT_47B)
    assert sheet.facts["ffn_hidden_size"] == FactValue(value="14336", normalized=14336, page=2, quote=FFN_ROW)
    assert {k: v for k, v in sheet.facts.items() if k in extractive.facts} == extractive.facts
    assert list(sheet.facts)[:2] == ["params_total", "params_active"]  # the fact sheet's order


@pytest.mark.parametrize("make", [
    lambda n: proposal("params_total", "47B", "Mixtral has 47B parameters in total."),  # quote not in the paper
    lambda n: proposal("params_total", "46.7B", n),  # value not in its quote
    lambda n: proposal("ffn_hidden_size", "143", FFN_ROW),  # only part of a number the quote prints
    lambda n: proposal("params_total", "47B", "47B"),  # a quote that is only the value
    lambda n: proposal("params_total", "47B", 999),  # no such quote
    lambda n: proposal("layers", "128", "| head_dim | 128 |"),  # overwrites an extractive fact (32)
    lambda n: proposal("params_total", "47B", n, model="Llama 2 70B"),  # not a model of the sheet
    lambda n: proposal("tokenizer", "token", n),  # not a value of the fact's kind
    lambda n: proposal("head_dim", "47B", n),  # not a fact key
], ids=["not-in-paper", "not-in-quote", "part-of-number", "bare-value", "no-such-quote", "overwrites",
        "unknown-model", "not-normalized", "unknown-key"])
def test_a_proposal_that_fails_a_check_is_rejected(mixtral, settings, extractive, make):
    reply = {"facts": [make(quote_number(mixtral, settings, ABSTRACT_47B))]}
    assert with_llm(mixtral, settings, reply)[0] == [extractive]


@pytest.mark.parametrize("replies", [
    ("not JSON at all", '{"facts": 3}'),  # malformed twice: invoke_json gives up
    ('{"value": "47B", "evidence": [1]}',),  # a field's reply, not the facts'
    ('{"facts": [{"model": "Mixtral", "key": "params_total"}]}',),  # a proposal without value or quote
])
def test_a_malformed_reply_leaves_the_extractive_facts(mixtral, settings, extractive, replies):
    facts, fake = with_llm(mixtral, settings, *replies)
    assert facts == [extractive] and len(fake.calls) == 2  # the JSON retry, then the extractive facts


def test_with_llm_facts_off_the_model_is_not_asked_for_facts(mixtral, settings, extractive):
    facts, fake = with_llm(mixtral, settings.model_copy(update={"llm_facts": False}), {"facts": []})
    assert fake.calls == [] and facts == [extractive]
