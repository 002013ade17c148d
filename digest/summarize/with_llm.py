"""The LLM backend of summarize: the model rewrites each field from the extractive evidence, citing numbered quotes.

Every citation must resolve to text found in the paper and every dataset or benchmark it names must occur in the
paper; otherwise the field is retried once with a correction, then falls back to the extractive value.

Then, in one call, the model proposes the model facts the extractive sheets leave empty; each is kept only when its
quote is in the paper and prints the value, and the value normalizes as its kind (extractive facts stay as they are).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from itertools import chain

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, field_validator

from digest.llm import LLMOutputError, invoke_json, model_name, render_prompt
from digest.fields import FACT_KEYS, FACT_SPECS, FIELD_KEYS, LIST_FIELDS, LLM_FIELDS, NAMED_FIELDS, SPECS
from digest.models import Evidence, FactValue, FieldValue, ModelFacts, PaperSummary, ParsedPaper
from digest.settings import Settings
from digest.summarize.evidence import PaperText, clip
from digest.summarize.facts import fact_quotes, normalize_fact
from digest.text import CJK, CJK_RANGES, NUMBER_WORDS, contains, normalize

# Fields the model writes (those with a prompt); the URL fields come from link annotations and stay extractive.
PROSE_FIELDS = frozenset({"summary"})  # sentences, so a Chinese sheet needs Chinese; other fields may be all names

MAX_QUOTES = 8  # quotes shown per field: the prompt is the cost on a CPU model
MIN_QUOTES = 4  # below this, sentences retrieved from the paper are added
QUOTE_CHARS = 300
MAX_FACT_QUOTES = 20  # quotes shown for the facts: configuration table rows, then sentences for the missing keys
FACT_QUOTES_PER_KEY = 2

LANGUAGES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}
_PLACEHOLDER = re.compile(rf"<[a-z{CJK_RANGES}][a-z ,{CJK_RANGES}]{{1,40}}>")  # "<what it shows>": a small model may copy the reply format
_NOT_FOUND = {"", "none", "null", "n/a", "na", "not found", "not stated", "unknown", "未找到", "无", "未提及"}

class TextAnswer(BaseModel):
    """What the model returns for a prose field."""

    value: str | None
    evidence: list[int | str]

    @field_validator("value", mode="before")
    @classmethod
    def _none_if_not_found(cls, value):
        return None if isinstance(value, str) and value.strip().strip(".").lower() in _NOT_FOUND else value

    @field_validator("evidence", mode="before")
    @classmethod
    def _quote_numbers(cls, items):
        return [_as_number(item) for item in items] if isinstance(items, list) else items


class ListAnswer(TextAnswer):
    """What the model returns for a list field."""

    value: list[str] | None

    @field_validator("value", mode="before")
    @classmethod
    def _split_string(cls, value):
        if isinstance(value, str):
            return None if value.strip().lower() in _NOT_FOUND else [v for v in re.split(r"[;\n]", value) if v.strip()]
        return value


class ProposedFact(BaseModel):
    """A fact the model proposes: the model's name, the fact key, the value as printed and the quote stating it."""

    model: str
    key: str
    value: str | None
    quote: int | str

    @field_validator("value", mode="before")
    @classmethod
    def _printed(cls, value):
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("quote", mode="before")
    @classmethod
    def _quote_number(cls, item):
        return _as_number(item)


class FactsAnswer(BaseModel):
    """What the model returns for the facts."""

    facts: list[ProposedFact]


def _as_number(item):
    """`3`, `"3"`, `"[3]"` and a copied quote line `"[3] (p. 2, ...) ..."` all cite quote 3; any other string is a
    verbatim quote."""
    if isinstance(item, str):
        number = re.fullmatch(r"\s*\[?\s*(\d+)\s*\]?\s*", item) or re.match(r"\s*\[(\d+)\]", item)
        return int(number.group(1)) if number else item
    return item


def _names(item: str) -> list[str]:
    """The names a list item may stand for: the item, its part before "(", ":" or ",", and, when that part is not
    in Latin letters (a translation), the parts inside "()"."""
    item = normalize(item)
    outside = re.split(r"[(:,]", item)[0]
    names = [item, outside] + (re.findall(r"\(([^)]*)\)", item) if not re.search(r"[a-z]", outside) else [])
    names = (n.strip(" -–:;,.") for n in names)
    return list(dict.fromkeys(n for n in names if len(n) >= 2 and re.search(r"[a-z]", n)))


def _locate(text: PaperText, quote: str) -> Evidence:
    """Evidence for a verbatim quote of the paper, placed at the sentence where it starts."""
    head = normalize(quote)[:40]
    sentence = next((s for s in text.sentences if head in normalize(s.text)), None)
    return Evidence(page=sentence.page, section=sentence.section, quote=quote) if sentence else Evidence(page=1, quote=quote)


