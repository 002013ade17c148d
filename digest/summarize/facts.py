"""Model facts: a typed fact sheet for each model a paper introduces, every value with its page and verbatim quote.

Where facts come from, tables first:
- configuration tables: a table whose row labels ("| Layers | 32 | 36 |", models as columns) or column headings
  ("| params | dimension | n heads |", models as rows) name at least three facts (FactSpec.header), with few other
  rows or columns of numbers (so result and ablation tables are not read);
- sentences: FactSpec.patterns around the key terms ("a peak learning rate of 3e-4", "trained on 14.8T tokens"),
  in sentences about the paper's own model (first person, its name, or its design and training sections), never
  in related work or inference/efficiency sections, comparisons or settings tried, and for training facts never in
  evaluation sections (these sentence cues: digest/data/facts.toml [sentences]).

Models: one per size where the paper gives several (its configuration table's columns or rows, the sized names it
coins: "Qwen3-ASR-1.7B", and sizes it lists: "distilled versions with 1.5B and 7B parameters"), plus the paper's
main model when a sentence naming it gives it a larger size of its own ("the Kimina-Prover-Preview model with 72B
parameters"); else one model, named after the paper's. A sentence that names some of the models (by name, or by
size: "The 3B model", "our 1.5B and 7B models") gives facts to those; one that names none gives them to the main
model, or to every size when there is no main model. A sized model's total parameters are the size it is named by.
Nothing else is inferred: a fact the paper does not state is absent.

Normalized values, for comparison across papers:
- counts and sizes: thousands separators dropped; K/M/B/T and thousand/million/billion/trillion are decimal
  (128K = 128000, 4M = 4000000: 131072 only where the paper prints 131072); a whole number is an int;
- rates: 2e−5, 2 × 10−5, 0.00002 -> 2e-05 (U+2212 and en dashes read as minus signs);
- names: the canonical spelling in digest/data/facts.toml ("rotary position embedding" -> "RoPE"; several, as in
  "A100 and H100 GPUs", joined by "+" in sorted order);
- text (training compute): the phrase with whitespace collapsed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import islice

from digest.fields import FACT_KEYS, FACT_SPECS, FACTS, NOT_MODEL_NAMES, SENTENCE_CUES, FactSpec
from digest.models import Evidence, FactValue, ModelFacts, Table
from digest.text import NUMBER_WORDS, contains, page_of, single_line

from .benchmarks import own_names as title_names
from .entities import gazetteer
from .evidence import PaperText, Sentence, formula

MIN_TABLE_FACTS = 3  # a configuration table names at least this many facts
QUOTE_BEFORE, QUOTE_AFTER = 12, 6  # words quoted around a value (a sentence's words, verbatim)

Normalized = float | int | str


def _cue(name: str) -> re.Pattern:
    """A sentence cue of digest/data/facts.toml ([sentences])."""
    return re.compile(SENTENCE_CUES[name], re.I)


_MAGNITUDE = {"k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6, "b": 10**9, "billion": 10**9, "t": 10**12, "trillion": 10**12}
_MINUS = str.maketrans({"−": "-", "–": "-", "‐": "-", "‒": "-"})
_VALUE = {
    "count": r"(?<![\w.,/-])(?P<value>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?[KMB](?![a-z])|\s(?:thousand|million|billion)\b)?)"
             r"(?![\w]|[.,]\d|\s?[×x·∗*]\s?10)",
    "size": r"(?<![\w.,-])(?P<value>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?[KMBT](?![a-z])|[\s-](?:thousand|million|billion|trillion)\b))",
    "rate": r"(?<![\w.])(?P<value>\d+(?:\.\d+)?\s?e\s?[-−–]\s?\d+|\d+(?:\.\d+)?\s?[×x·∗*]\s?10\s?\^?\{?\s?[-−–]\s?\d+\}?"
            r"|10\s?(?:\^\s?\{?\s?[-−]|−)\s?\d+\}?|0\.\d*[1-9]\d*)(?!\d)",
}
_GAP = r"(?:(?!\b(?:and|while|by|times|multiple|factor|ratio)\b)[^\d;,]){0,40}?"  # "of", "is set to", "is dmodel ="
_AWAY = _cue("away")
_ASIDE = _cue("aside")
_NOT_TRAINING = _cue("not_training")
_OWN_SECTION = _cue("own_section")
_FIRST_PERSON = _cue("first_person")
_SIZE_TOKEN = r"\d+(?:\.\d+)?[BM]"
_SIZE_MENTION = re.compile(
    r"(?<![\w.-])(?P<size>\d+(?:\.\d+)?)(?:\s?(?P<unit>[BM])|[\s-](?P<word>billion|million))(?![\w-])"
    r"(?!\s+(?:tokens|words|samples|examples|pairs|hours|images|documents|problems))",
    re.I,
)
_SIZE_LIST = re.compile(rf"(?<![\w.-]){_SIZE_TOKEN}(?:\s*,\s*{_SIZE_TOKEN})*,?\s+(?:and|or|to)\s+{_SIZE_TOKEN}(?![\w-])")
_SIZES_CUE = _cue("sizes")
_NAMEISH = re.compile(r"^(?:[A-Z][\w.]*\d[\w.]*|[A-Za-z]*[a-z][A-Z][\w.-]*|[A-Z]{2,}[\w.-]*|[\w.]+-[\w.-]+)$")
_VARIANT_SUFFIX = re.compile(r"(?:-(?:Base|Instruct|Chat|IT|SFT|RL))+$", re.I)
_INTRODUCED = re.compile(
    r"\b[Ww]e\s+(?:introduce|present|propose|release|develop|build|train|open-source)\s+(?:and\s+open-source\s+)?"
    r"(?:the\s+|a\s+|an\s+|our\s+)?(?:new\s+)?(?P<name>[A-Z][\w.]*(?:-[\w.]+)*)",
)
_INTRO_SECTION = re.compile(r"introduction|^abstract$", re.I)
_HYPHENATED = re.compile(r"(?<![\w.-])([A-Z][\w.]*(?:-[\w.]+)+)(?![\w-])")  # "Granite-3B-Code-Base"
_COMMON = re.compile(r"LLMs?|AI|[A-Z]{2,4}s?|The|This|These|Those|Our|Two|Three|New|Large|Open|An?")
_TERMED = re.compile(  # "This model, termed Llama-8B-1M-MoBA", "the resulting model (S2ORC-SCIBERT)"
    r"\b(?:[Tt]his|[Oo]ur|[Tt]he\s+resulting)\s+model(?:,?\s+(?:termed|dubbed|named|called|denoted\s+as)\s+|\s*\(\s*)"
    r"(?P<name>[A-Z][\w.]*(?:-[\w.]+)*)"
)
_MODEL_NOUN = SENTENCE_CUES["model_noun"]
_REPLACED = re.compile(r"\breplac\w*\s+(?:the\s+|standard\s+|vanilla\s+)*$", re.I)
_PAREN = re.compile(r"^(?P<main>.*?)\s*\((?P<note>[^()]*)\)\s*$")
_YEAR = re.compile(r"(?:19|20)\d\d")
_BOUND = re.compile(
    r"(?:at\s+least|at\s+most|more\s+than|less\s+than|fewer\s+than|no\s+more\s+than|multiples?\s+of|factor\s+of"
    r"|(?:maximum|minimum)\s+of)\s*$",
    re.I,
)
_COMPARED = _cue("compared")
_TRIAL = _cue("trial")
_UNSTATED = _cue("unstated")
_CLAUSE = re.compile(r";|,?\s+(?:while|whereas|but|although|though)\s+", re.I)
_EVERY = _cue("every")
_SUBSET = _cue("subset")
_REUSED = _cue("reused")
_CITED_SUBJECT = re.compile(  # "Melamud et al. (2016) mentioned ...", "Hash Layer (Roller et al., 2021) is ..."
    r"[A-Z][\w-]+\s+et\s+al\.\s*\(\d{4}|^\W*(?:The\s+)?[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*\s*\([^()]*et\s+al\.[^()]*\)\s+(?:is|are|has|have|uses?|was|were)\b"
)
_UNIT = re.compile(r"\s*\(\s*(?:in\s+)?(billions?|millions?|[BM])\s*\)\s*$", re.I)  # a heading's: "(in billions)"
_MODEL_TOKEN = re.compile(r"(?<![\w.-])([A-Za-z][\w.]*(?:-[\w.]+)*)(?![\w-])")


# ------------------------------------------------------------------- values


def parse_number(text: str) -> float | None:
    """A printed number as a float: "4,096", "16.8B", "3 trillion", "65.5K", "2e−5", "3 × 10−4", "two"."""
    s = single_line(text.translate(_MINUS)).lower()
    if s in NUMBER_WORDS:
        return float(NUMBER_WORDS[s])
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s?[×x·∗*]\s?10\s?\^?\{?\s?(-?\s?\d+)\}?", s):
        return float(m.group(1)) * 10.0 ** int(m.group(2).replace(" ", ""))
    if m := re.fullmatch(r"10\s?\^?\{?\s?(-\s?\d+)\}?", s):  # 10−2 (U+2212 read as a minus sign above)
        return 10.0 ** int(m.group(1).replace(" ", ""))
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s?e\s?(-?\s?\+?\d+)", s):
        return float(f"{m.group(1)}e{m.group(2).replace(' ', '')}")
    m = re.fullmatch(r"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?:[\s-]?([kmbt]|thousand|million|billion|trillion))?", s)
    if not m:
        return None
    return float(Decimal(m.group(1).replace(",", "")) * Decimal(_MAGNITUDE.get(m.group(2) or "", 1)))  # 16.4B: no float error


def normalize_fact(spec: FactSpec, value: str, scale: float = 1.0) -> Normalized | None:
    """A value's normalized form (see the module docstring), or None when it is not a value of the fact's kind.
    `scale` is a table heading's unit ("Parameters (in billions)": 1e9)."""
    if spec.kind == "name":
        names = [canonical for canonical, pattern in spec.names.items() if re.search(pattern, value, re.I)]
        return "+".join(sorted(set(names))) if names else None
    if spec.kind == "text":
        return " ".join(value.split()) or None
    number = parse_number(value)
    if number is None:
        return None
    number *= scale
    if spec.kind == "size" and scale == 1.0 and not re.search(r"[kmbt]|thousand|million|billion|trillion", value, re.I):
        return None  # a size needs its magnitude
    if (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
        return None
    if spec.kind == "rate":
        return float(f"{number:.6g}")
    if spec.kind == "count" and number != int(number):
        return None
    return int(number) if number == int(number) and abs(number) < 1e18 else number


def same_value(a: Normalized, b: Normalized) -> bool:
    """Whether two normalized values are the same (numbers to six significant digits, names case-blind)."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))


def _same_size(a: float, b: float) -> bool:
    """Two parameter counts the paper uses for one model (6.7B in a table, 7B in its name)."""
    return abs(a - b) <= 0.1 * max(a, b)


def _of_size(models: list[Model], size: float) -> list[Model]:
    """The sized models of `size` (see `_same_size`)."""
    return [m for m in models if m.size and _same_size(m.size, size)]


def _main(models: list[Model]) -> Model | None:
    """The paper's main model, if it has one (there is at most one)."""
    return next((m for m in models if m.origin == "main"), None)


# ------------------------------------------------------------------- patterns


@dataclass(frozen=True)
class _Matcher:
    spec: FactSpec
    patterns: tuple[re.Pattern, ...]
    names: re.Pattern | None  # name kinds: any of its spellings
    header: re.Pattern | None
    not_header: re.Pattern | None
    context: re.Pattern | None
    avoid: re.Pattern | None
    prefer: re.Pattern | None
    not_before: re.Pattern | None


@cache
def _matchers() -> dict[str, _Matcher]:
    def compiled(pattern: str) -> re.Pattern | None:
        return re.compile(pattern, re.I) if pattern else None

    out = {}
    for spec in FACTS:
        names = "|".join(f"(?:{p})" for p in spec.names.values())
        bare = names if spec.kind == "name" else _VALUE.get(spec.kind, "").replace("?P<value>", "?:")
        patterns = []
        for p in spec.patterns:
            if "(?P<value>" not in p:
                p = p.replace("{value}", f"(?P<value>{bare})", 1)
            p = p.replace("{value}", f"(?:{bare})").replace("{name}", f"(?:{names})").replace("{gap}", _GAP)
            patterns.append(re.compile(p, re.I))
        out[spec.key] = _Matcher(
            spec, tuple(patterns), compiled(names) if spec.kind == "name" else None,
            compiled(spec.header), compiled(spec.not_header), compiled(spec.context), compiled(spec.avoid),
            compiled(spec.prefer), re.compile(f"(?:{spec.not_before})\\s*$", re.I) if spec.not_before else None,
        )
    return out


def header_key(label: str) -> str | None:
    """The fact a table row label or column heading holds ("Hidden size" -> hidden_size), or None."""
    label = " ".join(label.replace("_", " ").split()).strip(" :")
    label = _UNIT.sub("", label)
    if not label or len(label) > 40:
        return None
    for m in _matchers().values():
        if m.header and (m.header.search(label) or m.header.search(label.replace(" ", "_"))):
            if not (m.not_header and m.not_header.search(label)):
                return m.spec.key
    return None


def _scale(label: str) -> float:
    """A heading's unit: "(in billions)" or "(B)" -> 1e9."""
    m = _UNIT.search(label)
    if not m:
        return 1.0
    return 1e9 if m.group(1).lower().startswith("b") else 1e6


def sentence_values(s: Sentence, matcher: _Matcher) -> list[tuple[str, Normalized, int, int]]:
    """(value, normalized, start, end) of each statement of the fact in the sentence, in reading order."""
    spec = matcher.spec
    if (matcher.context and not matcher.context.search(s.text)) or (matcher.avoid and matcher.avoid.search(s.text)):
        return []
    if spec.choice and _TRIAL.search(s.text):
        return []
    found = []
    if matcher.names is not None and not matcher.patterns:  # any spelling in the sentence
        found = [(m.group(0), m.start(), m.end()) for m in matcher.names.finditer(s.text)
                 if not _REPLACED.search(s.text[: m.start()][-40:])]
        if len({normalize_fact(spec, v) for v, _, _ in found}) > 1:
            return []  # several named ("unlike ALiBi, we use RoPE"): not clear which is the model's
    for pattern in matcher.patterns:
        for m in pattern.finditer(s.text):
            start, end = m.span("value")
            if spec.kind == "name" and _REPLACED.search(s.text[:start][-40:]):
                continue
            if spec.kind == "count" and _YEAR.fullmatch(m.group("value")) and (
                s.text[end:end + 1] in ");," or "(" in s.text[max(0, start - 2):start]
            ):
                continue  # a citation's year: "Following Beltagy et al. (2019)"
            if spec.kind in ("count", "rate") and _BOUND.search(s.text[max(0, start - 25):start]):
                continue  # "at least 16 heads", "a multiple of 64": a bound, not a setting
            if s.text[start - 1:start] == "(" and s.text[end:end + 1] == ")" and spec.kind == "count":
                continue  # an enumeration: "(1) smaller batch sizes ..."
            if matcher.not_before and matcher.not_before.search(s.text[max(0, start - 30):start]):
                continue
            if spec.pick == "max" and (step := _alternatives(spec.kind, steps=True).match(s.text, end)):
                while step:  # "from 32K to 128K", "to 256K, 512K, and 1M tokens": each stage's value
                    found.append((step.group("value"), *step.span("value")))
                    step = _alternatives(spec.kind, steps=True).match(s.text, step.end())
            elif spec.kind in _VALUE and _alternatives(spec.kind).match(s.text, end):
                continue  # one of several tried: "a learning rate of 1e-5, 2e-5, 3e-5, or 5e-5"
            found.append((m.group("value"), start, end))
    out = []
    for value, start, end in sorted(found, key=lambda f: f[1]):
        normalized = normalize_fact(spec, value)
        if normalized is not None:
            out.append((value.strip(), normalized, start, end))
    return out


@cache
def _alternatives(kind: str, steps: bool = False) -> re.Pattern:
    """Another value of the kind right after one: settings tried ("1e-5, 2e-5, or 5e-5"), or with `steps` each
    step of a progression ("256K, 512K, and 1M"), the value as a group."""
    if steps:
        return re.compile(r"\s*(?:,\s*(?:and\s+|then\s+)?|\s+and\s+|\s+then\s+|\s+to\s+)" + _VALUE[kind], re.I)
    return re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+or\s+)" + _VALUE[kind].replace("?P<value>", "?:"), re.I)


