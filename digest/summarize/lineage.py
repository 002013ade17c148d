"""The models a paper's own model starts from (its base, 基座模型): "initialized from Qwen2.5-Math-7B-Instruct",
"Built on DeepSeek-V3.2-Exp-Base, we developed …", "continual pretraining based on Step-1", "Qwen3-Omni as a
foundation model".

A base is a model name (a capitalised word with a digit, an inner capital or a version: "Llama 3.1 8B",
"Whisper large-v3", "Step-1") in the slot of one of these relations, in a sentence about the paper's own work
(first person or its section) outside related work, background and discussion (experiments count: "our
experiments begin with the Llama 3.1 8B Base Model"), and not the paper's own
model. Reward models and critics initialized from a checkpoint are not the model's base.
"""

from __future__ import annotations

import re
from collections import Counter

from .evidence import PaperText, Sentence
from .facts import own_names, own_pattern

MAX_BASES = 3

_WORD = r"[A-Za-z][\w.]*(?:-[\w.]+)*"
_MORE = r"(?:\s(?:\d[\w.]*|[A-Za-z]+-v?\d[\w.]*|Base|Instruct|Chat|(?-i:X*L|Large|Small))(?![\w-]))*"  # "3.1 8B", "large-v3", "XXL"
_NAME = rf"(?P<name>{_WORD}{_MORE})"
_THE = r"(?:(?:the|a|an|our|its|their)\s+)?(?:(?:strong|open|pre-?trained|released|public)\s+)*"
_RELATIONS = [
    rf"\binitiali[sz]\w*\s+(?:[\w-]+\s+){{0,6}}?(?:from|with)\s+{_THE}{_NAME}",
    rf"\b(?:built|based)\s+(?:up)?on\s+(?:top\s+of\s+)?{_THE}{_NAME}",
    rf"\b(?:start\w*|begin\w*|began)\s+(?:\w+\s+){{0,2}}?(?:from|with)\s+{_THE}{_NAME}",
    rf"\b(?:fine-?tun\w*|post-?train\w*)\s+(?:\w+\s+){{0,2}}?from\s+{_THE}{_NAME}",
    rf"\bfine-?tun\w*\s+{_THE}{_NAME}\s+on\b",
    rf"{_NAME}(?:\s*\([^()]*\))?\s+as\s+(?:the\s+|our\s+)?student\s+models?\b",
    rf"\bcontinu\w*\s+(?:pre-?)?train\w*\s+(?:\w+\s+){{0,3}}?(?:from|of)\s+{_THE}{_NAME}",
    rf"\bextends?\s+the\s+pre-?training\s+of\s+{_THE}{_NAME}",
    rf"\bon\s+top\s+of\s+{_THE}{_NAME}",
    rf"\bcheckpoints?\s+(?:\w+\s+){{0,2}}?(?:from|of)\s+{_THE}{_NAME}",
    rf"\b(?:foundation|base|backbone)\s+model\s+(?:of\s+)?{_NAME}",
    rf"{_NAME}\s+(?:model\s+)?(?:as\s+(?:the|a|our)|is\s+used\s+as\s+the)\s+(?:\w+\s+)?(?:foundation|base|backbone|starting\s+point)",
]
_RELATION = [re.compile(r, re.I) for r in _RELATIONS]
_TEACHER_RELATIONS = [
    rf"\bdistil\w*\s+(?:\([^()]*\)\s+)?(?:\w+\s+){{0,4}}?from\s+{_THE}{_NAME}",
    rf"{_NAME}(?:\s*\([^()]*\))?\s+as\s+(?:the\s+|our\s+|a\s+)?teachers?\b",
]
_TEACHER_RELATION = [re.compile(r, re.I) for r in _TEACHER_RELATIONS]
_TEACHER_WORD = re.compile(r"distil|teacher", re.I)
_AND = re.compile(rf"(?:\s*\([^()]*\))?(?:\s*,\s*(?:and\s+)?|\s+and\s+){_THE}{_NAME}", re.I)  # a citation may come between
_NOT_OURS = re.compile(
    r"related\s+work|background|preliminar|discussion|appendix"
    r"|acknowledg|references", re.I)
