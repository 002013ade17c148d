"""Columns of your own: a question asked of every paper, answered from that paper alone with a typed value (a
number with its unit, a list of names, yes/no, or a sentence) and the quote it stands on, or "not found".

The answer comes from the paper's own passages (`ask.gather_candidates` scoped to the paper): extractively, the
value is read out of the best sentences; with an LLM, `ask_turn` answers with verified citations and the value is
read out of that answer, a number only when a cited quote holds it too.
"""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel

from digest.ask import ask_turn, question_lang
from digest.ask.citations import CITATION, sentence_page, spans_pages, stored_parses
from digest.ask.evidence import PassageSentence, gather_candidates
from digest.ask.terms import NUMBER, NUMERIC_QUESTION, WORD, is_name, is_value, query_terms, tokens, without_references
from digest.errors import DigestError
from digest.glossary import in_english
from digest.index import Index
from digest.models import Answer, ColumnValue, Evidence
from digest.settings import Column, ColumnType, Settings
from digest.summarize.facts import parse_number
from digest.text import normalize, single_line

SLACK = 0.15  # sentences scoring within this of the best may supply the value when the best one lacks it
MAX_ITEMS = 12  # names in a list value
MAX_SENTENCES = 6  # that a list value is read from

_YES_NO = re.compile(r"^\s*(?:does|do|did|is|are|was|were|can|could|has|have|had|will|should)\b|是否|有没有|吗[？?]?\s*$", re.I)
_LIST_ASKED = re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}?\w+[^s\W]s\b|\blist\b|哪些|列出", re.I)
_NEGATION = re.compile(r"\b(?:not|no|without|never|neither|nor|none)\b|n't\b|不|没有|无需", re.I)
_UNIT_AFTER = re.compile(  # a unit word right after a number (the counted things of an LLM paper, and time)
    r"\s?(tokens?|parameters?|params|layers?|heads?|experts?|steps?|epochs?|GPUs?|TPUs?|hours?|days?|words?|"
    r"sequences?|examples?|samples?|problems?|images?|languages?|dimensions?|GB|TB|MB)\b", re.I)
_OUTLINE_NUMBER = re.compile(r"\.\d")  # "2.3.3": a section number, not a value
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}s")
_SUPERLATIVE = re.compile(r"\b(?:maximum|max|largest|longest|biggest|highest|most|up to)\b|最大|最长|最多|最高", re.I)
_FLAG = re.compile(r"^\s*(?P<name>[^:()]+?)\s*(?:\((?P<type>number|text|list|yes/no)\))?\s*:\s*(?P<question>.+)$")


def parse_column(spec: str) -> Column:
    """A column from `--column "NAME: QUESTION"`, or `"NAME (TYPE): QUESTION"` to set its type."""
    match = _FLAG.match(spec)
    if not match:
        raise DigestError(f"bad column {spec!r}: write it as \"name: question\" or \"name (type): question\" with a "
                          "type of number, text, list or yes/no, e.g. \"context length (number): What is the maximum "
                          "context length?\"")
    return Column(name=match["name"], question=match["question"].strip(), type=match["type"])


def column_type(column: Column) -> ColumnType:
    """The column's type as set, else read from its question: yes/no, number, list (plural "which ..."), text."""
    if column.type:
        return column.type
    question = column.question
    if _YES_NO.search(question):
        return "yes/no"
    if NUMERIC_QUESTION.search(question):
        return "number"
    return "list" if _LIST_ASKED.search(question) else "text"


def fill_column(column: Column, paper_id: str, index: Index, settings: Settings,
                llm: BaseChatModel | None = None) -> ColumnValue:
    """The column's value for one paper, from that paper's passages; None (not found) when the paper does not
    answer the question or holds no value of the asked type."""
    kind = column_type(column)
    empty = ColumnValue(question=column.question, type=kind, unit=column.unit)
    if llm is not None:
        turn = ask_turn(column.question, index, settings, llm=llm, papers=[paper_id])
        return _from_answer(turn.answer, empty) if turn.answer.answered else empty
    candidates = gather_candidates(column.question, index, [paper_id], question_lang(column.question))
    if candidates.strength < settings.answer_threshold:
        return empty
    sentences = [s for s in candidates.sentences if s.score >= candidates.strength - SLACK]
    value, used = READERS[kind](column, sentences)
    if not value:
        return empty
    parses = stored_parses(settings, {paper_id} if any(spans_pages(s.chunk) for s in used) else set())
    evidence = [Evidence(page=sentence_page(s, parses.get(paper_id)), section=s.chunk.section, quote=single_line(s.text))
                for s in used]
    return empty.model_copy(update={"value": value, "evidence": evidence})


def fill_columns(columns: list[Column], paper_id: str, index: Index, settings: Settings,
                 stored: dict[str, ColumnValue], llm: BaseChatModel | None = None) -> dict[str, ColumnValue]:
    """The paper's columns, by name: the stored ones (a column added once stays, until `summarize --force`), and
    every configured one, filled unless stored with the same question, type and unit."""
    out = dict(stored)
    for column in columns:
        kept = stored.get(column.name)
        if kept and (kept.question, kept.type, kept.unit) == (column.question, column_type(column), column.unit):
            out[column.name] = kept
        else:
            out[column.name] = fill_column(column, paper_id, index, settings, llm)
    return out


