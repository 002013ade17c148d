"""The extractive backend: every field picked out of the paper's own sentences, tables, captions and links.

Prose fields (summary, architecture, training) are sentences chosen per aspect (attention, normalization, optimizer,
schedule, hardware, ...) by cue patterns and section priors, and sentences stating the paper's own design choices
by the coined terms they name, plus the sub-headings of the section that describes the model or its training;
list fields come from the gazetteer and patterns (entities.py), links from links.py. Nothing is paraphrased: values
are quotes, so every one can be checked against the paper.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from digest.fields import FIELD_KEYS, SPECS
from digest.ids import InvalidId, parse_id
from digest.models import Evidence, FieldValue, PaperSummary, ParsedPaper
from digest.text import row_cells

from . import benchmarks, entities, facts, lineage, links
from .evidence import PaperText, Sentence, clip, formula

MIN_SCORE = 3.0
MAX_DEMOS = 6
CAPTION_CHARS = 220


MAX_COMPONENTS = 12
MIN_TRAINING_MENTIONS = 3  # a paper that says "train", "fine-tune" or "optimizer" fewer times trains nothing of its own
_TRAINS = re.compile(r"\b(?:train\w*|fine-?tun\w*|pre-?train\w*|optimi[sz]er)\b", re.I)
TRAINING_DEPTH = 2  # a training section's parts and their parts ("Pre-training > Audio-Text Interleaving")
_NOT_COMPONENT = re.compile(
    r"\bdata\b|result|evaluat|discussion|ablation|analysis|benchmark|setting|overview|inference|deploy|suggestion|future|limitation", re.I
)
_ASIDE = re.compile(r"suggestion|future|limitation|inference\s+and\s+deploy|deployment|prefill|decoding", re.I)
_ASIDE_PART = re.compile(r"inference|deploy|serving|suggestion|future|limitation", re.I)  # at the start: "Inference and Deployment"
_PROSE = re.compile(r"\b(?:the|a|an|we|is|are|was|were|of|to|with|our|this|in|for|its|on|by|as|and|that|it|from|at|be|has|have)\b", re.I)
_AWAY = re.compile(r"related\s+work|background|acknowledg|references|bibliography|limitation|broader|ethic|societal|author|contribution", re.I)
_DEMO = re.compile(
    r"\bexamples?\s+(?:of|from)\b|\bexample\s+(?:outputs?|responses?|generations?|problems?|dialog\w*|conversations?|prompts?|questions?)"
    r"|\ban\s+example\b|\bcase\s+stud|\bqualitative|\bgenerations?\s+(?:from|of|by)\b|\bsample\s+(?:outputs?|responses?|generations?)"
    r"|\bgenerated\s+(?:samples?|outputs?|text|responses?|images?|code|solutions?)|\btranscripts?\b"
    r"|\b(?:prompts?|questions?)\s+and\s+(?:the\s+)?(?:model\s+)?(?:responses?|answers?|outputs?|completions?)",
    re.I,
)
_CAPTION_START = re.compile(r"(?:Figure|Fig\.|Table)\s*[A-Z]?\d+(?:\s*[:.|]|\s+[A-Z(])")  # not prose: "Table 5 presents"
_DEMO_EVEN_IN_RESULTS = re.compile(r"\bqualitative|\bcase\s+stud|\ban\s+example\s+of|\bexamples?\s+of", re.I)
_RESULT_CAPTION = re.compile(r"\bperformance\b|\baccuracy\b|\bresults?\b|\bscores?\b|pass@|\bbenchmarks?\b|\bablation|\bcomparison\b|\bevaluations?\b", re.I)
_TASK_HEADING = re.compile(
    r"(?:parsing|translation|question\s+answering|reasoning|comprehension|summari[sz]ation|generation|classification|understanding|inference|retrieval|coding|dialogue|arithmetic|mathematics)$",
    re.I,
)
_RESULTS_SECTION = re.compile(r"results?|experiment|evaluat|benchmark", re.I)
# A sentence stating one of the paper's own choices (FieldSpec.design) counts its coined terms (FlashAttention, top-k
# gating, meta-verifier, GSPO): what the aspect cues cannot know in advance. Not when it is about evaluation, nor,
# for the architecture, about data or training.
_PARTS = r"\b(?:consists?\s+of|comprises?|composed\s+of)\b"  # "the decoder is composed of …"
_ELSEWHERE = re.compile(r"\b(?:evaluat\w*|compar(?:e|es|ed|ing|ison)|experiments?|baselines?|benchmarks?|test(?:ed|ing)?|labelers?|annotators?|participants?|ablat\w*)\b", re.I)
_NOT_ARCHITECTURE = re.compile(
    "|".join([r"\b(?:data|datasets?|corpus|corpora)\b", *SPECS["training"].aspects.values()]), re.I
)
_QUANTITY = re.compile(r"\b\d[\d,.]*(?:\s?[KMBT]\b)?\s+(?:[a-z-]+\s+)?[a-z]{3,}s\b|\b[a-z_]+\s*=\s*\d[\d,.]*")  # "82 transformer layers", "dmodel = 10240"
_COINED = re.compile(r"(?<![\w-])(?:[A-Za-z]*[a-z][A-Z][\w]*|[A-Z][A-Za-z]*[A-Z][\w]*|[A-Za-z]+(?:-[A-Za-z]+)+)(?![\w-])")


def extract(parsed: ParsedPaper, fields: Iterable[str], text: PaperText) -> PaperSummary:
    """A survey sheet for `fields`, each value backed by quotes from the paper (unvalidated: see evidence.validate_summary),
    and the fact sheets of the paper's models (validated: see facts.extract_facts)."""
    wanted = set(fields)
    out: dict[str, FieldValue] = {}
    if "paper_url" in wanted:
        out["paper_url"] = paper_url(parsed, text)
    if wanted & {"code_url", "model_url"}:
        out.update({k: v for k, v in links.find_links(parsed, text).items() if k in wanted})
    names, where, scores = [], [], []
    if wanted & {"datasets", "evaluation"}:
        mentions = entities.find_mentions(text)
        names, where = entities.evaluation_names(text, mentions)
        for heading, sentence in task_headings(text, names):
            names.append(heading)
            where.append(sentence)
    if "datasets" in wanted:
        out["datasets"] = entities.datasets_field(text, mentions, list(zip(names, where)))
    if "evaluation" in wanted:
        out["evaluation"] = FieldValue(value=names or None, evidence=[s.evidence() for s in where])
        scores = benchmarks.read_scores(text, names)
    bases = lineage.base_models(text) if wanted & {"architecture", "training"} else []
    teachers = lineage.teacher_models(text) if "architecture" in wanted else []
    for key in ("summary", "architecture", "training"):
        if key in wanted:
            out[key] = prose_field(key, text, bases, teachers)
    if "demo" in wanted:
        out["demo"] = demo_field(text)
    return PaperSummary(
        paper_id=parsed.paper_id, title=" ".join(parsed.title.split()),
        fields={k: out[k] for k in FIELD_KEYS if k in out}, benchmarks=scores, facts=facts.extract_facts(text),
        backend="extractive",
    )


