"""Quality of search, answers and survey fields on every gold split, with baselines measured in the same run.

    python bench/eval.py [--splits dev,more,litqa2,ours] [--parts retrieval,fusion,answers,fields,facts] [--k 5]
                         [--no-langchain] [--show] [--json OUT] [--cache bench/.cache]

Splits (gold in ../shared/eval unless named otherwise; each question is asked over the split's whole corpus):
- dev     eval/qa_dev.jsonl + eval/fields_dev.json, over the 28 + 25 LLM and NLP papers of corpus/pdf and
          corpus/more/pdf (so the dev questions meet the distractors the new papers bring);
- more    eval/more/qa_more.jsonl + eval/more/fields_more.json, same corpus (14 of its papers, gold written
          independently of the code: the best stand-in here for unseen papers);
- litqa2  eval/litqa2_dev/questions.jsonl over its 15 biology PDFs (out of domain);
- ours    bench/qa_extra.jsonl + bench/qa_holdout.jsonl (questions earlier sessions wrote) and
          bench/unanswerable.jsonl (for "does not say").

Measures, per split and language:
- retrieval recall@k by mode (dense, bm25, hybrid) and for the LangChain tutorial pipeline (PyPDFLoader ->
  RecursiveCharacterTextSplitter(1000, 200) -> the same embedder -> FAISS) built over the same PDFs. A hit is a
  top-k passage from the right paper that holds an evidence string (qa splits) or most (> half) of the words of
  the key passage (litqa2), as the shared README defines it;
- fusion: recall@k of the hybrid under each fusion (z-scores, min-max, reciprocal rank) and dense weight, and
  leave-one-split-out cross-validation of the choice;
- answers (extractive `ask`): the answer holds a gold answer; the first citation is from the right paper; the
  unanswerable questions are answered "the corpus does not say"; and the answer threshold that gets the most
  questions right over all splits, and with each split left out in turn (`threshold_study`);
- fields (extractive `summarize`): recall of the gold items per field, code/model URL right of the papers that
  state one, every dataset/benchmark name found in the paper text, own headline scores found;
- facts (model facts, `--parts facts`, dev and more): recall and precision against eval/more/facts_more.json, and
  on every split the share of quotes found on their page (see `model_facts`); PDFs are parsed directly.

Workspaces are built once under --cache and reused; a build is incremental, so after a change to parsing or
chunking only that work is redone. The LangChain stores are cached there too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, SHARED, load_questions  # noqa: E402
from digest.catalog import Catalog  # noqa: E402
from digest.files import sha256_file  # noqa: E402
from digest.text import contains, normalize  # noqa: E402

EVAL = SHARED / "eval"
LLM_PDFS = (SHARED / "corpus" / "pdf", SHARED / "corpus" / "more" / "pdf")
BIO_PDFS = (EVAL / "litqa2_dev" / "pdf",)
MODES = ("dense", "bm25", "hybrid")
TEXT_FIELDS = ("datasets", "benchmarks", "architecture", "training")
KEY_SHARE = 0.5  # a litqa2 hit holds more than this share of its key passage's words


@dataclass
class Split:
    name: str
    corpus: str  # workspace name under --cache
    pdfs: tuple[Path, ...]
    questions: list[dict] = field(default_factory=list)
    unanswerable: list[dict] = field(default_factory=list)
    fields: list[dict] = field(default_factory=list)


def splits() -> dict[str, Split]:
    bench = ROOT / "bench"
    litqa2 = [{**q, "lang": "en", "arxiv_id": q["pdf"].removesuffix(".pdf"), "answer": [q["ideal"]]}
              for q in load_questions(EVAL / "litqa2_dev" / "questions.jsonl")]
    return {
        "dev": Split("dev", "llm", LLM_PDFS, load_questions(EVAL / "qa_dev.jsonl"),
                     fields=json.loads((EVAL / "fields_dev.json").read_text())),
        "more": Split("more", "llm", LLM_PDFS, load_questions(EVAL / "more" / "qa_more.jsonl"),
                      fields=json.loads((EVAL / "more" / "fields_more.json").read_text())),
        "litqa2": Split("litqa2", "bio", BIO_PDFS, litqa2),
        "ours": Split("ours", "llm", LLM_PDFS, load_questions(bench / "qa_extra.jsonl") + load_questions(bench / "qa_holdout.jsonl"),
                      unanswerable=load_questions(bench / "unanswerable.jsonl")),
    }


# ------------------------------------------------------------------ corpora


@dataclass
class Corpus:
    """An indexed workspace over a split's PDFs, and the map from gold ids (file stems) to catalog ids."""

    settings: object
    index: object
    ids: dict[str, str]  # gold id (PDF file stem) -> catalog paper id


