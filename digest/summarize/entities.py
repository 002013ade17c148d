"""Datasets and benchmarks named in a paper: a curated gazetteer plus patterns for names it has not seen.

A name is kept only as it is written in the paper, and only where its sentence, section or table says what it is
used for: training data (datasets) or evaluation (benchmarks). Names of models and methods are never kept.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from digest.models import FieldValue, ParsedPaper
from digest.text import row_cells, section_paths

from .evidence import PaperText, Sentence

GAZETTEER = files("digest").joinpath("data/gazetteer.json")
_SKIP_SECTION = re.compile(r"related\s+work|background|prior\s+work|literature|references|bibliography|acknowledg|contributions", re.I)
_DATA_SECTION = re.compile(
    r"\bdata\b|dataset|corpus|corpora|pre-?training|fine-?tuning|instruction|\bsft\b|supervised|post-?training|mixture", re.I
)
_EVAL_SECTION = re.compile(r"evaluat|results?\b|experiment|benchmark|performance|comparison|downstream|\btasks?\b|-shot", re.I)
_TRAIN_CUE = re.compile(
    r"\b(?:pre-?train\w*|train\w*|fine-?tun\w*|instruction[- ]tun\w*)\s+(?:[\w,()-]+\s+){0,8}?(?:on|with|using|from)\b"
    r"|training\s+(?:data|set|corpus|corpora|mixture|examples|sentences|samples|tokens)|data\s+(?:mixture|sources?)"
    r"|sampling\s+(?:proportion|ratio|rate)|tokens?\s+(?:from|of)\b|consist\w*\s+of|(?:collected|sourced|crawled)\s+(?:[\w-]+\s+){0,3}?from"
    r"|\bwe\s+(?:use|used|include|included|add|added|curate|curated|collect|collected)\b",
    re.I,
)
_EVAL_CUE = re.compile(
    r"evaluat\w*|benchmark|accuracy|\bscores?\b|outperform\w*|state[- ]of[- ]the[- ]art|\bresults?\s+on|\btest\s+(?:set|split)|\d+-shot"
    r"|zero-shot|few-shot|pass@|exact\s+match|perplexity|\bBLEU\b|\bF1\b|\bachiev\w*|\bsurpass\w*|\bperform\w*\s+on",
    re.I,
)
_DATA_TABLE = re.compile(
    r"training\s+(?:data|set|corpus|corpora|mixture)|pre-?training\s+data|data\s*(?:mixture|composition|sources?|distribution)"
    r"|\bmixtures?\b|sampling\s+(?:prop|ratio|weight|rate)|\bcorpus\b|\bcorpora\b|dataset\s+statistics",
    re.I,
)
_PROPORTION = re.compile(r"\d+(?:\.\d+)?\s?%")
_SIZE = re.compile(
    r"\d+(?:[.,]\d+)?\s?(?:[KMBT]|thousand|million|billion|trillion)?\s*(?:tokens|sentence\s+pairs|sentences|examples|samples|documents|words|conversations|problems|pairs)"
    r"|\d+(?:\.\d+)?\s?(?:TB|GB|MB)\b",
    re.I,
)
# Names that patterns may propose but that are models, methods, metrics or words.
_STOP = re.compile(
    r"^(?:our|this|these|the|each|all|other|new|same|both|such|many|most|several|table|figure|section|appendix|eq|equation"
    r"|gpt|chatgpt|instructgpt|codex|llama|llama\d*|alpaca|vicuna|mistral|mixtral|qwen|deepseek|gemma|gemini|claude|palm|chinchilla|gopher"
    r"|opt|bloom|falcon|t5|mt5|bert|roberta|albert|electra|xlnet|deberta|bart|mpt|pythia|starcoder|codellama|baichuan|internlm|chatglm|glm"
    r"|yi|phi|minicpm|kimi|grok|o1|o3|o4|seed|megatron|transformer|lstm|rnn|cnn|moe|mla|gqa|mqa|mha|nsa|rope|yarn|swiglu|rmsnorm|gelu|relu"
    r"|lora|adam|adamw|muon|sgd|ppo|dpo|grpo|rlhf|rl|sft|cot|llm|llms|api|gpu|gpus|tpu|tpus|fp8|bf16|fp16|bpe|ffn|mlp|elo|rag|nlp|ai|ml|qa"
    r"|bleu|rouge|em|acc|ppl|bpb|chrf|meteor|cider|pass|avg|average|overall|total|english|chinese|code|math|general|reasoning"
    r"|nlg|nlu|nli|ocr|asr|tts|mt|no|w/o|with|without|base|chat|instruct|dapo|vapo|rloo|kto|orpo|simpo|remax|warmup|batch|learning)"
    r"(?:\d[\w.]*)?(?:[-\s.][\w.]*)*$",
    re.I,
)
_NAME = r"(?:[A-Z]|[a-z]+(?=[A-Z0-9]))[A-Za-z0-9]*(?:[-.+][A-Za-z0-9]+)*"  # "HumanEval", and "miniF2F"
_NAMED_BENCHMARK = re.compile(rf"\b(?:the\s+)?({_NAME})\s+(?:benchmark|test\s+set|evaluation\s+set|suite|leaderboard)s?\b")
_NAMED_DATASET = re.compile(rf"\b(?:the\s+)?({_NAME}(?:\s\d+(?:\.\d+)*)?)\s+(?:dataset|corpus|corpora)s?\b")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # dataset | benchmark
    aliases: tuple[str, ...] = ()
    case: bool = False  # match case-sensitively
    context: bool = False  # count only where the sentence or table is about data


@dataclass(frozen=True)
class Mention:
    entry: Entry
    surface: str  # as written in the paper
    sentence: Sentence
    data: bool  # its sentence, section or table is about training data
    evaluation: bool  # ... about evaluation
    trained_on: bool  # the sentence says a model is trained on it


@cache
def gazetteer() -> tuple[Entry, ...]:
    """The curated list of datasets and benchmarks shipped with digest."""
    data = json.loads(GAZETTEER.read_text(encoding="utf-8"))
    return tuple(
        Entry(e["name"], e["kind"], tuple(e.get("aliases", ())), e.get("case", False), e.get("context", False))
        for e in data["entries"]
    )


@cache
def _matchers() -> tuple[re.Pattern, re.Pattern, dict[str, Entry], dict[str, Entry]]:
    """One regex for case-insensitive names, one for case-sensitive ones, and the entry of each name."""
    folded: dict[str, Entry] = {}
    exact: dict[str, Entry] = {}
    for entry in gazetteer():
        for name in (entry.name, *entry.aliases):
            if entry.case or len(name) <= 3:
                exact.setdefault(name, entry)
            else:
                folded.setdefault(name.lower(), entry)

    def pattern(names, flags=0):
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        return re.compile(rf"(?<![\w/.-])(?:{alternatives})(?![\w/]|-\w|\+)", flags)

    return pattern(folded, re.I), pattern(exact), folded, exact


def find_mentions(text: PaperText) -> list[Mention]:
    """Every gazetteer name in the paper's sentences, captions and tables, with what its context says."""
    folded_re, exact_re, folded, exact = _matchers()
    tables = _table_contexts(text.parsed)
    out = []
    for s in text.sentences:
        if s.kind == "title" or _skipped(s):
            continue
        found = [(_versioned(m, s.text), folded[m.group(0).lower()]) for m in folded_re.finditer(s.text)]
        found += [(_versioned(m, s.text), exact[m.group(0)]) for m in exact_re.finditer(s.text)]
        if not found:
            continue
        data, evaluation = _context(s, tables, text)
        for surface, entry in found:
            if entry.context and not (data and (_data_section(s) or s.kind == "table")):
                continue
            out.append(Mention(entry, surface, s, data, evaluation, _trained_on(surface, s)))
    return out