def paper_url(parsed: ParsedPaper, text: PaperText) -> FieldValue:
    """The arXiv abstract page, shown by the arXiv id printed in the paper, or else by the title it was filed under.
    A local PDF that is not an arXiv paper ("local-<sha>") has none."""
    try:
        base = parse_id(parsed.paper_id).base
    except InvalidId:
        return FieldValue()
    stamp = next((s for s in text.sentences if base in s.text), None)
    quote = stamp or next((s for s in text.sentences if s.kind == "title"), None)
    if quote is None:
        return FieldValue()
    return FieldValue(value=f"https://arxiv.org/abs/{base}", evidence=[quote.evidence()])


# ------------------------------------------------------------------ prose


def prose_field(key: str, text: PaperText, bases: list[tuple[str, Sentence]],
                teachers: list[tuple[str, Sentence]] = ()) -> FieldValue:
    """The best sentence for each aspect of the field, topped up by overall score, in reading order; the
    architecture leads with the base models and the models it is distilled from (`lineage`), and training takes
    the base models' sentences."""
    profile = SPECS[key]
    if key == "training" and len(_TRAINS.findall(text.full)) < MIN_TRAINING_MENTIONS:
        return FieldValue()  # a proof, a survey of physics: no model is trained, whatever sentence would score
    own = text.own
    pool = [s for s in text.sentences if _eligible(key, s) and (key != "summary" or own.search(s.text))]
    aspects = {name: re.compile(cue, re.I) for name, cue in profile.aspects.items()}
    prior = _prior(key, text)
    design = re.compile(rf"(?:{own.pattern})[^.]{{0,60}}?\b(?:{profile.design})\b|{_PARTS}", re.I) if profile.design else None
    scored = []
    for s in pool:
        terms = {name: {m.group(0).lower() for m in cue.finditer(s.text)} for name, cue in aspects.items()}
        if design and _choice_section(s, prior) and _states_choice(key, s.text, design):
            terms["design"] = _design_terms(key, s.text)
        matched = {name for name, found in terms.items() if found}
        if not matched:
            continue
        specific = sum(min(2, len(found)) for found in terms.values())  # "grouped-query attention (GQA)" counts twice
        score = specific + _section_score(key, s, prior) - _length_penalty(s.text)
        score += 1.0 if own.search(s.text) else 0.0
        scored.append((score, s, matched, set().union(*terms.values())))
    chosen: dict[int, Sentence] = {}
    covered: set[str] = set()
    said: set[str] = set()
    while len(chosen) < profile.max_sentences:
        # greedy: a new aspect beats a new term for a covered aspect, which beats repeating what is already said
        best = max(
            ((score + (1.0 if matched - covered else 0.0 if terms - said else -1.0), s, matched, terms)
             for score, s, matched, terms in scored if s.order not in chosen),
            key=lambda c: c[0], default=None,
        )
        if best is None or best[0] < MIN_SCORE:
            break
        chosen[best[1].order] = best[1]
        covered |= best[2]
        said |= best[3]
    if key == "training":  # the sentence saying what training started from is a step of it
        chosen.update((s.order, s) for _, s in bases)
    picked = sorted(chosen.values(), key=lambda s: s.order)
    parts = component_headings(key, text)
    config = config_rows(text) if key == "architecture" else []
    based = [s for _, s in bases] if key == "architecture" else []
    taught = [s for _, s in teachers] if key == "architecture" else []
    if not picked and not parts and not based and not taught:
        return FieldValue()
    # Each heading, table row and sentence is its own evidence; the value strings them together.
    base = f"Base model: {'; '.join(name for name, _ in bases)}. " if based else ""
    base += f"Distilled from: {'; '.join(name for name, _ in teachers)}. " if taught else ""
    lead = f"Components: {'; '.join(p.text for p in parts)}. " if parts else ""
    table = f"Configuration ({config[0].section}): {'; '.join(_cells_text(r.text) for r in config)}. " if config else ""
    value = base + lead + table + " ".join(s.text for s in picked)
    return FieldValue(value=value.strip(), evidence=[s.evidence() for s in based + taught + parts + config + picked])