def open_corpus(name: str, pdfs: tuple[Path, ...], cache: Path) -> Corpus:
    from digest.corpus import add_papers
    from digest.index import Index, build_index
    from digest.settings import Settings

    settings = Settings.load(workspace=cache / name)
    files = sorted(p for folder in pdfs for p in folder.glob("*.pdf"))
    started = time.perf_counter()
    with Catalog(settings.catalog_path) as catalog:
        known = {p.sha256 for p in catalog.papers()}
        new = [p for p in files if sha256_file(p) not in known]
        if new:
            add_papers(settings, catalog, new)
        report = build_index(settings, catalog)
        by_sha = {p.sha256: p.paper_id for p in catalog.papers(status="ok")}
    if report.added or report.updated or report.failed:
        print(f"[{name}] indexed {len(report.added) + len(report.updated)} papers, {report.chunks} chunks in all, "
              f"{time.perf_counter() - started:.0f} s{'; failed: ' + str(report.failed) if report.failed else ''}")
    ids = {p.stem: by_sha[sha] for p in files if (sha := sha256_file(p)) in by_sha}
    return Corpus(settings, Index.open(settings), ids)


def langchain_store(name: str, pdfs: tuple[Path, ...], cache: Path, model_path: str):
    """The LangChain tutorial pipeline over the same PDFs (built once, then loaded)."""
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=model_path)
    folder = cache / f"langchain-{name}"
    if (folder / "index.faiss").exists():
        return FAISS.load_local(str(folder), embeddings, allow_dangerous_deserialization=True)
    import logging

    from langchain_community.document_loaders import PyPDFLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # font warnings by the hundred

    started = time.perf_counter()
    docs = [page for folder_ in pdfs for pdf in sorted(folder_.glob("*.pdf")) for page in PyPDFLoader(str(pdf)).load()]
    splits_ = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = FAISS.from_documents(splits_, embeddings)
    store.save_local(str(folder))
    print(f"[{name}] LangChain store: {len(splits_)} chunks, {time.perf_counter() - started:.0f} s")
    return store


# ---------------------------------------------------------------- retrieval

Search = Callable[[str, int], list[tuple[str, str]]]  # (question, k) -> [(gold id, passage text)]


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", normalize(text)))


def is_hit(question: dict, passages: Iterable[tuple[str, str]]) -> bool:
    """A passage from the right paper holding an evidence string, or most of the key passage's words."""
    right = [text for gid, text in passages if gid == question["arxiv_id"]]
    if "key_passage" in question:
        key = words(question["key_passage"])
        return any(len(key & words(text)) > KEY_SHARE * len(key) for text in right)
    return any(contains(text, e) for text in right for e in question["evidence"])


def recall(search: Search, questions: list[dict], k: int) -> dict:
    hits = {q["id"]: is_hit(q, search(q["question"], k)) for q in questions}
    out = {"all": _mean(hits.values()), "n": len(hits)}
    for lang in sorted({q.get("lang", "en") for q in questions}):
        out[lang] = _mean(hits[q["id"]] for q in questions if q.get("lang", "en") == lang)
    out["misses"] = [qid for qid, ok in hits.items() if not ok]
    return out


def digest_search(corpus: Corpus, mode: str) -> Search:
    gold = {v: k for k, v in corpus.ids.items()}
    return lambda q, k: [(gold.get(h.chunk.paper_id, h.chunk.paper_id), h.chunk.text)
                         for h in corpus.index.search(q, k=k, mode=mode)]