_VERSION = re.compile(r"\s?v\d+(?:\.\d+)*(?![\w.-])")


def _versioned(match: re.Match, text: str) -> str:
    """A gazetteer name as written, with the version that follows it ("the Stack v2" is not "the Stack")."""
    version = _VERSION.match(text, match.end())
    return match.group(0) + (version.group(0) if version else "")


def _trained_on(surface: str, s: Sentence) -> bool:
    """Whether the sentence says a model is trained on this name ("fine-tuned on X", "the X training set")."""
    name = re.escape(surface)
    if re.search(rf"{name}\s+(?:training|train)\s+(?:set|split|data)", s.text, re.I):
        return True
    if re.search(rf"\btraining\s+(?:and\s+\w+\s+)?(?:sets?|splits?)\s+(?:for|of)\s+(?:the\s+)?{name}(?![\w-])", s.text, re.I):
        return True  # "the official training and testing split for GSM8K"
    if re.search(rf"cross[- ]validation\s+(?:[\w-]+\s+){{0,2}}?(?:for|on|of)\s+(?:the\s+)?(?:[\w-]+\s+(?:and|,)\s+)*{name}(?![\w-])"
                 rf"|\bfor\s+(?:the\s+)?(?:[\w-]+\s+(?:and|,)\s+)*{name}(?![\w-])[^.]{{0,40}}\bcross[- ]validation", s.text, re.I):
        return True  # "the 5-fold cross validation splits available for MAWPS and ASDiv": trained on their folds
    verb = r"(?:pre-?train\w*|train\w*|fine-?tun\w*|instruction[- ]tun\w*)"
    between = r"(?:(?!improv|perform|result|accura|evaluat)[\w,()-]+\s+){0,3}?"
    return (
        s.kind in ("body", "abstract", "appendix")
        and not _EVAL_CUE.search(s.text)
        and re.search(rf"{verb}\s+{between}(?:on|with)\s+(?:the\s+)?(?:[\w-]+\s+){{0,3}}?{name}(?![\w-])", s.text, re.I) is not None
    )