def summarize_with_llm(
    parsed: ParsedPaper,
    extracted: PaperSummary,
    llm: BaseChatModel,
    settings: Settings,
    fields: list[str] | None = None,
    lang: str = "en",
    text: PaperText | None = None,
) -> PaperSummary:
    """Rewrite the extractive summary's fields with `llm`, grounded in the extractive evidence quotes, and (with
    `settings.llm_facts`) add the model facts it proposes that pass the checks (see `_llm_facts`; `text`: the
    paper's PaperText when the caller has it)."""
    started = time.perf_counter()
    paper = text or PaperText(parsed)
    wanted = list(fields or extracted.fields or FIELD_KEYS)
    system = SystemMessage(render_prompt(settings, "system", language=LANGUAGES[lang], lang=lang))
    result = extracted.model_copy(deep=True)
    result.fields = {key: value.model_copy(update={"backend": "extractive"}) for key, value in result.fields.items() if key in wanted}
    for key in wanted:
        if key in LLM_FIELDS:
            fallback = extracted.fields.get(key, FieldValue())
            result.fields[key] = _llm_field(paper, key, fallback, llm, settings, system, lang)
    if settings.llm_facts:
        result.facts = _llm_facts(paper, extracted.facts, llm, settings)
    result.title = result.title or parsed.title
    result.backend, result.model, result.lang = "llm", model_name(llm), lang
    result.seconds = extracted.seconds + time.perf_counter() - started
    return result


def _llm_field(
    paper: PaperText, key: str, extracted: FieldValue, llm: BaseChatModel, settings: Settings, system: SystemMessage, lang: str
) -> FieldValue:
    """One field from the model, or the extractive value marked as such, or "not found"."""
    quotes = field_quotes(paper, key, extracted)
    if not quotes:
        return extracted.model_copy(update={"backend": "extractive"}) if extracted.found else FieldValue()
    prompt = render_prompt(
        settings,
        SPECS[key].prompt,
        title=paper.parsed.title,
        label_zh=SPECS[key].zh,
        label_en=SPECS[key].en,
        quotes=[{"n": n, "page": q.page, "section": q.section, "text": q.quote} for n, q in enumerate(quotes, 1)],
        draft=extracted.value if isinstance(extracted.value, list) else [extracted.value] if extracted.value else [],
        language=LANGUAGES[lang],
        lang=lang,
    )
    schema = ListAnswer if key in LIST_FIELDS else TextAnswer
    messages = [system, HumanMessage(prompt)]
    try:
        answer = invoke_json(llm, messages, schema)
        value, problems = _ground(paper, key, answer, quotes, lang)
        if problems:
            messages += [AIMessage(answer.model_dump_json()), HumanMessage(_correction(problems))]
            answer = invoke_json(llm, messages, schema)
            value, problems = _ground(paper, key, answer, quotes, lang)
    except LLMOutputError:
        value, problems = None, ["no valid JSON"]
    if value is not None and not problems:
        return _with_extracted_names(value, extracted) if key in NAMED_FIELDS else value
    if extracted.found:
        return extracted.model_copy(update={"backend": "extractive"})
    return FieldValue()


def _with_extracted_names(value: FieldValue, extracted: FieldValue) -> FieldValue:
    """The model's list plus the extractive names it left out, with their evidence: the model refines and annotates
    the extractor's names but does not silently drop one that the paper's quotes support."""
    if not isinstance(extracted.value, list):
        return value
    covered = {n for item in value.value for n in _names(item)}
    missed = [item for item in extracted.value if not covered & set(_names(item))]
    evidence = value.evidence + [e for e in extracted.evidence if e not in value.evidence and any(_mentions(e.quote, m) for m in missed)]
    return value.model_copy(update={"value": value.value + missed, "evidence": evidence})


