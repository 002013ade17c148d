"""The paper's own code and model links, told apart from the tools and models it cites.

Each repository or model-hub link (from link annotations and URLs printed in the text) is scored on cues a reader
uses: a release phrase next to it ("code is available at", "we release"), an early page (title block, abstract or
page-1 footnote), a repository name that echoes the title, and against: appearing only in the references, a usage
phrase ("we used the implementation at"), or a link to one commit or file rather than a repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from digest.models import FieldValue, ParsedPaper

from .evidence import PaperText, Sentence

CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")
MODEL_HOSTS = ("huggingface.co", "hf.co", "modelscope.cn")
_NOT_MODELS = {"datasets", "spaces", "docs", "blog", "papers", "learn", "transformers", "models", "organization", "collections", "tasks"}
_NOT_REPOS = {"orgs", "topics", "sponsors", "features", "about", "en", "marketplace", "settings"}
OWN_THRESHOLD = 3.0

_URL = re.compile(
    r"(?:https?\s*:\s*/\s*/\s*)?(?:www\.)?(github\s*\.\s*com|gitlab\s*\.\s*com|bitbucket\s*\.\s*org|huggingface\s*\.\s*co|hf\s*\.\s*co"
    r"|modelscope\s*\.\s*cn)\s*/\s*([\w.-]+(?:\s*/\s*[\w.-]+)*(?:/\s*[\w.-]+)?)",
    re.I,
)
# First-person release phrases, and labels such as "Code:" printed before the link.
_STRONG = re.compile(
    r"\bour\s+(?:[\w-]+\s+){0,3}(?:code|codes|implementation|models?|weights|checkpoints|data|dataset|repository|package|toolkit|framework)\b"
    r"|\bwe\s+(?:also\s+)?(?:publicly\s+)?(?:release|open-?source|make[^.]{0,30}available|provide)"
    r"|\b(?:code|codes|implementations?|(?:pre-?trained\s+)?models?|weights|checkpoints|repository)\b[^.]{0,60}"
    r"\b(?:is|are|has\s+been|have\s+been|can\s+be)\s+(?:now\s+|publicly\s+|freely\s+|also\s+)?"
    r"(?:available|released|open-?sourced|built|created|accessed|downloaded|found)"
    r"|(?<![a-z])(?:code|github|project\s+page|repository|models?|weights)\s*:",
    re.I,
)
_WEAK = re.compile(r"can\s+be\s+(?:found|accessed|downloaded)\s+(?:at|in|from|here)|accessible\s+(?:here|at)|available\s+(?:at|on|online|here)|open-?source[ds]?\b", re.I)
_USAGE = re.compile(
    r"\bwe\s+(?:used|use|adopt|adopted|employ|employed|follow|followed|utilize|utilized)\b|implementation\s+(?:of|from)\b"
    r"|\bbased\s+on\b|\bprovided\s+by\b|\bconcurrent\s+work|\boriginal\s+implementation|\bet\s+al\.",
    re.I,
)
_DEEP_LINK = re.compile(r"/(?:commit|commits|issues|pull|discussions|releases|compare|wiki)(?:/|$)|/blob/.+\.\w+$", re.I)
_TITLE_STOP = set(
    "a an and the of on for in to with via from by at is are as its towards toward through using use new our your "
    "language languages model models large llm llms learning deep neural network networks training trained "
    "technical report paper open efficient scaling scalable foundation study approach method methods toolkit "
    "code data src source main master repo github com official release".split()
)
_SIZE = re.compile(r"^\d+(?:\.\d+)?[bmkt]$")


@dataclass
class _Candidate:
    url: str  # canonical: https://host/owner[/name]
    kind: str  # code | model
    page: int
    sentence: Sentence | None  # the sentence that prints or anchors it (for a front-matter link: its printed text)
    where: str  # body | front (title block, outside the parsed text) | elsewhere (references, unplaced)
    deep: bool
    score: float = 0.0


def find_links(parsed: ParsedPaper, text: PaperText) -> dict[str, FieldValue]:
    """`code_url` and `model_url`: the best-scoring own link of each kind, with the sentence that shows it."""
    title_tokens = _tokens(parsed.title)
    candidates = list(_candidates(parsed, text))
    by_url: dict[str, _Candidate] = {}
    for cand in candidates:
        if any(o.sentence == cand.sentence and len(o.url) > len(cand.url) and o.url.startswith(cand.url) for o in candidates):
            continue  # a URL cut at a line break: "github.com/openai/grade-"
        cand.score = _score(cand, title_tokens)
        best = by_url.get(cand.url)
        if best is None or (cand.score, -cand.page) > (best.score, -best.page):
            by_url[cand.url] = cand
    out = {}
    for kind, key in (("code", "code_url"), ("model", "model_url")):
        ranked = sorted((c for c in by_url.values() if c.kind == kind), key=lambda c: (-c.score, c.page))
        own = next((c for c in ranked if c.score >= OWN_THRESHOLD and c.sentence), None)
        out[key] = FieldValue(value=own.url, evidence=[own.sentence.evidence()]) if own else FieldValue()
    return out


def canonical(url: str) -> tuple[str, str, bool] | None:
    """(canonical URL, code|model, is a deep link) for a repository or model page, else None."""
    url = re.sub(r"\s+", "", url).rstrip(".,;:)]}'\"")
    if not re.match(r"https?://", url, re.I):
        url = "https://" + url
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    deep = bool(_DEEP_LINK.search(parts.path))
    if host in CODE_HOSTS:
        if len(segments) < 2 or segments[0].lower() in _NOT_REPOS:
            return None
        name = segments[1].removesuffix(".git")
        return f"https://{host}/{segments[0]}/{name}", "code", deep
    if host in MODEL_HOSTS:
        if host == "modelscope.cn" and segments[:1] in (["organization"], ["models"]):
            segments = segments[1:]
        if segments[:1] == ["collections"] and len(segments) >= 3:  # a collection of the paper's model family
            return f"https://{host}/{'/'.join(segments[:3])}", "model", deep
        if not segments or segments[0].lower() in _NOT_MODELS:
            return None
        return f"https://{host}/{'/'.join(segments[:2])}", "model", deep
    return None


def _candidates(parsed: ParsedPaper, text: PaperText):
    """Every repository/model link with the sentence that prints or anchors it."""
    sentences = [s for s in text.sentences if s.kind not in ("title", "table")]
    squashed = [re.sub(r"\s+", "", s.text).lower() for s in sentences]
    references = re.sub(r"\s+", "", parsed.references).lower()

    def locate(url: str, page: int, anchor: str) -> Sentence | None:
        path = re.sub(r"^https?://(www\.)?", "", url.lower())
        for key in (path, path.split("/tree/")[0].split("/blob/")[0]):
            hits = [i for i, sq in enumerate(squashed) if key in sq]
            if hits:
                return sentences[min(hits, key=lambda i: (sentences[i].page != page, i))]
        anchor_key = re.sub(r"\s+", "", anchor).lower()
        if len(anchor_key) >= 4:
            for i, sq in enumerate(squashed):
                if sentences[i].page == page and anchor_key in sq:
                    return sentences[i]
        return None

    for link in parsed.links:
        found = canonical(link.uri)
        if not found:
            continue
        sentence = locate(link.uri, link.page, link.text)
        if sentence:
            yield _Candidate(found[0], found[1], link.page, sentence, "body", found[2])
        elif link.page <= 2 and re.sub(r"^https?://(www\.)?", "", link.uri.lower()).rstrip("/") not in references:
            printed = Sentence(" ".join(link.text.split()), link.page, "Front matter", "Front matter", "link", -1)
            yield _Candidate(found[0], found[1], link.page, printed, "front", found[2])
        else:
            yield _Candidate(found[0], found[1], link.page, None, "elsewhere", found[2])
    for sentence in sentences:
        for m in _URL.finditer(re.sub(r"(?<=[\w.])-\s+(?=[\w])", "-", sentence.text)):
            found = canonical(m.group(0))
            if found:
                yield _Candidate(found[0], found[1], sentence.page, sentence, "body", found[2])


def _score(c: _Candidate, title_tokens: set[str]) -> float:
    if c.where == "elsewhere":
        return -5.0
    context = c.sentence.text if c.where == "body" else ""
    score = 0.0
    if _STRONG.search(context):
        score += 3
    elif _WEAK.search(context):
        score += 2
        score -= 2 if _USAGE.search(context) else 0
    elif _USAGE.search(context):
        score -= 2
    if c.page <= 2:
        score += 3 if c.where == "front" else 2  # a link in the title block, outside the text, is the paper's own
    segments = urlsplit(c.url).path.split("/")[1:]
    owner_tokens = _tokens(segments[0])
    name_tokens = _tokens(" ".join(segments[1:])) if len(segments) > 1 else owner_tokens  # huggingface.co/mistralai
    overlap = _overlap(name_tokens, title_tokens)
    if overlap:
        score += min(2.0, float(overlap)) + (1 if any(re.search(r"\d", t) and _overlap({t}, title_tokens) for t in name_tokens) else 0)
    else:
        score += 0.5 * min(1, _overlap(owner_tokens, title_tokens))
    related = overlap or _overlap(owner_tokens, title_tokens)
    if related and any(re.search(r"\d", t) and not _SIZE.match(t) and not _overlap({t}, title_tokens) for t in name_tokens):
        score -= 2  # names another version or model: DeepSeek-Math-V2 in the DeepSeek-V3.2 paper
    if c.deep:
        score -= 3
    return score


def _tokens(text: str) -> set[str]:
    words = re.findall(r"[a-z]+\d*(?:\.\d+)*|\d+(?:\.\d+)*[a-z]*", text.lower().replace("_", " "))
    return {w for w in words if w not in _TITLE_STOP and (len(w) >= 3 or re.search(r"\d", w))}


def _overlap(repo: set[str], title: set[str]) -> int:
    """How many repository tokens the title shares (one a prefix of the other counts: minicpm ~ minicpm4)."""
    return sum(1 for r in repo if any(r == t or (min(len(r), len(t)) >= 4 and (t.startswith(r) or r.startswith(t))) for t in title))
