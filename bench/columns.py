"""Columns of your own: one column of each type asked of the shared papers, scored against gold written apart
from the code.

    python bench/columns.py [--backend extractive] [--show]

- number  "context length": the `context_length` facts of ../shared/eval/more/facts_more.json (any of the paper's
  models; a value counts when it equals the gold value or an alternative after normalization);
- text    "optimizer": the `optimizer` facts of the same file (the value holds the optimizer's name);
- list    "benchmarks": the `benchmarks` of ../shared/eval/more/fields_more.json (recall of gold items, and the
  share of values that are gold items);
- yes/no  "mixture of experts": bench/columns_gold.json, written by us from the papers (dev and more papers).

Every question is asked of its papers over the 53-paper workspace (bench/.cache/llm, as bench/eval.py builds it).
A paper the gold says nothing for is not scored. Baseline in the same run: the first sentence of the paper's
best passage for the question (what a plain paper-scoped search shows), holding the value or not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, SHARED  # noqa: E402
from bench.eval import open_corpus, splits  # noqa: E402
from digest.settings import Column  # noqa: E402
from digest.text import contains, normalize  # noqa: E402

MORE = SHARED / "eval" / "more"
COLUMNS = {
    "number": Column(name="context length", question="What is the maximum context length?", type="number"),
    "text": Column(name="optimizer", question="Which optimizer is used for training?", type="text"),
    "list": Column(name="benchmarks", question="Which benchmarks is the model evaluated on?", type="list"),
    "yes/no": Column(name="mixture of experts", question="(from bench/columns_gold.json)", type="yes/no"),
}


def gold() -> dict[str, dict[str, list]]:
    """Per column type: gold id -> acceptable values (number, text), gold items (list), or "yes"/"no"."""
    facts = json.loads((MORE / "facts_more.json").read_text())
    fields = json.loads((MORE / "fields_more.json").read_text())
    yes_no = json.loads((ROOT / "bench" / "columns_gold.json").read_text())
    COLUMNS["yes/no"] = COLUMNS["yes/no"].model_copy(update={"question": yes_no["question"]})
    out: dict[str, dict[str, list]] = {"number": {}, "text": {}, "list": {}, "yes/no": {}}
    for model in facts:
        for kind, key in (("number", "context_length"), ("text", "optimizer")):
            fact = model["facts"].get(key)
            if fact:
                out[kind].setdefault(model["arxiv_id"], []).extend([fact["value"], *fact.get("alternatives", [])])
    out["list"] = {p["arxiv_id"]: p["benchmarks"] for p in fields if p["benchmarks"]}
    out["yes/no"] = {k: [v] for k, v in yes_no["answers"].items()}
    return out


def right(kind: str, value, expected: list) -> bool:
    if kind == "yes/no":  # "not found" is right where the gold is no: the paper never says it is
        return (value == "yes") == (expected[0] == "yes")
    if value is None:
        return False
    if kind == "number":
        return any(_squeeze(value).startswith(_squeeze(e)) or _squeeze(e) == _squeeze(value.split()[0]) for e in expected)
    if kind == "text":
        return any(contains(value, e) for e in expected)
    return False


def _squeeze(text: str) -> str:
    return normalize(text).replace(",", "").replace(" ", "")


def list_scores(value, items: list[list[str]]) -> tuple[int, int, int]:
    """Gold items found, gold items, values that are a gold item."""
    values = value or []
    found = sum(any(normalize(v) == normalize(a) for v in values for a in item) for item in items)
    good = sum(any(normalize(v) == normalize(a) for item in items for a in item) for v in values)
    return found, len(items), good


def main() -> int:
    from digest.ask import question_lang
    from digest.ask.evidence import gather_candidates
    from digest.summarize.columns import fill_column

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args()
    corpus = open_corpus("llm", splits()["more"].pdfs, args.cache)
    expected = gold()
    started = time.perf_counter()
    for kind, column in COLUMNS.items():
        rows = []
        for gold_id, values in expected[kind].items():
            pid = corpus.ids.get(gold_id)
            if pid is None:
                continue
            got = fill_column(column, pid, corpus.index, corpus.settings)
            candidates = gather_candidates(column.question, corpus.index, [pid], question_lang(column.question))
            first = candidates.passages[0].text if candidates.passages else ""
            rows.append((gold_id, got.value, values, first))
            if args.show:
                print(f"  {kind:6s} {gold_id}: {got.value!r}  gold {values[:3]}")
        if kind == "list":
            found = sum(list_scores(v, g)[0] for _, v, g, _ in rows)
            total = sum(list_scores(v, g)[1] for _, v, g, _ in rows)
            good = sum(list_scores(v, g)[2] for _, v, g, _ in rows)
            given = sum(len(v or []) for _, v, _, _ in rows)
            base = sum(any(contains(first, a) for a in item) for _, _, g, first in rows for item in g)
            print(f"list    {column.name:20s} item recall {found}/{total} = {found / max(total, 1):.2f}  "
                  f"precision {good}/{given} = {good / max(given, 1):.2f}  baseline (best passage holds the item) "
                  f"{base / max(total, 1):.2f}")
            continue
        hit = sum(right(kind, v, g) for _, v, g, _ in rows)
        answered = sum(v is not None for _, v, _, _ in rows)
        line = f"{kind:7s} {column.name:20s} right {hit}/{len(rows)} = {hit / max(len(rows), 1):.2f}  answered {answered}"
        if kind in ("number", "text"):
            base = sum(any(contains(first, e) for e in g) for _, _, g, first in rows)
            line += f"  precision {hit}/{answered}  baseline (best passage holds it) {base / max(len(rows), 1):.2f}"
        print(line)
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