def _table_contexts(parsed: ParsedPaper) -> dict[str, tuple[bool, bool]]:
    """For each table label: (about data, about results)."""
    out = {}
    for t in parsed.tables:
        label = t.label or "Table"
        numeric = sum(bool(re.search(r"\d", r)) for r in t.rows) >= 2
        data = bool(_DATA_TABLE.search(t.caption)) and not re.search(r"result|performance|accuracy|score", t.caption, re.I)
        out[label] = (data, numeric and not data)
    return out


def _context(s: Sentence, tables: dict[str, tuple[bool, bool]], text: PaperText) -> tuple[bool, bool]:
    if s.kind == "table":
        return tables.get(s.section, (False, True))
    if s.kind == "caption" and s.section.lower().startswith("table"):
        return tables.get(s.section, (bool(_DATA_TABLE.search(s.text)), bool(_EVAL_CUE.search(s.text))))
    data = _own_training(s, text) or (_data_section(s) and s.kind != "abstract")
    evaluation = bool(_EVAL_CUE.search(s.text)) or bool(_EVAL_SECTION.search(s.section))
    return data, evaluation


def _own_training(s: Sentence, text: PaperText) -> bool:
    """The sentence says what the authors train on ("We trained ... on the WSJ portion"), not what others did."""
    return bool(_TRAIN_CUE.search(s.text) and text.own.search(s.text))


def _skipped(s: Sentence) -> bool:
    """Related work, references and the like: names there are other papers' data."""
    return bool(_SKIP_SECTION.search(s.path))


def _data_section(s: Sentence) -> bool:
    """In a section about data, or under one ("3 Pre-training > 3.1 Hyper-parameters") but not an evaluation part."""
    return bool(_DATA_SECTION.search(s.section) or (_DATA_SECTION.search(s.path) and not _EVAL_SECTION.search(s.section)))


