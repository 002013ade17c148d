"""Which papers a question is about: the model and paper names it mentions, resolved against each paper's own.

A paper's names are read from the paper itself, never from a list: the short name before the colon of its
title ("LLaMA", "MoBA"), the title itself, title words the body writes as names (capitalised mid-sentence: "Mistral 7B",
"Qwen"), acronyms it defines ("Direct Preference Optimization (DPO)"), and the names in the abstract's
"we introduce / present / propose ..." sentences ("Mixtral 8x7B", "DeepSeek-R1"). A question goes to the
papers whose names it mentions exactly; failing that, to the papers of one model family it names
("DeepSeek-V3" for "deepseek-v3-base"); failing that, to the whole corpus.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from .models import Chunk
from .text import normalize

MAX_TITLE_NAME_WORDS = 5  # a title's part before the colon longer than this is a phrase, not a name
NAME_SHARE = 0.8  # of a word's mid-sentence uses in the body, the share written capitalised for it to be a name
MIN_NAME_USES = 3
MIN_TITLE_WORDS = 3  # a question quoting a title this long (or longer) is about that paper
MAX_FAMILY = 3  # a mention that is a prefix of more papers' names than this says too little to route by

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-]*[A-Za-z0-9+]|[A-Za-z0-9]")
_NAMELIKE = re.compile(r"(?=.*[A-Za-z])(?:.*[a-z].*[A-Z]|.*[A-Z].*\d|.*\d.*[A-Za-z]|[A-Z]{2,})")  # LLaMA, GPT-4, 7B, BERT
_INTRODUCE = re.compile(r"\b(?:we|this (?:paper|work|report))\b[^.]{0,80}?\b(?:introduc|present|propos|releas|develop|"
                        r"call|nam|dub|build|train)\w*\b([^.;]{0,60})", re.I)
_ACRONYM = re.compile(r"((?:[A-Z][\w\-]*\s+){1,6}?[A-Z][\w\-]*)\s*\(([A-Z][A-Za-z0-9\-]{1,12})\)")
_SIZE = re.compile(r"(?<=[a-z])\d+(?:\.\d+)?[bmkt]$")  # llama65b -> llama


def key(name: str) -> str:
    """A name as compared: lower case, without spaces, hyphens and underscores ("DeepSeek-V2" -> "deepseekv2")."""
    return re.sub(r"[\s\-_]+", "", name.lower())


def paper_names(chunks: Sequence[Chunk]) -> tuple[list[str], list[str]]:
    """The names a paper goes by: those of its title (strong), and those its abstract introduces or defines."""
    if not chunks:
        return [], []
    title = chunks[0].title.strip()
    abstract = " ".join(c.text for c in chunks if c.kind == "abstract")
    styled = _body_style(" ".join(c.text for c in chunks if c.kind in ("text", "abstract")))
    strong: list[str] = [title] if len(title.split()) >= MIN_TITLE_WORDS else []
    head, colon, _ = title.partition(":")
    if colon and len(head.split()) <= MAX_TITLE_NAME_WORDS:
        strong.append(head.strip())
    strong += _name_runs(_TOKEN.findall(title), styled)
    weak: list[str] = []
    for m in _INTRODUCE.finditer(abstract):
        weak += _name_runs(_TOKEN.findall(m.group(1)), styled)
    for m in _ACRONYM.finditer(f"{title}. {abstract}"):
        long, short = m.groups()
        if _initials_match(long, short):
            weak += [long, short]
    return _usable(strong), _usable(weak)


def corpus_names(papers: dict[str, Sequence[Chunk]]) -> dict[str, list[list[str]]]:
    """Each paper's [strong, weak] names, less those that are not its own: names more than MAX_FAMILY papers
    claim ("Transformer", "MoE"), names another paper uses more often ("DeepSeek-V3" in the DeepSeek-V3.2
    report, "LLM"), and plain words that many papers use in lower case ("Mixture")."""
    named = {pid: paper_names(chunks) for pid, chunks in papers.items()}
    claimed = Counter(k for strong, weak in named.values() for k in {key(n) for n in strong + weak})
    bodies = {pid: " ".join(c.text for c in chunks if c.kind in ("text", "abstract")) for pid, chunks in papers.items()}
    grams = {pid: _gram_keys(body) for pid, body in bodies.items()}
    uses = {n: {pid: grams[pid][key(n)] for pid in papers} for n in {n for s, w in named.values() for n in s + w}}
    lower = Counter(w for body in bodies.values() for w in set(re.findall(r"\b[a-z]+\b", body)))
    common = max(MAX_FAMILY, len(papers) // 10)

    def own(pid: str, name: str, strong: bool) -> bool:
        if claimed[key(name)] > MAX_FAMILY or (_plain(name) and lower[name.lower()] >= common):
            return False
        if not strong and sum(n > 0 for n in uses[name].values()) >= common:
            return False  # a name many papers use (a benchmark: "GSM8K") says which paper only in a title
        return uses[name][pid] >= max((n for q, n in uses[name].items() if q != pid), default=0)

    return {pid: [[n for n in strong if own(pid, n, True)], [n for n in weak if own(pid, n, False)]]
            for pid, (strong, weak) in named.items()}


def resolve(question: str, names: dict[str, Sequence[Sequence[str]]]) -> list[str] | None:
    """The papers `question` names: by their strong names, else their other names, else the one model family
    it names; None when it names no paper. A plain-word name ("Mistral") counts only when capitalised."""
    mentioned = mention_keys(question)
    for tier in (0, 1):
        exact = [pid for pid, tiers in names.items() if any(_mentions(question, mentioned, n) for n in tiers[tier])]
        if exact:
            return exact
    family = [pid for pid, tiers in names.items()
              if any(_of_family(question, mentioned, n) for t in tiers for n in t if len(n.split()) < MIN_TITLE_WORDS)]
    return family if 0 < len(family) <= MAX_FAMILY else None


def _mentions(question: str, mentioned: set[str], name: str) -> bool:
    if len(name.split()) >= MIN_TITLE_WORDS:  # a title: a substring test first, a pattern only where it is one
        title, asked = normalize(name), normalize(question)
        return title in asked and re.search(rf"\b{re.escape(title)}\b", asked) is not None
    if key(name) not in mentioned:
        return False
    return not _plain(name) or any(m.group()[0].isupper() for m in re.finditer(rf"\b{re.escape(name)}\b", question, re.I))


def _gram_keys(text: str) -> Counter:
    """How often each run of one to three words occurs in `text`, counted by key ("DeepSeek-V3" once as
    "deepseekv3"; "Qwen3" does not count as "Qwen")."""
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+(?:\.[0-9]+)*", text)]
    return Counter("".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1))


def _plain(name: str) -> bool:
    """A name spelt like an ordinary word ("Mistral", "Granite"), which only a capital marks as a name."""
    return name.isalpha() and name[1:].islower()


def mention_keys(question: str) -> set[str]:
    """Keys of every run of up to three Latin tokens in `question`, with and without a trailing size (65B)."""
    tokens = _TOKEN.findall(question)
    keys = set()
    for n in (1, 2, 3):
        for i in range(len(tokens) - n + 1):
            k = key("".join(tokens[i : i + n]))
            keys |= {k, _SIZE.sub("", k)}
    return {k for k in keys if len(k) >= 3 and re.search(r"[a-z]", k)}


def _body_style(body: str) -> dict[str, tuple[int, int]]:
    """For each word (lower-cased): its mid-sentence uses written capitalised, and in lower case."""
    capital: Counter = Counter()
    lower: Counter = Counter()
    for m in re.finditer(r"(?<=[a-z,;:)] )([A-Za-z][\w\-]*)", body):
        word = m.group(1)
        (capital if word[0].isupper() else lower)[word.lower()] += 1
    return {w: (capital[w], lower[w]) for w in capital.keys() | lower.keys()}


def _is_name(token: str, styled: dict[str, tuple[int, int]], shouting: bool) -> bool:
    """A technical name (inner capitals, digits, an acronym), or a word the body writes as a name. In an
    all-capitals title (`shouting`) only the body tells a name from a word."""
    if _NAMELIKE.fullmatch(token) and not (shouting and token.isupper() and token.isalpha()):
        return True
    capital, lower = styled.get(token.lower(), (0, 0))
    return token[:1].isalpha() and capital >= MIN_NAME_USES and capital >= NAME_SHARE * (capital + lower)


def _name_runs(tokens: Iterable[str], styled: dict[str, tuple[int, int]]) -> list[str]:
    """The name tokens, each also with the version or size that follows it ("Mistral 7B", "Gemma 3")."""
    out: list[str] = []
    tokens = list(tokens)
    shouting = sum(t.isupper() for t in tokens) > len(tokens) / 2
    for i, token in enumerate(tokens):
        if not _is_name(token, styled, shouting) or token[0].isdigit():
            continue
        token = token.capitalize() if shouting and token.isupper() and token.isalpha() else token
        out.append(token)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if nxt and (nxt[0].isdigit() or re.fullmatch(r"[A-Z]\d[\w.]*", nxt)):
            out.append(f"{token} {nxt}")
    return out


def _initials_match(long: str, short: str) -> bool:
    initials = "".join(w[0] for w in re.split(r"[\s\-]+", long) if w).lower()
    return initials.endswith(re.sub(r"[^a-z]", "", short.lower())[: len(initials)]) and len(short) >= 2


def _of_family(question: str, mentioned: set[str], name: str) -> bool:
    """Whether the question names the family of `name`: a mention followed in the name by a version
    ("DeepSeek" for "DeepSeek-V3"); a plain-word family ("Mistral") only when capitalised."""
    k = key(name)
    stems = [m for m in mentioned if k.startswith(m) and _continues_name(k[len(m):])]
    head = re.match(r"[A-Za-z]+", name)
    return bool(stems) and (head is None or _mentions(question, {key(head.group())}, head.group()))


def _continues_name(rest: str) -> bool:
    """What follows a family's name in a member's: a version ("3", "v2", ".5"), not nothing or other words."""
    return re.match(r"v?\.?\d", rest) is not None


def _usable(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if len(key(n)) >= 3 and re.search(r"[a-z]", key(n))))