def langchain_search(store) -> Search:
    return lambda q, k: [(Path(d.metadata["source"]).stem, d.page_content) for d in store.similarity_search(q, k=k)]


# ------------------------------------------------------------------- fusion

FUSION_WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6)  # the dense share tried


def rankings(corpus: Corpus, questions: list[dict]) -> list[tuple[dict, list, list, dict]]:
    """Per question, the dense and BM25 candidates `Index.search` fuses, and which candidates are hits."""
    from digest.glossary import is_non_english, translate_terms
    from digest.index import CANDIDATES
    from digest.mentions import resolve

    index, gold = corpus.index, {v: k for k, v in corpus.ids.items()}
    out = []
    for q in questions:
        rows = index._rows(resolve(q["question"], index.meta["names"]))
        query = translate_terms(q["question"]) if is_non_english(q["question"]) else q["question"]
        dense, bm25 = index._dense(query, CANDIDATES, rows), index._bm25(query, CANDIDATES, rows)
        hit = {row: is_hit(q, [(gold.get(index.chunks[row].paper_id), index.chunks[row].text)]) for row, _ in dense + bm25}
        out.append((q, dense, bm25, hit))
    return out


def fusion_study(ranked: dict[str, list], k: int) -> dict:
    """recall@k of each fusion and dense weight per split, and leave-one-split-out: the fusion chosen on the
    other splits (mean recall), scored on the one left out."""
    from digest.index import dense_share, fuse, fuse_rrf

    variants = {"dense": lambda d, b: [r for r, _ in d], "bm25": lambda d, b: [r for r, _ in b],
                "z adaptive": lambda d, b: [r for r, _ in fuse([d, b], [dense_share(b), 1 - dense_share(b)])]}
    for w in FUSION_WEIGHTS:
        variants[f"z {w}"] = lambda d, b, w=w: [r for r, _ in fuse([d, b], [w, 1 - w])]
        variants[f"minmax {w}"] = lambda d, b, w=w: [r for r, _ in _minmax_fuse([d, b], [w, 1 - w])]
        variants[f"rrf {w}"] = lambda d, b, w=w: [r for r, _ in fuse_rrf([d, b], [w, 1 - w])]

    def score(rows, variant):
        return _mean(any(hit[r] for r in variants[variant](d, b)[:k]) for _, d, b, hit in rows)

    table = {v: {split: score(rows, v) for split, rows in ranked.items()} for v in variants}
    fused = [v for v in variants if v not in ("dense", "bm25")]
    held_out = {}
    for split in ranked:
        others = [s for s in ranked if s != split]
        best = max(fused, key=lambda v: statistics.mean(table[v][s] for s in others))
        held_out[split] = {"chosen": best, "recall": table[best][split]}
    return {"recall": table, "leave_one_split_out": held_out, "clear_lead": lead_study(ranked, k)}


def lead_study(ranked: dict[str, list], k: int) -> dict:
    """Calibrate CLEAR_LEAD: the questions where the two dense shares disagree on a top-k hit are the only ones
    the threshold decides; the chosen threshold is the midpoint of the widest gap between the BM25 leads of
    questions the normal share wins and those the clear-lead share wins (maximum margin), on all splits and with
    each split left out in turn (then scored on it)."""
    from digest.index import DENSE_WEIGHT, DENSE_WEIGHT_CLEAR, bm25_lead, fuse

    def hit(d, b, h, w):
        return any(h[r] for r, _ in fuse([d, b], [w, 1 - w])[:k])

    decisive = {split: [(round(bm25_lead(b), 3), hit(d, b, h, DENSE_WEIGHT_CLEAR), q.get("id"))
                        for q, d, b, h in rows if hit(d, b, h, DENSE_WEIGHT) != hit(d, b, h, DENSE_WEIGHT_CLEAR)]
                for split, rows in ranked.items()}

    def margin(cases):
        normal = max((lead for lead, clear, _ in cases if not clear), default=0.0)
        above = [lead for lead, clear, _ in cases if clear and lead > normal]
        return round((normal + min(above)) / 2, 3) if above else round(normal + 0.1, 3)

    def right(cases, threshold):
        return sum((lead >= threshold) == clear for lead, clear, _ in cases)

    every = [c for cases in decisive.values() for c in cases]
    held_out = {}
    for split, cases in decisive.items():
        chosen = margin([c for s, cs in decisive.items() if s != split for c in cs])
        held_out[split] = {"chosen": chosen, "right": right(cases, chosen), "decisive": len(cases)}
    return {"decisive": decisive, "chosen": margin(every), "right": right(every, margin(every)),
            "of": len(every), "leave_one_split_out": held_out}