def _ground(
    text: PaperText, key: str, answer: TextAnswer, quotes: list[Evidence], lang: str
) -> tuple[FieldValue | None, list[str]]:
    """The answer as a field value with resolved evidence, and what is wrong with it (empty when nothing)."""
    evidence, problems = [], []
    for cited in answer.evidence:
        if isinstance(cited, int):
            if 1 <= cited <= len(quotes):
                evidence.append(quotes[cited - 1])
            else:
                problems.append(f"there is no quote [{cited}]")
        elif text.has(cited):
            evidence.append(next((q for q in quotes if contains(q.quote, cited)), None) or _locate(text, cited))
        else:
            problems.append(f'"{clip(cited, 80)}" is not in the paper')
    value = answer.value
    if isinstance(value, list) and key in NAMED_FIELDS:
        value, evidence = _supported_items(text, value, evidence, quotes)
    elif isinstance(value, list):
        value = list(dict.fromkeys(_tidy(v) for v in value if v.strip()))
    if not value:
        return None, []
    if not evidence and not problems:
        problems.append('"evidence" is empty: cite the numbers of the quotes that support the value')
    flat = " ".join(value) if isinstance(value, list) else value
    if _PLACEHOLDER.search(flat):
        problems.append("the value repeats a <placeholder> of the reply format: write what the quotes say instead")
    if lang == "zh" and key in PROSE_FIELDS and not CJK.search(flat):
        problems.append("the value is in English, but it must be in Simplified Chinese: translate it (请把 value 翻译成简体中文)")
    numbers = _numbers(flat)
    evidence += _quotes_with_numbers(numbers, evidence, quotes)
    stray = numbers - _numbers(" ".join(e.quote for e in evidence))
    if stray:
        problems.append("the numbers " + ", ".join(f"{n:g}" for n in sorted(stray)) + " are not in the quotes you cited")
    unique = list({(e.page, e.quote): e for e in evidence}.values())
    return FieldValue(value=value, evidence=unique, backend="llm"), problems


def _supported_items(
    text: PaperText, items: list[str], cited: list[Evidence], shown: list[Evidence]
) -> tuple[list[str], list[Evidence]]:
    """The items the paper names, each backed by a quote that names it (and holds its numbers, else the numbers go)."""
    kept, evidence = [], list(cited)
    for item in dict.fromkeys(_tidy(i) for i in items if i.strip()):
        for candidate in dict.fromkeys([item, item.split("(")[0].strip()]):
            if not any(text.names(n) for n in _names(candidate)):
                continue  # never a name the paper does not contain
            sources = chain(evidence, shown, (s.evidence() for s in text.sentences))
            quote = next((e for e in sources if _mentions(e.quote, candidate) and _numbers(candidate) <= _numbers(e.quote)), None)
            if quote:
                kept.append(candidate)
                evidence += [] if quote in evidence else [quote]
                break
    return list(dict.fromkeys(kept)), evidence


def _quotes_with_numbers(numbers: set[float], cited: list[Evidence], shown: list[Evidence]) -> list[Evidence]:
    """Shown quotes that hold the value's numbers the cited ones lack: a small model often cites the wrong quote."""
    missing = numbers - _numbers(" ".join(e.quote for e in cited))
    added = []
    for quote in shown:
        if missing & _numbers(quote.quote):
            missing -= _numbers(quote.quote)
            added.append(quote)
    return added