def _quote(s: Sentence, start: int, end: int) -> str:
    """The words around the value at [start, end): up to QUOTE_BEFORE words before it (where its key term is) and
    QUOTE_AFTER after, within the sentence and before any URL the parser ran into it; verbatim."""
    url = re.search(r"\s(?:https?://|www\.)", s.text[end:])
    text = s.text[: end + url.start()] if url else s.text
    before = text[:start].split(" ")
    a = len(" ".join(before[:-QUOTE_BEFORE - 1])) + 1 if len(before) > QUOTE_BEFORE + 1 else 0
    after = text[end:].split(" ")
    b = end + len(" ".join(after[: QUOTE_AFTER + 1]))
    return text[a:b].strip().rstrip(",;:")


# -------------------------------------------------------------------- models


@dataclass(eq=False)
class Model:
    name: str
    size: float | None = None  # parameters, when the model is one of several sizes
    label: str = ""  # the size as printed ("3B")
    names: set[str] = field(default_factory=set)  # ways the paper writes it
    source: Sentence | None = None  # where its size is printed
    origin: str = "main"  # main (the paper's model), table, name (a sized name it coins) or list (a size it lists)


def own_names(text: PaperText) -> list[str]:
    """The names the paper gives its own models, the main one first: names it introduces ("we introduce
    Ling-Coder-Lite"), coined words of its title as the body spells them ("MOBA" in a capitalised title, "MoBA" in
    the text), and names it gives a model ("This model, termed Llama-8B-1M-MoBA")."""
    prose = [s for s in text.sentences if s.kind in ("abstract", "body")]
    joined = "\n".join(s.text for s in prose)
    head = text.parsed.title.split(":")[0].split()
    names = []
    for s in prose:
        if _INTRO_SECTION.search(s.path):
            for m in _INTRODUCED.finditer(s.text):
                name = m.group("name").rstrip(".,")
                alone = re.match(r"\s*(?:\d[\w.]*\s*)?(?:[,(:;.]|—|$)", s.text[m.end():])  # not "Direct Preference Optimization"
                if len(name) >= 3 and (_NAMEISH.match(name) or alone) and not _COMMON.fullmatch(name):
                    names.append(name)
    for name in title_names(text.parsed.title):
        spellings = Counter(re.findall(rf"(?<![\w-]){re.escape(name)}(?![\w])", joined, re.I))
        if not spellings or len(name) < 3:
            continue
        spelling, _ = spellings.most_common(1)[0]
        if not spelling[:1].isupper():
            continue
        if _NAMEISH.match(spelling):
            names.append(spelling)
        else:  # a plain word ("Granite") names the model when used on its own, not as
            alone = re.findall(rf"(?<![\w-]){re.escape(spelling)}(?!\w)(?!\s+{re.escape(head[1] if len(head) > 1 else '~')})", joined)
            if len(alone) >= 3:  # the first word of the title's phrase ("Direct Preference Optimization")
                names.append(spelling)
    termed = (m.group("name").rstrip(".,") for s in prose for m in _TERMED.finditer(s.text))
    names += [name for name in termed if _NAMEISH.match(name)]
    return list(dict.fromkeys(names))