def _minmax_fuse(rankings_: list[list[tuple[int, float]]], weights) -> list[tuple[int, float]]:
    """Weighted sum of min-max scaled scores, absent counting 0: the fusion digest used before the z-scores."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings_, weights):
        values = [v for _, v in ranking]
        low, span = min(values, default=0.0), (max(values, default=0.0) - min(values, default=0.0))
        for row, value in ranking:
            scores[row] = scores.get(row, 0.0) + weight * ((value - low) / span if span else 1.0)
    return sorted(scores.items(), key=lambda item: -item[1])


# ------------------------------------------------------------------ answers


def answers(corpus: Corpus, questions: list[dict], unanswerable: list[dict], show: bool) -> dict:
    """Extractive answers: gold answer held, first citation's paper, "does not say" on unanswerable questions.

    Each question is asked with the threshold off and its evidence strength kept (`rows`), so that what happens
    at any threshold follows without asking again (`threshold_study`); the figures are at the configured one."""
    from digest.ask import ask_turn

    threshold = corpus.settings.answer_threshold
    unlimited = corpus.settings.model_copy(update={"answer_threshold": float("-inf")})
    gold = {v: k for k, v in corpus.ids.items()}
    rows = []
    started = time.perf_counter()
    for q in questions + unanswerable:
        turn = ask_turn(q["question"], corpus.index, unlimited)
        a = turn.answer
        first = gold.get(a.citations[0].paper_id) if a.citations else None
        row = {"id": q["id"], "lang": q.get("lang", "en"), "answerable": "answer" in q, "strength": turn.strength,
               "named": a.answered,  # not refused for naming what no candidate passage mentions
               "holds": a.answered and any(contains(a.answer, g) for g in q.get("answer", [])),
               "paper": first == q.get("arxiv_id")}
        row["said"] = row["named"] and row["strength"] >= threshold
        row["contains"] = row["said"] and row["holds"]
        row["paper"] = row["said"] and row["paper"]
        rows.append(row)
        if show:
            mark = ("✓" if row["contains"] else "✗") + ("" if row["paper"] else " (other paper)") if row["answerable"] else (
                "✓ not said" if not row["said"] else "✗ said")
            print(f"  {mark} {q['id']} ({row['strength']:.3f}): {q['question']}\n      {a.answer[:240] if row['said'] else '-'}")
    good = [r for r in rows if r["answerable"]]
    out = {"contains": _mean(r["contains"] for r in good), "paper": _mean(r["paper"] for r in good), "n": len(good)}
    for lang in sorted({r["lang"] for r in good}):
        out[f"contains_{lang}"] = _mean(r["contains"] for r in good if r["lang"] == lang)
    if unanswerable:
        out["not_said"] = _mean(not r["said"] for r in rows if not r["answerable"])
    out["s_per_question"] = round((time.perf_counter() - started) / max(len(rows), 1), 2)
    out["misses"] = [r["id"] for r in good if not r["contains"]]
    out["rows"] = rows
    return out


def right_at(rows: list[dict], threshold: float) -> int:
    """How many questions are answered right at `threshold`: answerable ones holding the gold, unanswerable ones
    not answered."""
    said = lambda r: r["named"] and r["strength"] >= threshold  # noqa: E731
    return sum(said(r) and r["holds"] if r["answerable"] else not said(r) for r in rows)


def best_threshold(rows: list[dict]) -> float:
    """The answer threshold with the most questions right; of the thresholds that tie, the midpoint of the widest
    run (the largest margin to the strengths either side)."""
    cuts = sorted({r["strength"] for r in rows})
    candidates = [cuts[0] - 0.01] + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])] + [cuts[-1] + 0.01]
    scores = [right_at(rows, t) for t in candidates]
    top = max(scores)
    runs, start = [], None
    for i, score in enumerate(scores + [None]):
        if score == top and start is None:
            start = i
        elif score != top and start is not None:
            runs.append((start, i - 1))
            start = None
    first, last = max(runs, key=lambda run: candidates[run[1]] - candidates[run[0]])
    return round((candidates[first] + candidates[last]) / 2, 3)


def threshold_study(rows: dict[str, list[dict]]) -> dict:
    """The answer threshold chosen on all splits' questions, and with each split left out in turn: the chosen
    value and, on the held-out split, the share answered right at it against the share at the configured one."""
    from digest.settings import Settings

    configured = Settings().answer_threshold
    everything = [r for split in rows.values() for r in split]
    out = {"configured": configured, "chosen": best_threshold(everything), "leave_one_split_out": {}}
    for name, held in rows.items() if len(rows) > 1 else ():  # one split: nothing to leave out
        chosen = best_threshold([r for other, split in rows.items() if other != name for r in split])
        out["leave_one_split_out"][name] = {
            "chosen": chosen, "right": _ratio(right_at(held, chosen), len(held)),
            "right_configured": _ratio(right_at(held, configured), len(held)),
        }
    return out


# ------------------------------------------------------------------- fields


def haystack(summary, key: str) -> str:
    """The normalized text a gold alias is looked for in (benchmarks: the evaluation list and score table)."""
    if key == "benchmarks":
        value = summary.fields["evaluation"].value if "evaluation" in summary.fields else None
        parts = list(value or []) + [f"{b.benchmark} {b.metric} {b.setting}" for b in summary.benchmarks]
        return normalize(" | ".join(parts))
    value = summary.fields[key].value if key in summary.fields else None
    return normalize(" | ".join(value) if isinstance(value, list) else value or "")


def name_of(item: str) -> str:
    """A list item's name: "CommonCrawl (67.0%)" -> "CommonCrawl"."""
    return re.sub(r"\s*\([^()]*\)$", "", item).strip()