# ---------------------------------------------------------------- the fields


def datasets_field(text: PaperText, mentions: list[Mention], evaluated: list[tuple[str, Sentence]] = ()) -> FieldValue:
    """Training data: datasets named where the paper describes its data, and benchmarks it trains on; all of
    `evaluated` (the benchmarks and where each is named) when the paper fine-tunes on each task it evaluates."""
    chosen = [
        m for m in mentions
        if (m.entry.kind == "dataset" and (m.data or m.trained_on)) or (m.entry.kind == "benchmark" and m.trained_on)
    ]
    named = [(_surface(group), group) for _, group in _by_entry(chosen)]
    items, evidence = [], []
    for surface, group in named:
        if any(other.startswith(surface + " ") for other, _ in named):
            continue  # "WMT" when "WMT 2014 English-German" is listed
        detail, where = _detail(group)
        items.append(f"{(where and _surface_in(where, group)) or surface} ({detail})" if detail else surface)
        evidence.append((where or group[0].sentence).evidence())
    tuned = list(evaluated) if tunes_on_each_task(text) else []
    for name, sentence in unseen_datasets(text) + listed_datasets(text) + data_table_names(text) + hub_datasets(text) + tuned:
        if not any(_same_name(name, name_of(item)) for item in items):
            items.append(name)
            evidence.append(sentence.evidence())
    return FieldValue(value=items or None, evidence=evidence)


_EACH_TASK = re.compile(
    r"\b(?:fine-?tun\w*|finetun\w*)\s+(?:\w+\s+){0,2}?on\s+(?:all|each|every)\s+(?:of\s+the\s+)?(?:[\w-]+\s+)?(?:tasks?|datasets?|benchmarks?)\b", re.I
)


def tunes_on_each_task(text: PaperText) -> bool:
    """The paper's model is fine-tuned on every task it is evaluated on ("S2ORC-SciBERT is finetuned on all tasks")."""
    return any(_EACH_TASK.search(s.text) for s in _prose(text) if s.kind in ("body", "abstract", "appendix"))


def name_of(item: str) -> str:
    """A list item's name: "C4 (15%)" -> "C4"."""
    return re.split(r"\s*[(（]", item.strip())[0].strip()


def _same_name(a: str, b: str) -> bool:
    """Whether two names are one ("OpenWeb-Math" ~ "OpenWebMath"; "The Stack" ~ "the Stack", not "the Stack v2")."""
    squash = lambda n: re.sub(r"[\W_]+", "", n.lower()).removeprefix("the")  # noqa: E731
    return squash(a) == squash(b)


# Training data named in a list after a data cue: "datasets such as A, B and C", "sourced from A and B", "Data: A, B".
_LIST_CUE = re.compile(
    r"\b(?:data(?:sets?)?|corpus|corpora|sources?|collections?|library)\b[^.;:]{0,40}?\b(?:such\s+as|like|including|includes?|namely|from)\b"
    r"|\b(?:sourced|collected|crawled|curated|drawn|gathered|obtained|recalled|downloaded|aggregates?|supplemented|utiliz\w+|us(?:e|es|ed|ing))"
    r"\b[^.;:]{0,60}?\b(?:from|by|with|in)\b"
    r"|\b(?:data(?:sets?)?|corpus|corpora|sources?)\s*:",
    re.I,
)
_DATA_WORD = re.compile(r"\b(?:data(?:sets?)?|corpus|corpora|collections?|problems|theorems|samples|instructions|pairs)\b", re.I)
_CITATION = re.compile(r"\s*(?:\([^()]*\b(?:19|20)\d\d[a-z]?\)|\[\d+(?:\s*[,–-]\s*\d+)*\])")
_ITEM_SPLIT = re.compile(r",|;|\band\b|\bor\b|\(\d+\)|\(|\)|•")
_NAME_RUN = re.compile(
    r"(?<![\w-])(?:(?:[Tt]he\s+)(?=[A-Z][a-z]+\b))?(?:[A-Z][\w.+-]*|[a-z]+[A-Z][\w.+-]*)"
    r"(?:\s+(?:of(?=\s+[A-Z])|v?\d[\w.]*(?![\w-])|[A-Z][\w.+-]*))*"
)