_SUFFIXES = r"(?:-(?:Base|Instruct|Chat|Preview|IT))*"


def own_pattern(own: list[str]) -> re.Pattern:
    """The paper's own names as written, with a variant suffix ("Kimina-Prover-Preview", "Step-Audio-Chat"), not
    as part of another name ("DeepSeek-V2-Lite" is not DeepSeek-V2)."""
    if not own:
        return re.compile(r"(?!)")
    names = "|".join(re.escape(n) for n in sorted(own, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{names}){_SUFFIXES}(?![\w-])")


def _size_of(label: str) -> float | None:
    m = re.search(rf"(?<![\w.]){_SIZE_TOKEN}(?![\w])", label, re.I)
    return parse_number(m.group(0)) if m else None


def sized_names(text: PaperText, own: list[str]) -> dict[str, list[str]]:
    """Sized names the paper coins for its own models, grouped by the name without a variant suffix:
    {"Granite-3B-Code": ["Granite-3B-Code-Base", "Granite-3B-Code-Instruct"], "PaSa-7B": ["PaSa-7B"]}. A name is
    one of the paper's names with a size in it ("Qwen3-ASR-1.7B"; not "Qwen3-1.7B", the model Qwen3-ASR is built
    on), or a sized name in a sentence of the abstract or introduction that introduces the paper's models."""
    prefixes = [n.split("-") for n in own]
    counts: Counter[str] = Counter()
    early: set[str] = set()
    for s in text.sentences:
        if s.kind not in ("abstract", "body", "caption"):
            continue
        introducing = _INTRO_SECTION.search(s.path) and _INTRODUCED.search(s.text)
        for m in _HYPHENATED.finditer(s.text):
            name = m.group(1).rstrip(".")
            parts = name.split("-")
            words = [p for p in parts if not re.fullmatch(_SIZE_TOKEN, p, re.I)]
            if len(parts) - len(words) != 1:
                continue
            if any(words[: len(p)] == p and parts[: len(p)] == p for p in prefixes) or introducing:
                counts[name] += 1
                early |= {name} if introducing or s.kind == "abstract" else set()
    groups: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}  # "pasa-7b" -> "PaSa-7B": one model however its case is written
    for name, n in counts.most_common():
        if n >= 2 or name in early:
            group = _VARIANT_SUFFIX.sub("", name)
            groups.setdefault(spelled.setdefault(group.lower(), group), []).append(name)
    return groups