def url_right(value: str, expected: list[str]) -> bool:
    found = normalize(value)
    return any(normalize(e).removeprefix("https://").removeprefix("http://") in found for e in expected)


def fields(corpus: Corpus, gold: list[dict], show: bool) -> dict:
    """Extractive sheets of the gold papers against the gold items."""
    from digest.summarize import summarize_paper
    from digest.summarize.evidence import PaperText

    hit = {k: [0, 0] for k in TEXT_FIELDS}
    urls = {k: {"right": 0, "stated": 0, "given": 0, "wrong": 0} for k in ("code_url", "model_url")}
    names = [0, 0]
    scores = [0, 0]
    started = time.perf_counter()
    with Catalog(corpus.settings.catalog_path) as catalog:
        for item in gold:
            parsed = catalog.load_parse(corpus.ids[item["arxiv_id"]])
            summary = summarize_paper(parsed, corpus.settings)
            text = PaperText(parsed)
            missed = {}
            for key in TEXT_FIELDS:
                found = haystack(summary, key)
                misses = [aliases[0] for aliases in item.get(key, []) if not any(normalize(a) in found for a in aliases)]
                hit[key][0] += len(item.get(key, [])) - len(misses)
                hit[key][1] += len(item.get(key, []))
                if misses:
                    missed[key] = misses
            for key, c in urls.items():
                value = summary.fields[key].value or ""
                expected = _stated_urls(item, key, parsed)
                right = bool(value) and bool(expected) and url_right(value, expected)
                c["right"] += right
                c["stated"] += bool(expected)
                c["given"] += bool(value)
                c["wrong"] += bool(value) and not right
                if bool(value) != bool(expected) or (value and not right):
                    missed[key] = f"got {value or None}, expected {expected or None}"
            for key in ("datasets", "evaluation"):
                for entry in summary.fields[key].value or []:
                    names[0] += bool(text.names(name_of(entry)) or normalize(name_of(entry)) in text.normalized)
                    names[1] += 1
            for s in item.get("scores", []):
                scores[1] += 1
                scores[0] += any(_same_score(s, b) for b in summary.benchmarks)
            if show:
                print(f"  {item['arxiv_id']}: " + ("; ".join(f"{k} missed {v}" for k, v in missed.items()) or "all found"))
    out = {key: _ratio(*c) for key, c in hit.items()}
    out["items"] = _ratio(sum(c[0] for c in hit.values()), sum(c[1] for c in hit.values()))
    for key, c in urls.items():
        out[key] = f"{c['right']}/{c['stated']} stated, {c['wrong']} wrong"
    out["names_in_text"] = _ratio(*names)
    if scores[1]:
        out["own_scores"] = _ratio(*scores)
    out["s_per_paper"] = round((time.perf_counter() - started) / max(len(gold), 1), 2)
    return out


