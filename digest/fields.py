"""The survey's fields, one row each: the single table the sheet, the extractive and LLM backends and the exporters
read (key, labels, value kind, sheet order, the question, evidence cues and sections, prompt template).

A custom column is one more row of the same type: a name (key and labels), a question, a kind (number, text, list,
yes/no) and an optional unit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Literal

Kind = Literal["url", "text", "list", "number", "yes/no"]
FactKind = Literal["count", "size", "rate", "name", "text"]


@dataclass(frozen=True)
class FieldSpec:
    """One column of the survey sheet."""

    key: str
    zh: str  # label in Chinese
    en: str  # label in English
    kind: Kind
    order: int  # position in the survey template (论文地址, git地址, 论文简介, 模型地址, ...)
    question: str  # what the field asks of a paper
    cues: str = ""  # regex: words that mark a sentence as evidence for the field
    sections: str = ""  # regex: headings where such sentences live
    prompt: str | None = None  # the LLM prompt template (digest/prompts/<prompt>.md); None: filled extractively only
    unit: str = ""  # a number's unit (custom columns)
    named: bool = False  # list items must be names written in the paper (not models or methods)
    aspects: dict[str, str] = field(default_factory=dict)  # prose fields: aspect -> cue; the best sentence of each first
    components: str = ""  # regex: headings whose sub-headings name the parts (architecture, training stages)
    design: str = ""  # regex: verbs by which the paper states its own choices for the field ("we adopt …")
    max_sentences: int = 0  # prose fields: at most this many sentences
    statements: bool = False  # the sheet shows the value one statement a line, each with its own quote

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("paper_url", "论文地址", "Paper URL", "url", 0, "Where is the paper?"),
    FieldSpec("code_url", "git地址", "Code URL", "url", 1, "Where is the paper's own code repository?"),
    FieldSpec("model_url", "模型地址", "Model URL", "url", 3, "Where are the paper's own model weights (Hugging Face, ModelScope)?"),
    FieldSpec(
        "summary", "论文简介", "Summary", "text", 2, "What does the paper contribute and show?",
        cues=r"we (propose|present|introduce|show)|our (contribution|approach|method|model)s?|in this (paper|work)",
        sections=r"^abstract$|introduction|conclusion", prompt="summary", max_sentences=4,
        aspects={
            "contribution": r"\bwe\s+(?:introduce|present|propose|release|develop|describe|train|build)\b|\bin\s+this\s+(?:paper|work|report)\b|\bthis\s+(?:paper|work|report)\s+(?:introduces|presents|proposes)",
            "result": r"\boutperform\w*|\bstate[- ]of[- ]the[- ]art\b|\bachiev\w*|\bsurpass\w*|\bmatch\w*|\bcompetitive\b|\bbetter\b",
            "release": r"\b(?:release|open-?sourc\w*|publicly\s+available|available\s+at)\b",
        },
    ),
    FieldSpec(
        "datasets", "所用数据集", "Datasets", "list", 4, "Which named corpora and data sets does the paper train or tune on?",
        cues=r"datasets?|corpus|corpora|training data|pre-?training data|tokens|mixture|collected|sampled",
        sections=r"data", prompt="datasets", named=True,
    ),
    FieldSpec(
        "architecture", "算法结构", "Architecture", "text", 5, "What is the model's architecture (named components)?",
        cues=r"architecture|layers?|attention|transformer|encoder|decoder|hidden|heads|embedding|normali[sz]ation|activation|experts?",
        sections=r"architect|\bmodel\b|approach|method|design|attention|layer|transformer|\bmoe\b|expert|tokeni", prompt="architecture", max_sentences=8, statements=True,
        components=r"architect|model\s+(?:design|structure)|^model$",
        design=r"use[sd]?|adopt\w*|employ\w*|introduc\w*|propos\w*|design\w*|appl(?:y|ies|ied)|build|built|incorporat\w*|replac\w*|add\w*|follow\w*",
        aspects={
            "backbone": r"\b(?:transformer|decoder-only|encoder-decoder|encoder\s+and\s+decoder|autoregressive|mixture-of-experts|dense\s+model)\b",
            "attention": r"(?:multi-head|multi-query|grouped-query|sliding[- ]window|latent|dot-product|sparse|linear|self-)\s*attention|\b(?:GQA|MQA|MLA|SWA|NSA)\b",
            "heads": r"\battention\s+heads?\b|\bheads?\b.*\bdimension|\bquery\s+heads?\b|\bkey-value\b",
            "norm": r"RMSNorm|LayerNorm|layer\s+normali[sz]ation|pre-?normali[sz]ation|QK-?norm|residual",
            "ffn": r"SwiGLU|GeGLU|GeLU|ReLU|feed-?forward|\bFFN\b|position-wise|activation\s+function",
            "position": r"rotary|\bRoPE\b|positional\s+(?:encoding|embedding)|ALiBi|position\s+embedding",
            "experts": r"\bexperts?\b|\brout(?:er|ing)\b|load\s+balanc|auxiliary[- ]loss|\bMoE\b",
            "size": r"\b\d+(?:\.\d+)?\s?[BM]\b[^.]{0,40}param|\b\d+\s+layers\b|hidden\s+(?:size|dimension)|d_?model|\bdimension(?:ality)?\s+of\b|total\s+parameters|activated",
            "context": r"context\s+(?:length|window)|sequence\s+length|\bcache\b|\bwindow\s+size\b",
            "tokenizer": r"tokeni[sz]er|vocabulary|byte-level|\bBPE\b|SentencePiece",
            "extra": r"multi-token\s+prediction|\bMTP\b|speculative|weight\s+tying|embedding",
        },
    ),
    FieldSpec(
        "training", "训练方法", "Training method", "text", 6, "How is the model trained (stages, optimizer, schedule, hardware)?",
        cues=r"optimi[sz]er|adam|learning rate|batch size|warm-?up|schedule|steps|epochs|gpus?|tpu|fine-?tun|reward|reinforcement",
        sections=r"train|optimi[sz]|hyper-?param|fine-?tun|\bsft\b|reinforcement|\brl\b|rlhf|alignment|infrastructure|schedule|hardware|implementation|distill|setup|reward|preference|regulari", prompt="training", max_sentences=9, statements=True,
        components=r"^(?:model\s+)?(?:pre-?|post-?)?training\b|\btraining\s+(?:details|setup|procedure|recipe|methods?|strategy)$"
        r"|^(?:supervised\s+)?fine-?tuning|^alignment|^infrastructures?$|^optimi[sz]ation$",
        design=r"use[sd]?|adopt\w*|employ\w*|appl(?:y|ies|ied)|train\w*|fine-?tun\w*|optimiz\w*|conduct\w*|perform\w*|initializ\w*|follow\w*|start\w*",
        aspects={
            "optimizer": r"\b(?:Adam|AdamW|Adafactor|SGD|LAMB|Muon|Lion)\b|optimi[sz]er",
            "objective": r"\bobjectives?\b|\bloss(?:es)?\b|next[- ]token\s+prediction|fill-in-(?:the-)?middle|\bFIM\b|masked\s+language\s+model\w*|teacher\s+forcing|cross-entropy",
            "schedule": r"learning\s+rate|warm-?up|cosine(?!\s+similarit)|linear\s+decay|inverse\s+square\s+root|\bschedule",
            "regularization": r"dropout|label\s+smoothing|weight\s+decay|gradient\s+clipping|\bclip\w*",
            "batch": r"batch\s+size|\btokens?\s+per\s+batch|sequence\s+length\s+of|\bepochs?\b|training\s+steps|\d\s+steps\b",
            "hardware": r"\b(?:GPUs?|TPUs?|A100|H100|H800|H20|V100|P100|TPUv\d|NPU)s?\b|accelerators?|\bclusters?\b",
            "cost": r"GPU[- ]hours|TPU[- ]hours|training\s+costs?|\bdays\b|wall-?clock|\$\s?\d",
            "precision": r"\bFP8\b|\bBF16\b|bfloat16|mixed\s+precision|FP16|quantiz",
            "parallelism": r"pipeline\s+parallel|tensor\s+parallel|data\s+parallel|expert\s+parallel|ZeRO|sharding|activation\s+checkpoint",
            "data_scale": r"\btrained\s+on\b[^.]{0,40}\btokens\b|\b\d+(?:\.\d+)?\s?[TB]\s+tokens\b|trillion\s+tokens|billion\s+tokens",
            "stages": r"supervised\s+fine-?tuning|\bSFT\b|\bRLHF\b|reinforcement\s+learning|\bRL\b|\bPPO\b|\bDPO\b|\bGRPO\b|reward\s+model|preference\s+(?:data|optimi[sz]ation|pairs)|instruction[- ](?:tuning|fine-?tuning|data)|fine-?tun\w+|distill\w*|post-?training|pre-?training\s+stage|annealing|long[- ]context\s+extension",
        },
    ),
    FieldSpec(
        "evaluation", "评估报告（多个benchmark）", "Evaluation (benchmarks)", "list", 7,
        "Which benchmarks is the model evaluated on, with what scores?",
        cues=r"benchmarks?|evaluat|accuracy|outperform|state-of-the-art|\d+-shot|pass@",
        sections=r"evaluation|results|experiments", prompt="evaluation", named=True,
    ),
    FieldSpec(
        "demo", "效果展示", "Demo / results", "list", 8, "Which examples or results does the paper show?",
        cues=r"examples?|case stud|qualitative|samples?|generated|shown in figure",
        sections=r"example|qualitative|case|analysis", prompt="demo",
    ),
)
# 效果展示's figures: a caption that presents results (with the paper's own model names and its scored tables, see
# digest/summarize/figures.py)
RESULT_CAPTION_CUES = (
    r"\bresults?\b|\bperformance\b|\bcompar(?:e|es|ed|ing|ison)\b|\bbenchmarks?\b|\bevaluat\w*|\baccuracy\b|\bscores?\b"
    r"|pass@|\bvs\.?\s|\bversus\b|\bbaselines?\b|\boutperform\w*|\bstate[- ]of[- ]the[- ]art\b"
)
SPECS: dict[str, FieldSpec] = {f.key: f for f in FIELDS}
FIELD_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)  # the order fields are computed and stored in
FIELD_LABELS: dict[str, tuple[str, str]] = {f.key: (f.zh, f.en) for f in FIELDS}
SHEET_ORDER: tuple[str, ...] = tuple(f.key for f in sorted(FIELDS, key=lambda f: f.order))  # the survey template's
LLM_FIELDS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.prompt)
LIST_FIELDS = frozenset(f.key for f in FIELDS if f.kind == "list")
NAMED_FIELDS = frozenset(f.key for f in FIELDS if f.named)


# ----------------------------------------------------------------- model facts

FACTS_FILE = files("digest").joinpath("data/facts.toml")


@dataclass(frozen=True)
class FactSpec:
    """One fact of a model's fact sheet (params_total, layers, peak_lr, ...): its labels, value kind and the cues
    that find it in tables and sentences. The table lives in digest/data/facts.toml (its header says what each
    entry means)."""

    key: str
    zh: str
    en: str
    kind: FactKind
    unit: str = ""
    header: str = ""  # regex: table labels that hold the fact
    not_header: str = ""
    patterns: tuple[str, ...] = ()  # sentence regexes; {value} is the value, {gap} a few words without digits
    context: str = ""  # regex the sentence must match too
    avoid: str = ""  # regex: sentences matching it do not count (fine-tuning tokens are not pre-training tokens)
    named: bool = False  # the sentence must name the model ("InternLM ... 104B parameters"), not only say "we"
    pick: str = ""  # "max": the largest value stated wins (a context window extended in stages)
    not_before: str = ""  # regex: words right before a value that make it something else ("selects 8 experts")
    choice: bool = False  # a design choice: sentences about alternatives tried ("such as", "rather than") do not count
    prefer: str = ""  # regex: sentences matching it win among candidates
    training: bool = False  # sentences in evaluation or inference sections do not count
    min: float | None = None
    max: float | None = None
    names: dict[str, str] = field(default_factory=dict)  # name kinds: canonical value -> regex of its spellings

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def _load_facts() -> tuple[tuple[FactSpec, ...], dict[str, str], frozenset[str]]:
    data = tomllib.loads(FACTS_FILE.read_text(encoding="utf-8"))
    specs = tuple(FactSpec(**{**entry, "patterns": tuple(entry.get("patterns", ()))}) for entry in data["fact"])
    return specs, data["sentences"], frozenset(data["not_models"]["names"])


# SENTENCE_CUES: regexes that decide whether a sentence states the paper's own facts (by name: away, compared, ...);
# NOT_MODEL_NAMES: tools, formats and terms written like model names
FACTS, SENTENCE_CUES, NOT_MODEL_NAMES = _load_facts()
FACT_SPECS: dict[str, FactSpec] = {f.key: f for f in FACTS}
FACT_KEYS: tuple[str, ...] = tuple(f.key for f in FACTS)  # the fact sheet's order