def listed_sizes(text: PaperText, own: re.Pattern) -> list[tuple[str, Sentence]]:
    """Sizes the paper lists for its models in one sentence: "distilled versions with 1.5B and 7B parameters of
    Kimina-Prover", "four different sizes (3B, 8B, 20B, and 34B)" (not the sizes of another paper's models)."""
    out = []
    for s in text.sentences:
        if s.kind not in ("abstract", "body") or _away(s) or not _SIZES_CUE.search(s.text) or _COMPARED.search(s.text):
            continue
        for m in _SIZE_LIST.finditer(s.text):
            if (own.search(s.text) or _FIRST_PERSON.search(s.text)) and not _foreign(s.text[max(0, m.start() - 60):m.start()], own):
                out += [(label, s) for label in re.findall(_SIZE_TOKEN, m.group(0), re.I)]
    return out


def _mentioned(clause: str, models: list[Model]) -> list[Model]:
    """The models a clause names, by one of their names or by their size ("The 3B model", "3-billion parameter")."""
    out = [m for m in models if any(re.search(rf"(?<![\w-]){re.escape(n)}{_SUFFIXES}(?![\w-])", clause) for n in m.names)]
    sized = [m for m in models if m.size and m not in out]
    for hit in _SIZE_MENTION.finditer(clause) if sized else ():
        before = clause[: hit.start()].rstrip().rsplit(" ", 1)[-1]
        if before and _is_model_token(before) and not any(before.startswith(n.split()[0].split("-")[0]) for m in models for n in m.names):
            continue  # "Qwen2.5 7B": another model's size
        out += [m for m in _of_size(sized, _mention_size(hit)) if m not in out]
    return out