def _stated_urls(item: dict, key: str, parsed) -> list[str]:
    """The gold URLs that the paper itself states (text or link annotations); README-only ones are not asked for."""
    text = normalize(" ".join([parsed.full_text(), parsed.references] + [link.uri for link in parsed.links]))
    squeezed = re.sub(r"\s+", "", text)
    return [u for u in item.get(key) or [] if normalize(u).removeprefix("https://") in squeezed]


def _same_score(gold: dict, row) -> bool:
    """A score row with the gold's value whose benchmark and model names hold the gold's (either way round); a row
    naming no model (a score stated in prose) matches no gold model."""
    value = lambda s: normalize(s).rstrip("%").strip()  # noqa: E731
    named = lambda a, b: bool(a) and bool(b) and (normalize(a) in normalize(b) or normalize(b) in normalize(a))  # noqa: E731
    return (value(row.score) == value(gold["score"]) and named(gold["benchmark"], f"{row.benchmark} {row.setting}")
            and (not gold.get("model") or named(gold["model"].split()[0], row.model)))


# -------------------------------------------------------------------- facts

FACT_PDFS = {"dev": SHARED / "corpus" / "pdf", "more": SHARED / "corpus" / "more" / "pdf"}
FACT_GOLD = {"more": EVAL / "more" / "facts_more.json"}


def model_facts(split: str, show: bool) -> dict:
    """Model facts (digest/summarize/facts.py) over the split's PDFs, parsed directly (no workspace or index).

    With gold (more): recall of the gold facts, precision of the values given where the gold has the fact, and
    the facts given beyond the gold (other facts of a gold model, or models the gold leaves out); a gold model
    matches the extracted one whose name holds its name or an alias (or is held by it), else one named with the
    same size ("7B"), else the only one of a paper with one gold model. Values compare normalized (the gold's value
    and alternatives through the same rules). Without gold (dev): counts. Both: the share of quotes found on their
    page of the PDF text, running on to the next page at most (PyMuPDF; `_page_variants`; table rows without
    their "|").
    """
    import pymupdf

    from digest.fields import FACT_SPECS
    from digest.parse import parse_pdf
    from digest.summarize.evidence import PaperText
    from digest.summarize.facts import extract_facts, normalize_fact, same_value

    gold_path = FACT_GOLD.get(split)
    gold = json.loads(gold_path.read_text()) if gold_path else []
    papers = list(dict.fromkeys(g["arxiv_id"] for g in gold)) or sorted(p.stem for p in FACT_PDFS[split].glob("*.pdf"))
    right = given = extra = models = matched = 0
    on_page = [0, 0]
    seconds = 0.0
    for paper in papers:
        pdf = FACT_PDFS[split] / f"{paper}.pdf"
        parsed = parse_pdf(pdf, paper)
        started = time.perf_counter()
        found = extract_facts(PaperText(parsed))
        seconds += time.perf_counter() - started
        models += len(found)
        with pymupdf.open(pdf) as doc:
            pages = [_page_variants(page) for page in doc]
        for m in found:
            for v in m.facts.values():
                quote = " ".join(v.quote.split("|")) if v.quote.startswith("|") else v.quote
                found_there = quote_on_page(quote, pages, v.page)
                on_page[0] += found_there
                on_page[1] += 1
                if show and not found_there:
                    print(f"  {paper} {m.name} quote not on p.{v.page}: {v.quote[:150]!r}")
        pairs = _match_models([g for g in gold if g["arxiv_id"] == paper], found)
        paired = [m for _, m in pairs if m is not None]
        matched += len(paired)
        extra += sum(len(m.facts) for m in found if m not in paired)
        for item, m in pairs:
            for key, fact in item["facts"].items():
                ours = m.facts.get(key) if m else None
                accepted = [normalize_fact(FACT_SPECS[key], a) or normalize(a) for a in [fact["value"], *fact.get("alternatives", [])]]
                ok = ours is not None and any(same_value(ours.normalized, a) for a in accepted)
                given += ours is not None
                right += ok
                if show and not ok:
                    print(f"  {paper} {item['model']} {key}: gold {fact['value']!r}, got {ours.value if ours else None!r}")
            extra += sum(key not in item["facts"] for key in (m.facts if m else {}))
    out = {"papers": len(papers), "models": models}
    if gold:
        total = sum(len(g["facts"]) for g in gold)
        out = {"recall": _ratio(right, total), "precision": _ratio(right, given), "beyond_gold": extra,
               "gold_models_matched": _ratio(matched, len(gold)), **out}
    out["quote_on_page"] = _ratio(*on_page)
    out["facts"] = on_page[1]
    out["s_per_paper"] = round(seconds / max(len(papers), 1), 2)
    return out