def _prior(key: str, text: PaperText) -> re.Pattern:
    """The headings the field's sentences are expected under; a paper with no training heading describes its
    training under its method ("3 Methodology" of PaSa, "4 Our Method" of LoRA)."""
    prior = re.compile(SPECS[key].sections, re.I)
    if key == "training" and not any(prior.search(s.path) for s in text.sentences if s.kind == "body"):
        return re.compile(rf"{SPECS[key].sections}|method|approach", re.I)
    return prior


def config_rows(text: PaperText) -> list[Sentence]:
    """Rows of a two-column table of the model's hyper-parameters ("| n_layers | 32 |"), e.g. "Table 1: Model architecture"."""
    for table in text.parsed.tables:
        if re.search(r"architect|hyper-?param|configuration|model\s+(?:size|config)", table.caption, re.I):
            rows = text.table_rows(table)
            pairs = [r for r in rows if len([c for c in row_cells(r.text) if c]) == 2 and re.search(r"\d", r.text)]
            if len(pairs) >= 3 and len(pairs) >= len(rows) - 2:
                return pairs[:16]
    return []


def _cells_text(row: str) -> str:
    return " ".join(c for c in row_cells(row) if c)


def _eligible(key: str, s: Sentence) -> bool:
    if s.kind not in ("abstract", "body", "appendix") or _AWAY.search(s.path):
        return False
    if not 40 <= len(s.text) <= 500 or s.text.count("|") > 2 or not _PROSE.search(s.text) or formula(s.text):
        return False
    if not re.match(r"[\"'“‘(•]?\s*[A-Z0-9]", s.text) or re.match(r"\d+\s+[a-z]|\S{1,3}\s+[,;=]", s.text):  # a formula's tail
        return False
    if re.match(r"[^\s=]*[(_^{][^=]{0,25}=\s", s.text):  # an equation first: "LRL(θ, φ) = Lpolicy(θ) + … where η is …"
        return False
    if re.match(r"(?:Require|Ensure|Input|Output)\s*:", s.text) or "←" in s.text:  # pseudo-code: "Require: Query, key …"
        return False
    if key == "summary":
        return s.kind == "abstract" or bool(re.search(r"introduction|conclusion", s.path, re.I))
    return True


def _section_score(key: str, s: Sentence, prior: re.Pattern) -> float:
    score = 0.0
    if prior.search(s.path) and not (key == "training" and re.search(r"\bdata\b", s.section, re.I)):
        score += 2.0
    if s.kind == "abstract":
        score += 2.0 if key == "summary" else 1.5  # the abstract states the main design and training choices
    if s.kind == "appendix":
        score -= 1.0
    if key != "summary" and _ASIDE.search(s.path):
        score -= 2.0
    if key != "summary" and _RESULTS_SECTION.search(s.section):
        score -= 1.0
    return score