def _last_mention(text: str, models: list[Model]) -> int:
    """Where the last mention of one of `models` in `text` ends (0: none)."""
    ends = [m.end() for model in models for n in model.names for m in re.finditer(rf"(?<![\w-]){re.escape(n)}(?![\w])", text)]
    ends += [h.end() for h in _SIZE_MENTION.finditer(text) if _of_size(models, _mention_size(h))]
    return max(ends, default=0)


def _mention_size(hit: re.Match) -> float:
    unit = (hit.group("unit") or hit.group("word") or "")[:1].lower()
    return float(hit.group("size")) * (1e9 if unit == "b" else 1e6)


@cache
def _known_names() -> frozenset[str]:
    """Words written like model names that are not models: tools and formats, fact values, datasets, benchmarks."""
    names = {n.lower() for n in NOT_MODEL_NAMES}
    names |= {n.lower() for e in gazetteer() for n in (e.name, *e.aliases)}
    return frozenset(names)


@cache
def _fact_names() -> re.Pattern:
    """Any value of a name fact ("RMSNorm", "A100"): written like model names, but not models."""
    return re.compile("|".join(f"(?:{p})" for spec in FACTS for p in spec.names.values()), re.I)


@lru_cache(maxsize=20_000)
def _is_model_token(token: str) -> bool:
    """Whether a word is written like a model's name: GPT-3, Qwen2.5-Math, LLaMA, DeepSeek-V3, fastText."""
    token = token.strip(".,:;()[]")
    if len(token) < 3 or sum(c.isalpha() for c in token) < 2 or token.lower() in _known_names():
        return False
    if _fact_names().fullmatch(token):
        return False
    digit = bool(re.search(r"\d", token)) and token[:1].isupper() and not re.fullmatch(r"[A-Z]\d+|[A-Z]{1,2}\d{1,2}", token)
    camel = bool(re.search(r"[a-z][A-Z]", token)) and len(token) >= 4
    return digit or camel


def _own_variant(token: str, own: re.Pattern) -> bool:
    """A name built on one of the paper's names ("S2ORC-SciBERT" in the S2ORC paper)."""
    parts = token.split("-")
    return any(own.fullmatch("-".join(parts[:i])) for i in range(1, len(parts)))


def _foreign_name(token: str, own: re.Pattern, models: list[Model]) -> bool:
    """Whether a word names a model that is not the paper's ("GPT-3"; not "S2ORC-SciBERT" in the S2ORC paper)."""
    return (_is_model_token(token) and not own.match(token) and not _own_variant(token, own)
            and not _mentioned(token, models))


def _foreign(clause: str, own: re.Pattern) -> bool:
    """Whether a clause names a model or work that is not the paper's ("GPT-3 with 175B", "Hash Layer (Roller et
    al., 2021) ... with 2.0B total parameters")."""
    return any(_foreign_name(m.group(1).rstrip("."), own, []) for m in _MODEL_TOKEN.finditer(clause)) or bool(
        _CITED_SUBJECT.search(clause))


# -------------------------------------------------------------------- tables


@dataclass
class _Column:
    label: str  # the model's label in the table ("3B", "PaLM 8B"; "" for a "Value" column)
    label_row: Sentence
    cells: dict[str, tuple[str, float, Sentence]] = field(default_factory=dict)  # key -> (cell, scale, row)