_OWNER_OR_KIND = re.compile(r"[’']s\b|\s+(?:data(?:sets?)?|corpus|corpora)\s+(?:like|such\s+as|including)\b", re.I)


def listed_datasets(text: PaperText) -> list[tuple[str, Sentence]]:
    """Names listed after a data cue in a sentence about the paper's own training data ("sourced from A (Author,
    2023), B and C"): each distinctive (GSM8K, OpenHermes-2.5), known, or marked as a name by a citation or acronym."""
    out = []
    for s in _prose(text):
        if not (_DATA_WORD.search(s.text) and (_own_training(s, text) or _data_section(s) or s.kind == "appendix")):
            continue
        if _EVAL_SECTION.search(s.path) and not _TRAIN_CUE.search(s.text):
            continue
        for cue in _LIST_CUE.finditer(s.text):
            tail = _CITATION.sub(_CITED, _AUTHOR_YEAR.sub("", s.text[cue.end():]))
            for m in _NAME_RUN.finditer(tail):
                name, after = m.group(0).strip(" ."), tail[m.end():]
                if _OWNER_OR_KIND.match(after):
                    continue  # "IBM’s AI Ethics principles", "High-quality datasets like …": an owner, a modifier
                marked = after.startswith(_CITED) or not tail[: m.start()].strip()  # cited, or first after the cue
                if _dataset_name(name) and not _MODEL_AFTER.match(after) and (marked or _distinctive(name) or _known(name)):
                    out.append((name, s))
    return out


def data_table_names(text: PaperText) -> list[tuple[str, Sentence]]:
    """The first column of tables that list training data ("Table 1: List of datasets used ... in SFT stage")."""
    out = []
    for table in text.parsed.tables:
        if not (_DATA_TABLE.search(table.caption) or _TRAINING_DATA_CAPTION.search(table.caption)) or _RESULT_CAPTION.search(table.caption):
            continue
        for row in text.table_rows(table)[1:]:
            cells = [c for c in row_cells(row.text) if c]
            name = _CITATION.sub("", cells[0]).strip(" *†‡") if cells else ""
            if _dataset_name(name) and (_CITATION.search(cells[0]) or _distinctive(name) or _known(name)):
                out.append((name, row))
    return out


_TRAINING_DATA_CAPTION = re.compile(r"\bdatasets?\b[^.]*\b(?:train\w*|SFT|fine-?tun\w*|pre-?train\w*|epochs?)\b", re.I)
_RESULT_CAPTION = re.compile(r"result|performance|accuracy|score|comparison", re.I)
_HUB_DATASET = re.compile(r"(?:huggingface\.co|modelscope\.cn)/datasets/[\w.-]+/([\w.-]+)", re.I)


def hub_datasets(text: PaperText) -> list[tuple[str, Sentence]]:
    """Data sets the paper links on a model hub (huggingface.co/datasets/org/NAME), named as in the link."""
    out: dict[str, Sentence] = {}
    for s in _prose(text):
        for m in _HUB_DATASET.finditer(re.sub(r"(?<=[\w.])-\s+(?=\w)", "-", s.text)):  # a link broken at its hyphen
            out.setdefault(m.group(1).rstrip("."), s)
    return list(out.items())