def _choice_section(s: Sentence, prior: re.Pattern) -> bool:
    """The abstract, or a section of the field that is not part of the results ("4 Evaluation > 4.4 … Model")."""
    return s.kind == "abstract" or bool(prior.search(s.path) and not _RESULTS_SECTION.search(s.path))


def _design_terms(key: str, sentence: str) -> set[str]:
    """The coined terms of a design sentence, and for the architecture the sizes of its parts (the training's
    quantities, steps and tokens, have aspects of their own)."""
    terms = {m.group(0).lower() for m in _COINED.finditer(sentence)}
    return terms | {m.group(0) for m in _QUANTITY.finditer(sentence)} if key == "architecture" else terms


def _states_choice(key: str, sentence: str, design: re.Pattern) -> bool:
    """The sentence states one of the paper's own choices for the field (`design`), not about evaluation and,
    for the architecture, not about data or training."""
    if not design.search(sentence) or _ELSEWHERE.search(sentence):
        return False
    return key != "architecture" or not _NOT_ARCHITECTURE.search(sentence)


def _length_penalty(sentence: str) -> float:
    return 0.5 if len(sentence) > 350 else 0.0


def component_headings(key: str, text: PaperText) -> list[Sentence]:
    """Sub-headings of the section that describes the model (or its training): "Multi-Head Latent Attention", ...;
    a sub-heading about data or results is left out, and one about deployment, future work or the other field
    (training, architecture) with all under it."""
    pattern = SPECS[key].components
    if not pattern:
        return []
    other = re.compile(SPECS["training" if key == "architecture" else "architecture"].components, re.I)
    out, inside, level, skipped = [], False, 0, 99  # skipped: the level of a heading left out with all under it
    deepest = 99 if key == "architecture" else TRAINING_DEPTH  # training sections are broad: their parts, and theirs
    for section in text.parsed.sections:
        if section.kind != "body":
            break
        if inside and section.level > level:
            if section.level <= skipped:
                skipped = section.level if _ASIDE_PART.match(section.title) or other.search(section.title) else 99
                if skipped == 99 and section.level - level <= deepest and not _NOT_COMPONENT.search(section.title):
                    out.append(Sentence.heading(section, section.heading))
            continue
        inside = bool(re.search(pattern, section.title, re.I)) and not _NOT_COMPONENT.search(section.title)
        level, skipped = section.level, 99
    return out[:MAX_COMPONENTS]


# ----------------------------------------------------------------- demo


def demo_field(text: PaperText) -> FieldValue:
    """Examples the paper shows: captions about examples/samples/case studies, and appendix sections of them."""
    candidates = []
    for c in text.parsed.captions:
        if _CAPTION_START.match(c.text) and _DEMO.search(c.text) and (not _RESULT_CAPTION.search(c.text) or _DEMO_EVEN_IN_RESULTS.search(c.text)):
            candidates.append((c.page, clip(c.text, CAPTION_CHARS), c.label))
    for s in text.parsed.sections:
        if s.level <= 1 and (_DEMO.search(s.title) or re.search(r"^(?:examples?|samples?|generations?)\b", s.title, re.I)):
            candidates.append((s.page_start, s.heading, s.heading))
    best = sorted(candidates)[:MAX_DEMOS]
    if not best:
        return FieldValue()
    return FieldValue(
        value=[quote for _, quote, _ in best],
        evidence=[Evidence(page=page, section=where, quote=quote) for page, quote, where in best],
    )


# ------------------------------------------------------------ evaluation


def task_headings(text: PaperText, names: list[str]) -> list[tuple[str, Sentence]]:
    """Result sub-sections named after a task ("English Constituency Parsing") where no known benchmark is named.

    They stand for the evaluation when the paper names its test sets only as datasets (WSJ, newstest2014).
    """
    out = []
    top = ""
    for section in text.parsed.sections:
        if section.kind != "body":
            break
        top = section.title if section.level <= 1 else top
        if section.level > 1 and _RESULTS_SECTION.search(top) and _TASK_HEADING.search(section.title):
            if section.title.casefold() in {title.casefold() for title, _ in out}:
                continue  # "4.1.2 Commonsense reasoning" in the setup, "5.2 Commonsense Reasoning" in the results
            if not any(entities.is_benchmark_name(n) and n in section.text for n in names):
                out.append((section.title, Sentence.heading(section, top)))
    return out