# ------------------------------------------------------------- extractive


def _number(column: Column, sentences: list[PassageSentence]) -> tuple[str | None, list[PassageSentence]]:
    """The value nearest the question's terms in the best sentence offering one (with the column's unit when it
    has one), with the unit word that follows it: "128K tokens", "4,096". A question for the maximum (longest,
    largest, ...) takes the largest such value of the sentences, in the unit of the first one."""
    terms = set(query_terms(in_english(column.question)))
    found = [(s, m) for s in sentences if (m := _nearest_value(s.text, terms, column))]
    if not found:
        return None, []
    sentence, match = found[0]
    if _SUPERLATIVE.search(column.question):
        unit = _unit_of(sentence.text, match)
        sized = [(size, s, m) for s, m in found if _unit_of(s.text, m) == unit and (size := parse_number(m.group())) is not None]
        _, sentence, match = max(sized, key=lambda item: item[0], default=(0.0, sentence, match))
    return _with_unit(sentence.text, match), [sentence]


def _nearest_value(text: str, terms: set[str], column: Column) -> re.Match | None:
    """The number of `text` closest to a question term (in the column's unit when it has one), or None."""
    text = without_references(text)
    asked = normalize(column.question)
    unit = set(tokens(column.unit))
    near = [m.start() for m in WORD.finditer(text) if set(tokens(m.group())) & terms]
    best, best_cost = None, float("inf")
    for m in NUMBER.finditer(text):
        if not is_value(m.group().strip()) or normalize(m.group()) in asked or _OUTLINE_NUMBER.match(text, m.end()):
            continue
        if unit and not set(tokens(text[m.end() : m.end() + 30])[:2]) & unit:
            continue
        cost = min((abs(m.start() - at) for at in near), default=1000)
        if cost < best_cost:
            best, best_cost = m, cost
    return best


def _unit(text: str, match: re.Match) -> str:
    """The unit word right after the number in `match`, as printed ("tokens"), or ""."""
    unit = _UNIT_AFTER.match(text, match.end())
    return unit.group(1) if unit else ""


def _unit_of(text: str, match: re.Match) -> str:
    return normalize(_unit(text, match)).rstrip("s")


def _with_unit(text: str, match: re.Match) -> str:
    """The number in `match` with the unit word that follows it: "32K tokens"."""
    return " ".join(part for part in (match.group().strip(), _unit(text, match)) if part)


def _names(column: Column, sentences: list[PassageSentence]) -> tuple[list[str] | None, list[PassageSentence]]:
    """The technical names (AdamW, GSM8K, Qwen2.5-7B) of the best sentences that the question does not contain,
    in order of appearance; not plurals of acronyms (LLMs)."""
    asked = normalize(column.question)
    found: list[str] = []
    used = []
    for sentence in sentences[:MAX_SENTENCES]:
        new = [w for w in dict.fromkeys(WORD.findall(without_references(sentence.text)))
               if is_name(w) and not _PLURAL_ACRONYM.fullmatch(w) and normalize(w) not in asked and w not in found]
        if new:
            found += new
            used.append(sentence)
    return (found[:MAX_ITEMS] or None), used


def _yes_no(column: Column, sentences: list[PassageSentence]) -> tuple[str | None, list[PassageSentence]]:
    """Yes when the best sentence states what the question asks; no when it states it negated."""
    best = sentences[0]
    return ("no" if _NEGATION.search(best.text) else "yes"), [best]


def _text(column: Column, sentences: list[PassageSentence]) -> tuple[str | None, list[PassageSentence]]:
    """The best sentence, verbatim."""
    return single_line(sentences[0].text), sentences[:1]


READERS = {"number": _number, "list": _names, "yes/no": _yes_no, "text": _text}


# -------------------------------------------------------------------- LLM


def _from_answer(answer: Answer, empty: ColumnValue) -> ColumnValue:
    """The typed value of an LLM's cited answer; a number counts only when one of the cited quotes holds it."""
    evidence = [Evidence(page=c.page, section=c.section, quote=c.text) for c in answer.citations]
    text = CITATION.sub("", answer.answer).strip()
    quotes = " ".join(e.quote for e in evidence)
    if empty.type == "number":
        numbers = [m for m in NUMBER.finditer(text) if is_value(m.group()) and m.group().strip() in quotes]
        value = _with_unit(text, numbers[0]) if numbers else None
    elif empty.type == "yes/no":
        head = normalize(text)[:12]
        value = "yes" if head.startswith(("yes", "是", "有")) else "no" if head.startswith(("no", "否", "不", "没有")) else None
    elif empty.type == "list":
        value = [item for item in (i.strip(" .;") for i in re.split(r"[,;，；、\n]", text)) if item and item in quotes] or None
    else:
        value = text or None
    return empty.model_copy(update={"value": value, "evidence": evidence, "backend": "llm"}) if value else empty