def _dataset_name(name: str) -> bool:
    """A name a list item or table cell can stand for: short, capitalized, not a date, size, model or method."""
    if not 2 <= len(name) <= 40 or len(name.split()) > 5 or _STOP.match(name) or not re.search(r"[A-Z]", name):
        return False
    if not re.search(r"[A-Za-z]{2}", name) or re.search(r"(\w{3,})\1", name):  # "S28"; "StageStageStage"
        return False
    if re.fullmatch(r"[A-Z]+s", name) or re.search(r"\s(?:We|Our|This|These|It|In|For|To)$", name):  # "PDFs"; "PDFs We"
        return False
    return not (_MONTH.match(name) or _MODEL_LIKE.search(name) or re.search(r"[^\w\s.+-]", name))


def _distinctive(name: str) -> bool:
    """Written as no ordinary word is: inner capitals or letters with digits (WenetSpeech, miniF2F, Mathlib4)."""
    return bool(re.search(r"[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]", name))


_CITED = "\u2020cite "  # stands where a citation was cut from a list
_AUTHOR_YEAR = re.compile(r"[A-Z][\w'-]+(?:\s+(?:et\s+al\.?|and\s+[A-Z][\w'-]+))?\s*\((?:19|20)\d\d[a-z]?\)")  # "Zhang (2024)"
_MODEL_AFTER = re.compile(r"\s*(?:-\s*)?(?:models?|LLMs?|series|family|et\s+al)\b")
_MONTH = re.compile(r"(?:January|February|March|April|May|June|July|August|September|October|November|December)\b")
_MODEL_LIKE = re.compile(r"(?:LLM|LM|GPT|BERT)s?$|\b\d+(?:\.\d+)?[BMK]\b|\d+(?:st|nd|rd|th)\b")


def evaluation_names(text: PaperText, mentions: list[Mention]) -> tuple[list[str], list[Sentence]]:
    """Benchmarks the paper evaluates on (names as written) and a sentence or table row naming each."""
    chosen = [
        m for m in mentions
        if m.evaluation and not m.entry.context
        and (m.entry.kind == "benchmark" or (not m.data and re.search(r"\d", m.sentence.text) and _EVAL_CUE.search(m.sentence.text)))
    ]
    names, where = [], []
    for entry, group in _by_entry(chosen):
        names.append(_surface(group))
        where.append(group[0].sentence)
    for name, sentence in unseen_benchmarks(text):
        names.append(name)
        where.append(sentence)
    keep = [i for i, n in enumerate(names) if not any(_setting_of(n, o) for o in names)]
    return [names[i] for i in keep], [where[i] for i in keep]


def _setting_of(name: str, other: str) -> bool:
    """`other` is `name` with a setting after it ("WMT 2014 English-to-German", "SQuAD v1.1", "HMMT Feb 2025",
    "miniF2F-test"), not another benchmark named by one more word ("MMLU Pro", "MBPP Sanitized", "MMLU-Pro")."""
    if other.startswith(name + "-"):
        return re.fullmatch(r"(?:test|dev|val|valid|validation)", other[len(name) + 1:], re.I) is not None
    return other.startswith(name + " ") and not re.fullmatch(r"[A-Z][A-Za-z]*", other[len(name) + 1:])


def unseen_benchmarks(text: PaperText) -> list[tuple[str, Sentence]]:
    """Benchmarks the gazetteer lacks: "the X benchmark", "the X dataset" said of evaluation, a results table's
    benchmark column."""
    seen: dict[str, Sentence] = {}
    for s in _prose(text):
        found = list(_NAMED_BENCHMARK.finditer(s.text))
        if _EVAL_CUE.search(s.text) and not _TRAIN_CUE.search(s.text):
            found += _NAMED_DATASET.finditer(s.text)
        for m in found:
            seen.setdefault(m.group(1), s)
    once = set()  # in a results table's benchmark column or a list of benchmarks: the layout says what they are
    for name, s, results in benchmark_column_names(text):
        seen.setdefault(name, s)
        if results:
            once.add(name)
    for name, s in listed_benchmarks(text):
        seen.setdefault(name, s)
        once.add(name)
    return _repeated(text, seen, once)