def _mentions(quote: str, item: str) -> bool:
    quote = normalize(quote)
    return any(re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", quote) for name in _names(item))


def _tidy(item: str) -> str:
    """A list item with collapsed spaces and without the unmatched closing brackets small models leave."""
    item = " ".join(item.split()).strip(" ;,")
    while item.endswith(")") and item.count(")") > item.count("("):
        item = item[:-1].rstrip()
    return item


def _numbers(text: str) -> set[float]:
    """The numbers written in `text`: "1,024", "1, 024" (as PDFs space it) and "1024" are the same, as are "67%"
    and "67.0%", and "eight" and "8"."""
    digits = {float(re.sub(r",\s?", "", n)) for n in re.findall(r"\d+(?:,\s?\d{3}(?!\d))*(?:\.\d+)?", text)}
    return digits | {float(NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS}


def _correction(problems: list[str]) -> str:
    return (
        "Your answer has problems: "
        + "; ".join(problems)
        + ". Cite only the numbers of the quotes given above, and state only what they say. "
        "Reply with the corrected JSON object only."
    )


# --------------------------------------------------------------- model facts


def _llm_facts(paper: PaperText, sheets: list[ModelFacts], llm: BaseChatModel, settings: Settings) -> list[ModelFacts]:
    """The extractive fact sheets plus the facts the model proposes for what they leave empty (one call; see
    `_accepted`); the sheets as they are when nothing is missing, no quote may state it, or the reply is malformed."""
    missing = {m.name: [k for k in FACT_KEYS if k not in m.facts] for m in sheets}
    keys = [k for k in FACT_KEYS if any(k in wanted for wanted in missing.values())]
    quotes = _distinct(paper, fact_quotes(paper, keys, FACT_QUOTES_PER_KEY), MAX_FACT_QUOTES) if keys else []
    if not quotes:
        return sheets
    prompt = render_prompt(
        settings,
        "facts",
        title=paper.parsed.title,
        models=[{"name": name, "missing": wanted} for name, wanted in missing.items() if wanted],
        facts=[{"key": k, "label_en": FACT_SPECS[k].en, "label_zh": FACT_SPECS[k].zh, "kind": FACT_SPECS[k].kind,
                "unit": FACT_SPECS[k].unit} for k in keys],
        quotes=[{"n": n, "page": q.page, "section": q.section, "text": q.quote} for n, q in enumerate(quotes, 1)],
    )
    try:
        answer = invoke_json(llm, [HumanMessage(prompt)], FactsAnswer)
    except LLMOutputError:
        return sheets
    return _with_proposed(paper, sheets, answer.facts, quotes)


def _with_proposed(
    paper: PaperText, sheets: list[ModelFacts], proposed: list[ProposedFact], quotes: list[Evidence]
) -> list[ModelFacts]:
    """The sheets, each with the first accepted proposal for every fact it leaves empty, in fact-sheet order; a
    proposal for a model not among the sheets, or for a fact a sheet has, is dropped."""
    by_name = {normalize(m.name): m for m in sheets}
    added: dict[str, dict[str, FactValue]] = {m.name: {} for m in sheets}
    for proposal in proposed:
        sheet = by_name.get(normalize(proposal.model))
        if sheet and proposal.key not in sheet.facts and proposal.key not in added[sheet.name]:
            if fact := _accepted(paper, proposal, quotes):
                added[sheet.name][proposal.key] = fact
    return [
        m.model_copy(update={"facts": {k: f for k in FACT_KEYS if (f := m.facts.get(k) or added[m.name].get(k))}})
        for m in sheets
    ]


def _accepted(paper: PaperText, proposal: ProposedFact, quotes: list[Evidence]) -> FactValue | None:
    """The proposed fact with the page and text of its quote, when the key is a fact's, the quote is in the paper
    and holds more than the value, the quote prints the value, and the value normalizes as the fact's kind."""
    spec = FACT_SPECS.get(proposal.key)
    value = " ".join((proposal.value or "").split())
    evidence = _cited(paper, proposal.quote, quotes)
    if spec is None or not value or evidence is None or normalize(evidence.quote) == normalize(value):
        return None
    normalized = normalize_fact(spec, value) if _prints(evidence.quote, value) else None
    if normalized is None:
        return None
    return FactValue(value=value, normalized=normalized, page=evidence.page, quote=evidence.quote)


def _cited(paper: PaperText, cited: int | str, quotes: list[Evidence]) -> Evidence | None:
    """The quote cited by number (the shown quotes are all in the paper) or as verbatim text of the paper, else None."""
    if isinstance(cited, int):
        return quotes[cited - 1] if 1 <= cited <= len(quotes) else None
    return _locate(paper, cited) if paper.has(cited) else None


def _prints(quote: str, value: str) -> bool:
    """Whether `quote` prints `value` whole: "32" is not printed in "32768", "3.2" or "1,032"."""
    return re.search(rf"(?<![\w.,]){re.escape(normalize(value))}(?!\w|[.,]\d)", normalize(quote)) is not None


# ------------------------------------------------------------------ evidence


def field_quotes(paper: PaperText, key: str, extracted: FieldValue) -> list[Evidence]:
    """The numbered quotes shown to the model: the extractive evidence found in the paper, topped up by retrieval."""
    quotes = _distinct(paper, extracted.evidence, MAX_QUOTES)
    if len(quotes) < MIN_QUOTES:
        quotes = _distinct(paper, chain(quotes, _retrieve(paper, key, MAX_QUOTES)), MIN_QUOTES)
    return quotes


def _distinct(paper: PaperText, candidates: Iterable[Evidence], limit: int) -> list[Evidence]:
    """Up to `limit` of the candidates, in order, each clipped to QUOTE_CHARS, found in the paper, and not a repeat."""
    quotes: dict[str, Evidence] = {}
    for evidence in candidates:
        if len(quotes) >= limit:
            break
        quote = clip(evidence.quote, QUOTE_CHARS)
        if normalize(quote) not in quotes and paper.has(quote):
            quotes[normalize(quote)] = evidence.model_copy(update={"quote": quote})
    return list(quotes.values())


def _retrieve(text: PaperText, key: str, k: int) -> list[Evidence]:
    """The `k` sentences of the paper that look most like evidence for `key`: cue words, in a likely section."""
    cue, section_cue = (re.compile(p, re.IGNORECASE) for p in (SPECS[key].cues, SPECS[key].sections))
    scored = []
    for sentence in text.sentences:
        if sentence.kind in ("title", "table") or not 40 <= len(sentence.text) <= 600:
            continue
        if sentence.kind == "caption" and key != "demo":
            continue
        hits = len({m.group(0).lower() for m in cue.finditer(sentence.text)})
        if hits:
            bonus = (1.0 if section_cue.search(sentence.section) else 0.0) - (0.5 if sentence.kind == "appendix" else 0.0)
            scored.append((hits + bonus, -sentence.order, sentence))
    return [s.evidence() for *_, s in sorted(scored, key=lambda c: c[:2], reverse=True)[:k]]