_OTHER_MODEL = re.compile(r"\breward\s+models?\b|\bRMs?\b|\bcritic\b|\bteacher\b|\bjudge\b|classifi", re.I)
_NOT_A_MODEL = re.compile(  # the word after a name that says it is something else
    r"(?:\s*\[[\d,\s]+\]|\s*\([^()]*\d{4}[a-z]?\))?\s*(?:-|(?:architecture|framework|mechanism|method|algorithm|approach|technique|data(?:set)?s?|corpus|library"
    r"|toolkit|implementations?|infrastructure|tokenizer|optimizer|recipe|strategy)\b)", re.I)
_A_MODEL = re.compile(r"\b(?:models?|LLMs?|checkpoints?)\b|\d(?:\.\d+)?[BM]\b", re.I)
_SIZE = re.compile(r"[-\s]\d+(?:\.\d+)?[BMK]$")
_FIRST_PERSON = re.compile(r"\b(?:we|our|us)\b|\bthis\s+(?:work|paper|study)\b", re.I)


def base_models(text: PaperText) -> list[tuple[str, Sentence]]:
    """Up to MAX_BASES base models, the most often stated first, each as first written with the sentence it is in."""
    return _related(text, _RELATION, teachers=False)


def teacher_models(text: PaperText) -> list[tuple[str, Sentence]]:
    """Up to MAX_BASES models the paper's model is distilled from ("CoT knowledge distillation from PaLM 540B and
    GPT-3 175B"), as `base_models` gives them; never the paper's own model."""
    return _related(text, _TEACHER_RELATION, teachers=True, gate=_TEACHER_WORD)


def _related(text: PaperText, relations: list[re.Pattern], teachers: bool,
             gate: re.Pattern | None = None) -> list[tuple[str, Sentence]]:
    """The models named in one of `relations` in sentences about the paper's own work (and matching `gate`, a
    cheap test first), the most often stated first."""
    own = own_pattern(own_names(text))
    first: dict[str, tuple[str, Sentence]] = {}
    count: Counter[str] = Counter()
    for s in text.sentences:
        if (gate and not gate.search(s.text)) or not _about_own_work(s, own):
            continue
        for m in (m for relation in relations for m in relation.finditer(s.text)):
            for named in _listed(m, s.text):
                name = named.group("name").rstrip(".,;:")
                if _is_base(name, named, s.text, own, teachers):
                    first.setdefault(name.lower(), (name, s))
                    count[name.lower()] += 1
    ranked = sorted(first, key=lambda k: (-count[k], first[k][1].order))
    return [first[k] for k in ranked[:MAX_BASES]]


def _listed(m: re.Match, sentence: str) -> list[re.Match]:
    """The relation's name and the names listed after it ("from Qwen2.5-Math-1.5B-Instruct and
    Qwen2.5-Math-7B-Instruct respectively")."""
    out = [m]
    while more := _AND.match(sentence, out[-1].end("name")):
        out.append(more)
    return out


def _about_own_work(s: Sentence, own: re.Pattern) -> bool:
    """Abstract or body text outside related work, background and discussion, about a model, in first person or naming
    the paper's own model (or in the abstract)."""
    return (s.kind in ("abstract", "body") and not _NOT_OURS.search(s.path) and bool(_A_MODEL.search(s.text))
            and bool(_FIRST_PERSON.search(s.text) or own.search(s.text) or s.kind == "abstract"))


def _is_base(name: str, m: re.Match, sentence: str, own: re.Pattern, teacher: bool = False) -> bool:
    """A model's name (a capital first, and a digit or a variant's suffix: "Qwen2.5-72B", "Step-1", "Ling-Lite-Base"),
    not the paper's own model or one of its sizes, not followed by a word saying it is something else, and (unless
    a `teacher` is wanted) not what a reward model, classifier or teacher starts from."""
    return (name[:1].isupper() and len(name) >= 4 and bool(re.search(r"\d|-(?:Base|Instruct|Chat)\b", name))
            and not own.search(_SIZE.sub("", name)) and not _NOT_A_MODEL.match(sentence, m.end("name"))
            and (teacher or not _OTHER_MODEL.search(sentence[: m.start("name")])))