def _cells(row: str) -> list[str]:
    return [" ".join(c.replace("\\|", "|").split()) for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _numeric(cell: str) -> bool:
    return bool(re.match(r"^[-+]?\d[\d,.]*(?:\s?[%KMBT×x])?", cell))


def config_columns(table: Table, rows: list[Sentence]) -> list[_Column]:
    """The models of a configuration table with their fact cells, or [] when the table is not one."""
    by_text = {s.text: s for s in rows}
    grid = [(_cells(r), by_text.get(" ".join(r.split()))) for r in table.rows if not re.fullmatch(r"[|\s:-]+", r)]
    grid = [(cells, s) for cells, s in grid if s is not None and any(cells)]
    if len(grid) < 2:
        return []
    return _facts_as_rows(grid) or _facts_as_columns(grid)


def _facts_as_rows(grid: list[tuple[list[str], Sentence]]) -> list[_Column]:
    """"| Layers | 32 | 36 |": a fact per row; the first row labels the models ("| Model | 3B | 8B |")."""
    keyed = [(header_key(cells[0]), cells, s) for cells, s in grid[1:]]
    others = [cells for key, cells, _ in keyed if not key and any(_numeric(c) for c in cells[1:])]
    facts = {key for key, _, _ in keyed if key}
    if len(facts) < MIN_TABLE_FACTS or len(others) > len(facts) // 2:
        return []
    head, head_row = grid[0]
    labels = head[1:]
    if len(labels) == 1 and re.fullmatch(r"values?|settings?|configurations?|", labels[0], re.I):
        labels = [""]
    columns = [_Column(label, head_row) for label in labels]
    for key, cells, s in keyed:
        for column, cell in zip(columns, cells[1:]) if key else ():
            if cell and key not in column.cells:
                column.cells[key] = (cell, _scale(cells[0]), s)
    return [c for c in columns if c.cells]


def _facts_as_columns(grid: list[tuple[list[str], Sentence]]) -> list[_Column]:
    """"| params | dimension | n heads |": a fact per column, a model per row (headings may span several rows)."""
    first = next((i for i, (cells, _) in enumerate(grid) if sum(_numeric(c) for c in cells) >= 2), None)
    if not first:
        return []
    width = max(len(cells) for cells, _ in grid)
    heads = [" ".join(cells[i] for cells, _ in grid[:first] if i < len(cells) and cells[i]) for i in range(width)]
    keys = [header_key(h) for h in heads]
    data = grid[first:]
    others = [i for i in range(width) if not keys[i] and any(i < len(c) and _numeric(c[i]) for c, _ in data)]
    if len({k for k in keys if k}) < MIN_TABLE_FACTS or len(others) > 1:
        return []
    params = keys.index("params_total") if "params_total" in keys else None
    columns = []
    for cells, s in data:
        label = " ".join(c for i, c in enumerate(cells) if i < width and not keys[i] and c and i not in others)
        if not label and params is not None and params < len(cells):
            label = cells[params]
        column = _Column(label, s)
        for i, cell in enumerate(cells):
            if i < width and keys[i] and cell and keys[i] not in column.cells:
                column.cells[keys[i]] = (cell, _scale(heads[i]), s)
        if column.cells:
            columns.append(column)
    return columns


def _table_facts(column: _Column) -> dict[str, tuple[str, Normalized, Sentence]]:
    """A table column's facts, each cell typed by its fact's kind; a note in brackets may state another fact
    ("8 (GQA)": kv_heads 8 and attention GQA; "64 (6 activated)": 64 experts, 6 active)."""
    out: dict[str, tuple[str, Normalized, Sentence]] = {}
    for key, (cell, scale, row) in column.cells.items():
        main, note = cell, ""
        if m := _PAREN.match(cell):
            main, note = m.group("main"), m.group("note")
        spec = FACT_SPECS[key]
        normalized = normalize_fact(spec, main, scale)
        if normalized is None or (spec.kind == "name" and not re.fullmatch(r"[\w .+/-]+", main)):
            continue
        out[key] = (main, normalized, row)
        if key == "experts_total" and (active := re.fullmatch(r"(\d+)\s+(?:activated|active|selected)", note, re.I)):
            out.setdefault("experts_active", (active.group(1), int(active.group(1)), row))
        for other in _matchers().values() if note else ():
            if other.names is not None and other.spec.key not in out and other.names.fullmatch(note):
                out[other.spec.key] = (note, normalize_fact(other.spec, note), row)
    return out


# ---------------------------------------------------------------------- main


@dataclass
class _Candidate:
    value: str
    normalized: Normalized
    sentence: Sentence
    quote: str
    rank: tuple  # higher wins: tables, then sentences naming the model, then preferred wording, then earlier


def extract_facts(text: PaperText) -> list[ModelFacts]:
    """The fact sheets of the models the paper introduces (a model without facts is left out), each value's quote
    found verbatim in the paper and holding the value."""
    own = own_names(text)
    own_re = own_pattern(own)
    models, table_values = _roster(text, own, own_re)
    chosen: dict[int, dict[str, _Candidate]] = {id(m): {} for m in models}

    def offer(model: Model, key: str, candidate: _Candidate) -> None:
        best = chosen[id(model)].get(key)
        if best is None or candidate.rank > best.rank:
            chosen[id(model)][key] = candidate

    for model, facts in table_values:
        for key, (value, normalized, row) in facts.items():
            offer(model, key, _Candidate(value, normalized, row, row.text, (3,)))
    for model in models:
        if model.size and model.source is not None:
            quote = _quote(model.source, *_span(model.source.text, model.label))
            offer(model, "params_total", _Candidate(model.label, normalize_fact(FACT_SPECS["params_total"], model.label),
                                                    model.source, quote, (2,)))
    for s in text.sentences:
        asides = _own_statement(s, models, own_re)
        if asides is None:
            continue
        for matcher in _matchers().values():
            for model, value, normalized, start, end, rank in _statements(s, matcher, models, own_re, asides):
                offer(model, matcher.spec.key, _Candidate(value, normalized, s, _quote(s, start, end), rank))
    out = []
    for model in models:
        facts = {
            key: FactValue(value=c.value, normalized=c.normalized, page=_page(text, c.sentence, c.quote), quote=c.quote)
            for key in FACT_KEYS
            if (c := chosen[id(model)].get(key)) and text.has(c.quote) and contains(c.quote, c.value)
        }
        if facts:
            out.append(ModelFacts(name=model.name, facts=facts))
    return out


def _own_statement(s: Sentence, models: list[Model], own: re.Pattern) -> list[tuple[int, int]] | None:
    """None unless the sentence may state facts of the paper's models: body text outside related work and
    inference sections, about the paper's own models (first person, their names, or their design and training
    sections), not a question, a comparison, a setting tried or future work, and not in a section about another
    model. Else the spans of comparisons in brackets ("(compared to 32K for GPT-4)"), whose values do not count."""
    if s.kind not in ("abstract", "body", "appendix") or _away(s) or _ASIDE.search(s.path) or s.text.rstrip().endswith("?"):
        return None
    if formula(s.text):  # an equation read as text: its symbols are no statement, and its order is not the page's
        return None
    asides = [m.span() for m in re.finditer(r"\([^()]*\)", s.text) if _COMPARED.search(m.group(0))]
    said = re.sub(r"\([^()]*\)", lambda m: "" if _COMPARED.search(m.group(0)) else m.group(0), s.text)
    if _COMPARED.search(said) or _UNSTATED.search(said):
        return None
    if any(_is_model_token(t.group(1)) and not own.fullmatch(t.group(1)) and not _mentioned(t.group(1), models)
           for t in _MODEL_TOKEN.finditer(s.path)):
        return None  # a section about another model ("B. DeepSeek-V2-Lite: A 16B Model ...")
    if not (_FIRST_PERSON.search(s.text) or own.search(s.text) or _OWN_SECTION.search(s.path) or _mentioned(s.text, models)):
        return None
    return asides


def _statements(s: Sentence, matcher: _Matcher, models: list[Model], own: re.Pattern, asides: list[tuple[int, int]]):
    """(model, value, normalized, start, end, rank) for each statement of the fact in a sentence about the paper's
    own models (see `_own_statement`), given to the models its clause names, else to the models a sentence naming
    none is about."""
    spec = matcher.spec
    if spec.training and _NOT_TRAINING.search(s.path):
        return
    values = sentence_values(s, matcher)
    if not values:
        return
    prefer = 1 if matcher.prefer and (matcher.prefer.search(s.text) or matcher.prefer.search(s.path)) else 0
    values = [v for v in values if not any(a <= v[2] < b for a, b in asides)]  # "(compared to 32K for GPT-4)"
    main = _main(models)
    for value, normalized, start, end in values if spec.pick == "max" else values[:1]:
        clause = _clause(s.text, start)
        named = _mentioned(clause, models)
        if named and main and own.search(s.text, _last_mention(s.text[:start], named), start):
            named = [main]  # "our 1.5B and 7B models ... from the Kimina-Prover-Preview model with 72B parameters"
        before = s.text[:start]
        cited = _CITED_SUBJECT.search(before)
        if (cited and not _REUSED.search(before[: cited.start()])) or (
            not named and _last_named_foreign(before, own, models) and not own.search(clause)
        ):
            continue  # about another work ("Lin et al. (2020) ... with an additional LayerNorm", "GPT-3 with 175B")
        if spec.named and not (named or own.search(clause)):
            continue
        if spec.named and _last_named_foreign(s.text[max(0, start - 60):start], own, models):
            continue  # "As a final stress test for LoRA, we scale up to GPT-3 with 175 billion parameters"
        if spec.key == "params_total" and _in_list(s.text, start):
            continue  # "ranging from 7B to 65B parameters": several models
        others = {round(_mention_size(h) / 1e8) for h in _SIZE_MENTION.finditer(s.text)
                  if not h.start() <= start < h.end() and not _of_size(models, _mention_size(h))}
        if len(others) > 1:
            continue  # "14T tokens for Gemma 3 27B, 12T for the 12B version": per-size values of models not listed
        size = float(normalized) if spec.pick == "max" and not isinstance(normalized, str) else 0.0
        specific = 1 if any(m.size for m in named) else 0  # names one size of several (naming the main model is not news)
        rank = (1, specific, prefer, size, -1 if s.kind == "appendix" else 0, -s.order)
        sized = [m for m in _mentioned(s.path, models) if m.size]  # a section about one size ("Scaling up to ... 16B")
        for model in named or sized or _generic_targets(s.text, models):
            if spec.key == "params_total" and model.size:
                continue  # a sized model's size is its name's
            yield model, value, normalized, start, end, rank


def _page(text: PaperText, s: Sentence, quote: str) -> int:
    """The page a quote starts on: a sentence's page is where it starts, and a quote from its end may be on the next."""
    if s.kind not in ("body", "appendix") or quote.startswith(s.text[:40]):
        return s.page
    words = quote.split()[:8]
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    for section in text.parsed.sections:
        if section.heading == s.section and section.page_start <= s.page <= section.page_end:
            if m := pattern.search(section.text):
                return page_of(section, m.start())
    return s.page


def _generic_targets(sentence: str, models: list[Model]) -> list[Model]:
    """The models a sentence that names none of them is about: the main model; else every model of the paper's
    configuration table or sized names (the models of sizes it merely lists only where it says "all models");
    none where it speaks of some of them ("the MoE models")."""
    if main := _main(models):
        return [main]
    if _SUBSET.search(sentence):
        return []
    every = bool(_EVERY.search(sentence))
    return [m for m in models if m.origin != "list" or every]


def _clause(sentence: str, at: int) -> str:
    """The clause of a sentence holding position `at` (split at semicolons and "while", "whereas", "but")."""
    start = 0
    for m in _CLAUSE.finditer(sentence):
        if m.start() >= at:
            return sentence[start:m.start()]
        start = m.end()
    return sentence[start:]


def _away(s: Sentence) -> bool:
    """Related work, limitations and the like (a "Conclusion and Limitations" section still restates the model)."""
    return bool(_AWAY.search(s.path)) and not re.search(r"conclusion", s.section, re.I)


def _in_list(sentence: str, start: int) -> bool:
    """Whether the size at `start` is one of a list or range of sizes ("7B to 65B parameters", "from 1 to 27
    billion parameters": several models)."""
    return any(m.start() <= start < m.end() for m in _SIZE_LIST.finditer(sentence)) or bool(
        re.search(r"\d(?:\.\d+)?\s?[BM]?\s*(?:to|and|-|–)\s*$", sentence[max(0, start - 15):start])
    )


def _last_named_foreign(before: str, own: re.Pattern, models: list[Model]) -> bool:
    """Whether the last model named before a value is another paper's ("... LoRA, we scale up to GPT-3 with")."""
    names = [(m.start(), m.group(1).rstrip(".")) for m in _MODEL_TOKEN.finditer(before)
             if _is_model_token(m.group(1)) and not _REUSED.search(before[: m.start()])]
    names += [(m.start(), m.group(0)) for m in own.finditer(before)]
    if not names:
        return False
    return _foreign_name(max(names)[1], own, models)


def _span(text: str, needle: str) -> tuple[int, int]:
    at = text.find(needle)
    return (at, at + len(needle)) if at >= 0 else (0, len(text))


def _roster(text: PaperText, own: list[str], own_re: re.Pattern) -> tuple[list[Model], list[tuple[Model, dict]]]:
    """The models the paper introduces, and the facts its configuration tables give each."""
    models: list[Model] = []
    for group, variants in sized_names(text, own).items():
        label = next(p for p in group.split("-") if re.fullmatch(_SIZE_TOKEN, p, re.I))
        model = Model(group, parse_number(label), label, {group, *variants}, origin="name")
        model.source = _first_use(text, model)
        models.append(model)
    family = own[0] if own else ""
    for label, s in listed_sizes(text, own_re):
        size = parse_number(label)
        if not _of_size(models, size):
            name = f"{family} {label}".strip()
            models.append(Model(name, size, label, {name} if family else set(), s, origin="list"))
    table_values = []
    for table in text.parsed.tables:
        for column in config_columns(table, text.table_rows(table)):
            facts = _table_facts(column)
            model = _table_model(column, facts, models, family) if facts else None
            if model is not None:
                if model not in models:
                    models.append(model)
                table_values.append((model, facts))
    main = _main_model(text, own, own_re, models)
    return ([main] if main else []) + models, table_values


def _first_use(text: PaperText, model: Model) -> Sentence | None:
    """The first sentence that names a sized model, preferring ones about size."""
    uses = [s for s in text.sentences if s.kind in ("abstract", "body") and any(n in s.text for n in model.names)]
    about_size = [s for s in uses if re.search(r"param|size", s.text, re.I)]
    return (about_size or uses or [None])[0]


def _table_model(column: _Column, facts: dict, models: list[Model], family: str) -> Model | None:
    """The model a table column describes: a sized model already known, a new one labelled by its size (named
    with the paper's name), the paper's single model ("| Parameter | Value |"), or None for another paper's model."""
    label = column.label
    size = _size_of(label) or (facts["params_total"][1] if "params_total" in facts else None)
    if not label:
        return _main(models) or _add_main(models, family)
    if not size or not (re.fullmatch(rf"{_SIZE_TOKEN}|[\d.]+", label, re.I) or (family and label.startswith(family))):
        named = [m for m in models if label in m.names or label == m.name]
        return named[0] if named else None
    same = _of_size(models, float(size))
    if len(same) == 1:
        same[0].origin = "table" if same[0].origin == "list" else same[0].origin
        return same[0]
    printed = re.search(_SIZE_TOKEN, label, re.I)
    name = label if not family or label.startswith(family) else f"{family} {label}"
    names = ({label} if printed else set()) | ({name} if family else set())
    return Model(name, float(size), printed.group(0) if printed else "", names, column.label_row if printed else None,
                 origin="table")


def _add_main(models: list[Model], family: str) -> Model:
    model = Model(family or "model", names={family} if family else set())
    models.append(model)
    return model


def _describes_model(text: PaperText, own: list[str], own_re: re.Pattern) -> bool:
    """Whether the paper calls one of its names a model ("Codex, a GPT language model", "InternLM is a large
    language model", "the Ling-Coder-Lite and Ling-Coder-Lite-Base models", "This model, termed ...")."""
    head = rf"(?:\s+(?!(?:which|that|to|for|of|on|in|with|from|by|is|are)\b)[\w,.-]+){{0,5}}?\s+{_MODEL_NOUN}\b"
    phrase = re.compile(
        rf"(?:{own_re.pattern})(?:\s+[\w.]+)?(?:\s*,\s*|\s+(?:is|was|as)\s+)(?:an?|the|our)\b{head}"
        rf"|(?:{own_re.pattern}){head}"
    )
    return any(phrase.search(s.text) or _TERMED.search(s.text) for s in text.sentences if s.kind in ("abstract", "body"))


def _main_model(text: PaperText, own: list[str], own_re: re.Pattern, models: list[Model]) -> Model | None:
    """The paper's main model: the only one when no sizes are given; beside sized ones, only when a sentence gives
    it a size larger than theirs, its name coming shortly before the size ("the Kimina-Prover-Preview model with 72B
    parameters", beside the 1.5B and 7B distilled versions) or the sentence naming none of them."""
    if _main(models) is not None:
        return None
    if not own or not _describes_model(text, own, own_re):
        return None  # a method, data set or survey paper: no model of its own to describe
    name = own[0]
    if not models:
        return Model(name, names=set(own))
    largest = max(m.size or 0 for m in models)
    matcher = _matchers()["params_total"]
    for s in text.sentences:
        if s.kind not in ("abstract", "body") or _away(s):
            continue
        for _, size, start, _ in sentence_values(s, matcher):
            near = own_re.search(s.text[max(0, start - 60):start])
            alone = own_re.search(s.text) and not _mentioned(s.text, models)
            bigger = size > largest and not _of_size(models, size)
            if bigger and not _in_list(s.text, start) and (near or alone):
                return Model(name, names=set(own))
    return None


# ------------------------------------------------------------ quotes for a reader


def fact_quotes(text: PaperText, keys: Iterable[str], per_key: int) -> list[Evidence]:
    """Quotes that may state the facts `keys`, for a reader that tells which model each is about: every row of
    the paper's configuration tables, then for each key the words around a value (see `_quote`) in up to `per_key`
    sentences of the abstract, body or appendix its patterns match, whichever model they are about; verbatim, on their pages."""
    quotes = [row.evidence() for table in text.parsed.tables
              if config_columns(table, rows := text.table_rows(table)) for row in rows]
    for key in keys:
        matcher = _matchers()[key]
        stated = ((s, values[0]) for s in text.sentences
                  if s.kind in ("abstract", "body", "appendix") and not _away(s) and (values := sentence_values(s, matcher)))
        for s, (_, _, start, end) in islice(stated, per_key):
            quote = _quote(s, start, end)
            quotes.append(Evidence(page=_page(text, s, quote), section=s.section, quote=quote))
    return quotes