def _page_variants(page) -> list[str]:
    """A page's text as quotes are checked against it, whitespace removed (the PDF's spacing is not the text):
    plain, a line-break hyphen joined, the hyphen kept without the break, and without superscripts (footnote
    marks, which the parser leaves out of the text)."""
    text = page.get_text()
    lines = ("".join(s["text"] for s in line["spans"] if not s["flags"] & 1)
             for block in page.get_text("dict")["blocks"] for line in block.get("lines", []))
    return [_squeezed(t) for t in (text, re.sub(r"-\s*\n\s*", "", text), re.sub(r"-\s*\n\s*", "-", text),
                                   re.sub(r"-\s*\n\s*", "", "\n".join(lines)))]


def quote_on_page(quote: str, pages: list[list[str]], page: int) -> bool:
    """Whether `quote` is on `page` (1-based; `pages` as `_page_variants` gives them), or begins in the last third
    of it and runs on in the first third of the next page, past whatever ends the page (footnotes, a figure, a
    page number; a word may break across the two)."""
    whole = _squeezed(quote)
    here = pages[page - 1]
    if any(whole in variant for variant in here):
        return True
    if page >= len(pages):
        return False
    ends = [v[-len(v) // 3 :] for v in here]
    starts = [v[: len(v) // 3] for v in pages[page]]
    return any(any(whole[:cut] in e for e in ends) and any(whole[cut:] in s for s in starts) for cut in range(1, len(whole)))


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", normalize(text))


def _match_models(gold: list[dict], found: list) -> list[tuple[dict, object]]:
    """Each gold model with the extracted model it matches, or None (see `model_facts`)."""
    from digest.summarize.facts import parse_number

    def sizes(name: str) -> set:
        return {parse_number(s) for s in re.findall(r"\d+(?:\.\d+)?[BM]\b", name, re.I)}

    free = list(found)
    pairs = []
    for item in gold:
        spelled = [item["model"], *(item.get("model_aliases") or [])]
        names = [normalize(n) for n in spelled]
        by_name = [m for m in free if any(normalize(m.name) in n or n in normalize(m.name) for n in names)]
        wanted = set().union(*(sizes(n) for n in spelled))
        by_size = [m for m in free if wanted and sizes(m.name) & wanted]
        only = free if len(gold) == 1 and len(found) == 1 else []
        m = (by_name or by_size or only or [None])[0]
        if m is not None:
            free.remove(m)
        pairs.append((item, m))
    return pairs


# --------------------------------------------------------------------- main


def _mean(values: Iterable[bool]) -> float:
    values = list(values)
    return round(statistics.mean(values), 3) if values else float("nan")


def _ratio(hit: int, total: int) -> str:
    return f"{hit / total:.2f} ({hit}/{total})" if total else "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", default="dev,more,litqa2,ours")
    ap.add_argument("--parts", default="retrieval,answers,fields")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--no-langchain", action="store_true", help="skip the LangChain tutorial baseline")
    ap.add_argument("--show", action="store_true", help="print every answer and field miss")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    args = ap.parse_args()

    chosen = [splits()[name] for name in args.splits.split(",")]
    parts = set(args.parts.split(","))
    ranked: dict[str, list] = {}
    asked: dict[str, list[dict]] = {}
    corpora: dict[str, Corpus] = {}
    stores: dict[str, object] = {}
    figures: dict = {}
    for split in chosen:
        if parts - {"facts"} and split.corpus not in corpora:  # model facts parse the PDFs directly
            corpora[split.corpus] = open_corpus(split.corpus, split.pdfs, args.cache)
        corpus = corpora.get(split.corpus)
        row = figures[split.name] = {}
        if "facts" in parts and split.name in FACT_PDFS:
            row["facts"] = model_facts(split.name, args.show)
            print(f"{split.name:<7} facts    {json.dumps(row['facts'], ensure_ascii=False)}")
        if "retrieval" in parts and split.questions:
            row["recall"] = {m: recall(digest_search(corpus, m), split.questions, args.k) for m in MODES}
            if not args.no_langchain:
                if split.corpus not in stores:
                    from digest.embed import model_location

                    model = model_location(corpus.settings.embedder)
                    stores[split.corpus] = langchain_store(split.corpus, split.pdfs, args.cache, model)
                row["recall"]["langchain"] = recall(langchain_search(stores[split.corpus]), split.questions, args.k)
            for name, r in row["recall"].items():
                langs = "  ".join(f"{lang} {r[lang]:.2f}" for lang in ("en", "zh") if lang in r)
                print(f"{split.name:<7} recall@{args.k} {name:<10} {r['all']:.3f}  ({langs}; n={r['n']})  misses: {r['misses']}")
        if "fusion" in parts and split.questions:
            ranked[split.name] = rankings(corpus, split.questions)
        if "answers" in parts and (split.questions or split.unanswerable):
            row["answers"] = answers(corpus, split.questions, split.unanswerable, args.show)
            asked[split.name] = row["answers"].pop("rows")
            print(f"{split.name:<7} answers  {json.dumps(row['answers'], ensure_ascii=False)}")
        if "fields" in parts and split.fields:
            row["fields"] = fields(corpus, split.fields, args.show)
            print(f"{split.name:<7} fields   {json.dumps(row['fields'], ensure_ascii=False)}")
    if ranked:
        figures["fusion"] = study = fusion_study(ranked, args.k)
        print(f"fusion recall@{args.k}: " + "  ".join(ranked))
        for variant, row in study["recall"].items():
            print(f"  {variant:<11} " + "  ".join(f"{row[s]:.3f}" for s in ranked))
        for split, row in study["leave_one_split_out"].items():
            print(f"  held out {split:<7} chose {row['chosen']:<11} -> {row['recall']:.3f}")
        lead = study["clear_lead"]
        print(f"clear BM25 lead: {lead['of']} decisive questions {lead['decisive']}; max-margin threshold "
              f"{lead['chosen']} gets {lead['right']} right")
        for split, row in lead["leave_one_split_out"].items():
            print(f"  held out {split:<7} chose {row['chosen']} -> right {row['right']} of {row['decisive']}")
    if asked:
        figures["threshold"] = study = threshold_study(asked)
        print(f"answer threshold: configured {study['configured']}, chosen on all splits {study['chosen']}")
        for split, row in study["leave_one_split_out"].items():
            print(f"  held out {split:<7} chose {row['chosen']:.3f} -> right {row['right']} "
                  f"(at the configured threshold {row['right_configured']})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