_LIST_HEADING = re.compile(r"\b(?:benchmarks?|datasets?|tasks?)\b", re.I)
_LIST_HEAD = re.compile(rf"[•●▪◦‣]\s+({_NAME_RUN.pattern})\s*(?=\(|:)")
_HEADING_NAMES = re.compile(rf"((?:{_NAME_RUN.pattern})(?:(?:\s*,\s*|\s+and\s+)(?:{_NAME_RUN.pattern}))*)\s*:\s")


def listed_benchmarks(text: PaperText) -> list[tuple[str, Sentence]]:
    """The heads of a bulleted list under an evaluation heading that names benchmarks or datasets ("3.2 Evaluation
    Benchmarks: • IMO-ProofBench (60 problems): …", "4.2 Benchmarks: • HumanEval (Chen et al., 2021) is …"), and
    the names an evaluation sub-heading starts with ("6.1.5 RepoBench, CrossCodeEval: Repository-Level Code
    Generation")."""
    out = []
    for section, path in zip(text.parsed.sections, section_paths(text.parsed.sections)):
        parent = path.rpartition(" > ")[0]
        if section.kind == "body" and _EVAL_SECTION.search(parent) and (m := _HEADING_NAMES.match(section.title)):
            heading = Sentence.heading(section, path)
            out += [(name, heading) for name in re.split(r"\s*,\s*|\s+and\s+", m.group(1)) if not _names_a_model(name)]
    for s in _prose(text):
        if _LIST_HEADING.search(s.section) and _EVAL_SECTION.search(s.path) and not _TRAIN_CUE.search(s.section):
            if (m := _LIST_HEAD.match(s.text)) and not _names_a_model(name := m.group(1).strip()):
                out.append((name, s))
    return out


def unseen_datasets(text: PaperText) -> list[tuple[str, Sentence]]:
    """Training data the gazetteer lacks: "the X dataset/corpus" where the paper describes what it trains on."""
    seen: dict[str, Sentence] = {}
    for s in _prose(text):
        if (_own_training(s, text) or _data_section(s)) and not _EVAL_CUE.search(s.text) and not _EVAL_SECTION.search(s.path):
            for m in _NAMED_DATASET.finditer(s.text):
                seen.setdefault(m.group(1), s)
    return _repeated(text, seen)


def _prose(text: PaperText) -> list[Sentence]:
    return [s for s in text.sentences if s.kind not in ("title", "table") and not _skipped(s)]


def _repeated(text: PaperText, seen: dict[str, Sentence], once: set[str] = frozenset()) -> list[tuple[str, Sentence]]:
    """The plausible, unknown names written at least twice in the paper (tables included), or once for those in
    `once` (where the layout says what they are)."""
    return [(name, s) for name, s in seen.items()
            if _plausible(name) and not _known(name) and (name in once or _written_twice(text, name))]


def _written_twice(text: PaperText, name: str) -> bool:
    return len(re.findall(rf"(?<![\w-]){re.escape(name)}(?![\w]|-\w)", text.full)) >= 2


def benchmark_column_names(text: PaperText) -> list[tuple[str, Sentence, bool]]:
    """Names in the column headed "Benchmark"/"Dataset"/"Task" of a table with scores (metric in parentheses
    dropped), and whether the table's caption says it holds results."""
    out = []
    data_tables = {label for label, (data, _) in _table_contexts(text.parsed).items() if data}
    for table in text.parsed.tables:
        if (table.label or "Table") in data_tables:
            continue
        results = bool(_RESULT_CAPTION.search(table.caption))
        column = None
        for row in text.table_rows(table):
            parts = row_cells(row.text)
            if column is None:
                column = next((i for i, c in enumerate(parts) if re.fullmatch(r"(?:benchmarks?|datasets?|tasks?)(?:\s*\(.*\))?", c, re.I)), None)
                continue
            if column < len(parts) and any(re.fullmatch(r"[\d.]+%?", c) for c in parts[column + 1:]):
                name = re.sub(r"\s+\d+-shot$", "", re.split(r"\s*[(\[]", parts[column])[0].strip())  # "BoolQ 1-shot"
                if _plausible(name) and not _names_a_model(name):
                    out.append((name, row, results))
    return out


def _names_a_model(name: str) -> bool:
    """A word of `name` is a model with its version ("OpenAI o3-mini", "GPT-4 Turbo"): a model, not a benchmark."""
    return any(_STOP.match(word) and re.search(r"\d", word) for word in name.split())


def is_benchmark_name(name: str) -> bool:
    """Whether the whole of `name` is a gazetteer benchmark (in the case the gazetteer requires)."""
    _, _, folded, exact = _matchers()
    entry = folded.get(name.lower()) or exact.get(name)
    return entry is not None and entry.kind == "benchmark"


def named_entity(item: str, text: PaperText) -> bool:
    """Whether a list item ("C4 (15%)") names, as the paper writes it, something that is not a model or method."""
    name = re.split(r"\s*[(（]", item.strip())[0].strip()
    if not name or not text.names(name):
        return False
    return _known(name) or not _STOP.match(name)


@cache
def _known_names() -> frozenset[str]:
    _, _, folded, exact = _matchers()
    return frozenset(folded) | {name.lower() for name in exact}


def _known(name: str) -> bool:
    """Whether the gazetteer has this name (in any case): its entry decides, not a pattern."""
    return name.lower() in _known_names()


def _plausible(name: str) -> bool:
    """A dataset-like name: not a stop word, model or method; a word of it has inner capitals or digits (GSM8K, HumanEval)."""
    if len(name) < 3 or _STOP.match(name) or re.search(r"[^\w\s.+-]", name) or len(name.split()) > 3:
        return False
    return (name[0].isupper() or bool(re.match(r"[a-z]+[A-Z0-9]", name))) and any(re.search(r"\w[A-Z]|\d", word) for word in name.split())


def _by_entry(mentions: list[Mention]) -> list[tuple[Entry, list[Mention]]]:
    """Mentions grouped by entry and version: "The Stack" and "Stack v2" are two data sets of one entry."""
    groups: dict[tuple[Entry, str], list[Mention]] = {}
    for m in sorted(mentions, key=lambda m: m.sentence.order):
        version = re.search(r"v\d+(?:\.\d+)*$", m.surface)
        groups.setdefault((m.entry, version.group(0) if version else ""), []).append(m)
    return [(entry, group) for (entry, _), group in groups.items()]


def _surface(group: list[Mention]) -> str:
    """The way the paper most often writes the name (earliest on ties)."""
    counts = Counter(m.surface for m in group)
    return max(counts, key=lambda s: (counts[s], -next(i for i, m in enumerate(group) if m.surface == s)))


def _surface_in(sentence: Sentence, group: list[Mention]) -> str:
    return next(m.surface for m in group if m.sentence is sentence)


def _detail(group: list[Mention]) -> tuple[str, Sentence | None]:
    """A share ("67.0%") or size ("4.5 million sentence pairs") stated with the name, and where."""
    for m in group:
        if m.sentence.kind == "table":
            share = next((c for c in row_cells(m.sentence.text) if re.fullmatch(r"\d+(?:\.\d+)?\s?%", c)), None)
            if share:
                return share, m.sentence
    for m in group:
        after = m.sentence.text[m.sentence.text.find(m.surface) + len(m.surface):][:70]
        for pattern in (_PROPORTION, _SIZE):
            found = pattern.search(after)
            if found and not re.search(r"[.;,]\s|\band\b|\bor\b|vocabular|\bfor\b", after[: found.start()]):
                return found.group(0), m.sentence
    return "", None
